//! Lifecycle tools: `agent_start`, `agent_send`, `agent_interrupt`, `agent_stop`.
//!
//! Each runs per agent inside the agent's lifecycle lock, and every write into a pane goes
//! through the lease gate. Responses are built from allowlists: no path, no text.

use crate::codes::ErrorCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::lease::PublicLease;
use super::lease::{busy_error, generation_param, refusal_error};
use super::schema::Param;
use super::status::observe;
use super::{agent_error_entry, blocking, handler, out, Ctx, Fault, Hints, ToolDef, ToolResult, NOT_RETURNED};
use crate::admission;
use crate::agents::profiles::collapse;
use crate::agents::profiles::{DialogChoice, HomeError, HookCommand, HooksState, HOOK_MARKER};
use crate::agents::{procs, runner_ok, AgentSpec, AgentState, Registry};
use crate::ext::types::limits::DialogKind;
use crate::lease::{self, Lease, DEFAULT_TTL_SECONDS};
use crate::session::send::{Delivery, Receipt, Seen, Step, Watch};
use crate::state::meta::{AgentMeta, LastSend, MemoryCap, SENT_HEAD_CHARS};
use crate::state::rawlog::{self, MAX_RAW_LOG_BYTES};
use crate::state::State;
use crate::timefmt::{now_epoch, now_id};
use crate::tmux;

pub const MAX_SEND_TEXT: usize = 12_000;
const PANE_WIDTH: u32 = 160;
const PANE_HEIGHT: u32 = 50;
/// How long a send looks for its text in the composer.
const TYPED_WAIT: Duration = Duration::from_secs(3);
/// How long a send waits for a starting CLI to come up before it types.
const READY_WAIT: Duration = Duration::from_secs(20);

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

fn tmux_error(what: &str, agent: &str, e: tmux::TmuxError) -> Fault {
    Fault::tmux(what, Some(agent), e)
}

fn spec(ctx: &Ctx, agent: &str) -> Result<AgentSpec, Fault> {
    ctx.registry.get(agent).cloned().ok_or_else(|| Fault::invalid_arguments("unknown agent"))
}

/// Whether the agent's session exists, and whether its process is alive.
async fn pane(agent: &AgentSpec) -> Result<Option<tmux::PaneInfo>, Fault> {
    Ok(tmux::list_panes().await.map_err(|e| tmux_error("list-panes", &agent.name, e))?.remove(&agent.session))
}

/// The agent's pane, which must be alive: typing into a dead or missing pane is refused.
async fn live_pane(spec: &AgentSpec) -> Result<tmux::PaneInfo, Fault> {
    let agent = &spec.name;
    match pane(spec).await? {
        None => Err(Fault::new(ErrorCode::AgentNotRunning, format!("agent {agent} is not running"))),
        Some(p) if p.dead => {
            Err(Fault::new(ErrorCode::AgentExited, format!("agent {agent} has exited; stop and start it again")))
        }
        Some(p) => Ok(p),
    }
}

/// The agent's lifecycle lock, held across a whole mutation (lease check, tmux, metadata) so
/// that the lease cannot change hands between the check and the write into the pane.
/// Dropping it (also when an MCP call is cancelled) releases the lock.
struct Locked {
    state: Arc<State>,
    _lock: crate::fsafe::FileLock,
}

impl Locked {
    async fn acquire(agent: &str) -> Result<Locked, Fault> {
        let agent = agent.to_owned();
        blocking(move || {
            let state = State::open()?;
            let lock = state.agent_lock(&agent)?;
            Ok(Locked { state: Arc::new(state), _lock: lock })
        })
        .await
    }

    /// Runs filesystem work off the async threads, under the held lock.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&State) -> Result<T, Fault> + Send + 'static,
    ) -> Result<T, Fault> {
        let state = Arc::clone(&self.state);
        blocking(move || f(&state)).await
    }
}

/// Claims or renews this client's lease (only generation `expected`, when given);
/// `Ok(fresh)` tells whether the claim is new.
fn claim(state: &State, agent: &str, client: &str, expected: Option<u64>) -> Result<bool, Fault> {
    match lease::claim(state, agent, client, DEFAULT_TTL_SECONDS, lease::Force::No, expected) {
        Ok(c) => Ok(c.status != lease::ClaimStatus::Renewed),
        Err(refusal) => Err(refusal_error(agent, refusal)),
    }
}

fn release_if_fresh(state: &State, agent: &str, client: &str, fresh: bool) {
    if fresh && lease::read(state, agent).held_by(client) {
        let _ = lease::release(state, agent, client, lease::Force::No, None);
    }
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

/// How one start runs: where, with what, and whether it continues the last thread.
#[derive(Clone)]
struct StartRequest {
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
            Ok(v) => v,
            Err(e) => agent_error_entry(&agent, &e, &ctx.client_id),
        };
        results.push(entry);
    }
    Ok(json!({"results": results}))
}

/// Everything a start needs, checked before anything is written: the runner, the working
/// directory and the launch line.
struct StartPlan {
    start_dir: std::path::PathBuf,
    /// The words of the launch: `env` with the markers and the provider's variables, the
    /// runner, the provider's arguments.
    words: Vec<String>,
}

/// Checks a start and builds its launch line. Reads the file system; writes nothing.
fn plan_start(spec: &AgentSpec, cwd: Option<&str>, prompt: Option<&str>, resume: bool) -> Result<StartPlan, Fault> {
    let agent = spec.name.as_str();
    let provider = spec.provider();
    // The runner: a regular executable, never a symlink (the scripted agent is this binary).
    let runner = match &spec.runner {
        Some(r) if !runner_ok(r) => {
            return Err(Fault::new(
                ErrorCode::RunnerNotExecutable,
                format!("runner for agent {agent} must be a regular executable file (not a symlink)"),
            ))
        }
        Some(r) => r.clone(),
        None if provider.runs_in_this_binary() => std::env::current_exe()
            .map_err(|_| Fault::new(ErrorCode::InternalError, "the server's own executable cannot be found"))?,
        None => {
            return Err(Fault::new(
                ErrorCode::RunnerNotConfigured,
                format!("no runner is configured for agent {agent}"),
            ))
        }
    };
    if let (Some(home), Some(var)) = (&spec.home, provider.home_var()) {
        let users = procs::home_users(home, var);
        if users.external > 0 {
            return Err(Fault::new(ErrorCode::AgentHomeInUse,
                format!("agent {agent} home is already used by {} external process(es); stop them or configure another home", users.external),
            )
            .with("home_external_process_count", users.external));
        }
    }
    let start_dir = match cwd {
        Some(c) => std::path::PathBuf::from(c),
        None => std::env::current_dir()
            .map_err(|_| Fault::new(ErrorCode::CwdNotDirectory, "the server's working directory is not available"))?,
    };
    let resolved = std::fs::canonicalize(&start_dir)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| Fault::new(ErrorCode::CwdNotDirectory, "cwd is not a directory"))?;
    // The recorded directory was canonical when it was recorded: if it no longer resolves to
    // itself, a component was replaced (by a symlink, or a moved directory). Following it would
    // start the worker, and write its trust, somewhere else.
    if resume && resolved != start_dir {
        return Err(Fault::new(ErrorCode::ResumeCwdChanged,
            "the recorded working directory was replaced (a symlink or a moved directory); start afresh with an explicit cwd",
        ));
    }
    let start_dir = resolved;
    let mut words: Vec<String> = vec!["env".into()];
    for name in provider.launch_unset().iter().filter(|n| !spec.env.contains_key(**n)) {
        words.extend(["-u".to_owned(), (*name).to_owned()]);
    }
    words.extend(["CODEX_MASTER_MCP=1".into(), "CODEX_AGENT_MCP=1".into()]);
    words.extend(provider.launch_env(spec).into_iter().map(|(k, v)| format!("{k}={v}")));
    words.push(runner.to_string_lossy().into_owned());
    if resume {
        let args = provider.resume_args(spec, prompt).ok_or_else(|| {
            Fault::new(
                ErrorCode::ResumeNotSupported,
                format!("the {} profile cannot resume a thread", spec.profile.name()),
            )
        })?;
        words.extend(args);
    } else {
        words.extend(provider.launch_args(spec, prompt));
    }
    Ok(StartPlan { start_dir, words })
}

/// The variables a worker gets besides the provider's: its config's `env`, and its `env_pass`
/// names, from this process when it has them (a shell), else as `install` captured them (a
/// server started by Codex has a filtered environment).
fn worker_env(spec: &AgentSpec, captured: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = spec.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for name in &spec.env_pass {
        if let Some(v) = std::env::var(name).ok().or_else(|| captured.get(name).cloned()) {
            env.push((name.clone(), v));
        }
    }
    env
}

/// A launch script for a worker with variables: values never appear on a command line (where
/// `ps` shows them). The script is private (0600 in the 0700 state) and removes itself first.
fn launch_script(words: &[String], env: &[(String, String)]) -> String {
    let mut script = String::from("rm -f -- \"$0\"\n");
    for (k, v) in env {
        script.push_str(&format!("export {k}={}\n", tmux::shell_join(&[v.as_str()])));
    }
    script.push_str(&format!("exec {}\n", tmux::shell_join(words)));
    script
}

/// The `pipe-pane` line that copies the pane into the raw log (this binary, bounded).
fn raw_log_writer_line(state_root: &std::path::Path, raw_name: &str) -> String {
    let exe =
        std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| "codex-master-mcp".into());
    tmux::shell_join(&[
        exe.as_str(),
        "raw-log-writer",
        "--state-dir",
        &state_root.to_string_lossy(),
        "--max-bytes",
        &MAX_RAW_LOG_BYTES.to_string(),
        raw_name,
    ])
}

/// Under the agent lock: claim the lease, prune old raw logs (never one an agent's metadata
/// names), and create this run's raw log. Returns whether the claim was fresh, and the log name.
fn reserve_run(state: &State, agent: &str, client: &str) -> Result<(bool, String), Fault> {
    let fresh = claim(state, agent, client, None)?;
    // A new run starts a new event log.
    crate::events::log::clear(&state.events, agent);
    let protected: Vec<String> = state
        .meta
        .list()
        .unwrap_or_default()
        .iter()
        .filter_map(|(n, ..)| n.strip_suffix(".json"))
        .filter_map(|m| state.read_meta(m).ok().flatten())
        .map(|m| m.raw_log)
        .collect();
    let _ = rawlog::prune(&state.raw, &protected);
    let name = format!("{}-{agent}.log", now_id());
    if let Err(e) = state.raw.create_exclusive(&name) {
        release_if_fresh(state, agent, client, fresh);
        return Err(e.into());
    }
    Ok((fresh, name))
}

/// Removes a launch script that did not run (its secrets stay on disk otherwise).
async fn remove_launch_script(held: &Locked, name: Option<String>) -> Result<(), Fault> {
    let Some(name) = name else { return Ok(()) };
    held.with(move |state| {
        if let Some(dir) = state.root.subdir_existing("launch")? {
            dir.remove_file(&name)?;
        }
        Ok(())
    })
    .await
}

/// Launch scripts that never ran (a crash between writing one and its start): ours by name,
/// older than a start takes; removed at server start.
pub fn sweep_launch_scripts(state: &State) -> usize {
    let Ok(Some(dir)) = state.root.subdir_existing("launch") else { return 0 };
    let now = crate::timefmt::now_epoch();
    let stale = |name: &str, mtime: f64| name.ends_with(".sh") && name.len() <= 120 && now - mtime > 60.0;
    dir.list()
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, kind, _, mtime)| *kind == crate::fsafe::EntryKind::File && stale(name, *mtime))
        .filter(|(name, ..)| dir.remove_file(name).is_ok())
        .count()
}

/// The metadata of a run that just started.
fn started_meta(
    spec: &AgentSpec,
    start_dir: &std::path::Path,
    raw_name: &str,
    last_assignment_id: Option<String>,
) -> AgentMeta {
    AgentMeta {
        agent: spec.name.clone(),
        profile: spec.profile.name().to_owned(),
        session: spec.session.clone(),
        cwd: start_dir.to_string_lossy().into_owned(),
        model: spec.model.clone(),
        model_reasoning_effort: spec.reasoning_effort.clone(),
        started_at_epoch: now_epoch(),
        run_id: raw_name.trim_end_matches(".log").to_owned(),
        raw_log: raw_name.to_owned(),
        last_send: None,
        watchdog: None,
        last_assignment_id,
        memory_cap: None,
        resumed_limit: None,
        hooks: false,
    }
}

/// The entry for an agent whose session already runs: reported, never restarted.
async fn already_running(spec: &AgentSpec, client: &str) -> Result<Value, Fault> {
    let users = match (spec.home.as_deref(), spec.provider().home_var()) {
        (Some(h), Some(var)) => procs::home_users(h, var),
        _ => procs::HomeUsers::default(),
    };
    let lease = blocking({
        let (a, c) = (spec.name.clone(), client.to_owned());
        move || Ok(lease::read(&State::open()?, &a).public(&a, &c))
    })
    .await?;
    Ok(json!({
        "agent": spec.name, "status": super::words::StartStatus::AlreadyRunning.as_str(), "backend": "tmux", "session": spec.session,
        "profile": spec.profile.name(), "lease": lease, "home_external_process_count": users.external, "raw_output": NOT_RETURNED,
    }))
}

/// A start, checked and planned: everything decided before the worker's session is made. The
/// admission lock is held until then, so each check counts every worker an earlier start
/// launched.
struct PreparedStart {
    spec: AgentSpec,
    plan: StartPlan,
    /// The run a resume continues.
    previous: Option<AgentMeta>,
    memory_cap: Option<MemoryCap>,
    env: Vec<(String, String)>,
    trust: &'static str,
    events: HooksState,
    state_root: std::path::PathBuf,
    _admission: crate::fsafe::FileLock,
}

/// What a start found: a session that already runs, or a start to launch.
enum Start {
    AlreadyRunning(Box<AgentSpec>),
    Prepared(Box<PreparedStart>),
}

async fn start_one(ctx: &Ctx, agent: &str, req: StartRequest) -> Result<Value, Fault> {
    let resumed = req.resume;
    let prepared = match prepare_start(ctx, agent, req).await? {
        Start::AlreadyRunning(spec) => return already_running(&spec, &ctx.client_id).await,
        Start::Prepared(p) => p,
    };
    let lease = launch(ctx, &prepared).await?;
    let PreparedStart { spec, trust, events, memory_cap, .. } = *prepared;
    Ok(json!({
        "agent": agent, "status": super::words::StartStatus::Started.as_str(), "resumed": resumed, "backend": "tmux", "session": spec.session, "profile": spec.profile.name(),
        "cwd": NOT_RETURNED, "cwd_state": "set", "lease": lease, "model": spec.model, "model_reasoning_effort": spec.reasoning_effort,
        "trust": trust, "events": events.as_str(), "memory_cap": memory_cap.map_or(super::words::MemoryCapState::NotConfigured.as_str(), MemoryCap::as_str), "raw_log": NOT_RETURNED, "raw_log_max_bytes": MAX_RAW_LOG_BYTES, "raw_output": NOT_RETURNED,
    }))
}

/// Checks a start and decides everything about it: the prompt, admission (after ending what a
/// crash left on the home), the recorded run a resume continues, the launch line with its
/// memory cap, the worker's environment, the home's trust and hooks.
async fn prepare_start(ctx: &Ctx, agent: &str, req: StartRequest) -> Result<Start, Fault> {
    let mut spec = spec(ctx, agent)?;
    if let Some(m) = req.model {
        spec.model = Some(m);
    }
    if req.prompt.as_deref().is_some_and(|p| p.starts_with('-')) && !spec.provider().prompt_is_a_value() {
        return Err(Fault::invalid_arguments(format!(
            "the {} profile passes the prompt as the CLI's last word, where one starting with '-' would be an option; reword it",
            spec.profile.name()
        )));
    }
    // Starts take turns from the admission check until their session exists, so each check
    // counts every worker an earlier start launched: two starts never both take the last slot.
    let admission_lock = blocking(|| Ok(State::open()?.locks.lock(ADMISSION_LOCK, crate::state::LOCK_WAIT)?)).await?;
    let panes = tmux::list_panes().await.map_err(|e| tmux_error("list-panes", agent, e))?;
    if panes.contains_key(&spec.session) {
        return Ok(Start::AlreadyRunning(Box::new(spec)));
    }
    // Another running agent on the same home owns those processes (a config that shares homes).
    let shared = ctx
        .registry
        .agents()
        .iter()
        .any(|a| a.name != spec.name && a.home == spec.home && panes.contains_key(&a.session));
    if !shared {
        reap_orphans(&spec).await;
    }
    admit(ctx, &spec, &panes).await?;
    let previous = if req.resume { Some(recorded_run(agent).await?) } else { None };
    // A resume continues the recorded run: its working directory, and its newest assignment
    // stays the one the watchdog quotes.
    let cwd = previous.as_ref().map(|m| m.cwd.as_str()).or(req.cwd.as_deref());
    let mut plan = plan_start(&spec, cwd, req.prompt.as_deref(), req.resume)?;
    let memory_cap = cap_memory(&spec, &mut plan).await;
    let env = {
        let s = spec.clone();
        blocking(move || {
            let captured = if s.env_pass.is_empty() { Default::default() } else { State::open()?.agent_env() };
            Ok(worker_env(&s, captured.get(&s.name).unwrap_or(&Default::default())))
        })
        .await?
    };
    let state_root = crate::state::root_path()?;
    let trust = prepare_home(&spec, &plan.start_dir).await?;
    let events = install_hooks(&spec, &state_root).await;
    Ok(Start::Prepared(Box::new(PreparedStart {
        spec,
        plan,
        previous,
        memory_cap,
        env,
        trust,
        events,
        state_root,
        _admission: admission_lock,
    })))
}

/// The run a resume continues, or `nothing_to_resume`.
async fn recorded_run(agent: &str) -> Result<AgentMeta, Fault> {
    let a = agent.to_owned();
    let meta = blocking(move || Ok(State::open()?.read_meta(&a)?)).await?;
    meta.ok_or_else(|| Fault::new(ErrorCode::NothingToResume, format!("agent {agent} has no recorded run to resume")))
}

/// Runs the launch line in its own memory-capped scope when the agent names a cap and user
/// systemd is here; says how the cap was applied.
async fn cap_memory(spec: &AgentSpec, plan: &mut StartPlan) -> Option<MemoryCap> {
    let mib = spec.memory_max_mib?;
    if !admission::scope_available().await {
        return Some(MemoryCap::Unavailable);
    }
    let words = std::mem::take(&mut plan.words);
    plan.words = admission::scoped(words, &format!("codex-master-{}-{}", spec.name, now_id()), mib);
    Some(MemoryCap::SystemdScope)
}

/// Launches a prepared start: the lease claimed and the raw log reserved under the agent lock,
/// the session made, its output piped to the raw log, the run recorded. Every failure undoes
/// what was done (the launch script, the raw log, a fresh claim). Returns the lease's public
/// view.
async fn launch(ctx: &Ctx, p: &PreparedStart) -> Result<Value, Fault> {
    let (agent, client, spec) = (p.spec.name.as_str(), ctx.client_id.clone(), &p.spec);
    // The lock is held from the lease claim to the metadata write: no other start, send or stop
    // of this agent interleaves. Filesystem work runs on the blocking pool, tmux on the runtime.
    let held = Locked::acquire(agent).await?;
    let (fresh, raw_name) = held
        .with({
            let (a, c) = (agent.to_owned(), client.clone());
            move |state| reserve_run(state, &a, &c)
        })
        .await?;
    let cleanup = |remove_log: bool| {
        let (a, c, n) = (agent.to_owned(), client.clone(), raw_name.clone());
        held.with(move |state| {
            if remove_log {
                let _ = state.raw.remove_file(&n);
            }
            release_if_fresh(state, &a, &c, fresh);
            Ok(())
        })
    };
    let (command, script) = match launch_command(&held, p).await {
        Ok(c) => c,
        Err(e) => {
            let _ = cleanup(true).await;
            return Err(e);
        }
    };
    let start_dir = p.plan.start_dir.to_string_lossy();
    if let Err(e) = tmux::new_session(&spec.session, &start_dir, &command, PANE_WIDTH, PANE_HEIGHT).await {
        // The session may belong to someone else: never kill it here.
        let _ = remove_launch_script(&held, script).await;
        let _ = cleanup(true).await;
        return Err(tmux_error("start", agent, e));
    }
    ctx.observer.invalidate();
    if let Err(e) = tmux::pipe_pane(&spec.session, &raw_log_writer_line(&p.state_root, &raw_name)).await {
        let _ = tmux::kill_session(&spec.session).await;
        // Killed before its shell ran the script, the script would stay.
        let _ = remove_launch_script(&held, script).await;
        let _ = cleanup(true).await;
        return Err(tmux_error("pipe-pane", agent, e));
    }
    let last_assignment_id = p.previous.as_ref().and_then(|m| m.last_assignment_id.clone());
    let meta = AgentMeta {
        memory_cap: p.memory_cap,
        hooks: p.events == HooksState::Installed,
        ..started_meta(spec, &p.plan.start_dir, &raw_name, last_assignment_id)
    };
    let (a, c) = (agent.to_owned(), client);
    held.with(move |state| {
        state.write_meta(&meta)?;
        release_if_fresh(state, &a, &c, fresh);
        Ok(lease::read(state, &a).public(&a, &c))
    })
    .await
}

/// The shell line tmux runs: the launch words themselves, or, when the worker gets variables,
/// a launch script that holds them until it runs (it removes itself first). Returns the script's
/// name so that a failure later removes it.
async fn launch_command(held: &Locked, p: &PreparedStart) -> Result<(String, Option<String>), Fault> {
    if p.env.is_empty() {
        return Ok((tmux::shell_join(&p.plan.words), None));
    }
    let (name, text) = (format!("{}-{}.sh", now_id(), p.spec.name), launch_script(&p.plan.words, &p.env));
    let n = name.clone();
    let written =
        held.with(move |state| Ok(state.root.subdir_private("launch")?.replace_atomic(&n, text.as_bytes())?)).await;
    if let Err(e) = written {
        let _ = remove_launch_script(held, Some(name)).await;
        return Err(e);
    }
    let path = p.state_root.join("launch").join(&name);
    Ok((tmux::shell_join(&["sh", &path.to_string_lossy()]), Some(name)))
}

/// How long a stopped worker's processes get to exit on the SIGHUP of their closed pane.
const STOP_GRACE: Duration = Duration::from_millis(1000);

/// The processes of a worker's tree, its pane's process first.
async fn worker_tree(pane_pid: Option<u32>) -> Vec<u32> {
    let Some(pid) = pane_pid else { return Vec::new() };
    blocking(move || Ok(crate::proctree::tree_pids(&crate::proctree::proc_root(), &[pid]).unwrap_or_else(|| vec![pid])))
        .await
        .unwrap_or_default()
}

/// Ends processes a crash left on the agent's home (launched by us, still running although the
/// agent's session is gone): a new run must not share the home with an old one.
async fn reap_orphans(spec: &AgentSpec) {
    let (Some(home), Some(var)) = (spec.home.clone(), spec.provider().home_var()) else { return };
    let orphans = blocking(move || Ok(procs::managed_users(&home, var))).await.unwrap_or_default();
    if !orphans.is_empty() {
        tracing::info!(agent = %spec.name, count = orphans.len(), "ending processes a crash left on the agent's home");
        crate::proctree::reap(&orphans, Duration::ZERO).await;
    }
}

/// Held by a start from its admission check until its session exists.
const ADMISSION_LOCK: &str = "admission.lock";

/// Refuses a start the host has no room for: `host_busy`, retryable, naming the check.
async fn admit(
    ctx: &Ctx,
    spec: &AgentSpec,
    panes: &std::collections::HashMap<String, tmux::PaneInfo>,
) -> Result<(), Fault> {
    let roots = super::status::worker_pids(&ctx.registry, panes);
    let thresholds = *ctx.registry.admission();
    let need = spec.memory_max_mib.unwrap_or(thresholds.agent_memory_mib);
    let check = blocking(move || {
        let root = crate::proctree::proc_root();
        let workers =
            admission::Workers { running: roots.len() as u32, processes: crate::proctree::tree_size(&root, &roots) };
        Ok(admission::decide(&admission::sample(&root), workers, &thresholds, need).err())
    })
    .await?;
    match check {
        None => Ok(()),
        Some(check) => {
            let after = check.retry_after_seconds();
            Err(Fault::new(
                ErrorCode::HostBusy,
                format!("agent {} was not started: {}; retry in {after} s", spec.name, check.describe()),
            )
            .with("retryable", true)
            .with("retry_after_seconds", after)
            .with("check", check.as_str()))
        }
    }
}

/// The command a worker's hooks run: this binary's `hook` subcommand for this agent.
fn hook_command(spec: &AgentSpec, state_root: &std::path::Path) -> HookCommand {
    let exe =
        std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| "codex-master-mcp".into());
    let root = state_root.to_string_lossy();
    let words =
        [exe.as_str(), "hook", HOOK_MARKER, "--cli", spec.profile.name(), "--agent", &spec.name, "--state-dir", &root];
    HookCommand { line: tmux::shell_join(&words) }
}

/// Installs the CLI's hooks in a managed home (or, with `events = false`, removes ours). A home
/// we cannot update leaves the screen as the only source; the start goes on.
async fn install_hooks(spec: &AgentSpec, state_root: &std::path::Path) -> HooksState {
    if spec.home.is_none() || !spec.provider().manages_home() {
        return HooksState::NotSupported;
    }
    let command = hook_command(spec, state_root);
    let s = spec.clone();
    match blocking(move || Ok(s.provider().install_hooks(&s, &command, s.events))).await {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            tracing::warn!(agent = %spec.name, error = %crate::text::safe_error_text(&e.to_string()), "the worker's hooks could not be installed; its screen is read instead");
            HooksState::Unavailable
        }
        Err(_) => HooksState::Unavailable,
    }
}

/// Writes the folder trust into a managed home (off the async threads); says what it did.
async fn prepare_home(spec: &AgentSpec, cwd: &std::path::Path) -> Result<&'static str, Fault> {
    if spec.home.is_none() || !spec.provider().manages_home() {
        return Ok(super::words::TrustState::NotManaged.as_str());
    }
    if !spec.trust_cwd {
        return Ok(super::words::TrustState::Disabled.as_str());
    }
    let (spec, cwd) = (spec.clone(), cwd.to_path_buf());
    blocking(move || {
        let wrote = spec.provider().prepare_home(&spec, &cwd).map_err(|e| {
            let code = match e {
                HomeError::Unsafe => ErrorCode::AgentHomeUnsafe,
                HomeError::Invalid => ErrorCode::AgentHomeConfigInvalid,
                HomeError::Io(_) => ErrorCode::AgentHomeUnwritable,
            };
            Fault::new(code, format!("agent {}: {e}", spec.name))
        })?;
        Ok(if wrote { super::words::TrustState::Written } else { super::words::TrustState::Present }.as_str())
    })
    .await
}

/// Removes control characters a paste must not carry (an embedded `ESC[201~` would end the
/// bracketed paste early); keeps newlines and tabs. Returns the text and how many were removed.
pub fn sanitize_send_text(text: &str) -> (String, usize) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut removed = 0;
    let clean: String = text
        .chars()
        .filter(|&c| {
            let keep = !c.is_control() || c == '\n' || c == '\t';
            removed += usize::from(!keep);
            keep
        })
        .collect();
    (clean, removed)
}

/// A probe for the text in the composer: its first words, whitespace-collapsed.
fn probe(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut head = String::new();
    for w in words {
        if head.chars().count() + w.chars().count() > 24 {
            break;
        }
        if !head.is_empty() {
            head.push(' ');
        }
        head.push_str(w);
    }
    if head.is_empty() {
        head = text.split_whitespace().next().unwrap_or("").chars().take(24).collect();
    }
    head
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
    send_text(&ctx, &args.agent, &args.text, opts).await.map(|sent| sent.to_json(&ctx.client_id))
}

/// Work done under the agent lock after the lease check and before the first keystroke (an
/// assignment's audit record). An error stops the send; nothing is typed.
pub type BeforeTyping = Box<dyn FnOnce(&State) -> Result<(), Fault> + Send>;

/// How [`send_text`] sends.
pub struct SendOptions {
    pub enter: bool,
    /// How long to watch for the turn to start after Enter.
    pub confirm: Duration,
    /// A lead's own send: recorded in the metadata, so output after it counts as the answer.
    pub lead_send: bool,
    /// Act only under this lease generation.
    pub expected: Option<u64>,
    pub before_typing: Option<BeforeTyping>,
}

/// A delivered send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub agent: String,
    pub chars: usize,
    pub control_chars_removed: usize,
    pub submitted: bool,
    pub turn_started: bool,
    pub receipt: Receipt,
    pub state: AgentState,
    /// The lease after the send (its public view is built at the edge).
    pub lease: Lease,
    /// The raw log's size when the turn was first seen started (the echo is in, an answer is
    /// not yet): growth past it is the agent's answer.
    pub log_bytes_at_turn: Option<u64>,
}

impl Sent {
    /// The lease as `client` may see it.
    pub fn lease_json(&self, client: &str) -> Value {
        self.lease.public(&self.agent, client)
    }

    pub fn to_json(&self, client: &str) -> Value {
        json!({
            "agent": self.agent, "status": "sent", "chars": self.chars, "control_chars_removed": self.control_chars_removed,
            "paste_mode": "bracketed_paste", "typed": true, "submitted": self.submitted, "turn_started": self.turn_started,
            "receipt": self.receipt.as_str(), "state": self.state.as_str(), "lease": self.lease_json(client), "response_output": NOT_RETURNED,
        })
    }
}

/// The refusal for an agent whose screen is held by a dialog: typing would answer it.
pub fn dialog_refusal(agent: &str, kind: DialogKind) -> Fault {
    let answer = DialogChoice::allowed_for(kind).map(DialogChoice::as_str);
    let hint = match answer {
        Some(a) => format!("answer it with agent_dialog_answer (choice {a})"),
        None => "it needs a person at the terminal".to_owned(),
    };
    Fault::new(
        ErrorCode::WaitingOnDialog,
        format!("agent {agent} is waiting on a {} dialog; nothing was typed; {hint}", kind.as_str()),
    )
    .with("agent", agent)
    .with("dialog", kind.as_str())
    .with("answer", answer)
    .with("typed", false)
    .with("submitted", false)
}

/// Sends `raw_text` through the lease gate with a receipt (the body of `agent_send`, also used
/// by report requests and assignments). The agent lock is held from the lease check to the
/// metadata write. A dialog on screen refuses the send before anything is typed.
pub async fn send_text(ctx: &Ctx, agent: &str, raw_text: &str, opts: SendOptions) -> Result<Sent, Fault> {
    let SendOptions { enter, confirm, lead_send, expected, before_typing } = opts;
    let agent = agent.to_owned();
    let (text, removed) = sanitize_send_text(raw_text);
    if text.trim().is_empty() {
        return Err(Fault::invalid_arguments("text must be a non-empty string"));
    }
    let spec = spec(ctx, &agent)?;
    live_pane(&spec).await?;
    wait_until_ready(ctx, &spec).await?;
    let (typing, lease) = type_under_lease(ctx, &spec, &text, enter, lead_send, expected, before_typing).await?;
    let typing = typing?;
    if !typing.typed {
        return Err(not_typed(ctx, &agent).await);
    }
    let r = if enter {
        watch_turn(ctx, &spec, &typing, confirm).await
    } else {
        Delivery { submitted: false, receipt: Receipt::Typed, state: AgentState::Idle, log_bytes_at_turn: None }
    };
    Ok(Sent {
        agent,
        chars: text.chars().count(),
        control_chars_removed: removed,
        submitted: r.submitted,
        turn_started: r.receipt == Receipt::TurnStarted,
        receipt: r.receipt,
        state: r.state,
        lease,
        log_bytes_at_turn: r.log_bytes_at_turn,
    })
}

/// Waits (bounded) until nothing on screen refuses a send: a dialog refuses it at once; a CLI
/// that reports its session start is not typed into before it is up, nor for a moment after
/// (a paste before its first screen is lost).
async fn wait_until_ready(ctx: &Ctx, spec: &AgentSpec) -> Result<(), Fault> {
    let agent = spec.name.as_str();
    let ready_by = Instant::now() + READY_WAIT;
    while let Ok(Ok(obs)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
        if obs.dialog != DialogKind::None {
            return Err(dialog_refusal(agent, obs.dialog));
        }
        let provider = spec.provider();
        let unknown = obs.state == AgentState::Unknown && provider.session_start_at_launch();
        let settle = provider.input_settle().as_millis() as u64;
        let settling =
            obs.events.as_ref().and_then(|v| v.session_started_at_ms).is_some_and(|at| now_ms() < at + settle);
        if !(obs.hooks && (unknown || settling)) {
            return Ok(());
        }
        if Instant::now() >= ready_by {
            return Err(Fault::new(
                ErrorCode::AgentNotReady,
                format!("agent {agent} has not finished starting; nothing was typed"),
            )
            .retryable()
            .with("retry_after_seconds", 5)
            .with("typed", false)
            .with("submitted", false));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Claims the lease (and runs `before_typing`) under the agent lock, types, and then records
/// the send or releases a fresh claim: typing and Enter happen under the lock, watching for the
/// turn does not. Returns the typing's outcome and the lease's public view.
#[allow(clippy::too_many_arguments)]
async fn type_under_lease(
    ctx: &Ctx,
    spec: &AgentSpec,
    text: &str,
    enter: bool,
    lead_send: bool,
    expected: Option<u64>,
    before_typing: Option<BeforeTyping>,
) -> Result<(Result<Typing, Fault>, Lease), Fault> {
    let (agent, client) = (spec.name.clone(), ctx.client_id.clone());
    let held = Locked::acquire(&agent).await?;
    let fresh = held
        .with({
            let (a, c) = (agent.clone(), client.clone());
            move |state| {
                let fresh = claim(state, &a, &c, expected)?;
                if let Some(hook) = before_typing {
                    if let Err(e) = hook(state) {
                        release_if_fresh(state, &a, &c, fresh);
                        return Err(e);
                    }
                }
                Ok(fresh)
            }
        })
        .await?;
    let typing = type_text(spec, text, enter).await;
    ctx.observer.invalidate();
    let (chars, head) = (text.chars().count(), text.chars().take(SENT_HEAD_CHARS).collect::<String>());
    let sent_ok = typing.as_ref().is_ok_and(|t| t.typed);
    let lease = held
        .with(move |state| {
            if !sent_ok {
                release_if_fresh(state, &agent, &client, fresh);
            } else if lead_send {
                if let Some(mut meta) = state.read_meta(&agent)? {
                    let offset = state.raw.file_stat(&meta.raw_log).ok().flatten().map_or(0, |(s, _)| s);
                    meta.last_send =
                        Some(LastSend { at_epoch: now_epoch(), chars, log_offset: offset, text_head: head });
                    state.write_meta(&meta)?;
                }
            }
            Ok(lease::read(state, &agent))
        })
        .await?;
    Ok((typing, lease))
}

/// Why a text did not reach the composer: a dialog that opened meanwhile is the likely reason
/// (say so, not "retry"); else `send_not_typed`, retryable.
async fn not_typed(ctx: &Ctx, agent: &str) -> Fault {
    if let Ok(Ok(obs)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
        if obs.dialog != DialogKind::None {
            return dialog_refusal(agent, obs.dialog);
        }
    }
    Fault::new(
        ErrorCode::SendNotTyped,
        format!("the text did not appear in agent {agent}'s composer; nothing was submitted"),
    )
    .retryable()
    .with("retry_after_seconds", 2)
    .with("agent", agent)
    .with("typed", false)
    .with("submitted", false)
}

/// Renders a one-line prompt with the prompts extension in the configured locale, off the async
/// threads.
async fn render_prompt(
    ctx: &Ctx,
    render: impl FnOnce(&crate::ext::Extensions, String) -> Result<String, crate::ext::ExtError> + Send + 'static,
) -> Result<String, Fault> {
    let locale = ctx.extensions().settings().locale.clone();
    let exts = Arc::clone(&ctx.extensions);
    blocking(move || render(&exts, locale).map_err(|e| Fault::new(e.code(), e.to_string()))).await
}

/// Renders the report request with the prompts extension and sends it (not as a lead send).
pub async fn request_report(
    ctx: &Ctx,
    agent: &str,
    assignment_id: Option<String>,
    enter: bool,
    expected: Option<u64>,
) -> Result<Sent, Fault> {
    let text = render_prompt(ctx, move |ext, locale| {
        ext.render_report_request(&crate::ext::types::prompts::ReportRequest { assignment_id, locale })
    })
    .await?;
    let opts = SendOptions { enter, confirm: Duration::from_secs(5), lead_send: false, expected, before_typing: None };
    send_text(ctx, agent, &text, opts).await
}

/// Sends the continue prompt after a limit's reset (the watchdog's `resume_after_reset`) as a
/// lead send: what follows is a new turn. The limit's key is written to the metadata under the
/// agent lock before anything is typed, so one limit never gets two, even across a crash.
pub async fn send_continue(
    ctx: &Ctx,
    agent: &str,
    limit_key: String,
    assignment_id: Option<String>,
) -> Result<Sent, Fault> {
    let text = render_prompt(ctx, move |ext, locale| {
        ext.render_continue(&crate::ext::types::prompts::ContinueRequest { assignment_id, locale })
    })
    .await?;
    let a = agent.to_owned();
    let record: BeforeTyping = Box::new(move |state: &State| {
        let Some(mut meta) = state.read_meta(&a)? else {
            return Err(Fault::new(ErrorCode::AgentNotRunning, format!("agent {a} has no recorded run")));
        };
        if meta.resumed_limit.as_deref() == Some(limit_key.as_str()) {
            return Err(Fault::new(
                ErrorCode::AlreadyResumed,
                format!("agent {a} was already resumed after this limit"),
            ));
        }
        meta.resumed_limit = Some(limit_key);
        Ok(state.write_meta(&meta)?)
    });
    let opts = SendOptions {
        enter: true,
        confirm: Duration::from_secs(5),
        lead_send: true,
        expected: None,
        before_typing: Some(record),
    };
    send_text(ctx, agent, &text, opts).await
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
        "lease": sent.lease_json(&ctx.client_id),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "send": sent.to_json(&ctx.client_id),
    }))
}

async fn capture_bottom(session: &str) -> String {
    tmux::capture_pane(session, 40).await.unwrap_or_default()
}

/// What the typing phase saw: whether the text reached the composer, and the probe it looked
/// for.
struct Typing {
    typed: bool,
    probe: String,
    /// When Enter was first pressed (epoch ms): a prompt event at or after it is ours.
    entered_ms: u64,
}

/// Whether the composer of `pane` holds the text whose probe is `probe` (or, after a change,
/// the placeholder of a large paste).
fn composer_holds(spec: &AgentSpec, pane: &str, probe: &str, changed: bool) -> bool {
    spec.provider()
        .composer_text(pane)
        .is_some_and(|c| c.contains(probe) || (changed && c.to_lowercase().contains("[pasted content")))
}

/// Pastes, checks that the text is in the composer, and presses Enter when asked.
async fn type_text(spec: &AgentSpec, text: &str, enter: bool) -> Result<Typing, Fault> {
    let agent = spec.name.as_str();
    let before = capture_bottom(&spec.session).await;
    let buffer = format!("codex-master-{agent}-{}", crate::fsafe::nonce());
    tmux::paste(&spec.session, &buffer, text).await.map_err(|e| tmux_error("paste", agent, e))?;
    let probe = collapse(&probe(text));
    let started = Instant::now();
    while started.elapsed() < TYPED_WAIT {
        let snapshot = capture_bottom(&spec.session).await;
        if composer_holds(spec, &snapshot, &probe, snapshot != before) {
            let mut entered_ms = 0;
            if enter {
                // Some CLIs swallow an Enter that follows a paste too closely.
                tokio::time::sleep(spec.provider().enter_after_paste()).await;
                entered_ms = now_ms();
                tmux::send_keys(&spec.session, &["Enter"]).await.map_err(|e| tmux_error("send Enter", agent, e))?;
            }
            return Ok(Typing { typed: true, probe, entered_ms });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Typing { typed: false, probe, entered_ms: 0 })
}

/// After Enter: observes the worker until [`Watch`] says what the receipt is (bounded by
/// `confirm`), pressing Enter once more when it says so.
async fn watch_turn(ctx: &Ctx, spec: &AgentSpec, typing: &Typing, confirm: Duration) -> Delivery {
    let started = Instant::now();
    let agents = [spec.name.clone()];
    let provider = spec.provider();
    let mut watch = Watch::new(confirm, typing.entered_ms, !provider.enter_after_paste().is_zero());
    loop {
        let obs = observe(ctx, &agents).await.ok().and_then(|mut v| v.remove(0).ok());
        // The composer and the echo are read from the snapshot the classifier saw.
        let seen = obs.as_ref().map(|o| Seen {
            state: o.state,
            events: o.events.as_ref().filter(|v| o.hooks && v.received > 0),
            log_bytes: o.log_bytes,
            composer_holds: composer_holds(spec, &o.pane, &typing.probe, false),
            echo: provider.output_after_echo(&o.pane, &typing.probe),
        });
        match watch.step(seen, started.elapsed(), now_ms()) {
            Step::Done(delivery) => return delivery,
            Step::EnterAgain => {
                let _ = tmux::send_keys(&spec.session, &["Enter"]).await;
            }
            Step::Wait => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now_ms() -> u64 {
    (crate::timefmt::now_epoch() * 1000.0) as u64
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
    answer_dialog(&ctx, &args.agent, args.choice, args.lease_generation).await
}

/// Path lines a trust dialog shows (`/work/repo`, `~/repo`).
fn dialog_paths(pane: &str) -> Vec<String> {
    pane.lines().map(str::trim).filter(|l| l.starts_with('/') || l.starts_with("~/")).map(str::to_owned).collect()
}

/// Whether every folder the trust dialog names is the agent's recorded working directory
/// (Codex may show it under `~`, and names the repository root when trust would reach it).
fn trust_names_only(pane: &str, cwd: &str) -> bool {
    let home = std::env::var("HOME").ok().filter(|h| h.starts_with('/'));
    let shown = dialog_paths(pane);
    !shown.is_empty()
        && shown.iter().all(|p| {
            let expanded = match (p.strip_prefix("~/"), &home) {
                (Some(rest), Some(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
                _ => p.clone(),
            };
            expanded.trim_end_matches('/') == cwd.trim_end_matches('/')
        })
}

/// The body of `agent_dialog_answer`: checks the dialog and the choice, then picks the option
/// under the lease gate. Only allowlisted options are ever selected.
pub async fn answer_dialog(
    ctx: &Ctx,
    agent: &str,
    choice: DialogChoice,
    expected: Option<u64>,
) -> Result<Value, Fault> {
    let agent = agent.to_owned();
    let spec = spec(ctx, &agent)?;
    live_pane(&spec).await?;
    let obs = observe(ctx, std::slice::from_ref(&agent)).await?.remove(0)?;
    let kind = obs.dialog;
    check_answer(&agent, kind, obs.state, choice)?;
    let screen = capture_bottom(&spec.session).await;
    if choice == DialogChoice::Trust {
        let a = agent.clone();
        let cwd = blocking(move || Ok(State::open()?.read_meta(&a)?.map(|m| m.cwd))).await?;
        if !cwd.is_some_and(|c| trust_names_only(&screen, &c)) {
            return Err(Fault::new(ErrorCode::DialogTrustNotCwd, format!("the trust dialog of agent {agent} names a folder other than the working directory it was started in; nothing was typed")));
        }
    }
    let answer = spec.provider().dialog_answer(kind, choice, &screen).ok_or_else(|| {
        Fault::new(
            ErrorCode::DialogAnswerNotFound,
            format!(
                "the {} dialog of agent {agent} does not show the {} option; nothing was typed",
                kind.as_str(),
                choice.as_str()
            ),
        )
    })?;
    let lease = type_answer(ctx, &spec, kind, choice, answer.option, expected).await?;
    let after = await_dialog_closed(ctx, &agent, kind).await.unwrap_or(obs);
    Ok(json!({
        "agent": agent, "status": "answered", "dialog": kind.as_str(), "choice": choice.as_str(), "state": after.state.as_str(),
        "dialog_closed": after.dialog != kind, "lease": lease,
    }))
}

/// Whether `choice` may answer what the screen shows: a dialog, and the one answer allowed for
/// its kind. Nothing is typed otherwise.
fn check_answer(agent: &str, kind: DialogKind, state: AgentState, choice: DialogChoice) -> Result<(), Fault> {
    if kind == DialogKind::None {
        return Err(Fault::new(ErrorCode::NoDialog, format!("agent {agent} shows no dialog; nothing was typed"))
            .with("state", state.as_str()));
    }
    let allowed = DialogChoice::allowed_for(kind);
    if allowed != Some(choice) {
        return Err(Fault::new(
            ErrorCode::DialogChoiceNotAllowed,
            format!("a {} dialog does not take the answer {}", kind.as_str(), choice.as_str()),
        )
        .with("dialog", kind.as_str())
        .with("answer", allowed.map(DialogChoice::as_str)));
    }
    Ok(())
}

/// Types the option's number under the lease (and Enter where the number only moved the
/// selection); returns the lease's public view.
async fn type_answer(
    ctx: &Ctx,
    spec: &AgentSpec,
    kind: DialogKind,
    choice: DialogChoice,
    option: u32,
    expected: Option<u64>,
) -> Result<Value, Fault> {
    let (agent, client) = (spec.name.clone(), ctx.client_id.clone());
    let held = Locked::acquire(&agent).await?;
    let fresh = held
        .with({
            let (a, c) = (agent.clone(), client.clone());
            move |state| claim(state, &a, &c, expected)
        })
        .await?;
    // The option's number selects it (and accepts it in Codex's popups); Enter accepts it where
    // the number only moves the selection (the trust screen).
    let digit = option.to_string();
    let mut typed = tmux::send_keys(&spec.session, &[digit.as_str()]).await;
    if typed.is_ok() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = capture_bottom(&spec.session).await;
        let still_selected = spec.provider().selected_option(&now) == Some(option);
        if still_selected && spec.provider().dialog_answer(kind, choice, &now).is_some() {
            typed = tmux::send_keys(&spec.session, &["Enter"]).await;
        }
    }
    let (a, c, ok) = (agent.clone(), client, typed.is_ok());
    let lease = held
        .with(move |state| {
            if !ok {
                release_if_fresh(state, &a, &c, fresh);
            }
            Ok(lease::read(state, &a).public(&a, &c))
        })
        .await?;
    drop(held);
    ctx.observer.invalidate();
    typed.map_err(|e| tmux_error("answer dialog", &agent, e))?;
    Ok(lease)
}

/// The agent observed until the dialog of `kind` is gone (at most 3 s): the last observation.
async fn await_dialog_closed(ctx: &Ctx, agent: &str, kind: DialogKind) -> Option<crate::session::observe::Observation> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        if let Ok(Ok(o)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
            let closed = o.dialog != kind;
            last = Some(o);
            if closed {
                break;
            }
        }
    }
    last
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

/// The body of `agent_interrupt` (also the watchdog's `interrupt` action): the interrupt key is
/// sent. Returns the lease afterwards.
pub async fn interrupt_agent(ctx: &Ctx, agent: &str, expected: Option<u64>) -> Result<Lease, Fault> {
    let agent = agent.to_owned();
    let spec = spec(ctx, &agent)?;
    if pane(&spec).await?.is_none_or(|p| p.dead) {
        return Err(Fault::new(ErrorCode::AgentNotRunning, format!("agent {agent} is not running")));
    }
    let client = ctx.client_id.clone();
    let held = Locked::acquire(&agent).await?;
    let fresh = held
        .with({
            let (a, c) = (agent.clone(), client.clone());
            move |state| claim(state, &a, &c, expected)
        })
        .await?;
    let sent = tmux::send_keys(&spec.session, &[spec.provider().interrupt_key()]).await;
    ctx.observer.invalidate();
    let (a, c, ok) = (agent.clone(), client.clone(), sent.is_ok());
    let lease = held
        .with(move |state| {
            if !ok {
                release_if_fresh(state, &a, &c, fresh);
            }
            Ok(lease::read(state, &a))
        })
        .await?;
    drop(held);
    sent.map_err(|e| tmux_error("interrupt", &agent, e))?;
    Ok(lease)
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
                "status": stopped.status(),
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

/// What `stop_one` did.
pub struct Stopped {
    /// The session was running and is now gone (else it was not running).
    pub was_running: bool,
    pub session: String,
    pub lease: Lease,
}

impl Stopped {
    pub fn status(&self) -> &'static str {
        if self.was_running { super::words::StopStatus::Stopped } else { super::words::StopStatus::NotRunning }.as_str()
    }
}

/// The per-agent body of `agent_stop` (also the watchdog's `stop` action). The lease check,
/// the kill and the release happen under one hold of the agent lock.
pub async fn stop_one(ctx: &Ctx, agent: &str, force: bool, expected: Option<u64>) -> Result<Stopped, Fault> {
    let spec = spec(ctx, agent)?;
    let client = ctx.client_id.clone();
    let held = Locked::acquire(agent).await?;
    let pane = pane(&spec).await?;
    let running = pane.is_some();
    if let Some(pane) = pane {
        let a = agent.to_owned();
        let current: Lease = held.with(move |state| Ok(lease::read(state, &a))).await?;
        if current.held_by_other(&client) && !force {
            return Err(busy_error(agent, &current));
        }
        // With force, another client's lease is no obstacle; otherwise the generation must be ours.
        if !current.held_by_other(&client) {
            lease::check_generation(&current, &client, expected).map_err(|r| refusal_error(agent, r))?;
        }
        let tree = worker_tree(pane.pid).await;
        tmux::kill_session(&spec.session).await.map_err(|e| tmux_error("stop", agent, e))?;
        ctx.observer.invalidate();
        // Closing the pane sends SIGHUP; what outlives it is ended here.
        crate::proctree::reap(&tree, STOP_GRACE).await;
    }
    let (a, c) = (agent.to_owned(), client);
    let lease = held
        .with(move |state| {
            if running {
                // The session is gone, so releasing any holder's lease is safe.
                let _ = lease::release(state, &a, &c, lease::Force::Allowed, None);
            }
            Ok(lease::read(state, &a))
        })
        .await?;
    Ok(Stopped { was_running: running, session: spec.session.clone(), lease })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed_but_lines_stay() {
        let (clean, removed) = sanitize_send_text("a\x1b[201~b\x07c\r\nd\te\u{9b}");
        assert_eq!(clean, "a[201~bc\nd\te");
        assert_eq!(removed, 3);
    }

    #[test]
    fn a_dialog_takes_only_its_one_allowed_answer() {
        let code = |kind, choice| check_answer("w1", kind, AgentState::Dialog, choice).err().map(|e| e.code);
        assert_eq!(code(DialogKind::Trust, DialogChoice::Trust), None);
        assert_eq!(code(DialogKind::SwitchModel, DialogChoice::KeepCurrentModel), None);
        assert_eq!(code(DialogKind::Trust, DialogChoice::No), Some(ErrorCode::DialogChoiceNotAllowed));
        assert_eq!(code(DialogKind::SignIn, DialogChoice::No), Some(ErrorCode::DialogChoiceNotAllowed));
        assert_eq!(code(DialogKind::None, DialogChoice::Trust), Some(ErrorCode::NoDialog));
    }

    #[test]
    fn the_probe_is_the_head_of_the_text() {
        assert_eq!(probe("  Run the   tests and report the results please"), "Run the tests and report");
        assert_eq!(probe(&"x".repeat(100)), "x".repeat(24));
    }
}
