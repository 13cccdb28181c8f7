//! `codex-master-mcp top`: the live fleet view for the person beside the lead. Every second it
//! takes the same observation `agent_status` uses (`session::fleet::observe_with_host`) and
//! draws it with ratatui; `--once` prints one frame as text. Read-only: nothing is typed into a
//! worker, and nothing of a pane, a prompt or a path is shown.

use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};
use ratatui::backend::TestBackend;

pub mod keys;
mod live;
pub mod model;
pub mod view;

use crate::agents::Registry;
use crate::fault::Fault;
use crate::session::Ctx;
use model::Frame;

pub fn command() -> Command {
    Command::new(super::Sub::Top.as_str())
        .about("A live view of the fleet: refreshes every second; j/k or arrows select, Enter shows a redacted tail, w the watchdog's verdict, ? help, q or Esc quits. Read-only unless --act.")
        .arg(Arg::new("once").long("once").action(ArgAction::SetTrue).help("Print one frame as plain text and exit."))
        .arg(
            Arg::new("act")
                .long("act")
                .action(ArgAction::SetTrue)
                .conflicts_with("once")
                .help("Enable i (interrupt) and x (stop), each confirmed, under the lease rules of the MCP tools."),
        )
        .arg(
            Arg::new("width")
                .long("width")
                .value_parser(clap::value_parser!(u16).range(40..=400))
                .help("With --once: the frame's width (default 120)."),
        )
}

/// One frame: every configured agent, this machine's room and each host's.
pub async fn gather(ctx: &Ctx) -> Result<Frame, Fault> {
    let agents: Vec<String> = ctx.registry.names().map(str::to_owned).collect();
    let (observed, reading, hosts) =
        crate::session::fleet::observe_with_host(ctx, &agents, Some(*ctx.registry.admission())).await?;
    // The ledger is read once per frame; an unreadable one costs the task column, not the frame.
    let records = crate::session::blocking(crate::session::assign::read_records).await.unwrap_or_default();
    let now = crate::timefmt::now_epoch() as u64;
    let rows: Vec<model::Row> = agents
        .iter()
        .zip(&observed)
        .filter_map(|(a, o)| {
            let spec = ctx.registry.get(a)?;
            let who = model::Who { agent: a, profile: spec.profile.name(), host: spec.place.host() };
            let newest = records.iter().rev().find(|r| r.agent.as_deref() == Some(a.as_str()));
            let obs = o.as_ref().map_err(|e| e.code.as_str());
            Some(model::row(&who, obs, newest.map(|r| model::task(r, now)), &ctx.client_id, now))
        })
        .collect();
    let near = observed.iter().flatten().filter(|o| o.near_limit).count();
    Ok(Frame { header: model::header(reading.as_ref(), &hosts, &rows, near), rows })
}

pub(crate) fn colour_on() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(runtime: &tokio::runtime::Runtime, registry: Registry, m: &ArgMatches) -> i32 {
    // Before any thread starts: the live view takes the termination signals on its own thread.
    let signalled = (!m.get_flag("once")).then(live::watch_signals);
    let extensions = Arc::new(crate::ext::Extensions::new(crate::ext::config::Settings::load()));
    let ctx = Arc::new(Ctx::new(super::cli_client_id(), registry, extensions));
    if m.get_flag("once") {
        return once(runtime, &ctx, m.get_one::<u16>("width").copied().unwrap_or(120));
    }
    // A long-lived view, as the server is.
    ctx.keep_for_long_life();
    live::run(ctx, m.get_flag("act"), signalled.unwrap_or_default())
}

fn once(runtime: &tokio::runtime::Runtime, ctx: &Ctx, width: u16) -> i32 {
    let frame = match runtime.block_on(gather(ctx)) {
        Ok(f) => f,
        Err(e) => {
            super::print_json(&crate::tools::fault_json(&e, &ctx.client_id));
            return super::EXIT_FAILED;
        }
    };
    let height = (frame.rows.len() + frame.header.hosts.len() + 6).min(400) as u16;
    let Ok(mut terminal) = ratatui::Terminal::new(TestBackend::new(width, height));
    let drawn = terminal.draw(|f| view::draw(&frame, f.area(), f.buffer_mut(), None, false));
    if drawn.is_err() {
        return super::EXIT_FAILED;
    }
    print!("{}", view::text(terminal.backend().buffer()));
    super::EXIT_OK
}
