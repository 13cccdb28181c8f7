//! Which processes use an agent's home (`CODEX_HOME`), from `/proc`.
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

/// Scans `/proc` for processes whose `CODEX_HOME` is `home` (both sides resolved).
pub fn home_users(home: &Path) -> HomeUsers {
    home_users_many(&[home])[0]
}

/// [`home_users`] for several homes in one `/proc` scan.
pub fn home_users_many(homes: &[&Path]) -> Vec<HomeUsers> {
    let mut users = vec![HomeUsers::default(); homes.len()];
    let targets: Vec<Option<std::path::PathBuf>> = homes.iter().map(|h| std::fs::canonicalize(h).ok()).collect();
    if targets.iter().all(Option::is_none) {
        return users;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return users };
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
        let mut codex_home = None;
        let mut managed = false;
        for var in environ.split(|&b| b == 0) {
            if let Some(v) = var.strip_prefix(b"CODEX_HOME=") {
                codex_home = Some(v);
            } else if var == b"CODEX_MASTER_MCP=1" || var == b"CODEX_AGENT_MCP=1" {
                managed = true;
            }
        }
        let Some(v) = codex_home.and_then(|v| std::str::from_utf8(v).ok()) else { continue };
        let Ok(resolved) = std::fs::canonicalize(v) else { continue };
        for (i, target) in targets.iter().enumerate() {
            if target.as_ref() == Some(&resolved) {
                users[i].total += 1;
                if !managed {
                    users[i].external += 1;
                }
            }
        }
    }
    users
}
