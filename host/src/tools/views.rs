//! The JSON views more than one tool returns (a lease, a send, a skill, the assignment
//! records, a redacted list) and the parameter every lease-gated tool takes, so that no tool
//! module reaches into another.

use serde_json::{json, Value};

use super::schema::Param;
use super::{Fault, NOT_RETURNED};
use crate::lease::Lease;
use crate::redactor::Redactor;
use crate::session::assign::read_records;
use crate::session::typing::Sent;
use crate::skills::Skill;
use crate::state::ledger;

/// A lease as tools return it: the allowlisted public view, no owner identity, no paths.
pub trait PublicLease {
    fn public(&self, agent: &str, client: &str) -> Value;
}

impl PublicLease for Lease {
    fn public(&self, agent: &str, client: &str) -> Value {
        let v = self.view(client);
        json!({
            "agent": agent,
            "state": v.state.as_str(),
            "holder": v.holder.as_str(),
            "held_by_this_server": v.held_by_this_server,
            "expires_at_utc": v.expires_at_utc,
            "seconds_remaining": v.seconds_remaining,
            "ttl_seconds": v.ttl_seconds,
            "generation": v.generation,
            "raw_output": NOT_RETURNED,
        })
    }
}

/// The optional `lease_generation` argument of every lease-gated tool.
pub fn generation_param() -> Param {
    Param::integer(
        "lease_generation",
        1,
        None,
        "Act only under this generation of this client's lease (from agent_claim); refused as stale when the lease was released, expired or taken over since.",
    )
}

/// A delivered send as `client` sees it.
pub fn sent_json(sent: &Sent, client: &str) -> Value {
    json!({
        "agent": sent.agent, "status": "sent", "chars": sent.chars, "control_chars_removed": sent.control_chars_removed,
        "paste_mode": "bracketed_paste", "typed": true, "submitted": sent.submitted, "turn_started": sent.turn_started,
        "receipt": sent.receipt.as_str(), "state": sent.state.as_str(), "lease": sent.lease.public(&sent.agent, client), "response_output": NOT_RETURNED,
    })
}

/// One skill as returned: redacted, bounded, home-relative.
pub fn public_skill(red: &Redactor, s: &Skill) -> Value {
    json!({
        "name": red.bounded(&s.name, crate::skills::MAX_NAME_CHARS),
        "source": s.source,
        "plugin": red.bounded(&s.plugin, 200),
        "path": red.bounded(&s.rel_path, 1000),
        "description": s.description.as_ref().map(|d| red.bounded(d, crate::skills::MAX_DESCRIPTION_CHARS)),
    })
}

/// One ledger record as returned: an allowlist, paths re-redacted, text fields never present.
pub fn public_record(red: &Redactor, r: &ledger::AssignmentRecord) -> Value {
    let text = |v: &Option<String>| v.as_deref().map(|v| red.bounded(v, 300));
    // Fields with a fixed vocabulary come back only as one of its words (a tampered ledger line
    // cannot smuggle text out through them).
    use crate::wire::Wire;
    let model = |v: &Option<String>| v.clone().filter(|m| crate::agents::valid_model_word(m));
    let timestamp = |v: &Option<String>| {
        v.clone().filter(|t| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_digit() || b"-:TZ.".contains(&b)))
    };
    let skill = r.skill.clone().unwrap_or_default();
    let lease = r.lease.clone().unwrap_or_default();
    json!({
        "assignment_id": red.bounded(&r.assignment_id, 300),
        "created_at_utc": timestamp(&r.created_at_utc),
        "agent": text(&r.agent).filter(|a| crate::agents::valid_agent_name(a)),
        "role": super::words::SeedRole::known(&r.role),
        "role_kind": super::words::RoleKind::known(&r.role_kind),
        "name": text(&r.name),
        "model": model(&r.model),
        "session_model": model(&r.session_model),
        "skill": {
            "requested": text(&skill.requested),
            "available": skill.available,
            "match_count": skill.match_count.unwrap_or(0),
        },
        "scope": redact_list(red, &r.scope),
        "write_paths": redact_list(red, &r.write_paths),
        "context_count": r.context_count.unwrap_or(0),
        "forbidden_count": r.forbidden_count.unwrap_or(0),
        "write_policy": super::words::WritePolicy::known(&r.write_policy),
        "allow_subagents": r.allow_subagents.unwrap_or(false),
        "lease": {
            "state": crate::lease::LeaseState::known(&lease.state),
            "holder": crate::lease::Holder::known(&lease.holder),
            "held_by_this_server": lease.held_by_this_server,
            "expires_at_utc": timestamp(&lease.expires_at_utc),
            "generation": lease.generation,
            "raw_output": NOT_RETURNED,
        },
        "submitted": r.submitted,
        "delivery": super::words::Delivery::known(&r.delivery).unwrap_or("unknown"),
        "turn_started": r.turn_started,
        "prompt_chars": r.prompt_chars,
        "audit_baseline": super::words::AuditBaseline::known(&r.audit_baseline),
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
    })
}

/// `agent_assignments`' payload (also used by `integration_status`).
pub fn assignments_payload(red: &Redactor, agent: &str, limit: usize) -> Result<Value, Fault> {
    let records: Vec<ledger::AssignmentRecord> =
        read_records()?.into_iter().filter(|r| agent == "all" || r.agent.as_deref() == Some(agent)).collect();
    let retained = records.len();
    let page: Vec<Value> = records.iter().skip(retained.saturating_sub(limit)).map(|r| public_record(red, r)).collect();
    Ok(json!({
        "agent": agent,
        "limit": limit,
        "records": page,
        "record_count": page.len(),
        "retained_count": retained,
        "retention_limit": ledger::RETAIN,
        "records_truncated": retained > limit,
        "log_path": NOT_RETURNED,
        "prompt_output": NOT_RETURNED,
        "response_output": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}

/// A list as stored and returned: redacted, bounded.
pub fn redact_list(red: &Redactor, items: &[String]) -> Vec<String> {
    red.bounded_list(items, crate::session::scope::MAX_LIST_ITEMS, 300)
}
