//! The real Claude Code (2.1.328, the pinned version, and 2.1.332) as a worker, in real tmux,
//! against a loopback mock of the Anthropic Messages API. `scripts/bootstrap` installs both into
//! `.ci-tools/claude/<version>`; without them these tests are skipped, unless
//! `CODEX_MASTER_REQUIRE_REAL_CLIENTS=1` (as `scripts/test` sets) makes that a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::anthropic_mock::{AnthropicMock, Reply};
use crate::common::fleet::Fleet;

const VERSION: &str = "2.1.328";
/// The newer release: its screens moved ("set to continue automatically at"), its hooks did not.
const NEWER: &str = "2.1.332";
/// A test key: the home approves it once (what Claude Code's own first-run question records).
const KEY: &str = "sk-ant-api03-codex-master-test-key-0123456789";

fn claude_binary() -> Option<PathBuf> {
    claude_version(VERSION)
}

fn claude_version(version: &str) -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.ci-tools/claude")
        .join(version)
        .join("node_modules/@anthropic-ai/claude-code-linux-x64/claude");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
        "Claude Code {version} is not installed: run scripts/bootstrap"
    );
    eprintln!("skipped: Claude Code {version} is not installed (scripts/bootstrap installs it)");
    None
}

fn await_status(f: &Fleet, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    f.await_entry("c", what, Duration::from_secs(40), check)
}

/// Agent `c`: Claude Code with `home`, pointed at the mock, no retries, no telemetry; `extra`
/// lines for its table and `auth` lines for its environment.
fn write_config(f: &Fleet, home: &Path, claude: &Path, mock: &AnthropicMock, extra: &str, auth: &str) {
    let config = format!(
        "[agents.c]\nprofile = \"claude\"\nhome = \"{}\"\nrunner = \"{}\"\n{extra}\n[agents.c.env]\n{auth}ANTHROPIC_BASE_URL = \"{}\"\nDISABLE_TELEMETRY = \"1\"\nDISABLE_ERROR_REPORTING = \"1\"\nCLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = \"1\"\nCLAUDE_CODE_MAX_RETRIES = \"0\"\n",
        home.display(),
        claude.display(),
        mock.base_url()
    );
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
}

/// A fleet whose agent `c` uses the test key, approved in a fresh home; `extra` lines for its
/// table.
fn keyed_fleet(tag: &str, claude: &Path, mock: &AnthropicMock, extra: &str) -> Fleet {
    let f = Fleet::new(tag, "");
    let home = f.dir.join("claude-home");
    std::fs::create_dir_all(&home).unwrap();
    approve_key(&home);
    write_config(&f, &home, claude, mock, extra, &format!("ANTHROPIC_API_KEY = \"{KEY}\"\n"));
    f
}

/// The test key's first-run approval in `home`, as Claude Code itself records it (the host
/// never copies credentials; a test writes its own fixture).
fn approve_key(home: &Path) {
    let approved = &KEY[KEY.len() - 20..];
    std::fs::write(
        home.join(".claude.json"),
        format!("{{\"customApiKeyResponses\": {{\"approved\": [\"{approved}\"], \"rejected\": []}}}}"),
    )
    .unwrap();
}

#[test]
fn real_claude_code_idle_working_limits_and_a_permission_prompt() {
    let Some(claude) = claude_binary() else { return };
    let mock = AnthropicMock::start();
    let f = keyed_fleet("real-claude", &claude, &mock, "args = [\"--permission-mode\", \"default\"]\n");

    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["results"][0]["trust"], "written", "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");

    // idle → working → idle.
    mock.push(Reply::Text { text: "Done: the answer is 42.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "c", "say hi"]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "working", |e| e["state"] == "working");
    await_status(&f, "idle again", |e| e["state"] == "idle");

    // A rate limit (429) and an overload (529), as Claude Code prints them.
    mock.push(Reply::Status { code: 429, kind: "rate_limit_error", message: "Rate limited" });
    let (code, v) = f.run(&["send", "c", "again"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "rate limit", |e| e["limit_state"]["kind"] == "rate");
    assert_eq!(e["state"], "limited", "{e}");
    mock.push(Reply::Status { code: 529, kind: "overloaded_error", message: "Overloaded" });
    let (_, v) = f.run(&["send", "c", "once more"]);
    assert_ne!(v["error_code"], "waiting_on_dialog", "{v}");
    await_status(&f, "overload", |e| e["limit_state"]["kind"] == "capacity");

    // A tool call that needs permission: a dialog that blocks input, never typed into.
    mock.push(Reply::Bash { command: "rm -rf build".into(), then: "Removed.".into() });
    let (_, v) = f.run(&["send", "c", "clean the build"]);
    assert_ne!(v["error_code"], "send_not_typed", "{v}");
    let e = await_status(&f, "permission dialog", |e| e["state"] == "dialog");
    assert_eq!(e["dialog"]["blocks_input"], true, "{e}");
    let (code, v) = f.run(&["send", "c", "are you there?"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("waiting_on_dialog")), "{v}");

    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);

    // A subscriber (OAuth token, Max plan) hits the 5-hour limit: the reset time is read.
    let home = f.dir.join("claude-home-max");
    std::fs::create_dir_all(&home).unwrap();
    let auth =
        "CLAUDE_CODE_OAUTH_TOKEN = \"sk-ant-oat01-codex-master-test\"\nCLAUDE_CODE_SUBSCRIPTION_TYPE = \"max\"\n";
    write_config(&f, &home, &claude, &mock, "", auth);
    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // A whole minute, so the screen's clock time (minutes) names exactly this reset.
    let reset = (now / 60 + 3 * 60) * 60;
    mock.push(Reply::PlanLimit { claim: "five_hour", reset });
    let (code, v) = f.run(&["send", "c", "say hi"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "plan limit", |e| e["state"] == "limited");
    assert_eq!(
        (e["limit_state"]["kind"].as_str(), e["limit_state"]["window"].as_str()),
        (Some("usage"), Some("5h")),
        "{e}"
    );
    assert_eq!(e["limit_state"]["reset_at_epoch_seconds"], reset, "{e}");
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);
}

/// A crash takes the tmux server down; `start --resume` (`claude --continue`) continues the
/// conversation in the recorded working directory: the next request carries the earlier turn.
#[test]
fn real_claude_code_resumes_its_conversation_after_a_crash() {
    let Some(claude) = claude_binary() else { return };
    let mock = AnthropicMock::start();
    let f = keyed_fleet("real-claude-resume", &claude, &mock, "");
    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");
    mock.push(Reply::Text { text: "Noted: PINEAPPLE.".into(), delay: 0.0 });
    let (code, v) = f.run(&["send", "c", "Remember the code word PINEAPPLE for later."]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "the answer", |e| e["state"] == "idle" && mock.turns() >= 1);

    assert!(f.tmux(&["kill-server"]).status.success());
    await_status(&f, "not running", |e| e["state"] == "not_running");
    let (code, v) = f.run(&["start", "c", "--resume"]);
    assert_eq!((code, v["results"][0]["resumed"].as_bool()), (0, Some(true)), "{v}");
    await_status(&f, "idle after the resume", |e| e["state"] == "idle");
    let before = mock.turns();
    mock.push(Reply::Text { text: "It was PINEAPPLE.".into(), delay: 0.0 });
    let (code, v) = f.run(&["send", "c", "Which code word did I give you?"]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "the resumed turn", |e| e["state"] == "idle" && mock.turns() > before);
    let texts = mock.last_user_texts();
    assert!(texts.iter().any(|t| t.contains("Remember the code word PINEAPPLE")), "{texts:?}");
    assert!(texts.last().is_some_and(|t| t.contains("Which code word")), "{texts:?}");
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);
}

/// A user's own Stop hook in the home, which appends a line to `marker` each time it runs.
fn users_own_hook(home: &Path, marker: &Path) {
    let settings = serde_json::json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": format!("echo stop >> '{}'", marker.display())}]}]}});
    std::fs::write(home.join("settings.json"), settings.to_string()).unwrap();
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The CLI's own events first: hooks merged into the home next to the user's (which keeps
/// running), then a turn, a rate limit, a refused assignment and a permission wait, each read
/// from events; a subscriber's usage warning with its percent and a plan limit with its window
/// and reset, from events too.
fn events_first(version: &str) {
    let Some(claude) = claude_version(version) else { return };
    let mock = AnthropicMock::start();
    let f = keyed_fleet(
        &format!("claude-events-{version}"),
        &claude,
        &mock,
        "args = [\"--permission-mode\", \"default\"]\n",
    );
    let home = f.dir.join("claude-home");
    let marker = f.dir.join("users-hook-ran");
    users_own_hook(&home, &marker);

    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd()]);
    assert_eq!((code, v["results"][0]["events"].as_str()), (0, Some("installed")), "{v}");
    let settings: Value = serde_json::from_slice(&std::fs::read(home.join("settings.json")).unwrap()).unwrap();
    let stops = settings["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(stops.len(), 2, "the user's hook and ours: {settings}");
    assert!(stops[0]["hooks"][0]["command"].as_str().unwrap().contains("users-hook-ran"), "{settings}");
    let e = await_status(&f, "idle from its session start", |e| {
        e["state"] == "idle" && e["events"]["received"].as_u64() >= Some(1)
    });
    assert_eq!((e["state_source"].as_str(), e["events"]["listening"].as_bool()), (Some("event"), Some(true)), "{e}");

    // A turn: the receipt from the CLI's prompt event, working and idle from its events.
    mock.push(Reply::Text { text: "Done: the answer is 42.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "c", "say hi"]);
    assert_eq!((code, v["receipt"].as_str()), (0, Some("turn_started")), "{v}");
    let e = await_status(&f, "working", |e| e["state"] == "working");
    assert_eq!(e["state_source"], "event", "{e}");
    let (code, v) = f.run(&["wait", "c", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("idle")), "{v}");
    assert_eq!(v["current"]["state_source"], "event", "{v}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(marker.exists(), "the user's own Stop hook still runs");

    // A rate limit, from StopFailure; a limited worker gets no assignment.
    mock.push(Reply::Status { code: 429, kind: "rate_limit_error", message: "Rate limited" });
    let (code, v) = f.run(&["send", "c", "again"]);
    // The failure usually lands within the receipt's settle time; on a loaded machine it may not.
    assert_eq!(code, 0, "{v}");
    assert!(["blocked_by_limit", "turn_started"].contains(&v["receipt"].as_str().unwrap_or("")), "{v}");
    let e = await_status(&f, "rate limit", |e| e["state"] == "limited");
    assert_eq!(
        (e["limit_state"]["kind"].as_str(), e["limit_state"]["source"].as_str()),
        (Some("rate"), Some("event")),
        "{e}"
    );
    let (code, v) = f.run(&["assign", "c", "--role", "explorer", "--task", "look around"]);
    assert_eq!((code, v["reason"].as_str(), v["retryable"].as_bool()), (1, Some("agent_limited"), Some(true)), "{v}");

    // A 503 is a capacity problem, from the event.
    mock.push(Reply::Status { code: 503, kind: "api_error", message: "Service Unavailable" });
    let (code, _) = f.run(&["send", "c", "and again"]);
    assert_eq!(code, 0);
    let e = await_status(&f, "server error", |e| e["limit_state"]["kind"] == "capacity");
    assert_eq!(e["limit_state"]["source"], "event", "{e}");

    // A permission wait: the CLI says so before the screen does.
    mock.push(Reply::Bash { command: "rm -rf build".into(), then: "Removed.".into() });
    let (code, v) = f.run(&["send", "c", "clean the build"]);
    assert_eq!(code, 0, "{v}");
    assert!(["waiting_on_dialog", "turn_started"].contains(&v["receipt"].as_str().unwrap_or("")), "{v}");
    let e = await_status(&f, "permission dialog", |e| e["state"] == "dialog");
    assert_eq!(e["state_source"], "event", "{e}");
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);

    // A subscriber: the status line carries the plan's usage windows.
    let home = f.dir.join("claude-home-max");
    std::fs::create_dir_all(&home).unwrap();
    let auth =
        "CLAUDE_CODE_OAUTH_TOKEN = \"sk-ant-oat01-codex-master-test\"\nCLAUDE_CODE_SUBSCRIPTION_TYPE = \"max\"\n";
    write_config(&f, &home, &claude, &mock, "", auth);
    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    await_status(&f, "idle", |e| e["state"] == "idle");
    let reset = (now() / 60 + 3 * 60) * 60;
    mock.push(Reply::TextWithUsage { text: "Done.".into(), used: 0.92, reset });
    let (code, _) = f.run(&["send", "c", "say hi"]);
    assert_eq!(code, 0);
    let e = await_status(&f, "a usage warning", |e| e["limit_state"]["used_percent"] == 92);
    assert_eq!(
        (e["state"].as_str(), e["limit_state"]["source"].as_str(), e["limit_state"]["window"].as_str()),
        (Some("warned"), Some("event"), Some("5h")),
        "{e}"
    );
    assert_eq!(e["limit_state"]["reset_at_epoch_seconds"], reset, "{e}");
    let (_, v) = f.run(&["status", "all"]);
    assert_eq!(v["host"]["near_limit"], serde_json::json!(["c"]), "{v}");
    // The plan limit: kind, window and reset from the failed turn.
    mock.push(Reply::PlanLimit { claim: "five_hour", reset });
    let (code, _) = f.run(&["send", "c", "more"]);
    assert_eq!(code, 0);
    let e = await_status(&f, "plan limit", |e| e["state"] == "limited");
    assert_eq!(
        (e["limit_state"]["kind"].as_str(), e["limit_state"]["window"].as_str(), e["limit_state"]["source"].as_str()),
        (Some("usage"), Some("5h"), Some("event")),
        "{e}"
    );
    assert_eq!(e["limit_state"]["reset_at_epoch_seconds"], reset, "{e}");
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);
}

#[test]
fn real_claude_code_events_first_pinned() {
    events_first(VERSION);
}

#[test]
fn real_claude_code_events_first_newer() {
    events_first(NEWER);
}

/// With `events = false` no hook of ours is in the home and the same facts come from the screen;
/// a working directory whose name holds limit words does not make a fresh worker limited; a
/// weekly limit's dated reset is read in the zone the CLI names, not the server's.
fn screen_only(version: &str) {
    let Some(claude) = claude_version(version) else { return };
    let mock = AnthropicMock::start();
    let f = Fleet::new(&format!("claude-screen-{version}"), "");
    let home = f.dir.join("claude-home");
    std::fs::create_dir_all(&home).unwrap();
    let auth = "CLAUDE_CODE_OAUTH_TOKEN = \"sk-ant-oat01-codex-master-test\"\nCLAUDE_CODE_SUBSCRIPTION_TYPE = \"max\"\nTZ = \"America/Los_Angeles\"\n";
    write_config(&f, &home, &claude, &mock, "events = false\nargs = [\"--permission-mode\", \"default\"]\n", auth);
    let cwd = f.dir.join("work/overloaded_rate_limit_error-usage-limit-reached");
    std::fs::create_dir_all(&cwd).unwrap();
    let (code, v) = f.run(&["start", "c", "--cwd", cwd.to_str().unwrap()]);
    assert_eq!((code, v["results"][0]["events"].as_str()), (0, Some("off")), "{v}");
    let settings = std::fs::read_to_string(home.join("settings.json")).unwrap_or_default();
    assert!(!settings.contains("--codex-master-events"), "{settings}");
    let e = await_status(&f, "idle", |e| e["state"] == "idle");
    assert_eq!((e["state_source"].as_str(), e["events"]["listening"].as_bool()), (Some("screen"), Some(false)), "{e}");
    assert_eq!(e["limit_state"]["severity"], "none", "the banner's directory is no message: {e}");

    mock.push(Reply::Text { text: "Done: the answer is 42.".into(), delay: 4.0 });
    let (code, v) = f.run(&["send", "c", "say hi"]);
    assert_eq!((code, v["receipt"].as_str()), (0, Some("turn_started")), "{v}");
    let e = await_status(&f, "working", |e| e["state"] == "working");
    assert_eq!(e["state_source"], "screen", "{e}");
    await_status(&f, "idle again", |e| e["state"] == "idle");

    // A usage warning with its percent, from the screen ("You've used 92% of your session limit").
    let soon = (now() / 60 + 3 * 60) * 60;
    mock.push(Reply::TextWithUsage { text: "Done.".into(), used: 0.92, reset: soon });
    let (code, _) = f.run(&["send", "c", "a small task"]);
    assert_eq!(code, 0);
    let e = await_status(&f, "a usage warning", |e| e["limit_state"]["severity"] == "warning");
    assert_eq!(
        (
            e["limit_state"]["kind"].as_str(),
            e["limit_state"]["source"].as_str(),
            e["limit_state"]["used_percent"].as_u64()
        ),
        (Some("usage"), Some("screen"), Some(92)),
        "{e}"
    );

    // A permission wait, from the screen.
    mock.push(Reply::Bash { command: "rm -rf build".into(), then: "Removed.".into() });
    let (code, v) = f.run(&["send", "c", "clean the build"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "permission dialog", |e| e["state"] == "dialog");
    assert_eq!(
        (e["state_source"].as_str(), e["dialog"]["blocks_input"].as_bool()),
        (Some("screen"), Some(true)),
        "{e}"
    );
    f.tmux(&["send-keys", "-t", "codex_agent_c_mcp", "Escape"]);
    await_status(&f, "idle after the declined command", |e| e["state"] == "idle");
    // The next turn carries the declined call's result (the mock answers it "Removed.").
    let (code, _) = f.run(&["send", "c", "never mind"]);
    assert_eq!(code, 0);
    await_status(&f, "idle", |e| e["state"] == "idle");

    // A weekly limit three days out: "resets <date>, <time> (America/Los_Angeles)".
    let reset = (now() / 60 + 3 * 24 * 60 + 7) * 60;
    mock.push(Reply::PlanLimit { claim: "seven_day", reset });
    let (code, _) = f.run(&["send", "c", "more"]);
    assert_eq!(code, 0);
    let e = await_status(&f, "weekly limit", |e| e["state"] == "limited");
    assert_eq!(
        (e["limit_state"]["kind"].as_str(), e["limit_state"]["window"].as_str(), e["limit_state"]["source"].as_str()),
        (Some("usage"), Some("weekly"), Some("screen")),
        "{e}"
    );
    assert_eq!(e["limit_state"]["reset_at_epoch_seconds"], reset, "{e}");
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);
}

#[test]
fn real_claude_code_screen_only_pinned() {
    screen_only(VERSION);
}

#[test]
fn real_claude_code_screen_only_newer() {
    screen_only(NEWER);
}

/// A prompt that starts with `-` is the prompt: the real CLI takes `--version` as a turn's text
/// (passed after `--`), not as its option (which would print the version and exit).
#[test]
fn real_claude_code_takes_a_dash_prompt_as_text() {
    let Some(claude) = claude_binary() else { return };
    let mock = AnthropicMock::start();
    let f = keyed_fleet("real-claude-dash", &claude, &mock, "");
    let (code, v) = f.run(&["start", "c", "--cwd", &f.cwd(), "--prompt=--version"]);
    assert_eq!(code, 0, "{v}");
    let e = await_status(&f, "the prompt's turn", |e| e["state"] == "idle" && mock.turns() >= 1);
    assert_eq!(e["running"], true, "{e}");
    assert_eq!(mock.last_user_texts().last().map(String::as_str), Some("--version"));
    let (code, _) = f.run(&["stop", "c"]);
    assert_eq!(code, 0);
}
