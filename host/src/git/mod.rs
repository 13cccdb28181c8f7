//! The git questions the assignment tools ask, through the one process runner
//! ([`crate::process`]: deadline, no stdin, bounded output). Git runs with settings that keep a
//! repository's own configuration (and the user's) from running programs in this server's
//! process tree: no hooks, no fsmonitor, no pager, no prompts, no ssh, credential or signing
//! programs, no submodule recursion, no auto gc; and every filter, diff and merge driver the
//! configuration defines (`filter.*.clean|smudge|process`, `diff.*.command|textconv`,
//! `merge.*.driver`) is overridden with an empty command. Reading the configuration to find
//! those drivers runs nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::process::Cmd;
use crate::ssh::{shell_join, shell_quote, SshHost};

pub mod worktree;

/// The seed's bound for one external command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Quick git questions (rev-parse, status of one repo).
pub const GIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Files a baseline or an audit looks at.
pub const MAX_PATHS: usize = 20_000;

pub use crate::process::Output;

/// Where git runs: this machine, or a host through the one ssh transport ([`crate::ssh`]) with
/// the same arguments and environment, every word quoted for the host's shell.
#[derive(Debug, Clone, Default)]
pub enum At {
    #[default]
    Local,
    Ssh(Arc<SshHost>),
}

/// Runs `program args…` in `cwd` with extra environment, bounded by `timeout`.
pub async fn run(program: &str, args: &[String], cwd: &Path, env: &[(&str, String)], timeout: Duration) -> Output {
    run_with(program, args, cwd, env, &[], timeout).await
}

/// [`run`], with `remove` taken out of the inherited environment.
pub async fn run_with(
    program: &str,
    args: &[String],
    cwd: &Path,
    env: &[(&str, String)],
    remove: &[&str],
    timeout: Duration,
) -> Output {
    crate::process::run(&Cmd::new(program, args, timeout).cwd(cwd).env(env).remove(remove)).await
}

/// Settings that stop git from starting programs, whatever the configuration says.
const FIXED_OVERRIDES: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.sshCommand=",
    "core.askPass=",
    "core.alternateRefsCommand=",
    "credential.helper=",
    "diff.external=",
    "gpg.program=",
    "gpg.ssh.program=",
    "gpg.x509.program=",
    "log.showSignature=false",
    "submodule.recurse=false",
    "diff.ignoreSubmodules=all",
    "status.submoduleSummary=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.ext.allow=never",
];

/// Environment variables that would name a program for git to run.
const PROGRAM_ENV: &[&str] = &[
    "GIT_EXTERNAL_DIFF",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PROXY_COMMAND",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// Driver keys (`filter.<name>.clean`, …) whose value is a command.
fn is_driver_key(key: &str) -> bool {
    let families: [(&str, &[&str]); 3] =
        [("filter.", &["clean", "smudge", "process"]), ("diff.", &["command", "textconv"]), ("merge.", &["driver"])];
    families.iter().any(|(prefix, leaves)| {
        key.starts_with(prefix)
            && key.rsplit_once('.').is_some_and(|(head, leaf)| head.len() > prefix.len() && leaves.contains(&leaf))
    })
}

/// The `-c` arguments for one git call: the fixed overrides, plus an empty command for every
/// driver the configuration defines.
async fn hardening_args(at: &At, dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = FIXED_OVERRIDES.iter().flat_map(|kv| ["-c".to_owned(), (*kv).to_owned()]).collect();
    let listing = run_git_raw(
        at,
        dir,
        &args,
        &[
            "config",
            "--name-only",
            "--get-regexp",
            r"^(filter|diff|merge)\..*\.(clean|smudge|process|command|textconv|driver)$",
        ],
        GIT_TIMEOUT,
    )
    .await;
    let keys = String::from_utf8_lossy(&listing.stdout).into_owned();
    for key in keys.lines().map(str::trim).filter(|k| is_driver_key(k)) {
        args.push("-c".to_owned());
        args.push(format!("{key}="));
        if let Some(name) = key.strip_prefix("filter.").and_then(|k| k.rsplit_once('.')).map(|(n, _)| n) {
            args.push("-c".to_owned());
            args.push(format!("filter.{name}.required=false"));
        }
    }
    args
}

async fn run_git_raw(at: &At, dir: &Path, pre: &[String], args: &[&str], timeout: Duration) -> Output {
    let mut full: Vec<String> = vec!["--no-pager".to_owned()];
    full.extend(pre.iter().cloned());
    full.extend(args.iter().map(|s| (*s).to_owned()));
    let env = [
        ("GIT_TERMINAL_PROMPT", "0".to_owned()),
        ("GIT_OPTIONAL_LOCKS", "0".to_owned()),
        ("LC_ALL", "C".to_owned()),
        ("GIT_PAGER", "cat".to_owned()),
    ];
    match at {
        At::Local => run_with("git", &full, dir, &env, PROGRAM_ENV, timeout).await,
        At::Ssh(host) => {
            // `env -u` takes the program variables out of the remote login's environment too.
            let mut words: Vec<String> = vec!["env".to_owned()];
            words.extend(PROGRAM_ENV.iter().flat_map(|v| ["-u".to_owned(), (*v).to_owned()]));
            words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
            words.push("git".to_owned());
            words.extend(full);
            let line = format!("cd -- {} && exec {}", shell_quote(&dir.to_string_lossy()), shell_join(&words));
            on_host(host, &line, timeout).await
        }
    }
}

/// One remote line; a transport failure reads as a failed command (exit 255, ssh's own), its
/// reason on stderr.
async fn on_host(host: &SshHost, line: &str, timeout: Duration) -> Output {
    crate::ssh::run_line(host, line, None, timeout).await.unwrap_or_else(|e| Output {
        code: 255,
        stdout: Vec::new(),
        stderr: e.to_string().into_bytes(),
        timed_out: false,
        spawn_error: None,
    })
}

/// Runs git with the hardening settings in `dir`.
pub async fn git(at: &At, dir: &Path, args: &[&str], timeout: Duration) -> Output {
    let pre = hardening_args(at, dir).await;
    run_git_raw(at, dir, &pre, args, timeout).await
}

/// The top of the git work tree containing `dir` (canonical), if any.
pub async fn toplevel(at: &At, dir: &Path) -> Option<PathBuf> {
    let out = git(at, dir, &["rev-parse", "--show-toplevel"], GIT_TIMEOUT).await;
    if !out.ok() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let top = text.trim_end_matches('\n');
    match at {
        At::Local => std::fs::canonicalize(top).ok(),
        // git prints the host's real path of the work tree.
        At::Ssh(_) => Some(PathBuf::from(top)).filter(|p| p.is_absolute()),
    }
}

/// `HEAD`'s commit, if the repository has one.
pub async fn head(at: &At, repo: &Path) -> Option<String> {
    let out = git(at, repo, &["rev-parse", "-q", "--verify", "HEAD^{commit}"], GIT_TIMEOUT).await;
    out.ok().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

fn split_z(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .take(MAX_PATHS)
        .collect()
}

/// Paths that differ from `HEAD` (staged or not) plus untracked files: repo-relative.
/// `None` when git failed.
pub async fn dirty_paths(at: &At, repo: &Path) -> Option<Vec<String>> {
    let out =
        git(at, repo, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], GIT_TIMEOUT).await;
    if !out.ok() {
        return None;
    }
    // Each record is "XY path"; with --no-renames there is no second path.
    Some(split_z(&out.stdout).into_iter().filter_map(|rec| rec.get(3..).map(str::to_owned)).collect())
}

/// What a path is, for [`content_ids`]: `file` (then its blob id is its identity), or the
/// identity itself (`symlink:TARGET`, `other`, `deleted`).
fn kind_here(repo: &Path, p: &str) -> String {
    match repo.join(p).symlink_metadata() {
        Ok(m) if m.is_file() => "file".to_owned(),
        Ok(m) if m.file_type().is_symlink() => std::fs::read_link(repo.join(p))
            .map(|t| format!("symlink:{}", t.display()))
            .unwrap_or_else(|_| "symlink".into()),
        Ok(_) => "other".to_owned(),
        Err(_) => "deleted".to_owned(),
    }
}

/// The host's answer to [`kind_here`] for each of `paths`, in one round trip per chunk (the
/// paths are quoted arguments of a fixed script; a link's target is printed, never followed).
async fn kinds_on_host(host: &SshHost, repo: &Path, paths: &[&String]) -> Vec<String> {
    const SCRIPT: &str = "for p do if [ -L \"$p\" ]; then printf 'symlink:%s\\0' \"$(readlink -- \"$p\")\"; elif [ -f \"$p\" ]; then printf 'file\\0'; elif [ -e \"$p\" ]; then printf 'other\\0'; else printf 'deleted\\0'; fi; done";
    let mut kinds = Vec::new();
    for chunk in paths.chunks(500) {
        let mut words = vec!["sh", "-c", SCRIPT, "sh"];
        words.extend(chunk.iter().map(|p| p.as_str()));
        let line = format!("cd -- {} && {}", shell_quote(&repo.to_string_lossy()), shell_join(&words));
        let out = on_host(host, &line, GIT_TIMEOUT).await;
        let mut answers = out.stdout.split(|b| *b == 0).map(|k| String::from_utf8_lossy(k).into_owned());
        kinds.extend(chunk.iter().map(|_| answers.next().filter(|_| out.ok()).unwrap_or_else(|| "unknown".into())));
    }
    kinds
}

/// Blob ids of the current contents of `paths` (`deleted` for a missing file).
pub async fn content_ids(at: &At, repo: &Path, paths: &[String]) -> BTreeMap<String, String> {
    let kinds: Vec<String> = match at {
        At::Local => paths.iter().map(|p| kind_here(repo, p)).collect(),
        At::Ssh(host) => kinds_on_host(host, repo, &paths.iter().collect::<Vec<_>>()).await,
    };
    let mut ids = BTreeMap::new();
    let mut present = Vec::new();
    for (p, kind) in paths.iter().zip(kinds) {
        // Directories (nested repos), symlinks and deleted files: their kind is their identity.
        if kind == "file" {
            present.push(p);
        } else {
            ids.insert(p.clone(), kind);
        }
    }
    for chunk in present.chunks(500) {
        let mut args = vec!["hash-object", "--no-filters", "--"];
        args.extend(chunk.iter().map(|p| p.as_str()));
        let out = git(at, repo, &args, GIT_TIMEOUT).await;
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        for (i, p) in chunk.iter().enumerate() {
            ids.insert((*p).clone(), lines.get(i).cloned().filter(|_| out.ok()).unwrap_or_else(|| "unknown".into()));
        }
    }
    ids
}

/// Files changed since `base` (a commit), in the work tree or in commits made since, plus
/// untracked files. Without a base, every tracked and untracked file.
pub async fn changed_since(at: &At, repo: &Path, base: Option<&str>) -> Option<Vec<String>> {
    let mut paths: Vec<String> = match base {
        Some(b) => {
            let out =
                git(at, repo, &["diff", "--no-ext-diff", "--no-renames", "--name-only", "-z", b, "--"], GIT_TIMEOUT)
                    .await;
            if !out.ok() {
                return None;
            }
            split_z(&out.stdout)
        }
        None => {
            let out = git(at, repo, &["ls-files", "-z"], GIT_TIMEOUT).await;
            if !out.ok() {
                return None;
            }
            split_z(&out.stdout)
        }
    };
    let untracked = git(at, repo, &["ls-files", "--others", "--exclude-standard", "-z"], GIT_TIMEOUT).await;
    if !untracked.ok() {
        return None;
    }
    paths.extend(split_z(&untracked.stdout));
    paths.sort();
    paths.dedup();
    Some(paths)
}

/// `path` (absolute, canonical where it exists) relative to `repo`, with `/` separators;
/// `None` outside the repository.
pub fn repo_relative(repo: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(repo).ok()?;
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"))
}

/// Whether the repo-relative `file` lies at or under one of `roots` (repo-relative; `""` is
/// the whole repository). Compared per component, case-sensitively.
pub fn under_any(file: &str, roots: &[String]) -> bool {
    roots
        .iter()
        .any(|r| r.is_empty() || file == r || file.strip_prefix(r.as_str()).is_some_and(|rest| rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_keys_are_recognised() {
        assert!(
            is_driver_key("filter.lfs.process")
                && is_driver_key("filter.a.b.clean")
                && is_driver_key("diff.pdf.textconv")
                && is_driver_key("merge.ours.driver")
        );
        assert!(
            !is_driver_key("filter.clean")
                && !is_driver_key("diff.external")
                && !is_driver_key("core.pager")
                && !is_driver_key("merge.ours.name")
        );
    }

    #[test]
    fn under_any_compares_whole_components() {
        let roots = vec!["src".to_owned(), "docs/a.md".to_owned()];
        assert!(under_any("src/x.rs", &roots) && under_any("src", &roots) && under_any("docs/a.md", &roots));
        assert!(!under_any("srcx/y", &roots) && !under_any("docs/a.md.bak", &roots) && !under_any("Src/x.rs", &roots));
        assert!(under_any("anything", &[String::new()]));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_process_is_killed_at_its_deadline() {
        let started = std::time::Instant::now();
        let out = run("sleep", &["5".to_owned()], Path::new("/"), &[], Duration::from_millis(200)).await;
        assert!(out.timed_out && out.code == 124, "{out:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let out = run("no-such-program-xyz", &[], Path::new("/"), &[], Duration::from_secs(1)).await;
        assert_eq!(out.code, 127);
    }
}
