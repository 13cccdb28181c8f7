//! The CLI: JSON on stdout, exit codes 0 / 1 / 2, a stable per-user lease identity.

use crate::common::{base_env, cli, TempDir};
use serde_json::json;

fn env_without_instance(dir: &TempDir) -> Vec<(String, String)> {
    base_env(dir, "unused").into_iter().filter(|(k, _)| k != "CODEX_MASTER_MCP_INSTANCE_ID").collect()
}

#[test]
fn successive_cli_calls_share_one_identity() {
    let dir = TempDir::new("cli-identity");
    let env = env_without_instance(&dir);
    let claim = cli(&env, &["claim", "a", "--ttl-seconds", "120"]);
    assert_eq!(claim.code, 0, "{}", claim.stdout);
    assert_eq!(claim.json()["status"], json!("claimed"));
    // The seed made every CLI process a new client, so this second call was locked out.
    let again = cli(&env, &["claim", "a"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.json()["status"], json!("renewed"));
    let status = cli(&env, &["lease-status", "a"]).json();
    assert_eq!(status["results"][0]["holder"], json!("this_server"));
    let release = cli(&env, &["release", "a"]);
    assert_eq!((release.code, release.json()["status"].clone()), (0, json!("released")));
}

#[test]
fn tool_failure_exits_1_with_structured_json_on_stdout() {
    let dir = TempDir::new("cli-fail");
    assert_eq!(cli(&base_env(&dir, "one"), &["claim", "b", "--ttl-seconds", "60"]).code, 0);
    let run = cli(&base_env(&dir, "two"), &["release", "b"]);
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(v["error_code"], json!("agent_lease_held_by_other_client"));
    assert_eq!(v["retryable"], json!(true));
    assert!(!run.stdout.contains("\"one\""), "holder identity leaked");
}

#[test]
fn force_takes_a_stopped_agents_lease_and_releases_it() {
    let dir = TempDir::new("cli-force");
    assert_eq!(cli(&base_env(&dir, "one"), &["claim", "a", "--ttl-seconds", "600"]).code, 0);
    // No tmux session exists for agent a here, so it counts as stopped and force is allowed.
    let forced = cli(&base_env(&dir, "two"), &["claim", "a", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stdout);
    assert_eq!(forced.json()["status"], json!("forced"));
    assert_eq!(forced.json()["lease"]["generation"], json!(2));
    let released = cli(&base_env(&dir, "one"), &["release", "a", "--force"]);
    assert_eq!((released.code, released.json()["status"].clone()), (0, json!("released")));
}

#[test]
fn a_multi_agent_result_with_a_failed_entry_exits_1() {
    let dir = TempDir::new("cli-multi");
    let env = base_env(&dir, "m");
    assert_eq!(cli(&env, &["lease-status"]).code, 0);
    // Break agent b's lease record: it must be reported unreadable, never trusted.
    std::fs::write(dir.join("state/leases/b.json"), "{not json").unwrap();
    let run = cli(&env, &["lease-status"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["results"][1]["state"], json!("unreadable"));
    // Make the whole state tree unusable: every entry fails, and the exit code says so.
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    std::os::unix::fs::symlink(dir.join("home"), dir.join("state")).unwrap();
    let run = cli(&env, &["lease-status"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["results"][0]["error_code"], json!("state_error"));
    assert_eq!(v["results"][0]["agent"], json!("a"));
    assert!(!run.stdout.contains(dir.path().to_str().unwrap()), "a local path leaked: {}", run.stdout);
}

#[test]
fn tools_prints_the_catalogue_and_logs_stay_off_stdout() {
    let dir = TempDir::new("cli-tools");
    let mut env = base_env(&dir, "t");
    env.push(("CODEX_MASTER_LOG".into(), "trace".into()));
    let run = cli(&env, &["tools"]);
    assert_eq!(run.code, 0);
    let names: Vec<String> =
        run.json()["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    for expected in ["agent_lease_status", "agent_claim", "agent_release", "agent_scope_check"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
}

/// Nothing is built before a call needs it: the redaction rules are loaded on the first text
/// that needs redaction, never by a call that redacts nothing (the debug log says when the floor
/// engine is built).
#[test]
fn a_call_that_redacts_nothing_never_builds_the_rule_engine() {
    let dir = TempDir::new("cli-lazy");
    let mut env = base_env(&dir, "lazy");
    env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let built = |args: &[&str]| {
        let r = cli(&env, args);
        assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stdout);
        r.stderr.matches("redaction floor engine built").count()
    };
    for args in [&["lease-status", "all"][..], &["claim", "a"], &["release", "a"], &["tools"], &["lease-status", "a"]] {
        assert_eq!(built(args), 0, "{args:?} built the rule engine");
    }
    // A call that returns free text (an agent label) builds it, once.
    assert_eq!(built(&["status", "all"]), 1);
    let fleet = crate::common::fleet::Fleet::scripted("cli-lazy-tail", &["w"]);
    let mut env = fleet.env.clone();
    env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let started = cli(&env, &["start", "w", "--cwd", &fleet.cwd()]);
    assert_eq!(started.code, 0, "{}", started.stdout);
    assert_eq!(started.stderr.matches("redaction floor engine built").count(), 0);
    let tail = cli(&env, &["tail", "w"]);
    assert_eq!((tail.code, tail.stderr.matches("redaction floor engine built").count()), (0, 1));
    // The tail's state read and redaction ran in place: no blocking thread was started for them.
    assert_eq!(tail.stderr.matches(BLOCKING_THREAD).count(), 0, "{}", tail.stderr);
}

/// What the debug log says when work is sent to a blocking thread (`session::blocking`).
const BLOCKING_THREAD: &str = "work sent to a blocking thread";

/// A one-shot CLI call runs its light work (a state read) in place: starting a thread for it
/// would cost more than the read. Work that waits on a lock still goes to a blocking thread.
#[test]
fn a_one_shot_read_starts_no_blocking_thread() {
    let dir = TempDir::new("cli-inline");
    let mut env = base_env(&dir, "inline");
    env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let threads = |args: &[&str]| {
        let r = cli(&env, args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stdout);
        r.stderr.matches(BLOCKING_THREAD).count()
    };
    assert_eq!(threads(&["lease-status", "all"]), 0);
    // A claim takes the lease lock: that wait stays off the async thread.
    assert!(threads(&["claim", "a"]) > 0);
    assert_eq!(threads(&["lease-status", "a"]), 0);
}

/// The binary is a static PIE: position-independent (ASLR) with a RELRO segment, and no
/// program interpreter, so a cold call maps no dynamic loader or shared library.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_a_static_pie_with_relro() {
    let elf = std::fs::read(crate::common::BIN).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
    const ET_DYN: u16 = 3;
    const PT_INTERP: u32 = 3;
    const PT_GNU_RELRO: u32 = 0x6474_e552;
    assert_eq!(u16_at(16), ET_DYN, "a position-independent executable");
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56) as usize);
    let types: Vec<u32> = (0..phnum).map(|i| u32_at(phoff + i * phentsize)).collect();
    assert!(!types.contains(&PT_INTERP), "no dynamic loader: {types:x?}");
    assert!(types.contains(&PT_GNU_RELRO), "a RELRO segment: {types:x?}");
}
