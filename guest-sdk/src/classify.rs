//! The plumbing a screen classifier repeats: one message's meaning ([`Finding`]), the output
//! built from it with the model-source rules every classifier shares ([`output`]), and the
//! numbered options of a dialog ([`is_option`]).

use crate::limits::{
    ClassifyInput, ClassifyOutput, DialogKind, LimitKind, LimitWindow, ModelSource, Severity, TuiState,
};

/// What one message means.
#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub kind: LimitKind,
    pub window: LimitWindow,
    pub reset_at: Option<u64>,
    /// The model a per-model limit names.
    pub bucket: Option<String>,
    pub used_percent: Option<u8>,
    pub rule: &'static str,
}

impl Finding {
    pub fn new(severity: Severity, kind: LimitKind, rule: &'static str) -> Finding {
        Finding { severity, kind, window: LimitWindow::Unknown, reset_at: None, bucket: None, used_percent: None, rule }
    }

    pub fn none() -> Finding {
        Finding::new(Severity::None, LimitKind::None, "none")
    }
}

/// The output for a screen state and its latest finding. A limit whose reset time has passed is
/// no limit; the model is the limited bucket, else the assignment's (for a limit), else the
/// session's.
pub fn output(input: &ClassifyInput, tui: TuiState, dialog: DialogKind, finding: Option<Finding>) -> ClassifyOutput {
    let mut f = finding.unwrap_or_else(Finding::none);
    if f.severity == Severity::Limited && f.reset_at.is_some_and(|t| t <= input.now_epoch_seconds) {
        f = Finding::new(Severity::None, LimitKind::None, "limit-reset-passed");
    }
    if f.severity == Severity::None {
        f.kind = LimitKind::None;
        f.window = LimitWindow::None;
    }
    let bucket = f.bucket.clone().filter(|_| f.severity == Severity::Limited);
    let (model, model_source) = match (&bucket, &input.assignment_model, &input.session_model) {
        (Some(b), _, _) => (Some(b.clone()), ModelSource::LimitText),
        (None, Some(a), _) if f.severity != Severity::None => (Some(a.clone()), ModelSource::Assignment),
        (None, _, Some(s)) => (Some(s.clone()), ModelSource::Session),
        _ => (None, ModelSource::Unknown),
    };
    ClassifyOutput {
        severity: f.severity,
        kind: f.kind,
        window: f.window,
        reset_at_epoch_seconds: f.reset_at,
        model_bucket: bucket,
        model,
        model_source,
        used_percent: f.used_percent,
        tui,
        blocks_input: matches!(tui, TuiState::Dialog | TuiState::Popup),
        dialog,
        rule: f.rule.to_owned(),
    }
}

/// A line offering a numbered choice (`❯ 1. Yes`, `│ ● 2. Stop │`).
pub fn is_option(line: &str) -> bool {
    let t = line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '❯' | '>' | '›' | '●' | '○' | '│'));
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    (1..=2).contains(&digits) && t[digits..].starts_with(". ")
}

/// A self-test vector's input: a running pane of `profile` read at `now` (UTC), with the
/// session's model known.
pub fn vector_input(pane: &str, profile: &str, session_model: &str, now: u64) -> ClassifyInput {
    ClassifyInput {
        pane: pane.to_owned(),
        since_last_send: String::new(),
        last_sent: None,
        pane_width: 100,
        running: true,
        profile: profile.to_owned(),
        session_model: Some(session_model.to_owned()),
        assignment_model: None,
        now_epoch_seconds: now,
        utc_offset_seconds: 0,
    }
}

/// A self-test vector's output for a screen in state `tui` with no limit: the session's model.
pub fn calm(tui: TuiState, session_model: &str) -> ClassifyOutput {
    ClassifyOutput {
        severity: Severity::None,
        kind: LimitKind::None,
        window: LimitWindow::None,
        reset_at_epoch_seconds: None,
        model_bucket: None,
        model: Some(session_model.to_owned()),
        model_source: ModelSource::Session,
        used_percent: None,
        tui,
        blocks_input: false,
        dialog: DialogKind::None,
        rule: "none".to_owned(),
    }
}
