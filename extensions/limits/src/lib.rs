//! The default limit classifier.
//!
//! It reads the bounded, ANSI-stripped pane and the output since the last send, and decides
//! per message family of the Codex CLI 0.169 (and its older forms):
//!
//! | family | example | result |
//! |---|---|---|
//! | usage limit | "You’ve hit your usage limit. … try again at 3:05 PM." | limited, usage, reset time |
//! | per-model bucket | "You’ve hit your usage limit for GPT-5.3-Codex-Spark." | limited, that model only |
//! | credits / spend cap | "Your workspace is out of credits." | limited, credits |
//! | usage warning | "Heads up, you have less than 25% of your weekly limit left." | warning, not limited |
//! | 429 retries | "exceeded retry limit, last status: 429 Too Many Requests" | limited, rate |
//! | quota / plan | "Quota exceeded. Check your plan and billing details." | limited, quota / plan |
//! | capacity | "Selected model is at capacity." / "high demand" | limited / warning |
//! | context window | "Codex ran out of room in the model's context window." | limited, context |
//! | network | "Reconnecting... 2/5", "stream disconnected" | warning, network |
//! | switch-model popup | "Approaching rate limits … Keep current model" | popup, blocks input |
//!
//! Wrapped lines are joined into paragraphs before matching; the echo of our own prompt, the
//! user-message history and the `/status` card are never read as messages; only output after
//! the last send counts. The latest message wins.

use codex_master_guest_sdk::limits::{
    ClassifyInput, ClassifyOutput, ExtInfo, LimitKind, LimitWindow, ModelSource, Severity, TuiState, Vector,
};
use codex_master_guest_sdk::LimitsExtension;

pub struct DefaultLimits;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_limits!(DefaultLimits);

impl LimitsExtension for DefaultLimits {
    fn describe() -> ExtInfo {
        ExtInfo::new("default-limits", env!("CARGO_PKG_VERSION"))
    }

    fn classify(input: ClassifyInput) -> ClassifyOutput {
        classify(&input)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors::all()
    }
}

/// Glyphs that start a new rendered block in the Codex TUI.
const BLOCK_MARKERS: [char; 12] = ['■', '⚠', '•', '›', '>', '╭', '╰', '│', '─', '✔', '✗', '⏵'];

/// Appends `s` lower-cased, with curly apostrophes and non-breaking spaces made plain and
/// runs of whitespace collapsed to one space. One pass, no intermediate strings.
fn fold_into(out: &mut String, s: &str) {
    let mut space = out.is_empty() || out.ends_with(' ');
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_whitespace() {
                if !space {
                    out.push(' ');
                    space = true;
                }
            } else {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
            continue;
        }
        let c = match c {
            '\u{2019}' | '\u{2018}' | '\u{02bc}' => '\'',
            '\u{00a0}' | '\u{2007}' | '\u{202f}' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        match c {
            // Box drawing, block elements and geometric shapes (TUI frames): no case.
            '\u{2500}'..='\u{25ff}' | '\'' => out.push(c),
            c => out.extend(c.to_lowercase()),
        }
    }
}

fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(&mut out, s);
    out.trim_end().to_owned()
}

/// A set of needles searched for in one pass. Most blocks match none, and `str::contains`
/// builds a searcher per call, which made the per-block gate the bulk of a classify call.
struct Needles {
    first_bytes: [bool; 256],
    words: &'static [&'static str],
}

impl Needles {
    const fn new(words: &'static [&'static str]) -> Needles {
        let mut first_bytes = [false; 256];
        let mut i = 0;
        while i < words.len() {
            first_bytes[words[i].as_bytes()[0] as usize] = true;
            i += 1;
        }
        Needles { first_bytes, words }
    }

    fn found_in(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        (0..bytes.len()).any(|i| self.first_bytes[bytes[i] as usize] && self.words.iter().any(|w| bytes[i..].starts_with(w.as_bytes())))
    }
}

/// One rendered paragraph: wrapped continuation lines joined with a space.
#[derive(Debug)]
struct Block {
    /// Folded and whitespace-collapsed.
    text: String,
    /// The first glyph, if the block starts with a marker.
    marker: Option<char>,
    /// Index of the block's first line in its source.
    first_line: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut current: Option<Block> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let starts_block = line.starts_with(BLOCK_MARKERS) || line.is_empty();
        if starts_block || current.is_none() {
            if let Some(b) = current.take() {
                if !b.text.is_empty() {
                    out.push(b);
                }
            }
            if line.is_empty() {
                continue;
            }
            let marker = line.chars().next().filter(|c| BLOCK_MARKERS.contains(c));
            let body = line.trim_start_matches(BLOCK_MARKERS).trim();
            let mut text = String::with_capacity(body.len() + 16);
            fold_into(&mut text, body);
            current = Some(Block { text, marker, first_line: i });
        } else if let Some(b) = current.as_mut() {
            b.text.push(' ');
            fold_into(&mut b.text, line);
        }
    }
    if let Some(b) = current {
        if !b.text.is_empty() {
            out.push(b);
        }
    }
    for b in &mut out {
        let trimmed = b.text.trim_end().len();
        b.text.truncate(trimmed);
    }
    out
}

/// What one message says.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    severity: Severity,
    kind: LimitKind,
    window: LimitWindow,
    reset_at: Option<u64>,
    model_bucket: Option<String>,
    used_percent: Option<u8>,
    rule: &'static str,
    /// A popup that blocks typed input.
    popup: bool,
}

impl Finding {
    fn new(severity: Severity, kind: LimitKind, rule: &'static str) -> Finding {
        Finding { severity, kind, window: LimitWindow::Unknown, reset_at: None, model_bucket: None, used_percent: None, rule, popup: false }
    }
}

/// The rest of `text` after the first `needle`.
fn after<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.find(needle).map(|i| &text[i + needle.len()..])
}

/// A leading decimal number (`12`, `1.5`) and the rest.
fn leading_number(s: &str) -> Option<(f64, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let num = s[..end].trim_end_matches('.');
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, &s[num.len()..]))
}

fn leading_int(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 9 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// "heads up, you have less than 25% of your weekly limit left" → (25, "weekly").
fn percent_of_your<'a>(text: &'a str, lead: &str) -> Option<(u32, &'a str)> {
    let rest = after(text, lead)?;
    let (n, rest) = leading_int(rest)?;
    let rest = rest.strip_prefix("% of your ")?;
    let end = rest.find(" limit")?;
    (end <= 12).then(|| (n, &rest[..end]))
}

/// The model named in "usage limit for <model>." (letters, digits, dots, dashes, spaces).
fn model_after_for(text: &str) -> Option<String> {
    let rest = after(text, "usage limit for ")?;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        let stop = match c {
            '.' => rest[i + 1..].chars().next().is_none_or(|n| n == ' '),
            '(' | ',' => true,
            c => !(c.is_ascii_alphanumeric() || c == '-' || c == ' ' || c == '.'),
        };
        if stop {
            end = i;
            break;
        }
    }
    let model = rest[..end].trim();
    let ok = (2..=41).contains(&model.len()) && model.starts_with(|c: char| c.is_ascii_alphanumeric());
    ok.then(|| model.to_owned())
}

/// "reconnecting... 2/5" → (2, 5).
fn reconnect_counts(text: &str) -> Option<(u32, u32)> {
    let rest = after(text, "reconnecting...")?.trim_start();
    let (n, rest) = leading_int(rest)?;
    let (total, _) = leading_int(rest.strip_prefix('/')?)?;
    Some((n, total))
}

fn window_from_label(label: &str) -> LimitWindow {
    match label.trim() {
        "5h" | "5-hour" | "5 hour" | "five-hour" | "5hr" => LimitWindow::FiveHour,
        "daily" | "day" | "24h" => LimitWindow::Daily,
        "weekly" | "week" | "7-day" | "7d" => LimitWindow::Weekly,
        "monthly" | "month" => LimitWindow::Monthly,
        _ => LimitWindow::Unknown,
    }
}

/// "2 hours 5 minutes", "1h 30m", "1.2s", "4 days, 1 hour and 56 minutes" → seconds.
fn duration_seconds(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    let mut any = false;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(r) = rest.strip_prefix("and ") {
            rest = r;
        }
        let Some((n, r)) = leading_number(rest) else { break };
        let r = r.trim_start();
        let unit_len = r.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(r.len());
        let mult = match &r[..unit_len] {
            "ms" => 0.001,
            "d" | "day" | "days" => 86_400.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            _ => break,
        };
        total += n * mult;
        any = true;
        rest = &r[unit_len..];
    }
    any.then_some(total)
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// "Nov 27th, 2026 " → (month, day, year?) and the rest.
fn month_day_year(s: &str) -> Option<(u32, u32, Option<i64>, &str)> {
    let month = MONTHS.iter().position(|m| s.starts_with(m))? as u32 + 1;
    let rest = s.trim_start_matches(|c: char| c.is_ascii_alphabetic()).strip_prefix(' ')?;
    let (day, rest) = leading_int(rest)?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(',').trim_start();
    match leading_int(rest) {
        Some((year, after_year)) if year >= 1970 && after_year.starts_with([',', ' ']) => {
            Some((month, day, Some(i64::from(year)), after_year.trim_start_matches(',').trim_start()))
        }
        _ => Some((month, day, None, rest)),
    }
}

/// "try again in …" / "try again at …" → an epoch time.
fn reset_time(text: &str, now: u64, offset: i32) -> Option<u64> {
    if let Some(rest) = after(text, "try again in ") {
        let secs = duration_seconds(rest)?;
        return Some(now + secs.ceil() as u64);
    }
    let rest = after(text, "try again at ")?;
    let (date, rest) = match month_day_year(rest) {
        Some((m, d, y, rest)) => (Some((m, d, y)), rest),
        None => (None, rest),
    };
    let (mut hour, rest) = leading_int(rest)?;
    let (minute, rest) = leading_int(rest.strip_prefix(':')?)?;
    let rest = rest.trim_start();
    if rest.starts_with("pm") && hour < 12 {
        hour += 12;
    } else if rest.starts_with("am") && hour == 12 {
        hour = 0;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let (hour, minute) = (i64::from(hour), i64::from(minute));
    let local_now = now as i64 + i64::from(offset);
    let today = local_now.div_euclid(86_400);
    let day = match date {
        Some((month, d, year)) => {
            let y = year.unwrap_or_else(|| civil_year(today));
            let mut day = days_from_civil(y, month, d);
            if year.is_none() && day < today {
                day = days_from_civil(y + 1, month, d);
            }
            day
        }
        None => today,
    };
    let mut local = day * 86_400 + hour * 3_600 + minute * 60;
    if date.is_none() && local <= local_now {
        local += 86_400; // "at 3:05 PM" already passed today: tomorrow
    }
    u64::try_from(local - i64::from(offset)).ok()
}

/// Canonical model id for a name as the TUI prints it ("GPT-5.3-Codex-Spark").
fn canonical_model(name: &str) -> String {
    name.trim().trim_end_matches('.').replace(' ', "-")
}

/// Classifies one block of message text; `None` when it is no limit-related message.
fn finding(text: &str, now: u64, offset: i32) -> Option<Finding> {
    // Cheap gate: every family below contains one of these words.
    const GATE: Needles =
        Needles::new(&["limit", "credit", "spend cap", "quota", "plan", "capacity", "demand", "context window", "overloaded", "reconnecting", "disconnected", "429"]);
    if !GATE.found_in(text) {
        return None;
    }
    let with_reset = |mut f: Finding| {
        f.reset_at = reset_time(text, now, offset);
        f
    };

    if text.contains("no longer close to your usage limit") {
        return Some(Finding::new(Severity::None, LimitKind::None, "usage-warning-cleared"));
    }
    if text.contains("approaching rate limits") {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "switch-model-popup");
        f.popup = true;
        return Some(f);
    }
    if let Some((left, label)) = percent_of_your(text, "heads up, you have less than ") {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning");
        f.used_percent = Some(100 - left.min(100) as u8);
        f.window = window_from_label(label);
        return Some(f);
    }
    if let Some((used, label)) = percent_of_your(text, "used over ") {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning");
        f.used_percent = Some(used.min(100) as u8);
        f.window = window_from_label(label);
        return Some(f);
    }
    if text.contains("workspace is out of credits")
        || text.contains("workspace credit limit")
        || text.contains("you're out of credits")
        || text.contains("spend cap")
        || text.contains("credits depleted")
    {
        return Some(with_reset(Finding::new(Severity::Limited, LimitKind::Credits, "credits-exhausted")));
    }
    if text.contains("hit your usage limit") || text.contains("reached your usage limit") || text.starts_with("usage limit reached") {
        let mut f = with_reset(Finding::new(Severity::Limited, LimitKind::Usage, "usage-limit-reached"));
        if let Some(model) = model_after_for(text) {
            f.model_bucket = Some(canonical_model(&model));
            f.rule = "model-usage-limit-reached";
        }
        f.window = [("5h", LimitWindow::FiveHour), ("5-hour", LimitWindow::FiveHour), ("weekly", LimitWindow::Weekly), ("daily", LimitWindow::Daily), ("monthly", LimitWindow::Monthly)]
            .iter()
            .find(|(w, _)| text.contains(&format!("{w} limit")) || text.contains(&format!("{w} usage limit")))
            .map_or(LimitWindow::Unknown, |(_, w)| *w);
        return Some(f);
    }
    if text.contains("exceeded retry limit") && text.contains("429")
        || text.contains("429 too many requests")
        || text.contains("rate limit exceeded")
        || text.contains("rate limit reached for")
    {
        return Some(with_reset(Finding::new(Severity::Limited, LimitKind::Rate, "rate-limited")));
    }
    if text.contains("to use codex with your chatgpt plan")
        || text.contains("plan does not include codex")
        || text.contains("usage not included")
    {
        return Some(Finding::new(Severity::Limited, LimitKind::Plan, "plan-excludes-codex"));
    }
    if text.contains("quota exceeded") || text.contains("exceeded your current quota") || text.contains("insufficient_quota") {
        return Some(Finding::new(Severity::Limited, LimitKind::Quota, "quota-exceeded"));
    }
    if text.contains("ran out of room in the model's context window")
        || text.contains("context window exceeded")
        || text.contains("context_length_exceeded")
        || text.contains("maximum context length")
    {
        return Some(Finding::new(Severity::Limited, LimitKind::Context, "context-window-exhausted"));
    }
    if text.contains("model is at capacity") || text.contains("capacity is unavailable") || text.contains("capacity unavailable") {
        return Some(with_reset(Finding::new(Severity::Limited, LimitKind::Capacity, "model-at-capacity")));
    }
    if text.contains("experiencing high demand") || text.contains("server overloaded") || text.contains("server is overloaded") {
        return Some(Finding::new(Severity::Warning, LimitKind::Capacity, "high-demand"));
    }
    if let Some((n, total)) = reconnect_counts(text) {
        let rule = if total > 0 && n >= total { "reconnect-exhausted" } else { "reconnecting" };
        return Some(Finding::new(Severity::Warning, LimitKind::Network, rule));
    }
    if text.contains("stream disconnected before completion") {
        return Some(Finding::new(Severity::Warning, LimitKind::Network, "stream-disconnected"));
    }
    None
}

/// Blocks of `source` that are neither our own echo, nor user-message history, nor the
/// `/status` card.
fn message_blocks<'a>(all: &'a [Block], sent: Option<&str>) -> impl Iterator<Item = &'a Block> + 'a {
    let sent = sent.map(|s| fold(s)).filter(|s| !s.is_empty());
    all.iter().filter(move |b| {
        if b.marker == Some('›') || b.marker == Some('>') {
            return false; // user input, as the history and the composer show it
        }
        const STATUS_CARD: Needles = Needles::new(&["% left", "run /status"]);
        if STATUS_CARD.found_in(&b.text)
            && (b.text.contains("% left") || !b.text.contains("heads up") && !b.text.contains("used over"))
        {
            return false; // the /status card
        }
        match &sent {
            Some(s) => !(b.text.len() >= 8 && b.text.len() <= s.len() && s.contains(b.text.as_str())),
            None => true,
        }
    })
}

/// Pane blocks after the last echo of our sent text (all of them when it is not visible).
fn after_last_send(pane: &[Block], sent: Option<&str>) -> usize {
    let Some(sent) = sent.map(|s| fold(s)).filter(|s| !s.is_empty()) else { return 0 };
    let head: String = sent.chars().take(40).collect();
    pane.iter().rposition(|b| b.marker == Some('›') && (b.text.starts_with(&head) || head.starts_with(&b.text))).map_or(0, |i| i + 1)
}

fn tui_state(pane_text: &str, pane: &[Block], running: bool, profile: &str) -> TuiState {
    if !running {
        return TuiState::NotRunning;
    }
    // The current screen is the bottom of the pane.
    let bottom: Vec<&Block> = pane.iter().rev().take(12).collect();
    const POPUP: Needles = Needles::new(&["approaching rate limits", "keep current model"]);
    const DIALOG: Needles = Needles::new(&[
        "trust this folder",
        "do you trust the files",
        "continue only if you trust these files",
        "would you like to run the following command",
        "allow command?",
        // The first-run sign-in screen.
        "choose how you want to use codex",
        "sign in with chatgpt",
    ]);
    if bottom.iter().any(|b| POPUP.found_in(&b.text)) {
        return TuiState::Popup;
    }
    if bottom.iter().any(|b| DIALOG.found_in(&b.text)) {
        return TuiState::Dialog;
    }
    // Blank lines below an inline viewport are no part of the screen's bottom.
    let tail: String = pane_text.lines().rev().filter(|l| !l.trim().is_empty()).take(8).collect::<Vec<_>>().join("\n").to_lowercase();
    // "• Working (12s • esc to interrupt)"
    if tail.lines().any(|l| l.find("working").is_some_and(|w| l[w..].contains("esc to interrupt"))) {
        return TuiState::Working;
    }
    const IDLE_MARKS: Needles =
        Needles::new(&["ask codex to do anything", "ask a follow-up question", "? for shortcuts", "context left", "send a message"]);
    if profile == "codex" && (IDLE_MARKS.found_in(&tail) || tail.lines().any(|l| l.trim_start().starts_with('›'))) {
        return TuiState::Idle;
    }
    if profile != "codex" && tail.lines().any(|l| l.trim_start().starts_with(['›', '>', '$'])) {
        return TuiState::Idle;
    }
    TuiState::Unknown
}

/// The classifier proper.
pub fn classify(input: &ClassifyInput) -> ClassifyOutput {
    let pane = blocks(&input.pane);
    let tui = tui_state(&input.pane, &pane, input.running, &input.profile);
    let sent = input.last_sent.as_deref();
    let start = after_last_send(&pane, sent);
    let since = blocks(&input.since_last_send);

    let mut latest: Option<Finding> = None;
    let mut latest_line = 0usize;
    for b in message_blocks(&pane[start..], sent) {
        if let Some(f) = finding(&b.text, input.now_epoch_seconds, input.utc_offset_seconds) {
            latest = Some(f);
            latest_line = b.first_line;
        }
    }
    // The raw-log tail since the send can hold a message that already scrolled off the pane.
    if latest.is_none() {
        for b in message_blocks(&since, sent) {
            if let Some(f) = finding(&b.text, input.now_epoch_seconds, input.utc_offset_seconds) {
                latest = Some(f);
            }
        }
    }
    let _ = latest_line;

    let mut f = latest.unwrap_or_else(|| Finding::new(Severity::None, LimitKind::None, "none"));
    if f.severity == Severity::Limited && f.reset_at.is_some_and(|r| r <= input.now_epoch_seconds) {
        f = Finding::new(Severity::None, LimitKind::None, "limit-reset-passed");
    }
    if f.severity == Severity::None {
        f.kind = LimitKind::None;
        f.window = LimitWindow::None;
    }
    let (model, model_source) = if let Some(bucket) = &f.model_bucket {
        (Some(bucket.clone()), ModelSource::LimitText)
    } else if f.severity != Severity::None && input.assignment_model.is_some() {
        (input.assignment_model.clone(), ModelSource::Assignment)
    } else if let Some(m) = &input.session_model {
        (Some(m.clone()), ModelSource::Session)
    } else {
        (None, ModelSource::Unknown)
    };
    let blocks_input = matches!(tui, TuiState::Popup | TuiState::Dialog);
    ClassifyOutput {
        severity: f.severity,
        kind: f.kind,
        window: f.window,
        reset_at_epoch_seconds: f.reset_at,
        model_bucket: f.model_bucket,
        model,
        model_source,
        used_percent: f.used_percent,
        tui,
        blocks_input,
        rule: f.rule.to_owned(),
    }
}

pub mod vectors {
    //! Self-test vectors: real Codex 0.169 screens and older forms. `ext verify` runs them
    //! against the component; the native unit tests run them against the same code.
    use super::*;

    /// 2026-11-24T10:00:00Z.
    pub const NOW: u64 = 1_795_514_400;

    pub fn input(pane: &str) -> ClassifyInput {
        ClassifyInput {
            pane: pane.to_owned(),
            since_last_send: String::new(),
            last_sent: None,
            pane_width: 100,
            running: true,
            profile: "codex".to_owned(),
            session_model: Some("gpt-5.4-mini".to_owned()),
            assignment_model: None,
            now_epoch_seconds: NOW,
            utc_offset_seconds: 0,
        }
    }

    pub fn none(tui: TuiState) -> ClassifyOutput {
        ClassifyOutput {
            severity: Severity::None,
            kind: LimitKind::None,
            window: LimitWindow::None,
            reset_at_epoch_seconds: None,
            model_bucket: None,
            model: Some("gpt-5.4-mini".to_owned()),
            model_source: ModelSource::Session,
            used_percent: None,
            tui,
            blocks_input: false,
            rule: "none".to_owned(),
        }
    }

    fn limited(kind: LimitKind, rule: &str, tui: TuiState) -> ClassifyOutput {
        ClassifyOutput { severity: Severity::Limited, kind, window: LimitWindow::Unknown, rule: rule.to_owned(), ..none(tui) }
    }

    fn warning(kind: LimitKind, rule: &str, tui: TuiState) -> ClassifyOutput {
        ClassifyOutput { severity: Severity::Warning, kind, window: LimitWindow::Unknown, rule: rule.to_owned(), ..none(tui) }
    }

    const IDLE_FOOTER: &str = "\n› Ask Codex to do anything\n\n  ? for shortcuts                                   100% context left";

    fn v(name: &str, pane: &str, expected: ClassifyOutput) -> Vector {
        Vector { name: name.to_owned(), input: input(pane), expected }
    }

    pub fn all() -> Vec<Vector> {
        let mut out = vec![
            v("idle composer", &format!("╭──────────────╮\n│ >_ OpenAI Codex (v0.169.0) │\n╰──────────────╯{IDLE_FOOTER}"), none(TuiState::Idle)),
            v("working line", "• Working (12s • esc to interrupt)\n\n› \n  ? for shortcuts", none(TuiState::Working)),
            v(
                "usage limit 0.169, curly apostrophe, try again at",
                &format!("■ You\u{2019}ve hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus),\n  or try again at 3:05 PM.{IDLE_FOOTER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 5 * 3600 + 300), ..limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle) },
            ),
            v(
                "usage limit, ASCII apostrophe, try again in",
                &format!("■ You've hit your usage limit. Try again in 2 hours 5 minutes.{IDLE_FOOTER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 7500), ..limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle) },
            ),
            v(
                "usage limit, try again later",
                &format!("■ You've hit your usage limit. To get more access now, send a request to your admin or try again later.{IDLE_FOOTER}"),
                limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle),
            ),
            v(
                "usage limit with a date",
                &format!("■ You\u{2019}ve hit your usage limit. Visit https://chatgpt.com/settings/usage to purchase more credits or try again at Nov 27th, 2026 9:30 AM.{IDLE_FOOTER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 3 * 86_400 - 1800), ..limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle) },
            ),
            v(
                "per-model bucket (Spark), wrapped at the pane width",
                &format!("■ You\u{2019}ve hit your usage limit for GPT-5.3-Codex-Spark. Switch to another model now, or try again\n  in 45 minutes.{IDLE_FOOTER}"),
                ClassifyOutput {
                    reset_at_epoch_seconds: Some(NOW + 2700),
                    model_bucket: Some("gpt-5.3-codex-spark".into()),
                    model: Some("gpt-5.3-codex-spark".into()),
                    model_source: ModelSource::LimitText,
                    ..limited(LimitKind::Usage, "model-usage-limit-reached", TuiState::Idle)
                },
            ),
            v(
                "workspace out of credits",
                &format!("■ Your workspace is out of credits. Ask your workspace owner to refill in order to continue.{IDLE_FOOTER}"),
                limited(LimitKind::Credits, "credits-exhausted", TuiState::Idle),
            ),
            v(
                "spend cap",
                &format!("■ You hit your spend cap set in your workspace. Increase your spend cap to continue.{IDLE_FOOTER}"),
                limited(LimitKind::Credits, "credits-exhausted", TuiState::Idle),
            ),
            v(
                "usage warning 0.169 is not a limit",
                &format!("⚠ Heads up, you have less than 25% of your weekly limit left. Run /status for a breakdown.{IDLE_FOOTER}"),
                ClassifyOutput { window: LimitWindow::Weekly, used_percent: Some(75), ..warning(LimitKind::Usage, "usage-warning", TuiState::Idle) },
            ),
            v(
                "usage warning, older form",
                &format!("⚠ Heads up, you've used over 75% of your 5h limit. Run /status for a breakdown.{IDLE_FOOTER}"),
                ClassifyOutput { window: LimitWindow::FiveHour, used_percent: Some(75), ..warning(LimitKind::Usage, "usage-warning", TuiState::Idle) },
            ),
            v(
                "429 retries exhausted",
                &format!("■ exceeded retry limit, last status: 429 Too Many Requests, request id: abc{IDLE_FOOTER}"),
                limited(LimitKind::Rate, "rate-limited", TuiState::Idle),
            ),
            v(
                "quota and billing",
                &format!("■ Quota exceeded. Check your plan and billing details.{IDLE_FOOTER}"),
                limited(LimitKind::Quota, "quota-exceeded", TuiState::Idle),
            ),
            v(
                "plan does not include Codex",
                &format!("■ To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.{IDLE_FOOTER}"),
                limited(LimitKind::Plan, "plan-excludes-codex", TuiState::Idle),
            ),
            v(
                "model at capacity",
                &format!("■ Selected model is at capacity. Please try a different model.{IDLE_FOOTER}"),
                limited(LimitKind::Capacity, "model-at-capacity", TuiState::Idle),
            ),
            v(
                "high demand is a warning",
                &format!("⚠ We\u{2019}re currently experiencing high demand, which may cause temporary errors.{IDLE_FOOTER}"),
                warning(LimitKind::Capacity, "high-demand", TuiState::Idle),
            ),
            v(
                "context window exhausted",
                &format!("■ Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.{IDLE_FOOTER}"),
                limited(LimitKind::Context, "context-window-exhausted", TuiState::Idle),
            ),
            v(
                "reconnecting",
                "⚠ stream error: stream disconnected before completion; Reconnecting... 2/5\n• Working (3s • esc to interrupt)",
                warning(LimitKind::Network, "reconnecting", TuiState::Working),
            ),
            v(
                "switch-model popup blocks input",
                "  Approaching rate limits\n  Switch to gpt-5.4-mini for lower credit usage?\n\n› 1. Switch to gpt-5.4-mini  Uses fewer credits for upcoming turns\n  2. Keep current model\n  3. Keep current model (never show again)",
                ClassifyOutput { blocks_input: true, ..warning(LimitKind::Usage, "switch-model-popup", TuiState::Popup) },
            ),
            v(
                "trust dialog",
                "  Trust this folder? Codex can read, edit, and run files here, subject to your permission settings.\n  Continue only if you trust these files. Your trust decision will be saved.\n\n› 1. Yes, continue\n  2. No, quit",
                ClassifyOutput { blocks_input: true, ..none(TuiState::Dialog) },
            ),
            v(
                "first-run sign-in screen",
                "  Welcome to Codex, OpenAI's command-line coding agent\n\n  Choose how you want to use Codex.\n\n> 1. Sign in with ChatGPT\n     Usage included with Plus, Pro, Business, and Enterprise plans\n  2. Sign in with Device Code\n\n  Press enter to continue",
                ClassifyOutput { blocks_input: true, ..none(TuiState::Dialog) },
            ),
            v(
                "the /status card is not a limit",
                &format!("•  5h limit:     [██████████░░░░░░░░░░] 50% left (resets 14:32)\n   Weekly limit: [████░░░░░░░░░░░░░░░░] 20% left (resets 09:00 on 28 Nov){IDLE_FOOTER}"),
                none(TuiState::Idle),
            ),
            v(
                "a later warning replaces an earlier limit",
                &format!("■ You've hit your usage limit. Try again later.\n\n⚠ Heads up, you have less than 10% of your 5h limit left. Run /status for a breakdown.{IDLE_FOOTER}"),
                ClassifyOutput { window: LimitWindow::FiveHour, used_percent: Some(90), ..warning(LimitKind::Usage, "usage-warning", TuiState::Idle) },
            ),
            v(
                "a reset time in the past no longer limits",
                &format!("■ You've hit your usage limit. Try again in 0 seconds.{IDLE_FOOTER}"),
                ClassifyOutput { rule: "limit-reset-passed".into(), ..none(TuiState::Idle) },
            ),
            Vector {
                name: "not running".into(),
                input: ClassifyInput { running: false, ..input("") },
                expected: none(TuiState::NotRunning),
            },
        ];
        // The echo of our own prompt never counts, nor does output before the last send.
        let sent = "Fix the rate limit handling: when the usage limit is reached, retry later.";
        out.push(Vector {
            name: "echo of our own prompt".into(),
            input: ClassifyInput {
                last_sent: Some(sent.into()),
                ..input(&format!("› Fix the rate limit handling: when the usage limit is reached, retry\n  later.\n\n• Working (4s • esc to interrupt)"))
            },
            expected: none(TuiState::Working),
        });
        out.push(Vector {
            name: "a limit before the last send is stale".into(),
            input: ClassifyInput {
                last_sent: Some("continue".into()),
                ..input(&format!("■ You've hit your usage limit. Try again later.\n\n› continue\n\n• Working (2s • esc to interrupt)"))
            },
            expected: none(TuiState::Working),
        });
        out.push(Vector {
            name: "a limit in the output since the send, scrolled off the pane".into(),
            input: ClassifyInput {
                since_last_send: "■ You've hit your usage limit for gpt-5.3-codex-spark. Try again later.".into(),
                assignment_model: Some("gpt-5.3-codex-spark".into()),
                ..input(IDLE_FOOTER)
            },
            expected: ClassifyOutput {
                model_bucket: Some("gpt-5.3-codex-spark".into()),
                model: Some("gpt-5.3-codex-spark".into()),
                model_source: ModelSource::LimitText,
                ..limited(LimitKind::Usage, "model-usage-limit-reached", TuiState::Idle)
            },
        });
        out.push(Vector {
            name: "an unqualified limit is charged to the assignment's model".into(),
            input: ClassifyInput { assignment_model: Some("gpt-5.3-codex-spark".into()), ..input(&format!("■ You've hit your usage limit. Try again later.{IDLE_FOOTER}")) },
            expected: ClassifyOutput {
                model: Some("gpt-5.3-codex-spark".into()),
                model_source: ModelSource::Assignment,
                ..limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle)
            },
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_holds() {
        let mut failed = Vec::new();
        for v in vectors::all() {
            let got = classify(&v.input);
            if got != v.expected {
                failed.push(format!("{}:\n  got      {got:?}\n  expected {:?}", v.name, v.expected));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    #[test]
    fn local_times_use_the_offset() {
        // 10:00Z is 11:00 in UTC+1; "at 3:05 PM" local is 14:05Z.
        let at = reset_time("try again at 3:05 pm.", vectors::NOW, 3600).unwrap();
        assert_eq!(at, vectors::NOW + 4 * 3600 + 300);
        // Already past today: tomorrow.
        assert_eq!(reset_time("try again at 9:00 am", vectors::NOW, 0).unwrap(), vectors::NOW + 23 * 3600);
        assert_eq!(reset_time("try again in 1h 30m", vectors::NOW, 0).unwrap(), vectors::NOW + 5400);
        assert_eq!(reset_time("try again in 4 days 1 hour 56 minutes", vectors::NOW, 0).unwrap(), vectors::NOW + 4 * 86_400 + 3600 + 56 * 60);
        assert_eq!(reset_time("try again in 1.2s", vectors::NOW, 0).unwrap(), vectors::NOW + 2);
        assert_eq!(reset_time("try again later", vectors::NOW, 0), None);
    }

    #[test]
    fn plain_mentions_of_limits_are_not_messages() {
        for text in ["the rate limit handling code lives in src/limits.rs", "we should add a usage limit to the api", "Weekly limit: 0% left"] {
            let out = classify(&vectors::input(&format!("• {text}\n\n› ")));
            assert_eq!(out.severity, Severity::None, "{text}: {out:?}");
        }
    }
}
