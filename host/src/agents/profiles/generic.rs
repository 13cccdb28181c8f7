//! Any command: the runner and its configured arguments, nothing added. Its screen is read
//! with the generic classifier dialect, and Ctrl-C interrupts it.

use std::path::{Path, PathBuf};

use super::{AgentSpec, Provider};

pub struct Generic;

impl Provider for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn needs_runner(&self) -> bool {
        true
    }

    fn screen(&self) -> &'static str {
        "generic"
    }

    fn default_runner(&self, _home: Option<&Path>) -> Option<PathBuf> {
        None
    }

    /// An unknown CLI's parser is unknown: the prompt goes last as it is, so one that starts
    /// with `-` is refused at start.
    fn prompt_is_a_value(&self) -> bool {
        false
    }

    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String> {
        spec.extra_args.iter().cloned().chain(prompt.map(str::to_owned)).collect()
    }

    fn launch_env(&self, _spec: &AgentSpec) -> Vec<(String, String)> {
        Vec::new()
    }

    fn home_var(&self) -> Option<&'static str> {
        None
    }

    fn interrupt_key(&self) -> &'static str {
        "C-c"
    }

    /// The last non-blank line is taken as the input line.
    fn composer_text(&self, pane: &str) -> Option<String> {
        pane.lines().rev().find(|l| !l.trim().is_empty()).map(super::collapse)
    }

    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str> {
        pane.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect()
    }
}
