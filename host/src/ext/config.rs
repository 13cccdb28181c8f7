//! Extension configuration.
//!
//! `$XDG_CONFIG_HOME/codex-master-mcp/config.toml` (or `CODEX_MASTER_MCP_CONFIG_DIR`) is the
//! user's file; `extensions.toml` beside it is written by `ext install` / `ext remove`. Both
//! use the same table:
//!
//! ```toml
//! [extensions]
//! deadline_ms = 250      # per call
//! memory_mib = 32        # per instance
//!
//! [extensions.redaction]
//! path = "extensions/redaction.wasm"   # relative to the config dir, or absolute
//! sha256 = "…"                         # required with path: the file must match
//! rules = ["team-rules.toml"]          # redaction only: extra rule files (gitleaks format)
//!
//! [prompts]
//! locale = "de"                        # or "en"
//! ```
//! An override in `config.toml` wins over an installed one, which wins over the embedded
//! default. Files are read without following symlinks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ExtError, Kind, Limits, Source, MAX_COMPONENT_BYTES};

pub use crate::config::{ConfigFiles, CONFIG_FILE, INSTALLED_FILE};
pub const INSTALLED_DIR: &str = "extensions";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The component; with `sha256`. Absent: the embedded default with this table's settings.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Redaction only: team rule files, relative to the config dir or absolute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Override {
    /// Whether it names a component (and not only settings).
    pub fn has_component(&self) -> bool {
        !self.path.is_empty()
    }
}

/// Largest team rule file, and most files.
pub const MAX_RULE_FILES: usize = 8;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionsTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Override>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Override>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor: Option<Override>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Override>,
}

impl ExtensionsTable {
    pub fn get(&self, kind: Kind) -> Option<&Override> {
        match kind {
            Kind::Limits => self.limits.as_ref(),
            Kind::Redaction => self.redaction.as_ref(),
            Kind::Doctor => self.doctor.as_ref(),
            Kind::Prompts => self.prompts.as_ref(),
        }
    }

    pub fn set(&mut self, kind: Kind, value: Option<Override>) {
        match kind {
            Kind::Limits => self.limits = value,
            Kind::Redaction => self.redaction = value,
            Kind::Doctor => self.doctor = value,
            Kind::Prompts => self.prompts = value,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PromptsTable {
    #[serde(default)]
    pub locale: Option<String>,
}

/// The parts of `config.toml` this module reads (other tables belong to other modules).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub extensions: ExtensionsTable,
    #[serde(default)]
    pub prompts: PromptsTable,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledFile {
    #[serde(default)]
    pub extensions: ExtensionsTable,
}

pub use crate::config::read_file_nofollow;

/// The config dir path (not created); a relative override is treated as no config dir here
/// (the CLI and the server refuse to run with one, see [`crate::config::check_locations`]).
pub fn config_dir() -> Option<PathBuf> {
    crate::config::config_dir().ok().flatten()
}

/// Everything resolved from the config files.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: Option<PathBuf>,
    pub user: ExtensionsTable,
    pub installed: ExtensionsTable,
    pub limits: Limits,
    pub locale: String,
    /// A config file that could not be read or parsed: every override is refused.
    pub error: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dir: None,
            user: ExtensionsTable::default(),
            installed: ExtensionsTable::default(),
            limits: Limits::default(),
            locale: "de".into(),
            error: None,
        }
    }
}

impl Settings {
    pub fn load() -> Settings {
        Settings::from_reading(&ConfigFiles::read())
    }

    /// The settings of one reading; a relative override of the config directory reads none.
    pub fn from_reading(files: &Result<ConfigFiles, crate::config::LocationError>) -> Settings {
        Settings::from_files(files.as_ref().unwrap_or(&ConfigFiles::default()))
    }

    /// The settings of one reading of the config directory.
    pub fn from_files(files: &ConfigFiles) -> Settings {
        let mut s = Settings { dir: files.dir.clone(), ..Settings::default() };
        match &files.config {
            Ok(Some(bytes)) => match std::str::from_utf8(bytes).ok().and_then(|t| {
                toml::from_str::<ConfigFile>(t).map_err(|e| tracing::warn!("config.toml: {}", e.message())).ok()
            }) {
                Some(cfg) => {
                    s.user = cfg.extensions;
                    if let Some(l) = cfg.prompts.locale {
                        s.locale = l;
                    }
                }
                None => s.error = Some("config.toml is not valid TOML for codex-master".into()),
            },
            Ok(None) => {}
            Err(e) => s.error = Some(format!("config.toml could not be read: {e}")),
        }
        match &files.installed {
            Ok(Some(bytes)) => {
                match std::str::from_utf8(bytes).ok().and_then(|t| toml::from_str::<InstalledFile>(t).ok()) {
                    Some(f) => s.installed = f.extensions,
                    None => s.error = Some("extensions.toml is not valid".into()),
                }
            }
            Ok(None) => {}
            Err(e) => s.error = Some(format!("extensions.toml could not be read: {e}")),
        }
        let deadline = s.user.deadline_ms.unwrap_or(250).clamp(10, 10_000);
        let memory = s.user.memory_mib.unwrap_or(32).clamp(4, 1024);
        s.limits = Limits { deadline: Duration::from_millis(deadline), memory_bytes: (memory as usize) * 1024 * 1024 };
        s
    }

    /// Where the component of `kind` comes from.
    pub fn source(&self, kind: Kind) -> Source {
        if self.user.get(kind).is_some_and(Override::has_component) {
            Source::Config
        } else if self.installed.get(kind).is_some_and(Override::has_component) {
            Source::Installed
        } else {
            Source::Embedded
        }
    }

    /// The sha256 pin of the component that replaces the default of `kind`, if one does.
    pub fn pin(&self, kind: Kind) -> Option<String> {
        let over = match self.source(kind) {
            Source::Config => self.user.get(kind),
            Source::Installed => self.installed.get(kind),
            _ => None,
        };
        over.map(|o| o.sha256.trim().to_ascii_lowercase())
    }

    /// The component bytes for `kind`, pin-checked.
    pub fn component(&self, kind: Kind) -> Result<(Vec<u8>, Source), ExtError> {
        if let Some(e) = &self.error {
            // A broken config must not silently fall back to defaults the user replaced.
            return Err(ExtError::Config(e.clone()));
        }
        let source = self.source(kind);
        let over = match source {
            Source::Config => self.user.get(kind),
            Source::Installed => self.installed.get(kind),
            _ => None,
        };
        let Some(over) = over.filter(|o| o.has_component()) else {
            return Ok((kind.embedded().to_vec(), Source::Embedded));
        };
        if over.sha256.trim().is_empty() {
            return Err(ExtError::Config(format!("the {kind} extension needs a sha256 pin next to its path")));
        }
        let path = self.resolve(&over.path).ok_or_else(|| ExtError::Config("no config directory".into()))?;
        let bytes = read_file_nofollow(&path, MAX_COMPONENT_BYTES)
            .map_err(|e| ExtError::Config(format!("the {kind} extension file could not be read: {e}")))?
            .ok_or_else(|| ExtError::Config(format!("the {kind} extension file does not exist")))?;
        let digest = super::cache::sha256_hex(&bytes);
        if !digest.eq_ignore_ascii_case(over.sha256.trim()) {
            return Err(ExtError::Config(format!("the {kind} extension file does not match its sha256 pin")));
        }
        Ok((bytes, source))
    }

    /// A path as config.toml names it: absolute, or relative to the config directory.
    fn resolve(&self, name: &str) -> Option<PathBuf> {
        match (&self.dir, Path::new(name).is_absolute()) {
            (_, true) => Some(PathBuf::from(name)),
            (Some(dir), false) => Some(dir.join(name)),
            (None, false) => None,
        }
    }

    /// Every file these settings were read from or name: config.toml, extensions.toml, the
    /// team's rule files and the components that replace a default (what a running server
    /// watches for changes).
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> =
            self.dir.iter().flat_map(|d| [d.join(CONFIG_FILE), d.join(INSTALLED_FILE)]).collect();
        let rules = self.user.redaction.as_ref().map(|o| o.rules.clone()).unwrap_or_default();
        paths.extend(rules.iter().take(MAX_RULE_FILES).filter_map(|n| self.resolve(n)));
        for kind in super::KINDS {
            for over in [self.user.get(kind), self.installed.get(kind)].into_iter().flatten() {
                if over.has_component() {
                    paths.extend(self.resolve(&over.path));
                }
            }
        }
        paths
    }

    /// The team's redaction rule files (`[extensions.redaction] rules`), read no-follow and
    /// size-capped. A file that cannot be read is reported and left out.
    pub fn rule_files(&self) -> (Vec<super::types::redaction::RuleFile>, Vec<super::types::redaction::RuleError>) {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        let names = self.user.redaction.as_ref().map(|o| o.rules.clone()).unwrap_or_default();
        for name in names.iter().take(MAX_RULE_FILES) {
            let shown = rule_file_name(Path::new(name));
            let error = |message: String| super::types::redaction::RuleError {
                file: shown.clone(),
                rule_id: String::new(),
                message,
            };
            let Some(path) = self.resolve(name) else {
                errors.push(error("a relative rule file needs a config directory".into()));
                continue;
            };
            match read_file_nofollow(&path, codex_master_redaction_engine::MAX_RULE_FILE_BYTES as u64) {
                Ok(Some(bytes)) => match String::from_utf8(bytes) {
                    Ok(text) => files.push(super::types::redaction::RuleFile { name: shown, text }),
                    Err(_) => errors.push(error("the rule file is not UTF-8".into())),
                },
                Ok(None) => errors.push(error("the rule file does not exist".into())),
                Err(e) => errors.push(error(format!("the rule file could not be read: {e}"))),
            }
        }
        if names.len() > MAX_RULE_FILES {
            errors.push(super::types::redaction::RuleError {
                file: String::new(),
                rule_id: String::new(),
                message: format!("at most {MAX_RULE_FILES} rule files are read"),
            });
        }
        (files, errors)
    }
}

/// What `doctor` says about the team's rule files: how many config.toml names, how many of
/// them cannot be used at all, and how many rules in the others are left out or refused (too
/// large or too slow; `ext verify` names each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleHealth {
    pub files: usize,
    pub files_left_out: usize,
    pub rules_refused: usize,
}

impl Settings {
    pub fn rule_health(&self) -> RuleHealth {
        let named = self.user.redaction.as_ref().map_or(0, |o| o.rules.len());
        let (files, file_errors) = self.rule_files();
        let mut refused = 0;
        let mut left_out = file_errors.len();
        for f in &files {
            // Next to our defaults, as the floor loads it: an allowlist may name a default rule.
            let (engine, errors) =
                codex_master_redaction_engine::Engine::with_files(&[(f.name.as_str(), f.text.as_str())]);
            // An error without a rule id leaves the whole file out.
            left_out += usize::from(errors.iter().any(|e| e.rule_id.is_empty()));
            refused += errors.iter().filter(|e| !e.rule_id.is_empty()).count() + engine.check().len();
        }
        RuleHealth { files: named, files_left_out: left_out, rules_refused: refused }
    }
}

/// How a rule file is named in rule errors: its file name only (no directories), as plain text.
pub fn rule_file_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    crate::text::plain_line(&name).chars().take(100).collect()
}
