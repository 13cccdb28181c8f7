//! tmux, always with a timeout.
//!
//! Every call runs `tmux` as a child process that is killed when its deadline passes (or when the
//! calling task is cancelled), so a wedged tmux server can never hang a tool call.

use std::process::Stdio;
use std::time::Duration;

use crate::text::safe_error_text;

/// Deadline for one tmux call (the seed's `DEFAULT_TMUX_TIMEOUT_SECONDS`).
pub const TMUX_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    #[error("tmux is not installed or not on PATH")]
    NotInstalled,
    #[error("tmux command timed out after {0} seconds")]
    Timeout(u64),
    #[error("tmux could not be started: {0}")]
    Spawn(String),
}

/// Output of a finished tmux call.
#[derive(Debug)]
pub struct TmuxOutput {
    pub success: bool,
    pub stdout: String,
    /// ANSI-stripped, redacted and bounded; `no stderr` when empty.
    pub stderr: String,
}

/// Runs `tmux ARGS`, bounded by `timeout`.
pub async fn run(args: &[&str], timeout: Duration) -> Result<TmuxOutput, TmuxError> {
    let mut cmd = tokio::process::Command::new("tmux");
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TmuxError::NotInstalled,
        _ => TmuxError::Spawn(e.kind().to_string()),
    })?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| TmuxError::Timeout(timeout.as_secs()))?
        .map_err(|e| TmuxError::Spawn(e.kind().to_string()))?;
    let stderr = safe_error_text(&String::from_utf8_lossy(&out.stderr));
    Ok(TmuxOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: if stderr.is_empty() { "no stderr".to_owned() } else { stderr },
    })
}

/// Whether the session exists (exact name match).
pub async fn session_alive(session: &str) -> Result<bool, TmuxError> {
    let target = format!("={session}");
    Ok(run(&["has-session", "-t", &target], TMUX_TIMEOUT).await?.success)
}
