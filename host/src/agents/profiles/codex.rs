//! The OpenAI Codex CLI (0.169 to 0.171).
//!
//! Launch line: the seed's (`--yolo -s danger-full-access --search`) plus `--no-daemon`, which
//! keeps Codex from leaving an app-server daemon behind. No model is forced: Codex runs its own
//! default unless the agent's config names a model or an effort. `CODEX_HOME` is the agent's
//! home; before a start, the home's `config.toml` trusts the agent's working directory, so a
//! fresh home does not stop on the trust screen (`trust_cwd = false` opts out).

use std::path::{Path, PathBuf};

use super::{tui, AgentSpec, DialogAnswer, DialogChoice, HomeError, Provider};
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
        args.extend(prompt.map(str::to_owned));
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

/// Adds `[projects."<cwd>"] trust_level = "trusted"` to the home's `config.toml`, unless the
/// project already has a trust level (an explicit "untrusted" is kept). Read and written
/// without following symlinks; the write is atomic. `Ok(true)` when it wrote.
pub fn trust_project(home: &Path, cwd: &Path) -> Result<bool, HomeError> {
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
    let key = cwd.to_string_lossy().into_owned();
    let projects = table.entry("projects").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(projects) = projects else { return Err(HomeError::Invalid) };
    let project = projects.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(project) = project else { return Err(HomeError::Invalid) };
    if project.contains_key("trust_level") {
        return Ok(false);
    }
    project.insert("trust_level".into(), toml::Value::String("trusted".into()));
    let out = toml::to_string(&table).map_err(|_| HomeError::Invalid)?;
    dir.replace_atomic("config.toml", out.as_bytes()).map_err(|e| HomeError::Io(e.to_string()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(model: Option<&str>) -> AgentSpec {
        AgentSpec {
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
        assert_eq!(args.last().map(String::as_str), Some("hi"));
        let args = Codex.launch_args(&spec(Some("gpt-x")), None);
        assert_eq!(&args[..2], ["--model", "gpt-x"]);
        assert!(args.contains(&"--no-daemon".to_owned()));
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
