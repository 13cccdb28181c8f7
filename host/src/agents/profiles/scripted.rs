//! The built-in scripted agent (`codex-master-mcp scripted-agent`): this binary drawing the
//! Codex TUI, for the tests and the demo. It reads like Codex and never calls a model.

use std::path::{Path, PathBuf};

use super::{tui, AgentSpec, DialogAnswer, DialogChoice, Provider};
use crate::ext::types::limits::DialogKind;

pub struct Scripted;

impl Provider for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn screen(&self) -> &'static str {
        "codex"
    }

    /// The binary itself runs it.
    fn default_runner(&self, _home: Option<&Path>) -> Option<PathBuf> {
        None
    }

    fn runs_in_this_binary(&self) -> bool {
        true
    }

    fn role_model(&self, role: super::WorkRole) -> Option<&'static str> {
        Some(super::codex::role_model(role))
    }

    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String> {
        let mut args = vec!["scripted-agent".to_owned()];
        if let Some(model) = &spec.model {
            args.extend(["--model".to_owned(), model.clone()]);
        }
        args.extend(spec.extra_args.iter().cloned());
        if let Some(p) = prompt {
            args.extend(["--prompt".to_owned(), p.to_owned()]);
        }
        args
    }

    /// Like `codex resume --last`: the thread it recorded for the working directory.
    fn resume_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Option<Vec<String>> {
        let mut args = self.launch_args(spec, prompt);
        args.insert(1, "--resume".to_owned());
        Some(args)
    }

    fn launch_env(&self, _spec: &AgentSpec) -> Vec<(String, String)> {
        Vec::new()
    }

    fn home_var(&self) -> Option<&'static str> {
        Some("CODEX_HOME")
    }

    fn interrupt_key(&self) -> &'static str {
        "Escape"
    }

    fn composer_text(&self, pane: &str) -> Option<String> {
        tui::composer_text(pane)
    }

    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str> {
        tui::meaningful_lines(pane)
    }

    fn output_after_echo(&self, pane: &str, probe: &str) -> Option<bool> {
        tui::output_after_echo(pane, probe)
    }

    fn dialog_answer(&self, kind: DialogKind, choice: DialogChoice, pane: &str) -> Option<DialogAnswer> {
        super::codex::Codex.dialog_answer(kind, choice, pane)
    }
}
