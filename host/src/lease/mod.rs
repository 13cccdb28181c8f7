//! Per-agent leases: which client may drive an agent, for how long.
//!
//! One file per agent, `leases/<agent>.json`, written by atomic replace while the caller holds
//! the agent's lifecycle lock. A released lease keeps its file (owner `null`) so the generation
//! number only ever grows: a caller that remembers an old generation can be told it is stale.
//! The owner identity is stored but never returned; callers only learn `this_server` or
//! `other_server`.

use crate::wire::wire_enum;
use serde::{Deserialize, Serialize};

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
    Unclaimed {
        generation: u64,
    },
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
    pub fn view(&self, client: &str) -> LeaseView {
        let (state, holder, expires_at_utc, ttl_seconds) = match self {
            Lease::Unclaimed { .. } => (LeaseState::Unclaimed, Holder::None, None, Some(DEFAULT_TTL_SECONDS)),
            Lease::Held(r) => {
                let holder = if self.held_by(client) { Holder::ThisServer } else { Holder::OtherServer };
                (LeaseState::Held, holder, Some(r.expires_at_utc.clone()), Some(r.ttl_seconds))
            }
            Lease::Expired(r) => {
                (LeaseState::Expired, Holder::None, Some(r.expires_at_utc.clone()), Some(r.ttl_seconds))
            }
            Lease::Unreadable => (LeaseState::Unreadable, Holder::Unknown, None, None),
        };
        LeaseView {
            state,
            holder,
            held_by_this_server: self.held_by(client),
            expires_at_utc,
            seconds_remaining: self.seconds_remaining(),
            ttl_seconds,
            generation: self.generation(),
        }
    }
}

wire_enum!(
    /// The state of a lease as callers see it.
    LeaseState {
        Unclaimed => "unclaimed",
        Held => "held",
        Expired => "expired",
        Unreadable => "unreadable",
    }
);

wire_enum!(
    /// Who holds a lease, relative to the caller: never an identity.
    Holder {
        ThisServer => "this_server",
        OtherServer => "other_server",
        None => "none",
        Unknown => "unknown",
    }
);

/// The public view of a lease: what a caller may learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    pub state: LeaseState,
    pub holder: Holder,
    pub held_by_this_server: bool,
    pub expires_at_utc: Option<String>,
    pub seconds_remaining: u64,
    pub ttl_seconds: Option<u64>,
    pub generation: Option<u64>,
}

/// Why a lease operation was refused.
#[derive(Debug)]
pub enum LeaseRefusal {
    /// Another client holds an active lease.
    HeldByOther(Box<Lease>),
    /// The lease file cannot be trusted; nothing is written over it.
    Unreadable,
    /// `force` against another client's active lease while the agent still runs.
    ForceNotAllowed(Box<Lease>),
    /// The caller named a lease generation it no longer holds (released, expired, taken over).
    Stale {
        expected: u64,
        current: Box<Lease>,
    },
    Io(crate::fsafe::FsError),
    /// The generation cannot grow any more (only a tampered record gets there): crash repair
    /// starts it over.
    Exhausted,
}

/// The highest generation a claim writes: one below `u64::MAX`, which reads as untrustworthy.
pub const MAX_GENERATION: u64 = u64::MAX - 1;

wire_enum!(
    /// How a claim succeeded.
    ClaimStatus {
        Claimed => "claimed",
        /// Taken over from an expired lease.
        ClaimedExpired => "claimed_expired",
        /// The caller's own lease, extended (same generation).
        Renewed => "renewed",
        /// Taken from another client's lease on a stopped agent.
        Forced => "forced",
    }
);

wire_enum!(
    /// How a release went.
    ReleaseStatus {
        Released => "released",
        /// There was no active lease to release (none, or an expired one).
        NotHeld => "not_held",
    }
);

/// The outcome of a successful claim.
#[derive(Debug)]
pub struct Claimed {
    pub status: ClaimStatus,
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
        return Err(LeaseRefusal::HeldByOther(Box::new(current.clone())));
    }
    Err(LeaseRefusal::Stale { expected, current: Box::new(current.clone()) })
}

/// Whether a caller takes over another client's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    /// Not asked for.
    No,
    /// Asked for while the agent still runs: refused.
    Refused,
    /// Asked for, and the agent is stopped: a takeover is safe.
    Allowed,
}

impl Force {
    /// `asked` by the caller; allowed only on a stopped agent.
    pub fn of(asked: bool, agent_stopped: bool) -> Force {
        match (asked, agent_stopped) {
            (false, _) => Force::No,
            (true, false) => Force::Refused,
            (true, true) => Force::Allowed,
        }
    }
}

/// The claim transition: what a claim of `current` becomes, or why it is refused.
pub fn decide_claim(
    current: &Lease,
    client: &str,
    force: Force,
    expected: Option<u64>,
) -> Result<ClaimStatus, LeaseRefusal> {
    if !matches!(current, Lease::Unreadable) {
        check_generation(current, client, expected)?;
    }
    Ok(match current {
        Lease::Unreadable => return Err(LeaseRefusal::Unreadable),
        Lease::Held(_) if current.held_by(client) => ClaimStatus::Renewed,
        Lease::Held(_) if force == Force::No => return Err(LeaseRefusal::HeldByOther(Box::new(current.clone()))),
        Lease::Held(_) if force == Force::Refused => {
            return Err(LeaseRefusal::ForceNotAllowed(Box::new(current.clone())))
        }
        Lease::Held(_) => ClaimStatus::Forced,
        Lease::Expired(_) => ClaimStatus::ClaimedExpired,
        Lease::Unclaimed { .. } => ClaimStatus::Claimed,
    })
}

/// The release transition: `None` when there is nothing to write (nothing was held).
pub fn decide_release(
    current: &Lease,
    client: &str,
    force: Force,
    expected: Option<u64>,
) -> Result<Option<ReleaseStatus>, LeaseRefusal> {
    if !matches!(current, Lease::Unreadable) {
        check_generation(current, client, expected)?;
    }
    match current {
        Lease::Unreadable => Err(LeaseRefusal::Unreadable),
        Lease::Unclaimed { .. } => Ok(None),
        Lease::Held(_) if current.held_by_other(client) && force == Force::No => {
            Err(LeaseRefusal::HeldByOther(Box::new(current.clone())))
        }
        Lease::Held(_) if current.held_by_other(client) && force == Force::Refused => {
            Err(LeaseRefusal::ForceNotAllowed(Box::new(current.clone())))
        }
        Lease::Expired(_) => Ok(Some(ReleaseStatus::NotHeld)),
        Lease::Held(_) => Ok(Some(ReleaseStatus::Released)),
    }
}

/// Claims or renews. The caller holds the agent lock. `force` says whether a takeover was
/// asked for and is safe (the agent is stopped). With `expected`, only a renewal of exactly that
/// generation is allowed.
pub fn claim(
    state: &State,
    agent: &str,
    client: &str,
    ttl: u64,
    force: Force,
    expected: Option<u64>,
) -> Result<Claimed, LeaseRefusal> {
    let current = read(state, agent);
    let status = decide_claim(&current, client, force, expected)?;
    let now = now_epoch();
    let ttl = ttl.clamp(1, MAX_TTL_SECONDS);
    let previous_gen = current.generation().unwrap_or(0);
    let (generation, created) = match &current {
        Lease::Held(r) if status == ClaimStatus::Renewed => (r.generation, r.created_at_utc.clone()),
        // Refused before it overflows: the record stays readable, and repair starts it over.
        _ => {
            (previous_gen.checked_add(1).filter(|g| *g <= MAX_GENERATION).ok_or(LeaseRefusal::Exhausted)?, iso_utc(now))
        }
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

/// Releases. Our own lease always; another client's only with [`Force::Allowed`].
/// With `expected`, only exactly that generation of our own lease is released.
/// Returns how it went, with the previous lease.
pub fn release(
    state: &State,
    agent: &str,
    client: &str,
    force: Force,
    expected: Option<u64>,
) -> Result<(ReleaseStatus, Lease), LeaseRefusal> {
    let current = read(state, agent);
    let Some(status) = decide_release(&current, client, force, expected)? else {
        return Ok((ReleaseStatus::NotHeld, current));
    };
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

/// What [`recover`] repaired.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub temp_files: usize,
    pub ledger_lines: usize,
    pub leases: Vec<String>,
}

/// Repairs what a crash or a power loss left in the state: temp files of killed writers,
/// torn ledger lines, damaged lease files. Runs when a server starts and on every watchdog pass.
pub fn recover(state: &State) -> Recovered {
    Recovered {
        temp_files: state.sweep_temp_files(),
        ledger_lines: crate::state::ledger::repair(state).unwrap_or(0),
        leases: repair_damaged(state),
    }
}

/// Lease files a crash left damaged (empty, torn, not JSON): each is kept aside as
/// `<agent>.json.damaged` and replaced by a released record whose generation is past any the
/// damaged text or the assignment ledger names, so a client that remembers the old lease is
/// told it is stale. Files that are not ours, symlinks and foreign records stay untouched (they
/// read as unreadable). Returns the agents repaired.
pub fn repair_damaged(state: &State) -> Vec<String> {
    let mut repaired = Vec::new();
    let names = state.leases.list().unwrap_or_default();
    let damaged: Vec<String> = names
        .iter()
        .filter(|(_, kind, ..)| *kind == crate::fsafe::EntryKind::File)
        .filter_map(|(name, ..)| name.strip_suffix(".json"))
        .filter(|agent| agent.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .filter(|agent| {
            matches!(state.leases.read_owned_bounded(&file_name(agent), MAX_META_BYTES),
                Ok(Some(bytes)) if damaged_record(&bytes))
        })
        .map(str::to_owned)
        .collect();
    if damaged.is_empty() {
        return repaired;
    }
    let ledger = crate::state::ledger::assignments(state).unwrap_or_default();
    for agent in damaged {
        let Ok(_lock) = state.agent_lock(&agent) else { continue };
        let Ok(Some(bytes)) = state.leases.read_owned_bounded(&file_name(&agent), MAX_META_BYTES) else { continue };
        if !damaged_record(&bytes) {
            continue; // rewritten meanwhile
        }
        let in_ledger = ledger
            .iter()
            .filter(|r| r.agent.as_deref() == Some(agent.as_str()))
            .filter_map(|r| r.lease.as_ref()?.generation)
            .max();
        let saturated = serde_json::from_slice::<LeaseRecord>(&bytes).is_ok();
        let generation = generation_in(&bytes).max(in_ledger.unwrap_or(0)).saturating_add(1);
        // A generation that cannot grow (a tampered record) starts over: a client would have to
        // remember one of 2^64 generations for the new ones to collide with it.
        let generation = if saturated || generation >= MAX_GENERATION { 1 } else { generation };
        if state.leases.rename(&file_name(&agent), &format!("{agent}.json.damaged")).is_err() {
            continue;
        }
        let now = now_epoch();
        let rec = LeaseRecord {
            agent: agent.clone(),
            owner: None,
            generation: generation.min(u64::MAX - 1),
            created_at_utc: iso_utc(now),
            updated_at_utc: iso_utc(now),
            expires_at_epoch: now,
            expires_at_utc: iso_utc(now),
            ttl_seconds: 0,
        };
        if write(state, &rec).is_ok() {
            repaired.push(agent);
        }
    }
    repaired
}

/// A record a crash or tampering left unusable: not a record, or one whose generation cannot
/// grow.
fn damaged_record(bytes: &[u8]) -> bool {
    serde_json::from_slice::<LeaseRecord>(bytes).map_or(true, |r| r.generation >= MAX_GENERATION)
}

/// The largest number after a `"generation":` in a damaged record.
fn generation_in(bytes: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(bytes);
    text.match_indices("\"generation\"")
        .filter_map(|(i, k)| {
            let rest = text[i + k.len()..].trim_start().strip_prefix(':')?.trim_start();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).take(19).collect();
            digits.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_record_still_tells_its_generation() {
        assert_eq!(generation_in(b"{\n  \"agent\": \"a\",\n  \"owner\": \"x\",\n  \"generation\": 41,\n  \"crea"), 41);
        assert_eq!(generation_in(b""), 0);
        assert_eq!(generation_in(b"\0\0\0\0"), 0);
        assert_eq!(generation_in(b"\"generation\" : 99999999999999999999999"), 9_999_999_999_999_999_999);
    }

    fn record(owner: Option<&str>, generation: u64, expires_in: f64) -> LeaseRecord {
        let expires = now_epoch() + expires_in;
        LeaseRecord {
            agent: "a".into(),
            owner: owner.map(str::to_owned),
            generation,
            created_at_utc: iso_utc(now_epoch()),
            updated_at_utc: iso_utc(now_epoch()),
            expires_at_epoch: expires,
            expires_at_utc: iso_utc(expires),
            ttl_seconds: 60,
        }
    }

    fn held(owner: &str, generation: u64) -> Lease {
        Lease::Held(record(Some(owner), generation, 60.0))
    }

    fn expired(owner: &str, generation: u64) -> Lease {
        Lease::Expired(record(Some(owner), generation, -1.0))
    }

    #[test]
    fn claim_transitions() {
        let unclaimed = Lease::Unclaimed { generation: 3 };
        assert_eq!(decide_claim(&unclaimed, "me", Force::No, None).unwrap(), ClaimStatus::Claimed);
        assert_eq!(decide_claim(&held("me", 4), "me", Force::No, None).unwrap(), ClaimStatus::Renewed);
        assert_eq!(decide_claim(&expired("you", 4), "me", Force::No, None).unwrap(), ClaimStatus::ClaimedExpired);
        assert!(matches!(decide_claim(&held("you", 4), "me", Force::No, None), Err(LeaseRefusal::HeldByOther(_))));
        assert!(matches!(
            decide_claim(&held("you", 4), "me", Force::Refused, None),
            Err(LeaseRefusal::ForceNotAllowed(_))
        ));
        assert_eq!(decide_claim(&held("you", 4), "me", Force::Allowed, None).unwrap(), ClaimStatus::Forced);
        assert!(matches!(decide_claim(&Lease::Unreadable, "me", Force::Allowed, None), Err(LeaseRefusal::Unreadable)));
    }

    #[test]
    fn a_remembered_generation_must_still_be_ours() {
        assert_eq!(decide_claim(&held("me", 4), "me", Force::No, Some(4)).unwrap(), ClaimStatus::Renewed);
        let stale = decide_claim(&held("me", 5), "me", Force::No, Some(4));
        assert!(matches!(stale, Err(LeaseRefusal::Stale { expected: 4, .. })));
        // Another client's lease is named first: it says when to retry.
        assert!(matches!(decide_claim(&held("you", 4), "me", Force::No, Some(4)), Err(LeaseRefusal::HeldByOther(_))));
        let released = Lease::Unclaimed { generation: 4 };
        assert!(matches!(decide_release(&released, "me", Force::No, Some(4)), Err(LeaseRefusal::Stale { .. })));
        assert!(check_generation(&expired("me", 4), "me", Some(4)).is_err());
        assert!(check_generation(&Lease::Unreadable, "me", None).is_ok());
    }

    #[test]
    fn release_transitions() {
        assert_eq!(decide_release(&Lease::Unclaimed { generation: 2 }, "me", Force::No, None).unwrap(), None);
        assert_eq!(decide_release(&held("me", 2), "me", Force::No, None).unwrap(), Some(ReleaseStatus::Released));
        assert_eq!(decide_release(&expired("you", 2), "me", Force::No, None).unwrap(), Some(ReleaseStatus::NotHeld));
        assert!(matches!(decide_release(&held("you", 2), "me", Force::No, None), Err(LeaseRefusal::HeldByOther(_))));
        assert!(matches!(
            decide_release(&held("you", 2), "me", Force::Refused, None),
            Err(LeaseRefusal::ForceNotAllowed(_))
        ));
        assert_eq!(decide_release(&held("you", 2), "me", Force::Allowed, None).unwrap(), Some(ReleaseStatus::Released));
        assert!(matches!(decide_release(&Lease::Unreadable, "me", Force::No, None), Err(LeaseRefusal::Unreadable)));
    }

    #[test]
    fn generations_only_grow_on_disk() {
        let dir = std::env::temp_dir().join(format!("cm-lease-unit-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let state = State::open_at(&dir).unwrap();
        let first = claim(&state, "a", "me", 60, Force::No, None).unwrap();
        assert_eq!((first.status, first.lease.generation()), (ClaimStatus::Claimed, Some(1)));
        let renewed = claim(&state, "a", "me", 60, Force::No, Some(1)).unwrap();
        assert_eq!((renewed.status, renewed.lease.generation()), (ClaimStatus::Renewed, Some(1)));
        assert!(matches!(claim(&state, "a", "you", 60, Force::No, None), Err(LeaseRefusal::HeldByOther(_))));
        let (status, previous) = release(&state, "a", "me", Force::No, Some(1)).unwrap();
        assert_eq!((status, previous.generation()), (ReleaseStatus::Released, Some(1)));
        // The released record keeps its generation; the next claim takes the next one.
        assert!(matches!(read(&state, "a"), Lease::Unclaimed { generation: 1 }));
        let again = claim(&state, "a", "you", 60, Force::No, None).unwrap();
        assert_eq!(again.lease.generation(), Some(2));
        assert!(matches!(claim(&state, "a", "me", 60, Force::No, Some(1)), Err(LeaseRefusal::HeldByOther(_))));
        // An exhausted generation is not trusted.
        let mut rec = record(Some("me"), u64::MAX, 60.0);
        rec.agent = "a".into();
        write(&state, &rec).unwrap();
        assert!(matches!(read(&state, "a"), Lease::Unreadable));
        // The claim that would reach it is refused, the record stays readable, and repair
        // starts the saturated generation over.
        let mut rec = record(None, MAX_GENERATION, 0.0);
        rec.agent = "a".into();
        write(&state, &rec).unwrap();
        assert!(matches!(claim(&state, "a", "me", 60, Force::No, None), Err(LeaseRefusal::Exhausted)));
        assert!(matches!(read(&state, "a"), Lease::Unclaimed { generation: MAX_GENERATION }));
        let mut rec = record(None, MAX_GENERATION - 1, 0.0);
        rec.agent = "b".into();
        write(&state, &rec).unwrap();
        assert_eq!(claim(&state, "b", "me", 60, Force::No, None).unwrap().lease.generation(), Some(MAX_GENERATION));
        let mut repaired = repair_damaged(&state);
        repaired.sort();
        assert_eq!(repaired, ["a", "b"]);
        let after = read(&state, "a");
        assert!(matches!(after, Lease::Unclaimed { generation: 1 }), "{after:?}");
        assert_eq!(claim(&state, "a", "me", 60, Force::No, None).unwrap().lease.generation(), Some(2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
