//! Per-agent leases: which client may drive an agent, for how long.
//!
//! One file per agent, `leases/<agent>.json`, written by atomic replace while the caller holds
//! the agent's lifecycle lock. A released lease keeps its file (owner `null`) so the generation
//! number only ever grows: a caller that remembers an old generation can be told it is stale.
//! The owner identity is stored but never returned; callers only learn `this_server` or
//! `other_server`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::state::{State, MAX_META_BYTES};
use crate::timefmt::{iso_utc, now_epoch};

pub const DEFAULT_TTL_SECONDS: u64 = 1800;
pub const MAX_TTL_SECONDS: u64 = 7200;

/// The stored lease record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub agent: String,
    pub owner: Option<String>,
    pub generation: u64,
    pub created_at_utc: String,
    pub updated_at_utc: String,
    pub expires_at_epoch: f64,
    pub expires_at_utc: String,
    pub ttl_seconds: u64,
}

/// What the lease file holds right now.
#[derive(Debug, Clone)]
pub enum Lease {
    /// No file, or a released record (keeps the last generation).
    Unclaimed { generation: u64 },
    Held(LeaseRecord),
    Expired(LeaseRecord),
    /// Present but not trustworthy (symlink, oversized, not JSON, wrong agent).
    Unreadable,
}

fn file_name(agent: &str) -> String {
    format!("{agent}.json")
}

/// Reads an agent's lease without following symlinks. A file another user wrote, or one whose
/// generation cannot grow any more, cannot be trusted.
pub fn read(state: &State, agent: &str) -> Lease {
    let text = match state.leases.read_owned_bounded(&file_name(agent), MAX_META_BYTES) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Lease::Unreadable,
        },
        Ok(None) => return Lease::Unclaimed { generation: 0 },
        Err(_) => return Lease::Unreadable,
    };
    let Ok(rec) = serde_json::from_str::<LeaseRecord>(&text) else { return Lease::Unreadable };
    if rec.agent != agent || !rec.expires_at_epoch.is_finite() || rec.generation == u64::MAX {
        return Lease::Unreadable;
    }
    match &rec.owner {
        None => Lease::Unclaimed { generation: rec.generation },
        Some(_) if rec.expires_at_epoch > now_epoch() => Lease::Held(rec),
        Some(_) => Lease::Expired(rec),
    }
}

impl Lease {
    pub fn generation(&self) -> Option<u64> {
        match self {
            Lease::Unclaimed { generation } => Some(*generation),
            Lease::Held(r) | Lease::Expired(r) => Some(r.generation),
            Lease::Unreadable => None,
        }
    }

    pub fn held_by(&self, client: &str) -> bool {
        matches!(self, Lease::Held(r) if r.owner.as_deref() == Some(client))
    }

    pub fn held_by_other(&self, client: &str) -> bool {
        matches!(self, Lease::Held(r) if r.owner.as_deref() != Some(client))
    }

    pub fn seconds_remaining(&self) -> u64 {
        match self {
            Lease::Held(r) => (r.expires_at_epoch - now_epoch()).max(0.0).ceil() as u64,
            _ => 0,
        }
    }

    /// The public view: no owner identity, no paths.
    pub fn public(&self, agent: &str, client: &str) -> Value {
        let (state, holder, expires, ttl) = match self {
            Lease::Unclaimed { .. } => ("unclaimed", "none", Value::Null, json!(DEFAULT_TTL_SECONDS)),
            Lease::Held(r) => {
                let holder = if self.held_by(client) { "this_server" } else { "other_server" };
                ("held", holder, json!(r.expires_at_utc), json!(r.ttl_seconds))
            }
            Lease::Expired(r) => ("expired", "none", json!(r.expires_at_utc), json!(r.ttl_seconds)),
            Lease::Unreadable => ("unreadable", "unknown", Value::Null, Value::Null),
        };
        json!({
            "agent": agent,
            "state": state,
            "holder": holder,
            "held_by_this_server": self.held_by(client),
            "expires_at_utc": expires,
            "seconds_remaining": self.seconds_remaining(),
            "ttl_seconds": ttl,
            "generation": self.generation(),
            "raw_output": crate::tools::NOT_RETURNED,
        })
    }
}

/// Why a lease operation was refused.
#[derive(Debug)]
pub enum LeaseRefusal {
    /// Another client holds an active lease.
    HeldByOther(Lease),
    /// The lease file cannot be trusted; nothing is written over it.
    Unreadable,
    /// `force` against another client's active lease while the agent still runs.
    ForceNotAllowed(Lease),
    /// The caller named a lease generation it no longer holds (released, expired, taken over).
    Stale { expected: u64, current: Lease },
    Io(crate::fsafe::FsError),
}

/// The outcome of a successful claim.
#[derive(Debug)]
pub struct Claimed {
    /// `claimed`, `claimed_expired`, `renewed` or `forced`.
    pub status: &'static str,
    pub lease: Lease,
    pub previous: Lease,
}

fn write(state: &State, rec: &LeaseRecord) -> Result<(), crate::fsafe::FsError> {
    let mut bytes = serde_json::to_vec_pretty(rec).expect("lease record serialises");
    bytes.push(b'\n');
    state.leases.replace_atomic(&file_name(&rec.agent), &bytes)
}

/// Refuses a caller that acts under generation `expected` but does not hold exactly that
/// lease now. Another client's active lease is reported as such first (it says when to retry).
pub fn check_generation(current: &Lease, client: &str, expected: Option<u64>) -> Result<(), LeaseRefusal> {
    let Some(expected) = expected else { return Ok(()) };
    if current.held_by(client) && current.generation() == Some(expected) {
        return Ok(());
    }
    if current.held_by_other(client) {
        return Err(LeaseRefusal::HeldByOther(current.clone()));
    }
    Err(LeaseRefusal::Stale { expected, current: current.clone() })
}

/// Claims or renews. The caller holds the agent lock. `force_allowed` tells whether the agent
/// is stopped (so a forced takeover is safe). With `expected`, only a renewal of exactly that
/// generation is allowed.
pub fn claim(state: &State, agent: &str, client: &str, ttl: u64, force: bool, force_allowed: bool, expected: Option<u64>) -> Result<Claimed, LeaseRefusal> {
    let current = read(state, agent);
    if !matches!(current, Lease::Unreadable) {
        check_generation(&current, client, expected)?;
    }
    let status = match &current {
        Lease::Unreadable => return Err(LeaseRefusal::Unreadable),
        Lease::Held(_) if current.held_by(client) => "renewed",
        Lease::Held(_) if !force => return Err(LeaseRefusal::HeldByOther(current)),
        Lease::Held(_) if !force_allowed => return Err(LeaseRefusal::ForceNotAllowed(current)),
        Lease::Held(_) => "forced",
        Lease::Expired(_) => "claimed_expired",
        Lease::Unclaimed { .. } => "claimed",
    };
    let now = now_epoch();
    let ttl = ttl.clamp(1, MAX_TTL_SECONDS);
    let previous_gen = current.generation().unwrap_or(0);
    let (generation, created) = match &current {
        Lease::Held(r) if status == "renewed" => (r.generation, r.created_at_utc.clone()),
        _ => (previous_gen.checked_add(1).ok_or(LeaseRefusal::Unreadable)?, iso_utc(now)),
    };
    let expires = now + ttl as f64;
    let rec = LeaseRecord {
        agent: agent.to_owned(),
        owner: Some(client.to_owned()),
        generation,
        created_at_utc: created,
        updated_at_utc: iso_utc(now),
        expires_at_epoch: expires,
        expires_at_utc: iso_utc(expires),
        ttl_seconds: ttl,
    };
    write(state, &rec).map_err(LeaseRefusal::Io)?;
    Ok(Claimed { status, lease: Lease::Held(rec), previous: current })
}

/// Releases. Our own lease always; another client's only with `force` and `force_allowed`.
/// With `expected`, only exactly that generation of our own lease is released.
/// Returns `released` or `not_held` with the previous lease.
pub fn release(state: &State, agent: &str, client: &str, force: bool, force_allowed: bool, expected: Option<u64>) -> Result<(&'static str, Lease), LeaseRefusal> {
    let current = read(state, agent);
    if !matches!(current, Lease::Unreadable) {
        check_generation(&current, client, expected)?;
    }
    match &current {
        Lease::Unreadable => return Err(LeaseRefusal::Unreadable),
        Lease::Unclaimed { .. } => return Ok(("not_held", current)),
        Lease::Held(_) if current.held_by_other(client) && !force => return Err(LeaseRefusal::HeldByOther(current)),
        Lease::Held(_) if current.held_by_other(client) && !force_allowed => return Err(LeaseRefusal::ForceNotAllowed(current)),
        _ => {}
    }
    let status = if matches!(current, Lease::Expired(_)) { "not_held" } else { "released" };
    let now = now_epoch();
    let rec = LeaseRecord {
        agent: agent.to_owned(),
        owner: None,
        generation: current.generation().unwrap_or(0),
        created_at_utc: iso_utc(now),
        updated_at_utc: iso_utc(now),
        expires_at_epoch: now,
        expires_at_utc: iso_utc(now),
        ttl_seconds: 0,
    };
    write(state, &rec).map_err(LeaseRefusal::Io)?;
    Ok((status, current))
}
