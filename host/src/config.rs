//! Where things live: every location the environment names, read in one place.
//!
//! Our own overrides (`CODEX_MASTER_MCP_STATE_DIR`, `CODEX_MASTER_MCP_CONFIG_DIR`,
//! `CODEX_MASTER_TMUX_SOCKET`) must be absolute: a relative one is an error, never silently
//! ignored (the default agents would take over without a word). The XDG variables follow the
//! XDG rule instead: a relative value is ignored.

use std::path::{Path, PathBuf};

/// A location the environment gets wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("{0} must be an absolute path")]
    Relative(&'static str),
    #[error("private state location is not configured: set CODEX_MASTER_MCP_STATE_DIR, XDG_STATE_HOME or HOME to an absolute path")]
    NoStateLocation,
}

/// How a variable is looked up (the process environment, or a test's map).
type Lookup<'a> = &'a dyn Fn(&str) -> Option<std::ffi::OsString>;

fn process_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}

/// An override of ours: `None` when unset or empty, an error when relative.
fn override_path(env: Lookup<'_>, name: &'static str) -> Result<Option<PathBuf>, LocationError> {
    match env(name) {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(v);
            if p.is_absolute() {
                Ok(Some(p))
            } else {
                Err(LocationError::Relative(name))
            }
        }
        _ => Ok(None),
    }
}

/// A variable that names a directory, XDG-style: relative or empty values are ignored.
pub fn absolute_env(name: &str) -> Option<PathBuf> {
    xdg(&process_env, name)
}

fn xdg(env: Lookup<'_>, name: &str) -> Option<PathBuf> {
    env(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

fn state_dir_in(env: Lookup<'_>) -> Result<PathBuf, LocationError> {
    if let Some(p) = override_path(env, "CODEX_MASTER_MCP_STATE_DIR")? {
        return Ok(p);
    }
    // The seed's variable, so a seed user's override keeps working.
    if let Some(p) = override_path(env, "CODEX_MASTER_MCP_STATE")? {
        return Ok(p);
    }
    if let Some(p) = xdg(env, "XDG_STATE_HOME") {
        return Ok(p.join("codex-master-mcp"));
    }
    xdg(env, "HOME").map(|h| h.join(".local/state/codex-master-mcp")).ok_or(LocationError::NoStateLocation)
}

fn config_dir_in(env: Lookup<'_>) -> Result<Option<PathBuf>, LocationError> {
    if let Some(p) = override_path(env, "CODEX_MASTER_MCP_CONFIG_DIR")? {
        return Ok(Some(p));
    }
    Ok(xdg(env, "XDG_CONFIG_HOME")
        .map(|p| p.join("codex-master-mcp"))
        .or_else(|| xdg(env, "HOME").map(|p| p.join(".config/codex-master-mcp"))))
}

fn check_in(env: Lookup<'_>) -> Result<(), LocationError> {
    state_dir_in(env).map(drop)?;
    config_dir_in(env).map(drop)?;
    override_path(env, "CODEX_MASTER_TMUX_SOCKET").map(drop)
}

/// The state root (never created here).
pub fn state_dir() -> Result<PathBuf, LocationError> {
    state_dir_in(&process_env)
}

/// The config dir (not created); `Ok(None)` when nothing names one.
pub fn config_dir() -> Result<Option<PathBuf>, LocationError> {
    config_dir_in(&process_env)
}

/// Whether `path` is a regular file (symlinks followed) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first executable `name` on `PATH` (as a shell would find it; the path is not resolved).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

/// The systemd user unit directory (`$XDG_CONFIG_HOME/systemd/user`, else
/// `~/.config/systemd/user`); not created.
pub fn systemd_user_dir() -> Option<PathBuf> {
    let env: Lookup<'_> = &process_env;
    xdg(env, "XDG_CONFIG_HOME").or_else(|| xdg(env, "HOME").map(|h| h.join(".config"))).map(|c| c.join("systemd/user"))
}

/// An explicit tmux server socket, if configured.
pub fn tmux_socket() -> Result<Option<PathBuf>, LocationError> {
    override_path(&process_env, "CODEX_MASTER_TMUX_SOCKET")
}

/// Every location override at once: the first error, if any. Checked before anything runs.
pub fn check_locations() -> Result<(), LocationError> {
    check_in(&process_env)
}

/// The team's configuration file (agents, hosts, admission, extensions, prompts).
pub const CONFIG_FILE: &str = "config.toml";
/// The extensions `ext install` pinned.
pub const INSTALLED_FILE: &str = "extensions.toml";
/// The most of a config file that is read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// One reading of the config directory: both files through one no-follow walk. The agents and
/// the extension settings of a process (or of a server's new generation) come from the same
/// bytes, and a cold call walks the directory once instead of once per file.
#[derive(Debug, Clone)]
pub struct ConfigFiles {
    /// The directory read; `None` when nothing names one.
    pub dir: Option<PathBuf>,
    /// `config.toml`: `Ok(None)` when it (or the directory) does not exist.
    pub config: Result<Option<Vec<u8>>, String>,
    /// `extensions.toml`, likewise.
    pub installed: Result<Option<Vec<u8>>, String>,
}

impl Default for ConfigFiles {
    /// No directory, so no files.
    fn default() -> Self {
        ConfigFiles { dir: None, config: Ok(None), installed: Ok(None) }
    }
}

impl ConfigFiles {
    /// Reads both files as they are now. Only a relative override of the directory fails.
    pub fn read() -> Result<ConfigFiles, LocationError> {
        ConfigFiles::read_in(&process_env)
    }

    fn read_in(env: Lookup<'_>) -> Result<ConfigFiles, LocationError> {
        use crate::fsafe::{Dir, FsError};
        let Some(dir) = config_dir_in(env)? else { return Ok(ConfigFiles::default()) };
        let walked = match Dir::walk(&crate::fsafe::paths::normalize_lexically(&dir), false) {
            Ok(d) => Ok(Some(d)),
            Err(FsError::Io(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
        let read = |name: &str| match &walked {
            Ok(Some(d)) => d.read_bounded(name, MAX_CONFIG_BYTES).map_err(|e| e.to_string()),
            Ok(None) => Ok(None),
            Err(e) => Err(e.clone()),
        };
        Ok(ConfigFiles { config: read(CONFIG_FILE), installed: read(INSTALLED_FILE), dir: Some(dir) })
    }
}

/// Reads a file by absolute path: every component opened no-follow (below a trusted home),
/// bounded size. `Ok(None)` when it (or its directory) does not exist.
pub fn read_file_nofollow(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    use crate::fsafe::{Dir, FsError};
    let path = crate::fsafe::paths::normalize_lexically(path);
    let parent = path.parent().ok_or("the path has no parent directory")?;
    let name = path.file_name().and_then(|n| n.to_str()).ok_or("the path has no file name")?;
    let dir = match Dir::walk(parent, false) {
        Ok(d) => d,
        Err(FsError::Io(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    dir.read_bounded(name, max).map_err(|e| e.to_string())
}

/// Why the last configuration change a running server saw was not applied (it kept the
/// previous configuration); `None` once a change applies. `doctor` reports it.
static RELOAD_PROBLEM: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

pub fn set_reload_problem(problem: Option<String>) {
    *RELOAD_PROBLEM.lock().unwrap_or_else(|p| p.into_inner()) = problem;
}

pub fn reload_problem() -> Option<String> {
    RELOAD_PROBLEM.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn relative_overrides_are_errors_and_relative_xdg_is_ignored() {
        let e = env(&[("CODEX_MASTER_MCP_STATE_DIR", "relative/state"), ("HOME", "/home/u")]);
        assert_eq!(state_dir_in(&e), Err(LocationError::Relative("CODEX_MASTER_MCP_STATE_DIR")));
        let e = env(&[("CODEX_MASTER_MCP_STATE_DIR", "/abs/state")]);
        assert_eq!(state_dir_in(&e), Ok(PathBuf::from("/abs/state")));
        let e = env(&[("CODEX_MASTER_TMUX_SOCKET", "sock"), ("HOME", "/home/u")]);
        assert_eq!(check_in(&e), Err(LocationError::Relative("CODEX_MASTER_TMUX_SOCKET")));
        let e = env(&[("CODEX_MASTER_MCP_CONFIG_DIR", "cfg"), ("HOME", "/home/u")]);
        assert_eq!(config_dir_in(&e), Err(LocationError::Relative("CODEX_MASTER_MCP_CONFIG_DIR")));
        let e =
            env(&[("XDG_CONFIG_HOME", "not/absolute"), ("HOME", "/home/someone"), ("CODEX_MASTER_MCP_CONFIG_DIR", "")]);
        assert_eq!(config_dir_in(&e), Ok(Some(PathBuf::from("/home/someone/.config/codex-master-mcp"))));
        assert_eq!(state_dir_in(&env(&[])), Err(LocationError::NoStateLocation));
    }

    #[test]
    fn one_reading_holds_both_files_and_a_symlinked_directory_is_refused() {
        let root = std::env::temp_dir().join(format!("cm-config-files-{}", std::process::id()));
        let dir = root.join("cfg");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), "[agents.w]\n").unwrap();
        let at = |d: &Path| {
            let d = d.display().to_string();
            ConfigFiles::read_in(&env(&[("CODEX_MASTER_MCP_CONFIG_DIR", &d)])).unwrap()
        };
        let files = at(&dir);
        assert_eq!((files.config, files.installed), (Ok(Some(b"[agents.w]\n".to_vec())), Ok(None)));
        std::fs::write(dir.join(INSTALLED_FILE), "[extensions]\n").unwrap();
        assert_eq!(at(&dir).installed, Ok(Some(b"[extensions]\n".to_vec())));
        let missing = at(&root.join("missing"));
        assert_eq!((missing.dir, missing.config, missing.installed), (Some(root.join("missing")), Ok(None), Ok(None)));
        // Another directory behind a symlink is never read.
        std::os::unix::fs::symlink(&dir, root.join("link")).unwrap();
        let linked = at(&root.join("link"));
        assert!(linked.config.is_err() && linked.installed.is_err(), "{linked:?}");
        let relative = ConfigFiles::read_in(&env(&[("CODEX_MASTER_MCP_CONFIG_DIR", "cfg")]));
        assert_eq!(relative.err(), Some(LocationError::Relative("CODEX_MASTER_MCP_CONFIG_DIR")));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
