//! One validator for MCP and CLI: each rule, through both doors, with the same message.

use crate::common::{base_env, cli, Mcp, TempDir};
use serde_json::{json, Value};

/// Runs `args` through MCP `tools/call` and returns the failure message.
fn mcp_error(mcp: &mut Mcp, id: i64, tool: &str, args: Value) -> String {
    let r = mcp.call(id, tool, args.clone());
    assert_eq!(r["isError"], json!(true), "{tool} {args} should fail: {r}");
    let s = &r["structuredContent"];
    assert_eq!(s["error_code"], json!("invalid_arguments"), "{r}");
    assert_eq!(s["retryable"], json!(false));
    let text: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, s);
    s["message"].as_str().unwrap().to_owned()
}

fn cli_error(env: &[(String, String)], argv: &[&str]) -> String {
    let run = cli(env, argv);
    assert_eq!(run.code, 1, "{argv:?} should exit 1: {} {}", run.stdout, run.stderr);
    let v = run.json();
    assert_eq!(v["error_code"], json!("invalid_arguments"));
    v["message"].as_str().unwrap().to_owned()
}

#[test]
fn each_rule_gives_the_same_message_through_mcp_and_cli() {
    let dir = TempDir::new("validation");
    let env = base_env(&dir, "validator");
    let mut mcp = Mcp::spawn(&env);
    mcp.initialize();
    let long_item = "p".repeat(1001);
    let many: Vec<String> = (0..51).map(|i| format!("src/{i}")).collect();
    let mut many_argv: Vec<&str> = vec!["scope-check"];
    for item in &many {
        many_argv.push("--scope");
        many_argv.push(item);
    }
    // (tool, MCP arguments, CLI argv, expected message)
    let cases: Vec<(&str, Value, Vec<&str>, &str)> = vec![
        (
            "agent_claim",
            json!({"agent": "a", "ttl_seconds": 7201}),
            vec!["claim", "a", "--ttl-seconds", "7201"],
            "ttl_seconds must be <= 7200",
        ),
        (
            "agent_claim",
            json!({"agent": "a", "ttl_seconds": 0}),
            vec!["claim", "a", "--ttl-seconds", "0"],
            "ttl_seconds must be >= 1",
        ),
        (
            "agent_claim",
            json!({"agent": "a", "wait_seconds": 601}),
            vec!["claim", "a", "--wait-seconds", "601"],
            "wait_seconds must be <= 600",
        ),
        (
            "agent_claim",
            json!({"agent": "a", "wait_seconds": -1}),
            vec!["claim", "a", "--wait-seconds", "-1"],
            "wait_seconds must be >= 0",
        ),
        (
            "agent_claim",
            json!({"agent": "a", "poll_interval_seconds": 901}),
            vec!["claim", "a", "--poll-interval-seconds", "901"],
            "poll_interval_seconds must be <= 900",
        ),
        ("agent_scope_check", json!({"scope": many}), many_argv.clone(), "scope must contain at most 50 items"),
        (
            "agent_scope_check",
            json!({"write_paths": ["ok", long_item]}),
            vec!["scope-check", "--write-path", "ok", "--write-path", &long_item],
            "write_paths[1] must not exceed 1000 characters",
        ),
        (
            "agent_scope_check",
            json!({"cwd": long_item}),
            vec!["scope-check", "--cwd", &long_item],
            "cwd must not exceed 1000 characters",
        ),
    ];
    for (i, (tool, args, argv, expected)) in cases.iter().enumerate() {
        assert_eq!(mcp_error(&mut mcp, i as i64 + 1, tool, args.clone()), *expected, "MCP {tool} {args}");
        assert_eq!(cli_error(&env, argv), *expected, "CLI {argv:?}");
    }
}

#[test]
fn mcp_only_rules_exact_types_unknown_and_missing_arguments() {
    let dir = TempDir::new("validation-mcp");
    let mut mcp = Mcp::spawn(&base_env(&dir, "validator"));
    mcp.initialize();
    let secret = "sk-do-not-echo-this-value-123456";
    let cases = [
        (
            "agent_lease_status",
            json!({"surprise": 1}),
            "unknown argument(s) for agent_lease_status: 1 not in its schema; it takes only agent",
        ),
        ("agent_claim", json!({}), "missing required argument(s) for agent_claim: agent"),
        ("agent_claim", json!({"agent": null}), "missing required argument(s) for agent_claim: agent"),
        ("agent_claim", json!({"agent": 1}), "agent must be a string"),
        ("agent_claim", json!({"agent": "both"}), "agent must be one of: a, b"),
        ("agent_lease_status", json!({"agent": "both"}), "agent must be one of: a, b, all"),
        ("agent_lease_status", json!({"agent": secret}), "agent must be one of: a, b, all"),
        ("agent_claim", json!({"agent": "a", "ttl_seconds": "60"}), "ttl_seconds must be an integer"),
        ("agent_claim", json!({"agent": "a", "ttl_seconds": 60.5}), "ttl_seconds must be an integer"),
        ("agent_claim", json!({"agent": "a", "ttl_seconds": true}), "ttl_seconds must be an integer"),
        ("agent_claim", json!({"agent": "a", "force": "false"}), "force must be a boolean"),
        ("agent_claim", json!({"agent": "a", "force": 0}), "force must be a boolean"),
        ("agent_scope_check", json!({"scope": "src"}), "scope must be an array"),
        ("agent_scope_check", json!({"scope": [1]}), "scope[0] must be a string"),
        ("agent_scope_check", json!({"cwd": null}), "cwd must be a string"),
    ];
    for (i, (tool, args, expected)) in cases.iter().enumerate() {
        let msg = mcp_error(&mut mcp, i as i64 + 1, tool, args.clone());
        assert_eq!(msg, *expected, "{tool} {args}");
        assert!(!msg.contains(secret));
    }
    // Arguments that are not an object at all.
    let r = mcp.request(99, "tools/call", json!({"name": "agent_lease_status", "arguments": [1, 2]}));
    assert_eq!(r["result"]["structuredContent"]["message"], json!("tools/call arguments must be an object"));
    // Validation happens before any side effect: the claim above never wrote a lease.
    let status = mcp.call(100, "agent_lease_status", json!({"agent": "a"}));
    assert_eq!(status["structuredContent"]["results"][0]["state"], json!("unclaimed"));
}

#[test]
fn cli_usage_errors_exit_2_and_type_errors_never_reach_a_tool() {
    let dir = TempDir::new("validation-cli");
    let env = base_env(&dir, "cli-validator");
    for argv in [
        vec!["claim"],                              // missing agent
        vec!["claim", "both"],                      // not a choice
        vec!["lease-status", "both"],               // not a choice here either
        vec!["claim", "a", "--ttl-seconds", "abc"], // not an integer
        vec!["claim", "a", "--ttl-seconds", "1.5"], // not an integer
        vec!["claim", "a", "--surprise"],           // unknown flag
        vec!["no-such-command"],
    ] {
        let run = cli(&env, &argv);
        assert_eq!(run.code, 2, "{argv:?}: {}", run.stderr);
        // The same structured error as a tool's, through a fixed template.
        let v: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{argv:?}: {e}: {}", run.stdout));
        assert_eq!(
            (v["error_code"].as_str(), v["retryable"].as_bool()),
            (Some("invalid_arguments"), Some(false)),
            "{argv:?}: {v}"
        );
    }
    assert_eq!(cli(&env, &["--help"]).code, 0);
    assert_eq!(cli(&env, &["claim", "--help"]).code, 0);
    let state = dir.join("state");
    assert!(!state.join("leases/a.json").exists(), "a refused call must not write state");
}
