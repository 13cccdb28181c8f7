//! Host bindings, one module per frozen WIT version (the shape of Zed's `since_vX` modules).
//!
//! `wit/v<version>/` directories never change once released. Each `since_v*` module binds the
//! worlds that version defines and carries the version range it serves; [`latest`] names the
//! newest binding of each kind. `common` is generated once here and shared with every world
//! through bindgen's `with:`, so the `log` import has one implementation.

use std::fmt;

/// A WIT package version (`major.minor.patch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.splitn(3, '.').map(|p| p.parse::<u32>().ok());
        Some(Version(parts.next()??, parts.next()??, parts.next()??))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The only import with functions that any world has.
pub const LOG_IMPORT: &str = "codex-master:common/log@1.0.0";
/// Type-only interfaces also appear as imports; they carry no functions.
pub const COMMON_TYPES_IMPORT: &str = "codex-master:common/types@1.0.0";

pub mod common {
    //! `codex-master:common@1.0.0`, generated once.
    wasmtime::component::bindgen!({
        inline: "package codex-master:host-common@1.0.0;
                 world common {
                     import codex-master:common/log@1.0.0;
                     import codex-master:common/types@1.0.0;
                 }",
        path: ["../wit/v1.0.0/common"],
    });
    pub use self::codex_master::common::{log, types};
}

pub mod since_v1_0 {
    //! The 1.0.0 worlds.
    use super::Version;

    pub const MIN_VERSION: Version = Version(1, 0, 0);
    pub const MAX_VERSION: Version = Version(1, 0, u32::MAX);

    pub mod limits {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.0.0/limits"],
            world: "codex-master:limits/classifier@1.0.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::limits::types::*;
    }

    pub mod redaction {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.0.0/redaction"],
            world: "codex-master:redaction/redactor@1.0.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::redaction::types::*;
    }

    pub mod doctor {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.0.0/doctor"],
            world: "codex-master:doctor/checks@1.0.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::doctor::types::*;
    }

    pub mod prompts {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.0.0/prompts"],
            world: "codex-master:prompts/templates@1.0.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::prompts::types::*;
    }
}

pub mod since_v1_1 {
    //! 1.1.0: the limit classifier names the open dialog; the redactor takes rule files; the
    //! prompt templates render the continue prompt after a limit's reset.
    use super::Version;

    pub const MIN_VERSION: Version = Version(1, 1, 0);
    pub const MAX_VERSION: Version = Version(1, 1, u32::MAX);

    pub mod limits {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.1.0/limits"],
            world: "codex-master:limits/classifier@1.1.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::limits::types::*;
    }

    pub mod redaction {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.1.0/redaction"],
            world: "codex-master:redaction/redactor@1.1.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::redaction::types::*;
    }

    pub mod prompts {
        wasmtime::component::bindgen!({
            path: ["../wit/v1.0.0/common", "../wit/v1.1.0/prompts"],
            world: "codex-master:prompts/templates@1.1.0",
            with: {
                "codex-master:common/log@1.0.0": crate::ext::wit::common::log,
                "codex-master:common/types@1.0.0": crate::ext::wit::common::types,
            },
        });
        pub use self::codex_master::prompts::types::*;
    }
}

/// The newest binding of each kind.
pub mod latest {
    pub use super::since_v1_0::doctor;
    pub use super::since_v1_1::{limits, prompts, redaction};
}

use super::engine::StoreState;

impl common::types::Host for StoreState {}
impl common::log::Host for StoreState {
    fn log(&mut self, level: common::log::Level, message: String) {
        use common::log::Level as L;
        let level = match level {
            L::Debug => 0,
            L::Info => 1,
            L::Warn => 2,
            L::Error => 3,
        };
        StoreState::log(self, level, &message);
    }
}
// Type-only interfaces: nothing to provide.
impl since_v1_0::limits::codex_master::limits::types::Host for StoreState {}
impl since_v1_0::redaction::codex_master::redaction::types::Host for StoreState {}
impl since_v1_0::doctor::codex_master::doctor::types::Host for StoreState {}
impl since_v1_0::prompts::codex_master::prompts::types::Host for StoreState {}
impl since_v1_1::limits::codex_master::limits::types::Host for StoreState {}
impl since_v1_1::redaction::codex_master::redaction::types::Host for StoreState {}
impl since_v1_1::prompts::codex_master::prompts::types::Host for StoreState {}
