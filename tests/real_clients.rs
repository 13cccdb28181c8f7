//! Independent real clients against the real binary: the Python `mcp` SDK and the npm MCP
//! Inspector in `--cli` mode. `scripts/bootstrap` installs both under `.ci-tools/`;
//! `scripts/test` sets CODEX_MASTER_REQUIRE_REAL_CLIENTS=1 so a missing client fails the run.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::{base_env, cli, TempDir, BIN};
use serde_json::Value;

fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci-tools")
}

/// The client executable, or `None` (a skip) when it is not installed and not required.
fn client(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CODEX_MASTER_REQUIRE_REAL_CLIENTS").as_deref() == Ok("1") {
        panic!("{what} is required but not installed; run scripts/bootstrap");
    }
    eprintln!("skipping: {what} not installed (run scripts/bootstrap)");
    None
}

/// Runs a command with a deadline; returns (exit code, stdout, stderr). Both pipes are drained
/// while it runs, so a chatty client never blocks on a full pipe.
fn run_bounded(mut cmd: Command, limit: Duration) -> (i32, String, String) {
    use std::io::Read;
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn client");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), out.join().unwrap(), err.join().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("client did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn python_mcp_sdk_validates_every_result_against_its_output_schema() {
    let Some(python) = client(tools_dir().join("venv/bin/python"), "the Python mcp SDK") else { return };
    let dir = TempDir::new("py-client");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/clients/python_mcp_check.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(BIN).envs(base_env(&dir, "python-client"));
    let (code, out, err) = run_bounded(cmd, Duration::from_secs(120));
    assert_eq!(code, 0, "python client failed:\n{out}\n{err}");
    assert!(out.contains("python-mcp-check:") && out.contains(" 0 failed"), "{out}");
}

#[test]
fn mcp_inspector_cli_lists_and_calls_tools_without_complaints() {
    let Some(inspector) = client(tools_dir().join("npm/node_modules/.bin/mcp-inspector"), "the MCP Inspector") else {
        return;
    };
    let dir = TempDir::new("inspector");
    let env = base_env(&dir, "inspector-client");
    let catalogue = cli(&env, &["tools"]).json();

    let mut cmd = Command::new(&inspector);
    cmd.args(["--cli", BIN, "--method", "tools/list", "--strict"]).envs(env.clone());
    let (code, out, err) = run_bounded(cmd, Duration::from_secs(120));
    assert_eq!(code, 0, "inspector failed:\n{out}\n{err}");
    let listed: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("inspector output is not JSON ({e}): {out}"));
    assert_eq!(listed["tools"], catalogue["tools"], "inspector saw a different catalogue");
    // With --strict the inspector reports every schema portability warning; there must be none.
    assert!(err.trim().is_empty(), "inspector complained: {err}");

    let mut cmd = Command::new(&inspector);
    cmd.args([
        "--cli",
        BIN,
        "--method",
        "tools/call",
        "--tool-name",
        "agent_scope_check",
        "--tool-arg",
        "scope=[\"src\"]",
        "--tool-arg",
        "write_paths=[\"src/x.rs\"]",
    ])
    .envs(env);
    let (code, out, err) = run_bounded(cmd, Duration::from_secs(120));
    assert_eq!(code, 0, "inspector call failed:\n{out}\n{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["isError"], Value::Bool(false), "{out}");
    assert_eq!(result["structuredContent"]["allowed"], Value::Bool(true), "{out}");
}
