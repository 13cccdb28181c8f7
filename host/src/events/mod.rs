//! Worker events: what a worker CLI reports about itself through its own hooks (Claude Code's
//! and Gemini CLI's settings hooks, Codex's hooks and `notify`), kept as an allowlist of words
//! and numbers in a bounded private log per agent.
//!
//! ```text
//! R/events/      0700
//! R/events/A.log      one JSON line per event, rotated to A.log.1 past MAX_LOG_BYTES
//! ```
//!
//! An [`Event`] holds an event word, its time, a digest of the CLI's turn id, and where the CLI
//! says so an error kind, a notification kind, a tool category and usage windows. Prompts,
//! answers, tool arguments, paths and transcript paths never reach it: the hook subcommand maps
//! the CLI's JSON into these fields and drops the rest. [`fold`] turns a run's events into an
//! [`EventView`] that status reads before the screen.

use serde::{Deserialize, Serialize};

use crate::fsafe::{Dir, FsError};
use crate::wire::wire_enum;

pub mod log;

wire_enum!(
    /// What happened.
    EventKind {
        /// The CLI started a session (it is up; its screen may still be drawing).
        SessionStart => "session_start",
        /// The CLI took a prompt: a turn started.
        PromptSubmitted => "prompt_submitted",
        /// The turn ended normally.
        TurnEnded => "turn_ended",
        /// The turn ended on an error (rate limit, overload, billing, …).
        TurnFailed => "turn_failed",
        /// The CLI waits for a permission or approval answer.
        PermissionWait => "permission_wait",
        /// A tool finished (a permission wait, if any, is over).
        ToolDone => "tool_done",
        /// The CLI says it waits for input.
        IdlePrompt => "idle_prompt",
        /// A usage snapshot (the windows carry the numbers).
        Usage => "usage",
        /// The turn was interrupted.
        Interrupted => "interrupted",
        SessionEnd => "session_end",
    }
);

wire_enum!(
    /// Why a turn failed, as the CLI classifies it.
    FailureKind {
        RateLimit => "rate_limit",
        /// A usage or plan limit (the windows say which).
        UsageLimit => "usage_limit",
        Overloaded => "overloaded",
        /// The server failed (5xx other than overload).
        ServerError => "server_error",
        Billing => "billing",
        Auth => "auth",
        /// The prompt or conversation does not fit the context window.
        Context => "context",
        InvalidRequest => "invalid_request",
        Network => "network",
        Other => "other",
    }
);

wire_enum!(
    /// A notification's kind.
    NotificationKind { PermissionPrompt => "permission_prompt", IdlePrompt => "idle_prompt", Other => "other" }
);

wire_enum!(
    /// A tool's category (never its arguments).
    ToolCategory { Shell => "shell", Edit => "edit", Read => "read", Web => "web", Mcp => "mcp", Agent => "agent", Other => "other" }
);

wire_enum!(
    /// A usage window.
    UsageWindow { FiveHour => "5h", Daily => "daily", Weekly => "weekly", Monthly => "monthly", Other => "other" }
);

impl UsageWindow {
    /// The window a CLI names in minutes (Codex's `window_minutes`).
    pub fn from_minutes(minutes: u64) -> UsageWindow {
        match minutes {
            300 => UsageWindow::FiveHour,
            1440 => UsageWindow::Daily,
            10_080 => UsageWindow::Weekly,
            40_320..=44_640 => UsageWindow::Monthly,
            _ => UsageWindow::Other,
        }
    }
}

/// One usage window's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(rename = "w")]
    pub window: UsageWindow,
    /// Percent used, 0–100.
    #[serde(rename = "p")]
    pub used_percent: u8,
    /// When the window resets (epoch seconds).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
}

/// Most usage windows one event keeps.
pub const MAX_USAGE_WINDOWS: usize = 4;

/// One event, as stored: words and numbers only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Epoch milliseconds when the hook ran.
    #[serde(rename = "t")]
    pub at_ms: u64,
    #[serde(rename = "k")]
    pub kind: EventKind,
    /// The first 12 hex digits of the SHA-256 of the CLI's turn (or prompt) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<String>,
    #[serde(rename = "err", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub failure: Option<FailureKind>,
    #[serde(rename = "note", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub notification: Option<NotificationKind>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub tool: Option<ToolCategory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<Usage>,
}

/// An optional word that reads as `None` when it is not one we know (a newer writer).
fn lenient<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<T>::deserialize(d).ok().flatten())
}

impl Event {
    pub fn new(kind: EventKind, at_ms: u64) -> Event {
        Event { at_ms, kind, turn: None, failure: None, notification: None, tool: None, usage: Vec::new() }
    }
}

/// A digest of a CLI's turn id: enough to tell turns apart, nothing to read back.
pub fn turn_digest(id: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(id.as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Where the worker is in its turn, by its own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The session started; no turn yet.
    Ready,
    /// A prompt was taken and the turn has not ended.
    Working,
    /// The CLI waits for a permission answer.
    Permission,
    /// The last turn ended normally (or the CLI said it waits for input).
    Ended,
    /// The last turn ended on an error.
    Failed(FailureKind),
    /// The session ended.
    Closed,
}

/// A run's events, folded: what the CLI last said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    /// Events of this run.
    pub received: u32,
    /// The phase, and when it began (epoch ms); `None` before any phase event.
    pub phase: Option<(Phase, u64)>,
    /// The newest event's time.
    pub last_at_ms: u64,
    /// The session-start event was seen.
    pub session_started: bool,
    /// When the newest session-start event came.
    pub session_started_at_ms: Option<u64>,
    /// The newest prompt-submitted event's time.
    pub last_prompt_at_ms: Option<u64>,
    /// The newest usage snapshot, and when it came.
    pub usage: Option<(Vec<Usage>, u64)>,
    /// The newest failed turn's kind, and when it failed.
    pub last_failure: Option<(FailureKind, u64)>,
}

impl EventView {
    /// The highest used percent of the newest snapshot.
    pub fn max_used_percent(&self) -> Option<(Usage, u64)> {
        let (windows, at) = self.usage.as_ref()?;
        windows.iter().max_by_key(|u| u.used_percent).map(|u| (*u, *at))
    }
}

/// Folds a run's events (oldest first) into what the CLI last said.
pub fn fold(events: &[Event]) -> Option<EventView> {
    let mut view = EventView {
        received: 0,
        phase: None,
        last_at_ms: 0,
        session_started: false,
        session_started_at_ms: None,
        last_prompt_at_ms: None,
        usage: None,
        last_failure: None,
    };
    for e in events {
        view.received += 1;
        view.last_at_ms = view.last_at_ms.max(e.at_ms);
        if !e.usage.is_empty() {
            view.usage = Some((e.usage.clone(), e.at_ms));
        }
        let phase = match e.kind {
            EventKind::SessionStart => {
                view.session_started = true;
                view.session_started_at_ms = Some(e.at_ms);
                // A session start after a turn (Codex resumes, Claude's /clear) opens no turn.
                Some(view.phase.map_or(Phase::Ready, |(p, _)| if p == Phase::Closed { Phase::Ready } else { p }))
            }
            EventKind::PromptSubmitted => {
                view.last_prompt_at_ms = Some(e.at_ms);
                Some(Phase::Working)
            }
            EventKind::TurnEnded | EventKind::Interrupted => Some(Phase::Ended),
            EventKind::TurnFailed => {
                let kind = e.failure.unwrap_or(FailureKind::Other);
                view.last_failure = Some((kind, e.at_ms));
                Some(Phase::Failed(kind))
            }
            EventKind::PermissionWait => Some(Phase::Permission),
            // A tool that finished means the turn goes on (a permission wait is over).
            EventKind::ToolDone => match view.phase {
                Some((Phase::Permission | Phase::Working, _)) => Some(Phase::Working),
                _ => None,
            },
            EventKind::IdlePrompt => match view.phase {
                Some((Phase::Failed(_), _)) => None,
                _ => Some(Phase::Ended),
            },
            EventKind::Usage => None,
            EventKind::SessionEnd => Some(Phase::Closed),
        };
        if let Some(p) = phase {
            if view.phase.map(|(old, _)| old) != Some(p) {
                view.phase = Some((p, e.at_ms));
            }
        }
    }
    (view.received > 0).then_some(view)
}

/// Opens (creating) `R/events`.
pub fn dir(root: &Dir) -> Result<Dir, FsError> {
    root.subdir_private("events")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, at: u64) -> Event {
        Event::new(kind, at)
    }

    #[test]
    fn a_turn_folds_into_phases() {
        assert_eq!(fold(&[]), None);
        let mut events = vec![ev(EventKind::SessionStart, 1), ev(EventKind::PromptSubmitted, 2)];
        let v = fold(&events).unwrap();
        assert_eq!((v.phase, v.session_started, v.last_prompt_at_ms), (Some((Phase::Working, 2)), true, Some(2)));
        events.push(ev(EventKind::PermissionWait, 3));
        assert_eq!(fold(&events).unwrap().phase, Some((Phase::Permission, 3)));
        events.push(ev(EventKind::ToolDone, 4));
        assert_eq!(fold(&events).unwrap().phase, Some((Phase::Working, 4)));
        events.push(Event { failure: Some(FailureKind::RateLimit), ..ev(EventKind::TurnFailed, 5) });
        assert_eq!(fold(&events).unwrap().phase, Some((Phase::Failed(FailureKind::RateLimit), 5)));
        // Claude says it waits for input after a failed turn: the failure stands.
        events.push(ev(EventKind::IdlePrompt, 6));
        assert_eq!(fold(&events).unwrap().phase, Some((Phase::Failed(FailureKind::RateLimit), 5)));
        events.push(ev(EventKind::PromptSubmitted, 7));
        events.push(ev(EventKind::TurnEnded, 8));
        events.push(Event {
            usage: vec![Usage { window: UsageWindow::FiveHour, used_percent: 92, resets_at: Some(99) }],
            ..ev(EventKind::Usage, 9)
        });
        let v = fold(&events).unwrap();
        assert_eq!((v.phase, v.received, v.last_at_ms), (Some((Phase::Ended, 8)), 9, 9));
        assert_eq!(v.max_used_percent().map(|(u, at)| (u.used_percent, at)), Some((92, 9)));
    }

    #[test]
    fn events_are_words_and_numbers_on_the_wire() {
        let e = Event {
            turn: Some(turn_digest("turn-1")),
            failure: Some(FailureKind::Overloaded),
            tool: Some(ToolCategory::Shell),
            ..ev(EventKind::TurnFailed, 1_700_000_000_000)
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(line, format!("{{\"t\":1700000000000,\"k\":\"turn_failed\",\"turn\":\"{}\",\"err\":\"overloaded\",\"tool\":\"shell\"}}", turn_digest("turn-1")));
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        // A word a newer writer knows and we do not: the field reads as none, the event stays.
        let newer: Event = serde_json::from_str("{\"t\":1,\"k\":\"turn_failed\",\"err\":\"quantum\"}").unwrap();
        assert_eq!((newer.kind, newer.failure), (EventKind::TurnFailed, None));
        assert_eq!(turn_digest("x").len(), 12);
        assert_eq!(UsageWindow::from_minutes(10_080), UsageWindow::Weekly);
    }
}
