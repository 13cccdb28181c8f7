//! The limit classifier for Claude Code workers (2.1.x).
//!
//! Strings come from the published package (`@anthropic-ai/claude-code`, its embedded
//! JavaScript), not from memory:
//!
//! | family | Claude Code's text | result |
//! |---|---|---|
//! | plan limit | "You've hit your 5-hour limit · resets 3pm (UTC)", "… session limit", "… weekly limit" | limited, usage, window, reset |
//! | per-model limit | "You've hit your Opus limit", "… Sonnet limit" | limited, that model's bucket |
//! | credits / spend | "You're out of usage credits", "You've hit your monthly spend limit" | limited, credits |
//! | usage warning | "You've used 91% of your session limit · resets 3pm", "Approaching weekly limit" | warning |
//! | overload | "API Error: 529 … overloaded_error", "Repeated 529 Overloaded errors" | limited, capacity |
//! | rate limit | "API Error: 429 … rate_limit_error" | limited, rate |
//! | context | "Context low (3% remaining) · /compact …", "Prompt is too long" | warning / limited, context |
//! | sign-in | "Invalid API key · Please run /login", "Not logged in · Please run /login" | dialog, sign-in |
//! | usage limit, status line | "Usage limit reached · set to continue automatically at 6:48am" (2.1.332), "… continuing automatically at …" (2.1.328), "Claude usage limit reached. Your limit will reset at 3pm", "Opus limit reached · …" | limited, usage (a model's bucket), reset |
//! | per-model | "You've reached your Fable limit for this week" | limited, usage, that model's bucket |
//! | credits, org, seat | "Credit balance too low", "Your org is out of usage · …", "Your seat type doesn't include usage credits" | limited, credits |
//! | retry status line | "✻ 429 Rate limited · retrying in 2s · attempt 3/3", "✻ API error · retrying in 1s · attempt 2/3" | warning (rate, capacity, network) while working |
//! | server error | "API Error: 503 Service Unavailable. This is a server-side issue" | limited, capacity |
//! | network | "API Error: Unable to connect to API (…)" | limited, network |
//! | context | "Context limit reached · /compact …" | limited, context |
//! | start-up screens | "Unable to connect to Anthropic services", the welcome's "Choose the text style" | dialog |
//!
//! A reset time may carry a date ("resets Dec 11, 2:50am (America/Los_Angeles)"): the host gives
//! the offset of the zone the screen names. The start banner (with the working directory) and a
//! tool's output under its call (`● Bash(…)` then `⎿ …`) are never read for messages.
//!
//! States: `esc to interrupt` in the status line is working; "Do you want to proceed?" (and the
//! edit/create questions) with numbered options is a permission dialog; "Do you trust the files
//! in this folder?" is the trust dialog; the Pro limit menu "What do you want to do?" is a
//! dialog. Our own prompts (`> …` echoes) and Claude's answers (`⏺ …`) are never read for
//! messages, and the latest message wins.

use codex_master_guest_sdk::classify::{is_option, output, Finding};
use codex_master_guest_sdk::limits::{
    ClassifyInput, ClassifyOutput, DialogKind, ExtInfo, LimitKind, LimitWindow, ModelSource, Severity, TuiState, Vector,
};
use codex_master_guest_sdk::screen::{next_clock_time, paragraphs_at};
use codex_master_guest_sdk::LimitsExtension;

pub struct ClaudeLimits;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_limits!(ClaudeLimits);

impl LimitsExtension for ClaudeLimits {
    fn describe() -> ExtInfo {
        ExtInfo::new("limits-claude", env!("CARGO_PKG_VERSION"))
    }

    fn classify(input: ClassifyInput) -> ClassifyOutput {
        classify(&input)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors::all()
    }
}

/// Which limit a name in "your … limit" is.
fn limit_name(text: &str) -> Option<(LimitWindow, Option<&'static str>)> {
    let t = text.to_ascii_lowercase();
    let after = t.split_once("your ")?.1;
    Some(match after {
        a if a.starts_with("5-hour limit") || a.starts_with("session limit") => (LimitWindow::FiveHour, None),
        a if a.starts_with("weekly limit") => (LimitWindow::Weekly, None),
        a if a.starts_with("opus limit") => (LimitWindow::Weekly, Some("opus")),
        a if a.starts_with("sonnet limit") => (LimitWindow::Weekly, Some("sonnet")),
        a if a.starts_with("fable limit") => (LimitWindow::Weekly, Some("fable")),
        a if a.starts_with("monthly") => (LimitWindow::Monthly, None),
        _ => return None,
    })
}

fn percent_before(text: &str, marker: &str) -> Option<u8> {
    let at = text.find(marker)?;
    let digits: String = text[..at].chars().rev().take_while(|c| c.is_ascii_digit()).collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// The meaning of one paragraph, if it is a message of this CLI.
/// Text every message below contains; a paragraph with none of it is skipped unread.
const MESSAGE_HINTS: [&str; 16] = [
    "hit your",
    "usage credits",
    "% of your",
    "Approaching",
    "verloaded",
    "API Error",
    "rate_limit",
    "too long",
    "Context l",
    "limit reached",
    "reached your",
    "Credit balance",
    "out of usage",
    "include usage",
    "retrying in",
    "Unable to connect",
];

/// The retry status line of a turn that goes on ("✻ 429 Rate limited · retrying in 2s ·
/// attempt 3/3", "✻ API error · retrying in 1s · attempt 2/3"): a warning of its kind.
fn retrying(p: &str) -> Option<Finding> {
    let lower = p.to_ascii_lowercase();
    if !lower.contains("retrying in") || !lower.contains("attempt") {
        return None;
    }
    let (kind, rule) = if lower.contains("429") || lower.contains("rate limit") {
        (LimitKind::Rate, "retrying-rate-limited")
    } else if lower.contains("529") || lower.contains("overloaded") {
        (LimitKind::Capacity, "retrying-overloaded")
    } else {
        (LimitKind::Network, "retrying-api-error")
    };
    Some(Finding::new(Severity::Warning, kind, rule))
}

/// The first reset time a message gives, under any of the CLI's wordings.
fn reset_time(p: &str, now: u64, offset: i32) -> Option<u64> {
    ["resets", "reset at", "automatically at", "automatically"].iter().find_map(|m| next_clock_time(p, m, now, offset))
}

/// Credits, seats and billing: the account can pay for no more usage.
fn credits(norm: &str) -> Option<&'static str> {
    if norm.contains("Credit balance is too low") || norm.contains("Credit balance too low") {
        Some("credit-balance")
    } else if norm.contains("Your org is out of usage") {
        Some("org-out-of-usage")
    } else if norm.contains("seat type doesn't include usage") {
        Some("seat-without-credits")
    } else if norm.contains("out of usage credits")
        || norm.contains("needs usage credits")
        || norm.contains("requires usage credits")
    {
        Some("usage-credits")
    } else {
        None
    }
}

fn finding(p: &str, now: u64, offset: i32) -> Option<Finding> {
    if !MESSAGE_HINTS.iter().any(|h| p.contains(h)) {
        return None;
    }
    if let Some(f) = retrying(p) {
        return Some(f);
    }
    let reset = reset_time(p, now, offset);
    let norm: std::borrow::Cow<'_, str> =
        if p.contains('\u{2019}') { p.replace('\u{2019}', "'").into() } else { p.into() };
    if norm.contains("You've hit your") {
        if norm.contains("spend limit") {
            return Some(Finding {
                window: LimitWindow::Monthly,
                reset_at: reset,
                ..Finding::new(Severity::Limited, LimitKind::Credits, "spend-limit")
            });
        }
        let (window, bucket) = limit_name(&norm).unwrap_or((LimitWindow::Unknown, None));
        return Some(Finding {
            window,
            reset_at: reset,
            bucket: bucket.map(str::to_owned),
            ..Finding::new(
                Severity::Limited,
                LimitKind::Usage,
                if bucket.is_some() { "model-limit" } else { "plan-limit" },
            )
        });
    }
    if let Some(rule) = credits(&norm) {
        return Some(Finding { reset_at: reset, ..Finding::new(Severity::Limited, LimitKind::Credits, rule) });
    }
    // "You've reached your Fable limit for this week": a per-model limit.
    if let Some(rest) = norm.split_once("You've reached your ").map(|(_, r)| r) {
        let model = rest.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if rest.contains("limit") && !model.is_empty() && model.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Some(Finding {
                window: LimitWindow::Weekly,
                reset_at: reset,
                bucket: Some(model),
                ..Finding::new(Severity::Limited, LimitKind::Usage, "model-limit")
            });
        }
    }
    if let Some(pct) = norm.find("You've used ").and_then(|_| percent_before(&norm, "% of your")) {
        let (window, _) = limit_name(&norm).unwrap_or((LimitWindow::Unknown, None));
        return Some(Finding {
            window,
            reset_at: reset,
            used_percent: Some(pct.min(100)),
            ..Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning")
        });
    }
    if norm.starts_with("Approaching ") && norm.contains("limit") {
        let (window, _) =
            limit_name(&format!("your {}", &norm["Approaching ".len()..])).unwrap_or((LimitWindow::Unknown, None));
        return Some(Finding {
            window,
            reset_at: reset,
            ..Finding::new(Severity::Warning, LimitKind::Usage, "usage-warning")
        });
    }
    let lower = norm.to_ascii_lowercase();
    if lower.contains("context limit reached") {
        return Some(Finding::new(Severity::Limited, LimitKind::Context, "context-limit"));
    }
    // "Usage limit reached · set to continue automatically at 6:48am" (2.1.332), "… continuing
    // automatically at …" (2.1.328), "usage limit reached. Your limit will reset at 3pm", a
    // model's "Opus limit reached · …".
    if lower.contains("limit reached") && !lower.contains("spend limit") {
        let name = lower.split("limit reached").next().unwrap_or("").split_whitespace().last().unwrap_or("");
        let bucket = match name {
            "opus" | "sonnet" | "fable" | "haiku" => Some(name.to_owned()),
            _ => None,
        };
        return Some(Finding {
            window: if bucket.is_some() { LimitWindow::Weekly } else { LimitWindow::Unknown },
            reset_at: reset,
            bucket: bucket.clone(),
            ..Finding::new(
                Severity::Limited,
                LimitKind::Usage,
                if bucket.is_some() { "model-limit" } else { "usage-limit" },
            )
        });
    }
    if lower.contains("overloaded") || lower.contains("api error: 529") {
        return Some(Finding::new(Severity::Limited, LimitKind::Capacity, "overloaded"));
    }
    // "API Error: 503 Service Unavailable. This is a server-side issue": the service, not us.
    if lower.contains("api error: 5") {
        return Some(Finding::new(Severity::Limited, LimitKind::Capacity, "server-error"));
    }
    if lower.contains("unable to connect to api") {
        return Some(Finding::new(Severity::Limited, LimitKind::Network, "unable-to-connect"));
    }
    if (lower.contains("api error") && (lower.contains("429") || lower.contains("rate limit")))
        || lower.contains("rate_limit_error")
    {
        return Some(Finding::new(Severity::Limited, LimitKind::Rate, "rate-limited"));
    }
    if norm.contains("Prompt is too long") {
        return Some(Finding::new(Severity::Limited, LimitKind::Context, "prompt-too-long"));
    }
    if norm.contains("Context low (") || norm.contains("Context left until auto-compact") {
        let pct = percent_before(&norm, "% remaining").or_else(|| percent_before(&norm, "%"));
        return Some(Finding {
            used_percent: pct.map(|p| 100u8.saturating_sub(p)),
            ..Finding::new(Severity::Warning, LimitKind::Context, "context-low")
        });
    }
    None
}

/// How the CLI's own messages begin when it prints them as a history cell (`● API Error: …`).
const CLI_MESSAGES: [&str; 20] = [
    "API Error",
    "Claude usage limit reached",
    "Opus limit reached",
    "Sonnet limit reached",
    "Fable limit reached",
    "You've hit your",
    "You\u{2019}ve hit your",
    "You've reached your",
    "You're out of",
    "You've used",
    "Prompt is too long",
    "Context low",
    "Context limit reached",
    "Invalid API key",
    "Not logged in",
    "Usage limit reached",
    "Credit balance",
    "Your org is out of usage",
    "Your seat type",
    "Unable to connect to API",
];

/// A prompt line: the composer or an echo of a prompt (`❯ text`, `> text`), no numbered option.
fn prompt_line(line: &str) -> bool {
    let t = line.trim_start().trim_start_matches('│').trim_start();
    (t.starts_with('❯') || t.starts_with('>')) && !is_option(line)
}

fn rule_line(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '─' | '━' | '╭' | '╮' | '╰' | '╯'))
}

/// The history after our last prompt's echo, then the footer below the composer.
fn since_last_prompt(lines: &[&str]) -> String {
    // The composer: the last prompt line framed by a rule (2.1) or a box above it.
    let composer = lines
        .iter()
        .rposition(|l| prompt_line(l))
        .filter(|&i| lines[..i].iter().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| rule_line(l)));
    let (history_end, footer) = match composer {
        Some(i) => (lines[..i].iter().rposition(|l| rule_line(l)).unwrap_or(i), &lines[i + 1..]),
        None => (lines.len(), &lines[lines.len()..]),
    };
    let history = &lines[..history_end];
    let from = history.iter().rposition(|l| prompt_line(l)).unwrap_or_else(|| banner_end(history));
    let mut out = history[from..].join("\n");
    out.push_str("\n\n");
    out.push_str(&footer.join("\n"));
    out
}

/// The first line after the start banner ("Claude Code v2.1…", the model, the working
/// directory), which is no message: a directory named after a limit limits nothing.
fn banner_end(lines: &[&str]) -> usize {
    let top = lines.iter().take(8).position(|l| l.contains("Claude Code"));
    match top {
        Some(at) => lines[at..].iter().position(|l| l.trim().is_empty()).map_or(lines.len(), |n| at + n),
        None => 0,
    }
}

/// A tool call's line (`● Bash(rm -rf build)`, `⏺ Read(src/a.rs)`): what follows it under `⎿`
/// is the tool's output, never a message of the CLI.
fn tool_call(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('●').or_else(|| p.strip_prefix('⏺')) else { return false };
    let name: String = rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    !name.is_empty() && rest.trim_start()[name.len()..].starts_with('(')
}

/// The dialog at the bottom of the screen, if one holds it.
fn dialog(bottom: &str) -> Option<DialogKind> {
    // The start-up screens hold the terminal without a numbered choice: the connectivity check
    // that failed, and the first-run welcome (its text style choice).
    if bottom.contains("Unable to connect to Anthropic services") || bottom.contains("Choose the text style") {
        return Some(DialogKind::Other);
    }
    if !bottom.lines().any(is_option) {
        return None;
    }
    let b = bottom.replace('\u{2019}', "'");
    Some(if b.contains("trust the files in this folder") || b.contains("Yes, I trust this folder") {
        DialogKind::Trust
    } else if b.contains("Select login method") || b.contains("Please run /login") {
        DialogKind::SignIn
    } else {
        DialogKind::Other
    })
}

pub fn classify(input: &ClassifyInput) -> ClassifyOutput {
    let lines: Vec<&str> = input.pane.lines().collect();
    // The last 16 lines with text: a tall pane leaves blank rows below the screen's content.
    let shown: Vec<&str> = lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
    let bottom = shown[shown.len().saturating_sub(16)..].join("\n");
    let (tui, mut dialog_kind) = if !input.running {
        (TuiState::NotRunning, DialogKind::None)
    } else if let Some(kind) = dialog(&bottom) {
        (TuiState::Dialog, kind)
    } else if bottom.contains("esc to interrupt") {
        (TuiState::Working, DialogKind::None)
    } else if bottom.contains("? for shortcuts")
        || bottom.contains("shift+tab to cycle")
        || lines.iter().rev().take(8).any(|l| {
            let t = l.trim_start().trim_start_matches('│').trim_start();
            (t.starts_with('>') || t.starts_with('❯')) && !is_option(l)
        })
    {
        (TuiState::Idle, DialogKind::None)
    } else {
        (TuiState::Unknown, DialogKind::None)
    };
    let mut found: Option<Finding> = None;
    // A prompt echo, an answer, a tool result or a status line starts a new paragraph even
    // without a blank line before it. Only what follows our last prompt counts (and the footer
    // below the composer): an old error above it is over.
    // Most screens hold no message at all: then nothing more is built.
    let any_message = MESSAGE_HINTS.iter().any(|h| input.pane.contains(h)) || input.pane.contains("/login");
    let starts = ['>', '❯', '⏺', '●', '⎿', '✻', '✶', '✳', '·', '─'];
    let paragraphs = if any_message { paragraphs_at(&since_last_prompt(&lines), &starts) } else { Vec::new() };
    let mut in_tool = false;
    for p in paragraphs {
        // A tool's output (under its call) may quote anything: it is never read.
        if p.starts_with('⎿') && in_tool {
            continue;
        }
        in_tool = tool_call(&p);
        let p = p.trim_start_matches('⎿').trim_start();
        // Our prompts are never messages of the CLI, and of what follows `●` only the CLI's own
        // errors are (Claude's answers share the glyph).
        if p.starts_with('>') || p.starts_with('❯') {
            continue;
        }
        let p = match p.strip_prefix('●').or_else(|| p.strip_prefix('⏺')) {
            Some(rest) if CLI_MESSAGES.iter().any(|m| rest.trim_start().starts_with(m)) => rest.trim_start(),
            Some(_) => continue,
            None => p,
        };
        if let Some(f) = finding(p, input.now_epoch_seconds, input.utc_offset_seconds) {
            found = Some(match found.take() {
                // The status line's "Usage limit reached · …" repeats the limit the message above
                // named: that one's window stays.
                Some(named)
                    if f.rule == "usage-limit"
                        && named.kind == LimitKind::Usage
                        && named.severity == Severity::Limited =>
                {
                    Finding { reset_at: named.reset_at.or(f.reset_at), ..named }
                }
                _ => f,
            });
        }
        if p.contains("Please run /login") && dialog_kind == DialogKind::None && input.running {
            dialog_kind = DialogKind::SignIn;
        }
    }
    let tui = if dialog_kind == DialogKind::SignIn { TuiState::Dialog } else { tui };
    output(input, tui, dialog_kind, found)
}

pub mod vectors {
    //! Self-test vectors: Claude Code 2.1 screens built from the package's own strings.
    use super::*;

    /// 2026-11-24T10:00:00Z.
    pub const NOW: u64 = 1_795_514_400;

    const COMPOSER: &str = "\n╭──────────────────────────────────────────╮\n│ >                                        │\n╰──────────────────────────────────────────╯\n  ? for shortcuts";

    /// The real Claude Code 2.1.328 screen, captured in tmux against a loopback Messages API.
    const REAL_HEADER: &str =
        " ▐▛███▜▌   Claude Code v2.1.328\n▝▜█████▛▘  Opus 5.5 · API Usage Billing\n  ▘▘ ▝▝    /work/repo\n";
    const REAL_COMPOSER: &str = "────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ⏵⏵ auto mode on (shift+tab to cycle)";
    const REAL_COMPOSER_RESEND: &str = "────────────────────────────────────────\n❯ Resend your message to try again\n────────────────────────────────────────\n  ⏵⏵ auto mode on (shift+tab to cycle) · ← for agents";

    /// The real 2.1.332 banner and a working composer, captured likewise.
    const REAL_HEADER_332: &str =
        " ▐▛███▛█   Claude Code v2.1.332\n▝▜██████▀  Opus 5.5 · API Usage Billing\n ▝▝   ▝▝   /work/repo\n\n";
    const REAL_COMPOSER_WORKING: &str = "────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ⏵⏵ auto mode on (shift+tab to cycle) · esc to interrupt";

    pub fn input(pane: &str) -> ClassifyInput {
        codex_master_guest_sdk::classify::vector_input(pane, "claude", "sonnet", NOW)
    }

    pub fn none(tui: TuiState) -> ClassifyOutput {
        codex_master_guest_sdk::classify::calm(tui, "sonnet")
    }

    fn limited(kind: LimitKind, window: LimitWindow, rule: &str) -> ClassifyOutput {
        ClassifyOutput { severity: Severity::Limited, kind, window, rule: rule.to_owned(), ..none(TuiState::Idle) }
    }

    fn dialog(kind: DialogKind) -> ClassifyOutput {
        ClassifyOutput { tui: TuiState::Dialog, blocks_input: true, dialog: kind, ..none(TuiState::Dialog) }
    }

    fn v(name: &str, pane: &str, expected: ClassifyOutput) -> Vector {
        Vector { name: name.to_owned(), input: input(pane), expected }
    }

    pub fn all() -> Vec<Vector> {
        vec![
            v("idle composer", &format!("⏺ Done: the answer is 42.{COMPOSER}"), none(TuiState::Idle)),
            v("working", "> run the tests\n\n✻ Pondering… (12s · ↑ 1.2k tokens · esc to interrupt)\n", none(TuiState::Working)),
            v(
                "5-hour limit with its reset, wrapped",
                &format!("> fix the build\n  ⎿  You've hit your 5-hour limit ·\n     resets 3pm (UTC){COMPOSER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 5 * 3600), ..limited(LimitKind::Usage, LimitWindow::FiveHour, "plan-limit") },
            ),
            v(
                "weekly limit",
                &format!("  ⎿  You've hit your weekly limit · resets 9:30am (UTC){COMPOSER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 23 * 3600 + 1800), ..limited(LimitKind::Usage, LimitWindow::Weekly, "plan-limit") },
            ),
            v(
                "per-model limit names its bucket",
                &format!("  ⎿  You've hit your Opus limit · resets 11pm (UTC){COMPOSER}"),
                ClassifyOutput {
                    reset_at_epoch_seconds: Some(NOW + 13 * 3600),
                    model_bucket: Some("opus".to_owned()),
                    model: Some("opus".to_owned()),
                    model_source: ModelSource::LimitText,
                    ..limited(LimitKind::Usage, LimitWindow::Weekly, "model-limit")
                },
            ),
            v(
                "out of usage credits",
                &format!("  ⎿  You're out of usage credits{COMPOSER}"),
                limited(LimitKind::Credits, LimitWindow::Unknown, "usage-credits"),
            ),
            v(
                "usage warning in the footer",
                "╭──────╮\n│ >    │\n╰──────╯\n  You've used 91% of your session limit · resets 3pm (UTC)",
                ClassifyOutput { severity: Severity::Warning, kind: LimitKind::Usage, window: LimitWindow::FiveHour, reset_at_epoch_seconds: Some(NOW + 5 * 3600), used_percent: Some(91), rule: "usage-warning".to_owned(), ..none(TuiState::Idle) },
            ),
            v(
                "overloaded, wrapped across lines",
                &format!("  ⎿  API Error: 529 {{\"type\":\"error\",\"error\":{{\"type\":\n     \"overloaded_error\",\"message\":\"Overloaded\"}}}}{COMPOSER}"),
                limited(LimitKind::Capacity, LimitWindow::Unknown, "overloaded"),
            ),
            v(
                "rate limited",
                &format!("  ⎿  API Error: 429 {{\"type\":\"error\",\"error\":{{\"type\":\"rate_limit_error\"}}}}{COMPOSER}"),
                limited(LimitKind::Rate, LimitWindow::Unknown, "rate-limited"),
            ),
            v(
                "context low",
                &format!("⏺ Working on it.{COMPOSER}  Context low (3% remaining) · /compact to free up space"),
                ClassifyOutput { severity: Severity::Warning, kind: LimitKind::Context, window: LimitWindow::Unknown, used_percent: Some(97), rule: "context-low".to_owned(), ..none(TuiState::Idle) },
            ),
            v(
                "permission prompt",
                "⏺ Bash(rm -rf build)\n\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and don't ask again for rm commands\n   3. No, and tell Claude what to do differently (esc)",
                dialog(DialogKind::Other),
            ),
            v(
                "trust dialog",
                " Do you trust the files in this folder?\n\n ❯ 1. Yes, proceed\n   2. No, exit",
                dialog(DialogKind::Trust),
            ),
            v(
                "login required",
                &format!("  ⎿  API Error: 401 Invalid API key · Please run /login{COMPOSER}"),
                ClassifyOutput { dialog: DialogKind::SignIn, blocks_input: true, ..none(TuiState::Dialog) },
            ),
            v(
                "2.1.328 idle: a rule-framed composer and the mode footer",
                &format!("{REAL_HEADER}❯ say hi\n● Done: the answer is 42.\n✻ Cogitated for 0s · done 3:36 AM\n{REAL_COMPOSER}"),
                none(TuiState::Idle),
            ),
            v(
                "2.1.328 rate limited (HTTP 429), as the real CLI draws it",
                &format!("{REAL_HEADER}❯ say hi\n● API Error: Request rejected (429) · Rate limited\n{REAL_COMPOSER_RESEND}"),
                limited(LimitKind::Rate, LimitWindow::Unknown, "rate-limited"),
            ),
            v(
                "2.1.328 overloaded (HTTP 529), wrapped, as the real CLI draws it",
                &format!("{REAL_HEADER}❯ again\n● API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway\n  (127.0.0.1:18888).\n{REAL_COMPOSER_RESEND}"),
                limited(LimitKind::Capacity, LimitWindow::Unknown, "overloaded"),
            ),
            v(
                "2.1.328 subscriber's 5-hour limit, as the real CLI draws it",
                &format!("{REAL_HEADER}❯ say hi\n  ⎿  You've hit your 5-hour limit · resets 6:48am (UTC)\n● Usage limit reached · continuing automatically at 6:48am · esc to cancel\n────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ⚠ Usage limit reached · limit resets 6:48am\n    Continuing automatically at 6:48am · Esc to cancel\n  ⏵⏵ auto mode on (shift+tab to cycle)"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 20 * 3600 + 48 * 60), ..limited(LimitKind::Usage, LimitWindow::FiveHour, "plan-limit") },
            ),
            v(
                "an error above our newer prompt is over",
                &format!("{REAL_HEADER}❯ again\n● API Error: 529 Overloaded. This is a server-side issue, usually temporary.\n❯ clean the build\n● Bash(rm -rf build)\n\n Do you want to proceed?\n ❯ 1. Yes\n   2. No, and tell Claude what to do differently (esc)"),
                dialog(DialogKind::Other),
            ),
            v(
                "an answer that quotes a limit is no limit",
                &format!("{REAL_HEADER}❯ what does the limit text say?\n● It says \"You've hit your weekly limit\".\n{REAL_COMPOSER}"),
                none(TuiState::Idle),
            ),
            v(
                "our own prompt quoting a limit is no limit",
                &format!("> Explain \"You've hit your weekly limit · resets 3pm\" to the user\n\n⏺ It means the weekly limit was reached.{COMPOSER}"),
                none(TuiState::Idle),
            ),
            v(
                "2.1.332 retry status line while the turn goes on: a rate warning",
                &format!("{REAL_HEADER_332}❯ retry two\n✻ 429 Rate limited · retrying in 1s · attempt 3/3\n{REAL_COMPOSER_WORKING}"),
                ClassifyOutput { severity: Severity::Warning, kind: LimitKind::Rate, window: LimitWindow::Unknown, rule: "retrying-rate-limited".to_owned(), ..none(TuiState::Working) },
            ),
            v(
                "2.1.332 retry of an API error",
                &format!("{REAL_HEADER_332}❯ retry test\n✻ API error · retrying in 1s · attempt 2/3\n{REAL_COMPOSER_WORKING}"),
                ClassifyOutput { severity: Severity::Warning, kind: LimitKind::Network, window: LimitWindow::Unknown, rule: "retrying-api-error".to_owned(), ..none(TuiState::Working) },
            ),
            v(
                "2.1.332 API Error: 503 Service Unavailable, as the real CLI draws it",
                &format!("{REAL_HEADER_332}❯ hello fourth\n● API Error: 503 Service Unavailable. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference\n  gateway (127.0.0.1:37911).\n{REAL_COMPOSER_RESEND}"),
                limited(LimitKind::Capacity, LimitWindow::Unknown, "server-error"),
            ),
            v(
                "2.1.332 subscriber's 5-hour limit and its menu, as the real CLI draws it",
                &format!("{REAL_HEADER_332}❯ say hi again\n  ⎿  You've hit your 5-hour limit · resets 3pm (UTC)\n▔▔▔▔▔▔▔▔▔▔▔▔\n  What do you want to do?\n  ❯ 1. Stop and wait for limit to reset\n    2. Wait here, then continue automatically at 3pm\n    3. Upgrade your plan\n  Enter to confirm · Esc to cancel"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 5 * 3600), tui: TuiState::Dialog, blocks_input: true, dialog: DialogKind::Other, ..limited(LimitKind::Usage, LimitWindow::FiveHour, "plan-limit") },
            ),
            v(
                "2.1.332 the wait is set: 'set to continue automatically at'",
                &format!("{REAL_HEADER_332}❯ say hi\n● Usage limit reached · set to continue automatically at 6:48am\n{REAL_COMPOSER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 20 * 3600 + 48 * 60), ..limited(LimitKind::Usage, LimitWindow::Unknown, "usage-limit") },
            ),
            v(
                "the older 'usage limit reached' form",
                &format!("> go on\n\n⏺ Claude usage limit reached. Your limit will reset at 3pm (UTC).{COMPOSER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 5 * 3600), ..limited(LimitKind::Usage, LimitWindow::Unknown, "usage-limit") },
            ),
            v(
                "a model's limit on the status line",
                &format!("> go on\n\n● Opus limit reached · resets 11pm (UTC){COMPOSER}"),
                ClassifyOutput {
                    reset_at_epoch_seconds: Some(NOW + 13 * 3600),
                    model_bucket: Some("opus".to_owned()),
                    model: Some("opus".to_owned()),
                    model_source: ModelSource::LimitText,
                    ..limited(LimitKind::Usage, LimitWindow::Weekly, "model-limit")
                },
            ),
            v(
                "you've reached a model's weekly limit",
                &format!("> go on\n\n  ⎿  You've reached your Fable limit for this week. Switch models?{COMPOSER}"),
                ClassifyOutput {
                    model_bucket: Some("fable".to_owned()),
                    model: Some("fable".to_owned()),
                    model_source: ModelSource::LimitText,
                    ..limited(LimitKind::Usage, LimitWindow::Weekly, "model-limit")
                },
            ),
            v(
                "credit balance too low",
                &format!("> go on\n\n● Credit balance too low · Add funds: https://platform.claude.com/settings/billing{COMPOSER}"),
                limited(LimitKind::Credits, LimitWindow::Unknown, "credit-balance"),
            ),
            v(
                "the organisation is out of usage",
                &format!("> go on\n\n  ⎿  Your org is out of usage · contact your admin{COMPOSER}"),
                limited(LimitKind::Credits, LimitWindow::Unknown, "org-out-of-usage"),
            ),
            v(
                "a seat without usage credits",
                &format!("> go on\n\n  ⎿  Your seat type doesn't include usage credits{COMPOSER}"),
                limited(LimitKind::Credits, LimitWindow::Unknown, "seat-without-credits"),
            ),
            v(
                "context limit reached",
                &format!("> go on\n\n● Context limit reached · /compact or /clear to continue{COMPOSER}"),
                limited(LimitKind::Context, LimitWindow::Unknown, "context-limit"),
            ),
            v(
                "unable to connect to the API",
                &format!("> go on\n\n● API Error: Unable to connect to API (ECONNREFUSED){COMPOSER}"),
                limited(LimitKind::Network, LimitWindow::Unknown, "unable-to-connect"),
            ),
            v(
                "the connectivity check holds the screen",
                "Checking connectivity…\n\nUnable to connect to Anthropic services\nFailed to connect to api.anthropic.com: ERR_BAD_REQUEST\n\nPress Enter to retry",
                dialog(DialogKind::Other),
            ),
            v(
                "the first-run welcome holds the screen",
                "Welcome to Claude Code v2.1.332\n\n Let's get started.\n\n Choose the text style that looks best with your terminal\n ❯ 1. Dark mode ✔\n   2. Light mode",
                dialog(DialogKind::Other),
            ),
            v(
                "a working directory named after limits is no message",
                &format!(" ▐▛███▛█   Claude Code v2.1.332\n▝▜██████▀  Opus 5.5 · API Usage Billing\n ▝▝   ▝▝   /work/api-error-529-overloaded_rate_limit_error-usage-limit-reached\n\n{REAL_COMPOSER}"),
                none(TuiState::Idle),
            ),
            v(
                "a tool's output that quotes a limit is no limit",
                &format!("{REAL_HEADER_332}❯ grep the handler\n● Bash(grep -n Quota src/api.rs)\n  ⎿  12: // API Error: 429 rate_limit_error: Quota exceeded\n     13: msg = \"You've hit your weekly limit · resets 3pm\"\n● The handler maps 429 to a retry.\n{REAL_COMPOSER}"),
                none(TuiState::Idle),
            ),
            Vector {
                name: "a dated weekly reset in the zone the CLI names".to_owned(),
                input: ClassifyInput {
                    utc_offset_seconds: -8 * 3600,
                    ..input(&format!("{REAL_HEADER_332}❯ more\n  ⎿  You've hit your weekly limit · resets Dec 11, 2:50am (America/Los_Angeles){COMPOSER}"))
                },
                // 2026-12-11T10:50:00Z.
                expected: ClassifyOutput { reset_at_epoch_seconds: Some(1_796_986_200), ..limited(LimitKind::Usage, LimitWindow::Weekly, "plan-limit") },
            },
            v(
                "a reset hour earlier in the day is tomorrow",
                &format!("  ⎿  You've hit your 5-hour limit · resets 9am (UTC){COMPOSER}"),
                ClassifyOutput { reset_at_epoch_seconds: Some(NOW + 23 * 3600), ..limited(LimitKind::Usage, LimitWindow::FiveHour, "plan-limit") },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_holds() {
        for v in vectors::all() {
            assert_eq!(classify(&v.input), v.expected, "{}", v.name);
        }
    }
}
