//! Times the default rules on 1 MiB of mixed log text (profiling aid).
use std::time::Instant;

fn main() {
    let lines = [
        "2026-11-24T10:00:00Z INFO compiling crate foo v1.2.3 (/home/dev/work/foo)",
        "• Working (12s • esc to interrupt)",
        "warning: unused variable `x` at src/lib.rs:10:5",
        "commit 0123456789abcdef0123456789abcdef01234567 Merge branch 'main'",
        "   Compiling regex v1.11.0",
        "test tests::it_works ... ok",
        "+ added line with some code: let x = foo(bar, baz);",
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
    let e = codex_master_redaction_engine::Engine::with_defaults();
    for _ in 0..3 {
        let t = Instant::now();
        let out = e.redact(&text, &[]);
        println!("{:.1} ms changed={}", t.elapsed().as_secs_f64() * 1e3, out.changed);
    }
    let t = Instant::now();
    let (_, n) = codex_master_redaction_engine::paths::mask_paths(&text, &[]);
    println!("paths alone {:.1} ms ({n})", t.elapsed().as_secs_f64() * 1e3);
}
