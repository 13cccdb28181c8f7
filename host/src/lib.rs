//! codex-master: a local MCP server and CLI that runs a fleet of worker coding-agent CLIs, each
//! in its own tmux session, for a lead agent.
//!
//! Module map, bottom layer first (`ARCHITECTURE.md` has the invariants; a module uses only
//! lower layers, which `tests/architecture.rs` checks):
//! - 0: [`fsafe`] every no-follow / exclusive / atomic file primitive; [`process`] the one
//!   bounded process runner; [`text`] escape stripping and bounds; [`timefmt`] UTC, local and
//!   named-zone time; [`wire`] the one wire-enum mechanism.
//! - 1: [`codes`] the error codes; [`config`] every location the environment names;
//!   [`scripted`] the scripted Codex-like agent.
//! - 2: [`state`] the private state tree (metadata, raw logs, typed ledger); [`tmux`] tmux with
//!   timeouts; [`git`] git that starts no repository programs; [`skills`] the skill inventory;
//!   [`admission`] whether the host has room for one more worker.
//! - 3: [`lease`] the lease state machine; [`ext`] the wasmtime extension host; [`events`] the
//!   workers' own events (the hook log and its fold).
//! - 4: [`agents`] the registry and one file per provider; [`redactor`] the redaction pipeline;
//!   [`fault`] a failure as domain data.
//! - 5: [`watchdog`] the pure watchdog decision; [`install`] install/uninstall, the Codex
//!   registration, the doctor facts, the packaging checks and the systemd units.
//! - 6: [`tools`] the catalogue: parameters, typed arguments, handlers, and all JSON building.
//! - 7: [`mcp`] the protocol, concurrency and backpressure. 8: [`cli`] the same tools as
//!   subcommands, plus `ext` and `demo`.

pub mod admission;
pub mod agents;
pub mod cli;
pub mod codes;
pub mod config;
pub mod events;
pub mod ext;
pub mod fault;
pub mod fsafe;
pub mod git;
pub mod install;
pub mod lease;
pub mod mcp;
pub mod process;
pub mod proctree;
pub mod redactor;
pub mod scripted;
pub mod session;
pub mod skills;
pub mod ssh;
pub mod state;
pub mod text;
pub mod timefmt;
pub mod tmux;
pub mod tools;
pub mod watchdog;
pub mod wire;

use std::sync::Arc;

use agents::Registry;
use tools::{Catalogue, Ctx};

/// Logs go to stderr only: stdout belongs to MCP. `CODEX_MASTER_LOG` sets the level
/// (error, warn, info, debug, trace; default warn).
pub fn init_tracing() {
    let level = match std::env::var("CODEX_MASTER_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "error" => tracing::Level::ERROR,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::WARN,
    };
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(level).with_ansi(false).try_init();
}

/// The MCP client identity of this connection: the configured instance id, else a fresh id.
pub fn connection_client_id() -> String {
    std::env::var("CODEX_MASTER_MCP_INSTANCE_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("mcp-{}", fsafe::nonce()))
}

/// Serves MCP on stdin/stdout until EOF; returns the exit code.
pub fn serve_stdio(
    runtime: &tokio::runtime::Runtime,
    (registry, settings): (Registry, ext::config::Settings),
    catalogue: Catalogue,
    config_error: Option<String>,
) -> i32 {
    if let Some(e) = &config_error {
        tracing::error!(error = %e, "configuration problem; every tool call will report it");
    }
    let extensions = Arc::new(ext::Extensions::new(settings));
    let ctx =
        Arc::new(Ctx::new(connection_client_id(), registry, Arc::clone(&extensions)).with_config_error(config_error));
    ctx.keep_for_long_life();
    // Debris from writers killed mid-write; a missing or unusable state tree is reported per call.
    if let Ok(state) = state::State::open() {
        let swept = session::start::sweep_launch_scripts(&state);
        if swept > 0 {
            tracing::info!(count = swept, "removed launch scripts that never ran");
        }
        let r = lease::recover(&state);
        if r != lease::Recovered::default() {
            tracing::info!(
                temp_files = r.temp_files,
                ledger_lines = r.ledger_lines,
                leases = r.leases.len(),
                "repaired what interrupted writes left"
            );
        }
    }
    // Compile (or load from the cache) the extensions the first calls will need, off the
    // request path: a component's first compile takes from 0.1 s (limits) to 1.5 s (a
    // redaction component with the regex engine). The embedded redactor is not called: the
    // host's native floor runs the same rules.
    let _ = std::thread::Builder::new().name("ext-warm".into()).spawn(move || {
        let exts = extensions;
        for kind in [ext::Kind::Limits, ext::Kind::Redaction] {
            if kind == ext::Kind::Limits || exts.settings().source(kind) != ext::Source::Embedded {
                let _ = exts.status(kind);
            }
        }
    });
    let input = std::io::BufReader::with_capacity(64 * 1024, std::io::stdin().lock());
    let output = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let options = mcp::ServeOptions { live: true, ..mcp::ServeOptions::default() };
    match mcp::serve(input, output, ctx, Arc::new(catalogue), options, runtime.handle().clone()) {
        Ok(()) => cli::EXIT_OK,
        Err(e) => {
            tracing::error!(error = %e.kind(), "MCP transport failed");
            cli::EXIT_FAILED
        }
    }
}
