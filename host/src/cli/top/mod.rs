//! `codex-master-mcp top`: the live fleet view for the person beside the lead. Every second it
//! takes the same observation `agent_status` uses (`session::fleet::observe_with_host`) and
//! draws it with ratatui; `--once` prints one frame as text. Read-only: nothing is typed into a
//! worker, and nothing of a pane, a prompt or a path is shown.

use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};

pub mod model;
pub mod view;

use crate::agents::Registry;
use crate::fault::Fault;
use crate::session::Ctx;
use model::Frame;

/// How long one frame's observation may take before the previous frame is shown as stale.
const OBSERVE_BUDGET: Duration = Duration::from_secs(3);

pub fn command() -> Command {
    Command::new(super::Sub::Top.as_str())
        .about("A live view of the fleet (refreshes every second; j/k or arrows select, q or Esc quits). Read-only.")
        .arg(Arg::new("once").long("once").action(ArgAction::SetTrue).help("Print one frame as plain text and exit."))
        .arg(
            Arg::new("width")
                .long("width")
                .value_parser(clap::value_parser!(u16).range(40..=400))
                .help("With --once: the frame's width (default 120)."),
        )
}

/// One frame: every configured agent, this machine's room and each host's.
async fn gather(ctx: &Ctx) -> Result<Frame, Fault> {
    let agents: Vec<String> = ctx.registry.names().map(str::to_owned).collect();
    let (observed, reading, hosts) =
        crate::session::fleet::observe_with_host(ctx, &agents, Some(*ctx.registry.admission())).await?;
    let now = crate::timefmt::now_epoch() as u64;
    let rows: Vec<model::Row> = agents
        .iter()
        .zip(&observed)
        .filter_map(|(a, o)| {
            let spec = ctx.registry.get(a)?;
            let obs = o.as_ref().map_err(|e| e.code.as_str());
            Some(model::row(a, spec.profile.name(), spec.place.host(), obs, &ctx.client_id, now))
        })
        .collect();
    let near = observed.iter().flatten().filter(|o| o.near_limit).count();
    Ok(Frame { header: model::header(reading.as_ref(), &hosts, &rows, near), rows })
}

fn colour_on() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(runtime: &tokio::runtime::Runtime, registry: Registry, m: &ArgMatches) -> i32 {
    let extensions = Arc::new(crate::ext::Extensions::new(crate::ext::config::Settings::load()));
    let ctx = Ctx::new(super::cli_client_id(), registry, extensions);
    if m.get_flag("once") {
        return once(runtime, &ctx, m.get_one::<u16>("width").copied().unwrap_or(120));
    }
    // A long-lived view reuses the captures of quiet panes, as the server does.
    ctx.observer.keep_captures();
    live(runtime, &ctx)
}

fn once(runtime: &tokio::runtime::Runtime, ctx: &Ctx, width: u16) -> i32 {
    let frame = match runtime.block_on(gather(ctx)) {
        Ok(f) => f,
        Err(e) => {
            super::print_json(&crate::tools::fault_json(&e, &ctx.client_id));
            return super::EXIT_FAILED;
        }
    };
    let height = (frame.rows.len() + frame.header.hosts.len() + 7).min(400) as u16;
    let Ok(mut terminal) = ratatui::Terminal::new(TestBackend::new(width, height));
    let drawn = terminal.draw(|f| view::draw(&frame, f.area(), f.buffer_mut(), None, false));
    if drawn.is_err() {
        return super::EXIT_FAILED;
    }
    print!("{}", view::text(terminal.backend().buffer()));
    super::EXIT_OK
}

/// The full-screen loop: a new frame every second (the last one kept, marked stale, when an
/// observation overruns its budget), keys read between frames.
fn live(runtime: &tokio::runtime::Runtime, ctx: &Ctx) -> i32 {
    // `init` switches to the alternate screen and raw mode and restores them on a panic.
    let mut terminal = ratatui::init();
    let mut frame = Frame::default();
    let mut selected = 0usize;
    let code = loop {
        let observed = runtime.block_on(async { tokio::time::timeout(OBSERVE_BUDGET, gather(ctx)).await });
        let stale = !matches!(observed, Ok(Ok(_)));
        if let Ok(Ok(f)) = observed {
            frame = f;
        }
        selected = selected.min(frame.rows.len().saturating_sub(1));
        let drawn = terminal.draw(|f| {
            view::draw(&frame, f.area(), f.buffer_mut(), Some(selected), colour_on());
            if stale {
                let note = ratatui::widgets::Paragraph::new(" stale: the last observation did not finish in time ");
                let area = ratatui::layout::Rect { height: 1, ..f.area() };
                ratatui::widgets::Widget::render(note, area, f.buffer_mut());
            }
        });
        if drawn.is_err() {
            break super::EXIT_FAILED;
        }
        match next_key(Duration::from_secs(1)) {
            Some(KeyCode::Char('q') | KeyCode::Esc) => break super::EXIT_OK,
            Some(KeyCode::Down | KeyCode::Char('j')) => {
                selected = (selected + 1).min(frame.rows.len().saturating_sub(1))
            }
            Some(KeyCode::Up | KeyCode::Char('k')) => selected = selected.saturating_sub(1),
            _ => {}
        }
    };
    ratatui::restore();
    code
}

/// The next key pressed within `wait` (a resize or another event ends the wait too).
fn next_key(wait: Duration) -> Option<KeyCode> {
    if !event::poll(wait).ok()? {
        return None;
    }
    match event::read().ok()? {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(k.code),
        _ => None,
    }
}
