//! One type per extension kind that hides which WIT version a component was built against.
//!
//! A component's own `types` import names its version (`codex-master:limits/types@1.1.0`); the
//! binding of that version instantiates it, and every call converts to and from the host-owned
//! [`types`](super::types). Adding a version is one more enum variant per changed kind.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use super::engine::StoreState;
use super::types::{self, ExtInfo};
use super::wit::{since_v1_0 as v1_0, since_v1_1 as v1_1, Version};
use super::Kind;

/// One extension world, whatever its version.
pub trait World: Sized + 'static {
    type Pre: Clone + Send + Sync + 'static;
    const KIND: Kind;
    /// The version ranges this host binds, oldest first.
    const VERSIONS: &'static [(Version, Version)];
    /// The pre-instance of `component`, through the binding of `version`.
    fn pre(engine: &Engine, component: &Component, version: Version) -> wasmtime::Result<Self::Pre>;
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self>;
    fn describe(&self, store: &mut Store<StoreState>) -> wasmtime::Result<ExtInfo>;
    /// Takes what the settings give this kind (the redactor: the team's rule files).
    fn with_settings(_pre: &mut Self::Pre, _settings: &super::config::Settings) {}
}

fn info(i: super::wit::common::types::ExtInfo) -> ExtInfo {
    ExtInfo { name: i.name, version: i.version, api_version: i.api_version }
}

/// Links one binding and pre-instantiates the component with it.
macro_rules! pre_with {
    ($engine:expr, $component:expr, $world:ty, $pre:ty) => {{
        let mut linker: Linker<StoreState> = Linker::new($engine);
        <$world>::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
        <$pre>::new(linker.instantiate_pre($component)?)?
    }};
}

fn in_range(ranges: &[(Version, Version)], v: Version) -> Option<usize> {
    ranges.iter().position(|(lo, hi)| *lo <= v && v <= *hi)
}

/// The version a component was built against, from its own `types` import.
pub fn component_version(engine: &Engine, component: &Component, kind: Kind) -> Option<Version> {
    let prefix = format!("codex-master:{}/types@", kind.name());
    component
        .component_type()
        .imports(engine)
        .find_map(|(name, _)| name.strip_prefix(prefix.as_str()).and_then(Version::parse))
}

/// Whether the host binds `version` of `kind`.
pub fn supported(kind: Kind, version: Version) -> bool {
    let ranges = match kind {
        Kind::Limits => Limits::VERSIONS,
        Kind::Redaction => Redaction::VERSIONS,
        Kind::Doctor => Doctor::VERSIONS,
        Kind::Prompts => Prompts::VERSIONS,
    };
    in_range(ranges, version).is_some()
}

/// A kind bound at 1.0.0 and 1.1.0: one enum variant per version, for the world and its
/// pre-instance.
macro_rules! versioned_world {
    ($name:ident, $pre:ident, $kind:expr, $m:ident, $binding:ident, $binding_pre:ident) => {
        pub enum $name {
            V1_0(v1_0::$m::$binding),
            V1_1(v1_1::$m::$binding),
        }

        #[derive(Clone)]
        pub enum $pre {
            V1_0(v1_0::$m::$binding_pre<StoreState>),
            V1_1(v1_1::$m::$binding_pre<StoreState>),
        }

        impl World for $name {
            type Pre = $pre;
            const KIND: Kind = $kind;
            const VERSIONS: &'static [(Version, Version)] =
                &[(v1_0::MIN_VERSION, v1_0::MAX_VERSION), (v1_1::MIN_VERSION, v1_1::MAX_VERSION)];

            fn pre(engine: &Engine, component: &Component, version: Version) -> wasmtime::Result<$pre> {
                Ok(match in_range(Self::VERSIONS, version) {
                    Some(0) => {
                        $pre::V1_0(pre_with!(engine, component, v1_0::$m::$binding, v1_0::$m::$binding_pre<StoreState>))
                    }
                    _ => {
                        $pre::V1_1(pre_with!(engine, component, v1_1::$m::$binding, v1_1::$m::$binding_pre<StoreState>))
                    }
                })
            }

            fn instantiate(pre: &$pre, store: &mut Store<StoreState>) -> wasmtime::Result<$name> {
                Ok(match pre {
                    $pre::V1_0(p) => $name::V1_0(p.instantiate(store)?),
                    $pre::V1_1(p) => $name::V1_1(p.instantiate(store)?),
                })
            }

            fn describe(&self, store: &mut Store<StoreState>) -> wasmtime::Result<ExtInfo> {
                Ok(info(match self {
                    $name::V1_0(w) => w.call_describe(store)?,
                    $name::V1_1(w) => w.call_describe(store)?,
                }))
            }
        }
    };
}

// ---- limits ----

versioned_world!(Limits, LimitsPre, Kind::Limits, limits, Classifier, ClassifierPre);

impl Limits {
    pub fn classify(
        &self,
        store: &mut Store<StoreState>,
        input: &types::limits::ClassifyInput,
    ) -> wasmtime::Result<types::limits::ClassifyOutput> {
        Ok(match self {
            Limits::V1_0(w) => w.call_classify(store, &input.into())?.into(),
            Limits::V1_1(w) => w.call_classify(store, &input.into())?.into(),
        })
    }

    pub fn test_vectors(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Vec<types::limits::Vector>> {
        Ok(match self {
            Limits::V1_0(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
            Limits::V1_1(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
        })
    }
}

// ---- doctor: one version so far ----

/// A kind with a single bound version: a newtype over its binding.
macro_rules! single_version_world {
    ($name:ident, $pre:ident, $kind:expr, $m:ident, $binding:ident, $binding_pre:ident) => {
        pub struct $name(v1_0::$m::$binding);

        #[derive(Clone)]
        pub struct $pre(v1_0::$m::$binding_pre<StoreState>);

        impl World for $name {
            type Pre = $pre;
            const KIND: Kind = $kind;
            const VERSIONS: &'static [(Version, Version)] = &[(v1_0::MIN_VERSION, v1_0::MAX_VERSION)];

            fn pre(engine: &Engine, component: &Component, _version: Version) -> wasmtime::Result<$pre> {
                Ok($pre(pre_with!(engine, component, v1_0::$m::$binding, v1_0::$m::$binding_pre<StoreState>)))
            }

            fn instantiate(pre: &$pre, store: &mut Store<StoreState>) -> wasmtime::Result<$name> {
                Ok($name(pre.0.instantiate(store)?))
            }

            fn describe(&self, store: &mut Store<StoreState>) -> wasmtime::Result<ExtInfo> {
                Ok(info(self.0.call_describe(store)?))
            }
        }
    };
}
single_version_world!(Doctor, DoctorPre, Kind::Doctor, doctor, Checks, ChecksPre);

// ---- prompts ----

versioned_world!(Prompts, PromptsPre, Kind::Prompts, prompts, Templates, TemplatesPre);

// ---- redaction ----

pub enum Redaction {
    V1_0(v1_0::redaction::Redactor),
    V1_1(v1_1::redaction::Redactor),
}

/// A redactor's pre-instance, and the team rule files every new instance is configured with.
#[derive(Clone)]
pub struct RedactionPre {
    binding: RedactionBinding,
    pub rules: std::sync::Arc<Vec<types::redaction::RuleFile>>,
}

#[derive(Clone)]
enum RedactionBinding {
    V1_0(v1_0::redaction::RedactorPre<StoreState>),
    V1_1(v1_1::redaction::RedactorPre<StoreState>),
}

impl World for Redaction {
    type Pre = RedactionPre;
    const KIND: Kind = Kind::Redaction;
    const VERSIONS: &'static [(Version, Version)] =
        &[(v1_0::MIN_VERSION, v1_0::MAX_VERSION), (v1_1::MIN_VERSION, v1_1::MAX_VERSION)];

    fn pre(engine: &Engine, component: &Component, version: Version) -> wasmtime::Result<RedactionPre> {
        let binding = match in_range(Self::VERSIONS, version) {
            Some(0) => RedactionBinding::V1_0(pre_with!(
                engine,
                component,
                v1_0::redaction::Redactor,
                v1_0::redaction::RedactorPre<StoreState>
            )),
            _ => RedactionBinding::V1_1(pre_with!(
                engine,
                component,
                v1_1::redaction::Redactor,
                v1_1::redaction::RedactorPre<StoreState>
            )),
        };
        Ok(RedactionPre { binding, rules: Default::default() })
    }

    /// A new instance is configured with the rule files at once (1.1.0; 1.0.0 takes none).
    fn instantiate(pre: &RedactionPre, store: &mut Store<StoreState>) -> wasmtime::Result<Redaction> {
        Ok(match &pre.binding {
            RedactionBinding::V1_0(p) => Redaction::V1_0(p.instantiate(store)?),
            RedactionBinding::V1_1(p) => {
                let w = p.instantiate(&mut *store)?;
                let files: Vec<v1_1::redaction::RuleFile> = pre.rules.iter().map(Into::into).collect();
                let errors = w.call_configure(&mut *store, &files)?;
                if !errors.is_empty() {
                    tracing::warn!(
                        count = errors.len(),
                        "team redaction rules that could not be used (ext verify names them)"
                    );
                }
                Redaction::V1_1(w)
            }
        })
    }

    fn describe(&self, store: &mut Store<StoreState>) -> wasmtime::Result<ExtInfo> {
        Ok(info(match self {
            Redaction::V1_0(w) => w.call_describe(store)?,
            Redaction::V1_1(w) => w.call_describe(store)?,
        }))
    }

    fn with_settings(pre: &mut RedactionPre, settings: &super::config::Settings) {
        let (files, errors) = settings.rule_files();
        if !errors.is_empty() {
            tracing::warn!(count = errors.len(), "team redaction rule files that could not be read");
        }
        pre.rules = std::sync::Arc::new(files);
    }
}

impl Redaction {
    pub fn redact(
        &self,
        store: &mut Store<StoreState>,
        text: &str,
        known_paths: &[String],
    ) -> wasmtime::Result<types::redaction::RedactOutput> {
        Ok(match self {
            Redaction::V1_0(w) => w
                .call_redact(
                    store,
                    &v1_0::redaction::RedactInput { text: text.to_owned(), known_paths: known_paths.to_vec() },
                )?
                .into(),
            Redaction::V1_1(w) => w
                .call_redact(
                    store,
                    &v1_1::redaction::RedactInput { text: text.to_owned(), known_paths: known_paths.to_vec() },
                )?
                .into(),
        })
    }

    pub fn redact_lines(
        &self,
        store: &mut Store<StoreState>,
        lines: &[String],
        known_paths: &[String],
    ) -> wasmtime::Result<Vec<types::redaction::RedactOutput>> {
        Ok(match self {
            Redaction::V1_0(w) => w.call_redact_lines(store, lines, known_paths)?.into_iter().map(Into::into).collect(),
            Redaction::V1_1(w) => w.call_redact_lines(store, lines, known_paths)?.into_iter().map(Into::into).collect(),
        })
    }

    /// Checks rule files on this instance (1.1.0): the rules that could not be used. A 1.0.0
    /// component takes no rules at all.
    pub fn check_rules(
        &self,
        store: &mut Store<StoreState>,
        files: &[types::redaction::RuleFile],
    ) -> wasmtime::Result<Option<Vec<types::redaction::RuleError>>> {
        Ok(match self {
            Redaction::V1_0(_) => None,
            Redaction::V1_1(w) => {
                let files: Vec<v1_1::redaction::RuleFile> = files.iter().map(Into::into).collect();
                Some(w.call_configure(store, &files)?.into_iter().map(Into::into).collect())
            }
        })
    }

    pub fn test_vectors(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Vec<types::redaction::Vector>> {
        Ok(match self {
            Redaction::V1_0(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
            Redaction::V1_1(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
        })
    }
}

impl Doctor {
    pub fn evaluate(
        &self,
        store: &mut Store<StoreState>,
        facts: &[types::doctor::Fact],
    ) -> wasmtime::Result<Vec<types::doctor::Check>> {
        let facts: Vec<v1_0::doctor::Fact> = facts.iter().map(Into::into).collect();
        Ok(self.0.call_evaluate(store, &facts)?.into_iter().map(Into::into).collect())
    }

    pub fn test_vectors(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Vec<types::doctor::Vector>> {
        Ok(self.0.call_test_vectors(store)?.into_iter().map(Into::into).collect())
    }
}

impl Prompts {
    pub fn render_assignment(
        &self,
        store: &mut Store<StoreState>,
        a: &types::prompts::Assignment,
    ) -> wasmtime::Result<Result<String, String>> {
        match self {
            Prompts::V1_0(w) => w.call_render_assignment(store, &a.into()),
            Prompts::V1_1(w) => w.call_render_assignment(store, &a.into()),
        }
    }

    pub fn render_report_request(
        &self,
        store: &mut Store<StoreState>,
        r: &types::prompts::ReportRequest,
    ) -> wasmtime::Result<Result<String, String>> {
        match self {
            Prompts::V1_0(w) => w.call_render_report_request(store, &r.into()),
            Prompts::V1_1(w) => w.call_render_report_request(store, &r.into()),
        }
    }

    /// The continue prompt; `None` from a 1.0.0 component, which has none.
    pub fn render_continue(
        &self,
        store: &mut Store<StoreState>,
        r: &types::prompts::ContinueRequest,
    ) -> wasmtime::Result<Option<Result<String, String>>> {
        match self {
            Prompts::V1_0(_) => Ok(None),
            Prompts::V1_1(w) => w.call_render_continue(store, &r.into()).map(Some),
        }
    }

    pub fn test_vectors(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Vec<types::prompts::Vector>> {
        Ok(match self {
            Prompts::V1_0(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
            Prompts::V1_1(w) => w.call_test_vectors(store)?.into_iter().map(Into::into).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_table_names_the_newest_bound_version_of_each_world() {
        for kind in crate::ext::KINDS {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            let world = kind.world();
            let (base, version) = world.split_once('@').expect("versioned");
            assert!(base.starts_with("codex-master:") && base.contains(kind.name()), "{world}");
            let v = Version::parse(version).expect("a version");
            assert!(supported(kind, v), "{world} is not bound");
            assert!(!supported(kind, Version(v.0, v.1 + 1, 0)), "{world} is not the newest bound version");
        }
    }
}
