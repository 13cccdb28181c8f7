//! The private state tree: where it lives and the directories inside it.
//!
//! ```text
//! R/            0700  $CODEX_MASTER_MCP_STATE_DIR, else $XDG_STATE_HOME/codex-master-mcp,
//!                     else ~/.local/state/codex-master-mcp
//! R/raw/        0700  raw terminal logs
//! R/meta/       0700  per-agent metadata
//! R/locks/      0700  per-agent lifecycle locks, and the admission lock starts take turns on
//! R/leases/     0700  per-agent lease records
//! R/events/     0700  per-agent event logs the workers' hooks append (see crate::events)
//! ```
//! Opening the tree walks every component with no-follow directory handles (see [`crate::fsafe`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::fsafe::{Dir, FsError};

pub mod ledger;
pub mod meta;
pub mod rawlog;

/// Metadata and lease files are small; anything larger is refused.
pub const MAX_META_BYTES: u64 = 64 * 1024;

/// A temp file younger than this may belong to a write in progress; older ones are debris.
pub const TEMP_FILE_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a caller waits for another process's per-agent lock before a busy error.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("private state location is not configured: set CODEX_MASTER_MCP_STATE_DIR, XDG_STATE_HOME or HOME to an absolute path")]
    NoLocation,
    #[error(transparent)]
    Location(crate::config::LocationError),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The captured `env_pass` values (see [`State::agent_env`]).
pub const AGENT_ENV_FILE: &str = "agent-env.json";

/// The state root path, from the environment (never created here).
pub fn root_path() -> Result<PathBuf, StateError> {
    crate::config::state_dir().map_err(|e| match e {
        crate::config::LocationError::NoStateLocation => StateError::NoLocation,
        other => StateError::Location(other),
    })
}

/// Open handles on the state tree.
#[derive(Debug)]
pub struct State {
    pub root: Dir,
    pub raw: Dir,
    pub meta: Dir,
    pub locks: Dir,
    pub leases: Dir,
    pub events: Dir,
}

impl State {
    /// Opens (creating as needed) the state tree named by the environment.
    pub fn open() -> Result<State, StateError> {
        State::open_at(&root_path()?)
    }

    /// Opens (creating as needed) the state tree at `root`.
    pub fn open_at(root: &std::path::Path) -> Result<State, StateError> {
        let root = Dir::walk_private(root)?;
        Ok(State {
            raw: root.subdir_private("raw")?,
            meta: root.subdir_private("meta")?,
            locks: root.subdir_private("locks")?,
            leases: root.subdir_private("leases")?,
            events: root.subdir_private("events")?,
            root,
        })
    }

    /// Removes temp files that killed writers left in the lease and metadata directories.
    /// Called when a server starts and on every watchdog pass (the timer runs one every 15 s).
    pub fn sweep_temp_files(&self) -> usize {
        [&self.leases, &self.meta, &self.root].iter().map(|d| d.sweep_temp_files(TEMP_FILE_MIN_AGE).unwrap_or(0)).sum()
    }

    /// The variable values `install` captured for the workers' `env_pass` names, per agent.
    /// Private (0600 in the 0700 root); values are never logged or returned.
    pub fn agent_env(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.root
            .read_owned_bounded(AGENT_ENV_FILE, MAX_META_BYTES)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn write_agent_env(&self, env: &BTreeMap<String, BTreeMap<String, String>>) -> Result<(), FsError> {
        if env.values().all(BTreeMap::is_empty) {
            self.root.remove_file(AGENT_ENV_FILE)?;
            return Ok(());
        }
        self.root.replace_atomic(AGENT_ENV_FILE, &serde_json::to_vec(env).expect("maps serialise"))
    }

    /// Takes the per-agent lifecycle lock, waiting at most [`LOCK_WAIT`].
    pub fn agent_lock(&self, agent: &str) -> Result<crate::fsafe::FileLock, FsError> {
        self.locks.lock(&format!("agent-{agent}.lock"), LOCK_WAIT)
    }
}
