//! `hook`: what a worker CLI's hook config runs on each of its events.
//!
//! ```text
//! codex-master-mcp hook --codex-master-events --cli claude --agent a --state-dir R --event Stop
//! ```
//!
//! It reads the CLI's event JSON (stdin, or the last argument for Codex's `notify`), keeps the
//! allowlist the provider maps it to ([`crate::events::Event`]: words and numbers), and appends
//! that to the agent's event log. It never blocks or breaks the CLI: it prints nothing, exits 0
//! whatever it is given, and a watchdog thread ends it at [`DEADLINE`]. It runs before anything
//! else the binary sets up (no config, no catalogue, no runtime), so a call costs a few
//! milliseconds.

use std::ffi::OsString;
use std::io::Read;
use std::time::{Duration, Instant};

use crate::agents::profiles::{HookCall, Profile};
use crate::events::{self, EventKind};

/// The longest a hook runs, whatever happens.
pub const DEADLINE: Duration = Duration::from_millis(1500);
/// Input kept for parsing; the rest is read and dropped, so the CLI's write never fails.
const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// The parsed command line; unknown words are ignored (a newer config, a CLI's extra argument).
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    cli: Option<String>,
    agent: Option<String>,
    state_dir: Option<String>,
    event: Option<String>,
    /// The last bare argument (Codex's `notify` passes its JSON so).
    payload: Option<String>,
}

fn parse(args: &[OsString]) -> Args {
    let mut out = Args::default();
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(word) = it.next() {
        let slot = match word.as_str() {
            "--cli" => &mut out.cli,
            "--agent" => &mut out.agent,
            "--state-dir" => &mut out.state_dir,
            "--event" => &mut out.event,
            w if w.starts_with("--") => continue,
            _ => {
                out.payload = Some(word);
                continue;
            }
        };
        *slot = it.next();
    }
    out
}

/// Runs the hook; always 0.
pub fn run(args: &[OsString]) -> i32 {
    std::thread::spawn(|| {
        std::thread::sleep(DEADLINE);
        std::process::exit(0);
    });
    let started = Instant::now();
    let _ = record(&parse(args), started);
    0
}

/// The CLI's input: the payload argument when it is JSON, else stdin (bounded; never a
/// terminal).
fn input(args: &Args, started: Instant) -> serde_json::Value {
    if let Some(v) = args.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()) {
        return v;
    }
    let stdin = std::io::stdin();
    if rustix::termios::isatty(&stdin) {
        return serde_json::Value::Null;
    }
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut lock = stdin.lock();
    while started.elapsed() < DEADLINE / 2 {
        match lock.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) if kept.len() + n <= MAX_INPUT_BYTES => kept.extend_from_slice(&chunk[..n]),
            // Past the bound the input is no event of ours: drain it so the writer never fails.
            Ok(_) => kept.clear(),
        }
    }
    serde_json::from_slice(&kept).unwrap_or(serde_json::Value::Null)
}

fn record(args: &Args, started: Instant) -> Option<()> {
    let provider = Profile::named(args.cli.as_deref()?)?.provider();
    let agent = args.agent.as_deref().filter(|a| crate::agents::valid_agent_name(a))?;
    let root = std::path::Path::new(args.state_dir.as_deref()?);
    if !root.is_absolute() {
        return None;
    }
    let input = input(args, started);
    let at_ms = (crate::timefmt::now_epoch() * 1000.0) as u64;
    let call = HookCall { event: args.event.as_deref(), input: &input, at_ms };
    let event = provider.hook_event(&call)?;
    // The state root must exist already (a start made it); never create one for a stray call.
    let root = crate::fsafe::Dir::walk(root, false).ok()?;
    let dir = events::dir(&root).ok()?;
    if event.kind == EventKind::Usage && !events::log::usage_changed(&dir, agent, &event) {
        return Some(());
    }
    events::log::append(&dir, agent, &event).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_read_leniently() {
        let words: Vec<OsString> = [
            "--codex-master-events",
            "--cli",
            "claude",
            "--agent",
            "a",
            "--state-dir",
            "/s",
            "--event",
            "Stop",
            "--future-flag",
            "{\"type\":\"agent-turn-complete\"}",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let a = parse(&words);
        assert_eq!(
            (a.cli.as_deref(), a.agent.as_deref(), a.state_dir.as_deref(), a.event.as_deref()),
            (Some("claude"), Some("a"), Some("/s"), Some("Stop"))
        );
        assert_eq!(a.payload.as_deref(), Some("{\"type\":\"agent-turn-complete\"}"));
        assert_eq!(parse(&[OsString::from("--cli")]), Args::default());
    }
}
