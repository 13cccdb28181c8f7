//! The worker-session domain: what a worker shows now, read from its CLI's events and its
//! screen. It returns plain data; `tools/` turns it into JSON (rust-analyzer's `ide` and
//! handlers shape).

pub mod observe;
pub mod send;
