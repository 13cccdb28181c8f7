//! Cold CLI calls side by side with the Python original (`../shared/reference/seed/`), on the
//! same machine, in alternation, in one environment (one state root, the default agents `a` and
//! `b`): medians of each, and the ratio. Also the peak memory of each call, and the cold paths
//! the original has no counterpart for (the hook subcommand, the first redaction of a fresh
//! state, a tail with a warm cache). Without the original's directory only our side is printed.
//!
//! Run: `cargo bench -p codex-master-host --bench seed`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_codex-master-mcp");
const RUNS: usize = 15;

fn seed() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/seed/bin/codex-master-mcp");
    bin.is_file().then_some(bin)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct World {
    root: PathBuf,
}

impl World {
    fn new(tag: &str, agents: &str) -> World {
        let root = std::env::temp_dir().join(format!("cm-bench-seed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        std::fs::create_dir_all(root.join("work")).unwrap();
        std::fs::write(root.join("cfg/config.toml"), agents).unwrap();
        World { root }
    }

    fn command(&self, bin: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin);
        c.args(args)
            .env("CODEX_MASTER_MCP_STATE_DIR", self.root.join("state"))
            .env("CODEX_MASTER_MCP_CONFIG_DIR", self.root.join("cfg"))
            .env("CODEX_MASTER_TMUX_SOCKET", self.root.join("tmux.sock"))
            .env("TMUX_TMPDIR", &self.root)
            .env("HOME", &self.root)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Wall time and peak RSS (KiB) of one run.
    fn run(&self, bin: &Path, args: &[&str]) -> (Duration, u64) {
        let started = Instant::now();
        let mut child = self.command(bin, args).spawn().unwrap();
        let pid = child.id() as i32;
        // wait4 gives the child's peak RSS.
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child once, with valid pointers.
        unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let took = started.elapsed();
        let _ = child.try_wait();
        (took, usage.ru_maxrss as u64)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(self.root.join("tmux.sock"))
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Our call alone, back to back: its median. Against the alternating median it shows what the
/// original's run in between costs ours (caches and TLBs it leaves cold).
fn back_to_back(w: &World, args: &[&str]) -> Duration {
    median((0..RUNS).map(|_| w.run(Path::new(BIN), args).0).collect())
}

/// Our call and the original's in alternation: (ours, original's) medians and peak RSS.
fn side_by_side(w: &World, args: &[&str], seed_args: &[&str]) -> ((Duration, u64), Option<(Duration, u64)>) {
    let ours = Path::new(BIN);
    let original = seed();
    // One warm-up each (page cache, the compiled-component cache).
    w.run(ours, args);
    if let Some(s) = &original {
        w.run(s, seed_args);
    }
    let (mut a, mut b, mut a_rss, mut b_rss) = (Vec::new(), Vec::new(), 0, 0);
    for _ in 0..RUNS {
        let (t, rss) = w.run(ours, args);
        a.push(t);
        a_rss = a_rss.max(rss);
        if let Some(s) = &original {
            let (t, rss) = w.run(s, seed_args);
            b.push(t);
            b_rss = b_rss.max(rss);
        }
    }
    ((median(a), a_rss), original.map(|_| (median(b), b_rss)))
}

fn report(what: &str, goal: &str, r: ((Duration, u64), Option<(Duration, u64)>), alone: Duration) {
    let ((ours, ours_rss), seed) = r;
    match seed {
        Some((theirs, their_rss)) => println!(
            "{what}: ours {:.1} ms ({:.1} ms back to back), {:.1} MiB; the original {:.0} ms, {:.1} MiB; {:.1}x faster ({goal})",
            ms(ours),
            ms(alone),
            ours_rss as f64 / 1024.0,
            ms(theirs),
            their_rss as f64 / 1024.0,
            ms(theirs) / ms(ours)
        ),
        None => println!(
            "{what}: ours {:.1} ms, {:.1} MiB ({goal}; the original is not present)",
            ms(ours),
            ours_rss as f64 / 1024.0
        ),
    }
}

fn main() {
    // The default agents a and b: both tools know them without a config.
    let w = World::new("cold", "");
    let call = |w: &World, args: &[&str]| (side_by_side(w, args, args), back_to_back(w, args));
    let (r, alone) = call(&w, &["lease-status", "all"]);
    report("cold `lease-status all`", "goal <= 5 ms", r, alone);
    let (r, alone) = call(&w, &["status", "all"]);
    report("cold `status all`, no agent running", "goal <= 15 ms", r, alone);
    let (r, alone) = call(&w, &["tools"]);
    report("cold `tools` (never redacts)", "no goal", r, alone);

    // Two scripted workers running: our status reads their panes (the original has no
    // scripted agent; its `status all` above is the nearest call).
    let fleet = World::new("fleet", "[agents.a]\nprofile = \"scripted\"\n[agents.b]\nprofile = \"scripted\"\n");
    let work = fleet.root.join("work");
    let ok = fleet.command(Path::new(BIN), &["start", "all", "--cwd", work.to_str().unwrap()]).status().unwrap();
    assert!(ok.success());
    std::thread::sleep(Duration::from_secs(3));
    let (r, alone) = call(&fleet, &["status", "all"]);
    report("cold `status all`, 2 workers running", "goal <= 15 ms", r, alone);
    let (r, alone) = call(&fleet, &["tail", "a"]);
    report("cold `tail a` with a warm cache", "goal <= 20 ms", r, alone);

    // The hook subcommand, as a worker CLI's hook runs it (no counterpart in the original).
    let mut hook = Vec::new();
    let state = fleet.root.join("state");
    for _ in 0..50 {
        let started = Instant::now();
        let mut c = Command::new(BIN);
        c.args(["hook", "--codex-master-events", "--cli", "claude", "--agent", "a", "--event", "Stop", "--state-dir"])
            .arg(&state)
            .stdin(Stdio::null());
        assert!(c.status().unwrap().success());
        hook.push(started.elapsed());
    }
    println!("hook subcommand, cold: median {:.2} ms (goal <= 5 ms)", ms(median(hook)));

    // The first redaction of a fresh state: a tail right after the start (no compiled-component
    // cache yet), and the redaction component's first run in the sandbox (compiled, then cached).
    let fresh = World::new("fresh", "[agents.a]\nprofile = \"scripted\"\n");
    let work = fresh.root.join("work");
    let ok = fresh.command(Path::new(BIN), &["start", "a", "--cwd", work.to_str().unwrap()]).status().unwrap();
    assert!(ok.success());
    let (first_tail, _) = fresh.run(Path::new(BIN), &["tail", "a"]);
    let (first_sandboxed, _) = fresh.run(Path::new(BIN), &["ext", "run", "redaction"]);
    let (cached, _) = fresh.run(Path::new(BIN), &["ext", "run", "redaction"]);
    println!(
        "first redaction on a fresh state: tail {:.1} ms; the redaction component {:.1} ms compiled, {:.1} ms cached (goal <= 500 ms)",
        ms(first_tail),
        ms(first_sandboxed),
        ms(cached)
    );
}
