//! The real Gemini CLI (0.61.0) as a worker, in real tmux, against a loopback mock of the Gemini
//! API. `scripts/bootstrap` installs it into `.ci-tools/gemini/<version>`; without it these
//! tests are skipped, unless `CODEX_MASTER_REQUIRE_REAL_CLIENTS=1` makes that a failure.
//!
//! A plain 429 shows nothing: the CLI retries it behind the same "Thinking..." screen, so the
//! classifier reads the CLI's own timer (a minute or more: a rate warning while it works). Not
//! covered: sign-in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::fleet::Fleet;
use crate::common::gemini_mock::{GeminiMock, Reply};

const VERSION: &str = "0.61.0";

fn gemini_binary() -> Option<PathBuf> {
    // The package's own script (node), not the `.bin` symlink: a runner is never a symlink.
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.ci-tools/gemini")
        .join(VERSION)
        .join("node_modules/@google/gemini-cli/bundle/gemini.js");
    if bin.is_file() {
        return std::fs::canonicalize(bin).ok();
    }
    assert!(
        std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
        "Gemini CLI {VERSION} is not installed: run scripts/bootstrap"
    );
    eprintln!("skipped: Gemini CLI {VERSION} is not installed (scripts/bootstrap installs it)");
    None
}

fn await_status(f: &Fleet, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    f.await_entry("g", what, Duration::from_secs(60), check)
}

/// Agent `g`: Gemini CLI with a private home, pointed at a fresh mock.
fn gemini_fleet(tag: &str, gemini: &Path) -> (Fleet, GeminiMock) {
    let mock = GeminiMock::start();
    let mut f = Fleet::new(tag, "");
    // A lead on a CI runner: these would make the CLI headless (it exits at once) if the worker
    // inherited them.
    f.env.extend([("CI".to_owned(), "true".to_owned()), ("GITHUB_ACTIONS".to_owned(), "true".to_owned())]);
    let home = f.dir.join("gemini-home");
    std::fs::create_dir_all(&home).unwrap();
    let config = format!(
        "[agents.g]\nprofile = \"gemini\"\nhome = \"{}\"\nrunner = \"{}\"\n\n[agents.g.env]\nGEMINI_API_KEY = \"test-key\"\nGOOGLE_GEMINI_BASE_URL = \"{}\"\n",
        home.display(),
        gemini.display(),
        mock.base_url()
    );
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
    (f, mock)
}

/// A crash takes the tmux server down; `start --resume` (`gemini --resume latest`) continues
/// the session: the next request carries the earlier turn.
#[test]
fn real_gemini_cli_resumes_its_session_after_a_crash() {
    let Some(gemini) = gemini_binary() else { return };
    let (f, mock) = gemini_fleet("real-gemini-resume", &gemini);
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");
    mock.push(Reply::Text { text: "Noted: PINEAPPLE.".into(), delay: 0.0 });
    let (code, v) = f.run(&["send", "g", "Remember the code word PINEAPPLE for later."]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "the answer", |e| e["state"] == "idle" && !mock.last_user_texts().is_empty());

    assert!(f.tmux(&["kill-server"]).status.success());
    await_status(&f, "not running", |e| e["state"] == "not_running");
    let (code, v) = f.run(&["start", "g", "--resume"]);
    assert_eq!((code, v["results"][0]["resumed"].as_bool()), (0, Some(true)), "{v}");
    await_status(&f, "idle after the resume", |e| e["state"] == "idle");
    mock.push(Reply::Text { text: "It was PINEAPPLE.".into(), delay: 0.0 });
    let (code, v) = f.run(&["send", "g", "Which code word did I give you?"]);
    let pane = f.tmux(&["capture-pane", "-p", "-t", "codex_agent_g_mcp"]);
    let events = std::fs::read_to_string(f.dir.join("state/events/g.log")).unwrap_or_default();
    assert_eq!(code, 0, "{v}\n{}\nevents: {events}", String::from_utf8_lossy(&pane.stdout));
    await_status(&f, "the resumed turn", |e| {
        e["state"] == "idle" && mock.last_user_texts().iter().any(|t| t.contains("Which code word"))
    });
    let texts = mock.last_user_texts();
    assert!(texts.iter().any(|t| t.contains("Remember the code word PINEAPPLE")), "{texts:?}");
    let (code, _) = f.run(&["stop", "g"]);
    assert_eq!(code, 0);
}

#[test]
fn real_gemini_cli_idle_working_a_permission_prompt_a_silent_429_and_a_usage_limit() {
    let Some(gemini) = gemini_binary() else { return };
    let (f, mock) = gemini_fleet("real-gemini", &gemini);
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["results"][0]["trust"], "written", "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");

    mock.push(Reply::Text { text: "Done: the answer is 42.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "g", "say hi"]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "working", |e| e["state"] == "working");
    await_status(&f, "idle again", |e| e["state"] == "idle");

    // A shell command that needs permission: a dialog, and sends are refused while it is open.
    mock.push(Reply::Shell { command: "rm -rf build".into() });
    let (code, v) = f.run(&["send", "g", "clean the build"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "permission dialog", |e| e["state"] == "dialog");
    assert_eq!(e["dialog"]["blocks_input"], true, "{e}");
    let (code, v) = f.run(&["send", "g", "hello?"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("waiting_on_dialog")), "{v}");
    // The person at the keyboard declines (Esc); the worker is idle again.
    f.tmux(&["send-keys", "-t", "codex_agent_g_mcp", "Escape"]);
    await_status(&f, "idle after the declined command", |e| e["state"] == "idle");

    // A plain 429, retried silently: after a minute of "Thinking..." the worker is warned (rate).
    mock.rate_limit(true);
    let (code, v) = f.run(&["send", "g", "retry me"]);
    assert_eq!(code, 0, "{v}");
    let e = f.await_entry("g", "a stalled turn", Duration::from_secs(120), |e| {
        e["limit_state"]["rule"] == "stalled-retrying"
    });
    // Still working (the CLI keeps retrying), with the rate warning in its limit state.
    assert_eq!((e["state"].as_str(), e["limit_state"]["severity"].as_str()), (Some("working"), Some("warning")), "{e}");
    assert_eq!(e["limit_state"]["kind"], "rate", "{e}");
    // The lead's way out of a stalled turn: interrupt it (the CLI's retry back-off can take long).
    mock.rate_limit(false);
    let (code, v) = f.run(&["interrupt", "g"]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "idle after the interrupt", |e| e["state"] == "idle");

    // A terminal quota error: the CLI's usage-limit dialog, naming the model.
    mock.push(Reply::DailyQuota);
    let (code, v) = f.run(&["send", "g", "again"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "usage limit", |e| e["limit_state"]["kind"] == "usage");
    assert_eq!(e["state"], "limited", "{e}");
    // The CLI names the model, or "all Pro models" (then no single bucket).
    assert!(e["limit_state"]["model_bucket"].as_str().is_none_or(|m| m.starts_with("gemini-")), "{e}");
    assert_eq!(e["dialog"]["blocks_input"], true, "{e}");
    let (code, v) = f.run(&["send", "g", "are you there?"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("waiting_on_dialog")), "{v}");

    let (code, _) = f.run(&["stop", "g"]);
    assert_eq!(code, 0);
}

/// Gemini CLI's own events first: hooks merged next to the user's (which keeps running), a send
/// right after the start that waits for the CLI to come up and is taken, a turn and a permission
/// wait read from events, and the same turn from the screen with `events = false`.
#[test]
fn real_gemini_cli_events_first_and_screen_only() {
    let Some(gemini) = gemini_binary() else { return };
    let (f, mock) = gemini_fleet("gemini-events", &gemini);
    let home = f.dir.join("gemini-home");
    let marker = f.dir.join("users-hook-ran");
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    let users = serde_json::json!({"hooks": {"AfterAgent": [{"hooks": [{"type": "command", "name": "mine", "command": format!("echo done >> '{}'", marker.display())}]}]}});
    std::fs::write(home.join(".gemini/settings.json"), users.to_string()).unwrap();

    // The first send goes in at once: it waits for the CLI's session start, then is taken.
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd()]);
    assert_eq!((code, v["results"][0]["events"].as_str()), (0, Some("installed")), "{v}");
    let settings: Value = serde_json::from_slice(&std::fs::read(home.join(".gemini/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["hooks"]["AfterAgent"].as_array().map(Vec::len), Some(2), "{settings}");
    mock.push(Reply::Text { text: "Done: the answer is 42.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "g", "say hi"]);
    assert_eq!((code, v["receipt"].as_str()), (0, Some("turn_started")), "{v}");
    let e = await_status(&f, "working", |e| e["state"] == "working");
    assert_eq!(e["state_source"], "event", "{e}");
    let e = await_status(&f, "idle again", |e| e["state"] == "idle");
    assert_eq!((e["state_source"].as_str(), e["events"]["listening"].as_bool()), (Some("event"), Some(true)), "{e}");
    assert!(e["events"]["received"].as_u64() >= Some(3), "{e}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(marker.exists(), "the user's own AfterAgent hook still runs");

    // A permission wait, from the CLI's ToolPermission notification.
    mock.push(Reply::Shell { command: "rm -rf build".into() });
    let (code, v) = f.run(&["send", "g", "clean the build"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "permission dialog", |e| e["state"] == "dialog");
    assert_eq!(e["state_source"], "event", "{e}");
    // Declined at the keyboard: no event says so, the screen takes over.
    f.tmux(&["send-keys", "-t", "codex_agent_g_mcp", "Escape"]);
    let e = await_status(&f, "idle after the declined command", |e| e["state"] == "idle");
    assert_eq!(e["state_source"], "screen", "{e}");
    let (code, _) = f.run(&["stop", "g"]);
    assert_eq!(code, 0);

    // events = false: our hooks leave the home, the user's stays, the screen says the same.
    let config = std::fs::read_to_string(f.dir.join("cfg/config.toml")).unwrap();
    std::fs::write(f.dir.join("cfg/config.toml"), config.replace("[agents.g]\n", "[agents.g]\nevents = false\n"))
        .unwrap();
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd()]);
    assert_eq!((code, v["results"][0]["events"].as_str()), (0, Some("off")), "{v}");
    let settings: Value = serde_json::from_slice(&std::fs::read(home.join(".gemini/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["hooks"]["AfterAgent"].as_array().map(Vec::len), Some(1), "{settings}");
    assert!(!settings.to_string().contains("--codex-master-events"), "{settings}");
    await_status(&f, "idle", |e| e["state"] == "idle");
    mock.push(Reply::Text { text: "Done again.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "g", "say hi again"]);
    assert_eq!((code, v["receipt"].as_str()), (0, Some("turn_started")), "{v}");
    let e = await_status(&f, "working", |e| e["state"] == "working");
    assert_eq!(e["state_source"], "screen", "{e}");
    await_status(&f, "idle again", |e| e["state"] == "idle");
    let (code, _) = f.run(&["stop", "g"]);
    assert_eq!(code, 0);
}

/// A prompt that starts with `-` is the prompt (given as `--prompt-interactive=<text>`).
#[test]
fn real_gemini_cli_takes_a_dash_prompt_as_text() {
    let Some(gemini) = gemini_binary() else { return };
    let (f, mock) = gemini_fleet("real-gemini-dash", &gemini);
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd(), "--prompt=--yolo"]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "the prompt's turn", |e| e["state"] == "idle" && !mock.last_user_texts().is_empty());
    assert!(mock.last_user_texts().iter().any(|t| t == "--yolo"), "{:?}", mock.last_user_texts());
    let (code, _) = f.run(&["stop", "g"]);
    assert_eq!(code, 0);
}
