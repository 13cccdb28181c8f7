//! `top`, the live fleet view: `--once` frames against a scripted fleet in real tmux.

use crate::common::cli;
use crate::common::fleet::Fleet;

fn frame(f: &Fleet, width: &str) -> String {
    let out = cli(&f.env, &["top", "--once", "--width", width]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains(f.dir.path().to_str().unwrap()), "a local path leaked: {}", out.stdout);
    out.stdout
}

#[test]
fn one_frame_shows_every_agent_its_state_its_lease_and_the_room() {
    let f = Fleet::scripted("top-once", &["w1", "w2"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.await_state("w2", "idle");
    let (code, v) = f.run(&["claim", "w1"]);
    assert_eq!(code, 0, "{v}");
    let text = frame(&f, "120");
    assert!(text.contains("codex-master top: 2 agents") && text.contains("local:"), "{text}");
    let line = |agent: &str| text.lines().find(|l| l.contains(&format!("│{agent} "))).unwrap_or_default().to_owned();
    assert!(line("w1").contains("idle") && line("w1").contains("mine"), "{text}");
    assert!(line("w2").contains("idle") && line("w2").contains("free"), "{text}");
    for column in ["AGENT", "STATE", "LIMIT", "LEASE", "HOST", "PROFILE", "SOURCE"] {
        assert!(text.contains(column), "{column}: {text}");
    }
    // A narrow terminal drops the least needed columns first.
    let narrow = frame(&f, "60");
    assert!(narrow.contains("AGENT") && narrow.contains("STATE") && !narrow.contains("PROFILE"), "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
    f.run(&["stop", "all"]);
    let text = frame(&f, "120");
    assert!(text.lines().any(|l| l.contains("│w1 ") && l.contains("not_running")), "{text}");
}

#[test]
fn the_live_view_draws_in_a_real_terminal_selects_and_quits_on_q() {
    let f = Fleet::scripted("top-live", &["w1"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    // `top` in a pane of the fleet's own tmux server, with the fleet's environment.
    let env: Vec<String> = f.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec!["new-session", "-d", "-s", "top", "-x", "100", "-y", "20", "env"];
    args.extend(env.iter().map(String::as_str));
    args.push(env!("CARGO_BIN_EXE_codex-master-mcp"));
    args.push("top");
    assert!(f.tmux(&args).status.success());
    let capture = || String::from_utf8_lossy(&f.tmux(&["capture-pane", "-p", "-t", "=top:"]).stdout).into_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !capture().contains("│w1 ") {
        assert!(std::time::Instant::now() < deadline, "top never drew the fleet: {}", capture());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(capture().contains("codex-master top: 1 agents") && capture().contains("idle"), "{}", capture());
    // A resize redraws at the new width.
    assert!(f.tmux(&["resize-window", "-t", "=top:", "-x", "70"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(capture().lines().all(|l| l.chars().count() <= 70) && capture().contains("│w1 "), "{}", capture());
    // `q` quits: the process ends and its session with it.
    assert!(f.tmux(&["send-keys", "-t", "=top:", "q"]).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.tmux(&["has-session", "-t", "=top"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "top did not quit on q: {}", capture());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    f.run(&["stop", "all"]);
}

#[test]
fn one_frame_holds_a_fleet_of_64() {
    let toml: String = std::iter::once("[admission]\nmax_workers = 64\n".to_owned())
        .chain((0..64).map(|i| format!("[agents.w{i:02}]\nprofile = \"scripted\"\n")))
        .collect();
    let f = Fleet::new("top-64", &toml);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let text = loop {
        let text = frame(&f, "120");
        let idle = text.lines().filter(|l| l.starts_with("│w") && l.contains(" idle ")).count();
        if idle == 64 || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert!(text.contains("codex-master top: 64 agents") && text.contains("workers 64/64"), "{text}");
    for i in 0..64 {
        let row = text.lines().find(|l| l.starts_with(&format!("│w{i:02} "))).unwrap_or_default();
        assert!(row.contains(" idle "), "w{i:02}: {text}");
    }
    f.run(&["stop", "all"]);
}
