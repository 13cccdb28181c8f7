//! The guest SDK for codex-master extensions.
//!
//! An extension author implements one plain Rust trait and calls one register macro: the
//! example on [`LimitsExtension`] is a complete classifier (a doc test, so it always compiles).
//! `codex-master-mcp ext new limits|redaction NAME` writes a ready crate that depends on this
//! SDK; `ext build` turns it into a component.
//!
//! Enable the cargo feature of the world you implement (`limits`, `redaction`, `doctor` or
//! `prompts`). The SDK installs a panic hook that reports the panic message through the host's
//! `log` import, because wasm32-unknown-unknown has no stderr. The same code compiles natively,
//! so extension logic is unit-tested with plain `cargo test`; there, [`log`] writes to stderr.

#![allow(clippy::too_many_arguments)]

#[cfg(feature = "limits")]
pub mod classify;
pub mod screen;
pub mod text;

/// The WIT API version of each world this SDK implements (`wit/v<version>/`, frozen once
/// released; the host binds every older version too).
pub mod api_version {
    pub const LIMITS: &str = "1.1.0";
    pub const REDACTION: &str = "1.1.0";
    pub const DOCTOR: &str = "1.0.0";
    pub const PROMPTS: &str = "1.1.0";
}

#[cfg(feature = "limits")]
pub mod limits {
    //! Bindings for `codex-master:limits/classifier@1.1.0`.
    wit_bindgen::generate!({
        path: ["../wit/v1.0.0/common", "../wit/v1.1.0/limits"],
        world: "codex-master:limits/classifier@1.1.0",
        pub_export_macro: true,
        generate_all,
        additional_derives: [PartialEq],
        export_macro_name: "export_classifier",
        default_bindings_module: "codex_master_guest_sdk::limits",
    });
    pub use self::codex_master::limits::types::*;
}

#[cfg(feature = "redaction")]
pub mod redaction {
    //! Bindings for `codex-master:redaction/redactor@1.1.0`.
    wit_bindgen::generate!({
        path: ["../wit/v1.0.0/common", "../wit/v1.1.0/redaction"],
        world: "codex-master:redaction/redactor@1.1.0",
        pub_export_macro: true,
        generate_all,
        additional_derives: [PartialEq],
        export_macro_name: "export_redactor",
        default_bindings_module: "codex_master_guest_sdk::redaction",
    });
    pub use self::codex_master::redaction::types::*;
}

#[cfg(feature = "doctor")]
pub mod doctor {
    //! Bindings for `codex-master:doctor/checks@1.0.0`.
    wit_bindgen::generate!({
        path: ["../wit/v1.0.0/common", "../wit/v1.0.0/doctor"],
        world: "codex-master:doctor/checks@1.0.0",
        pub_export_macro: true,
        generate_all,
        additional_derives: [PartialEq],
        export_macro_name: "export_checks",
        default_bindings_module: "codex_master_guest_sdk::doctor",
    });
    pub use self::codex_master::doctor::types::*;
}

#[cfg(feature = "prompts")]
pub mod prompts {
    //! Bindings for `codex-master:prompts/templates@1.1.0`.
    wit_bindgen::generate!({
        path: ["../wit/v1.0.0/common", "../wit/v1.1.0/prompts"],
        world: "codex-master:prompts/templates@1.1.0",
        pub_export_macro: true,
        generate_all,
        additional_derives: [PartialEq],
        export_macro_name: "export_templates",
        default_bindings_module: "codex_master_guest_sdk::prompts",
    });
    pub use self::codex_master::prompts::types::*;
}

/// Log levels, mirrored from the `log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Sends a message to the host's log. Natively (in unit tests) it goes to stderr.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        macro_rules! via {
            ($m:ident) => {{
                use $m::codex_master::common::log as l;
                let lvl = match level {
                    Level::Debug => l::Level::Debug,
                    Level::Info => l::Level::Info,
                    Level::Warn => l::Level::Warn,
                    Level::Error => l::Level::Error,
                };
                l::log(lvl, message);
                return;
            }};
        }
        #[cfg(feature = "limits")]
        via!(limits);
        #[cfg(feature = "redaction")]
        via!(redaction);
        #[cfg(feature = "doctor")]
        via!(doctor);
        #[cfg(feature = "prompts")]
        via!(prompts);
    }
    #[allow(unreachable_code)]
    {
        eprintln!("[{level:?}] {message}");
    }
}

/// Installs the panic hook once; the register macros call it on every entry.
pub fn init() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log(Level::Error, &format!("extension panicked: {info}"));
        }));
    });
}

macro_rules! ext_info_fn {
    ($feature:literal, $module:ident, $version:expr) => {
        #[cfg(feature = $feature)]
        impl $module::ExtInfo {
            /// `ExtInfo` for this SDK's API version of the world.
            pub fn new(name: &str, version: &str) -> Self {
                $module::ExtInfo {
                    name: name.to_owned(),
                    version: version.to_owned(),
                    api_version: $version.to_owned(),
                }
            }
        }
    };
}
ext_info_fn!("limits", limits, api_version::LIMITS);
ext_info_fn!("redaction", redaction, api_version::REDACTION);
ext_info_fn!("doctor", doctor, api_version::DOCTOR);
ext_info_fn!("prompts", prompts, api_version::PROMPTS);

/// A limit classifier.
///
/// ```
/// use codex_master_guest_sdk::classify::{self, Finding};
/// use codex_master_guest_sdk::limits::{
///     ClassifyInput, ClassifyOutput, DialogKind, ExtInfo, LimitKind, Severity, TuiState,
/// };
/// use codex_master_guest_sdk::LimitsExtension;
///
/// struct MyClassifier;
///
/// impl LimitsExtension for MyClassifier {
///     fn describe() -> ExtInfo {
///         ExtInfo::new("my-limits", "0.1.0")
///     }
///
///     fn classify(input: ClassifyInput) -> ClassifyOutput {
///         let finding = input
///             .pane
///             .contains("quota exceeded")
///             .then(|| Finding::new(Severity::Limited, LimitKind::Quota, "quota-exceeded"));
///         classify::output(&input, TuiState::Idle, DialogKind::None, finding)
///     }
/// }
///
/// // In the component: the world's exports.
/// #[cfg(target_arch = "wasm32")]
/// codex_master_guest_sdk::register_limits!(MyClassifier);
///
/// // Natively the same code is unit-tested with plain `cargo test`.
/// let input = classify::vector_input("Error: quota exceeded\n> ", "generic", "m1", 1_800_000_000);
/// let out = MyClassifier::classify(input);
/// assert_eq!((out.severity, out.kind, out.rule.as_str()), (Severity::Limited, LimitKind::Quota, "quota-exceeded"));
/// ```
#[cfg(feature = "limits")]
pub trait LimitsExtension {
    fn describe() -> limits::ExtInfo;
    fn classify(input: limits::ClassifyInput) -> limits::ClassifyOutput;
    /// Self-test vectors that `codex-master-mcp ext verify` runs.
    fn test_vectors() -> Vec<limits::Vector> {
        Vec::new()
    }
}

/// Redaction rules. The host strips terminal escape sequences before it calls: input text
/// has none.
#[cfg(feature = "redaction")]
pub trait RedactionExtension {
    fn describe() -> redaction::ExtInfo;
    /// The team's rule files, once per instance before any other call; returns the rules
    /// that could not be used. The default takes none and reports none.
    fn configure(files: Vec<redaction::RuleFile>) -> Vec<redaction::RuleError> {
        let _ = files;
        Vec::new()
    }
    fn redact(input: redaction::RedactInput) -> redaction::RedactOutput;
    /// Redacts each line on its own; the default calls [`RedactionExtension::redact`] per line.
    fn redact_lines(lines: Vec<String>, known_paths: Vec<String>) -> Vec<redaction::RedactOutput> {
        lines
            .into_iter()
            .map(|text| Self::redact(redaction::RedactInput { text, known_paths: known_paths.clone() }))
            .collect()
    }
    fn test_vectors() -> Vec<redaction::Vector> {
        Vec::new()
    }
}

/// Doctor checks over host-gathered facts.
#[cfg(feature = "doctor")]
pub trait DoctorExtension {
    fn describe() -> doctor::ExtInfo;
    fn evaluate(facts: Vec<doctor::Fact>) -> Vec<doctor::Check>;
    fn test_vectors() -> Vec<doctor::Vector> {
        Vec::new()
    }
}

/// Assignment prompt templates.
#[cfg(feature = "prompts")]
pub trait PromptsExtension {
    fn describe() -> prompts::ExtInfo;
    fn render_assignment(input: prompts::Assignment) -> Result<String, String>;
    fn render_report_request(input: prompts::ReportRequest) -> Result<String, String>;
    /// The line the watchdog sends once a limit's reset time has passed.
    fn render_continue(input: prompts::ContinueRequest) -> Result<String, String>;
    fn test_vectors() -> Vec<prompts::Vector> {
        Vec::new()
    }
}

/// Exports a [`LimitsExtension`] as the component's `classifier` world.
#[macro_export]
macro_rules! register_limits {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __CodexMasterLimitsExport;
        impl $crate::limits::Guest for __CodexMasterLimitsExport {
            fn describe() -> $crate::limits::ExtInfo {
                $crate::init();
                <$ty as $crate::LimitsExtension>::describe()
            }
            fn classify(input: $crate::limits::ClassifyInput) -> $crate::limits::ClassifyOutput {
                $crate::init();
                <$ty as $crate::LimitsExtension>::classify(input)
            }
            fn test_vectors() -> ::std::vec::Vec<$crate::limits::Vector> {
                $crate::init();
                <$ty as $crate::LimitsExtension>::test_vectors()
            }
        }
        $crate::limits::export_classifier!(__CodexMasterLimitsExport);
    };
}

/// Exports a [`RedactionExtension`] as the component's `redactor` world.
#[macro_export]
macro_rules! register_redaction {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __CodexMasterRedactionExport;
        impl $crate::redaction::Guest for __CodexMasterRedactionExport {
            fn describe() -> $crate::redaction::ExtInfo {
                $crate::init();
                <$ty as $crate::RedactionExtension>::describe()
            }
            fn configure(
                files: ::std::vec::Vec<$crate::redaction::RuleFile>,
            ) -> ::std::vec::Vec<$crate::redaction::RuleError> {
                $crate::init();
                <$ty as $crate::RedactionExtension>::configure(files)
            }
            fn redact(input: $crate::redaction::RedactInput) -> $crate::redaction::RedactOutput {
                $crate::init();
                <$ty as $crate::RedactionExtension>::redact(input)
            }
            fn redact_lines(
                lines: ::std::vec::Vec<::std::string::String>,
                known_paths: ::std::vec::Vec<::std::string::String>,
            ) -> ::std::vec::Vec<$crate::redaction::RedactOutput> {
                $crate::init();
                <$ty as $crate::RedactionExtension>::redact_lines(lines, known_paths)
            }
            fn test_vectors() -> ::std::vec::Vec<$crate::redaction::Vector> {
                $crate::init();
                <$ty as $crate::RedactionExtension>::test_vectors()
            }
        }
        $crate::redaction::export_redactor!(__CodexMasterRedactionExport);
    };
}

/// Exports a [`DoctorExtension`] as the component's `checks` world.
#[macro_export]
macro_rules! register_doctor {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __CodexMasterDoctorExport;
        impl $crate::doctor::Guest for __CodexMasterDoctorExport {
            fn describe() -> $crate::doctor::ExtInfo {
                $crate::init();
                <$ty as $crate::DoctorExtension>::describe()
            }
            fn evaluate(facts: ::std::vec::Vec<$crate::doctor::Fact>) -> ::std::vec::Vec<$crate::doctor::Check> {
                $crate::init();
                <$ty as $crate::DoctorExtension>::evaluate(facts)
            }
            fn test_vectors() -> ::std::vec::Vec<$crate::doctor::Vector> {
                $crate::init();
                <$ty as $crate::DoctorExtension>::test_vectors()
            }
        }
        $crate::doctor::export_checks!(__CodexMasterDoctorExport);
    };
}

/// Exports a [`PromptsExtension`] as the component's `templates` world.
#[macro_export]
macro_rules! register_prompts {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __CodexMasterPromptsExport;
        impl $crate::prompts::Guest for __CodexMasterPromptsExport {
            fn describe() -> $crate::prompts::ExtInfo {
                $crate::init();
                <$ty as $crate::PromptsExtension>::describe()
            }
            fn render_assignment(
                input: $crate::prompts::Assignment,
            ) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                $crate::init();
                <$ty as $crate::PromptsExtension>::render_assignment(input)
            }
            fn render_report_request(
                input: $crate::prompts::ReportRequest,
            ) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                $crate::init();
                <$ty as $crate::PromptsExtension>::render_report_request(input)
            }
            fn render_continue(
                input: $crate::prompts::ContinueRequest,
            ) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                $crate::init();
                <$ty as $crate::PromptsExtension>::render_continue(input)
            }
            fn test_vectors() -> ::std::vec::Vec<$crate::prompts::Vector> {
                $crate::init();
                <$ty as $crate::PromptsExtension>::test_vectors()
            }
        }
        $crate::prompts::export_templates!(__CodexMasterPromptsExport);
    };
}
