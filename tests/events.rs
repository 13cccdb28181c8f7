//! The `hook` subcommand, as a worker CLI's hook config runs it: whatever it is fed, it exits 0
//! quickly, prints nothing, and stores only the allowlist (event words and numbers) in the
//! agent's private event log. The real CLIs drive it in `real_claude`, `real_gemini` and
//! `real_codex`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempDir, BIN};

/// Runs the hook for agent `a` of `cli` on `state` with `stdin`; returns (exit code, stdout,
/// stderr, how long it took).
fn hook(state: &Path, cli: &str, event: &str, stdin: &[u8], extra: &[&str]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["hook", "--codex-master-events", "--cli", cli, "--agent", "a", "--state-dir"])
        .arg(state)
        .args(["--event", event])
        .args(extra)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    // The writer may be cut off (the hook keeps at most 1 MiB): a broken pipe is fine here.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

fn log(state: &Path) -> String {
    std::fs::read_to_string(state.join("events/a.log")).unwrap_or_default()
}

#[test]
fn the_hook_keeps_the_allowlist_and_never_fails_its_cli() {
    let dir = TempDir::new("hook");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();

    // A real prompt, with a secret and a path in it: only the event word and a digest remain.
    let prompt = serde_json::json!({
        "session_id": "s-1", "transcript_path": "/home/someone/.claude/projects/x/s-1.jsonl",
        "cwd": "/home/someone/secret-project", "prompt_id": "p-42", "hook_event_name": "UserPromptSubmit",
        "prompt": "deploy with OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 now"
    });
    let (code, out, err, took) = hook(&state, "claude", "UserPromptSubmit", prompt.to_string().as_bytes(), &[]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let failed = serde_json::json!({"hook_event_name": "StopFailure", "error": "rate_limit", "last_assistant_message": "API Error: Request rejected (429) · Rate limited", "prompt_id": "p-42", "tool_name": "Bash"});
    assert_eq!(hook(&state, "claude", "StopFailure", failed.to_string().as_bytes(), &[]).0, 0);
    let logged = log(&state);
    let lines: Vec<serde_json::Value> = logged.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{logged}");
    assert_eq!(
        (lines[0]["k"].as_str(), lines[1]["k"].as_str(), lines[1]["err"].as_str()),
        (Some("prompt_submitted"), Some("turn_failed"), Some("rate_limit"))
    );
    assert_eq!(lines[0]["turn"], lines[1]["turn"], "one turn, one digest");
    for line in &lines {
        for key in line.as_object().unwrap().keys() {
            assert!(["t", "k", "turn", "err", "note", "tool", "usage"].contains(&key.as_str()), "{key} in {line}");
        }
    }
    for secret in ["sk-proj", "someone", "secret-project", "s-1", "p-42", "Rate limited", "/home"] {
        assert!(!logged.contains(secret), "{secret} stored: {logged}");
    }

    // Garbage, an unknown event, a known event of another CLI's shape, an empty input, and
    // 10 MiB: each exits 0 at once and stores nothing.
    let big = vec![b'{'; 10 * 1024 * 1024];
    let unknown = serde_json::json!({"hook_event_name": "SomethingNew", "prompt": "x"}).to_string();
    for (event, input) in [
        ("Stop", &b"\x00\xffnot json at all"[..]),
        ("SomethingNew", unknown.as_bytes()),
        (
            "Notification",
            &br#"{"hook_event_name":"Notification","notification_type":"auth_success","message":"hi"}"#[..],
        ),
        ("Stop", &b""[..]),
        ("Stop", &big[..]),
    ] {
        let (code, out, _, took) = hook(&state, "claude", event, input, &[]);
        assert_eq!((code, out.as_str()), (0, ""), "{event}");
        assert!(took < Duration::from_millis(1500), "{event}: {took:?}");
    }
    // A named event with garbage, empty or oversized input is the event word alone (our own
    // config named it); the unknown event and the notification we do not keep add nothing.
    let after = log(&state);
    let words: Vec<&str> = after
        .lines()
        .skip(2)
        .map(|l| l.split("\"k\":\"").nth(1).unwrap_or("").split('"').next().unwrap_or(""))
        .collect();
    assert_eq!(words, ["turn_ended", "turn_ended", "turn_ended"], "{after}");

    // Hostile command lines: a bad agent name, a relative or missing state dir, an unknown CLI.
    for args in [
        vec!["hook", "--cli", "claude", "--agent", "../x", "--state-dir"],
        vec!["hook", "--cli", "nosuchcli", "--agent", "a", "--state-dir"],
    ] {
        let out = Command::new(BIN).args(&args).arg(&state).stdin(Stdio::null()).output().unwrap();
        assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    }
    let missing = dir.join("no-such-state");
    let out = Command::new(BIN)
        .args(["hook", "--cli", "claude", "--agent", "a", "--event", "Stop", "--state-dir"])
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!missing.exists(), "a stray call never creates a state tree");
    assert!(!dir.join("../x.log").exists());

    // Codex's notify passes its JSON as the last argument, and a Stop hook a rollout path that
    // lies outside the home: no file is read, the event alone is kept.
    let notify =
        serde_json::json!({"type": "agent-turn-complete", "turn-id": "t1", "input-messages": ["secret prompt"]});
    let (code, _, _, _) = hook(&state, "codex", "notify", b"", &[&notify.to_string()]);
    assert_eq!(code, 0);
    let stop = serde_json::json!({"hook_event_name": "Stop", "turn_id": "t1", "transcript_path": "/etc/passwd"});
    assert_eq!(hook(&state, "codex", "Stop", stop.to_string().as_bytes(), &[]).0, 0);
    let logged = log(&state);
    assert!(!logged.contains("secret prompt") && !logged.contains("passwd") && !logged.contains("root"), "{logged}");
    assert!(logged.lines().last().unwrap().contains("\"k\":\"turn_ended\""), "{logged}");
}

#[test]
fn a_symlinked_event_log_is_never_followed() {
    let dir = TempDir::new("hook-link");
    let state = dir.join("state");
    std::fs::create_dir_all(state.join("events")).unwrap();
    for d in [&state, &state.join("events")] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let target = dir.join("elsewhere.txt");
    std::fs::write(&target, "untouched\n").unwrap();
    std::os::unix::fs::symlink(&target, state.join("events/a.log")).unwrap();
    let stop = br#"{"hook_event_name":"Stop"}"#;
    assert_eq!(hook(&state, "claude", "Stop", stop, &[]).0, 0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
}
