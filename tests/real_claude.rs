//! The real Claude Code (2.1.328) as a worker, in real tmux, against a loopback mock of the
//! Anthropic Messages API. `scripts/bootstrap` installs it into `.ci-tools/claude/<version>`;
//! without it these tests are skipped, unless `CODEX_MASTER_REQUIRE_REAL_CLIENTS=1` (as
//! `scripts/test` sets) makes that a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::anthropic_mock::{AnthropicMock, Reply};
use crate::common::fleet::Fleet;

const VERSION: &str = "2.1.328";
/// A test key: the home approves it once (what Claude Code's own first-run question records).
const KEY: &str = "sk-ant-api03-codex-master-test-key-0123456789";

fn claude_binary() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.ci-tools/claude")
        .join(VERSION)
        .join("node_modules/@anthropic-ai/claude-code-linux-x64/claude");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
        "Claude Code {VERSION} is not installed: run scripts/bootstrap"
    );
    eprintln!("skipped: Claude Code {VERSION} is not installed (scripts/bootstrap installs it)");
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
    // The key's first-run approval, as Claude Code itself records it (the host never copies
    // credentials; a test writes its own fixture).
    let approved = &KEY[KEY.len() - 20..];
    std::fs::write(
        home.join(".claude.json"),
        format!("{{\"customApiKeyResponses\": {{\"approved\": [\"{approved}\"], \"rejected\": []}}}}"),
    )
    .unwrap();
    write_config(&f, &home, claude, mock, extra, &format!("ANTHROPIC_API_KEY = \"{KEY}\"\n"));
    f
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
