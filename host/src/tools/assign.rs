//! Assignment tools: `agent_assign` (+ `_readonly`, `_write`), `agent_assignments`,
//! `agent_last_assignment_status` and `assignment_audit`.
//!
//! An assignment is checked completely before anything is sent: role rules, the scope check
//! against the **agent's** working directory, the skill against the agent's inventory, the
//! rendered prompt's size. The id is allocated first and quoted in the prompt; the audit record
//! (metadata only) is written under the agent lock before the first keystroke, and the
//! delivery outcome after. A git baseline taken at assignment time lets `assignment_audit`
//! report files changed outside the declared write paths.

use crate::codes::ErrorCode;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agent::{send_text, SendOptions};
use super::lease::generation_param;
use super::schema::Param;
use super::scope::{recorded_cwd, redact_list, violations, MAX_LIST_ITEMS, MAX_PATH_TEXT};
use super::skills::public_skill;
use super::{agent_param, blocking, handler, out, Ctx, Fault, Hints, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::profiles::WorkRole;
use crate::agents::Registry;
use crate::fsafe::paths::{expand_home, resolve_lenient};
use crate::git;
use crate::lease;
use crate::redactor::Redactor;
use crate::state::ledger::{self, BASELINES};
use crate::state::State;
use crate::timefmt::{iso_utc, now_epoch, now_id};

pub const MAX_TASK: usize = 4000;
pub const MAX_PROMPT: usize = 12_000;
pub const MAX_NAME: usize = 80;
pub const DEFAULT_LIST_LIMIT: i64 = 20;
/// Out-of-scope files listed by an audit (the count is always complete).
const MAX_LISTED: usize = 100;

/// The two roles. The seed's names stay the canonical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Explorer,
    Worker,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s.trim().to_lowercase().as_str() {
            "exploriererin" | "explorer" => Some(Role::Explorer),
            "arbeitsbiene" | "worker" => Some(Role::Worker),
            _ => None,
        }
    }
    fn seed_name(self) -> &'static str {
        match self {
            Role::Explorer => "exploriererin",
            Role::Worker => "arbeitsbiene",
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Role::Explorer => "explorer",
            Role::Worker => "worker",
        }
    }
    fn work(self) -> WorkRole {
        match self {
            Role::Explorer => WorkRole::ReadOnly,
            Role::Worker => WorkRole::Write,
        }
    }
    fn write_policy(self) -> &'static str {
        match self {
            Role::Explorer => "read_only",
            Role::Worker => "explicit_paths_only",
        }
    }
}

/// The git state when an assignment was made (private state, never returned).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub assignment_id: String,
    pub agent: String,
    pub role: String,
    pub repo: String,
    pub head: Option<String>,
    /// Files that differed from `HEAD` then, with their content ids.
    pub dirty: BTreeMap<String, String>,
    /// Declared write paths, repo-relative (`""` = the whole repository).
    pub write_roots: Vec<String>,
    /// Write paths that resolve outside the repository (counted, not listed).
    pub write_paths_outside_repo: usize,
}

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
        super::skills::MAX_SKILL_REF,
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

fn refused(reason: &'static str, message: impl AsRef<str>) -> Fault {
    Fault::new(ErrorCode::AssignmentRefused, message).with("reason", reason)
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
    assign(&ctx, args.order()).await
}

async fn assign_readonly(ctx: Arc<Ctx>, args: AssignReadonlyArgs) -> ToolResult {
    assign(&ctx, args.order()).await
}

async fn assign_write(ctx: Arc<Ctx>, args: AssignWriteArgs) -> ToolResult {
    assign(&ctx, args.order()).await
}

/// One work order, whichever tool it came through: items trimmed, blank ones dropped.
struct Order {
    agent: String,
    role: Role,
    task: String,
    skill: Option<String>,
    scope: Vec<String>,
    write_paths: Vec<String>,
    context: Vec<String>,
    forbidden: Vec<String>,
    name: Option<String>,
    enter: bool,
    allow_missing_skill: bool,
    allow_subagents: bool,
    lease_generation: Option<u64>,
}

/// The role rule: an explorer writes nothing, a worker names what it writes.
fn role_refusal(role: Role, write_paths: &[String]) -> Option<Fault> {
    match role {
        Role::Explorer if !write_paths.is_empty() => {
            Some(refused("write_paths_not_allowed", "exploriererin assignments must not include write paths"))
        }
        Role::Worker if write_paths.is_empty() => {
            Some(refused("write_paths_required", "arbeitsbiene assignments require at least one explicit write path"))
        }
        _ => None,
    }
}

/// The scope rule's refusal: which of the caller's items broke it (indexes), never the items.
fn scope_refusal(write_paths: &[String], violating: &[String]) -> Option<Fault> {
    if violating.is_empty() {
        return None;
    }
    let indexes: Vec<usize> =
        write_paths.iter().enumerate().filter(|(_, w)| violating.contains(w)).map(|(i, _)| i).collect();
    Some(
        refused(
            "write_path_outside_scope",
            format!(
                "write paths must stay inside scope: {} of {} are outside (write_paths indexes {:?})",
                indexes.len(),
                write_paths.len(),
                indexes
            ),
        )
        .with("violating_write_path_indexes", indexes),
    )
}

/// An order that passed every check, with everything the delivery needs.
struct Planned {
    order: Order,
    assignment_id: String,
    display_name: String,
    role_model: &'static str,
    session_model: Option<String>,
    skill_available: Option<bool>,
    skill_matches: Vec<Value>,
    cwd: PathBuf,
    prompt: String,
}

/// Checks an order completely and renders its prompt. Nothing is written or sent.
async fn plan(ctx: &Ctx, order: Order) -> Result<Planned, Fault> {
    let agent = order.agent.clone();
    let spec = ctx.registry.get(&agent).cloned().ok_or_else(|| Fault::invalid_arguments("unknown agent"))?;
    // The provider's model policy for the role; a CLI without one keeps its own default.
    let role_model = spec.provider().role_model(order.role.work()).unwrap_or("default");
    if order.task.is_empty() {
        return Err(Fault::invalid_arguments("task must be a non-empty string"));
    }
    if let Some(refusal) = role_refusal(order.role, &order.write_paths) {
        return Err(refusal);
    }
    // The scope check, against the agent's own working directory.
    let cwd = {
        let a = agent.clone();
        blocking(move || recorded_cwd(&a)).await?
    };
    let violating = {
        let (cwd, scope, write_paths) = (cwd.clone(), order.scope.clone(), order.write_paths.clone());
        blocking(move || Ok(violations(&cwd, &scope, &write_paths))).await?
    };
    if let Some(refusal) = scope_refusal(&order.write_paths, &violating) {
        return Err(refusal);
    }
    // The skill, against the agent's inventory.
    let (skill_available, skill_matches) = match &order.skill {
        None => (None, Vec::new()),
        Some(wanted) => {
            let (home, wanted, red) = (spec.home.clone(), wanted.clone(), Arc::clone(&ctx.redactor));
            let roots = spec.provider().skills_roots();
            let matches: Vec<Value> = blocking(move || {
                let inv = home.as_deref().map(|h| crate::skills::scan(h, roots)).unwrap_or_default();
                Ok(crate::skills::find(&inv, &wanted, 8).into_iter().map(|s| public_skill(&red, s)).collect())
            })
            .await?;
            if matches.is_empty() && !order.allow_missing_skill {
                return Err(refused(
                    "skill_not_found",
                    format!("the requested skill is not in agent {agent}'s inventory (agent_skills lists it)"),
                ));
            }
            (Some(!matches.is_empty()), matches)
        }
    };
    // The id first: it is quoted in the prompt and names the records.
    let assignment_id = format!("{}-{agent}", now_id());
    let display_name = order.name.clone().unwrap_or_else(|| spec.label.clone());
    let request = prompt_request(ctx, &order, &assignment_id, &display_name, role_model);
    let exts = Arc::clone(&ctx.extensions);
    let prompt = blocking(move || {
        exts.render_assignment(&request)
            .map_err(|e| Fault::new(e.code(), format!("the assignment template failed: {e}")))
    })
    .await?;
    let prompt_chars = prompt.chars().count();
    if prompt_chars > MAX_PROMPT {
        return Err(refused("prompt_too_long", format!("assignment prompt exceeds {MAX_PROMPT} characters"))
            .with("prompt_chars", prompt_chars));
    }
    // A worker known to be limited is not given work: the lead assigns elsewhere or waits.
    let observed = super::status::observe(ctx, std::slice::from_ref(&agent)).await.ok().and_then(|mut v| v.pop());
    let observed = observed.and_then(Result::ok);
    if let Some(o) = observed.as_ref().filter(|o| o.state == crate::agents::AgentState::Limited) {
        return Err(limited_refusal(&agent, o));
    }
    let session_model = observed.and_then(|o| o.model);
    Ok(Planned {
        order,
        assignment_id,
        display_name,
        role_model,
        session_model,
        skill_available,
        skill_matches,
        cwd,
        prompt,
    })
}

/// The refusal for a limited worker: retryable, with the limit's kind and reset.
fn limited_refusal(agent: &str, o: &super::status::Observation) -> Fault {
    let c = o.classified.as_ref();
    let reset = c.and_then(|c| c.reset_at_epoch_seconds);
    let after = reset.map_or(60, |r| r.saturating_sub(now_epoch() as u64).max(1));
    let kind = c.map_or("unknown", |c| c.kind.as_str());
    refused(
        "agent_limited",
        format!("agent {agent} is limited ({kind}); nothing was sent; assign elsewhere or retry after the reset"),
    )
    .retryable()
    .with("retry_after_seconds", after)
    .with("kind", kind)
    .with("reset_at_utc", reset.map(|r| iso_utc(r as f64)))
}

/// What the prompts extension renders for an order.
fn prompt_request(
    ctx: &Ctx,
    order: &Order,
    assignment_id: &str,
    display_name: &str,
    role_model: &str,
) -> crate::ext::types::prompts::Assignment {
    use crate::ext::types::prompts;
    prompts::Assignment {
        role: match order.role {
            Role::Explorer => prompts::Role::Explorer,
            Role::Worker => prompts::Role::Worker,
        },
        assignment_id: assignment_id.to_owned(),
        display_name: display_name.to_owned(),
        model: role_model.to_owned(),
        skill: order.skill.clone(),
        scope: order.scope.clone(),
        write_paths: order.write_paths.clone(),
        context: order.context.clone(),
        forbidden: order.forbidden.clone(),
        task: order.task.clone(),
        allow_subagents: order.allow_subagents,
        locale: ctx.extensions().settings().locale.clone(),
    }
}

/// The audit record of a planned assignment (metadata only; the lease is filled in under the
/// agent lock).
fn audit_record(red: &Redactor, p: &Planned, baseline_state: &str) -> ledger::AssignmentRecord {
    let o = &p.order;
    ledger::AssignmentRecord {
        assignment_id: p.assignment_id.clone(),
        created_at_utc: Some(iso_utc(now_epoch())),
        agent: Some(o.agent.clone()),
        role: Some(o.role.seed_name().to_owned()),
        role_kind: Some(o.role.kind().to_owned()),
        name: Some(red.bounded(&p.display_name, MAX_NAME)),
        model: Some(p.role_model.to_owned()),
        session_model: p.session_model.clone(),
        skill: Some(ledger::SkillRecord {
            requested: o.skill.as_ref().map(|s| red.bounded(s, 300)),
            available: p.skill_available,
            match_count: Some(p.skill_matches.len() as u64),
        }),
        scope: redact_list(red, &o.scope),
        write_paths: redact_list(red, &o.write_paths),
        context_count: Some(o.context.len() as u64),
        forbidden_count: Some(o.forbidden.len() as u64),
        write_policy: Some(o.role.write_policy().to_owned()),
        allow_subagents: Some(o.allow_subagents),
        submitted: Some(o.enter),
        delivery: Some("pending".to_owned()),
        prompt_chars: Some(p.prompt.chars().count() as u64),
        audit_baseline: Some(baseline_state.to_owned()),
        ..Default::default()
    }
}

/// Plans, then delivers: the baseline, the audit record under the agent lock before the first
/// keystroke, the send, and the delivery outcome.
async fn assign(ctx: &Ctx, order: Order) -> Result<Value, Fault> {
    let planned = plan(ctx, order).await?;
    let (agent, assignment_id) = (planned.order.agent.clone(), planned.assignment_id.clone());
    let (baseline, baseline_state) =
        take_baseline(&planned.cwd, &assignment_id, &agent, planned.order.role, &planned.order.write_paths).await;
    let record = audit_record(&ctx.redactor, &planned, baseline_state);
    let recorded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook = {
        let (agent, client, assignment_id, recorded) =
            (agent.clone(), ctx.client_id.clone(), assignment_id.clone(), Arc::clone(&recorded));
        Box::new(move |state: &State| -> Result<(), Fault> {
            write_records(state, record, baseline, &agent, &client, assignment_id)?;
            recorded.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
    };
    let opts = SendOptions {
        enter: planned.order.enter,
        confirm: Duration::from_secs(10),
        lead_send: true,
        expected: planned.order.lease_generation,
        before_typing: Some(hook),
    };
    let sent = send_text(ctx, &agent, &planned.prompt, opts).await;
    // The delivery outcome, also when the send failed after the record was written.
    if recorded.load(std::sync::atomic::Ordering::SeqCst) {
        let event = delivery_record(&assignment_id, &agent, sent.as_ref().ok());
        let _ = blocking(move || ledger::append(&State::open()?, &event, ledger::RETAIN).map_err(Fault::from)).await;
    }
    let sent = sent?;
    let (o, red) = (&planned.order, &ctx.redactor);
    Ok(json!({
        "assignment_id": assignment_id,
        "agent": agent,
        "status": "assigned",
        "role": o.role.seed_name(),
        "role_kind": o.role.kind(),
        "name": red.bounded(&planned.display_name, MAX_NAME),
        "model": planned.role_model,
        "session_model": planned.session_model,
        "skill": {"requested": o.skill.as_ref().map(|s| red.bounded(s, 300)), "available": planned.skill_available, "matches": planned.skill_matches.iter().take(5).collect::<Vec<_>>()},
        "scope_count": o.scope.len(),
        "write_policy": o.role.write_policy(),
        "write_path_count": o.write_paths.len(),
        "subagents_allowed": o.allow_subagents,
        "audit_baseline": baseline_state,
        "lease": sent.lease_json(&ctx.client_id),
        "prompt_chars": planned.prompt.chars().count(),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "send": sent.to_json(&ctx.client_id),
    }))
}

/// Under the agent lock, after the lease check: the audit record with the lease as it is now,
/// the baseline, and the agent's newest assignment id.
fn write_records(
    state: &State,
    mut record: ledger::AssignmentRecord,
    baseline: Option<Baseline>,
    agent: &str,
    client: &str,
    assignment_id: String,
) -> Result<(), Fault> {
    let l = lease::read(state, agent).view(client);
    record.lease = Some(ledger::LeaseSnapshot {
        state: Some(l.state.as_str().to_owned()),
        holder: Some(l.holder.as_str().to_owned()),
        held_by_this_server: Some(l.held_by_this_server),
        expires_at_utc: l.expires_at_utc,
        generation: l.generation,
    });
    ledger::append(state, &ledger::Entry::Assignment(Box::new(record)), ledger::RETAIN).map_err(|e| {
        Fault::new(ErrorCode::CouldNotWriteAssignmentLog, format!("the assignment log cannot be written: {e}"))
    })?;
    if let Some(b) = baseline {
        let bytes = serde_json::to_vec(&b).expect("baselines serialise");
        let _ = state
            .root
            .subdir_private(BASELINES)
            .and_then(|d| d.replace_atomic(&format!("{}.json", b.assignment_id), &bytes));
    }
    if let Some(mut meta) = state.read_meta(agent)? {
        meta.last_assignment_id = Some(assignment_id);
        state.write_meta(&meta)?;
    }
    Ok(())
}

/// The ledger event that closes an assignment: how far its prompt got.
fn delivery_record(assignment_id: &str, agent: &str, sent: Option<&super::agent::Sent>) -> ledger::Entry {
    let delivery = match sent {
        Some(s) if s.submitted => "submitted",
        Some(_) => "typed",
        None => "failed",
    };
    ledger::Entry::Delivery(ledger::DeliveryRecord {
        assignment_id: assignment_id.to_owned(),
        agent: Some(agent.to_owned()),
        delivery: Some(delivery.to_owned()),
        turn_started: Some(sent.is_some_and(|s| s.turn_started)),
        receipt: sent.map(|s| s.receipt.as_str().to_owned()),
        delivered_at_utc: Some(iso_utc(now_epoch())),
    })
}

/// Records the repository state at assignment time; `(None, why)` when there is no repository.
async fn take_baseline(
    cwd: &Path,
    assignment_id: &str,
    agent: &str,
    role: Role,
    write_paths: &[String],
) -> (Option<Baseline>, &'static str) {
    let Some(repo) = git::toplevel(cwd).await else { return (None, super::words::AuditBaseline::NotAGitRepo.as_str()) };
    let head = git::head(&repo).await;
    let Some(dirty) = git::dirty_paths(&repo).await else { return (None, "failed") };
    let dirty = git::content_ids(&repo, &dirty).await;
    let mut write_roots = Vec::new();
    let mut outside = 0;
    for w in write_paths {
        let resolved = resolve_lenient(cwd, &expand_home(w));
        match git::repo_relative(&repo, &resolved) {
            Some(rel) => write_roots.push(rel),
            None => outside += 1,
        }
    }
    let baseline = Baseline {
        assignment_id: assignment_id.to_owned(),
        agent: agent.to_owned(),
        role: role.kind().to_owned(),
        repo: repo.to_string_lossy().into_owned(),
        head,
        dirty,
        write_roots,
        write_paths_outside_repo: outside,
    };
    (Some(baseline), super::words::AuditBaseline::Recorded.as_str())
}

/// One ledger record as returned: an allowlist, paths re-redacted, text fields never present.
fn public_record(red: &Redactor, r: &ledger::AssignmentRecord) -> Value {
    let text = |v: &Option<String>| v.as_deref().map(|v| red.bounded(v, 300));
    // Fields with a fixed vocabulary come back only as one of its words (a tampered ledger line
    // cannot smuggle text out through them).
    use crate::wire::Wire;
    let model = |v: &Option<String>| v.clone().filter(|m| crate::agents::valid_model_word(m));
    let timestamp = |v: &Option<String>| {
        v.clone().filter(|t| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_digit() || b"-:TZ.".contains(&b)))
    };
    let skill = r.skill.clone().unwrap_or_default();
    let lease = r.lease.clone().unwrap_or_default();
    json!({
        "assignment_id": red.bounded(&r.assignment_id, 300),
        "created_at_utc": timestamp(&r.created_at_utc),
        "agent": text(&r.agent).filter(|a| crate::agents::valid_agent_name(a)),
        "role": super::words::SeedRole::known(&r.role),
        "role_kind": super::words::RoleKind::known(&r.role_kind),
        "name": text(&r.name),
        "model": model(&r.model),
        "session_model": model(&r.session_model),
        "skill": {
            "requested": text(&skill.requested),
            "available": skill.available,
            "match_count": skill.match_count.unwrap_or(0),
        },
        "scope": redact_list(red, &r.scope),
        "write_paths": redact_list(red, &r.write_paths),
        "context_count": r.context_count.unwrap_or(0),
        "forbidden_count": r.forbidden_count.unwrap_or(0),
        "write_policy": super::words::WritePolicy::known(&r.write_policy),
        "allow_subagents": r.allow_subagents.unwrap_or(false),
        "lease": {
            "state": crate::lease::LeaseState::known(&lease.state),
            "holder": crate::lease::Holder::known(&lease.holder),
            "held_by_this_server": lease.held_by_this_server,
            "expires_at_utc": timestamp(&lease.expires_at_utc),
            "generation": lease.generation,
            "raw_output": NOT_RETURNED,
        },
        "submitted": r.submitted,
        "delivery": super::words::Delivery::known(&r.delivery).unwrap_or("unknown"),
        "turn_started": r.turn_started,
        "prompt_chars": r.prompt_chars,
        "audit_baseline": super::words::AuditBaseline::known(&r.audit_baseline),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
    })
}

fn read_records() -> Result<Vec<ledger::AssignmentRecord>, Fault> {
    let state = State::open()?;
    ledger::assignments(&state)
        .map_err(|_| Fault::new(ErrorCode::CouldNotReadAssignmentLog, "could_not_read_assignment_log"))
}

/// `agent_assignments`' payload (also used by `integration_status`).
pub fn assignments_payload(red: &Redactor, agent: &str, limit: usize) -> Result<Value, Fault> {
    let records: Vec<ledger::AssignmentRecord> =
        read_records()?.into_iter().filter(|r| agent == "all" || r.agent.as_deref() == Some(agent)).collect();
    let retained = records.len();
    let page: Vec<Value> = records.iter().skip(retained.saturating_sub(limit)).map(|r| public_record(red, r)).collect();
    Ok(json!({
        "agent": agent,
        "limit": limit,
        "records": page,
        "record_count": page.len(),
        "retained_count": retained,
        "retention_limit": ledger::RETAIN,
        "records_truncated": retained > limit,
        "log_path": NOT_RETURNED,
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
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

fn newest_for(agent: &str, id: Option<&str>) -> Result<Option<ledger::AssignmentRecord>, Fault> {
    Ok(read_records()?
        .into_iter()
        .rev()
        .find(|r| r.agent.as_deref() == Some(agent) && id.is_none_or(|id| r.assignment_id == id)))
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
        Some(r) => Some(audit(&ctx.redactor, &agent, &r.assignment_id).await),
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
    match record.map(|r| r.assignment_id) {
        Some(id) => Ok(audit(&ctx.redactor, &agent, &id).await),
        None => Ok(audit_result(&agent, None, super::words::AuditStatus::NoAssignment.as_str())),
    }
}

fn audit_result(agent: &str, id: Option<&str>, status: &str) -> Value {
    json!({
        "agent": agent, "assignment_id": id, "status": status, "repo": NOT_RETURNED, "head_moved": null,
        "changed_count": 0, "in_scope_count": 0, "out_of_scope_count": 0, "out_of_scope": [], "out_of_scope_truncated": false,
        "write_paths": [], "write_paths_outside_repo": 0, "raw_output": NOT_RETURNED,
    })
}

/// The diff audit of one assignment.
async fn audit(red: &Redactor, agent: &str, assignment_id: &str) -> Value {
    let id = assignment_id.to_owned();
    let baseline: Option<Baseline> = blocking(move || {
        let state = State::open()?;
        let Some(dir) = state.root.subdir_existing(BASELINES)? else { return Ok(None) };
        let text = dir.read_text_bounded(&format!("{id}.json"), 8 * 1024 * 1024).ok().flatten();
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    })
    .await
    .ok()
    .flatten();
    let Some(b) = baseline else {
        return audit_result(agent, Some(assignment_id), super::words::AuditStatus::NoBaseline.as_str());
    };
    let repo = PathBuf::from(&b.repo);
    let Some(mut changed) = git::changed_since(&repo, b.head.as_deref()).await else {
        return audit_result(agent, Some(assignment_id), super::words::AuditStatus::GitFailed.as_str());
    };
    // Files already dirty at assignment time count only if their content changed since.
    changed.extend(b.dirty.keys().cloned());
    changed.sort();
    changed.dedup();
    let pre_existing: Vec<String> = changed.iter().filter(|p| b.dirty.contains_key(*p)).cloned().collect();
    let now_ids = git::content_ids(&repo, &pre_existing).await;
    let changed: Vec<String> =
        changed.into_iter().filter(|p| b.dirty.get(p).is_none_or(|then| now_ids.get(p) != Some(then))).collect();
    let (inside, outside): (Vec<String>, Vec<String>) =
        changed.iter().cloned().partition(|p| git::under_any(p, &b.write_roots));
    let head_moved = git::head(&repo).await != b.head;
    json!({
        "agent": agent,
        "assignment_id": assignment_id,
        "status": if outside.is_empty() { super::words::AuditStatus::Clean } else { super::words::AuditStatus::OutOfScopeChanges }.as_str(),
        "repo": NOT_RETURNED,
        "head_moved": head_moved,
        "changed_count": changed.len(),
        "in_scope_count": inside.len(),
        "out_of_scope_count": outside.len(),
        "out_of_scope": outside.iter().take(MAX_LISTED).map(|p| red.bounded(p, 300)).collect::<Vec<_>>(),
        "out_of_scope_truncated": outside.len() > MAX_LISTED,
        "write_paths": redact_list(red, &b.write_roots),
        "write_paths_outside_repo": b.write_paths_outside_repo,
        "raw_output": NOT_RETURNED,
    })
}
