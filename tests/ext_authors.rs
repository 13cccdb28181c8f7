//! Extension authors: from `ext new` to a component a running server uses, outside the
//! repository, with only what the docs name (the templates, `ext build`, `ext verify`, a pin or
//! `ext install`).

use std::path::Path;
use std::time::Duration;

use crate::common::fleet::Fleet;
use crate::common::{cli, Mcp, TempDir};
use serde_json::{json, Value};

/// The environment a build needs besides the test's: the real cargo home (the crates are in
/// its cache; a test's HOME is empty), and one target directory shared by every run.
fn build_env(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    let home = std::env::var("HOME").unwrap_or_default();
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    env.push(("CARGO_HOME".into(), cargo_home));
    if let Ok(rustup) = std::env::var("RUSTUP_HOME") {
        env.push(("RUSTUP_HOME".into(), rustup));
    } else {
        env.push(("RUSTUP_HOME".into(), format!("{home}/.rustup")));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ext-authors");
    env.push(("CARGO_TARGET_DIR".into(), target.display().to_string()));
    env
}

fn ok(run: &crate::common::CliRun, what: &str) -> Value {
    assert_eq!(run.code, 0, "{what}: {}\n{}", run.stdout, run.stderr);
    run.json()
}

#[test]
fn a_new_classifier_and_redactor_are_built_verified_and_used_by_a_running_server() {
    let authors = TempDir::new("ext-authors");
    let dir = authors.path().display().to_string();
    let label = "svc INT-123456-Ab12Cd34Ef56";
    // A worker whose CLI says it is out of quota, as an in-house CLI would.
    let agents = format!(
        "[agents.w1]\nprofile = \"generic\"\nlabel = {label:?}\nrunner = \"/usr/bin/env\"\nargs = [\"sh\", \"-c\", \"echo 'Error: quota exceeded for this month'; exec sleep 600\"]\n"
    );
    let f = Fleet::new("ext-authors-fleet", &agents);
    let env = build_env(&f.env);

    // Templates, built and verified outside the repository.
    let started = std::time::Instant::now();
    for (template, name) in [("limits", "team-limits"), ("redaction", "team-redact")] {
        let made = ok(&cli(&env, &["ext", "new", template, name, "--dir", &dir]), "ext new");
        assert_eq!(made["crate"], name);
        let again = cli(&env, &["ext", "new", template, name, "--dir", &dir]);
        assert_eq!(again.json()["error_code"], "already_exists", "nothing of the author's is overwritten");
    }
    let mut digests = std::collections::BTreeMap::new();
    for name in ["team-limits", "team-redact"] {
        let crate_dir = authors.join(name);
        let built = ok(&cli(&env, &["ext", "build", &crate_dir.display().to_string()]), "ext build");
        let component = crate_dir.join(built["component"].as_str().unwrap());
        let verified = ok(&cli(&env, &["ext", "verify", &component.display().to_string()]), "ext verify");
        assert_eq!(verified["vectors"]["failed"], json!([]), "{verified}");
        assert_eq!(verified["sha256"], built["sha256"]);
        digests.insert(name, (component, built["sha256"].as_str().unwrap().to_owned()));
    }
    eprintln!("ext new to two verified components: {:.1} s", started.elapsed().as_secs_f64());
    let (redactor, _) = &digests["team-redact"];
    let verified = ok(&cli(&env, &["ext", "verify", &redactor.display().to_string()]), "verify");
    assert_eq!(verified["conformance"]["failed"], json!([]), "it starts from the default engine: {verified}");
    // What cargo wrote is a core module: verify says how to make it a component.
    let core = Path::new(&env.iter().find(|(k, _)| k == "CARGO_TARGET_DIR").unwrap().1)
        .join("wasm32-unknown-unknown/release/team_limits.wasm");
    let run = cli(&env, &["ext", "verify", &core.display().to_string()]);
    assert_eq!((run.code, run.json()["error_code"].clone()), (1, json!("not_a_component")));
    assert!(run.stdout.contains("ext build"), "{}", run.stdout);

    // A running server; the worker runs on the default classifier and redactor.
    assert_eq!(f.run(&["start", "w1", "--cwd", &f.cwd()]).0, 0);
    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    let mut id = 0;
    let mut status = |mcp: &mut Mcp| {
        id += 1;
        mcp.call(id, "agent_status", json!({"agent": "w1"}))["structuredContent"]["results"][0].clone()
    };
    let before = status(&mut mcp);
    assert_eq!(before["classifier"]["name"], "codex", "{before}");
    assert_eq!(before["label"], label, "the default rules do not know the team's tokens");

    // The pin: the next call classifies with the team's component, and says which one runs.
    let (classifier, sha) = &digests["team-limits"];
    let pinned =
        format!("{agents}classifier = {{ path = {:?}, sha256 = {sha:?} }}\n", classifier.display().to_string());
    std::fs::write(f.dir.join("cfg/config.toml"), pinned).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut after = status(&mut mcp);
    while after["limit_state"]["rule"] != "quota-exceeded" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        after = status(&mut mcp);
    }
    assert_eq!(
        (after["classifier"]["name"].as_str(), after["classifier"]["sha256"].as_str()),
        (Some("pinned"), Some(sha.as_str())),
        "{after}"
    );
    assert_eq!(
        (after["state"].as_str(), after["limit_state"]["severity"].as_str(), after["limit_state"]["kind"].as_str()),
        (Some("limited"), Some("limited"), Some("quota")),
        "{after}"
    );
    assert!(!after.to_string().contains(&dir), "no path of the component is returned: {after}");
    // The same verdict from the CLI, by agent.
    let by_agent = cli(&f.env, &["ext", "run", "limits", "--agent", "w1"]);
    assert_eq!(by_agent.json()["rule"], "none", "an empty screen: {}", by_agent.stdout);
    let listed = ok(&cli(&f.env, &["ext", "list"]), "ext list");
    assert_eq!(listed["classifiers"][0]["sha256"], json!(sha), "{listed}");

    // The redactor, installed while the server runs: its own rule masks from the next call.
    ok(&cli(&f.env, &["ext", "install", "redaction", &redactor.display().to_string()]), "ext install");
    let masked = status(&mut mcp);
    assert_eq!(masked["label"], "svc INT-123456-<redacted>", "{masked}");
    f.run(&["stop", "w1"]);
    assert_eq!(mcp.close(), Some(0));
}
