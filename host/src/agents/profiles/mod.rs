//! Agent providers: everything that differs between worker CLIs, behind one trait (the way
//! ripgrep puts its engines behind `Matcher`).
//!
//! A provider owns its launch line and environment, its interrupt key, how its screen shows the
//! composer and chrome, which classifier dialect reads it, how its home is prepared, which
//! keys answer a dialog, and its model policy. The rest of the host calls the trait and never
//! asks which CLI it is. A new provider is one file here plus its line in the `providers!`
//! registration below.

use crate::wire::wire_enum;
use std::path::{Path, PathBuf};

use super::AgentSpec;
use crate::events::{Event, EventKind, ToolCategory};
use crate::ext::types::limits::DialogKind;

/// Declares the provider modules and lists them in [`PROVIDERS`].
macro_rules! providers {
    ($($module:ident :: $provider:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every provider, in the order the docs list them.
        pub const PROVIDERS: &[&dyn Provider] = &[$(&$module::$provider),*];
    };
}

// The registration: one line per provider.
providers! {
    claude::Claude,
    codex::Codex,
    gemini::Gemini,
    generic::Generic,
    scripted::Scripted,
}

/// The profile an agent gets when its config names none.
pub const DEFAULT_PROFILE: &str = "codex";

wire_enum!(
    /// An allowlisted answer to a dialog. Free text is never typed into a dialog.
    DialogChoice {
        /// Trust the folder (only the agent's own recorded working directory).
        Trust => "trust",
        /// Keep the current model (the switch-model popup).
        KeepCurrentModel => "keep_current_model",
        /// Decline (the limit-increase popup).
        No => "no",
    }
);

impl DialogChoice {
    /// The one choice allowed for a kind of dialog (none for unknown dialogs).
    pub fn allowed_for(kind: DialogKind) -> Option<DialogChoice> {
        match kind {
            DialogKind::Trust => Some(DialogChoice::Trust),
            DialogKind::SwitchModel => Some(DialogChoice::KeepCurrentModel),
            DialogKind::LimitIncrease => Some(DialogChoice::No),
            DialogKind::SignIn | DialogKind::Other | DialogKind::None => None,
        }
    }
}

/// How a dialog is answered: the option to pick, and the label it must carry on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogAnswer {
    /// The option's number as the dialog shows it.
    pub option: u32,
}

/// Why a home could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HomeError {
    #[error("the agent home's config.toml is not a regular file we can update safely")]
    Unsafe,
    #[error("the agent home's config.toml is not valid TOML; fix it or set trust_cwd = false")]
    Invalid,
    #[error("the agent home could not be updated: {0}")]
    Io(String),
}

/// One worker CLI.
pub trait Provider: Sync {
    /// The profile name in configs and outputs.
    fn name(&self) -> &'static str;

    /// The screen dialect the limit classifier is told.
    fn screen(&self) -> &'static str;

    /// The default classifier that reads this CLI's screen (an agent's `classifier` overrides).
    fn classifier(&self) -> &'static str {
        "codex"
    }

    /// The runner when the config names none.
    fn default_runner(&self, home: Option<&Path>) -> Option<PathBuf>;

    /// The config must name a runner (there is no sensible default).
    fn needs_runner(&self) -> bool {
        false
    }

    /// This binary is the runner (the scripted agent).
    fn runs_in_this_binary(&self) -> bool {
        false
    }

    /// A start prepares the agent's home ([`Provider::prepare_home`]).
    fn manages_home(&self) -> bool {
        false
    }

    /// The model an assignment of `role` recommends; `None` leaves it to the CLI.
    fn role_model(&self, _role: WorkRole) -> Option<&'static str> {
        None
    }

    /// The argument vector after the runner (and the initial prompt last, when given), passed
    /// so that the CLI reads the prompt and the model as values, never as options.
    fn launch_args(&self, spec: &AgentSpec, prompt: Option<&str>) -> Vec<String>;

    /// Whether [`Provider::launch_args`] passes any prompt as a value; a CLI we know nothing of
    /// cannot, so a prompt that starts with `-` is refused for it.
    fn prompt_is_a_value(&self) -> bool {
        true
    }

    /// The argument vector that resumes the newest thread the CLI recorded for the working
    /// directory, with the prompt as its next turn; `None`: this CLI cannot resume.
    fn resume_args(&self, _spec: &AgentSpec, _prompt: Option<&str>) -> Option<Vec<String>> {
        None
    }

    /// Environment for the agent beyond the managed markers (`CODEX_HOME` for Codex).
    fn launch_env(&self, spec: &AgentSpec) -> Vec<(String, String)>;

    /// Variables the worker must not inherit from the server (unless its config sets them):
    /// names that turn a CLI in a tmux pane into a headless one.
    fn launch_unset(&self) -> &'static [&'static str] {
        &[]
    }

    /// The environment variable that names an agent's home, for the `/proc` scan of who else
    /// uses it.
    fn home_var(&self) -> Option<&'static str>;

    /// The tmux key that interrupts a turn.
    fn interrupt_key(&self) -> &'static str;

    /// How long to wait between a paste the composer shows and the Enter that submits it.
    fn enter_after_paste(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Makes the home ready before a start (Codex: trust for the working directory).
    /// `Ok(true)` when it changed the home.
    fn prepare_home(&self, _spec: &AgentSpec, _cwd: &Path) -> Result<bool, HomeError> {
        Ok(false)
    }

    /// The composer's text, whitespace-collapsed; `None` when no composer is visible.
    fn composer_text(&self, pane: &str) -> Option<String>;

    /// The pane without blank rows and without the composer and what is below it.
    fn meaningful_lines<'a>(&self, pane: &'a str) -> Vec<&'a str>;

    /// Whether the CLI printed anything after the echo of a prompt starting with `probe`:
    /// `Some(false)` while only the echo shows, `None` when the echo is not visible.
    fn output_after_echo(&self, _pane: &str, _probe: &str) -> Option<bool> {
        None
    }

    /// Which option answers `choice` on this screen, if the dialog shows it.
    fn dialog_answer(&self, _kind: DialogKind, _choice: DialogChoice, _pane: &str) -> Option<DialogAnswer> {
        None
    }

    /// Where this CLI loads skills from, under the agent's home.
    fn skills_roots(&self) -> crate::skills::Roots {
        crate::skills::CODEX_ROOTS
    }

    /// The option a dialog's cursor is on, where typing its number only moved the cursor (then
    /// Enter accepts it). Codex marks it with `›` in column 0.
    fn selected_option(&self, pane: &str) -> Option<u32> {
        pane.lines().filter(|l| l.starts_with('›')).find_map(tui::option_number)
    }

    /// Writes this CLI's hook config into the agent's home so that its events reach `hook`
    /// (merged with the user's hooks, which keep running), or removes ours when `on` is false.
    /// Says what the home holds afterwards.
    fn install_hooks(&self, _spec: &AgentSpec, _hook: &HookCommand, _on: bool) -> Result<HooksState, HomeError> {
        Ok(HooksState::NotSupported)
    }

    /// Whether the CLI reports its session start when it is up (Claude Code, Gemini CLI), so
    /// that a worker is not idle before it; Codex reports it at the first turn.
    fn session_start_at_launch(&self) -> bool {
        false
    }

    /// How long after its session start the CLI still drops a paste (Gemini CLI, resuming a
    /// session, ignores one for up to a second): a send waits that long.
    fn input_settle(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// The event one hook invocation of this CLI reports, as words and numbers; `None` for
    /// what we do not keep.
    fn hook_event(&self, _call: &HookCall<'_>) -> Option<Event> {
        None
    }
}

/// The marker word in every hook command we install: how our entries are told from the user's.
pub const HOOK_MARKER: &str = "--codex-master-events";

/// The command a CLI's hook config runs: this binary's `hook` subcommand for one agent, shell
/// quoted; each event adds `--event NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCommand {
    pub line: String,
}

impl HookCommand {
    pub fn for_event(&self, event: &str) -> String {
        format!("{} --event {event}", self.line)
    }
}

crate::wire::wire_enum!(
    /// What an agent's home holds for its events after a start.
    HooksState {
        /// Our hooks are in the CLI's config.
        Installed => "installed",
        /// The agent's config turns events off (`events = false`); ours were removed.
        Off => "off",
        /// The user's own settings switch every hook off: only the screen is read.
        DisabledByUser => "disabled_by_user",
        /// This CLI has no hooks we use, or the agent has no managed home.
        NotSupported => "not_supported",
        /// The home could not be updated: only the screen is read (never a provider's answer).
        Unavailable => "unavailable",
    }
);

/// One hook invocation as the `hook` subcommand received it.
pub struct HookCall<'a> {
    /// The event our config named (`--event`), when the input does not name it.
    pub event: Option<&'a str>,
    /// The CLI's JSON (stdin, or Codex's `notify` argument); `Null` when it was no JSON.
    pub input: &'a serde_json::Value,
    pub at_ms: u64,
}

impl HookCall<'_> {
    /// The event name: the input's `hook_event_name`, else ours.
    pub fn name(&self) -> Option<&str> {
        self.input.get("hook_event_name").and_then(|v| v.as_str()).or(self.event)
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.input.get(key).and_then(|v| v.as_str())
    }

    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(kind, self.at_ms)
    }
}

/// The category of a tool by its name (never its arguments).
pub fn tool_category(name: &str) -> ToolCategory {
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        _ if n.starts_with("mcp") => ToolCategory::Mcp,
        "bash" | "shell" | "exec" | "exec_command" | "run_shell_command" | "local_shell" | "unified_exec" => {
            ToolCategory::Shell
        }
        "edit" | "write" | "multiedit" | "notebookedit" | "write_file" | "replace" | "apply_patch" => {
            ToolCategory::Edit
        }
        "read"
        | "glob"
        | "grep"
        | "ls"
        | "read_file"
        | "read_many_files"
        | "list_directory"
        | "search_file_content" => ToolCategory::Read,
        "webfetch" | "websearch" | "web_fetch" | "google_web_search" | "web_search" => ToolCategory::Web,
        "task" | "agent" => ToolCategory::Agent,
        _ => ToolCategory::Other,
    }
}

/// A command (`{"type": "command", "command": …}` plus `extra` fields), the shape of a hook and of
/// Claude Code's status line.
pub fn command_entry(command: String, extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut entry = serde_json::Map::new();
    entry.insert("type".into(), "command".into());
    entry.insert("command".into(), command.into());
    for (k, v) in extra {
        entry.insert((*k).into(), v.clone());
    }
    serde_json::Value::Object(entry)
}

/// One hook group holding one command (`{"hooks": [command]}`), as Claude Code, Gemini CLI and
/// Codex read it.
pub fn hook_group(command: String, extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut group = serde_json::Map::new();
    group.insert("hooks".into(), serde_json::Value::Array(vec![command_entry(command, extra)]));
    serde_json::Value::Object(group)
}

/// Merges our hook groups into a settings object's `hooks` table (Claude Code and Gemini CLI
/// share the shape: event → `[{matcher?, hooks: [{type, command, …}]}]`). The user's entries
/// stay as they are; ours (their command holds [`HOOK_MARKER`]) are replaced by `group(event)`
/// for each of `events`, or only removed when `group` is `None`. `Err(Invalid)`: `hooks` is not
/// a table we can read, and nothing was changed.
pub fn merge_hooks(
    settings: &mut serde_json::Map<String, serde_json::Value>,
    events: &[&str],
    group: Option<&dyn Fn(&str) -> serde_json::Value>,
) -> Result<bool, HomeError> {
    use serde_json::Value;
    let before = settings.get("hooks").cloned();
    if before.as_ref().is_some_and(|h| !h.is_object()) {
        return Err(HomeError::Invalid);
    }
    let ours = |h: &Value| h.get("command").and_then(Value::as_str).is_some_and(|c| c.contains(HOOK_MARKER));
    let mut table = match before.clone() {
        Some(Value::Object(t)) => t,
        _ => serde_json::Map::new(),
    };
    for groups in table.values_mut() {
        let Some(list) = groups.as_array_mut() else { continue };
        list.retain_mut(|g| match g.get_mut("hooks").and_then(Value::as_array_mut) {
            Some(hooks) if hooks.iter().any(ours) => {
                hooks.retain(|h| !ours(h));
                !hooks.is_empty()
            }
            _ => true,
        });
    }
    table.retain(|_, groups| groups.as_array().is_none_or(|l| !l.is_empty()));
    if let Some(group) = group {
        for event in events {
            let list = table.entry(*event).or_insert_with(|| Value::Array(Vec::new()));
            match list.as_array_mut() {
                Some(l) => l.push(group(event)),
                None => return Err(HomeError::Invalid),
            }
        }
    }
    if table.is_empty() && before.is_none() {
        return Ok(false);
    }
    let after = Value::Object(table);
    let changed = before.as_ref() != Some(&after);
    settings.insert("hooks".into(), after);
    Ok(changed)
}

/// What an assignment lets a worker do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkRole {
    ReadOnly,
    Write,
}

/// Which provider an agent uses: a handle on one of [`PROVIDERS`], named in configs by
/// `profile = "<name>"`.
#[derive(Clone, Copy)]
pub struct Profile(&'static dyn Provider);

impl Profile {
    pub fn named(name: &str) -> Option<Profile> {
        PROVIDERS.iter().find(|p| p.name() == name).map(|p| Profile(*p))
    }

    pub fn default_profile() -> Profile {
        Profile::named(DEFAULT_PROFILE).expect("the default profile is registered")
    }

    pub fn all() -> impl Iterator<Item = Profile> {
        PROVIDERS.iter().map(|p| Profile(*p))
    }

    pub fn provider(self) -> &'static dyn Provider {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl PartialEq for Profile {
    fn eq(&self, other: &Profile) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Profile {}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Profile({})", self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
        let name = String::deserialize(d)?;
        Profile::named(&name).ok_or_else(|| {
            let known: Vec<&str> = PROVIDERS.iter().map(|p| p.name()).collect();
            serde::de::Error::custom(format!("unknown profile; one of {}", known.join(", ")))
        })
    }
}

/// Updates a JSON object file in an agent's home (`sub` is a directory in it, created when
/// missing), read and written without following symlinks, atomically. `update` returns whether
/// it changed the object; `Ok(true)` when the file was written. No home yet: nothing to do.
pub fn update_home_json(
    home: &Path,
    sub: Option<&str>,
    file: &str,
    update: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool,
) -> Result<bool, HomeError> {
    use crate::fsafe::{Dir, FsError};
    let dir = match Dir::walk(home, false) {
        Ok(d) => d,
        Err(FsError::Io(_)) => return Ok(false),
        Err(_) => return Err(HomeError::Unsafe),
    };
    let dir = match sub {
        Some(s) => dir.subdir_create(s).map_err(|_| HomeError::Unsafe)?,
        None => dir,
    };
    let mut object = match dir.read_bounded(file, 4 * 1024 * 1024) {
        Ok(Some(bytes)) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(HomeError::Invalid),
        },
        Ok(None) => serde_json::Map::new(),
        Err(FsError::Symlink | FsError::NotRegular) => return Err(HomeError::Unsafe),
        Err(e) => return Err(HomeError::Io(e.to_string())),
    };
    if !update(&mut object) {
        return Ok(false);
    }
    let bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(object)).map_err(|_| HomeError::Invalid)?;
    dir.replace_atomic(file, &bytes).map_err(|e| HomeError::Io(e.to_string()))?;
    Ok(true)
}

/// The default runner of a CLI installed globally: the first executable `name` on `PATH`.
pub use crate::config::on_path;

/// Whitespace-collapsed text.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Codex TUI's bottom area, shared by the providers that draw it.
pub mod tui {
    use super::collapse;

    /// `› 2. No (default) (n)`: a numbered option, not the composer.
    pub fn option_number(line: &str) -> Option<u32> {
        let t = line.trim_start().trim_start_matches(['›', '>', '❯']).trim_start();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        if digits == 0 || digits > 2 || !t[digits..].starts_with(". ") {
            return None;
        }
        t[..digits].parse().ok()
    }

    /// The index of the composer line: the last column-0 `›` that is no option.
    pub fn composer_at(lines: &[&str]) -> Option<usize> {
        lines.iter().rposition(|l| l.starts_with('›') && option_number(l).is_none())
    }

    /// The composer's text: its line and the lines after it up to a blank one (the footer
    /// below, which on 0.171 shows the thread's first prompt, is not part of it).
    pub fn composer_text(pane: &str) -> Option<String> {
        let lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
        let at = composer_at(&lines)?;
        let end = lines[at..].iter().position(|l| l.trim().is_empty()).map_or(lines.len(), |n| at + n);
        Some(collapse(&lines[at..end].join(" ").replacen('›', "", 1)))
    }

    /// The pane above the composer, without blank rows.
    pub fn meaningful_lines(pane: &str) -> Vec<&str> {
        let lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
        let end = composer_at(&lines).unwrap_or(lines.len());
        lines[..end].iter().copied().filter(|l| !l.trim().is_empty()).collect()
    }

    /// Whether a history cell follows the last echo (a column-0 `›` line above the composer)
    /// of a prompt that starts with `probe`.
    pub fn output_after_echo(pane: &str, probe: &str) -> Option<bool> {
        let lines: Vec<&str> = pane.lines().map(str::trim_end).collect();
        let end = composer_at(&lines).unwrap_or(lines.len());
        let history = &lines[..end];
        let echo = history.iter().rposition(|l| {
            l.starts_with('›') && option_number(l).is_none() && collapse(&l.replacen('›', "", 1)).starts_with(probe)
        })?;
        Some(history[echo + 1..].iter().any(|l| l.chars().next().is_some_and(|c| !c.is_whitespace() && c != '›')))
    }

    /// The number of the option whose label contains `label` (case-insensitive).
    pub fn option_labelled(pane: &str, label: &str) -> Option<u32> {
        let label = label.to_lowercase();
        pane.lines()
            .filter_map(|l| option_number(l).map(|n| (n, l.to_lowercase())))
            .find(|(_, l)| l.contains(&label))
            .map(|(n, _)| n)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_footer_is_no_part_of_the_composer() {
            let pane = "› hello\n\n• hi\n\n› Ask Codex to do anything\n\n  GPT-6.2-Sol default · ~/w · You've hit your usage limit\n  ? for shortcuts\n";
            assert_eq!(composer_text(pane).as_deref(), Some("Ask Codex to do anything"));
            assert_eq!(meaningful_lines(pane), ["› hello", "• hi"]);
            let popup = "  Usage limit reached\n\n  1. Yes (y)\n› 2. No (default) (n)\n\n  enter select · esc back";
            assert_eq!(composer_text(popup), None);
            assert_eq!(option_labelled(popup, "no (default)"), Some(2));
            let sent = "› run the tests\n  and report\n\n› Ask Codex to do anything\n\n  footer";
            assert_eq!(output_after_echo(sent, "run the tests"), Some(false));
            let answered = "› run the tests\n\n• Done.\n\n› Ask Codex to do anything\n";
            assert_eq!(output_after_echo(answered, "run the tests"), Some(true));
            assert_eq!(output_after_echo(answered, "something else"), None);
        }
    }
}
