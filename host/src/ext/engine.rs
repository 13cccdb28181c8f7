//! The one wasmtime `Engine` of the process, its epoch ticker, and sandboxed stores.
//!
//! Every call runs under an epoch deadline (the ticker advances the epoch every
//! [`TICK`]) and a memory cap ([`Limiter`], which records a refused growth so that a failed
//! call is known to be out of memory without reading error text); the wasm stack is bounded by
//! the engine config.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};

use crate::text::{keep_head_chars, safe_error_text};

/// Epoch tick: deadlines are counted in these.
pub const TICK: Duration = Duration::from_millis(10);
/// Wasm stack limit.
pub const MAX_WASM_STACK: usize = 1024 * 1024;
/// At most this many log lines per call reach stderr.
const LOG_BUDGET_PER_CALL: u32 = 32;

/// The store's caps (wasmtime's `StoreLimits`), and whether a memory growth was refused since
/// the call began.
pub struct Limiter {
    caps: StoreLimits,
    memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.caps.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.memory_refused = true;
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.caps.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.caps.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.caps.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.caps.instances()
    }

    fn tables(&self) -> usize {
        self.caps.tables()
    }

    fn memories(&self) -> usize {
        self.caps.memories()
    }
}

/// Per-store data: resource limits and the log budget.
pub struct StoreState {
    limits: Limiter,
    ext_name: String,
    log_budget: u32,
}

impl StoreState {
    /// Whether the current call (or instantiation) asked for more memory than its cap.
    pub fn memory_refused(&self) -> bool {
        self.limits.memory_refused
    }

    /// An extension's `log` call: bounded, redacted, rate-limited, on stderr via tracing.
    pub fn log(&mut self, level: u8, message: &str) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        let text = keep_head_chars(&safe_error_text(message), 500);
        match level {
            0 => tracing::debug!(extension = %self.ext_name, "{text}"),
            1 => tracing::info!(extension = %self.ext_name, "{text}"),
            2 => tracing::warn!(extension = %self.ext_name, "{text}"),
            _ => tracing::error!(extension = %self.ext_name, "{text}"),
        }
    }
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

fn build() -> Result<Engine, String> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    let engine = Engine::new(&config).map_err(|e| format!("the WebAssembly engine could not start: {e}"))?;
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(TICK);
            ticking.increment_epoch();
        })
        .map_err(|e| format!("the epoch ticker could not start: {e}"))?;
    Ok(engine)
}

/// The process-wide engine (built on first use).
pub fn engine() -> Result<&'static Engine, String> {
    ENGINE.get_or_init(build).as_ref().map_err(Clone::clone)
}

/// A fresh store with the memory, table and instance caps.
pub fn new_store(engine: &Engine, ext_name: &str, memory_bytes: usize) -> Store<StoreState> {
    let caps = StoreLimitsBuilder::new()
        .memory_size(memory_bytes)
        .table_elements(100_000)
        .instances(16)
        .tables(16)
        .memories(4)
        .trap_on_grow_failure(true)
        .build();
    let limits = Limiter { caps, memory_refused: false };
    let mut store =
        Store::new(engine, StoreState { limits, ext_name: ext_name.to_owned(), log_budget: LOG_BUDGET_PER_CALL });
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_trap();
    store
}

/// Arms the deadline for one call and refills the log budget.
pub fn arm(store: &mut Store<StoreState>, deadline: Duration) {
    let ticks = (deadline.as_micros() / TICK.as_micros()).max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.data_mut().log_budget = LOG_BUDGET_PER_CALL;
    store.data_mut().limits.memory_refused = false;
}
