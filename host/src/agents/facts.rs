//! One agent's facts from two sources: its CLI's own events first, the screen second.
//!
//! Events are exact at the moments they report (a prompt taken, a turn ended or failed, a
//! permission wait), and the screen lags them by a redraw. The screen sees what no event
//! covers (a trust dialog, a limit printed without a failed turn, a turn the hooks missed). So:
//! - a dialog on screen always counts (events know only permission waits);
//! - a limit counts from either source, with the event's kind, window and reset first;
//! - otherwise the event's phase decides, unless the screen has said otherwise for longer than
//!   [`GRACE_MS`] since the newest event: then the screen wins and the two disagree;
//! - a worker whose hooks are installed is never `idle` before its CLI said its session
//!   started, while the run is young ([`STARTING_MS`]).
//!
//! [`fuse`] is pure: status, waits and receipts call it with what they read.

use super::AgentState;
use crate::events::{EventView, FailureKind, Phase, UsageWindow};
use crate::ext::types::limits::{ClassifyOutput, DialogKind, LimitKind, LimitWindow, ModelSource, Severity, TuiState};

/// How long the screen may disagree with the newest event before the screen wins.
pub const GRACE_MS: u64 = 10_000;
/// How long a prompt just taken stands against a limit on screen (the last turn's error may
/// still be drawn).
pub const LIMIT_GRACE_MS: u64 = 2_000;
/// How long a permission wait by the events stands against a screen without a dialog.
pub const PERMISSION_GRACE_MS: u64 = 3_000;
/// How long a run with hooks waits for its session-start event before the screen alone says
/// it is ready.
pub const STARTING_MS: u64 = 30_000;

crate::wire::wire_enum!(
    /// Where a fact came from.
    Source { Event => "event", Screen => "screen", Tmux => "tmux" }
);

/// What the two sources are given.
pub struct Inputs<'a> {
    pub running: bool,
    pub dead: bool,
    /// The screen classifier's reading (`None`: it failed).
    pub screen: Option<&'a ClassifyOutput>,
    /// The run's events (`None`: none yet).
    pub events: Option<&'a EventView>,
    /// Hooks are installed for this run, so events are expected.
    pub hooks: bool,
    /// When the run started (epoch ms).
    pub started_ms: u64,
    pub now_ms: u64,
    /// The percent of a usage window at which a worker is near its limit.
    pub near_limit_percent: u8,
}

/// The agent's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub state: AgentState,
    pub state_source: Source,
    /// The classification with the events' limit and usage merged in.
    pub limit: Option<ClassifyOutput>,
    pub limit_source: Option<Source>,
    /// Facts on which the two sources disagree (a count, never text).
    pub disagreements: u32,
    /// A usage window the CLI reports is at or past the near-limit percent.
    pub near_limit: bool,
}

/// What the events say the state is, and since when.
fn event_state(view: &EventView) -> Option<(AgentState, u64)> {
    let (phase, at) = view.phase?;
    let state = match phase {
        Phase::Ready | Phase::Ended => AgentState::Idle,
        Phase::Working => AgentState::Working,
        Phase::Permission => AgentState::Dialog,
        Phase::Failed(f) if limit_kind(f).is_some() => AgentState::Limited,
        Phase::Failed(_) => AgentState::Idle,
        Phase::Closed => return None,
    };
    Some((state, at))
}

/// The limit a failed turn means (auth, invalid requests and the like are no limit).
fn limit_kind(f: FailureKind) -> Option<LimitKind> {
    Some(match f {
        FailureKind::RateLimit => LimitKind::Rate,
        FailureKind::UsageLimit => LimitKind::Usage,
        FailureKind::Overloaded | FailureKind::ServerError => LimitKind::Capacity,
        FailureKind::Billing => LimitKind::Credits,
        FailureKind::Context => LimitKind::Context,
        FailureKind::Network => LimitKind::Network,
        FailureKind::Auth | FailureKind::InvalidRequest | FailureKind::Other => return None,
    })
}

fn window(w: UsageWindow) -> LimitWindow {
    match w {
        UsageWindow::FiveHour => LimitWindow::FiveHour,
        UsageWindow::Daily => LimitWindow::Daily,
        UsageWindow::Weekly => LimitWindow::Weekly,
        UsageWindow::Monthly => LimitWindow::Monthly,
        UsageWindow::Other => LimitWindow::Unknown,
    }
}

/// The classification of a pane with nothing on it to read (gone, dead): no limit, the model
/// the session was started with.
pub fn quiet(tui: TuiState, session_model: Option<String>) -> ClassifyOutput {
    let model_source = if session_model.is_some() { ModelSource::Session } else { ModelSource::Unknown };
    ClassifyOutput { model: session_model, model_source, ..calm(tui) }
}

/// A calm classification for an agent whose screen could not be classified.
fn calm(tui: TuiState) -> ClassifyOutput {
    ClassifyOutput {
        severity: Severity::None,
        kind: LimitKind::None,
        window: LimitWindow::None,
        reset_at_epoch_seconds: None,
        model_bucket: None,
        model: None,
        model_source: ModelSource::Unknown,
        used_percent: None,
        tui,
        blocks_input: false,
        dialog: DialogKind::None,
        rule: "none".into(),
    }
}

/// The limit the events report: a failed turn's kind, with the window and reset of a usage
/// window it exhausted; a reset the wall clock passed is no limit.
fn event_limit(view: &EventView, now_s: u64) -> Option<(LimitKind, LimitWindow, Option<u64>, Option<u8>)> {
    let (Phase::Failed(f), _) = view.phase? else { return None };
    let mut kind = limit_kind(f)?;
    let spent = view.max_used_percent().filter(|(u, _)| u.used_percent >= 100).map(|(u, _)| u);
    if kind == LimitKind::Rate && spent.is_some() {
        kind = LimitKind::Usage;
    }
    let (win, reset, pct) = match spent {
        Some(u) if matches!(kind, LimitKind::Usage) => (window(u.window), u.resets_at, Some(100)),
        _ if kind == LimitKind::Usage => (LimitWindow::Unknown, None, None),
        _ => (LimitWindow::None, None, None),
    };
    if reset.is_some_and(|r| r <= now_s) {
        return None;
    }
    Some((kind, win, reset, pct))
}

/// The event's limit over the screen's reading; whether the screen disagreed (it showed no
/// limit, and had time to draw one).
fn merge_event_limit(
    limit: &mut Option<ClassifyOutput>,
    (kind, win, reset, pct): (LimitKind, LimitWindow, Option<u64>, Option<u8>),
    screen_settled: bool,
) -> bool {
    let mut c = limit.clone().unwrap_or_else(|| calm(TuiState::Idle));
    let disagree = c.severity != Severity::Limited && screen_settled;
    c.severity = Severity::Limited;
    c.kind = kind;
    c.window = win;
    c.reset_at_epoch_seconds = reset.or(c.reset_at_epoch_seconds.filter(|_| c.kind == kind));
    c.used_percent = pct.or(c.used_percent);
    c.rule = "event-turn-failed".into();
    *limit = Some(c);
    disagree
}

/// The CLI's usage numbers over the screen's (which it drew from them); whether they now make
/// the warning.
fn merge_usage(limit: &mut Option<ClassifyOutput>, u: crate::events::Usage, near_limit: bool) -> bool {
    let c = limit.get_or_insert_with(|| calm(TuiState::Idle));
    let screen_warns = c.severity == Severity::Warning && c.kind == LimitKind::Usage;
    let warns = near_limit && (c.severity == Severity::None || screen_warns);
    if warns {
        c.severity = Severity::Warning;
        c.kind = LimitKind::Usage;
        c.window = window(u.window);
        c.reset_at_epoch_seconds = u.resets_at.or(c.reset_at_epoch_seconds.filter(|_| screen_warns));
        c.rule = "event-usage".into();
    }
    if c.severity != Severity::Limited || c.kind == LimitKind::Usage {
        c.used_percent = Some(u.used_percent);
    }
    warns
}

/// When events and screen name different states: whether they disagree (counted), and whether
/// the screen's state wins.
fn reconcile(i: &Inputs<'_>, view: &EventView, state: AgentState, screen_state: AgentState) -> (bool, bool) {
    // A permission answered "no" reports nothing: the screen, which always draws a permission
    // dialog, takes over sooner.
    let grace = if state == AgentState::Dialog { PERMISSION_GRACE_MS } else { GRACE_MS };
    let settled = i.now_ms > view.last_at_ms + grace;
    // A limit on screen while a prompt was just taken may be the last turn's error, still
    // drawn: it counts once the screen has had time to draw the new turn.
    let phase_at = view.phase.map_or(0, |(_, at)| at);
    let phase_age = i.now_ms.saturating_sub(phase_at);
    // The screen's limit is the kind the turn before this one failed on: most likely that
    // turn's error, still drawn, so it needs the longer grace.
    let screen_kind = i.screen.map(|c| c.kind);
    let old_error = view.last_failure.is_some_and(|(f, at)| at < phase_at && limit_kind(f) == screen_kind);
    let screen_wins = match (state, screen_state) {
        // A dialog the events do not know: the screen's.
        (_, AgentState::Dialog) => true,
        (AgentState::Working, AgentState::Limited) => phase_age >= if old_error { GRACE_MS } else { LIMIT_GRACE_MS },
        (_, AgentState::Limited) => true,
        (AgentState::Limited, _) => false,
        _ => settled,
    };
    let idle_pair = state.turn_over() && screen_state.turn_over();
    (!idle_pair && (settled || screen_wins), screen_wins && !idle_pair)
}

/// The state once the limit is known: a limit limits (unless a dialog holds the screen), a
/// warning marks an idle agent, and a hooked CLI is not idle before it said its session started
/// while the run is young.
fn settle(
    i: &Inputs<'_>,
    view: &EventView,
    (mut state, mut source): (AgentState, Source),
    (limited, warned): (bool, bool),
    limit_source: Option<Source>,
) -> (AgentState, Source) {
    if limited && state != AgentState::Dialog {
        state = AgentState::Limited;
        source = limit_source.unwrap_or(source);
    } else if state == AgentState::Idle && warned {
        state = AgentState::Warned;
    } else if state == AgentState::Limited && !limited {
        state = AgentState::Idle;
    }
    let young = i.now_ms.saturating_sub(i.started_ms) < STARTING_MS;
    if i.hooks && young && !view.session_started && state.turn_over() && view.last_prompt_at_ms.is_none() {
        state = AgentState::Unknown;
    }
    (state, source)
}

/// The facts of one agent.
pub fn fuse(i: &Inputs<'_>) -> Facts {
    let none = |state, source| Facts {
        state,
        state_source: source,
        limit: i.screen.cloned(),
        limit_source: None,
        disagreements: 0,
        near_limit: false,
    };
    if !i.running {
        return none(AgentState::NotRunning, Source::Tmux);
    }
    if i.dead {
        return none(AgentState::Exited, Source::Tmux);
    }
    let screen_state = AgentState::from_screen(true, false, i.screen);
    let mut limit = i.screen.cloned();
    let mut limit_source = limit.as_ref().filter(|c| c.severity != Severity::None).map(|_| Source::Screen);
    let mut disagreements = 0;
    let Some(view) = i.events else {
        // No event yet: the screen alone, but not idle while a hooked CLI may still be drawing.
        let young = i.now_ms.saturating_sub(i.started_ms) < STARTING_MS;
        let state = if i.hooks && young && screen_state.turn_over() { AgentState::Unknown } else { screen_state };
        return Facts { state, state_source: Source::Screen, limit, limit_source, disagreements, near_limit: false };
    };
    let now_s = i.now_ms / 1000;
    // The limit: the event's, else the screen's.
    let ev_limit = event_limit(view, now_s);
    if let Some(l) = ev_limit {
        let settled = screen_state != AgentState::Unknown && i.now_ms > view.last_at_ms + GRACE_MS;
        disagreements += u32::from(merge_event_limit(&mut limit, l, settled));
        limit_source = Some(Source::Event);
    }
    // Usage before the limit: the CLI's own numbers.
    let usage = view.max_used_percent().map(|(u, _)| u).filter(|u| u.resets_at.is_none_or(|r| r > now_s));
    let near_limit = usage.is_some_and(|u| u.used_percent >= i.near_limit_percent);
    if let (Some(u), None) = (usage, ev_limit) {
        if merge_usage(&mut limit, u, near_limit) {
            limit_source = Some(Source::Event);
        }
    }
    let mut limited = limit.as_ref().is_some_and(|c| c.severity == Severity::Limited);
    let warned = limit.as_ref().is_some_and(|c| c.severity == Severity::Warning);
    let (mut state, mut source) = match event_state(view) {
        Some((s, _)) if ev_limit.is_none() && s == AgentState::Limited => (AgentState::Idle, Source::Event),
        Some((s, _)) => (s, Source::Event),
        None => (screen_state, Source::Screen),
    };
    if source == Source::Event && screen_state != AgentState::Unknown && screen_state != state {
        let (disagree, screen_wins) = reconcile(i, view, state, screen_state);
        disagreements += u32::from(disagree);
        if screen_wins {
            state = screen_state;
            source = Source::Screen;
        } else if screen_state == AgentState::Limited && ev_limit.is_none() {
            // The screen's limit is judged stale: it limits nothing yet.
            limited = false;
            if let Some(c) = limit.as_mut() {
                c.severity = Severity::None;
                c.kind = LimitKind::None;
                c.window = LimitWindow::None;
                c.reset_at_epoch_seconds = None;
            }
            limit_source = None;
        }
    }
    let (state, source) = settle(i, view, (state, source), (limited, warned), limit_source);
    Facts { state, state_source: source, limit, limit_source, disagreements, near_limit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{fold, Event, EventKind, Usage};

    fn screen(tui: TuiState, severity: Severity, kind: LimitKind) -> ClassifyOutput {
        ClassifyOutput { severity, kind, ..calm(tui) }
    }

    fn inputs<'a>(screen: Option<&'a ClassifyOutput>, events: Option<&'a EventView>, now_ms: u64) -> Inputs<'a> {
        Inputs {
            running: true,
            dead: false,
            screen,
            events,
            hooks: true,
            started_ms: 0,
            now_ms,
            near_limit_percent: 90,
        }
    }

    fn view(events: &[(EventKind, u64)]) -> EventView {
        fold(&events.iter().map(|(k, t)| Event::new(*k, *t)).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_event_decides_while_the_screen_lags() {
        let idle = screen(TuiState::Idle, Severity::None, LimitKind::None);
        let working = view(&[(EventKind::SessionStart, 1_000), (EventKind::PromptSubmitted, 40_000)]);
        // The prompt was taken a moment ago; the screen still shows the composer.
        let f = fuse(&inputs(Some(&idle), Some(&working), 41_000));
        assert_eq!((f.state, f.state_source, f.disagreements), (AgentState::Working, Source::Event, 0));
        // Long after, the screen still says idle (a turn the hooks did not see end): the screen.
        let f = fuse(&inputs(Some(&idle), Some(&working), 60_000));
        assert_eq!((f.state, f.state_source, f.disagreements), (AgentState::Idle, Source::Screen, 1));
        // A dialog on screen always counts.
        let dialog =
            ClassifyOutput { dialog: DialogKind::Trust, ..screen(TuiState::Dialog, Severity::None, LimitKind::None) };
        assert_eq!(fuse(&inputs(Some(&dialog), Some(&working), 41_000)).state, AgentState::Dialog);
    }

    #[test]
    fn a_failed_turn_is_a_limit_with_the_usage_window() {
        let idle = screen(TuiState::Idle, Severity::None, LimitKind::None);
        let mut events = vec![Event::new(EventKind::PromptSubmitted, 1_000)];
        events.push(Event {
            usage: vec![Usage { window: UsageWindow::FiveHour, used_percent: 100, resets_at: Some(9_000) }],
            ..Event::new(EventKind::Usage, 1_500)
        });
        events.push(Event { failure: Some(FailureKind::RateLimit), ..Event::new(EventKind::TurnFailed, 2_000) });
        let v = fold(&events).unwrap();
        let f = fuse(&inputs(Some(&idle), Some(&v), 3_000));
        let c = f.limit.unwrap();
        assert_eq!(
            (f.state, f.state_source, f.limit_source),
            (AgentState::Limited, Source::Event, Some(Source::Event))
        );
        assert_eq!(
            (c.kind, c.window, c.reset_at_epoch_seconds),
            (LimitKind::Usage, LimitWindow::FiveHour, Some(9_000))
        );
        // Past its reset, the limit is over.
        assert_eq!(fuse(&inputs(Some(&idle), Some(&v), 9_000_000)).state, AgentState::Idle);
        // An overload without usage numbers: capacity, no window.
        let v = view(&[(EventKind::PromptSubmitted, 1_000)]);
        let mut e = vec![Event::new(EventKind::PromptSubmitted, 1_000)];
        e.push(Event { failure: Some(FailureKind::Overloaded), ..Event::new(EventKind::TurnFailed, 2_000) });
        let f = fuse(&inputs(Some(&idle), fold(&e).as_ref(), 3_000));
        assert_eq!(f.limit.map(|c| c.kind), Some(LimitKind::Capacity));
        assert_eq!(fuse(&inputs(Some(&idle), Some(&v), 3_000)).state, AgentState::Working);
    }

    #[test]
    fn the_last_turns_error_still_drawn_is_no_limit_of_the_new_turn() {
        let capacity = screen(TuiState::Idle, Severity::Limited, LimitKind::Capacity);
        let e = vec![
            Event::new(EventKind::PromptSubmitted, 1_000),
            Event { failure: Some(FailureKind::ServerError), ..Event::new(EventKind::TurnFailed, 1_500) },
            Event::new(EventKind::PromptSubmitted, 5_000),
        ];
        let v = fold(&e).unwrap();
        // The screen still shows the 503 of the turn before: the new turn is working.
        let f = fuse(&inputs(Some(&capacity), Some(&v), 8_000));
        assert_eq!((f.state, f.state_source), (AgentState::Working, Source::Event));
        // Long after, the screen's limit stands.
        assert_eq!(fuse(&inputs(Some(&capacity), Some(&v), 16_000)).state, AgentState::Limited);
        // Another kind of limit right after the prompt counts once the screen had its 2 s.
        let rate = screen(TuiState::Idle, Severity::Limited, LimitKind::Rate);
        assert_eq!(fuse(&inputs(Some(&rate), Some(&v), 6_000)).state, AgentState::Working);
        assert_eq!(fuse(&inputs(Some(&rate), Some(&v), 7_500)).state, AgentState::Limited);
    }

    #[test]
    fn usage_past_the_threshold_warns_an_idle_worker() {
        let idle = screen(TuiState::Idle, Severity::None, LimitKind::None);
        let e = vec![
            Event::new(EventKind::SessionStart, 500),
            Event::new(EventKind::PromptSubmitted, 1_000),
            Event::new(EventKind::TurnEnded, 2_000),
            Event {
                usage: vec![
                    Usage { window: UsageWindow::FiveHour, used_percent: 92, resets_at: Some(99_999) },
                    Usage { window: UsageWindow::Weekly, used_percent: 40, resets_at: None },
                ],
                ..Event::new(EventKind::Usage, 2_100)
            },
        ];
        let v = fold(&e).unwrap();
        let f = fuse(&inputs(Some(&idle), Some(&v), 3_000));
        let c = f.limit.unwrap();
        assert_eq!((f.state, f.near_limit), (AgentState::Warned, true));
        assert_eq!((c.severity, c.window, c.used_percent), (Severity::Warning, LimitWindow::FiveHour, Some(92)));
        // Below the threshold: the numbers, no warning.
        let f = fuse(&Inputs { near_limit_percent: 95, ..inputs(Some(&idle), Some(&v), 3_000) });
        assert_eq!((f.state, f.near_limit, f.limit.unwrap().used_percent), (AgentState::Idle, false, Some(92)));
    }

    #[test]
    fn never_idle_before_the_session_started() {
        let idle = screen(TuiState::Idle, Severity::None, LimitKind::None);
        let f = fuse(&inputs(Some(&idle), None, 5_000));
        assert_eq!(f.state, AgentState::Unknown);
        // Without hooks, or once the run is old, the screen alone says so.
        assert_eq!(fuse(&Inputs { hooks: false, ..inputs(Some(&idle), None, 5_000) }).state, AgentState::Idle);
        assert_eq!(fuse(&inputs(Some(&idle), None, STARTING_MS + 1)).state, AgentState::Idle);
        let started = view(&[(EventKind::SessionStart, 4_000)]);
        assert_eq!(fuse(&inputs(Some(&idle), Some(&started), 5_000)).state, AgentState::Idle);
        // Not running: tmux says so.
        let f = fuse(&Inputs { running: false, ..inputs(Some(&idle), Some(&started), 5_000) });
        assert_eq!((f.state, f.state_source), (AgentState::NotRunning, Source::Tmux));
    }
}
