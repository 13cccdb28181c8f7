//! MCP stdio framing and protocol, against the real binary over real pipes.

use std::time::{Duration, Instant};

use crate::common::{base_env, cli, Mcp, TempDir};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

fn server(tag: &str) -> (TempDir, Mcp) {
    let dir = TempDir::new(tag);
    let mcp = Mcp::spawn(&base_env(&dir, "mcp-test-client"));
    (dir, mcp)
}

fn error_code(msg: &Value) -> i64 {
    msg["error"]["code"].as_i64().unwrap_or_else(|| panic!("not an error: {msg}"))
}

#[test]
fn responses_are_newline_delimited_json_without_headers() {
    let (_d, mut mcp) = server("ndjson");
    mcp.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n",
    );
    for id in [1, 2] {
        let line = mcp.recv_line(T).expect("a response line");
        assert!(!line.to_ascii_lowercase().contains("content-length"), "{line}");
        let msg: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(msg, json!({"jsonrpc": "2.0", "id": id, "result": {}}));
    }
}

#[test]
fn oversized_frame_is_refused_discarded_and_serving_continues() {
    let (_d, mut mcp) = server("oversize");
    // A syntactically plausible request, 1 MiB + 64 bytes long, whose tail would parse as JSON
    // if it were not discarded.
    let mut big = b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"pad\":\"".to_vec();
    big.resize(1024 * 1024 + 64, b'x');
    big.extend_from_slice(b"\"}{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"ping\"}\n");
    mcp.send_raw(&big);
    mcp.send(&json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}));
    let first = mcp.recv(T).unwrap();
    assert_eq!(first["id"], Value::Null);
    assert_eq!(error_code(&first), -32600);
    assert!(first["error"]["message"].as_str().unwrap().contains("1048576"));
    let second = mcp.recv(T).unwrap();
    assert_eq!(second, json!({"jsonrpc": "2.0", "id": 8, "result": {}}), "the discarded tail must not be answered");
    // Exactly at the cap is accepted.
    let mut exact = b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"pad\":\"".to_vec();
    exact.resize(1024 * 1024 - 2, b'y');
    exact.extend_from_slice(b"\"}\n");
    assert_eq!(exact.len(), 1024 * 1024 + 1);
    mcp.send_raw(&exact);
    assert_eq!(mcp.recv(T).unwrap()["id"], json!(9));
}

#[test]
fn content_length_framed_input_is_accepted_and_answered_as_ndjson() {
    let (_d, mut mcp) = server("lsp");
    let body = br#"{"jsonrpc":"2.0","id":"lsp-1","method":"ping"}"#;
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    mcp.send_raw(&frame);
    mcp.send_raw(b"Content-Length: 2000000\r\n\r\n");
    mcp.send_raw(&vec![b'z'; 2_000_000]);
    mcp.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}));
    let line = mcp.recv_line(T).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), json!({"jsonrpc": "2.0", "id": "lsp-1", "result": {}}));
    let over = mcp.recv(T).unwrap();
    assert_eq!((over["id"].clone(), error_code(&over)), (Value::Null, -32600));
    assert_eq!(mcp.recv(T).unwrap()["id"], json!(3));
}

#[test]
fn garbage_and_non_objects_get_errors_and_blank_lines_are_ignored() {
    let (_d, mut mcp) = server("garbage");
    mcp.send_raw(b"\n   \n\r\nnot json at all\n[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n42\n\"text\"\nnull\n{\"id\":5,\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":{\"x\":1},\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":6}\n\n");
    mcp.send(&json!({"jsonrpc": "2.0", "id": 10, "method": "ping"}));
    let expected = [
        (Value::Null, -32700),
        (Value::Null, -32600),
        (Value::Null, -32600),
        (Value::Null, -32600),
        (Value::Null, -32600),
        (json!(5), -32600),
        (Value::Null, -32600),
        (json!(6), -32600),
    ];
    for (id, code) in expected {
        let msg = mcp.recv(T).unwrap();
        assert_eq!((msg["id"].clone(), error_code(&msg)), (id, code), "{msg}");
        let text = msg["error"]["message"].as_str().unwrap();
        assert!(!text.contains("not json at all"), "errors never echo input: {text}");
    }
    assert_eq!(mcp.recv(T).unwrap(), json!({"jsonrpc": "2.0", "id": 10, "result": {}}));
}

#[test]
fn eof_ends_the_process_with_exit_code_zero() {
    let (_d, mut mcp) = server("eof");
    mcp.initialize();
    assert_eq!(mcp.close(), Some(0));
    let (_d2, mcp2) = server("eof-idle");
    assert_eq!(mcp2.close(), Some(0));
}

#[test]
fn protocol_versions_are_negotiated() {
    let (_d, mut mcp) = server("versions");
    for (i, v) in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"].iter().enumerate() {
        let r = mcp.request(
            i as i64,
            "initialize",
            json!({"protocolVersion": v, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        assert_eq!(r["result"]["protocolVersion"], json!(v));
        assert_eq!(r["result"]["serverInfo"]["name"], json!("codex-master-mcp"));
        assert!(r["result"]["capabilities"]["tools"].is_object());
    }
    let r = mcp.request(10, "initialize", json!({"protocolVersion": "2099-01-01", "capabilities": {}}));
    assert_eq!(r["result"]["protocolVersion"], json!("2025-11-25"));
    let r = mcp.request(11, "initialize", json!({}));
    assert_eq!(error_code(&r), -32602);
}

#[test]
fn requests_before_initialize_get_an_immediate_error_except_ping() {
    let (_d, mut mcp) = server("gating");
    let started = Instant::now();
    assert_eq!(mcp.request(1, "ping", json!({}))["result"], json!({}));
    for (id, method) in [(2, "tools/list"), (3, "server/discover"), (4, "tools/call")] {
        let r = mcp.request(id, method, json!({}));
        assert_eq!(error_code(&r), -32002, "{method}: {r}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    mcp.initialize();
    assert!(mcp.request(5, "tools/list", json!({}))["result"]["tools"].is_array());
    assert_eq!(error_code(&mcp.request(6, "server/discover", json!({}))), -32601);
    assert_eq!(error_code(&mcp.request(7, "resources/read", json!({}))), -32601);
}

#[test]
fn notifications_get_no_response() {
    let (_d, mut mcp) = server("notify");
    mcp.initialize();
    mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/unknown", "params": {}}));
    mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 12345}}));
    mcp.send(&json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}));
    assert_eq!(mcp.recv(T).unwrap()["id"], json!(9));
}

fn all_tools(mcp: &mut Mcp) -> Vec<Value> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 100.. {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let r = mcp.request(id, "tools/list", params);
        tools.extend(r["result"]["tools"].as_array().unwrap().iter().cloned());
        match r["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return tools,
        }
    }
    unreachable!()
}

#[test]
fn tools_list_pages_with_cursors_and_every_tool_is_fully_described() {
    let dir = TempDir::new("pages");
    let mut env = base_env(&dir, "pager");
    env.push(("CODEX_MASTER_MCP_TOOLS_PAGE_SIZE".into(), "2".into()));
    let mut paged = Mcp::spawn(&env);
    paged.initialize();
    let first = paged.request(1, "tools/list", json!({}));
    assert_eq!(first["result"]["tools"].as_array().unwrap().len(), 2);
    assert!(first["result"]["nextCursor"].is_string());
    let tools = all_tools(&mut paged);
    assert_eq!(error_code(&paged.request(2, "tools/list", json!({"cursor": "bogus"}))), -32602);

    let (_d, mut whole) = server("pages-whole");
    whole.initialize();
    let single = whole.request(1, "tools/list", json!({}));
    assert!(single["result"]["nextCursor"].is_null());
    assert_eq!(&tools, single["result"]["tools"].as_array().unwrap(), "paging must not change the listing");

    // The CLI prints the same catalogue.
    let printed = cli(&base_env(&dir, "x"), &["tools"]).json();
    assert_eq!(printed["tools"].as_array().unwrap(), &tools);

    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        for key in ["title", "description"] {
            assert!(tool[key].as_str().is_some_and(|s| !s.is_empty()), "{name} lacks {key}");
        }
        assert_eq!(tool["inputSchema"]["type"], json!("object"), "{name}");
        assert_eq!(tool["inputSchema"]["additionalProperties"], json!(false), "{name}");
        assert_eq!(tool["outputSchema"]["type"], json!("object"), "{name}");
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint"] {
            assert!(tool["annotations"][hint].is_boolean(), "{name} lacks {hint}");
        }
    }
}

#[test]
fn tool_results_carry_structured_content_and_the_same_json_as_text() {
    let (_d, mut mcp) = server("structured");
    mcp.initialize();
    let r = mcp.call(1, "agent_lease_status", json!({}));
    assert_eq!(r["isError"], json!(false));
    let text: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(r["content"][0]["type"], json!("text"));
    assert_eq!(text, r["structuredContent"]);
    assert_eq!(r["structuredContent"]["results"].as_array().unwrap().len(), 2);
}

#[test]
fn tool_failures_are_structured_and_hide_the_lease_holder() {
    let dir = TempDir::new("busy");
    let holder = base_env(&dir, "holder-identity-7f3a");
    assert_eq!(cli(&holder, &["claim", "a", "--ttl-seconds", "60"]).code, 0);
    let mut mcp = Mcp::spawn(&base_env(&dir, "second-identity"));
    mcp.initialize();
    let r = mcp.call(1, "agent_claim", json!({"agent": "a"}));
    assert_eq!(r["isError"], json!(true));
    let e = &r["structuredContent"];
    assert_eq!(e["error_code"], json!("agent_lease_held_by_other_client"));
    assert_eq!(e["retryable"], json!(true));
    let retry = e["retry_after_seconds"].as_i64().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(e["lease_seconds_remaining"].as_i64().unwrap() > 50);
    assert_eq!(e["lease"]["holder"], json!("other_server"));
    assert!(e["message"].is_string());
    assert!(!r.to_string().contains("holder-identity-7f3a"), "the holder's identity leaked");
    assert!(!r.to_string().contains(dir.path().to_str().unwrap()), "a local path leaked");
}

#[test]
fn unknown_tools_are_protocol_errors_with_bounded_redacted_text() {
    let (_d, mut mcp) = server("unknown-tool");
    mcp.initialize();
    let r = mcp.request(1, "tools/call", json!({"name": "no_such_tool", "arguments": {}}));
    assert_eq!(error_code(&r), -32602);
    assert!(r["error"]["message"].as_str().unwrap().contains("no_such_tool"));
    let hostile = format!("{}OPENAI_API_KEY=sk-abcdefghijklmnopqrstu /home/someone/secret", "x".repeat(1800));
    let r = mcp.request(2, "tools/call", json!({"name": hostile, "arguments": {}}));
    let text = r["error"]["message"].as_str().unwrap();
    assert!(text.chars().count() <= 1200);
    assert!(!text.contains("sk-abc") && !text.contains("/home/someone"), "{text}");
    let r = mcp.request(3, "tools/call", "params-not-an-object".into());
    assert_eq!(error_code(&r), -32602);
    let r = mcp.request(4, "no/such/method\u{1b}[31m", json!({}));
    assert_eq!(error_code(&r), -32601);
    assert!(!r["error"]["message"].as_str().unwrap().contains('\u{1b}'));
}

#[test]
fn a_slow_call_never_blocks_ping_or_status_and_cancellation_stops_it() {
    let dir = TempDir::new("concurrency");
    let other = base_env(&dir, "other-lead");
    assert_eq!(cli(&other, &["claim", "a", "--ttl-seconds", "600"]).code, 0);

    let mut mcp = Mcp::spawn(&base_env(&dir, "waiting-lead"));
    mcp.initialize();
    // A claim that waits up to 120 s for the other lead's lease, polling every second.
    mcp.send(&json!({"jsonrpc": "2.0", "id": 50, "method": "tools/call",
        "params": {"name": "agent_claim", "arguments": {"agent": "a", "wait_seconds": 120, "poll_interval_seconds": 1}}}));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    for id in 1..=20 {
        assert_eq!(mcp.request(id, "ping", json!({}))["result"], json!({}));
    }
    let status = mcp.call(21, "agent_lease_status", json!({"agent": "a"}));
    assert_eq!(status["structuredContent"]["results"][0]["holder"], json!("other_server"));
    assert!(started.elapsed() < Duration::from_secs(3), "ping/status were blocked: {:?}", started.elapsed());

    mcp.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 50, "reason": "test"}}),
    );
    std::thread::sleep(Duration::from_millis(200));
    // The other lead lets go; a still-running claim would now take the lease within a second.
    assert_eq!(cli(&other, &["release", "a"]).code, 0);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(mcp.request(60, "ping", json!({}))["id"], json!(60));
    assert!(mcp.wait_for(&json!(50), Duration::from_millis(200)).is_none(), "a cancelled call must not answer");
    let lease = cli(&other, &["lease-status", "a"]).json();
    assert_eq!(lease["results"][0]["state"], json!("unclaimed"), "the cancelled claim kept running");
}

#[test]
fn a_waiting_claim_succeeds_once_the_lease_is_released() {
    let dir = TempDir::new("claim-wait");
    let other = base_env(&dir, "first-lead");
    assert_eq!(cli(&other, &["claim", "b", "--ttl-seconds", "600"]).code, 0);
    let mut mcp = Mcp::spawn(&base_env(&dir, "second-lead"));
    mcp.initialize();
    mcp.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "agent_claim", "arguments": {"agent": "b", "wait_seconds": 30, "poll_interval_seconds": 1}}}));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cli(&other, &["release", "b"]).code, 0);
    let r = mcp.wait_for(&json!(5), T).expect("claim answered");
    let s = &r["result"]["structuredContent"];
    assert_eq!(s["status"], json!("claimed"), "{r}");
    assert!(s["poll_count"].as_i64().unwrap() >= 1);
    assert_eq!(s["lease"]["generation"], json!(2));
}
