//! What a send's receipt says, decided from what each observation after Enter shows: a pure
//! planner ([`Watch`]) that the typing loop feeds, so the rules of a receipt are tested
//! without tmux.

use std::time::Duration;

use crate::agents::AgentState;
use crate::events::{EventView, Phase};
use crate::wire::wire_enum;

/// How long a started turn is watched for a limit or a dialog that ends it at once (a 429
/// arrives within this on a fast link).
pub const SETTLE: Duration = Duration::from_millis(1200);

/// A CLI that swallows an Enter right after a paste (Gemini, on a loaded machine even after its
/// pause) gets one more Enter when our text still sits in its composer this long after the first.
pub const ENTER_AGAIN_AFTER: Duration = Duration::from_millis(1500);

wire_enum!(
    /// What a send's receipt says happened.
    Receipt {
        /// Typed without Enter.
        Typed => "typed",
        TurnStarted => "turn_started",
        SubmittedNoTurnStarted => "submitted_no_turn_started",
        BlockedByLimit => "blocked_by_limit",
        WaitingOnDialog => "waiting_on_dialog",
        Exited => "exited",
    }
);

/// What the watch after typing saw (the text was typed by then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub submitted: bool,
    pub receipt: Receipt,
    pub state: AgentState,
    /// The raw log's size when the turn was first seen started: growth past it is the answer.
    pub log_bytes_at_turn: Option<u64>,
}

/// One observation after Enter, as the watch needs it.
pub struct Seen<'a> {
    pub state: AgentState,
    /// The CLI's own events, when it reports them and some arrived this run.
    pub events: Option<&'a EventView>,
    pub log_bytes: Option<u64>,
    /// Our text still sits in the composer.
    pub composer_holds: bool,
    /// Output after the echo of our text: `Some(false)` while only the echo shows, `None` when
    /// the echo is not visible.
    pub echo: Option<bool>,
}

/// What the typing loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done(Delivery),
    /// Press Enter once more (the CLI swallowed the first).
    EnterAgain,
    Wait,
}

/// The watch after Enter: bounded by `confirm`, it ends on a turn that started (and settled),
/// a limit, a dialog or an exit.
pub struct Watch {
    confirm: Duration,
    entered_ms: u64,
    /// When (since Enter) a started turn was first seen, and the raw log's size then.
    turn_seen: Option<(Duration, Option<u64>)>,
    limited_once: bool,
    entered_again: bool,
    last_state: AgentState,
}

impl Watch {
    /// `enter_again` says whether this CLI may need a second Enter.
    pub fn new(confirm: Duration, entered_ms: u64, enter_again: bool) -> Watch {
        Watch {
            confirm,
            entered_ms,
            turn_seen: None,
            limited_once: false,
            entered_again: !enter_again,
            last_state: AgentState::Unknown,
        }
    }

    /// One observation (`None` when it failed) at `elapsed` since Enter.
    pub fn step(&mut self, seen: Option<Seen<'_>>, elapsed: Duration, now_ms: u64) -> Step {
        if let Some(seen) = seen {
            self.last_state = seen.state;
            // A CLI that reports its events says itself whether it took the prompt: the screen
            // never stands in for that (a swallowed send is no turn).
            let step = match seen.events {
                Some(events) => self.by_events(&seen, events, elapsed, now_ms),
                None => self.by_screen(&seen, elapsed),
            };
            if step != Step::Wait {
                return step;
            }
        }
        if elapsed >= self.confirm {
            let receipt = if self.turn_seen.is_some() { Receipt::TurnStarted } else { Receipt::SubmittedNoTurnStarted };
            return self.done(receipt, self.last_state, self.turn_seen.and_then(|t| t.1));
        }
        Step::Wait
    }

    fn done(&self, receipt: Receipt, state: AgentState, log_bytes_at_turn: Option<u64>) -> Step {
        Step::Done(Delivery { submitted: true, receipt, state, log_bytes_at_turn })
    }

    /// Enter once more when the text still sits in the composer a while after the first.
    fn maybe_enter_again(&mut self, seen: &Seen<'_>, elapsed: Duration) -> Step {
        if !self.entered_again && elapsed >= ENTER_AGAIN_AFTER && seen.composer_holds {
            self.entered_again = true;
            return Step::EnterAgain;
        }
        Step::Wait
    }

    fn by_events(&mut self, seen: &Seen<'_>, events: &EventView, elapsed: Duration, now_ms: u64) -> Step {
        match event_receipt(Some(events), seen.state, self.entered_ms, now_ms) {
            Some((receipt, settled)) if settled || receipt != Receipt::TurnStarted || elapsed >= self.confirm => {
                let bytes = self.turn_seen.map_or(seen.log_bytes, |t| t.1);
                self.done(receipt, seen.state, bytes)
            }
            Some(_) => {
                self.turn_seen.get_or_insert((elapsed, seen.log_bytes));
                Step::Wait
            }
            None => self.maybe_enter_again(seen, elapsed),
        }
    }

    fn by_screen(&mut self, seen: &Seen<'_>, elapsed: Duration) -> Step {
        let receipt = match seen.state {
            AgentState::Working => Some(Receipt::TurnStarted),
            // A limit read while our echo is not drawn yet may be an older one: believe it when
            // the echo shows, or when the next observation agrees.
            AgentState::Limited if seen.echo.is_some() || self.limited_once => Some(Receipt::BlockedByLimit),
            AgentState::Limited => {
                self.limited_once = true;
                None
            }
            AgentState::Dialog => Some(Receipt::WaitingOnDialog),
            AgentState::Exited | AgentState::NotRunning => Some(Receipt::Exited),
            // Taken (the composer moved on) and answered, or scrolled past: a finished turn.
            // Only our echo so far: not started yet.
            AgentState::Idle | AgentState::Warned => match seen.echo {
                _ if seen.composer_holds => None,
                Some(false) => None,
                Some(true) => {
                    let bytes = self.turn_seen.map_or(seen.log_bytes, |t| t.1);
                    return self.done(Receipt::TurnStarted, seen.state, bytes);
                }
                None => Some(Receipt::TurnStarted),
            },
            AgentState::Unknown => None,
        };
        match receipt {
            Some(Receipt::TurnStarted) => {
                let (at, bytes) = *self.turn_seen.get_or_insert((elapsed, seen.log_bytes));
                if elapsed.saturating_sub(at) >= SETTLE || elapsed >= self.confirm {
                    return self.done(Receipt::TurnStarted, seen.state, bytes);
                }
                Step::Wait
            }
            Some(receipt) => self.done(receipt, seen.state, self.turn_seen.and_then(|t| t.1)),
            None => self.maybe_enter_again(seen, elapsed),
        }
    }
}

/// The receipt the CLI's own events give for a send entered at `entered_ms`: `None` until its
/// prompt event arrives (the hook stamps its time after our Enter, on the same clock, so an
/// earlier prompt event is an earlier turn's); then what the observation shows, and whether
/// that is settled (the turn is over, or has run for [`SETTLE`], so a limit or a dialog that
/// ends it at once is not missed).
pub fn event_receipt(
    events: Option<&EventView>,
    state: AgentState,
    entered_ms: u64,
    now_ms: u64,
) -> Option<(Receipt, bool)> {
    let v = events?;
    let at = v.last_prompt_at_ms.filter(|t| *t >= entered_ms)?;
    let receipt = match (v.phase.map(|(p, _)| p), state) {
        (_, AgentState::Exited | AgentState::NotRunning) => Receipt::Exited,
        (_, AgentState::Limited) => Receipt::BlockedByLimit,
        // A turn that ran to its end started, whatever popup followed it.
        (Some(Phase::Ended | Phase::Failed(_)), _) => Receipt::TurnStarted,
        (Some(Phase::Permission), _) | (_, AgentState::Dialog) => Receipt::WaitingOnDialog,
        _ => Receipt::TurnStarted,
    };
    let over = matches!(v.phase, Some((Phase::Ended | Phase::Failed(_), _)));
    // Watched past the grace in which a limit on screen may be the last turn's.
    let settle = SETTLE.as_millis() as u64 + crate::agents::facts::LIMIT_GRACE_MS;
    Some((receipt, over || now_ms >= at + settle))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIRM: Duration = Duration::from_secs(5);

    fn screen(state: AgentState, composer_holds: bool, echo: Option<bool>) -> Seen<'static> {
        Seen { state, events: None, log_bytes: Some(100), composer_holds, echo }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_working_turn_is_watched_until_it_settles() {
        let mut w = Watch::new(CONFIRM, 0, false);
        assert_eq!(w.step(Some(screen(AgentState::Working, false, None)), ms(100), 0), Step::Wait);
        let Step::Done(d) = w.step(Some(screen(AgentState::Working, false, None)), ms(100) + SETTLE, 0) else {
            panic!("a settled turn is done")
        };
        assert_eq!((d.receipt, d.log_bytes_at_turn), (Receipt::TurnStarted, Some(100)));
    }

    #[test]
    fn a_limit_counts_once_the_echo_shows_or_it_is_seen_twice() {
        let mut w = Watch::new(CONFIRM, 0, false);
        assert_eq!(w.step(Some(screen(AgentState::Limited, false, None)), ms(100), 0), Step::Wait);
        assert!(matches!(
            w.step(Some(screen(AgentState::Limited, false, None)), ms(200), 0),
            Step::Done(Delivery { receipt: Receipt::BlockedByLimit, .. })
        ));
        let mut w = Watch::new(CONFIRM, 0, false);
        assert!(matches!(
            w.step(Some(screen(AgentState::Limited, false, Some(false))), ms(100), 0),
            Step::Done(Delivery { receipt: Receipt::BlockedByLimit, .. })
        ));
    }

    #[test]
    fn an_idle_screen_with_output_after_our_echo_is_a_finished_turn() {
        let mut w = Watch::new(CONFIRM, 0, false);
        assert_eq!(w.step(Some(screen(AgentState::Idle, false, Some(false))), ms(100), 0), Step::Wait, "echo only");
        assert!(matches!(
            w.step(Some(screen(AgentState::Idle, false, Some(true))), ms(200), 0),
            Step::Done(Delivery { receipt: Receipt::TurnStarted, .. })
        ));
    }

    #[test]
    fn a_swallowed_enter_is_pressed_once_more_then_the_watch_times_out() {
        let mut w = Watch::new(CONFIRM, 0, true);
        let held = || Some(screen(AgentState::Idle, true, None));
        assert_eq!(w.step(held(), ms(100), 0), Step::Wait);
        assert_eq!(w.step(held(), ENTER_AGAIN_AFTER, 0), Step::EnterAgain);
        assert_eq!(w.step(held(), ENTER_AGAIN_AFTER + ms(100), 0), Step::Wait, "only once");
        assert!(matches!(
            w.step(held(), CONFIRM, 0),
            Step::Done(Delivery { receipt: Receipt::SubmittedNoTurnStarted, state: AgentState::Idle, .. })
        ));
        // A CLI that takes the first Enter never gets a second.
        let mut w = Watch::new(CONFIRM, 0, false);
        assert_eq!(w.step(held(), ENTER_AGAIN_AFTER, 0), Step::Wait);
    }

    #[test]
    fn events_decide_when_the_cli_reports_them() {
        use crate::events::{fold, Event, EventKind};
        let entered = 10_000;
        let taken = fold(&[Event::new(EventKind::PromptSubmitted, 10_050)]).unwrap();
        let mut w = Watch::new(CONFIRM, entered, false);
        // The screen says idle, the events say taken: started, settled later.
        let seen = |v| {
            Some(Seen {
                state: AgentState::Working,
                events: Some(v),
                log_bytes: Some(7),
                composer_holds: false,
                echo: None,
            })
        };
        assert_eq!(w.step(seen(&taken), ms(100), 10_100), Step::Wait);
        assert!(matches!(
            w.step(seen(&taken), ms(5000), 14_500),
            Step::Done(Delivery { receipt: Receipt::TurnStarted, log_bytes_at_turn: Some(7), .. })
        ));
        // Only an earlier turn's prompt event: not taken, whatever the screen shows.
        let earlier = fold(&[Event::new(EventKind::PromptSubmitted, 9_900)]).unwrap();
        let mut w = Watch::new(CONFIRM, entered, false);
        assert_eq!(w.step(seen(&earlier), ms(100), 10_100), Step::Wait);
        assert!(matches!(
            w.step(seen(&earlier), CONFIRM, 15_000),
            Step::Done(Delivery { receipt: Receipt::SubmittedNoTurnStarted, .. })
        ));
    }

    #[test]
    fn a_receipt_needs_the_clis_own_prompt_event() {
        use crate::events::{fold, Event, EventKind, FailureKind};
        let entered = 10_000;
        // The only prompt event is an earlier turn's: the CLI has not taken this send (yet).
        let earlier = fold(&[Event::new(EventKind::PromptSubmitted, 9_900), Event::new(EventKind::TurnEnded, 9_950)]);
        assert_eq!(event_receipt(earlier.as_ref(), AgentState::Idle, entered, 20_000), None);
        assert_eq!(event_receipt(None, AgentState::Idle, entered, 20_000), None);
        // Taken and still running: started, settled once past the limit grace.
        let taken = fold(&[Event::new(EventKind::PromptSubmitted, 10_050)]);
        assert_eq!(
            event_receipt(taken.as_ref(), AgentState::Working, entered, 10_100),
            Some((Receipt::TurnStarted, false))
        );
        assert_eq!(
            event_receipt(taken.as_ref(), AgentState::Working, entered, 14_000),
            Some((Receipt::TurnStarted, true))
        );
        // Ended at once, with a popup after it: started.
        let ended = fold(&[Event::new(EventKind::PromptSubmitted, 10_050), Event::new(EventKind::TurnEnded, 10_080)]);
        assert_eq!(
            event_receipt(ended.as_ref(), AgentState::Dialog, entered, 10_100),
            Some((Receipt::TurnStarted, true))
        );
        // Failed on a limit, or waiting on a permission.
        let failed = fold(&[
            Event::new(EventKind::PromptSubmitted, 10_050),
            Event { failure: Some(FailureKind::RateLimit), ..Event::new(EventKind::TurnFailed, 10_080) },
        ]);
        assert_eq!(
            event_receipt(failed.as_ref(), AgentState::Limited, entered, 10_100),
            Some((Receipt::BlockedByLimit, true))
        );
        let asked =
            fold(&[Event::new(EventKind::PromptSubmitted, 10_050), Event::new(EventKind::PermissionWait, 10_080)]);
        assert_eq!(
            event_receipt(asked.as_ref(), AgentState::Dialog, entered, 10_100),
            Some((Receipt::WaitingOnDialog, false))
        );
    }
}
