//! The agent registry: which workers exist, how they are launched, and how selectors name them.
//!
//! Agents come from `[agents.<name>]` tables in `config.toml`. With none configured there are two
//! agents, `a` and `b`, described by the seed's environment variables, so a seed user's setup
//! keeps working. The selector words are `both` (a and b) and `all` (every agent).

use crate::wire::wire_enum;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod facts;
pub mod procs;
pub mod profiles;

pub use profiles::{Profile, Provider};

/// Agents on one machine (this one, or one host).
const MAX_AGENTS: usize = 64;
/// Agents in all.
const MAX_AGENTS_TOTAL: usize = 256;
/// Hosts a config names.
const MAX_HOSTS: usize = 16;
const MAX_EXTRA_ARGS: usize = 32;
const MAX_ENV: usize = 32;

/// One worker agent.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// `[a-z0-9-]`, 1–32 characters.
    pub name: String,
    pub label: String,
    pub profile: Profile,
    pub session: String,
    /// The agent's private home (CODEX_HOME for Codex).
    pub home: Option<PathBuf>,
    /// The executable; `None` for the scripted profile (the binary itself runs it).
    pub runner: Option<PathBuf>,
    /// The model the config names; `None` lets the CLI use its own default.
    pub model: Option<String>,
    pub reasoning_effort: Option<String>,
    pub extra_args: Vec<String>,
    /// Whether a start writes the folder trust for its working directory into the home.
    pub trust_cwd: bool,
    /// Variables the worker gets from the config.
    pub env: BTreeMap<String, String>,
    /// Variable names whose values come from the installing user's environment.
    pub env_pass: Vec<String>,
    /// The classifier that reads this agent's screen.
    pub classifier: crate::ext::Classifier,
    /// The worker's memory cap (a systemd scope where one can be made) and its admission
    /// estimate.
    pub memory_max_mib: Option<u64>,
    /// Whether a start installs the CLI's hooks so that its own events are read first
    /// (`events = false` reads the screen only).
    pub events: bool,
    /// Where its tmux session runs: here, or a configured host over ssh.
    pub place: crate::tmux::Place,
}

/// Variables a worker is never given from config: our markers, the homes we manage, and those
/// that make a shell, the loader or an interpreter run code or read it from elsewhere before
/// the worker's CLI does anything (with every name starting with [`REFUSED_ENV_PREFIXES`]).
pub const REFUSED_ENV: &[&str] = &[
    "CODEX_MASTER_MCP",
    "CODEX_AGENT_MCP",
    "PATH",
    "HOME",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "GEMINI_CLI_HOME",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "IFS",
    "PS4",
    "NODE_OPTIONS",
    "NODE_PATH",
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    "MALLOC_CONF",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "RUBYOPT",
    "RUBYLIB",
];
pub const REFUSED_ENV_PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_"];

/// A variable name a worker may be given: a shell identifier of at most 64 characters, and not
/// one of [`REFUSED_ENV`].
pub fn valid_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    (1..=64).contains(&name.len())
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !REFUSED_ENV.contains(&name)
        && !REFUSED_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
}

impl AgentSpec {
    pub fn provider(&self) -> &'static dyn Provider {
        self.profile.provider()
    }
}

wire_enum!(
    /// What status reports for an agent; `unknown` is never reported as idle.
    AgentState {
        Idle => "idle",
        Working => "working",
        /// A dialog or popup holds the screen (trust, switch model, limit increase, sign-in).
        Dialog => "dialog",
        /// A limit stops the agent (usage, rate, credits, …).
        Limited => "limited",
        /// Idle with a warning on screen (usage nearly spent, high demand).
        Warned => "warned",
        /// The agent process died; its pane is kept.
        Exited => "exited",
        NotRunning => "not_running",
        Unknown => "unknown",
    }
);

impl AgentState {
    /// Maps a classification to a state: a limit first, then a dialog, then the screen.
    pub fn from_screen(running: bool, dead: bool, c: Option<&crate::ext::types::limits::ClassifyOutput>) -> AgentState {
        use crate::ext::types::limits::{Severity, TuiState};
        if !running {
            return AgentState::NotRunning;
        }
        if dead {
            return AgentState::Exited;
        }
        let Some(c) = c else { return AgentState::Unknown };
        match (c.severity, c.tui) {
            (Severity::Limited, _) => AgentState::Limited,
            (_, TuiState::Popup | TuiState::Dialog) => AgentState::Dialog,
            (_, TuiState::Working) => AgentState::Working,
            (Severity::Warning, TuiState::Idle) => AgentState::Warned,
            (_, TuiState::Idle) => AgentState::Idle,
            _ => AgentState::Unknown,
        }
    }

    /// Whether a turn is over (for `agent_wait --until idle`).
    pub fn turn_over(self) -> bool {
        matches!(self, AgentState::Idle | AgentState::Warned)
    }
}

/// The configured agents, in a stable order.
#[derive(Debug, Clone)]
pub struct Registry {
    agents: Vec<AgentSpec>,
    admission: crate::admission::Thresholds,
    hosts: Vec<HostSpec>,
}

/// A configured host: where it is reached, and its own admission limits.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub place: crate::tmux::Place,
    pub admission: crate::admission::Thresholds,
}

/// Whether `name` is a valid agent name (and not a selector word).
pub fn valid_agent_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !matches!(name, "all" | "both")
}

fn valid_session_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub use crate::text::valid_model_word;

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentTable {
    label: Option<String>,
    profile: Option<Profile>,
    home: Option<String>,
    runner: Option<String>,
    model: Option<String>,
    reasoning_effort: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    session: Option<String>,
    trust_cwd: Option<bool>,
    /// Variables the worker gets (not secrets: the config is a plain file).
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Names whose values `install` takes from the installing user's environment (never from a
    /// lead's filtered one) and keeps in the private state for the worker.
    #[serde(default)]
    env_pass: Vec<String>,
    /// `"claude"` (a default by name) or `{ path = "…", sha256 = "…" }` (a team's component).
    classifier: Option<ClassifierTable>,
    memory_max_mib: Option<u64>,
    /// `false`: no hooks in the agent's home; its state comes from the screen only.
    events: Option<bool>,
    /// A `[hosts.NAME]` the agent runs on (default: this machine).
    host: Option<String>,
}

/// One `[hosts.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostTable {
    /// An entry of the ssh config (`Host ALIAS`).
    ssh: String,
    /// The ssh config file to read instead of `~/.ssh/config` (absolute, or `~/…`).
    ssh_config: Option<String>,
    admission: Option<crate::admission::Thresholds>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ClassifierTable {
    Name(String),
    Pinned { path: String, sha256: String },
}

/// A `config.toml` the host refuses: what is wrong, never a value from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<String> for ConfigError {
    fn from(s: String) -> Self {
        ConfigError(s)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    agents: BTreeMap<String, AgentTable>,
    admission: Option<crate::admission::Thresholds>,
    #[serde(default)]
    hosts: BTreeMap<String, HostTable>,
}

/// The `[hosts.*]` tables, checked: plain names, plain ssh aliases, valid limits.
fn host_specs(tables: BTreeMap<String, HostTable>) -> Result<BTreeMap<String, HostSpec>, ConfigError> {
    if tables.len() > MAX_HOSTS {
        return Err(ConfigError::from(format!("config.toml configures more than {MAX_HOSTS} hosts")));
    }
    let mut hosts = BTreeMap::new();
    for (name, t) in tables {
        if !valid_agent_name(&name) {
            return Err(ConfigError::from(
                "config.toml: host names are 1-32 characters of a-z, 0-9 and '-'".to_owned(),
            ));
        }
        if !crate::ssh::valid_alias(&t.ssh) {
            return Err(ConfigError::from(format!(
                "hosts.{name}.ssh: an ssh config alias (letters, digits, '.', '-', '_'; not an option or user@host)"
            )));
        }
        let config = t.ssh_config.as_deref().map(|c| config_path("ssh_config", &name, c)).transpose()?;
        let admission = t.admission.unwrap_or_default();
        admission.validate().map_err(|e| format!("hosts.{name}.admission: {e}"))?;
        let control_dir = crate::ssh::control_dir(crate::config::state_dir().ok().as_deref());
        let host = crate::tmux::SshHost { name: name.clone(), alias: t.ssh, config, control_dir };
        hosts.insert(name, HostSpec { place: crate::tmux::Place::Ssh(std::sync::Arc::new(host)), admission });
    }
    Ok(hosts)
}

/// What a remote agent cannot have yet: a managed home, captured secrets, a local memory cap.
fn check_remote(name: &str, t: &AgentTable) -> Result<(), ConfigError> {
    let unsupported = [
        (t.home.is_some(), "home"),
        (!t.env_pass.is_empty(), "env_pass"),
        (t.memory_max_mib.is_some(), "memory_max_mib"),
    ];
    match unsupported.iter().find(|(set, _)| *set) {
        Some((_, field)) => {
            Err(ConfigError::from(format!("agents.{name}.{field} is not supported for an agent on a host")))
        }
        None => Ok(()),
    }
}

/// `~/x` → `$HOME/x`; anything else must be absolute.
fn config_path(field: &str, agent: &str, value: &str) -> Result<PathBuf, ConfigError> {
    let path = match value.strip_prefix("~/") {
        Some(rest) => env_path("HOME").ok_or_else(|| format!("agents.{agent}.{field}: HOME is not set"))?.join(rest),
        None => PathBuf::from(value),
    };
    if !path.is_absolute() || value.len() > 1000 {
        return Err(ConfigError::from(format!(
            "agents.{agent}.{field} must be an absolute path of at most 1000 characters"
        )));
    }
    Ok(crate::fsafe::paths::normalize_lexically(&path))
}

/// One `[agents.NAME]` table, checked into an agent.
fn agent_spec(name: String, mut t: AgentTable, hosts: &BTreeMap<String, HostSpec>) -> Result<AgentSpec, ConfigError> {
    if !valid_agent_name(&name) {
        return Err(ConfigError::from(
            "config.toml: agent names are 1-32 characters of a-z, 0-9 and '-', and not 'all' or 'both'".to_owned(),
        ));
    }
    let profile = t.profile.unwrap_or_else(Profile::default_profile);
    let place = match t.host.as_deref() {
        None => crate::tmux::Place::Local,
        Some(h) => {
            check_remote(&name, &t)?;
            hosts
                .get(h)
                .map(|h| h.place.clone())
                .ok_or_else(|| format!("agents.{name}.host: no [hosts.{h}] is configured"))?
        }
    };
    let home = t.home.as_deref().map(|h| config_path("home", &name, h)).transpose()?;
    let runner = match (profile, t.runner.as_deref()) {
        (_, Some(r)) => Some(config_path("runner", &name, r)?),
        (p, None) if p.provider().needs_runner() => {
            return Err(ConfigError::from(format!("agents.{name}: the {} profile needs a runner", p.name())))
        }
        (p, None) => p.provider().default_runner(home.as_deref()),
    };
    check_launch_words(&name, &t)?;
    let classifier = classifier_of(&name, profile, t.classifier.take())?;
    let session = t.session.take().unwrap_or_else(|| format!("codex_agent_{}_mcp", name.replace('-', "_")));
    if !valid_session_name(&session) {
        return Err(ConfigError::from(format!(
            "agents.{name}.session: 1-64 characters of letters, digits, '_' and '-'"
        )));
    }
    if t.memory_max_mib.is_some_and(|m| !(64..=1 << 20).contains(&m)) {
        return Err(ConfigError::from(format!("agents.{name}.memory_max_mib: 64-1048576 (MiB)")));
    }
    let label = t
        .label
        .map(|l| crate::text::redact_bounded(&l, 80))
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| format!("Agent {name}"));
    Ok(AgentSpec {
        name,
        label,
        profile,
        session,
        home,
        runner,
        model: t.model,
        reasoning_effort: t.reasoning_effort,
        extra_args: t.args,
        trust_cwd: t.trust_cwd.unwrap_or(true),
        env: t.env,
        env_pass: t.env_pass,
        classifier,
        memory_max_mib: t.memory_max_mib,
        events: t.events.unwrap_or(true) && place.is_local(),
        place,
    })
}

/// The words that reach the worker's command line and environment: model words, bounded
/// arguments, and variable names we allow.
fn check_launch_words(name: &str, t: &AgentTable) -> Result<(), ConfigError> {
    if [&t.model, &t.reasoning_effort].into_iter().flatten().any(|w| !valid_model_word(w)) {
        return Err(ConfigError::from(format!(
            "agents.{name}: model and reasoning_effort are words of letters, digits and ._-:/"
        )));
    }
    if t.args.len() > MAX_EXTRA_ARGS || t.args.iter().any(|a| a.len() > 1000 || a.contains('\0')) {
        return Err(ConfigError::from(format!(
            "agents.{name}.args: at most {MAX_EXTRA_ARGS} arguments of at most 1000 characters"
        )));
    }
    if t.env.len() + t.env_pass.len() > MAX_ENV
        || t.env.keys().chain(&t.env_pass).any(|k| !valid_env_name(k))
        || t.env.values().any(|v| v.len() > 4000 || v.contains('\0'))
    {
        return Err(ConfigError::from(format!(
            "agents.{name}: env and env_pass take at most {MAX_ENV} variable names (letters, digits, '_'; not PATH, HOME, the homes we manage, LD_*, DYLD_* or another variable that runs code first: see README) with values of at most 4000 characters"
        )));
    }
    Ok(())
}

/// The classifier an agent uses: its provider's default, one named, or a pinned component.
fn classifier_of(
    name: &str,
    profile: Profile,
    table: Option<ClassifierTable>,
) -> Result<crate::ext::Classifier, ConfigError> {
    Ok(match table {
        None => crate::ext::Classifier::named(profile.provider().classifier()).expect("a default classifier"),
        Some(ClassifierTable::Name(n)) => crate::ext::Classifier::named(&n).ok_or_else(|| {
            let known: Vec<&str> = crate::ext::Classifier::names().collect();
            format!("agents.{name}.classifier: one of {}, or {{ path, sha256 }}", known.join(", "))
        })?,
        Some(ClassifierTable::Pinned { path, sha256 }) => {
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::from(format!("agents.{name}.classifier.sha256: 64 hex digits")));
            }
            crate::ext::Classifier::Pinned { path: config_path("classifier.path", name, &path)?, sha256 }
        }
    })
}

impl Registry {
    /// The agents of `config.toml`, or the seed-compatible defaults when it configures none.
    pub fn load() -> Result<Registry, ConfigError> {
        Registry::from_files(&crate::config::ConfigFiles::read().map_err(|e| e.to_string())?)
    }

    /// The agents of one reading of the config directory, every location override checked
    /// first (the CLI, the server and each new server generation read them this way).
    pub fn from_reading(
        files: &Result<crate::config::ConfigFiles, crate::config::LocationError>,
    ) -> Result<Registry, String> {
        crate::config::check_locations()
            .and(files.as_ref().map_err(Clone::clone))
            .map_err(|e| e.to_string())
            .and_then(|f| Registry::from_files(f).map_err(|e| e.to_string()))
    }

    /// The agents of one reading of the config directory.
    pub fn from_files(files: &crate::config::ConfigFiles) -> Result<Registry, ConfigError> {
        let text = match &files.config {
            Ok(Some(bytes)) => std::str::from_utf8(bytes).map_err(|_| "config.toml is not UTF-8".to_owned())?,
            Ok(None) => return Ok(Registry::from_env()),
            Err(e) => return Err(ConfigError::from(format!("config.toml could not be read: {e}"))),
        };
        Registry::from_toml(text)
    }

    /// Parses the `[agents.*]` tables of a config text.
    pub fn from_toml(text: &str) -> Result<Registry, ConfigError> {
        let cfg: ConfigFile = toml::from_str(text)
            .map_err(|e| format!("config.toml: {}", crate::text::keep_head_chars(e.message(), 300)))?;
        let admission = cfg.admission.unwrap_or_default();
        admission.validate().map_err(|e| format!("config.toml: {e}"))?;
        let hosts = host_specs(cfg.hosts)?;
        if cfg.agents.is_empty() {
            return Ok(Registry { admission, hosts: hosts.into_values().collect(), ..Registry::from_env() });
        }
        if cfg.agents.len() > MAX_AGENTS_TOTAL {
            return Err(ConfigError::from(format!("config.toml configures more than {MAX_AGENTS_TOTAL} agents")));
        }
        let mut agents = Vec::new();
        for (name, t) in cfg.agents {
            agents.push(agent_spec(name, t, &hosts)?);
        }
        let crowded = std::iter::once(None)
            .chain(hosts.keys().map(|h| Some(h.as_str())))
            .find(|h| agents.iter().filter(|a| a.place.host() == *h).count() > MAX_AGENTS);
        if let Some(h) = crowded {
            return Err(ConfigError::from(format!(
                "config.toml configures more than {MAX_AGENTS} agents on {}",
                h.map_or("this machine".to_owned(), |h| format!("host {h}"))
            )));
        }
        // Two agents on one session would drive each other's pane.
        let mut sessions: Vec<&str> = agents.iter().map(|a| a.session.as_str()).collect();
        sessions.sort_unstable();
        if sessions.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::from("config.toml: two agents share a tmux session name".to_owned()));
        }
        Ok(Registry { agents, admission, hosts: hosts.into_values().collect() })
    }

    /// The seed-compatible default: agents `a` and `b` from `CODEX_AGENT_{A,B}_*`.
    pub fn from_env() -> Registry {
        let home_dir = env_path("HOME");
        let agents = ["a", "b"]
            .iter()
            .map(|name| {
                let upper = name.to_ascii_uppercase();
                let home = env_path(&format!("CODEX_AGENT_{upper}_HOME"))
                    .or_else(|| home_dir.as_ref().map(|h| h.join(format!(".codex-agent-{name}"))));
                let runner =
                    env_path(&format!("CODEX_AGENT_{upper}_RUNNER")).or_else(|| home.as_ref().map(|h| h.join("codex")));
                let session = std::env::var(format!("CODEX_AGENT_{upper}_SESSION"))
                    .ok()
                    .filter(|s| valid_session_name(s))
                    .unwrap_or_else(|| format!("codex_agent_{name}_mcp"));
                AgentSpec {
                    name: (*name).to_owned(),
                    label: format!("Codex Agentin {upper}"),
                    profile: Profile::default_profile(),
                    session,
                    home,
                    runner,
                    model: None,
                    reasoning_effort: None,
                    extra_args: Vec::new(),
                    trust_cwd: true,
                    env: BTreeMap::new(),
                    env_pass: Vec::new(),
                    classifier: crate::ext::Classifier::Named("codex"),
                    memory_max_mib: None,
                    events: true,
                    place: crate::tmux::Place::Local,
                }
            })
            .collect();
        Registry { agents, admission: Default::default(), hosts: Vec::new() }
    }

    /// The configured hosts, by name.
    pub fn hosts(&self) -> &[HostSpec] {
        &self.hosts
    }

    /// `[hosts.NAME.admission]` (defaults when absent, or for a name that is no host).
    pub fn host_admission(&self, name: &str) -> crate::admission::Thresholds {
        self.hosts.iter().find(|h| h.place.host() == Some(name)).map(|h| h.admission).unwrap_or_default()
    }

    /// `[admission]` of the config (defaults when absent).
    pub fn admission(&self) -> &crate::admission::Thresholds {
        &self.admission
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.agents.iter().map(|a| a.name.as_str())
    }

    pub fn agents(&self) -> &[AgentSpec] {
        &self.agents
    }

    pub fn get(&self, name: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Whether the `both` selector is meaningful (agents `a` and `b` exist).
    pub fn has_pair(&self) -> bool {
        self.get("a").is_some() && self.get("b").is_some()
    }

    /// Expands a selector (`both`, `all`, or one name) to agent names, in registry order.
    pub fn select(&self, selector: &str) -> Vec<String> {
        match selector {
            "all" => self.names().map(str::to_owned).collect(),
            "both" => vec!["a".to_owned(), "b".to_owned()],
            one => vec![one.to_owned()],
        }
    }
}

/// Whether `path` is a runner we may start: reached without a symlink in any component (below a
/// trusted home, see [`crate::fsafe::Dir::walk`]), a regular executable file, neither setuid nor
/// setgid, and not writable by everyone.
pub fn runner_ok(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return false };
    let Ok(dir) = crate::fsafe::Dir::walk(parent, false) else { return false };
    if dir.entry_kind(name) != Ok(Some(crate::fsafe::EntryKind::File)) {
        return false;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            let mode = m.permissions().mode();
            m.file_type().is_file()
                && mode & 0o111 != 0
                && mode & 0o6000 == 0
                && mode & 0o002 == 0
                && rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_selectors() {
        assert!(valid_agent_name("a") && valid_agent_name("worker-12"));
        assert!(
            !valid_agent_name("")
                && !valid_agent_name("A")
                && !valid_agent_name(&"x".repeat(33))
                && !valid_agent_name("all")
        );
        let reg = Registry::from_env();
        assert_eq!(reg.select("all"), ["a", "b"]);
        assert_eq!(reg.select("both"), ["a", "b"]);
        assert_eq!(reg.select("b"), ["b"]);
        assert!(reg.has_pair());
    }

    #[test]
    fn variables_that_run_code_first_or_that_we_manage_are_refused() {
        let config = |list: &str| format!("[agents.w]\nprofile = \"scripted\"\n{list}\n");
        for name in [
            "BASH_ENV",
            "NODE_OPTIONS",
            "GCONV_PATH",
            "GLIBC_TUNABLES",
            "PYTHONPATH",
            "PERL5OPT",
            "PROMPT_COMMAND",
            "DYLD_INSERT_LIBRARIES",
            "LD_PRELOAD",
            "CODEX_HOME",
            "CLAUDE_CONFIG_DIR",
            "GEMINI_CLI_HOME",
        ] {
            for list in [format!("env = {{ {name} = \"x\" }}"), format!("env_pass = [\"{name}\"]")] {
                let err = Registry::from_toml(&config(&list)).err();
                assert!(err.is_some_and(|e| e.0.contains("see README")), "{list} was accepted");
            }
        }
        assert!(Registry::from_toml(&config("env = { WORKER_TOKEN = \"x\" }\nenv_pass = [\"OPENAI_API_KEY\"]")).is_ok());
    }

    #[test]
    fn config_tables_define_any_number_of_agents() {
        let reg = Registry::from_toml(
            r#"
            [agents.w1]
            profile = "scripted"
            [agents.w2]
            profile = "generic"
            runner = "/usr/bin/env"
            args = ["bash"]
            [agents.codex-x]
            home = "/srv/cx"
            model = "gpt-5.3-codex-spark"
            "#,
        )
        .unwrap();
        assert_eq!(reg.names().collect::<Vec<_>>(), ["codex-x", "w1", "w2"]);
        let cx = reg.get("codex-x").unwrap();
        assert_eq!(cx.runner.as_deref(), Some(Path::new("/srv/cx/codex")));
        let args = cx.provider().launch_args(cx, None);
        assert!(args.contains(&"--no-daemon".to_owned()) && args[1] == "gpt-5.3-codex-spark");
        assert_eq!(reg.get("w2").unwrap().provider().launch_args(reg.get("w2").unwrap(), None), ["bash"]);
        assert_eq!(reg.get("w1").unwrap().session, "codex_agent_w1_mcp");
        assert!(!reg.has_pair());
    }

    #[test]
    fn bad_config_is_refused_with_a_reason() {
        for (text, needle) in [
            ("[agents.All]\nprofile='scripted'", "agent names"),
            ("[agents.x]\nprofile='generic'", "needs a runner"),
            ("[agents.x]\nrunner='relative/bin'", "absolute path"),
            ("[agents.x]\nprofile='scripted'\nsession='s'\n[agents.y]\nprofile='scripted'\nsession='s'", "share"),
            ("[agents.x]\nprofile='scripted'\nbogus=1", "unknown field"),
            ("[agents.x]\nprofile='scripted'\nmodel='a b'", "model"),
        ] {
            let err = Registry::from_toml(text).unwrap_err();
            assert!(err.0.contains(needle), "{text}: {err}");
        }
    }
}
