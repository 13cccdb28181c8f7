//! The redaction rules against a labelled corpus of secret shapes in context and of innocent
//! lines as real tools print them (`common/secrets_corpus.rs`): recall at least 99%, innocent
//! lines changed at most 1%. Run against the host's native floor and against the shipped default
//! component in the sandbox (the same rules), which must agree. Each run prints its report
//! (`cargo test redaction_corpus -- --nocapture`).

use std::collections::BTreeMap;

use crate::common::secrets_corpus::{leaked, negatives, positives};
use codex_master_redaction_engine::Engine;

/// The families the corpus must hold: the misses and innocent families, and the log
/// shapes the negatives are drawn from.
const POSITIVE_FAMILIES: &[&str] = &[
    "cli-password-flag",
    "xml-attribute",
    "password-special-characters",
    "azure-context",
    "aws-configure",
    "key-in-error-message",
    "netrc",
    "app-key-env",
    "kubernetes-secret",
    "local-path",
];
const NEGATIVE_FAMILIES: &[&str] = &[
    "placeholder",
    "uuid-id",
    "stripe-publishable",
    "keyword-prose",
    "rest-path",
    "device-path",
    "build-log",
    "test-runner",
    "http-access",
    "git",
    "package-manager",
    "kubernetes",
];

struct Report {
    recall: f64,
    false_positives: f64,
    /// Per family: (cases, misses or changed lines).
    families: BTreeMap<(&'static str, &'static str), (usize, usize)>,
    details: Vec<String>,
    sizes: (usize, usize),
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "recall {:.2}% of {} secrets cases; innocent lines changed {:.2}% of {}",
            self.recall * 100.0,
            self.sizes.0,
            self.false_positives * 100.0,
            self.sizes.1
        )?;
        for ((kind, family), (n, bad)) in &self.families {
            writeln!(
                f,
                "  {kind:8} {family:28} {n:4} cases, {bad} {}",
                if *kind == "positive" { "missed" } else { "changed" }
            )?;
        }
        for d in &self.details {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

fn score(redact: &mut dyn FnMut(&str) -> String) -> Report {
    let pos = positives(4);
    let neg = negatives();
    let mut families = BTreeMap::new();
    let mut details = Vec::new();
    let mut caught = 0;
    for p in &pos {
        let out = redact(&p.text);
        let entry = families.entry(("positive", p.family)).or_insert((0, 0));
        entry.0 += 1;
        if p.secrets.iter().any(|s| leaked(s, &out)) {
            entry.1 += 1;
            details.push(format!("missed [{}] {}\n    -> {}", p.family, p.text, out));
        } else {
            caught += 1;
        }
    }
    let mut changed = 0;
    for n in &neg {
        let out = redact(&n.text);
        let entry = families.entry(("negative", n.family)).or_insert((0, 0));
        entry.0 += 1;
        if out != n.text {
            entry.1 += 1;
            changed += 1;
            details.push(format!("changed [{}] {}\n    -> {}", n.family, n.text, out));
        }
    }
    Report {
        recall: caught as f64 / pos.len() as f64,
        false_positives: f64::from(changed) / neg.len() as f64,
        families,
        details,
        sizes: (pos.len(), neg.len()),
    }
}

fn assert_goals(report: &Report) {
    assert!(report.recall >= 0.99 && report.false_positives <= 0.01, "{report}");
}

#[test]
fn the_corpus_holds_every_family_and_as_many_innocent_lines_as_secrets() {
    let pos = positives(4);
    let neg = negatives();
    assert!(neg.len() >= pos.len(), "{} negatives for {} positives", neg.len(), pos.len());
    for family in POSITIVE_FAMILIES {
        assert!(pos.iter().any(|p| p.family == *family), "no positive case of {family}");
    }
    for family in NEGATIVE_FAMILIES {
        assert!(neg.iter().any(|n| n.family == *family), "no negative case of {family}");
    }
}

#[test]
fn the_native_rules_meet_recall_and_false_positive_goals() {
    let engine = Engine::with_defaults();
    let report = score(&mut |t| engine.redact(t, &[]).text);
    eprintln!("native rules: {report}");
    assert_goals(&report);
}

#[test]
fn the_shipped_component_in_the_sandbox_agrees_with_the_native_rules() {
    use codex_master::ext::{worlds, Kind, Limits, Slot, Source};
    let limits = Limits { deadline: std::time::Duration::from_secs(5), memory_bytes: 64 * 1024 * 1024 };
    let mut slot = Slot::<worlds::Redaction>::load(Kind::Redaction.embedded(), Source::Embedded, None, limits).unwrap();
    let engine = Engine::with_defaults();
    let report = score(&mut |t| {
        let sandboxed = slot.call(|w, s| w.redact(s, t, &[])).unwrap().text;
        assert_eq!(sandboxed, engine.redact(t, &[]).text, "the component and the floor disagree on {t:?}");
        sandboxed
    });
    eprintln!("sandbox: {report}");
    assert_goals(&report);
}
