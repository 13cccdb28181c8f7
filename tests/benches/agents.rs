//! Agent benchmarks (prints numbers; never a timed test): `agent_status` through MCP for 2 and
//! for 64 scripted agents in real tmux (a private server), and the cold CLI `status`.
//!
//! Run: `cargo bench -p codex-master-host --bench agents`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "mcp_session.rs"]
mod mcp_session;

const BIN: &str = env!("CARGO_BIN_EXE_codex-master-mcp");

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Fleet {
    root: PathBuf,
}

impl Fleet {
    fn new(count: usize) -> Fleet {
        let root = std::env::temp_dir().join(format!("cm-bench-agents-{count}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        // Admission would stop a 64-agent fleet at its default 16 workers.
        let toml: String = std::iter::once(format!("[admission]\nmax_workers = {}\n", count.max(16)))
            .chain((0..count).map(|i| format!("[agents.w{i:02}]\nprofile = \"scripted\"\n")))
            .collect();
        std::fs::write(root.join("cfg/config.toml"), toml).unwrap();
        Fleet { root }
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
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(self.root.join("tmux.sock"))
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Median and p90 of a tool call (all agents) over one MCP connection.
fn status_through_mcp(fleet: &Fleet, runs: usize) -> (Duration, Duration, usize) {
    tool_through_mcp(fleet, runs, "agent_status", serde_json::json!({"agent": "all"}))
}

fn tool_through_mcp(
    fleet: &Fleet,
    runs: usize,
    tool: &str,
    arguments: serde_json::Value,
) -> (Duration, Duration, usize) {
    let mut session = mcp_session::Session::start(BIN, &fleet.env());
    let mut times = Vec::new();
    let mut agents = 0;
    for i in 0..runs + 3 {
        let t = Instant::now();
        let v = session.call(tool, arguments.clone());
        let elapsed = t.elapsed();
        assert_eq!(v["result"]["isError"], false, "{v}");
        if let Some(results) = v["result"]["structuredContent"]["results"].as_array() {
            if tool != "agent_skills" {
                assert!(results.iter().all(|r| r["running"] == true), "every agent runs: {v}");
            }
            agents = results.len();
        }
        if i >= 3 {
            times.push(elapsed);
        }
    }
    drop(session);
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.9), agents)
}

fn await_idle(fleet: &Fleet) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let out = fleet.cli(&["status", "all"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if v["results"].as_array().unwrap().iter().all(|r| r["state"] == "idle") {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the fleet never became idle");
}

fn main() {
    for count in [2usize, 64] {
        let fleet = Fleet::new(count);
        std::fs::create_dir_all(fleet.root.join("work")).unwrap();
        let work = fleet.root.join("work");
        let started = Instant::now();
        let out = fleet.cli(&["start", "all", "--cwd", work.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let start_time = started.elapsed();
        await_idle(&fleet);
        let (p50, p90, agents) = status_through_mcp(&fleet, if count > 8 { 30 } else { 200 });
        let mut cold = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            assert!(fleet.cli(&["status", "all"]).status.success());
            cold.push(t.elapsed());
        }
        cold.sort();
        let goal = if count > 8 { "goal < 150 ms" } else { "goal < 10 ms" };
        println!(
            "{agents:>2} scripted agents: agent_status through MCP p50 {:.1} ms, p90 {:.1} ms ({goal}); cold CLI `status all` median {:.1} ms (seed CLI, 2 agents: ~200 ms); `start all` {:.0} ms",
            ms(p50),
            ms(p90),
            ms(percentile(&cold, 0.5)),
            ms(start_time)
        );
        admission_bench(&fleet, count);
        events_bench(&fleet, count, p50);
        if count == 2 {
            doctor_bench(&fleet);
        }
        if count > 8 {
            top_bench(&fleet, count);
            // A watchdog pass that finds every agent recently active (no keys sent).
            let (p50, p90, _) = tool_through_mcp(
                &fleet,
                20,
                "fleet_watchdog",
                serde_json::json!({"agent": "all", "idle_seconds": 3600, "manage_unclaimed": true}),
            );
            println!(
                "{count} scripted agents: fleet_watchdog pass through MCP p50 {:.1} ms, p90 {:.1} ms (goal < 200 ms)",
                ms(p50),
                ms(p90)
            );
        }
        let _: &Path = &fleet.root;
    }

    // Uncontended lease claim + release, in process (lock, read, atomic replace with fsync).
    let root = std::env::temp_dir().join(format!("cm-bench-lease-{}", std::process::id()));
    let state = codex_master::state::State::open_at(&root).unwrap();
    let mut times = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let _lock = state.agent_lock("w").unwrap();
        codex_master::lease::claim(&state, "w", "bench", 1800, codex_master::lease::Force::No, None).unwrap();
        codex_master::lease::release(&state, "w", "bench", codex_master::lease::Force::No, None).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "uncontended claim + release: p50 {:.3} ms, p90 {:.3} ms (goal <= 1 ms; two fsynced atomic replaces)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9))
    );
    let _ = std::fs::remove_dir_all(root);

    assignments_bench();
}

/// CPU seconds (user + system) a process and its finished children (the tmux clients it ran)
/// have used, from `/proc/PID/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces) start at its closing paren:
    // utime, stime, cutime, cstime.
    let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    let ticks: f64 = rest[11..15].iter().map(|t| t.parse::<f64>().unwrap()).sum();
    // SAFETY: sysconf reads a constant.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The CPU one frame of the live `top` costs with `count` agents: `top` runs in a pane of the
/// fleet's tmux server (a frame on every second), and its CPU over 20 s is divided by the frames.
fn top_bench(fleet: &Fleet, count: usize) {
    let tmux =
        |args: &[&str]| Command::new("tmux").arg("-S").arg(fleet.root.join("tmux.sock")).args(args).output().unwrap();
    let env: Vec<String> = fleet.env().iter().map(|(k, v)| format!("{k}={}", v.display())).collect();
    let mut argv = vec!["new-session", "-d", "-s", "top-bench", "-x", "200", "-y", "80", "env"];
    argv.extend(env.iter().map(String::as_str));
    argv.extend([BIN, "top"]);
    assert!(tmux(&argv).status.success());
    let pid = String::from_utf8_lossy(&tmux(&["list-panes", "-t", "=top-bench:", "-F", "#{pane_pid}"]).stdout)
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "=top-bench:"]).stdout).contains("│w00 ") {
        assert!(Instant::now() < deadline, "top never drew");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (cpu0, t0) = (cpu_seconds(&pid), Instant::now());
    std::thread::sleep(Duration::from_secs(20));
    let (cpu1, frames) = (cpu_seconds(&pid), t0.elapsed().as_secs_f64().floor());
    let _ = tmux(&["kill-session", "-t", "=top-bench"]);
    println!(
        "{count} scripted agents: one frame of the live `top` costs {:.1} ms of CPU, its tmux calls included (goal <= 30 ms; {frames} frames)",
        (cpu1 - cpu0) * 1e3 / frames
    );
}

/// The worker events path: the `hook` subcommand cold (what every event of a worker CLI costs),
/// and `agent_status` when every agent's run has hooks and 200 events in its log (each status
/// reads and folds them), against `without` (the same fleet before).
fn events_bench(fleet: &Fleet, count: usize, without: Duration) {
    let state = fleet.root.join("state");
    let input = serde_json::json!({"session_id": "s", "transcript_path": "/x", "cwd": "/x", "prompt_id": "p-1", "hook_event_name": "UserPromptSubmit", "prompt": "run the tests and report"}).to_string();
    let mut cold = Vec::new();
    for _ in 0..if count > 8 { 20 } else { 100 } {
        let t = Instant::now();
        let mut child = Command::new(BIN)
            .args([
                "hook",
                "--codex-master-events",
                "--cli",
                "claude",
                "--agent",
                "w00",
                "--event",
                "UserPromptSubmit",
                "--state-dir",
            ])
            .arg(&state)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        cold.push(t.elapsed());
    }
    cold.sort();
    // Every run listens to its events: 200 in each log (a long turn's worth).
    let st = codex_master::state::State::open_at(&state).unwrap();
    let now = (codex_master::timefmt::now_epoch() * 1000.0) as u64;
    for i in 0..count {
        let agent = format!("w{i:02}");
        let mut meta = st.read_meta(&agent).unwrap().unwrap();
        meta.hooks = true;
        st.write_meta(&meta).unwrap();
        for n in 0..200u64 {
            use codex_master::events::{Event, EventKind};
            let kind = [EventKind::PromptSubmitted, EventKind::ToolDone, EventKind::TurnEnded][(n % 3) as usize];
            codex_master::events::log::append(&st.events, &agent, &Event::new(kind, now - 200 + n)).unwrap();
        }
    }
    let (p50, p90, _) = status_through_mcp(fleet, if count > 8 { 30 } else { 200 });
    println!(
        "hook subcommand, cold: median {:.2} ms, p90 {:.2} ms (goal < 5 ms); {count} agents with 200 events each: agent_status p50 {:.1} ms, p90 {:.1} ms (without events {:.1} ms)",
        ms(percentile(&cold, 0.5)),
        ms(percentile(&cold, 0.9)),
        ms(p50),
        ms(p90),
        ms(without)
    );
}

/// What the admission check adds to `agent_start`: the admission lock (a walk of the state tree
/// and a flock), the `/proc` readings, the workers' process trees and the decision, with `count`
/// workers running. The tmux listing it uses is the one every start already made.
fn admission_bench(fleet: &Fleet, count: usize) {
    let out = Command::new("tmux")
        .arg("-S")
        .arg(fleet.root.join("tmux.sock"))
        .args(["list-panes", "-a", "-F", "#{pane_pid}"])
        .output()
        .unwrap();
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(pids.len(), count, "every worker has a pane");
    let proc_root = Path::new("/proc");
    let thresholds = codex_master::admission::Thresholds { max_workers: 1024, ..Default::default() };
    let mut times = Vec::new();
    let mut processes = 0;
    let state_root = fleet.root.join("state");
    for _ in 0..200 {
        let t = Instant::now();
        let state = codex_master::state::State::open_at(&state_root).unwrap();
        let _lock = state.locks.lock("admission.lock", Duration::from_secs(10)).unwrap();
        let sample = codex_master::admission::sample(proc_root);
        processes = codex_master::proctree::tree_size(proc_root, &pids);
        let workers = codex_master::admission::Workers { running: pids.len() as u32, processes };
        let _ = std::hint::black_box(codex_master::admission::decide(&sample, workers, &thresholds, 512));
        times.push(t.elapsed());
    }
    times.sort();
    let all = std::fs::read_dir(proc_root)
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok()))
        .count();
    println!(
        "{count} workers ({processes} processes in their trees, {all} on the machine): admission check p50 {:.3} ms, p90 {:.3} ms (goal < 2 ms added to agent_start)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9))
    );
}

/// The Codex CLI that `scripts/bootstrap` installs (0.171.0), if present.
fn codex_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci-tools/codex/0.171.0/node_modules/@openai");
    for pkg in std::fs::read_dir(&root).ok()?.flatten() {
        for triple in std::fs::read_dir(pkg.path().join("vendor")).into_iter().flatten().flatten() {
            let bin = triple.path().join("bin/codex");
            if bin.is_file() {
                return Some(bin);
            }
        }
    }
    None
}

/// `doctor` with 2 agents, installed and registered with the real Codex (its `codex mcp get`,
/// the self-test and the lead fingerprint are most of the time).
fn doctor_bench(fleet: &Fleet) {
    let Some(codex) = codex_binary() else {
        println!("doctor: skipped (no Codex under .ci-tools; run scripts/bootstrap)");
        return;
    };
    std::fs::create_dir_all(fleet.root.join(".codex")).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", fleet.root.join("bin").display(), codex.parent().unwrap().display());
    let run = |args: &[&str]| {
        Command::new(BIN).args(args).envs(fleet.env()).env("PATH", &path).env_remove("RUST_BACKTRACE").output().unwrap()
    };
    let bin_dir = fleet.root.join("bin");
    let out = run(&["install", "--codex", codex.to_str().unwrap(), "--bin-dir", bin_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let out = run(&["doctor"]);
        times.push(t.elapsed());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["checks"].as_array().is_some_and(|c| c.len() > 10), "{v}");
    }
    times.sort();
    println!(
        " 2 scripted agents: doctor (installed, registered with Codex 0.171) median {:.0} ms, p90 {:.0} ms (goal < 500 ms)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9))
    );
}

/// `agent_skills` over a home with 2,000 skills, and `agent_scope_check` with 50 paths.
fn assignments_bench() {
    let fleet = Fleet::new(1);
    let home = fleet.root.join("codex-home");
    for i in 0..2000 {
        let rel = match i % 4 {
            0 => format!("skills/.system/sys{i}"),
            1 => format!("plugins/cache/openai-curated/plugin{}/1.0.0/skills/s{i}", i % 50),
            2 => format!(".tmp/plugins/plugins/tmp{}/skills/s{i}", i % 40),
            _ => format!("skills/user{i}"),
        };
        std::fs::create_dir_all(home.join(&rel)).unwrap();
        std::fs::write(
            home.join(&rel).join("SKILL.md"),
            format!(
                "---\nname: s{i}\ndescription: Skill number {i}, which does things.\n---\n\n{}",
                "Body text. ".repeat(200)
            ),
        )
        .unwrap();
    }
    std::fs::write(
        fleet.root.join("cfg/config.toml"),
        format!("[agents.w00]\nprofile = \"scripted\"\nhome = \"{}\"\n", home.display()),
    )
    .unwrap();
    let mut scans = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let inv = codex_master::skills::scan(&home, codex_master::skills::CODEX_ROOTS);
        scans.push(t.elapsed());
        assert_eq!(inv.skills.len(), 2000);
    }
    scans.sort();
    let (p50, p90, _) = tool_through_mcp(
        &fleet,
        20,
        "agent_skills",
        serde_json::json!({"agent": "all", "include_names": true, "limit": 200}),
    );
    println!(
        "agent_skills over 2,000 skills through MCP: p50 {:.1} ms, p90 {:.1} ms (goal < 50 ms); the scan alone p50 {:.1} ms",
        ms(p50),
        ms(p90),
        ms(percentile(&scans, 0.5))
    );

    let repo = fleet.root.join("repo");
    for d in ["src/a/b/c", "tests/unit", "docs"] {
        std::fs::create_dir_all(repo.join(d)).unwrap();
    }
    std::os::unix::fs::symlink(repo.join("docs"), repo.join("src/docs-link")).unwrap();
    let scope: Vec<String> = vec!["src".into(), "tests".into()];
    let writes: Vec<String> = (0..50)
        .map(|i| match i % 5 {
            0 => format!("src/a/b/c/file{i}.rs"),
            1 => format!("src/../tests/unit/t{i}.rs"),
            2 => format!("src/docs-link/d{i}.md"),
            3 => format!("{}/src/a/f{i}.rs", repo.display()),
            _ => format!("docs/new/deeper/n{i}.md"),
        })
        .collect();
    let mut checks = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let bad = codex_master::session::scope::violations(&repo, &scope, &writes);
        checks.push(t.elapsed());
        assert_eq!(bad.len(), 20);
    }
    checks.sort();
    let args = serde_json::json!({"scope": scope, "write_paths": writes, "cwd": repo.display().to_string()});
    let (p50, p90, _) = tool_through_mcp(&fleet, 50, "agent_scope_check", args);
    println!(
        "agent_scope_check with 50 write paths through MCP: p50 {:.2} ms, p90 {:.2} ms (goal < 5 ms); the check alone p50 {:.3} ms",
        ms(p50),
        ms(p90),
        ms(percentile(&checks, 0.5))
    );
}
