//! One frame of `top`, as plain words and numbers: built from the same observation
//! `agent_status` uses (`session::fleet::observe_with_host`), never from pane text, prompts or
//! paths.

use crate::agents::AgentState;
use crate::session::fleet::{HostReading, HostSeen};
use crate::session::observe::Observation;

/// One agent's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub agent: String,
    pub profile: String,
    /// `local`, or the host's name.
    pub host: String,
    pub state: AgentState,
    /// Where the state came from: `events`, `screen`, `tmux`, …
    pub source: &'static str,
    /// Seconds since the worker last printed (its raw log), when known.
    pub quiet_seconds: Option<u64>,
    /// `free`, `mine`, `other` (never who), with the seconds left of a held lease.
    pub lease: &'static str,
    pub lease_seconds: u64,
    /// A limit: its kind, its used percent where the CLI says, seconds to its reset.
    pub limit: Option<Limit>,
    /// The failure of an agent that could not be observed (an error code).
    pub error: Option<&'static str>,
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

/// A row from one agent's observation (or its failure).
pub fn row(
    agent: &str,
    profile: &str,
    host: Option<&str>,
    obs: Result<&Observation, &'static str>,
    client: &str,
    now: u64,
) -> Row {
    let host = host.unwrap_or("local").to_owned();
    match obs {
        Ok(o) => {
            let (lease, lease_seconds) = lease_of(o, client);
            Row {
                agent: agent.to_owned(),
                profile: profile.to_owned(),
                host,
                state: o.state,
                source: o.state_source.as_str(),
                quiet_seconds: o.log_idle_seconds,
                lease,
                lease_seconds,
                limit: limit_of(o, now),
                error: None,
            }
        }
        Err(code) => Row {
            agent: agent.to_owned(),
            profile: profile.to_owned(),
            host,
            state: AgentState::Unknown,
            source: "none",
            quiet_seconds: None,
            lease: "free",
            lease_seconds: 0,
            limit: None,
            error: Some(code),
        },
    }
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
