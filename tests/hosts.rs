//! Workers on other hosts over OpenSSH and tmux: a real `sshd` on the loopback per host (see
//! `common::sshd`), the worker in the host's own tmux server, state and redaction here.

use std::time::Duration;

use crate::common::fleet::Fleet;
use crate::common::sshd::{self, Host};

/// A fleet whose config names `host` as `[hosts.h1]`, plus `agents` (TOML).
fn fleet_on_host(tag: &str, agents: &str) -> Option<(Fleet, Host)> {
    if !sshd::available() {
        return None;
    }
    let f = Fleet::new(tag, "");
    let host = Host::start(&f.dir.join("h1"), "h1");
    let config = format!("[hosts.h1]\nssh = \"h1\"\nssh_config = \"{}\"\n\n{agents}", host.ssh_config().display());
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
    Some((f, host))
}

const REMOTE_SCRIPTED: &str = "[agents.r]\nprofile = \"scripted\"\nhost = \"h1\"\nargs = [\"--work-seconds\", \"1\"]\n";

/// The host's tmux server, asked directly.
fn remote_sessions(host: &Host) -> String {
    let out = host.ssh("tmux -L codex-master-mcp list-sessions -F '#{session_name}' 2>/dev/null || true");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_worker_on_a_host_starts_answers_is_tailed_redacted_and_stops() {
    let Some((f, host)) = fleet_on_host("host-life", REMOTE_SCRIPTED) else { return };
    let (code, v) = f.run(&["start", "r", "--cwd", &f.cwd()]);
    assert_eq!((code, v["results"][0]["status"].as_str()), (0, Some("started")), "{v}");
    // The session runs in the host's tmux server, not in this machine's.
    assert!(remote_sessions(&host).contains("codex_agent_r_mcp"), "{}", remote_sessions(&host));
    assert!(!String::from_utf8_lossy(&f.tmux(&["ls"]).stdout).contains("codex_agent_r_mcp"));
    f.await_state("r", "idle");
    let (_, st) = f.run(&["status", "r"]);
    assert_eq!(
        (st["results"][0]["host"].as_str(), st["results"][0]["host_state"].as_str()),
        (Some("h1"), Some("reachable")),
        "{st}"
    );

    let (code, v) = f.run(&["send", "r", "work 1 ghp_abcdefghijklmnopqrstuvwxyz0123456789"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["typed"].as_bool(), v["submitted"].as_bool()), (Some(true), Some(true)), "{v}");
    let (code, v) = f.run(&["wait", "r", "--until", "idle", "--timeout-seconds", "30"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("idle")), "{v}");
    // The screen comes back as text and is redacted here.
    let (_, tail) = f.run(&["tail", "r", "--lines", "30"]);
    let out = tail["output"].as_str().unwrap();
    assert!(out.contains("Done: the task of"), "{tail}");
    assert!(!out.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789") && tail["redaction_applied"] == true, "{tail}");
    // The raw log stays on the host; its tail is fetched bounded and redacted here.
    let (_, log) = f.run(&["tail", "r", "--source", "log", "--chars", "4000"]);
    let out = log["output"].as_str().unwrap();
    assert!(out.contains("Done: the task of") && !out.contains("ghp_abcdefghij"), "{log}");
    assert!(host.dir.join("home/.local/state/codex-master-mcp/raw").is_dir());

    // doctor asks the host: reachable without a prompt, tmux there, the runner there.
    let (_, d) = f.run(&["doctor"]);
    let check = |n: &str| d["checks"].as_array().unwrap().iter().find(|c| c["name"] == n).cloned().unwrap_or_default();
    for name in ["host_h1_reachable", "host_h1_tmux", "host_h1_runners"] {
        assert_eq!(check(name)["ok"], true, "{name}: {}", check(name));
    }

    let (code, v) = f.run(&["stop", "r"]);
    assert_eq!((code, v["results"][0]["status"].as_str()), (0, Some("stopped")), "{v}");
    assert!(!remote_sessions(&host).contains("codex_agent_r_mcp"));
    assert_eq!(f.state_of("r"), "not_running");
}

#[test]
fn a_host_that_drops_leaves_its_agents_unknown_and_they_recover_when_it_returns() {
    let agents = format!("{REMOTE_SCRIPTED}\n[agents.l]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"1\"]\n");
    let Some((f, mut host)) = fleet_on_host("host-drop", &agents) else { return };
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("r", "idle");
    f.await_state("l", "idle");
    let (_, v) = f.run(&["claim", "r"]);
    let generation = v["lease"]["generation"].clone();

    host.drop_off();
    let (code, st) = f.run(&["status", "all"]);
    assert_eq!(code, 0, "{st}");
    let by_name = |n: &str| st["results"].as_array().unwrap().iter().find(|e| e["agent"] == n).unwrap().clone();
    let r = by_name("r");
    assert_eq!((r["state"].as_str(), r["host_state"].as_str()), (Some("unknown"), Some("unreachable")), "{r}");
    assert_eq!(r["lease"]["generation"], generation, "the lease is untouched: {r}");
    assert_eq!(by_name("l")["state"], "idle", "the local agent is unaffected");
    // The watchdog takes no action on an agent it cannot see.
    let (_, w) = f.run(&["watchdog", "r", "--idle-seconds", "1", "--action", "stop"]);
    assert_eq!(w["results"][0]["watchdog_state"], "skipped_host_unreachable", "{w}");
    assert_eq!(w["results"][0]["action_taken"], serde_json::Value::Null, "{w}");
    let (code, v) = f.run(&["send", "r", "hello"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("host_unreachable")), "{v}");
    assert_eq!(st["hosts"][0]["state"], "unreachable", "{st}");
    let (_, d) = f.run(&["doctor"]);
    let reach = d["checks"].as_array().unwrap().iter().find(|c| c["name"] == "host_h1_reachable").cloned();
    assert_eq!(reach.map(|c| c["ok"].clone()), Some(serde_json::Value::Bool(false)), "{d}");

    host.serve();
    f.await_state("r", "idle");
    let (_, st) = f.run(&["status", "r"]);
    assert_eq!(st["results"][0]["host_state"], "reachable", "{st}");
    f.run(&["stop", "all"]);
}

#[test]
fn hostile_directories_and_prompts_never_run_anything_on_the_host() {
    let Some((f, host)) = fleet_on_host("host-hostile", REMOTE_SCRIPTED) else { return };
    let marker = f.dir.join("h1/pwned");
    let m = marker.display();
    for cwd in [
        format!("/tmp/x'; touch {m}; '"),
        format!("/tmp/$(touch {m})"),
        format!("/tmp/`touch {m}`"),
        format!("/tmp/a;touch {m}"),
    ] {
        let (_, v) = f.run(&["start", "r", "--cwd", &cwd]);
        let _ = f.run(&["stop", "r"]);
        assert!(!marker.exists(), "the cwd {cwd:?} ran a command: {v}");
    }
    let (code, v) = f.run(&["start", "r", "--cwd", "/tmp/a\nb"]);
    assert_eq!((code, v["results"][0]["error_code"].as_str()), (1, Some("cwd_not_directory")), "{v}");
    let (code, v) =
        f.run(&["start", "r", "--cwd", &f.cwd(), "--prompt", &format!("'; touch {m}; $(touch {m}) `touch {m}`\n")]);
    assert_eq!(code, 0, "{v}");
    f.await_state("r", "idle");
    let (code, v) = f.run(&["send", "r", &format!("\"; touch {m}; '$(touch {m})'")]);
    assert_eq!(code, 0, "{v}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "a prompt ran a command on the host");
    f.run(&["stop", "r"]);
    drop(host);
}

#[test]
fn an_unknown_host_key_is_refused_with_how_to_add_it() {
    let Some((f, host)) = fleet_on_host("host-key", REMOTE_SCRIPTED) else { return };
    std::fs::write(host.dir.join("known_hosts"), "").unwrap();
    let (code, v) = f.run(&["start", "r", "--cwd", &f.cwd()]);
    let e = &v["results"][0];
    assert_eq!((code, e["error_code"].as_str()), (1, Some("host_key_unknown")), "{v}");
    assert!(e["message"].as_str().unwrap().contains("known_hosts"), "{v}");
    assert!(!remote_sessions(&host).contains("codex_agent_r_mcp"));
}

#[test]
fn a_host_without_room_refuses_a_start_by_its_own_limits() {
    let agents = format!("{REMOTE_SCRIPTED}\n[agents.r2]\nprofile = \"scripted\"\nhost = \"h1\"\n");
    let Some((f, _host)) = fleet_on_host("host-room", &agents) else { return };
    let config = std::fs::read_to_string(f.dir.join("cfg/config.toml")).unwrap();
    let config = config.replacen("\n\n[agents.r]", "\n[hosts.h1.admission]\nmax_workers = 1\n\n[agents.r]", 1);
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
    let (code, v) = f.run(&["start", "r", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = f.run(&["start", "r2", "--cwd", &f.cwd()]);
    let e = &v["results"][0];
    assert_eq!((code, e["error_code"].as_str(), e["check"].as_str()), (1, Some("host_busy"), Some("workers")), "{v}");
    assert!(e["message"].as_str().unwrap().contains("host h1"), "{v}");
    f.run(&["stop", "all"]);
}

#[test]
fn a_real_codex_on_a_host_takes_a_turn_and_stops() {
    use crate::common::model_mock::{ModelMock, Reply};
    let Some(bin) = crate::real_codex::require("0.171.0") else { return };
    let agents = format!("[agents.rc]\nprofile = \"codex\"\nhost = \"h1\"\nrunner = \"{}\"\n", bin.display());
    let Some((f, host)) = fleet_on_host("host-codex", &agents) else { return };
    let mock = ModelMock::start();
    // No managed home on a host: the worker's CLI reads its user's own config there.
    let codex_home = host.dir.join("home/.codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let trust = format!("\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n", f.cwd());
    std::fs::write(codex_home.join("config.toml"), mock.codex_config() + &trust).unwrap();
    let git = std::process::Command::new("git").args(["init", "-q"]).current_dir(f.dir.join("work")).status().unwrap();
    assert!(git.success());

    let (code, v) = f.run(&["start", "rc", "--cwd", &f.cwd()]);
    assert_eq!((code, v["results"][0]["status"].as_str()), (0, Some("started")), "{v}");
    f.await_entry("rc", "idle", Duration::from_secs(30), |e| e["state"] == "idle");
    mock.push(Reply::answer("The remote answer is seven, written down."));
    let (code, v) = f.run(&["send", "rc", "what is the answer?"]);
    assert_eq!((code, v["receipt"].as_str()), (0, Some("turn_started")), "{v}");
    let (code, v) = f.run(&["wait", "rc", "--until", "idle", "--timeout-seconds", "60"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("idle")), "{v}");
    let (_, tail) = f.run(&["tail", "rc"]);
    assert!(tail["output"].as_str().unwrap().contains("The remote answer is seven"), "{tail}");
    // An assignment there: the scope check and the diff audit run on the host.
    let work = f.dir.join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    std::fs::write(work.join("src/a.txt"), "a").unwrap();
    let committed = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "init", "--allow-empty"])
        .current_dir(&work)
        .status()
        .unwrap();
    assert!(committed.success());
    let (code, v) =
        f.run(&["assign", "rc", "--role", "worker", "--task", "t", "--scope", "src", "--write-path", "docs/x"]);
    assert_eq!((code, v["reason"].as_str()), (1, Some("write_path_outside_scope")), "{v}");
    mock.push(Reply::answer("Assignment noted."));
    let (code, v) =
        f.run(&["assign", "rc", "--role", "worker", "--task", "t", "--scope", "src", "--write-path", "src"]);
    assert_eq!((code, v["audit_baseline"].as_str()), (0, Some("recorded")), "{v}");
    f.run(&["wait", "rc", "--until", "idle", "--timeout-seconds", "60"]);
    std::fs::write(work.join("src/b.txt"), "in scope").unwrap();
    std::fs::write(work.join("notes.txt"), "outside").unwrap();
    let (code, v) = f.run(&["assignment-audit", "rc"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("out_of_scope_changes")), "{v}");
    assert_eq!(v["out_of_scope"], serde_json::json!(["notes.txt"]), "{v}");
    let (code, v) = f.run(&["stop", "rc"]);
    assert_eq!((code, v["results"][0]["status"].as_str()), (0, Some("stopped")), "{v}");
}

#[test]
fn an_assignment_on_a_host_is_scope_checked_and_audited_in_a_worktree_there() {
    let Some((f, host)) = fleet_on_host("host-assign", REMOTE_SCRIPTED) else { return };
    // A repository on the host, made there.
    let repo = host.dir.join("home/repo");
    let r = repo.display().to_string();
    let made = host.ssh(&format!(
        "set -e; mkdir -p {r}/src {r}/docs; cd {r}; git init -q; printf a > src/a.txt; printf b > docs/b.txt; \
         git add -A; git -c user.name=t -c user.email=t@example.org commit -qm init; ln -s /tmp src/link"
    ));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    // A worktree for the agent, made on the host by the product.
    let (code, v) = f.run(&["worktree-create", "r", "--repo", &r]);
    assert_eq!(code, 0, "{v}");
    let rel = v["path"].as_str().unwrap().to_owned();
    let tree = repo.join(&rel);
    assert!(tree.join("src/a.txt").is_file() && rel.starts_with(".codex-master-worktrees/agent-r-"), "{v}");
    assert!(repo.join(".codex-master-worktrees/.gitignore").is_file());
    // Hostile worktree paths run nothing and leave the repository.
    for bad in ["../escape", "src/link/x", "/etc/x"] {
        let (code, v) = f.run(&["worktree-create", "r", "--repo", &r, "--path", bad]);
        assert_eq!((code, v["error_code"].as_str()), (1, Some("worktree_refused")), "{bad}: {v}");
    }
    let (code, v) = f.run(&["worktree-create", "r", "--repo", &r, "--path", "w/$(touch pwned);`id`/x"]);
    assert_eq!(code, 0, "{v}");
    assert!(!host.dir.join("home/pwned").exists() && !repo.join("pwned").exists() && !repo.join("w/pwned").exists());

    let (code, v) = f.run(&["start", "r", "--cwd", &tree.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("r", "idle");
    assert!(host.ssh(&format!("ln -s /tmp {}/src/link", tree.display())).status.success());
    // The scope check resolves on the host: a link there that leaves the scope is a violation.
    let assign = |writes: &[&str]| {
        let mut args = vec!["assign", "r", "--role", "worker", "--task", "fix a", "--scope", "src"];
        for w in writes {
            args.extend(["--write-path", w]);
        }
        f.run(&args)
    };
    for bad in ["src/link/x", "../outside", "docs/b.txt"] {
        let (code, v) = assign(&[bad]);
        assert_eq!((code, v["reason"].as_str()), (1, Some("write_path_outside_scope")), "{bad}: {v}");
    }
    let (code, v) = f.run(&["scope-check", "--agent", "r", "--scope", "src", "--write-path", "src/link/y"]);
    assert_eq!((code, v["allowed"].as_bool()), (0, Some(false)), "{v}");
    // `~` is the host's home there, not this machine's: the check ran on the host.
    let inside = format!("{}/src/new.rs", tree.display());
    let (code, v) = f.run(&["scope-check", "--agent", "r", "--scope", "~/repo", "--write-path", &inside]);
    assert_eq!((code, v["allowed"].as_bool()), (0, Some(true)), "{v}");
    // A directory given for it is the host's as written: a `~` there is not expanded here.
    let (code, v) =
        f.run(&["scope-check", "--agent", "r", "--cwd", "~/repo", "--scope", "src", "--write-path", "src/a"]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")), "{v}");
    let (code, v) = assign(&["src/a.txt"]);
    assert_eq!(code, 0, "{v}");
    f.await_state("r", "idle");
    // The worker's changes, made on the host: one inside its write path, one outside.
    std::fs::write(tree.join("src/a.txt"), "changed").unwrap();
    std::fs::write(tree.join("docs/b.txt"), "changed too").unwrap();
    let (code, v) = f.run(&["assignment-audit", "r"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["status"], "out_of_scope_changes", "{v}");
    assert_eq!(v["out_of_scope"], serde_json::json!(["docs/b.txt"]), "{v}");
    assert_eq!(v["changed_count"], 2, "{v}");
    f.run(&["stop", "r"]);
}

#[test]
fn a_server_reads_a_host_through_one_shell_and_one_control_client_and_sees_every_change() {
    let agents = format!("{REMOTE_SCRIPTED}\n[agents.r2]\nprofile = \"scripted\"\nhost = \"h1\"\n");
    let Some((f, mut host)) = fleet_on_host("host-server", &agents) else { return };
    let (code, v) = f.run(&["start", "all", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("r", "idle");
    f.await_state("r2", "idle");
    let log = f.dir.join("server.log");
    let mut env = f.env.clone();
    env.push(("CODEX_MASTER_LOG".into(), "debug".into()));
    let mut mcp = crate::common::Mcp::spawn_with_stderr(&env, std::fs::File::create(&log).unwrap().into());
    mcp.initialize();
    let status = |mcp: &mut crate::common::Mcp, id: i64| {
        mcp.call(id, "agent_status", serde_json::json!({"agent": "all"}))["structuredContent"].clone()
    };
    let state = |v: &serde_json::Value, agent: &str| {
        let r = v["results"].as_array().unwrap().iter().find(|r| r["agent"] == agent).cloned().unwrap_or_default();
        r["state"].as_str().unwrap_or("?").to_owned()
    };
    for id in 1..4 {
        let v = status(&mut mcp, id);
        assert_eq!((state(&v, "r"), state(&v, "r2")), ("idle".into(), "idle".into()), "{v}");
    }
    // The server's one shell per host: a single ssh process, however many calls.
    let ssh_clients = || {
        let out = std::process::Command::new("pgrep")
            .args(["-f", "-c", &format!("ssh -F {}", host.ssh_config().display())])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().unwrap_or(0)
    };
    assert!(ssh_clients() >= 1, "the server keeps a shell open on the host");
    // ... and a tmux control client there, which answered the later observations.
    let remote_clients = || {
        let out = host.ssh("tmux -L codex-master-mcp list-clients -F '#{client_control_mode}'");
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| *l == "1").count()
    };
    assert_eq!(remote_clients(), 1, "one control client on the host");
    let said = |what: &str| std::fs::read_to_string(&log).unwrap().matches(what).count();
    assert!(said("tmux control client answered") >= 1, "{}", std::fs::read_to_string(&log).unwrap());
    // A change on one pane (its raw log grows) is seen; the quiet one stays as it was.
    let v = mcp.call(10, "agent_send", serde_json::json!({"agent": "r", "text": "work 3"}));
    assert_eq!(v["structuredContent"]["receipt"], "turn_started", "{v}");
    let v = status(&mut mcp, 11);
    assert_eq!((state(&v, "r"), state(&v, "r2")), ("working".into(), "idle".into()), "{v}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut id = 20;
    loop {
        id += 1;
        let v = status(&mut mcp, id);
        if state(&v, "r") == "idle" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "r never finished: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // The host drops: its agents are unknown, not idle from an old capture; it returns: they recover.
    host.drop_off();
    let v = status(&mut mcp, 100);
    assert_eq!((state(&v, "r"), state(&v, "r2")), ("unknown".into(), "unknown".into()), "{v}");
    host.serve();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        id += 1;
        let v = status(&mut mcp, id);
        if state(&v, "r") == "idle" && state(&v, "r2") == "idle" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the host's agents never recovered: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
    mcp.close();
    f.run(&["stop", "all"]);
}
