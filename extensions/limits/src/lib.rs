//! The default limit classifier.
//!
//! It reads the bounded, ANSI-stripped pane and decides per message family of the Codex CLI
//! (0.169 to 0.171, and older forms):
//!
//! | family | example | result |
//! |---|---|---|
//! | usage limit | "You’ve hit your usage limit. … try again at 3:05 PM." | limited, usage, reset time |
//! | per-model bucket | "You’ve hit your usage limit for GPT-5.3-Codex-Spark." | limited, that model only |
//! | credits / spend cap | "Your workspace is out of credits." / "You hit your spend cap …" | limited, credits |
//! | included usage, goal status | "Your included usage is exhausted." / "Goal hit usage limits" | limited, usage |
//! | usage warning | "Heads up, you have less than 25% of your weekly limit left." / "⚠ 5h limit: 8% left" | warning |
//! | 429 retries | "exceeded retry limit, last status: 429 Too Many Requests" | limited, rate |
//! | quota / plan | "Quota exceeded. Check your plan and billing details." | limited, quota / plan |
//! | capacity | "Selected model is at capacity." / "high demand" / "high load" | limited / warning |
//! | context window | "Codex ran out of room in the model's context window." | limited, context |
//! | network | "Reconnecting... 2/5", "Reconnecting... waiting for network" | warning, network |
//!
//! Dialogs are named: folder trust, the switch-model popup, the limit-increase popup after a
//! spend cap, the first-run sign-in screen, anything else with numbered options. Which text is
//! read at all is [`screen`]'s business: only the CLI's error and warning cells after our last
//! prompt, the status items above the composer, and the dialog; never prompt history, the
//! footer (0.171 shows the first prompt there) or the agent's own answers. The latest message
//! wins; a spend-cap message wins over the popup heading that follows it.

mod messages;
mod screen;
mod text;

use codex_master_guest_sdk::limits::{
    ClassifyInput, ClassifyOutput, DialogKind, ExtInfo, LimitKind, LimitWindow, ModelSource, Severity, TuiState, Vector,
};
use codex_master_guest_sdk::LimitsExtension;
#[cfg(test)]
use messages::reset_time;
use messages::{finding, Finding};
use screen::{Cell, Screen};
use text::{fold, fold_into};

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

/// What the screen says, before it becomes an output.
struct Reading {
    tui: TuiState,
    dialog: DialogKind,
    finding: Option<Finding>,
    screen_model: Option<String>,
}

/// The latest finding among `cells`.
fn latest_in<'a>(cells: impl Iterator<Item = &'a Cell>, input: &ClassifyInput) -> Option<Finding> {
    cells.filter_map(|c| finding(&c.text, input.now_epoch_seconds, input.utc_offset_seconds)).last()
}

/// The model the footer names ("gpt-6.2-sol default") or the session card ("model: gpt-5.4").
fn screen_model(s: &Screen) -> Option<String> {
    let valid = |m: &str| {
        (2..=60).contains(&m.len())
            && m.starts_with(|c: char| c.is_ascii_alphanumeric())
            && m.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
            && m.bytes().any(|b| b.is_ascii_digit())
            && m.contains('-')
    };
    if let Some(m) = s.footer.first().and_then(|f| f.split_whitespace().next()).filter(|m| valid(m)) {
        return Some(m.to_owned());
    }
    s.history
        .iter()
        .filter(|c| matches!(c.marker, Some('│' | '╭')))
        .filter_map(|c| c.text.split("model: ").nth(1)?.split_whitespace().next().map(str::to_owned))
        .find(|m| valid(m))
}

fn read_codex(input: &ClassifyInput) -> Reading {
    let s = screen::parse(&input.pane);
    let (now, offset) = (input.now_epoch_seconds, input.utc_offset_seconds);
    let notices =
        latest_in(screen::after_last_send(&s, input.last_sent.as_deref()).iter().filter(|c| c.is_notice()), input);
    // Status items are the current state: "⚠ 5h limit: 8% left", "Goal hit usage limits",
    // "Reconnecting...". From the footer, only items that start that way (never the prompt).
    let status = s
        .status
        .iter()
        .chain(s.footer.iter().filter(|f| f.starts_with('⚠') || f.starts_with("goal hit usage limits")))
        .filter_map(|item| finding(item.trim_start_matches(['⚠', ' ']), now, offset))
        .max_by_key(|f| f.severity as u8);
    let (tui, dialog, in_dialog) = match &s.dialog {
        Some(d) => {
            let kind = match d.kind {
                screen::DialogKind::Trust => DialogKind::Trust,
                screen::DialogKind::SwitchModel => DialogKind::SwitchModel,
                screen::DialogKind::LimitIncrease => DialogKind::LimitIncrease,
                screen::DialogKind::SignIn => DialogKind::SignIn,
                screen::DialogKind::Other => DialogKind::Other,
            };
            let tui = if matches!(kind, DialogKind::SwitchModel | DialogKind::LimitIncrease) {
                TuiState::Popup
            } else {
                TuiState::Dialog
            };
            (tui, kind, finding(&d.text, now, offset))
        }
        None if s.working => (TuiState::Working, DialogKind::None, None),
        None if s.composer.is_some() => (TuiState::Idle, DialogKind::None, None),
        None => (TuiState::Unknown, DialogKind::None, None),
    };
    // A message printed after our prompt wins over a popup heading and over status items
    // that are no worse.
    let finding = match (notices, status, in_dialog) {
        (Some(n), Some(st), _) if (st.severity as u8) > (n.severity as u8) => Some(st),
        (Some(n), ..) => Some(n),
        (None, st, d) => [st, d].into_iter().flatten().max_by_key(|f| f.severity as u8),
    };
    Reading { tui, dialog, finding, screen_model: screen_model(&s) }
}

/// Any other CLI: cells by their (trimmed) first glyph, our echo skipped, the raw-log text
/// since the send as a fallback for messages that scrolled off.
fn read_generic(input: &ClassifyInput) -> Reading {
    let s = screen::parse(&input.pane);
    let tail: Vec<&str> = input.pane.lines().rev().filter(|l| !l.trim().is_empty()).take(8).collect();
    let tui = if let Some(d) = &s.dialog {
        let _ = d;
        TuiState::Dialog
    } else if tail.iter().any(|l| l.to_lowercase().contains("esc to interrupt")) {
        TuiState::Working
    } else if tail.first().is_some_and(|l| l.trim_start().starts_with(['›', '>', '$'])) {
        TuiState::Idle
    } else {
        TuiState::Unknown
    };
    let sent = input.last_sent.as_deref().map(fold).filter(|t| !t.is_empty());
    let own =
        |c: &&Cell| c.is_prompt() || sent.as_ref().is_some_and(|t| c.text.len() >= 8 && t.contains(c.text.as_str()));
    let pane_cells = generic_cells(&input.pane);
    let start = sent.as_ref().and_then(|t| {
        let head: String = t.chars().take(40).collect();
        pane_cells.iter().rposition(|c| c.is_prompt() && (c.text.starts_with(&head) || head.starts_with(&c.text)))
    });
    let mut found = latest_in(pane_cells[start.map_or(0, |i| i + 1)..].iter().filter(|c| !own(c)), input);
    if found.is_none() {
        found = latest_in(generic_cells(&input.since_last_send).iter().filter(|c| !own(c)), input);
    }
    let dialog = if tui == TuiState::Dialog { DialogKind::Other } else { DialogKind::None };
    Reading { tui, dialog, finding: found, screen_model: None }
}

/// Cells split at any line that starts (after indentation) with a marker glyph.
fn generic_cells(text: &str) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            out.push(Cell { marker: None, text: String::new() });
            continue;
        }
        let marker = t.chars().next().filter(|c| screen::CELL_MARKERS.contains(c));
        match out.last_mut() {
            Some(c) if marker.is_none() && !c.text.is_empty() => {
                c.text.push(' ');
                fold_into(&mut c.text, t);
            }
            _ => {
                let mut text = String::new();
                fold_into(&mut text, t.trim_start_matches(screen::CELL_MARKERS).trim());
                out.push(Cell { marker, text });
            }
        }
    }
    out.retain(|c| !c.text.is_empty());
    out
}

/// The classifier proper.
pub fn classify(input: &ClassifyInput) -> ClassifyOutput {
    let r = if !input.running {
        Reading { tui: TuiState::NotRunning, dialog: DialogKind::None, finding: None, screen_model: None }
    } else if matches!(input.profile.as_str(), "codex" | "scripted") {
        read_codex(input)
    } else {
        read_generic(input)
    };
    let mut f = r.finding.unwrap_or_else(|| Finding::new(Severity::None, LimitKind::None, "none"));
    if f.severity == Severity::Limited && f.reset_at.is_some_and(|t| t <= input.now_epoch_seconds) {
        f = Finding::new(Severity::None, LimitKind::None, "limit-reset-passed");
    }
    if f.severity == Severity::None {
        f.kind = LimitKind::None;
        f.window = LimitWindow::None;
    }
    let limited_bucket = f.model_bucket.clone().filter(|_| f.severity == Severity::Limited);
    let (model, model_source) = if let Some(bucket) = limited_bucket {
        (Some(bucket), ModelSource::LimitText)
    } else if f.severity != Severity::None && input.assignment_model.is_some() {
        (input.assignment_model.clone(), ModelSource::Assignment)
    } else if let Some(m) = &input.session_model {
        (Some(m.clone()), ModelSource::Session)
    } else if let Some(m) = r.screen_model {
        (Some(m), ModelSource::StatusText)
    } else {
        (None, ModelSource::Unknown)
    };
    ClassifyOutput {
        severity: f.severity,
        kind: f.kind,
        window: f.window,
        reset_at_epoch_seconds: f.reset_at,
        model_bucket: f.model_bucket,
        model,
        model_source,
        used_percent: f.used_percent,
        tui: r.tui,
        blocks_input: matches!(r.tui, TuiState::Popup | TuiState::Dialog),
        dialog: r.dialog,
        rule: f.rule.to_owned(),
    }
}

pub mod vectors {
    //! Self-test vectors: real Codex 0.171 and 0.169 screens, and older forms. `ext verify` runs them
    //! against the component; the native unit tests run them against the same code.
    use super::*;

    /// 2026-11-24T10:00:00Z.
    pub const NOW: u64 = 1_795_514_400;

    pub fn input(pane: &str) -> ClassifyInput {
        codex_master_guest_sdk::classify::vector_input(pane, "codex", "gpt-5.4-mini", NOW)
    }

    pub fn none(tui: TuiState) -> ClassifyOutput {
        codex_master_guest_sdk::classify::calm(tui, "gpt-5.4-mini")
    }

    fn dialog(kind: DialogKind, tui: TuiState, base: ClassifyOutput) -> ClassifyOutput {
        ClassifyOutput { tui, blocks_input: true, dialog: kind, ..base }
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

    fn warning(kind: LimitKind, rule: &str, tui: TuiState) -> ClassifyOutput {
        ClassifyOutput {
            severity: Severity::Warning,
            kind,
            window: LimitWindow::Unknown,
            rule: rule.to_owned(),
            ..none(tui)
        }
    }

    const IDLE_FOOTER: &str =
        "\n› Ask Codex to do anything\n\n  ? for shortcuts                                   100% context left";

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
                "⚠ stream error: stream disconnected before completion; Reconnecting... 2/5\n\n• Working (3s • esc to interrupt)\n\n› \n\n  ? for shortcuts",
                warning(LimitKind::Network, "reconnecting", TuiState::Working),
            ),
            v(
                "switch-model popup blocks input",
                "  Approaching rate limits\n  Switch to gpt-5.4-mini for lower credit usage?\n\n› 1. Switch to gpt-5.4-mini  Uses fewer credits for upcoming turns\n  2. Keep current model\n  3. Keep current model (never show again)",
                dialog(DialogKind::SwitchModel, TuiState::Popup, warning(LimitKind::Usage, "switch-model-popup", TuiState::Popup)),
            ),
            v(
                "trust dialog",
                "  Trust this folder? Codex can read, edit, and run files here, subject to your permission settings.\n  Continue only if you trust these files. Your trust decision will be saved.\n\n› 1. Yes, continue\n  2. No, quit",
                dialog(DialogKind::Trust, TuiState::Dialog, none(TuiState::Dialog)),
            ),
            v(
                "first-run sign-in screen",
                "  Welcome to Codex, OpenAI's command-line coding agent\n\n  Choose how you want to use Codex.\n\n> 1. Sign in with ChatGPT\n     Usage included with Plus, Pro, Business, and Enterprise plans\n  2. Sign in with Device Code\n\n  Press enter to continue",
                dialog(DialogKind::SignIn, TuiState::Dialog, none(TuiState::Dialog)),
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
                ..input("› Fix the rate limit handling: when the usage limit is reached, retry\n  later.\n\n• Working (4s • esc to interrupt)\n\n› \n\n  ? for shortcuts")
            },
            expected: none(TuiState::Working),
        });
        out.push(Vector {
            name: "a limit before the last send is stale".into(),
            input: ClassifyInput {
                last_sent: Some("continue".into()),
                ..input("■ You've hit your usage limit. Try again later.\n\n› continue\n\n• Working (2s • esc to interrupt)\n\n› \n\n  ? for shortcuts")
            },
            expected: none(TuiState::Working),
        });
        out.push(Vector {
            name: "generic CLI: a limit in the output since the send, scrolled off the pane".into(),
            input: ClassifyInput {
                since_last_send: "■ You've hit your usage limit for gpt-5.3-codex-spark. Try again later.".into(),
                assignment_model: Some("gpt-5.3-codex-spark".into()),
                profile: "generic".into(),
                ..input("$ ")
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
            input: ClassifyInput {
                assignment_model: Some("gpt-5.3-codex-spark".into()),
                ..input(&format!("■ You've hit your usage limit. Try again later.{IDLE_FOOTER}"))
            },
            expected: ClassifyOutput {
                model: Some("gpt-5.3-codex-spark".into()),
                model_source: ModelSource::Assignment,
                ..limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle)
            },
        });
        out.extend(newer_surfaces());
        out
    }

    /// Screens of Codex 0.171 / 0.169 as a real worker shows them (captured against a mock of
    /// the model API), and the newer status surfaces.
    fn newer_surfaces() -> Vec<Vector> {
        const FOOTER_171: &str = "\n\n› Ask Codex to do anything\n\n  GPT-6.2-Sol default · ~/work · You've hit your usage limit, please handle it\n  ← for agents · ? for shortcuts";
        const FOOTER_169: &str = "\n\n› Ask Codex to do anything\n\n  GPT-6.1-Sol default · ~/work · Mock title\n  ← for agents · ? for shortcuts";
        let limit_increase = "\n\n\n  Usage limit reached\n  Request a limit increase from your owner to continue using codex. Request increase?\n\n\n  1. Yes (y)\n› 2. No (default) (n)\n\n  enter select · esc back";
        let screen_model = |o: ClassifyOutput| ClassifyOutput {
            model: Some("gpt-6.2-sol".into()),
            model_source: ModelSource::StatusText,
            ..o
        };
        let mut out = vec![
            v(
                "0.171: the first prompt in the footer is no limit",
                &format!("› You've hit your usage limit, please handle it\n\n• Done: the answer is 42.\n\n  Worked for <1s • 23:12{FOOTER_171}"),
                none(TuiState::Idle),
            ),
            v(
                "0.169: a prompt naming the sign-in button is no dialog",
                &format!("› Fix the label of the Sign in with ChatGPT button\n\n• Done: the answer is 42.{FOOTER_169}"),
                none(TuiState::Idle),
            ),
            v(
                "an answer that mentions 429 is no limit",
                &format!("› How do we handle rate limits?\n\n• The client retries when the server answers 429 Too Many Requests.{FOOTER_169}"),
                none(TuiState::Idle),
            ),
            v(
                "spend cap: the message wins over the popup heading, and the popup blocks input",
                &format!("› task\n\n■ You hit your spend cap set by the owner of your workspace. Ask an owner to increase your spend cap to continue.{limit_increase}"),
                dialog(DialogKind::LimitIncrease, TuiState::Popup, limited(LimitKind::Credits, "credits-exhausted", TuiState::Popup)),
            ),
            v(
                "workspace credits depleted, then the limit-increase popup",
                &format!("› task\n\n■ Your workspace is out of credits. Ask your workspace owner to refill in order to continue.{limit_increase}"),
                dialog(DialogKind::LimitIncrease, TuiState::Popup, limited(LimitKind::Credits, "credits-exhausted", TuiState::Popup)),
            ),
            v(
                "the limit-increase popup alone",
                limit_increase,
                dialog(DialogKind::LimitIncrease, TuiState::Popup, limited(LimitKind::Usage, "limit-increase-requested", TuiState::Popup)),
            ),
            v(
                "owner usage limit (0.171 wording)",
                &format!("› task\n\n■ Usage limit reached. You've reached your usage limit. Increase your limits to continue using codex.{FOOTER_169}"),
                limited(LimitKind::Usage, "usage-limit-reached", TuiState::Idle),
            ),
            v(
                "0.171 trust screen",
                "  Folder access\n  ~/work\n\n  Trust this folder? Codex can read, edit, and run files here, subject to your permission settings. Folder settings can run code automatically, even without a\n  model request. Continue only if you trust these files. Your trust decision will be saved.\n\n› 1. Trust and continue\n  2. Back to Agent Command Center\n\n  enter continue · esc back",
                dialog(DialogKind::Trust, TuiState::Dialog, none(TuiState::Dialog)),
            ),
            v(
                "0.171 switch-model popup after a warning",
                "⚠ Heads up, you have less than 10% of your 5h limit left. Run /status for a breakdown.\n\n• ok\n\n  Worked for <1s • 23:14\n\n\n\n  Approaching rate limits\n  Switch to gpt-6-luna for lower credit usage?\n\n\n› 1. Switch to gpt-6-luna                   Fast and affordable model for easier tasks.\n  2. Keep current model\n  3. Keep current model (never show again)  Hide future rate limit reminders about switching models\n\n  enter select · esc back",
                dialog(
                    DialogKind::SwitchModel,
                    TuiState::Popup,
                    ClassifyOutput { window: LimitWindow::FiveHour, used_percent: Some(90), ..warning(LimitKind::Usage, "usage-warning", TuiState::Popup) },
                ),
            ),
            v(
                "the switch popup without its heading",
                "  Switch to gpt-6-luna for lower credit usage?\n\n› 1. Switch to gpt-6-luna\n  2. Keep current model\n\n  enter select · esc back",
                dialog(DialogKind::SwitchModel, TuiState::Popup, warning(LimitKind::Usage, "switch-model-popup", TuiState::Popup)),
            ),
            v(
                "the status-line limit item is a warning",
                &format!("• ok{}", "\n\n                                                                                                                                  ⚠ 5h limit: 8% left · /status\n\n› Ask Codex to do anything\n\n  GPT-6.1-Sol default · ~/work\n  ← for agents · ? for shortcuts"),
                ClassifyOutput { window: LimitWindow::FiveHour, used_percent: Some(92), ..warning(LimitKind::Usage, "usage-warning", TuiState::Idle) },
            ),
            v(
                "a per-model warning with its window in parentheses",
                &format!("⚠ Heads up, you have less than 25% of your GPT-5.3-Codex-Spark (weekly) limit left. Run /status for a breakdown.{FOOTER_169}"),
                ClassifyOutput {
                    window: LimitWindow::Weekly,
                    used_percent: Some(75),
                    model_bucket: Some("gpt-5.3-codex-spark".into()),
                    ..warning(LimitKind::Usage, "usage-warning", TuiState::Idle)
                },
            ),
            v(
                "included usage exhausted (a dialog with choices)",
                "  Usage limit reached\n  Your included usage is exhausted. Choose an option below to continue.\n\n› 1. Use credits\n  2. Wait for the reset\n\n  enter select · esc back",
                dialog(DialogKind::Other, TuiState::Dialog, limited(LimitKind::Usage, "included-usage-exhausted", TuiState::Dialog)),
            ),
            v(
                "goal status in the footer",
                "• working on the goal\n\n› Ask Codex to do anything\n\n  Goal hit usage limits (/goal resume) · ~/work\n  ? for shortcuts",
                limited(LimitKind::Usage, "goal-usage-limit", TuiState::Idle),
            ),
            v(
                "high load is a warning",
                &format!("■ Codex is currently experiencing high load.{FOOTER_169}"),
                warning(LimitKind::Capacity, "high-demand", TuiState::Idle),
            ),
            v(
                "reconnecting, waiting for network, in the status line",
                "• earlier answer\n\n• Reconnecting... waiting for network (3s • esc to interrupt)\n\n› \n\n  ? for shortcuts",
                warning(LimitKind::Network, "reconnecting", TuiState::Working),
            ),
        ];
        out.push(Vector {
            name: "without a configured model, the footer names it".into(),
            input: ClassifyInput { session_model: None, ..input(&format!("• hello{FOOTER_171}")) },
            expected: screen_model(ClassifyOutput {
                model: None,
                model_source: ModelSource::Unknown,
                ..none(TuiState::Idle)
            }),
        });
        out.push(Vector {
            name: "0.171: a later turn after a quoted limit is no limit".into(),
            input: ClassifyInput {
                last_sent: Some("and now something else".into()),
                ..input(&format!("› You've hit your usage limit, please handle it\n\n• Done.\n\n› and now something else\n\n• Done again.{FOOTER_171}"))
            },
            expected: none(TuiState::Idle),
        });
        out.push(Vector {
            name: "our prompt taken but not drawn yet, the whole session on screen: an old limit is stale".into(),
            input: ClassifyInput {
                last_sent: Some("task for 429".into()),
                ..input(&format!("  >_ OpenAI Codex (v0.171.0)\n\n› free plan task\n\n■ You've hit your usage limit. Try again later.{FOOTER_171}"))
            },
            expected: none(TuiState::Idle),
        });
        out.push(Vector {
            name: "our prompt still in the composer: nothing after it yet".into(),
            input: ClassifyInput {
                last_sent: Some("please continue with the task".into()),
                ..input("■ You've hit your usage limit. Try again later.\n\n› please continue with the task\n\n  ? for shortcuts")
            },
            expected: none(TuiState::Idle),
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
        assert!(vectors::all().len() >= 45, "vectors went missing");
    }

    #[test]
    fn local_times_use_the_offset() {
        // 10:00Z is 11:00 in UTC+1; "at 3:05 PM" local is 14:05Z.
        let at = reset_time("try again at 3:05 pm.", vectors::NOW, 3600).unwrap();
        assert_eq!(at, vectors::NOW + 4 * 3600 + 300);
        // Already past today: tomorrow.
        assert_eq!(reset_time("try again at 9:00 am", vectors::NOW, 0).unwrap(), vectors::NOW + 23 * 3600);
        assert_eq!(reset_time("try again at 9:00:30 am", vectors::NOW, 0).unwrap(), vectors::NOW + 23 * 3600 + 30);
        assert_eq!(reset_time("try again in 1h 30m", vectors::NOW, 0).unwrap(), vectors::NOW + 5400);
        assert_eq!(
            reset_time("try again in 4 days 1 hour 56 minutes", vectors::NOW, 0).unwrap(),
            vectors::NOW + 4 * 86_400 + 3600 + 56 * 60
        );
        assert_eq!(reset_time("try again in 1.2s", vectors::NOW, 0).unwrap(), vectors::NOW + 2);
        assert_eq!(reset_time("try again later", vectors::NOW, 0), None);
    }

    #[test]
    fn plain_mentions_of_limits_are_not_messages() {
        for text in [
            "the rate limit handling code lives in src/limits.rs",
            "we should add a usage limit to the api",
            "Weekly limit: 0% left",
        ] {
            let out = classify(&vectors::input(&format!("• {text}\n\n› ")));
            assert_eq!(out.severity, Severity::None, "{text}: {out:?}");
        }
    }
}
