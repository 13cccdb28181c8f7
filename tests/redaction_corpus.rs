//! The redaction rules against a labelled corpus of secret shapes in context and look-alikes
//! (`common/secrets_corpus.rs`): recall at least 99%, false positives at most 1%. Run against
//! the shipped default component in the sandbox, and against the host's native floor (the same
//! rules), which must agree.

use std::collections::BTreeMap;

use crate::common::secrets_corpus::{leaked, negatives, positives};
use codex_master_redaction_engine::Engine;

/// (recall, false-positive rate, per-family misses, changed negatives).
fn score(redact: &mut dyn FnMut(&str) -> String) -> (f64, f64, BTreeMap<&'static str, Vec<String>>, Vec<String>) {
    let pos = positives(4);
    let neg = negatives();
    let mut misses: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut caught = 0;
    for p in &pos {
        let out = redact(&p.text);
        if p.secrets.iter().any(|s| leaked(s, &out)) {
            misses.entry(p.family).or_default().push(format!("{}\n    -> {}", p.text, out));
        } else {
            caught += 1;
        }
    }
    let mut changed = Vec::new();
    for n in &neg {
        let out = redact(&n.text);
        if out != n.text {
            changed.push(format!("[{}] {}\n    -> {}", n.family, n.text, out));
        }
    }
    (caught as f64 / pos.len() as f64, changed.len() as f64 / neg.len() as f64, misses, changed)
}

#[test]
fn the_native_rules_meet_recall_and_false_positive_goals() {
    let engine = Engine::with_defaults();
    let (recall, fp, misses, changed) = score(&mut |t| engine.redact(t, &[]).text);
    let report = format!("recall {:.3}, fp {:.3}\nmisses: {misses:#?}\nchanged: {changed:#?}", recall, fp);
    assert!(recall >= 0.99 && fp <= 0.01, "{report}");
}

#[test]
fn the_shipped_component_in_the_sandbox_agrees_with_the_native_rules() {
    use codex_master::ext::{worlds, Kind, Limits, Slot, Source};
    let limits = Limits { deadline: std::time::Duration::from_secs(5), memory_bytes: 64 * 1024 * 1024 };
    let mut slot = Slot::<worlds::Redaction>::load(Kind::Redaction.embedded(), Source::Embedded, None, limits).unwrap();
    let engine = Engine::with_defaults();
    let (recall, fp, misses, changed) = score(&mut |t| {
        let sandboxed = slot.call(|w, s| w.redact(s, t, &[])).unwrap().text;
        assert_eq!(sandboxed, engine.redact(t, &[]).text, "the component and the floor disagree on {t:?}");
        sandboxed
    });
    eprintln!("sandbox: recall {recall:.4}, false positives {fp:.4}");
    assert!(recall >= 0.99 && fp <= 0.01, "recall {recall:.3}, fp {fp:.3}\nmisses: {misses:#?}\nchanged: {changed:#?}");
}
