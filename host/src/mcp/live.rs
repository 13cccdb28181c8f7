//! Live configuration: a running server picks up changes to `config.toml`, `extensions.toml`,
//! the team's rule files and every pinned component (extension overrides and agents'
//! classifiers) without a restart.
//!
//! Each message compares a stamp (device, inode, size, mtime and ctime of each of those files:
//! a few `lstat` calls) with the one the current generation was built from. On a change it
//! builds a new generation (registry, extensions, redaction floor, tool catalogue), validates
//! it (the config parses, every rule file and pinned component reads and matches its pin), and
//! swaps it in; calls already running finish on the generation they started with. A change that
//! fails validation keeps the previous generation, and is reported on stderr and by `doctor`
//! until the files change again.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::agents::Registry;
use crate::ext::{config::Settings, Classifier, Extensions, Source, KINDS};
use crate::tools::{Catalogue, Ctx};

/// What a file looked like: (device, inode, size, mtime ns, ctime ns), or absent.
type FileStamp = Option<(u64, u64, u64, i128, i128)>;

/// The watched files and how each looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(Vec<(PathBuf, FileStamp)>);

impl Stamp {
    fn of(paths: Vec<PathBuf>) -> Stamp {
        let stamps = paths
            .into_iter()
            .map(|p| {
                let s = std::fs::symlink_metadata(&p).ok().map(|m| {
                    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
                    (m.dev(), m.ino(), m.size(), ns(m.mtime(), m.mtime_nsec()), ns(m.ctime(), m.ctime_nsec()))
                });
                (p, s)
            })
            .collect();
        Stamp(stamps)
    }

    /// The same files, looked at again.
    fn again(&self) -> Stamp {
        Stamp::of(self.0.iter().map(|(p, _)| p.clone()).collect())
    }
}

/// Everything a call runs with.
pub struct Generation {
    pub ctx: Arc<Ctx>,
    pub catalogue: Arc<Catalogue>,
    stamp: Stamp,
}

/// The files a configuration was read from or names.
fn watched(settings: &Settings, registry: &Registry) -> Vec<PathBuf> {
    let mut paths = settings.watched_paths();
    for agent in registry.agents() {
        if let Classifier::Pinned { path, .. } = &agent.classifier {
            paths.push(path.clone());
        }
    }
    paths
}

impl Generation {
    /// The generation a server starts with (built by the caller, as the CLI builds its own).
    pub fn first(ctx: Arc<Ctx>, catalogue: Arc<Catalogue>) -> Generation {
        let stamp = Stamp::of(watched(ctx.extensions().settings(), &ctx.registry));
        Generation { ctx, catalogue, stamp }
    }

    /// A new generation from the files as they are now, validated. A refusal says why, with
    /// the files the new configuration names (watched until they change).
    fn load(client_id: &str) -> Result<Generation, (String, Vec<PathBuf>)> {
        // One reading: the agents and the settings come from the same config.toml.
        let files = crate::config::ConfigFiles::read();
        let settings = Settings::from_reading(&files);
        let mut named = settings.watched_paths();
        let registry = Registry::from_reading(&files).map_err(|e| (e, named.clone()))?;
        named = watched(&settings, &registry);
        let refuse = |e: String| (e, named.clone());
        if let Some(e) = &settings.error {
            return Err(refuse(e.clone()));
        }
        let (_, rule_errors) = settings.rule_files();
        if let Some(e) = rule_errors.first() {
            return Err(refuse(format!("rule file {}: {}", e.file, e.message)));
        }
        for kind in KINDS {
            if settings.source(kind) != Source::Embedded {
                settings.component(kind).map_err(|e| refuse(e.to_string()))?;
            }
        }
        for agent in registry.agents() {
            if matches!(agent.classifier, Classifier::Pinned { .. }) {
                agent.classifier.component().map_err(|e| refuse(format!("agents.{}: {e}", agent.name)))?;
            }
        }
        let stamp = Stamp::of(named);
        let catalogue = Arc::new(Catalogue::new(&registry));
        let ctx = Ctx::new(client_id.to_owned(), registry, Arc::new(Extensions::new(settings)));
        ctx.keep_for_long_life();
        Ok(Generation { ctx: Arc::new(ctx), catalogue, stamp })
    }
}

/// The current generation; after a refused change, what is watched until it changes again
/// (the current files and those the refused configuration named).
pub struct Live {
    current: Arc<Generation>,
    refused: Option<Stamp>,
}

/// What [`Live::check`] found.
pub enum Change {
    None,
    /// A new generation is in place; `tools_changed` when its tool list differs.
    Applied {
        tools_changed: bool,
    },
    Refused,
}

impl Live {
    pub fn new(first: Generation) -> Live {
        Live { current: Arc::new(first), refused: None }
    }

    pub fn current(&self) -> &Arc<Generation> {
        &self.current
    }

    /// Looks at the watched files; on a change, loads and validates a new generation.
    pub fn check(&mut self) -> Change {
        let watch = self.refused.as_ref().unwrap_or(&self.current.stamp);
        if watch.again() == *watch {
            return Change::None;
        }
        match Generation::load(&self.current.ctx.client_id) {
            Ok(next) => {
                let tools_changed = next.catalogue.listing() != self.current.catalogue.listing();
                tracing::info!("configuration changed: applied");
                crate::config::set_reload_problem(None);
                self.current = Arc::new(next);
                self.refused = None;
                Change::Applied { tools_changed }
            }
            Err((e, named)) => {
                let e = crate::text::redact(&crate::text::safe_error_text(&e)).0;
                tracing::warn!("configuration change not applied; the previous configuration stays: {e}");
                crate::config::set_reload_problem(Some(e));
                let mut paths: Vec<PathBuf> = self.current.stamp.0.iter().map(|(p, _)| p.clone()).collect();
                paths.extend(named);
                paths.sort();
                paths.dedup();
                self.refused = Some(Stamp::of(paths));
                Change::Refused
            }
        }
    }
}
