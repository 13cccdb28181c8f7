//! One worker observed: its pane and raw log, its CLI's events, the classifier's reading of the
//! screen, its lease and the processes on its home, fused into an [`Observation`] (plain data;
//! no JSON, no text beyond the capture that receipts read).

use crate::agents::{facts, procs, AgentSpec, AgentState};
use crate::events;
use crate::ext::types::limits::{self, DialogKind, ModelSource};
use crate::ext::ExtError;
use crate::ext::Extensions;
use crate::lease::{self, Lease};
use crate::state::meta::{AgentMeta, MemoryCap};
use crate::state::State;
use crate::timefmt::now_epoch;
use crate::tmux::PaneInfo;
use crate::wire::wire_enum;

/// Raw log read per classification: the text since the last send, at most this much.
const SINCE_SEND_BYTES: u64 = 16 * 1024;
/// A worker whose raw log has not grown for this long is idle, as far as its output goes.
pub const IDLE_RESPONSE_SECONDS: f64 = 300.0;

wire_enum!(
    /// Where the reported model comes from.
    ModelOrigin { Config => "config", Screen => "screen", CliDefault => "cli_default" }
);

wire_enum!(
    /// Whether the worker answered, as far as its output shows.
    Response {
        BlockedByLimit => "blocked_by_limit",
        NotRunning => "not_running",
        Exited => "exited",
        WaitingOnDialog => "waiting_on_dialog",
        Working => "working",
        NoOutputObserved => "running_no_output_observed",
        Idle => "running_idle",
        RecentOutput => "running_recent_output",
    }
);

/// What one observation read from a worker's recorded run (none before its first start).
#[derive(Debug, Clone)]
pub struct Run {
    pub started_at_epoch: f64,
    /// (when, how many characters) of the last send.
    pub last_send: Option<(f64, usize)>,
    /// The last send's receipt (`None` before it was decided, or for an old record).
    pub last_receipt: Option<super::send::Receipt>,
    pub memory_cap: Option<MemoryCap>,
}

/// A worker, observed.
#[derive(Debug, Clone)]
pub struct Observation {
    pub agent: String,
    pub state: AgentState,
    pub state_source: facts::Source,
    /// A usage window the CLI reports is past the near-limit percent.
    pub near_limit: bool,
    /// The run's events, folded (`None`: no hooks, or none yet).
    pub events: Option<events::EventView>,
    /// Hooks were installed for this run.
    pub hooks: bool,
    /// Facts on which events and screen disagree.
    pub disagreements: u32,
    pub running: bool,
    /// Its host did not answer this observation (its state is then `unknown`).
    pub host_unreachable: bool,
    /// Its pane is kept but the process died.
    pub dead: bool,
    /// The dialog that holds the screen (`None` when there is none).
    pub dialog: DialogKind,
    pub dialog_blocks_input: bool,
    /// The classifier's reading (`None` when not running or the classifier failed).
    pub classified: Option<limits::ClassifyOutput>,
    /// Why the classifier gave no reading.
    pub classify_error: Option<ExtError>,
    pub limit_source: Option<facts::Source>,
    /// Raw-log size, for activity detection.
    pub log_bytes: Option<u64>,
    /// When the raw log last grew (epoch seconds).
    pub log_mtime: Option<f64>,
    /// Seconds since the raw log last grew.
    pub log_idle_seconds: Option<u64>,
    /// The model it runs: configured, or read off the screen.
    pub model: Option<String>,
    pub model_origin: ModelOrigin,
    pub reasoning_effort: Option<String>,
    pub response: Response,
    pub run: Option<Run>,
    pub lease: Lease,
    pub home_users: procs::HomeUsers,
    /// The classifier that read the screen: (name, sha256).
    pub classifier: (&'static str, String),
    /// The capture this observation classified (never returned; receipts read the composer
    /// from the same snapshot the classifier saw).
    pub pane: String,
}

impl Observation {
    /// The agent's process runs (its pane is alive).
    pub fn live(&self) -> bool {
        self.running && self.state != AgentState::Exited
    }
}

/// What the fleet's snapshot saw of one worker.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// Its pane (none: no session) and the capture of a live one.
    Pane(Option<&'a PaneInfo>, Option<&'a String>),
    /// Its host did not answer: nothing is known about its pane.
    HostUnreachable,
}

/// Observes one worker from its pane and capture (read by the caller, once per fleet tick) and
/// its metadata (`None`: there is none); `near_limit_percent` is the fleet's threshold for a
/// usage window. A worker whose host does not answer is `unknown` (never idle or stopped), with
/// its lease as it is.
pub fn observe_one(
    exts: &Extensions,
    state: &State,
    (spec, meta): (&AgentSpec, Option<&AgentMeta>),
    seen: Seen<'_>,
    home_users: procs::HomeUsers,
    near_limit_percent: u8,
) -> Observation {
    let mut o = observe_seen(exts, state, (spec, meta), seen, home_users, near_limit_percent);
    if matches!(seen, Seen::HostUnreachable) {
        o.host_unreachable = true;
        o.state = AgentState::Unknown;
        o.dialog = DialogKind::None;
        o.response = response_of(AgentState::Unknown, None);
    }
    o
}

fn observe_seen(
    exts: &Extensions,
    state: &State,
    (spec, meta): (&AgentSpec, Option<&AgentMeta>),
    seen: Seen<'_>,
    home_users: procs::HomeUsers,
    near_limit_percent: u8,
) -> Observation {
    let (pane, capture) = match seen {
        Seen::Pane(pane, capture) => (pane, capture),
        Seen::HostUnreachable => (None, None),
    };
    let running = pane.is_some();
    let dead = pane.is_some_and(|p| p.dead);
    // A host's raw log stays there: its worker is read from the screen.
    let (since, log_bytes, log_mtime) =
        meta.filter(|_| spec.place.is_local()).map_or((String::new(), None, None), |m| since_last_send(state, m));
    let now = now_epoch();
    // The model the agent was started with when its config named one; else the CLI's default,
    // which the classifier may read off the screen.
    let configured_model = meta.map_or_else(|| spec.model.clone(), |m| m.model.clone());
    let input = classify_input(spec, pane, capture, meta, since, &configured_model, log_mtime, now);
    let screen = read_screen(exts, spec, (running, dead), &input, now, &configured_model);
    // The CLI's own events first, the screen second.
    let hooks = meta.is_some_and(|m| m.hooks);
    let (view, facts) = fuse_events(state, spec, meta, (running, dead), screen.as_ref().ok(), now, near_limit_percent);
    let classified = match (screen, facts.limit.clone()) {
        (_, Some(c)) => Ok(c),
        (other, None) => other,
    };
    let dialog = dialog_of(classified.as_ref().ok(), running && !dead, facts.state);
    let (model, model_origin) = model_of(&configured_model, classified.as_ref().ok());
    let idle_seconds = log_mtime.map(|m| (now - m).max(0.0));
    let (classified, classify_error) = match classified {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    Observation {
        agent: spec.name.clone(),
        state: facts.state,
        state_source: facts.state_source,
        near_limit: facts.near_limit,
        events: view,
        hooks,
        disagreements: facts.disagreements,
        running,
        host_unreachable: false,
        dead,
        dialog,
        dialog_blocks_input: facts.state == AgentState::Dialog || classified.as_ref().is_some_and(|c| c.blocks_input),
        classified,
        classify_error,
        limit_source: facts.limit_source,
        log_bytes,
        log_mtime,
        log_idle_seconds: idle_seconds.map(|s| s as u64),
        model,
        model_origin,
        reasoning_effort: meta.map_or_else(|| spec.reasoning_effort.clone(), |m| m.model_reasoning_effort.clone()),
        response: response_of(facts.state, idle_seconds),
        run: meta.map(|m| Run {
            started_at_epoch: m.started_at_epoch,
            last_send: m.last_send.as_ref().map(|s| (s.at_epoch, s.chars)),
            last_receipt: m.last_send.as_ref().and_then(|s| super::send::Receipt::from_name(s.receipt.as_deref()?)),
            memory_cap: m.memory_cap,
        }),
        lease: lease::read(state, &spec.name),
        home_users,
        classifier: spec.classifier.identity(exts.settings()),
        pane: input.pane,
    }
}

/// The run's events (when its hooks report) fused with the screen's reading.
fn fuse_events(
    state: &State,
    spec: &AgentSpec,
    meta: Option<&AgentMeta>,
    (running, dead): (bool, bool),
    screen: Option<&limits::ClassifyOutput>,
    now: f64,
    near_limit_percent: u8,
) -> (Option<events::EventView>, facts::Facts) {
    let hooks = meta.is_some_and(|m| m.hooks);
    let started_ms = meta.map_or(0, |m| (m.started_at_epoch * 1000.0) as u64);
    let view = if hooks { events::fold(&events::log::read_since(&state.events, &spec.name, started_ms)) } else { None };
    let facts = facts::fuse(&facts::Inputs {
        running,
        dead,
        screen,
        events: view.as_ref(),
        hooks: hooks && spec.provider().session_start_at_launch(),
        started_ms,
        now_ms: (now * 1000.0) as u64,
        near_limit_percent,
    });
    (view, facts)
}

/// The dialog that holds a live screen: the classifier's, or a permission wait the CLI reported
/// before its screen shows it (a dialog that blocks input, answered by a person).
fn dialog_of(classified: Option<&limits::ClassifyOutput>, live: bool, state: AgentState) -> DialogKind {
    match (classified, live) {
        (Some(c), true) if c.dialog != DialogKind::None => c.dialog,
        (_, true) if state == AgentState::Dialog => DialogKind::Other,
        _ => DialogKind::None,
    }
}

/// The classifier's reading of a live pane (a limit whose reset has passed dropped); a pane
/// that is gone or dead has nothing to classify, and no component is loaded for it.
fn read_screen(
    exts: &Extensions,
    spec: &AgentSpec,
    (running, dead): (bool, bool),
    input: &limits::ClassifyInput,
    now: f64,
    configured_model: &Option<String>,
) -> Result<limits::ClassifyOutput, ExtError> {
    if running && !dead {
        return exts.classify_with(&spec.classifier, input).map(|c| drop_passed_limit(c, now, configured_model));
    }
    let tui = if dead { limits::TuiState::Exited } else { limits::TuiState::NotRunning };
    Ok(facts::quiet(tui, configured_model.clone()))
}

/// What the classifier is given: the capture, the text since the last send, and the clock and
/// zone its times are read in.
#[allow(clippy::too_many_arguments)]
fn classify_input(
    spec: &AgentSpec,
    pane: Option<&PaneInfo>,
    capture: Option<&String>,
    meta: Option<&AgentMeta>,
    since: String,
    configured_model: &Option<String>,
    log_mtime: Option<f64>,
    now: f64,
) -> limits::ClassifyInput {
    limits::ClassifyInput {
        pane: capture.cloned().unwrap_or_default(),
        since_last_send: since,
        last_sent: meta.and_then(|m| m.last_send.as_ref()).map(|s| s.text_head.clone()),
        pane_width: pane.map_or(80, |p| p.width),
        running: pane.is_some_and(|p| !p.dead),
        profile: spec.provider().screen().to_owned(),
        session_model: configured_model.clone(),
        assignment_model: None,
        // A reset time on screen ("try again at 3:05 PM", "in 2 hours") is read as of when it was
        // printed, which is when the raw log last grew; the wall clock then says whether it has
        // passed. Read as of now, "at 3:05 PM" would turn into tomorrow once 3:05 PM is past.
        now_epoch_seconds: log_mtime.map_or(now, |m| m.min(now)) as u64,
        // A time on screen is in the zone the CLI names ("resets 2:50am (America/Los_Angeles)"),
        // which need not be ours.
        utc_offset_seconds: screen_offset(capture.map_or("", String::as_str), now),
    }
}

/// The model reported, and where it comes from: configured, else a model word off the screen
/// (never a path or free text), else the CLI's default.
fn model_of(configured: &Option<String>, classified: Option<&limits::ClassifyOutput>) -> (Option<String>, ModelOrigin) {
    match (configured, classified) {
        (Some(m), _) => (Some(m.clone()), ModelOrigin::Config),
        (None, Some(c)) if c.model_source == ModelSource::StatusText => {
            (c.model.clone().filter(|m| crate::agents::valid_model_word(m)), ModelOrigin::Screen)
        }
        _ => (None, ModelOrigin::CliDefault),
    }
}

/// Whether the worker answered: its state first, then how long its output has been quiet.
pub fn response_of(state: AgentState, idle_seconds: Option<f64>) -> Response {
    match state {
        AgentState::Limited => Response::BlockedByLimit,
        AgentState::NotRunning => Response::NotRunning,
        AgentState::Exited => Response::Exited,
        AgentState::Dialog => Response::WaitingOnDialog,
        AgentState::Working => Response::Working,
        _ => match idle_seconds {
            None => Response::NoOutputObserved,
            Some(s) if s >= IDLE_RESPONSE_SECONDS => Response::Idle,
            Some(_) => Response::RecentOutput,
        },
    }
}

/// Reads what a classifier call needs from the raw log: the text since the last send.
fn since_last_send(state: &State, meta: &AgentMeta) -> (String, Option<u64>, Option<f64>) {
    let Ok(Some((size, mtime))) = state.raw.file_stat(&meta.raw_log) else { return (String::new(), None, None) };
    let from = meta.last_send.as_ref().map_or(0, |s| s.log_offset);
    // A rotated log is shorter than the offset: all of it is newer.
    let from = if from > size { 0 } else { from };
    let text = match state.raw.read_tail(&meta.raw_log, from, SINCE_SEND_BYTES) {
        Ok(Some((bytes, _))) => crate::text::strip_ansi(&String::from_utf8_lossy(&bytes)),
        _ => String::new(),
    };
    (text, Some(size), Some(mtime))
}

/// The offset of the zone a screen names after a time, else the server's own.
fn screen_offset(pane: &str, now: f64) -> i32 {
    crate::timefmt::zone::named_on_screen(pane).map_or_else(|| crate::timefmt::local_utc_offset(now as i64), |(_, o)| o)
}

/// A limit whose reset time the wall clock has passed no longer limits (what the classifiers do
/// themselves for the time they were given).
pub fn drop_passed_limit(
    mut c: limits::ClassifyOutput,
    now: f64,
    configured_model: &Option<String>,
) -> limits::ClassifyOutput {
    use limits::{LimitKind, LimitWindow, Severity};
    if c.severity != Severity::Limited || c.reset_at_epoch_seconds.is_none_or(|t| t as f64 > now) {
        return c;
    }
    c.severity = Severity::None;
    c.kind = LimitKind::None;
    c.window = LimitWindow::None;
    c.reset_at_epoch_seconds = None;
    c.model_bucket = None;
    c.used_percent = None;
    c.rule = limits::RESET_PASSED_RULE.to_owned();
    if c.model_source == ModelSource::LimitText {
        c.model = configured_model.clone();
        c.model_source = if c.model.is_some() { ModelSource::Session } else { ModelSource::Unknown };
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_follows_the_state_then_the_quiet_of_the_output() {
        assert_eq!(response_of(AgentState::Limited, Some(1.0)), Response::BlockedByLimit);
        assert_eq!(response_of(AgentState::Working, None), Response::Working);
        assert_eq!(response_of(AgentState::Idle, None), Response::NoOutputObserved);
        assert_eq!(response_of(AgentState::Idle, Some(IDLE_RESPONSE_SECONDS)), Response::Idle);
        assert_eq!(response_of(AgentState::Warned, Some(5.0)), Response::RecentOutput);
    }

    #[test]
    fn the_model_is_configured_else_a_model_word_off_the_screen() {
        let mut c = facts::quiet(limits::TuiState::Idle, None);
        c.model = Some("gpt-5.3-codex".into());
        c.model_source = ModelSource::StatusText;
        assert_eq!(model_of(&Some("o3".into()), Some(&c)), (Some("o3".into()), ModelOrigin::Config));
        assert_eq!(model_of(&None, Some(&c)), (Some("gpt-5.3-codex".into()), ModelOrigin::Screen));
        c.model = Some("/home/ada/model".into());
        assert_eq!(model_of(&None, Some(&c)).0, None, "a path is no model word");
        assert_eq!(model_of(&None, None), (None, ModelOrigin::CliDefault));
    }

    #[test]
    fn a_limit_whose_reset_the_wall_clock_passed_no_longer_limits() {
        use limits::{LimitKind, LimitWindow, Severity, TuiState};
        let limited = limits::ClassifyOutput {
            severity: Severity::Limited,
            kind: LimitKind::Usage,
            window: LimitWindow::FiveHour,
            reset_at_epoch_seconds: Some(1_000),
            model_bucket: Some("gpt-5.3-codex-spark".into()),
            model: Some("gpt-5.3-codex-spark".into()),
            model_source: ModelSource::LimitText,
            used_percent: Some(100),
            tui: TuiState::Idle,
            blocks_input: false,
            dialog: DialogKind::None,
            rule: "usage-limit".into(),
        };
        assert_eq!(drop_passed_limit(limited.clone(), 999.0, &None), limited, "not yet");
        let passed = drop_passed_limit(limited.clone(), 1_000.0, &Some("m".into()));
        assert_eq!(
            (passed.severity, passed.kind, passed.reset_at_epoch_seconds, passed.rule.as_str()),
            (Severity::None, LimitKind::None, None, limits::RESET_PASSED_RULE)
        );
        assert_eq!(
            (passed.model.as_deref(), passed.model_source, passed.model_bucket),
            (Some("m"), ModelSource::Session, None)
        );
        // A limit without a reset time stays.
        let open_ended = limits::ClassifyOutput { reset_at_epoch_seconds: None, ..limited };
        assert_eq!(drop_passed_limit(open_ended.clone(), 5_000.0, &None), open_ended);
    }
}
