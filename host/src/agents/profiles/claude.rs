//! Claude Code (`@anthropic-ai/claude-code`, 2.1.x) as a worker.
//!
//! Its home is `CLAUDE_CONFIG_DIR`: a start marks onboarding done there and, with `trust_cwd`,
//! accepts the folder-trust dialog for the working directory (`.claude.json`), so a fresh
//! worker starts at its composer. Credentials are never copied: the worker uses what its own home
//! holds, or the variables its config passes (`env_pass = ["ANTHROPIC_API_KEY"]`). Esc
//! interrupts a turn; the `limits-claude` classifier reads its screen.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{update_home_json, AgentSpec, HomeError, HookCall, HookCommand, HooksState, Provider};
use crate::events::{Event, EventKind, FailureKind, NotificationKind, Usage, UsageWindow};

pub struct Claude;

impl Provider for Claude {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn screen(&self) -> &'static str {
        "claude"
    }

    fn classifier(&self) -> &'static str {
        "claude"
    }

    fn default_runner(&self, _home: Option<&Path>) -> Option<PathBuf> {
        super::on_path("claude")
    }

    fn needs_runner(&self) -> bool {
        // Without `claude` on PATH at config time, the config must name it.
        super::on_path("claude").is_none()
    }

    fn manages_home(&self) -> bool {
        true
    }

    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(model) = &spec.model {
            args.extend(["--model".to_owned(), model.clone()]);
        }
        // `reasoning_effort` is Claude Code's session effort level (low, medium, high, …).
        if let Some(effort) = &spec.reasoning_effort {
            args.extend(["--effort".to_owned(), effort.clone()]);
        }
        args.extend(spec.extra_args.iter().cloned());
        // After `--` the prompt is the prompt, whatever it starts with (`--version`,
        // `--dangerously-skip-permissions`).
        if let Some(p) = prompt {
            args.extend(["--".to_owned(), p.to_owned()]);
        }
        args
    }

    /// `--continue`: the most recent conversation in the working directory.
    fn resume_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Option<Vec<String>> {
        Some(std::iter::once("--continue".to_owned()).chain(self.launch_args(spec, prompt)).collect())
    }

    fn launch_env(&self, spec: &AgentSpec) -> Vec<(String, String)> {
        spec.home.iter().map(|h| ("CLAUDE_CONFIG_DIR".to_owned(), h.to_string_lossy().into_owned())).collect()
    }

    fn home_var(&self) -> Option<&'static str> {
        Some("CLAUDE_CONFIG_DIR")
    }

    /// Personal skills (`CLAUDE_CONFIG_DIR/skills/<name>/SKILL.md`) and installed plugins'.
    fn skills_roots(&self) -> crate::skills::Roots {
        &[("user", &["skills"]), ("plugins", &["plugins"])]
    }

    fn interrupt_key(&self) -> &'static str {
        "Escape"
    }

    fn prepare_home(&self, spec: &AgentSpec, cwd: &Path) -> Result<bool, HomeError> {
        let Some(home) = &spec.home else { return Ok(false) };
        let project = cwd.to_string_lossy().into_owned();
        let trust = spec.trust_cwd;
        update_home_json(home, None, ".claude.json", |o| {
            let mut changed = false;
            if o.get("hasCompletedOnboarding") != Some(&serde_json::Value::Bool(true)) {
                o.insert("hasCompletedOnboarding".into(), true.into());
                changed = true;
            }
            if trust {
                let projects = o.entry("projects").or_insert_with(|| serde_json::Value::Object(Default::default()));
                if let Some(projects) = projects.as_object_mut() {
                    let entry = projects.entry(project).or_insert_with(|| serde_json::Value::Object(Default::default()));
                    if let Some(entry) = entry.as_object_mut() {
                        // An explicit answer stays.
                        if !entry.contains_key("hasTrustDialogAccepted") {
                            entry.insert("hasTrustDialogAccepted".into(), true.into());
                            changed = true;
                        }
                    }
                }
            }
            changed
        })
    }

    /// Hooks in the home's `settings.json` (user settings: Claude Code runs them in every
    /// project), and the status line when the user has none: its input carries the plan's
    /// usage windows.
    fn install_hooks(&self, spec: &AgentSpec, hook: &HookCommand, on: bool) -> Result<HooksState, HomeError> {
        let Some(home) = &spec.home else { return Ok(HooksState::NotSupported) };
        let hook = on.then_some(hook);
        let mut state = if hook.is_some() { HooksState::Installed } else { HooksState::Off };
        let group = |event: &str| -> Value {
            let command = hook.map(|h| h.for_event(event)).unwrap_or_default();
            super::hook_group(command, &[("timeout", HOOK_TIMEOUT_SECONDS.into())])
        };
        let mut merge_failed = false;
        update_home_json(home, None, "settings.json", |o| {
            if o.get("disableAllHooks") == Some(&Value::Bool(true)) {
                state = HooksState::DisabledByUser;
            }
            let merged = super::merge_hooks(o, HOOK_EVENTS, hook.is_some().then_some(&group as &dyn Fn(&str) -> Value));
            let mut changed = merged.unwrap_or_else(|_| {
                merge_failed = true;
                false
            });
            let ours = |v: &Value| v.get("command").and_then(Value::as_str).is_some_and(|c| c.contains(super::HOOK_MARKER));
            match (o.get("statusLine"), hook) {
                (None, Some(h)) => {
                    o.insert("statusLine".into(), super::command_entry(h.for_event(STATUS_LINE), &[]));
                    changed = true;
                }
                (Some(line), Some(h)) if ours(line) && line["command"] != h.for_event(STATUS_LINE) => {
                    o.insert("statusLine".into(), super::command_entry(h.for_event(STATUS_LINE), &[]));
                    changed = true;
                }
                (Some(line), None) if ours(line) => {
                    o.remove("statusLine");
                    changed = true;
                }
                _ => {}
            }
            changed
        })?;
        if merge_failed {
            return Err(HomeError::Invalid);
        }
        Ok(state)
    }

    fn session_start_at_launch(&self) -> bool {
        true
    }

    fn hook_event(&self, call: &HookCall<'_>) -> Option<Event> {
        let mut event = match call.name()? {
            "SessionStart" => call.event(EventKind::SessionStart),
            "UserPromptSubmit" => call.event(EventKind::PromptSubmitted),
            "Stop" => call.event(EventKind::TurnEnded),
            "StopFailure" => {
                // The details and the message are read for words and a reset time, never kept.
                let message = call.str_field("last_assistant_message").unwrap_or("");
                let details = format!("{} {message}", call.str_field("error_details").unwrap_or(""));
                let failure = failure(call.str_field("error")?, &details);
                let usage = match failure {
                    FailureKind::UsageLimit => plan_limit(message, call.at_ms / 1000).into_iter().collect(),
                    _ => Vec::new(),
                };
                Event { failure: Some(failure), usage, ..call.event(EventKind::TurnFailed) }
            }
            "Notification" => match call.str_field("notification_type")? {
                "permission_prompt" => Event {
                    notification: Some(NotificationKind::PermissionPrompt),
                    ..call.event(EventKind::PermissionWait)
                },
                "idle_prompt" => Event {
                    notification: Some(NotificationKind::IdlePrompt),
                    ..call.event(EventKind::IdlePrompt)
                },
                _ => return None,
            },
            "PermissionRequest" => call.event(EventKind::PermissionWait),
            "PostToolUse" | "PostToolUseFailure" => call.event(EventKind::ToolDone),
            "SessionEnd" => call.event(EventKind::SessionEnd),
            STATUS_LINE => {
                let usage = status_line_usage(call.input.get("rate_limits")?);
                if usage.is_empty() {
                    return None;
                }
                Event { usage, ..call.event(EventKind::Usage) }
            }
            _ => return None,
        };
        if let Some(tool) = call.str_field("tool_name") {
            event.tool = Some(super::tool_category(tool));
        }
        // A prompt's id ties the events of one turn together (absent before the first prompt).
        event.turn = call.str_field("prompt_id").map(crate::events::turn_digest);
        Some(event)
    }

    /// The composer is the `❯` line between two rules (2.1), or the `>` line in a box.
    fn composer_text(&self, pane: &str) -> Option<String> {
        let line = pane.lines().rev().find(|l| composer_line(l))?;
        let text = line.trim().trim_matches('│').trim().trim_start_matches(['>', '❯']);
        Some(super::collapse(text))
    }

    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str> {
        let lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
        // Everything from the composer box's top border down is chrome.
        let end = lines.iter().rposition(|l| composer_line(l)).map_or(lines.len(), |at| {
            lines[..at].iter().rposition(|l| l.trim_start().starts_with(['╭', '─'])).unwrap_or(at)
        });
        lines[..end].iter().copied().filter(|l| !l.trim().is_empty()).collect()
    }
}

/// The events our hooks listen to (Claude Code 2.1.328 and 2.1.332 name them alike).
const HOOK_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "Notification",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "SessionEnd",
];

/// The pseudo-event our status line command names.
const STATUS_LINE: &str = "StatusLine";

/// A hook's time bound in Claude Code's settings (our hook ends far sooner).
const HOOK_TIMEOUT_SECONDS: u64 = 5;

/// StopFailure's `error` word, refined by words of its details (never stored).
fn failure(error: &str, details: &str) -> FailureKind {
    let d = details.to_ascii_lowercase();
    match error {
        "rate_limit" if d.contains("usage limit") || d.contains("hit your") || d.contains("limit reached") => {
            FailureKind::UsageLimit
        }
        "rate_limit" => FailureKind::RateLimit,
        "overloaded" => FailureKind::Overloaded,
        "billing_error" => FailureKind::Billing,
        "authentication_failed" | "oauth_org_not_allowed" | "account_on_hold" | "verification_required"
        | "cloud_credential_error" => FailureKind::Auth,
        "invalid_request" if d.contains("too long") || d.contains("context") => FailureKind::Context,
        "invalid_request" | "model_not_found" => FailureKind::InvalidRequest,
        "server_error" => FailureKind::ServerError,
        _ if d.contains("connection") || d.contains("network") => FailureKind::Network,
        _ => FailureKind::Other,
    }
}

/// The window and reset of a plan limit message ("You've hit your 5-hour limit · resets Mar 17,
/// 5:46pm (America/Los_Angeles)"), as a spent usage window.
fn plan_limit(message: &str, now: u64) -> Option<Usage> {
    let m = message.replace('\u{2019}', "'").to_ascii_lowercase();
    let name = m.split_once("hit your ")?.1;
    let window = match name {
        n if n.starts_with("5-hour") || n.starts_with("session") => UsageWindow::FiveHour,
        n if n.starts_with("weekly") || n.starts_with("opus") || n.starts_with("sonnet") => UsageWindow::Weekly,
        n if n.starts_with("monthly") => UsageWindow::Monthly,
        _ => UsageWindow::Other,
    };
    let offset = crate::timefmt::zone::named_on_screen(message)
        .map_or_else(|| crate::timefmt::local_utc_offset(now as i64), |(_, o)| o);
    let resets_at = codex_master_guest_sdk::screen::next_clock_time(message, "resets", now, offset);
    Some(Usage { window, used_percent: 100, resets_at })
}

/// The status line's `rate_limits` (`five_hour`, `seven_day`: `used_percentage`, `resets_at`).
fn status_line_usage(limits: &Value) -> Vec<Usage> {
    [("five_hour", UsageWindow::FiveHour), ("seven_day", UsageWindow::Weekly)]
        .into_iter()
        .filter_map(|(key, window)| {
            let w = limits.get(key)?;
            let pct = w.get("used_percentage")?.as_f64()?;
            Some(Usage {
                window,
                used_percent: pct.round().clamp(0.0, 100.0) as u8,
                resets_at: w.get("resets_at").and_then(Value::as_u64),
            })
        })
        .collect()
}

fn composer_line(line: &str) -> bool {
    let t = line.trim_start();
    let numbered = super::tui::option_number(t).is_some();
    !numbered && (t.starts_with("│ >") || t.starts_with("│ ❯") || t.starts_with('❯') || (t.starts_with("> ") && t.trim_end().ends_with('│')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_framed_composer_of_2_1() {
        let pane = "❯ say hi\n● Done: the answer is 42.\n✻ Cogitated for 0s\n──────────\n❯ half typed\n──────────\n  ⏵⏵ auto mode on (shift+tab to cycle)";
        assert_eq!(Claude.composer_text(pane).as_deref(), Some("half typed"));
        assert_eq!(Claude.meaningful_lines(pane), ["❯ say hi", "● Done: the answer is 42.", "✻ Cogitated for 0s"]);
        assert_eq!(Claude.composer_text("Do you want to proceed?\n❯ 1. Yes\n  2. No").as_deref(), None);
    }

    #[test]
    fn the_composer_and_the_history() {
        let pane = "> fix it\n\n⏺ Fixed.\n\n╭──────────╮\n│ > half typed │\n╰──────────╯\n  ? for shortcuts";
        assert_eq!(Claude.composer_text(pane).as_deref(), Some("half typed"));
        assert_eq!(Claude.meaningful_lines(pane), ["> fix it", "⏺ Fixed."]);
    }

    #[test]
    fn hooks_merge_with_the_users_and_their_status_line_stays() {
        let home = std::env::temp_dir().join(format!("cm-claude-hooks-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&home).unwrap();
        let users = r#"{"hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "mine"}]}]}, "statusLine": {"type": "command", "command": "my-line"}}"#;
        std::fs::write(home.join("settings.json"), users).unwrap();
        let spec = crate::agents::Registry::from_toml(&format!(
            "[agents.c]\nprofile = \"claude\"\nrunner = \"/usr/bin/true\"\nhome = \"{}\"\n",
            home.display()
        ))
        .unwrap()
        .get("c")
        .unwrap()
        .clone();
        let hook = HookCommand { line: "/bin/cm hook --codex-master-events --cli claude --agent c --state-dir /s".into() };
        assert_eq!(Claude.install_hooks(&spec, &hook, true).unwrap(), HooksState::Installed);
        assert_eq!(Claude.install_hooks(&spec, &hook, true).unwrap(), HooksState::Installed);
        let v: Value = serde_json::from_slice(&std::fs::read(home.join("settings.json")).unwrap()).unwrap();
        assert_eq!(v["hooks"]["Stop"].as_array().unwrap().len(), 2, "ours once, after theirs: {v}");
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "mine");
        assert_eq!(v["hooks"]["StopFailure"][0]["hooks"][0]["command"], hook.for_event("StopFailure"));
        assert_eq!(v["statusLine"]["command"], "my-line", "the user's status line is theirs");
        assert_eq!(Claude.install_hooks(&spec, &hook, false).unwrap(), HooksState::Off);
        let v: Value = serde_json::from_slice(&std::fs::read(home.join("settings.json")).unwrap()).unwrap();
        assert_eq!(v["hooks"], serde_json::from_str::<Value>(r#"{"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "mine"}]}]}"#).unwrap());
        // Every hook off in the user's own settings: said so, ours still written for later.
        std::fs::write(home.join("settings.json"), r#"{"disableAllHooks": true}"#).unwrap();
        assert_eq!(Claude.install_hooks(&spec, &hook, true).unwrap(), HooksState::DisabledByUser);
        let v: Value = serde_json::from_slice(&std::fs::read(home.join("settings.json")).unwrap()).unwrap();
        assert_eq!(v["statusLine"]["command"], hook.for_event("StatusLine"));
        std::fs::write(home.join("settings.json"), r#"{"hooks": "not a table"}"#).unwrap();
        assert_eq!(Claude.install_hooks(&spec, &hook, true), Err(HomeError::Invalid));
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn events_keep_words_and_numbers() {
        let call = |input: Value| Claude.hook_event(&HookCall { event: None, input: &input, at_ms: 1_795_514_400_000 });
        let e = call(serde_json::json!({"hook_event_name": "StopFailure", "error": "rate_limit", "last_assistant_message": "You've hit your 5-hour limit · resets 3pm (UTC)"})).unwrap();
        assert_eq!((e.kind, e.failure), (EventKind::TurnFailed, Some(FailureKind::UsageLimit)));
        assert_eq!(e.usage, [Usage { window: UsageWindow::FiveHour, used_percent: 100, resets_at: Some(1_795_532_400) }]);
        let e = call(serde_json::json!({"hook_event_name": "StopFailure", "error": "server_error"})).unwrap();
        assert_eq!(e.failure, Some(FailureKind::ServerError));
        let e = call(serde_json::json!({"hook_event_name": "StatusLine", "rate_limits": {"five_hour": {"used_percentage": 91.6, "resets_at": 1_795_600_000}}})).unwrap();
        assert_eq!(e.usage, [Usage { window: UsageWindow::FiveHour, used_percent: 92, resets_at: Some(1_795_600_000) }]);
        assert_eq!(call(serde_json::json!({"hook_event_name": "StatusLine"})), None, "no numbers, no event");
        assert_eq!(call(serde_json::json!({"hook_event_name": "Notification", "notification_type": "auth_success"})), None);
        let e = call(serde_json::json!({"hook_event_name": "PermissionRequest", "tool_name": "Bash", "tool_input": {"command": "rm -rf /"}})).unwrap();
        assert_eq!((e.kind, e.tool), (EventKind::PermissionWait, Some(crate::events::ToolCategory::Shell)));
    }

    #[test]
    fn a_home_is_onboarded_and_trusts_the_cwd_once() {
        let home = std::env::temp_dir().join(format!("cm-claude-home-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&home).unwrap();
        let mut spec = crate::agents::Registry::from_toml(&format!(
            "[agents.c]\nprofile = \"claude\"\nrunner = \"/usr/bin/true\"\nhome = \"{}\"\n",
            home.display()
        ))
        .unwrap()
        .get("c")
        .unwrap()
        .clone();
        assert_eq!(spec.classifier, crate::ext::Classifier::Named("claude"));
        let args = Claude.launch_args(&spec, Some("go"));
        assert_eq!(args, ["--", "go"], "no model or effort is forced");
        assert_eq!(Claude.launch_args(&spec, Some("--version")), ["--", "--version"], "a prompt is never an option");
        spec.model = Some("opus".into());
        spec.reasoning_effort = Some("high".into());
        assert_eq!(Claude.launch_args(&spec, Some("go")), ["--model", "opus", "--effort", "high", "--", "go"]);
        assert!(Claude.prepare_home(&spec, Path::new("/work/repo")).unwrap());
        assert!(!Claude.prepare_home(&spec, Path::new("/work/repo")).unwrap());
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(home.join(".claude.json")).unwrap()).unwrap();
        assert_eq!(v["hasCompletedOnboarding"], true);
        assert_eq!(v["projects"]["/work/repo"]["hasTrustDialogAccepted"], true);
        spec.trust_cwd = false;
        assert!(!Claude.prepare_home(&spec, Path::new("/other")).unwrap());
        let _ = std::fs::remove_dir_all(&home);
    }
}
