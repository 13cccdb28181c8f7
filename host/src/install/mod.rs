//! Installation artefacts: the watchdog's systemd user units, and their status.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SERVICE_NAME: &str = "codex-master-watchdog.service";
pub const TIMER_NAME: &str = "codex-master-watchdog.timer";
pub const SERVICE_UNIT: &str = include_str!("../../../systemd/user/codex-master-watchdog.service");
pub const TIMER_UNIT: &str = include_str!("../../../systemd/user/codex-master-watchdog.timer");
const MAX_UNIT_BYTES: u64 = 64 * 1024;
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(5);

/// `~/.config/systemd/user` (or under `$XDG_CONFIG_HOME`).
fn unit_dir() -> Option<PathBuf> {
    let abs = |n: &str| std::env::var_os(n).map(PathBuf::from).filter(|p| p.is_absolute());
    abs("XDG_CONFIG_HOME").or_else(|| abs("HOME").map(|h| h.join(".config"))).map(|c| c.join("systemd/user"))
}

/// The installed unit's text when it is a regular file (never through a symlink).
fn installed_text(name: &str) -> Option<String> {
    let path = unit_dir()?.join(name);
    let bytes = crate::ext::config::read_file_nofollow(&path, MAX_UNIT_BYTES).ok()??;
    String::from_utf8(bytes).ok()
}

/// Runs a command with a deadline; `None` when it cannot run or times out.
pub fn run_bounded(program: &str, args: &[&str], timeout: Duration) -> Option<(bool, String)> {
    let mut child = Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                if let Some(mut s) = child.stdout.take() {
                    use std::io::Read;
                    let _ = s.by_ref().take(4096).read_to_string(&mut out);
                }
                return Some((status.success(), out));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// `master_watchdog_status`: installed, matching, enabled, active; no paths, no contents.
pub fn watchdog_units_status() -> Value {
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
    json!({
        "service_installed": service.is_some(),
        "timer_installed": timer.is_some(),
        "units_match_repository": matches,
        "timer_enabled": if timer.is_some() { query("is-enabled") } else { Some(false) },
        "timer_active": if timer.is_some() { query("is-active") } else { Some(false) },
        "unit_path": crate::tools::NOT_RETURNED,
        "raw_output": crate::tools::NOT_RETURNED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_carry_the_fixes() {
        assert!(!SERVICE_UNIT.lines().any(|l| l.trim() == "PrivateTmp=yes"), "tmux's socket must stay reachable");
        assert!(!SERVICE_UNIT.lines().any(|l| l.starts_with("MemoryDenyWriteExecute=yes")), "wasmtime needs its JIT");
        for d in ["NoNewPrivileges=yes", "ProtectSystem=strict", "RestrictAddressFamilies=AF_UNIX", "IPAddressDeny=any", "UMask=0077"] {
            assert!(SERVICE_UNIT.contains(d), "{d}");
        }
        for flag in ["--idle-seconds 60", "--poll-interval-seconds 15", "--report-grace-seconds 120", "--manage-unclaimed", "--quiet"] {
            assert!(SERVICE_UNIT.contains(flag), "{flag}");
        }
        assert!(TIMER_UNIT.contains("OnUnitActiveSec=15s") && TIMER_UNIT.contains("WantedBy=timers.target"));
    }
}
