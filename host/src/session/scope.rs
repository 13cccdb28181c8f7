//! Write scopes: an agent's recorded working directory and the write paths outside a scope.

use std::path::{Path, PathBuf};

use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::fsafe::paths::{expand_home, resolve_lenient};
use crate::state::State;

pub const MAX_LIST_ITEMS: usize = 50;
pub const MAX_PATH_TEXT: usize = 1000;

fn normalise(base: &Path, item: &str) -> Option<PathBuf> {
    let item = item.trim();
    if item.is_empty() || item.contains("://") {
        return None;
    }
    Some(resolve_lenient(base, &expand_home(item)))
}

/// The scope check proper: the violating write paths (as given).
pub fn violations(base: &Path, scope: &[String], write_paths: &[String]) -> Vec<String> {
    let roots: Vec<PathBuf> = scope.iter().filter_map(|s| normalise(base, s)).collect();
    write_paths
        .iter()
        .filter(|w| match normalise(base, w) {
            Some(p) => !roots.iter().any(|r| p.starts_with(r)),
            None => true,
        })
        .cloned()
        .collect()
}

/// The working directory `agent` was started in, from its metadata (blocking).
pub fn recorded_cwd(agent: &str) -> Result<PathBuf, Fault> {
    match State::open()?.read_meta(agent)? {
        Some(m) if Path::new(&m.cwd).is_absolute() => Ok(PathBuf::from(m.cwd)),
        _ => Err(Fault::new(
            ErrorCode::AgentNotRunning,
            format!("agent {agent} has not been started, so it has no working directory; start it first"),
        )),
    }
}
