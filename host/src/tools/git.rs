//! Repository tools: `worktree_create_for_agent`, `worktree_status`, `integration_status`,
//! `commit_ready_check`.
//!
//! The repository is the one named by `repo`, else the one containing the agent's working
//! directory (worktree creation), else the one containing the server's working directory.
//! Only repo-relative paths are returned; git output goes through the redaction extension and
//! is withheld when redaction fails. Every process is bounded (see [`crate::git`]).

use crate::codes::ErrorCode;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::{agent_param, blocking, handler, out, Ctx, Fault, Hints, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::Registry;
use crate::git::{self, worktree, Output, COMMAND_TIMEOUT};
use crate::redactor::Redactor;
use crate::session::repo::{commit_ready, repo_for, CheckOutcome};
use crate::text::keep_head_chars;

const EXCERPT_CHARS: usize = 4000;
const CHECK_EXCERPT_CHARS: usize = 6000;

fn repo_param() -> Param {
    Param::string("repo", 1000, "Repository (any directory inside it). Default: the repository of the agent's or the server's working directory.")
}

fn excerpt_schema() -> Value {
    out::object(
        json!({"ok": {"type": "boolean"}, "returncode": {"type": "integer"}, "output_excerpt": {"type": "string"}, "redaction_applied": {"type": "boolean"}, "redaction": out::words::<super::words::ExcerptRedaction>()}),
        &["ok", "returncode", "output_excerpt", "redaction_applied"],
    )
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "worktree_create_for_agent",
            title: "Create a worktree",
            description: "Create a git worktree for an agent inside the repository (default `.codex-master-worktrees/agent-<agent>-<time>`, ignored by git). Refuses escapes, existing targets (dangling symlinks included), symlinked or non-directory parents and option-like refs before any change. Returns the repo-relative path only.",
            cli_name: "worktree-create",
            params: vec![
                agent_param::one(reg),
                Param::string("path", 1000, "Target, relative to the repository (or absolute inside it)."),
                Param::string("base_ref", 1000, "Commit-ish to check out."),
                repo_param(),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "path": {"type": "string"},
                    "path_state": {"const": "set"},
                    "path_kind": {"const": "repo_relative"},
                    "base_ref": out::nullable("string"),
                    "status": {"const": "created"},
                    "repo": out::not_returned(),
                    "raw_output": out::not_returned(),
                }),
                &["agent", "path", "path_kind", "status"],
            ),
            hints: Hints { read_only: false, destructive: false, idempotent: false },
            multi_agent: false,
            handler: handler!(worktree_create),
        },
        ToolDef {
            name: "worktree_status",
            title: "Worktree status",
            description: "`git status --short` of a directory inside the repository (a real directory, not a symlink) and the repository's worktree list, redacted.",
            cli_name: "worktree-status",
            params: vec![Param::string("path", 1000, "Directory inside the repository (default: its top)."), repo_param()],
            output: || out::object(
                json!({"path": out::not_returned(), "path_state": {"const": "set"}, "status": excerpt_schema(), "worktrees": excerpt_schema(), "repo": out::not_returned(), "raw_output": out::not_returned()}),
                &["status", "worktrees"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(worktree_status),
        },
        ToolDef {
            name: "integration_status",
            title: "Integration status",
            description: "`git status --short`, `git diff --stat` and the last 10 assignment records of the repository.",
            cli_name: "integration-status",
            params: vec![repo_param()],
            output: || out::object(
                json!({"repo": out::not_returned(), "repo_state": {"const": "set"}, "status": excerpt_schema(), "diff_stat": excerpt_schema(), "assignments": {"type": "object"}, "raw_output": out::not_returned()}),
                &["status", "diff_stat", "assignments"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(integration_status),
        },
        ToolDef {
            name: "commit_ready_check",
            title: "Commit readiness",
            description: "The fixed checks: `git diff --check`, and for a Python project `python3 -m compileall -q src tests` and (unless run_tests is false) `python3 -m unittest discover -s tests -v`. Each runs at most 120 s; no user-supplied command.",
            cli_name: "commit-ready-check",
            params: vec![Param::boolean("run_tests", "Run the unit tests.").default(json!(true)).negated("no-tests"), repo_param()],
            output: || out::object(
                json!({
                    "ok": {"type": "boolean"},
                    "checks": {"type": "array", "items": {"type": "object"}},
                    "repo": out::not_returned(),
                    "raw_output": out::not_returned(),
                }),
                &["ok", "checks"],
            ),
            hints: Hints { read_only: false, destructive: false, idempotent: true },
            multi_agent: false,
            handler: handler!(commit_ready_check),
        },
    ]
}

/// `worktree_create_for_agent` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorktreeCreateArgs {
    agent: String,
    path: Option<String>,
    base_ref: Option<String>,
    repo: Option<String>,
}

/// `worktree_status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorktreeStatusArgs {
    path: Option<String>,
    repo: Option<String>,
}

/// `integration_status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoArgs {
    repo: Option<String>,
}

/// `commit_ready_check` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitReadyArgs {
    run_tests: bool,
    repo: Option<String>,
}

/// Git output as returned: through the redaction pipeline (withheld if the extension fails),
/// bounded.
fn excerpt(red: &Redactor, out: &Output, repo: &Path, max: usize) -> Value {
    let text = crate::text::strip_ansi(&out.combined());
    let mut known = vec![repo.to_string_lossy().into_owned()];
    if let Some(home) = std::env::var_os("HOME") {
        known.push(home.to_string_lossy().into_owned());
    }
    let r = red.redact(&text, &known);
    use super::words::ExcerptRedaction as State;
    let (shown, changed, state) = if r.withheld {
        (String::new(), true, State::Withheld)
    } else if r.extension_failed {
        (String::new(), true, State::Failed)
    } else {
        (keep_head_chars(&r.text, max), r.changed, if r.changed { State::Applied } else { State::None })
    };
    json!({"ok": out.ok(), "returncode": out.code, "output_excerpt": shown, "redaction_applied": changed, "redaction": state.as_str()})
}

fn worktree_error(red: &Redactor, e: worktree::WorktreeError, repo: &Path) -> Fault {
    match e {
        worktree::WorktreeError::Git(text) => {
            let shown = excerpt(
                red,
                &Output { code: 1, stdout: Vec::new(), stderr: text.into_bytes(), timed_out: false, spawn_error: None },
                repo,
                1000,
            );
            Fault::new(ErrorCode::GitWorktreeFailed, "git worktree add failed")
                .with("output_excerpt", shown["output_excerpt"].as_str().unwrap_or_default())
        }
        other => Fault::new(ErrorCode::WorktreeRefused, other.to_string()),
    }
}

async fn worktree_create(ctx: Arc<Ctx>, args: WorktreeCreateArgs) -> ToolResult {
    let agent = args.agent;
    let (at, repo) = crate::session::repo::agent_repo(&ctx, &args.repo, &agent).await?;
    let base_ref = super::non_blank(&args.base_ref).map(|r| r.trim().to_owned());
    let rel = worktree::create(&at, &repo, &agent, args.path.as_deref(), base_ref.as_deref())
        .await
        .map_err(|e| worktree_error(&ctx.redactor, e, &repo))?;
    Ok(json!({
        "agent": agent,
        "path": ctx.redactor.bounded(&rel, 1000),
        "path_state": "set",
        "path_kind": "repo_relative",
        "base_ref": base_ref.map(|r| ctx.redactor.bounded(&r, 300)),
        "status": "created",
        "repo": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}

async fn worktree_status(ctx: Arc<Ctx>, args: WorktreeStatusArgs) -> ToolResult {
    let repo = repo_for(&args.repo, None).await?;
    let target = worktree::status_target(&repo, args.path.as_deref())
        .map_err(|e| Fault::new(ErrorCode::WorktreeRefused, e.to_string()))?;
    let status = git::git(&git::At::Local, &target, &["status", "--short"], COMMAND_TIMEOUT).await;
    let list = git::git(&git::At::Local, &repo, &["worktree", "list", "--porcelain"], COMMAND_TIMEOUT).await;
    Ok(json!({
        "path": NOT_RETURNED,
        "path_state": "set",
        "status": excerpt(&ctx.redactor, &status, &repo, EXCERPT_CHARS),
        "worktrees": excerpt(&ctx.redactor, &list, &repo, EXCERPT_CHARS),
        "repo": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}

async fn integration_status(ctx: Arc<Ctx>, args: RepoArgs) -> ToolResult {
    let repo = repo_for(&args.repo, None).await?;
    let status = git::git(&git::At::Local, &repo, &["status", "--short"], COMMAND_TIMEOUT).await;
    let diff = git::git(&git::At::Local, &repo, &["diff", "--no-ext-diff", "--stat"], COMMAND_TIMEOUT).await;
    let red = Arc::clone(&ctx.redactor);
    let assignments = blocking(move || super::views::assignments_payload(&red, "all", 10))
        .await
        .unwrap_or_else(|e| super::fault_json(&e, &ctx.client_id));
    Ok(json!({
        "repo": NOT_RETURNED,
        "repo_state": "set",
        "status": excerpt(&ctx.redactor, &status, &repo, EXCERPT_CHARS),
        "diff_stat": excerpt(&ctx.redactor, &diff, &repo, EXCERPT_CHARS),
        "assignments": assignments,
        "raw_output": NOT_RETURNED,
    }))
}

fn check_entry(red: &Redactor, name: &str, out: &Output, repo: &Path) -> Value {
    let mut v = excerpt(red, out, repo, CHECK_EXCERPT_CHARS);
    v["name"] = json!(name);
    v["skipped"] = json!(false);
    v
}

fn skipped(name: &str, reason: &str) -> Value {
    json!({"name": name, "ok": true, "skipped": true, "reason": reason, "returncode": null, "output_excerpt": "", "redaction_applied": false})
}

async fn commit_ready_check(ctx: Arc<Ctx>, args: CommitReadyArgs) -> ToolResult {
    let repo = repo_for(&args.repo, None).await?;
    let checks: Vec<Value> = commit_ready(&repo, args.run_tests)
        .await
        .iter()
        .map(|c| match &c.outcome {
            CheckOutcome::Ran(out) => check_entry(&ctx.redactor, c.name, out, &repo),
            CheckOutcome::Skipped(reason) => skipped(c.name, reason),
        })
        .collect();
    let ok = checks.iter().all(|c| c["ok"] == json!(true));
    Ok(json!({"ok": ok, "checks": checks, "repo": NOT_RETURNED, "raw_output": NOT_RETURNED}))
}
