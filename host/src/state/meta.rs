//! Per-agent metadata (`R/meta/<agent>.json`): what the last start recorded, and the last send.
//!
//! Private state: it holds paths and the head of the last sent text (the classifier uses it to
//! tell our own echo from the agent's output). No tool serializes it; responses pick fields.

use serde::{Deserialize, Serialize};

use super::{State, MAX_META_BYTES};
use crate::fsafe::FsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    ReportRequested,
    Answered,
    Escalated,
}

/// The watchdog's record of a report request, stored in the agent's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub phase: Phase,
    pub requested_at_epoch: f64,
    /// Raw-log size right after the request was delivered (its echo included).
    pub log_bytes_after_request: u64,
    pub planned_action: Action,
    #[serde(default)]
    pub assignment_id: Option<String>,
    #[serde(default)]
    pub settled_at_epoch: Option<f64>,
}

/// What follows an unanswered report request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Interrupt,
    Stop,
    Release,
    None,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Interrupt, Action::Stop, Action::Release, Action::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Interrupt => "interrupt",
            Action::Stop => "stop",
            Action::Release => "release",
            Action::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// How a worker's configured memory cap was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryCap {
    /// In its own `systemd-run --user --scope` with `MemoryMax`.
    SystemdScope,
    /// No user systemd here: it runs as any other worker.
    Unavailable,
}

impl MemoryCap {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryCap::SystemdScope => "systemd_scope",
            MemoryCap::Unavailable => "unavailable",
        }
    }
}

/// The head of a sent text kept for echo detection.
pub const SENT_HEAD_CHARS: usize = 2000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LastSend {
    pub at_epoch: f64,
    pub chars: usize,
    /// Raw-log size when the text was sent: output after it is "since the last send".
    pub log_offset: u64,
    pub text_head: String,
    /// The send's receipt word, once the watch after Enter decided it.
    #[serde(default)]
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AgentMeta {
    pub agent: String,
    pub profile: String,
    pub session: String,
    pub cwd: String,
    /// The model the config named at start (`None`: the CLI's own default).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub model_reasoning_effort: Option<String>,
    pub started_at_epoch: f64,
    pub run_id: String,
    /// File name of the active raw log inside `R/raw/`.
    pub raw_log: String,
    #[serde(default)]
    pub last_send: Option<LastSend>,
    /// The watchdog's marker: counters and times only, never text.
    #[serde(default)]
    pub watchdog: Option<Marker>,
    /// The newest assignment sent to this run (quoted in the watchdog's report request).
    #[serde(default)]
    pub last_assignment_id: Option<String>,
    /// `None` when the config sets no cap.
    #[serde(default)]
    pub memory_cap: Option<MemoryCap>,
    /// The limit (kind and reset time) the watchdog already sent a continue prompt for: never
    /// twice for one limit.
    #[serde(default)]
    pub resumed_limit: Option<String>,
    /// Whether this run's CLI reports its events through our hooks (installed at start).
    #[serde(default)]
    pub hooks: bool,
}

fn file_name(agent: &str) -> String {
    format!("{agent}.json")
}

impl State {
    /// The agent's metadata; `Ok(None)` when there is none, an error when it is unreadable.
    pub fn read_meta(&self, agent: &str) -> Result<Option<AgentMeta>, FsError> {
        match self.meta.read_text_bounded(&file_name(agent), MAX_META_BYTES)? {
            None => Ok(None),
            Some(text) => Ok(serde_json::from_str::<AgentMeta>(&text)
                .ok()
                .filter(|m| m.agent == agent && valid_raw_log_name(&m.raw_log))
                .map(|mut m| {
                    // Fields that come back out in status are re-checked: a tampered file yields none.
                    let word = |w: Option<String>| w.filter(|w| crate::text::valid_model_word(w));
                    m.model = word(m.model.take());
                    m.model_reasoning_effort = word(m.model_reasoning_effort.take());
                    m.last_assignment_id =
                        m.last_assignment_id.take().filter(|id| super::ledger::valid_assignment_id(id));
                    m
                })),
        }
    }

    pub fn write_meta(&self, meta: &AgentMeta) -> Result<(), FsError> {
        let bytes = serde_json::to_vec_pretty(meta).expect("metadata serialises");
        self.meta.replace_atomic(&file_name(&meta.agent), &bytes)
    }
}

/// A raw-log file name we create: `<run id>.log`, nothing that could leave the raw dir.
pub fn valid_raw_log_name(name: &str) -> bool {
    (5..=120).contains(&name.len())
        && name.ends_with(".log")
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
