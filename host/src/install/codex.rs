//! The Codex CLI as the lead: where it keeps its configuration, how our server is registered
//! there (`codex mcp get|add|remove`), and the settings `codex mcp add` cannot write (timeouts,
//! per-tool approvals), added to `config.toml` by a small text edit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{run_blocking, Cmd};

/// Our server's name in Codex's configuration.
pub const SERVER_NAME: &str = "codex-master-mcp";
/// Our plugin's name in a marketplace.
pub const PLUGIN_NAME: &str = "codex-master";
/// Above the longest bounded wait (600 s), so Codex never cuts a wait off.
pub const TOOL_TIMEOUT_SEC: u64 = 610;
/// The server starts in milliseconds; this leaves room for a cold disk.
pub const STARTUP_TIMEOUT_SEC: u64 = 30;
/// The lease-guarded tools Codex marks destructive, which a headless lead (approval `never`)
/// can only call when they are approved in advance.
pub const HEADLESS_TOOLS: [&str; 3] = ["agent_stop", "agent_interrupt", "fleet_watchdog"];
const CODEX_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodexError {
    #[error("codex is not on PATH; install it, or name it with --codex")]
    NotFound,
    #[error("codex {0} failed or timed out")]
    Failed(&'static str),
    #[error("Codex's config.toml must be a regular file (not a symlink) of at most 1 MiB")]
    ConfigNotRegular,
    #[error("Codex's config.toml could not be written")]
    ConfigWrite,
    #[error("Codex's config.toml does not declare our server after `codex mcp add`")]
    ConfigUnexpected,
}

/// One Codex CLI and the home it reads.
#[derive(Debug, Clone)]
pub struct Codex {
    pub program: PathBuf,
    pub home: PathBuf,
}

/// Our server as Codex's configuration registers it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration {
    pub command: String,
    pub args: Vec<String>,
    /// The variables the registration sets (values are compared, never shown).
    pub env: BTreeMap<String, String>,
    pub startup_timeout_sec: Option<f64>,
    pub tool_timeout_sec: Option<f64>,
    pub enabled: bool,
}

/// The Codex home a lead started from this environment reads: `$CODEX_HOME`, else `~/.codex`.
pub fn active_home() -> Option<PathBuf> {
    crate::config::absolute_env("CODEX_HOME").or_else(|| crate::config::absolute_env("HOME").map(|h| h.join(".codex")))
}

use crate::config::is_executable;
pub use crate::config::on_path;

impl Codex {
    /// The named program, else `codex` on `PATH`.
    pub fn locate(explicit: Option<&Path>) -> Result<Codex, CodexError> {
        let program = match explicit {
            Some(p) if is_executable(p) => p.to_path_buf(),
            Some(_) => return Err(CodexError::NotFound),
            None => on_path("codex").ok_or(CodexError::NotFound)?,
        };
        let home = active_home().ok_or(CodexError::NotFound)?;
        Ok(Codex { program, home })
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join("config.toml")
    }

    fn run(&self, args: &[&str], what: &'static str) -> Result<crate::process::Output, CodexError> {
        let program = self.program.to_string_lossy();
        // Codex refuses to start without its home; RUST_BACKTRACE would only add noise.
        let _ = std::fs::create_dir_all(&self.home);
        let env = [("CODEX_HOME", self.home.to_string_lossy().into_owned())];
        let out = run_blocking(
            &Cmd::new(&program, args, CODEX_TIMEOUT).env(&env).remove(&["RUST_BACKTRACE"]).max_capture(256 * 1024),
        );
        if out.spawn_error.is_some() || out.timed_out {
            return Err(CodexError::Failed(what));
        }
        Ok(out)
    }

    /// `codex mcp get codex-master-mcp --json`: `None` when our server is not registered.
    pub fn registration(&self) -> Result<Option<Registration>, CodexError> {
        let out = self.run(&["mcp", "get", SERVER_NAME, "--json"], "mcp get")?;
        if !out.ok() {
            return Ok(None);
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| CodexError::Failed("mcp get"))?;
        Ok(Some(parse_registration(&v)))
    }

    /// `codex mcp add codex-master-mcp --env K=V … -- <command>`.
    pub fn add(&self, command: &Path, env: &BTreeMap<String, String>) -> Result<(), CodexError> {
        let mut args: Vec<String> = vec!["mcp".into(), "add".into(), SERVER_NAME.into()];
        for (k, v) in env {
            args.push("--env".into());
            args.push(format!("{k}={v}"));
        }
        args.push("--".into());
        args.push(command.to_string_lossy().into_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if self.run(&args, "mcp add")?.ok() {
            Ok(())
        } else {
            Err(CodexError::Failed("mcp add"))
        }
    }

    /// `codex mcp remove codex-master-mcp`: whether a registration was removed.
    pub fn remove(&self) -> Result<bool, CodexError> {
        if self.registration()?.is_none() {
            return Ok(false);
        }
        if self.run(&["mcp", "remove", SERVER_NAME], "mcp remove")?.ok() {
            Ok(true)
        } else {
            Err(CodexError::Failed("mcp remove"))
        }
    }

    /// `config.toml`'s text; `None` when there is none. A symlink or an oversized file is refused.
    pub fn read_config(&self) -> Result<Option<String>, CodexError> {
        match crate::config::read_file_nofollow(&self.config_path(), MAX_CONFIG_BYTES) {
            Ok(Some(bytes)) => String::from_utf8(bytes).map(Some).map_err(|_| CodexError::ConfigNotRegular),
            Ok(None) => Ok(None),
            Err(_) => Err(CodexError::ConfigNotRegular),
        }
    }

    /// Replaces `config.toml` atomically (same directory, mode 0600).
    pub fn write_config(&self, text: &str) -> Result<(), CodexError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.config_path();
        let tmp = self.home.join(format!(".config.toml.codex-master.{}", crate::fsafe::nonce()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Err(CodexError::ConfigWrite);
        }
        Ok(())
    }
}

/// Reads `codex mcp get --json` output.
pub fn parse_registration(v: &serde_json::Value) -> Registration {
    let transport = &v["transport"];
    let strings = |x: &serde_json::Value| -> Vec<String> {
        x.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let env = transport["env"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default();
    Registration {
        command: transport["command"].as_str().unwrap_or_default().to_owned(),
        args: strings(&transport["args"]),
        env,
        startup_timeout_sec: v["startup_timeout_sec"].as_f64(),
        tool_timeout_sec: v["tool_timeout_sec"].as_f64(),
        enabled: v["enabled"].as_bool().unwrap_or(false),
    }
}

/// What `config.toml` says besides the registration: approvals and the plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFacts {
    /// Each headless tool with `approval_mode = "approve"` on our server.
    pub approved: Vec<&'static str>,
    /// Our plugin is installed and enabled from some marketplace.
    pub plugin_enabled: bool,
    /// The file parses as TOML.
    pub valid: bool,
}

pub fn config_facts(text: &str) -> ConfigFacts {
    let Ok(doc) = text.parse::<toml::Table>() else { return ConfigFacts::default() };
    let tools = doc
        .get("mcp_servers")
        .and_then(|s| s.get(SERVER_NAME))
        .and_then(|s| s.get("tools"))
        .and_then(toml::Value::as_table);
    let approved = HEADLESS_TOOLS
        .into_iter()
        .filter(|t| {
            tools.and_then(|ts| ts.get(*t)).and_then(|t| t.get("approval_mode")).and_then(toml::Value::as_str)
                == Some("approve")
        })
        .collect();
    let plugin_enabled = doc.get("plugins").and_then(toml::Value::as_table).is_some_and(|plugins| {
        plugins.iter().any(|(key, p)| {
            key.split('@').next() == Some(PLUGIN_NAME)
                && p.get("enabled").and_then(toml::Value::as_bool).unwrap_or(true)
        })
    });
    ConfigFacts { approved, plugin_enabled, valid: true }
}

/// `config.toml` after `codex mcp add`, with the settings it cannot write: the timeouts right
/// under our server's table header, and (with `approve`) one approval table per headless tool.
/// The text is edited, so the user's comments and layout stay; the edit is accepted only when
/// the result parses to exactly the original plus our settings (a line that looks like our
/// header inside a multi-line string is not our header). `None` when the file does not parse as
/// a whole, our table is missing, or no edit gives exactly that.
pub fn with_server_settings(text: &str, approve: bool) -> Option<String> {
    let original: toml::Table = text.parse().ok()?;
    let expected = expected_settings(original, approve)?;
    let header = format!("[mcp_servers.{SERVER_NAME}]");
    let quoted = format!("[mcp_servers.\"{SERVER_NAME}\"]");
    let lines: Vec<&str> = text.lines().collect();
    let candidates = lines.iter().enumerate().filter(|(_, l)| l.trim() == header || l.trim() == quoted);
    candidates
        .map(|(at, _)| edited(&lines, at, approve))
        .find(|out| out.parse::<toml::Table>().ok().as_ref() == Some(&expected))
}

/// The original table with our settings added.
fn expected_settings(mut table: toml::Table, approve: bool) -> Option<toml::Table> {
    let server = table.get_mut("mcp_servers")?.as_table_mut()?.get_mut(SERVER_NAME)?.as_table_mut()?;
    server.insert("startup_timeout_sec".into(), toml::Value::Integer(STARTUP_TIMEOUT_SEC as i64));
    server.insert("tool_timeout_sec".into(), toml::Value::Integer(TOOL_TIMEOUT_SEC as i64));
    if approve {
        let tools = server.entry("tools").or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut()?;
        for tool in HEADLESS_TOOLS {
            let mut t = toml::Table::new();
            t.insert("approval_mode".into(), toml::Value::String("approve".into()));
            tools.insert((*tool).into(), toml::Value::Table(t));
        }
    }
    Some(table)
}

/// The text with the timeouts under line `at` and the approval tables at the end.
fn edited(lines: &[&str], at: usize, approve: bool) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum::<usize>() + 512);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        if i == at {
            out.push_str(&format!(
                "startup_timeout_sec = {STARTUP_TIMEOUT_SEC}\ntool_timeout_sec = {TOOL_TIMEOUT_SEC}\n"
            ));
        }
    }
    if approve {
        for tool in HEADLESS_TOOLS {
            out.push_str(&format!("\n[mcp_servers.{SERVER_NAME}.tools.{tool}]\napproval_mode = \"approve\"\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER_ADD: &str = "model = \"x\"\n\n[mcp_servers.codex-master-mcp]\ncommand = \"/b/codex-master-mcp\"\n\n[mcp_servers.codex-master-mcp.env]\nA = \"1\"\n";

    #[test]
    fn the_settings_codex_mcp_add_cannot_write_are_added_once() {
        let text = with_server_settings(AFTER_ADD, true).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let server = &doc["mcp_servers"][SERVER_NAME];
        assert_eq!(server["tool_timeout_sec"].as_integer(), Some(TOOL_TIMEOUT_SEC as i64));
        assert_eq!(server["startup_timeout_sec"].as_integer(), Some(STARTUP_TIMEOUT_SEC as i64));
        assert_eq!(server["env"]["A"].as_str(), Some("1"));
        assert_eq!(config_facts(&text).approved, HEADLESS_TOOLS.to_vec());
        let plain = with_server_settings(AFTER_ADD, false).unwrap();
        assert!(config_facts(&plain).approved.is_empty());
        assert_eq!(with_server_settings("model = \"x\"\n", true), None);
        // Our header inside a multi-line string is text, not our table: the real one is edited,
        // the string stays as it was.
        let odd = format!("notes = \"\"\"\n[mcp_servers.{SERVER_NAME}]\n\"\"\"\n{AFTER_ADD}");
        let text = with_server_settings(&odd, true).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        assert_eq!(doc["notes"].as_str(), Some(format!("[mcp_servers.{SERVER_NAME}]\n").as_str()));
        assert_eq!(doc["mcp_servers"][SERVER_NAME]["tool_timeout_sec"].as_integer(), Some(TOOL_TIMEOUT_SEC as i64));
        // Only a string that looks like our header, and no table: nothing is edited.
        let only = format!("notes = \"\"\"\n[mcp_servers.{SERVER_NAME}]\n\"\"\"\n");
        assert_eq!(with_server_settings(&only, true), None);
        // A file that does not parse as a whole is never edited.
        assert_eq!(with_server_settings(&format!("{AFTER_ADD}\nbroken = [\n"), true), None);
    }

    #[test]
    fn config_facts_find_the_plugin_and_ignore_other_servers() {
        let text = "[plugins.\"codex-master@codex-master-local\"]\nenabled = true\n[mcp_servers.other.tools.agent_stop]\napproval_mode = \"approve\"\n";
        let facts = config_facts(text);
        assert!(facts.plugin_enabled && facts.valid && facts.approved.is_empty());
        assert!(!config_facts("[plugins.\"codex-master@m\"]\nenabled = false\n").plugin_enabled);
        assert!(!config_facts("not toml [").valid);
    }

    #[test]
    fn registrations_read_from_codex_json() {
        let v = serde_json::json!({"name": SERVER_NAME, "enabled": true, "transport": {"type": "stdio", "command": "/b/x", "args": [], "env": {"K": "v"}}, "startup_timeout_sec": 30.0, "tool_timeout_sec": 610.0});
        let r = parse_registration(&v);
        assert_eq!(r.command, "/b/x");
        assert_eq!(r.env.get("K").map(String::as_str), Some("v"));
        assert_eq!((r.startup_timeout_sec, r.tool_timeout_sec, r.enabled), (Some(30.0), Some(610.0), true));
    }
}
