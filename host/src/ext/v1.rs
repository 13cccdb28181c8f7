//! Host bindings for the 1.0.0 worlds: one `bindgen!` per world and version (the model of Zed's
//! `extension_host`). A future 2.0.0 gets a sibling module; released versions never change.

/// The only import with functions that any 1.x world has.
pub const LOG_IMPORT: &str = "codex-master:common/log@1.0.0";
pub const API_VERSION: &str = "1.0.0";
/// Type-only interfaces also appear as imports; they carry no functions.
pub const COMMON_TYPES_IMPORT: &str = "codex-master:common/types@1.0.0";

pub mod limits {
    wasmtime::component::bindgen!({
        path: ["../wit/common", "../wit/limits"],
        world: "codex-master:limits/classifier@1.0.0",
        additional_derives: [PartialEq],
    });
    pub use self::codex_master::limits::types::*;
}

pub mod redaction {
    wasmtime::component::bindgen!({
        path: ["../wit/common", "../wit/redaction"],
        world: "codex-master:redaction/redactor@1.0.0",
    });
    pub use self::codex_master::redaction::types::*;
}

pub mod doctor {
    wasmtime::component::bindgen!({
        path: ["../wit/common", "../wit/doctor"],
        world: "codex-master:doctor/checks@1.0.0",
    });
    pub use self::codex_master::doctor::types::*;
}

pub mod prompts {
    wasmtime::component::bindgen!({
        path: ["../wit/common", "../wit/prompts"],
        world: "codex-master:prompts/templates@1.0.0",
    });
    pub use self::codex_master::prompts::types::*;
}

use super::engine::StoreState;

macro_rules! log_host {
    ($m:ident, $world:ident) => {
        // Type-only interfaces: nothing to provide.
        impl $m::codex_master::common::types::Host for StoreState {}
        impl $m::codex_master::$world::types::Host for StoreState {}
        impl $m::codex_master::common::log::Host for StoreState {
            fn log(&mut self, level: $m::codex_master::common::log::Level, message: String) {
                use $m::codex_master::common::log::Level as L;
                let level = match level {
                    L::Debug => 0,
                    L::Info => 1,
                    L::Warn => 2,
                    L::Error => 3,
                };
                self.log(level, &message);
            }
        }
    };
}
log_host!(limits, limits);
log_host!(redaction, redaction);
log_host!(doctor, doctor);
log_host!(prompts, prompts);
