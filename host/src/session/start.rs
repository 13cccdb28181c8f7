//! Starting a worker: a checked plan (runner, directory, launch line, admission, resume, memory
//! cap, environment, home trust and hooks), then a short launch under the agent lock that undoes
//! itself on any failure.

use std::time::Duration;

use super::words::TrustState;
use super::worker::*;
use super::{blocking, Ctx};
use crate::admission;
use crate::agents::profiles::{HomeError, HookCommand, HooksState, HOOK_MARKER};
use crate::agents::{procs, runner_ok, AgentSpec};
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::lease::{self, Lease};
use crate::state::meta::{AgentMeta, MemoryCap};
use crate::state::rawlog::{self, MAX_RAW_LOG_BYTES};
use crate::state::State;
use crate::timefmt::{now_epoch, now_id};
use crate::tmux;

pub const PANE_WIDTH: u32 = 160;
pub const PANE_HEIGHT: u32 = 50;
/// How one start runs: where, with what, and whether it continues the last thread.
#[derive(Clone)]
pub struct StartRequest {
    pub cwd: Option<String>,
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub resume: bool,
}

/// Everything a start needs, checked before anything is written: the runner, the working
/// directory and the launch line.
pub struct StartPlan {
    pub start_dir: std::path::PathBuf,
    /// The words of the launch: `env` with the markers and the provider's variables, the
    /// runner, the provider's arguments.
    pub words: Vec<String>,
}

/// Checks a start and builds its launch line. Reads the file system; writes nothing.
pub fn plan_start(spec: &AgentSpec, cwd: Option<&str>, prompt: Option<&str>, resume: bool) -> Result<StartPlan, Fault> {
    let provider = spec.provider();
    let (runner, start_dir) = if spec.place.is_local() {
        local_runner_and_dir(spec, cwd, resume)?
    } else {
        remote_runner_and_dir(spec, cwd)?
    };
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

/// The runner (a regular executable, never a symlink; the scripted agent is this binary) and
/// the canonical start directory, checked here.
fn local_runner_and_dir(
    spec: &AgentSpec,
    cwd: Option<&str>,
    resume: bool,
) -> Result<(std::path::PathBuf, std::path::PathBuf), Fault> {
    let agent = spec.name.as_str();
    let provider = spec.provider();
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
    Ok((runner, resolved))
}

/// On a host: the runner and directory are the host's, so they are checked there (the launch
/// line changes into the directory or fails); here only their form: absolute, normalised, no
/// control characters.
fn remote_runner_and_dir(
    spec: &AgentSpec,
    cwd: Option<&str>,
) -> Result<(std::path::PathBuf, std::path::PathBuf), Fault> {
    let agent = spec.name.as_str();
    let runner = match &spec.runner {
        Some(r) => r.clone(),
        None if spec.provider().runs_in_this_binary() => std::env::current_exe()
            .map_err(|_| Fault::new(ErrorCode::InternalError, "the server's own executable cannot be found"))?,
        None => {
            return Err(Fault::new(
                ErrorCode::RunnerNotConfigured,
                format!("no runner is configured for agent {agent}"),
            ))
        }
    };
    let dir = cwd.ok_or_else(|| {
        Fault::invalid_arguments(format!("agent {agent} runs on a host: cwd (a directory there) is required"))
    })?;
    let plain = dir.len() <= 1000 && !dir.chars().any(char::is_control);
    if !plain || !dir.starts_with('/') {
        return Err(Fault::new(
            ErrorCode::CwdNotDirectory,
            "cwd on a host must be an absolute path without control characters",
        ));
    }
    Ok((runner, crate::fsafe::paths::normalize_lexically(std::path::Path::new(dir))))
}

/// The shell line a host's tmux runs: into the directory (or fail, leaving an exited pane),
/// then the launch words with the config's variables inline (a host gets no launch script:
/// `env_pass` secrets stay refused for hosts).
pub fn remote_launch_line(plan: &StartPlan, env: &[(String, String)]) -> String {
    let mut words = plan.words.clone();
    let at = words.iter().position(|w| w == "env").map_or(0, |i| i + 1);
    for (k, v) in env.iter().rev() {
        words.insert(at, format!("{k}={v}"));
    }
    format!("cd -- {} && exec {}", tmux::shell_quote(&plan.start_dir.to_string_lossy()), tmux::shell_join(&words))
}

/// The `pipe-pane` line on a host: the pane copied into a private raw log there, bounded. GNU
/// `dd` with `bs` writes each read as it comes (`head -c` would hold a buffer back until it
/// fills); without it, `head -c` still bounds the file.
pub fn remote_raw_log_line(raw_name: &str) -> String {
    let n = MAX_RAW_LOG_BYTES;
    format!(
        "umask 077; d=\"$HOME\"/{}; mkdir -p \"$d\" && if dd bs=1 count=0 iflag=count_bytes status=none </dev/null 2>/dev/null; \
         then exec dd bs=65536 iflag=count_bytes count={n} status=none; else exec head -c {n}; fi >> \"$d\"/{}",
        tmux::ssh::REMOTE_RAW_DIR,
        tmux::shell_quote(raw_name)
    )
}

/// The variables a worker gets besides the provider's: its config's `env`, and its `env_pass`
/// names, from this process when it has them (a shell), else as `install` captured them (a
/// server started by Codex has a filtered environment).
pub fn worker_env(spec: &AgentSpec, captured: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
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
pub fn launch_script(words: &[String], env: &[(String, String)]) -> String {
    let mut script = String::from("rm -f -- \"$0\"\n");
    for (k, v) in env {
        script.push_str(&format!("export {k}={}\n", tmux::shell_join(&[v.as_str()])));
    }
    script.push_str(&format!("exec {}\n", tmux::shell_join(words)));
    script
}

/// The `pipe-pane` line that copies the pane into the raw log (this binary, bounded).
pub fn raw_log_writer_line(state_root: &std::path::Path, raw_name: &str) -> String {
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

/// Where the pane's output goes: the raw log here, or a private raw log on the host.
fn pipe_line(p: &PreparedStart, raw_name: &str) -> String {
    if p.spec.place.is_local() {
        raw_log_writer_line(&p.state_root, raw_name)
    } else {
        remote_raw_log_line(raw_name)
    }
}

/// Under the agent lock: claim the lease, prune old raw logs (never one an agent's metadata
/// names), and create this run's raw log. Returns whether the claim was fresh, and the log name.
pub fn reserve_run(state: &State, agent: &str, client: &str) -> Result<(bool, String), Fault> {
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
pub async fn remove_launch_script(held: &Locked, name: Option<String>) -> Result<(), Fault> {
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
pub fn started_meta(
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

/// What a start did.
pub enum Started {
    /// The session already ran: reported, never restarted.
    AlreadyRunning {
        spec: Box<AgentSpec>,
        lease: Lease,
        home_external_process_count: u32,
    },
    Launched(Box<Launched>),
}

/// A worker this call launched.
pub struct Launched {
    pub spec: AgentSpec,
    pub resumed: bool,
    pub lease: Lease,
    pub trust: TrustState,
    pub events: HooksState,
    pub memory_cap: Option<MemoryCap>,
}

/// An agent whose session already runs: its lease and who else uses its home.
async fn already_running(spec: AgentSpec) -> Result<Started, Fault> {
    let users = match (spec.home.as_deref(), spec.provider().home_var()) {
        (Some(h), Some(var)) => procs::home_users(h, var),
        _ => procs::HomeUsers::default(),
    };
    let a = spec.name.clone();
    let lease = blocking(move || Ok(lease::read(&State::open()?, &a))).await?;
    Ok(Started::AlreadyRunning { spec: Box::new(spec), lease, home_external_process_count: users.external })
}

/// A start, checked and planned: everything decided before the worker's session is made. The
/// admission lock is held until then, so each check counts every worker an earlier start
/// launched.
pub struct PreparedStart {
    pub spec: AgentSpec,
    pub plan: StartPlan,
    /// The run a resume continues.
    pub previous: Option<AgentMeta>,
    pub memory_cap: Option<MemoryCap>,
    pub env: Vec<(String, String)>,
    pub trust: TrustState,
    pub events: HooksState,
    pub state_root: std::path::PathBuf,
    pub _admission: crate::fsafe::FileLock,
}

/// What a start found: a session that already runs, or a start to launch.
pub enum Start {
    AlreadyRunning(Box<AgentSpec>),
    Prepared(Box<PreparedStart>),
}

pub async fn start_one(ctx: &Ctx, agent: &str, req: StartRequest) -> Result<Started, Fault> {
    let resumed = req.resume;
    let prepared = match prepare_start(ctx, agent, req).await? {
        Start::AlreadyRunning(spec) => return already_running(*spec).await,
        Start::Prepared(p) => p,
    };
    let lease = launch(ctx, &prepared).await?;
    let PreparedStart { spec, trust, events, memory_cap, .. } = *prepared;
    Ok(Started::Launched(Box::new(Launched { spec, resumed, lease, trust, events, memory_cap })))
}

/// Checks a start and decides everything about it: the prompt, admission (after ending what a
/// crash left on the home), the recorded run a resume continues, the launch line with its
/// memory cap, the worker's environment, the home's trust and hooks.
pub async fn prepare_start(ctx: &Ctx, agent: &str, req: StartRequest) -> Result<Start, Fault> {
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
    // The panes, and on a host its `/proc` readings, in one round trip.
    let snap = tmux::snapshot(&spec.place, &[], 1).await.map_err(|e| tmux_error("list-panes", agent, e))?;
    let panes = &snap.panes;
    if panes.contains_key(&spec.session) {
        return Ok(Start::AlreadyRunning(Box::new(spec)));
    }
    // Another running agent on the same home owns those processes (a config that shares homes).
    let shared = ctx
        .registry
        .agents()
        .iter()
        .any(|a| a.name != spec.name && a.home == spec.home && panes.contains_key(&a.session));
    // A host's processes and room are its own: this machine's /proc says nothing about them.
    if spec.place.is_local() {
        if !shared {
            reap_orphans(&spec).await;
        }
        admit(ctx, &spec, panes).await?;
    } else {
        admit_on_host(ctx, &spec, &snap)?;
    }
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
pub async fn recorded_run(agent: &str) -> Result<AgentMeta, Fault> {
    let a = agent.to_owned();
    let meta = blocking(move || Ok(State::open()?.read_meta(&a)?)).await?;
    meta.ok_or_else(|| Fault::new(ErrorCode::NothingToResume, format!("agent {agent} has no recorded run to resume")))
}

/// Runs the launch line in its own memory-capped scope when the agent names a cap and user
/// systemd is here; says how the cap was applied.
pub async fn cap_memory(spec: &AgentSpec, plan: &mut StartPlan) -> Option<MemoryCap> {
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
/// what was done (the launch script, the raw log, a fresh claim). Returns the lease.
pub async fn launch(ctx: &Ctx, p: &PreparedStart) -> Result<Lease, Fault> {
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
    if let Err(e) = tmux::new_session(&spec.place, &spec.session, &start_dir, &command, PANE_WIDTH, PANE_HEIGHT).await {
        // The session may belong to someone else: never kill it here.
        let _ = remove_launch_script(&held, script).await;
        let _ = cleanup(true).await;
        return Err(tmux_error("start", agent, e));
    }
    ctx.observer.invalidate();
    if let Err(e) = tmux::pipe_pane(&spec.place, &spec.session, &pipe_line(p, &raw_name)).await {
        let _ = tmux::kill_session(&spec.place, &spec.session).await;
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
        Ok(lease::read(state, &a))
    })
    .await
}

/// The shell line tmux runs: the launch words themselves, or, when the worker gets variables,
/// a launch script that holds them until it runs (it removes itself first). Returns the script's
/// name so that a failure later removes it.
pub async fn launch_command(held: &Locked, p: &PreparedStart) -> Result<(String, Option<String>), Fault> {
    if !p.spec.place.is_local() {
        return Ok((remote_launch_line(&p.plan, &p.env), None));
    }
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

/// Ends processes a crash left on the agent's home (launched by us, still running although the
/// agent's session is gone): a new run must not share the home with an old one.
pub async fn reap_orphans(spec: &AgentSpec) {
    let (Some(home), Some(var)) = (spec.home.clone(), spec.provider().home_var()) else { return };
    let orphans = blocking(move || Ok(procs::managed_users(&home, var))).await.unwrap_or_default();
    if !orphans.is_empty() {
        tracing::info!(agent = %spec.name, count = orphans.len(), "ending processes a crash left on the agent's home");
        crate::proctree::reap(&orphans, Duration::ZERO).await;
    }
}

/// Held by a start from its admission check until its session exists.
pub const ADMISSION_LOCK: &str = "admission.lock";

/// Refuses a start the host has no room for: `host_busy`, retryable, naming the check.
pub async fn admit(
    ctx: &Ctx,
    spec: &AgentSpec,
    panes: &std::collections::HashMap<String, tmux::PaneInfo>,
) -> Result<(), Fault> {
    let roots = super::fleet::worker_pids(&ctx.registry, panes);
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

/// Refuses a start the agent's host has no room for, by the host's own `[hosts.NAME.admission]`
/// and the `/proc` readings of `snap` (its snapshot): `host_busy`, retryable, naming the check.
pub fn admit_on_host(ctx: &Ctx, spec: &AgentSpec, snap: &tmux::Snapshot) -> Result<(), Fault> {
    let host = spec.place.host().unwrap_or_default();
    let ours = |s: &String| ctx.registry.agents().iter().any(|a| a.place == spec.place && a.session == *s);
    let running = snap.panes.iter().filter(|(s, p)| ours(s) && !p.dead).count() as u32;
    let sample = snap.readings.as_ref().map(admission::sample_from);
    match admission::decide_on_host(sample, running, &ctx.registry.host_admission(host)) {
        Ok(()) => Ok(()),
        Err(check) => {
            let after = check.retry_after_seconds();
            Err(Fault::new(
                ErrorCode::HostBusy,
                format!("agent {} was not started: host {host}: {}; retry in {after} s", spec.name, check.describe()),
            )
            .retryable()
            .with("retry_after_seconds", after)
            .with("check", check.as_str()))
        }
    }
}

/// The command a worker's hooks run: this binary's `hook` subcommand for this agent.
pub fn hook_command(spec: &AgentSpec, state_root: &std::path::Path) -> HookCommand {
    let exe =
        std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| "codex-master-mcp".into());
    let root = state_root.to_string_lossy();
    let words =
        [exe.as_str(), "hook", HOOK_MARKER, "--cli", spec.profile.name(), "--agent", &spec.name, "--state-dir", &root];
    HookCommand { line: tmux::shell_join(&words) }
}

/// Installs the CLI's hooks in a managed home (or, with `events = false`, removes ours). A home
/// we cannot update leaves the screen as the only source; the start goes on.
pub async fn install_hooks(spec: &AgentSpec, state_root: &std::path::Path) -> HooksState {
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
pub async fn prepare_home(spec: &AgentSpec, cwd: &std::path::Path) -> Result<TrustState, Fault> {
    if spec.home.is_none() || !spec.provider().manages_home() {
        return Ok(TrustState::NotManaged);
    }
    if !spec.trust_cwd {
        return Ok(TrustState::Disabled);
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
        Ok(if wrote { TrustState::Written } else { TrustState::Present })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Registry;

    fn spec(extra: &str) -> AgentSpec {
        let reg = Registry::from_toml(&format!("[agents.w]\nprofile = \"codex\"\nrunner = \"/usr/bin/true\"\n{extra}"))
            .unwrap();
        reg.get("w").unwrap().clone()
    }

    #[test]
    fn a_plan_launches_the_runner_in_the_canonical_directory_with_the_markers() {
        let dir = std::env::temp_dir().join(format!("cm-plan-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(dir.join("repo")).unwrap();
        std::os::unix::fs::symlink(dir.join("repo"), dir.join("link")).unwrap();
        let link = dir.join("link").display().to_string();
        let plan = plan_start(&spec(""), Some(&link), Some("go"), false).unwrap();
        // A fresh start follows the link once and launches in the directory it names.
        assert_eq!(plan.start_dir, std::fs::canonicalize(dir.join("repo")).unwrap());
        assert_eq!(plan.words[0], "env");
        assert!(plan.words.iter().any(|w| w == "CODEX_MASTER_MCP=1"));
        assert!(plan.words.iter().any(|w| w == "/usr/bin/true"));
        assert_eq!(plan.words.last().map(String::as_str), Some("go"));
        // A resume refuses a recorded directory that no longer resolves to itself.
        let refused = plan_start(&spec(""), Some(&link), None, true).err().map(|e| e.code);
        assert_eq!(refused, Some(ErrorCode::ResumeCwdChanged));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_plan_refuses_a_missing_directory_and_a_symlinked_runner() {
        let missing = plan_start(&spec(""), Some("/nonexistent/cm-plan"), None, false).err().map(|e| e.code);
        assert_eq!(missing, Some(ErrorCode::CwdNotDirectory));
        let dir = std::env::temp_dir().join(format!("cm-plan-runner-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/usr/bin/true", dir.join("runner")).unwrap();
        let reg = Registry::from_toml(&format!(
            "[agents.w]\nprofile = \"codex\"\nrunner = \"{}\"\n",
            dir.join("runner").display()
        ))
        .unwrap();
        let refused = plan_start(reg.get("w").unwrap(), Some("/tmp"), None, false).err().map(|e| e.code);
        assert_eq!(refused, Some(ErrorCode::RunnerNotExecutable));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
