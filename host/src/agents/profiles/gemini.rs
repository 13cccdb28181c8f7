//! Gemini CLI (`@google/gemini-cli`, 0.61) as a worker.
//!
//! Its home is `GEMINI_CLI_HOME` (settings in `.gemini/settings.json` there). A start selects
//! API-key auth when the worker has a `GEMINI_API_KEY` to use (without it, a base URL alone
//! gives "Invalid auth method selected."), and with `trust_cwd` trusts the working directory
//! (`.gemini/trustedFolders.json`). Credentials are never copied. Esc cancels a turn; the
//! `limits-gemini` classifier reads its screen. `model` becomes `--model`; Gemini CLI has no
//! effort flag (its thinking budget is a settings value), so `reasoning_effort` is not passed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{update_home_json, AgentSpec, HomeError, HookCall, HookCommand, HooksState, Provider};
use crate::events::{Event, EventKind, NotificationKind};

pub struct Gemini;

impl Provider for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn screen(&self) -> &'static str {
        "gemini"
    }

    fn classifier(&self) -> &'static str {
        "gemini"
    }

    fn default_runner(&self, _home: Option<&Path>) -> Option<PathBuf> {
        super::on_path("gemini")
    }

    fn needs_runner(&self) -> bool {
        super::on_path("gemini").is_none()
    }

    fn manages_home(&self) -> bool {
        true
    }

    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(model) = &spec.model {
            args.extend(["--model".to_owned(), model.clone()]);
        }
        args.extend(spec.extra_args.iter().cloned());
        if let Some(p) = prompt {
            // An interactive session that starts with this prompt, given as the flag's value
            // (`--yolo` as a prompt is the text `--yolo`).
            args.push(format!("--prompt-interactive={p}"));
        }
        args
    }

    /// `--resume latest`: the newest session of the project (the working directory).
    fn resume_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Option<Vec<String>> {
        Some(["--resume".to_owned(), "latest".to_owned()].into_iter().chain(self.launch_args(spec, prompt)).collect())
    }

    fn launch_env(&self, spec: &AgentSpec) -> Vec<(String, String)> {
        spec.home.iter().map(|h| ("GEMINI_CLI_HOME".to_owned(), h.to_string_lossy().into_owned())).collect()
    }

    /// `CI=true` or `GITHUB_ACTIONS=true` make Gemini CLI headless even in a terminal: it
    /// prints "No input provided via stdin" and exits.
    fn launch_unset(&self) -> &'static [&'static str] {
        &["CI", "GITHUB_ACTIONS"]
    }

    fn home_var(&self) -> Option<&'static str> {
        Some("GEMINI_CLI_HOME")
    }

    /// The user's skills: `~/.gemini/skills` and `~/.agents/skills` under the home the CLI
    /// takes from `GEMINI_CLI_HOME` (its `Storage.getUserSkillsDir`, `getUserAgentSkillsDir`).
    fn skills_roots(&self) -> crate::skills::Roots {
        &[("user", &[".gemini", "skills"]), ("agent_skills", &[".agents", "skills"])]
    }

    fn interrupt_key(&self) -> &'static str {
        "Escape"
    }

    /// Gemini CLI swallows an Enter that arrives right after pasted text.
    fn enter_after_paste(&self) -> std::time::Duration {
        std::time::Duration::from_millis(500)
    }

    fn prepare_home(&self, spec: &AgentSpec, cwd: &Path) -> Result<bool, HomeError> {
        let Some(home) = &spec.home else { return Ok(false) };
        let api_key = spec.env.contains_key("GEMINI_API_KEY") || spec.env_pass.iter().any(|k| k == "GEMINI_API_KEY");
        let mut changed = update_home_json(home, Some(".gemini"), "settings.json", |o| {
            if !api_key {
                return false;
            }
            let security = o.entry("security").or_insert_with(|| serde_json::Value::Object(Default::default()));
            let Some(security) = security.as_object_mut() else { return false };
            let auth = security.entry("auth").or_insert_with(|| serde_json::Value::Object(Default::default()));
            let Some(auth) = auth.as_object_mut() else { return false };
            if auth.contains_key("selectedType") {
                return false;
            }
            auth.insert("selectedType".into(), "gemini-api-key".into());
            true
        })?;
        if spec.trust_cwd {
            let folder = cwd.to_string_lossy().into_owned();
            changed |= update_home_json(home, Some(".gemini"), "trustedFolders.json", |o| {
                if o.contains_key(&folder) {
                    return false;
                }
                o.insert(folder, "TRUST_FOLDER".into());
                true
            })?;
        }
        Ok(changed)
    }

    /// Hooks in the home's `.gemini/settings.json` (user settings). Gemini CLI runs them in a
    /// trusted folder only (`trust_cwd` trusts the working directory); their on-screen
    /// notices are turned off unless the user set them.
    fn install_hooks(&self, spec: &AgentSpec, hook: &HookCommand, on: bool) -> Result<HooksState, HomeError> {
        let Some(home) = &spec.home else { return Ok(HooksState::NotSupported) };
        let hook = on.then_some(hook);
        let mut state = if hook.is_some() { HooksState::Installed } else { HooksState::Off };
        let group = |event: &str| -> Value {
            let command = hook.map(|h| h.for_event(event)).unwrap_or_default();
            super::hook_group(command, &[("name", "codex-master-events".into()), ("timeout", HOOK_TIMEOUT_MS.into())])
        };
        let mut merge_failed = false;
        update_home_json(home, Some(".gemini"), "settings.json", |o| {
            let merged = super::merge_hooks(o, HOOK_EVENTS, hook.is_some().then_some(&group as &dyn Fn(&str) -> Value));
            let mut changed = merged.unwrap_or_else(|_| {
                merge_failed = true;
                false
            });
            let config = o.entry("hooksConfig").or_insert_with(|| Value::Object(Default::default()));
            if let Some(config) = config.as_object_mut() {
                if config.get("enabled") == Some(&Value::Bool(false)) {
                    state = HooksState::DisabledByUser;
                }
                if hook.is_some() && !config.contains_key("notifications") {
                    config.insert("notifications".into(), false.into());
                    changed = true;
                }
            }
            if o.get("hooksConfig").is_some_and(|c| c.as_object().is_some_and(|c| c.is_empty())) {
                o.remove("hooksConfig");
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

    /// After `--resume` the composer shows and the session-start hook has run, yet a paste within
    /// about a second is dropped (typed keys are not): measured with 0.61 in tmux.
    fn input_settle(&self) -> std::time::Duration {
        std::time::Duration::from_millis(1500)
    }

    fn hook_event(&self, call: &HookCall<'_>) -> Option<Event> {
        let mut event = match call.name()? {
            "SessionStart" => call.event(EventKind::SessionStart),
            "BeforeAgent" => call.event(EventKind::PromptSubmitted),
            "AfterAgent" => call.event(EventKind::TurnEnded),
            "Notification" if call.str_field("notification_type") == Some("ToolPermission") => Event {
                notification: Some(NotificationKind::PermissionPrompt),
                ..call.event(EventKind::PermissionWait)
            },
            "AfterTool" => call.event(EventKind::ToolDone),
            "SessionEnd" => call.event(EventKind::SessionEnd),
            _ => return None,
        };
        if let Some(tool) = call.str_field("tool_name") {
            event.tool = Some(super::tool_category(tool));
        }
        Some(event)
    }

    /// The composer is the last `>` line: between rules (0.61) or in a box ("Type your message"
    /// when empty).
    fn composer_text(&self, pane: &str) -> Option<String> {
        let line = pane.lines().rev().find(|l| composer_line(l))?;
        let text = line.trim().trim_matches('│').trim().trim_start_matches('>').trim();
        Some(if text.starts_with("Type your message") { String::new() } else { super::collapse(text) })
    }

    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str> {
        let lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
        let end = lines.iter().rposition(|l| composer_line(l)).map_or(lines.len(), |at| {
            lines[..at].iter().rposition(|l| l.trim_start().starts_with(['╭', '─'])).unwrap_or(at)
        });
        lines[..end].iter().copied().filter(|l| !l.trim().is_empty()).collect()
    }
}

/// The events our hooks listen to (Gemini CLI 0.61's names).
const HOOK_EVENTS: &[&str] = &["SessionStart", "BeforeAgent", "AfterAgent", "Notification", "AfterTool", "SessionEnd"];

/// A hook's time bound in Gemini CLI's settings, in milliseconds (our hook ends far sooner).
const HOOK_TIMEOUT_MS: u64 = 5000;

fn composer_line(line: &str) -> bool {
    let t = line.trim_start().trim_start_matches('│').trim_start();
    t.starts_with('>') && super::tui::option_number(t).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_auth_and_folder_trust_are_written_once() {
        let home = std::env::temp_dir().join(format!("cm-gemini-home-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&home).unwrap();
        let reg = crate::agents::Registry::from_toml(&format!(
            "[agents.g]\nprofile = \"gemini\"\nrunner = \"/usr/bin/true\"\nhome = \"{}\"\nenv_pass = [\"GEMINI_API_KEY\"]\n",
            home.display()
        ))
        .unwrap();
        let spec = reg.get("g").unwrap();
        assert_eq!(spec.classifier, crate::ext::Classifier::Named("gemini"));
        assert!(Gemini.prepare_home(spec, Path::new("/work/repo")).unwrap());
        assert!(!Gemini.prepare_home(spec, Path::new("/work/repo")).unwrap());
        let settings: serde_json::Value =
            serde_json::from_slice(&std::fs::read(home.join(".gemini/settings.json")).unwrap()).unwrap();
        assert_eq!(settings["security"]["auth"]["selectedType"], "gemini-api-key");
        let trusted: serde_json::Value =
            serde_json::from_slice(&std::fs::read(home.join(".gemini/trustedFolders.json")).unwrap()).unwrap();
        assert_eq!(trusted["/work/repo"], "TRUST_FOLDER");
        let pane = "✦ hi\n╭────╮\n│ >   Type your message or @path/to/file │\n╰────╯";
        assert_eq!(Gemini.composer_text(pane).as_deref(), Some(""));
        assert_eq!(Gemini.meaningful_lines(pane), ["✦ hi"]);
        let real = " > say hi\n✦ Done.\n──────────\n Shift+Tab to accept edits\n >   Type your message or @path/to/file\n /tmp/gm   no sandbox";
        assert_eq!(Gemini.composer_text(real).as_deref(), Some(""));
        assert_eq!(Gemini.meaningful_lines(real), [" > say hi", "✦ Done."]);
        let _ = std::fs::remove_dir_all(&home);
    }
}
