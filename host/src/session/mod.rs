//! The worker-session domain (rust-analyzer's `ide` shape): starting, typing, observing,
//! answering dialogs, interrupting and stopping workers. It returns plain data (`Observation`,
//! `Started`, `Sent`, `Answered`, `Stopped`, leases, `Fault`s); `tools/` turns it into JSON.
//! The watchdog and assignments call it, never another tool.

use std::sync::Arc;

use crate::agents::Registry;
use crate::codes::ErrorCode;
use crate::ext::Extensions;
use crate::fault::Fault;
use crate::redactor::Redactor;

pub mod assign;
pub mod dialog;
pub mod fleet;
pub mod observe;
pub mod repo;
pub mod scope;
pub mod send;
pub mod start;
pub mod stop;
pub mod tail;
pub mod typing;
pub mod wait;
pub mod watch;
pub mod words;
pub mod worker;

/// Per-caller context: who is calling, which agents exist, and the fleet observation that
/// concurrent waits share.
pub struct Ctx {
    /// The lease owner identity of this caller. Never returned by any tool.
    pub client_id: String,
    pub registry: Registry,
    pub observer: fleet::SharedObserver,
    /// A configuration problem (a broken `config.toml`, a relative location override): every
    /// tool call reports it instead of running with defaults.
    pub config_error: Option<String>,
    /// The active extensions (classifier, templates, doctor checks, redactor).
    pub extensions: Arc<Extensions>,
    /// The one redaction pipeline (it runs the active redactor of `extensions`).
    pub redactor: Arc<Redactor>,
}

impl Ctx {
    pub fn new(client_id: String, registry: Registry, extensions: Arc<Extensions>) -> Ctx {
        Ctx {
            client_id,
            registry,
            observer: fleet::SharedObserver::default(),
            config_error: None,
            redactor: Arc::new(Redactor::new(Arc::clone(&extensions))),
            extensions,
        }
    }

    /// The active extensions (classifier, templates, doctor checks, redactor).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// A long-lived process (the server, `top`) observes the same panes again and again: it
    /// reuses the captures of quiet ones, and keeps one shell per host and a tmux control client
    /// per tmux server open for its tmux calls. A one-shot call keeps none of them.
    pub fn keep_for_long_life(&self) {
        self.observer.keep_captures();
        crate::ssh::keep_channels();
        crate::tmux::control::keep_control();
    }

    pub fn with_config_error(mut self, error: Option<String>) -> Ctx {
        self.config_error = error;
        self
    }
}

/// Runs blocking file and lock work off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Fault> + Send + 'static) -> Result<T, Fault> {
    tracing::debug!("work sent to a blocking thread");
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(Fault::new(ErrorCode::InternalError, "worker task failed")))
}

/// Whether this process serves one CLI call (see [`light`]); set by the CLI before the call.
static ONE_CALL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this process as one that serves a single CLI call and then exits.
pub fn serve_one_call() {
    ONE_CALL.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Light blocking work: small state reads, in-memory classification, a redaction with its own
/// budget; never a lock wait, a process or the network. A one-shot CLI call runs it in place:
/// nothing else of the call needs this thread meanwhile (tmux and hosts run as processes), and
/// starting a blocking thread costs more than the work. A server runs it like [`blocking`].
pub async fn light<T: Send + 'static>(f: impl FnOnce() -> Result<T, Fault> + Send + 'static) -> Result<T, Fault> {
    if ONE_CALL.load(std::sync::atomic::Ordering::Relaxed) {
        f()
    } else {
        blocking(f).await
    }
}

/// Units of work still running (see [`to_completion`]).
static UNITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `work` as one unit: a cancelled call (its future dropped) no longer stops it halfway,
/// it runs on to its end, and a server that is shutting down waits for it ([`units_finished`]).
/// For work that must never be left half done (a start: session, metadata, raw log, lease and
/// launch script).
pub async fn to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, Fault>> + Send + 'static,
) -> Result<T, Fault> {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            UNITS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    UNITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let running = Running;
    tokio::spawn(async move {
        let _running = running;
        work.await
    })
    .await
    .unwrap_or_else(|_| Err(Fault::new(ErrorCode::InternalError, "worker task failed")))
}

/// Waits (at most `limit`) until no unit of [`to_completion`] runs; whether none does.
pub async fn units_finished(limit: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while UNITS.load(std::sync::atomic::Ordering::SeqCst) > 0 {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    true
}
