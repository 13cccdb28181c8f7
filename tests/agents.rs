//! Agents in real tmux (a private server socket per test), driven through the real binary, with
//! the built-in scripted agent as the worker.

use std::time::{Duration, Instant};

use crate::common::fleet::Fleet;
use crate::common::{base_env, cli, Mcp, TempDir};
use serde_json::{json, Value};

#[test]
fn start_status_send_wait_tail_interrupt_stop() {
    let f = Fleet::scripted("life", &["w1", "w2"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["status"], "started");
        assert_eq!((r["cwd"].as_str(), r["raw_log"].as_str()), (Some("not_returned"), Some("not_returned")));
        assert_eq!(r["lease"]["state"], "unclaimed", "the transient start lease is released");
    }
    // A second start reports the running agent and changes nothing.
    let (code, v) = f.run(&["start", "w1"]);
    assert_eq!((code, v["results"][0]["status"].as_str()), (0, Some("already_running")));
    assert!(v["results"][0].get("meta").is_none());

    f.await_state("w1", "idle");
    let (code, v) = f.run(&["send", "w1", "work 2"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["typed"].as_bool(), v["submitted"].as_bool(), v["turn_started"].as_bool()),
        (Some(true), Some(true), Some(true)),
        "{v}"
    );
    assert_eq!(v["lease"]["holder"], "this_server");
    assert_eq!(f.state_of("w1"), "working");

    let (code, v) = f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("idle")), "{v}");
    let (_, tail) = f.run(&["tail", "w1", "--lines", "20"]);
    assert!(tail["output"].as_str().unwrap().contains("Done: the task of 6 characters"), "{tail}");

    // Interrupt a long turn.
    f.run(&["send", "w1", "work 60"]);
    let (code, v) = f.run(&["interrupt", "w1"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("interrupt_sent")));
    f.await_state("w1", "idle");
    let (_, tail) = f.run(&["tail", "w1"]);
    assert!(tail["output"].as_str().unwrap().contains("Conversation interrupted"));

    // The raw log grew and is only readable through the redacted tail.
    let (_, st) = f.run(&["status", "w1"]);
    assert!(st["results"][0]["raw_log_bytes"].as_u64().unwrap() > 0);
    let (_, log) = f.run(&["tail", "w1", "--source", "log", "--chars", "8192"]);
    assert!(log["output"].as_str().unwrap().contains("Working"), "{log}");

    let (code, v) = f.run(&["stop", "all"]);
    assert_eq!(code, 0);
    assert!(
        v["results"].as_array().unwrap().iter().all(|r| r["status"] == "stopped" && r["lease"]["state"] == "unclaimed"),
        "{v}"
    );
    assert_eq!(f.state_of("w1"), "not_running");
    let (code, v) = f.run(&["send", "w1", "hello"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("agent_not_running")));
}

#[test]
fn limits_warnings_dialogs_and_crashes_are_their_own_states() {
    let f = Fleet::new(
        "states",
        "[agents.w1]\nprofile = \"scripted\"\n[agents.w2]\nprofile = \"scripted\"\nargs = [\"--trust-dialog\"]\n",
    );
    f.run(&["start", "all", "--cwd", &f.cwd()]);
    f.await_state("w2", "dialog");
    f.await_state("w1", "idle");

    let (_, v) = f.run(&["send", "w1", "warn"]);
    assert_eq!(v["typed"], true, "{v}");
    f.await_state("w1", "warned");

    let (_, v) = f.run(&["send", "w1", "limit"]);
    assert_eq!(v["receipt"], "blocked_by_limit", "{v}");
    let (_, st) = f.run(&["status", "w1"]);
    let limit = &st["results"][0]["limit_state"];
    assert_eq!((limit["severity"].as_str(), limit["kind"].as_str()), (Some("limited"), Some("usage")));
    assert!(limit["reset_at_utc"].is_string(), "{limit}");
    let (_, v) = f.run(&["wait", "w1", "--timeout-seconds", "5"]);
    assert_eq!((v["status"].as_str(), v["poll_count"].as_u64()), (Some("blocked_by_limit"), Some(0)));

    let (_, v) = f.run(&["send", "w1", "popup"]);
    assert_eq!(v["receipt"], "waiting_on_dialog", "{v}");

    // Dismissed, the popup is gone; the limit message predates the last send, so it no longer
    // counts (only output after our last send is classified).
    f.tmux(&["send-keys", "-t", "=codex_agent_w1_mcp:", "Escape"]);
    f.await_state("w1", "idle");
    let (_, v) = f.run(&["send", "w1", "crash"]);
    assert_eq!(v["receipt"], "exited", "{v}");
    assert_eq!(f.state_of("w1"), "exited");
    let (code, v) = f.run(&["send", "w1", "anything"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("agent_exited")));
}

#[test]
fn dialogs_are_named_refuse_sends_and_take_only_their_allowlisted_answer() {
    let f = Fleet::new(
        "dialogs",
        "[agents.w1]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"0\"]\n[agents.w2]\nprofile = \"scripted\"\nargs = [\"--trust-dialog\"]\n",
    );
    f.run(&["start", "all", "--cwd", &f.cwd()]);
    f.await_state("w1", "idle");

    // A spend cap: the message decides the kind, the popup after it blocks input.
    let (_, v) = f.run(&["send", "w1", "spend-cap"]);
    assert_eq!(v["receipt"], "blocked_by_limit", "{v}");
    let (_, st) = f.run(&["status", "w1"]);
    let st = &st["results"][0];
    assert_eq!((st["state"].as_str(), st["limit_state"]["kind"].as_str()), (Some("limited"), Some("credits")), "{st}");
    assert_eq!(st["dialog"], json!({"kind": "limit_increase", "blocks_input": true, "answer": "no"}), "{st}");
    let (code, v) = f.run(&["send", "w1", "hello?"]);
    assert_eq!(
        (code, v["error_code"].as_str(), v["retryable"].as_bool(), v["dialog"].as_str()),
        (1, Some("waiting_on_dialog"), Some(false), Some("limit_increase")),
        "{v}"
    );
    let (code, v) = f.run(&["dialog-answer", "w1", "keep_current_model"]);
    assert_eq!(
        (code, v["error_code"].as_str(), v["answer"].as_str()),
        (1, Some("dialog_choice_not_allowed"), Some("no")),
        "{v}"
    );
    let (code, v) = f.run(&["dialog-answer", "w1", "no"]);
    assert_eq!((code, v["dialog_closed"].as_bool()), (0, Some(true)), "{v}");
    let (code, v) = f.run(&["dialog-answer", "w1", "no"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("no_dialog")), "{v}");

    // The trust screen takes `trust`, and only for the folder the agent was started in.
    f.await_state("w2", "dialog");
    let (_, st) = f.run(&["status", "w2"]);
    assert_eq!(st["results"][0]["dialog"]["kind"], "trust", "{st}");
    let (code, v) = f.run(&["dialog-answer", "w2", "trust"]);
    assert_eq!((code, v["status"].as_str(), v["state"].as_str()), (0, Some("answered"), Some("idle")), "{v}");
    let (_, v) = f.run(&["send", "w2", "work 1"]);
    assert_eq!(v["receipt"], "turn_started", "{v}");
}

#[test]
fn a_start_prompt_runs_and_the_footer_echo_of_a_quoted_limit_is_no_limit() {
    let f = Fleet::scripted("prompt", &["w1"]);
    let prompt = "You've hit your usage limit. Explain this message.";
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd(), "--prompt", prompt]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("idle")), "{v}");
    let (_, tail) = f.run(&["tail", "w1"]);
    assert!(
        tail["output"].as_str().unwrap().contains("Done: the task of 50 characters"),
        "the agent ran the prompt: {tail}"
    );
    // The footer shows the first prompt for the whole thread; later turns stay unlimited.
    let pane = f.tmux(&["capture-pane", "-p", "-t", "=codex_agent_w1_mcp:"]);
    assert!(String::from_utf8_lossy(&pane.stdout).contains("default · You've hit your usage limit"));
    let (_, v) = f.run(&["send", "w1", "work 1"]);
    assert_eq!(v["receipt"], "turn_started", "{v}");
    f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!(f.state_of("w1"), "idle");
}

#[test]
fn long_multiline_and_control_character_sends_arrive_whole() {
    let f = Fleet::scripted("sends", &["w1"]);
    f.run(&["start", "w1", "--cwd", &f.cwd()]);
    f.await_state("w1", "idle");
    let long: String = (0..200).map(|i| format!("line {i:03} {}\n", "x".repeat(50))).collect();
    let long = &long[..12_000];
    let (code, v) = f.run(&["send", "w1", long]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["chars"].as_u64(), v["turn_started"].as_bool()), (Some(12_000), Some(true)), "{v}");
    f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    let (_, tail) = f.run(&["tail", "w1"]);
    assert!(tail["output"].as_str().unwrap().contains("Done: the task of 12000 characters"), "{tail}");

    let (code, v) = f.run(&["send", "w1", "ab\x1b[201~cd\x07ef"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["control_chars_removed"], 2);
    f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    let (_, tail) = f.run(&["tail", "w1"]);
    assert!(tail["output"].as_str().unwrap().contains("ab[201~cdef"), "{tail}");

    let (code, v) = f.run(&["send", "w1", "   "]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")));
}

#[test]
fn unsafe_runners_homes_and_raw_dirs_are_refused() {
    let f = Fleet::new("refuse", "");
    let link = f.dir.join("runner-link");
    std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
    let plain = f.dir.join("runner-plain");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let home = f.dir.join("agent-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        f.dir.join("cfg/config.toml"),
        format!(
            "[agents.l]\nprofile = \"generic\"\nrunner = \"{}\"\n[agents.p]\nprofile = \"generic\"\nrunner = \"{}\"\n[agents.h]\nprofile = \"scripted\"\nhome = \"{}\"\n",
            link.display(),
            plain.display(),
            home.display()
        ),
    )
    .unwrap();
    for agent in ["l", "p"] {
        let (code, v) = f.run(&["start", agent, "--cwd", &f.cwd()]);
        assert_eq!((code, v["results"][0]["error_code"].as_str()), (1, Some("runner_not_executable")), "{v}");
    }
    // Another process uses the agent's home.
    let mut squatter = std::process::Command::new("sleep").arg("30").env("CODEX_HOME", &home).spawn().unwrap();
    let (code, v) = f.run(&["start", "h", "--cwd", &f.cwd()]);
    squatter.kill().unwrap();
    let _ = squatter.wait();
    assert_eq!((code, v["results"][0]["error_code"].as_str()), (1, Some("agent_home_in_use")), "{v}");
    assert!(!f.tmux(&["has-session", "-t", "=codex_agent_h_mcp"]).status.success());

    // A symlinked raw-log dir (it replaces the real one the refused starts' admission created).
    let state = f.dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let _ = std::fs::remove_dir_all(state.join("raw"));
    std::os::unix::fs::symlink(f.dir.join("work"), state.join("raw")).unwrap();
    let (code, v) = f.run(&["start", "h", "--cwd", &f.cwd()]);
    assert_eq!(code, 1, "{v}");
    assert!(v["results"][0]["message"].as_str().unwrap().contains("symlink"), "{v}");
    assert!(std::fs::read_dir(f.dir.join("work")).unwrap().next().is_none(), "nothing was written through the symlink");
}

#[test]
fn a_killed_tmux_server_gives_clear_answers() {
    let f = Fleet::scripted("killed", &["w1", "w2"]);
    f.run(&["start", "all", "--cwd", &f.cwd()]);
    f.await_state("w1", "idle");
    assert!(f.tmux(&["kill-server"]).status.success());
    let (code, v) = f.run(&["status"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["results"].as_array().unwrap().iter().all(|r| r["state"] == "not_running"), "{v}");
    let (code, v) = f.run(&["send", "w2", "hi"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("agent_not_running")));
    let (code, v) = f.run(&["wait", "all", "--mode", "all", "--timeout-seconds", "5"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("done")), "{v}");
}

#[test]
fn a_long_wait_never_blocks_ping_or_status_and_cancellation_ends_it() {
    let f = Fleet::scripted("mcpwait", &["w1"]);
    f.run(&["start", "w1", "--cwd", &f.cwd()]);
    f.await_state("w1", "idle");
    f.run(&["send", "w1", "work 120"]);
    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    mcp.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "agent_wait", "arguments": {"agent": "w1", "until": "idle", "timeout_seconds": 600, "poll_interval_seconds": 1}}}));
    let t = Instant::now();
    assert_eq!(mcp.request(8, "ping", json!({}))["result"], json!({}));
    let status = mcp.call(9, "agent_status", json!({"agent": "w1"}));
    assert_eq!(status["structuredContent"]["results"][0]["state"], "working", "{status}");
    assert!(t.elapsed() < Duration::from_secs(5));
    mcp.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "test"}}),
    );
    // A cancelled request gets no answer; the server stays responsive.
    assert!(mcp.wait_for(&json!(7), Duration::from_secs(2)).is_none());
    assert_eq!(mcp.request(10, "ping", json!({}))["result"], json!({}));
    assert_eq!(mcp.close(), Some(0));
}

#[test]
fn the_demo_runs_the_main_job_through_mcp() {
    let dir = TempDir::new("demo");
    let r = cli(&base_env(&dir, "demo"), &["demo"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.matches("turn_started=true").count(), 2, "{}", r.stdout);
    assert_eq!(r.stdout.matches("state=idle").count(), 2, "{}", r.stdout);
    assert_eq!(r.stdout.matches("stopped (lease unclaimed)").count(), 2, "{}", r.stdout);
    assert!(!r.stdout.contains(std::env::temp_dir().to_str().unwrap()), "a local path leaked");
}

#[test]
fn the_mixed_demo_runs_three_workers_with_stand_ins_for_missing_clis() {
    let dir = TempDir::new("demo-mixed");
    // None of the three CLIs on PATH: each worker is a scripted stand-in, and says so.
    let mut env = base_env(&dir, "demo");
    env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    let r = cli(&env, &["demo", "--mixed"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for agent in ["codex", "claude", "gemini"] {
        assert!(r.stdout.contains(&format!("agent {agent}")), "{agent}: {}", r.stdout);
    }
    assert_eq!(r.stdout.matches("turn_started=true").count(), 3, "{}", r.stdout);
    assert_eq!(r.stdout.matches("stopped (lease unclaimed)").count(), 3, "{}", r.stdout);
}

#[test]
fn fleet_captures_take_one_tmux_call() {
    let f = Fleet::scripted("batch", &["w1", "w2", "w3"]);
    f.run(&["start", "all", "--cwd", &f.cwd()]);
    f.await_state("w3", "idle");
    f.run(&["send", "w2", "warn"]);
    // The library's command line and parser, run against this test's server (one tmux call).
    use codex_master::tmux::{batched_capture_args, split_batched};
    let batch = |sessions: &[String]| {
        let marker = "codex-master-split-test";
        let out = f.tmux(&batched_capture_args(sessions, 80, marker).iter().map(String::as_str).collect::<Vec<_>>());
        split_batched(&String::from_utf8_lossy(&out.stdout), marker, sessions.len())
    };
    let sessions: Vec<String> = ["w1", "w2", "w3"].iter().map(|a| format!("codex_agent_{a}_mcp")).collect();
    let panes = batch(&sessions).expect("one call captured every pane");
    assert_eq!(panes.len(), 3);
    assert!(panes.iter().all(|p| p.contains("OpenAI Codex (v0.169.0)") && !p.contains("codex-master-split")));
    assert!(panes[1].contains("Heads up") && !panes[0].contains("Heads up") && !panes[2].contains("Heads up"));
    // A missing session makes the batch fail (the caller falls back), never mixes panes up.
    let mut with_missing = sessions.clone();
    with_missing.insert(1, "no_such_session".into());
    assert!(batch(&with_missing).is_none());
}

/// One watchdog pass with short thresholds; returns this agent's entry.
fn watchdog(f: &Fleet, agent: &str) -> Value {
    let (code, v) = f.run(&["watchdog", agent, "--idle-seconds", "1", "--report-grace-seconds", "3"]);
    assert_eq!(code, 0, "{v}");
    v["results"][0].clone()
}

#[test]
fn the_watchdog_asks_once_escalates_a_hung_agent_and_leaves_others_alone() {
    let f = Fleet::scripted("watchdog", &["w1", "w2", "w3", "w4"]);
    f.run(&["start", "all", "--cwd", &f.cwd()]);
    f.await_state("w4", "idle");

    // w1 finished a turn and went quiet: asked once, answers, and is not asked again.
    f.run(&["send", "w1", "work 1"]);
    f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    std::thread::sleep(Duration::from_millis(1500));
    let e = watchdog(&f, "w1");
    assert_eq!(
        (e["watchdog_state"].as_str(), e["action_taken"].as_str()),
        (Some("report_requested"), Some("report_request")),
        "{e}"
    );
    f.run(&["wait", "w1", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!(watchdog(&f, "w1")["watchdog_state"], "report_answered");
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..2 {
        let e = watchdog(&f, "w1");
        assert_eq!(
            (e["watchdog_state"].as_str(), e["action_taken"].as_str()),
            (Some("settled"), None),
            "no nagging: {e}"
        );
    }

    // w2 hangs mid-turn: asked, no answer, interrupted once the grace window passed.
    f.run(&["send", "w2", "freeze"]);
    std::thread::sleep(Duration::from_millis(1500));
    let e = watchdog(&f, "w2");
    assert_eq!(e["watchdog_state"], "report_requested", "{e}");
    assert_eq!(watchdog(&f, "w2")["watchdog_state"], "waiting_for_report", "our own request is no answer");
    std::thread::sleep(Duration::from_millis(3200));
    let e = watchdog(&f, "w2");
    assert_eq!(
        (e["watchdog_state"].as_str(), e["action_taken"].as_str()),
        (Some("action_sent"), Some("interrupt")),
        "{e}"
    );
    f.await_state("w2", "idle");
    let (_, tail) = f.run(&["tail", "w2"]);
    assert!(tail["output"].as_str().unwrap().contains("Conversation interrupted"));
    assert_eq!(watchdog(&f, "w2")["watchdog_state"], "settled", "escalation happens once");

    // w3 is busy: left alone.
    f.run(&["send", "w3", "work 30"]);
    assert_eq!(watchdog(&f, "w3")["watchdog_state"], "active");

    // w4 is leased by another lead: skipped, nothing sent.
    let mut other = f.env.clone();
    other.retain(|(k, _)| k != "CODEX_MASTER_MCP_INSTANCE_ID");
    other.push(("CODEX_MASTER_MCP_INSTANCE_ID".into(), "other-lead".into()));
    assert_eq!(cli(&other, &["claim", "w4"]).code, 0);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, v) = f.run(&["watchdog", "w4", "--idle-seconds", "1", "--manage-unclaimed"]);
    assert_eq!(
        (code, v["results"][0]["watchdog_state"].as_str()),
        (0, Some("skipped_not_leased_by_this_server")),
        "{v}"
    );
    assert_eq!(f.state_of("w4"), "idle");

    // --quiet prints nothing when all went well.
    let r = cli(&f.env, &["watchdog", "w3", "--quiet"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn the_systemd_units_verify() {
    let dir = TempDir::new("units");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(crate::common::BIN, dir.join("bin/codex-master-mcp")).unwrap();
    let home = dir.path().display().to_string();
    let service =
        codex_master::install::SERVICE_UNIT.replace("%h/.local/bin", &format!("{home}/bin")).replace("%h", &home);
    std::fs::write(dir.join("codex-master-watchdog.service"), service).unwrap();
    std::fs::write(dir.join("codex-master-watchdog.timer"), codex_master::install::TIMER_UNIT).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args([
            "verify",
            &format!("{home}/codex-master-watchdog.service"),
            &format!("{home}/codex-master-watchdog.timer"),
        ])
        .output()
        .expect("systemd-analyze is installed (scripts/bootstrap installs systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
    // Across a reboot: Persistent= only acts on a calendar timer, so the timer has one, and
    // systemd reads it as a pass every 15 seconds.
    let timer = codex_master::install::TIMER_UNIT;
    assert!(timer.lines().any(|l| l.trim() == "Persistent=true"), "{timer}");
    let calendar = timer.lines().find_map(|l| l.trim().strip_prefix("OnCalendar=")).expect("a calendar trigger");
    let out = std::process::Command::new("systemd-analyze")
        .args(["calendar", "--iterations=3", calendar])
        .env("TZ", "UTC")
        .output()
        .expect("systemd-analyze calendar");
    let text = String::from_utf8_lossy(&out.stdout);
    let times: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.split_once("elapse:").or_else(|| l.split_once("Iter. #2:")).or_else(|| l.split_once("Iter. #3:"))
        })
        .map(|(_, t)| t.trim())
        .collect();
    assert!(out.status.success() && times.len() == 3, "systemd-analyze calendar: {text}");
    let seconds = |t: &str| -> i64 {
        let hms = t.split_whitespace().nth(2).unwrap();
        hms.split(':').fold(0, |acc, p| acc * 60 + p.parse::<i64>().unwrap())
    };
    let gaps: Vec<i64> = times.windows(2).map(|w| (seconds(w[1]) - seconds(w[0])).rem_euclid(86_400)).collect();
    assert_eq!(gaps, [15, 15], "{text}");
    // And the status tool reports an uninstalled pair without paths.
    let (code, v) = {
        let r = cli(&base_env(&dir, "units"), &["watchdog-status"]);
        (r.code, r.json())
    };
    assert_eq!(code, 0);
    assert_eq!((v["service_installed"].as_bool(), v["timer_installed"].as_bool()), (Some(false), Some(false)), "{v}");
}

#[test]
fn a_log_tail_is_redacted_before_it_is_cut() {
    let f = Fleet::scripted("log-cut", &["w1"]);
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.run(&["stop", "w1"]);
    // The raw log the agent wrote, with a key block and a long token appended at its end: any
    // small `chars` cuts inside them.
    let body: Vec<String> =
        (0..40).map(|i| format!("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC{i:02}")).collect();
    let token = format!("sk-proj-{}", "Qw8vN2mL5kJ7hG3fD9sA1zX4cV6bN0mR".repeat(6));
    let appended = format!(
        "\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\nexport OPENAI_API_KEY={token}\n",
        body.join("\n")
    );
    f.append_to_raw_log("w1", &appended);
    for chars in [40, 120, 900, 8192] {
        let (code, log) = f.run(&["tail", "w1", "--source", "log", "--chars", &chars.to_string(), "--lines", "80"]);
        assert_eq!(code, 0, "{log}");
        let out = log["output"].as_str().unwrap();
        assert!(out.chars().count() <= chars, "{chars}: {out}");
        for leak in ["MIIEvQIBADANBgkq", "BAQC3", "END PRIVATE KEY", "Qw8vN2mL", "bN0mR"] {
            assert!(!out.contains(leak), "{chars}: {leak} survived: {out}");
        }
        assert_eq!(log["redaction"], "applied", "{chars}: {log}");
        // Room for a whole mask: the answer ends with it, never with a fragment of one.
        assert!(chars < 60 || out.ends_with("OPENAI_API_KEY=<redacted>"), "{chars}: {out}");
        assert!(!out.ends_with("ed>") || out.ends_with("<redacted>"), "{chars}: {out}");
    }
    // The widest answer shows the block masked whole, from BEGIN to END.
    let (_, log) = f.run(&["tail", "w1", "--source", "log", "--chars", "8192", "--lines", "80"]);
    assert!(log["output"].as_str().unwrap().ends_with("<redacted>\nexport OPENAI_API_KEY=<redacted>"), "{log}");
}

/// A captured worker screen played in a real tmux pane (a generic runner that prints it).
fn screen_agent(f_dir: &std::path::Path, name: &str, screen: &str, classifier: &str) -> String {
    let file = f_dir.join(format!("{name}.screen"));
    std::fs::write(&file, screen).unwrap();
    format!(
        "[agents.{name}]\nprofile = \"generic\"\nrunner = \"/usr/bin/dash\"\nargs = [\"-c\", \"cat {}; exec sleep 600\"]\nclassifier = {classifier}\n",
        file.display()
    )
}

#[test]
fn a_mixed_fleet_reads_each_screen_with_its_own_classifier() {
    let f = Fleet::new("mixed-classifiers", "");
    let dir = f.dir.path().to_path_buf();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../extensions/dist/fixtures/limits-v1-0.wasm");
    let out = std::process::Command::new("sha256sum").arg(&fixture).output().unwrap();
    let sha = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned();
    let claude = "  ⎿  You've hit your 5-hour limit ·\n     resets 3pm (UTC)\n\n╭──────────────────╮\n│ >                │\n╰──────────────────╯\n  ? for shortcuts\n";
    let gemini =
        "✕ Usage limit reached for gemini-2.5-pro.\nAccess resets at 3:05 PM UTC.\n\n ● 1. Keep trying\n   2. Stop\n";
    let mut toml = String::new();
    toml.push_str(&screen_agent(&dir, "cl", claude, "\"claude\""));
    toml.push_str(&screen_agent(&dir, "ge", gemini, "\"gemini\""));
    // Codex's classifier reads the Claude screen as nothing in particular.
    toml.push_str(&screen_agent(&dir, "cx", claude, "\"codex\""));
    // A team's own classifier for one agent, pinned by sha256, and one whose pin is wrong.
    let pinned = |sha: &str| format!("{{ path = \"{}\", sha256 = \"{sha}\" }}", fixture.display());
    toml.push_str(&screen_agent(&dir, "team", "TEAM LIMIT SCREEN\n", &pinned(&sha)));
    toml.push_str(&screen_agent(&dir, "bad", "TEAM LIMIT SCREEN\n", &pinned(&"0".repeat(64))));
    std::fs::write(dir.join("cfg/config.toml"), toml).unwrap();

    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (_, v) = f.run(&["status", "all"]);
    let by_name = |n: &str| v["results"].as_array().unwrap().iter().find(|r| r["agent"] == n).unwrap().clone();
    let cl = by_name("cl");
    assert_eq!(
        (cl["state"].as_str(), cl["limit_state"]["kind"].as_str(), cl["limit_state"]["window"].as_str()),
        (Some("limited"), Some("usage"), Some("5h")),
        "{cl}"
    );
    let ge = by_name("ge");
    assert_eq!(ge["limit_state"]["model_bucket"], "gemini-2.5-pro", "{ge}");
    assert_eq!(ge["dialog"]["blocks_input"], true, "{ge}");
    let cx = by_name("cx");
    assert_ne!(cx["limit_state"]["kind"], "usage", "{cx}");
    let team = by_name("team");
    assert_eq!(
        (team["state"].as_str(), team["limit_state"]["rule"].as_str()),
        (Some("limited"), Some("old-limit")),
        "{team}"
    );
    let bad = by_name("bad");
    assert_eq!(bad["state"], "unknown", "a classifier that fails its pin is never trusted: {bad}");
    let (code, _) = f.run(&["stop", "all"]);
    assert_eq!(code, 0);
}

/// Installed units quote what they pin: a binary in a directory with a space, a state path with
/// `%` and `$`, verify as exactly that path; a newline in any value is refused, never written.
#[test]
fn units_with_hostile_values_verify_or_are_refused() {
    use std::collections::BTreeMap;
    use std::path::Path;
    let dir = TempDir::new("units-hostile");
    let bin_dir = dir.join("my bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(crate::common::BIN, bin_dir.join("codex-master-mcp")).unwrap();
    let state = dir.join("st ate 100% $HOME");
    std::fs::create_dir_all(&state).unwrap();
    let pinned = BTreeMap::from([("CODEX_MASTER_MCP_STATE_DIR".to_owned(), state.display().to_string())]);
    let render = codex_master::install::units::render;
    let service =
        render(codex_master::install::SERVICE_UNIT, &bin_dir.join("codex-master-mcp"), &state, &pinned).unwrap();
    std::fs::write(dir.join("codex-master-watchdog.service"), &service).unwrap();
    std::fs::write(dir.join("codex-master-watchdog.timer"), codex_master::install::TIMER_UNIT).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("codex-master-watchdog.service"))
        .arg(dir.join("codex-master-watchdog.timer"))
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}\n{service}");
    assert!(codex_master::install::units::matches_template(&service, codex_master::install::SERVICE_UNIT));
    for (binary, value) in [("/x\nExecStartPre=/bin/sh -c evil", "v"), ("/x/codex-master-mcp", "v\nUser=root")] {
        let pinned = BTreeMap::from([("CODEX_MASTER_X".to_owned(), value.to_owned())]);
        assert!(render(codex_master::install::SERVICE_UNIT, Path::new(binary), &state, &pinned).is_err());
    }
}

/// The tmux clients attached to the fleet's server in control mode.
fn control_clients(f: &Fleet) -> Vec<String> {
    let out = f.tmux(&["list-clients", "-F", "#{client_control_mode} #{session_name}"]);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_prefix("1 ").map(str::to_owned)).collect()
}

#[test]
fn a_server_reads_the_fleet_through_one_kept_control_client_that_pane_text_cannot_confuse() {
    let f = Fleet::new("control", "");
    let dir = f.dir.path().to_path_buf();
    // Lines that look like control-mode framing, then a limit the classifier must still see.
    let hostile = "%begin 1 1 1\n%end 1 1 1\n%exit\n%error 5 5 5\n%begin 9 9 9\n  ⎿  You've hit your 5-hour limit ·\n     resets 3pm (UTC)\n\n╭──────────────────╮\n│ >                │\n╰──────────────────╯\n";
    // Drawn again and again, so every observation captures it anew (a quiet pane's capture is
    // reused).
    std::fs::write(dir.join("h.screen"), hostile).unwrap();
    let mut toml = format!(
        "[agents.h]\nprofile = \"generic\"\nrunner = \"/usr/bin/dash\"\nargs = [\"-c\", \"while :; do printf '\\\\033[H\\\\033[2J'; cat {}; sleep 0.2; done\"]\nclassifier = \"claude\"\n",
        dir.join("h.screen").display()
    );
    toml.push_str("[agents.s]\nprofile = \"scripted\"\n");
    std::fs::write(dir.join("cfg/config.toml"), toml).unwrap();
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("s", "idle");
    let facts = |r: &Value| {
        let r = r["results"].as_array().unwrap().iter().find(|e| e["agent"] == "h").unwrap().clone();
        (r["state"].clone(), r["limit_state"]["kind"].clone(), r["limit_state"]["window"].clone())
    };
    // A one-shot CLI call reads the panes with a tmux client of its own, and keeps none.
    let (_, once) = f.run(&["status", "all"]);
    assert_eq!(facts(&once), (json!("limited"), json!("usage"), json!("5h")), "{once}");
    assert!(control_clients(&f).is_empty());

    let log = dir.join("server.log");
    let mut env = f.env.clone();
    env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let mut mcp = Mcp::spawn_with_stderr(&env, std::fs::File::create(&log).unwrap().into());
    mcp.initialize();
    let said = |what: &str| std::fs::read_to_string(&log).unwrap().matches(what).count();
    let mut id = 10;
    let mut status = |mcp: &mut Mcp| {
        id += 1;
        let t = Instant::now();
        let v = mcp.call(id, "agent_status", json!({"agent": "all"}))["structuredContent"].clone();
        assert!(t.elapsed() < Duration::from_secs(5), "a status took {:?}", t.elapsed());
        v
    };
    // The first status attaches one client (to the first live session it captured); the next
    // ones read through it and see what the one-shot call saw.
    status(&mut mcp);
    let deadline = Instant::now() + Duration::from_secs(10);
    while control_clients(&f).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(control_clients(&f), vec!["codex_agent_h_mcp".to_owned()]);
    for _ in 0..3 {
        // Past the pane's next redraw: its raw log grew, so it is captured anew.
        std::thread::sleep(Duration::from_millis(400));
        let v = status(&mut mcp);
        assert_eq!(facts(&v), facts(&once), "{v}");
        assert_eq!(v["results"][1]["state"], "idle", "{v}");
    }
    assert_eq!(control_clients(&f).len(), 1, "one client, kept");
    // Those answers came through it, and the pane's framing-like text never broke it.
    assert!(said("tmux control client answered") >= 3, "{}", std::fs::read_to_string(&log).unwrap());
    assert_eq!(said("tmux control client dropped"), 0);
    // Its session goes away: the client leaves with it, the next status still reads the fleet,
    // and a new client attaches to a session that runs.
    let (code, v) = f.run(&["stop", "h"]);
    assert_eq!(code, 0, "{v}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = status(&mut mcp);
        assert_eq!(v["results"][1]["state"], "idle", "{v}");
        if control_clients(&f) == vec!["codex_agent_s_mcp".to_owned()] {
            break;
        }
        assert!(Instant::now() < deadline, "no client attached again: {:?}", control_clients(&f));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(mcp.close(), Some(0));
    // The server's client ends with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !control_clients(&f).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(control_clients(&f).is_empty());
}
