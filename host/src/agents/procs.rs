//! Which processes use an agent's home (`CODEX_HOME` for Codex: the provider names the
//! variable), from `/proc`.
//!
//! Two Codex processes on one home corrupt each other's sessions, so a start is refused while
//! a process we did not launch uses the home. Processes we launched carry `CODEX_MASTER_MCP=1`.

use std::io::Read;
use std::path::Path;

/// Largest `environ` read per process.
const MAX_ENVIRON_BYTES: u64 = 256 * 1024;

/// The users of one home.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HomeUsers {
    pub total: u32,
    /// Not launched by codex-master.
    pub external: u32,
}

/// Scans `/proc` for processes whose `var` (such as `CODEX_HOME`) is `home` (both sides
/// resolved).
pub fn home_users(home: &Path, var: &str) -> HomeUsers {
    home_users_many(&[(home, var)])[0]
}

/// [`home_users`] for several homes in one `/proc` scan.
pub fn home_users_many(homes: &[(&Path, &str)]) -> Vec<HomeUsers> {
    let mut users = vec![HomeUsers::default(); homes.len()];
    scan(homes, |i, _pid, managed| {
        users[i].total += 1;
        if !managed {
            users[i].external += 1;
        }
    });
    users
}

/// The processes we launched that use `home` (`var`): while its agent is not running, what a
/// crash left behind.
pub fn managed_users(home: &Path, var: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    scan(&[(home, var)], |_, pid, managed| {
        if managed {
            pids.push(pid);
        }
    });
    pids
}

/// Calls `found(home index, pid, launched by us)` for every process whose `var` is one of
/// `homes` (both sides resolved).
fn scan(homes: &[(&Path, &str)], mut found: impl FnMut(usize, u32, bool)) {
    let targets: Vec<Option<std::path::PathBuf>> = homes.iter().map(|(h, _)| std::fs::canonicalize(h).ok()).collect();
    let prefixes: Vec<Vec<u8>> = homes.iter().map(|(_, var)| format!("{var}=").into_bytes()).collect();
    if targets.iter().all(Option::is_none) {
        return;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let mut environ = Vec::new();
        let Ok(file) = std::fs::File::open(entry.path().join("environ")) else { continue };
        if file.take(MAX_ENVIRON_BYTES).read_to_end(&mut environ).is_err() {
            continue;
        }
        let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
        let managed = vars.iter().any(|v| *v == b"CODEX_MASTER_MCP=1" || *v == b"CODEX_AGENT_MCP=1");
        let mut resolved: Vec<(Vec<u8>, Option<std::path::PathBuf>)> = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let Some(target) = target else { continue };
            let Some(value) = vars.iter().find_map(|v| v.strip_prefix(prefixes[i].as_slice())) else { continue };
            // One canonicalize per distinct value.
            let path = match resolved.iter().find(|(v, _)| v.as_slice() == value) {
                Some((_, p)) => p.clone(),
                None => {
                    let p = std::str::from_utf8(value).ok().and_then(|v| std::fs::canonicalize(v).ok());
                    resolved.push((value.to_vec(), p.clone()));
                    p
                }
            };
            if path.as_ref() == Some(target) {
                found(i, pid, managed);
            }
        }
    }
}
