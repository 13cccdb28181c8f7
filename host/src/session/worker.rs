//! What every worker-session action shares: the agent's spec and pane, the agent lock held
//! across a mutation, the lease claim made under it, the pane's bottom lines, the process tree.

use std::sync::Arc;

use super::{blocking, Ctx};
use crate::agents::AgentSpec;
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::lease::{self, Lease, DEFAULT_TTL_SECONDS};
use crate::state::State;
use crate::tmux;

pub fn tmux_error(what: &str, agent: &str, e: tmux::TmuxError) -> Fault {
    Fault::tmux(what, Some(agent), e)
}

pub fn spec(ctx: &Ctx, agent: &str) -> Result<AgentSpec, Fault> {
    ctx.registry.get(agent).cloned().ok_or_else(|| Fault::invalid_arguments("unknown agent"))
}

/// Whether the agent's session exists, and whether its process is alive.
pub async fn pane(agent: &AgentSpec) -> Result<Option<tmux::PaneInfo>, Fault> {
    Ok(tmux::list_panes(&agent.place)
        .await
        .map_err(|e| tmux_error("list-panes", &agent.name, e))?
        .remove(&agent.session))
}

/// The agent's pane, which must be alive: typing into a dead or missing pane is refused.
pub async fn live_pane(spec: &AgentSpec) -> Result<tmux::PaneInfo, Fault> {
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
pub struct Locked {
    pub state: Arc<State>,
    pub _lock: crate::fsafe::FileLock,
}

impl Locked {
    pub async fn acquire(agent: &str) -> Result<Locked, Fault> {
        let agent = agent.to_owned();
        blocking(move || {
            let state = State::open()?;
            let lock = state.agent_lock(&agent)?;
            Ok(Locked { state: Arc::new(state), _lock: lock })
        })
        .await
    }

    /// Claims or renews `client`'s lease under this lock (only generation `expected`, when
    /// given); `Ok(fresh)` tells whether the claim is new.
    pub async fn claim(&self, agent: &str, client: &str, expected: Option<u64>) -> Result<bool, Fault> {
        let (a, c) = (agent.to_owned(), client.to_owned());
        self.with(move |state| claim(state, &a, &c, expected)).await
    }

    /// After keystrokes under this lock: when they failed, a claim this action made (`fresh`)
    /// is given back; returns the lease as it is now.
    pub async fn settle(&self, agent: &str, client: &str, fresh: bool, typed: bool) -> Result<Lease, Fault> {
        let (a, c) = (agent.to_owned(), client.to_owned());
        self.with(move |state| {
            if !typed {
                release_if_fresh(state, &a, &c, fresh);
            }
            Ok(lease::read(state, &a))
        })
        .await
    }

    /// Runs filesystem work off the async threads, under the held lock.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&State) -> Result<T, Fault> + Send + 'static,
    ) -> Result<T, Fault> {
        let state = Arc::clone(&self.state);
        blocking(move || f(&state)).await
    }
}

/// Claims or renews this client's lease (only generation `expected`, when given);
/// `Ok(fresh)` tells whether the claim is new.
pub fn claim(state: &State, agent: &str, client: &str, expected: Option<u64>) -> Result<bool, Fault> {
    match lease::claim(state, agent, client, DEFAULT_TTL_SECONDS, lease::Force::No, expected) {
        Ok(c) => Ok(c.status != lease::ClaimStatus::Renewed),
        Err(refusal) => Err(Fault::lease_refusal(agent, refusal)),
    }
}

pub fn release_if_fresh(state: &State, agent: &str, client: &str, fresh: bool) {
    if fresh && lease::read(state, agent).held_by(client) {
        let _ = lease::release(state, agent, client, lease::Force::No, None);
    }
}

/// The processes of a worker's tree, its pane's process first.
pub async fn worker_tree(pane_pid: Option<u32>) -> Vec<u32> {
    let Some(pid) = pane_pid else { return Vec::new() };
    blocking(move || Ok(crate::proctree::tree_pids(&crate::proctree::proc_root(), &[pid]).unwrap_or_else(|| vec![pid])))
        .await
        .unwrap_or_default()
}

pub async fn capture_bottom(spec: &AgentSpec) -> String {
    tmux::capture_pane(&spec.place, &spec.session, 40).await.unwrap_or_default()
}
