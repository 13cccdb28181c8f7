//! Answering a worker's dialog: only the one allowed answer for what the screen shows, typed
//! under the lease.

use std::time::{Duration, Instant};

use super::fleet::observe;
use super::worker::*;
use super::{blocking, Ctx};
use crate::agents::profiles::DialogChoice;
use crate::agents::{AgentSpec, AgentState};
use crate::codes::ErrorCode;
use crate::ext::types::limits::DialogKind;
use crate::fault::Fault;
use crate::lease::Lease;
use crate::state::State;
use crate::tmux;

/// Path lines a trust dialog shows (`/work/repo`, `~/repo`).
pub fn dialog_paths(pane: &str) -> Vec<String> {
    pane.lines().map(str::trim).filter(|l| l.starts_with('/') || l.starts_with("~/")).map(str::to_owned).collect()
}

/// Whether every folder the trust dialog names is the agent's recorded working directory
/// (Codex may show it under `~`, and names the repository root when trust would reach it).
pub fn trust_names_only(pane: &str, cwd: &str) -> bool {
    let home = std::env::var("HOME").ok().filter(|h| h.starts_with('/'));
    let shown = dialog_paths(pane);
    !shown.is_empty()
        && shown.iter().all(|p| {
            let expanded = match (p.strip_prefix("~/"), &home) {
                (Some(rest), Some(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
                _ => p.clone(),
            };
            expanded.trim_end_matches('/') == cwd.trim_end_matches('/')
        })
}

/// The body of `agent_dialog_answer`: checks the dialog and the choice, then picks the option
/// under the lease gate. Only allowlisted options are ever selected.
pub async fn answer_dialog(
    ctx: &Ctx,
    agent: &str,
    choice: DialogChoice,
    expected: Option<u64>,
) -> Result<Answered, Fault> {
    let agent = agent.to_owned();
    let spec = spec(ctx, &agent)?;
    live_pane(&spec).await?;
    let obs = observe(ctx, std::slice::from_ref(&agent)).await?.remove(0)?;
    let kind = obs.dialog;
    check_answer(&agent, kind, obs.state, choice)?;
    let screen = capture_bottom(&spec).await;
    if choice == DialogChoice::Trust {
        let a = agent.clone();
        let cwd = blocking(move || Ok(State::open()?.read_meta(&a)?.map(|m| m.cwd))).await?;
        if !cwd.is_some_and(|c| trust_names_only(&screen, &c)) {
            return Err(Fault::new(ErrorCode::DialogTrustNotCwd, format!("the trust dialog of agent {agent} names a folder other than the working directory it was started in; nothing was typed")));
        }
    }
    let answer = spec.provider().dialog_answer(kind, choice, &screen).ok_or_else(|| {
        Fault::new(
            ErrorCode::DialogAnswerNotFound,
            format!(
                "the {} dialog of agent {agent} does not show the {} option; nothing was typed",
                kind.as_str(),
                choice.as_str()
            ),
        )
    })?;
    let lease = type_answer(ctx, &spec, kind, choice, answer.option, expected).await?;
    let after = await_dialog_closed(ctx, &agent, kind).await.unwrap_or(obs);
    Ok(Answered { agent, dialog: kind, choice, state: after.state, dialog_closed: after.dialog != kind, lease })
}

/// An answered dialog.
pub struct Answered {
    pub agent: String,
    pub dialog: DialogKind,
    pub choice: DialogChoice,
    /// The state after the answer (the dialog closed, or the last look within 3 s).
    pub state: AgentState,
    pub dialog_closed: bool,
    pub lease: Lease,
}

/// Whether `choice` may answer what the screen shows: a dialog, and the one answer allowed for
/// its kind. Nothing is typed otherwise.
pub fn check_answer(agent: &str, kind: DialogKind, state: AgentState, choice: DialogChoice) -> Result<(), Fault> {
    if kind == DialogKind::None {
        return Err(Fault::new(ErrorCode::NoDialog, format!("agent {agent} shows no dialog; nothing was typed"))
            .with("state", state.as_str()));
    }
    let allowed = DialogChoice::allowed_for(kind);
    if allowed != Some(choice) {
        return Err(Fault::new(
            ErrorCode::DialogChoiceNotAllowed,
            format!("a {} dialog does not take the answer {}", kind.as_str(), choice.as_str()),
        )
        .with("dialog", kind.as_str())
        .with("answer", allowed.map(DialogChoice::as_str)));
    }
    Ok(())
}

/// Types the option's number under the lease (and Enter where the number only moved the
/// selection); returns the lease.
pub async fn type_answer(
    ctx: &Ctx,
    spec: &AgentSpec,
    kind: DialogKind,
    choice: DialogChoice,
    option: u32,
    expected: Option<u64>,
) -> Result<Lease, Fault> {
    let (agent, client) = (spec.name.clone(), ctx.client_id.clone());
    let held = Locked::acquire(&agent).await?;
    let fresh = held.claim(&agent, &client, expected).await?;
    // The option's number selects it (and accepts it in Codex's popups); Enter accepts it where
    // the number only moves the selection (the trust screen).
    let digit = option.to_string();
    let mut typed = tmux::send_keys(&spec.place, &spec.session, &[digit.as_str()]).await;
    if typed.is_ok() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = capture_bottom(spec).await;
        let still_selected = spec.provider().selected_option(&now) == Some(option);
        if still_selected && spec.provider().dialog_answer(kind, choice, &now).is_some() {
            typed = tmux::send_keys(&spec.place, &spec.session, &["Enter"]).await;
        }
    }
    let lease = held.settle(&agent, &client, fresh, typed.is_ok()).await?;
    drop(held);
    ctx.observer.invalidate();
    typed.map_err(|e| tmux_error("answer dialog", &agent, e))?;
    Ok(lease)
}

/// The agent observed until the dialog of `kind` is gone (at most 3 s): the last observation.
pub async fn await_dialog_closed(
    ctx: &Ctx,
    agent: &str,
    kind: DialogKind,
) -> Option<crate::session::observe::Observation> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        if let Ok(Ok(o)) = observe(ctx, &[agent.to_owned()]).await.map(|mut v| v.remove(0)) {
            let closed = o.dialog != kind;
            last = Some(o);
            if closed {
                break;
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialog_takes_only_its_one_allowed_answer() {
        let code = |kind, choice| check_answer("w1", kind, AgentState::Dialog, choice).err().map(|e| e.code);
        assert_eq!(code(DialogKind::Trust, DialogChoice::Trust), None);
        assert_eq!(code(DialogKind::SwitchModel, DialogChoice::KeepCurrentModel), None);
        assert_eq!(code(DialogKind::Trust, DialogChoice::No), Some(ErrorCode::DialogChoiceNotAllowed));
        assert_eq!(code(DialogKind::SignIn, DialogChoice::No), Some(ErrorCode::DialogChoiceNotAllowed));
        assert_eq!(code(DialogKind::None, DialogChoice::Trust), Some(ErrorCode::NoDialog));
    }
}
