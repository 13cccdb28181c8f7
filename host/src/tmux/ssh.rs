//! tmux on another host, over OpenSSH.
//!
//! OpenSSH already solves authentication, host keys, jump hosts and multiplexing, so a host is
//! an entry of the user's ssh config (`Host ALIAS`) and nothing of ours runs there but tmux
//! and the worker. Every call:
//! - never prompts (`BatchMode=yes`) and checks the host key (`StrictHostKeyChecking=yes`): an
//!   unknown host is refused with how to add it;
//! - forwards nothing (no agent, no X11, no ports);
//! - shares one connection per host (`ControlMaster=auto`, a private `ControlPath` under the
//!   state directory, `ControlPersist`), so a fleet observation costs one round trip;
//! - keeps its deadline (the process is killed when it passes; `ConnectTimeout` too);
//! - sends each word quoted for the remote POSIX shell, so no agent name, directory or prompt
//!   is ever read as shell syntax there.

use std::path::PathBuf;
use std::time::Duration;

use super::{shell_join, Place, Snapshot, TmuxError, TmuxOutput, TMUX_TIMEOUT};

/// The remote tmux server's socket name (`tmux -L`): ours alone, beside the user's default.
pub const REMOTE_SOCKET: &str = "codex-master-mcp";

/// Where a worker's raw log lives on its host (below the remote `$HOME`).
pub const REMOTE_RAW_DIR: &str = ".local/state/codex-master-mcp/raw";

/// How long an idle shared connection stays open.
const CONTROL_PERSIST_SECONDS: u32 = 120;

/// Unix socket paths longer than this do not fit `sun_path` (with ssh's temporary suffix).
const MAX_CONTROL_PATH: usize = 90;

/// A host reached over OpenSSH: its configured name, the ssh config alias, and optionally the
/// ssh config file to read instead of `~/.ssh/config`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshHost {
    pub name: String,
    pub alias: String,
    pub config: Option<PathBuf>,
}

/// Whether `alias` can be an ssh destination as it is: a config alias or a host name, never
/// an option (`-oProxyCommand=…`) or a user@ form that changes who logs in.
pub fn valid_alias(alias: &str) -> bool {
    (1..=253).contains(&alias.len())
        && !alias.starts_with('-')
        && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The shared connections' directory: private, under the state directory, or (when that path
/// is too long for a socket) `/tmp/codex-master-ssh-UID`, as tmux keeps its own sockets.
/// `None`: no multiplexing, every call connects anew.
fn control_dir() -> Option<PathBuf> {
    let fits = |dir: &PathBuf| dir.as_os_str().len() + 1 + 40 + 20 <= MAX_CONTROL_PATH;
    let state = crate::config::state_dir().ok().map(|d| d.join("ssh"));
    let tmp = PathBuf::from(format!("/tmp/codex-master-ssh-{}", rustix::process::getuid().as_raw()));
    // `%C` is 40 hex digits; ssh appends a temporary suffix while it binds.
    [state, Some(tmp)].into_iter().flatten().filter(fits).find(|d| crate::fsafe::Dir::walk_private(d).is_ok())
}

/// The remote command line: tmux on our socket, each word quoted for the remote shell. `-u`:
/// a session started over ssh often has no locale, and tmux would then print a format's tabs
/// as `_`.
pub fn remote_tmux(args: &[&str]) -> String {
    let mut words = vec!["tmux", "-u", "-L", REMOTE_SOCKET];
    words.extend_from_slice(args);
    shell_join(&words)
}

impl SshHost {
    /// The ssh arguments that run `remote` (one shell command line) on this host.
    pub fn argv(&self, remote: &str, timeout: Duration) -> Result<Vec<String>, TmuxError> {
        if !valid_alias(&self.alias) {
            return Err(TmuxError::Failed(format!("host {}: the ssh alias is not a plain name", self.name)));
        }
        let mut a: Vec<String> = Vec::new();
        if let Some(file) = &self.config {
            a.extend(["-F".to_owned(), file.to_string_lossy().into_owned()]);
        }
        let connect = timeout.as_secs().clamp(1, 30);
        let mut options = vec![
            "BatchMode=yes".to_owned(),
            "StrictHostKeyChecking=yes".to_owned(),
            "ForwardAgent=no".to_owned(),
            "ForwardX11=no".to_owned(),
            "ClearAllForwardings=yes".to_owned(),
            "PermitLocalCommand=no".to_owned(),
            "LogLevel=ERROR".to_owned(),
            "ServerAliveInterval=5".to_owned(),
            "ServerAliveCountMax=2".to_owned(),
            format!("ConnectTimeout={connect}"),
        ];
        match control_dir() {
            Some(dir) => options.extend([
                "ControlMaster=auto".to_owned(),
                format!("ControlPath={}/%C", dir.to_string_lossy()),
                format!("ControlPersist={CONTROL_PERSIST_SECONDS}"),
            ]),
            None => options.push("ControlMaster=no".to_owned()),
        }
        for o in options {
            a.extend(["-o".to_owned(), o]);
        }
        a.extend(["-T".to_owned(), "--".to_owned(), self.alias.clone(), remote.to_owned()]);
        Ok(a)
    }
}

/// ssh's own failures (exit 255) as transport errors: an unknown or changed host key, or an
/// unreachable host. A remote program's failure is left to the caller.
pub fn check_transport(host: &SshHost, code: i32, stderr: &[u8]) -> Result<(), TmuxError> {
    if code != 255 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(stderr);
    let key = ["Host key verification failed", "host key is known", "HOST IDENTIFICATION HAS CHANGED"];
    if key.iter().any(|m| text.contains(m)) {
        return Err(TmuxError::UnknownHostKey(host.name.clone()));
    }
    Err(TmuxError::Unreachable(host.name.clone()))
}

/// The last `max` bytes of a raw log on the host (empty when there is none).
pub async fn read_log_tail(host: &SshHost, raw_name: &str, max: u64) -> Result<Vec<u8>, TmuxError> {
    let path = format!("\"$HOME\"/{REMOTE_RAW_DIR}/{}", super::shell_quote(raw_name));
    let line = format!("tail -c {max} -- {path} 2>/dev/null || true");
    Ok(run_line(host, &line).await?.stdout)
}

/// Runs one remote shell line on `host`, bounded by the tmux deadline: a host that does not
/// answer in time is unreachable, ssh's own failures are transport errors.
async fn run_line(host: &SshHost, line: &str) -> Result<crate::process::Output, TmuxError> {
    let out =
        crate::process::run(&crate::process::Cmd::new("ssh", &host.argv(line, TMUX_TIMEOUT)?, TMUX_TIMEOUT)).await;
    if out.timed_out {
        return Err(TmuxError::Unreachable(host.name.clone()));
    }
    if out.spawn_error.is_some() {
        return Err(TmuxError::Spawn("ssh could not be started".into()));
    }
    check_transport(host, out.code, &out.stderr)?;
    Ok(out)
}

/// What `doctor` asks a host, in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// ssh answered without a prompt.
    pub reachable: bool,
    pub host_key_known: bool,
    /// `tmux -V` there (empty: none on its PATH).
    pub tmux_version: String,
    /// Of the runners asked about, how many are executable files there.
    pub runners_found: usize,
}

/// Asks `host` (non-interactively) for its tmux and whether each runner is executable there.
pub async fn probe(host: &SshHost, runners: &[String]) -> Probe {
    let mut line = String::from("tmux -V 2>/dev/null | head -c 40; echo");
    for r in runners {
        line.push_str(&format!("; test -f {0} && test -x {0} && echo runner-found", super::shell_quote(r)));
    }
    line.push_str("; true");
    let Ok(argv) = host.argv(&line, TMUX_TIMEOUT) else { return Probe::default() };
    let out = crate::process::run(&crate::process::Cmd::new("ssh", &argv, TMUX_TIMEOUT)).await;
    match check_transport(host, out.code, &out.stderr) {
        Err(TmuxError::UnknownHostKey(_)) => return Probe::default(),
        Err(_) => return Probe { host_key_known: true, ..Probe::default() },
        Ok(()) if out.timed_out || out.code != 0 => return Probe { host_key_known: true, ..Probe::default() },
        Ok(()) => {}
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.lines().next().unwrap_or_default();
    let plain = version.starts_with("tmux ") && version.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    Probe {
        reachable: true,
        host_key_known: true,
        tmux_version: if plain { version.to_owned() } else { String::new() },
        runners_found: text.lines().filter(|l| *l == "runner-found").count(),
    }
}

/// A host's `/proc` texts, read in the snapshot's round trip (empty where the host has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcTexts {
    pub meminfo: String,
    pub memory_pressure: String,
    pub cpu_pressure: String,
}

/// The remote line of a snapshot: the host's `/proc` readings, a marker line, then tmux.
fn snapshot_line(tmux_args: &[&str], marker: &str) -> String {
    let files = ["/proc/meminfo", "/proc/pressure/memory", "/proc/pressure/cpu"];
    let reads: Vec<String> =
        files.iter().map(|f| format!("cat {f} 2>/dev/null; echo {}", shell_join(&[marker]))).collect();
    format!("{}; exec {}", reads.join("; "), remote_tmux(tmux_args))
}

/// A host's snapshot in one ssh round trip: its readings, its panes, the captures.
pub async fn snapshot(host: &std::sync::Arc<SshHost>, sessions: &[String], lines: u32) -> Result<Snapshot, TmuxError> {
    let marker = format!("codex-master-split-{}", crate::fsafe::nonce());
    let args = super::snapshot_args(sessions, lines, &marker);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_line(host, &snapshot_line(&refs, &marker)).await?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let separator = format!("{marker}\n");
    let mut parts = stdout.splitn(4, separator.as_str());
    let mut next = || parts.next().unwrap_or_default().to_owned();
    let readings = ProcTexts { meminfo: next(), memory_pressure: next(), cpu_pressure: next() };
    let rest = next();
    let stderr = crate::text::safe_error_text(&String::from_utf8_lossy(&out.stderr));
    let tmux_out = TmuxOutput {
        success: out.ok(),
        stdout: rest,
        stderr: if stderr.is_empty() { "no stderr".into() } else { stderr },
    };
    let mut snap = super::read_snapshot(&Place::Ssh(host.clone()), sessions, lines, &marker, tmux_out).await?;
    snap.readings = Some(readings);
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_a_plain_name_and_every_word_reaches_the_remote_shell_quoted() {
        assert!(valid_alias("build-1.example.org") && valid_alias("gpu_box"));
        for bad in ["-oProxyCommand=x", "root@host", "a b", "a;b", "", "h$(x)"] {
            assert!(!valid_alias(bad), "{bad}");
        }
        let line = remote_tmux(&["new-session", "-c", "/w/it's $(x); `y`\nz/."]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("set -- {}; printf '%s|' \"$@\"", line.replacen("tmux -u", "", 1)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "-L|codex-master-mcp|new-session|-c|/w/it's $(x); `y`\nz/.|");
    }

    #[test]
    fn the_ssh_line_never_prompts_forwards_nothing_and_checks_the_host_key() {
        let host = SshHost { name: "h".into(), alias: "h1".into(), config: Some("/etc/cm/ssh_config".into()) };
        let a = host.argv("tmux -L x ls", Duration::from_secs(10)).unwrap();
        for o in ["BatchMode=yes", "StrictHostKeyChecking=yes", "ForwardAgent=no", "ClearAllForwardings=yes"] {
            assert!(a.iter().any(|w| w == o), "{o}: {a:?}");
        }
        assert_eq!(&a[..2], ["-F", "/etc/cm/ssh_config"]);
        assert_eq!(&a[a.len() - 3..], ["--", "h1", "tmux -L x ls"]);
        let bad = SshHost { alias: "-oProxyCommand=sh".into(), ..host };
        assert!(bad.argv("x", Duration::from_secs(1)).is_err());
        assert_eq!(
            check_transport(&bad, 255, b"Host key verification failed."),
            Err(TmuxError::UnknownHostKey("h".into()))
        );
        assert_eq!(check_transport(&bad, 255, b"connect: Connection refused"), Err(TmuxError::Unreachable("h".into())));
        assert_eq!(check_transport(&bad, 1, b"no server running"), Ok(()));
    }
}
