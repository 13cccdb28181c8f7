//! Assignments: an order checked completely before anything is sent (role rules, the scope
//! check against the agent's working directory, the skill against its inventory, the rendered
//! prompt's size, a limited worker), then delivered: the git baseline, the audit record under
//! the agent lock before the first keystroke, the send, the delivery outcome. And the diff
//! audit of an assignment against its baseline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::scope::{at_of, recorded_cwd, violations_at};
use super::typing::{send_text, SendOptions, Sent};
use super::words::{AuditBaseline, AuditStatus};
use super::{blocking, Ctx};
use crate::agents::profiles::WorkRole;
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::git;
use crate::lease;
use crate::redactor::Redactor;
use crate::skills::Skill;
use crate::state::ledger::{self, BASELINES};
use crate::state::State;
use crate::timefmt::{iso_utc, now_epoch, now_id};

pub const MAX_PROMPT: usize = 12_000;
pub const MAX_NAME: usize = 80;
/// Out-of-scope files listed by an audit (the count is always complete).
pub const MAX_LISTED: usize = 100;

/// The two roles. The seed's names stay the canonical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Explorer,
    Worker,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_lowercase().as_str() {
            "exploriererin" | "explorer" => Some(Role::Explorer),
            "arbeitsbiene" | "worker" => Some(Role::Worker),
            _ => None,
        }
    }
    pub fn seed_name(self) -> &'static str {
        match self {
            Role::Explorer => "exploriererin",
            Role::Worker => "arbeitsbiene",
        }
    }
    pub fn kind(self) -> &'static str {
        match self {
            Role::Explorer => "explorer",
            Role::Worker => "worker",
        }
    }
    pub fn work(self) -> WorkRole {
        match self {
            Role::Explorer => WorkRole::ReadOnly,
            Role::Worker => WorkRole::Write,
        }
    }
    pub fn write_policy(self) -> &'static str {
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
    /// The host the repository is on (`None`: this machine).
    #[serde(default)]
    pub host: Option<String>,
    pub head: Option<String>,
    /// Files that differed from `HEAD` then, with their content ids.
    pub dirty: BTreeMap<String, String>,
    /// Declared write paths, repo-relative (`""` = the whole repository).
    pub write_roots: Vec<String>,
    /// Write paths that resolve outside the repository (counted, not listed).
    pub write_paths_outside_repo: usize,
}

pub fn refused(reason: &'static str, message: impl AsRef<str>) -> Fault {
    Fault::new(ErrorCode::AssignmentRefused, message).with("reason", reason)
}

/// One work order, whichever tool it came through: items trimmed, blank ones dropped.
pub struct Order {
    pub agent: String,
    pub role: Role,
    pub task: String,
    pub skill: Option<String>,
    pub scope: Vec<String>,
    pub write_paths: Vec<String>,
    pub context: Vec<String>,
    pub forbidden: Vec<String>,
    pub name: Option<String>,
    pub enter: bool,
    pub allow_missing_skill: bool,
    pub allow_subagents: bool,
    pub lease_generation: Option<u64>,
}

/// The role rule: an explorer writes nothing, a worker names what it writes.
pub fn role_refusal(role: Role, write_paths: &[String]) -> Option<Fault> {
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
pub fn scope_refusal(write_paths: &[String], violating: &[String]) -> Option<Fault> {
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
pub struct Planned {
    pub order: Order,
    pub assignment_id: String,
    pub display_name: String,
    pub role_model: &'static str,
    pub session_model: Option<String>,
    pub skill_available: Option<bool>,
    pub skill_matches: Vec<Skill>,
    pub cwd: PathBuf,
    /// The agent's host (`None`: this machine).
    pub host: Option<String>,
    pub prompt: String,
}

/// Checks an order completely and renders its prompt. Nothing is written or sent.
pub async fn plan(ctx: &Ctx, order: Order) -> Result<Planned, Fault> {
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
    // The scope check, against the agent's own working directory, on its own machine.
    let cwd = {
        let a = agent.clone();
        blocking(move || recorded_cwd(&a)).await?
    };
    let violating = violations_at(&at_of(&spec.place), &cwd, &order.scope, &order.write_paths).await?;
    if let Some(refusal) = scope_refusal(&order.write_paths, &violating) {
        return Err(refusal);
    }
    // The skill, against the agent's inventory.
    let (skill_available, skill_matches) = match_skill(&spec, &order).await?;
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
    let observed =
        crate::session::fleet::observe(ctx, std::slice::from_ref(&agent)).await.ok().and_then(|mut v| v.pop());
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
        host: spec.place.host().map(str::to_owned),
        prompt,
    })
}

/// The requested skill in the agent's inventory: whether it is there, and its matches; refused
/// when missing unless the order allows it.
async fn match_skill(spec: &crate::agents::AgentSpec, order: &Order) -> Result<(Option<bool>, Vec<Skill>), Fault> {
    let agent = &order.agent;
    let Some(wanted) = &order.skill else { return Ok((None, Vec::new())) };
    let (home, wanted) = (spec.home.clone(), wanted.clone());
    let roots = spec.provider().skills_roots();
    let matches: Vec<Skill> = blocking(move || {
        let inv = home.as_deref().map(|h| crate::skills::scan(h, roots)).unwrap_or_default();
        Ok(crate::skills::find(&inv, &wanted, 8).into_iter().cloned().collect())
    })
    .await?;
    if matches.is_empty() && !order.allow_missing_skill {
        return Err(refused(
            "skill_not_found",
            format!("the requested skill is not in agent {agent}'s inventory (agent_skills lists it)"),
        ));
    }
    Ok((Some(!matches.is_empty()), matches))
}

/// The refusal for a limited worker: retryable, with the limit's kind and reset.
pub fn limited_refusal(agent: &str, o: &crate::session::observe::Observation) -> Fault {
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
pub fn prompt_request(
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
pub fn audit_record(red: &Redactor, p: &Planned, baseline_state: AuditBaseline) -> ledger::AssignmentRecord {
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
        scope: red.bounded_list(&o.scope, super::scope::MAX_LIST_ITEMS, 300),
        write_paths: red.bounded_list(&o.write_paths, super::scope::MAX_LIST_ITEMS, 300),
        context_count: Some(o.context.len() as u64),
        forbidden_count: Some(o.forbidden.len() as u64),
        write_policy: Some(o.role.write_policy().to_owned()),
        allow_subagents: Some(o.allow_subagents),
        submitted: Some(o.enter),
        delivery: Some("pending".to_owned()),
        prompt_chars: Some(p.prompt.chars().count() as u64),
        audit_baseline: Some(baseline_state.as_str().to_owned()),
        ..Default::default()
    }
}

/// A delivered assignment.
pub struct Assigned {
    pub planned: Planned,
    pub sent: Sent,
    pub baseline: AuditBaseline,
}

/// Plans, then delivers: the baseline, the audit record under the agent lock before the first
/// keystroke, the send, and the delivery outcome.
pub async fn assign(ctx: &Ctx, order: Order) -> Result<Assigned, Fault> {
    let planned = plan(ctx, order).await?;
    let (agent, assignment_id) = (planned.order.agent.clone(), planned.assignment_id.clone());
    let at = ctx.registry.get(&agent).map(|s| at_of(&s.place)).unwrap_or_default();
    let (baseline, baseline_state) = take_baseline(&at, &planned, &assignment_id).await;
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
    Ok(Assigned { planned, sent, baseline: baseline_state })
}

/// Under the agent lock, after the lease check: the audit record with the lease as it is now,
/// the baseline, and the agent's newest assignment id.
pub fn write_records(
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
pub fn delivery_record(assignment_id: &str, agent: &str, sent: Option<&Sent>) -> ledger::Entry {
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

/// Records the repository state at assignment time, where the agent's files are; `(None,
/// why)` when there is no repository.
pub async fn take_baseline(at: &git::At, p: &Planned, assignment_id: &str) -> (Option<Baseline>, AuditBaseline) {
    let Some(repo) = git::toplevel(at, &p.cwd).await else { return (None, AuditBaseline::NotAGitRepo) };
    let head = git::head(at, &repo).await;
    let Some(dirty) = git::dirty_paths(at, &repo).await else { return (None, AuditBaseline::Failed) };
    let dirty = git::content_ids(at, &repo, &dirty).await;
    let Ok(resolved) = super::scope::resolve_at(at, &p.cwd, &p.order.write_paths).await else {
        return (None, AuditBaseline::Failed);
    };
    let mut write_roots = Vec::new();
    let mut outside = 0;
    for w in &resolved {
        match w.as_deref().and_then(|w| git::repo_relative(&repo, w)) {
            Some(rel) => write_roots.push(rel),
            None => outside += 1,
        }
    }
    let baseline = Baseline {
        assignment_id: assignment_id.to_owned(),
        agent: p.order.agent.clone(),
        role: p.order.role.kind().to_owned(),
        repo: repo.to_string_lossy().into_owned(),
        host: p.host.clone(),
        head,
        dirty,
        write_roots,
        write_paths_outside_repo: outside,
    };
    (Some(baseline), AuditBaseline::Recorded)
}

pub fn newest_for(agent: &str, id: Option<&str>) -> Result<Option<ledger::AssignmentRecord>, Fault> {
    Ok(read_records()?
        .into_iter()
        .rev()
        .find(|r| r.agent.as_deref() == Some(agent) && id.is_none_or(|id| r.assignment_id == id)))
}

/// What an assignment's diff audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub status: AuditStatus,
    pub head_moved: Option<bool>,
    pub changed_count: usize,
    pub in_scope_count: usize,
    /// Repository-relative paths changed outside the write paths.
    pub out_of_scope: Vec<String>,
    pub write_roots: Vec<String>,
    pub write_paths_outside_repo: usize,
}

impl Audit {
    /// An audit that could not compare anything.
    pub fn empty(status: AuditStatus) -> Audit {
        Audit {
            status,
            head_moved: None,
            changed_count: 0,
            in_scope_count: 0,
            out_of_scope: Vec::new(),
            write_roots: Vec::new(),
            write_paths_outside_repo: 0,
        }
    }
}

/// The diff audit of one assignment against its baseline, where its repository is.
pub async fn audit(ctx: &Ctx, assignment_id: &str) -> Audit {
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
    let Some(b) = baseline else { return Audit::empty(AuditStatus::NoBaseline) };
    let repo = PathBuf::from(&b.repo);
    // A host no longer configured cannot be asked.
    let at = match b.host.as_deref() {
        None => git::At::Local,
        Some(name) => match ctx.registry.hosts().iter().find(|h| h.place.host() == Some(name)) {
            Some(h) => at_of(&h.place),
            None => return Audit::empty(AuditStatus::GitFailed),
        },
    };
    let Some(mut changed) = git::changed_since(&at, &repo, b.head.as_deref()).await else {
        return Audit::empty(AuditStatus::GitFailed);
    };
    // Files already dirty at assignment time count only if their content changed since.
    changed.extend(b.dirty.keys().cloned());
    changed.sort();
    changed.dedup();
    let pre_existing: Vec<String> = changed.iter().filter(|p| b.dirty.contains_key(*p)).cloned().collect();
    let now_ids = git::content_ids(&at, &repo, &pre_existing).await;
    let changed: Vec<String> =
        changed.into_iter().filter(|p| b.dirty.get(p).is_none_or(|then| now_ids.get(p) != Some(then))).collect();
    let (inside, outside): (Vec<String>, Vec<String>) =
        changed.iter().cloned().partition(|p| git::under_any(p, &b.write_roots));
    Audit {
        status: if outside.is_empty() { AuditStatus::Clean } else { AuditStatus::OutOfScopeChanges },
        head_moved: Some(git::head(&at, &repo).await != b.head),
        changed_count: changed.len(),
        in_scope_count: inside.len(),
        out_of_scope: outside,
        write_roots: b.write_roots,
        write_paths_outside_repo: b.write_paths_outside_repo,
    }
}

/// The assignment records of the ledger, oldest first.
pub fn read_records() -> Result<Vec<ledger::AssignmentRecord>, Fault> {
    let state = State::open()?;
    ledger::assignments(&state)
        .map_err(|_| Fault::new(ErrorCode::CouldNotReadAssignmentLog, "could_not_read_assignment_log"))
}
