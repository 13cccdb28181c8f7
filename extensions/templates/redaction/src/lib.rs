//! {{name}}: codex-master's default redaction engine and rules, plus this crate's own rules
//! (`rules.toml`).
//!
//! A redaction component starts from the default engine: the host refuses to install one that
//! lets through any of its conformance vectors (keys, tokens, passwords, local paths), and its
//! floor runs the default rules after every component anyway. What a component adds are rules
//! of its own: put them in `rules.toml` (or, without a component at all, in a team rule file
//! that config.toml names). Then: `codex-master-mcp ext build`, `ext verify {{name}}.wasm`,
//! `ext install redaction {{name}}.wasm` (see README.md).

use std::cell::RefCell;

use codex_master_guest_sdk::redaction::{ExtInfo, RedactInput, RedactOutput, RuleError, RuleFile, RuleHit, Vector};
use codex_master_guest_sdk::RedactionExtension;
use codex_master_redaction_engine::Engine;

/// This component's own rules, compiled in.
const OWN_RULES: &str = include_str!("../rules.toml");

pub struct Redactor;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_redaction!(Redactor);

thread_local! {
    /// The defaults, our rules and (after `configure`) the team's rule files.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn build(team: &[RuleFile]) -> (Engine, Vec<RuleError>) {
    let mut files: Vec<(&str, &str)> = vec![("{{name}}-rules.toml", OWN_RULES)];
    files.extend(team.iter().map(|f| (f.name.as_str(), f.text.as_str())));
    let (engine, errors) = Engine::with_files(&files);
    let errors = errors.into_iter().map(|e| RuleError { file: e.file, rule_id: e.rule_id, message: e.message }).collect();
    (engine, errors)
}

impl RedactionExtension for Redactor {
    fn describe() -> ExtInfo {
        ExtInfo::new("{{name}}", env!("CARGO_PKG_VERSION"))
    }

    fn configure(files: Vec<RuleFile>) -> Vec<RuleError> {
        let (engine, errors) = build(&files);
        ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
        errors
    }

    fn redact(input: RedactInput) -> RedactOutput {
        ENGINE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let engine = slot.get_or_insert_with(|| build(&[]).0);
            let out = engine.redact(&input.text, &input.known_paths);
            RedactOutput {
                text: out.text,
                changed: out.changed,
                hits: out.hits.into_iter().map(|(rule, count)| RuleHit { rule, count }).collect(),
            }
        })
    }

    fn test_vectors() -> Vec<Vector> {
        let v = |name: &str, input: &str, expected: &str| Vector {
            name: name.into(),
            input: input.into(),
            expected: expected.into(),
        };
        vec![
            v("own rule", "token INT-123456-Ab12Cd34Ef56 ok", "token INT-123456-<redacted> ok"),
            v("a default rule still applies", "OPENAI_API_KEY=sk-proj-Qw8vN2mL5kJ7hG3fD9sA1zX4", "OPENAI_API_KEY=<redacted>"),
            v("innocent text stays", "build finished in 3.2 s", "build finished in 3.2 s"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rules_load_and_every_vector_holds() {
        assert!(build(&[]).1.is_empty(), "rules.toml has a bad rule");
        for v in Redactor::test_vectors() {
            let out = Redactor::redact(RedactInput { text: v.input, known_paths: Vec::new() });
            assert_eq!(out.text, v.expected, "{}", v.name);
        }
    }
}
