//! The scripted agent (`codex-master-mcp scripted-agent`, hidden): a small program that draws
//! screens like the Codex 0.171 TUI, for the tests and the demo. It never calls a model.
//!
//! It runs the terminal raw with bracketed paste on, keeps a composer at the bottom, and
//! answers what is submitted:
//! - `work N`: the "Working (Ns • esc to interrupt)" line for N seconds, then a reply;
//! - `limit`, `model-limit`, `warn`, `credits`: the real limit and warning messages;
//! - `limit-for N`: the usage limit with a reset time N seconds away, in local time like Codex's
//!   "try again at 3:05 PM" (with seconds); a negative N (already past) is dated, as Codex
//!   dates a reset that is not today;
//! - `popup`: the "Approaching rate limits" popup until a key is pressed;
//! - `spend-cap`: the spend-cap message, then the "Request increase?" popup (1 Yes / 2 No);
//! - `freeze`: hangs mid-turn (a frozen working line, input ignored) until Esc;
//! - `crash`: exits with status 1 (the pane dies); `quit`: exits 0;
//! - anything else: works for `--work-seconds`, then replies with its length.
//!
//! Like Codex, text submitted while a turn runs is queued and submitted when the turn ends.
//! A line containing `scripted:touch P…` (anywhere, e.g. inside an assignment prompt) makes it
//! write the relative paths `P…` under its working directory, as a worker editing files would.
//!
//! `--trust-dialog` starts with the folder trust dialog. Esc or Ctrl-C interrupts work.
//! `--prompt TEXT` submits TEXT as the first turn. Like Codex 0.171, the footer shows the
//! thread's first prompt under the composer.
//! `--transcript FILE` appends every submitted text as one line to FILE (the tests' record of
//! what the agent really received, in order).
//! Like Codex, it records its thread per working directory (under `$CODEX_HOME`, else
//! `~/.codex`); `--resume` continues that thread (`codex resume --last`): it shows how many
//! turns came before, and the footer shows the thread's first prompt again.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PASTE_BEGIN: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

enum Screen {
    Idle,
    Working {
        started: Instant,
        seconds: u64,
        task: String,
    },
    Dialog,
    Popup,
    /// "Request a limit increase from your owner …" after a spend cap.
    LimitIncrease,
    /// Hung mid-turn: a working line that never moves, input ignored until Esc.
    Frozen,
}

struct Tui {
    out: std::io::Stdout,
    /// Lines of the bottom area currently drawn.
    drawn: usize,
    composer: String,
    screen: Screen,
    model: String,
    work_seconds: u64,
    transcript: Option<std::fs::File>,
    /// This working directory's thread record.
    thread: Option<std::fs::File>,
    /// Texts submitted while working, in order.
    queued: std::collections::VecDeque<String>,
    /// The thread's first prompt, shown in the footer.
    first_prompt: Option<String>,
}

impl Tui {
    fn bottom(&self) -> Vec<String> {
        // Like Codex, a large paste shows as a placeholder.
        let n = self.composer.chars().count();
        let shown = if n > 1000 { format!("[Pasted Content {n} chars]") } else { self.composer.replace('\n', "\n  ") };
        let composer = format!("› {shown}");
        let footer = match &self.first_prompt {
            Some(p) => {
                format!("  {} default · {}", self.model, p.chars().take(60).collect::<String>().replace('\n', " "))
            }
            None => format!("  {} default", self.model),
        };
        match &self.screen {
            Screen::Idle => vec![
                String::new(),
                composer,
                String::new(),
                footer,
                "  ? for shortcuts                                  100% context left".into(),
            ],
            Screen::Working { started, .. } => vec![
                format!("• Working ({}s • esc to interrupt)", started.elapsed().as_secs()),
                String::new(),
                composer,
                String::new(),
                "  ⏎ send   ⌃J newline   ⌃C quit".into(),
            ],
            Screen::Frozen => vec!["• Working (7s • esc to interrupt)".into(), String::new(), "› ".into()],
            Screen::Dialog => vec![
                String::new(),
                "  Folder access".into(),
                format!("  {}", std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()),
                String::new(),
                "  Trust this folder? Codex can read, edit, and run files here, subject to your permission settings."
                    .into(),
                "  Continue only if you trust these files. Your trust decision will be saved.".into(),
                String::new(),
                "› 1. Trust and continue".into(),
                "  2. Back to Agent Command Center".into(),
                String::new(),
                "  enter continue · esc back".into(),
            ],
            Screen::Popup => vec![
                String::new(),
                "  Approaching rate limits".into(),
                format!("  Switch to gpt-5.4-mini for lower credit usage? (you are on {})", self.model),
                String::new(),
                "› 1. Switch to gpt-5.4-mini".into(),
                "  2. Keep current model".into(),
                String::new(),
                "  enter select · esc back".into(),
            ],
            Screen::LimitIncrease => vec![
                String::new(),
                "  Usage limit reached".into(),
                "  Request a limit increase from your owner to continue using codex. Request increase?".into(),
                String::new(),
                "  1. Yes (y)".into(),
                "› 2. No (default) (n)".into(),
                String::new(),
                "  enter select · esc back".into(),
            ],
        }
    }

    /// Prints `history` lines above the bottom area and redraws it.
    fn draw(&mut self, history: &[String]) {
        let mut s = String::from("\r");
        if self.drawn > 1 {
            s.push_str(&format!("\x1b[{}A", self.drawn - 1));
        }
        s.push_str("\x1b[J");
        for line in history {
            s.push_str(line);
            s.push_str("\r\n");
        }
        let bottom = self.bottom();
        let lines: Vec<String> =
            bottom.iter().flat_map(|l| l.split('\n').map(str::to_owned).collect::<Vec<_>>()).collect();
        s.push_str(&lines.join("\r\n"));
        self.drawn = lines.len();
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    fn submit(&mut self) -> Option<i32> {
        let text = std::mem::take(&mut self.composer);
        if let (Some(file), false) = (&mut self.transcript, text.trim().is_empty()) {
            // One write per line: appends from one process never interleave.
            let _ = file.write_all(format!("{}\n", text.trim().replace('\n', " ")).as_bytes());
        }
        if let (Some(file), false) = (&mut self.thread, text.trim().is_empty()) {
            let _ = file.write_all(format!("{}\n", text.trim().replace('\n', " ")).as_bytes());
        }
        for line in text.lines() {
            if let Some((_, paths)) = line.split_once("scripted:touch ") {
                paths.split_whitespace().for_each(touch);
            }
        }
        let command = text.trim().to_ascii_lowercase();
        let n = text.chars().count();
        let echo = if n > 1000 { format!("[Pasted Content {n} chars]") } else { text.trim_end().replace('\n', "\n  ") };
        let mut history: Vec<String> = format!("› {echo}").split('\n').map(str::to_owned).collect();
        history.push(String::new());
        if self.first_prompt.is_none() && !text.trim().is_empty() {
            self.first_prompt = Some(text.trim().to_owned());
        }
        match command.as_str() {
            "" => {}
            "quit" | "exit" => return Some(0),
            "crash" => return Some(1),
            c if c.starts_with("limit-for ") => {
                let seconds: i64 = c["limit-for ".len()..].trim().parse().unwrap_or(0);
                history.push(format!("■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro) or try again at {}.", local_time_words(seconds, seconds < 0)));
            }
            "limit" => history.push("■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again in 2 hours 5 minutes.".into()),
            "model-limit" => history.push("■ You’ve hit your usage limit for GPT-5.3-Codex-Spark. Switch to another model now, or try again in 3 days 4 hours.".into()),
            "warn" => history.push("⚠ Heads up, you have less than 25% of your 5h limit left. Run /status for a breakdown.".into()),
            "credits" => history.push("■ Your workspace is out of credits. Ask your workspace admin to add more credits to continue.".into()),
            "popup" => self.screen = Screen::Popup,
            "spend-cap" => {
                history.push("■ You hit your spend cap set by the owner of your workspace. Ask an owner to increase your spend cap to continue.".into());
                self.screen = Screen::LimitIncrease;
            }
            "freeze" => self.screen = Screen::Frozen,
            _ => {
                let seconds = command.strip_prefix("work ").and_then(|n| n.trim().parse().ok()).unwrap_or(self.work_seconds).min(3600);
                self.screen = Screen::Working { started: Instant::now(), seconds, task: text };
            }
        }
        self.draw(&history);
        None
    }

    fn tick(&mut self) -> Option<i32> {
        if let Screen::Working { started, seconds, task } = &self.screen {
            if started.elapsed().as_secs() >= *seconds {
                let reply = format!("• Done: the task of {} characters is finished.", task.chars().count());
                self.screen = Screen::Idle;
                self.draw(&[reply, String::new()]);
                if let Some(next) = self.queued.pop_front() {
                    let composer = std::mem::replace(&mut self.composer, next);
                    let code = self.submit();
                    self.composer = composer;
                    return code;
                }
            } else {
                self.draw(&[]);
            }
        }
        None
    }
}

/// Raw mode for the terminal on stdin (restored on drop).
struct RawMode(Option<rustix::termios::Termios>);

impl RawMode {
    fn enable() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(original) = rustix::termios::tcgetattr(&stdin) else { return RawMode(None) };
        let mut raw = original.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode(Some(original))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, t);
        }
    }
}

/// Appends a line to the relative `path` (parents created); absolute paths and `..` are refused.
fn touch(path: &str) {
    let p = std::path::Path::new(path);
    if p.is_absolute() || p.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return;
    }
    if let Some(parent) = p.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).open(p) {
        let _ = f.write_all(b"touched by the scripted agent\n");
    }
}

/// Opens the transcript for appending (created 0600, never through a symlink).
fn open_transcript(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// "5:45:12 AM" (or dated: "Dec 1st, 2026 5:45:12 AM"), the local time `from_now` seconds away.
fn local_time_words(from_now: i64, dated: bool) -> String {
    let at = crate::timefmt::now_epoch() as i64 + from_now;
    let local = at + i64::from(crate::timefmt::local_utc_offset(at));
    let (y, mo, d) = codex_master_guest_sdk::text::civil_from_days(local.div_euclid(86_400));
    let rem = local.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let suffix = match d {
        1 | 21 | 31 => "st",
        2 | 22 => "nd",
        3 | 23 => "rd",
        _ => "th",
    };
    let (h12, half) = (if h % 12 == 0 { 12 } else { h % 12 }, if h < 12 { "AM" } else { "PM" });
    let time = format!("{h12}:{mi:02}:{s:02} {half}");
    if dated {
        format!("{} {d}{suffix}, {y} {time}", MONTHS[(mo - 1) as usize])
    } else {
        time
    }
}

/// How the scripted agent starts.
pub struct Options<'a> {
    pub model: &'a str,
    pub work_seconds: u64,
    pub trust_dialog: bool,
    pub transcript: Option<&'a str>,
    /// Submitted as the first turn.
    pub prompt: Option<&'a str>,
    /// Continue the thread recorded for the working directory.
    pub resume: bool,
}

/// This working directory's thread record: `<CODEX_HOME or ~/.codex>/scripted-sessions/<hash>`.
fn thread_path() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("CODEX_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".codex")))?;
    let cwd = std::env::current_dir().ok()?;
    // FNV-1a: a stable name per directory.
    let hash = cwd
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Some(home.join("scripted-sessions").join(format!("{hash:016x}.txt")))
}

/// The turns recorded for this directory (oldest first), and the record opened for appending.
fn open_thread(resume: bool) -> (Vec<String>, Option<std::fs::File>) {
    let Some(path) = thread_path() else { return (Vec::new(), None) };
    let earlier = if resume {
        std::fs::read_to_string(&path).map(|t| t.lines().map(str::to_owned).collect()).unwrap_or_default()
    } else {
        let _ = std::fs::remove_file(&path);
        Vec::new()
    };
    let file =
        path.parent().and_then(|d| std::fs::create_dir_all(d).ok()).and_then(|()| open_transcript(path.to_str()?).ok());
    (earlier, file)
}

/// Runs the scripted agent; returns its exit status.
/// The Codex-like banner the screen starts with.
fn header(model: &str) -> Vec<String> {
    vec![
        "╭──────────────────────────────────────────────╮".to_owned(),
        "│ >_ OpenAI Codex (v0.169.0)                   │".to_owned(),
        format!("│ model:     {:<33} │", format!("{model} medium")),
        "│ directory: ~                                 │".to_owned(),
        "╰──────────────────────────────────────────────╯".to_owned(),
        String::new(),
    ]
}

/// Reads stdin on its own thread, so the screen's clock keeps running between keys.
fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// One unit of terminal input.
enum Event {
    /// A bracketed paste, line ends normalised.
    Paste(String),
    /// One key: a byte, or a whole UTF-8 sequence.
    Key(Vec<u8>),
}

/// Terminal input bytes split into pastes and keys; an incomplete paste waits for the rest.
#[derive(Default)]
struct Input {
    pending: Vec<u8>,
    in_paste: bool,
}

impl Input {
    fn push(&mut self, bytes: Vec<u8>) {
        self.pending.extend(bytes);
    }

    fn next(&mut self) -> Option<Event> {
        loop {
            if self.pending.is_empty() {
                return None;
            }
            if self.in_paste {
                let end = find(&self.pending, PASTE_END)?;
                let text = String::from_utf8_lossy(&self.pending[..end]).replace("\r\n", "\n").replace('\r', "\n");
                self.pending.drain(..end + PASTE_END.len());
                self.in_paste = false;
                return Some(Event::Paste(text));
            }
            if self.pending.starts_with(PASTE_BEGIN) {
                self.pending.drain(..PASTE_BEGIN.len());
                self.in_paste = true;
                continue;
            }
            if self.pending.len() > 1 && PASTE_BEGIN.starts_with(&self.pending) {
                return None; // an incomplete paste marker: wait for the rest (a lone Esc is a key)
            }
            let mut key = vec![self.pending.remove(0)];
            // Re-assemble UTF-8 sequences byte by byte.
            if key[0] >= 0x80 {
                while !self.pending.is_empty() && std::str::from_utf8(&key).is_err() && key.len() < 4 {
                    key.push(self.pending.remove(0));
                }
            }
            return Some(Event::Key(key));
        }
    }
}

/// What one key did.
enum KeyEffect {
    Nothing,
    /// The composer changed: redraw.
    Typed,
    /// The program ends with this status.
    Exit(i32),
}

impl Tui {
    fn paste(&mut self, text: &str) -> KeyEffect {
        if matches!(self.screen, Screen::Frozen) {
            return KeyEffect::Nothing;
        }
        self.composer.push_str(text);
        KeyEffect::Typed
    }

    fn interrupted(&mut self) {
        self.screen = Screen::Idle;
        self.draw(&["■ Conversation interrupted - tell the model what to do differently.".into(), String::new()]);
    }

    fn key(&mut self, key: &[u8]) -> KeyEffect {
        let b = key[0];
        match (&self.screen, b) {
            // Like Codex 0.171, a number only moves the selection; Enter accepts.
            (Screen::Dialog, b'1') => {}
            (Screen::Dialog, b'\r') => {
                self.screen = Screen::Idle;
                self.draw(&[]);
            }
            (Screen::Dialog, b'2' | 0x03) => return KeyEffect::Exit(0),
            (Screen::Popup | Screen::LimitIncrease, _) => {
                self.screen = Screen::Idle;
                self.draw(&[]);
            }
            (Screen::Frozen, 0x1b | 0x03) => {
                self.composer.clear();
                self.interrupted();
            }
            (Screen::Frozen, _) => {}
            (Screen::Working { .. }, 0x1b | 0x03) => self.interrupted(),
            (_, 0x04) => return KeyEffect::Exit(0),
            (_, 0x03) => {
                self.composer.clear();
                return KeyEffect::Typed;
            }
            (Screen::Idle, b'\r') => {
                if let Some(code) = self.submit() {
                    return KeyEffect::Exit(code);
                }
            }
            (Screen::Working { .. }, b'\r') if !self.composer.trim().is_empty() => {
                let text = std::mem::take(&mut self.composer);
                self.queued.push_back(text);
                return KeyEffect::Typed;
            }
            (_, 0x7f) => {
                self.composer.pop();
                return KeyEffect::Typed;
            }
            (_, b) if b >= 0x20 || b == b'\t' => {
                self.composer.push_str(&String::from_utf8_lossy(key));
                return KeyEffect::Typed;
            }
            _ => {}
        }
        KeyEffect::Nothing
    }
}

pub fn run(opts: Options<'_>) -> i32 {
    let Options { model, work_seconds, trust_dialog, transcript, prompt, resume } = opts;
    let (earlier, thread) = open_thread(resume);
    let transcript = match transcript.map(open_transcript).transpose() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e.kind(), "scripted-agent cannot open its transcript");
            return 2;
        }
    };
    let raw = RawMode::enable();
    let mut tui = Tui {
        out: std::io::stdout(),
        drawn: 0,
        composer: String::new(),
        screen: if trust_dialog { Screen::Dialog } else { Screen::Idle },
        model: model.to_owned(),
        work_seconds,
        transcript,
        thread,
        queued: Default::default(),
        first_prompt: earlier.first().cloned(),
    };
    let _ = tui.out.write_all(b"\x1b[?2004h");
    let mut banner = header(model);
    if resume {
        banner.push(match earlier.len() {
            0 => "No saved session for this directory: starting a new one.".to_owned(),
            n => format!("↻ Resumed the session: {n} earlier turns."),
        });
        banner.push(String::new());
    }
    tui.draw(&banner);
    if let Some(p) = prompt.filter(|p| !p.trim().is_empty()) {
        tui.composer = p.to_owned();
        if let Some(code) = tui.submit() {
            return code;
        }
    }
    let chunks = stdin_chunks();
    let mut input = Input::default();
    let status = 'outer: loop {
        match chunks.recv_timeout(Duration::from_millis(250)) {
            Ok(bytes) => input.push(bytes),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(code) = tui.tick() {
                    break code;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break 0,
        }
        let mut typed = false;
        while let Some(event) = input.next() {
            let effect = match event {
                Event::Paste(text) => tui.paste(&text),
                Event::Key(key) => tui.key(&key),
            };
            match effect {
                KeyEffect::Exit(code) => break 'outer code,
                KeyEffect::Typed => typed = true,
                KeyEffect::Nothing => {}
            }
        }
        if typed {
            tui.draw(&[]);
        }
        // Steady input must not starve the clock of a running turn.
        if let Some(code) = tui.tick() {
            break code;
        }
    };
    let _ = tui.out.write_all(b"\x1b[?2004l\r\n");
    let _ = tui.out.flush();
    drop(raw);
    status
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
