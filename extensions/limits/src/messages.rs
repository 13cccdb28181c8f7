//! The message families: what one rendered message (or status item) says about limits.
//!
//! Every function here reads folded text (lower-case, plain apostrophes, collapsed spaces) of
//! one message. Which messages are read at all is the screen model's business.

use codex_master_guest_sdk::limits::{LimitKind, LimitWindow, Severity};
use codex_master_guest_sdk::text::{civil_from_days, days_from_civil};

use crate::text::Needles;

/// What one message says.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub kind: LimitKind,
    pub window: LimitWindow,
    pub reset_at: Option<u64>,
    pub model_bucket: Option<String>,
    pub used_percent: Option<u8>,
    pub rule: &'static str,
}

impl Finding {
    pub fn new(severity: Severity, kind: LimitKind, rule: &'static str) -> Finding {
        Finding {
            severity,
            kind,
            window: LimitWindow::Unknown,
            reset_at: None,
            model_bucket: None,
            used_percent: None,
            rule,
        }
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

/// "heads up, you have less than 25% of your weekly limit left" → (25, "weekly");
/// "… of your gpt-5.3-codex-spark (5h) limit left" → (25, "gpt-5.3-codex-spark (5h)").
fn percent_of_your<'a>(text: &'a str, lead: &str) -> Option<(u32, &'a str)> {
    let rest = after(text, lead)?;
    let (n, rest) = leading_int(rest)?;
    let rest = rest.strip_prefix("% of your ")?;
    let end = rest.find(" limit")?;
    (end <= 60).then(|| (n, &rest[..end]))
}

/// A limit label: "weekly", "secondary usage", or "<model> (5h)" → (window, model bucket).
fn label_parts(label: &str) -> (LimitWindow, Option<String>) {
    match label.trim().strip_suffix(')').and_then(|l| l.rsplit_once(" (")) {
        Some((name, window)) => (window_from_label(window), Some(canonical_model(name))),
        None => (window_from_label(label), None),
    }
}

/// The status-line item "5h limit: 8% left" (also "weekly limit: …", "secondary usage limit: …")
/// → (window, percent left).
fn status_limit_left(text: &str) -> Option<(LimitWindow, u32)> {
    let (label, rest) = text.split_once(" limit: ")?;
    let (left, rest) = leading_int(rest)?;
    rest.starts_with("% left").then(|| (window_from_label(label.trim_start_matches(['⚠', ' '])), left))
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
        "5h" | "5-hour" | "5 hour" | "five-hour" | "5hr" | "primary" | "primary usage" => LimitWindow::FiveHour,
        "daily" | "day" | "24h" => LimitWindow::Daily,
        "weekly" | "week" | "7-day" | "7d" | "secondary" | "secondary usage" => LimitWindow::Weekly,
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

fn civil_year(days: i64) -> i64 {
    civil_from_days(days).0
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
pub fn reset_time(text: &str, now: u64, offset: i32) -> Option<u64> {
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
    // Seconds are optional ("3:05:30 PM").
    let (second, rest) = rest.strip_prefix(':').and_then(leading_int).unwrap_or((0, rest));
    let rest = rest.trim_start();
    if rest.starts_with("pm") && hour < 12 {
        hour += 12;
    } else if rest.starts_with("am") && hour == 12 {
        hour = 0;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (hour, minute, second) = (i64::from(hour), i64::from(minute), i64::from(second));
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
    let mut local = day * 86_400 + hour * 3_600 + minute * 60 + second;
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
pub fn finding(text: &str, now: u64, offset: i32) -> Option<Finding> {
    // Cheap gate: every family below contains one of these words.
    const GATE: Needles = Needles::new(&[
        "limit",
        "credit",
        "spend cap",
        "quota",
        "plan",
        "capacity",
        "demand",
        "high load",
        "context window",
        "overloaded",
        "reconnecting",
        "disconnected",
        "429",
        "included usage",
    ]);
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
    if text.contains("approaching rate limits") || text.contains("for lower credit usage?") {
        return Some(Finding::new(Severity::Warning, LimitKind::Usage, "switch-model-popup"));
    }
    if let Some((left, label)) = percent_of_your(text, "heads up, you have less than ") {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning");
        f.used_percent = Some(100 - left.min(100) as u8);
        (f.window, f.model_bucket) = label_parts(label);
        return Some(f);
    }
    if let Some((used, label)) = percent_of_your(text, "used over ") {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning");
        f.used_percent = Some(used.min(100) as u8);
        (f.window, f.model_bucket) = label_parts(label);
        return Some(f);
    }
    if let Some((window, left)) = status_limit_left(text) {
        let mut f = Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning");
        f.used_percent = Some(100 - left.min(100) as u8);
        f.window = window;
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
    if text.contains("your included usage is exhausted") {
        return Some(Finding::new(Severity::Limited, LimitKind::Usage, "included-usage-exhausted"));
    }
    if text.starts_with("goal hit usage limits") {
        return Some(Finding::new(Severity::Limited, LimitKind::Usage, "goal-usage-limit"));
    }
    if text.contains("request a limit increase from your owner") {
        return Some(Finding::new(Severity::Limited, LimitKind::Usage, "limit-increase-requested"));
    }
    if text.contains("hit your usage limit")
        || text.contains("reached your usage limit")
        || text.starts_with("usage limit reached")
    {
        let mut f = with_reset(Finding::new(Severity::Limited, LimitKind::Usage, "usage-limit-reached"));
        if let Some(model) = model_after_for(text) {
            f.model_bucket = Some(canonical_model(&model));
            f.rule = "model-usage-limit-reached";
        }
        f.window = [
            ("5h", LimitWindow::FiveHour),
            ("5-hour", LimitWindow::FiveHour),
            ("weekly", LimitWindow::Weekly),
            ("daily", LimitWindow::Daily),
            ("monthly", LimitWindow::Monthly),
        ]
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
    if text.contains("quota exceeded")
        || text.contains("exceeded your current quota")
        || text.contains("insufficient_quota")
    {
        return Some(Finding::new(Severity::Limited, LimitKind::Quota, "quota-exceeded"));
    }
    if text.contains("ran out of room in the model's context window")
        || text.contains("context window exceeded")
        || text.contains("context_length_exceeded")
        || text.contains("maximum context length")
    {
        return Some(Finding::new(Severity::Limited, LimitKind::Context, "context-window-exhausted"));
    }
    if text.contains("model is at capacity")
        || text.contains("capacity is unavailable")
        || text.contains("capacity unavailable")
    {
        return Some(with_reset(Finding::new(Severity::Limited, LimitKind::Capacity, "model-at-capacity")));
    }
    if text.contains("experiencing high demand")
        || text.contains("experiencing high load")
        || text.contains("server overloaded")
        || text.contains("server is overloaded")
    {
        return Some(Finding::new(Severity::Warning, LimitKind::Capacity, "high-demand"));
    }
    if let Some((n, total)) = reconnect_counts(text) {
        let rule = if total > 0 && n >= total { "reconnect-exhausted" } else { "reconnecting" };
        return Some(Finding::new(Severity::Warning, LimitKind::Network, rule));
    }
    if text.contains("reconnecting... waiting for network") || text.starts_with("reconnecting") {
        return Some(Finding::new(Severity::Warning, LimitKind::Network, "reconnecting"));
    }
    if text.contains("stream disconnected before completion") {
        return Some(Finding::new(Severity::Warning, LimitKind::Network, "stream-disconnected"));
    }
    None
}
