//! A kept tmux control-mode client (`tmux -C`) for the fleet snapshot of a long-lived process:
//! one connection to the server instead of a tmux client started per observation (the start and
//! the handshake cost more than the listing itself).
//!
//! The client attaches to one of our sessions with `no-output` (no pane output reaches it) and
//! `ignore-size` (it never sizes a window). Each request is one command line, then a second line
//! that prints a fresh nonce: the request ends where that nonce comes back, so a pane's text
//! (which may hold lines that look like control-mode framing) never ends it early. Anything odd
//! (EOF, `%exit`, an oversized answer, the deadline) drops the client; the caller then uses a
//! one-shot tmux call, and the next observation attaches again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Place, TmuxOutput};

/// Long-lived processes (the server, `top`) keep a control client; a one-shot CLI call would pay
/// for attaching and never reuse it.
static KEEP: AtomicBool = AtomicBool::new(false);

pub fn keep_control() {
    KEEP.store(true, Ordering::Relaxed);
}

pub(crate) fn kept() -> bool {
    KEEP.load(Ordering::Relaxed)
}

/// The most one answer may hold before the client is dropped.
const MAX_ANSWER: usize = 32 * 1024 * 1024;

pub(crate) struct Client {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::process::ChildStdout,
    buffer: Vec<u8>,
}

type Slot = std::sync::Arc<tokio::sync::Mutex<Option<Client>>>;

/// The client of each place's tmux server (here, or a host's through its ssh connection).
fn slot(place: &Place) -> Slot {
    static SLOTS: std::sync::OnceLock<std::sync::Mutex<HashMap<Place, Slot>>> = std::sync::OnceLock::new();
    let mut slots = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    slots.entry(place.clone()).or_default().clone()
}

/// One tmux word for the control-mode command parser: single-quoted (nothing is special
/// inside); `None` for a word that cannot be written so (a quote or a line break in it).
fn quote(word: &str) -> Option<String> {
    if word == ";" {
        return Some(";".into());
    }
    (!word.contains(['\'', '\n', '\r'])).then(|| format!("'{word}'"))
}

/// `args` as one control-mode command line (`;` separates commands, as on the command line).
pub(crate) fn command_line(args: &[String]) -> Option<String> {
    let words: Option<Vec<String>> = args.iter().map(|a| quote(a)).collect();
    Some(words?.join(" "))
}

/// What a control client is started with: no pane output reaches it, it sizes no window, and
/// it leaves when its session goes (it never moves on to a session that is not ours).
const CLIENT_FLAGS: &str = "no-output,ignore-size";

impl Client {
    /// Attaches to `session` (exact name) on `place`'s server.
    async fn open(place: &Place, session: &str, timeout: Duration) -> Option<Client> {
        let target = format!("={session}");
        // `-N`: an attach that races a `kill-server` must not start a new, empty server.
        let args = ["-N", "-C", "attach-session", "-t", &target, "-f", CLIENT_FLAGS];
        let (program, argv) = match place {
            Place::Local => {
                let mut argv = super::socket_args().ok()?;
                argv.extend(args.map(str::to_owned));
                ("tmux", argv)
            }
            // The host's own shell starts it; its words are quoted for that shell.
            Place::Ssh(host) => ("ssh", host.argv(&format!("exec {}", super::ssh::remote_tmux(&args)), timeout).ok()?),
        };
        let mut child = crate::process::spawn_piped(program, &argv).ok()?;
        let (stdin, stdout) = (child.stdin.take()?, child.stdout.take()?);
        let mut client = Client { _child: child, stdin, stdout, buffer: Vec::new() };
        // The attach itself answers first; a nonce request proves the client is in step.
        let ready = client.ask("display-message -p ready", timeout).await?;
        (ready.success && ready.stdout == "ready\n").then_some(client)
    }

    /// Sends one command line and reads its answer: its commands' output in order, and whether
    /// one failed, with what it said. `None` when the client broke.
    async fn ask(&mut self, line: &str, timeout: Duration) -> Option<TmuxOutput> {
        use tokio::io::AsyncWriteExt;
        let end = format!("codex-master-done-{}", crate::fsafe::nonce());
        let request = format!("{line}\ndisplay-message -p '{end}'\n");
        let exchange = async {
            self.stdin.write_all(request.as_bytes()).await.ok()?;
            self.stdin.flush().await.ok()?;
            self.read_answer(end).await
        };
        tokio::time::timeout(timeout, exchange).await.ok().flatten()
    }

    /// Reads blocks until the nonce has come back.
    async fn read_answer(&mut self, end: String) -> Option<TmuxOutput> {
        let mut answer = Answer { end, ..Answer::default() };
        let mut at = 0;
        loop {
            while let Some(end) = self.buffer[at..].iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&self.buffer[at..at + end]).into_owned();
                at += end + 1;
                match answer.line(line) {
                    Step::More => {}
                    Step::Done => {
                        self.buffer.drain(..at);
                        return answer.done;
                    }
                    Step::Broken => return None,
                }
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> Option<()> {
        crate::process::read_more(&mut self.stdout, &mut self.buffer, MAX_ANSWER).await
    }
}

/// One answer being read, line by line.
#[derive(Default)]
struct Answer {
    /// The nonce that ends the answer.
    end: String,
    /// The output, once the nonce came back.
    done: Option<TmuxOutput>,
    /// The words of the open `%begin` (its `%end`/`%error` repeats them).
    block: Option<String>,
    body: Vec<String>,
    stdout: String,
    stderr: String,
    failed: bool,
    /// The nonce came back; the next line closes its block.
    finishing: bool,
}

enum Step {
    More,
    Done,
    Broken,
}

/// A control-mode framing line: its kind and words (`%begin TIME NUMBER FLAGS`).
fn framing(line: &str) -> Option<(&str, &str)> {
    let (kind, words) = line.split_once(' ')?;
    let numbers = words.split(' ').count() == 3
        && words.split(' ').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
    (matches!(kind, "%begin" | "%end" | "%error") && numbers).then_some((kind, words))
}

impl Answer {
    /// Inside a block every line is output except the one that repeats its `%begin` words, so a
    /// pane's text that merely looks like framing stays text. A pane that guesses a block's
    /// words exactly (the server's time and command number) can at worst drop or misplace lines
    /// of this answer's captures; it cannot stall the answer, which ends where the nonce comes
    /// back, and no pane has seen the nonce.
    fn line(&mut self, line: String) -> Step {
        if self.finishing {
            return Step::Done;
        }
        if self.done.is_none() && line == self.end {
            self.flush(false);
            self.block = None;
            self.done = Some(TmuxOutput::new(
                !std::mem::take(&mut self.failed),
                std::mem::take(&mut self.stdout),
                std::mem::take(&mut self.stderr),
            ));
            self.finishing = true;
            return Step::More;
        }
        match self.block.as_deref() {
            Some(open) => {
                let closes = |kind: &str| line.strip_prefix(kind) == Some(open);
                if closes("%end ") || closes("%error ") {
                    self.flush(line.starts_with("%error "));
                    self.block = None;
                } else {
                    self.body.push(line);
                }
            }
            // Between blocks only notifications come; `%exit` means the client is leaving.
            None => match framing(&line) {
                Some(("%begin", words)) => self.block = Some(words.to_owned()),
                _ if line == "%exit" || line.starts_with("%exit ") => return Step::Broken,
                _ => {}
            },
        }
        Step::More
    }

    fn flush(&mut self, error: bool) {
        let into = if error { &mut self.stderr } else { &mut self.stdout };
        self.failed |= error;
        for l in self.body.drain(..) {
            into.push_str(&l);
            into.push('\n');
        }
    }
}

/// One command line through `place`'s kept client; `None` when none is attached or it broke
/// (the caller runs tmux itself).
pub(crate) async fn ask(place: &Place, line: &str, timeout: Duration) -> Option<TmuxOutput> {
    let started = std::time::Instant::now();
    let slot = slot(place);
    let mut held = tokio::time::timeout(timeout, slot.lock()).await.ok()?;
    let out = held.as_mut()?.ask(line, timeout.saturating_sub(started.elapsed())).await;
    match &out {
        Some(_) => tracing::debug!("tmux control client answered"),
        None => {
            tracing::debug!("tmux control client dropped");
            *held = None;
        }
    }
    out
}

/// Attaches a client to `session` (one that runs now) on `place` in the background, unless one
/// is attached or attaching.
pub(crate) fn attach(place: &Place, session: &str, timeout: Duration) {
    let (place, session) = (place.clone(), session.to_owned());
    tokio::spawn(async move {
        let slot = slot(&place);
        let Ok(mut held) = slot.try_lock() else { return };
        if held.is_none() {
            *held = Client::open(&place, &session, timeout).await;
            tracing::debug!(attached = held.is_some(), "tmux control client attach");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str], nonce: &str) -> (Option<TmuxOutput>, usize) {
        let mut a = Answer { end: nonce.to_owned(), ..Answer::default() };
        for (i, l) in lines.iter().enumerate() {
            match a.line((*l).to_owned()) {
                Step::More => {}
                Step::Done => return (a.done, i),
                Step::Broken => return (None, i),
            }
        }
        (None, lines.len())
    }

    #[test]
    fn each_command_of_a_line_adds_its_output_and_a_failing_one_fails_the_answer() {
        let lines = [
            "%begin 1700000000 1 1",
            "listing",
            "%end 1700000000 1 1",
            "%begin 1700000001 3 1",
            "can't find pane: =gone:",
            "%error 1700000001 3 1",
            "%begin 1700000001 5 1",
            "capture",
            "%end 1700000001 5 1",
            "%begin 1700000001 6 1",
            "E",
            "%end 1700000001 6 1",
        ];
        let (out, at) = read(&lines, "E");
        assert_eq!(at, lines.len() - 1, "the answer ends with the nonce's block");
        let out = out.unwrap();
        assert_eq!((out.success, out.stdout.as_str()), (false, "listing\ncapture\n"));
        assert!(out.stderr().contains("can't find pane"), "{:?}", out);
    }

    #[test]
    fn an_answer_ends_only_at_its_nonce_and_pane_text_that_looks_like_framing_stays_text() {
        let lines = [
            "%session-changed $0 s",
            "%begin 100 7 1",
            "pane line",
            "%end 100 8 1",
            "%begin 5 5 5",
            "%exit",
            "N but longer",
            "%end 100 7 1",
            "%window-renamed @1 node",
            "%begin 100 9 1",
            "N",
            "%end 100 9 1",
            "never read",
        ];
        let (out, at) = read(&lines, "N");
        let out = out.unwrap();
        assert_eq!(at, 11);
        assert_eq!(out.stdout, "pane line\n%end 100 8 1\n%begin 5 5 5\n%exit\nN but longer\n");
        assert!(out.success);
    }

    #[test]
    fn a_pane_that_guesses_a_blocks_words_cannot_stall_the_answer() {
        // A forged exact close, then a forged open that never closes: the nonce still ends it.
        let forged = [
            "%begin 1 1 1",
            "a",
            "%end 1 1 1",
            "b",
            "%begin 9 9 9",
            "c",
            "%end 1 1 1",
            "%begin 1 2 1",
            "m",
            "%end 1 2 1",
            "%begin 1 3 1",
            "N",
            "%end 1 3 1",
        ];
        let (out, at) = read(&forged, "N");
        assert_eq!(at, 12);
        assert_eq!(out.unwrap().stdout, "a\nc\n%end 1 1 1\n%begin 1 2 1\nm\n%end 1 2 1\n%begin 1 3 1\n");
    }

    #[test]
    fn an_error_block_fails_the_answer_and_exit_breaks_the_client() {
        let (out, _) =
            read(&["%begin 1 2 1", "can't find pane: x", "%error 1 2 1", "%begin 1 3 1", "N", "%end 1 3 1"], "N");
        let out = out.unwrap();
        assert!(!out.success);
        assert!(out.stderr().contains("can't find pane"), "{}", out.stderr());
        assert!(read(&["%begin 1 2 1", "x", "%end 1 2 1", "%exit"], "N").0.is_none());
    }

    #[test]
    fn words_are_single_quoted_and_unquotable_ones_refused() {
        let args: Vec<String> = ["list-panes", "-F", "#{session_name}\t#{pane_pid}", ";", "display-message", "-p", "m"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            command_line(&args).unwrap(),
            "'list-panes' '-F' '#{session_name}\t#{pane_pid}' ; 'display-message' '-p' 'm'"
        );
        assert!(command_line(&["it's".to_owned()]).is_none());
        assert!(command_line(&["a\nb".to_owned()]).is_none());
    }
}
