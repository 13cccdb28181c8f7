//! Repo-scoped git worktrees: every check happens before any file system change or git call.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::{git, repo_relative, At, COMMAND_TIMEOUT};
use crate::fsafe::paths::{expand_home, normalize_lexically, resolve_lenient};
use crate::fsafe::{Dir, EntryKind};
use crate::ssh::SshHost;

/// Where default worktrees go, inside the repository (ignored by its own `.gitignore`).
pub const DEFAULT_CONTAINER: &str = ".codex-master-worktrees";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorktreeError {
    #[error("worktree path must stay inside repo")]
    Escape,
    #[error("worktree path already exists")]
    Exists,
    #[error("worktree parent directories must be real directories")]
    BadParent,
    #[error("base_ref is not a valid revision name")]
    BadRef,
    #[error("base_ref does not name a commit in the repository")]
    UnknownRef,
    #[error("git worktree add failed")]
    Git(String),
    #[error("worktree status path must stay inside repo")]
    StatusEscape,
    #[error("worktree status parent directories must be real directories")]
    StatusBadParent,
    #[error("worktree status path must be a real directory")]
    StatusNotDirectory,
}

/// `path` as a target: `~` expanded, relative to the repository, made absolute, `..` collapsed
/// and existing symlinks resolved.
fn target_of(repo: &Path, path: &str) -> PathBuf {
    resolve_lenient(repo, &expand_home(path.trim()))
}

/// The lexical target (no symlinks resolved), for the no-follow checks.
fn lexical(repo: &Path, path: &str) -> PathBuf {
    let p = expand_home(path.trim());
    normalize_lexically(&if p.is_absolute() { p } else { repo.join(p) })
}

/// Checks a revision name before git sees it: no option look-alikes, no whitespace or
/// control characters, none of git's forbidden sequences.
pub fn valid_ref(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 1000
        && !r.starts_with('-')
        && !r
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
        && !r.contains("..")
        && !r.contains("@{")
        && !r.ends_with('.')
        && !r.ends_with(".lock")
}

/// Walks from the repository to `parent` without following symlinks, creating missing
/// directories; refuses a symlinked or non-directory component.
fn ensure_parent(repo: &Path, parent: &Path) -> Result<(), WorktreeError> {
    let rel = parent.strip_prefix(repo).map_err(|_| WorktreeError::Escape)?;
    let mut dir = Dir::walk(repo, false).map_err(|_| WorktreeError::BadParent)?;
    for c in rel.components() {
        let name = c.as_os_str().to_str().ok_or(WorktreeError::BadParent)?;
        dir = match dir.entry_kind(name).map_err(|_| WorktreeError::BadParent)? {
            Some(EntryKind::Dir) | None => dir.subdir_create(name).map_err(|_| WorktreeError::BadParent)?,
            Some(_) => return Err(WorktreeError::BadParent),
        };
    }
    Ok(())
}

/// The path a worktree is asked for: given, or a new one in the default container.
fn given_path(agent: &str, path: Option<&str>) -> (String, bool) {
    match path.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => (p.to_owned(), false),
        None => (format!("{DEFAULT_CONTAINER}/agent-{agent}-{}", crate::timefmt::now_id()), true),
    }
}

/// Checks a base revision: well formed, and a commit of the repository.
async fn check_base(at: &At, repo: &Path, base_ref: Option<&str>) -> Result<(), WorktreeError> {
    let Some(r) = base_ref else { return Ok(()) };
    if !valid_ref(r) {
        return Err(WorktreeError::BadRef);
    }
    let spec = format!("{r}^{{commit}}");
    let verify = git(at, repo, &["rev-parse", "-q", "--verify", "--end-of-options", &spec], super::GIT_TIMEOUT).await;
    if !verify.ok() {
        return Err(WorktreeError::UnknownRef);
    }
    Ok(())
}

/// `git worktree add` of `target` (at `base_ref`).
async fn add(at: &At, repo: &Path, target: &Path, base_ref: Option<&str>) -> Result<(), WorktreeError> {
    let target_text = target.to_string_lossy().into_owned();
    let mut args = vec!["worktree", "add", "--", target_text.as_str()];
    if let Some(r) = base_ref {
        args.push(r);
    }
    let out = git(at, repo, &args, COMMAND_TIMEOUT).await;
    if !out.ok() {
        return Err(WorktreeError::Git(out.combined()));
    }
    Ok(())
}

/// Creates a worktree for `agent` at `at` and returns its repo-relative path.
pub async fn create(
    at: &At,
    repo: &Path,
    agent: &str,
    path: Option<&str>,
    base_ref: Option<&str>,
) -> Result<String, WorktreeError> {
    match at {
        At::Local => create_here(repo, agent, path, base_ref).await,
        At::Ssh(host) => create_on_host(host, repo, agent, path, base_ref).await,
    }
}

/// On a host: the same rules, checked there by one fixed script whose paths are quoted
/// arguments. A path with a symlink anywhere below the repository is refused outright (the
/// host's file system cannot be walked without following links from here).
async fn create_on_host(
    host: &Arc<SshHost>,
    repo: &Path,
    agent: &str,
    path: Option<&str>,
    base_ref: Option<&str>,
) -> Result<String, WorktreeError> {
    let (given, default) = given_path(agent, path);
    if given.starts_with('~') {
        return Err(WorktreeError::Escape);
    }
    let lex = lexical(repo, &given);
    if !lex.starts_with(repo) || lex == repo || lex.starts_with(repo.join(".git")) {
        return Err(WorktreeError::Escape);
    }
    let resolved = crate::ssh::resolve_paths(host, &repo.to_string_lossy(), &[given], super::GIT_TIMEOUT)
        .await
        .map_err(|e| WorktreeError::Git(e.to_string()))?;
    if resolved.first().cloned().flatten().as_deref() != Some(lex.as_path()) {
        return Err(WorktreeError::Escape);
    }
    check_base(&At::Ssh(Arc::clone(host)), repo, base_ref).await?;
    let rel = lex.strip_prefix(repo).map_err(|_| WorktreeError::Escape)?;
    let mut parents: Vec<PathBuf> =
        rel.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).map(|a| repo.join(a)).collect();
    parents.reverse();
    let ignore = default.then(|| repo.join(DEFAULT_CONTAINER).join(".gitignore"));
    let prepared = prepare_on_host(host, &lex, &parents, ignore.as_deref()).await?;
    if prepared != 0 {
        return Err(if prepared == 10 { WorktreeError::Exists } else { WorktreeError::BadParent });
    }
    add(&At::Ssh(Arc::clone(host)), repo, &lex, base_ref).await?;
    repo_relative(repo, &lex).ok_or(WorktreeError::Escape)
}

/// The host-side checks and parents of a new worktree, in one round trip: 10 when the target
/// exists, 11 when a parent is a symlink or not a directory, 0 when ready.
async fn prepare_on_host(
    host: &SshHost,
    target: &Path,
    parents: &[PathBuf],
    ignore: Option<&Path>,
) -> Result<i32, WorktreeError> {
    const SCRIPT: &str = "t=$1; g=$2; shift 2; if [ -e \"$t\" ] || [ -L \"$t\" ]; then exit 10; fi; \
        for d do if [ -L \"$d\" ]; then exit 11; elif [ -d \"$d\" ]; then :; elif [ -e \"$d\" ]; then exit 11; else mkdir -- \"$d\" || exit 11; fi; done; \
        if [ -n \"$g\" ] && [ ! -e \"$g\" ] && [ ! -L \"$g\" ]; then (set -C; printf '%s\\n%s\\n' '# codex-master worktrees are not part of the repository' '*' > \"$g\") 2>/dev/null; fi; exit 0";
    let mut words: Vec<String> = vec!["sh".into(), "-c".into(), SCRIPT.into(), "sh".into()];
    words.push(target.to_string_lossy().into_owned());
    words.push(ignore.map(|g| g.to_string_lossy().into_owned()).unwrap_or_default());
    words.extend(parents.iter().map(|p| p.to_string_lossy().into_owned()));
    let out = crate::ssh::run_line(host, &crate::ssh::shell_join(&words), None, super::GIT_TIMEOUT)
        .await
        .map_err(|e| WorktreeError::Git(e.to_string()))?;
    Ok(out.code)
}

/// On this machine: every step walks without following symlinks.
async fn create_here(
    repo: &Path,
    agent: &str,
    path: Option<&str>,
    base_ref: Option<&str>,
) -> Result<String, WorktreeError> {
    let (given, default) = given_path(agent, path);
    // Lexically and with symlinks resolved, the target must be strictly inside the repo.
    let lex = lexical(repo, &given);
    let target = target_of(repo, &given);
    for t in [&lex, &target] {
        if !t.starts_with(repo) || t == repo || t.starts_with(repo.join(".git")) {
            return Err(WorktreeError::Escape);
        }
    }
    if lex.symlink_metadata().is_ok() || target.symlink_metadata().is_ok() {
        return Err(WorktreeError::Exists);
    }
    check_base(&At::Local, repo, base_ref).await?;
    let parent = lex.parent().ok_or(WorktreeError::Escape)?.to_path_buf();
    ensure_parent(repo, &parent)?;
    // Re-check after creating the parents: nothing may have moved the target out.
    let target = target_of(repo, &given);
    if !target.starts_with(repo) || target != lex || target.symlink_metadata().is_ok() {
        return Err(if target.starts_with(repo) { WorktreeError::Exists } else { WorktreeError::Escape });
    }
    if default {
        if let Ok(container) = Dir::walk(&repo.join(DEFAULT_CONTAINER), false) {
            if let Ok(mut f) = container.create_exclusive(".gitignore") {
                use std::io::Write;
                let _ = f.write_all(b"# codex-master worktrees are not part of the repository\n*\n");
            }
        }
    }
    add(&At::Local, repo, &target, base_ref).await?;
    match target.symlink_metadata() {
        Ok(m) if m.is_dir() => {}
        _ => return Err(WorktreeError::Git("the worktree directory is missing after git worktree add".into())),
    }
    repo_relative(repo, &target).ok_or(WorktreeError::Escape)
}

/// Checks a `worktree_status` target: inside the repo, real parent directories (none
/// created), and itself a real directory. Returns the absolute target.
pub fn status_target(repo: &Path, path: Option<&str>) -> Result<PathBuf, WorktreeError> {
    let Some(given) = path.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(repo.to_path_buf()) };
    let lex = lexical(repo, given);
    let target = target_of(repo, given);
    if !lex.starts_with(repo) || !target.starts_with(repo) {
        return Err(WorktreeError::StatusEscape);
    }
    let rel = lex.strip_prefix(repo).map_err(|_| WorktreeError::StatusEscape)?;
    let mut dir = Dir::walk(repo, false).map_err(|_| WorktreeError::StatusBadParent)?;
    let comps: Vec<&str> = rel.components().filter_map(|c| c.as_os_str().to_str()).collect();
    for (i, name) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        match dir.entry_kind(name) {
            Ok(Some(EntryKind::Dir)) => {}
            _ if last => return Err(WorktreeError::StatusNotDirectory),
            _ => return Err(WorktreeError::StatusBadParent),
        }
        dir = match dir.subdir_existing(name) {
            Ok(Some(d)) => d,
            _ if last => return Err(WorktreeError::StatusNotDirectory),
            _ => return Err(WorktreeError::StatusBadParent),
        };
    }
    Ok(lex)
}
