//! The limit classifier for Gemini CLI workers (0.61).
//!
//! Strings come from the published package (`@google/gemini-cli`, its bundle), not from memory:
//!
//! | family | Gemini CLI's text | result |
//! |---|---|---|
//! | usage limit | "Usage limit reached for gemini-2.5-pro." + "Access resets at 3:05 PM UTC." (a dialog: Keep trying / Stop) | limited, usage, that model, reset |
//! | daily quota | "You have exhausted your daily quota on this model." | limited, quota, daily |
//! | capacity | "We are currently experiencing high demand for gemini-2.5-pro." | limited, capacity |
//! | 429 | "RESOURCE_EXHAUSTED", "Resource has been exhausted", "Quota exceeded" | limited, rate |
//! | sign-in | "Invalid auth method selected.", "Waiting for auth" | dialog, sign-in |
//! | context | "(2% context left)" | warning, context |
//! | stall | "Thinking... (esc to cancel, 1m 5s)" for a minute or more with nothing shown: the CLI retries a 429 or a quota error silently | warning, rate |
//! | capacity | "You have exhausted your capacity on this model", "MODEL_CAPACITY_EXHAUSTED" (a TerminalQuotaError) | limited, capacity |
//! | daily quota by metric | "Quota exceeded for quota metric '… requests per day'" | limited, quota, daily (not a rate limit) |
//! | fallback | "Switched to fallback model gemini-2.5-flash" | warning, usage; the model it now runs |
//! | quota footer | "92% used (Limit resets in 3h 5m)", "Limit reached, resets in 1h" | warning with the percent / limited, usage |
//! | context full | "The input token count (…) exceeds the maximum number of tokens allowed" | limited, context |
//! | free tier | "Please /auth to upgrade or switch to an API key to continue." | limited, usage |
//! | dialogs | "Enter Gemini API Key" (sign-in), "Waiting for user confirmation..." (a tool's confirmation), the untrusted-folder notice with no composer (trust) | dialog |
//!
//! A tool call's box (`✓  Shell …`, `?  Shell …`, a failed `✕  Shell …`) and what it printed are
//! never read for messages.
//!
//! States: "(esc to cancel, 12s)" is working; "Type your message or @path/to/file" is the idle
//! composer; "Allow execution of", "Apply this change?" and "Do you want to proceed?" with numbered
//! options are permission dialogs; "Do you trust the files in this folder?" is the trust dialog.
//! Our prompts (`> …` echoes) and Gemini's answers (`✦ …`) are never read for messages.

use codex_master_guest_sdk::classify::{is_option, output, Finding};
use codex_master_guest_sdk::limits::{
    ClassifyInput, ClassifyOutput, DialogKind, ExtInfo, LimitKind, LimitWindow, ModelSource, Severity, TuiState, Vector,
};
use codex_master_guest_sdk::screen::{next_clock_time, paragraphs_at};
use codex_master_guest_sdk::LimitsExtension;

pub struct GeminiLimits;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_limits!(GeminiLimits);

impl LimitsExtension for GeminiLimits {
    fn describe() -> ExtInfo {
        ExtInfo::new("limits-gemini", env!("CARGO_PKG_VERSION"))
    }

    fn classify(input: ClassifyInput) -> ClassifyOutput {
        classify(&input)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors::all()
    }
}

/// The model a message names after `marker` (`gemini-2.5-pro`), without the closing dot.
fn model_after(text: &str, marker: &str) -> Option<String> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let word: String =
        rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).collect();
    let word = word.trim_end_matches('.').to_owned();
    // "Usage limit reached for all Pro models.": a family, not one model's bucket.
    (!word.is_empty() && word.len() <= 64 && word != "all" && word != "this").then_some(word)
}

/// Text every message below contains; a paragraph with none of it is skipped unread.
const MESSAGE_HINTS: [&str; 15] = [
    "Usage limit",
    "daily quota",
    "high demand",
    "RESOURCE_EXHAUSTED",
    "has been exhausted",
    "Quota exceeded",
    "status 429",
    "exhausted your capacity",
    "capacity exceeded",
    "CAPACITY_EXHAUSTED",
    "fallback model",
    "input token count",
    "to upgrade",
    "Limit reached",
    "Limit resets in",
];

/// `3h 5m`, `45m`, `20s`, `1d` after `marker`: the seconds from now it names.
fn duration_after(text: &str, marker: &str) -> Option<u64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let mut total = 0u64;
    let mut any = false;
    for word in rest.split_whitespace() {
        let word = word.trim_end_matches([')', '.', ',']);
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        let unit = match &word[digits..] {
            "d" => 86_400,
            "h" => 3600,
            "m" => 60,
            "s" => 1,
            _ => break,
        };
        total += word[..digits].parse::<u64>().ok()? * unit;
        any = true;
    }
    any.then_some(total)
}

/// "92% used (Limit resets in 3h 5m)" and "Limit reached, resets in 1h" of the quota footer.
fn quota_footer(p: &str, now: u64) -> Option<Finding> {
    if let Some(rest) = p.strip_prefix("Limit reached") {
        return Some(Finding {
            reset_at: duration_after(rest, "resets in").map(|d| now + d),
            ..Finding::new(Severity::Limited, LimitKind::Usage, "quota-limit-reached")
        });
    }
    let at = p.find("% used (Limit resets in")?;
    let digits: String = p[..at].chars().rev().take_while(char::is_ascii_digit).collect();
    let used: u8 = digits.chars().rev().collect::<String>().parse().ok()?;
    Some(Finding {
        used_percent: Some(used.min(100)),
        reset_at: duration_after(&p[at..], "resets in").map(|d| now + d),
        ..Finding::new(Severity::Warning, LimitKind::Usage, "quota-used")
    })
}

fn finding(p: &str, now: u64, offset: i32) -> Option<Finding> {
    if !MESSAGE_HINTS.iter().any(|h| p.contains(h)) {
        return None;
    }
    if let Some(f) = quota_footer(p, now) {
        return Some(f);
    }
    let reset = next_clock_time(p, "resets at", now, offset);
    if p.contains("Switched to fallback model") {
        return Some(Finding {
            bucket: model_after(p, "Switched to fallback model"),
            ..Finding::new(Severity::Warning, LimitKind::Usage, "fallback-model")
        });
    }
    if p.contains("exhausted your capacity") || p.contains("capacity exceeded") || p.contains("CAPACITY_EXHAUSTED") {
        return Some(Finding {
            reset_at: reset,
            // "… on this model": the session's; a model named after "for model" is its bucket.
            bucket: model_after(p, "for model"),
            ..Finding::new(Severity::Limited, LimitKind::Capacity, "capacity-exhausted")
        });
    }
    if p.contains("input token count") && p.contains("exceeds the maximum") {
        return Some(Finding::new(Severity::Limited, LimitKind::Context, "context-exceeded"));
    }
    if p.contains("/auth to upgrade") {
        return Some(Finding::new(Severity::Limited, LimitKind::Usage, "auth-to-upgrade"));
    }
    if p.contains("Usage limit reached for") {
        return Some(Finding {
            reset_at: reset,
            bucket: model_after(p, "Usage limit reached for"),
            ..Finding::new(Severity::Limited, LimitKind::Usage, "usage-limit")
        });
    }
    if p.contains("exhausted your daily quota") {
        return Some(Finding {
            window: LimitWindow::Daily,
            reset_at: reset,
            ..Finding::new(Severity::Limited, LimitKind::Quota, "daily-quota")
        });
    }
    if p.contains("experiencing high demand") {
        return Some(Finding {
            reset_at: reset,
            bucket: model_after(p, "high demand for"),
            ..Finding::new(Severity::Limited, LimitKind::Capacity, "high-demand")
        });
    }
    // A quota error that names a daily quota is the day's quota, not a rate limit.
    let daily = p.contains("per day") || p.contains("PerDay") || p.contains("per_day");
    if daily && (p.contains("Quota exceeded") || p.contains("RESOURCE_EXHAUSTED")) {
        return Some(Finding {
            window: LimitWindow::Daily,
            reset_at: reset,
            ..Finding::new(Severity::Limited, LimitKind::Quota, "daily-quota")
        });
    }
    if p.contains("RESOURCE_EXHAUSTED")
        || p.contains("Resource has been exhausted")
        || p.contains("Quota exceeded")
        || p.contains("status 429")
    {
        return Some(Finding {
            reset_at: reset,
            ..Finding::new(Severity::Limited, LimitKind::Rate, "resource-exhausted")
        });
    }
    None
}

/// A turn "Thinking..." this long with nothing shown: Gemini CLI retries rate and quota errors
/// behind that same screen (many times a second, or waiting out a reset), with no message.
pub const STALL_SECONDS: u64 = 60;

/// The seconds of "(esc to cancel, 1m 5s)": the CLI's own timer of the current model call.
fn thinking_seconds(bottom: &str) -> Option<u64> {
    let rest = &bottom[bottom.find("(esc to cancel, ")? + "(esc to cancel, ".len()..];
    let timer = &rest[..rest.find(')')?];
    let mut total = 0f64;
    for part in timer.split_whitespace() {
        let (number, unit) = part.split_at(part.find(|c: char| c.is_ascii_alphabetic())?);
        let n: f64 = number.parse().ok()?;
        total += match unit {
            "h" => n * 3600.0,
            "m" => n * 60.0,
            "s" => n,
            "ms" => n / 1000.0,
            _ => return None,
        };
    }
    Some(total as u64)
}

/// The footer's "(N% context left)": a warning when 10% or less is left. Read straight off the
/// pane: the footer is on every screen, so it must not cost a paragraph scan.
fn context_left(pane: &str) -> Option<Finding> {
    let at = pane.rfind("% context left")?;
    let digits: String = pane[..at].chars().rev().take_while(char::is_ascii_digit).collect();
    let left: u8 = digits.chars().rev().collect::<String>().parse().ok()?;
    (left <= 10).then(|| Finding {
        used_percent: Some(100 - left.min(100)),
        ..Finding::new(Severity::Warning, LimitKind::Context, "context-low")
    })
}

fn dialog(bottom: &str) -> Option<DialogKind> {
    if bottom.contains("Invalid auth method selected")
        || bottom.contains("Waiting for auth")
        || bottom.contains("Enter Gemini API Key")
    {
        return Some(DialogKind::SignIn);
    }
    // A tool call that waits for its confirmation ("Waiting for user confirmation..." is the
    // tip Gemini CLI shows meanwhile).
    if bottom.contains("Waiting for user confirmation") {
        return Some(DialogKind::Other);
    }
    // The untrusted-folder notice with no composer under it holds the start-up screen.
    if bottom.contains("This folder is untrusted") && !bottom.contains("Type your message") {
        return Some(DialogKind::Trust);
    }
    // A dialog marks its selected option (`● 1. …`); the start screen's numbered tips do not.
    let selected =
        |l: &str| l.trim_start_matches(|c: char| c.is_whitespace() || c == '│').starts_with('●') && is_option(l);
    if !bottom.lines().any(selected) {
        return None;
    }
    Some(if bottom.contains("Do you trust the files in this folder?") { DialogKind::Trust } else { DialogKind::Other })
}

/// A tool call's box (`✓  Shell cat src/a.rs`, `?  Shell …`, `✕  Shell …` when it failed): its
/// status glyph, then a tool name, never an error's `[`.
fn tool_box(p: &str) -> bool {
    if let Some(rest) = p.strip_prefix(['✓', '?', '⊷']) {
        return rest.trim_start().chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    }
    // A failed call shares the error glyph: its first word is a tool's display name.
    p.strip_prefix('✕').and_then(|rest| rest.split_whitespace().next()).is_some_and(|name| TOOL_NAMES.contains(&name))
}

/// Gemini CLI 0.61's tool display names (its bundle's `*_DISPLAY_NAME`).
const TOOL_NAMES: [&str; 12] = [
    "Shell",
    "ReadFile",
    "WriteFile",
    "Edit",
    "ReadFolder",
    "FindFiles",
    "SearchText",
    "ReadManyFiles",
    "WebFetch",
    "GoogleSearch",
    "SaveMemory",
    "WriteTodos",
];

pub fn classify(input: &ClassifyInput) -> ClassifyOutput {
    let lines: Vec<&str> = input.pane.lines().collect();
    // The last 16 lines with text: a tall pane leaves blank rows below the screen's content.
    let shown: Vec<&str> = lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
    let bottom = shown[shown.len().saturating_sub(16)..].join("\n");
    let (tui, dialog_kind) = if !input.running {
        (TuiState::NotRunning, DialogKind::None)
    } else if let Some(kind) = dialog(&bottom) {
        (TuiState::Dialog, kind)
    } else if bottom.contains("esc to cancel") {
        (TuiState::Working, DialogKind::None)
    } else if bottom.contains("Type your message") {
        (TuiState::Idle, DialogKind::None)
    } else {
        (TuiState::Unknown, DialogKind::None)
    };
    let mut found = None;
    // Most screens hold no message at all: then no paragraph is built.
    let any_message = MESSAGE_HINTS.iter().any(|h| input.pane.contains(h));
    let starts = ['>', '✦', '✕', 'ℹ', '⠋', '⠙', '⠹', '✓', '?', '⊷'];
    let paragraphs = if any_message { paragraphs_at(&input.pane, &starts) } else { Vec::new() };
    for p in paragraphs {
        // Our prompts, Gemini's answers and tool calls with their output (which may quote
        // anything) are never messages of the CLI.
        if p.starts_with('>') || p.starts_with('✦') || tool_box(&p) {
            continue;
        }
        if let Some(f) = finding(&p, input.now_epoch_seconds, input.utc_offset_seconds) {
            found = Some(f);
        }
    }
    let stalled = (tui == TuiState::Working && thinking_seconds(&bottom).is_some_and(|s| s >= STALL_SECONDS))
        .then(|| Finding::new(Severity::Warning, LimitKind::Rate, "stalled-retrying"));
    let found = found.or(stalled).or_else(|| context_left(&input.pane));
    // After a switch to its fallback model the worker runs on that model and draws on its bucket.
    let fallback = found.as_ref().filter(|f| f.rule == "fallback-model").and_then(|f| f.bucket.clone());
    let mut out = output(input, tui, dialog_kind, found);
    if let Some(model) = fallback {
        out.model = Some(model.clone());
        out.model_source = ModelSource::StatusText;
        out.model_bucket = Some(model);
    }
    out
}

pub mod vectors {
    //! Self-test vectors: Gemini CLI 0.61 screens built from the bundle's own strings.
    use super::*;

    /// 2026-11-24T10:00:00Z.
    pub const NOW: u64 = 1_795_514_400;

    const COMPOSER: &str = "\n╭────────────────────────────────────────────╮\n│ >   Type your message or @path/to/file      │\n╰────────────────────────────────────────────╯\n~/work        no sandbox        gemini-2.5-pro (98% context left)";

    pub fn input(pane: &str) -> ClassifyInput {
        codex_master_guest_sdk::classify::vector_input(pane, "gemini", "gemini-2.5-pro", NOW)
    }

    pub fn none(tui: TuiState) -> ClassifyOutput {
        codex_master_guest_sdk::classify::calm(tui, "gemini-2.5-pro")
    }

    fn limited(kind: LimitKind, rule: &str, tui: TuiState) -> ClassifyOutput {
        ClassifyOutput {
            severity: Severity::Limited,
            kind,
            window: LimitWindow::Unknown,
            rule: rule.to_owned(),
            ..none(tui)
        }
    }

    fn v(name: &str, pane: &str, expected: ClassifyOutput) -> Vector {
        Vector { name: name.to_owned(), input: input(pane), expected }
    }

    pub fn all() -> Vec<Vector> {
        let dialog = |kind| ClassifyOutput { blocks_input: true, dialog: kind, ..none(TuiState::Dialog) };
        vec![
            v("idle composer", &format!("✦ Done: the answer is 42.{COMPOSER}"), none(TuiState::Idle)),
            v(
                "0.61 start screen: numbered tips are no dialog",
                "Tips for getting started:\n1. Create GEMINI.md files to customize your interactions\n2. /help for more information\n────────────\n Shift+Tab to accept edits\n >   Type your message or @path/to/file\n /tmp/gm   no sandbox   Auto",
                none(TuiState::Idle),
            ),
            v("working", "> run the tests\n\n⠋ Thinking... (esc to cancel, 12s)\n", none(TuiState::Working)),
            v(
                "a minute of Thinking with nothing shown: retrying silently",
                "> run the tests\n\n⠋ Thinking... (esc to cancel, 1m 5s)\n",
                ClassifyOutput {
                    severity: Severity::Warning,
                    kind: LimitKind::Rate,
                    window: LimitWindow::Unknown,
                    rule: "stalled-retrying".to_owned(),
                    ..none(TuiState::Working)
                },
            ),
            v(
                "usage limit dialog names the model and the reset",
                "✕ Usage limit reached for gemini-2.5-pro.\nAccess resets at 3:05 PM UTC.\n/stats for usage details\n\n ● 1. Keep trying\n   2. Stop",
                ClassifyOutput {
                    reset_at_epoch_seconds: Some(NOW + 5 * 3600 + 300),
                    model_bucket: Some("gemini-2.5-pro".to_owned()),
                    model_source: ModelSource::LimitText,
                    blocks_input: true,
                    dialog: DialogKind::Other,
                    ..limited(LimitKind::Usage, "usage-limit", TuiState::Dialog)
                },
            ),
            v(
                "daily quota",
                &format!("✕ You have exhausted your daily quota on this model.{COMPOSER}"),
                ClassifyOutput { window: LimitWindow::Daily, ..limited(LimitKind::Quota, "daily-quota", TuiState::Idle) },
            ),
            v(
                "high demand, wrapped",
                &format!("✕ We are currently experiencing high demand for\ngemini-2.5-flash.\nWe apologize and appreciate your patience.{COMPOSER}"),
                ClassifyOutput {
                    model_bucket: Some("gemini-2.5-flash".to_owned()),
                    model: Some("gemini-2.5-flash".to_owned()),
                    model_source: ModelSource::LimitText,
                    ..limited(LimitKind::Capacity, "high-demand", TuiState::Idle)
                },
            ),
            v(
                "429 resource exhausted",
                &format!("✕ [API Error: {{\"error\":{{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}}}]{COMPOSER}"),
                limited(LimitKind::Rate, "resource-exhausted", TuiState::Idle),
            ),
            v(
                "permission prompt",
                "╭───────────────────────╮\n│ ? Shell rm -rf build  │\n│ Allow execution of: 'rm'? │\n│ ● 1. Allow once       │\n│   2. Allow always     │\n│   3. No, suggest changes (esc) │\n╰───────────────────────╯",
                dialog(DialogKind::Other),
            ),
            v(
                "0.61 usage limit dialog in its box, as the real CLI draws it (blank rows below)",
                &format!("{}\n\n\n\n", [
                    " > say hi",
                    "╭──────────────────────────────────────────────────────────╮",
                    "│                                                          │",
                    "│ Usage limit reached for gemini-3.5-flash-lite.           │",
                    "│ /stats model for usage details                           │",
                    "│ /model to switch models.                                 │",
                    "│                                                          │",
                    "│ ● 1. Switch to gemini-3.1-pro-preview-customtools        │",
                    "│   2. Stop                                                │",
                    "│                                                          │",
                    "╰──────────────────────────────────────────────────────────╯",
                ].join("\n")),
                ClassifyOutput {
                    model_bucket: Some("gemini-3.5-flash-lite".to_owned()),
                    model: Some("gemini-3.5-flash-lite".to_owned()),
                    model_source: ModelSource::LimitText,
                    blocks_input: true,
                    dialog: DialogKind::Other,
                    ..limited(LimitKind::Usage, "usage-limit", TuiState::Dialog)
                },
            ),
            v(
                "a limit for all Pro models names no single bucket",
                "✕ Usage limit reached for all Pro models.\n/stats model for usage details\n\n ● 1. Switch to gemini-3.5-flash\n   2. Stop",
                ClassifyOutput { blocks_input: true, dialog: DialogKind::Other, ..limited(LimitKind::Usage, "usage-limit", TuiState::Dialog) },
            ),
            v("trust dialog", "Do you trust the files in this folder?\n\n● 1. Trust folder\n  2. Trust parent folder\n  3. Don't trust", dialog(DialogKind::Trust)),
            v("sign-in", "Invalid auth method selected.\n\nHow would you like to authenticate for this project?", dialog(DialogKind::SignIn)),
            v(
                "context nearly full",
                "✦ ok\n╭──────╮\n│ >   Type your message or @path/to/file │\n╰──────╯\n~/work   no sandbox   gemini-2.5-pro (4% context left)",
                ClassifyOutput { severity: Severity::Warning, kind: LimitKind::Context, window: LimitWindow::Unknown, used_percent: Some(96), rule: "context-low".to_owned(), ..none(TuiState::Idle) },
            ),
            v(
                "a terminal quota error: the capacity of this model is exhausted",
                &format!("✕ [API Error: You have exhausted your capacity on this model. Your quota will reset after 2h.]{COMPOSER}"),
                limited(LimitKind::Capacity, "capacity-exhausted", TuiState::Idle),
            ),
            v(
                "a quota error that names a daily quota is the day's quota, not a rate limit",
                &format!("✕ [API Error: {{\"error\":{{\"code\":429,\"message\":\"Quota exceeded for quota metric 'Generate Content API requests per day' and limit 'GenerateRequestsPerDayPerProjectPerModel'\",\"status\":\"RESOURCE_EXHAUSTED\"}}}}]{COMPOSER}"),
                ClassifyOutput { window: LimitWindow::Daily, ..limited(LimitKind::Quota, "daily-quota", TuiState::Idle) },
            ),
            v(
                "the switch to a fallback model names the model it now runs",
                &format!("> go on\n\nℹ Switched to fallback model gemini-2.5-flash{COMPOSER}"),
                ClassifyOutput {
                    severity: Severity::Warning,
                    kind: LimitKind::Usage,
                    window: LimitWindow::Unknown,
                    model_bucket: Some("gemini-2.5-flash".to_owned()),
                    model: Some("gemini-2.5-flash".to_owned()),
                    model_source: ModelSource::StatusText,
                    rule: "fallback-model".to_owned(),
                    ..none(TuiState::Idle)
                },
            ),
            v(
                "the quota footer: 92% used",
                &format!("✦ ok{COMPOSER}\n 92% used (Limit resets in 3h 5m)"),
                ClassifyOutput {
                    severity: Severity::Warning,
                    kind: LimitKind::Usage,
                    window: LimitWindow::Unknown,
                    used_percent: Some(92),
                    reset_at_epoch_seconds: Some(NOW + 3 * 3600 + 5 * 60),
                    rule: "quota-used".to_owned(),
                    ..none(TuiState::Idle)
                },
            ),
            v(
                "the context window is full",
                &format!("✕ [API Error: The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).]{COMPOSER}"),
                limited(LimitKind::Context, "context-exceeded", TuiState::Idle),
            ),
            v(
                "/auth to upgrade",
                &format!("Usage limit: 1000 requests\nPlease /auth to upgrade or switch to an API key to continue.{COMPOSER}"),
                limited(LimitKind::Usage, "auth-to-upgrade", TuiState::Idle),
            ),
            v("the API key prompt", "Enter Gemini API Key\n\n> \n\n(Press Enter to submit, Esc to cancel)", dialog(DialogKind::SignIn)),
            v(
                "waiting for a tool's confirmation",
                "> clean the build\n\n⠋ Waiting for user confirmation...",
                dialog(DialogKind::Other),
            ),
            v(
                "the untrusted-folder notice before the composer is drawn",
                "ℹ This folder is untrusted, project settings, hooks, MCPs, and GEMINI.md files will not be applied for this folder.\nUse the `/permissions` command to change the trust level.",
                dialog(DialogKind::Trust),
            ),
            v(
                "a tool's output that quotes a quota error is no limit",
                &format!("> find the handler\n\n╭──────╮\n│ ✓  Shell grep -n Quota src/api.rs │\n│ 12: // 429 Quota exceeded: RESOURCE_EXHAUSTED │\n╰──────╯\n✦ The handler retries on 429.{COMPOSER}"),
                none(TuiState::Idle),
            ),
            v(
                "our own prompt quoting a limit is no limit",
                &format!("> What does \"Usage limit reached for gemini-2.5-pro.\" mean?\n\n✦ It means the quota is used up.{COMPOSER}"),
                none(TuiState::Idle),
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
