//! The assignment audit ledger `R/assignments.jsonl`: one JSON object per line, metadata only.
//!
//! Two kinds of line: an `assignment` record, written *before* the prompt is sent (with
//! `delivery: "pending"`), and a `delivery` record written after the send (`submitted`,
//! `typed` or `failed`). Readers fold the two. Every append and every rewrite holds
//! `assignments.lock`, so concurrent servers never lose a record to a prune. A line torn by a
//! crash is skipped by readers; an append never joins it, and the next rewrite (an append's
//! prune, or [`repair`] when a server starts) moves it to `assignments.damaged`, with the part
//! of an oversized ledger that was never read as records. That file keeps everything up to
//! [`MAX_DAMAGED_BYTES`]; past it, it says in a line of its own how many bytes were dropped.
//! The newest [`RETAIN`] assignment records (with their deliveries and git baselines) are kept.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::State;
use crate::fsafe::FsError;

pub const LEDGER: &str = "assignments.jsonl";
/// Per-assignment git baselines (`<assignment_id>.json`), pruned with the ledger.
pub const BASELINES: &str = "baselines";
const LOCK: &str = "assignments.lock";
/// Lines that were not records (torn by a crash), kept for inspection.
pub const DAMAGED: &str = "assignments.damaged";
/// The damaged-lines file stops growing here: twice what one read of the ledger can hold.
pub const MAX_DAMAGED_BYTES: u64 = 2 * MAX_READ_BYTES;
/// The head of an oversized ledger is copied aside in pieces of this size.
const COPY_CHUNK: u64 = 1024 * 1024;
pub const RETAIN: usize = 500;
/// How much of the ledger is read: the newest part only, so an oversized file never blocks.
pub const MAX_READ_BYTES: u64 = 32 * 1024 * 1024;
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// An assignment id as we allocate them (`<now_id>-<agent>`): what a tampered record's id must
/// look like before it is returned or quoted.
pub fn valid_assignment_id(id: &str) -> bool {
    id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A field that holds the wrong type (a tampered line) reads as absent instead of dropping the
/// whole record.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

fn lenient_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default())
}

/// The skill an assignment asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkillRecord {
    #[serde(default, deserialize_with = "lenient")]
    pub requested: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub available: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub match_count: Option<u64>,
}

/// The lease as it stood when the assignment was recorded (the public view's words).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaseSnapshot {
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub holder: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub held_by_this_server: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub expires_at_utc: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub generation: Option<u64>,
}

/// An `assignment` line: metadata only, never the prompt. Its latest delivery is folded in by
/// [`assignments`]. Private state: tools return an allowlist of it, re-checked on the way out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    pub assignment_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at_utc: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub agent: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub role_kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_model: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub skill: Option<SkillRecord>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub scope: Vec<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub write_paths: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub context_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub forbidden_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub write_policy: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub allow_subagents: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub lease: Option<LeaseSnapshot>,
    #[serde(default, deserialize_with = "lenient")]
    pub submitted: Option<bool>,
    /// `pending` when written; a delivery line replaces it.
    #[serde(default, deserialize_with = "lenient")]
    pub delivery: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub turn_started: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub receipt: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub delivered_at_utc: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub prompt_chars: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub audit_baseline: Option<String>,
}

/// A `delivery` line: how the send of an assignment went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub assignment_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub agent: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub delivery: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub turn_started: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub receipt: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub delivered_at_utc: Option<String>,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Assignment(Box<AssignmentRecord>),
    Delivery(DeliveryRecord),
}

/// Appends one record and prunes to the newest `retain` assignments.
pub fn append(state: &State, entry: &Entry, retain: usize) -> Result<(), FsError> {
    let mut line = serde_json::to_vec(entry).expect("ledger records serialise");
    line.push(b'\n');
    let _lock = state.root.lock(LOCK, LOCK_WAIT)?;
    // A torn last line (a writer killed mid-append) must not swallow this record.
    if let Some((last, size)) = state.root.read_tail(LEDGER, 0, 1)? {
        if size > 0 && last != b"\n" {
            line.insert(0, b'\n');
        }
    }
    state.root.append_unlocked(LEDGER, &line)?;
    let Parsed { lines, damaged, unread } = parse(state)?;
    let assignments = lines.iter().filter(|v| is_assignment(v)).count();
    // Prune past the retention, and move invalid lines (and an unread head) aside whenever
    // there are any.
    if assignments > retain || !damaged.is_empty() || unread > 0 {
        keep_aside(state, unread, &damaged);
        rewrite(state, lines, retain)?;
    }
    Ok(())
}

/// What a crash left in the ledger: lines that are not records (a torn append, a block of NULs)
/// move to [`DAMAGED`] and the ledger is rewritten without them. Returns how many moved.
pub fn repair(state: &State) -> Result<usize, FsError> {
    if state.root.file_stat(LEDGER)?.is_none() {
        return Ok(0);
    }
    let _lock = state.root.lock(LOCK, LOCK_WAIT)?;
    let Parsed { lines, damaged, unread } = parse(state)?;
    let torn_end = state.root.read_tail(LEDGER, 0, 1)?.is_some_and(|(last, size)| size > 0 && last != b"\n");
    if damaged.is_empty() && !torn_end && unread == 0 {
        return Ok(0);
    }
    keep_aside(state, unread, &damaged);
    rewrite(state, lines, RETAIN)?;
    Ok(damaged.len())
}

/// Appends to [`DAMAGED`] what a rewrite would otherwise lose: the first `unread` bytes of the
/// ledger (never read as records), then the damaged lines; all of it while the file is under
/// [`MAX_DAMAGED_BYTES`], and past that a line that says how many bytes were dropped.
fn keep_aside(state: &State, unread: u64, damaged: &[Vec<u8>]) {
    let size = state.root.file_stat(DAMAGED).ok().flatten().map_or(0, |(s, _)| s);
    let mut room = MAX_DAMAGED_BYTES.saturating_sub(size);
    let head = unread.min(room);
    let mut at = 0;
    while at < head {
        let piece = state.root.read_range(LEDGER, at, COPY_CHUNK.min(head - at)).ok().flatten().unwrap_or_default();
        if piece.is_empty() || state.root.append_unlocked(DAMAGED, &piece).is_err() {
            break;
        }
        at += piece.len() as u64;
    }
    if at > 0 {
        let _ = state.root.append_unlocked(DAMAGED, b"\n");
        room = room.saturating_sub(at + 1);
    }
    let mut dropped = unread - at;
    let mut out = Vec::new();
    for line in damaged {
        if (out.len() + line.len() + 1) as u64 > room {
            dropped += line.len() as u64 + 1;
            continue;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    if dropped > 0 {
        tracing::warn!(dropped, "assignments.damaged is full: damaged ledger bytes were dropped");
        let note = format!(
            "codex-master: {dropped} bytes of damaged ledger lines dropped here ({DAMAGED} holds at most {} MiB)\n",
            MAX_DAMAGED_BYTES / (1024 * 1024)
        );
        out.extend_from_slice(note.as_bytes());
    }
    if !out.is_empty() {
        let _ = state.root.append_unlocked(DAMAGED, &out);
    }
}

fn is_assignment(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("assignment")
        && v.get("assignment_id").and_then(Value::as_str).is_some()
}

/// The valid records, oldest first (the newest [`MAX_READ_BYTES`] of the file).
pub fn read_lines(state: &State) -> Result<Vec<Value>, FsError> {
    parse(state).map(|p| p.lines)
}

/// One read of the ledger.
struct Parsed {
    /// The valid records, oldest first.
    lines: Vec<Value>,
    /// The non-empty lines that are not records.
    damaged: Vec<Vec<u8>>,
    /// How many bytes at the start were not read (an oversized ledger), the partial line where
    /// the read began included.
    unread: u64,
}

fn parse(state: &State) -> Result<Parsed, FsError> {
    let Some((bytes, size)) = state.root.read_tail(LEDGER, 0, MAX_READ_BYTES)? else {
        return Ok(Parsed { lines: Vec::new(), damaged: Vec::new(), unread: 0 });
    };
    let mut body: &[u8] = &bytes;
    if size > bytes.len() as u64 {
        // Started mid-file: the first partial line is not a record.
        let cut = body.iter().position(|c| *c == b'\n').map_or(body.len(), |i| i + 1);
        body = &body[cut..];
    }
    let unread = size - body.len() as u64;
    let mut valid = Vec::new();
    let mut damaged = Vec::new();
    for line in body.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() && v.get("kind").is_some() => valid.push(v),
            _ => damaged.push(line.to_vec()),
        }
    }
    Ok(Parsed { lines: valid, damaged, unread })
}

/// Rewrites the ledger with the newest `retain` assignments and their deliveries.
fn rewrite(state: &State, lines: Vec<Value>, retain: usize) -> Result<(), FsError> {
    let ids: Vec<&str> =
        lines.iter().filter(|v| is_assignment(v)).filter_map(|v| v["assignment_id"].as_str()).collect();
    let keep: std::collections::BTreeSet<&str> = ids.iter().rev().take(retain).copied().collect();
    let mut out = Vec::new();
    for v in &lines {
        if v["assignment_id"].as_str().is_some_and(|id| keep.contains(id)) {
            out.extend(serde_json::to_vec(v).expect("ledger records serialise"));
            out.push(b'\n');
        }
    }
    state.root.replace_atomic(LEDGER, &out)?;
    if let Ok(Some(dir)) = state.root.subdir_existing(BASELINES) {
        for (name, ..) in dir.list().unwrap_or_default() {
            if name.strip_suffix(".json").is_some_and(|id| !keep.contains(id)) {
                let _ = dir.remove_file(&name);
            }
        }
    }
    Ok(())
}

/// Assignment records (oldest first) with their latest delivery folded in.
pub fn assignments(state: &State) -> Result<Vec<AssignmentRecord>, FsError> {
    Ok(fold(read_lines(state)?))
}

fn fold(lines: Vec<Value>) -> Vec<AssignmentRecord> {
    let mut records: Vec<AssignmentRecord> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for v in lines {
        match serde_json::from_value::<Entry>(v) {
            Ok(Entry::Assignment(r)) => {
                index.insert(r.assignment_id.clone(), records.len());
                records.push(*r);
            }
            Ok(Entry::Delivery(d)) => {
                if let Some(&i) = index.get(&d.assignment_id) {
                    let r = &mut records[i];
                    r.delivery = d.delivery.or(r.delivery.take());
                    r.turn_started = d.turn_started.or(r.turn_started);
                    r.receipt = d.receipt.or(r.receipt.take());
                    r.delivered_at_utc = d.delivered_at_utc.or(r.delivered_at_utc.take());
                }
            }
            Err(_) => {}
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_oversized_ledger_is_kept_aside_whole_and_what_passes_the_bound_is_named() {
        let dir = std::env::temp_dir().join(format!("cm-ledger-{}", crate::fsafe::nonce()));
        let state = State::open_at(&dir).unwrap();
        let record = |id: &str| format!("{{\"kind\":\"assignment\",\"assignment_id\":\"{id}\",\"agent\":\"a\"}}\n");
        // 40 MiB: a record in the head no read reaches, junk, and records at the end.
        let junk = format!("{}\n", "x".repeat(1023));
        let mut ledger = record("head-1");
        ledger.push_str(&junk.repeat(40 * 1024));
        ledger.push_str(&record("tail-1"));
        std::fs::write(dir.join(LEDGER), &ledger).unwrap();
        assert!(repair(&state).unwrap() > 0);
        let kept = std::fs::read(dir.join(DAMAGED)).unwrap();
        let text = String::from_utf8_lossy(&kept);
        assert!(text.contains("head-1"), "the unread head is kept aside");
        assert_eq!(text.matches(&junk).count(), 40 * 1024, "every damaged line is kept");
        assert!(!text.contains("dropped"));
        let left = std::fs::read_to_string(dir.join(LEDGER)).unwrap();
        assert_eq!(left, record("tail-1"));

        // The same again: the file passes its bound, and says how much it dropped.
        std::fs::write(dir.join(LEDGER), &ledger).unwrap();
        repair(&state).unwrap();
        let size = std::fs::metadata(dir.join(DAMAGED)).unwrap().len();
        assert!(size <= MAX_DAMAGED_BYTES + 200, "{size}");
        let tail = String::from_utf8_lossy(&state.root.read_tail(DAMAGED, 0, 300).unwrap().unwrap().0).into_owned();
        assert!(tail.contains("bytes of damaged ledger lines dropped here"), "{tail}");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn line(v: Value) -> Value {
        v
    }

    #[test]
    fn deliveries_fold_into_their_assignment_and_strays_are_ignored() {
        let lines = vec![
            line(
                serde_json::json!({"kind": "assignment", "assignment_id": "a1", "agent": "w1", "delivery": "pending", "scope": ["src/"]}),
            ),
            line(serde_json::json!({"kind": "delivery", "assignment_id": "zz", "delivery": "submitted"})),
            line(
                serde_json::json!({"kind": "assignment", "assignment_id": "a2", "agent": "w2", "delivery": "pending"}),
            ),
            line(
                serde_json::json!({"kind": "delivery", "assignment_id": "a1", "delivery": "typed", "turn_started": false}),
            ),
            line(
                serde_json::json!({"kind": "delivery", "assignment_id": "a1", "delivery": "submitted", "turn_started": true, "receipt": "turn_started"}),
            ),
        ];
        let records = fold(lines);
        assert_eq!(records.iter().map(|r| r.assignment_id.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
        assert_eq!((records[0].delivery.as_deref(), records[0].turn_started), (Some("submitted"), Some(true)));
        assert_eq!(records[0].receipt.as_deref(), Some("turn_started"));
        assert_eq!(records[1].delivery.as_deref(), Some("pending"));
        assert_eq!(records[0].scope, ["src/"]);
    }

    #[test]
    fn a_field_of_the_wrong_type_reads_as_absent_and_the_record_stays() {
        let lines = vec![line(serde_json::json!({
            "kind": "assignment", "assignment_id": "a1", "agent": 7, "role": {"x": 1}, "scope": ["ok", 3, null],
            "skill": "not an object", "lease": {"state": "held", "generation": "nine"}, "prompt_chars": -4,
        }))];
        let r = &fold(lines)[0];
        assert_eq!((r.agent.as_deref(), r.role.as_deref(), r.skill.as_ref(), r.prompt_chars), (None, None, None, None));
        assert_eq!(r.scope, ["ok"]);
        let lease = r.lease.as_ref().unwrap();
        assert_eq!((lease.state.as_deref(), lease.generation), (Some("held"), None));
        // A line without an id or of another kind is no record.
        assert!(fold(vec![
            serde_json::json!({"kind": "assignment"}),
            serde_json::json!({"kind": "other", "assignment_id": "x"})
        ])
        .is_empty());
    }

    #[test]
    fn entries_round_trip_with_their_kind_tag() {
        let e = Entry::Delivery(DeliveryRecord {
            assignment_id: "a9".into(),
            delivery: Some("failed".into()),
            ..Default::default()
        });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!((v["kind"].as_str(), v["assignment_id"].as_str()), (Some("delivery"), Some("a9")));
        assert_eq!(serde_json::from_value::<Entry>(v).unwrap(), e);
    }
}
