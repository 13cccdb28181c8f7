//! Limits, load and crashes with the scripted agent in real tmux: host admission (a fake
//! `/proc` for pressure and memory, the real one for counts), waiting for a limit to pass, the
//! watchdog's one continue prompt after a reset, resuming a thread after the tmux server died,
//! and the repair of state a crash left half-written.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::fleet::Fleet;
use crate::common::{cli, Mcp};

/// A fake `/proc` with the given files (path relative to the root → content).
fn fake_proc(f: &Fleet, files: &[(&str, &str)]) -> String {
    let root = f.dir.join("fake-proc");
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(&root).unwrap();
    root.display().to_string()
}

fn with_proc(f: &Fleet, root: &str) -> Vec<(String, String)> {
    let mut env = f.env.clone();
    env.push(("CODEX_MASTER_MCP_PROC_ROOT".into(), root.to_owned()));
    env
}

const CALM_PSI: &str =
    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
const PLENTY: &str = "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n";

#[test]
fn admission_refuses_a_busy_host_with_the_check_that_failed() {
    let f = Fleet::new(
        "admission",
        "[admission]\nmax_workers = 1\n\n[agents.a]\nprofile = \"scripted\"\n[agents.b]\nprofile = \"scripted\"\n[agents.c]\nprofile = \"scripted\"\nmemory_max_mib = 256\n",
    );
    // Memory pressure above the default limit (40).
    let hot = "some avg10=63.20 avg60=20.00 avg300=5.00 total=1\nfull avg10=10.00 avg60=0.00 avg300=0.00 total=0\n";
    let root = fake_proc(&f, &[("meminfo", PLENTY), ("pressure/memory", hot), ("pressure/cpu", CALM_PSI)]);
    let r = cli(&with_proc(&f, &root), &["start", "a", "--cwd", &f.cwd()]);
    let v = r.json();
    let e = &v["results"][0];
    assert_eq!(
        (e["error_code"].as_str(), e["check"].as_str(), e["retryable"].as_bool(), e["retry_after_seconds"].as_u64()),
        (Some("host_busy"), Some("memory_pressure"), Some(true), Some(20)),
        "{v}"
    );
    assert!(!e["message"].as_str().unwrap().contains("63.2"), "no numbers in the refusal: {e}");
    let st = cli(&with_proc(&f, &root), &["status", "all"]).json();
    let host = &st["host"];
    assert_eq!(
        (host["pressure"].as_str(), host["memory_pressure_avg10"].as_f64(), host["admission"].as_str()),
        (Some("available"), Some(63.2), Some("host_busy")),
        "{st}"
    );
    assert_eq!(
        (host["busy_check"].as_str(), host["memory_available_mib"].as_u64()),
        (Some("memory_pressure"), Some(8192))
    );

    // Too little memory for the estimate plus the reserve.
    let root = fake_proc(&f, &[("meminfo", "MemAvailable: 700000 kB\n"), ("pressure/memory", CALM_PSI)]);
    let v = cli(&with_proc(&f, &root), &["start", "a", "--cwd", &f.cwd()]).json();
    assert_eq!(v["results"][0]["check"], "memory_available", "{v}");
    // CPU saturation.
    let root =
        fake_proc(&f, &[("meminfo", PLENTY), ("pressure/cpu", "some avg10=99.50 avg60=90.00 avg300=50.00 total=1\n")]);
    let v = cli(&with_proc(&f, &root), &["start", "a", "--cwd", &f.cwd()]).json();
    assert_eq!(v["results"][0]["check"], "cpu_pressure", "{v}");

    // No PSI on this kernel: nothing is refused for pressure, and status says so.
    let bare = f.dir.join("bare-proc");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("meminfo"), PLENTY).unwrap();
    let bare = bare.display().to_string();
    let v = cli(&with_proc(&f, &bare), &["start", "a", "--cwd", &f.cwd()]).json();
    assert_eq!(v["results"][0]["status"], "started", "{v}");
    let st = cli(&with_proc(&f, &bare), &["status", "a"]).json();
    assert_eq!(
        (st["host"]["pressure"].as_str(), st["host"]["cpu_pressure_avg10"].is_null()),
        (Some("unavailable"), true)
    );

    // The real /proc: one worker runs and the config allows one.
    let v = f.run(&["start", "b", "--cwd", &f.cwd()]).1;
    assert_eq!(
        (v["results"][0]["error_code"].as_str(), v["results"][0]["check"].as_str()),
        (Some("host_busy"), Some("workers")),
        "{v}"
    );
    let st = f.run(&["status", "all"]).1;
    assert_eq!(st["host"]["workers_running"], 1, "{st}");
    assert!(st["host"]["worker_processes"].as_u64().unwrap() >= 1, "the worker's own process counts: {st}");
    assert_eq!(st["host"]["max_workers"], 1);
    f.run(&["stop", "a"]);

    // A memory cap runs the worker in a systemd scope where a user manager exists; else it runs
    // as any worker and both the start and status say so.
    let v = f.run(&["start", "c", "--cwd", &f.cwd()]).1;
    let cap = v["results"][0]["memory_cap"].as_str().unwrap().to_owned();
    assert!(cap == "systemd_scope" || cap == "unavailable", "{v}");
    f.await_state("c", "idle");
    let st = f.run(&["status", "c"]).1;
    assert_eq!(st["results"][0]["memory_cap"]["state"], cap.as_str(), "{st}");
    assert_eq!(st["results"][0]["memory_cap"]["max_mib"], 256, "{st}");
}

#[test]
fn worker_process_trees_count_toward_admission() {
    let f = Fleet::new(
        "admission-procs",
        "[admission]\nmax_worker_processes = 1\n\n[agents.a]\nprofile = \"scripted\"\n[agents.b]\nprofile = \"scripted\"\n",
    );
    assert_eq!(f.run(&["start", "a", "--cwd", &f.cwd()]).0, 0);
    let v = f.run(&["start", "b", "--cwd", &f.cwd()]).1;
    assert_eq!(v["results"][0]["check"], "worker_processes", "{v}");
    // A bad threshold is a configuration error, not a silent default.
    std::fs::write(
        f.dir.join("cfg/config.toml"),
        "[admission]\nmax_cpu_pressure = 250.0\n[agents.a]\nprofile = \"scripted\"\n",
    )
    .unwrap();
    let (code, v) = f.run(&["status", "a"]);
    assert_ne!(code, 0, "{v}");
    assert!(v.to_string().contains("max_cpu_pressure"), "{v}");
}

#[test]
fn concurrent_starts_never_both_take_the_last_slot() {
    let names = ["a", "b", "c", "d"];
    let agents: String = names.iter().map(|n| format!("[agents.{n}]\nprofile = \"scripted\"\n")).collect();
    let f = Fleet::new("admission-race", &format!("[admission]\nmax_workers = 2\n\n{agents}"));
    let cwd = f.cwd();
    let outcomes: Vec<Value> = std::thread::scope(|s| {
        let runs: Vec<_> = names
            .iter()
            .map(|n| s.spawn(|| cli(&f.env, &["start", n, "--cwd", &cwd]).json()["results"][0].clone()))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let started = outcomes.iter().filter(|o| o["status"] == "started").count();
    let refused = outcomes.iter().filter(|o| o["error_code"] == "host_busy" && o["check"] == "workers").count();
    assert_eq!((started, refused), (2, 2), "{outcomes:?}");
}

#[test]
fn stop_ends_every_process_of_a_worker_that_ignores_the_hangup() {
    // Like Gemini CLI's node processes: the closed pane's SIGHUP (and a SIGTERM) do not end it.
    let f = Fleet::new(
        "stop-tree",
        "[agents.h]\nprofile = \"generic\"\nrunner = \"/usr/bin/dash\"\nargs = [\"-c\", \"trap '' HUP TERM; sleep 300; :\"]\n",
    );
    assert_eq!(f.run(&["start", "h", "--cwd", &f.cwd()]).0, 0);
    let tree = f.await_entry("h", "its child", Duration::from_secs(10), |_| {
        let pid = String::from_utf8_lossy(&f.tmux(&["list-panes", "-a", "-F", "#{pane_pid}"]).stdout).trim().to_owned();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).is_ok_and(|c| !c.trim().is_empty())
    });
    assert_eq!(tree["running"], true);
    let pid = String::from_utf8_lossy(&f.tmux(&["list-panes", "-a", "-F", "#{pane_pid}"]).stdout).trim().to_owned();
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    let mut pids: Vec<String> = children.split_whitespace().map(str::to_owned).collect();
    pids.push(pid);
    let (code, v) = f.run(&["stop", "h"]);
    assert_eq!(code, 0, "{v}");
    let alive: Vec<&String> = pids.iter().filter(|p| codex_master::proctree::runs(p.parse().unwrap())).collect();
    assert!(alive.is_empty(), "still running after stop: {alive:?}");
}

fn transcript(f: &Fleet) -> Vec<String> {
    std::fs::read_to_string(f.dir.join("transcript.txt")).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn scripted_with_transcript(tag: &str) -> Fleet {
    let f = Fleet::new(tag, "");
    let path = f.dir.join("transcript.txt").display().to_string();
    std::fs::write(
        f.dir.join("cfg/config.toml"),
        format!(
            "[agents.a]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"1\", \"--transcript\", \"{path}\"]\n"
        ),
    )
    .unwrap();
    f
}

#[test]
fn wait_until_available_returns_once_the_reset_time_has_passed() {
    let f = scripted_with_transcript("wait-available");
    assert_eq!(f.run(&["start", "a", "--cwd", &f.cwd()]).0, 0);
    f.await_state("a", "idle");
    // Ten seconds: time enough to see the limit on a loaded machine before it passes.
    f.run(&["send", "a", "limit-for 10"]);
    f.await_state("a", "limited");
    let st = f.run(&["status", "all"]).1;
    let blocked = &st["blocked"][0];
    assert_eq!((blocked["agent"].as_str(), blocked["kind"].as_str()), (Some("a"), Some("usage")), "{st}");
    assert!(blocked["until_utc"].as_str().is_some_and(|t| t.ends_with('Z')), "{st}");
    // A limit ends an ordinary wait at once…
    let v = f.run(&["wait", "a", "--until", "idle", "--timeout-seconds", "10"]).1;
    assert_eq!(v["status"], "blocked_by_limit", "{v}");
    // …but `available` waits it out.
    let started = Instant::now();
    let v = f.run(&["wait", "a", "--until", "available", "--timeout-seconds", "30"]).1;
    assert_eq!(v["status"], "available", "{v}");
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited for the reset");
    assert_eq!(v["current"]["limit_state"]["rule"], "limit-reset-passed", "{v}");
    assert_eq!(f.run(&["status", "all"]).1["blocked"], Value::Array(vec![]));
    // An agent that is not limited is available at once; a stopped one is reported as such.
    assert_eq!(f.run(&["wait", "a", "--until", "available", "--timeout-seconds", "5"]).1["status"], "available");
    // A per-model limit names its bucket: the lead can restart the agent on another model.
    f.run(&["send", "a", "model-limit"]);
    f.await_state("a", "limited");
    let st = f.run(&["status", "all"]).1;
    let bucket = st["blocked"][0]["model_bucket"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert_eq!(bucket, "gpt-5.3-codex-spark", "{st}");
    f.run(&["stop", "a"]);
    assert_eq!(f.run(&["wait", "a", "--until", "available"]).1["status"], "not_running");
}

#[test]
fn the_watchdog_sends_one_continue_prompt_after_a_reset() {
    let f = scripted_with_transcript("resume-after-reset");
    assert_eq!(f.run(&["start", "a", "--cwd", &f.cwd()]).0, 0);
    f.await_state("a", "idle");
    let watchdog = |extra: &[&str]| {
        let mut args = vec!["watchdog", "a", "--idle-seconds", "3600"];
        args.extend_from_slice(extra);
        f.run(&args).1["results"][0].clone()
    };
    // A limit still in the future: left alone, even with the flag.
    f.run(&["send", "a", "limit-for 3600"]);
    f.await_state("a", "limited");
    assert_eq!(watchdog(&["--resume-after-reset"])["watchdog_state"], "active", "no resume before the reset");

    // A limit whose reset time has passed: the agent sits idle on it.
    f.run(&["send", "a", "limit-for -60"]);
    f.await_entry("a", "idle on a passed limit", Duration::from_secs(15), |e| {
        e["state"] == "idle" && e["limit_state"]["rule"] == "limit-reset-passed"
    });
    // Off by default; a dry run says what it would do.
    assert_eq!(watchdog(&[])["watchdog_state"], "active");
    assert_eq!(watchdog(&["--resume-after-reset", "--dry-run"])["watchdog_state"], "would_resume_after_reset");
    let sent_before = transcript(&f).len();
    let e = watchdog(&["--resume-after-reset"]);
    assert_eq!(
        (e["watchdog_state"].as_str(), e["action_taken"].as_str(), e["continue_prompt"]["status"].as_str()),
        (Some("resumed_after_reset"), Some("continue_prompt"), Some("sent")),
        "{e}"
    );
    f.await_state("a", "idle");
    // Never twice for the same limit.
    for _ in 0..2 {
        assert_ne!(watchdog(&["--resume-after-reset"])["watchdog_state"], "resumed_after_reset");
    }
    let sent = transcript(&f);
    let continues: Vec<&String> = sent[sent_before..].iter().filter(|l| l.contains("Nutzungslimit")).collect();
    assert_eq!(continues.len(), 1, "one continue prompt from the prompts extension (de): {sent:?}");
}

#[test]
fn a_thread_survives_the_tmux_server_and_what_was_in_flight_is_reported() {
    let f = Fleet::new(
        "recovery",
        "[agents.a]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"30\"]\n[agents.g]\nprofile = \"generic\"\nrunner = \"/usr/bin/env\"\nargs = [\"sh\"]\n",
    );
    // Nothing recorded yet: nothing to resume; resume and cwd exclude each other.
    let (_, v) = f.run(&["start", "a", "--resume"]);
    assert_eq!(v["results"][0]["error_code"], "nothing_to_resume", "{v}");
    let (code, v) = f.run(&["start", "a", "--resume", "--cwd", &f.cwd()]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")), "{v}");

    assert_eq!(f.run(&["start", "a", "--cwd", &f.cwd()]).0, 0);
    f.await_state("a", "idle");
    let (code, v) = f.run(&["assign-readonly", "a", "--task", "Survey the parser module."]);
    assert_eq!(code, 0, "{v}");
    let id = v["assignment_id"].as_str().unwrap().to_owned();
    f.await_state("a", "working");

    // The tmux server dies mid-turn (a crash, a reboot).
    assert!(f.tmux(&["kill-server"]).status.success());
    let st = f.run(&["status", "a"]).1["results"][0].clone();
    assert_eq!(st["state"], "not_running", "{st}");
    assert_eq!(
        (st["last_assignment"]["assignment_id"].as_str(), st["last_assignment"]["delivery"].as_str()),
        (Some(id.as_str()), Some("submitted")),
        "{st}"
    );
    assert_eq!(st["lease"]["state"], "held", "the lease runs out as usual: {st}");
    assert_eq!(st["last_assignment"]["prompt_output"], "not_returned");

    // Resume: the recorded working directory and the CLI's own resume.
    let (code, v) = f.run(&["start", "a", "--resume"]);
    assert_eq!((code, v["results"][0]["resumed"].as_bool()), (0, Some(true)), "{v}");
    let st = f.await_entry("a", "running again", Duration::from_secs(15), |e| e["running"] == true);
    assert!(st["last_assignment"].is_null(), "only a stopped agent reports it: {st}");
    let tail = f.run(&["tail", "a"]).1;
    assert!(tail["output"].as_str().unwrap().contains("Resumed the session: 1 earlier turns"), "{tail}");
    // The watchdog still quotes the assignment that was in flight.
    let (_, last) = f.run(&["last-assignment", "a"]);
    assert_eq!(last["record"]["assignment_id"], id.as_str());

    // A CLI without a resume says so.
    assert_eq!(f.run(&["start", "g", "--cwd", &f.cwd()]).0, 0);
    f.run(&["stop", "g"]);
    let (_, v) = f.run(&["start", "g", "--resume"]);
    assert_eq!(v["results"][0]["error_code"], "resume_not_supported", "{v}");
    // Another model for this run only (a per-model limit's way out); bad words are refused.
    f.run(&["stop", "a"]);
    let (_, v) = f.run(&["start", "a", "--resume", "--model", "gpt-5.4-mini"]);
    assert_eq!(v["results"][0]["model"], "gpt-5.4-mini", "{v}");
    let (code, v) = f.run(&["start", "a", "--model", "bad model"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")), "{v}");
}

#[test]
fn half_written_leases_and_ledger_lines_are_repaired_when_a_server_starts() {
    let f = Fleet::scripted("repair", &["a", "b"]);
    assert_eq!(f.run(&["start", "a", "--cwd", &f.cwd()]).0, 0);
    f.await_state("a", "idle");
    let (code, v) = f.run(&["assign-readonly", "a", "--task", "Look."]);
    assert_eq!(code, 0, "{v}");
    f.run(&["stop", "a"]);
    let state = f.dir.join("state");
    let lease: Value = serde_json::from_slice(&std::fs::read(state.join("leases/a.json")).unwrap()).unwrap();
    let generation = lease["generation"].as_u64().unwrap();
    // What a power loss leaves: a torn append, and a lease record cut short (or all NULs).
    let ledger = state.join("assignments.jsonl");
    let mut text = std::fs::read(&ledger).unwrap();
    let good_lines = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    text.extend_from_slice(b"{\"kind\":\"assignment\",\"assignment_id\":\"torn-");
    std::fs::write(&ledger, &text).unwrap();
    let torn = format!("{{\n  \"agent\": \"a\",\n  \"owner\": \"x\",\n  \"generation\": {},\n  \"crea", generation + 5);
    std::fs::write(state.join("leases/a.json"), torn).unwrap();
    std::fs::write(state.join("leases/b.json"), [0u8; 64]).unwrap();

    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    let v = mcp.call(1, "agent_status", serde_json::json!({"agent": "all"}));
    assert!(v["structuredContent"]["results"].is_array(), "{v}");

    let ledger_text = std::fs::read_to_string(&ledger).unwrap();
    assert!(ledger_text.ends_with('\n') && !ledger_text.contains("torn-"), "{ledger_text}");
    assert_eq!(ledger_text.lines().count(), good_lines, "every whole record kept");
    let damaged = std::fs::read_to_string(state.join("assignments.damaged")).unwrap();
    assert!(damaged.contains("torn-"), "the torn bytes are kept aside: {damaged}");
    let lease: Value = serde_json::from_slice(&std::fs::read(state.join("leases/a.json")).unwrap()).unwrap();
    assert_eq!(
        (lease["owner"].is_null(), lease["generation"].as_u64()),
        (true, Some(generation + 6)),
        "released, past the generation the torn record named: {lease}"
    );
    assert!(state.join("leases/a.json.damaged").exists() && state.join("leases/b.json.damaged").exists());
    // Both agents are usable again: a claim takes the next generation.
    let (code, v) = f.run(&["claim", "a"]);
    assert_eq!((code, v["lease"]["generation"].as_u64()), (0, Some(generation + 7)), "{v}");
    assert_eq!(f.run(&["claim", "b"]).0, 0);
    drop(mcp);
}
