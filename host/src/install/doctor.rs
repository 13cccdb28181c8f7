//! The facts `doctor` and `agent_doctor` hand to the doctor extension: flags, numbers and fixed
//! words about this machine, never a path or a value (names of variables are the only texts).
//!
//! Each fact answers one trap a lead falls into: the binary Codex starts is another build; two
//! registrations (the hand-made one hides the plugin's timeouts); timeouts that cut waits; this
//! shell sets variables the registration does not pass; the lead's server uses another state
//! root (compared by fingerprint); a headless lead cannot stop or interrupt; tmux or the user
//! bus unreachable; a slow start; a stale plugin cache; broken skill frontmatter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::codex::{self, Codex, Registration};
use super::setup;
use crate::agents::Registry;
use crate::ext::types::doctor::{Fact, FactValue};
use crate::process::{run_blocking, Cmd};

use super::packaging::SKILL;
/// Above this, `codex exec` may give up on the server without a word.
pub const SLOW_START_MS: i64 = 1000;

fn flag(name: impl Into<String>, b: bool) -> Fact {
    Fact { name: name.into(), value: FactValue::Flag(b) }
}

fn num(name: impl Into<String>, n: i64) -> Fact {
    Fact { name: name.into(), value: FactValue::Number(n) }
}

fn text(name: impl Into<String>, t: &str) -> Fact {
    Fact { name: name.into(), value: FactValue::Text(t.to_owned()) }
}

/// A short digest of a location: equal roots give equal fingerprints; the path is never shown.
pub fn fingerprint(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(path.to_string_lossy().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// This process's state-root fingerprint (what `codex-master-mcp fingerprint` prints).
pub fn own_fingerprint() -> Option<String> {
    crate::config::state_dir().ok().map(|p| fingerprint(&p))
}

/// Whether a SKILL.md has the frontmatter Codex reads: `---`, a `name:` and a `description:`,
/// and a closing `---`.
pub fn skill_frontmatter_ok(text: &str) -> bool {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("---") {
        return false;
    }
    let head: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "---").collect();
    let field = |k: &str| head.iter().any(|l| l.strip_prefix(k).is_some_and(|v| !v.trim().is_empty()));
    field("name:") && field("description:") && head.len() < 40 && text.lines().skip(1).any(|l| l.trim() == "---")
}

/// The variables a server started by Codex would miss, by name: set in this shell, relevant to
/// us or to the workers, and neither passed by the registration nor covered another way.
pub fn unpassed_names(
    shell: &BTreeMap<String, String>,
    registration: &BTreeMap<String, String>,
    captured_pass: &[String],
    env_pass: &[String],
    bus_fallback: bool,
) -> Vec<String> {
    let relevant = |k: &str| {
        k.starts_with("CODEX_MASTER_")
            || k.starts_with("CODEX_AGENT_")
            || k.starts_with("XDG_")
            || matches!(
                k,
                "TMUX_TMPDIR"
                    | "DBUS_SESSION_BUS_ADDRESS"
                    | "SSH_AUTH_SOCK"
                    | "OPENAI_API_KEY"
                    | "HTTPS_PROXY"
                    | "HTTP_PROXY"
                    | "ALL_PROXY"
                    | "NO_PROXY"
                    | "https_proxy"
                    | "http_proxy"
                    | "all_proxy"
                    | "no_proxy"
            )
            || env_pass.iter().any(|p| p == k)
    };
    let covered = |k: &str| {
        registration.contains_key(k)
            || setup::LEAD_KEPT_ENV.contains(&k)
            || captured_pass.iter().any(|p| p == k)
            || matches!(k, "CODEX_MASTER_MCP_INSTANCE_ID" | "CODEX_MASTER_REQUIRE_REAL_CLIENTS" | "CODEX_MASTER_LOG")
            || (k == "XDG_STATE_HOME" && registration.contains_key("CODEX_MASTER_MCP_STATE_DIR"))
            || (k == "XDG_CONFIG_HOME" && registration.contains_key("CODEX_MASTER_MCP_CONFIG_DIR"))
            || (matches!(k, "XDG_RUNTIME_DIR" | "DBUS_SESSION_BUS_ADDRESS") && bus_fallback)
            || matches!(
                k,
                "XDG_DATA_HOME"
                    | "XDG_CACHE_HOME"
                    | "XDG_DATA_DIRS"
                    | "XDG_CONFIG_DIRS"
                    | "XDG_SESSION_ID"
                    | "XDG_SESSION_TYPE"
                    | "XDG_SESSION_CLASS"
            )
    };
    shell.keys().filter(|k| relevant(k) && !covered(k)).cloned().collect()
}

/// How the server is registered: by hand (`codex mcp add`), by the plugin, both, or not at all.
struct Registrations {
    mcp: Option<Registration>,
    plugin: bool,
    approved: usize,
    plugin_cache: &'static str,
    /// The plugin's own settings (its `.mcp.json` in Codex's cache), when it is the only route.
    plugin_timeouts: (Option<f64>, Option<f64>),
    plugin_approved: usize,
}

fn plugin_cache(home: &Path) -> (&'static str, Option<PathBuf>) {
    let Ok(markets) = std::fs::read_dir(home.join("plugins/cache")) else { return ("not_installed", None) };
    let mut found = None;
    for market in markets.flatten() {
        let dir = market.path().join(codex::PLUGIN_NAME);
        for version in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if version.file_name().to_str() == Some(env!("CARGO_PKG_VERSION")) {
                return ("current", Some(version.path()));
            }
            found = Some(version.path());
        }
    }
    match found {
        Some(p) => ("stale", Some(p)),
        None => ("not_installed", None),
    }
}

/// The timeouts and approvals in the plugin's `.mcp.json`.
fn plugin_settings(dir: &Path) -> ((Option<f64>, Option<f64>), usize) {
    let Ok(Some(bytes)) = crate::config::read_file_nofollow(&dir.join(".mcp.json"), 64 * 1024) else {
        return ((None, None), 0);
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let server = &v["mcpServers"][codex::SERVER_NAME];
    let approved = codex::HEADLESS_TOOLS.iter().filter(|t| server["tools"][**t]["approval_mode"] == "approve").count();
    ((server["tool_timeout_sec"].as_f64(), server["startup_timeout_sec"].as_f64()), approved)
}

fn registrations(codex: &Codex) -> Registrations {
    let mcp = codex.registration().ok().flatten();
    let facts = codex.read_config().ok().flatten().map(|t| codex::config_facts(&t)).unwrap_or_default();
    let (cache, dir) = plugin_cache(&codex.home);
    let (plugin_timeouts, plugin_approved) = dir.as_deref().map(plugin_settings).unwrap_or(((None, None), 0));
    Registrations {
        mcp,
        plugin: facts.plugin_enabled,
        approved: facts.approved.len(),
        plugin_cache: cache,
        plugin_timeouts,
        plugin_approved,
    }
}

/// What the server Codex would start says about its state root, started as Codex starts it.
fn lead_fingerprint(command: &Path, env: &BTreeMap<String, String>) -> Option<String> {
    let mut vars: Vec<(&str, String)> =
        setup::LEAD_KEPT_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))).collect();
    vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let program = command.to_string_lossy();
    let out = run_blocking(
        &Cmd::new(&program, &["fingerprint"], Duration::from_secs(10)).clear_env().env(&vars).max_capture(4096),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["state_root"].as_str().map(str::to_owned)
}

/// Whether `systemctl --user` can be asked at all (through the caller's bus or `/run/user`).
fn user_bus_reachable() -> bool {
    let env = super::user_bus_env();
    let out = run_blocking(&Cmd::new("systemctl", &["--user", "is-system-running"], Duration::from_secs(5)).env(&env));
    out.spawn_error.is_none() && !out.timed_out && !out.stdout.is_empty()
}

/// Which Codex home a lead started here reads: `managed_agent_home` (one of ours: a worker
/// must never lead), `main_default_home` (`~/.codex`) or `custom_home`.
pub fn home_kind(registry: &Registry) -> &'static str {
    let active = codex::active_home().and_then(|h| std::fs::canonicalize(h).ok());
    let default = crate::config::absolute_env("HOME").and_then(|h| std::fs::canonicalize(h.join(".codex")).ok());
    let managed = active.as_ref().is_some_and(|act| {
        registry
            .agents()
            .iter()
            .any(|a| a.home.as_deref().and_then(|h| std::fs::canonicalize(h).ok()).as_ref() == Some(act))
    });
    if managed {
        "managed_agent_home"
    } else if active.is_some() && active == default {
        "main_default_home"
    } else {
        "custom_home"
    }
}

/// Running Codex clients and codex-master MCP servers (this user's processes), counted.
pub fn process_summary() -> (u64, u64) {
    let (mut clients, mut servers) = (0, 0);
    let Ok(procs) = std::fs::read_dir("/proc") else { return (0, 0) };
    for entry in procs.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
        let base = |a: &[u8]| a.rsplit(|b| *b == b'/').next().map(<[u8]>::to_vec).unwrap_or_default();
        if args.first().is_some_and(|a| base(a) == b"codex-master-mcp") {
            // The server has no subcommand, or `serve`.
            if args.len() == 1 || args.get(1) == Some(&&b"serve"[..]) {
                servers += 1;
            }
        } else if args.iter().take(2).any(|a| base(a) == b"codex") {
            clients += 1;
        }
    }
    (clients, servers)
}

/// Every fact, for the registry's agents.
pub async fn gather(registry: &Registry) -> Vec<Fact> {
    let mut facts = Vec::new();
    let tmux = crate::tmux::list_panes(&crate::tmux::Place::Local).await;
    facts.push(flag("tmux.available", !matches!(tmux, Err(crate::tmux::TmuxError::NotInstalled))));
    facts.push(flag("tmux.socket_reachable", tmux.is_ok()));
    let panes = tmux.unwrap_or_default();
    facts.extend(host_facts(registry).await);
    let registry = registry.clone();
    let blocking = tokio::task::spawn_blocking(move || gather_blocking(&registry, &panes)).await;
    facts.extend(blocking.unwrap_or_default());
    facts
}

/// Each configured host, asked once: reachable without a prompt, its key known, its tmux, and
/// whether the runners of its agents are executable there.
async fn host_facts(registry: &Registry) -> Vec<Fact> {
    let mut facts = Vec::new();
    for h in registry.hosts() {
        let crate::tmux::Place::Ssh(ssh) = &h.place else { continue };
        let runners: Vec<String> = registry
            .agents()
            .iter()
            .filter(|a| a.place == h.place)
            .filter_map(|a| a.runner.clone().or_else(|| std::env::current_exe().ok()))
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        let p = crate::tmux::ssh::probe(ssh, &runners).await;
        let k = |s: &str| format!("host.{}.{s}", ssh.name);
        facts.push(flag(k("reachable"), p.reachable));
        facts.push(flag(k("host_key_known"), p.host_key_known));
        facts.push(text(k("tmux_version"), &p.tmux_version));
        facts.push(num(k("runners_expected"), runners.len() as i64));
        facts.push(num(k("runners_found"), p.runners_found as i64));
    }
    facts
}

/// How the lead reaches our server: the parts `doctor` and the `master_*` tools share.
#[derive(Debug, Clone, Default)]
pub struct LeadView {
    pub codex_available: bool,
    /// `none`, `mcp` (codex mcp add), `plugin`, or `both`.
    pub route: &'static str,
    pub registration_count: i64,
    /// `this_build`, `other_build`, `missing` or `not_executable`: the binary Codex starts.
    pub binary_state: &'static str,
    /// The effective settings (the hand-made entry wins over the plugin's; Codex's defaults when
    /// unset: 60 s per call, 10 s to start).
    pub tool_timeout_sec: i64,
    pub startup_timeout_sec: i64,
    pub approvals: i64,
    /// `not_installed`, `current` or `stale`.
    pub plugin_cache: &'static str,
    /// The binary Codex starts, and the variables its registration sets (never returned).
    pub target: Option<PathBuf>,
    pub registration_env: BTreeMap<String, String>,
}

/// `this_build` when `p` is this executable or a byte-identical copy (hashed only when the
/// sizes agree), else `other_build`; `not_executable` when it cannot be read.
fn same_build(p: &Path, own: Option<&Path>) -> &'static str {
    use std::os::unix::fs::MetadataExt;
    let (Ok(theirs), Some(own)) = (std::fs::metadata(p), own) else { return "not_executable" };
    let Ok(mine) = std::fs::metadata(own) else { return "not_executable" };
    if (theirs.dev(), theirs.ino()) == (mine.dev(), mine.ino()) {
        return "this_build";
    }
    if theirs.len() != mine.len() {
        return "other_build";
    }
    match (setup::file_sha256(p), setup::file_sha256(own)) {
        (Some(a), Some(b)) if a == b => "this_build",
        (Some(_), Some(_)) => "other_build",
        _ => "not_executable",
    }
}

pub fn lead_view() -> LeadView {
    let codex = Codex::locate(None).ok();
    let own = std::env::current_exe().ok();
    let regs = codex.as_ref().map(registrations);
    let mcp = regs.as_ref().and_then(|r| r.mcp.clone());
    // The binary Codex will start: the registered command, else ours on PATH (the plugin's).
    let target = match &mcp {
        Some(r) if Path::new(&r.command).is_absolute() => Some(PathBuf::from(&r.command)),
        Some(r) => codex::on_path(&r.command),
        None => codex::on_path("codex-master-mcp"),
    };
    let binary_state = match &target {
        None => "missing",
        Some(p) if !p.is_file() => "missing",
        Some(p) => same_build(p, own.as_deref()),
    };
    let (route, count, (tool, startup), approvals, cache) = match &regs {
        None => ("none", 0, (None, None), 0, "not_installed"),
        Some(r) => {
            let route = match (r.mcp.is_some(), r.plugin) {
                (true, true) => "both",
                (true, false) => "mcp",
                (false, true) => "plugin",
                (false, false) => "none",
            };
            let settings = match &r.mcp {
                Some(m) => (m.tool_timeout_sec, m.startup_timeout_sec),
                None => r.plugin_timeouts,
            };
            let approvals = if r.mcp.is_some() { r.approved } else { r.plugin_approved };
            (route, i64::from(r.mcp.is_some()) + i64::from(r.plugin), settings, approvals as i64, r.plugin_cache)
        }
    };
    LeadView {
        codex_available: codex.is_some(),
        route,
        registration_count: count,
        binary_state,
        tool_timeout_sec: tool.unwrap_or(60.0) as i64,
        startup_timeout_sec: startup.unwrap_or(10.0) as i64,
        approvals,
        plugin_cache: cache,
        target,
        registration_env: mcp.map(|m| m.env).unwrap_or_default(),
    }
}

fn gather_blocking(registry: &Registry, panes: &std::collections::HashMap<String, crate::tmux::PaneInfo>) -> Vec<Fact> {
    let mut facts = Vec::new();
    let view = lead_view();
    facts.push(flag("codex.available", view.codex_available));
    facts.push(text("install.binary.state", view.binary_state));
    if view.codex_available {
        facts.push(num("mcp.registration_count", view.registration_count));
        facts.push(text("mcp.route", view.route));
        facts.push(flag("mcp.command_matches", view.binary_state == "this_build"));
        facts.push(num("mcp.tool_timeout_sec", view.tool_timeout_sec));
        facts.push(num("mcp.startup_timeout_sec", view.startup_timeout_sec));
        facts.push(num("approvals.count", view.approvals));
        facts.push(text("plugin.cache_state", view.plugin_cache));
    }
    let target = view.target.clone();
    let registration_env = view.registration_env.clone();
    let shell: BTreeMap<String, String> = std::env::vars().collect();
    let env_pass: Vec<String> = registry.agents().iter().flat_map(|a| a.env_pass.clone()).collect();
    let captured: Vec<String> = crate::state::State::open()
        .map(|s| s.agent_env().into_values().flat_map(BTreeMap::into_keys).collect())
        .unwrap_or_default();
    let bus_fallback = Path::new(&format!("/run/user/{}/bus", rustix::process::getuid().as_raw())).exists();
    let unpassed = unpassed_names(&shell, &registration_env, &captured, &env_pass, bus_fallback);
    facts.push(num("env.unpassed_count", unpassed.len() as i64));
    facts.push(text("env.unpassed_names", &unpassed.join(",")));
    if let Some(t) = &target {
        let lead = lead_fingerprint(t, &registration_env);
        facts.push(flag("state.fingerprint_matches", lead.is_some() && lead == own_fingerprint()));
        let test = setup::self_test(t, &registration_env);
        facts.push(text("selftest.status", if test.ok { "ok" } else { test.failure.unwrap_or("failed") }));
        facts.push(num("selftest.elapsed_ms", test.elapsed_ms as i64));
        facts.push(num("selftest.tool_count", test.tool_count as i64));
    }
    facts.push(flag("bus.reachable", user_bus_reachable()));
    facts.push(flag("skills.valid", skill_frontmatter_ok(SKILL)));
    let rules = crate::ext::config::Settings::load().rule_health();
    facts.push(num("redaction.rule_files", rules.files as i64));
    facts.push(num("redaction.rule_files_left_out", rules.files_left_out as i64));
    facts.push(num("redaction.rules_refused", rules.rules_refused as i64));
    // A running server's view (a CLI call always reads the files afresh).
    facts.push(flag("config.changes_applied", crate::config::reload_problem().is_none()));
    // Per agent, as the seed's doctor.
    let homes: Vec<(&Path, &str)> =
        registry.agents().iter().filter_map(|a| a.home.as_deref().zip(a.provider().home_var())).collect();
    let users = crate::agents::procs::home_users_many(&homes);
    let mut users = users.into_iter();
    for a in registry.agents() {
        let k = |s: &str| format!("agent.{}.{s}", a.name);
        facts.push(flag(k("home.exists"), a.home.as_deref().is_none_or(|h| h.is_dir())));
        let runner = a.runner.as_deref();
        let meta = runner.and_then(|r| std::fs::symlink_metadata(r).ok());
        facts.push(flag(k("runner.configured"), runner.is_some()));
        facts.push(flag(k("runner.regular"), runner.is_none() || meta.as_ref().is_some_and(|m| m.is_file())));
        facts.push(flag(k("runner.executable"), runner.is_none_or(crate::agents::runner_ok)));
        facts.push(flag(k("runner.symlink"), meta.as_ref().is_some_and(|m| m.file_type().is_symlink())));
        facts.push(flag(k("running"), panes.get(&a.session).is_some_and(|p| !p.dead)));
        let external = if a.home.is_some() && a.provider().home_var().is_some() {
            users.next().map_or(0, |u| u.external)
        } else {
            0
        };
        facts.push(num(k("external_process_count"), i64::from(external)));
    }
    facts.push(text("home_context.kind", home_kind(registry)));
    facts.push(num("raw_log.max_files", crate::state::rawlog::MAX_RAW_LOG_FILES as i64));
    facts.push(num("raw_log.max_bytes", crate::state::rawlog::MAX_RAW_LOG_BYTES as i64));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_skill_has_valid_frontmatter_and_broken_ones_do_not() {
        assert!(skill_frontmatter_ok(SKILL));
        assert!(!skill_frontmatter_ok("# no frontmatter\n"));
        assert!(!skill_frontmatter_ok("---\nname: x\n---\n"));
        assert!(!skill_frontmatter_ok("---\nname: x\ndescription: y\n"));
    }

    #[test]
    fn unpassed_variables_are_named_unless_covered() {
        let shell: BTreeMap<String, String> = [
            ("XDG_STATE_HOME", "/s"),
            ("HTTPS_PROXY", "http://p"),
            ("WORKER_TOKEN", "t"),
            ("PATH", "/bin"),
            ("EDITOR", "vi"),
            ("CODEX_MASTER_TMUX_SOCKET", "/t"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let pass = vec!["WORKER_TOKEN".to_owned()];
        let none = unpassed_names(&shell, &BTreeMap::new(), &[], &pass, false);
        assert_eq!(none, ["CODEX_MASTER_TMUX_SOCKET", "HTTPS_PROXY", "WORKER_TOKEN", "XDG_STATE_HOME"]);
        let reg: BTreeMap<String, String> =
            [("CODEX_MASTER_MCP_STATE_DIR", "/s/x"), ("CODEX_MASTER_TMUX_SOCKET", "/t")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(unpassed_names(&shell, &reg, &pass, &pass, false), ["HTTPS_PROXY"]);
    }

    #[test]
    fn fingerprints_compare_roots_without_showing_them() {
        let a = fingerprint(Path::new("/home/u/.local/state/codex-master-mcp"));
        assert_eq!(a.len(), 16);
        assert_eq!(a, fingerprint(Path::new("/home/u/.local/state/codex-master-mcp")));
        assert_ne!(a, fingerprint(Path::new("/x/codex-master-mcp")));
        assert!(!a.contains("home"));
    }
}
