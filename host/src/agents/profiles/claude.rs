//! Claude Code (`@anthropic-ai/claude-code`, 2.1.x) as a worker.
//!
//! Its home is `CLAUDE_CONFIG_DIR`: a start marks onboarding done there and, with `trust_cwd`,
//! accepts the folder-trust dialog for the working directory (`.claude.json`), so a fresh
//! worker starts at its composer. Credentials are never copied: the worker uses what its own home
//! holds, or the variables its config passes (`env_pass = ["ANTHROPIC_API_KEY"]`). Esc
//! interrupts a turn; the `limits-claude` classifier reads its screen.

use std::path::{Path, PathBuf};

use super::{update_home_json, AgentSpec, HomeError, Provider};

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
        args.extend(prompt.map(str::to_owned));
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
        assert_eq!(args, ["go"], "no model or effort is forced");
        spec.model = Some("opus".into());
        spec.reasoning_effort = Some("high".into());
        assert_eq!(Claude.launch_args(&spec, Some("go")), ["--model", "opus", "--effort", "high", "go"]);
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
