//! Hardening against hostile repositories, hostile clients and odd environments: each test
//! reproduces one way the adversarial pass broke the server.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fleet::Fleet;
use serde_json::Value;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "core.hooksPath=/dev/null"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A program that records that it ran (and passes stdin through, as a filter would).
fn spy(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("spy-{name}"));
    let marker = dir.join("spy-ran.log");
    std::fs::write(&path, format!("#!/bin/sh\necho {name} >> '{}'\ncat\n", marker.display())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A repository whose own configuration names a program in every key that can start one on
/// the commands we run, and whose attributes route every file through its filter and diff
/// drivers.
fn hostile_repo(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("src/a.txt"), "a\n").unwrap();
    std::fs::write(repo.join(".gitattributes"), "* filter=evil diff=evil merge=evil\n").unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "init"]);
    let hooks = root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    for hook in ["post-checkout", "pre-commit", "post-index-change", "reference-transaction", "pre-auto-gc"] {
        std::fs::copy(spy(root, hook), hooks.join(hook)).unwrap();
    }
    let keys: Vec<(String, String)> = [
        ("filter.evil.clean", "clean"),
        ("filter.evil.smudge", "smudge"),
        ("filter.evil.process", "process"),
        ("filter.evil.required", ""),
        ("diff.evil.command", "diff-command"),
        ("diff.evil.textconv", "textconv"),
        ("merge.evil.driver", "merge-driver"),
        ("diff.external", "diff-external"),
        ("core.pager", "pager"),
        ("core.fsmonitor", "fsmonitor"),
        ("core.sshCommand", "ssh"),
        ("core.askPass", "askpass"),
        ("credential.helper", "credential"),
        ("gpg.program", "gpg"),
        ("core.alternateRefsCommand", "alternate-refs"),
    ]
    .iter()
    .map(|(k, prog)| {
        (k.to_string(), if prog.is_empty() { "true".to_owned() } else { spy(root, prog).display().to_string() })
    })
    .collect();
    for (k, v) in &keys {
        git(&repo, &["config", k, v]);
    }
    git(&repo, &["config", "core.hooksPath", hooks.to_str().unwrap()]);
    git(&repo, &["config", "log.showSignature", "true"]);
    git(&repo, &["config", "gc.auto", "1"]);
    // Dirty files: status and diff must look at their contents.
    std::fs::write(repo.join("src/a.txt"), "a changed\n").unwrap();
    std::fs::write(repo.join("src/new.txt"), "new\n").unwrap();
    repo
}

#[test]
fn a_repository_configuration_never_starts_a_program() {
    let f = Fleet::new("git-config", "");
    let repo = hostile_repo(f.dir.path());
    std::fs::write(
        f.dir.join("cfg/config.toml"),
        "[agents.w]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"0\"]\n",
    )
    .unwrap();
    // The setup itself ran some of them (git add cleans through the filter): start from zero.
    let marker = f.dir.join("spy-ran.log");
    let _ = std::fs::remove_file(&marker);
    let repo_s = repo.to_str().unwrap();
    let (code, v) = f.run(&["start", "w", "--cwd", repo_s]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w", "idle");
    let (code, v) = f.run(&[
        "assign-write",
        "w",
        "--task",
        "touch scripted:touch src/b.txt",
        "--scope",
        "src",
        "--write-path",
        "src/b.txt",
    ]);
    assert_eq!(code, 0, "{v}");
    for args in [
        vec!["integration-status", "--repo", repo_s],
        vec!["commit-ready-check", "--no-tests", "--repo", repo_s],
        vec!["worktree-create", "w", "--path", ".codex-master-worktrees/w1"],
        vec!["worktree-status", "--path", ".codex-master-worktrees/w1", "--repo", repo_s],
        vec!["assignment-audit", "w"],
        vec!["last-assignment", "w"],
    ] {
        let (_, v) = f.run(&args);
        assert!(v.get("error_code").is_none() || v["error_code"] != "internal_error", "{args:?}: {v}");
    }
    let (code, v) = f.run(&["worktree-status", "--path", ".codex-master-worktrees/w1", "--repo", repo_s]);
    assert_eq!(code, 0, "the worktree was made: {v}");
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(ran.is_empty(), "programs named by the repository's configuration ran: {ran}");
}

/// Runs the real binary as the CLI with `args`; returns (code, stdout, stderr).
fn cli_raw(f: &Fleet, args: &[&str]) -> (i32, String, String) {
    let r = crate::common::cli(&f.env, args);
    (r.code, r.stdout, r.stderr)
}

#[test]
fn a_working_directory_that_tmux_could_parse_is_passed_through_whole() {
    let f = Fleet::scripted("tmux-cwd", &["w1", "w2"]);
    for (agent, name) in [("w1", "ends-with;"), ("w2", "ends-with\\;")] {
        let dir = f.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let (code, v) = f.run(&["start", agent, "--cwd", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {v}");
        f.await_state(agent, "idle");
        // The agent runs in exactly that directory.
        let out =
            f.tmux(&["display-message", "-p", "-t", &format!("=codex_agent_{agent}_mcp:"), "#{pane_current_path}"]);
        let shown = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(Path::new(&shown).canonicalize().ok(), dir.canonicalize().ok(), "{name}: pane in {shown}");
    }
    let (_, _, stderr) = cli_raw(&f, &["status"]);
    assert!(!stderr.contains("scripted-agent"), "no launch line in any message: {stderr}");
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn cli_usage_errors_never_echo_values_and_dash_texts_go_after_double_dash() {
    let f = Fleet::scripted("usage", &["w1"]);
    let secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let long = "y".repeat(3000);
    for args in [
        vec!["send", "w1", "hello", "--confirm-seconds", secret],
        vec!["tail", "w1", "--lines", "/home/someone/private/file"],
        vec!["send", "w1", "hi", "--bogus-flag-\u{1b}]0;evil\u{7}"],
        vec!["status", long.as_str()],
        vec!["send", "w1", "-rf --everything"],
    ] {
        let (code, stdout, stderr) = cli_raw(&f, &args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        for needle in [secret, "/home/someone", "\u{1b}", "\u{7}", "yyyyyyyyyy", "everything"] {
            assert!(!stderr.contains(needle) && !stdout.contains(needle), "{args:?} echoed {needle:?}: {stderr}");
        }
        let v = json_of(&stdout);
        assert_eq!(v["error_code"], "invalid_arguments", "{v}");
    }
    // A text that starts with `-` is accepted after `--`.
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("w1", "idle");
    let (code, v) = f.run(&["send", "w1", "--", "-n is a flag of echo"]);
    assert_eq!((code, v["typed"].as_bool()), (0, Some(true)), "{v}");
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly_with_the_actions_status() {
    let f = Fleet::scripted("pipe", &["w1"]);
    for (args, want) in [
        (vec!["status", "w1"], 0),
        (vec!["tools"], 0),
        (vec!["start", "w1", "--cwd", &f.cwd()], 0),
        (vec!["send", "w1", "work 1"], 0),
        (vec!["send", "nobody", "hi"], 2),
    ] {
        let mut cmd = Command::new(crate::common::BIN);
        cmd.args(&args)
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in &f.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The start happened although nobody read its answer.
    assert_eq!(f.state_of("w1"), "idle");
}

/// (RSS kB, threads, fds) of a process.
fn footprint(pid: u32) -> (u64, u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (field("VmRSS:"), field("Threads:"), fds)
}

/// Child processes of `pid` named `name`.
fn children_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // "pid (comm) state ppid ..."
            let Some((head, rest)) = stat.rsplit_once(") ") else { return false };
            let comm = head.split_once(" (").map_or("", |(_, c)| c);
            comm == name && rest.split_whitespace().nth(1).and_then(|pp| pp.parse::<u32>().ok()) == Some(pid)
        })
        .count()
}

#[test]
fn a_client_that_stops_reading_cannot_grow_the_server() {
    use std::io::Write;
    let f = Fleet::scripted("backpressure", &["w1"]);
    let mut cmd = Command::new(crate::common::BIN);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .env_remove("RUST_BACKTRACE");
    for (k, v) in &f.env {
        cmd.env(k, v);
    }
    let mut server = cmd.spawn().unwrap();
    let pid = server.id();
    let mut stdin = server.stdin.take().unwrap();
    let stdout = server.stdout.take().unwrap();
    // Write 30,000 calls from a thread; it blocks once the server stops reading.
    let writer = std::thread::spawn(move || {
        let mut batch = String::from("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}\n");
        for i in 1..=30_000 {
            batch.push_str(&format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"agent_lease_status\",\"arguments\":{{\"agent\":\"w1\"}}}}}}\n"));
            if i % 500 == 0 {
                if stdin.write_all(batch.as_bytes()).is_err() {
                    return;
                }
                batch.clear();
            }
        }
        let _ = stdin.write_all(batch.as_bytes());
        drop(stdin);
    });
    std::thread::sleep(std::time::Duration::from_secs(4));
    let (rss_kb, threads, fds) = footprint(pid);
    assert!(rss_kb < 64 * 1024, "RSS {rss_kb} kB");
    assert!(threads < 32, "{threads} threads");
    assert!(fds < 64, "{fds} fds");
    // Once the client reads again, every call gets an answer (a result or `server_busy`).
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut answered = 0;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"].as_u64().is_some_and(|i| i > 0) {
                answered += 1;
            }
        }
        answered
    });
    writer.join().unwrap();
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(reader.join().unwrap(), 30_000);
}

#[test]
fn concurrent_waits_share_one_observation_and_the_cap_answers_server_busy() {
    let f = Fleet::new("waits", "[agents.w1]\nprofile = \"scripted\"\n");
    f.run(&["start", "w1", "--cwd", &f.cwd()]);
    f.await_state("w1", "idle");
    f.run(&["send", "w1", "work 60"]);
    let mut mcp = crate::common::Mcp::spawn(&f.env);
    mcp.initialize();
    let pid = mcp.child.id();
    let total = 200u64;
    for id in 1..=total {
        mcp.send(&serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "agent_wait", "arguments": {"agent": "w1", "until": "idle", "timeout_seconds": 6}}}));
    }
    // While they wait: few tmux children, and ping stays quick.
    let mut most = 0;
    for _ in 0..20 {
        most = most.max(children_named(pid, "tmux"));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(most <= 3, "{most} tmux children at once");
    let t = std::time::Instant::now();
    assert_eq!(mcp.request(10_000, "ping", serde_json::json!({}))["result"], serde_json::json!({}));
    assert!(t.elapsed() < std::time::Duration::from_secs(1), "ping took {:?}", t.elapsed());
    let (mut busy, mut waited) = (0, 0);
    for id in 1..=total {
        let r =
            mcp.wait_for(&serde_json::json!(id), std::time::Duration::from_secs(30)).expect("every call is answered");
        match r["result"]["structuredContent"]["error_code"].as_str() {
            Some("server_busy") => {
                assert_eq!(r["result"]["structuredContent"]["retryable"], true);
                busy += 1;
            }
            None => waited += 1,
            other => panic!("{other:?}: {r}"),
        }
    }
    assert_eq!((waited, busy), (128, total - 128));
}

#[test]
fn a_broken_or_misplaced_configuration_is_reported_never_replaced_by_defaults() {
    let f = Fleet::scripted("config", &["w1"]);
    std::fs::write(f.dir.join("cfg/config.toml"), "[agents.w1\nprofile = \"scripted\"\n").unwrap();
    for args in [vec!["--help"], vec!["--version"], vec!["status", "--help"]] {
        let (code, stdout, _) = cli_raw(&f, &args);
        assert_eq!(code, 0, "{args:?} must work with a broken config: {stdout}");
    }
    let (code, stdout, _) = cli_raw(&f, &["ext", "remove", "redaction"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = cli_raw(&f, &["status"]);
    assert_eq!((code, json_of(&stdout)["error_code"].as_str()), (1, Some("config_invalid")), "{stdout}");
    // The server keeps serving and answers every call with the problem.
    let mut mcp = crate::common::Mcp::spawn(&f.env);
    mcp.initialize();
    let r = mcp.call(1, "agent_status", serde_json::json!({}));
    assert_eq!(r["structuredContent"]["error_code"], "config_invalid", "{r}");
    drop(mcp);

    // Relative overrides are errors, not silently ignored (the default agents would take over).
    std::fs::write(f.dir.join("cfg/config.toml"), "[agents.w1]\nprofile = \"scripted\"\n").unwrap();
    for var in ["CODEX_MASTER_MCP_CONFIG_DIR", "CODEX_MASTER_MCP_STATE_DIR", "CODEX_MASTER_TMUX_SOCKET"] {
        let mut env = f.env.clone();
        env.retain(|(k, _)| k != var);
        env.push((var.to_owned(), "relative/dir".to_owned()));
        let r = crate::common::cli(&env, &["status"]);
        let v = json_of(&r.stdout);
        assert_eq!((r.code, v["error_code"].as_str()), (1, Some("config_invalid")), "{var}: {}", r.stdout);
        assert!(v["message"].as_str().unwrap().contains(var), "{v}");
    }
}

#[test]
fn the_sweep_takes_only_our_debris_and_a_shared_state_root_is_refused_not_remoded() {
    let f = Fleet::scripted("sweep", &["w1"]);
    let (code, _) = f.run(&["status"]);
    assert_eq!(code, 0);
    let state = f.dir.join("state");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let ours = ".w1.json.0123456789abcdef0123456789abcdef.tmp";
    for (dir, name) in [
        ("meta", ours),
        ("meta", ".editor-swap.tmp"),
        (".", ".someone-elses.tmp"),
        ("leases", ".x.NOTHEX0123456789abcdef01234567.tmp"),
    ] {
        let p = state.join(dir).join(name);
        std::fs::write(&p, "x").unwrap();
        let file = std::fs::File::options().write(true).open(&p).unwrap();
        file.set_modified(old).unwrap();
    }
    let (code, v) = f.run(&["watchdog", "--dry-run"]);
    assert_eq!(code, 0, "{v}");
    let mut mcp = crate::common::Mcp::spawn(&f.env);
    mcp.initialize();
    drop(mcp);
    assert!(!state.join("meta").join(ours).exists(), "our own debris is swept");
    for (dir, name) in
        [("meta", ".editor-swap.tmp"), (".", ".someone-elses.tmp"), ("leases", ".x.NOTHEX0123456789abcdef01234567.tmp")]
    {
        assert!(state.join(dir).join(name).exists(), "{name} is not ours and must stay");
    }

    // A state root that others can write is refused, and its mode is left as it was.
    let shared = f.dir.join("shared-state");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut env = f.env.clone();
    env.retain(|(k, _)| k != "CODEX_MASTER_MCP_STATE_DIR");
    env.push(("CODEX_MASTER_MCP_STATE_DIR".into(), shared.display().to_string()));
    let r = crate::common::cli(&env, &["lease-status"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("writable by other users"), "{}", r.stdout);
    assert_eq!(std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777, 0o1777, "the mode was changed");
}

#[test]
fn a_symlinked_home_ancestor_is_trusted_once_and_walked_no_follow_below() {
    // /home → /var/home style: HOME is reached through a symlink.
    let f = Fleet::scripted("symhome", &["w1"]);
    let real = f.dir.join("var-home/user");
    std::fs::create_dir_all(&real).unwrap();
    let link = f.dir.join("home-link");
    std::os::unix::fs::symlink(f.dir.join("var-home"), &link).unwrap();
    let home = link.join("user");
    let mut env: Vec<(String, String)> = f
        .env
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "HOME" | "CODEX_MASTER_MCP_STATE_DIR" | "CODEX_MASTER_MCP_CONFIG_DIR"))
        .cloned()
        .collect();
    env.push(("HOME".into(), home.display().to_string()));
    std::fs::create_dir_all(real.join(".config/codex-master-mcp")).unwrap();
    std::fs::write(real.join(".config/codex-master-mcp/config.toml"), "[agents.w1]\nprofile = \"scripted\"\n").unwrap();
    let r = crate::common::cli(&env, &["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(real.join(".local/state/codex-master-mcp/meta").is_dir(), "the state tree is under the real home");
    let r = crate::common::cli(&env, &["stop", "w1"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // Below the home, a symlink is still refused.
    std::fs::rename(real.join(".local/state"), real.join(".local/state-real")).unwrap();
    std::os::unix::fs::symlink(real.join(".local/state-real"), real.join(".local/state")).unwrap();
    let r = crate::common::cli(&env, &["lease-status"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("symlink"), "{}", r.stdout);
}

#[test]
fn an_interrupted_demo_leaves_nothing_behind() {
    use std::io::BufRead;
    let dir = crate::common::TempDir::new("demo-int");
    // A short TMPDIR: the demo's tmux socket lives below it.
    let tmp = PathBuf::from(format!("/tmp/cmdi-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(crate::common::BIN);
    cmd.arg("demo")
        .env("TMPDIR", &tmp)
        .env("HOME", dir.path())
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut demo = cmd.spawn().unwrap();
    let stdout = std::io::BufReader::new(demo.stdout.take().unwrap());
    // Interrupt once the agents run (their tmux server and raw-log writers exist).
    let mut seen = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        if line.contains("2. send each a task") {
            break;
        }
    }
    assert!(seen.contains("2. send each a task"), "the demo did not get going: {seen} {:?}", {
        use std::io::Read;
        let mut e = String::new();
        let _ = demo.stderr.take().unwrap().read_to_string(&mut e);
        e
    });
    let root = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("codex-master-demo-"))
        .unwrap_or_else(|| {
            panic!(
                "no demo dir in {:?}: {:?}",
                tmp,
                std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.path()).collect::<Vec<_>>()
            )
        });
    let socket = root.join("tmux.sock");
    assert!(Command::new("tmux").arg("-S").arg(&socket).arg("ls").output().unwrap().status.success(), "the agents run");
    // SAFETY: signals our own child.
    unsafe { libc::kill(demo.id() as i32, libc::SIGINT) };
    let status = demo.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!root.exists(), "the temp dir is gone");
    assert!(
        !Command::new("tmux").arg("-S").arg(&socket).arg("ls").output().unwrap().status.success(),
        "the tmux server is gone"
    );
    // No process of ours refers to the demo's dir any more (server, agents, raw-log writers).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let needle = root.to_string_lossy().into_owned();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(&needle).then_some(text)
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn fields_read_back_are_allowlisted_plain_text_and_pids_are_not_returned() {
    let f = Fleet::new(
        "fields",
        "[agents.w1]\nprofile = \"scripted\"\nlabel = \"Evil \\u001b]0;pwned\\u0007 \\u202Etxt.exe\"\n",
    );
    let (code, v) = f.run(&["start", "w1", "--cwd", &f.cwd()]);
    assert_eq!(code, 0, "{v}");
    assert!(v["results"][0].get("pid").is_none(), "{v}");
    f.await_state("w1", "idle");
    // Tampered private state: a model with an escape sequence, a ledger line with a fake holder.
    let meta_path = f.dir.join("state/meta/w1.json");
    let mut meta: Value = serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["model"] = Value::String("gpt\u{1b}[2J-evil".into());
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let ledger = f.dir.join("state/assignments.jsonl");
    std::fs::write(&ledger, "{\"kind\":\"assignment\",\"assignment_id\":\"a1\",\"agent\":\"w1\",\"role\":\"\u{1b}]0;x\u{7}\",\"lease\":{\"holder\":\"alice@example.com\"},\"scope\":[\"src/\u{202E}gpj.exe\"],\"name\":\"n\u{1b}[31m\"}\n").unwrap();
    let (_, st) = f.run(&["status", "w1"]);
    let st = &st["results"][0];
    let label = st["label"].as_str().unwrap();
    assert!(
        !label.contains('\u{1b}')
            && !label.contains('\u{7}')
            && !label.contains('\u{202E}')
            && label.starts_with("Evil"),
        "{label:?}"
    );
    assert!(st.get("pid").is_none(), "{st}");
    assert!(st["model"].as_str().is_none_or(|m| !m.contains('\u{1b}')), "{st}");
    let (_, list) = f.run(&["assignments", "w1"]);
    let text = list.to_string();
    for bad in ["alice@example.com", "\\u001b", "\\u202e", "\u{202E}", "\u{1b}"] {
        assert!(!text.to_lowercase().contains(&bad.to_lowercase()), "{bad:?} came back: {text}");
    }
}

#[test]
fn runners_leases_and_generations_that_cannot_be_trusted_are_refused() {
    let f = Fleet::new("trust", "");
    let real = f.dir.join("bin-real");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, f.dir.join("bin-link")).unwrap();
    let script = "#!/bin/sh\nexec sleep 30\n";
    let mut config = String::new();
    for (agent, path, mode) in [
        ("suid", real.join("suid-runner"), 0o4755),
        ("open", real.join("open-runner"), 0o777),
        ("via-link", real.join("ok-runner"), 0o755),
    ] {
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let shown = if agent == "via-link" { f.dir.join("bin-link/ok-runner") } else { path };
        config.push_str(&format!("[agents.{agent}]\nprofile = \"generic\"\nrunner = \"{}\"\n", shown.display()));
    }
    config.push_str("[agents.w]\nprofile = \"scripted\"\n");
    std::fs::write(f.dir.join("cfg/config.toml"), config).unwrap();
    for agent in ["suid", "open", "via-link"] {
        let (code, v) = f.run(&["start", agent, "--cwd", &f.cwd()]);
        assert_eq!((code, v["results"][0]["error_code"].as_str()), (1, Some("runner_not_executable")), "{agent}: {v}");
    }
    // A lease at the last generation cannot grow: refused, never wrapped to 0.
    let (code, _) = f.run(&["lease-status", "w"]);
    assert_eq!(code, 0);
    let lease = f.dir.join("state/leases/w.json");
    std::fs::write(&lease, format!("{{\"agent\":\"w\",\"owner\":null,\"generation\":{},\"created_at_utc\":\"x\",\"updated_at_utc\":\"x\",\"expires_at_epoch\":0,\"expires_at_utc\":\"x\",\"ttl_seconds\":0}}", u64::MAX)).unwrap();
    let (code, v) = f.run(&["claim", "w"]);
    assert_eq!(code, 1, "{v}");
    assert_ne!(v["lease"]["generation"], 0, "{v}");
    // A lease file another user wrote is not trusted (needs root to set up).
    if rustix::process::geteuid().is_root() {
        std::fs::write(&lease, "{\"agent\":\"w\",\"owner\":\"cli-user-0\",\"generation\":3,\"created_at_utc\":\"x\",\"updated_at_utc\":\"x\",\"expires_at_epoch\":9999999999,\"expires_at_utc\":\"x\",\"ttl_seconds\":60}").unwrap();
        std::os::unix::fs::chown(&lease, Some(65534), Some(65534)).unwrap();
        let (_, v) = f.run(&["lease-status", "w"]);
        assert_eq!(v["results"][0]["state"], "unreadable", "{v}");
    }
}

/// `commit_ready_check --no-tests` compiles; it runs no file of the repository: neither a
/// `compileall.py` that would shadow the standard module nor a `src/sitecustomize.py`.
#[test]
fn the_compile_check_runs_no_repository_code() {
    let f = Fleet::scripted("compile-check-isolated", &["w"]);
    let repo = f.dir.join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::create_dir_all(repo.join("tests")).unwrap();
    git(&repo, &["init", "-q"]);
    let ran = f.dir.join("repository-code-ran");
    let plant = |p: &str| {
        std::fs::write(repo.join(p), format!("open({:?}, 'a').write({p:?} + '\\n')\n", ran.display().to_string()))
            .unwrap()
    };
    plant("compileall.py");
    plant("src/sitecustomize.py");
    plant("src/usercustomize.py");
    std::fs::write(repo.join("src/calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    std::fs::write(repo.join("tests/test_calc.py"), "import unittest\n").unwrap();
    let (code, v) = f.run(&["commit-ready-check", "--no-tests", "--repo", repo.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    let names: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["diff_check", "compileall", "unittest"], "{v}");
    assert_eq!((v["checks"][1]["ok"].as_bool(), v["checks"][1]["skipped"].as_bool()), (Some(true), Some(false)), "{v}");
    assert!(!ran.exists(), "repository code ran: {}", std::fs::read_to_string(&ran).unwrap_or_default());
    // Nothing was written into the repository either.
    assert!(!repo.join("src/__pycache__").exists());
}

/// A prompt or a model that starts with `-` never becomes an option of the worker CLI: the
/// profiles that know their CLI pass it as a value, a CLI we know nothing of refuses it.
#[test]
fn a_prompt_or_model_never_becomes_an_option() {
    let f = Fleet::new(
        "dash-prompt",
        "[agents.g]\nprofile = \"generic\"\nrunner = \"/bin/sh\"\n[agents.s]\nprofile = \"scripted\"\n",
    );
    let (code, v) = f.run(&["start", "g", "--cwd", &f.cwd(), "--prompt=--dangerously-skip-permissions"]);
    assert_eq!((code, v["results"][0]["error_code"].as_str()), (1, Some("invalid_arguments")), "{v}");
    for model in ["-c", "--yolo", "/home/user/model", "../x", "~/m"] {
        let (code, v) = f.run(&["start", "s", "--cwd", &f.cwd(), &format!("--model={model}")]);
        assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")), "{model}: {v}");
    }
    let (code, v) = f.run(&["status", "s"]);
    assert_eq!((code, v["results"][0]["state"].as_str()), (0, Some("not_running")), "nothing started: {v}");
}

/// A worker's launch script holds its secrets until it runs: a start that fails before then
/// removes it, and a server sweeps the ones a crash left behind.
#[test]
fn a_launch_script_never_outlives_a_failed_start() {
    let mut f = Fleet::new(
        "launch-script",
        "[agents.w]\nprofile = \"scripted\"\n[agents.w.env]\nWORKER_TOKEN = \"tok-1234567890-secret\"\n",
    );
    // A tmux socket in a directory that does not exist: the session cannot start.
    for (k, v) in f.env.iter_mut() {
        if k == "CODEX_MASTER_TMUX_SOCKET" {
            *v = f.dir.join("no-such-dir/tmux.sock").display().to_string();
        }
    }
    let (code, v) = f.run(&["start", "w", "--cwd", &f.cwd()]);
    assert_eq!(code, 1, "{v}");
    let launch = f.dir.join("state/launch");
    let left: Vec<_> =
        std::fs::read_dir(&launch).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "launch scripts left behind: {left:?}");

    // One a crash left (an hour old) is swept when a server starts; a fresh one is not.
    std::fs::create_dir_all(&launch).unwrap();
    std::fs::write(launch.join("20261207T000000000000Z-w.sh"), "export WORKER_TOKEN=tok\n").unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(launch.join("20261207T000000000000Z-w.sh"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    std::fs::write(launch.join("20261207T999999999999Z-w.sh"), "fresh\n").unwrap();
    let mut server = crate::common::Mcp::spawn(&f.env);
    server.initialize();
    assert!(!launch.join("20261207T000000000000Z-w.sh").exists(), "the stale script was not swept");
    assert!(launch.join("20261207T999999999999Z-w.sh").exists(), "a fresh script (a start in progress) stays");
    server.close();
}

/// `uninstall` removes only the binary install placed: a tampered manifest that names another
/// file (with that file's true digest) deletes nothing.
#[test]
fn uninstall_never_deletes_a_file_a_tampered_manifest_names() {
    let f = Fleet::scripted("uninstall-tampered", &["w"]);
    let victim = f.dir.join("home/precious.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    let renamed = f.dir.join("home/codex-master-mcp");
    std::fs::write(&renamed, "not our executable\n").unwrap();
    let sha = |p: &Path| {
        let out = Command::new("sha256sum").arg(p).output().unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
    };
    std::fs::create_dir_all(f.dir.join("state")).unwrap();
    std::fs::set_permissions(f.dir.join("state"), std::fs::Permissions::from_mode(0o700)).unwrap();
    for target in [&victim, &renamed] {
        let manifest = serde_json::json!({"binary_path": target.display().to_string(), "binary_sha256": sha(target), "registered": false, "codex_home": "", "units": false});
        std::fs::write(f.dir.join("state/install.json"), manifest.to_string()).unwrap();
        let (code, v) = f.run(&["uninstall"]);
        assert_eq!((code, v["binary"].as_str()), (0, Some("left_in_place")), "{v}");
        assert!(target.exists(), "{} was deleted", target.display());
    }
}

/// An install either completes or leaves nothing: when Codex refuses the registration, the
/// binary it placed, the captured variables and Codex's config.toml are as they were.
#[test]
fn a_failed_install_leaves_nothing_behind() {
    let f = Fleet::scripted("install-rollback", &["w"]);
    let codex_home = f.dir.join("home/.codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let before = "# my settings\nmodel = \"m\"\n";
    std::fs::write(codex_home.join("config.toml"), before).unwrap();
    // A codex that lists nothing and fails to add, after touching its config.
    let fake = f.dir.join("fake-codex");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$2\" in\n  get) exit 1;;\n  add) echo 'half = 1' >> \"$CODEX_HOME/config.toml\"; exit 1;;\n  *) exit 1;;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = f.dir.join("bin");
    let mut env = f.env.clone();
    env.push(("CODEX_HOME".into(), codex_home.display().to_string()));
    let r =
        crate::common::cli(&env, &["install", "--codex", fake.to_str().unwrap(), "--bin-dir", bin.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!bin.join("codex-master-mcp").exists(), "the placed binary stays behind");
    let left: Vec<_> =
        std::fs::read_dir(&bin).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read_to_string(codex_home.join("config.toml")).unwrap(), before);
    assert!(!f.dir.join("state/install.json").exists());
}

#[test]
fn resume_refuses_a_recorded_directory_that_was_replaced_by_a_symlink() {
    let f = Fleet::scripted("resume-swap", &["a"]);
    let work = f.dir.join("work");
    let project = work.join("project");
    let elsewhere = f.dir.join("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (code, v) = f.run(&["start", "a", "--cwd", &project.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    f.await_state("a", "idle");
    f.run(&["stop", "a"]);
    let meta = || std::fs::read_to_string(f.dir.join("state/meta/a.json")).unwrap();
    let recorded = meta();

    // The last component, then a parent, swapped for a symlink to another directory.
    std::fs::rename(&project, work.join("project-moved")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &project).unwrap();
    let (_, v) = f.run(&["start", "a", "--resume"]);
    assert_eq!(v["results"][0]["error_code"], "resume_cwd_changed", "{v}");
    std::fs::remove_file(&project).unwrap();
    std::fs::rename(work.join("project-moved"), &project).unwrap();
    let moved = f.dir.join("work-moved");
    std::fs::rename(&work, &moved).unwrap();
    std::fs::create_dir_all(elsewhere.join("project")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &work).unwrap();
    let (_, v) = f.run(&["start", "a", "--resume"]);
    assert_eq!(v["results"][0]["error_code"], "resume_cwd_changed", "{v}");
    assert_eq!(meta(), recorded, "the metadata still names the recorded directory");
    assert_eq!(f.state_of("a"), "not_running", "nothing started");

    // Put back, the same resume works.
    std::fs::remove_file(&work).unwrap();
    std::fs::rename(&moved, &work).unwrap();
    let (code, v) = f.run(&["start", "a", "--resume"]);
    assert_eq!((code, v["results"][0]["resumed"].as_bool()), (0, Some(true)), "{v}");
}

#[test]
fn a_cancelled_start_is_either_completed_or_never_begun() {
    use crate::common::Mcp;
    use serde_json::json;
    let f = Fleet::new(
        "start-cancel",
        "[agents.a]\nprofile = \"scripted\"\n[agents.a.env]\nWORKER_TOKEN = \"tok-1234567890-secret\"\n",
    );
    let state = f.dir.join("state");
    let run_id = || -> Option<String> {
        let meta: Value = serde_json::from_slice(&std::fs::read(state.join("meta/a.json")).ok()?).ok()?;
        meta["run_id"].as_str().map(str::to_owned)
    };
    let mut mcp = Mcp::spawn(&f.env);
    mcp.initialize();
    let mut last_run = None;
    let mut outcomes = Vec::new();
    // Cancelled at points all through a start (it takes a few hundred milliseconds).
    for (i, delay) in [0u64, 5, 15, 30, 50, 80, 120, 180, 260, 400].into_iter().enumerate() {
        let id = 100 + i as i64;
        mcp.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "agent_start", "arguments": {"agent": "a", "cwd": f.cwd()}}}));
        std::thread::sleep(std::time::Duration::from_millis(delay));
        mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id, "reason": "test"}}));
        // What was under way settles (a start runs on to its end).
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let running = f.state_of("a") != "not_running";
        let run = run_id();
        let lease = f.run(&["lease-status", "a"]).1;
        assert_ne!(lease["results"][0]["state"], "held", "delay {delay}: a cancelled start holds no lease: {lease}");
        let scripts = std::fs::read_dir(state.join("launch")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(scripts, 0, "delay {delay}: no launch script with the worker's secrets stays");
        if running {
            assert!(run.is_some() && run != last_run, "delay {delay}: a running session has this run's metadata");
            let raw = run.clone().unwrap() + ".log";
            let logs: Vec<String> = std::fs::read_dir(state.join("raw"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            assert!(logs.contains(&raw), "delay {delay}: and its raw log: {logs:?}");
            assert_eq!(f.run(&["stop", "a"]).0, 0);
            last_run = run;
        } else {
            assert_eq!(run, last_run, "delay {delay}: no start, no new metadata");
        }
        outcomes.push(running);
    }
    assert!(outcomes.contains(&true), "{outcomes:?}");
    assert_eq!(mcp.request(999, "ping", json!({}))["result"], json!({}));
}
