//! Assignments, the ledger, skills and worktrees against real git, real tmux and the scripted
//! agent, through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fleet::Fleet;
use crate::common::{cli, Mcp, TempDir};
use serde_json::{json, Value};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository with `src/a.txt`, `docs/readme.md`, one commit.
fn repo_at(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(repo.join("src/a.txt"), "a\n").unwrap();
    std::fs::write(repo.join("docs/readme.md"), "docs\n").unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "init"]);
    repo
}

fn skill(home: &Path, rel: &str, name: &str) {
    let dir = home.join(rel);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SKILL.md"), format!("---\nname: {name}\ndescription: The {name} skill.\n---\nSECRET BODY sk-proj-abcdefghijklmnopqrstuvwxyz0123456789\n")).unwrap();
}

/// A fleet of scripted agents with a Codex-like home holding skills, a transcript per agent,
/// and a repository the agents start in.
struct World {
    f: Fleet,
    repo: PathBuf,
}

impl World {
    fn new(tag: &str, agents: &[&str]) -> World {
        let f = Fleet::new(tag, "");
        let home = f.dir.join("home/codex");
        skill(&home, "skills/.system/imagegen", "imagegen");
        skill(&home, ".tmp/plugins/plugins/codex-security/skills/security-scan", "security-scan");
        skill(&home, "plugins/cache/openai-curated/github/1.0.0/skills/gh-fix-ci", "gh-fix-ci");
        let toml: String = agents
            .iter()
            .map(|a| {
                format!(
                    "[agents.{a}]\nprofile = \"scripted\"\nhome = \"{}\"\nargs = [\"--work-seconds\", \"0\", \"--transcript\", \"{}\"]\n",
                    home.display(),
                    f.dir.join(&format!("{a}.transcript")).display()
                )
            })
            .collect();
        std::fs::write(f.dir.join("cfg/config.toml"), toml).unwrap();
        let repo = repo_at(f.dir.path());
        World { f, repo }
    }

    fn start(&self, agent: &str) {
        let (code, v) = self.f.run(&["start", agent, "--cwd", self.repo.to_str().unwrap()]);
        assert_eq!(code, 0, "{v}");
        self.f.await_state(agent, "idle");
    }

    fn transcript(&self, agent: &str) -> String {
        std::fs::read_to_string(self.f.dir.join(&format!("{agent}.transcript"))).unwrap_or_default()
    }

    fn ledger(&self) -> String {
        std::fs::read_to_string(self.f.dir.join("state/assignments.jsonl")).unwrap_or_default()
    }
}

fn refusal(v: &Value) -> (&str, &str) {
    (v["error_code"].as_str().unwrap_or(""), v["reason"].as_str().unwrap_or(""))
}

#[test]
fn every_refusal_comes_before_anything_is_sent_or_recorded() {
    let w = World::new("assign-refuse", &["w"]);
    // A link inside the scope that leads out of it, in the agent's repository only: the server's
    // own working directory has no such link, so this catches resolution against the wrong cwd.
    std::fs::create_dir_all(w.f.dir.join("outside")).unwrap();
    std::os::unix::fs::symlink(w.f.dir.join("outside"), w.repo.join("src/link")).unwrap();
    w.start("w");
    let r = |args: &[&str]| w.f.run(args);

    let (code, v) = r(&["assign", "w", "--role", "exploriererin", "--task", "look", "--write-path", "src/a.txt"]);
    assert_eq!((code, refusal(&v)), (1, ("assignment_refused", "write_paths_not_allowed")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("must not include write paths"));
    let (_, v) = r(&["assign", "w", "--role", "arbeitsbiene", "--task", "fix", "--scope", "src"]);
    assert_eq!(refusal(&v), ("assignment_refused", "write_paths_required"), "{v}");
    for write in ["docs/x.md", "src/../docs/x.md", "src/link/x", "SRC/a.txt", "/etc/passwd"] {
        let (_, v) = r(&[
            "assign-write",
            "w",
            "--task",
            "fix",
            "--scope",
            "src",
            "--write-path",
            "src/a.txt",
            "--write-path",
            write,
        ]);
        assert_eq!(refusal(&v), ("assignment_refused", "write_path_outside_scope"), "{write}: {v}");
        // The refusal says which item broke the rule, and never echoes it.
        assert_eq!(v["violating_write_path_indexes"], json!([1]), "{write}: {v}");
        assert!(!v.to_string().contains(write), "{write} echoed: {v}");
    }
    // The scope-check tool resolves against the agent's directory when asked to.
    let (_, v) = r(&[
        "scope-check",
        "--agent",
        "w",
        "--scope",
        "src",
        "--write-path",
        "src/link/x",
        "--write-path",
        "src/a.txt",
    ]);
    assert_eq!((v["allowed"].as_bool(), v["cwd_state"].as_str()), (Some(false), Some("agent_cwd")), "{v}");
    assert_eq!(v["violations"], json!(["src/link/x"]));
    let (_, v) = r(&["assign-readonly", "w", "--task", "scan", "--skill", "nope:missing"]);
    assert_eq!(refusal(&v), ("assignment_refused", "skill_not_found"), "{v}");
    assert!(!v.to_string().contains("nope:missing"), "the skill name was echoed: {v}");
    // The schema bounds come first of all.
    let long = "x".repeat(4001);
    let (code, v) = r(&["assign-readonly", "w", "--task", &long]);
    assert_eq!((code, v["error_code"].as_str()), (1, Some("invalid_arguments")), "{v}");

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.transcript("w"), "", "a refused assignment reached the agent");
    assert_eq!(w.ledger(), "", "a refused assignment was recorded");
    let (_, v) = r(&["assignments"]);
    assert_eq!(v["record_count"], json!(0));
    // And the lease was not left behind.
    let (_, v) = r(&["lease-status", "w"]);
    assert_eq!(v["results"][0]["state"], json!("unclaimed"), "{v}");
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn assign_work_audit_cycle_flags_the_out_of_scope_file_and_the_ledger_keeps_metadata_only() {
    let w = World::new("assign-cycle", &["w1", "w2"]);
    // A change that was already there before the assignment is not the agent's doing.
    std::fs::write(w.repo.join("docs/draft.md"), "mine\n").unwrap();
    w.start("w1");
    w.start("w2");

    let (code, v) = w.f.run(&[
        "assign-write",
        "w1",
        "--task",
        "Fix it. scripted:touch src/new.txt docs/leak.txt",
        "--scope",
        "src",
        "--write-path",
        "src/new.txt",
        "--skill",
        "codex-security:security-scan",
        "--allow-subagents",
        "--context",
        "ctx-line-secret",
    ]);
    assert_eq!(code, 0, "{v}");
    let id = v["assignment_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (v["status"].as_str(), v["role"].as_str(), v["model"].as_str()),
        (Some("assigned"), Some("arbeitsbiene"), Some("gpt-5.3-codex-spark"))
    );
    assert_eq!(
        (v["write_policy"].as_str(), v["subagents_allowed"].as_bool(), v["audit_baseline"].as_str()),
        (Some("explicit_paths_only"), Some(true), Some("recorded"))
    );
    assert_eq!(v["skill"]["available"], json!(true));
    assert_eq!(v["prompt_output"], json!("not_returned"));
    assert!(!v.to_string().contains("Fix it") && !v.to_string().contains(w.repo.to_str().unwrap()), "{v}");

    // The agent got the structured prompt, with the id quoted in it.
    wait_for("the agent's files", || w.repo.join("docs/leak.txt").exists() && w.repo.join("src/new.txt").exists());
    let got = w.transcript("w1");
    assert!(
        got.contains("[WORK_BEE_TASK]")
            && got.contains(&id)
            && got.contains("Darf eigene Subagentinnen starten: ja, nur innerhalb Scope und Schreibpfaden"),
        "{got}"
    );

    let (_, last) = w.f.run(&["last-assignment", "w1"]);
    assert_eq!(last["status"], json!("found"));
    assert_eq!(last["record"]["assignment_id"], json!(id));
    assert_eq!(last["record"]["delivery"], json!("submitted"), "{last}");
    let audit = &last["audit"];
    assert_eq!(audit["status"], json!("out_of_scope_changes"), "{last}");
    assert_eq!(audit["out_of_scope"], json!(["docs/leak.txt"]), "{audit}");
    assert_eq!((audit["in_scope_count"].as_u64(), audit["changed_count"].as_u64()), (Some(1), Some(2)), "{audit}");
    let (_, again) = w.f.run(&["assignment-audit", "w1", "--assignment-id", &id]);
    assert_eq!(again["out_of_scope"], audit["out_of_scope"]);

    // A read-only assignment: any change at all is out of scope.
    let (code, v) = w.f.run(&["assign-readonly", "w2", "--task", "Look around.", "--scope", "docs"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["model"].as_str(), v["write_policy"].as_str()), (Some("gpt-5.4-mini"), Some("read_only")));
    wait_for("the explorer prompt", || w.transcript("w2").contains("[EXPLORER_BEE_TASK]"));
    assert!(w.transcript("w2").contains("Darf eigene Subagentinnen starten: nein"));
    let (_, audit) = w.f.run(&["assignment-audit", "w2"]);
    // w1's leak landed before w2's assignment, so w2 is clean.
    assert_eq!(audit["status"], json!("clean"), "{audit}");

    // A report request can quote the assignment.
    let (_, rr) = w.f.run(&["report-request", "w1", "--assignment-id", &id]);
    assert_eq!(rr["status"], json!("report_requested"), "{rr}");

    // Two servers assign at the same moment: both records land.
    let spawn = |who: &str| {
        let mut m = Mcp::spawn(&w.f.env_as(who));
        m.initialize();
        m
    };
    let (mut m1, mut m2) = (spawn("lead-one"), spawn("lead-two"));
    for (m, agent) in [(&mut m1, "w1"), (&mut m2, "w2")] {
        w.f.run(&["release", agent]);
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "agent_assign_readonly", "arguments": {"agent": agent, "task": "Report status."}}});
        m.send(&call);
    }
    for m in [&mut m1, &mut m2] {
        let r = m.wait_for(&json!(7), Duration::from_secs(30)).expect("an assignment answer");
        assert_eq!(r["result"]["isError"], json!(false), "{r}");
    }
    let (_, all) = w.f.run(&["assignments", "--limit", "100"]);
    assert_eq!(all["record_count"], json!(4), "{all}");

    // The ledger is metadata only: no task, context, prompt or skill body; private mode.
    let ledger = w.ledger();
    for secret in ["Fix it", "ctx-line-secret", "WORK_BEE", "SECRET BODY", "Look around", w.repo.to_str().unwrap()] {
        assert!(!ledger.contains(secret), "the ledger holds {secret:?}");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(w.f.dir.join("state/assignments.jsonl")).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn skills_are_counted_paged_matched_and_never_read_through_symlinks() {
    let w = World::new("skills", &["w"]);
    let home = w.f.dir.join("home/codex");
    for i in 0..26 {
        skill(&home, &format!(".tmp/plugins/plugins/p{i:02}/skills/s{i}"), &format!("s{i}"));
    }
    // A symlinked SKILL.md and a symlinked directory are not skills.
    skill(&w.f.dir.join("elsewhere"), "linked", "linked-skill");
    std::fs::create_dir_all(home.join("skills/via-file")).unwrap();
    std::os::unix::fs::symlink(w.f.dir.join("elsewhere/linked/SKILL.md"), home.join("skills/via-file/SKILL.md"))
        .unwrap();
    std::os::unix::fs::symlink(w.f.dir.join("elsewhere"), home.join("skills/via-dir")).unwrap();

    let (code, v) = w.f.run(&["skills", "w", "--include-names", "--limit", "10"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["results"][0];
    assert_eq!(r["total"], json!(29), "{r}");
    assert_eq!((r["plugin_count"].as_u64(), r["plugins_truncated"].as_bool()), (Some(28), Some(true)));
    assert_eq!(r["plugins"].as_object().unwrap().len(), 20);
    assert_eq!(r["system_skills"], json!(["imagegen"]));
    assert_eq!((r["names"].as_array().unwrap().len(), r["names_truncated"].as_bool()), (10, Some(true)));
    assert_eq!(r["names"][0]["description"].as_str().map(|d| d.starts_with("The ")), Some(true));
    let text = v.to_string();
    assert!(
        !text.contains("SECRET BODY")
            && !text.contains("linked-skill")
            && !text.contains(w.f.dir.path().to_str().unwrap()),
        "{text}"
    );
    let (_, page) = w.f.run(&["skills", "w", "--plugins-offset", "20", "--plugins-limit", "10"]);
    assert_eq!(page["results"][0]["plugins"].as_object().unwrap().len(), 8);
    assert_eq!(page["results"][0]["plugins_truncated"], json!(false));

    let (_, m) = w.f.run(&["skill-match", "github:gh-fix-ci", "--agent", "w"]);
    assert_eq!(
        (m["results"][0]["available"].as_bool(), m["results"][0]["matches"][0]["plugin"].as_str()),
        (Some(true), Some("github@openai-curated")),
        "{m}"
    );
    let (_, m) = w.f.run(&["skill-match", "linked-skill"]);
    assert_eq!(m["results"][0]["available"], json!(false));
    let (_, c) = w.f.run(&["capabilities", "w"]);
    let c = &c["results"][0];
    assert_eq!(
        (c["models"]["write"].as_str(), c["master_mcp_tools"].as_str(), c["plugin_page_count"].as_u64()),
        (Some("gpt-5.3-codex-spark"), Some("not_configured_for_agent"), Some(20))
    );
}

#[test]
fn worktrees_refuse_every_attack_before_touching_anything() {
    let dir = TempDir::new("worktrees");
    let repo = repo_at(dir.path());
    let f = Fleet::scripted("wt-fleet", &["w"]);
    let repo_s = repo.to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--repo", repo_s.as_str()]);
        f.run(&all)
    };
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), repo.join("out-link")).unwrap();
    std::fs::create_dir_all(repo.join("real")).unwrap();
    std::os::unix::fs::symlink(repo.join("real"), repo.join("in-link")).unwrap();
    std::os::unix::fs::symlink(repo.join("missing-target"), repo.join("dangling")).unwrap();
    std::fs::write(repo.join("a-file"), "x").unwrap();

    let refused = |args: &[&str], message: &str| {
        let (code, v) = run(args);
        assert_eq!((code, v["error_code"].as_str()), (1, Some("worktree_refused")), "{args:?}: {v}");
        assert_eq!(v["message"].as_str(), Some(message), "{args:?}");
        assert!(!v.to_string().contains(dir.path().to_str().unwrap()), "a path leaked: {v}");
    };
    refused(&["worktree-create", "w", "--path", "../outside/agent-a"], "worktree path must stay inside repo");
    refused(
        &["worktree-create", "w", "--path", dir.join("outside/abs").to_str().unwrap()],
        "worktree path must stay inside repo",
    );
    refused(&["worktree-create", "w", "--path", "out-link/x"], "worktree path must stay inside repo");
    refused(&["worktree-create", "w", "--path", ".git/x"], "worktree path must stay inside repo");
    refused(&["worktree-create", "w", "--path", "in-link/x"], "worktree parent directories must be real directories");
    refused(&["worktree-create", "w", "--path", "a-file/x"], "worktree parent directories must be real directories");
    refused(&["worktree-create", "w", "--path", "dangling"], "worktree path already exists");
    refused(&["worktree-create", "w", "--path", "src"], "worktree path already exists");
    refused(
        &["worktree-create", "w", "--path", "wt/opt", "--base-ref=--orphan"],
        "base_ref is not a valid revision name",
    );
    refused(
        &["worktree-create", "w", "--path", "wt/nope", "--base-ref", "no-such-branch"],
        "base_ref does not name a commit in the repository",
    );
    assert!(std::fs::read_dir(dir.join("outside")).unwrap().next().is_none(), "something was created outside");
    assert!(!repo.join("real/x").exists() && !repo.join("wt").exists(), "a refused request left directories behind");

    let (code, v) = run(&["worktree-create", "w", "--path", "wt/agent-w", "--base-ref", "HEAD"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["path"].as_str(), v["path_kind"].as_str()), (Some("wt/agent-w"), Some("repo_relative")));
    assert!(repo.join("wt/agent-w/src/a.txt").is_file());
    let (code, v) = run(&["worktree-create", "w"]);
    assert_eq!(code, 0, "{v}");
    let default = v["path"].as_str().unwrap();
    assert!(default.starts_with(".codex-master-worktrees/agent-w-"), "{default}");
    // The default container keeps itself out of the repository's status.
    let st = Command::new("git").args(["status", "--porcelain"]).current_dir(&repo).output().unwrap();
    assert!(!String::from_utf8_lossy(&st.stdout).contains(".codex-master-worktrees"));

    refused(&["worktree-status", "--path", "in-link"], "worktree status path must be a real directory");
    refused(&["worktree-status", "--path", "a-file"], "worktree status path must be a real directory");
    refused(&["worktree-status", "--path", "../outside"], "worktree status path must stay inside repo");
    refused(&["worktree-status", "--path", "out-link"], "worktree status path must stay inside repo");
    std::fs::write(repo.join("wt/agent-w/src/a.txt"), "changed\n").unwrap();
    let (code, v) = run(&["worktree-status", "--path", "wt/agent-w"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["status"]["output_excerpt"].as_str().unwrap().contains("src/a.txt"), "{v}");
    let list = v["worktrees"]["output_excerpt"].as_str().unwrap();
    assert!(list.contains("worktree") && !list.contains(dir.path().to_str().unwrap()), "{list}");

    let (code, v) = run(&["integration-status"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["repo"], json!("not_returned"));
    assert!(v["assignments"]["records"].is_array());
}

#[test]
fn commit_ready_check_runs_the_fixed_checks_bounded() {
    let dir = TempDir::new("commit-check");
    let repo = repo_at(dir.path());
    let f = Fleet::scripted("cc-fleet", &["w"]);
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--repo", repo.to_str().unwrap()]);
        f.run(&all)
    };
    // Not a Python project: only the diff check runs.
    let (code, v) = run(&["commit-ready-check"]);
    assert_eq!((code, v["ok"].as_bool()), (0, Some(true)), "{v}");
    assert_eq!(v["checks"][1]["skipped"], json!(true));

    std::fs::create_dir_all(repo.join("tests")).unwrap();
    std::fs::write(repo.join("src/calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    std::fs::write(repo.join("tests/test_calc.py"), "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n").unwrap();
    let (_, v) = run(&["commit-ready-check"]);
    let names: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["diff_check", "compileall", "unittest"]);
    assert_eq!(v["ok"], json!(true), "{v}");
    // A trailing-whitespace change and a failing test are both caught.
    std::fs::write(repo.join("src/a.txt"), "a   \n").unwrap();
    std::fs::write(repo.join("src/calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
    let (code, v) = run(&["commit-ready-check"]);
    assert_eq!((code, v["ok"].as_bool()), (0, Some(false)), "{v}");
    assert_eq!(
        (v["checks"][0]["ok"].as_bool(), v["checks"][1]["ok"].as_bool(), v["checks"][2]["ok"].as_bool()),
        (Some(false), Some(true), Some(false)),
        "{v}"
    );
    assert!(!v.to_string().contains(dir.path().to_str().unwrap()), "a path leaked");
    let (_, v) = run(&["commit-ready-check", "--no-tests"]);
    assert_eq!(v["checks"][2]["skipped"], json!(true));
}

#[test]
fn a_swapped_in_template_extension_renders_the_prompt() {
    let w = World::new("assign-template", &["w"]);
    let custom = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../extensions/dist/fixtures/custom-prompts.wasm");
    let r = cli(&w.f.env, &["ext", "install", "prompts", custom.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    w.start("w");
    let (code, v) =
        w.f.run(&["assign-write", "w", "--task", "Fix the parser.", "--scope", "src", "--write-path", "src/a.txt"]);
    assert_eq!(code, 0, "{v}");
    let id = v["assignment_id"].as_str().unwrap();
    wait_for("the team prompt", || w.transcript("w").contains("[TEAM_TASK"));
    let got = w.transcript("w");
    assert!(
        got.contains(&format!("[TEAM_TASK {id}]"))
            && got.contains("Touch only: src/a.txt")
            && !got.contains("WORK_BEE"),
        "{got}"
    );
}

fn record(id: &str, agent: &str) -> codex_master::state::ledger::Entry {
    use codex_master::state::ledger::{AssignmentRecord, Entry};
    Entry::Assignment(Box::new(AssignmentRecord {
        assignment_id: id.into(),
        agent: Some(agent.into()),
        scope: vec!["src".into()],
        ..Default::default()
    }))
}

#[test]
fn the_ledger_prunes_to_the_newest_drops_torn_lines_and_loses_nothing_to_concurrent_writers() {
    use codex_master::state::{ledger, State};
    let dir = TempDir::new("ledger");
    let root = dir.join("state");
    let state = State::open_at(&root).unwrap();
    for i in 0..5 {
        ledger::append(&state, &record(&format!("id-{i}"), "a"), 3).unwrap();
    }
    let ids =
        |state: &State| ledger::assignments(state).unwrap().iter().map(|r| r.assignment_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&state), ["id-2", "id-3", "id-4"]);
    let path = root.join("assignments.jsonl");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);

    // A writer killed mid-line: the torn line never swallows the next record, readers skip it,
    // and the next append's prune drops it.
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    use std::io::Write;
    f.write_all(b"{\"kind\": \"assignment\", \"assignment_id\": \"torn").unwrap();
    drop(f);
    assert_eq!(ids(&state).len(), 3);
    ledger::append(&state, &record("id-5", "a"), 3).unwrap();
    assert_eq!(ids(&state), ["id-3", "id-4", "id-5"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("torn") && text.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{text}");

    // Deliveries fold into their assignment.
    let delivery = ledger::DeliveryRecord {
        assignment_id: "id-5".into(),
        delivery: Some("submitted".into()),
        ..Default::default()
    };
    ledger::append(&state, &ledger::Entry::Delivery(delivery), 3).unwrap();
    assert_eq!(ledger::assignments(&state).unwrap()[2].delivery.as_deref(), Some("submitted"));

    // Eight writers at once, each with its own handles: no record is lost.
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                let state = State::open_at(&root).unwrap();
                for i in 0..40 {
                    ledger::append(&state, &record(&format!("w{t}-{i:02}"), "b"), 10_000).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let all = ids(&state);
    for t in 0..8 {
        let mine: Vec<&String> = all.iter().filter(|id| id.starts_with(&format!("w{t}-"))).collect();
        assert_eq!(mine.len(), 40, "writer {t} lost records");
        assert!(mine.windows(2).all(|p| p[0] < p[1]), "writer {t}'s records are out of order");
    }
    // Pruning under contention keeps exactly the newest, and each writer's survivors are its last.
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                let state = State::open_at(&root).unwrap();
                for i in 0..30 {
                    ledger::append(&state, &record(&format!("p{t}-{i:02}"), "c"), 50).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let kept = ids(&state);
    assert_eq!(kept.len(), 50);
    for t in 0..4 {
        let mine: Vec<u32> =
            kept.iter().filter_map(|id| id.strip_prefix(&format!("p{t}-"))).map(|n| n.parse().unwrap()).collect();
        assert!(mine.iter().enumerate().all(|(k, n)| *n as usize == 30 - mine.len() + k), "writer {t} kept {mine:?}");
    }
}
