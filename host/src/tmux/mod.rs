//! tmux, always with a timeout.
//!
//! Every call runs `tmux` as a child process that is killed when its deadline passes (or when the
//! calling task is cancelled), so a wedged tmux server can never hang a tool call. Fleet queries
//! use one `list-panes -a` call for every agent, never one process per agent per field.
//!
//! `CODEX_MASTER_TMUX_SOCKET` (an absolute path) selects an explicit server socket (`tmux -S`),
//! which the watchdog unit and the tests use; otherwise tmux's default socket is used.
//!
//! A [`Place`] says where the tmux server runs: here, or on a host reached over OpenSSH (see
//! [`ssh`]). The commands are the same; over ssh they go through one multiplexed connection
//! per host, each word quoted for the remote shell.

pub mod control;
pub mod ssh;

pub use crate::ssh::{shell_join, shell_quote, SshHost};

/// Where a tmux server runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Place {
    #[default]
    Local,
    Ssh(std::sync::Arc<SshHost>),
}

impl Place {
    pub fn is_local(&self) -> bool {
        matches!(self, Place::Local)
    }

    /// The configured host name (`None` here).
    pub fn host(&self) -> Option<&str> {
        match self {
            Place::Local => None,
            Place::Ssh(h) => Some(&h.name),
        }
    }
}

use std::collections::HashMap;
use std::time::Duration;

use crate::text::safe_error_text;

/// Deadline for one tmux call (the seed's `DEFAULT_TMUX_TIMEOUT_SECONDS`).
pub const TMUX_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum TmuxError {
    #[error("tmux is not installed or not on PATH")]
    NotInstalled,
    #[error("tmux command timed out after {0} seconds")]
    Timeout(u64),
    #[error("tmux could not be started: {0}")]
    Spawn(String),
    #[error("tmux failed: {0}")]
    Failed(String),
    /// ssh could not reach the host (connection refused, timed out, authentication failed).
    #[error("host {0} is unreachable over ssh")]
    Unreachable(String),
    /// The host's key is not in the known hosts: ssh never asks, so it refuses.
    #[error("the host key of {0} is not known; connect once by hand (ssh ALIAS) or add it with ssh-keyscan to your known_hosts, then retry")]
    UnknownHostKey(String),
}

impl From<crate::ssh::SshError> for TmuxError {
    fn from(e: crate::ssh::SshError) -> TmuxError {
        use crate::ssh::SshError;
        match e {
            SshError::Unreachable(h) => TmuxError::Unreachable(h),
            SshError::UnknownHostKey(h) => TmuxError::UnknownHostKey(h),
            SshError::Spawn => TmuxError::Spawn("ssh could not be started".into()),
            other => TmuxError::Failed(other.to_string()),
        }
    }
}

/// Output of a finished tmux call.
#[derive(Debug)]
pub struct TmuxOutput {
    pub success: bool,
    pub stdout: String,
    /// tmux's stderr as it came (bounded by the runner). It leaves only through
    /// [`TmuxOutput::stderr`]: most of it (no server yet) is matched and dropped, never shown,
    /// so it is not redacted until then.
    raw_stderr: String,
}

impl TmuxOutput {
    pub(crate) fn new(success: bool, stdout: String, raw_stderr: String) -> TmuxOutput {
        TmuxOutput { success, stdout, raw_stderr }
    }

    /// The stderr as it may be shown: ANSI-stripped, redacted and bounded; `no stderr` when
    /// empty.
    pub fn stderr(&self) -> String {
        let safe = safe_error_text(&self.raw_stderr);
        if safe.is_empty() {
            "no stderr".to_owned()
        } else {
            safe
        }
    }

    /// Whether tmux said there is no server (so no session can exist).
    fn no_server(&self) -> bool {
        no_server(&self.raw_stderr)
    }

    /// The output, or the failure with its (safe) stderr.
    pub fn ok(self) -> Result<TmuxOutput, TmuxError> {
        if self.success {
            Ok(self)
        } else {
            Err(TmuxError::Failed(self.stderr()))
        }
    }
}

fn socket_args() -> Result<Vec<String>, TmuxError> {
    match crate::config::tmux_socket() {
        Ok(Some(p)) => Ok(vec!["-S".into(), p.to_string_lossy().into_owned()]),
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(TmuxError::Failed(e.to_string())),
    }
}

/// Runs `tmux ARGS` on `on`, bounded by `timeout`.
pub async fn run(on: &Place, args: &[&str], timeout: Duration) -> Result<TmuxOutput, TmuxError> {
    run_with_input(on, args, None, timeout).await
}

/// tmux processes one server process runs at once; more calls wait for a slot (within their
/// deadline), so load never turns into hundreds of children.
pub const MAX_CONCURRENT_TMUX: usize = 8;

fn slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(MAX_CONCURRENT_TMUX))
}

/// Runs `tmux ARGS` on `on` with `input` on stdin, bounded by `timeout` (waiting for a slot
/// included).
pub async fn run_with_input(
    on: &Place,
    args: &[&str],
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<TmuxOutput, TmuxError> {
    let started = std::time::Instant::now();
    let _slot = tokio::time::timeout(timeout, slots().acquire())
        .await
        .map_err(|_| TmuxError::Timeout(timeout.as_secs()))?
        .map_err(|_| TmuxError::Spawn("closed".into()))?;
    let timeout = timeout.saturating_sub(started.elapsed());
    if let (Place::Ssh(host), None) = (on, input) {
        let out = crate::ssh::run_kept(host, &ssh::remote_tmux(args), timeout).await?;
        return Ok(tmux_output(&out));
    }
    let (program, all) = match on {
        Place::Local => {
            let mut all: Vec<String> = socket_args()?;
            all.extend(args.iter().map(|a| (*a).to_owned()));
            ("tmux", all)
        }
        Place::Ssh(host) => ("ssh", host.argv(&ssh::remote_tmux(args), timeout)?),
    };
    let out = crate::process::run(&crate::process::Cmd::new(program, &all, timeout).input(input)).await;
    match out.spawn_error {
        Some(std::io::ErrorKind::NotFound) if on.is_local() => return Err(TmuxError::NotInstalled),
        Some(kind) => return Err(TmuxError::Spawn(kind.to_string())),
        None if out.timed_out => return Err(TmuxError::Timeout(timeout.as_secs())),
        None => {}
    }
    if let Place::Ssh(host) = on {
        crate::ssh::check_transport(host, out.code, &out.stderr)?;
    }
    Ok(tmux_output(&out))
}

fn tmux_output(out: &crate::process::Output) -> TmuxOutput {
    TmuxOutput::new(
        out.ok(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `stderr` says there is no tmux server (so no session can exist).
fn no_server(stderr: &str) -> bool {
    [
        "no server running",
        "error connecting to",
        "No such file or directory",
        "server exited unexpectedly",
        "lost server",
    ]
    .iter()
    .any(|m| stderr.contains(m))
}

/// The exact-name target of a session's active pane.
pub fn pane_target(session: &str) -> String {
    format!("={session}:")
}

/// Whether the session exists (exact name match).
pub async fn session_alive(on: &Place, session: &str) -> Result<bool, TmuxError> {
    let target = format!("={session}");
    Ok(run(on, &["has-session", "-t", &target], TMUX_TIMEOUT).await?.success)
}

/// The first pane of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneInfo {
    pub pid: Option<u32>,
    /// The pane's process exited (the session is kept by `remain-on-exit`).
    pub dead: bool,
    pub width: u32,
    /// The last time tmux saw output in the session, in epoch seconds.
    pub activity: Option<u64>,
}

/// The format of a pane listing: what [`parse_panes`] reads.
const PANE_FORMAT: &str =
    "#{session_name}\t#{pane_index}\t#{pane_pid}\t#{pane_dead}\t#{pane_width}\t#{session_activity}";

/// Every session's first pane, in one tmux call. No server means no sessions.
pub async fn list_panes(on: &Place) -> Result<HashMap<String, PaneInfo>, TmuxError> {
    let out = run(on, &["list-panes", "-a", "-F", PANE_FORMAT], TMUX_TIMEOUT).await?;
    if !out.success {
        return if out.no_server() { Ok(HashMap::new()) } else { Err(TmuxError::Failed(out.stderr())) };
    }
    Ok(parse_panes(&out.stdout))
}

/// A pane listing in [`PANE_FORMAT`], by session (its first pane).
fn parse_panes(stdout: &str) -> HashMap<String, PaneInfo> {
    let mut panes = HashMap::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 || panes.contains_key(f[0]) {
            continue;
        }
        panes.insert(
            f[0].to_owned(),
            PaneInfo {
                pid: f[2].parse().ok(),
                dead: f[3] == "1",
                width: f[4].parse().unwrap_or(80),
                activity: f[5].parse().ok(),
            },
        );
    }
    panes
}

/// What one fleet observation reads from tmux: the panes, and the captures of the live ones;
/// on a host, its `/proc` readings ride along in the same round trip.
#[derive(Default)]
pub struct Snapshot {
    pub panes: HashMap<String, PaneInfo>,
    pub captures: HashMap<String, String>,
    pub readings: Option<ssh::ProcTexts>,
}

/// The panes and the captures of `sessions` that are live, in one tmux round trip when every
/// session runs (the listing and the captures go in one command sequence); a session that is
/// missing fails the sequence, and then the live ones are captured in a second call.
pub async fn snapshot(on: &Place, sessions: &[String], lines: u32) -> Result<Snapshot, TmuxError> {
    snapshot_with(on, sessions, lines, ssh::Readings::Fresh).await
}

/// [`snapshot`], with a host's `/proc` readings as fresh as `readings` asks.
pub async fn snapshot_with(
    on: &Place,
    sessions: &[String],
    lines: u32,
    readings: ssh::Readings,
) -> Result<Snapshot, TmuxError> {
    if let Place::Ssh(host) = on {
        return ssh::snapshot(host, sessions, lines, readings).await;
    }
    let marker = format!("codex-master-split-{}", crate::fsafe::nonce());
    let args = snapshot_args(sessions, lines, &marker);
    // A long-lived process asks through its kept client; without one it runs tmux itself.
    if control::kept() {
        if let Some(answered) = control_ask(on, &args).await {
            return read_snapshot(on, sessions, lines, &marker, answered).await;
        }
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(on, &refs, TMUX_TIMEOUT).await?;
    let snap = read_snapshot(on, sessions, lines, &marker, out).await?;
    attach_control(on, sessions, &snap);
    Ok(snap)
}

/// In a long-lived process without a kept client on `on`, attaches one (in the background) to a
/// live session among `sessions`, which are ours (the default server may hold the user's own).
pub(crate) fn attach_control(on: &Place, sessions: &[String], snap: &Snapshot) {
    if !control::kept() {
        return;
    }
    if let Some(live) = sessions.iter().find(|s| snap.panes.get(*s).is_some_and(|p| !p.dead)) {
        control::attach(on, live, TMUX_TIMEOUT);
    }
}

/// `args` as one line through `on`'s kept control client (none: the caller runs tmux).
pub(crate) async fn control_ask(on: &Place, args: &[String]) -> Option<TmuxOutput> {
    control::ask(on, &control::command_line(args)?, TMUX_TIMEOUT).await
}

/// The one tmux command sequence of a snapshot: the listing, a marker, the captures.
pub(crate) fn snapshot_args(sessions: &[String], lines: u32, marker: &str) -> Vec<String> {
    let mut args: Vec<String> =
        ["list-panes", "-a", "-F", PANE_FORMAT, ";", "display-message", "-p", marker].map(str::to_owned).to_vec();
    if !sessions.is_empty() {
        args.push(";".into());
        args.extend(batched_capture_args(sessions, lines, marker));
    }
    args
}

/// A snapshot's output read back: the listing before the marker, the captures after it (a
/// session that vanished meanwhile fails the batch: the live ones are then captured anew).
pub(crate) async fn read_snapshot(
    on: &Place,
    sessions: &[String],
    lines: u32,
    marker: &str,
    out: TmuxOutput,
) -> Result<Snapshot, TmuxError> {
    let head = format!("{marker}\n");
    let Some((listing, rest)) = out.stdout.split_once(&head) else {
        if out.no_server() {
            return Ok(Snapshot::default());
        }
        return Err(TmuxError::Failed(out.stderr()));
    };
    let panes = parse_panes(listing);
    let live: Vec<String> = sessions.iter().filter(|s| panes.get(*s).is_some_and(|p| !p.dead)).cloned().collect();
    let captured = if out.success { split_batched(rest, marker, sessions.len()) } else { None };
    let captures: HashMap<String, String> = match captured {
        Some(all) => sessions.iter().cloned().zip(all).filter(|(s, _)| live.contains(s)).collect(),
        None => live
            .iter()
            .cloned()
            .zip(capture_many(on, &live, lines).await)
            .filter_map(|(s, c)| c.map(|c| (s, c)))
            .collect(),
    };
    Ok(Snapshot { panes, captures, ..Snapshot::default() })
}

fn trim_blank_tail(text: &str) -> String {
    let mut out = text.trim_end().to_owned();
    out.push('\n');
    out
}

/// The last `lines` lines of the session's pane (joined wrapped lines, no escapes).
pub async fn capture_pane(on: &Place, session: &str, lines: u32) -> Result<String, TmuxError> {
    let start = format!("-{lines}");
    Ok(trim_blank_tail(
        &run(on, &["capture-pane", "-p", "-J", "-t", &pane_target(session), "-S", &start], TMUX_TIMEOUT)
            .await?
            .ok()?
            .stdout,
    ))
}

/// Captures several sessions' panes in one tmux call (a marker line between them). Falls back
/// to one call per session when a session vanished meanwhile.
pub async fn capture_many(on: &Place, sessions: &[String], lines: u32) -> Vec<Option<String>> {
    if let Some(all) = capture_batched(on, sessions, lines).await {
        return all.into_iter().map(Some).collect();
    }
    let mut out = Vec::new();
    for s in sessions {
        out.push(capture_pane(on, s, lines).await.ok());
    }
    out
}

/// The one-call capture of [`capture_many`]; `None` when any session is missing.
pub async fn capture_batched(on: &Place, sessions: &[String], lines: u32) -> Option<Vec<String>> {
    if sessions.is_empty() {
        return Some(Vec::new());
    }
    // Not starting with `-`, which tmux would read as an option.
    let marker = format!("codex-master-split-{}", crate::fsafe::nonce());
    let args = batched_capture_args(sessions, lines, &marker);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(on, &args, TMUX_TIMEOUT).await.ok()?.ok().ok()?;
    split_batched(&out.stdout, &marker, sessions.len())
}

/// The one tmux command line that captures every session, each capture followed by `marker`.
pub fn batched_capture_args(sessions: &[String], lines: u32, marker: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    for s in sessions {
        if !args.is_empty() {
            args.push(";".into());
        }
        let target = pane_target(s);
        let start = format!("-{lines}");
        args.extend(
            ["capture-pane", "-p", "-J", "-t", &target, "-S", &start, ";", "display-message", "-p", marker]
                .map(str::to_owned),
        );
    }
    args
}

/// The captures of a batched run, in session order; `None` unless there is exactly one per
/// session (a missing session fails the batch, so panes are never mixed up).
pub fn split_batched(stdout: &str, marker: &str, sessions: usize) -> Option<Vec<String>> {
    let parts: Vec<&str> = stdout.split(&format!("{marker}\n")).collect();
    (parts.len() == sessions + 1).then(|| parts[..sessions].iter().map(|p| trim_blank_tail(p)).collect())
}

/// An argument tmux takes as it is. tmux reads an argument that ends in `;` as a command
/// separator (and `\;` as an escaped one); a directory is passed as `<dir>/.`, the same
/// directory, which never ends that way.
fn directory_arg(dir: &str) -> String {
    format!("{}/.", dir.trim_end_matches('/'))
}

/// Starts a detached session running `command` (a shell command line) in `cwd`. The pane is
/// kept when its process exits, so that a crash shows as `exited` rather than vanishing.
pub async fn new_session(
    on: &Place,
    session: &str,
    cwd: &str,
    command: &str,
    width: u32,
    height: u32,
) -> Result<(), TmuxError> {
    let (w, h) = (width.to_string(), height.to_string());
    let target = pane_target(session);
    let cwd = directory_arg(cwd);
    // The command line is quoted by us and never ends in `;` (its last word is quoted).
    debug_assert!(!command.ends_with(';'));
    let cwd = cwd.as_str();
    run(
        on,
        &[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            cwd,
            command,
            ";",
            "set-option",
            "-w",
            "-t",
            &target,
            "remain-on-exit",
            "on",
        ],
        TMUX_TIMEOUT,
    )
    .await?
    .ok()
    .map(drop)
}

/// Pipes the pane's output into `command` (`pipe-pane -o`).
pub async fn pipe_pane(on: &Place, session: &str, command: &str) -> Result<(), TmuxError> {
    run(on, &["pipe-pane", "-o", "-t", &pane_target(session), command], TMUX_TIMEOUT).await?.ok().map(drop)
}

/// Pastes `text` through a uniquely named buffer, as a bracketed paste when the application
/// asked for it (`paste-buffer -p`), and deletes the buffer.
pub async fn paste(on: &Place, session: &str, buffer: &str, text: &str) -> Result<(), TmuxError> {
    run_with_input(on, &["load-buffer", "-b", buffer, "-"], Some(text.as_bytes()), TMUX_TIMEOUT).await?.ok()?;
    let pasted = run(on, &["paste-buffer", "-p", "-d", "-b", buffer, "-t", &pane_target(session)], TMUX_TIMEOUT).await;
    if !matches!(pasted, Ok(TmuxOutput { success: true, .. })) {
        // Never leave the text behind in a tmux buffer.
        let _ = run(on, &["delete-buffer", "-b", buffer], TMUX_TIMEOUT).await;
    }
    pasted?.ok().map(drop)
}

/// Sends key names (`Enter`, `C-c`, …).
pub async fn send_keys(on: &Place, session: &str, keys: &[&str]) -> Result<(), TmuxError> {
    let target = pane_target(session);
    let mut args = vec!["send-keys", "-t", target.as_str()];
    args.extend_from_slice(keys);
    run(on, &args, TMUX_TIMEOUT).await?.ok().map(drop)
}

pub async fn kill_session(on: &Place, session: &str) -> Result<(), TmuxError> {
    let target = format!("={session}");
    run(on, &["kill-session", "-t", &target], TMUX_TIMEOUT).await?.ok().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(shell_join(&["a", "b c", "it's", "", "x=\"y\""]), "a 'b c' 'it'\\''s' '' 'x=\"y\"'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s|' {}", shell_join(&["b c", "it's", "$HOME", "`x`"])))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "b c|it's|$HOME|`x`|");
    }
}
