//! The assignment audit ledger `R/assignments.jsonl`: one JSON object per line, metadata only.
//!
//! Two kinds of line: an `assignment` record, written *before* the prompt is sent (with
//! `delivery: "pending"`), and a `delivery` record written after the send (`submitted`,
//! `typed` or `failed`). Readers fold the two. Every append and every rewrite holds
//! `assignments.lock`, so concurrent servers never lose a record to a prune. A line torn by a
//! crash is skipped by readers and dropped at the next prune; an append never joins it.
//! The newest [`RETAIN`] assignment records (with their deliveries and git baselines) are kept.

use std::time::Duration;

use serde_json::{Map, Value};

use super::State;
use crate::fsafe::FsError;

pub const LEDGER: &str = "assignments.jsonl";
/// Per-assignment git baselines (`<assignment_id>.json`), pruned with the ledger.
pub const BASELINES: &str = "baselines";
const LOCK: &str = "assignments.lock";
pub const RETAIN: usize = 500;
/// How much of the ledger is read: the newest part only, so an oversized file never blocks.
pub const MAX_READ_BYTES: u64 = 32 * 1024 * 1024;
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Appends one record and prunes to the newest `retain` assignments.
pub fn append(state: &State, record: &Value, retain: usize) -> Result<(), FsError> {
    let mut line = serde_json::to_vec(record).expect("ledger records serialise");
    line.push(b'\n');
    let _lock = state.root.lock(LOCK, LOCK_WAIT)?;
    // A torn last line (a writer killed mid-append) must not swallow this record.
    if let Some((last, size)) = state.root.read_tail(LEDGER, 0, 1)? {
        if size > 0 && last != b"\n" {
            line.insert(0, b'\n');
        }
    }
    state.root.append_unlocked(LEDGER, &line)?;
    let (lines, raw_count) = parse(state)?;
    let assignments = lines.iter().filter(|v| is_assignment(v)).count();
    // Prune past the retention, and drop invalid lines whenever there are any.
    if assignments > retain || lines.len() < raw_count {
        rewrite(state, lines, retain)?;
    }
    Ok(())
}

fn is_assignment(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("assignment") && v.get("assignment_id").and_then(Value::as_str).is_some()
}

/// The valid records, oldest first (the newest [`MAX_READ_BYTES`] of the file).
pub fn read_lines(state: &State) -> Result<Vec<Value>, FsError> {
    parse(state).map(|(lines, _)| lines)
}

/// The valid records and how many non-empty lines were read.
fn parse(state: &State) -> Result<(Vec<Value>, usize), FsError> {
    let Some((bytes, size)) = state.root.read_tail(LEDGER, 0, MAX_READ_BYTES)? else { return Ok((Vec::new(), 0)) };
    let mut body: &[u8] = &bytes;
    if size > bytes.len() as u64 {
        // Started mid-file: the first partial line is not a record.
        let cut = body.iter().position(|c| *c == b'\n').map_or(body.len(), |i| i + 1);
        body = &body[cut..];
    }
    let raw: Vec<&[u8]> = body.split(|c| *c == b'\n').filter(|l| !l.is_empty()).collect();
    let valid = raw.iter().filter_map(|l| serde_json::from_slice::<Value>(l).ok()).filter(|v| v.is_object() && v.get("kind").is_some()).collect();
    Ok((valid, raw.len()))
}

/// Rewrites the ledger with the newest `retain` assignments and their deliveries.
fn rewrite(state: &State, lines: Vec<Value>, retain: usize) -> Result<(), FsError> {
    let ids: Vec<&str> = lines.iter().filter(|v| is_assignment(v)).filter_map(|v| v["assignment_id"].as_str()).collect();
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
pub fn assignments(state: &State) -> Result<Vec<Map<String, Value>>, FsError> {
    let lines = read_lines(state)?;
    let mut records: Vec<Map<String, Value>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for v in lines {
        let Value::Object(obj) = v else { continue };
        let Some(id) = obj.get("assignment_id").and_then(Value::as_str).map(str::to_owned) else { continue };
        match obj.get("kind").and_then(Value::as_str) {
            Some("assignment") => {
                index.insert(id, records.len());
                records.push(obj);
            }
            Some("delivery") => {
                if let Some(&i) = index.get(&id) {
                    for key in ["delivery", "turn_started", "receipt", "delivered_at_utc"] {
                        if let Some(value) = obj.get(key) {
                            records[i].insert(key.to_owned(), value.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(records)
}
