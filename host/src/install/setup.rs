//! `install` and `uninstall`: the binary on the user's PATH, one registration with Codex that
//! pins where state and configuration live, optionally the watchdog units, and a record of
//! exactly what was made so `uninstall` removes that and nothing else.
//!
//! Codex starts MCP servers with a filtered environment (no `XDG_*`, no `CODEX_*`, no bus, no
//! proxies or keys). So the locations this shell resolves are written into the registration's
//! `env`, and the workers' `env_pass` values go to the private state, never into Codex's config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::codex::{self, Codex, CodexError};
use crate::agents::Registry;
use crate::process::{run_blocking, Cmd};
use crate::state::State;

/// The record of an installation, in the private state root.
pub const MANIFEST_FILE: &str = "install.json";
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The variables Codex passes to an MCP server it starts (besides the registration's `env`).
pub const LEAD_KEPT_ENV: [&str; 9] = ["HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "TERM", "TMPDIR", "TZ"];

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub codex: Option<PathBuf>,
    pub bin_dir: Option<PathBuf>,
    pub force: bool,
    pub register: bool,
    pub approve: bool,
    pub watchdog: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("refusing to install inside a managed agent home (CODEX_HOME is agent {0}'s home)")]
    InsideAgentHome(String),
    #[error("{0}")]
    Codex(#[from] CodexError),
    #[error(
        "the install directory must be an absolute, real directory (HOME must be set for the default ~/.local/bin)"
    )]
    BinDir,
    #[error(
        "the install path exists and is not a codex-master-mcp that install made; rerun with --force to replace it"
    )]
    BinaryExists,
    #[error("the binary could not be copied to the install directory")]
    BinaryWrite,
    #[error("the installed binary failed its MCP self-test ({0}); nothing was registered")]
    SelfTest(&'static str),
    #[error("our server is registered with another command; rerun with --force to replace that registration")]
    RegisteredElsewhere,
    #[error("the codex-master plugin is installed too; one registration only: remove the plugin (codex plugin remove codex-master) or rerun with --force")]
    PluginInstalled,
    #[error("the registration Codex reports after install does not match ({0})")]
    Verify(&'static str),
    #[error("private state: {0}")]
    State(String),
}

/// What happened to the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOutcome {
    Created,
    Replaced,
    AlreadyInstalled,
}

impl BinaryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOutcome::Created => "created",
            BinaryOutcome::Replaced => "replaced",
            BinaryOutcome::AlreadyInstalled => "already_installed",
        }
    }
}

/// What happened to the registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationOutcome {
    Registered,
    Replaced,
    Skipped,
}

impl RegistrationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationOutcome::Registered => "registered",
            RegistrationOutcome::Replaced => "replaced",
            RegistrationOutcome::Skipped => "skipped",
        }
    }
}

/// What happened to the watchdog units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitsOutcome {
    Enabled,
    /// Written, but systemd could not be asked to enable them.
    WrittenNotEnabled,
    Skipped,
    /// A value (a path, a pinned variable) holds a character a unit file cannot carry.
    Refused,
}

impl UnitsOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitsOutcome::Enabled => "enabled",
            UnitsOutcome::WrittenNotEnabled => "written_not_enabled",
            UnitsOutcome::Skipped => "skipped",
            UnitsOutcome::Refused => "refused_unsafe_value",
        }
    }
}

/// An MCP handshake with a server binary, started as Codex would start it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfTest {
    pub ok: bool,
    /// Why it failed (a fixed word).
    pub failure: Option<&'static str>,
    pub tool_count: usize,
    /// `initialize` + `tools/list`, process start to exit.
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub binary: BinaryOutcome,
    pub registration: RegistrationOutcome,
    pub approvals: bool,
    /// The variable names pinned into the registration (values never shown).
    pub pinned: Vec<String>,
    /// How many `env_pass` values were captured for the workers.
    pub captured_env: usize,
    pub units: UnitsOutcome,
    pub self_test: SelfTest,
}

/// The record of what install made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub binary_path: String,
    pub binary_sha256: String,
    pub registered: bool,
    pub codex_home: String,
    pub units: bool,
}

/// Whether `path` is the binary install placed: an absolute path named `codex-master-mcp`, a
/// regular file (never through a symlink), with the digest the manifest recorded, and our
/// executable by its content. A tampered manifest that names another file is not obeyed.
fn installed_binary(path: &Path, sha256: &str) -> bool {
    let named = path.is_absolute() && path.file_name().is_some_and(|n| n == "codex-master-mcp");
    let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if !named || !regular || path.parent().is_some_and(|p| std::fs::symlink_metadata(p).map_or(true, |m| !m.is_dir())) {
        return false;
    }
    if file_sha256(path).as_deref() != Some(sha256) {
        return false;
    }
    // Our executable: an ELF file that carries our own components' world names.
    let Ok(bytes) = std::fs::read(path) else { return false };
    bytes.starts_with(b"\x7fELF") && bytes.windows(OUR_MARK.len()).any(|w| w == OUR_MARK)
}

/// Bytes every build of this binary carries (the limits world's name, in its embedded
/// components).
const OUR_MARK: &[u8] = b"codex-master:limits/classifier";

/// The locations and settings a server started by Codex must see, resolved in this shell.
pub fn pinned_env() -> Result<BTreeMap<String, String>, InstallError> {
    let mut env = BTreeMap::new();
    let state = crate::config::state_dir().map_err(|e| InstallError::State(e.to_string()))?;
    env.insert("CODEX_MASTER_MCP_STATE_DIR".to_owned(), state.to_string_lossy().into_owned());
    if let Ok(Some(config)) = crate::config::config_dir() {
        env.insert("CODEX_MASTER_MCP_CONFIG_DIR".to_owned(), config.to_string_lossy().into_owned());
    }
    for (k, v) in std::env::vars() {
        let ours = (k.starts_with("CODEX_MASTER_") || k.starts_with("CODEX_AGENT_"))
            && !matches!(
                k.as_str(),
                "CODEX_MASTER_MCP_INSTANCE_ID" | "CODEX_MASTER_MCP_STATE" | "CODEX_MASTER_REQUIRE_REAL_CLIENTS"
            );
        let locations = matches!(k.as_str(), "TMUX_TMPDIR" | "XDG_RUNTIME_DIR" | "DBUS_SESSION_BUS_ADDRESS");
        if (ours || locations) && !v.is_empty() && !env.contains_key(&k) {
            env.insert(k, v);
        }
    }
    Ok(env)
}

/// The sha-256 of a file, hex (`None` when unreadable).
pub fn file_sha256(path: &Path) -> Option<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).ok()?;
    Some(sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Starts `binary` with only the variables Codex would pass plus `env`, and runs `initialize`
/// and `tools/list`.
pub fn self_test(binary: &Path, env: &BTreeMap<String, String>) -> SelfTest {
    let input = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"codex-master-self-test","version":"1"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        "\n"
    );
    let mut vars: Vec<(&str, String)> =
        LEAD_KEPT_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))).collect();
    vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let program = binary.to_string_lossy();
    let started = Instant::now();
    let out = run_blocking(
        &Cmd::new(&program, &["serve"], SELF_TEST_TIMEOUT)
            .clear_env()
            .env(&vars)
            .input(Some(input.as_bytes()))
            .max_capture(1024 * 1024),
    );
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let fail = |why| SelfTest { ok: false, failure: Some(why), tool_count: 0, elapsed_ms };
    if out.spawn_error.is_some() {
        return fail("not_started");
    }
    if out.timed_out {
        return fail("timeout");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let replies: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let by_id = |id: i64| replies.iter().find(|r| r["id"] == id);
    let Some(init) = by_id(1) else { return fail("no_initialize_result") };
    if init["result"]["serverInfo"]["name"] != "codex-master-mcp" {
        return fail("not_our_server");
    }
    let tool_count = by_id(2).and_then(|r| r["result"]["tools"].as_array()).map_or(0, Vec::len);
    if tool_count == 0 {
        return fail("no_tools");
    }
    SelfTest { ok: true, failure: None, tool_count, elapsed_ms }
}

fn default_bin_dir() -> Option<PathBuf> {
    crate::config::absolute_env("HOME").map(|h| h.join(".local/bin"))
}

/// Refuses an install from inside a managed agent home: a worker must never register us.
fn refuse_inside_agent_home(registry: &Registry) -> Result<(), InstallError> {
    let Some(active) = codex::active_home().and_then(|h| std::fs::canonicalize(h).ok()) else { return Ok(()) };
    for agent in registry.agents() {
        if let Some(home) = agent.home.as_deref().and_then(|h| std::fs::canonicalize(h).ok()) {
            if home == active {
                return Err(InstallError::InsideAgentHome(agent.name.clone()));
            }
        }
    }
    Ok(())
}

/// Copies this executable to `<bin_dir>/codex-master-mcp` (atomically, mode 0755).
fn place_binary(
    bin_dir: &Path,
    force: bool,
    owned_sha: Option<&str>,
) -> Result<(PathBuf, BinaryOutcome, Option<PathBuf>), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    if !bin_dir.is_absolute() {
        return Err(InstallError::BinDir);
    }
    std::fs::create_dir_all(bin_dir).map_err(|_| InstallError::BinDir)?;
    if std::fs::symlink_metadata(bin_dir).map_or(true, |m| !m.is_dir()) {
        return Err(InstallError::BinDir);
    }
    let target = bin_dir.join("codex-master-mcp");
    let me = std::env::current_exe().map_err(|_| InstallError::BinaryWrite)?;
    let my_sha = file_sha256(&me).ok_or(InstallError::BinaryWrite)?;
    let outcome = match std::fs::symlink_metadata(&target) {
        Err(_) => BinaryOutcome::Created,
        Ok(m) if m.is_file() && file_sha256(&target).as_deref() == Some(my_sha.as_str()) => {
            return Ok((target, BinaryOutcome::AlreadyInstalled, None))
        }
        Ok(m) if m.is_file() && (force || file_sha256(&target).as_deref() == owned_sha) => BinaryOutcome::Replaced,
        Ok(_) if force => BinaryOutcome::Replaced,
        Ok(_) => return Err(InstallError::BinaryExists),
    };
    let tmp = bin_dir.join(format!(".codex-master-mcp.install.{}", crate::fsafe::nonce()));
    // The file it replaces stays, under another name, until the install has completed.
    let backup = (outcome == BinaryOutcome::Replaced)
        .then(|| bin_dir.join(format!(".codex-master-mcp.previous.{}", crate::fsafe::nonce())));
    let copied = std::fs::copy(&me, &tmp)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)))
        .and_then(|()| backup.as_ref().map_or(Ok(()), |b| std::fs::hard_link(&target, b)))
        .and_then(|()| std::fs::rename(&tmp, &target));
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
        if let Some(b) = &backup {
            let _ = std::fs::remove_file(b);
        }
        return Err(InstallError::BinaryWrite);
    }
    Ok((target, outcome, backup))
}

/// What an install changed so far, to put back when a later step fails: an install either
/// completes or leaves nothing.
#[derive(Default)]
struct Undo {
    /// The binary placed, and the file it replaced (kept aside).
    binary: Option<(PathBuf, Option<PathBuf>)>,
    /// Codex's `config.toml` before the registration (`None`: there was none).
    config: Option<(Codex, Option<String>)>,
    /// The captured worker variables before this install.
    agent_env: Option<Option<Vec<u8>>>,
}

impl Undo {
    /// Puts back what the install changed.
    fn undo(self, state: &State) {
        if let Some((codex, before)) = self.config {
            let restored = match before {
                Some(text) => codex.write_config(&text).is_ok(),
                None => std::fs::remove_file(codex.config_path()).is_ok(),
            };
            if !restored {
                tracing::warn!("Codex's config.toml could not be put back after a failed install");
            }
        }
        if let Some(before) = self.agent_env {
            let _ = match before {
                Some(bytes) => state.root.replace_atomic(crate::state::AGENT_ENV_FILE, &bytes),
                None => state.root.remove_file(crate::state::AGENT_ENV_FILE).map(drop),
            };
        }
        if let Some((target, backup)) = self.binary {
            let _ = match backup {
                Some(b) => std::fs::rename(b, &target),
                None => std::fs::remove_file(&target),
            };
        }
    }

    /// The install completed: the replaced binary goes.
    fn done(self) {
        if let Some((_, Some(backup))) = self.binary {
            let _ = std::fs::remove_file(backup);
        }
    }
}

/// The `env_pass` values of every agent, from this (the installing user's) environment.
fn capture_agent_env(registry: &Registry) -> BTreeMap<String, BTreeMap<String, String>> {
    registry
        .agents()
        .iter()
        .map(|a| {
            let values = a.env_pass.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v))).collect();
            (a.name.clone(), values)
        })
        .collect()
}

fn write_units(binary: &Path, pinned: &BTreeMap<String, String>) -> UnitsOutcome {
    let Some(dir) = crate::config::systemd_user_dir() else { return UnitsOutcome::Skipped };
    let state = PathBuf::from(pinned.get("CODEX_MASTER_MCP_STATE_DIR").cloned().unwrap_or_default());
    let rendered = (
        super::units::render(super::SERVICE_UNIT, binary, &state, pinned),
        super::units::render(super::TIMER_UNIT, binary, &state, pinned),
    );
    // A value a unit file cannot carry (a newline would add a directive): no unit is written.
    let (Ok(service), Ok(timer)) = rendered else {
        tracing::warn!("the watchdog units were not written: a pinned value holds a control character");
        return UnitsOutcome::Refused;
    };
    let units = [(super::SERVICE_NAME, service), (super::TIMER_NAME, timer)];
    if std::fs::create_dir_all(&dir).is_err()
        || units.iter().any(|(name, text)| std::fs::write(dir.join(name), text).is_err())
    {
        return UnitsOutcome::Skipped;
    }
    let env = super::user_bus_env();
    let systemctl = |args: &[&str]| run_blocking(&Cmd::new("systemctl", args, Duration::from_secs(10)).env(&env)).ok();
    if systemctl(&["--user", "daemon-reload"]) && systemctl(&["--user", "enable", "--now", super::TIMER_NAME]) {
        UnitsOutcome::Enabled
    } else {
        UnitsOutcome::WrittenNotEnabled
    }
}

/// Installs: refusals first, then the binary, its self-test, the registration and its
/// settings, the workers' captured variables, optionally the units, and the manifest.
pub fn install(registry: &Registry, opts: &InstallOptions) -> Result<Installed, InstallError> {
    refuse_inside_agent_home(registry)?;
    let codex = if opts.register { Some(Codex::locate(opts.codex.as_deref())?) } else { None };
    let state = State::open().map_err(|e| InstallError::State(e.to_string()))?;
    let previous: Option<Manifest> = state
        .root
        .read_owned_bounded(MANIFEST_FILE, 64 * 1024)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(codex) = &codex {
        let facts = codex.read_config()?.map(|t| codex::config_facts(&t)).unwrap_or_default();
        if facts.plugin_enabled && !opts.force {
            return Err(InstallError::PluginInstalled);
        }
    }
    let bin_dir = opts.bin_dir.clone().or_else(default_bin_dir).ok_or(InstallError::BinDir)?;
    let pinned = pinned_env()?;
    let (binary, binary_outcome, backup) =
        place_binary(&bin_dir, opts.force, previous.as_ref().map(|m| m.binary_sha256.as_str()))?;
    let mut undo = Undo::default();
    if binary_outcome != BinaryOutcome::AlreadyInstalled {
        undo.binary = Some((binary.clone(), backup));
    }
    let codex_home = codex.as_ref().map(|c| c.home.to_string_lossy().into_owned()).unwrap_or_default();
    let applied = apply(registry, opts, codex, &state, &binary, &pinned, &mut undo);
    let (registration, test, captured_env) = match applied {
        Ok(done) => done,
        Err(e) => {
            undo.undo(&state);
            return Err(e);
        }
    };
    let units = if opts.watchdog { write_units(&binary, &pinned) } else { UnitsOutcome::Skipped };
    let manifest = Manifest {
        binary_path: binary.to_string_lossy().into_owned(),
        binary_sha256: file_sha256(&binary).unwrap_or_default(),
        registered: registration != RegistrationOutcome::Skipped || previous.as_ref().is_some_and(|m| m.registered),
        codex_home,
        units: units != UnitsOutcome::Skipped || previous.as_ref().is_some_and(|m| m.units),
    };
    if let Err(e) =
        state.root.replace_atomic(MANIFEST_FILE, &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"))
    {
        undo.undo(&state);
        return Err(InstallError::State(e.to_string()));
    }
    undo.done();
    Ok(Installed {
        binary: binary_outcome,
        registration,
        approvals: opts.approve && registration != RegistrationOutcome::Skipped,
        pinned: pinned.into_keys().collect(),
        captured_env,
        units,
        self_test: test,
    })
}

/// The steps after the binary is placed: its self-test, the registration and the captured
/// variables, each noted in `undo` before it changes anything.
fn apply(
    registry: &Registry,
    opts: &InstallOptions,
    codex: Option<Codex>,
    state: &State,
    binary: &Path,
    pinned: &BTreeMap<String, String>,
    undo: &mut Undo,
) -> Result<(RegistrationOutcome, SelfTest, usize), InstallError> {
    let test = self_test(binary, pinned);
    if !test.ok {
        return Err(InstallError::SelfTest(test.failure.unwrap_or("failed")));
    }
    let registration = match codex {
        None => RegistrationOutcome::Skipped,
        Some(codex) => {
            let before = codex.read_config()?;
            let registered = register(&codex, binary, pinned, opts);
            undo.config = Some((codex, before));
            registered?
        }
    };
    let captured = capture_agent_env(registry);
    let captured_env = captured.values().map(BTreeMap::len).sum();
    undo.agent_env = Some(state.root.read_owned_bounded(crate::state::AGENT_ENV_FILE, 1 << 20).ok().flatten());
    state.write_agent_env(&captured).map_err(|e| InstallError::State(e.to_string()))?;
    Ok((registration, test, captured_env))
}

/// `codex mcp add` with the pinned environment, then the timeouts and approvals, then a check
/// of what Codex reports.
fn register(
    codex: &Codex,
    binary: &Path,
    pinned: &BTreeMap<String, String>,
    opts: &InstallOptions,
) -> Result<RegistrationOutcome, InstallError> {
    let command = binary.to_string_lossy().into_owned();
    let outcome = match codex.registration()? {
        None => RegistrationOutcome::Registered,
        Some(r) if r.command == command || opts.force => {
            codex.remove()?;
            RegistrationOutcome::Replaced
        }
        Some(_) => return Err(InstallError::RegisteredElsewhere),
    };
    codex.add(binary, pinned)?;
    let text = codex.read_config()?.ok_or(CodexError::ConfigUnexpected)?;
    let text = codex::with_server_settings(&text, opts.approve).ok_or(CodexError::ConfigUnexpected)?;
    codex.write_config(&text)?;
    let r = codex.registration()?.ok_or(InstallError::Verify("not registered"))?;
    if r.command != command {
        return Err(InstallError::Verify("command"));
    }
    if r.tool_timeout_sec.unwrap_or(0.0) < codex::TOOL_TIMEOUT_SEC as f64 {
        return Err(InstallError::Verify("tool timeout"));
    }
    if pinned.iter().any(|(k, v)| r.env.get(k) != Some(v)) {
        return Err(InstallError::Verify("environment"));
    }
    Ok(outcome)
}

/// What uninstall removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uninstalled {
    pub registration_removed: bool,
    pub binary_removed: bool,
    pub units_removed: bool,
    pub captured_env_removed: bool,
}

/// Removes what the manifest says install made: the registration (only if it still names the
/// installed binary), the binary (only if unchanged), the units, the captured variables.
pub fn uninstall(codex_program: Option<&Path>, keep_binary: bool) -> Result<Uninstalled, InstallError> {
    let state = State::open().map_err(|e| InstallError::State(e.to_string()))?;
    let manifest: Manifest = state
        .root
        .read_owned_bounded(MANIFEST_FILE, 64 * 1024)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut done = Uninstalled {
        registration_removed: false,
        binary_removed: false,
        units_removed: false,
        captured_env_removed: false,
    };
    if manifest.registered {
        let codex = Codex::locate(codex_program)?;
        if codex.registration()?.is_some_and(|r| r.command == manifest.binary_path) {
            done.registration_removed = codex.remove()?;
        }
    }
    if manifest.units {
        if let Some(dir) = crate::config::systemd_user_dir() {
            let env = super::user_bus_env();
            let _ = run_blocking(
                &Cmd::new("systemctl", &["--user", "disable", "--now", super::TIMER_NAME], Duration::from_secs(10))
                    .env(&env),
            );
            let removed = [super::SERVICE_NAME, super::TIMER_NAME]
                .iter()
                .filter(|n| std::fs::remove_file(dir.join(n)).is_ok())
                .count();
            let _ =
                run_blocking(&Cmd::new("systemctl", &["--user", "daemon-reload"], Duration::from_secs(10)).env(&env));
            done.units_removed = removed > 0;
        }
    }
    if !keep_binary && !manifest.binary_path.is_empty() {
        let path = PathBuf::from(&manifest.binary_path);
        if installed_binary(&path, &manifest.binary_sha256) {
            done.binary_removed = std::fs::remove_file(&path).is_ok();
        }
    }
    done.captured_env_removed = state.root.remove_file(crate::state::AGENT_ENV_FILE).unwrap_or(false);
    let _ = state.root.remove_file(MANIFEST_FILE);
    Ok(done)
}
