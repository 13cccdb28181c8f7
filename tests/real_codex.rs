//! The real Codex CLI (0.171.0, the newest, and 0.169.0) as the worker, in real tmux, against a
//! loopback mock of the Responses API. `scripts/bootstrap` installs both versions into
//! `.ci-tools/codex/<version>`; without them these tests are skipped, unless
//! `CODEX_MASTER_REQUIRE_REAL_CLIENTS=1` (as `scripts/test` sets) makes that a failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::fleet::Fleet;
use crate::common::model_mock::{ModelMock, Reply};
use serde_json::Value;

/// The static binary inside the npm package of `version`.
fn codex_binary(version: &str) -> Option<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci-tools/codex").join(version).join("node_modules/@openai");
    for pkg in std::fs::read_dir(&root).ok()?.flatten() {
        let vendor = pkg.path().join("vendor");
        for triple in std::fs::read_dir(&vendor).into_iter().flatten().flatten() {
            let bin = triple.path().join("bin/codex");
            if bin.is_file() {
                return Some(bin);
            }
        }
    }
    None
}

pub fn require(version: &str) -> Option<PathBuf> {
    let found = codex_binary(version);
    if found.is_none() {
        assert!(
            std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
            "Codex {version} is not installed: run scripts/bootstrap"
        );
        eprintln!("skipped: Codex {version} is not installed (scripts/bootstrap installs it)");
    }
    found
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A fleet of real Codex workers, each with a private home pointed at one mock.
struct CodexFleet {
    f: Fleet,
    mock: ModelMock,
}

impl CodexFleet {
    /// `agents`: (name, extra TOML lines).
    fn new(tag: &str, binary: &Path, agents: &[(&str, &str)]) -> CodexFleet {
        let mock = ModelMock::start();
        let f = Fleet::new(tag, "");
        let mut toml = String::new();
        for (name, extra) in agents {
            let home = f.dir.join(&format!("codex-home-{name}"));
            std::fs::create_dir_all(&home).unwrap();
            std::fs::write(home.join("config.toml"), mock.codex_config()).unwrap();
            toml.push_str(&format!(
                "[agents.{name}]\nprofile = \"codex\"\nhome = \"{}\"\nrunner = \"{}\"\n{extra}\n",
                home.display(),
                binary.display()
            ));
        }
        std::fs::write(f.dir.join("cfg/config.toml"), toml).unwrap();
        // The work dir is a git repository: Codex asks to trust it unless the home already does.
        let git =
            std::process::Command::new("git").args(["init", "-q"]).current_dir(f.dir.join("work")).status().unwrap();
        assert!(git.success());
        CodexFleet { f, mock }
    }

    fn run(&self, args: &[&str]) -> (i32, Value) {
        self.f.run(args)
    }

    fn status(&self, agent: &str) -> Value {
        self.run(&["status", agent]).1["results"][0].clone()
    }

    /// Polls until `check` holds for the agent's status (bounded).
    fn await_status(&self, agent: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            last = self.status(agent);
            if check(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let pane = self.f.tmux(&["capture-pane", "-p", "-t", &format!("=codex_agent_{agent}_mcp:")]);
        panic!("agent {agent}: never {what}; last status {last}\npane:\n{}", String::from_utf8_lossy(&pane.stdout));
    }

    fn pane(&self, agent: &str) -> String {
        let out = self.f.tmux(&["capture-pane", "-p", "-t", &format!("=codex_agent_{agent}_mcp:")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn await_state(&self, agent: &str, state: &str) -> Value {
        self.await_status(agent, state, |s| s["state"] == state)
    }

    fn send(&self, agent: &str, text: &str) -> Value {
        let (code, v) = self.run(&["send", agent, text]);
        assert_eq!(code, 0, "send {text:?}: {v}");
        v
    }

    fn wait_idle(&self, agent: &str) -> Value {
        let (code, v) = self.run(&["wait", agent, "--until", "idle", "--timeout-seconds", "30"]);
        assert_eq!(code, 0, "{v}");
        v
    }

    fn start(&self, agent: &str) {
        let (code, v) = self.run(&["start", agent, "--cwd", &self.f.cwd()]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["results"][0]["status"], "started", "{v}");
    }
}

/// Turns, receipts, the tail and the findings about our own text.
fn turns_receipts_and_tail(version: &str) {
    let Some(bin) = require(version) else { return };
    let c = CodexFleet::new(&format!("cx-turns-{version}"), &bin, &[("w", "")]);
    c.start("w");
    // The trust entry written at start keeps the trust screen away.
    let st = c.await_state("w", "idle");
    assert!(st["dialog"].is_null(), "{st}");

    // Our first prompt quotes a limit message; 0.171 shows it in its footer for the whole thread.
    let v = c.send("w", "You've hit your usage limit. Explain what this message from our CLI means.");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    let w = c.wait_idle("w");
    assert_eq!(w["status"], "idle", "our own prompt is no limit: {w}");
    let v = c.send("w", "and now something else");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    assert_eq!(c.wait_idle("w")["status"], "idle");
    assert_eq!(c.status("w")["limit_state"]["severity"], "none");

    // No model is forced: Codex runs its own default, and status reports what Codex shows.
    let asked: Vec<String> = c.mock.seen().iter().filter_map(|s| s.model.clone()).collect();
    assert!(!asked.is_empty() && asked.iter().all(|m| m != "gpt-5.4-mini"), "{asked:?}");
    let st = c.status("w");
    assert_eq!(st["model"].as_str(), Some(asked[0].as_str()), "{st}");
    assert_eq!(st["model_source"], "screen", "{st}");

    // A prompt that names a dialog's button is no dialog.
    let v = c.send("w", "Fix the label of the Sign in with ChatGPT button");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    let w = c.wait_idle("w");
    assert_eq!(w["status"], "idle", "{w}");
    let st = c.status("w");
    assert_eq!((st["state"].as_str(), st["dialog"].is_null()), (Some("idle"), true), "{st}");

    // An answer that mentions a 429 is no limit.
    c.mock
        .push(Reply::answer("The client retries when the server answers 429 Too Many Requests; that path is tested."));
    c.send("w", "How does the client handle rate limiting?");
    c.wait_idle("w");
    assert_eq!(c.status("w")["limit_state"]["severity"], "none");

    // The default tail shows the last answer, not blank rows and the composer.
    c.mock.push(Reply::answer("The final answer is forty-two, written to the report."));
    c.send("w", "write the report");
    c.wait_idle("w");
    let (_, tail) = c.run(&["tail", "w"]);
    let out = tail["output"].as_str().unwrap();
    assert!(out.contains("The final answer is forty-two"), "{tail}");
    assert!(!out.lines().any(|l| l.trim().is_empty()), "no blank rows: {out:?}");
    assert!(!out.contains(&c.f.cwd()) && !out.contains("? for shortcuts"), "no chrome, no paths: {out:?}");
    let (_, tail) = c.run(&["tail", "w", "--chars", "120"]);
    let out = tail["output"].as_str().unwrap();
    assert!(out.chars().count() <= 120 && out.matches("truncated").count() == 1, "{out:?}");

    // Fast turns: each ends before the first check, and each is still `turn_started`.
    for i in 0..5 {
        let v = c.send("w", &format!("fast turn number {i}"));
        assert_eq!(v["receipt"], "turn_started", "fast turn {i}: {v}");
        c.wait_idle("w");
    }

    // A slow turn is working until its answer arrives.
    c.mock.push(Reply::Slow { text: "Slow answer arrived.".into(), seconds: 4.0 });
    let v = c.send("w", "take your time");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    c.await_state("w", "working");
    let w = c.wait_idle("w");
    assert_eq!(w["status"], "idle", "{w}");

    // A tool call runs in the agent's working directory.
    c.mock.push(Reply::ToolCall {
        js: "await tools.exec_command({cmd: \"sleep 1; touch tool-ran.txt\"}); text(\"ok\");".into(),
        then: "Tool finished.".into(),
    });
    let v = c.send("w", "run the tool");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    c.wait_idle("w");
    assert!(c.f.dir.join("work/tool-ran.txt").exists(), "the tool ran in the agent's cwd");

    let (code, _) = c.run(&["stop", "w"]);
    assert_eq!(code, 0);
}

/// Every limit family Codex shows, its popups as dialogs, and the way out of them.
fn limits_and_dialogs(version: &str) {
    let Some(bin) = require(version) else { return };
    let c = CodexFleet::new(&format!("cx-limits-{version}"), &bin, &[("w", "")]);
    c.mock.set_title(Some("Limits test"));
    c.start("w");
    c.await_state("w", "idle");

    // Usage limit with a reset time (Codex shows it to the minute).
    let resets = now() + 2 * 3600 + 600;
    c.mock.push(Reply::usage_limit("plus", Some(resets)));
    let v = c.send("w", "first task");
    assert_eq!(v["receipt"], "blocked_by_limit", "{v}");
    let st = c.status("w");
    let l = &st["limit_state"];
    assert_eq!(
        (st["state"].as_str(), l["severity"].as_str(), l["kind"].as_str()),
        (Some("limited"), Some("limited"), Some("usage")),
        "{st}"
    );
    let reset = l["reset_at_epoch_seconds"].as_u64().unwrap_or_else(|| panic!("no reset time: {st}"));
    assert!(reset.abs_diff(resets) <= 90, "reset {reset} vs {resets}");
    let (_, w) = c.run(&["wait", "w", "--timeout-seconds", "5"]);
    assert_eq!(w["status"], "blocked_by_limit");

    // A later turn that succeeds clears it.
    let v = c.send("w", "try again");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    c.wait_idle("w");
    assert_eq!(c.status("w")["state"], "idle");

    // Codex remembers the last `x-codex-rate-limit-reached-type` it saw, so the families that
    // set none come first.
    // A per-model bucket names its model.
    c.mock.push(Reply::model_bucket("GPT-5.3-Codex-Spark", now() + 3600));
    c.send("w", "bucket task");
    let st = c.await_state("w", "limited");
    assert_eq!(st["limit_state"]["model_bucket"], "gpt-5.3-codex-spark", "{st}\n{}", c.pane("w"));
    c.send("w", "carry on");
    c.wait_idle("w");

    // A server error is a warning about capacity, not a limit.
    c.mock.push(Reply::server_error());
    c.send("w", "server error task");
    let st = c.await_state("w", "warned");
    assert_eq!(st["limit_state"]["kind"], "capacity", "{st}");
    c.send("w", "carry on");
    c.wait_idle("w");

    for (reply, kind, what) in [
        (Reply::usage_limit("pro", None), "usage", "pro plan, no reset"),
        (Reply::usage_limit("free", Some(now() + 86_400 * 3)), "usage", "free plan"),
        (Reply::too_many_requests(), "rate", "429"),
        (Reply::context_window(), "context", "context window"),
        (Reply::reached_type("workspace_owner_credits_depleted"), "usage", "owner credits"),
    ] {
        c.mock.push(reply);
        let v = c.send("w", &format!("task for {what}"));
        assert_eq!(
            v["receipt"],
            "blocked_by_limit",
            "{what}: {v}\nEVENTS {}",
            std::fs::read_to_string(c.f.dir.join("state/events/w.log")).unwrap_or_default()
        );
        let st = c.status("w");
        assert_eq!((st["limit_state"]["kind"].as_str(), st["dialog"].is_null()), (Some(kind), true), "{what}: {st}");
        c.send("w", "carry on");
        c.wait_idle("w");
    }

    // Workspace credits and spend caps: the message decides the kind, and the popup that follows
    // is a dialog that blocks input. A send is refused; the dialog is answered "no".
    for (reached, kind) in
        [("workspace_member_credits_depleted", "credits"), ("workspace_member_usage_limit_reached", "credits")]
    {
        c.mock.push(Reply::reached_type(reached));
        let v = c.send("w", &format!("task under {reached}"));
        assert_eq!(v["receipt"], "blocked_by_limit", "{v}");
        let st = c.await_status("w", "on the limit-increase dialog", |s| s["dialog"]["kind"] == "limit_increase");
        assert_eq!(
            (st["limit_state"]["kind"].as_str(), st["tui_context"]["blocks_input"].as_bool()),
            (Some(kind), Some(true)),
            "{st}"
        );
        let (code, v) = c.run(&["send", "w", "are you there?"]);
        assert_eq!(
            (code, v["error_code"].as_str(), v["retryable"].as_bool(), v["dialog"].as_str()),
            (1, Some("waiting_on_dialog"), Some(false), Some("limit_increase")),
            "{v}"
        );
        let (code, v) = c.run(&["dialog-answer", "w", "trust"]);
        assert_eq!((code, v["error_code"].as_str()), (1, Some("dialog_choice_not_allowed")), "{v}");
        let (code, v) = c.run(&["dialog-answer", "w", "no"]);
        assert_eq!((code, v["status"].as_str()), (0, Some("answered")), "{v}");
        let st = c.await_status("w", "without the dialog", |s| s["dialog"].is_null());
        assert_eq!((st["state"].as_str(), st["limit_state"]["kind"].as_str()), (Some("limited"), Some(kind)), "{st}");
        c.send("w", "carry on");
        c.wait_idle("w");
    }

    // High usage: a warning, and the switch-model popup; "keep current model" answers it.
    c.mock.push(Reply::near_limits("Fine, but you are close to your limit.", 92));
    c.send("w", "near the limit");
    let st = c.await_status("w", "on the switch-model dialog", |s| s["dialog"]["kind"] == "switch_model");
    assert_eq!(st["limit_state"]["severity"], "warning", "{st}");
    let (code, v) = c.run(&["dialog-answer", "w", "keep_current_model"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("answered")), "{v}");
    let st = c.await_status("w", "without the dialog", |s| s["dialog"].is_null());
    assert!(matches!(st["state"].as_str(), Some("idle" | "warned")), "{st}");
    let asked = c.mock.seen().last().and_then(|s| s.model.clone());
    c.send("w", "carry on with the same model");
    c.wait_idle("w");
    assert_eq!(c.mock.seen().last().and_then(|s| s.model.clone()), asked, "the model was kept");
    c.run(&["stop", "w"]);
}

/// The trust screen when the agent's config opts out of the trust entry, and a dead process.
fn trust_dialog_and_exit(version: &str) {
    let Some(bin) = require(version) else { return };
    let c = CodexFleet::new(&format!("cx-trust-{version}"), &bin, &[("t", "trust_cwd = false")]);
    c.start("t");
    let st = c.await_status("t", "on the trust dialog", |s| s["dialog"]["kind"] == "trust");
    assert_eq!(
        (st["state"].as_str(), st["tui_context"]["blocks_input"].as_bool()),
        (Some("dialog"), Some(true)),
        "{st}"
    );
    let (code, v) = c.run(&["send", "t", "hello"]);
    assert_eq!(
        (code, v["error_code"].as_str(), v["dialog"].as_str()),
        (1, Some("waiting_on_dialog"), Some("trust")),
        "{v}"
    );
    let (code, v) = c.run(&["dialog-answer", "t", "keep_current_model"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("dialog_choice_not_allowed")), "{v}");
    let (code, v) = c.run(&["dialog-answer", "t", "trust"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("answered")), "{v}");
    c.await_state("t", "idle");
    let v = c.send("t", "hello after trust");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    c.wait_idle("t");

    // The Codex process dies: the pane stays, the state says so.
    let pid = c.f.tmux(&["display-message", "-p", "-t", "=codex_agent_t_mcp:", "#{pane_pid}"]);
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    let _ = std::process::Command::new("pkill").args(["-KILL", "-P", &pid]).status();
    let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
    c.await_state("t", "exited");
    let (code, v) = c.run(&["send", "t", "anyone?"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("agent_exited")), "{v}");
}

/// A crash takes the tmux server down mid-thread; `start --resume` continues the thread in its
/// recorded working directory, and the resumed thread's first request carries the earlier turns.
fn resume_after_a_crash(version: &str) {
    let Some(bin) = require(version) else { return };
    let c = CodexFleet::new(&format!("cx-resume-{version}"), &bin, &[("r", "")]);
    c.start("r");
    c.await_state("r", "idle");
    c.mock.push(Reply::answer("Noted: the code word is PINEAPPLE."));
    c.send("r", "Remember the code word PINEAPPLE for later.");
    assert_eq!(c.wait_idle("r")["status"], "idle");

    let killed = c.f.tmux(&["kill-server"]);
    assert!(killed.status.success());
    let st = c.await_state("r", "not_running");
    assert_eq!(st["cwd_state"], "set", "{st}");

    let (code, v) = c.run(&["start", "r", "--resume"]);
    assert_eq!((code, v["results"][0]["resumed"].as_bool()), (0, Some(true)), "{v}");
    c.await_state("r", "idle");
    let before = c.mock.seen().len();
    c.mock.push(Reply::answer("The code word was PINEAPPLE."));
    c.send("r", "Which code word did I give you?");
    assert_eq!(c.wait_idle("r")["status"], "idle");
    let seen = c.mock.seen();
    let first = seen.get(before).expect("the resumed thread asked the model");
    assert!(
        first.user_texts.iter().any(|t| t.contains("Remember the code word PINEAPPLE")),
        "the resumed request carries the earlier turn: {:?}",
        first.user_texts
    );
    assert!(first.user_texts.last().is_some_and(|t| t.contains("Which code word")), "{:?}", first.user_texts);
    let (code, _) = c.run(&["stop", "r"]);
    assert_eq!(code, 0);
}

macro_rules! for_versions {
    ($($name:ident),*) => {
        mod v0_171 { $( #[test] fn $name() { super::$name("0.171.0") } )* }
        mod v0_169 { $( #[test] fn $name() { super::$name("0.169.0") } )* }
    };
}
for_versions!(turns_receipts_and_tail, limits_and_dialogs, trust_dialog_and_exit, resume_after_a_crash);

/// Codex's own events: our hooks in `hooks.json` next to the user's, trusted in `config.toml`
/// the way Codex records a reviewed hook (so no review dialog), a turn read from events, and the
/// rate-limit snapshot of the thread's rollout (92% of the 5-hour window) as a usage warning.
fn events_first(version: &str) {
    let Some(bin) = require(version) else { return };
    let c = CodexFleet::new(&format!("cx-events-{version}"), &bin, &[("w", "")]);
    let home = c.f.dir.join("codex-home-w");
    let marker = c.f.dir.join("users-hook-ran");
    // The user's own hook, which they reviewed and trusted in Codex before (Codex records the hash
    // of its normalized identity).
    let command = format!("echo stop >> '{}'", marker.display());
    let users =
        serde_json::json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": command, "timeout": 3}]}]}});
    std::fs::write(home.join("hooks.json"), users.to_string()).unwrap();
    let identity = format!(
        "{{\"event_name\":\"stop\",\"hooks\":[{{\"async\":false,\"command\":{},\"timeout\":3,\"type\":\"command\"}}]}}",
        serde_json::to_string(&command).unwrap()
    );
    let hash: String =
        sha2::Digest::finalize(sha2::Digest::chain_update(<sha2::Sha256 as sha2::Digest>::new(), identity.as_bytes()))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let mut config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    config.push_str(&format!(
        "\n[hooks.state.\"{}:stop:0:0\"]\ntrusted_hash = \"sha256:{hash}\"\n",
        home.join("hooks.json").display()
    ));
    std::fs::write(home.join("config.toml"), config).unwrap();
    c.start("w");
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains(":user_prompt_submit:0:0") && config.contains(":stop:1:0"), "{config}");
    let st = c.await_state("w", "idle");
    assert!(st["dialog"].is_null(), "no hook review: {st}");

    c.mock.push(Reply::near_limits("Done.", 92));
    let v = c.send("w", "say hi");
    assert_eq!(v["receipt"], "turn_started", "{v}");
    let st = c.await_status("w", "the turn's events and usage", |s| s["limit_state"]["used_percent"] == 92);
    assert_eq!(
        (st["limit_state"]["source"].as_str(), st["limit_state"]["window"].as_str()),
        (Some("event"), Some("5h")),
        "{st}"
    );
    assert!(st["events"]["received"].as_u64() >= Some(3), "{st}");
    let (_, all) = c.run(&["status", "all"]);
    assert_eq!(all["host"]["near_limit"], serde_json::json!(["w"]), "{all}");
    assert!(marker.exists(), "the user's own Stop hook still runs");
    let (code, _) = c.run(&["stop", "w"]);
    assert_eq!(code, 0);
}

#[test]
fn real_codex_0_171_events_first() {
    events_first("0.171.0");
}

#[test]
fn real_codex_0_169_events_first() {
    events_first("0.169.0");
}

/// A prompt that starts with `-` is the prompt (after `--`): `-c …` configures nothing.
#[test]
fn real_codex_takes_a_dash_prompt_as_text() {
    let Some(bin) = require("0.171.0") else { return };
    let c = CodexFleet::new("cx-dash", &bin, &[("w", "")]);
    let (code, v) = c.run(&["start", "w", "--cwd", &c.f.cwd(), "--prompt=-c model=\"evil\""]);
    assert_eq!(code, 0, "{v}");
    c.await_status("w", "the prompt's turn", |_| !c.mock.seen().is_empty());
    let seen = c.mock.seen();
    assert!(seen[0].user_texts.iter().any(|t| t.contains("-c model=\"evil\"")), "{:?}", seen[0].user_texts);
    assert_ne!(seen[0].model.as_deref(), Some("evil"));
    let (code, _) = c.run(&["stop", "w"]);
    assert_eq!(code, 0);
}
