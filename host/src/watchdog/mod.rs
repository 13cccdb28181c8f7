//! The watchdog's decision for one agent, from metadata and raw-log counters only.
//!
//! It fixes the seed's escalation loop: the report request is sent once per lead turn (an agent
//! that simply finished is asked once, not every `idle + grace` seconds); output counts as an
//! answer only when the raw log grew past what it held right after our request was delivered
//! (so the echo of our own request is not "fresh activity"); and once the grace window passes
//! with no answer, the planned action really happens, once.
//!
//! With `resume_after_reset`, an agent idle on a limit whose reset time has passed gets one
//! continue prompt per limit (the limit's key is kept in its metadata).

use crate::agents::AgentState;

pub const DEFAULT_IDLE_SECONDS: i64 = 60;
pub const MAX_IDLE_SECONDS: i64 = 86_400;
pub const DEFAULT_POLL_SECONDS: i64 = 15;
pub const DEFAULT_GRACE_SECONDS: i64 = 120;
pub const MAX_GRACE_SECONDS: i64 = 600;

pub use crate::state::meta::{Action, Marker, Phase};

/// What the watchdog knows about one agent.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub running: bool,
    pub state: AgentState,
    pub held_by_other: bool,
    /// Held by us, or (managing unclaimed agents) unclaimed or expired.
    pub lease_allowed: bool,
    /// Seconds since the raw log last changed.
    pub idle_seconds: Option<f64>,
    pub log_bytes: Option<u64>,
    pub last_send_at: Option<f64>,
    pub now: f64,
    pub marker: Option<&'a Marker>,
    /// The key of the limit the screen still shows although its reset time has passed (the
    /// agent sits idle on it); `None` otherwise.
    pub passed_limit: Option<&'a str>,
    /// The key of the limit a continue prompt was already sent for.
    pub resumed_limit: Option<&'a str>,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub idle_seconds: u64,
    pub grace_seconds: u64,
    pub action: Action,
    pub require_lease: bool,
    /// Send the continue prompt once a limit's reset time has passed.
    pub resume_after_reset: bool,
}

impl Policy {
    /// `fleet_watchdog` with no arguments.
    pub const DEFAULT: Policy = Policy {
        idle_seconds: DEFAULT_IDLE_SECONDS as u64,
        grace_seconds: DEFAULT_GRACE_SECONDS as u64,
        action: Action::Interrupt,
        require_lease: true,
        resume_after_reset: false,
    };
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Skip(&'static str),
    /// Recent activity; a stale marker of an older turn is dropped.
    Active {
        drop_marker: bool,
    },
    RequestReport,
    Waiting {
        elapsed: f64,
    },
    /// Output after our request: the agent answered.
    Answered,
    Escalate,
    /// Asked (and answered or escalated) for this turn already: nothing more until the lead
    /// sends again.
    Settled,
    NoAction,
    /// The limit's reset time passed and the agent waits on it: send the continue prompt.
    ResumeAfterReset,
}

impl Decision {
    /// The `watchdog_state` name.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Skip(s) => s,
            Decision::Active { .. } => "active",
            Decision::RequestReport => "report_requested",
            Decision::Waiting { .. } => "waiting_for_report",
            Decision::Answered => "report_answered",
            Decision::Escalate => "action_sent",
            Decision::Settled => "settled",
            Decision::NoAction => "no_action",
            Decision::ResumeAfterReset => "resumed_after_reset",
        }
    }

    /// The `watchdog_state` a dry run reports: what the pass would do under `action`.
    pub fn verdict(&self, action: Action) -> std::borrow::Cow<'static, str> {
        match self {
            Decision::RequestReport => "would_request_report".into(),
            Decision::ResumeAfterReset => "would_resume_after_reset".into(),
            Decision::Escalate => format!("would_{}", action.as_str()).into(),
            other => other.name().into(),
        }
    }
}

pub fn decide(f: &Facts<'_>, p: &Policy) -> Decision {
    if !f.running {
        return Decision::Skip("skipped_not_running");
    }
    if f.state == AgentState::Exited {
        return Decision::Skip("skipped_exited");
    }
    if f.held_by_other || (p.require_lease && !f.lease_allowed) {
        return Decision::Skip("skipped_not_leased_by_this_server");
    }
    // A passed limit comes before the report logic: the agent did not finish, it was stopped.
    if let Some(limit) = f.passed_limit.filter(|_| p.resume_after_reset) {
        return if f.resumed_limit == Some(limit) {
            Decision::Skip("skipped_already_resumed")
        } else {
            Decision::ResumeAfterReset
        };
    }
    // A marker from before the lead's last send belongs to an older turn.
    let marker = f.marker.filter(|m| f.last_send_at.is_none_or(|s| s <= m.requested_at_epoch));
    if let Some(m) = marker {
        let grew = f.log_bytes.is_some_and(|b| b > m.log_bytes_after_request);
        return match m.phase {
            // Growth only: a hung TUI still shows its working line.
            Phase::ReportRequested if grew => Decision::Answered,
            Phase::ReportRequested => {
                let elapsed = (f.now - m.requested_at_epoch).max(0.0);
                if elapsed < p.grace_seconds as f64 {
                    Decision::Waiting { elapsed }
                } else {
                    Decision::Escalate
                }
            }
            Phase::Answered | Phase::Escalated => Decision::Settled,
        };
    }
    let Some(idle) = f.idle_seconds else { return Decision::Skip("skipped_insufficient_idle_evidence") };
    if idle < p.idle_seconds as f64 {
        return Decision::Active { drop_marker: f.marker.is_some() };
    }
    match f.state {
        // No keys into a limit screen or a dialog: the lead decides.
        AgentState::Limited => return Decision::Skip("skipped_blocked_by_limit"),
        AgentState::Dialog => return Decision::Skip("skipped_waiting_on_dialog"),
        _ => {}
    }
    if p.action == Action::None {
        return Decision::NoAction;
    }
    Decision::RequestReport
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        idle_seconds: 60,
        grace_seconds: 120,
        action: Action::Interrupt,
        require_lease: true,
        resume_after_reset: false,
    };

    fn facts<'a>(state: &str, idle: f64, bytes: u64, marker: Option<&'a Marker>) -> Facts<'a> {
        Facts {
            running: true,
            state: match state {
                "idle" => AgentState::Idle,
                "working" => AgentState::Working,
                "limited" => AgentState::Limited,
                _ => AgentState::Unknown,
            },
            held_by_other: false,
            lease_allowed: true,
            idle_seconds: Some(idle),
            log_bytes: Some(bytes),
            last_send_at: Some(100.0),
            now: 1000.0,
            marker,
            passed_limit: None,
            resumed_limit: None,
        }
    }

    fn marker(phase: Phase, at: f64, bytes: u64) -> Marker {
        Marker {
            phase,
            requested_at_epoch: at,
            log_bytes_after_request: bytes,
            planned_action: Action::Interrupt,
            assignment_id: None,
            settled_at_epoch: None,
        }
    }

    #[test]
    fn an_idle_agent_is_asked_once_then_escalated_after_the_grace_window() {
        assert_eq!(decide(&facts("idle", 90.0, 500, None), &POLICY), Decision::RequestReport);
        let m = marker(Phase::ReportRequested, 990.0, 600);
        assert_eq!(decide(&facts("idle", 10.0, 600, Some(&m)), &POLICY), Decision::Waiting { elapsed: 10.0 });
        let m = marker(Phase::ReportRequested, 850.0, 600);
        assert_eq!(decide(&facts("idle", 150.0, 600, Some(&m)), &POLICY), Decision::Escalate);
    }

    #[test]
    fn our_own_echo_is_not_an_answer_but_real_output_is() {
        // The echo is inside the counted bytes: no growth, no answer.
        let m = marker(Phase::ReportRequested, 990.0, 600);
        assert_eq!(decide(&facts("idle", 5.0, 600, Some(&m)), &POLICY), Decision::Waiting { elapsed: 10.0 });
        assert_eq!(decide(&facts("idle", 5.0, 700, Some(&m)), &POLICY), Decision::Answered);
        // A hung TUI keeps showing "Working": that is no answer either.
        assert_eq!(decide(&facts("working", 5.0, 600, Some(&m)), &POLICY), Decision::Waiting { elapsed: 10.0 });
    }

    #[test]
    fn a_finished_agent_is_not_nagged_until_the_lead_sends_again() {
        let m = marker(Phase::Answered, 500.0, 600);
        assert_eq!(decide(&facts("idle", 400.0, 900, Some(&m)), &POLICY), Decision::Settled);
        let m = marker(Phase::Escalated, 500.0, 600);
        assert_eq!(decide(&facts("idle", 400.0, 900, Some(&m)), &POLICY), Decision::Settled);
        // A new lead send after the marker starts a new turn.
        let mut f = facts("idle", 400.0, 900, Some(&m));
        f.last_send_at = Some(600.0);
        assert_eq!(decide(&f, &POLICY), Decision::RequestReport);
    }

    #[test]
    fn a_passed_limit_gets_one_continue_and_only_when_asked_for() {
        let resume = Policy { resume_after_reset: true, ..POLICY };
        let mut f = facts("idle", 5.0, 500, None);
        f.passed_limit = Some("after-send-100");
        assert_eq!(decide(&f, &resume), Decision::ResumeAfterReset);
        // Off by default: the usual report logic runs (here: too recent to ask).
        assert_eq!(decide(&f, &POLICY), Decision::Active { drop_marker: false });
        // Never twice for one limit; a later limit is another key.
        f.resumed_limit = Some("after-send-100");
        assert_eq!(decide(&f, &resume).name(), "skipped_already_resumed");
        f.passed_limit = Some("after-send-900");
        assert_eq!(decide(&f, &resume), Decision::ResumeAfterReset);
        // Lease rules first.
        f.held_by_other = true;
        assert_eq!(decide(&f, &resume).name(), "skipped_not_leased_by_this_server");
    }

    #[test]
    fn busy_limited_foreign_and_stopped_agents_are_left_alone() {
        assert_eq!(decide(&facts("working", 3.0, 500, None), &POLICY), Decision::Active { drop_marker: false });
        assert_eq!(decide(&facts("limited", 900.0, 500, None), &POLICY).name(), "skipped_blocked_by_limit");
        let mut f = facts("idle", 900.0, 500, None);
        f.held_by_other = true;
        assert_eq!(decide(&f, &POLICY).name(), "skipped_not_leased_by_this_server");
        f.held_by_other = false;
        f.lease_allowed = false;
        assert_eq!(decide(&f, &POLICY).name(), "skipped_not_leased_by_this_server");
        f.running = false;
        assert_eq!(decide(&f, &POLICY).name(), "skipped_not_running");
    }
}
