//! Interrupting and stopping a worker, and releasing its lease.

use std::time::Duration;

use super::words::StopStatus;
use super::worker::*;
use super::{blocking, Ctx};
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::lease::{self, Lease};
use crate::state::State;
use crate::tmux;

/// How long a stopped worker's processes get to exit on the SIGHUP of their closed pane.
pub const STOP_GRACE: Duration = Duration::from_millis(1000);

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
    let fresh = held.claim(&agent, &client, expected).await?;
    let sent = tmux::send_keys(&spec.place, &spec.session, &[spec.provider().interrupt_key()]).await;
    ctx.observer.invalidate();
    let lease = held.settle(&agent, &client, fresh, sent.is_ok()).await?;
    drop(held);
    sent.map_err(|e| tmux_error("interrupt", &agent, e))?;
    Ok(lease)
}

/// What `stop_one` did.
pub struct Stopped {
    /// The session was running and is now gone (else it was not running).
    pub was_running: bool,
    pub session: String,
    pub lease: Lease,
}

impl Stopped {
    pub fn status(&self) -> StopStatus {
        if self.was_running {
            StopStatus::Stopped
        } else {
            StopStatus::NotRunning
        }
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
            return Err(Fault::lease_busy(agent, &current));
        }
        // With force, another client's lease is no obstacle; otherwise the generation must be ours.
        if !current.held_by_other(&client) {
            lease::check_generation(&current, &client, expected).map_err(|r| Fault::lease_refusal(agent, r))?;
        }
        // A host's pids are not this machine's processes: there, closing the pane is the stop.
        let tree = if spec.place.is_local() { worker_tree(pane.pid).await } else { Vec::new() };
        tmux::kill_session(&spec.place, &spec.session).await.map_err(|e| tmux_error("stop", agent, e))?;
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

/// Whether a forced takeover is safe: the agent's tmux session is gone.
pub async fn agent_stopped(ctx: &Ctx, agent: &str) -> Result<bool, Fault> {
    let Some(spec) = ctx.registry.get(agent) else { return Ok(true) };
    match crate::tmux::session_alive(&spec.place, &spec.session).await {
        Ok(alive) => Ok(!alive),
        // No tmux at all means no session can be running.
        Err(crate::tmux::TmuxError::NotInstalled) => Ok(true),
        Err(e) => Err(Fault::new(ErrorCode::TmuxError, e.to_string()).retryable()),
    }
}

/// The body of `agent_release` (also the watchdog's `release` action).
pub async fn release_agent(ctx: &Ctx, agent: &str, force: bool, expected: Option<u64>) -> Result<Released, Fault> {
    let agent = agent.to_owned();
    let force = lease::Force::of(force, force && agent_stopped(ctx, &agent).await?);
    let client = ctx.client_id.clone();
    blocking(move || {
        let state = State::open()?;
        let _lock = state.agent_lock(&agent)?;
        let (status, previous) =
            lease::release(&state, &agent, &client, force, expected).map_err(|r| Fault::lease_refusal(&agent, r))?;
        Ok(Released { status, previous, lease: lease::read(&state, &agent) })
    })
    .await
}

/// What `release_agent` did.
pub struct Released {
    pub status: lease::ReleaseStatus,
    pub previous: Lease,
    pub lease: Lease,
}
