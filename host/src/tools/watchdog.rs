//! `fleet_watchdog` and `master_watchdog_status`.
//!
//! Each pass observes the fleet once (batched tmux queries), then decides per agent with
//! [`crate::watchdog::decide`] and acts under the agent's lock: a report request first, the
//! planned action only after the grace window passed with no answer.

use crate::codes::ErrorCode;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::{
    agent_error_entry, blocking, handler, out, Ctx, Fault, Hints, NoArgs, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY,
};
use crate::agents::Registry;
use crate::ext::types::limits::RESET_PASSED_RULE;
use crate::lease::{self, Lease};
use crate::session::fleet::observe;
use crate::session::observe::Observation;
use crate::session::stop::{interrupt_agent, release_agent, stop_one};
use crate::session::typing::{request_report, send_continue};
use crate::state::State;
use crate::timefmt::now_epoch;
use crate::watchdog::{self, Action, Decision, Facts, Marker, Phase, Policy};

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "fleet_watchdog",
            title: "Fleet watchdog",
            description: "One watchdog pass: an agent idle past the threshold is asked once for a report; if the grace window passes with no answer, the planned action (interrupt, stop, release) follows, once. Busy agents, limit screens, dialogs and other clients' leases are left alone. Decides from metadata and raw-log counters only.",
            cli_name: "watchdog",
            params: vec![
                super::agent_param::one_or_all(reg),
                Param::integer("idle_seconds", 1, Some(watchdog::MAX_IDLE_SECONDS), "Raw-log idle time before a report is requested.").default(json!(watchdog::DEFAULT_IDLE_SECONDS)),
                Param::integer("poll_interval_seconds", 1, Some(900), "The timer's period (echoed).").default(json!(watchdog::DEFAULT_POLL_SECONDS)),
                Param::integer("report_grace_seconds", 0, Some(watchdog::MAX_GRACE_SECONDS), "How long a report may take before the action.").default(json!(watchdog::DEFAULT_GRACE_SECONDS)),
                Param::choice("action", &Action::ALL.map(Action::as_str), "What follows an unanswered report request.").default(json!(Action::Interrupt.as_str())),
                Param::boolean("require_lease", "Act only on agents this client leases (or unclaimed ones with manage_unclaimed).").default(json!(true)).negated("no-require-lease"),
                Param::boolean("manage_unclaimed", "Also act on agents nobody leases."),
                Param::boolean("resume_after_reset", "Once a limit's reset time has passed and the agent sits idle on it, send the prompts extension's continue prompt, once per limit (recorded in the agent's metadata)."),
                Param::boolean("dry_run", "Decide and report, but send nothing and write nothing."),
                Param::boolean("quiet", "CLI: print nothing when every agent's entry succeeded (errors are still printed)."),
            ],
            output: || out::object(
                json!({
                    "status": {"const": "ok"},
                    "results": {"type": "array", "items": {"type": "object"}},
                    "raw_output": out::not_returned(),
                }),
                &["status", "results"],
            ),
            hints: Hints { read_only: false, destructive: true, idempotent: false },
            multi_agent: true,
            handler: handler!(fleet_watchdog),
        },
        ToolDef {
            name: "master_watchdog_status",
            title: "Watchdog units",
            description: "Whether the watchdog's systemd user units are installed, enabled and active. Returns no paths and no unit contents.",
            cli_name: "watchdog-status",
            params: vec![],
            output: || out::object(
                json!({
                    "service_installed": {"type": "boolean"},
                    "timer_installed": {"type": "boolean"},
                    "timer_enabled": out::nullable("boolean"),
                    "timer_active": out::nullable("boolean"),
                    "units_match_repository": out::nullable("boolean"),
                    "unit_path": out::not_returned(),
                }),
                &["service_installed", "timer_installed"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(watchdog_status),
        },
    ]
}

/// `fleet_watchdog` arguments. `quiet` shapes only the CLI's printing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchdogArgs {
    agent: String,
    idle_seconds: u64,
    poll_interval_seconds: u64,
    report_grace_seconds: u64,
    #[serde(deserialize_with = "super::choice")]
    action: Action,
    require_lease: bool,
    manage_unclaimed: bool,
    resume_after_reset: bool,
    dry_run: bool,
    #[allow(dead_code)]
    quiet: bool,
}

async fn fleet_watchdog(ctx: Arc<Ctx>, args: WatchdogArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let policy = Policy {
        idle_seconds: args.idle_seconds,
        grace_seconds: args.report_grace_seconds,
        action: args.action,
        require_lease: args.require_lease,
        resume_after_reset: args.resume_after_reset,
    };
    let WatchdogArgs { manage_unclaimed, dry_run, .. } = args;
    if !dry_run {
        blocking(|| Ok(State::open().map(|st| crate::lease::recover(&st)).unwrap_or_default())).await?;
    }
    let observed = observe(&ctx, &agents).await?;
    let mut results = Vec::new();
    for (agent, obs) in agents.iter().zip(observed) {
        let entry = match obs {
            Ok(o) => watch_one(&ctx, agent, &o, policy, manage_unclaimed, dry_run)
                .await
                .unwrap_or_else(|e| agent_error_entry(agent, &e, &ctx.client_id)),
            Err(e) => agent_error_entry(agent, &e, &ctx.client_id),
        };
        results.push(entry);
    }
    Ok(json!({
        "status": "ok",
        "agent": args.agent,
        "idle_seconds": policy.idle_seconds,
        "poll_interval_seconds": args.poll_interval_seconds,
        "report_grace_seconds": policy.grace_seconds,
        "action": policy.action.as_str(),
        "require_lease": policy.require_lease,
        "manage_unclaimed": manage_unclaimed,
        "resume_after_reset": policy.resume_after_reset,
        "dry_run": dry_run,
        "results": results,
        "raw_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
    }))
}

async fn watch_one(
    ctx: &Ctx,
    agent: &str,
    obs: &Observation,
    policy: Policy,
    manage_unclaimed: bool,
    dry_run: bool,
) -> Result<Value, Fault> {
    let (a, client) = (agent.to_owned(), ctx.client_id.clone());
    let (lease, meta) = blocking(move || {
        let st = State::open()?;
        Ok((lease::read(&st, &a), st.read_meta(&a)?))
    })
    .await?;
    let limit_key = meta.as_ref().map(limit_key);
    let facts = watch_facts(obs, &lease, meta.as_ref(), limit_key.as_deref(), &client, manage_unclaimed);
    let decision = watchdog::decide(&facts, &policy);
    let mut entry = entry_json(agent, obs, &lease, &client, &policy, &facts, &decision, manage_unclaimed, dry_run);
    if dry_run {
        return Ok(entry);
    }
    let taken =
        Taken { policy, meta: meta.as_ref(), limit_key, take_over: manage_unclaimed && !lease.held_by(&client) };
    act(ctx, agent, decision, taken, &mut entry).await?;
    Ok(entry)
}

/// What the watchdog decides on: the observation, the lease and the recorded run.
fn watch_facts<'a>(
    obs: &Observation,
    lease: &Lease,
    meta: Option<&'a crate::state::meta::AgentMeta>,
    limit_key: Option<&'a str>,
    client: &str,
    manage_unclaimed: bool,
) -> Facts<'a> {
    let unclaimed = matches!(lease, Lease::Unclaimed { .. } | Lease::Expired(_));
    // The screen still shows a limit whose reset time has passed, with the agent idle on it.
    let passed = obs.classified.as_ref().is_some_and(|c| c.rule == RESET_PASSED_RULE && !c.blocks_input)
        && obs.state.turn_over();
    Facts {
        running: obs.running,
        state: obs.state,
        held_by_other: lease.held_by_other(client) && !matches!(lease, Lease::Expired(_)),
        lease_allowed: lease.held_by(client) || (manage_unclaimed && unclaimed),
        idle_seconds: obs.log_idle_seconds.map(|s| s as f64).or_else(|| meta.map(|m| now_epoch() - m.started_at_epoch)),
        log_bytes: obs.log_bytes,
        last_send_at: meta.and_then(|m| m.last_send.as_ref()).map(|s| s.at_epoch),
        now: now_epoch(),
        marker: meta.and_then(|m| m.watchdog.as_ref()),
        passed_limit: limit_key.filter(|_| passed),
        resumed_limit: meta.and_then(|m| m.resumed_limit.as_deref()),
    }
}

/// One agent's watchdog entry, before any action: what it saw and decided (a dry run says what
/// it would do).
#[allow(clippy::too_many_arguments)]
fn entry_json(
    agent: &str,
    obs: &Observation,
    lease: &Lease,
    client: &str,
    policy: &Policy,
    facts: &Facts<'_>,
    decision: &Decision,
    manage_unclaimed: bool,
    dry_run: bool,
) -> Value {
    let mut entry = json!({
        "agent": agent,
        "running": obs.running,
        "state": obs.state.as_str(),
        "lease_state": lease.view(client).state.as_str(),
        "held_by_this_server": lease.held_by(client),
        "manage_unclaimed": manage_unclaimed,
        "effective_idle_seconds": facts.idle_seconds.map(|s| s as u64),
        "activity_source": if obs.log_idle_seconds.is_some() { "raw_log" } else { "session_start_age" },
        "idle_threshold_seconds": policy.idle_seconds,
        "report_grace_seconds": policy.grace_seconds,
        "planned_action": policy.action.as_str(),
        "dry_run": dry_run,
        "watchdog_state": decision.name(),
        "action_taken": Value::Null,
        "raw_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
    });
    if let Decision::Waiting { elapsed } = *decision {
        entry["report_elapsed_seconds"] = json!(elapsed as u64);
        entry["next_action_after_seconds"] = json!((policy.grace_seconds as f64 - elapsed).max(0.0).ceil() as u64);
    }
    if dry_run {
        entry["watchdog_state"] = json!(match decision {
            Decision::RequestReport => "would_request_report".to_owned(),
            Decision::ResumeAfterReset => "would_resume_after_reset".to_owned(),
            Decision::Escalate => format!("would_{}", policy.action.as_str()),
            other => other.name().to_owned(),
        });
    }
    entry
}

/// What an action needs beyond the decision.
struct Taken<'a> {
    policy: Policy,
    meta: Option<&'a crate::state::meta::AgentMeta>,
    limit_key: Option<String>,
    /// The agent's lease is not ours and `manage_unclaimed` lets us take it.
    take_over: bool,
}

/// Carries out a decision and records it in the entry.
async fn act(ctx: &Ctx, agent: &str, decision: Decision, t: Taken<'_>, entry: &mut Value) -> Result<(), Fault> {
    let assignment_id = t.meta.and_then(|m| m.last_assignment_id.clone());
    match decision {
        Decision::Active { drop_marker: true } => set_marker(agent, |_, _| None).await?,
        Decision::RequestReport => {
            let sent = request_report(ctx, agent, assignment_id.clone(), true, None).await;
            let action = t.policy.action;
            // The log size when the turn was first seen holds the request's echo but no answer:
            // only growth past it is one.
            let at_turn = sent.as_ref().ok().and_then(|s| s.log_bytes_at_turn);
            set_marker(agent, move |_, bytes| {
                let bytes = at_turn.map_or(bytes, |b| b.min(bytes));
                Some(Marker {
                    phase: Phase::ReportRequested,
                    requested_at_epoch: now_epoch(),
                    log_bytes_after_request: bytes,
                    planned_action: action,
                    assignment_id,
                    settled_at_epoch: None,
                })
            })
            .await?;
            entry["action_taken"] = json!("report_request");
            entry["report_request"] = match sent {
                Ok(s) => {
                    json!({"status": "report_requested", "submitted": s.submitted, "turn_started": s.turn_started})
                }
                Err(e) => super::fault_json(&e, &ctx.client_id),
            };
            entry["next_action_after_seconds"] = json!(t.policy.grace_seconds);
        }
        Decision::ResumeAfterReset => {
            let key = t.limit_key.unwrap_or_default();
            entry["action_taken"] = json!("continue_prompt");
            entry["continue_prompt"] = match send_continue(ctx, agent, key, assignment_id).await {
                Ok(s) => json!({"status": "sent", "submitted": s.submitted, "turn_started": s.turn_started}),
                Err(e) => super::fault_json(&e, &ctx.client_id),
            };
        }
        Decision::Answered => settle(agent, Phase::Answered).await?,
        Decision::Escalate => {
            let result = escalate(ctx, agent, t.policy.action, t.take_over).await;
            settle(agent, Phase::Escalated).await?;
            entry["action_taken"] = json!(t.policy.action.as_str());
            entry["action_result"] = result.unwrap_or_else(|e| super::fault_json(&e, &ctx.client_id));
        }
        _ => {}
    }
    Ok(())
}

/// Which limit an agent sits on: the turn it hit the limit in (a limit shows after the last
/// lead send, or after the start when nothing was sent).
fn limit_key(meta: &crate::state::meta::AgentMeta) -> String {
    match &meta.last_send {
        Some(s) => format!("after-send-{:.3}", s.at_epoch),
        None => format!("after-start-{:.3}", meta.started_at_epoch),
    }
}

/// Runs the planned action; `release_after` gives back a lease the action claimed on an agent
/// nobody leased.
async fn escalate(ctx: &Ctx, agent: &str, action: Action, release_after: bool) -> Result<Value, Fault> {
    let status = match action {
        Action::Interrupt => {
            interrupt_agent(ctx, agent, None).await?;
            if release_after {
                release_agent(ctx, agent, false, None).await?;
            }
            "interrupt_sent"
        }
        Action::Stop => stop_one(ctx, agent, false, None).await?.status().as_str(),
        Action::Release => release_agent(ctx, agent, false, None).await?.status.as_str(),
        Action::None => "no_action",
    };
    Ok(json!({"status": status, "raw_output": NOT_RETURNED, "response_output": NOT_RETURNED}))
}

async fn settle(agent: &str, phase: Phase) -> Result<(), Fault> {
    set_marker(agent, move |m, _| {
        m.map(|mut m| {
            m.phase = phase;
            m.settled_at_epoch = Some(now_epoch());
            m
        })
    })
    .await
}

/// Read-modify-write of the marker under the agent lock; `f` also gets the raw log's size.
async fn set_marker(
    agent: &str,
    f: impl FnOnce(Option<Marker>, u64) -> Option<Marker> + Send + 'static,
) -> Result<(), Fault> {
    let agent = agent.to_owned();
    blocking(move || {
        let state = State::open()?;
        let _lock = state.agent_lock(&agent)?;
        let Some(mut meta) = state.read_meta(&agent)? else {
            return Err(Fault::new(
                ErrorCode::CouldNotUpdateWatchdogMetadata,
                format!("agent {agent} has no readable metadata"),
            ));
        };
        let log_bytes = state.raw.file_stat(&meta.raw_log).ok().flatten().map_or(0, |(size, _)| size);
        meta.watchdog = f(meta.watchdog.take(), log_bytes);
        state.write_meta(&meta)?;
        Ok(())
    })
    .await
}

async fn watchdog_status(_ctx: Arc<Ctx>, _args: NoArgs) -> ToolResult {
    let s = blocking(|| Ok(crate::install::watchdog_units_status())).await?;
    Ok(json!({
        "service_installed": s.service_installed,
        "timer_installed": s.timer_installed,
        "units_match_repository": s.units_match_repository,
        "timer_enabled": s.timer_enabled,
        "timer_active": s.timer_active,
        "unit_path": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}
