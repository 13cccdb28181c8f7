//! The full-screen loop of `top`: a new frame every second, keys between frames, and the
//! commands keys ask for (a redacted tail, the watchdog's dry-run verdict, and with `--act` an
//! interrupt or a stop) run through the same domain calls the MCP tools use.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use super::keys::{Act, Command, Overlay, Ui};
use super::model::Frame;
use super::{gather, view};
use crate::fault::Fault;
use crate::session::Ctx;

/// How long one frame's observation may take before the previous frame is shown as stale.
const OBSERVE_BUDGET: Duration = Duration::from_secs(3);
/// How long a key's command (a tail, a verdict, an interrupt or a stop) may take.
const COMMAND_BUDGET: Duration = Duration::from_secs(10);
/// How often the loop looks at a termination signal while it waits for keys.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);
/// How long the loop gets to act on a termination signal before the signal thread exits.
const SIGNAL_GRACE: Duration = Duration::from_secs(2);
/// Lines and characters of the tail overlay.
const TAIL_LINES: usize = 200;
const TAIL_CHARS: usize = 12_000;

/// What the loop asks of the worker thread.
enum Job {
    Observe,
    Run(Command),
}

/// What the worker thread answers.
enum Done {
    /// A frame, or `None` when the observation overran its budget or failed.
    Frame(Option<Frame>),
    Tail(String, String),
    Verdict(String, String),
    Message(String),
}

/// The thread that observes and runs commands, with a runtime of its own, so the loop that reads
/// keys and draws never waits on tmux, ssh or git.
fn spawn_worker(ctx: Arc<Ctx>) -> Option<(mpsc::Sender<Job>, mpsc::Receiver<Done>)> {
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done) = mpsc::channel::<Done>();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    std::thread::spawn(move || {
        while let Ok(job) = job_rx.recv() {
            let answer = match job {
                Job::Observe => Done::Frame(
                    runtime
                        .block_on(async { tokio::time::timeout(OBSERVE_BUDGET, gather(&ctx)).await })
                        .ok()
                        .and_then(Result::ok),
                ),
                Job::Run(command) => perform(&runtime, &ctx, command),
            };
            if done_tx.send(answer).is_err() {
                return;
            }
        }
    });
    Some((jobs, done))
}

/// Runs the view until `q`, `Esc`, Ctrl-C or a termination signal; the terminal is restored in
/// each case (a panic too: `ratatui::init` installs the hook).
pub fn run(ctx: Arc<Ctx>, act: bool, signalled: Arc<AtomicI32>) -> i32 {
    let Some((jobs, done)) = spawn_worker(ctx) else { return super::super::EXIT_FAILED };
    let mut terminal = ratatui::init();
    let mut ui = Ui::new(act);
    let mut frame = Frame::default();
    let mut stale = false;
    let mut next_frame = Instant::now();
    let mut observing = false;
    // Drawn only when something changed: a frame, an answer, a key, a resize.
    let mut dirty = true;
    let code = loop {
        let sig = signalled.load(Ordering::SeqCst);
        if sig != 0 {
            break 128 + sig;
        }
        if !observing && Instant::now() >= next_frame {
            observing = jobs.send(Job::Observe).is_ok();
            // One frame a second, on the second, whatever the observation cost.
            next_frame = (next_frame + Duration::from_secs(1)).max(Instant::now());
        }
        while let Ok(answer) = done.try_recv() {
            dirty = true;
            match answer {
                Done::Frame(f) => {
                    observing = false;
                    stale = f.is_none();
                    frame = f.unwrap_or(frame);
                    ui.clamp(&frame);
                }
                Done::Tail(agent, text) => ui.overlay = Overlay::Tail { agent, text },
                Done::Verdict(agent, text) => ui.overlay = Overlay::Verdict { agent, text },
                Done::Message(m) => ui.message = Some(m),
            }
        }
        let colour = super::colour_on();
        if std::mem::take(&mut dirty)
            && terminal.draw(|f| view::draw_live(&frame, &ui, stale, colour, f.area(), f.buffer_mut())).is_err()
        {
            break super::super::EXIT_FAILED;
        }
        let wait = next_frame.saturating_duration_since(Instant::now()).min(SIGNAL_CHECK);
        let key = match next_input(wait) {
            Input::Nothing => continue,
            Input::Gone => break super::super::EXIT_FAILED,
            Input::Resize => {
                dirty = true;
                continue;
            }
            Input::Key(key) => key,
        };
        dirty = true;
        match ui.on_key(key, &frame) {
            Command::Quit => break super::super::EXIT_OK,
            Command::Nothing => {}
            Command::Refresh => next_frame = Instant::now(),
            other => {
                ui.message = Some("working…".to_owned());
                let _ = jobs.send(Job::Run(other));
                next_frame = Instant::now();
            }
        }
    };
    ratatui::restore();
    code
}

/// Takes SIGINT, SIGTERM and SIGHUP on a thread of their own: the loop sees the signal within
/// [`SIGNAL_CHECK`] (or when a bounded observation ends) and restores the terminal before it exits.
pub fn watch_signals() -> Arc<AtomicI32> {
    let signalled = Arc::new(AtomicI32::new(0));
    let seen = Arc::clone(&signalled);
    super::super::signals::on_termination(move |sig| {
        seen.store(sig, Ordering::SeqCst);
        // The loop restores the terminal and exits; if it cannot (a read of a hung-up terminal
        // that never returns), this thread does, so the view never outlives its terminal.
        std::thread::sleep(SIGNAL_GRACE);
        ratatui::restore();
        std::process::exit(128 + sig);
    });
    signalled
}

/// Runs a key's command (bounded) and says what the view shows of it.
fn perform(runtime: &tokio::runtime::Runtime, ctx: &Ctx, command: Command) -> Done {
    match command {
        Command::Tail(agent) => {
            let text = bounded(runtime, ctx, tail_text(ctx, agent.clone()));
            Done::Tail(agent, text)
        }
        Command::Verdict(agent) => {
            let text = bounded(runtime, ctx, verdict_text(ctx, agent.clone()));
            Done::Verdict(agent, text)
        }
        Command::Do(act, agent) => {
            let done = bounded(runtime, ctx, act_on(ctx, act, agent.clone()));
            Done::Message(format!("{agent}: {done}"))
        }
        Command::Quit | Command::Nothing | Command::Refresh => Done::Message(String::new()),
    }
}

/// A command's text within its budget, or its failure as a redacted error line.
fn bounded(
    runtime: &tokio::runtime::Runtime,
    ctx: &Ctx,
    f: impl std::future::Future<Output = Result<String, Fault>>,
) -> String {
    match runtime.block_on(async { tokio::time::timeout(COMMAND_BUDGET, f).await }) {
        Ok(Ok(text)) => text,
        Ok(Err(f)) => format!("{}: {}", f.code.as_str(), ctx.redactor.error_text(&f.message)),
        Err(_) => format!("timed_out: no answer within {} s", COMMAND_BUDGET.as_secs()),
    }
}

async fn tail_text(ctx: &Ctx, agent: String) -> Result<String, Fault> {
    use crate::session::tail::{tail, TailSource};
    let t = tail(ctx, &agent, TailSource::Log, TAIL_LINES, TAIL_CHARS).await?;
    let redaction = if t.redaction_applied { "redaction applied" } else { "nothing to redact" };
    Ok(format!("({redaction})\n{}", t.text))
}

/// The watchdog's dry-run verdict under its default policy, as `fleet_watchdog` would give it.
async fn verdict_text(ctx: &Ctx, agent: String) -> Result<String, Fault> {
    use crate::watchdog::Policy;
    let obs = crate::session::fleet::observe(ctx, std::slice::from_ref(&agent)).await?.remove(0)?;
    let policy = Policy::DEFAULT;
    let w = crate::session::watch::watch_one(ctx, &agent, &obs, policy, false, true).await?;
    let idle = w.idle_seconds.map_or("unknown".to_owned(), |s| format!("{} s", s as u64));
    Ok(format!(
        "verdict: {}\nstate: {}\nidle: {idle} (a report is requested after {} s)\nthen: {} after {} s without an answer\nlease: {}\n(dry run with the default policy: nothing was sent)",
        w.decision.verdict(policy.action),
        obs.state.as_str(),
        policy.idle_seconds,
        policy.action.as_str(),
        policy.grace_seconds,
        w.lease.view(&ctx.client_id).state.as_str(),
    ))
}

/// An interrupt or a stop under the lease rules of the MCP tools: a lease another client holds
/// refuses it.
async fn act_on(ctx: &Ctx, act: Act, agent: String) -> Result<String, Fault> {
    match act {
        Act::Interrupt => {
            crate::session::stop::interrupt_agent(ctx, &agent, None).await?;
            Ok("interrupt sent".to_owned())
        }
        Act::Stop => Ok(crate::session::stop::stop_one(ctx, &agent, false, None).await?.status().as_str().to_owned()),
    }
}

enum Input {
    Nothing,
    Resize,
    Key(KeyCode),
    /// The terminal is gone (its reads fail): nothing is left to draw on.
    Gone,
}

/// The next key pressed within `wait` (Ctrl-C reads as `q`: raw mode takes it from the
/// terminal), or a resize; another event ends the wait too.
fn next_input(wait: Duration) -> Input {
    match event::poll(wait) {
        Ok(true) => {}
        Ok(false) => return Input::Nothing,
        Err(_) => return Input::Gone,
    }
    match event::read() {
        Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
            let ctrl_c = k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c');
            Input::Key(if ctrl_c { KeyCode::Char('q') } else { k.code })
        }
        Ok(Event::Resize(..)) => Input::Resize,
        Ok(_) => Input::Nothing,
        Err(_) => Input::Gone,
    }
}
