//! The real Codex CLI (0.171.0 and 0.169.0) as the **lead**: `install` registers us, Codex
//! starts our server with its filtered environment, and a loopback model mock makes Codex call
//! our tools (`codex exec`, approval policy `never`). Also the plugin, from this repository's
//! local marketplace.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::model_mock::{ModelMock, Reply};
use crate::common::{TempDir, BIN};

/// A user's machine in a directory: HOME, a Codex home pointed at the mock, a shell that sets
/// `XDG_STATE_HOME` (which Codex drops for MCP servers), one scripted worker, private tmux.
struct Machine {
    dir: TempDir,
    codex: PathBuf,
    mock: ModelMock,
}

impl Machine {
    fn new(tag: &str, codex: PathBuf) -> Machine {
        let dir = TempDir::new(tag);
        let mock = ModelMock::start();
        for d in ["home/.codex", "home/.config/codex-master-mcp", "xdg-state", "work"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("home/.codex/config.toml"), mock.codex_config()).unwrap();
        // `g` reports the variables it got: its config's `env`, and an `env_pass` name that only
        // the installing shell has.
        let report = dir.join("g-env.txt").display().to_string();
        std::fs::write(
            dir.join("home/.config/codex-master-mcp/config.toml"),
            format!(
                "[agents.w]\nprofile = \"scripted\"\n\n[agents.g]\nprofile = \"generic\"\nrunner = \"/usr/bin/dash\"\nargs = [\"-c\", \"printf %s \\\"$WORKER_TOKEN|$PLAIN\\\" > {report}; exec sleep 60\"]\nenv = {{ PLAIN = \"p1\" }}\nenv_pass = [\"WORKER_TOKEN\"]\n"
            ),
        )
        .unwrap();
        Machine { dir, codex, mock }
    }

    /// The interactive shell's environment: everything a user's shell would set that matters.
    fn shell_env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            self.dir.join("home/.local/bin").display(),
            self.codex.parent().unwrap().display()
        );
        vec![
            ("HOME".into(), self.dir.join("home").display().to_string()),
            ("PATH".into(), path),
            ("XDG_STATE_HOME".into(), self.dir.join("xdg-state").display().to_string()),
            ("TMUX_TMPDIR".into(), self.dir.path().display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("WORKER_TOKEN".into(), "wt-secret-value-123".into()),
        ]
    }

    fn command(&self, program: &Path, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear().current_dir(self.dir.join("work")).stdin(Stdio::null());
        for (k, v) in self.shell_env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// Our CLI from the shell (the one install puts on PATH, else the test build).
    fn cli(&self, args: &[&str]) -> (i32, Value) {
        let installed = self.dir.join("home/.local/bin/codex-master-mcp");
        let program = if installed.is_file() { installed } else { PathBuf::from(BIN) };
        let out = self.command(&program, args, &[("CODEX_MASTER_MCP_INSTANCE_ID", "shell")]).output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(
            |_| json!({"stdout": String::from_utf8_lossy(&out.stdout), "stderr": String::from_utf8_lossy(&out.stderr)}),
        );
        (out.status.code().unwrap_or(-1), v)
    }

    fn codex(&self, args: &[&str]) -> std::process::Output {
        bounded(self.command(&self.codex.clone(), args, &[]), Duration::from_secs(60))
    }

    /// One headless turn in which the model calls our `tool`; returns what the tool answered.
    fn lead_calls(&self, tool: &str, arguments: Value) -> String {
        self.mock.push(Reply::McpCall {
            namespace: "mcp__codex_master_mcp".into(),
            tool: tool.into(),
            arguments,
            then: "done".into(),
        });
        let before = self.mock.seen().len();
        let out = self.codex(&["exec", "--skip-git-repo-check", "-c", "approval_policy=\"never\"", "use the tool"]);
        let seen = self.mock.seen();
        let outputs: Vec<String> = seen[before..].iter().flat_map(|s| s.tool_outputs.clone()).collect();
        assert!(
            !outputs.is_empty(),
            "codex exec made no tool call: {}",
            String::from_utf8_lossy(&out.stderr).chars().take(2000).collect::<String>()
        );
        outputs.join("\n")
    }
}

fn bounded(mut cmd: Command, limit: Duration) -> std::process::Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The JSON object inside a tool output (Codex prefixes it with a wall-time line).
fn tool_json(output: &str) -> Value {
    let start = output.find('{').unwrap_or_else(|| panic!("no JSON in tool output: {output}"));
    serde_json::Deserializer::from_str(&output[start..]).into_iter::<Value>().next().unwrap().unwrap()
}

fn install_registers_and_a_headless_lead_drives_the_fleet(version: &str) {
    let Some(codex) = crate::real_codex::require(version) else { return };
    let m = Machine::new(&format!("lead-{version}"), codex);

    let (code, v) = m.cli(&["install", "--codex", &m.codex.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["registration"].as_str(), v["self_test"]["ok"].as_bool()), (Some("registered"), Some(true)), "{v}");
    assert_eq!(v["captured_env_count"], 1, "{v}");
    let text = v.to_string();
    assert!(!text.contains(&m.dir.path().display().to_string()) && !text.contains("wt-secret"), "{v}");

    // Codex's own view of the registration: our binary, the timeouts, the pinned locations.
    let out = m.codex(&["mcp", "get", "codex-master-mcp", "--json"]);
    let reg: Value = serde_json::from_slice(&out.stdout).expect("mcp get --json");
    assert_eq!(
        reg["transport"]["command"],
        json!(m.dir.join("home/.local/bin/codex-master-mcp").display().to_string())
    );
    assert!(
        reg["tool_timeout_sec"].as_f64() >= Some(610.0) && reg["startup_timeout_sec"].as_f64() >= Some(20.0),
        "{reg}"
    );
    let state_dir = m.dir.join("xdg-state/codex-master-mcp").display().to_string();
    assert_eq!(reg["transport"]["env"]["CODEX_MASTER_MCP_STATE_DIR"], json!(state_dir), "{reg}");
    assert!(!reg.to_string().contains("wt-secret"), "a worker's secret never goes into Codex's config");

    // The shell (XDG_STATE_HOME set) starts and leases the worker; the lead's server, started
    // by Codex without XDG_STATE_HOME, sees that lease.
    let (code, v) = m.cli(&["start", "w"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = m.cli(&["claim", "w"]);
    assert_eq!(code, 0, "{v}");
    let lease = tool_json(&m.lead_calls("agent_lease_status", json!({"agent": "w"})));
    assert_eq!(lease["results"][0]["state"], "held", "{lease}");
    assert_eq!(lease["results"][0]["holder"], "other_server", "{lease}");
    // Codex offered the model our tools, under our server's namespace.
    // (Codex lists it as a deferred namespace, or with its tools.)
    assert!(m.mock.seen().iter().any(|s| s.body.contains("mcp__codex_master_mcp")));

    // A read-only tool, then the destructive (lease-guarded) stop under approval `never`.
    let (code, v) = m.cli(&["release", "w"]);
    assert_eq!(code, 0, "{v}");
    let status = tool_json(&m.lead_calls("agent_status", json!({"agent": "w"})));
    assert_ne!(status["results"][0]["state"], "not_running", "{status}");
    let stopped = tool_json(&m.lead_calls("agent_stop", json!({"agent": "w"})));
    assert_eq!(stopped["results"][0]["status"], "stopped", "{stopped}");
    let (_, v) = m.cli(&["status", "w"]);
    assert_eq!(v["results"][0]["state"], "not_running", "{v}");

    // A worker the lead starts gets its variables, though Codex gave the server none of them;
    // the value is on no command line, and the launch script is gone.
    let started =
        tool_json(&m.lead_calls("agent_start", json!({"agent": "g", "cwd": m.dir.join("work").display().to_string()})));
    assert_eq!(started["results"][0]["status"], "started", "{started}");
    let report = m.dir.join("g-env.txt");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !report.is_file() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "wt-secret-value-123|p1");
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ps.stdout).contains("wt-secret"), "a secret on a command line");
    let launch = m.dir.join("xdg-state/codex-master-mcp/launch");
    assert_eq!(std::fs::read_dir(&launch).map(|d| d.count()).unwrap_or(0), 0, "launch scripts remove themselves");
    let (code, v) = m.cli(&["stop", "g"]);
    assert_eq!(code, 0, "{v}");

    // Uninstall removes exactly what install made.
    let (code, v) = m.cli(&["uninstall", "--codex", &m.codex.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["registration"].as_str(), v["binary"].as_str()), (Some("removed"), Some("removed")), "{v}");
    let out = m.codex(&["mcp", "get", "codex-master-mcp", "--json"]);
    assert!(!out.status.success());
    let config = std::fs::read_to_string(m.dir.join("home/.codex/config.toml")).unwrap();
    assert!(config.contains("model_provider") && !config.contains("codex-master"), "{config}");
}

/// The local marketplace `plugin-marketplace` generates from this build's root packaging.
fn generated_marketplace(m: &Machine) -> String {
    let market = m.dir.join("marketplace").display().to_string();
    let (code, v) = m.cli(&["plugin-marketplace", &market]);
    assert_eq!((code, v["marketplace"].as_str()), (0, Some("codex-master-local")), "{v}");
    assert!(!v.to_string().contains(&market), "the output names the directory: {v}");
    market
}

fn the_plugin_installs_from_the_local_marketplace(version: &str) {
    let Some(codex) = crate::real_codex::require(version) else { return };
    let m = Machine::new(&format!("plugin-{version}"), codex);
    let market = generated_marketplace(&m);
    let out = m.codex(&["plugin", "marketplace", "add", &market]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = m.codex(&["plugin", "add", "codex-master@codex-master-local"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Only the packaging directory is copied: never the repository, .git or target/.
    let cache = m.dir.join("home/.codex/plugins/cache/codex-master-local/codex-master");
    let versions: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].file_name().unwrap().to_str(), Some(env!("CARGO_PKG_VERSION")));
    let names: Vec<String> = std::fs::read_dir(&versions[0])
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, [".app.json", ".codex-plugin", ".mcp.json", "skills"], "the cache holds packaging only");
    assert!(versions[0].join("skills/codex-master-fleet/SKILL.md").is_file());
    // The plugin's server answers (its command is found on PATH), and its skill is offered.
    let dir = Path::new(BIN).parent().unwrap().display().to_string();
    std::fs::create_dir_all(m.dir.join("home/.local/bin")).unwrap();
    std::os::unix::fs::symlink(
        Path::new(&dir).join("codex-master-mcp"),
        m.dir.join("home/.local/bin/codex-master-mcp"),
    )
    .unwrap();
    let v = tool_json(&m.lead_calls("master_watchdog_status", json!({})));
    assert_eq!(v["timer_installed"], false, "{v}");
    assert!(m.mock.seen().iter().any(|s| s.body.contains("codex-master-fleet")), "the plugin's skill is offered");
    // The plugin pre-approves the lease-guarded stop for a headless lead.
    let v = tool_json(&m.lead_calls("agent_stop", json!({"agent": "w"})));
    assert_eq!(v["results"][0]["status"], "not_running", "{v}");
}

/// `doctor`'s checks by name, from the shell (`extra` adds variables to it).
fn doctor(m: &Machine, extra: &[(&str, &str)]) -> std::collections::BTreeMap<String, Value> {
    let mut cmd = m.command(Path::new(BIN), &["doctor"], extra);
    cmd.env("CODEX_MASTER_MCP_INSTANCE_ID", "shell");
    let out = bounded(cmd, Duration::from_secs(60));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{:?} {} {}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let text = v.to_string();
    assert!(!text.contains(&m.dir.path().display().to_string()), "doctor shows a path: {text}");
    assert!(!text.contains("wt-secret") && !text.contains("proxy.example"), "doctor shows a value: {text}");
    v["checks"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap().to_owned(), c.clone())).collect()
}

fn assert_ok(checks: &std::collections::BTreeMap<String, Value>, names: &[&str]) {
    for n in names {
        assert_eq!(checks[*n]["ok"], true, "{n}: {}", checks[*n]);
    }
}

fn assert_fails(checks: &std::collections::BTreeMap<String, Value>, name: &str) -> Value {
    assert_eq!(checks[name]["ok"], false, "{name} should fail: {}", checks[name]);
    checks[name].clone()
}

const TRAPS: [&str; 9] = [
    "installed_binary",
    "mcp_registration",
    "mcp_timeouts",
    "lead_environment",
    "state_root_shared",
    "headless_approvals",
    "mcp_startup_self_test",
    "plugin_cache_version",
    "skills_frontmatter",
];

fn doctor_finds_each_trap_set_up_on_purpose(version: &str) {
    let Some(codex) = crate::real_codex::require(version) else { return };
    let m = Machine::new(&format!("doctor-{version}"), codex);
    let codex_arg = m.codex.display().to_string();

    // Not installed: nothing Codex could start.
    let checks = doctor(&m, &[]);
    assert_eq!(assert_fails(&checks, "installed_binary")["state"], "missing");
    assert_fails(&checks, "mcp_registration");

    // Installed: every trap check passes.
    let (code, v) = m.cli(&["install", "--codex", &codex_arg]);
    assert_eq!(code, 0, "{v}");
    let checks = doctor(&m, &[]);
    assert_ok(&checks, &TRAPS);
    assert_eq!(checks["state_root_shared"]["ok"], true);

    // A variable the registration does not pass is named, never its value.
    let checks = doctor(&m, &[("HTTPS_PROXY", "http://proxy.example:3128")]);
    assert_eq!(assert_fails(&checks, "lead_environment")["unpassed_names"], "HTTPS_PROXY");

    // The plugin next to the hand-made registration: two registrations.
    let market = generated_marketplace(&m);
    assert!(m.codex(&["plugin", "marketplace", "add", &market]).status.success());
    assert!(m.codex(&["plugin", "add", "codex-master@codex-master-local"]).status.success());
    let checks = doctor(&m, &[]);
    let reg = assert_fails(&checks, "mcp_registration");
    assert_eq!((reg["registration_count"].as_i64(), reg["route"].as_str()), (Some(2), Some("both")), "{reg}");
    assert!(m.codex(&["plugin", "remove", "codex-master@codex-master-local"]).status.success());

    // A stale plugin cache.
    std::fs::create_dir_all(m.dir.join("home/.codex/plugins/cache/old/codex-master/0.0.1")).unwrap();
    assert_eq!(assert_fails(&doctor(&m, &[]), "plugin_cache_version")["cache_state"], "stale");
    std::fs::remove_dir_all(m.dir.join("home/.codex/plugins/cache/old")).unwrap();

    // Registered by hand as the seed's README says: Codex's default timeouts, no pinned
    // locations (the lead's server falls back to ~/.local/state), no approvals.
    assert!(m.codex(&["mcp", "remove", "codex-master-mcp"]).status.success());
    let bin = m.dir.join("home/.local/bin/codex-master-mcp").display().to_string();
    assert!(m.codex(&["mcp", "add", "codex-master-mcp", "--", &bin]).status.success());
    let checks = doctor(&m, &[]);
    let timeouts = assert_fails(&checks, "mcp_timeouts");
    assert_eq!(timeouts["tool_timeout_sec"], 60, "{timeouts}");
    assert_fails(&checks, "state_root_shared");
    assert_eq!(assert_fails(&checks, "headless_approvals")["count"], 0);
    assert_ok(&checks, &["installed_binary", "mcp_registration", "mcp_startup_self_test"]);

    // Another program where the registration points: not this build, and no MCP server.
    std::fs::write(&bin, "#!/bin/sh\nexit 0\n").unwrap();
    let checks = doctor(&m, &[]);
    assert_eq!(assert_fails(&checks, "installed_binary")["state"], "other_build");
    assert_fails(&checks, "mcp_startup_self_test");
}

fn master_tools_report_the_packaging(version: &str) {
    let Some(codex) = crate::real_codex::require(version) else { return };
    let m = Machine::new(&format!("master-{version}"), codex);
    let (code, v) = m.cli(&["app-bridge-status"]);
    assert_eq!((code, &v["ok"]), (0, &json!(true)), "{v}");
    assert!(v["connector_id"].as_str().is_some_and(|id| id.starts_with("connector_") && !id.contains("26697a678b7e")));
    let (_, v) = m.cli(&["plugin-status"]);
    assert_eq!((v["ok"].as_bool(), v["route"].as_str()), (Some(false), Some("none")), "not registered yet: {v}");
    assert_eq!(v["plugin_version"], json!(env!("CARGO_PKG_VERSION")));
    let (code, v) = m.cli(&["install", "--codex", &m.codex.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    let (_, v) = m.cli(&["plugin-status"]);
    assert_eq!(
        (v["ok"].as_bool(), v["route"].as_str(), v["binary"].as_str()),
        (Some(true), Some("mcp"), Some("this_build")),
        "{v}"
    );
    let (_, v) = m.cli(&["namespace-status"]);
    assert_eq!(v["namespace_ready"], true, "{v}");
    for t in [
        "master_app_bridge_status",
        "master_plugin_status",
        "master_namespace_status",
        "master_release_status",
        "master_watchdog_status",
    ] {
        assert_eq!(v["expected_tools"][t], true, "{t}");
    }
    assert!(v["local_tool_contract"]["tool_count"].as_u64() >= Some(32), "{v}");

    // Release status over a repository: a tag behind HEAD, no gh on PATH.
    let repo = m.dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&["tag", &format!("v{}", env!("CARGO_PKG_VERSION"))]);
    git(&["tag", "v0.0.9"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    git(&["commit", "-q", "--allow-empty", "-m", "three"]);
    let (_, v) = m.cli(&["release-status", "--repo", &repo.display().to_string()]);
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["blockers"], json!(["current_version_tag_not_at_head"]), "{v}");
    assert_eq!(
        (v["commits_since_latest_local_tag"].as_u64(), v["github_release_status"].as_str()),
        (Some(2), Some("gh_unavailable")),
        "{v}"
    );
    assert_eq!(v["latest_local_tag"], json!(format!("v{}", env!("CARGO_PKG_VERSION"))));
    git(&["tag", "-f", &format!("v{}", env!("CARGO_PKG_VERSION"))]);
    let (_, v) = m.cli(&["release-status", "--repo", &repo.display().to_string()]);
    assert_eq!((v["ok"].as_bool(), v["release_needed"].as_bool()), (Some(true), Some(false)), "{v}");
}

#[test]
fn install_refuses_inside_an_agent_home_and_uninstall_removes_only_what_it_made() {
    let m = Machine::new("install-units", PathBuf::from("/nonexistent/codex"));
    // A lead whose Codex home is a managed agent home: refused before anything is written.
    let home = m.dir.join("agent-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        m.dir.join("home/.config/codex-master-mcp/config.toml"),
        format!("[agents.x]\nprofile = \"codex\"\nhome = \"{}\"\nrunner = \"/usr/bin/true\"\n", home.display()),
    )
    .unwrap();
    let mut cmd = m.command(Path::new(BIN), &["install", "--no-register"], &[]);
    cmd.env("CODEX_HOME", &home);
    let out = bounded(cmd, Duration::from_secs(60));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), v["error_code"].as_str()), (Some(1), Some("install_failed")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("managed agent home"), "{v}");
    assert!(!m.dir.join("home/.local/bin/codex-master-mcp").exists(), "nothing is written");

    // Binary and watchdog units, no registration; a file install did not make is left alone.
    std::fs::write(m.dir.join("home/.config/codex-master-mcp/config.toml"), "[agents.w]\nprofile = \"scripted\"\n")
        .unwrap();
    let units = m.dir.join("home/.config/systemd/user");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::write(units.join("other.service"), "[Unit]\n").unwrap();
    let (code, v) = m.cli(&["install", "--no-register", "--watchdog"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["binary"].as_str(), v["registration"].as_str()), (Some("created"), Some("skipped")), "{v}");
    assert!(matches!(v["watchdog_units"].as_str(), Some("enabled" | "written_not_enabled")), "{v}");
    let service = std::fs::read_to_string(units.join("codex-master-watchdog.service")).unwrap();
    let bin = m.dir.join("home/.local/bin/codex-master-mcp");
    assert!(service.contains(&format!("ExecStart=\"{}\" watchdog all", bin.display())), "{service}");
    let state = m.dir.join("xdg-state/codex-master-mcp").display().to_string();
    assert!(service.contains(&format!("Environment=\"CODEX_MASTER_MCP_STATE_DIR={state}\"")), "{service}");
    let (_, v) = m.cli(&["watchdog-status"]);
    assert_eq!(
        (v["service_installed"].as_bool(), v["units_match_repository"].as_bool()),
        (Some(true), Some(true)),
        "{v}"
    );
    // Installing again changes nothing.
    let (_, v) = m.cli(&["install", "--no-register"]);
    assert_eq!(v["binary"], "already_installed", "{v}");
    let (code, v) = m.cli(&["uninstall"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["binary"].as_str(), v["watchdog_units"].as_str()), (Some("removed"), Some("removed")), "{v}");
    assert!(!bin.exists() && !units.join("codex-master-watchdog.timer").exists());
    assert!(units.join("other.service").exists(), "uninstall removes only what install made");
}

macro_rules! for_versions {
    ($($name:ident),*) => {
        mod v0_171 { $( #[test] fn $name() { super::$name("0.171.0") } )* }
        mod v0_169 { $( #[test] fn $name() { super::$name("0.169.0") } )* }
    };
}
for_versions!(
    install_registers_and_a_headless_lead_drives_the_fleet,
    the_plugin_installs_from_the_local_marketplace,
    doctor_finds_each_trap_set_up_on_purpose,
    master_tools_report_the_packaging
);
