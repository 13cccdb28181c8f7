//! Foundation benchmarks (prints numbers; never a timed test):
//! - cold CLI call of a cheap command (`lease-status a`): median and p90 over 60 runs;
//! - `ping` round trips over one stdio connection, one at a time, and pipelined;
//! - a client that pipelines 100,000 calls and stops reading: the server's RSS, threads and fds;
//! - `ping` latency while 1,500 `agent_wait` calls are outstanding on the same connection.
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
    println!(
        "cold CLI `lease-status a`: median {:.2} ms, p90 {:.2} ms (seed Python CLI: ~170-210 ms, about {:.0}x slower)",
        median.as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3,
        0.19 / median.as_secs_f64()
    );

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
    let mut child = server(&env);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-11-25"}}}}"#)
        .unwrap();
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
    backpressure(&env);
    waits_and_ping(&state);
    let _ = std::fs::remove_dir_all(&state);
}

/// The MCP server on pipes (stdin and stdout piped, stderr dropped).
fn server(env: &[(&str, std::path::PathBuf)]) -> std::process::Child {
    Command::new(BIN)
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// (RSS MiB, threads, fds) of a process.
fn footprint(pid: u32) -> (f64, u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (field("VmRSS:") as f64 / 1024.0, field("Threads:"), fds)
}

/// 100,000 pipelined calls from a client that never reads: the server stops reading when its
/// output backs up, so its footprint stays flat.
fn backpressure(env: &[(&str, std::path::PathBuf)]) {
    let mut child = server(env);
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut buf =
            String::from(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#);
        buf.push('\n');
        for i in 1..=100_000 {
            buf.push_str(&format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"agent_lease_status","arguments":{{"agent":"a"}}}}}}"#));
            buf.push('\n');
            if i % 1000 == 0 {
                if stdin.write_all(buf.as_bytes()).is_err() {
                    return;
                }
                buf.clear();
            }
        }
    });
    std::thread::sleep(Duration::from_secs(5));
    let (rss, threads, fds) = footprint(pid);
    println!("100,000 pipelined calls, client not reading: RSS {rss:.1} MiB (goal < 64), {threads} threads (goal < 32), {fds} fds");
    drop(stdout);
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
}

/// 1,500 outstanding waits (beyond the in-flight cap they are refused at once) and the latency
/// of `ping` on the same connection meanwhile.
fn waits_and_ping(state: &std::path::Path) {
    let root = state.join("waits");
    std::fs::create_dir_all(root.join("cfg")).unwrap();
    std::fs::write(root.join("cfg/config.toml"), "[agents.w]\nprofile = \"scripted\"\n").unwrap();
    let socket = root.join("tmux.sock");
    let env = [
        ("CODEX_MASTER_MCP_STATE_DIR", root.join("state")),
        ("CODEX_MASTER_MCP_CONFIG_DIR", root.join("cfg")),
        ("CODEX_MASTER_TMUX_SOCKET", socket.clone()),
    ];
    let cli = |args: &[&str]| {
        Command::new(BIN).args(args).envs(env.iter().cloned()).env_remove("RUST_BACKTRACE").output().unwrap()
    };
    assert!(cli(&["start", "w", "--cwd", "/tmp"]).status.success());
    std::thread::sleep(Duration::from_millis(800));
    cli(&["send", "w", "work 120"]);
    let mut child = server(&env);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-11-25"}}}}"#)
        .unwrap();
    stdout.read_line(&mut line).unwrap();
    let mut buf = String::new();
    for i in 1..=1500 {
        buf.push_str(&format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"agent_wait","arguments":{{"agent":"w","until":"idle","timeout_seconds":60}}}}}}"#));
        buf.push('\n');
    }
    // Written from a thread: the server stops reading while we do not read its answers.
    let writer = std::thread::spawn(move || {
        stdin.write_all(buf.as_bytes()).unwrap();
        stdin.flush().unwrap();
        stdin
    });
    // Drain the immediate `server_busy` answers, then time pings while the rest wait.
    let mut busy = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while busy < 1500 - 128 && Instant::now() < deadline {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        if line.contains("server_busy") {
            busy += 1;
        }
    }
    let mut stdin = writer.join().expect("writer thread");
    let mut times = Vec::new();
    for i in 0..200 {
        let started = Instant::now();
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":"p{i}","method":"ping"}}"#).unwrap();
        stdin.flush().unwrap();
        loop {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            if line.contains(&format!("\"p{i}\"")) {
                break;
            }
        }
        times.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    times.sort();
    let (rss, threads, fds) = footprint(child.id());
    println!(
        "ping during 1,500 agent_wait calls ({} waiting, {busy} refused server_busy): p50 {:.2} ms, p90 {:.2} ms (goal p50 < 5 ms); server RSS {rss:.1} MiB, {threads} threads, {fds} fds",
        1500 - busy,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("tmux").arg("-S").arg(&socket).arg("kill-server").output();
}
