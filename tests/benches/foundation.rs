//! Foundation benchmarks (prints numbers; never a timed test):
//! - cold CLI call of a cheap command (`lease-status a`): median and p90 over 60 runs;
//! - `ping` round trips over one stdio connection, one at a time, and pipelined.
//!
//! Run: `cargo bench -p codex-master-host --bench foundation`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_codex-master-mcp");

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let state = std::env::temp_dir().join(format!("cm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    let env = [("CODEX_MASTER_MCP_STATE_DIR", state.join("state")), ("TMUX_TMPDIR", state.clone())];

    // Cold CLI calls.
    let mut times = Vec::new();
    for _ in 0..60 {
        let started = Instant::now();
        let out = Command::new(BIN).args(["lease-status", "a"]).envs(env.iter().cloned()).output().unwrap();
        times.push(started.elapsed());
        assert!(out.status.success());
    }
    times.sort();
    let median = percentile(&times, 0.5);
    println!("cold CLI `lease-status a`: median {:.2} ms, p90 {:.2} ms (seed Python CLI: ~170-210 ms, about {:.0}x slower)",
        median.as_secs_f64() * 1e3, percentile(&times, 0.9).as_secs_f64() * 1e3, 0.19 / median.as_secs_f64());

    // The floor: the same sequential round trips through `cat`, which only echoes the line.
    let floor = {
        let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let mut stdout = BufReader::new(cat.stdout.take().unwrap());
        let mut line = String::new();
        let started = Instant::now();
        for i in 0..20_000 {
            writeln!(stdin, r#"{{"jsonrpc":"2.0","id":{i},"method":"ping"}}"#).unwrap();
            stdin.flush().unwrap();
            line.clear();
            stdout.read_line(&mut line).unwrap();
        }
        let rate = 20_000.0 / started.elapsed().as_secs_f64();
        drop(stdin);
        let _ = cat.wait();
        rate
    };

    // Ping round trips over one connection.
    let mut child = Command::new(BIN).envs(env.iter().cloned()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-11-25"}}}}"#).unwrap();
    stdout.read_line(&mut line).unwrap();

    let n = 20_000;
    let started = Instant::now();
    for i in 1..=n {
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":{i},"method":"ping"}}"#).unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_line(&mut line).unwrap();
    }
    let sequential = n as f64 / started.elapsed().as_secs_f64();

    let writer = {
        let mut stdin = stdin;
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            for i in 0..n {
                writeln!(buf, r#"{{"jsonrpc":"2.0","id":{},"method":"ping"}}"#, n + 1 + i).unwrap();
            }
            stdin.write_all(&buf).unwrap();
            stdin
        })
    };
    let started = Instant::now();
    for _ in 0..n {
        line.clear();
        stdout.read_line(&mut line).unwrap();
    }
    let pipelined = n as f64 / started.elapsed().as_secs_f64();
    drop(writer.join().unwrap());
    let _ = child.wait();
    println!(
        "ping round trips, one at a time: {sequential:.0}/s (goal >= 20000/s: {:.2}x; `cat` echoing the same lines: {floor:.0}/s, ours = {:.2}x of that floor)",
        sequential / 20_000.0,
        sequential / floor
    );
    println!("ping, pipelined on one connection: {pipelined:.0}/s");
    let _ = std::fs::remove_dir_all(&state);
}
