//! The per-agent event log: appended by the hook subcommand (no fsync: events are advisory, the
//! screen stays the fallback), read back by status.
//!
//! Each append is one `write` of one line with `O_APPEND`, so concurrent hooks never interleave
//! inside a line. Past [`MAX_LOG_BYTES`] the log moves to `A.log.1` (one generation kept), so
//! the two files together stay under twice the bound.

use super::Event;
use crate::fsafe::{Dir, FsError};

/// A log's size before it rotates.
pub const MAX_LOG_BYTES: u64 = 64 * 1024;
/// Longest line read back (a longer one is not ours).
const MAX_LINE_BYTES: usize = 1024;

fn names(agent: &str) -> (String, String) {
    (format!("{agent}.log"), format!("{agent}.log.1"))
}

/// Appends one event to `agent`'s log in `dir` (`R/events`), rotating a full log first.
pub fn append(dir: &Dir, agent: &str, event: &Event) -> Result<(), FsError> {
    let (current, previous) = names(agent);
    if let Ok(Some((size, _))) = dir.file_stat(&current) {
        if size >= MAX_LOG_BYTES {
            // Two hooks may both rotate: the second rename moves a nearly empty log, and at
            // worst a few events land in the older generation, which is read too.
            let _ = dir.rename(&current, &previous);
        }
    }
    let mut line = serde_json::to_vec(event).map_err(|e| FsError::Io(e.to_string()))?;
    line.push(b'\n');
    dir.append_nosync(&current, &line)
}

/// The events of `agent` at or after `since_ms`, oldest first (both generations; damaged or
/// foreign lines are skipped).
pub fn read_since(dir: &Dir, agent: &str, since_ms: u64) -> Vec<Event> {
    let (current, previous) = names(agent);
    let mut events = Vec::new();
    for name in [previous, current] {
        let Ok(Some(bytes)) = dir.read_bounded(&name, 2 * MAX_LOG_BYTES) else { continue };
        for line in bytes.split(|b| *b == b'\n') {
            if line.is_empty() || line.len() > MAX_LINE_BYTES {
                continue;
            }
            if let Ok(e) = serde_json::from_slice::<Event>(line) {
                if e.at_ms >= since_ms {
                    events.push(e);
                }
            }
        }
    }
    // Hooks of one moment may append out of order.
    events.sort_by_key(|e| e.at_ms);
    events
}

/// Whether a usage event says something new: a CLI that reports usage on every redraw (Claude
/// Code's status line) would otherwise fill the log with copies and rotate the turn's events
/// away. The last usage written is kept beside the log.
pub fn usage_changed(dir: &Dir, agent: &str, event: &Event) -> bool {
    let name = format!("{agent}.usage");
    let Ok(now) = serde_json::to_vec(&event.usage) else { return true };
    if dir.read_bounded(&name, 4096).ok().flatten().as_deref() == Some(now.as_slice()) {
        return false;
    }
    let _ = dir.replace_atomic(&name, &now);
    true
}

/// Removes `agent`'s logs (a new run starts a new log).
pub fn clear(dir: &Dir, agent: &str) {
    let (current, previous) = names(agent);
    let _ = dir.remove_file(&current);
    let _ = dir.remove_file(&previous);
    let _ = dir.remove_file(&format!("{agent}.usage"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventKind, FailureKind};

    #[test]
    fn the_log_rotates_and_reads_both_generations() {
        let root = std::env::temp_dir().join(format!("cm-events-{}", crate::fsafe::nonce()));
        let dir = Dir::walk_private(&root).unwrap();
        let mut e = Event::new(EventKind::PromptSubmitted, 10);
        append(&dir, "a", &e).unwrap();
        e.kind = EventKind::TurnFailed;
        e.failure = Some(FailureKind::RateLimit);
        e.at_ms = 20;
        append(&dir, "a", &e).unwrap();
        assert_eq!(read_since(&dir, "a", 0).len(), 2);
        assert_eq!(read_since(&dir, "a", 15), [e.clone()]);
        // Fill past the bound: the log rotates, nothing recent is lost, the total stays bounded.
        for i in 0..3000 {
            append(&dir, "a", &Event::new(EventKind::ToolDone, 100 + i)).unwrap();
        }
        let all = read_since(&dir, "a", 0);
        assert_eq!(all.last().map(|e| e.at_ms), Some(3099));
        let size = |n: &str| dir.file_stat(n).unwrap().map_or(0, |(s, _)| s);
        assert!(size("a.log") <= MAX_LOG_BYTES + 100 && size("a.log.1") <= MAX_LOG_BYTES + 100);
        // Garbage lines are skipped.
        dir.append_nosync("a.log", b"not json\n{\"t\":1}\n").unwrap();
        assert_eq!(read_since(&dir, "a", 3099).len(), 1);
        clear(&dir, "a");
        assert!(read_since(&dir, "a", 0).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
