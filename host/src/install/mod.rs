//! Installation: the binary on PATH and its registration with Codex (`setup`, `codex`), and
//! the watchdog's systemd user units (`units`) with their status.

use std::time::Duration;

pub mod codex;
pub mod doctor;
pub mod packaging;
pub mod setup;
pub mod units;

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

/// The user bus for `systemctl --user`: the caller's own variables when set, else the
/// standard `/run/user/<uid>` places (an MCP server started by Codex gets neither variable).
pub fn user_bus_env() -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    let runtime = std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .filter(|v| v.starts_with('/'))
        .unwrap_or_else(|| format!("/run/user/{}", rustix::process::getuid().as_raw()));
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        env.push(("XDG_RUNTIME_DIR", runtime.clone()));
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        env.push(("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={runtime}/bus")));
    }
    env
}

/// One `systemctl --user <verb> <unit>` answer: `Some(true/false)` from a state word systemctl
/// printed, `None` when systemd could not be asked (no bus, no systemctl, a timeout).
pub fn systemctl_user(verb: &str, unit: &str) -> Option<bool> {
    let env = user_bus_env();
    let cmd =
        crate::process::Cmd::new("systemctl", &["--user", verb, unit], SYSTEMCTL_TIMEOUT).env(&env).max_capture(4096);
    let out = crate::process::run_blocking(&cmd);
    if out.spawn_error.is_some() || out.timed_out {
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    unit_state(verb, stdout.trim())
}

/// Reads the state word `systemctl --user is-enabled|is-active` printed.
fn unit_state(verb: &str, word: &str) -> Option<bool> {
    match (verb, word) {
        ("is-enabled", "enabled" | "enabled-runtime" | "static" | "indirect" | "generated" | "alias") => Some(true),
        ("is-enabled", "disabled" | "masked" | "masked-runtime" | "linked" | "linked-runtime" | "not-found") => {
            Some(false)
        }
        ("is-active", "active" | "reloading" | "activating" | "refreshing") => Some(true),
        ("is-active", "inactive" | "failed" | "deactivating" | "maintenance") => Some(false),
        // No word (a bus error on stderr) or one we do not know: systemd could not be asked.
        _ => None,
    }
}

/// What `master_watchdog_status` reports: installed, matching, enabled, active. No paths, no
/// contents. `None` where systemd could not be asked.
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
        (Some(s), Some(t)) => Some(units::matches_template(s, SERVICE_UNIT) && units::matches_template(t, TIMER_UNIT)),
        _ => None,
    };
    UnitsStatus {
        service_installed: service.is_some(),
        timer_installed: timer.is_some(),
        units_match_repository: matches,
        timer_enabled: if timer.is_some() { systemctl_user("is-enabled", TIMER_NAME) } else { Some(false) },
        timer_active: if timer.is_some() { systemctl_user("is-active", TIMER_NAME) } else { Some(false) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_systemd_that_cannot_be_asked_is_unknown_not_disabled() {
        assert_eq!(unit_state("is-enabled", "enabled"), Some(true));
        assert_eq!(unit_state("is-enabled", "disabled"), Some(false));
        assert_eq!(unit_state("is-active", "inactive"), Some(false));
        assert_eq!(unit_state("is-active", "active"), Some(true));
        // "Failed to connect to bus" goes to stderr: stdout is empty.
        assert_eq!(unit_state("is-enabled", ""), None);
        assert_eq!(unit_state("is-active", "something new"), None);
    }

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
        assert!(TIMER_UNIT.contains("OnCalendar=*:*:0/15") && TIMER_UNIT.contains("WantedBy=timers.target"));
        assert!(TIMER_UNIT.contains("Persistent=true"), "a missed pass after a reboot runs at once");
    }
}
