//! Sending text to a worker: sanitised, typed under the lease into a ready composer, Enter, and
//! the receipt that [`super::send::Watch`] decides from what follows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fleet::observe;
use super::worker::*;
use super::{blocking, Ctx};
use crate::agents::profiles::collapse;
use crate::agents::profiles::DialogChoice;
use crate::agents::{AgentSpec, AgentState};
use crate::codes::ErrorCode;
use crate::ext::types::limits::DialogKind;
use crate::fault::Fault;
use crate::lease::{self, Lease};
use crate::session::send::{Delivery, Receipt, Seen, Step, Watch};
use crate::state::meta::{LastSend, SENT_HEAD_CHARS};
use crate::state::State;
use crate::timefmt::now_epoch;
use crate::tmux;

/// How long a send looks for its text in the composer.
pub const TYPED_WAIT: Duration = Duration::from_secs(3);
/// How long a send waits for a starting CLI to come up before it types.
pub const READY_WAIT: Duration = Duration::from_secs(20);

/// Removes control characters a paste must not carry (an embedded `ESC[201~` would end the
/// bracketed paste early); keeps newlines and tabs. Returns the text and how many were removed.
pub fn sanitize_send_text(text: &str) -> (String, usize) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut removed = 0;
    let clean: String = text
        .chars()
        .filter(|&c| {
            let keep = !c.is_control() || c == '\n' || c == '\t';
            removed += usize::from(!keep);
            keep
        })
        .collect();
    (clean, removed)
}

/// A probe for the text in the composer: its first words, whitespace-collapsed.
pub fn probe(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut head = String::new();
    for w in words {
        if head.chars().count() + w.chars().count() > 24 {
            break;
        }
        if !head.is_empty() {
            head.push(' ');
        }
        head.push_str(w);
    }
    if head.is_empty() {
        head = text.split_whitespace().next().unwrap_or("").chars().take(24).collect();
    }
    head
}

/// Work done under the agent lock after the lease check and before the first keystroke (an
/// assignment's audit record). An error stops the send; nothing is typed.
pub type BeforeTyping = Box<dyn FnOnce(&State) -> Result<(), Fault> + Send>;

/// How [`send_text`] sends.
pub struct SendOptions {
    pub enter: bool,
    /// How long to watch for the turn to start after Enter.
    pub confirm: Duration,
    /// A lead's own send: recorded in the metadata, so output after it counts as the answer.
    pub lead_send: bool,
    /// Act only under this lease generation.
    pub expected: Option<u64>,
    pub before_typing: Option<BeforeTyping>,
}

/// A delivered send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub agent: String,
    pub chars: usize,
    pub control_chars_removed: usize,
    pub submitted: bool,
    pub turn_started: bool,
    pub receipt: Receipt,
    pub state: AgentState,
    /// The lease after the send (its public view is built at the edge).
    pub lease: Lease,
    /// The raw log's size when the turn was first seen started (the echo is in, an answer is
    /// not yet): growth past it is the agent's answer.
    pub log_bytes_at_turn: Option<u64>,
}

/// The refusal for an agent whose screen is held by a dialog: typing would answer it.
pub fn dialog_refusal(agent: &str, kind: DialogKind) -> Fault {
    let answer = DialogChoice::allowed_for(kind).map(DialogChoice::as_str);
    let hint = match answer {
        Some(a) => format!("answer it with agent_dialog_answer (choice {a})"),
        None => "it needs a person at the terminal".to_owned(),
    };
    Fault::new(
        ErrorCode::WaitingOnDialog,
        format!("agent {agent} is waiting on a {} dialog; nothing was typed; {hint}", kind.as_str()),
    )
    .with("agent", agent)
    .with("dialog", kind.as_str())
    .with("answer", answer)
    .with("typed", false)
    .with("submitted", false)
}

/// Sends `raw_text` through the lease gate with a receipt (the body of `agent_send`, also used
/// by report requests and assignments). The agent lock is held from the lease check to the
/// metadata write. A dialog on screen refuses the send before anything is typed.
pub async fn send_text(ctx: &Ctx, agent: &str, raw_text: &str, opts: SendOptions) -> Result<Sent, Fault> {
    let SendOptions { enter, confirm, lead_send, expected, before_typing } = opts;
    let agent = agent.to_owned();
    let (text, removed) = sanitize_send_text(raw_text);
    if text.trim().is_empty() {
        return Err(Fault::invalid_arguments("text must be a non-empty string"));
    }
    let spec = spec(ctx, &agent)?;
    live_pane(&spec).await?;
    wait_until_ready(ctx, &spec).await?;
    let (typing, lease) = type_under_lease(ctx, &spec, &text, enter, lead_send, expected, before_typing).await?;
    let typing = typing?;
    if !typing.typed {
        return Err(not_typed(ctx, &agent).await);
    }
    let r = if enter {
        watch_turn(ctx, &spec, &typing, confirm).await
    } else {
        Delivery { submitted: false, receipt: Receipt::Typed, state: AgentState::Idle, log_bytes_at_turn: None }
    };
    if lead_send {
        record_receipt(&agent, r.receipt).await;
    }
    Ok(Sent {
        agent,
        chars: text.chars().count(),
        control_chars_removed: removed,
        submitted: r.submitted,
        turn_started: r.receipt == Receipt::TurnStarted,
        receipt: r.receipt,
        state: r.state,
        lease,
        log_bytes_at_turn: r.log_bytes_at_turn,
    })
}

/// Keeps the lead's last send's receipt beside the send in the worker's metadata, for the views
/// that show it (`top`). A failure costs the view a word, never the send.
async fn record_receipt(agent: &str, receipt: Receipt) {
    let a = agent.to_owned();
    let recorded = async {
        Locked::acquire(agent)
            .await?
            .with(move |state| {
                let Some(mut meta) = state.read_meta(&a)? else { return Ok(()) };
                if let Some(send) = meta.last_send.as_mut() {
                    send.receipt = Some(receipt.as_str().to_owned());
                    state.write_meta(&meta)?;
                }
                Ok(())
            })
            .await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(code = e.code.as_str(), "the send's receipt was not recorded");
    }
}

/// Waits (bounded) until nothing on screen refuses a send: a dialog refuses it at once; a CLI
/// that reports its session start is not typed into before it is up, nor for a moment after
/// (a paste before its first screen is lost).
pub async fn wait_until_ready(ctx: &Ctx, spec: &AgentSpec) -> Result<(), Fault> {
    let agent = spec.name.as_str();
    let ready_by = Instant::now() + READY_WAIT;
    while let Ok(Ok(obs)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
        if obs.dialog != DialogKind::None {
            return Err(dialog_refusal(agent, obs.dialog));
        }
        let provider = spec.provider();
        let unknown = obs.state == AgentState::Unknown && provider.session_start_at_launch();
        let settle = provider.input_settle().as_millis() as u64;
        let settling =
            obs.events.as_ref().and_then(|v| v.session_started_at_ms).is_some_and(|at| now_ms() < at + settle);
        if !(obs.hooks && (unknown || settling)) {
            return Ok(());
        }
        if Instant::now() >= ready_by {
            return Err(Fault::new(
                ErrorCode::AgentNotReady,
                format!("agent {agent} has not finished starting; nothing was typed"),
            )
            .retryable()
            .with("retry_after_seconds", 5)
            .with("typed", false)
            .with("submitted", false));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Claims the lease (and runs `before_typing`) under the agent lock, types, and then records
/// the send or releases a fresh claim: typing and Enter happen under the lock, watching for the
/// turn does not. Returns the typing's outcome and the lease's public view.
#[allow(clippy::too_many_arguments)]
pub async fn type_under_lease(
    ctx: &Ctx,
    spec: &AgentSpec,
    text: &str,
    enter: bool,
    lead_send: bool,
    expected: Option<u64>,
    before_typing: Option<BeforeTyping>,
) -> Result<(Result<Typing, Fault>, Lease), Fault> {
    let (agent, client) = (spec.name.clone(), ctx.client_id.clone());
    let held = Locked::acquire(&agent).await?;
    let fresh = held
        .with({
            let (a, c) = (agent.clone(), client.clone());
            move |state| {
                let fresh = claim(state, &a, &c, expected)?;
                if let Some(hook) = before_typing {
                    if let Err(e) = hook(state) {
                        release_if_fresh(state, &a, &c, fresh);
                        return Err(e);
                    }
                }
                Ok(fresh)
            }
        })
        .await?;
    let typing = type_text(spec, text, enter).await;
    ctx.observer.invalidate();
    let (chars, head) = (text.chars().count(), text.chars().take(SENT_HEAD_CHARS).collect::<String>());
    let sent_ok = typing.as_ref().is_ok_and(|t| t.typed);
    let lease = held
        .with(move |state| {
            if !sent_ok {
                release_if_fresh(state, &agent, &client, fresh);
            } else if lead_send {
                if let Some(mut meta) = state.read_meta(&agent)? {
                    let offset = state.raw.file_stat(&meta.raw_log).ok().flatten().map_or(0, |(s, _)| s);
                    meta.last_send = Some(LastSend {
                        at_epoch: now_epoch(),
                        chars,
                        log_offset: offset,
                        text_head: head,
                        receipt: None,
                    });
                    state.write_meta(&meta)?;
                }
            }
            Ok(lease::read(state, &agent))
        })
        .await?;
    Ok((typing, lease))
}

/// Why a text did not reach the composer: a dialog that opened meanwhile is the likely reason
/// (say so, not "retry"); else `send_not_typed`, retryable.
pub async fn not_typed(ctx: &Ctx, agent: &str) -> Fault {
    if let Ok(Ok(obs)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
        if obs.dialog != DialogKind::None {
            return dialog_refusal(agent, obs.dialog);
        }
    }
    Fault::new(
        ErrorCode::SendNotTyped,
        format!("the text did not appear in agent {agent}'s composer; nothing was submitted"),
    )
    .retryable()
    .with("retry_after_seconds", 2)
    .with("agent", agent)
    .with("typed", false)
    .with("submitted", false)
}

/// Renders a one-line prompt with the prompts extension in the configured locale, off the async
/// threads.
pub async fn render_prompt(
    ctx: &Ctx,
    render: impl FnOnce(&crate::ext::Extensions, String) -> Result<String, crate::ext::ExtError> + Send + 'static,
) -> Result<String, Fault> {
    let locale = ctx.extensions().settings().locale.clone();
    let exts = Arc::clone(&ctx.extensions);
    blocking(move || render(&exts, locale).map_err(|e| Fault::new(e.code(), e.to_string()))).await
}

/// Renders the report request with the prompts extension and sends it (not as a lead send).
pub async fn request_report(
    ctx: &Ctx,
    agent: &str,
    assignment_id: Option<String>,
    enter: bool,
    expected: Option<u64>,
) -> Result<Sent, Fault> {
    let text = render_prompt(ctx, move |ext, locale| {
        ext.render_report_request(&crate::ext::types::prompts::ReportRequest { assignment_id, locale })
    })
    .await?;
    let opts = SendOptions { enter, confirm: Duration::from_secs(5), lead_send: false, expected, before_typing: None };
    send_text(ctx, agent, &text, opts).await
}

/// Sends the continue prompt after a limit's reset (the watchdog's `resume_after_reset`) as a
/// lead send: what follows is a new turn. The limit's key is written to the metadata under the
/// agent lock before anything is typed, so one limit never gets two, even across a crash.
pub async fn send_continue(
    ctx: &Ctx,
    agent: &str,
    limit_key: String,
    assignment_id: Option<String>,
) -> Result<Sent, Fault> {
    let text = render_prompt(ctx, move |ext, locale| {
        ext.render_continue(&crate::ext::types::prompts::ContinueRequest { assignment_id, locale })
    })
    .await?;
    let a = agent.to_owned();
    let record: BeforeTyping = Box::new(move |state: &State| {
        let Some(mut meta) = state.read_meta(&a)? else {
            return Err(Fault::new(ErrorCode::AgentNotRunning, format!("agent {a} has no recorded run")));
        };
        if meta.resumed_limit.as_deref() == Some(limit_key.as_str()) {
            return Err(Fault::new(
                ErrorCode::AlreadyResumed,
                format!("agent {a} was already resumed after this limit"),
            ));
        }
        meta.resumed_limit = Some(limit_key);
        Ok(state.write_meta(&meta)?)
    });
    let opts = SendOptions {
        enter: true,
        confirm: Duration::from_secs(5),
        lead_send: true,
        expected: None,
        before_typing: Some(record),
    };
    send_text(ctx, agent, &text, opts).await
}

/// What the typing phase saw: whether the text reached the composer, and the probe it looked
/// for.
pub struct Typing {
    pub typed: bool,
    pub probe: String,
    /// When Enter was first pressed (epoch ms): a prompt event at or after it is ours.
    pub entered_ms: u64,
}

/// Whether the composer of `pane` holds the text whose probe is `probe` (or, after a change,
/// the placeholder of a large paste).
pub fn composer_holds(spec: &AgentSpec, pane: &str, probe: &str, changed: bool) -> bool {
    spec.provider()
        .composer_text(pane)
        .is_some_and(|c| c.contains(probe) || (changed && c.to_lowercase().contains("[pasted content")))
}

/// Pastes, checks that the text is in the composer, and presses Enter when asked.
pub async fn type_text(spec: &AgentSpec, text: &str, enter: bool) -> Result<Typing, Fault> {
    let agent = spec.name.as_str();
    let before = capture_bottom(spec).await;
    let buffer = format!("codex-master-{agent}-{}", crate::fsafe::nonce());
    tmux::paste(&spec.place, &spec.session, &buffer, text).await.map_err(|e| tmux_error("paste", agent, e))?;
    let probe = collapse(&probe(text));
    let started = Instant::now();
    while started.elapsed() < TYPED_WAIT {
        let snapshot = capture_bottom(spec).await;
        if composer_holds(spec, &snapshot, &probe, snapshot != before) {
            let mut entered_ms = 0;
            if enter {
                // Some CLIs swallow an Enter that follows a paste too closely.
                tokio::time::sleep(spec.provider().enter_after_paste()).await;
                entered_ms = now_ms();
                tmux::send_keys(&spec.place, &spec.session, &["Enter"])
                    .await
                    .map_err(|e| tmux_error("send Enter", agent, e))?;
            }
            return Ok(Typing { typed: true, probe, entered_ms });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Typing { typed: false, probe, entered_ms: 0 })
}

/// After Enter: observes the worker until [`Watch`] says what the receipt is (bounded by
/// `confirm`), pressing Enter once more when it says so.
pub async fn watch_turn(ctx: &Ctx, spec: &AgentSpec, typing: &Typing, confirm: Duration) -> Delivery {
    let started = Instant::now();
    let agents = [spec.name.clone()];
    let provider = spec.provider();
    let mut watch = Watch::new(confirm, typing.entered_ms, !provider.enter_after_paste().is_zero());
    loop {
        let obs = observe(ctx, &agents).await.ok().and_then(|mut v| v.remove(0).ok());
        // The composer and the echo are read from the snapshot the classifier saw.
        let seen = obs.as_ref().map(|o| Seen {
            state: o.state,
            events: o.events.as_ref().filter(|v| o.hooks && v.received > 0),
            log_bytes: o.log_bytes,
            composer_holds: composer_holds(spec, &o.pane, &typing.probe, false),
            echo: provider.output_after_echo(&o.pane, &typing.probe),
        });
        match watch.step(seen, started.elapsed(), now_ms()) {
            Step::Done(delivery) => return delivery,
            Step::EnterAgain => {
                let _ = tmux::send_keys(&spec.place, &spec.session, &["Enter"]).await;
            }
            Step::Wait => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn now_ms() -> u64 {
    (crate::timefmt::now_epoch() * 1000.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed_but_lines_stay() {
        let (clean, removed) = sanitize_send_text("a\x1b[201~b\x07c\r\nd\te\u{9b}");
        assert_eq!(clean, "a[201~bc\nd\te");
        assert_eq!(removed, 3);
    }

    #[test]
    fn the_probe_is_the_head_of_the_text() {
        assert_eq!(probe("  Run the   tests and report the results please"), "Run the tests and report");
        assert_eq!(probe(&"x".repeat(100)), "x".repeat(24));
    }
}
