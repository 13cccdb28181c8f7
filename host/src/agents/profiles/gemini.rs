//! Gemini CLI (`@google/gemini-cli`, 0.61) as a worker.
//!
//! Its home is `GEMINI_CLI_HOME` (settings in `.gemini/settings.json` there). A start selects
//! API-key auth when the worker has a `GEMINI_API_KEY` to use (without it, a base URL alone
//! gives "Invalid auth method selected."), and with `trust_cwd` trusts the working directory
//! (`.gemini/trustedFolders.json`). Credentials are never copied. Esc cancels a turn; the
//! `limits-gemini` classifier reads its screen. `model` becomes `--model`; Gemini CLI has no
//! effort flag (its thinking budget is a settings value), so `reasoning_effort` is not passed.

use std::path::{Path, PathBuf};

use super::{update_home_json, AgentSpec, HomeError, Provider};

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
            // An interactive session that starts with this prompt.
            args.extend(["--prompt-interactive".to_owned(), p.to_owned()]);
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
