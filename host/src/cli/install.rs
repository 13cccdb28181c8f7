//! `codex-master-mcp install` and `uninstall`: the CLI face of [`crate::install::setup`], with
//! allowlisted JSON (names and outcomes; no paths, no values).

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{json, Value};

use crate::agents::Registry;
use crate::codes::ErrorCode;
use crate::install::packaging;
use crate::install::setup::{self, InstallOptions};
use crate::tools::Fault;

pub fn install_command() -> Command {
    Command::new(super::Sub::Install.as_str())
        .about("Put this binary on PATH (~/.local/bin), self-test it, and register it with Codex (codex mcp add, plus tool_timeout_sec = 610, startup_timeout_sec = 30, the state and config locations of this shell, and approval of the lease-guarded stop/interrupt/watchdog for headless leads). Captures the workers' env_pass variables into the private state. Refused inside a managed agent home.")
        .arg(Arg::new("codex").long("codex").value_name("PATH").help("The codex program (default: codex on PATH)."))
        .arg(Arg::new("bin-dir").long("bin-dir").value_name("DIR").help("Where the binary goes (default: ~/.local/bin)."))
        .arg(Arg::new("force").long("force").action(ArgAction::SetTrue).help("Replace a binary or a registration that install did not make, and a registration next to the plugin."))
        .arg(Arg::new("no-register").long("no-register").action(ArgAction::SetTrue).help("Only place and self-test the binary."))
        .arg(Arg::new("no-approve").long("no-approve").action(ArgAction::SetTrue).help("Do not pre-approve agent_stop, agent_interrupt and fleet_watchdog (a headless lead then cannot call them)."))
        .arg(Arg::new("watchdog").long("watchdog").action(ArgAction::SetTrue).help("Also write and enable the watchdog's systemd user units."))
}

pub fn uninstall_command() -> Command {
    Command::new(super::Sub::Uninstall.as_str())
        .about("Remove exactly what install made: the registration (if it still names the installed binary), the binary (if unchanged), the watchdog units, the captured variables.")
        .arg(Arg::new("codex").long("codex").value_name("PATH").help("The codex program (default: codex on PATH)."))
        .arg(Arg::new("keep-binary").long("keep-binary").action(ArgAction::SetTrue).help("Leave the installed binary in place."))
}

pub fn plugin_marketplace_command() -> Command {
    Command::new(super::Sub::PluginMarketplace.as_str())
        .about("Write a local Codex marketplace holding only this build's plugin packaging (the fleet skill, .codex-plugin/, .mcp.json, .app.json) into DIR, then: codex plugin marketplace add DIR; codex plugin add codex-master@codex-master-local. Refuses a plugin directory holding anything else, since Codex copies it whole.")
        .arg(Arg::new("dir").required(true).value_name("DIR").help("The marketplace directory (created when missing; never through a symlink)."))
}

fn path_arg(m: &ArgMatches, name: &str) -> Option<PathBuf> {
    m.get_one::<String>(name).map(PathBuf::from)
}

fn error(code: ErrorCode, e: impl std::fmt::Display) -> (i32, Value) {
    (super::EXIT_FAILED, crate::tools::fault_json(&Fault::new(code, e.to_string()), ""))
}

pub fn install(registry: &Registry, m: &ArgMatches) -> (i32, Value) {
    let opts = InstallOptions {
        codex: path_arg(m, "codex"),
        bin_dir: path_arg(m, "bin-dir"),
        force: m.get_flag("force"),
        register: !m.get_flag("no-register"),
        approve: !m.get_flag("no-approve"),
        watchdog: m.get_flag("watchdog"),
    };
    match setup::install(registry, &opts) {
        Ok(done) => (
            super::EXIT_OK,
            json!({
                "ok": true,
                "binary": done.binary.as_str(),
                "install_path": crate::tools::NOT_RETURNED,
                "registration": done.registration.as_str(),
                "tool_timeout_sec": crate::install::codex::TOOL_TIMEOUT_SEC,
                "startup_timeout_sec": crate::install::codex::STARTUP_TIMEOUT_SEC,
                "headless_approvals": done.approvals,
                "pinned_env_names": done.pinned,
                "captured_env_count": done.captured_env,
                "watchdog_units": done.units.as_str(),
                "self_test": {"ok": done.self_test.ok, "tool_count": done.self_test.tool_count, "elapsed_ms": done.self_test.elapsed_ms},
            }),
        ),
        Err(e) => error(ErrorCode::InstallFailed, e),
    }
}

pub fn plugin_marketplace(m: &ArgMatches) -> (i32, Value) {
    let dir = path_arg(m, "dir").unwrap_or_default();
    let absolute = std::path::absolute(&dir).map(|p| crate::fsafe::paths::normalize_lexically(&p));
    let written =
        absolute.map_err(|e| e.to_string()).and_then(|p| packaging::write_marketplace(&p).map_err(|e| e.to_string()));
    match written {
        Ok(done) => (
            super::EXIT_OK,
            json!({
                "ok": true,
                "marketplace": packaging::MARKETPLACE_NAME,
                "plugin": crate::install::codex::PLUGIN_NAME,
                "plugin_version": env!("CARGO_PKG_VERSION"),
                "files_written": done.files,
            }),
        ),
        Err(e) => error(ErrorCode::PluginMarketplaceFailed, e),
    }
}

pub fn uninstall(m: &ArgMatches) -> (i32, Value) {
    match setup::uninstall(path_arg(m, "codex").as_deref(), m.get_flag("keep-binary")) {
        Ok(done) => (
            super::EXIT_OK,
            json!({
                "ok": true,
                "registration": if done.registration_removed { "removed" } else { "not_registered" },
                "binary": if done.binary_removed { "removed" } else { "left_in_place" },
                "watchdog_units": if done.units_removed { "removed" } else { "none" },
                "captured_env": if done.captured_env_removed { "removed" } else { "none" },
            }),
        ),
        Err(e) => error(ErrorCode::UninstallFailed, e),
    }
}
