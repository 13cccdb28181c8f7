//! Waiting on workers: the fleet observed once per tick (shared by every wait of the
//! connection) until each agent's wait ends (a turn over, activity, a limit, a dialog, a stop)
//! or the timeout passes.

use std::time::{Duration, Instant};

use super::fleet::WAIT_TICK;
use super::observe::Observation;
use super::words::WaitStatus;
use super::Ctx;
use crate::agents::AgentState;
use crate::fault::Fault;
use crate::wire::wire_enum;

wire_enum!(
    /// What ends a wait besides a limit, a dialog or a stop.
    Until { Activity => "activity", Idle => "idle", Available => "available" }
);

wire_enum!(
    /// With several agents: the first that is done, or all of them.
    WaitMode { First => "first", All => "all" }
);

/// Why a wait ends for one agent, or `None` to keep waiting.
/// What a wait compares between two looks at one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub state: AgentState,
    pub log_bytes: Option<u64>,
}

impl Look {
    pub fn of(o: &Observation) -> Look {
        Look { state: o.state, log_bytes: o.log_bytes }
    }
}

pub fn wait_outcome(until: Until, initial: Look, current: Look) -> Option<WaitStatus> {
    match current.state {
        AgentState::NotRunning => Some(WaitStatus::NotRunning),
        AgentState::Exited => Some(WaitStatus::Exited),
        // Waiting for a limit to pass is what `available` is for.
        AgentState::Limited if until == Until::Available => None,
        AgentState::Limited => Some(WaitStatus::BlockedByLimit),
        AgentState::Dialog => Some(WaitStatus::Dialog),
        _ => match until {
            // The classifier drops a limit once its reset time has passed: the screen no longer
            // limits the agent.
            Until::Available => (current.state != AgentState::Unknown).then_some(WaitStatus::Available),
            Until::Idle => current.state.turn_over().then_some(WaitStatus::Idle),
            Until::Activity => (current.state != initial.state || current.log_bytes != initial.log_bytes)
                .then_some(WaitStatus::ActivityObserved),
        },
    }
}

/// How a wait went.
pub struct Waited {
    pub initial: Vec<Observation>,
    pub current: Vec<Observation>,
    /// Why each agent's wait ended; `None`: it timed out.
    pub done: Vec<Option<WaitStatus>>,
    pub finished: bool,
    pub poll_count: u64,
    pub elapsed: Duration,
}

/// Waits until the first (or every, with `WaitMode::All`) agent's wait ends, at most `timeout`,
/// looking every `poll` (at most 1 s). Cancellation drops the future between looks.
pub async fn wait_for(
    ctx: &Ctx,
    agents: &[String],
    until: Until,
    mode: WaitMode,
    timeout: Duration,
    poll: Duration,
) -> Result<Waited, Fault> {
    let poll = poll.min(Duration::from_secs(1));
    let all = mode == WaitMode::All;
    let started = Instant::now();
    let look = || async {
        let obs = ctx.observer.observe(ctx, agents, poll.min(WAIT_TICK) / 2).await?;
        obs.into_iter().collect::<Result<Vec<Observation>, Fault>>()
    };
    // Every wait of this connection shares one fleet observation per tick.
    let initial = look().await?;
    let mut poll_count = 0u64;
    let mut done: Vec<Option<WaitStatus>> = vec![None; agents.len()];
    // The initial state can already end the wait (a stopped or limited agent, or an idle one).
    let mut current = initial.clone();
    loop {
        for (i, (a, b)) in initial.iter().zip(&current).enumerate() {
            if done[i].is_none() {
                done[i] = wait_outcome(until, Look::of(a), Look::of(b));
            }
        }
        let finished = if all { done.iter().all(Option::is_some) } else { done.iter().any(Option::is_some) };
        let remaining = timeout.saturating_sub(started.elapsed());
        if finished || remaining.is_zero() {
            return Ok(Waited { initial, current, done, finished, poll_count, elapsed: started.elapsed() });
        }
        tokio::time::sleep(poll.min(remaining)).await;
        poll_count += 1;
        current = look().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: AgentState, log_bytes: Option<u64>) -> Look {
        Look { state, log_bytes }
    }

    #[test]
    fn a_wait_ends_on_its_condition_and_on_what_blocks_it() {
        let idle = seen(AgentState::Idle, Some(10));
        let working = seen(AgentState::Working, Some(10));
        assert_eq!(wait_outcome(Until::Idle, working, working), None);
        assert_eq!(wait_outcome(Until::Idle, working, idle), Some(WaitStatus::Idle));
        assert_eq!(wait_outcome(Until::Activity, working, working), None);
        assert_eq!(
            wait_outcome(Until::Activity, working, seen(AgentState::Working, Some(11))),
            Some(WaitStatus::ActivityObserved)
        );
        // A limit ends an idle wait, but is what an `available` wait waits out.
        let limited = seen(AgentState::Limited, Some(10));
        assert_eq!(wait_outcome(Until::Idle, working, limited), Some(WaitStatus::BlockedByLimit));
        assert_eq!(wait_outcome(Until::Available, limited, limited), None);
        assert_eq!(wait_outcome(Until::Available, limited, idle), Some(WaitStatus::Available));
        assert_eq!(wait_outcome(Until::Idle, working, seen(AgentState::Dialog, None)), Some(WaitStatus::Dialog));
        assert_eq!(wait_outcome(Until::Idle, working, seen(AgentState::Exited, None)), Some(WaitStatus::Exited));
    }
}
