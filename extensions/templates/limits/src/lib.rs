//! {{name}}: a limit classifier for an in-house CLI. codex-master hands it the bottom of the
//! worker's pane (ANSI-stripped) and asks: is the CLI working, idle, in a dialog, limited?
//!
//! Replace the words in `tui` and `finding` with your CLI's own, keep a vector per message in
//! `test_vectors` (`ext verify` runs them in the sandbox; `cargo test` runs them natively),
//! then: `codex-master-mcp ext build`, `ext verify {{name}}.wasm`, and pin it to an agent
//! (see README.md).

use codex_master_guest_sdk::classify::{self, Finding};
use codex_master_guest_sdk::limits::{
    ClassifyInput, ClassifyOutput, DialogKind, ExtInfo, LimitKind, LimitWindow, ModelSource, Severity, TuiState,
    Vector,
};
use codex_master_guest_sdk::LimitsExtension;

pub struct Classifier;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_limits!(Classifier);

/// The screen's state, from the words your CLI shows.
fn tui(pane: &str) -> TuiState {
    let bottom: Vec<&str> = pane.lines().rev().filter(|l| !l.trim().is_empty()).take(5).collect();
    if bottom.is_empty() {
        TuiState::Unknown
    } else if bottom.iter().any(|l| l.contains("esc to interrupt")) {
        TuiState::Working
    } else if bottom.iter().any(|l| classify::is_option(l)) {
        TuiState::Dialog
    } else {
        TuiState::Idle
    }
}

/// The newest message that limits the CLI, and what it means.
fn finding(pane: &str) -> Option<Finding> {
    pane.lines().rev().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        if lower.contains("quota exceeded") {
            Some(Finding { window: LimitWindow::Monthly, ..Finding::new(Severity::Limited, LimitKind::Quota, "quota-exceeded") })
        } else if lower.contains("rate limited") {
            Some(Finding::new(Severity::Limited, LimitKind::Rate, "rate-limited"))
        } else {
            None
        }
    })
}

impl LimitsExtension for Classifier {
    fn describe() -> ExtInfo {
        ExtInfo::new("{{name}}", env!("CARGO_PKG_VERSION"))
    }

    fn classify(input: ClassifyInput) -> ClassifyOutput {
        let (tui, finding) = (tui(&input.pane), finding(&input.pane));
        let dialog = if tui == TuiState::Dialog { DialogKind::Other } else { DialogKind::None };
        classify::output(&input, tui, dialog, finding)
    }

    fn test_vectors() -> Vec<Vector> {
        let now = 1_800_000_000;
        let input = |pane: &str| classify::vector_input(pane, "generic", "in-house-1", now);
        vec![
            Vector {
                name: "idle".into(),
                input: input("$ build done\n> "),
                expected: classify::calm(TuiState::Idle, "in-house-1"),
            },
            Vector {
                name: "quota exceeded".into(),
                input: input("Error: quota exceeded for this month\n> "),
                expected: ClassifyOutput {
                    severity: Severity::Limited,
                    kind: LimitKind::Quota,
                    window: LimitWindow::Monthly,
                    reset_at_epoch_seconds: None,
                    model_bucket: None,
                    model: Some("in-house-1".into()),
                    model_source: ModelSource::Session,
                    used_percent: None,
                    tui: TuiState::Idle,
                    blocks_input: false,
                    dialog: DialogKind::None,
                    rule: "quota-exceeded".into(),
                },
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_holds() {
        for v in Classifier::test_vectors() {
            assert_eq!(Classifier::classify(v.input), v.expected, "{}", v.name);
        }
    }
}
