//! `codex-master-mcp`: with no arguments (or `serve`) the MCP server on stdio; otherwise the CLI.

fn main() {
    codex_master::init_tracing();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(codex_master::cli::run(argv));
}
