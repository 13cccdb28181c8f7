//! The repository a git tool works on, and the commit-ready checks: `git diff --check`, and for
//! a Python project the seed's `compileall` and `unittest` (isolated, bounded, with a private
//! bytecode cache). Returns the raw outputs; `tools/` redacts and bounds them.

use std::path::{Path, PathBuf};

use super::blocking;
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::fsafe::paths::{expand_home, resolve_lenient};
use crate::git::{self, COMMAND_TIMEOUT};
use crate::process::Output;

/// The repository's top level: from `repo` (relative to the server's directory), else the
/// agent's recorded working directory, else the server's.
/// The repository to work on, canonical.
pub async fn repo_for(repo: &Option<String>, agent: Option<&str>) -> Result<PathBuf, Fault> {
    let server_cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let start = match repo.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(r) => resolve_lenient(&server_cwd, &expand_home(r.trim())),
        None => match agent {
            Some(a) => {
                let a = a.to_owned();
                blocking(move || crate::session::scope::recorded_cwd(&a)).await.unwrap_or(server_cwd)
            }
            None => server_cwd,
        },
    };
    if !start.is_dir() {
        return Err(Fault::new(ErrorCode::NotAGitRepository, "the repository directory does not exist"));
    }
    git::toplevel(&git::At::Local, &start)
        .await
        .ok_or_else(|| Fault::new(ErrorCode::NotAGitRepository, "the directory is not inside a git repository"))
}

/// The repository an agent works in, where its files are: on its host, the top level of its
/// recorded working directory (or of `repo`, an absolute path there), asked there; here, as
/// [`repo_for`].
pub async fn agent_repo(ctx: &super::Ctx, repo: &Option<String>, agent: &str) -> Result<(git::At, PathBuf), Fault> {
    let at = ctx.registry.get(agent).map(|s| super::scope::at_of(&s.place)).unwrap_or_default();
    if matches!(at, git::At::Local) {
        return Ok((git::At::Local, repo_for(repo, Some(agent)).await?));
    }
    let start = super::scope::base_on_host(agent, repo.as_deref(), "repo").await?;
    let top = git::toplevel(&at, &start).await.ok_or_else(|| {
        Fault::new(ErrorCode::NotAGitRepository, "the directory is not inside a git repository on the agent's host")
    })?;
    Ok((at, top))
}

/// Whether the repository looks like a Python project (the seed's checks apply).
fn is_python_project(repo: &Path) -> bool {
    let has_python = |dir: PathBuf| {
        std::fs::read_dir(dir).is_ok_and(|mut it| {
            it.any(|e| {
                e.is_ok_and(|e| {
                    e.path().extension().is_some_and(|x| x == "py") || e.path().join("__init__.py").is_file()
                })
            })
        })
    };
    ["pyproject.toml", "setup.py", "setup.cfg"].iter().any(|f| repo.join(f).is_file())
        || ["src", "tests"].iter().any(|d| has_python(repo.join(d)))
}

/// One commit-ready check.
pub struct Check {
    pub name: &'static str,
    pub outcome: CheckOutcome,
}

pub enum CheckOutcome {
    Ran(Output),
    /// Why it did not run (a word).
    Skipped(&'static str),
}

/// Runs the checks that apply to `repo`.
pub async fn commit_ready(repo: &Path, run_tests: bool) -> Vec<Check> {
    let check = |name, outcome| Check { name, outcome };
    let mut checks = vec![check(
        "diff_check",
        CheckOutcome::Ran(
            git::git(&git::At::Local, repo, &["diff", "--no-ext-diff", "--check"], COMMAND_TIMEOUT).await,
        ),
    )];
    if !is_python_project(repo) {
        checks.push(check("compileall", CheckOutcome::Skipped("not_a_python_project")));
        checks.push(check("unittest", CheckOutcome::Skipped("not_a_python_project")));
        return checks;
    }
    let pythonpath = match std::env::var("PYTHONPATH") {
        Ok(p) if !p.is_empty() => format!("src:{p}"),
        _ => "src".to_owned(),
    };
    // A fresh bytecode cache per check: nothing written into the repository, and no stale
    // .pyc (same size, same second) can hide an edit.
    let cache = std::env::temp_dir().join(format!("codex-master-pycache-{}", crate::fsafe::nonce()));
    let prefix = format!("pycache_prefix={}", cache.to_string_lossy());
    let env = [("PYTHONPATH", pythonpath), ("PYTHONPYCACHEPREFIX", cache.to_string_lossy().into_owned())];
    let dirs: Vec<String> =
        ["src", "tests"].iter().filter(|d| repo.join(d).is_dir()).map(|d| (*d).to_owned()).collect();
    // Isolated (-I): no PYTHON* variables, no user site, and neither the repository nor `src`
    // on the path, so a repository's `compileall.py` or `sitecustomize.py` never runs.
    // Compiling reads the files; it runs none of them.
    let mut compile = vec!["-I".to_owned(), "-X".into(), prefix.clone(), "-m".into(), "compileall".into(), "-q".into()];
    compile.extend(dirs);
    checks
        .push(check("compileall", CheckOutcome::Ran(git::run("python3", &compile, repo, &[], COMMAND_TIMEOUT).await)));
    let unittest = if !run_tests {
        CheckOutcome::Skipped("run_tests_false")
    } else if repo.join("tests").is_dir() {
        // The tests are the repository's code, run on purpose: with `src` on the path, but not
        // the working directory (-P) or the user's site (-s).
        let args: Vec<String> = ["-P", "-s", "-X", &prefix, "-m", "unittest", "discover", "-s", "tests", "-v"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        CheckOutcome::Ran(git::run("python3", &args, repo, &env, COMMAND_TIMEOUT).await)
    } else {
        CheckOutcome::Skipped("no_tests_directory")
    };
    checks.push(check("unittest", unittest));
    let _ = std::fs::remove_dir_all(&cache);
    checks
}
