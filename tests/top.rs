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
    // An assignment in flight on w1 (its role and delivery, never its text), a send on w2.
    let task = "look at the parser and say nothing else";
    let (code, v) = f.run(&["assign", "w1", "--role", "explorer", "--task", task]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = f.run(&["send", "w2", "work 1"]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w2", "idle");
    let text = frame(&f, "170");
    assert!(text.contains("codex-master top: 2 agents") && text.contains("local:"), "{text}");
    let line = |agent: &str| text.lines().find(|l| l.contains(&format!("│{agent} "))).unwrap_or_default().to_owned();
    assert!(line("w1").contains("idle") && line("w1").contains("mine"), "{text}");
    assert!(line("w1").contains("explorer") && line("w1").contains("submitted"), "{text}");
    assert!(line("w2").contains("idle") && line("w2").contains("mine") && line("w2").contains("started"), "{text}");
    assert!(!text.contains("parser") && !text.contains("work 1"), "a prompt leaked: {text}");
    for column in ["AGENT", "STATE", "LIMIT", "LEASE", "TASK", "SENT", "QUIET", "HOST", "PROFILE", "SOURCE"] {
        assert!(text.contains(column), "{column}: {text}");
    }
    // A narrow terminal drops the least needed columns first.
    let narrow = frame(&f, "60");
    assert!(narrow.contains("AGENT") && narrow.contains("STATE") && !narrow.contains("PROFILE"), "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
    f.run(&["stop", "all"]);
    let text = frame(&f, "120");
    assert!(text.lines().any(|l| l.contains("│w1 ") && l.contains("not_running")), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
}

/// `top` (with `args`) in a 100×24 pane of the fleet's own tmux server, run by a shell that then
/// prints its exit code and whether the terminal is back in canonical mode.
fn launch(f: &Fleet, env: &[(String, String)], args: &str) {
    let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let script =
        format!("\"$0\" top {args}; echo \"top-exit=$?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60");
    let mut argv = vec!["new-session", "-d", "-s", "top", "-x", "100", "-y", "24", "env"];
    argv.extend(env.iter().map(String::as_str));
    argv.extend(["sh", "-c", &script, env!("CARGO_BIN_EXE_codex-master-mcp")]);
    assert!(f.tmux(&argv).status.success());
}

fn screen(f: &Fleet) -> String {
    String::from_utf8_lossy(&f.tmux(&["capture-pane", "-p", "-t", "=top:"]).stdout).into_owned()
}

/// Waits until the pane shows what `check` wants.
fn until(f: &Fleet, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = screen(f);
        if check(&text) {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {text}");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
}

/// The shell after `top`: its exit code and the terminal mode are printed.
fn exited(text: &str) -> bool {
    text.contains("top-exit=") && text.lines().any(|l| l.ends_with("icanon"))
}

fn keys(f: &Fleet, keys: &[&str]) {
    for k in keys {
        assert!(f.tmux(&["send-keys", "-t", "=top:", k]).status.success());
    }
}

#[test]
fn the_live_view_draws_shows_a_redacted_tail_a_verdict_and_help_and_quits_on_q() {
    let f = Fleet::scripted("top-live", &["w1", "w2"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.await_state("w2", "idle");
    f.run(&["send", "w2", "limit-for 3600"]);
    f.await_state("w2", "limited");
    let secret = "sk-proj-Tq3v9Lm2Xw8Rb5Nc1Yd7Hf4Kj6Pz0Ae2";
    f.append_to_raw_log("w1", &format!("OPENAI_API_KEY={secret}\nthe tail's last line\n"));
    launch(&f, &f.env, "");
    let text = until(&f, "top never drew the fleet", |t| t.contains("│w1 ") && t.contains("│w2 "));
    assert!(text.contains("codex-master top: 2 agents") && text.contains("idle"), "{text}");
    // The limited worker's row: its state and the countdown to its reset.
    let w2 = text.lines().find(|l| l.contains("│w2 ")).unwrap_or_default();
    assert!(w2.contains("limited") && (w2.contains("usage 59m") || w2.contains("usage 1h00m")), "{text}");
    // Enter: the selected agent's tail, redacted.
    keys(&f, &["Enter"]);
    let text = until(&f, "no tail", |t| t.contains("redacted tail") && t.contains("the tail's last line"));
    assert!(!text.contains(secret) && text.contains("OPENAI_API_KEY="), "{text}");
    assert!(!text.contains(f.dir.path().to_str().unwrap()), "a local path leaked: {text}");
    // w: the watchdog's dry-run verdict; ?: help.
    keys(&f, &["Escape", "w"]);
    let text = until(&f, "no verdict", |t| t.contains("watchdog dry run"));
    assert!(text.contains("verdict: ") && text.contains("nothing was sent"), "{text}");
    keys(&f, &["Escape", "?"]);
    until(&f, "no help", |t| t.contains("keys (Esc closes)") && t.contains("interrupt / stop"));
    // Without --act, x only says how to enable it.
    keys(&f, &["Escape", "x"]);
    until(&f, "x was not refused", |t| t.contains("read-only: start `top --act`"));
    // A resize redraws at the new width.
    assert!(f.tmux(&["resize-window", "-t", "=top:", "-x", "70"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let text = screen(&f);
    assert!(text.lines().all(|l| l.chars().count() <= 70) && text.contains("│w1 "), "{text}");
    // q quits and the terminal is back: canonical mode, the frame gone with the alternate screen.
    keys(&f, &["q"]);
    let text = until(&f, "top did not quit on q", exited);
    assert!(text.contains("top-exit=0") && text.lines().any(|l| l == "icanon"), "{text}");
    assert!(!text.contains("│w1 "), "{text}");
    assert_eq!(f.state_of("w1"), "idle");
    f.run(&["stop", "all"]);
}

/// `top` launched and drawn (its fleet's `w1` row shown); returns its pid (the pane runs the
/// shell, top is its child).
fn launch_drawn(f: &Fleet) -> String {
    launch(f, &f.env, "");
    until(f, "top never drew", |t| t.contains("│w1 "));
    let pid =
        String::from_utf8_lossy(&f.tmux(&["list-panes", "-t", "=top:", "-F", "#{pane_pid}"]).stdout).trim().to_owned();
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    children.split_whitespace().next().expect("top runs").to_owned()
}

#[test]
fn sigterm_restores_the_terminal() {
    let f = Fleet::scripted("top-term", &["w1"]);
    let top = launch_drawn(&f);
    assert!(std::process::Command::new("kill").args(["-TERM", &top]).status().unwrap().success());
    let text = until(&f, "top did not end on SIGTERM", exited);
    assert!(text.contains("top-exit=143") && text.lines().any(|l| l == "icanon"), "{text}");
    assert!(!text.contains("│w1 "), "{text}");
}

#[test]
fn a_view_whose_terminal_goes_away_ends() {
    let f = Fleet::scripted("top-hup", &["w1"]);
    let top = launch_drawn(&f);
    // The terminal closes under it (its pane is killed): it must not spin on a dead terminal.
    assert!(f.tmux(&["kill-session", "-t", "=top"]).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{top}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{top}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "top outlived its terminal: {stat}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn with_act_a_stop_asks_first_and_never_takes_another_clients_lease() {
    let f = Fleet::scripted("top-act", &["w1", "w2"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.await_state("w2", "idle");
    let other = cli(&f.env_as("another-lead"), &["claim", "w1"]);
    assert_eq!(other.code, 0, "{}", other.stdout);
    launch(&f, &f.env, "--act");
    let text = until(&f, "top never drew", |t| t.contains("│w1 ") && t.contains("│w2 "));
    assert!(text.lines().any(|l| l.contains("│w1 ") && l.contains("other")), "{text}");
    // x asks first; any other key cancels.
    keys(&f, &["x"]);
    until(&f, "no confirmation", |t| t.contains("stop w1? y confirms"));
    keys(&f, &["n"]);
    until(&f, "not cancelled", |t| t.contains("w1: stop cancelled"));
    // Confirmed, the stop of an agent another client holds is refused, and it keeps running.
    keys(&f, &["x", "y"]);
    let text = until(&f, "no refusal", |t| t.contains("w1: agent_lease_"));
    assert!(text.contains("w1: agent_lease_held_by_other_client"), "{text}");
    assert_eq!(f.state_of("w1"), "idle");
    // w2 is free: its stop goes through.
    keys(&f, &["j", "x", "y"]);
    until(&f, "w2 not stopped", |t| t.contains("w2: stopped"));
    assert_eq!(f.state_of("w2"), "not_running");
    keys(&f, &["q"]);
    until(&f, "top did not quit", exited);
    f.run(&["stop", "all", "--force"]);
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

#[test]
fn one_frame_of_a_mixed_fleet_shows_a_host_a_limit_countdown_and_a_task() {
    if !crate::common::sshd::available() {
        return;
    }
    let f = Fleet::new("top-mixed", "");
    let host = crate::common::sshd::Host::start(&f.dir.join("h1"), "build-1");
    let scripted = "profile = \"scripted\"\nargs = [\"--work-seconds\", \"1\"]";
    let config = format!(
        "[hosts.build-1]\nssh = \"build-1\"\nssh_config = \"{}\"\n\n[agents.api]\n{scripted}\n\n[agents.docs]\n{scripted}\n\n[agents.parser]\n{scripted}\nhost = \"build-1\"\n",
        host.ssh_config().display()
    );
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    for agent in ["api", "docs", "parser"] {
        f.await_state(agent, "idle");
    }
    let (code, v) = f.run(&["assign", "api", "--role", "explorer", "--task", "map the API"]);
    assert_eq!(code, 0, "{v}");
    f.run(&["send", "docs", "limit-for 3600"]);
    f.await_state("docs", "limited");
    // Another lead's worker on the host, with its assignment.
    let task =
        ["assign", "parser", "--role", "worker", "--task", "fix the parser", "--scope", "src", "--write-path", "src"];
    let other = cli(&f.env_as("another-lead"), &task);
    assert_eq!(other.code, 0, "{}", other.stdout);
    let text = frame(&f, "150");
    println!("{text}");
    let line = |agent: &str| text.lines().find(|l| l.contains(&format!("│{agent} "))).unwrap_or_default().to_owned();
    assert!(text.contains("host build-1: reachable"), "{text}");
    let parser = line("parser");
    assert!(parser.contains("build-1") && parser.contains("other") && parser.contains("worker"), "{text}");
    let docs = line("docs");
    assert!(docs.contains("limited") && (docs.contains("usage 1h00m") || docs.contains("usage 59m")), "{text}");
    assert!(line("api").contains("explorer") && line("api").contains("local"), "{text}");
    f.run(&["stop", "all", "--force"]);
}

#[test]
fn a_stalled_tmux_never_freezes_the_view_and_the_frame_says_it_is_stale() {
    let f = Fleet::scripted("top-slow", &["w1"]);
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    // The view runs in a tmux server of its own, so stopping the fleet's does not freeze it.
    let view = f.dir.join("view.sock").display().to_string();
    let vt = |args: &[&str]| std::process::Command::new("tmux").arg("-S").arg(&view).args(args).output().unwrap();
    let env: Vec<String> = f.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut argv = vec!["new-session", "-d", "-s", "view", "-x", "100", "-y", "24", "env"];
    argv.extend(env.iter().map(String::as_str));
    argv.extend([env!("CARGO_BIN_EXE_codex-master-mcp"), "top"]);
    assert!(vt(&argv).status.success());
    let screen = || String::from_utf8_lossy(&vt(&["capture-pane", "-p", "-t", "=view:"]).stdout).into_owned();
    let wait_for = |what: &str, limit: u64, check: &dyn Fn(&str) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(limit);
        loop {
            let text = screen();
            if check(&text) {
                return text;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {text}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("top never drew", 20, &|t| t.contains("│w1 "));
    let pid = String::from_utf8_lossy(&f.tmux(&["display-message", "-p", "#{pid}"]).stdout).trim().to_owned();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    // Keys still answer at once while the fleet's tmux does not, and the frame is marked stale.
    assert!(vt(&["send-keys", "-t", "=view:", "?"]).status.success());
    wait_for("help did not open while tmux was stalled", 2, &|t| t.contains("keys (Esc closes)"));
    assert!(vt(&["send-keys", "-t", "=view:", "Escape"]).status.success());
    wait_for("the stalled frame was not marked", 10, &|t| t.contains("stale: the last observation"));
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    wait_for("the view did not recover", 20, &|t| !t.contains("stale:") && t.contains("│w1 "));
    assert!(vt(&["send-keys", "-t", "=view:", "q"]).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while vt(&["has-session", "-t", "=view"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "top did not quit");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = vt(&["kill-server"]);
    f.run(&["stop", "all"]);
}
