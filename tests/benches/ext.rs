//! Extension benchmarks (prints numbers; never a timed test):
//! first compile of each default, load from the compiled cache, warm classify, and redaction
//! of 1 MiB of mixed log text, all through the real sandbox (epoch deadline, memory cap); and the
//! default redaction's recall and false positives per family on the test corpus.
//!
//! Run: `cargo bench -p codex-master-host --bench ext`.

use std::time::{Duration, Instant};

use codex_master::ext::types::limits;
use codex_master::ext::worlds;
use codex_master::ext::{cache, engine, Kind, Limits, Slot, Source, World, KINDS};
use codex_master::fsafe::Dir;

#[allow(dead_code)]
#[path = "../common/secrets_corpus.rs"]
mod secrets_corpus;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let engine = engine::engine().expect("engine");
    let tmp = std::env::temp_dir().join(format!("cm-bench-ext-{}", std::process::id()));
    let cache_dir = Dir::walk_private(&tmp).unwrap();

    for kind in KINDS {
        let bytes = kind.embedded();
        let sha = cache::sha256_hex(bytes);
        let started = Instant::now();
        let _ = cache::load(engine, Some(&cache_dir), bytes, &sha).unwrap();
        let compile = started.elapsed();
        let loads: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                let (_, origin) = cache::load(engine, Some(&cache_dir), bytes, &sha).unwrap();
                assert_eq!(origin, cache::Origin::Cache);
                t.elapsed()
            })
            .collect();
        println!(
            "{:<9} {:>4} KiB: first compile {:7.1} ms (goal < 500 ms); load from cache median {:5.2} ms (goal < 5 ms)",
            kind.name(),
            bytes.len() / 1024,
            ms(compile),
            ms(median(loads))
        );
    }

    let lim = Limits::default();
    let mut classifier =
        Slot::<worlds::Limits>::load(Kind::Limits.embedded(), Source::Embedded, Some(&cache_dir), lim).unwrap();
    let pane = format!(
        "╭───────────────────────────────────────╮\n│ >_ OpenAI Codex (v0.169.0)            │\n╰───────────────────────────────────────╯\n{}\n• Working (12s • esc to interrupt)\n\n› \n  ? for shortcuts                     87% context left",
        "• Ran cargo test\n  └ test result: ok. 52 passed; 0 failed\n".repeat(8)
    );
    let input = limits::ClassifyInput {
        pane,
        since_last_send: String::new(),
        last_sent: Some("Run the tests and report.".into()),
        pane_width: 100,
        running: true,
        profile: "codex".into(),
        session_model: Some("gpt-5.4-mini".into()),
        assignment_model: None,
        now_epoch_seconds: 1_795_514_400,
        utc_offset_seconds: 0,
    };
    for _ in 0..200 {
        classifier.call(|w, s| w.classify(s, &input)).unwrap();
    }
    let mut times: Vec<Duration> = (0..3000)
        .map(|_| {
            let t = Instant::now();
            classifier.call(|w, s| w.classify(s, &input)).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    let mut calls: Vec<Duration> = (0..3000)
        .map(|_| {
            let t = Instant::now();
            classifier.call(|w, s| w.describe(s)).unwrap();
            t.elapsed()
        })
        .collect();
    calls.sort();
    println!(
        "warm describe() round trip (the per-call floor): p50 {:.1} µs",
        calls[calls.len() / 2].as_secs_f64() * 1e6
    );
    println!(
        "warm classify ({} B pane): p50 {:.1} µs, p90 {:.1} µs (goal p50 < 20 µs)",
        input.pane.len(),
        times[times.len() / 2].as_secs_f64() * 1e6,
        times[times.len() * 9 / 10].as_secs_f64() * 1e6
    );

    // The other default classifiers, each on a screen of its own CLI of about the same size.
    let screens = [
        (
            "limits-claude",
            "claude",
            format!(
                "{}✻ Pondering… (12s · ↑ 1.2k tokens · esc to interrupt)\n\n╭──────────────────────────╮\n│ >                        │\n╰──────────────────────────╯\n  ? for shortcuts",
                "⏺ Bash(cargo test)\n  ⎿  test result: ok. 52 passed; 0 failed\n".repeat(8)
            ),
        ),
        (
            "limits-gemini",
            "gemini",
            format!(
                "{}⠋ Thinking... (esc to cancel, 12s)\n\n╭──────────────────────────╮\n│ >   Type your message or @path/to/file │\n╰──────────────────────────╯\n~/work   no sandbox   gemini-2.5-pro (87% context left)",
                "✦ Ran cargo test\n  test result: ok. 52 passed; 0 failed\n".repeat(8)
            ),
        ),
    ];
    for (file, profile, pane) in screens {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../extensions/dist/{file}.wasm")),
        )
        .unwrap();
        let mut slot = Slot::<worlds::Limits>::load(&bytes, Source::Embedded, Some(&cache_dir), lim).unwrap();
        let input = limits::ClassifyInput { pane, profile: profile.into(), ..input.clone() };
        for _ in 0..200 {
            slot.call(|w, s| w.classify(s, &input)).unwrap();
        }
        let mut times: Vec<Duration> = (0..3000)
            .map(|_| {
                let t = Instant::now();
                slot.call(|w, s| w.classify(s, &input)).unwrap();
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "warm classify, {file} ({} B pane): p50 {:.1} µs, p90 {:.1} µs (goal p50 < 20 µs)",
            input.pane.len(),
            times[times.len() / 2].as_secs_f64() * 1e6,
            times[times.len() * 9 / 10].as_secs_f64() * 1e6
        );
    }

    let lines = [
        "2026-11-24T10:00:00Z INFO compiling crate foo v1.2.3 (/home/dev/work/foo)",
        "• Working (12s • esc to interrupt)",
        "warning: unused variable `x` at src/lib.rs:10:5",
        "commit 0123456789abcdef0123456789abcdef01234567 Merge branch 'main'",
        "   Compiling regex v1.11.0",
        "test tests::it_works ... ok",
        "\x1b[32m+\x1b[0m added line with some code: let x = foo(bar, baz);",
        "export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        "Authorization: Bearer abcdefghijklmnop0123",
        "{\"id\": \"123e4567-e89b-12d3-a456-426614174000\", \"ok\": true}",
    ];
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 1 << 20 {
        text.push_str(lines[i % lines.len()]);
        text.push('\n');
        i += 1;
    }
    let mut redactor = Slot::<worlds::Redaction>::load(
        Kind::Redaction.embedded(),
        Source::Embedded,
        Some(&cache_dir),
        Limits { deadline: Duration::from_secs(5), ..lim },
    )
    .unwrap();
    let req = text.clone();
    let runs: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let out = redactor.call(|w, s| w.redact(s, &req, &[])).unwrap();
            assert!(out.changed);
            t.elapsed()
        })
        .collect();
    let native: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let _ = codex_master::text::redact(&text);
            t.elapsed()
        })
        .collect();
    println!(
        "redact {:.2} MiB mixed log in the sandbox: median {:.1} ms (goal < 20 ms); the host's native baseline: {:.1} ms",
        text.len() as f64 / (1 << 20) as f64,
        ms(median(runs)),
        ms(median(native))
    );
    // The same size of text with nothing to mask: the scan alone, no rewriting.
    let plain = "test tests::it_works ... ok\n".repeat((1 << 20) / 28);
    let req = plain;
    let runs: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let out = redactor.call(|w, s| w.redact(s, &req, &[])).unwrap();
            assert!(!out.changed);
            t.elapsed()
        })
        .collect();
    println!("redact 1 MiB with nothing to mask, in the sandbox: median {:.1} ms", ms(median(runs)));

    // Recall and false positives per family, through the sandbox.
    use std::collections::BTreeMap;
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in secrets_corpus::positives(4) {
        let out = redactor.call(|w, s| w.redact(s, &p.text, &[])).unwrap().text;
        let e = per.entry(p.family).or_default();
        e.0 += 1;
        e.1 += usize::from(p.secrets.iter().all(|s| !secrets_corpus::leaked(s, &out)));
    }
    let (total, caught) = per.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("redaction recall {:.2}% ({caught}/{total}); per family:", 100.0 * caught as f64 / total as f64);
    for (family, (n, c)) in &per {
        println!("  {family:<28} {c:>4}/{n:<4} {:.1}%", 100.0 * *c as f64 / *n as f64);
    }
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for n in secrets_corpus::negatives() {
        let out = redactor.call(|w, s| w.redact(s, &n.text, &[])).unwrap().text;
        let e = per.entry(n.family).or_default();
        e.0 += 1;
        e.1 += usize::from(out != n.text);
    }
    let (total, changed) = per.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "redaction false positives {:.2}% ({changed}/{total}); per family:",
        100.0 * changed as f64 / total as f64
    );
    for (family, (n, c)) in &per {
        println!("  {family:<28} {c:>4}/{n:<4} changed");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
