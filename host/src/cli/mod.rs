//! The command-line interface.
//!
//! Subcommands are generated from the tool catalogue, so every CLI call runs exactly the checks
//! of the matching MCP tool. Each prints the tool's structured result as JSON on stdout.
//! Exit codes: 0 success; 1 the tool failed (or any agent's entry in a multi-agent result
//! failed); 2 usage error.

use crate::codes::ErrorCode;
use std::ffi::OsString;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

pub mod component_build;
pub mod demo;
pub mod ext;
pub mod hook;
pub mod install;
pub mod scaffold;
pub mod signals;
pub mod top;

use crate::agents::Registry;
use crate::tools::schema::{CliForm, Param, Ty};
use crate::tools::{result_failed, Catalogue, Ctx, ToolDef};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// The server's blocking pool (file, lock and `/proc` work of tool calls).
pub const MAX_BLOCKING_THREADS: usize = 12;

/// `ttl_seconds` → `ttl-seconds`.
fn flag_name(param: &Param) -> String {
    match param.cli {
        CliForm::FlagNamed(name) | CliForm::Negated(name) => name.to_owned(),
        _ => param.name.replace('_', "-"),
    }
}

fn build_arg(param: &Param, position: &mut usize) -> Arg {
    let id = param.name;
    let mut arg = Arg::new(id).help(param.description);
    if param.cli == CliForm::Positional {
        *position += 1;
        arg = arg.index(*position).required(param.required).value_name(id.to_uppercase());
    } else {
        arg = arg.long(flag_name(param));
    }
    match (&param.ty, param.cli) {
        (Ty::Bool, _) => arg.action(ArgAction::SetTrue),
        (Ty::StrList { .. }, _) => arg.action(ArgAction::Append).value_name("PATH"),
        (Ty::Int { .. }, _) => arg.value_parser(clap::value_parser!(i64)).allow_negative_numbers(true),
        (Ty::Str { choices: Some(choices), .. }, CliForm::Positional) => {
            arg.value_parser(clap::builder::PossibleValuesParser::new(choices.clone()))
        }
        (Ty::Str { .. }, _) => arg,
    }
}

fn tool_command(tool: &ToolDef) -> Command {
    let mut position = 0;
    let args: Vec<Arg> = tool.params.iter().map(|p| build_arg(p, &mut position)).collect();
    Command::new(tool.cli_name).about(tool.description).args(args)
}

/// The whole CLI, built from the catalogue.
pub fn command(catalogue: &Catalogue) -> Command {
    Command::new("codex-master-mcp")
        .version(env!("CARGO_PKG_VERSION"))
        .about("MCP server and CLI that runs a fleet of worker coding agents in tmux. With no arguments it serves MCP on stdio.")
        .subcommand(Command::new(Sub::Serve.as_str()).about("Serve MCP on stdio (the default with no arguments)."))
        .subcommand(Command::new(Sub::Tools.as_str()).about("Print the tool catalogue as JSON."))
        .subcommand(
            Command::new(Sub::Demo.as_str())
                .about("Run the main job end to end through the MCP server: start two agents, send tasks, wait, show status, stop.")
                .arg(Arg::new("profile").long("profile").value_parser(["scripted", "codex", "mixed"]).default_value("scripted").help("Workers: the built-in scripted agent, the real codex on PATH, or mixed: one Codex, one Claude Code and one Gemini CLI worker (each real when on PATH, else a scripted stand-in)."))
                .arg(Arg::new("mixed").long("mixed").action(ArgAction::SetTrue).help("Same as --profile mixed.")),
        )
        .subcommand(ext::command())
        .subcommand(install::install_command())
        .subcommand(
            Command::new(Sub::Fingerprint.as_str())
                .hide(true)
                .about("Print a fingerprint of the state root this process resolves (doctor compares the lead's server with the CLI)."),
        )
        .subcommand(install::uninstall_command())
        .subcommand(install::plugin_marketplace_command())
        .subcommand(top::command())
        .subcommand(
            Command::new(Sub::RawLogWriter.as_str())
                .hide(true)
                .about("Copy stdin into a managed raw log (run by tmux pipe-pane).")
                .arg(Arg::new("state-dir").long("state-dir").required(true))
                .arg(Arg::new("max-bytes").long("max-bytes").value_parser(clap::value_parser!(u64)).default_value("5242880"))
                .arg(Arg::new("name").required(true)),
        )
        .subcommand(
            Command::new(Sub::ScriptedAgent.as_str())
                .hide(true)
                .about("A scripted worker that draws Codex-like screens (tests and the demo).")
                .arg(Arg::new("model").long("model").default_value(crate::agents::profiles::codex::READ_ONLY_MODEL))
                .arg(Arg::new("work-seconds").long("work-seconds").value_parser(clap::value_parser!(u64)).default_value("2"))
                .arg(Arg::new("trust-dialog").long("trust-dialog").action(ArgAction::SetTrue))
                .arg(Arg::new("transcript").long("transcript").value_name("FILE"))
                .arg(Arg::new("resume").long("resume").action(ArgAction::SetTrue).help("Resume the thread recorded for the working directory, like `codex resume --last`."))
                .arg(Arg::new("prompt").long("prompt").value_name("TEXT").allow_hyphen_values(true).help("Submitted as the first turn, like a prompt on Codex's command line.")),
        )
        .subcommands(catalogue.tools().iter().map(tool_command))
}

/// Turns parsed flags into the JSON arguments object the validator checks.
fn arguments(tool: &ToolDef, m: &ArgMatches) -> Value {
    let mut obj = Map::new();
    for p in &tool.params {
        let value = match (&p.ty, p.cli) {
            (Ty::Bool, CliForm::Negated(_)) => m.get_flag(p.name).then_some(Value::Bool(false)),
            (Ty::Bool, _) => m.get_flag(p.name).then_some(Value::Bool(true)),
            (Ty::Int { .. }, _) => m.get_one::<i64>(p.name).map(|v| Value::from(*v)),
            (Ty::StrList { .. }, _) => {
                m.get_many::<String>(p.name).map(|vs| Value::Array(vs.map(|v| Value::String(v.clone())).collect()))
            }
            (Ty::Str { .. }, _) => m.get_one::<String>(p.name).map(|v| Value::String(v.clone())),
        };
        if let Some(v) = value {
            obj.insert(p.name.to_owned(), v);
        }
    }
    Value::Object(obj)
}

/// The CLI's lease identity: stable per user, so one CLI call does not lock out the next.
pub fn cli_client_id() -> String {
    std::env::var("CODEX_MASTER_MCP_INSTANCE_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("cli-user-{}", rustix::process::geteuid().as_raw()))
}

/// Prints JSON on stdout. A reader that went away (a closed pipe) is no error: the action
/// already happened, and the exit status still says how it went.
pub fn print_json(value: &Value) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("JSON value serialises");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// A usage error through a fixed template: it names our argument and the rule, never the
/// value given (a secret, a path, escape sequences or a 3,000-character text would be echoed
/// otherwise).
fn usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    // Our own argument's display name (`--confirm-seconds <confirm_seconds>`), never a value.
    let ours = || match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => crate::text::keep_head_chars(&crate::text::safe_error_text(s), 80),
        Some(ContextValue::Strings(v)) => {
            crate::text::keep_head_chars(&crate::text::safe_error_text(&v.join(", ")), 200)
        }
        _ => "an argument".to_owned(),
    };
    match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!("invalid value for {}", ours()),
        ErrorKind::MissingRequiredArgument => format!("missing required argument: {}", ours()),
        ErrorKind::UnknownArgument => {
            "unknown option or extra argument (a text that starts with '-' goes after '--')".to_owned()
        }
        ErrorKind::InvalidSubcommand => "unknown command".to_owned(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a command is required".to_owned()
        }
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => format!("wrong number of values for {}", ours()),
        ErrorKind::ArgumentConflict => "conflicting arguments".to_owned(),
        ErrorKind::InvalidUtf8 => "arguments must be UTF-8".to_owned(),
        _ => "invalid command line".to_owned(),
    }
}

/// Runs the CLI; returns the process exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    // A worker's hook runs on every event of its CLI: it sets up nothing else.
    if argv.get(1).is_some_and(|a| a == Sub::Hook.as_str()) {
        return hook::run(&argv[2..]);
    }
    // A broken config.toml must not take `--help`, `--version` or `ext` down with it: the
    // command line is built from the default agents then, and only what needs the agents fails.
    // The config directory is read once: the agents and the extension settings come from the
    // same bytes.
    let files = crate::config::ConfigFiles::read();
    let (registry, config_error) = match Registry::from_reading(&files) {
        Ok(r) => (r, None),
        Err(e) => (Registry::from_env(), Some(crate::text::safe_error_text(&e))),
    };
    let settings = || crate::ext::config::Settings::from_reading(&files);
    let catalogue = Catalogue::new(&registry);
    let matches = match parse(&catalogue, argv) {
        Ok(m) => m,
        Err(code) => return code,
    };
    // The server keeps serving and reports the problem on every call (a server that exits at
    // start leaves an MCP client without a word); the CLI says it at once.
    if let (Some(e), true) = (&config_error, needs_agents(&matches)) {
        eprintln!("codex-master-mcp: {e}");
        print_json(&crate::tools::fault_json(&crate::tools::Fault::new(ErrorCode::ConfigInvalid, e), ""));
        return EXIT_FAILED;
    }
    // With no subcommand, the MCP server.
    let serving = matches.subcommand().is_none_or(|(name, _)| name == Sub::Serve.as_str());
    let Some(runtime) = runtime_for(serving) else {
        eprintln!("codex-master-mcp: could not start the async runtime");
        return EXIT_FAILED;
    };
    if serving {
        return crate::serve_stdio(&runtime, (registry, settings()), catalogue, config_error);
    }
    let Some((name, sub)) = matches.subcommand() else { return EXIT_USAGE };
    match (catalogue.find_cli(name), Sub::from_name(name)) {
        (Some(tool), _) => run_tool(&runtime, &catalogue, tool, (registry, settings()), sub),
        (None, Some(Sub::Top)) => top::run(&runtime, registry, sub),
        (None, Some(command)) => run_command(command, sub, &catalogue, &registry),
        (None, None) => EXIT_USAGE,
    }
}

/// The command line, parsed. A tool's subcommand needs only its own parser: the whole command
/// line (every tool's flags) is built for anything else (`--help`, `ext`, the server). `Err` is
/// the exit code (help and version printed, or a usage error reported).
fn parse(catalogue: &Catalogue, argv: Vec<OsString>) -> Result<ArgMatches, i32> {
    let cli = match argv.get(1).and_then(|a| a.to_str()).and_then(|a| catalogue.find_cli(a)) {
        Some(tool) => {
            Command::new("codex-master-mcp").version(env!("CARGO_PKG_VERSION")).subcommand(tool_command(tool))
        }
        None => command(catalogue),
    };
    match cli.try_get_matches_from(argv) {
        Ok(m) => Ok(m),
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            Err(EXIT_OK)
        }
        Err(e) => {
            let message = usage_error(&e);
            eprintln!("codex-master-mcp: {message}; see --help");
            print_json(&crate::tools::fault_json(&crate::tools::Fault::invalid_arguments(message), ""));
            Err(EXIT_USAGE)
        }
    }
}

crate::wire::wire_enum!(
    /// The subcommands that are no tool (a tool's subcommand is its catalogue `cli_name`): the
    /// parser, the agents check and the dispatch read their names here.
    Sub {
        Serve => "serve",
        Tools => "tools",
        RawLogWriter => "raw-log-writer",
        Demo => "demo",
        ScriptedAgent => "scripted-agent",
        Ext => "ext",
        Fingerprint => "fingerprint",
        Install => "install",
        Uninstall => "uninstall",
        PluginMarketplace => "plugin-marketplace",
        Top => "top",
        Hook => "hook",
    }
);

/// Whether the command needs the configured agents: every tool does, and `install` (it
/// registers them); the rest work without them.
fn needs_agents(matches: &ArgMatches) -> bool {
    match matches.subcommand() {
        None => false,
        Some((name, _)) => Sub::from_name(name).is_none_or(|s| matches!(s, Sub::Install | Sub::Top)),
    }
}

/// The server wants worker threads for concurrent tool calls; one CLI call needs none.
fn runtime_for(serving: bool) -> Option<tokio::runtime::Runtime> {
    let mut builder = if serving {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    if serving {
        // Few threads whatever the load: two workers, and a bounded pool for file and lock work
        // (tool calls queue for it instead of growing the process).
        builder.worker_threads(2).max_blocking_threads(MAX_BLOCKING_THREADS);
    }
    builder.enable_all().build().ok()
}

/// One tool, from the command line: validated and run exactly as over MCP.
fn run_tool(
    runtime: &tokio::runtime::Runtime,
    catalogue: &Catalogue,
    tool: &crate::tools::ToolDef,
    (registry, settings): (Registry, crate::ext::config::Settings),
    sub: &ArgMatches,
) -> i32 {
    let args = arguments(tool, sub);
    crate::session::serve_one_call();
    let extensions = Arc::new(crate::ext::Extensions::new(settings));
    let ctx = Arc::new(Ctx::new(cli_client_id(), registry, extensions));
    // The process ends after this one call: what the context holds (the sandbox's mappings, the
    // rule engines, the registry) is memory only, and goes with the process instead of being
    // taken apart piece by piece first.
    std::mem::forget(Arc::clone(&ctx));
    let result = runtime.block_on(catalogue.call(ctx, tool, Some(&args)));
    let failed = result_failed(&result);
    let quiet = args.get("quiet") == Some(&Value::Bool(true));
    match result {
        Ok(v) if !quiet || failed => print_json(&v),
        Ok(_) => {}
        Err(e) => print_json(&crate::tools::fault_json(&e, &cli_client_id())),
    }
    if failed {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// A subcommand that is no tool.
fn run_command(command: Sub, sub: &ArgMatches, catalogue: &Catalogue, registry: &Registry) -> i32 {
    let printed = |(code, value): (i32, Value)| {
        print_json(&value);
        code
    };
    match command {
        Sub::Tools => printed((EXIT_OK, catalogue.listing())),
        Sub::RawLogWriter => raw_log_writer(sub),
        Sub::Demo => demo::run(if sub.get_flag("mixed") {
            "mixed"
        } else {
            sub.get_one::<String>("profile").map_or("scripted", String::as_str)
        }),
        Sub::ScriptedAgent => crate::scripted::run(crate::scripted::Options {
            model: sub
                .get_one::<String>("model")
                .map_or(crate::agents::profiles::codex::READ_ONLY_MODEL, String::as_str),
            work_seconds: *sub.get_one::<u64>("work-seconds").unwrap_or(&2),
            trust_dialog: sub.get_flag("trust-dialog"),
            transcript: sub.get_one::<String>("transcript").map(String::as_str),
            prompt: sub.get_one::<String>("prompt").map(String::as_str),
            resume: sub.get_flag("resume"),
        }),
        Sub::Ext => printed(ext::run(sub)),
        Sub::Fingerprint => {
            printed((EXIT_OK, serde_json::json!({"state_root": crate::install::doctor::own_fingerprint()})))
        }
        Sub::Install => printed(install::install(registry, sub)),
        Sub::Uninstall => printed(install::uninstall(sub)),
        Sub::PluginMarketplace => printed(install::plugin_marketplace(sub)),
        // Dispatched before anything else is set up, and by `run` itself.
        Sub::Hook | Sub::Serve | Sub::Top => EXIT_USAGE,
    }
}

/// `raw-log-writer`: bounded copy of stdin into `R/raw/NAME`; errors go to stderr only.
fn raw_log_writer(m: &ArgMatches) -> i32 {
    let max = *m.get_one::<u64>("max-bytes").unwrap_or(&crate::state::rawlog::MAX_RAW_LOG_BYTES);
    if !(1..=crate::state::rawlog::MAX_RAW_LOG_BYTES).contains(&max) {
        eprintln!("raw-log-writer: --max-bytes must be between 1 and {}", crate::state::rawlog::MAX_RAW_LOG_BYTES);
        return EXIT_USAGE;
    }
    let root = std::path::PathBuf::from(m.get_one::<String>("state-dir").map_or("", String::as_str));
    let name = m.get_one::<String>("name").map_or("", String::as_str);
    let result = crate::state::State::open_at(&root).map_err(|e| e.to_string()).and_then(|state| {
        crate::state::rawlog::write_from(&state, name, max, std::io::stdin().lock()).map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("raw-log-writer: {e}");
            EXIT_FAILED
        }
    }
}
