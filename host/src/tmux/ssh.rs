//! tmux on another host, through the one ssh transport ([`crate::ssh`]): tmux on our own socket
//! there, the host's raw logs, what `doctor` asks it, and a fleet snapshot in one round trip.

use super::{shell_join, shell_quote, Place, Snapshot, TmuxError, TmuxOutput, TMUX_TIMEOUT};
use crate::ssh::{check_transport, SshError, SshHost};

/// The remote tmux server's socket name (`tmux -L`): ours alone, beside the user's default.
pub const REMOTE_SOCKET: &str = "codex-master-mcp";

/// Where a worker's raw log lives on its host (below the remote `$HOME`).
pub const REMOTE_RAW_DIR: &str = ".local/state/codex-master-mcp/raw";

/// The remote command line: tmux on our socket, each word quoted for the remote shell. `-u`:
/// a session started over ssh often has no locale, and tmux would then print a format's tabs
/// as `_`.
pub fn remote_tmux(args: &[&str]) -> String {
    let mut words = vec!["tmux", "-u", "-L", REMOTE_SOCKET];
    words.extend_from_slice(args);
    shell_join(&words)
}

/// Runs one remote shell line on `host`, bounded by the tmux deadline.
pub async fn run_line(host: &SshHost, line: &str) -> Result<crate::process::Output, TmuxError> {
    Ok(crate::ssh::run_kept(host, line, TMUX_TIMEOUT).await?)
}

/// The last `max` bytes of a raw log on the host (empty when there is none).
pub async fn read_log_tail(host: &SshHost, raw_name: &str, max: u64) -> Result<Vec<u8>, TmuxError> {
    let path = format!("\"$HOME\"/{REMOTE_RAW_DIR}/{}", super::shell_quote(raw_name));
    let line = format!("tail -c {max} -- {path} 2>/dev/null || true");
    Ok(run_line(host, &line).await?.stdout)
}

/// What `doctor` asks a host, in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// ssh answered without a prompt.
    pub reachable: bool,
    pub host_key_known: bool,
    /// `tmux -V` there (empty: none on its PATH).
    pub tmux_version: String,
    /// Of the runners asked about, how many are executable files there.
    pub runners_found: usize,
}

/// Asks `host` (non-interactively) for its tmux and whether each runner is executable there.
pub async fn probe(host: &SshHost, runners: &[String]) -> Probe {
    let mut line = String::from("tmux -V 2>/dev/null | head -c 40; echo");
    for r in runners {
        line.push_str(&format!("; test -f {0} && test -x {0} && echo runner-found", super::shell_quote(r)));
    }
    line.push_str("; true");
    let Ok(argv) = host.argv(&line, TMUX_TIMEOUT) else { return Probe::default() };
    let out = crate::process::run(&crate::process::Cmd::new("ssh", &argv, TMUX_TIMEOUT)).await;
    match check_transport(host, out.code, &out.stderr) {
        Err(SshError::UnknownHostKey(_)) => return Probe::default(),
        Err(_) => return Probe { host_key_known: true, ..Probe::default() },
        Ok(()) if out.timed_out || out.code != 0 => return Probe { host_key_known: true, ..Probe::default() },
        Ok(()) => {}
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.lines().next().unwrap_or_default();
    let plain = version.starts_with("tmux ") && version.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    Probe {
        reachable: true,
        host_key_known: true,
        tmux_version: if plain { version.to_owned() } else { String::new() },
        runners_found: text.lines().filter(|l| *l == "runner-found").count(),
    }
}

/// A host's `/proc` texts, read in the snapshot's round trip (empty where the host has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcTexts {
    pub meminfo: String,
    pub memory_pressure: String,
    pub cpu_pressure: String,
}

/// The host's `/proc` readings: one program reads the three files (a `cat` each would start
/// three per observation); each line comes back behind its file's name.
const READINGS_LINE: &str =
    "grep -s -H -e '^MemAvailable:' -e '^some ' /proc/meminfo /proc/pressure/memory /proc/pressure/cpu";

/// The remote line of a snapshot without a control client: the host's `/proc` readings, a
/// marker line, then tmux (the listing and the captures).
fn snapshot_line(tmux_args: &[String], marker: &str) -> String {
    // No `exec`: the line may run in the host's long-lived shell.
    format!(
        "{READINGS_LINE}; echo {}; {}",
        shell_quote(marker),
        remote_tmux(&tmux_args.iter().map(String::as_str).collect::<Vec<_>>())
    )
}

/// A host's snapshot in one round trip: its readings, its panes and the captures of
/// `sessions`. A long-lived process asks its kept control client there (the readings go
/// through its kept shell at the same time); without one, one shell line does it all. Every
/// pane is captured each time: through the control client, 64 captures cost the host's tmux
/// less than deciding which panes printed (`if-shell -F` per pane) or starting a tmux client.
pub async fn snapshot(
    host: &std::sync::Arc<SshHost>,
    sessions: &[String],
    lines: u32,
    readings: Readings,
) -> Result<Snapshot, TmuxError> {
    let place = Place::Ssh(host.clone());
    let marker = format!("codex-master-split-{}", crate::fsafe::nonce());
    let args = super::snapshot_args(sessions, lines, &marker);
    if super::control::kept() {
        if let Some(snap) = through_control(host, sessions, lines, (&args, &marker), readings).await? {
            return Ok(snap);
        }
    }
    let out = run_line(host, &snapshot_line(&args, &marker)).await?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (readings, rest) = stdout.split_once(&format!("{marker}\n")).unwrap_or_default();
    let tmux_out = TmuxOutput::new(out.ok(), rest.to_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    let mut snap = super::read_snapshot(&place, sessions, lines, &marker, tmux_out).await?;
    snap.readings = Some(proc_texts(readings));
    super::attach_control(&place, sessions, &snap);
    Ok(snap)
}

/// How fresh a host's `/proc` readings must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readings {
    /// Read now (admission before a start).
    Fresh,
    /// A reading under a second old stands (an observation: the figures are averages, and
    /// asking each time costs the host a program start per observation).
    Recent,
}

/// How long a host's readings stand for [`Readings::Recent`].
const READINGS_REUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Each host's last readings (by host name), with when they were read.
type Recent = std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, ProcTexts)>>;

fn recent() -> &'static Recent {
    static LAST: std::sync::OnceLock<Recent> = std::sync::OnceLock::new();
    LAST.get_or_init(Default::default)
}

/// The host's readings: a recent one when that stands, else read through its kept shell.
async fn read_proc(host: &SshHost, readings: Readings) -> Result<ProcTexts, TmuxError> {
    if readings == Readings::Recent {
        let last = recent().lock().unwrap_or_else(|p| p.into_inner()).get(&host.name).cloned();
        if let Some((_, texts)) = last.filter(|(at, _)| at.elapsed() < READINGS_REUSE) {
            return Ok(texts);
        }
    }
    let texts = proc_texts(&String::from_utf8_lossy(&run_line(host, READINGS_LINE).await?.stdout));
    recent()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(host.name.clone(), (std::time::Instant::now(), texts.clone()));
    Ok(texts)
}

/// [`snapshot`] through the host's kept control client; `None` when none is attached or it
/// broke.
async fn through_control(
    host: &std::sync::Arc<SshHost>,
    sessions: &[String],
    lines: u32,
    (args, marker): (&[String], &str),
    readings: Readings,
) -> Result<Option<Snapshot>, TmuxError> {
    let place = Place::Ssh(host.clone());
    let (readings, answered) = tokio::join!(read_proc(host, readings), super::control_ask(&place, args));
    let Some(answered) = answered else { return Ok(None) };
    let mut snap = super::read_snapshot(&place, sessions, lines, marker, answered).await?;
    snap.readings = Some(readings?);
    Ok(Some(snap))
}

/// The `/proc` lines `grep -H` printed, each behind its file's name, back into their files.
fn proc_texts(text: &str) -> ProcTexts {
    let of = |file: &str| -> String {
        let prefix = format!("{file}:");
        text.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).map(|l| format!("{l}\n")).collect()
    };
    ProcTexts {
        meminfo: of("/proc/meminfo"),
        memory_pressure: of("/proc/pressure/memory"),
        cpu_pressure: of("/proc/pressure/cpu"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proc_lines_go_back_to_their_files() {
        let text = "/proc/meminfo:MemAvailable:   2048000 kB\n/proc/pressure/memory:some avg10=1.50 avg60=0.00 avg300=0.00 total=0\n/proc/pressure/cpu:some avg10=7.25 avg60=0.00 avg300=0.00 total=9\n";
        let t = proc_texts(text);
        assert_eq!(t.meminfo, "MemAvailable:   2048000 kB\n");
        assert_eq!(t.memory_pressure, "some avg10=1.50 avg60=0.00 avg300=0.00 total=0\n");
        assert_eq!(t.cpu_pressure, "some avg10=7.25 avg60=0.00 avg300=0.00 total=9\n");
        // A host without PSI has no pressure lines.
        let t = proc_texts("/proc/meminfo:MemAvailable: 1024 kB\n");
        assert_eq!((t.memory_pressure.as_str(), t.cpu_pressure.as_str()), ("", ""));
    }

    #[test]
    fn every_word_reaches_the_remote_shell_quoted() {
        let line = remote_tmux(&["new-session", "-c", "/w/it's $(x); `y`\nz/."]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("set -- {}; printf '%s|' \"$@\"", line.replacen("tmux -u", "", 1)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "-L|codex-master-mcp|new-session|-c|/w/it's $(x); `y`\nz/.|");
    }
}
