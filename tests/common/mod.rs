//! Shared helpers for the integration tests: a private state dir per test, the real binary over
//! real pipes, and CLI runs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub mod anthropic_mock;
pub mod fleet;
pub mod gemini_mock;
pub mod loopback;
pub mod model_mock;
pub mod secrets_corpus;
pub mod sshd;

pub const BIN: &str = env!("CARGO_BIN_EXE_codex-master-mcp");

/// A unique temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let unique = format!("cm-{tag}-{}-{}", std::process::id(), codex_master::fsafe::nonce());
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment every child gets: an isolated state dir and HOME, and a fixed identity.
pub fn base_env(state: &TempDir, instance: &str) -> Vec<(String, String)> {
    vec![
        ("CODEX_MASTER_MCP_STATE_DIR".into(), state.join("state").display().to_string()),
        ("HOME".into(), state.join("home").display().to_string()),
        ("CODEX_MASTER_MCP_INSTANCE_ID".into(), instance.into()),
        // A private tmux socket dir, so tests never see the developer's sessions.
        ("TMUX_TMPDIR".into(), state.path().display().to_string()),
    ]
}

/// The real server over real pipes.
pub struct Mcp {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pending: Vec<Value>,
}

impl Mcp {
    pub fn spawn(env: &[(String, String)]) -> Mcp {
        Mcp::spawn_with_stderr(env, Stdio::null())
    }

    /// [`Mcp::spawn`] with the server's log going to `stderr`.
    pub fn spawn_with_stderr(env: &[(String, String)], stderr: Stdio) -> Mcp {
        let mut cmd = Command::new(BIN);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr).env_remove("RUST_BACKTRACE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn codex-master-mcp");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Mcp { child, stdin, lines: rx, pending: Vec::new() }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).unwrap();
        line.push(b'\n');
        self.send_raw(&line);
    }

    /// The next raw stdout line.
    pub fn recv_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Some(l),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next message, parsed.
    pub fn recv(&mut self, timeout: Duration) -> Option<Value> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        self.recv_line(timeout)
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
    }

    /// Waits for the response with `id`, keeping others for later.
    pub fn wait_for(&mut self, id: &Value, timeout: Duration) -> Option<Value> {
        if let Some(pos) = self.pending.iter().position(|m| &m["id"] == id) {
            return Some(self.pending.remove(pos));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.recv_line(left)?;
            let msg: Value = serde_json::from_str(&line).unwrap();
            if &msg["id"] == id {
                return Some(msg);
            }
            self.pending.push(msg);
        }
    }

    pub fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(&json!(id), Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no response to {method} (id {id})"))
    }

    pub fn initialize(&mut self) -> Value {
        let r = self.request(0, "initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tests", "version": "0"}}));
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    pub fn call(&mut self, id: i64, tool: &str, args: Value) -> Value {
        self.request(id, "tools/call", json!({"name": tool, "arguments": args}))["result"].clone()
    }

    /// Closes stdin and waits (bounded) for the exit status.
    pub fn close(mut self) -> Option<i32> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Result of one CLI run.
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("CLI stdout is not JSON ({e}): {}", self.stdout))
    }
}

pub fn cli(env: &[(String, String)], args: &[&str]) -> CliRun {
    let mut cmd = Command::new(BIN);
    // This machine sets RUST_BACKTRACE; agents (and the tmux server the first call starts)
    // would inherit it.
    cmd.args(args).stdin(Stdio::null()).env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run CLI");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
