//! A test's fleet: private state, a config with scripted agents, and its own tmux server.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{base_env, cli, TempDir};

/// One test's world: state, config with scripted agents, and its own tmux server.
pub struct Fleet {
    pub dir: TempDir,
    pub env: Vec<(String, String)>,
    pub socket: String,
}

impl Fleet {
    pub fn new(tag: &str, agents_toml: &str) -> Fleet {
        let dir = TempDir::new(tag);
        std::fs::create_dir_all(dir.join("cfg")).unwrap();
        std::fs::create_dir_all(dir.join("work")).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::write(dir.join("cfg/config.toml"), agents_toml).unwrap();
        let socket = dir.join("tmux.sock").display().to_string();
        let mut env = base_env(&dir, "test-lead");
        env.push(("CODEX_MASTER_MCP_CONFIG_DIR".into(), dir.join("cfg").display().to_string()));
        env.push(("CODEX_MASTER_TMUX_SOCKET".into(), socket.clone()));
        Fleet { dir, env, socket }
    }

    pub fn scripted(tag: &str, names: &[&str]) -> Fleet {
        let toml: String = names
            .iter()
            .map(|n| format!("[agents.{n}]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"1\"]\n"))
            .collect();
        Fleet::new(tag, &toml)
    }

    /// The fleet's environment under another client identity.
    pub fn env_as(&self, instance: &str) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| {
                (k.clone(), if k == "CODEX_MASTER_MCP_INSTANCE_ID" { instance.to_owned() } else { v.clone() })
            })
            .collect()
    }

    pub fn run(&self, args: &[&str]) -> (i32, Value) {
        let r = cli(&self.env, args);
        assert!(!r.stdout.contains(self.dir.path().to_str().unwrap()), "a local path leaked: {}", r.stdout);
        (r.code, r.json())
    }

    pub fn cwd(&self) -> String {
        self.dir.join("work").display().to_string()
    }

    pub fn state_of(&self, agent: &str) -> String {
        let (_, v) = self.run(&["status", agent]);
        v["results"][0]["state"].as_str().unwrap_or("?").to_owned()
    }

    /// Polls status until `agent` is in `state` (bounded).
    pub fn await_state(&self, agent: &str, state: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = String::new();
        while Instant::now() < deadline {
            last = self.state_of(agent);
            if last == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!("agent {agent} never became {state}; last state {last}");
    }

    /// Polls `agent`'s status entry until `check` holds (at most `limit`); the failure shows the
    /// entry and the agent's pane.
    pub fn await_entry(&self, agent: &str, what: &str, limit: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let (_, v) = self.run(&["status", agent]);
            let entry = v["results"][0].clone();
            if check(&entry) {
                return entry;
            }
            if Instant::now() >= deadline {
                let session = entry["session"].as_str().unwrap_or_default().to_owned();
                let pane = self.tmux(&["capture-pane", "-p", "-t", &session]);
                panic!("waiting for {what}: {entry}\n{}", String::from_utf8_lossy(&pane.stdout));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Appends `text` to `agent`'s raw log, as if the worker had printed it.
    pub fn append_to_raw_log(&self, agent: &str, text: &str) {
        use std::io::Write;
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.join("state/meta").join(format!("{agent}.json"))).unwrap(),
        )
        .unwrap();
        let log_path = std::fs::read_dir(self.dir.join("state"))
            .unwrap()
            .flatten()
            .map(|d| d.path().join(meta["raw_log"].as_str().unwrap()))
            .find(|p| p.is_file())
            .expect("the raw log");
        std::fs::OpenOptions::new().append(true).open(&log_path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().unwrap()
    }
}

impl Drop for Fleet {
    /// Ends the tmux server and every worker process in its panes' trees: some CLIs (Gemini's
    /// node processes) outlive the SIGHUP of a closed pane.
    fn drop(&mut self) {
        let listed = self.tmux(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        let roots: Vec<u32> =
            String::from_utf8_lossy(&listed.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
        let proc_root = std::path::Path::new("/proc");
        let tree = codex_master::proctree::tree_pids(proc_root, &roots).unwrap_or(roots);
        let _ = self.tmux(&["kill-server"]);
        if !tree.is_empty() {
            let pids: Vec<String> = tree.iter().map(u32::to_string).collect();
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .args(&pids)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}
