//! Installation artefacts: the watchdog's systemd user units, and their status.

use std::time::Duration;

pub const SERVICE_NAME: &str = "codex-master-watchdog.service";
pub const TIMER_NAME: &str = "codex-master-watchdog.timer";
pub const SERVICE_UNIT: &str = include_str!("../../../systemd/user/codex-master-watchdog.service");
pub const TIMER_UNIT: &str = include_str!("../../../systemd/user/codex-master-watchdog.timer");
const MAX_UNIT_BYTES: u64 = 64 * 1024;
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(5);

/// The installed unit's text when it is a regular file (never through a symlink).
fn installed_text(name: &str) -> Option<String> {
    let path = crate::config::systemd_user_dir()?.join(name);
    let bytes = crate::config::read_file_nofollow(&path, MAX_UNIT_BYTES).ok()??;
    String::from_utf8(bytes).ok()
}

/// Runs a command with a deadline; `None` when it cannot run or times out.
pub fn run_bounded(program: &str, args: &[&str], timeout: Duration) -> Option<(bool, String)> {
    let out = crate::process::run_blocking(&crate::process::Cmd::new(program, args, timeout).max_capture(4096));
    (out.spawn_error.is_none() && !out.timed_out).then(|| (out.ok(), String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// What `master_watchdog_status` reports: installed, matching, enabled, active. No paths, no
/// contents. `None` where systemctl could not answer in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitsStatus {
    pub service_installed: bool,
    pub timer_installed: bool,
    pub units_match_repository: Option<bool>,
    pub timer_enabled: Option<bool>,
    pub timer_active: Option<bool>,
}

pub fn watchdog_units_status() -> UnitsStatus {
    let service = installed_text(SERVICE_NAME);
    let timer = installed_text(TIMER_NAME);
    let matches = match (&service, &timer) {
        (Some(s), Some(t)) => Some(s == SERVICE_UNIT && t == TIMER_UNIT),
        _ => None,
    };
    let query = |verb: &str| {
        run_bounded("systemctl", &["--user", verb, TIMER_NAME], SYSTEMCTL_TIMEOUT).map(|(ok, out)| {
            let word = out.trim();
            ok && matches!(word, "enabled" | "active" | "enabled-runtime")
        })
    };
    UnitsStatus {
        service_installed: service.is_some(),
        timer_installed: timer.is_some(),
        units_match_repository: matches,
        timer_enabled: if timer.is_some() { query("is-enabled") } else { Some(false) },
        timer_active: if timer.is_some() { query("is-active") } else { Some(false) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_carry_the_fixes() {
        assert!(!SERVICE_UNIT.lines().any(|l| l.trim() == "PrivateTmp=yes"), "tmux's socket must stay reachable");
        assert!(!SERVICE_UNIT.lines().any(|l| l.starts_with("MemoryDenyWriteExecute=yes")), "wasmtime needs its JIT");
        for d in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "RestrictAddressFamilies=AF_UNIX",
            "IPAddressDeny=any",
            "UMask=0077",
        ] {
            assert!(SERVICE_UNIT.contains(d), "{d}");
        }
        for flag in [
            "--idle-seconds 60",
            "--poll-interval-seconds 15",
            "--report-grace-seconds 120",
            "--manage-unclaimed",
            "--quiet",
        ] {
            assert!(SERVICE_UNIT.contains(flag), "{flag}");
        }
        assert!(TIMER_UNIT.contains("OnUnitActiveSec=15s") && TIMER_UNIT.contains("WantedBy=timers.target"));
    }
}
