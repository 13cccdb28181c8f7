//! The wasmtime host for the four extension points: limit classifier, redaction rules, doctor
//! checks and assignment prompt templates.
//!
//! Each kind resolves to one component: a `[extensions.<kind>]` override in `config.toml`, else
//! one installed with `ext install` (`extensions.toml`), else the default embedded in this
//! binary. Overrides are pinned by sha256. A component may import nothing but
//! `codex-master:common/log`: anything else (WASI included) is refused at load.
//!
//! Calls run under an epoch deadline and a memory cap. A trap, or an output beyond its bounds,
//! throws the instance away (the next call re-instantiates from the `InstancePre`); after
//! [`MAX_CONSECUTIVE_FAILURES`] failures in a row the kind is disabled, then retried after a
//! back-off that doubles up to [`MAX_BACKOFF`]. Callers apply the fail-closed policies: withheld
//! text for redaction, state `unknown` for the classifier, `error` for a doctor check, a refused
//! assignment for a template.
//!
//! Components are bound by the WIT version they were built against ([`wit`], [`worlds`]); the
//! rest of the host sees only the host-owned [`types`].

pub mod cache;
pub mod config;
pub mod engine;
pub mod types;
pub mod wit;
pub mod worlds;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{Engine, Store};

use crate::fsafe::Dir;
use engine::StoreState;
pub use worlds::World;

/// Failures in a row after which a kind is disabled until its back-off passes.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// The first back-off after a kind is disabled; it doubles on each failed retry.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(30);
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Largest component file accepted.
pub const MAX_COMPONENT_BYTES: u64 = 16 * 1024 * 1024;

/// An extension point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Limits,
    Redaction,
    Doctor,
    Prompts,
}

pub const KINDS: [Kind; 4] = [Kind::Limits, Kind::Redaction, Kind::Doctor, Kind::Prompts];

/// What the host knows about one kind: the one table of extension kinds.
struct KindInfo {
    name: &'static str,
    /// The world without its version (`codex-master:limits/classifier`).
    world: &'static str,
    /// The newest version this host binds.
    latest: &'static str,
    /// The export that tells this world apart from the others.
    marker_export: &'static str,
    /// The default component, embedded at build time from `extensions/dist/`: (file, bytes).
    embedded: (&'static str, &'static [u8]),
}

/// A default component from `extensions/dist/`: its file name and its bytes.
macro_rules! dist {
    ($file:literal) => {
        ($file, include_bytes!(concat!("../../../extensions/dist/", $file)))
    };
}

// `EMBEDDED_SHA256`: each embedded component's sha256, from build.rs.
include!(concat!(env!("OUT_DIR"), "/embedded_digests.rs"));

/// Every embedded default component: (file, bytes).
fn embedded_components() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    KIND_TABLE.iter().map(|k| k.embedded).chain(CLASSIFIER_TABLE.iter().map(|(_, e)| *e))
}

/// The sha256 (hex) of an embedded component, from the build (looked up by its file).
fn embedded_sha256((file, bytes): (&str, &[u8])) -> String {
    EMBEDDED_SHA256
        .iter()
        .find(|(f, _)| *f == file)
        .map_or_else(|| cache::sha256_hex(bytes), |(_, digest)| (*digest).to_owned())
}

/// The sha256 (hex) of a component's bytes. An embedded default's comes from the build: its
/// bytes are compared with the embedded copy (a memcmp, far cheaper than hashing).
pub fn sha256_of(bytes: &[u8]) -> String {
    embedded_components().find(|(_, known)| *known == bytes).map_or_else(|| cache::sha256_hex(bytes), embedded_sha256)
}

/// In the order of [`Kind`]'s variants.
const KIND_TABLE: [KindInfo; 4] = [
    KindInfo {
        name: "limits",
        world: "codex-master:limits/classifier",
        latest: "1.1.0",
        marker_export: "classify",
        embedded: dist!("limits.wasm"),
    },
    KindInfo {
        name: "redaction",
        world: "codex-master:redaction/redactor",
        latest: "1.1.0",
        marker_export: "redact",
        embedded: dist!("redaction.wasm"),
    },
    KindInfo {
        name: "doctor",
        world: "codex-master:doctor/checks",
        latest: "1.0.0",
        marker_export: "evaluate",
        embedded: dist!("doctor.wasm"),
    },
    KindInfo {
        name: "prompts",
        world: "codex-master:prompts/templates",
        latest: "1.1.0",
        marker_export: "render-assignment",
        embedded: dist!("prompts.wasm"),
    },
];

/// The default classifiers besides Codex's (which is the `limits` kind's component): one per
/// worker CLI, all of the limits world.
const CLASSIFIER_TABLE: [(&str, (&str, &[u8])); 2] =
    [("claude", dist!("limits-claude.wasm")), ("gemini", dist!("limits-gemini.wasm"))];

/// Which classifier reads an agent's screen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Classifier {
    /// A default by name: `codex` (the limits kind's component, which `ext install limits` and
    /// `[extensions] limits` replace), `claude`, `gemini`.
    Named(&'static str),
    /// A team's component for one profile, pinned by sha256.
    Pinned { path: PathBuf, sha256: String },
}

impl Classifier {
    /// The default classifier names.
    pub fn names() -> impl Iterator<Item = &'static str> {
        std::iter::once("codex").chain(CLASSIFIER_TABLE.iter().map(|(n, _)| *n))
    }

    pub fn named(name: &str) -> Option<Classifier> {
        Classifier::names().find(|n| *n == name).map(Classifier::Named)
    }

    /// How status and `ext list` name it, without a path: the default's name (`codex`,
    /// `claude`, `gemini`) or `pinned`, and the sha256 of the component that runs.
    pub fn identity(&self, settings: &config::Settings) -> (&'static str, String) {
        match self {
            // A default's digest is looked up, never computed: status names it for every agent.
            Classifier::Named("codex") => {
                ("codex", settings.pin(Kind::Limits).unwrap_or_else(|| embedded_sha256(Kind::Limits.info().embedded)))
            }
            Classifier::Named(name) => {
                let embedded = CLASSIFIER_TABLE.iter().find(|(n, _)| n == name).map_or(("", &[][..]), |(_, e)| *e);
                (name, embedded_sha256(embedded))
            }
            Classifier::Pinned { sha256, .. } => ("pinned", sha256.trim().to_ascii_lowercase()),
        }
    }

    /// The component's bytes: embedded, or the pinned file (no-follow, bounded, digest checked).
    pub fn component(&self) -> Result<(Vec<u8>, Source), ExtError> {
        match self {
            Classifier::Named(name) => CLASSIFIER_TABLE
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, (_, bytes))| (bytes.to_vec(), Source::Embedded))
                .ok_or_else(|| ExtError::Config(format!("no default classifier named {name}"))),
            Classifier::Pinned { path, sha256 } => {
                let bytes = crate::config::read_file_nofollow(path, MAX_COMPONENT_BYTES)
                    .map_err(|e| ExtError::Config(format!("the classifier file could not be read: {e}")))?
                    .ok_or_else(|| ExtError::Config("the classifier file does not exist".into()))?;
                if !cache::sha256_hex(&bytes).eq_ignore_ascii_case(sha256.trim()) {
                    return Err(ExtError::Config("the classifier file does not match its sha256 pin".into()));
                }
                Ok((bytes, Source::Config))
            }
        }
    }
}

impl Kind {
    fn info(self) -> &'static KindInfo {
        &KIND_TABLE[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.name() == name)
    }

    /// The world of this kind at `version` (`codex-master:limits/classifier@1.0.0`).
    pub fn world_at(self, version: &str) -> String {
        format!("{}@{version}", self.info().world)
    }

    /// The newest world of this kind.
    pub fn world(self) -> String {
        self.world_at(self.info().latest)
    }

    /// The export that tells this world apart from the others.
    fn marker_export(self) -> &'static str {
        self.info().marker_export
    }

    /// The default component, embedded at build time from `extensions/dist/`.
    pub fn embedded(self) -> &'static [u8] {
        self.info().embedded.1
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtError {
    #[error("the {0} extension could not be loaded: {1}")]
    Load(Kind, String),
    #[error("the {kind} extension imports `{import}`, which its world does not provide (only codex-master:common/log is available; no WASI)")]
    ForbiddenImport { kind: Kind, import: String },
    #[error("the component is not a codex-master {0} extension: it lacks the `{1}` export of that world, or its types differ")]
    WrongWorld(Kind, &'static str),
    #[error("the {0} extension implements API version {1}; this host supports 1.x")]
    Version(Kind, String),
    #[error("the {0} extension exceeded its {1} ms deadline and was stopped")]
    Timeout(Kind, u64),
    #[error("the {0} extension exceeded its memory limit and was stopped")]
    Memory(Kind),
    #[error("the {0} extension trapped")]
    Trap(Kind),
    #[error("the {0} extension returned output beyond its bounds")]
    OutputTooLarge(Kind),
    #[error("the {0} extension is disabled for this process after repeated failures")]
    Disabled(Kind),
    #[error("the {0} extension refused: {1}")]
    Refused(Kind, String),
    #[error("extension configuration: {0}")]
    Config(String),
}

impl ExtError {
    /// A stable code for structured errors.
    pub fn code(&self) -> crate::codes::ErrorCode {
        match self {
            ExtError::Load(..) => crate::codes::ErrorCode::ExtensionLoadFailed,
            ExtError::ForbiddenImport { .. } => crate::codes::ErrorCode::ExtensionForbiddenImport,
            ExtError::WrongWorld(..) => crate::codes::ErrorCode::ExtensionWrongWorld,
            ExtError::Version(..) => crate::codes::ErrorCode::ExtensionUnsupportedVersion,
            ExtError::Timeout(..) => crate::codes::ErrorCode::ExtensionTimeout,
            ExtError::Memory(..) => crate::codes::ErrorCode::ExtensionMemoryLimit,
            ExtError::Trap(..) => crate::codes::ErrorCode::ExtensionTrap,
            ExtError::OutputTooLarge(..) => crate::codes::ErrorCode::ExtensionOutputTooLarge,
            ExtError::Disabled(..) => crate::codes::ErrorCode::ExtensionDisabled,
            ExtError::Refused(..) => crate::codes::ErrorCode::ExtensionRefused,
            ExtError::Config(..) => crate::codes::ErrorCode::ExtensionConfigError,
        }
    }
}

/// Where a kind's component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Embedded,
    Installed,
    Config,
    /// `ext verify PATH` / tests: a file given directly.
    File,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Embedded => "embedded",
            Source::Installed => "installed",
            Source::Config => "config",
            Source::File => "file",
        }
    }
}

/// Per-call limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { deadline: Duration::from_millis(250), memory_bytes: 32 * 1024 * 1024 }
    }
}

/// What is known about a loaded component.
#[derive(Debug, Clone)]
pub struct Info {
    pub kind: Kind,
    pub source: Source,
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub sha256: String,
    pub from_cache: bool,
}

/// A loaded component of one world, with its live instance (if any).
pub struct Slot<W: World> {
    engine: Engine,
    pre: W::Pre,
    live: Option<(Store<StoreState>, W)>,
    failures: u32,
    /// Disabled until then; a call after it is a retry.
    disabled_until: Option<Instant>,
    backoff: Duration,
    first_backoff: Duration,
    limits: Limits,
    pub info: Info,
}

/// Whether a kind is usable right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Disabled after repeated failures; retried once the back-off has passed.
    Disabled {
        retry_in: Duration,
    },
}

/// Refuses any import other than the world's own: the log interface and the type-only
/// interfaces of the common package and of the kind's package (at a version the host binds).
fn check_imports(engine: &Engine, component: &Component, kind: Kind) -> Result<(), ExtError> {
    let own_types = format!("codex-master:{}/types@", kind.name());
    for (name, _) in component.component_type().imports(engine) {
        let own = name
            .strip_prefix(own_types.as_str())
            .and_then(wit::Version::parse)
            .is_some_and(|v| worlds::supported(kind, v));
        if name != wit::LOG_IMPORT && name != wit::COMMON_TYPES_IMPORT && !own {
            return Err(ExtError::ForbiddenImport { kind, import: crate::text::keep_head_chars(name, 120) });
        }
    }
    Ok(())
}

/// Which kind a component implements, by its exports.
pub fn detect_kind(engine: &Engine, component: &Component) -> Option<Kind> {
    let exports: Vec<String> = component.component_type().exports(engine).map(|(n, _)| n.to_owned()).collect();
    KINDS.into_iter().find(|k| exports.iter().any(|e| e == k.marker_export()))
}

impl<W: World> Slot<W> {
    /// Compiles (or loads from cache), checks imports, exports and version, instantiates and
    /// asks `describe()`.
    pub fn load(bytes: &[u8], source: Source, cache_dir: Option<&Dir>, limits: Limits) -> Result<Slot<W>, ExtError> {
        let kind = W::KIND;
        let engine = engine::engine().map_err(|e| ExtError::Load(kind, e))?.clone();
        let sha256 = sha256_of(bytes);
        let (component, origin) =
            cache::load(&engine, cache_dir, bytes, &sha256).map_err(|e| ExtError::Load(kind, short_error(&e)))?;
        if detect_kind(&engine, &component) != Some(kind) {
            return Err(ExtError::WrongWorld(kind, kind.marker_export()));
        }
        let version = worlds::component_version(&engine, &component, kind)
            .ok_or(ExtError::WrongWorld(kind, kind.marker_export()))?;
        if !worlds::supported(kind, version) {
            return Err(ExtError::Version(kind, version.to_string()));
        }
        check_imports(&engine, &component, kind)?;
        // A component whose exports have our names but not our world's types is of another world.
        let pre = W::pre(&engine, &component, version).map_err(|e| {
            tracing::debug!(extension = %kind, error = %short_error(&e), "component does not match its world");
            ExtError::WrongWorld(kind, kind.marker_export())
        })?;
        let info = Info {
            kind,
            source,
            name: String::new(),
            version: String::new(),
            api_version: String::new(),
            sha256,
            from_cache: origin == cache::Origin::Cache,
        };
        let mut slot = Slot {
            engine,
            pre,
            live: None,
            failures: 0,
            disabled_until: None,
            backoff: FIRST_BACKOFF,
            first_backoff: FIRST_BACKOFF,
            limits,
            info,
        };
        let described = slot.call(|w: &W, store| w.describe(store))?;
        slot.succeeded();
        let api = wit::Version::parse(&described.api_version);
        if api.is_none_or(|v| !worlds::supported(kind, v)) {
            return Err(ExtError::Version(kind, crate::text::keep_head_chars(&described.api_version, 40)));
        }
        slot.info.name = crate::text::keep_head_chars(&described.name, 80);
        slot.info.version = crate::text::keep_head_chars(&described.version, 40);
        slot.info.api_version = described.api_version;
        Ok(slot)
    }

    /// A different first back-off (tests; the default is [`FIRST_BACKOFF`]).
    pub fn with_backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self.first_backoff = first;
        self
    }

    /// Applies the settings for this kind; the next call gets a fresh instance with them.
    pub fn apply_settings(&mut self, settings: &config::Settings) {
        W::with_settings(&mut self.pre, settings);
        self.live = None;
    }

    pub fn health(&self) -> Health {
        match self.disabled_until {
            Some(until) => Health::Disabled { retry_in: until.saturating_duration_since(Instant::now()) },
            None => Health::Ok,
        }
    }

    /// Runs one call in the sandbox. A failure throws the instance away. A call only counts as
    /// a success once its output passed its checks: the caller says so with [`Slot::succeeded`]
    /// or [`Slot::reject_output`].
    pub fn call<R>(
        &mut self,
        f: impl FnOnce(&W, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, ExtError> {
        let kind = W::KIND;
        if let Some(until) = self.disabled_until {
            if Instant::now() < until {
                return Err(ExtError::Disabled(kind));
            }
        }
        if self.live.is_none() {
            let mut store = engine::new_store(&self.engine, kind.name(), self.limits.memory_bytes);
            engine::arm(&mut store, self.limits.deadline);
            match W::instantiate(&self.pre, &mut store) {
                Ok(w) => self.live = Some((store, w)),
                Err(e) => return Err(self.failed(&e, store.data().memory_refused())),
            }
        }
        let (store, w) = self.live.as_mut().expect("instance present");
        engine::arm(store, self.limits.deadline);
        match f(w, store) {
            Ok(r) => Ok(r),
            Err(e) => {
                let memory = store.data().memory_refused();
                Err(self.failed(&e, memory))
            }
        }
    }

    /// The last call's output passed its checks: the failure run is over.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        if self.disabled_until.take().is_some() {
            self.backoff = self.first_backoff;
            tracing::info!(extension = %W::KIND, "re-enabled after a successful retry");
        }
    }

    fn count_failure(&mut self) {
        self.live = None;
        self.failures += 1;
        if self.disabled_until.is_some() {
            // A failed retry: wait longer next time.
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            self.disabled_until = Some(Instant::now() + self.backoff);
        } else if self.failures >= MAX_CONSECUTIVE_FAILURES {
            self.disabled_until = Some(Instant::now() + self.backoff);
            tracing::warn!(extension = %W::KIND, retry_in_seconds = self.backoff.as_secs(), "disabled after repeated failures");
        }
    }

    /// Records a failed call; `memory_refused` is the store's record that the call asked for
    /// more memory than its cap.
    fn failed(&mut self, e: &wasmtime::Error, memory_refused: bool) -> ExtError {
        self.count_failure();
        let kind = W::KIND;
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => ExtError::Timeout(kind, self.limits.deadline.as_millis() as u64),
            Some(wasmtime::Trap::StackOverflow) => ExtError::Trap(kind),
            _ if memory_refused => ExtError::Memory(kind),
            _ => ExtError::Trap(kind),
        }
    }

    /// Records an output that broke its bounds as a failure.
    pub fn reject_output(&mut self) -> ExtError {
        self.count_failure();
        ExtError::OutputTooLarge(W::KIND)
    }
}

fn short_error(e: &wasmtime::Error) -> String {
    crate::text::keep_head_chars(&crate::text::safe_error_text(&format!("{e:#}")), 400)
}

type Cell<W> = Mutex<Option<Result<Slot<W>, ExtError>>>;

/// The process's active extensions, loaded on first use.
pub struct Extensions {
    settings: config::Settings,
    limits: Cell<worlds::Limits>,
    redaction: Cell<worlds::Redaction>,
    doctor: Cell<worlds::Doctor>,
    prompts: Cell<worlds::Prompts>,
    /// The other classifiers, loaded on first use, one slot each.
    classifiers: Mutex<std::collections::BTreeMap<Classifier, Arc<Cell<worlds::Limits>>>>,
}

/// The cache dir in the private state tree (none when the state tree is unusable).
fn cache_dir() -> Option<Dir> {
    let state = crate::state::State::open().ok()?;
    state.root.subdir_private("ext-cache").ok()
}

fn with_slot<W: World, R>(
    cell: &Cell<W>,
    settings: &config::Settings,
    f: impl FnOnce(&mut Slot<W>) -> Result<R, ExtError>,
) -> Result<R, ExtError> {
    with_slot_from(cell, settings, || settings.component(W::KIND), f)
}

/// [`with_slot`] for a component that `load` names (a classifier of one profile).
fn with_slot_from<W: World, R>(
    cell: &Cell<W>,
    settings: &config::Settings,
    load: impl FnOnce() -> Result<(Vec<u8>, Source), ExtError>,
    f: impl FnOnce(&mut Slot<W>) -> Result<R, ExtError>,
) -> Result<R, ExtError> {
    let mut guard = cell.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        let loaded = load()
            .and_then(|(bytes, source)| Slot::<W>::load(&bytes, source, cache_dir().as_ref(), settings.limits))
            .map(|mut slot| {
                slot.apply_settings(settings);
                slot
            });
        if let Err(e) = &loaded {
            tracing::warn!(extension = %W::KIND, error = %e, "extension unavailable");
        }
        *guard = Some(loaded);
    }
    match guard.as_mut().expect("set above") {
        Ok(slot) => f(slot),
        Err(e) => Err(e.clone()),
    }
}

/// One classification, its output held to the bounds.
fn checked_classify(
    slot: &mut Slot<worlds::Limits>,
    input: &types::limits::ClassifyInput,
) -> Result<types::limits::ClassifyOutput, ExtError> {
    let out = slot.call(|w, s| w.classify(s, input))?;
    let too_long = |o: &Option<String>| o.as_ref().is_some_and(|m| m.chars().count() > bounds::MAX_MODEL_CHARS);
    if out.rule.chars().count() > bounds::MAX_RULE_CHARS || too_long(&out.model) || too_long(&out.model_bucket) {
        return Err(slot.reject_output());
    }
    slot.succeeded();
    Ok(out)
}

/// Bounds on extension outputs.
/// A one-line prompt as the template rendered it: within the report-request bound and without a
/// newline, else the output counts as the component's failure; a template's refusal is passed on.
fn one_line_prompt(slot: &mut Slot<worlds::Prompts>, rendered: Result<String, String>) -> Result<String, ExtError> {
    match rendered {
        Ok(text) if text.chars().count() <= bounds::MAX_REPORT_REQUEST_CHARS && !text.contains('\n') => {
            slot.succeeded();
            Ok(text)
        }
        Ok(_) => Err(slot.reject_output()),
        Err(msg) => {
            slot.succeeded();
            Err(ExtError::Refused(Kind::Prompts, crate::text::keep_head_chars(&msg, 300)))
        }
    }
}

/// The continue prompt when the prompts component predates `render-continue` (1.0.0).
pub const FALLBACK_CONTINUE: &str = "The usage limit has reset. Please continue where you were interrupted.";

pub mod bounds {
    /// A redacted text may grow (masks are longer than short secrets), but not without limit.
    pub fn redaction_ok(input_len: usize, output_len: usize) -> bool {
        output_len <= input_len.saturating_mul(2).saturating_add(4096)
    }
    pub const MAX_RULE_CHARS: usize = 64;
    pub const MAX_MODEL_CHARS: usize = 128;
    pub const MAX_CHECKS: usize = 512;
    pub const MAX_CHECK_MESSAGE_CHARS: usize = 500;
    pub const MAX_PROMPT_CHARS: usize = 12_000;
    pub const MAX_REPORT_REQUEST_CHARS: usize = 1_000;
}

use types::{doctor, limits, prompts, redaction};

impl Extensions {
    pub fn new(settings: config::Settings) -> Extensions {
        Extensions {
            settings,
            limits: Mutex::new(None),
            redaction: Mutex::new(None),
            doctor: Mutex::new(None),
            prompts: Mutex::new(None),
            classifiers: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub fn settings(&self) -> &config::Settings {
        &self.settings
    }

    /// Classifies agent text with Codex's classifier (the limits kind's component). On failure
    /// the caller reports state `unknown`.
    pub fn classify(&self, input: &limits::ClassifyInput) -> Result<limits::ClassifyOutput, ExtError> {
        with_slot(&self.limits, &self.settings, |slot| checked_classify(slot, input))
    }

    /// Classifies agent text with the classifier an agent's profile or config names.
    pub fn classify_with(
        &self,
        classifier: &Classifier,
        input: &limits::ClassifyInput,
    ) -> Result<limits::ClassifyOutput, ExtError> {
        if *classifier == Classifier::Named("codex") {
            return self.classify(input);
        }
        if let Some(e) = &self.settings.error {
            return Err(ExtError::Config(e.clone()));
        }
        let cell = {
            let mut all = self.classifiers.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(all.entry(classifier.clone()).or_insert_with(|| Arc::new(Mutex::new(None))))
        };
        with_slot_from(&cell, &self.settings, || classifier.component(), |slot| checked_classify(slot, input))
    }

    /// Loads the slots of `classifiers` now (each once), so that a status pass can do it while
    /// tmux answers; a failure is left for the classification to report.
    pub fn preload_classifiers(&self, classifiers: std::collections::BTreeSet<Classifier>) {
        for classifier in classifiers {
            if classifier == Classifier::Named("codex") {
                let _ = with_slot(&self.limits, &self.settings, |_| Ok(()));
                continue;
            }
            if self.settings.error.is_some() {
                continue;
            }
            let cell = {
                let mut all = self.classifiers.lock().unwrap_or_else(|p| p.into_inner());
                Arc::clone(all.entry(classifier.clone()).or_insert_with(|| Arc::new(Mutex::new(None))))
            };
            let _ = with_slot_from(&cell, &self.settings, || classifier.component(), |_| Ok(()));
        }
    }

    /// Redacts text. On failure the caller withholds the text.
    pub fn redact(&self, text: &str, known_paths: &[String]) -> Result<redaction::RedactOutput, ExtError> {
        with_slot(&self.redaction, &self.settings, |slot| {
            let out = slot.call(|w, s| w.redact(s, text, known_paths))?;
            if !bounds::redaction_ok(text.len(), out.text.len()) {
                return Err(slot.reject_output());
            }
            slot.succeeded();
            Ok(out)
        })
    }

    /// Redacts each line on its own.
    pub fn redact_lines(
        &self,
        lines: &[String],
        known_paths: &[String],
    ) -> Result<Vec<redaction::RedactOutput>, ExtError> {
        with_slot(&self.redaction, &self.settings, |slot| {
            let out = slot.call(|w, s| w.redact_lines(s, lines, known_paths))?;
            let ok = out.len() == lines.len()
                && out.iter().zip(lines).all(|(o, l)| bounds::redaction_ok(l.len(), o.text.len()));
            if !ok {
                return Err(slot.reject_output());
            }
            slot.succeeded();
            Ok(out)
        })
    }

    /// Evaluates doctor facts into checks.
    pub fn evaluate(&self, facts: &[doctor::Fact]) -> Result<Vec<doctor::Check>, ExtError> {
        with_slot(&self.doctor, &self.settings, |slot| {
            let out = slot.call(|w, s| w.evaluate(s, facts))?;
            if out.len() > bounds::MAX_CHECKS
                || out.iter().any(|c| c.message.chars().count() > bounds::MAX_CHECK_MESSAGE_CHARS)
            {
                return Err(slot.reject_output());
            }
            slot.succeeded();
            Ok(out)
        })
    }

    /// Renders an assignment prompt. Any failure refuses the assignment.
    pub fn render_assignment(&self, a: &prompts::Assignment) -> Result<String, ExtError> {
        with_slot(&self.prompts, &self.settings, |slot| {
            let out = slot.call(|w, s| w.render_assignment(s, a))?;
            match out {
                Ok(text) if text.chars().count() <= bounds::MAX_PROMPT_CHARS => {
                    slot.succeeded();
                    Ok(text)
                }
                Ok(_) => Err(slot.reject_output()),
                Err(msg) => {
                    slot.succeeded();
                    Err(ExtError::Refused(Kind::Prompts, crate::text::keep_head_chars(&msg, 300)))
                }
            }
        })
    }

    /// Renders the one-line report request.
    pub fn render_report_request(&self, r: &prompts::ReportRequest) -> Result<String, ExtError> {
        with_slot(&self.prompts, &self.settings, |slot| {
            let rendered = slot.call(|w, s| w.render_report_request(s, r))?;
            one_line_prompt(slot, rendered)
        })
    }

    /// Renders the continue prompt sent after a limit's reset: one line, bounded like a report
    /// request. A 1.0.0 component has none; the host's own English line stands in.
    pub fn render_continue(&self, r: &prompts::ContinueRequest) -> Result<String, ExtError> {
        with_slot(&self.prompts, &self.settings, |slot| {
            let rendered = slot.call(|w, s| w.render_continue(s, r))?;
            one_line_prompt(slot, rendered.unwrap_or_else(|| Ok(FALLBACK_CONTINUE.to_owned())))
        })
    }

    /// The state of one kind (loading it if needed): info and health, or the error that keeps
    /// it off.
    pub fn status(&self, kind: Kind) -> Result<(Info, Health), ExtError> {
        fn get<W: World>(cell: &Cell<W>, settings: &config::Settings) -> Result<(Info, Health), ExtError> {
            with_slot(cell, settings, |slot| Ok((slot.info.clone(), slot.health())))
        }
        match kind {
            Kind::Limits => get(&self.limits, &self.settings),
            Kind::Redaction => get(&self.redaction, &self.settings),
            Kind::Doctor => get(&self.doctor, &self.settings),
            Kind::Prompts => get(&self.prompts, &self.settings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_component_digest_from_the_build_is_its_bytes_digest() {
        let embedded: Vec<(&str, &[u8])> = embedded_components().collect();
        assert_eq!(embedded.len(), EMBEDDED_SHA256.len());
        for (file, bytes) in embedded {
            // A copy (as `component()` hands out) is recognised by its bytes.
            let copy: Vec<u8> = bytes.to_vec();
            assert_eq!(sha256_of(&copy), cache::sha256_hex(bytes), "{file}");
        }
        // Any other bytes are hashed.
        let mut other = Kind::Limits.embedded().to_vec();
        other[100] ^= 1;
        assert_eq!(sha256_of(&other), cache::sha256_hex(&other));
        assert_ne!(sha256_of(&other), sha256_of(Kind::Limits.embedded()));
        // The defaults' identities name those digests.
        let settings = config::Settings::default();
        for (name, bytes) in [("codex", Kind::Limits.embedded()), ("claude", CLASSIFIER_TABLE[0].1 .1)] {
            let identity = Classifier::named(name).unwrap().identity(&settings);
            assert_eq!(identity, (name, cache::sha256_hex(bytes)));
        }
    }
}
