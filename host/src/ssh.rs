//! Commands on another host, over OpenSSH: the one transport tmux and git use there.
//!
//! OpenSSH already solves authentication, host keys, jump hosts and multiplexing, so a host is
//! an entry of the user's ssh config (`Host ALIAS`) and nothing of ours runs there but tmux,
//! git, POSIX shell utilities and the worker. Every call:
//! - never prompts (`BatchMode=yes`) and checks the host key (`StrictHostKeyChecking=yes`): an
//!   unknown host is refused with how to add it;
//! - forwards nothing (no agent, no X11, no ports);
//! - shares one connection per host (`ControlMaster=auto`, a private `ControlPath`,
//!   `ControlPersist`), so a fleet observation costs one round trip;
//! - keeps its deadline (the process is killed when it passes; `ConnectTimeout` too);
//! - sends each word quoted for the remote POSIX shell, so no agent name, directory, path or
//!   prompt is ever read as shell syntax there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Cmd, Output};

/// How long an idle shared connection stays open.
const CONTROL_PERSIST_SECONDS: u32 = 120;

/// Unix socket paths longer than this do not fit `sun_path` (with ssh's temporary suffix).
const MAX_CONTROL_PATH: usize = 90;

/// Why a command on a host did not run there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// ssh could not reach the host (connection refused, timed out, authentication failed).
    #[error("host {0} is unreachable over ssh")]
    Unreachable(String),
    /// The host's key is not in the known hosts: ssh never asks, so it refuses.
    #[error("the host key of {0} is not known; connect once by hand (ssh ALIAS) or add it with ssh-keyscan to your known_hosts, then retry")]
    UnknownHostKey(String),
    #[error("ssh could not be started")]
    Spawn,
    #[error("host {0}: the ssh alias is not a plain name")]
    BadAlias(String),
}

/// A host reached over OpenSSH: its configured name, the ssh config alias, optionally the ssh
/// config file to read instead of `~/.ssh/config`, and the directory of the shared connections
/// (`None`: every call connects anew).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshHost {
    pub name: String,
    pub alias: String,
    pub config: Option<PathBuf>,
    pub control_dir: Option<PathBuf>,
}

/// Whether `alias` can be an ssh destination as it is: a config alias or a host name, never
/// an option (`-oProxyCommand=…`) or a user@ form that changes who logs in.
pub fn valid_alias(alias: &str) -> bool {
    (1..=253).contains(&alias.len())
        && !alias.starts_with('-')
        && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The shared connections' directory: private, `ssh` under the state directory, or (when that
/// path is too long for a socket) `/tmp/codex-master-ssh-UID`, as tmux keeps its own sockets.
pub fn control_dir(state_dir: Option<&Path>) -> Option<PathBuf> {
    let fits = |dir: &PathBuf| dir.as_os_str().len() + 1 + 40 + 20 <= MAX_CONTROL_PATH;
    let state = state_dir.map(|d| d.join("ssh"));
    let tmp = PathBuf::from(format!("/tmp/codex-master-ssh-{}", rustix::process::getuid().as_raw()));
    // `%C` is 40 hex digits; ssh appends a temporary suffix while it binds.
    [state, Some(tmp)].into_iter().flatten().filter(fits).find(|d| crate::fsafe::Dir::walk_private(d).is_ok())
}

/// A word quoted for a POSIX shell (left bare when it cannot be read as syntax).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// A shell command line from words.
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(|w| shell_quote(w.as_ref())).collect::<Vec<_>>().join(" ")
}

impl SshHost {
    /// The ssh arguments that run `remote` (one shell command line) on this host.
    pub fn argv(&self, remote: &str, timeout: Duration) -> Result<Vec<String>, SshError> {
        if !valid_alias(&self.alias) {
            return Err(SshError::BadAlias(self.name.clone()));
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
        match &self.control_dir {
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
        a.extend(["-T".to_owned(), "--".to_owned(), self.alias.clone(), remap_255(remote)]);
        Ok(a)
    }
}

/// The remote line, with a remote program's exit status 255 turned into 254: ssh reports its
/// own failures as 255, so a program's (git exits 255 for some fatal errors) must not look like
/// an unreachable host.
fn remap_255(line: &str) -> String {
    format!("{{ {line}\n}}; r=$?; [ \"$r\" -ne 255 ] || r=254; exit \"$r\"")
}

/// ssh's own failures (exit 255) as transport errors: an unknown or changed host key, or an
/// unreachable host. A remote program's failure is left to the caller.
pub fn check_transport(host: &SshHost, code: i32, stderr: &[u8]) -> Result<(), SshError> {
    if code != 255 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(stderr);
    let key = ["Host key verification failed", "host key is known", "HOST IDENTIFICATION HAS CHANGED"];
    if key.iter().any(|m| text.contains(m)) {
        return Err(SshError::UnknownHostKey(host.name.clone()));
    }
    Err(SshError::Unreachable(host.name.clone()))
}

/// Runs one remote shell line on `host` (with `input` on its stdin), bounded by `timeout`: a
/// host that does not answer in time is unreachable, ssh's own failures are transport errors,
/// and the remote program's exit status is the caller's.
pub async fn run_line(host: &SshHost, line: &str, input: Option<&[u8]>, timeout: Duration) -> Result<Output, SshError> {
    let argv = host.argv(line, timeout)?;
    let out = crate::process::run(&Cmd::new("ssh", &argv, timeout).input(input)).await;
    if out.timed_out {
        return Err(SshError::Unreachable(host.name.clone()));
    }
    if out.spawn_error.is_some() {
        return Err(SshError::Spawn);
    }
    check_transport(host, out.code, &out.stderr)?;
    Ok(out)
}

/// The remote line that resolves paths read from stdin (NUL-separated) against `base`: `~`
/// expanded to the remote home, `..` collapsed and existing symlinks resolved (GNU `realpath
/// -m`), each answer NUL-terminated; an unresolvable one is empty.
fn resolve_line(base: &str) -> String {
    format!(
        "cd -- {} || exit 3; while IFS= read -r -d '' p; do case $p in '~') p=$HOME;; '~/'*) p=$HOME/${{p#'~/'}};; esac; realpath -m -z -- \"$p\" 2>/dev/null || printf '\\0'; done",
        shell_quote(base)
    )
}

/// `items` resolved on `host` as [`crate::fsafe::paths::resolve_lenient`] does here; `None`
/// for an item the host could not resolve. One round trip; the items travel on stdin.
pub async fn resolve_paths(
    host: &SshHost,
    base: &str,
    items: &[String],
    timeout: Duration,
) -> Result<Vec<Option<PathBuf>>, SshError> {
    let mut input = Vec::new();
    for i in items {
        input.extend_from_slice(i.replace('\0', "").as_bytes());
        input.push(0);
    }
    // bash for `read -d ''`; every host this product supports has it.
    let line = format!("exec bash -c {}", shell_quote(&resolve_line(base)));
    let out = run_line(host, &line, Some(&input), timeout).await?;
    let mut answers = out.stdout.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
    Ok(items.iter().map(|_| answers.next().filter(|p| p.starts_with('/')).map(PathBuf::from)).collect())
}

/// Long-lived processes (the server, `top`) keep one shell per host open and send their tmux
/// lines through it: no ssh client start and no remote session per call.
static KEEP_CHANNELS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps a shell per host open for [`run_kept`] (a one-shot CLI call would pay for it once and
/// never reuse it).
pub fn keep_channels() {
    KEEP_CHANNELS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The most one answer through a channel may hold before the channel is dropped.
const MAX_CHANNEL_ANSWER: usize = 32 * 1024 * 1024;

/// One host's open shell: commands go in on stdin, each answer ends with a line of this
/// channel's nonce and the exit status, then the length of its stderr and the stderr itself.
struct Channel {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::process::ChildStdout,
    nonce: String,
    buffer: Vec<u8>,
}

type Slot = std::sync::Arc<tokio::sync::Mutex<Option<Channel>>>;

fn slot(host: &SshHost) -> Slot {
    static SLOTS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<SshHost, Slot>>> =
        std::sync::OnceLock::new();
    let mut slots = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    slots.entry(host.clone()).or_default().clone()
}

impl Channel {
    async fn open(host: &SshHost, timeout: Duration) -> Option<Channel> {
        let argv = host.argv("exec sh", timeout).ok()?;
        let mut child = crate::process::spawn_piped("ssh", &argv).ok()?;
        let (stdin, stdout) = (child.stdin.take()?, child.stdout.take()?);
        let nonce = format!("codex-master-end-{}", crate::fsafe::nonce());
        let mut ch = Channel { _child: child, stdin, stdout, nonce, buffer: Vec::new() };
        // The stderr of each command goes to a private file there, read back after it.
        let ready = ch.ask("E=$(mktemp) || exit 1; trap 'rm -f \"$E\"' EXIT; echo ready", timeout).await?;
        (ready.code == 0 && ready.stdout == b"ready\n").then_some(ch)
    }

    /// Sends one line and reads its answer; `None` when the channel broke (EOF, a malformed
    /// answer, an oversized one, the deadline).
    async fn ask(&mut self, line: &str, timeout: Duration) -> Option<Output> {
        use tokio::io::AsyncWriteExt;
        // An empty stderr (the common case) costs no program: `test -s` is the shell's own.
        let framed = format!(
            "{{ {line}\n}} </dev/null 2>\"${{E:-/dev/null}}\"; printf '\\n%s %s\\n' {} \"$?\"; if [ -s \"${{E:-/dev/null}}\" ]; then wc -c <\"$E\"; cat \"$E\"; else echo 0; fi\n",
            self.nonce
        );
        let exchange = async {
            self.stdin.write_all(framed.as_bytes()).await.ok()?;
            self.stdin.flush().await.ok()?;
            self.read_answer().await
        };
        tokio::time::timeout(timeout, exchange).await.ok().flatten()
    }

    async fn read_answer(&mut self) -> Option<Output> {
        let end = format!("\n{} ", self.nonce).into_bytes();
        let at = self.read_to(&end, 0).await?;
        let code_end = self.read_to(b"\n", at + end.len()).await?;
        let code: i32 = std::str::from_utf8(&self.buffer[at + end.len()..code_end]).ok()?.trim().parse().ok()?;
        let len_end = self.read_to(b"\n", code_end + 1).await?;
        let len: usize = std::str::from_utf8(&self.buffer[code_end + 1..len_end]).ok()?.trim().parse().ok()?;
        let stderr_end = (len_end + 1).checked_add(len)?;
        while self.buffer.len() < stderr_end {
            self.read_more().await?;
        }
        let stdout = self.buffer[..at].to_vec();
        let stderr = self.buffer[len_end + 1..stderr_end].to_vec();
        self.buffer.drain(..stderr_end);
        Some(Output { code, stdout, stderr, timed_out: false, spawn_error: None })
    }

    /// Reads until `needle` is in the buffer at or after `from`; returns where. Each read looks
    /// only at what is new (and the needle's width before it), so a large answer is scanned once.
    async fn read_to(&mut self, needle: &[u8], from: usize) -> Option<usize> {
        let mut from = from;
        loop {
            if let Some(i) = self.buffer.get(from..).and_then(|rest| find(rest, needle)) {
                return Some(from + i);
            }
            from = from.max(self.buffer.len().saturating_sub(needle.len() - 1));
            self.read_more().await?;
        }
    }

    /// One read into the buffer (bounded); `None` at EOF, on an error or past the bound.
    async fn read_more(&mut self) -> Option<()> {
        crate::process::read_more(&mut self.stdout, &mut self.buffer, MAX_CHANNEL_ANSWER).await
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// [`run_line`] through the host's open shell when this process keeps channels (opened on
/// first use, dropped and reopened when it breaks); a one-shot ssh call otherwise, and when the
/// shell cannot be opened (then ssh's own error says why).
pub async fn run_kept(host: &SshHost, line: &str, timeout: Duration) -> Result<Output, SshError> {
    if !KEEP_CHANNELS.load(std::sync::atomic::Ordering::Relaxed) {
        return run_line(host, line, None, timeout).await;
    }
    let started = std::time::Instant::now();
    let slot = slot(host);
    let Ok(mut held) = tokio::time::timeout(timeout, slot.lock()).await else {
        return Err(SshError::Unreachable(host.name.clone()));
    };
    if held.is_none() {
        *held = Channel::open(host, timeout.saturating_sub(started.elapsed())).await;
    }
    let Some(channel) = held.as_mut() else {
        drop(held);
        return run_line(host, line, None, timeout.saturating_sub(started.elapsed())).await;
    };
    // Through the channel a status is the command's own (ssh is not in between), so 255 needs
    // no remapping; the line must not `exec` or `exit` (it would end the shell).
    match channel.ask(line, timeout.saturating_sub(started.elapsed())).await {
        Some(out) => Ok(out),
        None => {
            // Broken or late: the next call opens a new one; this one's host did not answer.
            *held = None;
            Err(SshError::Unreachable(host.name.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_a_plain_name() {
        assert!(valid_alias("build-1.example.org") && valid_alias("gpu_box"));
        for bad in ["-oProxyCommand=x", "root@host", "a b", "a;b", "", "h$(x)"] {
            assert!(!valid_alias(bad), "{bad}");
        }
    }

    #[test]
    fn the_ssh_line_never_prompts_forwards_nothing_and_checks_the_host_key() {
        let host = SshHost {
            name: "h".into(),
            alias: "h1".into(),
            config: Some("/etc/cm/ssh_config".into()),
            control_dir: None,
        };
        let a = host.argv("tmux -L x ls", Duration::from_secs(10)).unwrap();
        for o in ["BatchMode=yes", "StrictHostKeyChecking=yes", "ForwardAgent=no", "ClearAllForwardings=yes"] {
            assert!(a.iter().any(|w| w == o), "{o}: {a:?}");
        }
        assert_eq!(&a[..2], ["-F", "/etc/cm/ssh_config"]);
        assert_eq!(&a[a.len() - 3..a.len() - 1], ["--", "h1"]);
        // A remote program's 255 is not ssh's.
        let out = std::process::Command::new("sh")
            .args(["-c", a.last().unwrap().replace("tmux -L x ls", "sh -c 'exit 255'").as_str()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(254));
        let out = std::process::Command::new("sh").args(["-c", &remap_255("echo hi; exit 3")]).output().unwrap();
        assert_eq!((out.status.code(), out.stdout.as_slice()), (Some(3), b"hi\n".as_slice()));
        let bad = SshHost { alias: "-oProxyCommand=sh".into(), ..host };
        assert!(bad.argv("x", Duration::from_secs(1)).is_err());
        assert_eq!(
            check_transport(&bad, 255, b"Host key verification failed."),
            Err(SshError::UnknownHostKey("h".into()))
        );
        assert_eq!(check_transport(&bad, 255, b"connect: Connection refused"), Err(SshError::Unreachable("h".into())));
        assert_eq!(check_transport(&bad, 1, b"no server running"), Ok(()));
    }

    #[test]
    fn the_resolving_line_expands_home_resolves_links_and_runs_nothing_it_reads() {
        let dir = std::env::temp_dir().join(format!("cm-ssh-resolve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("real")).unwrap();
        let _ = std::os::unix::fs::symlink(dir.join("real"), dir.join("link"));
        let items = ["link/new.rs", "../x/./y", "~/z", "$(touch pwned)", "a\nb"];
        let input: Vec<u8> = items.iter().flat_map(|i| i.bytes().chain([0])).collect();
        let out = std::process::Command::new("bash")
            .args(["-c", &resolve_line(&dir.to_string_lossy())])
            .env("HOME", "/home/u")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&input)?;
                c.wait_with_output()
            })
            .unwrap();
        let got: Vec<String> = out.stdout.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
        let d = dir.to_string_lossy();
        assert_eq!(got[0], format!("{d}/real/new.rs"));
        assert_eq!(got[1], format!("{}/x/y", dir.parent().unwrap().to_string_lossy()));
        assert_eq!(got[2], "/home/u/z");
        assert_eq!(got[3], format!("{d}/$(touch pwned)"));
        assert_eq!(got[4], format!("{d}/a\nb"));
        assert!(!dir.join("pwned").exists() && !Path::new("pwned").exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
