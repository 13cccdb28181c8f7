//! The screen model of the Codex TUI (0.169 to 0.171; the scripted agent draws the same).
//!
//! A capture splits into regions, read from the bottom up:
//! - a **dialog** or popup: numbered options (`› 1. …`, `2. …`) with no composer below them,
//!   its heading above, and a key hint (`enter select · esc back`) under it;
//! - otherwise the **composer** (the last column-0 `›` line that is no option) and the
//!   **footer** below it (model, folder, and on 0.171 the thread's first prompt), plus the
//!   **status** lines just above the composer (the `• Working (… esc to interrupt)` line and
//!   right-aligned items such as `⚠ 5h limit: 8% left · /status`);
//! - the **history** above: cells that start at column 0 with a marker glyph (`›` our prompts,
//!   `•` the agent, `■` errors, `⚠` warnings). Continuation lines are indented, so text inside
//!   a prompt can never start a cell.
//!
//! Only error and warning cells after our last prompt, status items and the dialog are ever
//! read for limits: never prompt history, the footer, or the agent's own answers.

use crate::text::{fold, fold_into, Needles};

/// Glyphs that start a history cell at column 0.
pub const CELL_MARKERS: [char; 12] = ['■', '⚠', '•', '›', '>', '╭', '╰', '│', '─', '✔', '✗', '⏵'];

/// One history cell: its marker and its folded text (continuation lines joined).
#[derive(Debug)]
pub struct Cell {
    pub marker: Option<char>,
    pub text: String,
}

impl Cell {
    /// Our prompt, as the history shows it.
    pub fn is_prompt(&self) -> bool {
        matches!(self.marker, Some('›' | '>'))
    }

    /// An error or warning the CLI printed (never the agent's answer, never our prompt).
    pub fn is_notice(&self) -> bool {
        matches!(self.marker, Some('■' | '⚠'))
    }
}

/// Which dialog holds the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    Trust,
    SwitchModel,
    LimitIncrease,
    SignIn,
    Other,
}

#[derive(Debug)]
pub struct Dialog {
    pub kind: DialogKind,
    /// Folded text of the dialog's heading and options.
    pub text: String,
}

/// A parsed capture.
#[derive(Debug, Default)]
pub struct Screen {
    pub history: Vec<Cell>,
    /// Folded status items above the composer (the working line, right-aligned items).
    pub status: Vec<String>,
    /// Folded text of the composer (empty when it shows its placeholder or nothing).
    pub composer: Option<String>,
    /// Folded footer items (split at ` · `).
    pub footer: Vec<String>,
    pub dialog: Option<Dialog>,
    pub working: bool,
    /// The session's header card (`>_ OpenAI Codex (v…)`) is on screen: nothing scrolled off.
    pub header_visible: bool,
}

/// `› 2. No (default) (n)`, `  1. Yes, continue`, `> 1. Sign in with ChatGPT`.
fn option_number(line: &str) -> Option<u32> {
    let t = line.trim_start().trim_start_matches(['›', '>', '❯']).trim_start();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits == 0 || digits > 2 {
        return None;
    }
    t[digits..].starts_with(". ").then(|| t[..digits].parse().ok()).flatten()
}

fn is_composer_line(line: &str) -> bool {
    line.starts_with('›') && option_number(line).is_none()
}

/// The placeholder texts an empty composer shows.
const PLACEHOLDERS: Needles = Needles::new(&[
    "ask codex to do anything",
    "ask a follow-up question",
    "send a message",
    "implement {feature}",
    "find and fix a bug",
]);

fn dialog_kind(text: &str) -> DialogKind {
    const TRUST: Needles = Needles::new(&[
        "trust this folder",
        "do you trust the files",
        "continue only if you trust these files",
        "you are in a new folder",
    ]);
    const SWITCH: Needles = Needles::new(&["approaching rate limits", "keep current model", "for lower credit usage"]);
    const INCREASE: Needles = Needles::new(&["request increase?", "request a limit increase", "notify owner?"]);
    const SIGN_IN: Needles =
        Needles::new(&["sign in with chatgpt", "choose how you want to use codex", "sign in with device code"]);
    if TRUST.found_in(text) {
        DialogKind::Trust
    } else if SWITCH.found_in(text) {
        DialogKind::SwitchModel
    } else if INCREASE.found_in(text) {
        DialogKind::LimitIncrease
    } else if SIGN_IN.found_in(text) {
        DialogKind::SignIn
    } else {
        DialogKind::Other
    }
}

/// History cells of `lines`: a column-0 marker or a blank line starts a cell.
fn cells(lines: &[&str]) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::new();
    let mut open = false;
    for line in lines {
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        let marker = line.chars().next().filter(|c| CELL_MARKERS.contains(c));
        if marker.is_some() || !open {
            let body = if marker.is_some() { line.trim_start_matches(CELL_MARKERS) } else { line };
            let mut text = String::with_capacity(body.len());
            fold_into(&mut text, body.trim());
            out.push(Cell { marker, text });
            open = true;
        } else if let Some(c) = out.last_mut() {
            c.text.push(' ');
            fold_into(&mut c.text, line.trim());
        }
    }
    for c in &mut out {
        let t = c.text.trim_end().len();
        c.text.truncate(t);
    }
    out
}

/// Finds a dialog at the bottom of `lines` (blank tail already removed): numbered options with
/// no composer after them. Returns the index where it starts.
fn find_dialog(lines: &[&str]) -> Option<(usize, Dialog)> {
    let window_start = lines.len().saturating_sub(16);
    let options: Vec<usize> = (window_start..lines.len()).filter(|&i| option_number(lines[i]).is_some()).collect();
    let (&first, &last) = (options.first()?, options.last()?);
    let selected = options.iter().any(|&i| lines[i].trim_start().starts_with(['›', '>', '❯']));
    if options.len() < 2 || !selected || lines[last..].iter().any(|l| is_composer_line(l)) {
        return None;
    }
    // The heading: indented lines (and blanks) above the first option, up to the history.
    let mut start = first;
    while start > 0 && first - start < 12 {
        let above = lines[start - 1];
        if !above.trim().is_empty() && !above.starts_with(char::is_whitespace) {
            break;
        }
        start -= 1;
    }
    let mut text = String::new();
    for l in &lines[start..] {
        fold_into(&mut text, l.trim());
        text.push(' ');
    }
    let text = text.trim_end().to_owned();
    Some((start, Dialog { kind: dialog_kind(&text), text }))
}

/// A right-aligned status item (`                    ⚠ 5h limit: 8% left · /status`).
fn is_right_aligned(line: &str) -> bool {
    line.len() - line.trim_start().len() >= 20
}

fn is_working_line(folded: &str) -> bool {
    folded.find("working").is_some_and(|w| folded[w..].contains("esc to interrupt"))
        || folded.contains("esc to interrupt")
}

/// Parses a Codex capture.
pub fn parse(pane: &str) -> Screen {
    let mut lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut screen =
        Screen { header_visible: lines.iter().any(|l| l.contains(">_ OpenAI Codex")), ..Screen::default() };
    if let Some((start, dialog)) = find_dialog(&lines) {
        screen.history = cells(&lines[..start]);
        screen.dialog = Some(dialog);
        return screen;
    }
    let Some(composer_at) = lines.iter().rposition(|l| is_composer_line(l)) else {
        screen.history = cells(&lines);
        return screen;
    };
    // The composer runs to the next blank line; the footer is what follows.
    let composer_end =
        lines[composer_at..].iter().position(|l| l.trim().is_empty()).map_or(lines.len(), |n| composer_at + n);
    let mut composer = String::new();
    for l in &lines[composer_at..composer_end] {
        fold_into(&mut composer, l.trim().trim_start_matches('›'));
        composer.push(' ');
    }
    let composer = composer.trim().to_owned();
    screen.composer =
        Some(if PLACEHOLDERS.found_in(&composer) && composer.len() < 60 { String::new() } else { composer });
    for l in &lines[composer_end..] {
        for item in l.split(" · ") {
            let item = fold(item);
            if !item.is_empty() {
                screen.footer.push(item);
            }
        }
    }
    // Status lines sit right above the composer: the working line and right-aligned items.
    let mut history_end = composer_at;
    while history_end > 0 && composer_at - history_end < 6 {
        let l = lines[history_end - 1];
        if l.trim().is_empty() {
            history_end -= 1;
            continue;
        }
        let folded = fold(l.trim().trim_start_matches('•').trim());
        if is_working_line(&folded) || folded.starts_with("reconnecting") {
            screen.working |= is_working_line(&folded);
            screen.status.push(folded);
        } else if is_right_aligned(l) {
            screen.status.extend(l.trim().split(" · ").map(fold).filter(|s| !s.is_empty()));
        } else {
            break;
        }
        history_end -= 1;
    }
    screen.history = cells(&lines[..history_end]);
    screen
}

/// The history cells after the last echo of our sent text. Without a visible echo: none when
/// the composer still holds the text (not yet taken) or the session's header card is still on
/// screen (nothing scrolled off, so the echo is simply not drawn yet); all of them otherwise
/// (it scrolled off).
pub fn after_last_send<'a>(screen: &'a Screen, sent: Option<&str>) -> &'a [Cell] {
    let Some(sent) = sent.map(fold).filter(|s| !s.is_empty()) else { return &screen.history };
    let head: String = sent.chars().take(40).collect();
    let echo = screen.history.iter().rposition(|c| {
        c.is_prompt() && (c.text.starts_with(&head) || (c.text.len() >= 8 && head.starts_with(&c.text)))
    });
    let pending =
        screen.composer.as_deref().is_some_and(|c| !c.is_empty() && c.starts_with(&head[..head.len().min(24)]));
    match echo {
        Some(i) => &screen.history[i + 1..],
        None if pending || screen.header_visible => &[],
        None => &screen.history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_told_from_prompts() {
        assert_eq!(option_number("› 2. No (default) (n)"), Some(2));
        assert_eq!(option_number("  1. Yes (y)"), Some(1));
        assert_eq!(option_number("> 1. Sign in with ChatGPT"), Some(1));
        assert_eq!(option_number("› 2.5 is the version"), None);
        assert_eq!(option_number("› Ask Codex to do anything"), None);
        assert!(is_composer_line("› fix 1. the bug") && !is_composer_line("› 1. Trust and continue"));
    }

    #[test]
    fn the_0_171_footer_is_not_history() {
        let pane = "› You've hit your usage limit, please handle it\n\n• Done.\n\n› Ask Codex to do anything\n\n  GPT-6.2-Sol default · ~/work · You've hit your usage limit, please handle it\n  ← for agents · ? for shortcuts\n";
        let s = parse(pane);
        assert_eq!(s.composer.as_deref(), Some(""));
        assert!(s.footer.iter().any(|f| f.starts_with("you've hit your usage limit")));
        assert_eq!(s.history.len(), 2);
        assert!(s.history[0].is_prompt() && !s.history[1].is_notice());
    }

    #[test]
    fn prompt_text_inside_a_cell_never_starts_one() {
        let pane = "› first line of the prompt\n  ■ You've hit your usage limit (quoted)\n\n  ⚠ also quoted after a blank line\n\n› Ask Codex to do anything\n";
        let s = parse(pane);
        assert!(s.history.iter().all(|c| !c.is_notice()), "{:?}", s.history);
    }
}
