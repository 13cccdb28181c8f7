//! The extension system: contract tests per world, a custom extension swapped in without
//! rebuilding the host, hostile extensions contained, and cache corruption detected.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::{base_env, cli, Mcp, TempDir, BIN};
use codex_master::ext::types::limits;
use codex_master::ext::worlds::{self, World};
use codex_master::ext::{cache, ExtError, Kind, Limits, Slot, Source};
use codex_master::fsafe::Dir;
use serde_json::{json, Value};

fn dist(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../extensions/dist").join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(dist(&format!("fixtures/{name}.wasm")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e} (run scripts/build-extensions)"))
}

fn env(dir: &TempDir) -> Vec<(String, String)> {
    let mut e = base_env(dir, "ext-tests");
    e.push(("CODEX_MASTER_MCP_CONFIG_DIR".into(), dir.join("config").display().to_string()));
    e
}

fn run_with_stdin(env: &[(String, String)], args: &[&str], stdin: &str) -> (i32, Value) {
    use std::io::Write;
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args)
        .envs(env.iter().cloned())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), v)
}

const LIMITS: Limits = Limits { deadline: Duration::from_millis(250), memory_bytes: 32 * 1024 * 1024 };

#[test]
fn every_default_passes_its_contract_and_its_vectors() {
    let dir = TempDir::new("ext-contract");
    for (file, kind, api) in [
        ("limits", "limits", "1.1.0"),
        ("limits-claude", "limits", "1.1.0"),
        ("limits-gemini", "limits", "1.1.0"),
        ("redaction", "redaction", "1.1.0"),
        ("doctor", "doctor", "1.0.0"),
        ("prompts", "prompts", "1.1.0"),
    ] {
        let path = dist(&format!("{file}.wasm"));
        let run = cli(&env(&dir), &["ext", "verify", path.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{file}: {}", run.stdout);
        let v = run.json();
        assert_eq!(v["kind"], json!(kind));
        assert_eq!(v["api_version"], json!(api));
        assert!(v["world"].as_str().unwrap().ends_with(&format!("@{api}")), "{v}");
        assert!(v["vectors"]["total"].as_u64().unwrap() >= 3, "{file} has too few vectors: {v}");
        assert_eq!(v["vectors"]["failed"], json!([]));
        if kind == "redaction" {
            // The host's conformance vectors: the default redacts at least what the floor does.
            assert!(v["conformance"]["total"].as_u64().unwrap() >= 15, "{v}");
            assert_eq!(v["conformance"]["failed"], json!([]), "{v}");
        }
    }
    let listed = cli(&env(&dir), &["ext", "list"]).json();
    for item in listed["extensions"].as_array().unwrap() {
        assert_eq!(item["status"], json!("ok"), "{item}");
        assert_eq!(item["source"], json!("embedded"));
        // The embedded bytes are the shipped components.
        let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dist("manifest.json")).unwrap()).unwrap();
        let kind = item["kind"].as_str().unwrap();
        assert_eq!(item["sha256"], manifest["components"][kind]["sha256"], "{kind}");
    }
}

#[test]
fn each_profile_classifies_its_own_cli_through_ext_run() {
    let dir = TempDir::new("ext-run-profile");
    let cases = [
        ("claude", "  ⎿  You've used 91% of your session limit · resets 3pm (UTC)\n", "warning", "usage-warning"),
        (
            "claude",
            "  ⎿  API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n",
            "limited",
            "overloaded",
        ),
        ("gemini", "✕ You have exhausted your daily quota on this model.\n", "limited", "daily-quota"),
        ("codex", "■ You've hit your usage limit. Try again in 2 hours 5 minutes.\n", "limited", "usage-limit-reached"),
    ];
    for (profile, screen, severity, rule) in cases {
        let (code, v) = run_with_stdin(&env(&dir), &["ext", "run", "limits", "--profile", profile], screen);
        assert_eq!(code, 0, "{v}");
        assert_eq!((v["severity"].as_str(), v["rule"].as_str()), (Some(severity), Some(rule)), "{profile}: {v}");
    }
    // A Claude screen is no Codex message.
    let (_, v) = run_with_stdin(&env(&dir), &["ext", "run", "limits", "--profile", "codex"], cases[1].1);
    assert_ne!(v["rule"], "overloaded", "{v}");
}

#[test]
fn each_world_answers_through_ext_run() {
    let dir = TempDir::new("ext-run");
    let e = env(&dir);
    let (code, v) = run_with_stdin(&e, &["ext", "run", "limits"], "■ You\u{2019}ve hit your usage limit for GPT-5.3-Codex-Spark. Try again in 45 minutes.\n\n› Ask Codex to do anything\n");
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["severity"].clone(), v["kind"].clone(), v["model_bucket"].clone()),
        (json!("limited"), json!("usage"), json!("gpt-5.3-codex-spark"))
    );
    assert!(v["reset_at_utc"].is_string());
    assert_eq!(v["tui_context"], json!("idle"));

    let (code, v) = run_with_stdin(
        &e,
        &["ext", "run", "redaction"],
        "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 in /home/someone/repo\n",
    );
    assert_eq!(code, 0);
    let text = v["text"].as_str().unwrap();
    assert!(!text.contains("ghp_") && !text.contains("/home/someone"), "{text}");
    assert_eq!(v["changed"], json!(true));

    let (code, v) =
        run_with_stdin(&e, &["ext", "run", "redaction", "--lines"], "a sk-proj-abcdefghijklmnopqrstuv\nplain\n");
    assert_eq!(code, 0);
    assert_eq!(v["lines"], json!(["a <redacted>", "plain"]));

    let (code, v) = run_with_stdin(
        &e,
        &["ext", "run", "prompts"],
        r#"{"role":"explorer","task":"Map the parser.","scope":["src"],"skill":"codex-security:security-scan"}"#,
    );
    assert_eq!(code, 0, "{v}");
    let prompt = v["prompt"].as_str().unwrap();
    for line in
        ["[EXPLORER_BEE_TASK]", "Modell: gpt-5.4-mini", "Skill: codex-security:security-scan", "Darf schreiben: nein"]
    {
        assert!(prompt.lines().any(|l| l == line), "missing {line} in {prompt}");
    }

    let (code, v) = run_with_stdin(&e, &["ext", "run", "doctor"], r#"{"tmux.available": false}"#);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], json!(false));
    let tmux = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == json!("tmux_available")).unwrap();
    assert_eq!((tmux["ok"].clone(), tmux["status"].clone()), (json!(false), json!("failed")));
    let selftest =
        v["checks"].as_array().unwrap().iter().find(|c| c["name"] == json!("mcp_startup_self_test")).unwrap();
    assert_eq!(selftest["status"], json!("error"), "a check without its facts is an error");
}

#[test]
fn a_custom_extension_is_swapped_in_without_rebuilding_the_host() {
    let dir = TempDir::new("ext-swap");
    let e = env(&dir);
    let custom = dist("fixtures/custom-prompts.wasm");
    let assignment =
        r#"{"role":"worker","task":"Fix the bug.","scope":["src"],"write_paths":["src/x.rs"],"assignment_id":"A-7"}"#;
    let (_, before) = run_with_stdin(&e, &["ext", "run", "prompts"], assignment);
    assert!(before["prompt"].as_str().unwrap().starts_with("[WORK_BEE_TASK]"));

    // A prompts component cannot be installed as another kind.
    let wrong = cli(&e, &["ext", "install", "redaction", custom.to_str().unwrap()]);
    assert_eq!(wrong.code, 1);
    assert_eq!(wrong.json()["error_code"], json!("extension_wrong_world"));

    let installed = cli(&e, &["ext", "install", "prompts", custom.to_str().unwrap()]);
    assert_eq!(installed.code, 0, "{}", installed.stdout);
    assert_eq!(installed.json()["name"], json!("team-prompts"));
    let (_, after) = run_with_stdin(&e, &["ext", "run", "prompts"], assignment);
    let prompt = after["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("[TEAM_TASK A-7]") && prompt.contains("Touch only: src/x.rs"), "{prompt}");
    let listed = cli(&e, &["ext", "list"]).json();
    let item = listed["extensions"].as_array().unwrap().iter().find(|i| i["kind"] == json!("prompts")).unwrap().clone();
    assert_eq!((item["source"].clone(), item["name"].clone()), (json!("installed"), json!("team-prompts")));

    // A tampered file no longer matches its pin: the kind fails closed.
    let installed_file = dir.join("config/extensions/prompts.wasm");
    let mut bytes = std::fs::read(&installed_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&installed_file, &bytes).unwrap();
    let (code, v) = run_with_stdin(&e, &["ext", "run", "prompts"], assignment);
    assert_eq!((code, v["error_code"].clone()), (1, json!("extension_config_error")), "{v}");

    let removed = cli(&e, &["ext", "remove", "prompts"]);
    assert_eq!(removed.code, 0);
    let (_, back) = run_with_stdin(&e, &["ext", "run", "prompts"], assignment);
    assert!(back["prompt"].as_str().unwrap().starts_with("[WORK_BEE_TASK]"));
}

#[test]
fn config_overrides_need_a_matching_sha256_pin() {
    let dir = TempDir::new("ext-pin");
    let e = env(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let custom = dist("fixtures/custom-prompts.wasm");
    let digest = cache::sha256_hex(&std::fs::read(&custom).unwrap());
    let write = |sha: &str| {
        std::fs::write(
            dir.join("config/config.toml"),
            format!("[extensions.prompts]\npath = \"{}\"\nsha256 = \"{sha}\"\n", custom.display()),
        )
        .unwrap()
    };
    write(&"0".repeat(64));
    let (code, v) = run_with_stdin(&e, &["ext", "run", "prompts"], r#"{"role":"explorer","task":"t"}"#);
    assert_eq!((code, v["error_code"].clone()), (1, json!("extension_config_error")));
    assert!(!v["message"].as_str().unwrap().contains(dir.path().to_str().unwrap()), "a path leaked");
    write(&digest);
    let (code, v) = run_with_stdin(&e, &["ext", "run", "prompts"], r#"{"role":"explorer","task":"t"}"#);
    assert_eq!(code, 0, "{v}");
    assert!(v["prompt"].as_str().unwrap().starts_with("[TEAM_TASK"));
    // A symlinked component is refused even with the right pin.
    std::os::unix::fs::symlink(&custom, dir.join("config/linked.wasm")).unwrap();
    std::fs::write(
        dir.join("config/config.toml"),
        format!("[extensions.prompts]\npath = \"linked.wasm\"\nsha256 = \"{digest}\"\n"),
    )
    .unwrap();
    let (code, v) = run_with_stdin(&e, &["ext", "run", "prompts"], r#"{"role":"explorer","task":"t"}"#);
    assert_eq!((code, v["error_code"].clone()), (1, json!("extension_config_error")), "{v}");
}

#[test]
fn an_infinite_loop_is_stopped_within_twice_its_deadline_and_the_next_call_succeeds() {
    let mut slot = Slot::<worlds::Redaction>::load(&fixture("hostile-loop"), Source::File, None, LIMITS).unwrap();
    let input = "loop forever".to_owned();
    let started = Instant::now();
    let err = slot.call(|w, s| w.redact(s, &input, &[])).unwrap_err();
    let took = started.elapsed();
    assert_eq!(err, ExtError::Timeout(Kind::Redaction, 250));
    assert!(took < Duration::from_millis(500), "stopped after {took:?}");
    assert_eq!(slot.call(|w, s| w.redact(s, "probe", &[])).unwrap().text, "probe");
}

#[test]
fn a_memory_bomb_hits_the_cap_and_the_next_call_succeeds() {
    let mut slot = Slot::<worlds::Redaction>::load(&fixture("hostile-memory"), Source::File, None, LIMITS).unwrap();
    let input = "hoard".to_owned();
    let err = slot.call(|w, s| w.redact(s, &input, &[])).unwrap_err();
    // Known from the store's record of the refused growth, not from an error's wording.
    assert!(matches!(err, ExtError::Memory(Kind::Redaction)), "{err:?}");
    assert_eq!(slot.call(|w, s| w.redact(s, "probe", &[])).unwrap().text, "probe");
}

#[test]
fn a_trap_is_contained_and_repeated_failures_disable_the_kind() {
    let mut slot = Slot::<worlds::Limits>::load(&fixture("hostile-trap"), Source::File, None, LIMITS).unwrap();
    let input = limits::ClassifyInput {
        pane: String::new(),
        since_last_send: String::new(),
        last_sent: None,
        pane_width: 80,
        running: true,
        profile: "codex".into(),
        session_model: None,
        assignment_model: None,
        now_epoch_seconds: 0,
        utc_offset_seconds: 0,
    };
    assert_eq!(slot.call(|w, s| w.classify(s, &input)).unwrap_err(), ExtError::Trap(Kind::Limits));
    // The instance was thrown away; a fresh one answers.
    assert_eq!(slot.call(|w, s| w.describe(s)).unwrap().name, "hostile-trap");
    for _ in 0..codex_master::ext::MAX_CONSECUTIVE_FAILURES {
        let _ = slot.call(|w, s| w.classify(s, &input));
    }
    assert!(matches!(slot.health(), codex_master::ext::Health::Disabled { .. }));
    assert_eq!(slot.call(|w, s| w.describe(s)).unwrap_err(), ExtError::Disabled(Kind::Limits));
}

#[test]
fn oversized_output_is_refused_and_redaction_fails_closed() {
    let dir = TempDir::new("ext-output");
    let e = env(&dir);
    let installed = cli(&e, &["ext", "install", "redaction", dist("fixtures/hostile-output.wasm").to_str().unwrap()]);
    assert_eq!(installed.code, 0, "{}", installed.stdout);
    let (code, v) = run_with_stdin(&e, &["ext", "run", "redaction"], "secret sk-proj-abcdefghijklmnopqrstuv");
    assert_eq!(code, 1);
    assert_eq!(
        (v["error_code"].clone(), v["redaction"].clone()),
        (json!("extension_output_too_large"), json!("failed"))
    );
    assert!(v.get("text").is_none() && !v.to_string().contains("sk-proj"), "text must be withheld: {v}");

    // A classifier that fails reports `unknown`, never a guess.
    let installed = cli(&e, &["ext", "install", "limits", dist("fixtures/hostile-trap.wasm").to_str().unwrap()]);
    assert_eq!(installed.code, 0, "{}", installed.stdout);
    let (code, v) = run_with_stdin(&e, &["ext", "run", "limits"], "anything");
    assert_eq!(
        (code, v["tui_context"].clone(), v["error_code"].clone()),
        (1, json!("unknown"), json!("extension_trap"))
    );
}

#[test]
fn a_wasi_import_is_refused_at_load() {
    let err =
        Slot::<worlds::Redaction>::load(&fixture("hostile-wasi"), Source::File, None, LIMITS).err().expect("refused");
    match &err {
        ExtError::ForbiddenImport { import, .. } => assert!(import.starts_with("wasi:clocks/wall-clock"), "{import}"),
        other => panic!("expected a forbidden import, got {other:?}"),
    }
    let dir = TempDir::new("ext-wasi");
    let run = cli(&env(&dir), &["ext", "install", "redaction", dist("fixtures/hostile-wasi.wasm").to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(v["error_code"], json!("extension_forbidden_import"));
    assert!(v["message"].as_str().unwrap().contains("wasi:clocks"));
}

#[test]
fn a_flipped_byte_in_a_cached_artifact_is_recompiled_never_loaded() {
    let t = TempDir::new("ext-cache");
    let dir = Dir::walk_private(&t.join("cache")).unwrap();
    let bytes = std::fs::read(dist("prompts.wasm")).unwrap();
    let first = Slot::<worlds::Prompts>::load(&bytes, Source::File, Some(&dir), LIMITS).unwrap();
    assert!(!first.info.from_cache);
    let second = Slot::<worlds::Prompts>::load(&bytes, Source::File, Some(&dir), LIMITS).unwrap();
    assert!(second.info.from_cache, "the artifact was not reused");

    let engine = codex_master::ext::engine::engine().unwrap();
    let artifact = t.join("cache").join(cache::artifact_name(engine, &cache::sha256_hex(&bytes)));
    let mut data = std::fs::read(&artifact).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x40;
    std::fs::write(&artifact, &data).unwrap();
    let third = Slot::<worlds::Prompts>::load(&bytes, Source::File, Some(&dir), LIMITS).unwrap();
    assert!(!third.info.from_cache, "a corrupted artifact was loaded");
    assert_eq!(third.info.name, "default-prompts");
    // The recompiled artifact replaced the corrupt one.
    let fourth = Slot::<worlds::Prompts>::load(&bytes, Source::File, Some(&dir), LIMITS).unwrap();
    assert!(fourth.info.from_cache);

    // Another component's artifact swapped in under this one's name (same user, valid digest
    // for its own payload) is refused: the artifact is bound to the component it came from.
    let other = fixture("custom-prompts");
    let compiled_other = Slot::<worlds::Prompts>::load(&other, Source::File, Some(&dir), LIMITS).unwrap();
    assert_eq!(compiled_other.info.name, "team-prompts");
    let other_artifact = t.join("cache").join(cache::artifact_name(engine, &cache::sha256_hex(&other)));
    std::fs::copy(&other_artifact, &artifact).unwrap();
    let fifth = Slot::<worlds::Prompts>::load(&bytes, Source::File, Some(&dir), LIMITS).unwrap();
    assert!(!fifth.info.from_cache, "a swapped artifact was loaded");
    assert_eq!(fifth.info.name, "default-prompts", "the swapped code ran");
}

#[test]
fn a_1_0_0_classifier_keeps_working_and_converts_upward() {
    // Built against the frozen wit/v1.0.0 without the SDK; the host binds it through since_v1_0.
    let dir = TempDir::new("ext-v1-0");
    let e = env(&dir);
    let v = cli(&e, &["ext", "verify", dist("fixtures/limits-v1-0.wasm").to_str().unwrap()]).json();
    assert_eq!(
        (v["ok"].as_bool(), v["api_version"].as_str(), v["world"].as_str()),
        (Some(true), Some("1.0.0"), Some("codex-master:limits/classifier@1.0.0")),
        "{v}"
    );
    let installed = cli(&e, &["ext", "install", "limits", dist("fixtures/limits-v1-0.wasm").to_str().unwrap()]);
    assert_eq!(installed.code, 0, "{}", installed.stdout);
    // Its dialogs have no kind in 1.0.0: they come out as `other`.
    let (code, v) = run_with_stdin(&e, &["ext", "run", "limits"], "a DIALOG and a LIMIT");
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["severity"].as_str(), v["tui_context"].as_str(), v["dialog"].as_str()),
        (Some("limited"), Some("dialog"), Some("other")),
        "{v}"
    );
    let (_, v) = run_with_stdin(&e, &["ext", "run", "limits"], "nothing");
    assert_eq!((v["severity"].as_str(), v["dialog"].is_null()), (Some("none"), true), "{v}");
    let mut slot = Slot::<worlds::Limits>::load(&fixture("limits-v1-0"), Source::File, None, LIMITS).unwrap();
    assert!(matches!(slot.call(|w, _| Ok(matches!(w, worlds::Limits::V1_0(_)))), Ok(true)));
}

#[test]
fn a_1_0_0_prompts_component_keeps_working_and_has_no_continue_prompt() {
    use codex_master::ext::types::prompts::{ContinueRequest, ReportRequest};
    let mut slot = Slot::<worlds::Prompts>::load(&fixture("prompts-v1-0"), Source::File, None, LIMITS).unwrap();
    assert!(matches!(slot.call(|w, _| Ok(matches!(w, worlds::Prompts::V1_0(_)))), Ok(true)));
    let report = ReportRequest { assignment_id: Some("id-9".into()), locale: "en".into() };
    assert_eq!(slot.call(|w, s| w.render_report_request(s, &report)).unwrap(), Ok("[OLD_REPORT id-9]".into()));
    let request = ContinueRequest { assignment_id: None, locale: "en".into() };
    assert_eq!(
        slot.call(|w, s| w.render_continue(s, &request)).unwrap(),
        None,
        "1.0.0 has none: the host's line stands in"
    );
    // The 1.1.0 team component renders its own.
    let mut team = Slot::<worlds::Prompts>::load(&fixture("custom-prompts"), Source::File, None, LIMITS).unwrap();
    let request = ContinueRequest { assignment_id: Some("id-9".into()), locale: "en".into() };
    assert_eq!(
        team.call(|w, s| w.render_continue(s, &request)).unwrap(),
        Some(Ok("[TEAM_CONTINUE id-9] carry on".into()))
    );
}

#[test]
fn outputs_beyond_bounds_count_as_failures_and_a_disabled_kind_is_retried_after_a_back_off() {
    use codex_master::ext::Health;
    // The wasm call itself succeeds; only the host's output check fails. That must still count.
    let mut slot = Slot::<worlds::Redaction>::load(&fixture("hostile-output"), Source::File, None, LIMITS)
        .unwrap()
        .with_backoff(Duration::from_millis(200));
    for _ in 0..codex_master::ext::MAX_CONSECUTIVE_FAILURES {
        slot.call(|w, s| w.redact(s, "x", &[])).unwrap();
        slot.reject_output();
    }
    assert!(matches!(slot.health(), Health::Disabled { .. }), "{:?}", slot.health());
    assert_eq!(slot.call(|w, s| w.redact(s, "x", &[])).unwrap_err(), ExtError::Disabled(Kind::Redaction));
    // After the back-off one retry runs; a good answer re-enables the kind.
    std::thread::sleep(Duration::from_millis(250));
    slot.call(|w, s| w.redact(s, "x", &[])).unwrap();
    slot.succeeded();
    assert_eq!(slot.health(), Health::Ok);

    // A failed retry disables it again, for longer.
    let mut trap = Slot::<worlds::Limits>::load(&fixture("hostile-trap"), Source::File, None, LIMITS)
        .unwrap()
        .with_backoff(Duration::from_millis(100));
    let input = codex_master::ext::types::limits::ClassifyInput {
        pane: String::new(),
        since_last_send: String::new(),
        last_sent: None,
        pane_width: 80,
        running: true,
        profile: "codex".into(),
        session_model: None,
        assignment_model: None,
        now_epoch_seconds: 0,
        utc_offset_seconds: 0,
    };
    for _ in 0..codex_master::ext::MAX_CONSECUTIVE_FAILURES {
        let _ = trap.call(|w, s| w.classify(s, &input));
    }
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(trap.call(|w, s| w.classify(s, &input)).unwrap_err(), ExtError::Trap(Kind::Limits));
    match trap.health() {
        Health::Disabled { retry_in } => assert!(retry_in > Duration::from_millis(120), "{retry_in:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_component_of_another_world_is_reported_as_such() {
    let dir = TempDir::new("ext-wrong-world");
    let e = env(&dir);
    let redactor = dist("redaction.wasm");
    let digest = cache::sha256_hex(&std::fs::read(&redactor).unwrap());
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/config.toml"),
        format!("[extensions.limits]\npath = \"{}\"\nsha256 = \"{digest}\"\n", redactor.display()),
    )
    .unwrap();
    let listed = cli(&e, &["ext", "list"]).json();
    let limits = listed["extensions"].as_array().unwrap().iter().find(|i| i["kind"] == "limits").unwrap().clone();
    assert_eq!(
        (limits["status"].as_str(), limits["error_code"].as_str()),
        (Some("error"), Some("extension_wrong_world")),
        "{limits}"
    );
    let installed = cli(&e, &["ext", "install", "limits", redactor.to_str().unwrap()]);
    assert_eq!(
        (installed.code, installed.json()["error_code"].as_str()),
        (1, Some("extension_wrong_world")),
        "{}",
        installed.stdout
    );
}

fn rules_fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/redaction").join(name).display().to_string()
}

#[test]
fn ext_verify_names_each_bad_rule_of_a_rule_file() {
    let dir = TempDir::new("ext-rules-verify");
    let e = env(&dir);
    let run = cli(&e, &["ext", "verify", &rules_fixture("bad-rules.toml")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = run.json();
    assert_eq!(
        (v["ok"].as_bool(), v["kind"].as_str(), v["error_code"].as_str()),
        (Some(false), Some("redaction-rules"), Some("rule_file_invalid")),
        "{v}"
    );
    let errors = v["errors"].as_array().unwrap();
    let ids: Vec<&str> = errors.iter().map(|e| e["rule_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["team-broken-regex", "team-bad-allowlist"], "{v}");
    assert!(errors[0]["message"].as_str().unwrap().contains("regex"), "{v}");
    assert!(
        errors.iter().all(|e| e["file"] == json!("bad-rules.toml")),
        "the file is named without its directories: {v}"
    );
    // The good rule of the same file still counts.
    assert_eq!(v["rules"], json!(2), "{v}");

    let good = cli(&e, &["ext", "verify", &rules_fixture("team-rules.toml")]);
    assert_eq!(good.code, 0, "{}", good.stdout);
    assert_eq!((good.json()["rules"].as_u64(), good.json()["errors"].clone()), (Some(2), json!([])));

    // Without a path: the rule files named in config.toml.
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/config.toml"),
        format!(
            "[extensions.redaction]\nrules = [{:?}, {:?}]\n",
            rules_fixture("team-rules.toml"),
            rules_fixture("bad-rules.toml")
        ),
    )
    .unwrap();
    let configured = cli(&e, &["ext", "verify"]);
    assert_eq!(configured.code, 1, "{}", configured.stdout);
    let v = configured.json();
    assert_eq!((v["files"].as_u64(), v["rules"].as_u64()), (Some(2), Some(4)), "{v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn a_team_rule_file_changes_what_is_redacted_without_a_rebuild() {
    use crate::common::fleet::Fleet;
    let label =
        "ticket TCK-123456-Zq8Lm3Xv5Nk2 deploykey q8lm3xv5nk2pw9rt4yb7h and sk-proj-Qw8vN2mL5kJ7hG3fD9sA1zX4cV6bN0mQ";
    let agents = format!("[agents.w1]\nprofile = \"scripted\"\nlabel = {label:?}\n");
    // Every tool that returns the label returns it through the same pipeline.
    let shown = |f: &Fleet| {
        let labels: Vec<String> = ["status", "skills", "capabilities"]
            .iter()
            .map(|tool| {
                let (code, v) = f.run(&[tool, "w1"]);
                assert_eq!(code, 0, "{tool}: {v}");
                v["results"][0]["label"].as_str().unwrap_or_else(|| panic!("{tool}: {v}")).to_owned()
            })
            .collect();
        assert!(labels.iter().all(|l| *l == labels[0]), "{labels:?}");
        labels[0].clone()
    };
    // Without the team's rules the defaults mask the OpenAI key only.
    let plain = Fleet::new("rules-off", &agents);
    let before = shown(&plain);
    assert!(
        before.contains("TCK-123456-Zq8Lm3Xv5Nk2")
            && before.contains("q8lm3xv5nk2pw9rt4yb7h")
            && !before.contains("sk-proj"),
        "{before}"
    );

    // The same binary and component with a rule file in config.toml: the team's shapes go too,
    // in the floor (labels, errors, names) and in the component (`ext run`, tails, git excerpts).
    let config = format!("{agents}\n[extensions.redaction]\nrules = [{:?}]\n", rules_fixture("team-rules.toml"));
    let f = Fleet::new("rules-on", &config);
    let after = shown(&f);
    assert!(
        !after.contains("Zq8Lm3Xv5Nk2") && !after.contains("q8lm3xv5nk2pw9rt4yb7h") && !after.contains("sk-proj"),
        "{after}"
    );
    assert!(after.contains("TCK-123456-<redacted>"), "the secret group only: {after}");
    let (code, v) = run_with_stdin(&f.env, &["ext", "run", "redaction"], "\x1b[1mTCK-654321-Ab12Cd34Ef56\x1b[0m ok\n");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["text"], json!("TCK-654321-<redacted> ok\n"), "{v}");
    assert!(v["hits"].to_string().contains("team-ticket-token"), "{v}");
}

#[test]
fn a_slow_team_rule_is_refused_by_verify_and_what_it_cannot_finish_is_withheld() {
    use crate::common::fleet::Fleet;
    let dir = TempDir::new("ext-slow-rule");
    let run = cli(&env(&dir), &["ext", "verify", &rules_fixture("slow-rules.toml")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["errors"][0]["rule_id"], json!("team-slow"), "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("too slow"), "{v}");

    // A team that loads it anyway: a log of long word lines takes the rule seconds per line.
    // The tail is withheld when the floor's budget runs out, never returned unredacted.
    let config = format!(
        "[agents.w1]\nprofile = \"scripted\"\n\n[extensions.redaction]\nrules = [{:?}]\n",
        rules_fixture("slow-rules.toml")
    );
    let f = Fleet::new("slow-rule", &config);
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.run(&["stop", "w1"]);
    let line = "ab1".repeat(50_000 / 3);
    f.append_to_raw_log("w1", &format!("\n{line}\n{line}\n{line}\n{line}\nsk-proj-Qw8vN2mL5kJ7hG3fD9sA1zX4cV6bN0mQ\n"));
    let (code, v) = f.run(&["tail", "w1", "--source", "log", "--chars", "8192", "--lines", "80"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        (v["error_code"].as_str(), v["redaction"].as_str()),
        (Some("redaction_withheld"), Some("withheld")),
        "{v}"
    );
    assert!(!v.to_string().contains("ab1ab1") && !v.to_string().contains("Qw8vN2mL5"), "{v}");

    // Cancelling the call stops the work: the server says so long before the budget ends.
    let log = f.dir.join("server.log");
    let mut server_env = f.env.clone();
    server_env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let mut mcp = Mcp::spawn_with_stderr(&server_env, std::fs::File::create(&log).unwrap().into());
    mcp.initialize();
    mcp.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "agent_safe_tail", "arguments": {"agent": "w1", "source": "log", "chars": 8192}}}));
    std::thread::sleep(Duration::from_millis(400));
    mcp.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5, "reason": "test"}}),
    );
    let stopped = |needle: &str| std::fs::read_to_string(&log).unwrap_or_default().contains(needle);
    let deadline = Instant::now() + Duration::from_millis(1200);
    while !stopped("redaction stopped") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(stopped("redaction stopped: the caller went away"), "{}", std::fs::read_to_string(&log).unwrap());
    assert!(mcp.wait_for(&json!(5), Duration::from_secs(3)).is_none(), "a cancelled call gets no answer");
    assert_eq!(mcp.request(6, "ping", json!({}))["result"], json!({}));
}

#[test]
fn a_rule_file_left_out_is_warned_about_on_every_use_and_flagged_by_doctor() {
    use crate::common::fleet::Fleet;
    let config = format!(
        "[agents.w1]\nprofile = \"scripted\"\nlabel = \"ticket TCK-123456-Zq8Lm3Xv5Nk2\"\n\n[extensions.redaction]\nrules = [\"missing.toml\", {:?}, {:?}]\n",
        rules_fixture("slow-rules.toml"),
        rules_fixture("team-rules.toml")
    );
    let f = Fleet::new("rules-left-out", &config);
    let run = cli(&f.env, &["status", "w1"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("TCK-123456-<redacted>"), "the usable file still applies: {}", run.stdout);
    assert!(
        run.stderr.contains("team redaction rule file left out") && run.stderr.contains("missing.toml"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&f.dir.path().display().to_string()), "{}", run.stderr);

    let run = cli(&f.env, &["doctor"]);
    let v = run.json();
    let check = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "redaction_rule_files").cloned();
    let check = check.unwrap_or_else(|| panic!("{v}"));
    assert_eq!(check["ok"], json!(false), "{check}");
    assert_eq!(
        (&check["rule_files"], &check["rule_files_left_out"], &check["rules_refused"]),
        (&json!(3), &json!(1), &json!(1)),
        "{check}"
    );
}

#[test]
fn a_running_server_follows_a_rule_file_change_and_keeps_its_rules_through_a_bad_one() {
    use crate::common::fleet::Fleet;
    let agents = "[agents.w1]\nprofile = \"scripted\"\nlabel = \"ticket TCK-123456-Zq8Lm3Xv5Nk2\"\n";
    let f = Fleet::new("live-rules", agents);
    let config = f.dir.join("cfg/config.toml");
    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    let mut id = 0;
    let mut label = |mcp: &mut Mcp| {
        id += 1;
        let v = mcp.call(id, "agent_status", json!({"agent": "w1"}));
        v["structuredContent"]["results"][0]["label"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned()
    };
    assert!(label(&mut mcp).contains("TCK-123456-Zq8Lm3Xv5Nk2"));

    // The team adds its rule file: the next call masks the ticket token, without a restart.
    let team_rules = rules_fixture("team-rules.toml");
    std::fs::write(&config, format!("{agents}\n[extensions.redaction]\nrules = [{team_rules:?}]\n")).unwrap();
    assert_eq!(label(&mut mcp), "ticket TCK-123456-<redacted>");

    // A change that names a file that is not there is refused: the rules stay, doctor says so.
    std::fs::write(&config, format!("{agents}\n[extensions.redaction]\nrules = [{team_rules:?}, \"team.toml\"]\n"))
        .unwrap();
    assert_eq!(label(&mut mcp), "ticket TCK-123456-<redacted>");
    let doctor = mcp.call(90, "agent_doctor", json!({}));
    let failed = doctor["structuredContent"]["failed"].to_string();
    assert!(failed.contains("configuration_changes_applied"), "{doctor}");
    // The missing file appears: the change applies, and doctor is content again.
    std::fs::write(
        f.dir.join("cfg/team.toml"),
        "[[rules]]\nid = \"team-word\"\nregex = 'ticket'\nkeywords = [\"ticket\"]\n",
    )
    .unwrap();
    assert_eq!(label(&mut mcp), "<redacted> TCK-123456-<redacted>");
    let doctor = mcp.call(91, "agent_doctor", json!({}));
    assert!(!doctor["structuredContent"]["failed"].to_string().contains("configuration_changes_applied"), "{doctor}");
    assert_eq!(mcp.close(), Some(0));
}

#[test]
fn a_1_0_0_redactor_that_redacts_less_than_the_floor_is_refused_and_the_floor_covers_it() {
    use crate::common::fleet::Fleet;
    let weak = dist("fixtures/redaction-v1-0.wasm");
    let dir = TempDir::new("ext-weak");
    let e = env(&dir);
    let v = cli(&e, &["ext", "verify", weak.to_str().unwrap()]).json();
    assert_eq!(
        (v["ok"].as_bool(), v["api_version"].as_str(), v["error_code"].as_str()),
        (Some(false), Some("1.0.0"), Some("extension_redacts_less_than_the_floor")),
        "{v}"
    );
    assert_eq!(v["vectors"]["failed"], json!([]), "its own vectors pass: {v}");
    assert!(v["conformance"]["failed"].as_array().unwrap().len() > 10, "{v}");
    let refused = cli(&e, &["ext", "install", "redaction", weak.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert_eq!(refused.json()["error_code"], json!("extension_redacts_less_than_the_floor"));

    // Forced active through config.toml anyway: the 1.0.0 binding still runs it, and every text
    // the host returns still goes through the floor (the defaults and the team's rules, which a
    // 1.0.0 component never sees).
    let sha = cache::sha256_hex(&std::fs::read(&weak).unwrap());
    let label = "TOPSECRET TCK-123456-Zq8Lm3Xv5Nk2 sk-proj-Qw8vN2mL5kJ7hG3fD9sA1zX4cV6bN0mQ";
    let config = format!(
        "[agents.w1]\nprofile = \"scripted\"\nlabel = {label:?}\n\n[extensions.redaction]\npath = {:?}\nsha256 = {sha:?}\nrules = [{:?}]\n",
        weak.display().to_string(),
        rules_fixture("team-rules.toml")
    );
    let f = Fleet::new("weak-active", &config);
    let (_, raw) = run_with_stdin(&f.env, &["ext", "run", "redaction"], label);
    assert_eq!(raw["text"].as_str().unwrap(), label.replace("TOPSECRET", "<redacted>"), "the component alone: {raw}");
    let (_, st) = f.run(&["status", "w1"]);
    let shown = st["results"][0]["label"].as_str().unwrap();
    assert!(!shown.contains("TOPSECRET") && !shown.contains("Zq8Lm3Xv5Nk2") && !shown.contains("sk-proj"), "{shown}");
}

/// A team's false positive: a default rule masks a fixture value the team knows is harmless.
/// An allowlist entry that names the rule (`targetRules`) takes effect on the running server's
/// next call, without a rebuild or restart; an allowlist that names no rule reaches the team's
/// own rules only, and `ext verify` says which default rules a file narrows.
#[test]
fn a_teams_allowlist_entry_for_a_default_rule_takes_effect_on_the_next_call() {
    use crate::common::fleet::Fleet;
    let f = Fleet::scripted("live-allowlist", &["w1"]);
    let agents = std::fs::read_to_string(f.dir.join("cfg/config.toml")).unwrap();
    let config = f.dir.join("cfg/config.toml");
    let rules = f.dir.join("cfg/team.toml");
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    f.run(&["stop", "w1"]);
    f.append_to_raw_log("w1", "\nBUILD_TOKEN=ci0build0fixture0token0value\nDEPLOY_TOKEN=Qw8vN2mL5kJ7hG3fD9sA1zX4\n");
    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    let mut id = 0;
    let mut tail = |mcp: &mut Mcp| {
        id += 1;
        let v = mcp.call(id, "agent_safe_tail", json!({"agent": "w1", "source": "log", "lines": 3}));
        let out = v["structuredContent"]["output"].as_str().unwrap_or_else(|| panic!("{v}"));
        // The last two lines (the tail marks what it cut before them).
        out.trim_end().rsplitn(3, '\n').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    let masked = "BUILD_TOKEN=<redacted>\nDEPLOY_TOKEN=<redacted>";
    assert_eq!(tail(&mut mcp), masked);

    // An allowlist that names no rule reaches the team's rules only: the default rule still masks.
    std::fs::write(&rules, "[[allowlists]]\nregexes = ['^ci0build0fixture']\n").unwrap();
    std::fs::write(&config, format!("{agents}\n[extensions.redaction]\nrules = [\"team.toml\"]\n")).unwrap();
    assert_eq!(tail(&mut mcp), masked);

    // Naming the rule narrows it, from the next call on; the other token stays masked.
    let unmasked = "BUILD_TOKEN=ci0build0fixture0token0value\nDEPLOY_TOKEN=<redacted>";
    std::fs::write(&rules, "[[allowlists]]\ntargetRules = [\"secret-assignment\"]\nregexes = ['^ci0build0fixture']\n")
        .unwrap();
    assert_eq!(tail(&mut mcp), unmasked);
    // The rule entry form does the same.
    std::fs::write(
        &rules,
        "[[rules]]\nid = \"secret-assignment\"\n[[rules.allowlists]]\nstopwords = [\"0fixture0\"]\n",
    )
    .unwrap();
    assert_eq!(tail(&mut mcp), unmasked);
    assert_eq!(mcp.close(), Some(0));

    let (code, v) = f.run(&["ext", "verify", &rules.display().to_string()]);
    assert_eq!((code, v["ok"].as_bool(), v["rules"].as_u64()), (0, Some(true), Some(0)), "{v}");
    assert_eq!(v["narrows_default_rules"], json!(["secret-assignment"]), "{v}");
    std::fs::write(&rules, "[[allowlists]]\ntargetRules = [\"no-such-rule\"]\nregexes = ['x']\n").unwrap();
    let (code, v) = f.run(&["ext", "verify", &rules.display().to_string()]);
    assert_eq!((code, v["errors"][0]["rule_id"].as_str()), (1, Some("no-such-rule")), "{v}");
}
