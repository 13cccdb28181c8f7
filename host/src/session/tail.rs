//! A worker's tail: the pane's meaningful lines or the raw log's end, redacted before it is
//! cut (a window far wider than the answer), then bounded to lines and characters.

use std::sync::Arc;

use super::{light, Ctx};
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::redactor::Cancel;
use crate::state::State;
use crate::tmux;
use crate::wire::wire_enum;

wire_enum!(
    /// What a tail reads.
    TailSource { Pane => "pane", Log => "log" }
);

/// Pane rows read for a tail: enough history that blank rows and the composer still leave
/// the answer.
const TAIL_CAPTURE_LINES: u32 = 300;

/// Meaningful pane lines redacted for a pane tail (twice the most a tail returns), so a block
/// that starts above the cut is seen whole.
const PANE_REDACTION_LINES: usize = 160;

/// Raw-log bytes redacted for a log tail, whatever `chars` asks for.
const LOG_REDACTION_WINDOW: u64 = 256 * 1024;

/// Keeps the last `lines` lines and `chars` characters. A cut text starts with one marker
/// line (the seed's wording), and the marker counts toward both bounds.
pub fn bound_tail(text: &str, lines: usize, chars: usize) -> String {
    let all: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    let whole = all.join("\n");
    if all.len() <= lines && whole.chars().count() <= chars {
        return whole;
    }
    let by_lines = format!("... truncated to last {} lines ...", lines.saturating_sub(1).max(1));
    let by_chars = "... truncated to last characters ...";
    // Content lines from the end, within the line budget (the marker takes one line).
    let line_budget = lines.saturating_sub(1).max(1);
    let mut kept: Vec<&str> = all[all.len().saturating_sub(line_budget)..].to_vec();
    let mut marker = by_lines.as_str();
    let fits = |kept: &[&str], marker: &str| {
        marker.chars().count() + 1 + kept.iter().map(|l| l.chars().count() + 1).sum::<usize>() - 1 <= chars
    };
    if !fits(&kept, marker) {
        marker = by_chars;
        while kept.len() > 1 && !fits(&kept, marker) {
            kept.remove(0);
        }
    }
    let mut body = kept.join("\n");
    let room = chars.saturating_sub(marker.chars().count() + 1);
    if body.chars().count() > room {
        let n = body.chars().count();
        body = body.chars().skip(n - room).collect();
        // A cut through a mask would show a fragment such as `ed>`: drop the fragment.
        let mask = crate::text::REDACTED;
        if let Some(k) = (1..mask.len()).find(|&k| body.starts_with(&mask[k..])) {
            body.drain(..mask.len() - k);
        }
    }
    let out = if lines <= 1 { format!("{marker} {}", body.replace('\n', " ")) } else { format!("{marker}\n{body}") };
    crate::text::keep_head_chars(&out, chars)
}

/// A redacted, bounded tail.
pub struct Tail {
    pub text: String,
    pub redaction_applied: bool,
    /// Read from the raw log (else the pane, or nothing: no run recorded).
    pub from_log: bool,
}

/// The pane without blank rows and composer chrome: its last meaningful lines.
async fn pane_lines(spec: &crate::agents::AgentSpec) -> Result<String, Fault> {
    // The listing and the capture in one tmux round trip (a tmux client costs ≈ 4 ms).
    let sessions = [spec.session.clone()];
    let mut snap = tmux::snapshot_with(&spec.place, &sessions, TAIL_CAPTURE_LINES, tmux::ssh::Readings::Recent)
        .await
        .map_err(|e| Fault::tmux("list-panes", Some(&spec.name), e))?;
    let capture = match (snap.captures.remove(&spec.session), snap.panes.contains_key(&spec.session)) {
        (Some(capture), _) => capture,
        // A pane whose program exited still shows its last screen.
        (None, true) => tmux::capture_pane(&spec.place, &spec.session, TAIL_CAPTURE_LINES).await.unwrap_or_default(),
        (None, false) => return Ok(String::new()),
    };
    let stripped = crate::text::strip_ansi(&capture);
    let meaningful = spec.provider().meaningful_lines(&stripped);
    Ok(meaningful[meaningful.len().saturating_sub(PANE_REDACTION_LINES)..].join("\n"))
}

/// The end of the agent's raw log, at least `chars * 4` bytes (a window that starts mid-file
/// drops its first, partial line); `None` when no run is recorded.
fn log_window(state: &State, agent: &str, chars: usize) -> Result<Option<String>, Fault> {
    let Some(m) = state.read_meta(agent)? else { return Ok(None) };
    // Redact before cutting: a key block or a token that starts above the cut is seen whole.
    let window = (chars as u64 * 4).max(LOG_REDACTION_WINDOW);
    let (bytes, size) = state.raw.read_tail(&m.raw_log, 0, window)?.unwrap_or_default();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if size > bytes.len() as u64 {
        text = text.split_once('\n').map_or(String::new(), |(_, rest)| rest.to_owned());
    }
    Ok(Some(text))
}

/// The end of a host's raw log for this run, like [`log_window`].
async fn remote_log_window(host: &tmux::SshHost, agent: &str, chars: usize) -> Result<String, Fault> {
    let a = agent.to_owned();
    let Some(meta) = light(move || Ok(State::open()?.read_meta(&a)?)).await? else { return Ok(String::new()) };
    let window = (chars as u64 * 4).max(LOG_REDACTION_WINDOW);
    let bytes = tmux::ssh::read_log_tail(host, &meta.raw_log, window + 1)
        .await
        .map_err(|e| Fault::tmux("tail", Some(agent), e))?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if bytes.len() as u64 > window {
        text = text.split_once('\n').map_or(String::new(), |(_, rest)| rest.to_owned());
    }
    Ok(text)
}

/// Reads, redacts and bounds a tail. Withheld when the redaction does not finish in its budget
/// or the redaction extension fails.
pub async fn tail(ctx: &Ctx, agent: &str, source: TailSource, lines: usize, chars: usize) -> Result<Tail, Fault> {
    let spec = ctx.registry.get(agent).cloned().ok_or_else(|| Fault::invalid_arguments("unknown agent"))?;
    let pane_text = match (source, &spec.place) {
        (TailSource::Pane, _) => pane_lines(&spec).await?,
        // A host's raw log is read there (bounded) and redacted here like a local one.
        (TailSource::Log, tmux::Place::Ssh(host)) => remote_log_window(host, &spec.name, chars).await?,
        (TailSource::Log, tmux::Place::Local) => String::new(),
    };
    let red = Arc::clone(&ctx.redactor);
    // A cancelled call drops this future and the guard with it: the redaction stops.
    let cancel = Cancel::default();
    let _cancel_on_drop = cancel.guard();
    let agent = agent.to_owned();
    light(move || {
        let (raw, from_log) = match source {
            TailSource::Log if !spec.place.is_local() => (pane_text, true),
            TailSource::Log => match log_window(&State::open()?, &agent, chars)? {
                Some(text) => (text, true),
                None => (String::new(), false),
            },
            TailSource::Pane => (pane_text, false),
        };
        // Blank rows carry nothing: a log tail skips them as the pane tail does.
        let stripped =
            crate::text::strip_ansi(&raw).lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n");
        let known: Vec<String> = [spec.home.as_ref(), spec.runner.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let redacted = red.redact_cancellable(&stripped, &known, &cancel);
        if redacted.withheld {
            return Err(Fault::new(
                ErrorCode::RedactionWithheld,
                "redaction did not finish within its time budget; the text is withheld",
            )
            .with("redaction", "withheld")
            .with("agent", agent));
        }
        if redacted.extension_failed {
            return Err(Fault::new(ErrorCode::RedactionFailed, "the redaction extension failed; the text is withheld")
                .with("redaction", "failed")
                .with("agent", agent));
        }
        Ok(Tail { text: bound_tail(&redacted.text, lines, chars), redaction_applied: redacted.changed, from_log })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_bounded_with_one_marker_inside_the_bounds() {
        let text = (1..=10).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n");
        assert_eq!(bound_tail(&text, 3, 1000), "... truncated to last 2 lines ...\nline 9\nline 10");
        assert_eq!(bound_tail(&text, 10, 1000), text);
        for (lines, chars) in [(3, 1000), (10, 50), (10, 8), (1, 30), (80, 45), (2, 3)] {
            let out = bound_tail(&text, lines, chars);
            assert!(out.chars().count() <= chars, "{lines}/{chars}: {out:?}");
            assert!(out.lines().count() <= lines, "{lines}/{chars}: {out:?}");
            assert!(out.matches("truncated").count() <= 1, "{out:?}");
        }
        assert!(bound_tail(&text, 10, 50).ends_with("line 10"));
        // A cut never leaves a fragment of a mask.
        let masked = "key <redacted> and <redacted>";
        for chars in 37..60 {
            let out = bound_tail(masked, 5, chars);
            let body = out.strip_prefix("... truncated to last characters ...\n").unwrap_or(&out);
            assert!(
                !body.starts_with("ed>") && !body.starts_with("acted>") && !body.starts_with('>'),
                "{chars}: {out:?}"
            );
        }
    }
}
