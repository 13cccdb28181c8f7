//! The guest SDK for codex-master extensions.
//!
//! Extension authors implement a plain Rust trait per extension point and call one register
//! macro; the SDK supplies the WIT bindings, the panic hook that reports through the host's `log`
//! import, and a native build of the same logic for `cargo test`.
