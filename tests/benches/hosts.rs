//! Host benchmarks (prints numbers; never a timed test): `agent_status` through MCP for scripted
//! workers on loopback hosts (a real `sshd` per host, see `tests/common/sshd.rs`): one host's
//! 64, and 4 hosts × 64 = 256. `CM_BENCH_HOST_AGENTS` sets the agents per host (default 64).
//!
//! Run: `cargo bench -p codex-master-host --bench hosts`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "mcp_session.rs"]
mod mcp_session;
#[path = "../common/sshd.rs"]
#[allow(dead_code)]
mod sshd;

const BIN: &str = env!("CARGO_BIN_EXE_codex-master-mcp");

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Fleet {
    root: PathBuf,
    _hosts: Vec<sshd::Host>,
}

impl Fleet {
    fn new(hosts: usize, per_host: usize) -> Fleet {
        let root = std::env::temp_dir().join(format!("cm-bench-hosts-{hosts}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        std::fs::create_dir_all(root.join("work")).unwrap();
        let mut toml = String::new();
        let mut started = Vec::new();
        for h in 0..hosts {
            let host = sshd::Host::start(&root.join(format!("h{h}")), &format!("h{h}"));
            toml.push_str(&format!(
                "[hosts.h{h}]\nssh = \"h{h}\"\nssh_config = \"{}\"\n[hosts.h{h}.admission]\nmax_workers = {per_host}\nmax_worker_processes = 100000\n",
                host.ssh_config().display()
            ));
            for i in 0..per_host {
                toml.push_str(&format!("[agents.h{h}w{i:02}]\nprofile = \"scripted\"\nhost = \"h{h}\"\n"));
            }
            started.push(host);
        }
        std::fs::write(root.join("cfg/config.toml"), toml).unwrap();
        Fleet { root, _hosts: started }
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        mcp_session::fleet_env(&self.root)
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN).args(args).envs(self.env()).output().unwrap()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.cli(&["stop", "all"]);
        self._hosts.clear();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Median and p90 of `agent_status all` over one MCP connection.
fn status_through_mcp(fleet: &Fleet, runs: usize) -> (Duration, Duration, usize) {
    let mut session = mcp_session::Session::start(BIN, &fleet.env());
    let mut times = Vec::new();
    let mut agents = 0;
    for i in 0..runs + 3 {
        let t = Instant::now();
        let v = session.call("agent_status", serde_json::json!({"agent": "all"}));
        let elapsed = t.elapsed();
        let results = v["result"]["structuredContent"]["results"].as_array().cloned().unwrap_or_default();
        assert!(results.iter().all(|r| r["running"] == true), "every agent runs: {v}");
        agents = results.len();
        if i >= 3 {
            times.push(elapsed);
        }
    }
    times.sort();
    (times[times.len() / 2], times[(times.len() - 1) * 9 / 10], agents)
}

fn await_running(fleet: &Fleet, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let v: serde_json::Value = serde_json::from_slice(&fleet.cli(&["status", "all"]).stdout).unwrap();
        let results = v["results"].as_array().cloned().unwrap_or_default();
        if results.len() == count && results.iter().all(|r| r["state"] == "idle") {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the fleet never became idle");
}

fn main() {
    if !std::path::Path::new(sshd::SSHD).is_file() {
        println!("hosts: skipped, sshd is not installed (scripts/bootstrap installs it)");
        return;
    }
    let per_host: usize = std::env::var("CM_BENCH_HOST_AGENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    for (hosts, goal) in [(1usize, "goal <= 25 ms"), (4, "goal <= 80 ms")] {
        let fleet = Fleet::new(hosts, per_host);
        let work = fleet.root.join("work");
        let t = Instant::now();
        let out = fleet.cli(&["start", "all", "--cwd", work.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let start = t.elapsed();
        await_running(&fleet, hosts * per_host);
        let (p50, p90, agents) = status_through_mcp(&fleet, 30);
        println!(
            "{hosts} loopback host(s) x {per_host} scripted agents ({agents}): agent_status through MCP p50 {:.1} ms, p90 {:.1} ms ({goal}); `start all` {:.0} ms",
            ms(p50),
            ms(p90),
            ms(start)
        );
    }
}
