//! The one runner for external processes (git, python, tmux, systemctl).
//!
//! Every process runs with a deadline (killed when it passes, or when the calling tool call is
//! cancelled: `kill_on_drop`), stdin closed unless input is given, and bounded captured output
//! (both pipes are drained past the cap, so a chatty child never blocks on a full pipe).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Captured bytes per stream, unless a command asks for less.
pub const MAX_CAPTURE: usize = 4 * 1024 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct Cmd<'a> {
    pub program: &'a str,
    pub args: Vec<String>,
    pub cwd: Option<&'a Path>,
    pub env: Vec<(&'a str, String)>,
    /// Variables taken out of the inherited environment.
    pub remove: Vec<&'a str>,
    /// Start from an empty environment (then `env` only), as a filtering parent would.
    pub clear_env: bool,
    /// Written to stdin, which is then closed (stdin is `/dev/null` without it).
    pub input: Option<&'a [u8]>,
    pub timeout: Duration,
    pub max_capture: usize,
}

impl<'a> Cmd<'a> {
    pub fn new<S: AsRef<str>>(program: &'a str, args: &[S], timeout: Duration) -> Cmd<'a> {
        Cmd {
            program,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            cwd: None,
            env: Vec::new(),
            remove: Vec::new(),
            clear_env: false,
            input: None,
            timeout,
            max_capture: MAX_CAPTURE,
        }
    }

    pub fn cwd(mut self, cwd: &'a Path) -> Self {
        self.cwd = Some(cwd);
        self
    }

    pub fn env(mut self, env: &[(&'a str, String)]) -> Self {
        self.env.extend(env.iter().cloned());
        self
    }

    pub fn remove(mut self, names: &[&'a str]) -> Self {
        self.remove.extend_from_slice(names);
        self
    }

    pub fn clear_env(mut self) -> Self {
        self.clear_env = true;
        self
    }

    pub fn input(mut self, input: Option<&'a [u8]>) -> Self {
        self.input = input;
        self
    }

    pub fn max_capture(mut self, max: usize) -> Self {
        self.max_capture = max;
        self
    }
}

/// What a finished (or killed) process left.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; 124 after a timeout, 127 when the program could not start, -1 when killed by
    /// a signal.
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    /// Why the program could not start.
    pub spawn_error: Option<std::io::ErrorKind>,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// stdout then stderr, as text.
    pub fn combined(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.stdout).into_owned();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&String::from_utf8_lossy(&self.stderr));
        }
        s
    }
}

async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(mut r: R, max: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                // Keep draining past the cap so the child never blocks on a full pipe.
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Starts a long-lived `program args…` with piped stdin and stdout (stderr discarded), killed
/// when dropped: a channel that many calls share, each with its own deadline (its owner's).
pub fn spawn_piped(program: &str, args: &[String]) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// One read from a kept child's stdout into `buffer`, which may hold at most `max` bytes;
/// `None` at EOF, on an error or past the bound (the channel is then dropped).
pub async fn read_more(stdout: &mut tokio::process::ChildStdout, buffer: &mut Vec<u8>, max: usize) -> Option<()> {
    use tokio::io::AsyncReadExt;
    if buffer.len() > max {
        return None;
    }
    buffer.reserve(64 * 1024);
    (stdout.read_buf(buffer).await.ok()? > 0).then_some(())
}

/// Runs `cmd` to completion or its deadline.
pub async fn run(cmd: &Cmd<'_>) -> Output {
    let mut command = tokio::process::Command::new(cmd.program);
    command
        .args(&cmd.args)
        .stdin(if cmd.input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = cmd.cwd {
        command.current_dir(cwd);
    }
    if cmd.clear_env {
        command.env_clear();
    }
    for k in &cmd.remove {
        command.env_remove(k);
    }
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Output {
                code: 127,
                stdout: Vec::new(),
                stderr: format!("{} could not be started: {}", cmd.program, e.kind()).into_bytes(),
                timed_out: false,
                spawn_error: Some(e.kind()),
            }
        }
    };
    let (stdin, out, err) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let max = cmd.max_capture;
    let work = async {
        let feed = async {
            if let (Some(bytes), Some(mut stdin)) = (cmd.input, stdin) {
                let _ = stdin.write_all(bytes).await;
            }
        };
        let stdout = async {
            match out {
                Some(o) => read_bounded(o, max).await,
                None => Vec::new(),
            }
        };
        let stderr = async {
            match err {
                Some(e) => read_bounded(e, max).await,
                None => Vec::new(),
            }
        };
        let (_, stdout, stderr, status) = tokio::join!(feed, stdout, stderr, child.wait());
        (stdout, stderr, status)
    };
    match tokio::time::timeout(cmd.timeout, work).await {
        Ok((stdout, stderr, status)) => Output {
            code: status.ok().and_then(|s| s.code()).unwrap_or(-1),
            stdout,
            stderr,
            timed_out: false,
            spawn_error: None,
        },
        Err(_) => Output {
            code: 124,
            stdout: Vec::new(),
            stderr: format!("command timed out after {} seconds", cmd.timeout.as_secs()).into_bytes(),
            timed_out: true,
            spawn_error: None,
        },
    }
}

/// [`run`] for synchronous callers outside the async runtime (a private one-thread runtime).
pub fn run_blocking(cmd: &Cmd<'_>) -> Output {
    match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt.block_on(run(cmd)),
        Err(e) => Output {
            code: 127,
            stdout: Vec::new(),
            stderr: format!("no runtime for {}: {}", cmd.program, e.kind()).into_bytes(),
            timed_out: false,
            spawn_error: Some(e.kind()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_bounded_deadlines_kill_and_input_arrives() {
        let big = Cmd::new("sh", &["-c", "yes x | head -c 100000"], Duration::from_secs(10)).max_capture(1000);
        let out = run_blocking(&big);
        assert_eq!((out.code, out.stdout.len()), (0, 1000));
        let slow = Cmd::new("sleep", &["5"], Duration::from_millis(200));
        let started = std::time::Instant::now();
        let out = run_blocking(&slow);
        assert!(out.timed_out && out.code == 124 && started.elapsed() < Duration::from_secs(2));
        let echo = Cmd::new("cat", &[] as &[&str], Duration::from_secs(5)).input(Some(b"hello"));
        assert_eq!(run_blocking(&echo).stdout, b"hello");
        let missing = run_blocking(&Cmd::new("/nonexistent/program", &[] as &[&str], Duration::from_secs(1)));
        assert_eq!((missing.code, missing.spawn_error), (127, Some(std::io::ErrorKind::NotFound)));
    }
}
