//! Helpers for classifier authors: a terminal screen read as paragraphs (CLIs hard-wrap long
//! errors, so `capture-pane -J` cannot join them), and a clock time in a message turned into the
//! next epoch second it names. Dependency-free, like [`crate::text`].

/// Box-drawing borders and prompt glyphs a TUI draws around text.
fn strip_frame(line: &str) -> &str {
    line.trim().trim_matches(|c: char| matches!(c, '│' | '┃' | '║' | '|')).trim()
}

/// The screen's paragraphs: runs of non-blank lines joined with single spaces, frames removed.
pub fn paragraphs(pane: &str) -> Vec<String> {
    paragraphs_at(pane, &[])
}

/// [`paragraphs`], where a line that starts (after frames) with one of `starts` also begins a new
/// paragraph: prompt echoes, answers and status lines stand apart even when the CLI draws no
/// blank line between them.
pub fn paragraphs_at(pane: &str, starts: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in pane.lines() {
        let line = strip_frame(line);
        let border =
            !line.is_empty() && line.chars().all(|c| matches!(c, '─' | '━' | '═' | '╭' | '╮' | '╰' | '╯' | '-' | ' '));
        if line.is_empty() || border || line.starts_with(starts) {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if line.is_empty() || border {
                continue;
            }
        }
        for word in line.split_whitespace() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A date before a clock time: `Dec 11, `, `Mar 17, 2030, ` or `Dec 11 at `. Returns the month,
/// the day, the year when given, and the text after the date.
fn date_prefix(text: &str) -> Option<(u32, u32, Option<i64>, &str)> {
    // `Dec`, `Dec.` or `December`.
    let word = text.bytes().take_while(u8::is_ascii_alphabetic).count();
    let name = text[..word].to_ascii_lowercase();
    let month =
        MONTHS.iter().position(|m| word >= 3 && (name == *m || (word == 3 && m.starts_with(&name))))? as u32 + 1;
    let rest = text[word..].strip_prefix('.').unwrap_or(&text[word..]);
    let rest = rest.strip_prefix(' ')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let day: u32 = rest.get(..digits).filter(|d| (1..=2).contains(&d.len()))?.parse().ok()?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let mut rest = &rest[digits..];
    rest = rest.strip_prefix(", ").or_else(|| rest.strip_prefix(" at ")).or_else(|| rest.strip_prefix(' '))?;
    let mut year = None;
    let ydigits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if ydigits == 4 && rest[4..].starts_with(", ") {
        year = rest[..4].parse().ok();
        rest = &rest[6..];
    }
    Some((month, day, year, rest.strip_prefix("at ").unwrap_or(rest)))
}

/// `3pm`, `3:05 PM`, `15:05` after `marker` in `text`, optionally with a date before it
/// (`Dec 11, 2:50am`, `Mar 17, 2030, 5:46pm`): the next such wall-clock time after `now` (epoch
/// seconds; a date without a year is the next one that is not long past), in the zone
/// `utc_offset` (seconds east of UTC), or in UTC when the time is followed by `UTC`/`GMT`.
pub fn next_clock_time(text: &str, marker: &str, now: u64, utc_offset: i32) -> Option<u64> {
    let at = text.to_ascii_lowercase().find(&marker.to_ascii_lowercase())? + marker.len();
    let rest = text[at..].trim_start();
    let (date, rest) = match date_prefix(rest) {
        Some((month, day, year, after)) => (Some((month, day, year)), after),
        None => (None, rest),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let mut hour: u64 = digits.parse().ok()?;
    let mut tail = &rest[digits.len()..];
    let mut minute = 0;
    if let Some(m) = tail.strip_prefix(':') {
        let mdigits: String = m.chars().take_while(|c| c.is_ascii_digit()).collect();
        if mdigits.len() != 2 {
            return None;
        }
        minute = mdigits.parse().ok()?;
        tail = &m[2..];
    }
    let tail = tail.trim_start();
    let lower = tail.to_ascii_lowercase();
    let (meridiem, tail) = if lower.starts_with("am") || lower.starts_with("a.m.") {
        (Some(false), &tail[2..])
    } else if lower.starts_with("pm") || lower.starts_with("p.m.") {
        (Some(true), &tail[2..])
    } else {
        (None, tail)
    };
    match meridiem {
        Some(pm) if (1..=12).contains(&hour) => hour = hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if digits.len() <= 2
            && hour < 24
            && minute < 60
            && !text[at..].trim_start()[digits.len()..].starts_with(':') =>
        {
            // A bare number without a colon is no clock time ("resets in 5 minutes").
            return None;
        }
        None if hour >= 24 => return None,
        None => {}
    }
    if minute >= 60 {
        return None;
    }
    let zone = tail.trim_start().trim_start_matches('(');
    let offset = if zone.starts_with("UTC") || zone.starts_with("GMT") { 0 } else { i64::from(utc_offset) };
    let local_now = now as i64 + offset;
    let clock = (hour * 3600 + minute * 60) as i64;
    if let Some((month, day, year)) = date {
        let this_year = crate::text::civil_from_days(local_now.div_euclid(86_400)).0;
        let at_year = |y: i64| crate::text::days_from_civil(y, month, day) * 86_400 + clock;
        let local = match year {
            Some(y) => at_year(y),
            // Two days of slack: a date just past is this year's (a screen read late).
            None if at_year(this_year) < local_now - 2 * 86_400 => at_year(this_year + 1),
            None => at_year(this_year),
        };
        return u64::try_from(local - offset).ok();
    }
    let day_start = local_now - local_now.rem_euclid(86_400);
    let mut local = day_start + clock;
    if local <= local_now {
        local += 86_400;
    }
    u64::try_from(local - offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_become_one_paragraph() {
        let pane = "│ API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\n│ \"overloaded_error\"}}  │\n\n> ";
        assert_eq!(
            paragraphs(pane)[0],
            "API Error: 529 {\"type\":\"error\",\"error\":{\"type\": \"overloaded_error\"}}"
        );
        assert_eq!(paragraphs("╭────╮\n│ > hi │\n╰────╯"), ["> hi"]);
    }

    #[test]
    fn clock_times_are_the_next_occurrence() {
        let now = 1_795_514_400; // 2026-11-24T10:00:00Z
        assert_eq!(next_clock_time("· resets 3pm (UTC)", "resets", now, 0), Some(now + 5 * 3600));
        assert_eq!(
            next_clock_time("Access resets at 9:30 AM UTC.", "resets at", now, 3600),
            Some(now + 23 * 3600 + 1800)
        );
        assert_eq!(next_clock_time("resets 3:05 PM", "resets", now, 3600), Some(now + 4 * 3600 + 300));
        assert_eq!(next_clock_time("resets 15:00", "resets", now, 0), Some(now + 5 * 3600));
        assert_eq!(next_clock_time("resets in 5 minutes", "resets", now, 0), None);
        assert_eq!(next_clock_time("resets 13pm", "resets", now, 0), None);
    }

    #[test]
    fn dated_reset_times_are_read_in_the_given_zone() {
        let now = 1_795_514_400; // 2026-11-24T10:00:00Z
                                 // Claude Code's weekly form: "resets Dec 11, 2:50am (America/Los_Angeles)", read with the
                                 // zone's offset (-8 h): 2026-12-11T10:50:00Z.
        assert_eq!(
            next_clock_time("limit · resets Dec 11, 2:50am (America/Los_Angeles)", "resets", now, -8 * 3600),
            Some(1_796_986_200)
        );
        // With a year, and an hour without minutes.
        assert_eq!(next_clock_time("resets Mar 17, 2030, 5:46pm (UTC)", "resets", now, 3600), Some(1_899_999_960));
        assert_eq!(next_clock_time("resets Dec 1, 9am", "resets", now, 0), Some(1_796_115_600));
        // A date long past without a year is next year's.
        assert_eq!(next_clock_time("resets Jan 2, 9am", "resets", now, 0), Some(1_798_880_400));
        assert_eq!(next_clock_time("resets Decimal 11, 2am", "resets", now, 0), None);
        assert_eq!(next_clock_time("resets Dec 40, 2am", "resets", now, 0), None);
    }
}
