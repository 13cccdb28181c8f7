//! The integration tests, one binary with a module per area (as ripgrep's `tests/tests.rs`), so
//! CI compiles and links once. They run the real binary over real pipes, real tmux, real git,
//! independent MCP clients and the real Codex CLI.
//!
//! Add a test to the module of its area; a new area is a new file here and one `mod` line.

mod common;

mod agents;
mod architecture;
mod assignments;
mod cli;
mod events;
mod ext;
mod ext_authors;
mod fsafe;
mod hardening;
mod hosts;
mod leases;
mod mcp_protocol;
mod real_claude;
mod real_clients;
mod real_codex;
mod real_gemini;
mod real_lead;
mod recovery;
mod redaction_corpus;
mod top;
mod validation;
