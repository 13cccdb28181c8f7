//! One watchdog pass over one worker: read its lease and recorded run, decide
//! ([`crate::watchdog::decide`], pure), then act (a report request, a continue prompt after a
//! passed limit, the planned escalation) and record the marker. Returns plain data; the tool
//! renders it.

use super::observe::Observation;
use super::stop::{interrupt_agent, release_agent, stop_one};
use super::typing::{request_report, send_continue, Sent};
use super::{blocking, Ctx};
use crate::codes::ErrorCode;
use crate::ext::types::limits::RESET_PASSED_RULE;
use crate::fault::Fault;
use crate::lease::{self, Lease, ReleaseStatus};
use crate::state::meta::AgentMeta;
use crate::state::State;
use crate::timefmt::now_epoch;
use crate::watchdog::{self, Action, Decision, Facts, Marker, Phase, Policy};

/// How one pass over one worker went.
pub struct Watched {
    pub lease: Lease,
    /// Seconds since the worker last printed (else since its start).
    pub idle_seconds: Option<f64>,
    pub decision: Decision,
    /// `None` on a dry run.
    pub acted: Option<Acted>,
}

/// What the pass did about its decision.
pub enum Acted {
    Nothing,
    ReportRequest(Result<Sent, Fault>),
    ContinuePrompt(Result<Sent, Fault>),
    Escalated(Action, Result<Escalation, Fault>),
}

/// What an escalation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    InterruptSent,
    Stopped(super::words::StopStatus),
    Released(ReleaseStatus),
    NoAction,
}

impl Escalation {
    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::InterruptSent => "interrupt_sent",
            Escalation::Stopped(s) => s.as_str(),
            Escalation::Released(s) => s.as_str(),
            Escalation::NoAction => "no_action",
        }
    }
}

/// One worker's pass: decide from what `obs` shows, then (unless `dry_run`) act.
pub async fn watch_one(
    ctx: &Ctx,
    agent: &str,
    obs: &Observation,
    policy: Policy,
    manage_unclaimed: bool,
    dry_run: bool,
) -> Result<Watched, Fault> {
    let (a, client) = (agent.to_owned(), ctx.client_id.clone());
    let (lease, meta) = blocking(move || {
        let st = State::open()?;
        Ok((lease::read(&st, &a), st.read_meta(&a)?))
    })
    .await?;
    let limit_key = meta.as_ref().map(limit_key);
    let facts = watch_facts(obs, &lease, meta.as_ref(), limit_key.as_deref(), &client, manage_unclaimed);
    // Nothing is known about a worker whose host does not answer: no action.
    let decision = if obs.host_unreachable {
        Decision::Skip("skipped_host_unreachable")
    } else {
        watchdog::decide(&facts, &policy)
    };
    let idle_seconds = facts.idle_seconds;
    let acted = if dry_run {
        None
    } else {
        let take_over = manage_unclaimed && !lease.held_by(&client);
        let assignment_id = meta.as_ref().and_then(|m| m.last_assignment_id.clone());
        Some(act(ctx, agent, decision, policy, limit_key, assignment_id, take_over).await?)
    };
    Ok(Watched { lease, idle_seconds, decision, acted })
}

/// What the watchdog decides on: the observation, the lease and the recorded run.
pub fn watch_facts<'a>(
    obs: &Observation,
    lease: &Lease,
    meta: Option<&'a AgentMeta>,
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

/// Carries out a decision and records it in the worker's marker.
async fn act(
    ctx: &Ctx,
    agent: &str,
    decision: Decision,
    policy: Policy,
    limit_key: Option<String>,
    assignment_id: Option<String>,
    take_over: bool,
) -> Result<Acted, Fault> {
    Ok(match decision {
        Decision::Active { drop_marker: true } => {
            set_marker(agent, |_, _| None).await?;
            Acted::Nothing
        }
        Decision::RequestReport => {
            let sent = request_report(ctx, agent, assignment_id.clone(), true, None).await;
            let action = policy.action;
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
            Acted::ReportRequest(sent)
        }
        Decision::ResumeAfterReset => {
            let key = limit_key.unwrap_or_default();
            Acted::ContinuePrompt(send_continue(ctx, agent, key, assignment_id).await)
        }
        Decision::Answered => {
            settle(agent, Phase::Answered).await?;
            Acted::Nothing
        }
        Decision::Escalate => {
            let result = escalate(ctx, agent, policy.action, take_over).await;
            settle(agent, Phase::Escalated).await?;
            Acted::Escalated(policy.action, result)
        }
        _ => Acted::Nothing,
    })
}

/// Which limit an agent sits on: the turn it hit the limit in (a limit shows after the last
/// lead send, or after the start when nothing was sent).
fn limit_key(meta: &AgentMeta) -> String {
    match &meta.last_send {
        Some(s) => format!("after-send-{:.3}", s.at_epoch),
        None => format!("after-start-{:.3}", meta.started_at_epoch),
    }
}

/// Runs the planned action; `release_after` gives back a lease the action claimed on an agent
/// nobody leased.
async fn escalate(ctx: &Ctx, agent: &str, action: Action, release_after: bool) -> Result<Escalation, Fault> {
    Ok(match action {
        Action::Interrupt => {
            interrupt_agent(ctx, agent, None).await?;
            if release_after {
                release_agent(ctx, agent, false, None).await?;
            }
            Escalation::InterruptSent
        }
        Action::Stop => Escalation::Stopped(stop_one(ctx, agent, false, None).await?.status()),
        Action::Release => Escalation::Released(release_agent(ctx, agent, false, None).await?.status),
        Action::None => Escalation::NoAction,
    })
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
