//! `fleet_watchdog` and `master_watchdog_status`.
//!
//! Each pass observes the fleet once (batched tmux queries), then decides per agent with
//! [`crate::watchdog::decide`] and acts under the agent's lock: a report request first, the
//! planned action only after the grace window passed with no answer.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::{
    agent_error_entry, blocking, handler, out, Ctx, Hints, NoArgs, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY,
};
use crate::agents::Registry;
use crate::session::fleet::observe;
use crate::session::observe::Observation;
use crate::session::typing::Sent;
use crate::session::watch::{watch_one, Acted, Watched};
use crate::state::State;
use crate::watchdog::{self, Action, Decision, Policy};

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
            Ok(o) => match watch_one(&ctx, agent, &o, policy, manage_unclaimed, dry_run).await {
                Ok(w) => watched_json(&ctx.client_id, agent, &o, &w, &policy, manage_unclaimed),
                Err(e) => agent_error_entry(agent, &e, &ctx.client_id),
            },
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

/// One agent's watchdog entry: what it saw and decided (a dry run says what it would do), and
/// what it did.
fn watched_json(
    client: &str,
    agent: &str,
    obs: &Observation,
    w: &Watched,
    policy: &Policy,
    manage_unclaimed: bool,
) -> Value {
    let dry_run = w.acted.is_none();
    let mut entry = json!({
        "agent": agent,
        "running": obs.running,
        "state": obs.state.as_str(),
        "lease_state": w.lease.view(client).state.as_str(),
        "held_by_this_server": w.lease.held_by(client),
        "manage_unclaimed": manage_unclaimed,
        "effective_idle_seconds": w.idle_seconds.map(|s| s as u64),
        "activity_source": if obs.log_idle_seconds.is_some() { "raw_log" } else { "session_start_age" },
        "idle_threshold_seconds": policy.idle_seconds,
        "report_grace_seconds": policy.grace_seconds,
        "planned_action": policy.action.as_str(),
        "dry_run": dry_run,
        "watchdog_state": w.decision.name(),
        "action_taken": Value::Null,
        "raw_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
    });
    if let Decision::Waiting { elapsed } = w.decision {
        entry["report_elapsed_seconds"] = json!(elapsed as u64);
        entry["next_action_after_seconds"] = json!((policy.grace_seconds as f64 - elapsed).max(0.0).ceil() as u64);
    }
    match &w.acted {
        None => {
            entry["watchdog_state"] = json!(w.decision.verdict(policy.action));
        }
        Some(acted) => acted_json(client, acted, policy, &mut entry),
    }
    entry
}

/// What the pass did, into the entry.
fn acted_json(client: &str, acted: &Acted, policy: &Policy, entry: &mut Value) {
    let turn =
        |status: &str, s: &Sent| json!({"status": status, "submitted": s.submitted, "turn_started": s.turn_started});
    match acted {
        Acted::Nothing => {}
        Acted::ReportRequest(sent) => {
            entry["action_taken"] = json!("report_request");
            entry["report_request"] = match sent {
                Ok(s) => turn("report_requested", s),
                Err(e) => super::fault_json(e, client),
            };
            entry["next_action_after_seconds"] = json!(policy.grace_seconds);
        }
        Acted::ContinuePrompt(sent) => {
            entry["action_taken"] = json!("continue_prompt");
            entry["continue_prompt"] = match sent {
                Ok(s) => turn("sent", s),
                Err(e) => super::fault_json(e, client),
            };
        }
        Acted::Escalated(action, result) => {
            entry["action_taken"] = json!(action.as_str());
            entry["action_result"] = match result {
                Ok(done) => {
                    json!({"status": done.as_str(), "raw_output": NOT_RETURNED, "response_output": NOT_RETURNED})
                }
                Err(e) => super::fault_json(e, client),
            };
        }
    }
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
