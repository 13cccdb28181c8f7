//! Observation tools: `agent_status`, `agent_wait`, `agent_safe_tail`.
//!
//! One status pass for any number of agents costs one `list-panes -a`, one batched
//! `capture-pane`, one `/proc` scan and one classifier call per running agent. Nothing read
//! from a pane or a raw log is returned, except through the redactor by `agent_safe_tail`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::ext_json;
use super::schema::Param;
use super::views::PublicLease;
use super::{
    agent_error_entry, agent_param, blocking, handler, out, Ctx, Fault, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY,
};
use crate::agents::profiles::DialogChoice;
use crate::agents::{facts, AgentSpec, AgentState, Registry};
use crate::ext::types::limits::DialogKind;
use crate::redactor::Redactor;
use crate::session::observe;
use crate::state::ledger;
use crate::state::rawlog::MAX_RAW_LOG_BYTES;
use crate::state::State;
use crate::timefmt::iso_utc;
use crate::wire::Wire;

pub const MAX_TAIL_LINES: i64 = 80;
pub const MAX_TAIL_CHARS: i64 = 8192;
use super::words::WaitStatus;
pub use crate::session::fleet::{observe, PANE_LINES};
pub use crate::session::observe::{Observation, IDLE_RESPONSE_SECONDS};
pub use crate::session::tail::{bound_tail, tail, TailSource};
pub use crate::session::wait::{wait_for, Until, WaitMode};
pub const DEFAULT_WAIT_SECONDS: i64 = 120;
pub const MAX_WAIT_SECONDS: i64 = 600;

fn state_schema() -> Value {
    out::words::<AgentState>()
}

fn dialog_schema() -> Value {
    json!({"anyOf": [
        {"type": "null"},
        out::object(
            json!({
                "kind": {"enum": DialogKind::ALL.iter().filter(|k| **k != DialogKind::None).map(|k| k.as_str()).collect::<Vec<_>>()},
                "blocks_input": {"type": "boolean"},
                "answer": {"anyOf": [out::words::<DialogChoice>(), {"type": "null"}]},
            }),
            &["kind", "blocks_input", "answer"],
        ),
    ]})
}

/// `{"kind", "blocks_input", "answer"}` for an open dialog: the one allowlisted answer
/// `agent_dialog_answer` takes for it (none for unknown dialogs).
pub fn dialog_json(kind: DialogKind, blocks_input: bool) -> Value {
    if kind == DialogKind::None {
        return Value::Null;
    }
    json!({"kind": kind.as_str(), "blocks_input": blocks_input, "answer": DialogChoice::allowed_for(kind).map(DialogChoice::as_str)})
}

pub fn status_entry_schema() -> Value {
    out::object(
        json!({
            "agent": {"type": "string"},
            "label": {"type": "string"},
            "profile": {"enum": crate::agents::profiles::Profile::all().map(|p| p.name()).collect::<Vec<_>>()},
            "classifier": out::object(
                json!({"name": {"type": "string"}, "sha256": {"type": "string"}}),
                &["name", "sha256"],
            ),
            "backend": {"const": "tmux"},
            "state": state_schema(),
            "state_source": out::words::<facts::Source>(),
            "events": out::object(
                json!({
                    "listening": {"type": "boolean"},
                    "received": {"type": "integer"},
                    "last_at_utc": out::nullable("string"),
                    "disagreements": {"type": "integer"},
                }),
                &["listening", "received", "disagreements"],
            ),
            "running": {"type": "boolean"},
            "host": out::nullable("string"),
            "host_state": out::words::<super::words::HostState>(),
            "session": {"type": "string"},
            "dialog": dialog_schema(),
            "home": out::not_returned(),
            "home_state": out::words::<super::words::SetState>(),
            "runner": out::not_returned(),
            "runner_state": out::words::<super::words::RunnerState>(),
            "cwd": out::nullable("string"),
            "cwd_state": out::words::<super::words::SetState>(),
            "started_at_utc": out::nullable("string"),
            "model": out::nullable("string"),
            "model_source": out::words::<observe::ModelOrigin>(),
            "model_reasoning_effort": out::nullable("string"),
            "lease": {"type": "object"},
            "limit_state": {"type": "object"},
            "tui_context": {"type": "object"},
            "response_state": out::object(
                json!({"state": out::words::<observe::Response>(), "idle_threshold_seconds": {"type": "integer"}, "response_output": out::not_returned(), "raw_output": out::not_returned()}),
                &["state"],
            ),
            "last_send": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            "last_assignment": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            "raw_log": out::nullable("string"),
            "raw_log_bytes": out::nullable("integer"),
            "raw_log_updated_at_utc": out::nullable("string"),
            "raw_log_idle_seconds": out::nullable("integer"),
            "raw_log_max_bytes": {"type": "integer"},
            "raw_log_policy": {"type": "string"},
            "memory_cap": {"type": "object"},
            "home_process_count": {"type": "integer"},
            "home_external_process_count": {"type": "integer"},
            "raw_output": out::not_returned(),
        }),
        &["agent", "state", "running", "session", "dialog", "lease", "limit_state", "tui_context", "response_state"],
    )
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "agent_status",
            title: "Agent status",
            description: "State of each agent (idle, working, dialog, limited, warned, exited, not_running, unknown), its lease, limit state and raw-log activity; `blocked` lists limited agents with their reset time and model bucket; `host` gives memory and CPU pressure, headroom and the workers running. A stopped agent shows its newest assignment. Returns no terminal text and no local paths.",
            cli_name: "status",
            params: vec![agent_param::one_or_all(reg)],
            output: || out::object(
                json!({
                    "results": {"type": "array", "items": status_entry_schema()},
                    "blocked": {"type": "array", "items": out::object(
                        json!({
                            "agent": {"type": "string"},
                            "kind": {"type": "string"},
                            "until_utc": out::nullable("string"),
                            "reset_at_epoch_seconds": out::nullable("integer"),
                            "model_bucket": out::nullable("string"),
                        }),
                        &["agent", "kind", "until_utc", "model_bucket"],
                    )},
                    "host": out::object(
                        json!({
                            "pressure": out::words::<super::words::Pressure>(),
                            "memory_pressure_avg10": out::nullable("number"),
                            "cpu_pressure_avg10": out::nullable("number"),
                            "memory_available_mib": out::nullable("integer"),
                            "memory_headroom_mib": out::nullable("integer"),
                            "workers_running": {"type": "integer"},
                            "worker_processes": {"type": "integer"},
                            "max_workers": {"type": "integer"},
                            "admission": out::words::<super::words::AdmissionState>(),
                            "busy_check": out::nullable("string"),
                            "near_limit": {"type": "array", "items": {"type": "string"}},
                            "near_limit_percent": {"type": "integer"},
                        }),
                        &["pressure", "workers_running", "admission"],
                    ),
                    "hosts": {"type": "array", "items": out::object(
                        json!({
                            "name": {"type": "string"},
                            "state": out::words::<super::words::HostState>(),
                            "round_trip_ms": {"type": "integer"},
                            "memory_available_mib": out::nullable("integer"),
                            "memory_pressure_avg10": out::nullable("number"),
                            "cpu_pressure_avg10": out::nullable("number"),
                            "workers_running": {"type": "integer"},
                            "max_workers": {"type": "integer"},
                            "admission": out::words::<super::words::AdmissionState>(),
                            "busy_check": out::nullable("string"),
                        }),
                        &["name", "state", "round_trip_ms", "admission"],
                    )},
                }),
                &["results", "blocked", "host", "hosts"],
            ),
            hints: READ_ONLY,
            multi_agent: true,
            handler: handler!(status),
        },
        ToolDef {
            name: "agent_wait",
            title: "Wait for an agent",
            description: "Wait (bounded, cancellable) until an agent shows activity or finishes its turn, or is blocked by a limit, a dialog, or stopped. With `all`, waits for the first or for every agent (`mode`).",
            cli_name: "wait",
            params: vec![
                Param::choice_owned("agent", agent_param::names_and(reg, &["all"]), "Agent name, or `all`.").required().positional(),
                Param::integer("timeout_seconds", 0, Some(MAX_WAIT_SECONDS), "Longest wait.").default(json!(DEFAULT_WAIT_SECONDS)),
                Param::integer("poll_interval_seconds", 1, Some(900), "Longest pause between checks.").default(json!(30)),
                Param::choice("until", &Until::words(), "`activity`: any new output or state change; `idle`: the turn is over; `available`: a limit's reset time has passed and the screen no longer shows it (a limit does not end this wait).").default(json!("activity")),
                Param::choice("mode", &WaitMode::words(), "With several agents: return at the first that is done, or when all are.").default(json!("first")),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": out::words::<super::words::WaitStatus>(),
                    "timeout_seconds": {"type": "integer"},
                    "poll_count": {"type": "integer"},
                    "elapsed_seconds": {"type": "number"},
                    "initial": {"type": "object"},
                    "current": {"type": "object"},
                    "results": {"type": "array"},
                    "raw_output": out::not_returned(),
                }),
                &["status", "elapsed_seconds"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(wait),
        },
        ToolDef {
            name: "agent_safe_tail",
            title: "Safe tail",
            description: "The last lines of an agent's pane or raw log, ANSI-stripped and redacted (secrets, local paths), bounded to 80 lines and 8,192 characters. The only tool that returns terminal text; withheld when redaction fails.",
            cli_name: "tail",
            params: vec![
                agent_param::one(reg),
                Param::choice("source", &TailSource::words(), "Read the visible pane or the raw log.").default(json!("pane")),
                Param::integer("lines", 1, Some(MAX_TAIL_LINES), "Lines to keep.").default(json!(40)),
                Param::integer("chars", 1, Some(MAX_TAIL_CHARS), "Characters to keep.").default(json!(4000)),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "source": out::words::<TailSource>(),
                    "lines_limit": {"type": "integer"},
                    "chars_limit": {"type": "integer"},
                    "redaction_applied": {"type": "boolean"},
                    "redaction": out::words::<super::words::TailRedaction>(),
                    "raw_log": out::nullable("string"),
                    "output": {"type": "string"},
                }),
                &["agent", "source", "output", "redaction_applied"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(safe_tail),
        },
    ]
}

/// What the worker's own events say: whether they are listened to, how many arrived this run,
/// when the newest came, and on how many facts they and the screen disagree (numbers only).
fn events_json(o: &Observation) -> Value {
    let view = o.events.as_ref();
    json!({
        "listening": o.hooks,
        "received": view.map_or(0, |v| v.received),
        "last_at_utc": view.map(|v| iso_utc(v.last_at_ms as f64 / 1000.0)),
        "disagreements": o.disagreements,
    })
}

/// The classifier's reading as `limit_state` (its evidence never returned), or why it failed.
fn limit_state_json(o: &Observation) -> Value {
    match (&o.classified, &o.classify_error) {
        (Some(c), _) => {
            let mut v = ext_json::classify_output(c);
            if let Some(m) = v.as_object_mut() {
                m.remove("tui_context");
                m.insert("evidence".into(), json!(NOT_RETURNED));
                m.insert("source".into(), json!(o.limit_source.map(facts::Source::as_str)));
            }
            v
        }
        (None, e) => json!({
            "severity": "unknown",
            "limited": false,
            "error_code": e.as_ref().map(|e| e.code()),
            "message": e.as_ref().map(ToString::to_string),
            "evidence": NOT_RETURNED,
        }),
    }
}

/// The screen as the classifier read it (`tui_context`).
fn tui_json(o: &Observation) -> Value {
    match (&o.classified, o.running && !o.dead) {
        (_, false) => {
            json!({"state": if o.dead { "exited" } else { "not_running" }, "source": "tmux", "evidence": NOT_RETURNED})
        }
        (Some(c), true) => json!({
            "state": c.tui.as_str(),
            "blocks_input": c.blocks_input,
            "dialog": (c.dialog != DialogKind::None).then(|| c.dialog.as_str()),
            "source": "classified_from_bounded_pane_text",
            "evidence": NOT_RETURNED,
        }),
        (None, true) => json!({"state": "unknown", "source": "classifier_failed", "evidence": NOT_RETURNED}),
    }
}

/// One agent's status entry: an allowlist of the observation's fields; the label redacted,
/// hidden data as `not_returned`, the lease as the caller may see it.
pub fn observation_json(o: &Observation, spec: &AgentSpec, red: &Redactor, client: &str) -> Value {
    let (classifier_name, classifier_sha256) = (&o.classifier.0, &o.classifier.1);
    let run = o.run.as_ref();
    json!({
        "agent": spec.name,
        "label": red.bounded(&spec.label, 80),
        "profile": spec.profile.name(),
        "classifier": {"name": classifier_name, "sha256": classifier_sha256},
        "backend": "tmux",
        "state": o.state.as_str(),
        "state_source": o.state_source.as_str(),
        "events": events_json(o),
        "running": o.running,
        "host": spec.place.host(),
        "host_state": super::words::HostState::of(&spec.place, o.host_unreachable).as_str(),
        "session": spec.session,
        "dialog": dialog_json(o.dialog, o.dialog_blocks_input),
        "home": NOT_RETURNED,
        "home_state": set_state(spec.home.is_some()),
        "runner": NOT_RETURNED,
        "runner_state": match &spec.runner {
            Some(_) => super::words::RunnerState::Configured,
            None if spec.provider().runs_in_this_binary() => super::words::RunnerState::Builtin,
            None => super::words::RunnerState::NotConfigured,
        }
        .as_str(),
        "cwd": run.map(|_| NOT_RETURNED),
        "cwd_state": set_state(run.is_some()),
        "started_at_utc": run.map(|r| iso_utc(r.started_at_epoch)),
        "model": o.model,
        "model_source": o.model_origin.as_str(),
        "model_reasoning_effort": o.reasoning_effort,
        "lease": o.lease.public(&spec.name, client),
        "limit_state": limit_state_json(o),
        "tui_context": tui_json(o),
        "response_state": {"state": o.response.as_str(), "idle_threshold_seconds": IDLE_RESPONSE_SECONDS as u64, "response_output": NOT_RETURNED, "raw_output": NOT_RETURNED},
        "last_send": run.and_then(|r| r.last_send).map(|(at, chars)| json!({"at_utc": iso_utc(at), "chars": chars})),
        "raw_log": run.map(|_| NOT_RETURNED),
        "raw_log_bytes": o.log_bytes,
        "raw_log_updated_at_utc": o.log_mtime.map(iso_utc),
        "raw_log_idle_seconds": o.log_idle_seconds,
        "raw_log_max_bytes": MAX_RAW_LOG_BYTES,
        "raw_log_policy": "local_only_bounded_not_returned_by_default",
        "memory_cap": {
            "state": run.and_then(|r| r.memory_cap).map_or(super::words::MemoryCapState::NotConfigured.as_str(), |c| c.as_str()),
            "max_mib": spec.memory_max_mib,
        },
        "home_process_count": o.home_users.total,
        "home_external_process_count": o.home_users.external,
        "raw_output": NOT_RETURNED,
    })
}

/// The newest assignment of an agent that is down, so the lead knows what was in flight:
/// identifiers and fixed words only (a tampered ledger line yields nulls).
fn in_flight_json(r: &ledger::AssignmentRecord) -> Value {
    json!({
        "assignment_id": Some(r.assignment_id.as_str()).filter(|id| ledger::valid_assignment_id(id)),
        "created_at_utc": r.created_at_utc.as_deref().filter(|t| t.len() <= 32 && crate::timefmt::parse_iso_utc(t).is_some()),
        "role_kind": super::words::RoleKind::known(&r.role_kind),
        "delivery": super::words::Delivery::known(&r.delivery).unwrap_or("unknown"),
        "turn_started": r.turn_started,
        "prompt_output": NOT_RETURNED,
    })
}

/// `agent_status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusArgs {
    agent: String,
}

async fn status(ctx: Arc<Ctx>, args: StatusArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let (mut results, host, hosts) =
        crate::session::fleet::observe_with_host(&ctx, &agents, Some(*ctx.registry.admission())).await?;
    let host = host.as_ref().map(host_json);
    let hosts: Vec<Value> = hosts.iter().map(|h| hosts_entry_json(&ctx.registry, h)).collect();
    // What was in flight matters for an agent that is down: only then is the ledger read (here,
    // not in every observation a wait or a send makes).
    let mut in_flight: HashMap<String, Value> = HashMap::new();
    if results.iter().flatten().any(|o| !o.live()) {
        let records = blocking(|| Ok(ledger::assignments(&State::open()?).unwrap_or_default())).await?;
        for o in results.iter_mut().flatten().filter(|o| !o.live()) {
            let newest = records.iter().rev().find(|r| r.agent.as_deref() == Some(o.agent.as_str()));
            in_flight.insert(o.agent.clone(), newest.map_or(Value::Null, in_flight_json));
        }
    }
    let blocked: Vec<Value> = results.iter().flatten().filter_map(blocked_json).collect();
    // Workers whose CLI reports a usage window past the threshold: assign elsewhere.
    let near: Vec<&str> = results.iter().flatten().filter(|o| o.near_limit).map(|o| o.agent.as_str()).collect();
    let host = host.map(|mut h| {
        h["near_limit"] = json!(near);
        h["near_limit_percent"] = json!(ctx.registry.admission().near_limit_percent);
        h
    });
    let entries: Vec<Value> = results
        .into_iter()
        .zip(&agents)
        .map(|(r, a)| match (r, ctx.registry.get(a)) {
            (Ok(o), Some(spec)) => {
                let mut v = observation_json(&o, spec, &ctx.redactor, &ctx.client_id);
                if let Some(last) = in_flight.remove(&o.agent) {
                    v["last_assignment"] = last;
                }
                v
            }
            (Ok(_), None) => agent_error_entry(a, &Fault::invalid_arguments("unknown agent"), &ctx.client_id),
            (Err(e), _) => agent_error_entry(a, &e, &ctx.client_id),
        })
        .collect();
    Ok(json!({"results": entries, "blocked": blocked, "host": host, "hosts": hosts}))
}

/// One host of the `hosts` block: reachable, its round trip, its room by its own limits.
fn hosts_entry_json(reg: &Registry, h: &crate::session::fleet::HostSeen) -> Value {
    use super::words::{AdmissionState, HostState};
    let t = reg.host_admission(&h.name);
    let busy = h.sample.and_then(|s| crate::admission::decide_on_host(Some(s), h.workers_running, &t).err());
    let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
    json!({
        "name": h.name,
        "state": if h.reachable { HostState::Reachable } else { HostState::Unreachable }.as_str(),
        "round_trip_ms": h.round_trip.as_millis() as u64,
        "memory_available_mib": h.sample.and_then(|s| s.mem_available_mib),
        "memory_pressure_avg10": round(h.sample.and_then(|s| s.memory_pressure)),
        "cpu_pressure_avg10": round(h.sample.and_then(|s| s.cpu_pressure)),
        "workers_running": h.workers_running,
        "max_workers": t.max_workers,
        "admission": if busy.is_some() || !h.reachable { AdmissionState::HostBusy } else { AdmissionState::Open }.as_str(),
        "busy_check": busy.map(crate::admission::Check::as_str),
    })
}

/// A limited agent: which limit, until when, and the model bucket (restart it on another model
/// with `agent_start --model`).
fn blocked_json(o: &Observation) -> Option<Value> {
    let c = o.classified.as_ref().filter(|_| o.state == AgentState::Limited)?;
    let reset = c.reset_at_epoch_seconds.map(|s| s as f64);
    Some(json!({
        "agent": o.agent,
        "kind": c.kind.as_str(),
        "until_utc": reset.map(iso_utc),
        "reset_at_epoch_seconds": c.reset_at_epoch_seconds,
        "model_bucket": c.model_bucket.as_deref().filter(|b| crate::agents::valid_model_word(b)),
    }))
}

/// The `host` block: the machine's room and the fleet's size.
fn host_json(h: &crate::session::fleet::HostReading) -> Value {
    let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
    json!({
        "pressure": if h.psi { super::words::Pressure::Available } else { super::words::Pressure::Unavailable }.as_str(),
        "memory_pressure_avg10": round(h.memory_pressure),
        "cpu_pressure_avg10": round(h.cpu_pressure),
        "memory_available_mib": h.mem_available_mib,
        "memory_headroom_mib": h.mem_available_mib.map(|m| m.saturating_sub(h.reserve_memory_mib)),
        "workers_running": h.workers.running,
        "worker_processes": h.workers.processes,
        "max_workers": h.max_workers,
        "admission": if h.busy_check.is_some() { super::words::AdmissionState::HostBusy } else { super::words::AdmissionState::Open }.as_str(),
        "busy_check": h.busy_check.map(crate::admission::Check::as_str),
    })
}

/// A configured value's state: set or not, never the value.
fn set_state(set: bool) -> &'static str {
    if set { super::words::SetState::Set } else { super::words::SetState::NotSet }.as_str()
}

/// `agent_wait` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitArgs {
    agent: String,
    timeout_seconds: u64,
    poll_interval_seconds: u64,
    #[serde(deserialize_with = "super::choice")]
    until: Until,
    #[serde(deserialize_with = "super::choice")]
    mode: WaitMode,
}

async fn wait(ctx: Arc<Ctx>, args: WaitArgs) -> ToolResult {
    let selector = args.agent;
    let agents = ctx.registry.select(&selector);
    let timeout = Duration::from_secs(args.timeout_seconds);
    let poll = Duration::from_secs(args.poll_interval_seconds);
    let w = wait_for(&ctx, &agents, args.until, args.mode, timeout, poll).await?;
    let elapsed = (w.elapsed.as_secs_f64() * 10.0).round() / 10.0;
    let status = |d: &Option<WaitStatus>| d.unwrap_or(WaitStatus::Timeout).as_str();
    if selector != "all" {
        let entry = |o: &Observation| match ctx.registry.get(&o.agent) {
            Some(spec) => observation_json(o, spec, &ctx.redactor, &ctx.client_id),
            None => Value::Null,
        };
        return Ok(json!({
            "agent": selector,
            "status": status(&w.done[0]),
            "until": args.until.as_str(),
            "timeout_seconds": timeout.as_secs(),
            "poll_count": w.poll_count,
            "elapsed_seconds": elapsed,
            "initial": entry(&w.initial[0]),
            "current": entry(&w.current[0]),
            "raw_output": NOT_RETURNED,
            "response_output": NOT_RETURNED,
        }));
    }
    let results: Vec<Value> = w
        .current
        .iter()
        .zip(&w.done)
        .map(|(o, d)| json!({"agent": o.agent, "status": status(d), "state": o.state.as_str()}))
        .collect();
    Ok(json!({
        "agent": "all",
        "mode": args.mode.as_str(),
        "status": if w.finished { "done" } else { "timeout" },
        "until": args.until.as_str(),
        "timeout_seconds": timeout.as_secs(),
        "poll_count": w.poll_count,
        "elapsed_seconds": elapsed,
        "results": results,
        "raw_output": NOT_RETURNED,
    }))
}

/// `agent_safe_tail` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeTailArgs {
    agent: String,
    #[serde(deserialize_with = "super::choice")]
    source: TailSource,
    lines: usize,
    chars: usize,
}

async fn safe_tail(ctx: Arc<Ctx>, args: SafeTailArgs) -> ToolResult {
    let SafeTailArgs { agent, source, lines, chars } = args;
    let t = tail(&ctx, &agent, source, lines, chars).await?;
    Ok(json!({
        "agent": agent,
        "source": source.as_str(),
        "lines_limit": lines,
        "chars_limit": chars,
        "redaction_applied": t.redaction_applied,
        "redaction": if t.redaction_applied { super::words::TailRedaction::Applied } else { super::words::TailRedaction::None }.as_str(),
        "raw_log": t.from_log.then_some(NOT_RETURNED),
        "output": t.text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_never_idle() {
        assert_eq!(AgentState::from_screen(true, false, None), AgentState::Unknown);
        assert_eq!(AgentState::from_screen(false, false, None), AgentState::NotRunning);
        assert_eq!(AgentState::from_screen(true, true, None), AgentState::Exited);
    }
}
