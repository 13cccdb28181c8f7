//! Write scopes: an agent's recorded working directory and the write paths outside a scope.

use std::path::{Path, PathBuf};

use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::fsafe::paths::{expand_home, resolve_lenient};
use crate::state::State;
use crate::{git, tmux};

pub const MAX_LIST_ITEMS: usize = 50;
pub const MAX_PATH_TEXT: usize = 1000;

fn normalise(base: &Path, item: &str) -> Option<PathBuf> {
    let item = item.trim();
    if item.is_empty() || item.contains("://") {
        return None;
    }
    Some(resolve_lenient(base, &expand_home(item)))
}

/// The scope check proper: the violating write paths (as given).
pub fn violations(base: &Path, scope: &[String], write_paths: &[String]) -> Vec<String> {
    let roots: Vec<Option<PathBuf>> = scope.iter().map(|s| normalise(base, s)).collect();
    let writes: Vec<Option<PathBuf>> = write_paths.iter().map(|w| normalise(base, w)).collect();
    judge(&roots, write_paths, &writes)
}

/// The write paths (as given) whose resolved form lies under no resolved scope root; one that
/// could not be resolved violates.
fn judge(roots: &[Option<PathBuf>], write_paths: &[String], resolved: &[Option<PathBuf>]) -> Vec<String> {
    let roots: Vec<&PathBuf> = roots.iter().flatten().collect();
    write_paths
        .iter()
        .zip(resolved)
        .filter(|(_, p)| p.as_ref().is_none_or(|p| !roots.iter().any(|r| p.starts_with(r))))
        .map(|(w, _)| w.clone())
        .collect()
}

/// Where an agent's files are, for git and path resolution.
pub fn at_of(place: &tmux::Place) -> git::At {
    match place {
        tmux::Place::Local => git::At::Local,
        tmux::Place::Ssh(host) => git::At::Ssh(std::sync::Arc::clone(host)),
    }
}

/// `items` resolved against `base` where the files are: here as [`violations`] does, on a
/// host by its own `realpath` (one round trip). `None` for an item that names no path.
pub async fn resolve_at(at: &git::At, base: &Path, items: &[String]) -> Result<Vec<Option<PathBuf>>, Fault> {
    let git::At::Ssh(host) = at else {
        let (base, items) = (base.to_path_buf(), items.to_vec());
        return super::blocking(move || Ok(items.iter().map(|i| normalise(&base, i)).collect())).await;
    };
    let named: Vec<bool> = items.iter().map(|i| !i.trim().is_empty() && !i.contains("://")).collect();
    let asked: Vec<String> = items.iter().zip(&named).filter(|(_, n)| **n).map(|(i, _)| i.trim().to_owned()).collect();
    let mut answers = crate::ssh::resolve_paths(host, &base.to_string_lossy(), &asked, git::GIT_TIMEOUT)
        .await
        .map_err(|e| Fault::tmux("resolve", None, e.into()))?
        .into_iter();
    Ok(named.iter().map(|n| if *n { answers.next().flatten() } else { None }).collect())
}

/// The scope check where the agent's files are.
pub async fn violations_at(
    at: &git::At,
    base: &Path,
    scope: &[String],
    write_paths: &[String],
) -> Result<Vec<String>, Fault> {
    let mut items = scope.to_vec();
    items.extend_from_slice(write_paths);
    let mut resolved = resolve_at(at, base, &items).await?;
    let writes = resolved.split_off(scope.len());
    Ok(judge(&resolved, write_paths, &writes))
}

/// The working directory `agent` was started in, from its metadata (blocking).
pub fn recorded_cwd(agent: &str) -> Result<PathBuf, Fault> {
    match State::open()?.read_meta(agent)? {
        Some(m) if Path::new(&m.cwd).is_absolute() => Ok(PathBuf::from(m.cwd)),
        _ => Err(Fault::new(
            ErrorCode::AgentNotRunning,
            format!("agent {agent} has not been started, so it has no working directory; start it first"),
        )),
    }
}

/// The scope check of an agent on a host, resolved there: against `cwd` (an absolute path
/// there) or the agent's recorded directory. `None` for an agent on this machine.
pub async fn check_on_host(
    ctx: &super::Ctx,
    agent: &str,
    cwd: Option<&str>,
    scope: &[String],
    write_paths: &[String],
) -> Result<Option<Vec<String>>, Fault> {
    let Some(spec) = ctx.registry.get(agent).filter(|s| !s.place.is_local()) else { return Ok(None) };
    let base = base_on_host(agent, cwd, "cwd").await?;
    Ok(Some(violations_at(&at_of(&spec.place), &base, scope, write_paths).await?))
}

/// The directory a call about an agent on a host starts from: `given` (named `what` in the
/// error; an absolute path there, never expanded here), else the agent's recorded directory.
pub async fn base_on_host(agent: &str, given: Option<&str>, what: &str) -> Result<PathBuf, Fault> {
    match given.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if Path::new(g).is_absolute() => Ok(PathBuf::from(g)),
        Some(_) => Err(Fault::invalid_arguments(format!("{what} must be an absolute path on the agent's host"))),
        None => {
            let a = agent.to_owned();
            super::blocking(move || recorded_cwd(&a)).await
        }
    }
}
