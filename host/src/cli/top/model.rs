//! One frame of `top`, as plain words and numbers: built from the same observation
//! `agent_status` uses (`session::fleet::observe_with_host`), never from pane text, prompts or
//! paths.

use crate::agents::AgentState;
use crate::session::fleet::{HostReading, HostSeen};
use crate::session::observe::Observation;
use crate::state::ledger::AssignmentRecord;
use crate::tools::words::{Delivery, RoleKind};
use crate::wire::Wire;

/// Who a row is about: the agent as configured.
pub struct Who<'a> {
    pub agent: &'a str,
    pub profile: &'a str,
    pub host: Option<&'a str>,
}

/// One agent's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub agent: String,
    pub profile: String,
    /// `local`, or the host's name.
    pub host: String,
    pub state: AgentState,
    /// Seconds in this state, when the CLI's events say when it began.
    pub state_seconds: Option<u64>,
    /// Where the state came from: `events`, `screen`, `tmux`, …
    pub source: &'static str,
    /// Seconds since the worker last printed (its raw log), when known.
    pub quiet_seconds: Option<u64>,
    /// `free`, `mine`, `other` (never who), with the seconds left of a held lease.
    pub lease: &'static str,
    pub lease_seconds: u64,
    /// A limit: its kind, its used percent where the CLI says, seconds to its reset.
    pub limit: Option<Limit>,
    /// The lead's last send: how long ago, and its receipt word once decided.
    pub sent: Option<(u64, Option<&'static str>)>,
    /// The newest assignment: role, age and delivery (never its prompt).
    pub task: Option<Task>,
    /// The failure of an agent that could not be observed (an error code).
    pub error: Option<&'static str>,
}

/// An agent's newest assignment, as fixed words and an age.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub role: &'static str,
    pub age_seconds: Option<u64>,
    pub delivery: &'static str,
}

/// The assignment in flight from the newest ledger record: fixed words only (a tampered line
/// shows `unknown`).
pub fn task(r: &AssignmentRecord, now: u64) -> Task {
    let created = r.created_at_utc.as_deref().and_then(crate::timefmt::parse_iso_utc);
    Task {
        role: RoleKind::known(&r.role_kind).unwrap_or("unknown"),
        age_seconds: created.map(|c| now.saturating_sub(c as u64)),
        delivery: Delivery::known(&r.delivery).unwrap_or("unknown"),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub kind: &'static str,
    pub used_percent: Option<u8>,
    pub reset_in_seconds: Option<u64>,
}

/// The header: this machine's room, and each host's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    pub mem_available_mib: Option<u64>,
    pub memory_pressure: Option<f64>,
    pub workers_running: u32,
    pub max_workers: u32,
    pub busy_check: Option<&'static str>,
    pub hosts: Vec<(String, bool, u64)>,
    pub near_limit: usize,
    pub blocked: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub header: Header,
    pub rows: Vec<Row>,
}

fn lease_of(o: &Observation, client: &str) -> (&'static str, u64) {
    let v = o.lease.view(client);
    match (v.held_by_this_server, v.seconds_remaining) {
        (_, 0) => ("free", 0),
        (true, s) => ("mine", s),
        (false, s) => ("other", s),
    }
}

fn limit_of(o: &Observation, now: u64) -> Option<Limit> {
    let c = o.classified.as_ref().filter(|_| o.state == AgentState::Limited || o.near_limit)?;
    Some(Limit {
        kind: c.kind.as_str(),
        used_percent: c.used_percent,
        reset_in_seconds: c.reset_at_epoch_seconds.map(|r| r.saturating_sub(now)),
    })
}

fn sent_of(o: &Observation, now: u64) -> Option<(u64, Option<&'static str>)> {
    let run = o.run.as_ref()?;
    let (at, _) = run.last_send?;
    Some(((now as f64 - at).max(0.0) as u64, run.last_receipt.map(|r| r.as_str())))
}

/// Seconds in the current state, when the events' phase is what the state came from.
fn state_seconds(o: &Observation, now: u64) -> Option<u64> {
    let events = o.state_source == crate::agents::facts::Source::Event;
    let (_, since_ms) = o.events.as_ref().filter(|_| events)?.phase?;
    Some(now.saturating_sub(since_ms / 1000))
}

/// A row from one agent's observation (or its failure) and its newest assignment.
pub fn row(who: &Who<'_>, obs: Result<&Observation, &'static str>, task: Option<Task>, client: &str, now: u64) -> Row {
    let mut row = Row {
        agent: who.agent.to_owned(),
        profile: who.profile.to_owned(),
        host: who.host.unwrap_or("local").to_owned(),
        state: AgentState::Unknown,
        state_seconds: None,
        source: "none",
        quiet_seconds: None,
        lease: "free",
        lease_seconds: 0,
        limit: None,
        sent: None,
        task,
        error: None,
    };
    match obs {
        Ok(o) => {
            (row.lease, row.lease_seconds) = lease_of(o, client);
            row.state = o.state;
            row.state_seconds = state_seconds(o, now);
            row.source = o.state_source.as_str();
            row.quiet_seconds = o.log_idle_seconds;
            row.limit = limit_of(o, now);
            row.sent = sent_of(o, now);
        }
        Err(code) => row.error = Some(code),
    }
    row
}

/// The header from this machine's reading, the hosts seen, and the rows.
pub fn header(reading: Option<&HostReading>, hosts: &[HostSeen], rows: &[Row], near_limit: usize) -> Header {
    Header {
        mem_available_mib: reading.and_then(|r| r.mem_available_mib),
        memory_pressure: reading.and_then(|r| r.memory_pressure),
        workers_running: reading.map_or(0, |r| r.workers.running),
        max_workers: reading.map_or(0, |r| r.max_workers),
        busy_check: reading.and_then(|r| r.busy_check).map(crate::admission::Check::as_str),
        hosts: hosts.iter().map(|h| (h.name.clone(), h.reachable, h.round_trip.as_millis() as u64)).collect(),
        near_limit,
        blocked: rows.iter().filter(|r| r.state == AgentState::Limited).count(),
    }
}

/// `1h02m`, `3m05s`, `42s`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_short() {
        assert_eq!((duration(42), duration(185), duration(3720)), ("42s".into(), "3m05s".into(), "1h02m".into()));
    }
}
