//! Assignment tools: `agent_assign` (+ `_readonly`, `_write`), `agent_assignments`,
//! `agent_last_assignment_status` and `assignment_audit`.
//!
//! An assignment is checked completely before anything is sent: role rules, the scope check
//! against the **agent's** working directory, the skill against the agent's inventory, the
//! rendered prompt's size. The id is allocated first and quoted in the prompt; the audit record
//! (metadata only) is written under the agent lock before the first keystroke, and the
//! delivery outcome after. A git baseline taken at assignment time lets `assignment_audit`
//! report files changed outside the declared write paths.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::views::generation_param;
use super::views::public_skill;
use super::views::{assignments_payload, public_record, redact_list, sent_json, PublicLease};
use super::words::AuditStatus;
use super::{agent_param, blocking, handler, out, Ctx, Hints, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::Registry;
use crate::redactor::Redactor;
use crate::session::assign::{assign, audit, newest_for, Assigned, Audit, Order, Role, MAX_LISTED, MAX_NAME};
use crate::session::scope::{MAX_LIST_ITEMS, MAX_PATH_TEXT};

pub const MAX_TASK: usize = 4000;
pub const DEFAULT_LIST_LIMIT: i64 = 20;
fn list_param(name: &'static str, flag: &'static str, what: &'static str) -> Param {
    Param::string_list(name, MAX_LIST_ITEMS, MAX_PATH_TEXT, what).cli_flag(flag)
}

fn assign_params(reg: &Registry, role: bool, write_paths: Option<bool>) -> Vec<Param> {
    let mut p = vec![agent_param::one(reg)];
    if role {
        p.push(
            Param::choice(
                "role",
                &["exploriererin", "arbeitsbiene", "explorer", "worker"],
                "exploriererin (explorer: read-only) or arbeitsbiene (worker: writes only in write_paths).",
            )
            .required(),
        );
    }
    p.push(Param::string("task", MAX_TASK, "The task.").required().non_blank());
    p.push(Param::string(
        "skill",
        crate::skills::MAX_SKILL_REF,
        "Skill reference the agent should use (checked against its inventory).",
    ));
    p.push(list_param("scope", "scope", "Scope roots, relative to the agent's working directory."));
    match write_paths {
        Some(true) => p.push(
            Param::string_list(
                "write_paths",
                MAX_LIST_ITEMS,
                MAX_PATH_TEXT,
                "Paths the worker may write; each inside the scope.",
            )
            .required()
            .cli_flag("write-path"),
        ),
        Some(false) => {
            p.push(list_param("write_paths", "write-path", "Paths the worker may write; each inside the scope."))
        }
        None => {}
    }
    p.push(list_param("context", "context", "Stable context lines."));
    p.push(list_param("forbidden", "forbid", "Limits the agent must respect."));
    p.push(Param::string("name", MAX_NAME, "Display name in the prompt (default: the agent's label)."));
    p.push(Param::boolean("enter", "Press Enter after pasting.").default(json!(true)).negated("no-enter"));
    p.push(Param::boolean("allow_missing_skill", "Assign even when the skill is not in the agent's inventory."));
    p.push(Param::boolean(
        "allow_subagents",
        "Allow nested delegation (stays inside scope and write paths); the prompt says so either way.",
    ));
    p.push(generation_param());
    p
}

fn assign_output() -> Value {
    out::object(
        json!({
            "assignment_id": {"type": "string"},
            "agent": {"type": "string"},
            "status": {"const": "assigned"},
            "role": {"type": "string"},
            "role_kind": out::words::<super::words::RoleKind>(),
            "name": {"type": "string"},
            "model": {"type": "string"},
            "session_model": out::nullable("string"),
            "skill": {"type": "object"},
            "scope_count": {"type": "integer"},
            "write_policy": out::words::<super::words::WritePolicy>(),
            "write_path_count": {"type": "integer"},
            "subagents_allowed": {"type": "boolean"},
            "audit_baseline": out::words::<super::words::AuditBaseline>(),
            "lease": {"type": "object"},
            "prompt_chars": {"type": "integer"},
            "prompt_output": out::not_returned(),
            "response_output": out::not_returned(),
            "send": {"type": "object"},
        }),
        &["assignment_id", "agent", "status", "role", "model", "write_policy", "lease", "prompt_chars", "send"],
    )
}

fn audit_schema() -> Value {
    out::object(
        json!({
            "agent": {"type": "string"},
            "assignment_id": out::nullable("string"),
            "status": out::words::<super::words::AuditStatus>(),
            "repo": out::not_returned(),
            "head_moved": out::nullable("boolean"),
            "changed_count": {"type": "integer"},
            "in_scope_count": {"type": "integer"},
            "out_of_scope_count": {"type": "integer"},
            "out_of_scope": {"type": "array", "items": {"type": "string"}},
            "out_of_scope_truncated": {"type": "boolean"},
            "write_paths": {"type": "array", "items": {"type": "string"}},
            "write_paths_outside_repo": {"type": "integer"},
            "raw_output": out::not_returned(),
        }),
        &["agent", "status", "changed_count", "out_of_scope_count", "out_of_scope"],
    )
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    let mutating = Hints { read_only: false, destructive: false, idempotent: false };
    vec![
        ToolDef {
            name: "agent_assign",
            title: "Assign a task",
            description: "Send a structured, scope-checked, skill-aware work order. exploriererin (explorer) is read-only and may not have write paths; arbeitsbiene (worker) needs explicit write paths inside the scope. Scope and write paths resolve against the agent's working directory. Claims or renews this client's lease. The prompt is never returned.",
            cli_name: "assign",
            params: assign_params(reg, true, Some(false)),
            output: || assign_output(),
            hints: mutating,
            multi_agent: false,
            handler: handler!(assign_any),
        },
        ToolDef {
            name: "agent_assign_readonly",
            title: "Assign a read-only task",
            description: "agent_assign with the exploriererin (explorer, read-only) role.",
            cli_name: "assign-readonly",
            params: assign_params(reg, false, None),
            output: || assign_output(),
            hints: mutating,
            multi_agent: false,
            handler: handler!(assign_readonly),
        },
        ToolDef {
            name: "agent_assign_write",
            title: "Assign a write task",
            description: "agent_assign with the arbeitsbiene (worker) role: write_paths are required and must lie inside the scope.",
            cli_name: "assign-write",
            params: assign_params(reg, false, Some(true)),
            output: || assign_output(),
            hints: mutating,
            multi_agent: false,
            handler: handler!(assign_write),
        },
        ToolDef {
            name: "agent_assignments",
            title: "Assignment ledger",
            description: "The newest assignment records (metadata only: no task, prompt or response text; paths redacted), oldest first.",
            cli_name: "assignments",
            params: vec![agent_param::one_or_all(reg), Param::integer("limit", 1, Some(100), "Most records returned.").default(json!(DEFAULT_LIST_LIMIT))],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "limit": {"type": "integer"},
                    "records": {"type": "array", "items": {"type": "object"}},
                    "record_count": {"type": "integer"},
                    "retained_count": {"type": "integer"},
                    "retention_limit": {"type": "integer"},
                    "records_truncated": {"type": "boolean"},
                    "log_path": out::not_returned(),
                    "prompt_output": out::not_returned(),
                    "response_output": out::not_returned(),
                    "raw_output": out::not_returned(),
                }),
                &["records", "record_count", "retained_count", "retention_limit", "records_truncated"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(assignments),
        },
        ToolDef {
            name: "agent_last_assignment_status",
            title: "Last assignment",
            description: "An agent's newest assignment record, with its delivery outcome and the diff audit (files changed outside the declared write paths since the assignment).",
            cli_name: "last-assignment",
            params: vec![agent_param::one(reg)],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": out::words::<super::words::Found>(),
                    "record": out::nullable("object"),
                    "audit": out::nullable("object"),
                    "prompt_output": out::not_returned(),
                    "response_output": out::not_returned(),
                    "raw_output": out::not_returned(),
                }),
                &["agent", "status", "record"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(last_assignment),
        },
        ToolDef {
            name: "assignment_audit",
            title: "Assignment diff audit",
            description: "Compare the git changes in the agent's repository since an assignment (default: its newest) with the declared write paths; out-of-scope files are listed repo-relative.",
            cli_name: "assignment-audit",
            params: vec![agent_param::one(reg), Param::string("assignment_id", 200, "The assignment (default: the agent's newest).")],
            output: || audit_schema(),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(assignment_audit),
        },
    ]
}

/// Items stripped, empty ones dropped.
fn cleaned(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()).collect()
}

/// Declares an assignment tool's argument struct: the fields every assignment tool takes plus
/// the tool's own, and `order()`, which fixes the role and the write paths.
macro_rules! assign_args {
    ($(#[$doc:meta])* $name:ident { $($(#[$a:meta])* $field:ident: $ty:ty),* } => |$this:ident| $role:expr, $write_paths:expr) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            agent: String,
            $($(#[$a])* $field: $ty,)*
            task: String,
            skill: Option<String>,
            scope: Vec<String>,
            context: Vec<String>,
            forbidden: Vec<String>,
            name: Option<String>,
            enter: bool,
            allow_missing_skill: bool,
            allow_subagents: bool,
            lease_generation: Option<u64>,
        }

        impl $name {
            fn order(self) -> Order {
                let $this = &self;
                let (role, write_paths): (Role, Vec<String>) = ($role, $write_paths);
                Order {
                    role,
                    task: self.task.trim().to_owned(),
                    skill: super::non_blank(&self.skill).map(|s| s.trim().to_owned()),
                    scope: cleaned(self.scope),
                    write_paths: cleaned(write_paths),
                    context: cleaned(self.context),
                    forbidden: cleaned(self.forbidden),
                    name: super::non_blank(&self.name).map(|s| s.trim().to_owned()),
                    enter: self.enter,
                    allow_missing_skill: self.allow_missing_skill,
                    allow_subagents: self.allow_subagents,
                    lease_generation: self.lease_generation,
                    agent: self.agent,
                }
            }
        }
    };
}

assign_args! {
    /// `agent_assign` arguments.
    AssignArgs { #[serde(deserialize_with = "super::choice")] role: Role, write_paths: Vec<String> }
        => |args| args.role, args.write_paths.clone()
}

assign_args! {
    /// `agent_assign_readonly` arguments.
    AssignReadonlyArgs {} => |_args| Role::Explorer, Vec::new()
}

assign_args! {
    /// `agent_assign_write` arguments.
    AssignWriteArgs { write_paths: Vec<String> } => |args| Role::Worker, args.write_paths.clone()
}

impl super::Choice for Role {
    fn from_name(name: &str) -> Option<Self> {
        Role::parse(name)
    }
}

async fn assign_any(ctx: Arc<Ctx>, args: AssignArgs) -> ToolResult {
    Ok(assigned_json(&ctx, &assign(&ctx, args.order()).await?))
}

async fn assign_readonly(ctx: Arc<Ctx>, args: AssignReadonlyArgs) -> ToolResult {
    Ok(assigned_json(&ctx, &assign(&ctx, args.order()).await?))
}

async fn assign_write(ctx: Arc<Ctx>, args: AssignWriteArgs) -> ToolResult {
    Ok(assigned_json(&ctx, &assign(&ctx, args.order()).await?))
}

fn assigned_json(ctx: &Ctx, a: &Assigned) -> Value {
    let (p, red) = (&a.planned, &ctx.redactor);
    let o = &p.order;
    let matches: Vec<Value> = p.skill_matches.iter().take(5).map(|s| public_skill(red, s)).collect();
    json!({
        "assignment_id": p.assignment_id,
        "agent": o.agent,
        "status": "assigned",
        "role": o.role.seed_name(),
        "role_kind": o.role.kind(),
        "name": red.bounded(&p.display_name, MAX_NAME),
        "model": p.role_model,
        "session_model": p.session_model,
        "skill": {"requested": o.skill.as_ref().map(|s| red.bounded(s, 300)), "available": p.skill_available, "matches": matches},
        "scope_count": o.scope.len(),
        "write_policy": o.role.write_policy(),
        "write_path_count": o.write_paths.len(),
        "subagents_allowed": o.allow_subagents,
        "audit_baseline": a.baseline.as_str(),
        "lease": a.sent.lease.public(&a.sent.agent, &ctx.client_id),
        "prompt_chars": p.prompt.chars().count(),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "send": sent_json(&a.sent, &ctx.client_id),
    })
}

/// `agent_assignments` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentsArgs {
    agent: String,
    limit: usize,
}

async fn assignments(ctx: Arc<Ctx>, args: AssignmentsArgs) -> ToolResult {
    let red = Arc::clone(&ctx.redactor);
    blocking(move || assignments_payload(&red, &args.agent, args.limit.clamp(1, 100))).await
}

/// `agent_last_assignment_status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LastAssignmentArgs {
    agent: String,
}

async fn last_assignment(ctx: Arc<Ctx>, args: LastAssignmentArgs) -> ToolResult {
    let agent = args.agent;
    let a = agent.clone();
    let record = blocking(move || newest_for(&a, None)).await?;
    let audit = match &record {
        Some(r) => {
            Some(audit_json(&ctx.redactor, &agent, Some(&r.assignment_id), &audit(&ctx, &r.assignment_id).await))
        }
        None => None,
    };
    Ok(json!({
        "agent": agent,
        "status": if record.is_some() { super::words::Found::Found } else { super::words::Found::None }.as_str(),
        "record": record.as_ref().map(|r| public_record(&ctx.redactor, r)),
        "audit": audit,
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}

/// `assignment_audit` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditArgs {
    agent: String,
    assignment_id: Option<String>,
}

async fn assignment_audit(ctx: Arc<Ctx>, args: AuditArgs) -> ToolResult {
    let wanted = super::non_blank(&args.assignment_id).map(|id| id.trim().to_owned());
    let agent = args.agent;
    let a = agent.clone();
    let record = blocking(move || newest_for(&a, wanted.as_deref())).await?;
    Ok(match record.map(|r| r.assignment_id) {
        Some(id) => audit_json(&ctx.redactor, &agent, Some(&id), &audit(&ctx, &id).await),
        None => audit_json(&ctx.redactor, &agent, None, &Audit::empty(AuditStatus::NoAssignment)),
    })
}

fn audit_json(red: &Redactor, agent: &str, assignment_id: Option<&str>, a: &Audit) -> Value {
    json!({
        "agent": agent,
        "assignment_id": assignment_id,
        "status": a.status.as_str(),
        "repo": NOT_RETURNED,
        "head_moved": a.head_moved,
        "changed_count": a.changed_count,
        "in_scope_count": a.in_scope_count,
        "out_of_scope_count": a.out_of_scope.len(),
        "out_of_scope": a.out_of_scope.iter().take(MAX_LISTED).map(|p| red.bounded(p, 300)).collect::<Vec<_>>(),
        "out_of_scope_truncated": a.out_of_scope.len() > MAX_LISTED,
        "write_paths": redact_list(red, &a.write_roots),
        "write_paths_outside_repo": a.write_paths_outside_repo,
        "raw_output": NOT_RETURNED,
    })
}
