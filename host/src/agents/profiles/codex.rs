//! The OpenAI Codex CLI (0.169 to 0.171).
//!
//! Launch line: the seed's (`--yolo -s danger-full-access --search`) plus `--no-daemon`, which
//! keeps Codex from leaving an app-server daemon behind. No model is forced: Codex runs its own
//! default unless the agent's config names a model or an effort. `CODEX_HOME` is the agent's
//! home; before a start, the home's `config.toml` trusts the agent's working directory, so a
//! fresh home does not stop on the trust screen (`trust_cwd = false` opts out).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{tui, AgentSpec, DialogAnswer, DialogChoice, HomeError, HookCall, HookCommand, HooksState, Provider};
use crate::events::{Event, EventKind, NotificationKind, Usage, UsageWindow};
use crate::ext::types::limits::DialogKind;

pub struct Codex;

/// Largest home `config.toml` we rewrite.
const MAX_HOME_CONFIG_BYTES: u64 = 1024 * 1024;

/// The model an assignment recommends for read-only work (the seed's choice).
pub const READ_ONLY_MODEL: &str = "gpt-5.4-mini";
/// The model an assignment recommends for write work (the seed's choice).
pub const WRITE_MODEL: &str = "gpt-5.3-codex-spark";

/// Codex's model policy for assignments (the scripted agent imitates it).
pub fn role_model(role: super::WorkRole) -> &'static str {
    match role {
        super::WorkRole::ReadOnly => READ_ONLY_MODEL,
        super::WorkRole::Write => WRITE_MODEL,
    }
}

impl Provider for Codex {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn manages_home(&self) -> bool {
        true
    }

    fn role_model(&self, role: super::WorkRole) -> Option<&'static str> {
        Some(role_model(role))
    }

    fn screen(&self) -> &'static str {
        "codex"
    }

    fn default_runner(&self, home: Option<&Path>) -> Option<PathBuf> {
        home.map(|h| h.join("codex"))
    }

    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(model) = &spec.model {
            args.extend(["--model".to_owned(), model.clone(), "-c".to_owned(), format!("model=\"{model}\"")]);
        }
        if let Some(effort) = &spec.reasoning_effort {
            args.extend(["-c".to_owned(), format!("model_reasoning_effort=\"{effort}\"")]);
        }
        args.extend(["--yolo", "-s", "danger-full-access", "--search", "--no-daemon"].map(str::to_owned));
        args.extend(spec.extra_args.iter().cloned());
        // After `--` the prompt is the prompt, whatever it starts with (`-c key=…`).
        if let Some(p) = prompt {
            args.extend(["--".to_owned(), p.to_owned()]);
        }
        args
    }

    /// `codex resume --last` picks the newest session recorded for the working directory.
    fn resume_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Option<Vec<String>> {
        Some(["resume".to_owned(), "--last".to_owned()].into_iter().chain(self.launch_args(spec, prompt)).collect())
    }

    fn launch_env(&self, spec: &AgentSpec) -> Vec<(String, String)> {
        spec.home.iter().map(|h| ("CODEX_HOME".to_owned(), h.to_string_lossy().into_owned())).collect()
    }

    fn home_var(&self) -> Option<&'static str> {
        Some("CODEX_HOME")
    }

    fn interrupt_key(&self) -> &'static str {
        "Escape"
    }

    fn prepare_home(&self, spec: &AgentSpec, cwd: &Path) -> Result<bool, HomeError> {
        match &spec.home {
            Some(home) if spec.trust_cwd => trust_project(home, cwd),
            _ => Ok(false),
        }
    }

    fn composer_text(&self, pane: &str) -> Option<String> {
        tui::composer_text(pane)
    }

    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str> {
        tui::meaningful_lines(pane)
    }

    fn output_after_echo(&self, pane: &str, probe: &str) -> Option<bool> {
        tui::output_after_echo(pane, probe)
    }

    /// Hooks in the home's `hooks.json`, trusted in its `config.toml` the way Codex records a
    /// reviewed hook (`[hooks.state."<file>:<event>:<group>:<hook>"] trusted_hash`), so a
    /// fresh worker does not stop on "Hooks need review". The user's hooks keep their places.
    fn install_hooks(&self, spec: &AgentSpec, hook: &HookCommand, on: bool) -> Result<HooksState, HomeError> {
        let Some(home) = &spec.home else { return Ok(HooksState::NotSupported) };
        let command = hook;
        let hook = on.then_some(hook);
        let group = |event: &str| -> Value {
            let command = hook.map(|h| h.for_event(event)).unwrap_or_default();
            super::hook_group(command, &[("timeout", HOOK_TIMEOUT_SECONDS.into())])
        };
        let mut ours: Vec<(String, String)> = Vec::new();
        let mut merge_failed = false;
        super::update_home_json(home, None, "hooks.json", |o| {
            let changed = super::merge_hooks(o, HOOK_EVENTS, hook.is_some().then_some(&group as &dyn Fn(&str) -> Value))
                .unwrap_or_else(|_| {
                    merge_failed = true;
                    false
                });
            if let (Some(h), Some(Value::Object(table))) = (hook, o.get("hooks")) {
                for event in HOOK_EVENTS {
                    let at = table.get(*event).and_then(Value::as_array).map_or(0, |l| l.len().saturating_sub(1));
                    let snake = snake_case(event);
                    let key = format!("{}:{snake}:{at}:0", home.join("hooks.json").display());
                    ours.push((key, trusted_hash(&snake, &h.for_event(event))));
                }
            }
            changed
        })?;
        if merge_failed {
            return Err(HomeError::Invalid);
        }
        // Off: the records of the commands we would run go too.
        let drop: Vec<String> = if on {
            Vec::new()
        } else {
            HOOK_EVENTS.iter().map(|e| trusted_hash(&snake_case(e), &command.for_event(e))).collect()
        };
        trust_hooks(home, &ours, &drop)?;
        Ok(if hook.is_some() { HooksState::Installed } else { HooksState::Off })
    }

    fn hook_event(&self, call: &HookCall<'_>) -> Option<Event> {
        let mut event = match call.name()? {
            "SessionStart" => call.event(EventKind::SessionStart),
            "UserPromptSubmit" => call.event(EventKind::PromptSubmitted),
            "Stop" => call.event(EventKind::TurnEnded),
            "PermissionRequest" => Event {
                notification: Some(NotificationKind::PermissionPrompt),
                ..call.event(EventKind::PermissionWait)
            },
            "PostToolUse" => call.event(EventKind::ToolDone),
            "Interrupt" => call.event(EventKind::Interrupted),
            "SessionEnd" => call.event(EventKind::SessionEnd),
            _ => return None,
        };
        if let Some(tool) = call.str_field("tool_name") {
            event.tool = Some(super::tool_category(tool));
        }
        event.turn = call.str_field("turn_id").map(crate::events::turn_digest);
        // A turn's end carries the newest rate-limit snapshot of the thread's rollout.
        if matches!(event.kind, EventKind::TurnEnded | EventKind::PromptSubmitted) {
            event.usage = call.str_field("transcript_path").map(rollout_usage).unwrap_or_default();
        }
        Some(event)
    }

    fn dialog_answer(&self, kind: DialogKind, choice: DialogChoice, pane: &str) -> Option<DialogAnswer> {
        let labels: &[&str] = match (kind, choice) {
            (DialogKind::Trust, DialogChoice::Trust) => &["trust and continue", "yes, continue"],
            (DialogKind::SwitchModel, DialogChoice::KeepCurrentModel) => &["keep current model"],
            (DialogKind::LimitIncrease, DialogChoice::No) => &["no (default)", ". no"],
            _ => return None,
        };
        labels.iter().find_map(|l| tui::option_labelled(pane, l)).map(|option| DialogAnswer { option })
    }
}

/// The events our hooks listen to (Codex 0.169 and 0.171 name them alike). Codex fires
/// `SessionStart` at the first turn, not at launch.
const HOOK_EVENTS: &[&str] = &["SessionStart", "UserPromptSubmit", "Stop", "PermissionRequest", "PostToolUse", "Interrupt"];

/// A hook's time bound: Codex caps some events at 3 s and hashes the capped value, so every
/// hook gets 3 (ours ends far sooner).
const HOOK_TIMEOUT_SECONDS: u64 = 3;

/// Most of a rollout's end read for its newest rate-limit snapshot.
const ROLLOUT_TAIL_BYTES: u64 = 256 * 1024;

/// `UserPromptSubmit` → `user_prompt_submit`, Codex's key for an event.
fn snake_case(event: &str) -> String {
    let mut out = String::new();
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The hash Codex records for a reviewed command hook: SHA-256 of the hook's normalized
/// identity as compact JSON with sorted keys (`codex-rs/config/src/fingerprint.rs`).
fn trusted_hash(snake_event: &str, command: &str) -> String {
    use sha2::Digest;
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let identity = format!(
        "{{\"event_name\":{},\"hooks\":[{{\"async\":false,\"command\":{},\"timeout\":{HOOK_TIMEOUT_SECONDS},\"type\":\"command\"}}]}}",
        quote(snake_event),
        quote(command)
    );
    let digest = sha2::Sha256::digest(identity.as_bytes());
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Records `ours` (key, hash) as reviewed in the home's `config.toml`, replacing what those keys
/// held; the user's records stay. Removing ours (`hashes` of the commands we no longer run) drops
/// the records that still hold them.
fn trust_hooks(home: &Path, ours: &[(String, String)], drop_hashes: &[String]) -> Result<bool, HomeError> {
    edit_home_config(home, |table| {
        let hooks = table.entry("hooks").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(hooks) = hooks else { return Err(HomeError::Invalid) };
        let state = hooks.entry("state").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(state) = state else { return Err(HomeError::Invalid) };
        let before = state.clone();
        state.retain(|_, v| {
            let hash = v.get("trusted_hash").and_then(toml::Value::as_str).unwrap_or("");
            !drop_hashes.iter().any(|h| h == hash)
        });
        for (key, hash) in ours {
            let mut entry = toml::Table::new();
            entry.insert("trusted_hash".into(), toml::Value::String(hash.clone()));
            state.insert(key.clone(), toml::Value::Table(entry));
        }
        let changed = *state != before;
        if state.is_empty() {
            hooks.remove("state");
        }
        if hooks.is_empty() {
            table.remove("hooks");
        }
        Ok(changed)
    })
}

/// The newest rate-limit windows of the rollout at `path` (only under this home's `sessions/`,
/// never through a symlink; numbers only are kept).
fn rollout_usage(path: &str) -> Vec<Usage> {
    let Some(home) = std::env::var_os("CODEX_HOME").map(PathBuf::from).filter(|h| h.is_absolute()) else {
        return Vec::new();
    };
    let path = Path::new(path);
    let Ok(rest) = path.strip_prefix(home.join("sessions")) else { return Vec::new() };
    if path.components().any(|c| matches!(c, std::path::Component::ParentDir)) || rest.as_os_str().is_empty() {
        return Vec::new();
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Ok(dir) = crate::fsafe::Dir::walk(dir, false) else { return Vec::new() };
    let Ok(Some((tail, _))) = dir.read_tail(name, 0, ROLLOUT_TAIL_BYTES) else { return Vec::new() };
    let text = String::from_utf8_lossy(&tail);
    text.lines().rev().filter(|l| l.contains("\"rate_limits\"")).find_map(snapshot_usage).unwrap_or_default()
}

/// The windows of one rollout line's `rate_limits` (`primary`, `secondary`: `used_percent`,
/// `window_minutes`, `resets_at`); `None` when the line carries none.
fn snapshot_usage(line: &str) -> Option<Vec<Usage>> {
    let v: Value = serde_json::from_str(line).ok()?;
    let limits = v.pointer("/payload/rate_limits")?;
    let usage: Vec<Usage> = ["primary", "secondary"]
        .iter()
        .filter_map(|k| {
            let w = limits.get(*k)?;
            Some(Usage {
                window: UsageWindow::from_minutes(w.get("window_minutes")?.as_u64()?),
                used_percent: w.get("used_percent")?.as_f64()?.round().clamp(0.0, 100.0) as u8,
                resets_at: w.get("resets_at").and_then(Value::as_u64),
            })
        })
        .collect();
    (!usage.is_empty()).then_some(usage)
}

/// Adds `[projects."<cwd>"] trust_level = "trusted"` to the home's `config.toml`, unless the
/// project already has a trust level (an explicit "untrusted" is kept). Read and written
/// without following symlinks; the write is atomic. `Ok(true)` when it wrote.
pub fn trust_project(home: &Path, cwd: &Path) -> Result<bool, HomeError> {
    let key = cwd.to_string_lossy().into_owned();
    edit_home_config(home, |table| {
        let projects = table.entry("projects").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(projects) = projects else { return Err(HomeError::Invalid) };
        let project = projects.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(project) = project else { return Err(HomeError::Invalid) };
        if project.contains_key("trust_level") {
            return Ok(false);
        }
        project.insert("trust_level".into(), toml::Value::String("trusted".into()));
        Ok(true)
    })
}

/// Edits the home's `config.toml` as a TOML table, read and written without following
/// symlinks (the write is atomic); `edit` says whether it changed the table. No home yet:
/// nothing to do.
fn edit_home_config(
    home: &Path,
    edit: impl FnOnce(&mut toml::Table) -> Result<bool, HomeError>,
) -> Result<bool, HomeError> {
    use crate::fsafe::{Dir, FsError};
    let dir = match Dir::walk(home, false) {
        Ok(d) => d,
        // No home yet: Codex will say so itself.
        Err(FsError::Io(_)) => return Ok(false),
        Err(_) => return Err(HomeError::Unsafe),
    };
    let text = match dir.read_bounded("config.toml", MAX_HOME_CONFIG_BYTES) {
        Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| HomeError::Invalid)?,
        Ok(None) => String::new(),
        Err(FsError::Symlink | FsError::NotRegular) => return Err(HomeError::Unsafe),
        Err(e) => return Err(HomeError::Io(e.to_string())),
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|_| HomeError::Invalid)?;
    if !edit(&mut table)? {
        return Ok(false);
    }
    let out = toml::to_string(&table).map_err(|_| HomeError::Invalid)?;
    dir.replace_atomic("config.toml", out.as_bytes()).map_err(|e| HomeError::Io(e.to_string()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(model: Option<&str>) -> AgentSpec {
        AgentSpec {
            place: crate::tmux::Place::Local,
            name: "a".into(),
            label: "A".into(),
            profile: super::super::Profile::named("codex").unwrap(),
            session: "s".into(),
            home: Some("/srv/home".into()),
            runner: None,
            model: model.map(str::to_owned),
            reasoning_effort: None,
            extra_args: vec![],
            trust_cwd: true,
            env: Default::default(),
            env_pass: vec![],
            classifier: crate::ext::Classifier::Named("codex"),
            memory_max_mib: None,
            events: true,
        }
    }

    #[test]
    fn resume_continues_the_newest_session_of_the_directory() {
        let args = Codex.resume_args(&spec(Some("m")), Some("go on")).unwrap();
        assert_eq!(&args[..2], ["resume", "--last"]);
        assert!(args.contains(&"--no-daemon".to_owned()) && args.last().map(String::as_str) == Some("go on"));
    }

    #[test]
    fn no_model_is_forced_unless_configured() {
        let args = Codex.launch_args(&spec(None), Some("hi"));
        assert!(!args.iter().any(|a| a.contains("model")), "{args:?}");
        assert_eq!(&args[args.len() - 2..], ["--", "hi"]);
        let args = Codex.launch_args(&spec(None), Some("-c model=\"x\""));
        assert_eq!(&args[args.len() - 2..], ["--", "-c model=\"x\""], "a prompt is never an option");
        let args = Codex.launch_args(&spec(Some("gpt-x")), None);
        assert_eq!(&args[..2], ["--model", "gpt-x"]);
        assert!(args.contains(&"--no-daemon".to_owned()));
    }

    #[test]
    fn hook_trust_is_the_hash_codex_records() {
        // Recorded by the real Codex 0.171 when its "Trust all and continue" reviewed this hook
        // (its session_end timeout is capped at 3 s, and the capped value is hashed).
        assert_eq!(
            trusted_hash("session_end", "/tmp/rec-hook.sh codex SessionEnd"),
            "sha256:323420b8204b2042d57b51e7f0c276db6041b7c89a0559b12f5468002c46686b"
        );
        assert_eq!(snake_case("UserPromptSubmit"), "user_prompt_submit");
        assert_eq!(snake_case("Stop"), "stop");
    }

    #[test]
    fn hooks_go_after_the_users_and_are_trusted_then_removed() {
        let dir = std::env::temp_dir().join(format!("cm-codex-hooks-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), "model = \"m\"\n[hooks.state.\"/x/hooks.json:stop:0:0\"]\ntrusted_hash = \"sha256:theirs\"\n").unwrap();
        std::fs::write(dir.join("hooks.json"), r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine"}]}]}}"#).unwrap();
        let mut s = spec(None);
        s.home = Some(dir.clone());
        let hook = HookCommand { line: "/bin/cm hook --codex-master-events --cli codex --agent a --state-dir /s".into() };
        assert_eq!(Codex.install_hooks(&s, &hook, true).unwrap(), HooksState::Installed);
        let hooks: Value = serde_json::from_slice(&std::fs::read(dir.join("hooks.json")).unwrap()).unwrap();
        assert_eq!(hooks["hooks"]["Stop"][0]["hooks"][0]["command"], "mine");
        assert_eq!(hooks["hooks"]["Stop"][1]["hooks"][0]["command"], hook.for_event("Stop"));
        let config: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("config.toml")).unwrap()).unwrap();
        let state = config["hooks"]["state"].as_table().unwrap();
        let ours = format!("{}:stop:1:0", dir.join("hooks.json").display());
        assert_eq!(state[&ours]["trusted_hash"].as_str(), Some(trusted_hash("stop", &hook.for_event("Stop")).as_str()));
        assert_eq!(state["/x/hooks.json:stop:0:0"]["trusted_hash"].as_str(), Some("sha256:theirs"));
        // Installing again changes nothing; turning events off removes ours only.
        assert_eq!(Codex.install_hooks(&s, &hook, true).unwrap(), HooksState::Installed);
        assert_eq!(Codex.install_hooks(&s, &hook, false).unwrap(), HooksState::Off);
        let hooks = std::fs::read_to_string(dir.join("hooks.json")).unwrap();
        assert!(hooks.contains("mine") && !hooks.contains("--codex-master-events"), "{hooks}");
        let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
        assert!(config.contains("sha256:theirs") && !config.contains(&ours), "{config}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rollout_snapshot_gives_the_usage_windows() {
        let line = r#"{"type":"event_msg","payload":{"type":"token_count","rate_limits":{"primary":{"used_percent":92.0,"window_minutes":300,"resets_at":1800000000},"secondary":{"used_percent":40.0,"window_minutes":10080,"resets_at":null}}}}"#;
        let usage = snapshot_usage(line).unwrap();
        assert_eq!(usage.len(), 2);
        assert_eq!((usage[0].window, usage[0].used_percent, usage[0].resets_at), (UsageWindow::FiveHour, 92, Some(1_800_000_000)));
        assert_eq!((usage[1].window, usage[1].used_percent), (UsageWindow::Weekly, 40));
        assert_eq!(snapshot_usage(r#"{"payload":{"rate_limits":{"primary":null,"secondary":null}}}"#), None);
        assert_eq!(rollout_usage("/etc/passwd"), Vec::new());
    }

    #[test]
    fn trust_is_written_once_and_an_explicit_level_is_kept() {
        let dir = std::env::temp_dir().join(format!("cm-trust-{}", crate::fsafe::nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.toml"),
            "model_provider = \"mock\"\n[projects.\"/keep\"]\ntrust_level = \"untrusted\"\n",
        )
        .unwrap();
        assert_eq!(trust_project(&dir, Path::new("/work/a b")), Ok(true));
        assert_eq!(trust_project(&dir, Path::new("/work/a b")), Ok(false));
        assert_eq!(trust_project(&dir, Path::new("/keep")), Ok(false));
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("config.toml")).unwrap()).unwrap();
        assert_eq!(t["model_provider"].as_str(), Some("mock"));
        assert_eq!(t["projects"]["/work/a b"]["trust_level"].as_str(), Some("trusted"));
        assert_eq!(t["projects"]["/keep"]["trust_level"].as_str(), Some("untrusted"));
        std::fs::write(dir.join("config.toml"), "not = [valid").unwrap();
        assert_eq!(trust_project(&dir, Path::new("/x")), Err(HomeError::Invalid));
        std::fs::remove_file(dir.join("config.toml")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("config.toml")).unwrap();
        assert_eq!(trust_project(&dir, Path::new("/x")), Err(HomeError::Unsafe));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
