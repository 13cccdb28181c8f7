//! Lifecycle tools: `agent_start`, `agent_send`, `agent_interrupt`, `agent_stop`.
//!
//! Each runs per agent inside the agent's lifecycle lock, and every write into a pane goes
//! through the lease gate. Responses are built from allowlists: no path, no text.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::views::{generation_param, sent_json, PublicLease};
use super::{agent_error_entry, handler, out, Ctx, Fault, Hints, ToolDef, ToolResult, NOT_RETURNED};
use crate::agents::profiles::{DialogChoice, HooksState};
use crate::agents::{AgentState, Registry};
use crate::session::dialog::{answer_dialog, Answered};
use crate::session::send::Receipt;
use crate::session::start::{start_one, Launched, StartRequest, Started};
use crate::session::stop::{interrupt_agent, stop_one};
use crate::session::typing::{request_report, send_text, SendOptions};
use crate::state::meta::MemoryCap;
use crate::state::rawlog::MAX_RAW_LOG_BYTES;

pub const MAX_SEND_TEXT: usize = 12_000;
fn start_selector(reg: &Registry) -> Param {
    let choices = super::agent_param::names_and(reg, if reg.has_pair() { &["both", "all"] } else { &["all"] });
    let default = if reg.has_pair() { "both" } else { "all" };
    Param::choice_owned("agent", choices, "Agent name, `both` (a and b) or `all`.").default(json!(default)).positional()
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    let mutating = Hints { read_only: false, destructive: false, idempotent: false };
    vec![
        ToolDef {
            name: "agent_start",
            title: "Start agents",
            description: "Start worker agents in their tmux sessions, with a bounded raw log. An agent that already runs is reported, not restarted. Refused when the runner is not a regular executable or another process uses the agent's home.",
            cli_name: "start",
            params: vec![
                start_selector(reg),
                Param::string("cwd", 1000, "Working directory (default: the server's)."),
                Param::string("prompt", MAX_SEND_TEXT, "Initial prompt, passed as the last launch argument."),
                Param::string("model", 100, "Model for this run instead of the config's (another bucket after a per-model limit)."),
                Param::boolean("resume", "Continue the agent's last thread in its recorded working directory with the CLI's own resume (Codex: `codex resume --last`); `cwd` must be left out."),
            ],
            output: || out::results(out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": out::words::<super::words::StartStatus>(),
                    "resumed": {"type": "boolean"},
                    "backend": {"const": "tmux"},
                    "session": {"type": "string"},
                    "profile": {"type": "string"},
                    "cwd": out::not_returned(),
                    "cwd_state": {"const": "set"},
                    "lease": {"type": "object"},
                    "model": out::nullable("string"),
                    "model_reasoning_effort": out::nullable("string"),
                    "trust": out::words::<super::words::TrustState>(),
                    "events": out::words::<HooksState>(),
                    "memory_cap": out::words::<super::words::MemoryCapState>(),
                    "raw_log": out::not_returned(),
                    "raw_log_max_bytes": {"type": "integer"},
                    "home_external_process_count": {"type": "integer"},
                    "raw_output": out::not_returned(),
                }),
                &["agent", "status", "session", "lease"],
            )),
            hints: mutating,
            multi_agent: true,
            handler: handler!(start),
        },
        ToolDef {
            name: "agent_send",
            title: "Send to an agent",
            description: "Paste text into an agent's composer (bracketed paste, control characters removed) and press Enter, with a receipt: typed, submitted, turn_started. Claims or renews this client's lease.",
            cli_name: "send",
            params: vec![
                super::agent_param::one(reg),
                Param::string("text", MAX_SEND_TEXT, "The text to send.").required().non_blank().positional(),
                Param::boolean("enter", "Press Enter after pasting.").default(json!(true)).negated("no-enter"),
                Param::integer("confirm_seconds", 0, Some(30), "How long to watch for the turn to start.").default(json!(10)),
                generation_param(),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": {"const": "sent"},
                    "chars": {"type": "integer"},
                    "control_chars_removed": {"type": "integer"},
                    "paste_mode": {"const": "bracketed_paste"},
                    "typed": {"type": "boolean"},
                    "submitted": {"type": "boolean"},
                    "turn_started": {"type": "boolean"},
                    "receipt": out::words::<Receipt>(),
                    "state": out::words::<AgentState>(),
                    "lease": {"type": "object"},
                    "response_output": out::not_returned(),
                }),
                &["agent", "status", "typed", "submitted", "turn_started", "receipt"],
            ),
            hints: mutating,
            multi_agent: false,
            handler: handler!(send),
        },
        ToolDef {
            name: "agent_report_request",
            title: "Ask an agent for a report",
            description: "Ask the agent for a concise status report (the prompts extension renders the text). Claims or renews this client's lease. The report itself is never returned; read it with agent_safe_tail.",
            cli_name: "report-request",
            params: vec![
                super::agent_param::one(reg),
                Param::string("assignment_id", 200, "The assignment the report is about."),
                Param::boolean("enter", "Press Enter after pasting.").default(json!(true)).negated("no-enter"),
                generation_param(),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": {"const": "report_requested"},
                    "submitted": {"type": "boolean"},
                    "turn_started": {"type": "boolean"},
                    "assignment_id": out::nullable("string"),
                    "lease": {"type": "object"},
                    "prompt_output": out::not_returned(),
                    "response_output": out::not_returned(),
                    "send": {"type": "object"},
                }),
                &["agent", "status", "submitted", "lease"],
            ),
            hints: mutating,
            multi_agent: false,
            handler: handler!(report_request),
        },
        ToolDef {
            name: "agent_dialog_answer",
            title: "Answer an agent's dialog",
            description: "Answer the dialog that holds an agent's screen with its one allowlisted choice: `trust` for the folder-trust dialog (only when it names the agent's recorded working directory), `keep_current_model` for the switch-model popup, `no` for the limit-increase popup. agent_status names the open dialog and its answer. Never types free text. Claims or renews this client's lease.",
            cli_name: "dialog-answer",
            params: vec![
                super::agent_param::one(reg),
                Param::choice("choice", &<DialogChoice as crate::wire::Wire>::words(), "The answer: trust, keep_current_model or no.").required().positional(),
                generation_param(),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": {"const": "answered"},
                    "dialog": {"type": "string"},
                    "choice": out::words::<DialogChoice>(),
                    "state": out::words::<AgentState>(),
                    "dialog_closed": {"type": "boolean"},
                    "lease": {"type": "object"},
                }),
                &["agent", "status", "dialog", "choice", "state", "dialog_closed"],
            ),
            hints: mutating,
            multi_agent: false,
            handler: handler!(dialog_answer),
        },
        ToolDef {
            name: "agent_interrupt",
            title: "Interrupt an agent",
            description: "Interrupt the agent's current turn (Esc for Codex, Ctrl-C otherwise). Claims or renews this client's lease.",
            cli_name: "interrupt",
            params: vec![
                super::agent_param::one(reg),
                Param::boolean("force", "Accepted for seed compatibility; a running agent's lease is never taken over."),
                generation_param(),
            ],
            output: || out::object(
                json!({"agent": {"type": "string"}, "status": {"const": "interrupt_sent"}, "lease": {"type": "object"}, "response_output": out::not_returned()}),
                &["agent", "status", "lease"],
            ),
            hints: Hints { read_only: false, destructive: true, idempotent: false },
            multi_agent: false,
            handler: handler!(interrupt),
        },
        ToolDef {
            name: "agent_stop",
            title: "Stop agents",
            description: "Kill agents' tmux sessions and release their leases. Refused while another client holds the lease, unless `force`.",
            cli_name: "stop",
            params: vec![start_selector(reg), Param::boolean("force", "Stop even when another client holds the lease."), generation_param()],
            output: || out::results(out::object(
                json!({"agent": {"type": "string"}, "status": out::words::<super::words::StopStatus>(), "session": {"type": "string"}, "lease": {"type": "object"}, "raw_output": out::not_returned()}),
                &["agent", "status", "session", "lease"],
            )),
            hints: Hints { read_only: false, destructive: true, idempotent: true },
            multi_agent: true,
            handler: handler!(stop),
        },
    ]
}

/// `agent_start` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartArgs {
    agent: String,
    cwd: Option<String>,
    prompt: Option<String>,
    model: Option<String>,
    resume: bool,
}

async fn start(ctx: Arc<Ctx>, args: StartArgs) -> ToolResult {
    let model = super::non_blank(&args.model).map(str::trim);
    if model.is_some_and(|m| !crate::agents::valid_model_word(m)) {
        return Err(Fault::invalid_arguments(
            "model must be a model name: letters, digits, '.', '-', '_', ':', '/', starting with a letter or digit",
        ));
    }
    let request = StartRequest {
        cwd: super::non_blank(&args.cwd).map(|c| c.trim().to_owned()),
        prompt: super::non_blank(&args.prompt).map(str::to_owned),
        model: model.map(str::to_owned),
        resume: args.resume,
    };
    if request.resume && request.cwd.is_some() {
        return Err(Fault::invalid_arguments("resume starts in the recorded working directory: leave cwd out"));
    }
    let mut results = Vec::new();
    for agent in ctx.registry.select(&args.agent) {
        // A start is one unit: a cancelled call does not leave half of one behind.
        let (c, a, r) = (Arc::clone(&ctx), agent.clone(), request.clone());
        let entry = match super::to_completion(async move { start_one(&c, &a, r).await }).await {
            Ok(started) => started_json(&started, &ctx.client_id),
            Err(e) => agent_error_entry(&agent, &e, &ctx.client_id),
        };
        results.push(entry);
    }
    Ok(json!({"results": results}))
}

fn started_json(started: &Started, client: &str) -> Value {
    match started {
        Started::AlreadyRunning { spec, lease, home_external_process_count } => json!({
            "agent": spec.name, "status": super::words::StartStatus::AlreadyRunning.as_str(), "backend": "tmux", "session": spec.session,
            "profile": spec.profile.name(), "lease": lease.public(&spec.name, client), "home_external_process_count": home_external_process_count, "raw_output": NOT_RETURNED,
        }),
        Started::Launched(l) => launched_json(l, client),
    }
}

fn launched_json(l: &Launched, client: &str) -> Value {
    let Launched { spec, resumed, lease, trust, events, memory_cap } = l;
    json!({
        "agent": spec.name, "status": super::words::StartStatus::Started.as_str(), "resumed": resumed, "backend": "tmux", "session": spec.session, "profile": spec.profile.name(),
        "cwd": NOT_RETURNED, "cwd_state": "set", "lease": lease.public(&spec.name, client), "model": spec.model, "model_reasoning_effort": spec.reasoning_effort,
        "trust": trust.as_str(), "events": events.as_str(), "memory_cap": memory_cap.map_or(super::words::MemoryCapState::NotConfigured.as_str(), MemoryCap::as_str), "raw_log": NOT_RETURNED, "raw_log_max_bytes": MAX_RAW_LOG_BYTES, "raw_output": NOT_RETURNED,
    })
}

/// `agent_send` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendArgs {
    agent: String,
    text: String,
    enter: bool,
    confirm_seconds: u64,
    lease_generation: Option<u64>,
}

async fn send(ctx: Arc<Ctx>, args: SendArgs) -> ToolResult {
    let opts = SendOptions {
        enter: args.enter,
        confirm: Duration::from_secs(args.confirm_seconds),
        lead_send: true,
        expected: args.lease_generation,
        before_typing: None,
    };
    send_text(&ctx, &args.agent, &args.text, opts).await.map(|sent| sent_json(&sent, &ctx.client_id))
}

/// `agent_report_request` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportRequestArgs {
    agent: String,
    assignment_id: Option<String>,
    enter: bool,
    lease_generation: Option<u64>,
}

async fn report_request(ctx: Arc<Ctx>, args: ReportRequestArgs) -> ToolResult {
    let id = super::non_blank(&args.assignment_id).map(|id| id.trim().to_owned());
    let sent = request_report(&ctx, &args.agent, id.clone(), args.enter, args.lease_generation).await?;
    Ok(json!({
        "agent": args.agent,
        "status": "report_requested",
        "submitted": sent.submitted,
        "turn_started": sent.turn_started,
        "assignment_id": id,
        "lease": sent.lease.public(&sent.agent, &ctx.client_id),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "send": sent_json(&sent, &ctx.client_id),
    }))
}

/// `agent_dialog_answer` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialogAnswerArgs {
    agent: String,
    #[serde(deserialize_with = "super::choice")]
    choice: DialogChoice,
    lease_generation: Option<u64>,
}

async fn dialog_answer(ctx: Arc<Ctx>, args: DialogAnswerArgs) -> ToolResult {
    let a: Answered = answer_dialog(&ctx, &args.agent, args.choice, args.lease_generation).await?;
    Ok(json!({
        "agent": a.agent, "status": "answered", "dialog": a.dialog.as_str(), "choice": a.choice.as_str(), "state": a.state.as_str(),
        "dialog_closed": a.dialog_closed, "lease": a.lease.public(&a.agent, &ctx.client_id),
    }))
}

/// `agent_interrupt` arguments. `force` is accepted for seed compatibility and changes nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterruptArgs {
    agent: String,
    #[allow(dead_code)]
    force: bool,
    lease_generation: Option<u64>,
}

async fn interrupt(ctx: Arc<Ctx>, args: InterruptArgs) -> ToolResult {
    let agent = args.agent.as_str();
    let lease = interrupt_agent(&ctx, agent, args.lease_generation).await?;
    Ok(
        json!({"agent": agent, "status": "interrupt_sent", "lease": lease.public(agent, &ctx.client_id), "response_output": NOT_RETURNED}),
    )
}

/// `agent_stop` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopArgs {
    agent: String,
    force: bool,
    lease_generation: Option<u64>,
}

async fn stop(ctx: Arc<Ctx>, args: StopArgs) -> ToolResult {
    let mut results = Vec::new();
    for agent in ctx.registry.select(&args.agent) {
        let entry = match stop_one(&ctx, &agent, args.force, args.lease_generation).await {
            Ok(stopped) => json!({
                "agent": agent,
                "status": stopped.status().as_str(),
                "session": stopped.session,
                "lease": stopped.lease.public(&agent, &ctx.client_id),
                "raw_output": NOT_RETURNED,
            }),
            Err(e) => agent_error_entry(&agent, &e, &ctx.client_id),
        };
        results.push(entry);
    }
    Ok(json!({"results": results}))
}
