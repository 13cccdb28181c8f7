//! One MCP connection to the real binary for the benchmarks: spawn, initialize, call.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The environment of a benchmark fleet under `root`: its state, config, tmux socket and home.
pub fn fleet_env(root: &std::path::Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("CODEX_MASTER_MCP_STATE_DIR", root.join("state")),
        ("CODEX_MASTER_MCP_CONFIG_DIR", root.join("cfg")),
        ("CODEX_MASTER_TMUX_SOCKET", root.join("tmux.sock")),
        ("HOME", root.to_path_buf()),
    ]
}

pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    next_id: u64,
}

impl Session {
    /// The server with `env`, initialized.
    pub fn start(bin: &str, env: &[(&'static str, PathBuf)]) -> Session {
        let mut child = Command::new(bin)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Session { child, stdin, stdout, line: String::new(), next_id: 0 };
        let init = serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}});
        s.rpc("initialize", init);
        s
    }

    /// One request and its response.
    pub fn rpc(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let msg = serde_json::json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        self.line.clear();
        self.stdout.read_line(&mut self.line).unwrap();
        serde_json::from_str(&self.line).unwrap()
    }

    /// `tools/call` of `tool` with `arguments`.
    pub fn call(&mut self, tool: &str, arguments: serde_json::Value) -> serde_json::Value {
        self.rpc("tools/call", serde_json::json!({"name": tool, "arguments": arguments}))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
