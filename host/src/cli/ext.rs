//! `codex-master-mcp ext list | verify [PATH] | install KIND PATH | remove KIND | run KIND`.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{json, Value};

use crate::ext::config::{self, InstalledFile, Override, Settings};
use crate::ext::types::limits;
use crate::ext::{self, worlds, ExtError, Extensions, Health, Kind, Slot, Source, World, KINDS};
use crate::fsafe::Dir;
use crate::tools::ext_json as ej;

/// Largest input `ext run` reads.
const MAX_RUN_INPUT: u64 = 16 * 1024 * 1024;

pub fn command() -> Command {
    let kind = || Arg::new("kind").required(true).value_parser(["limits", "redaction", "doctor", "prompts"]);
    Command::new(super::Sub::Ext.as_str())
        .about("Manage and try the WebAssembly extensions (limit classifier, redaction, doctor checks, prompt templates).")
        .subcommand_required(true)
        .subcommand(Command::new("list").about("Show the active extension of each kind."))
        .subcommand(
            Command::new("verify")
                .about(
                    "Check a component (its world, API version, self-test vectors and, for redaction, the host's conformance vectors) \
                     or a redaction rule file (.toml: every rule, named by id). Without PATH: the configured team rule files.",
                )
                .arg(Arg::new("path")),
        )
        .subcommand(
            Command::new("new")
                .about("Write a ready extension crate from a template (the SDK, the WIT contracts and, for redaction, the default engine vendored): it builds anywhere.")
                .arg(Arg::new("template").required(true).value_parser(super::scaffold::Template::NAMES))
                .arg(Arg::new("name").required(true).help("The crate's name: a lower-case letter, then lower-case letters, digits and '-'."))
                .arg(Arg::new("dir").long("dir").help("Where to create the crate's directory (default: here).")),
        )
        .subcommand(
            Command::new("build")
                .about("Build an extension crate for WebAssembly and turn it into a component: DIR/<name>.wasm.")
                .arg(Arg::new("dir").help("The crate's directory (default: here).")),
        )
        .subcommand(Command::new("install").about("Verify a component and make it the active extension of its kind.").arg(kind()).arg(Arg::new("path").required(true)))
        .subcommand(Command::new("remove").about("Go back to the embedded default for a kind.").arg(kind()))
        .subcommand(
            Command::new("run")
                .about("Run the active extension of a kind on stdin (or --file): limits and redaction take text, prompts an assignment JSON, doctor facts JSON.")
                .arg(kind())
                .arg(Arg::new("file").long("file").help("Read the input from this file instead of stdin."))
                .arg(Arg::new("lines").long("lines").action(ArgAction::SetTrue).help("redaction: redact each line on its own."))
                .arg(
                    Arg::new("profile")
                        .long("profile")
                        .value_parser(crate::agents::profiles::Profile::all().map(|p| p.name()).collect::<Vec<_>>())
                        .help("limits: classify as this profile's screen, with its default classifier (codex, claude, gemini …)."),
                )
                .arg(
                    Arg::new("agent")
                        .long("agent")
                        .conflicts_with_all(["profile", "component"])
                        .help("limits: classify with the classifier this configured agent uses (a pinned one included), as its profile's screen."),
                )
                .arg(
                    Arg::new("component")
                        .long("component")
                        .help("limits: classify with this component file (as --profile's screen, else Codex's)."),
                ),
        )
}

fn error_json(code: &str, message: &str) -> Value {
    let message = crate::text::safe_error_text(message);
    json!({"ok": false, "error_code": code, "message": message, "error": message, "retryable": false})
}

fn ext_error(e: &ExtError) -> Value {
    error_json(e.code().as_str(), &e.to_string())
}

fn absolute(path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")).join(p)
    }
}

fn read_component(path: &str) -> Result<Vec<u8>, Value> {
    config::read_file_nofollow(&absolute(path), ext::MAX_COMPONENT_BYTES)
        .map_err(|e| error_json("extension_unreadable", &format!("the component could not be read: {e}")))?
        .ok_or_else(|| error_json("extension_unreadable", "the component file does not exist"))
}

/// Runs `(kind, exit code, JSON)` for `ext …`.
pub fn run(m: &ArgMatches) -> (i32, Value) {
    let (ok, v) = match m.subcommand() {
        Some(("list", _)) => (true, list()),
        Some(("verify", sub)) => {
            let v = match sub.get_one::<String>("path") {
                None => verify_configured_rules(),
                Some(path) => match read_component(path) {
                    Ok(bytes) if !bytes.starts_with(b"\0asm") => verify_rule_file(path, &bytes),
                    // A core module (version 1) is what cargo writes; a component has layer 1.
                    Ok(bytes) if bytes.get(4..8) == Some(&[1, 0, 0, 0]) => error_json(
                        "not_a_component",
                        "this is a core WebAssembly module, not a component: build the crate with `codex-master-mcp ext build`, which turns it into one",
                    ),
                    Ok(bytes) => verify(&bytes),
                    Err(e) => e,
                },
            };
            (v["ok"] == json!(true), v)
        }
        Some(("new", sub)) => {
            let template = sub.get_one::<String>("template").expect("required");
            let template = super::scaffold::Template::named(template).expect("clap checked");
            let parent = sub.get_one::<String>("dir").map_or_else(|| absolute("."), |d| absolute(d));
            match new_crate(template, sub.get_one::<String>("name").expect("required"), &parent) {
                Ok(v) => (true, v),
                Err(e) => (false, e),
            }
        }
        Some(("build", sub)) => {
            let dir = sub.get_one::<String>("dir").map_or_else(|| absolute("."), |d| absolute(d));
            match super::component_build::build(&dir) {
                Ok(b) => (
                    true,
                    json!({"ok": true, "component": b.file, "bytes": b.bytes, "sha256": b.sha256, "next": format!("codex-master-mcp ext verify {}", b.file)}),
                ),
                Err(e) => (false, error_json(e.code(), &e.to_string())),
            }
        }
        Some(("install", sub)) => {
            let kind = Kind::from_name(sub.get_one::<String>("kind").expect("required")).expect("clap checked");
            match install(kind, sub.get_one::<String>("path").expect("required")) {
                Ok(v) => (true, v),
                Err(e) => (false, e),
            }
        }
        Some(("remove", sub)) => {
            let kind = Kind::from_name(sub.get_one::<String>("kind").expect("required")).expect("clap checked");
            match remove(kind) {
                Ok(v) => (true, v),
                Err(e) => (false, e),
            }
        }
        Some(("run", sub)) => {
            let kind = Kind::from_name(sub.get_one::<String>("kind").expect("required")).expect("clap checked");
            let options = RunOptions {
                lines: sub.get_flag("lines"),
                profile: sub.get_one::<String>("profile").map(String::as_str),
                agent: sub.get_one::<String>("agent").map(String::as_str),
                component: sub.get_one::<String>("component").map(String::as_str),
            };
            if kind != Kind::Limits && (options.agent.is_some() || options.component.is_some()) {
                let e =
                    error_json("usage", "--agent and --component choose a classifier: they go with `ext run limits`");
                return (super::EXIT_USAGE, e);
            }
            match read_input(sub.get_one::<String>("file")) {
                Ok(input) => run_kind(kind, &input, &options),
                Err(e) => (false, e),
            }
        }
        _ => (false, error_json("usage", "unknown ext command")),
    };
    (if ok { super::EXIT_OK } else { super::EXIT_FAILED }, v)
}

/// `ext new TEMPLATE NAME`: the crate `parent/NAME`.
fn new_crate(template: super::scaffold::Template, name: &str, parent: &Path) -> Result<Value, Value> {
    use super::scaffold::{self, ScaffoldError};
    if !scaffold::valid_crate_name(name) {
        return Err(error_json(
            "invalid_arguments",
            "the name is a lower-case letter, then lower-case letters, digits and '-' (at most 64)",
        ));
    }
    match scaffold::write(template, name, &parent.join(name)) {
        Ok(files) => Ok(json!({
            "ok": true,
            "crate": name,
            "files": files,
            "next": format!("cd {name} && codex-master-mcp ext build && codex-master-mcp ext verify {name}.wasm"),
        })),
        Err(e @ ScaffoldError::Exists) => Err(error_json("already_exists", &e.to_string())),
        Err(e) => Err(error_json("write_failed", &e.to_string())),
    }
}

fn list() -> Value {
    let exts = Extensions::new(Settings::load());
    let items: Vec<Value> = KINDS
        .into_iter()
        .map(|kind| {
            let mut item =
                json!({"kind": kind.name(), "world": kind.world(), "source": exts.settings().source(kind).name()});
            match exts.status(kind) {
                Ok((info, health)) => {
                    match health {
                        Health::Ok => item["status"] = json!("ok"),
                        Health::Disabled { retry_in } => {
                            item["status"] = json!("disabled");
                            item["retry_in_seconds"] = json!(retry_in.as_secs());
                        }
                    }
                    item["name"] = json!(info.name);
                    item["version"] = json!(info.version);
                    item["api_version"] = json!(info.api_version);
                    item["world"] = json!(kind.world_at(&info.api_version));
                    item["sha256"] = json!(info.sha256);
                    item["loaded_from_cache"] = json!(info.from_cache);
                }
                Err(e) => {
                    item["status"] = json!("error");
                    item["error_code"] = json!(e.code());
                    item["message"] = json!(crate::text::safe_error_text(&e.to_string()));
                }
            }
            item
        })
        .collect();
    // Which classifier reads each agent's screen (name and digest; never a path).
    let classifiers: Vec<Value> = crate::agents::Registry::load()
        .map(|r| {
            r.agents()
                .iter()
                .map(|a| {
                    let (name, sha256) = a.classifier.identity(exts.settings());
                    json!({"agent": a.name, "profile": a.profile.name(), "name": name, "sha256": sha256})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"extensions": items, "classifiers": classifiers})
}

/// What `ext verify` found in a component.
struct VectorReport {
    info: ext::Info,
    total: usize,
    failed: Vec<String>,
    /// Redaction only: the host's conformance vectors (total, names of the failed ones).
    conformance: Option<(usize, Vec<String>)>,
    /// Redaction 1.1.0 only: the configured team rules this component could not use.
    rule_errors: Option<Vec<ext::types::redaction::RuleError>>,
}

/// Runs a component's own vectors, and for a redactor the host's conformance vectors and the
/// configured team rules.
fn run_vectors(kind: Kind, bytes: &[u8], limits_cfg: ext::Limits) -> Result<VectorReport, ExtError> {
    match kind {
        Kind::Limits => limits_vectors(load(bytes, limits_cfg)?),
        Kind::Redaction => redaction_vectors(load(bytes, limits_cfg)?),
        Kind::Doctor => doctor_vectors(load(bytes, limits_cfg)?),
        Kind::Prompts => prompts_vectors(load(bytes, limits_cfg)?),
    }
}

/// A component in a sandbox, its compiled code cached under the state directory.
fn load<W: World>(bytes: &[u8], l: ext::Limits) -> Result<Slot<W>, ExtError> {
    let cache = crate::state::State::open().ok().and_then(|s| s.root.subdir_private("ext-cache").ok());
    Slot::<W>::load(bytes, Source::File, cache.as_ref(), l)
}

/// A report of a component's own vectors (no conformance, no rules).
fn own_report<W: World>(slot: &Slot<W>, total: usize, failed: Vec<String>) -> Result<VectorReport, ExtError> {
    Ok(VectorReport { info: slot.info.clone(), total, failed, conformance: None, rule_errors: None })
}

fn limits_vectors(mut slot: Slot<worlds::Limits>) -> Result<VectorReport, ExtError> {
    let vectors = slot.call(|w, s| w.test_vectors(s))?;
    let total = vectors.len();
    let mut failed = Vec::new();
    for v in vectors {
        if slot.call(|w, s| w.classify(s, &v.input))? != v.expected {
            failed.push(v.name);
        }
    }
    own_report(&slot, total, failed)
}

/// A redactor's own vectors, the host's conformance vectors (secrets it must not leave), and the
/// team's rule files as it would load them.
fn redaction_vectors(mut slot: Slot<worlds::Redaction>) -> Result<VectorReport, ExtError> {
    let vectors = slot.call(|w, s| w.test_vectors(s))?;
    let total = vectors.len();
    let mut failed = Vec::new();
    for v in vectors {
        if slot.call(|w, s| w.redact(s, &v.input, &[]))?.text != v.expected {
            failed.push(v.name);
        }
    }
    let conformance = crate::redactor::conformance_vectors();
    let mut leaked = Vec::new();
    for (name, input, secrets) in &conformance {
        let out = slot.call(|w, s| w.redact(s, input, &[]))?.text;
        if secrets.iter().any(|secret| out.contains(secret)) {
            leaked.push((*name).to_owned());
        }
    }
    let (files, mut unreadable) = Settings::load().rule_files();
    let rule_errors = slot.call(|w, s| w.check_rules(s, &files))?.map(|mut errors| {
        unreadable.append(&mut errors);
        unreadable
    });
    Ok(VectorReport {
        info: slot.info.clone(),
        total,
        failed,
        conformance: Some((conformance.len(), leaked)),
        rule_errors,
    })
}

fn doctor_vectors(mut slot: Slot<worlds::Doctor>) -> Result<VectorReport, ExtError> {
    let vectors = slot.call(|w, s| w.test_vectors(s))?;
    let total = vectors.len();
    let mut failed = Vec::new();
    for v in vectors {
        let mut got: Vec<String> =
            slot.call(|w, s| w.evaluate(s, &v.facts))?.into_iter().filter(|c| !c.ok).map(|c| c.name).collect();
        let mut want = v.expected_failed.clone();
        got.sort();
        want.sort();
        if got != want {
            failed.push(v.name);
        }
    }
    own_report(&slot, total, failed)
}

fn prompts_vectors(mut slot: Slot<worlds::Prompts>) -> Result<VectorReport, ExtError> {
    let vectors = slot.call(|w, s| w.test_vectors(s))?;
    let total = vectors.len();
    let mut failed = Vec::new();
    for v in vectors {
        let ok = match slot.call(|w, s| w.render_assignment(s, &v.input))? {
            Ok(text) => v.expected_lines.iter().all(|want| text.lines().any(|l| l == want)),
            Err(_) => false,
        };
        if !ok {
            failed.push(v.name);
        }
    }
    own_report(&slot, total, failed)
}

/// `ext verify`: world, imports, API version, vectors.
pub fn verify(bytes: &[u8]) -> Value {
    let engine = match crate::ext::engine::engine() {
        Ok(e) => e,
        Err(e) => return error_json("extension_engine_failed", &e),
    };
    let component = match wasmtime::component::Component::new(engine, bytes) {
        Ok(c) => c,
        Err(_) => return error_json("extension_not_a_component", "the file is not a valid WebAssembly component"),
    };
    let Some(kind) = ext::detect_kind(engine, &component) else {
        return error_json(
            "extension_wrong_world",
            "the component implements none of the codex-master extension worlds",
        );
    };
    match run_vectors(kind, bytes, Settings::load().limits) {
        Ok(report) => {
            let VectorReport { info, total, failed, conformance, rule_errors } = report;
            let conforms = conformance.as_ref().is_none_or(|(_, leaked)| leaked.is_empty());
            let mut v = json!({
                "ok": failed.is_empty() && conforms,
                "kind": kind.name(),
                "world": kind.world_at(&info.api_version),
                "name": info.name,
                "version": info.version,
                "api_version": info.api_version,
                "api_compatible": true,
                "imports": "ok",
                "sha256": info.sha256,
                "vectors": {"total": total, "passed": total - failed.len(), "failed": failed.iter().take(20).collect::<Vec<_>>()},
            });
            if let Some((total, leaked)) = conformance {
                // A redactor that lets through what the host's floor masks is refused: the
                // floor would hide the gap, but the component claims to redact.
                v["conformance"] = json!({"total": total, "passed": total - leaked.len(), "failed": leaked.iter().take(20).collect::<Vec<_>>()});
                if !leaked.is_empty() {
                    v["error_code"] = json!("extension_redacts_less_than_the_floor");
                    v["message"] =
                        json!("the component lets through secrets or paths that the host's default rules mask");
                }
            }
            if let Some(errors) = rule_errors {
                v["team_rules"] = json!({"errors": rule_errors_json(&errors)});
            }
            v
        }
        Err(e) => {
            let mut v = ext_error(&e);
            v["kind"] = json!(kind.name());
            v
        }
    }
}

fn rule_errors_json(errors: &[ext::types::redaction::RuleError]) -> Vec<Value> {
    errors
        .iter()
        .take(50)
        .map(|e| {
            json!({
                "file": crate::text::plain_line(&e.file),
                "rule_id": crate::text::plain_line(&e.rule_id),
                "message": crate::text::safe_error_text(&e.message),
            })
        })
        .collect()
}

/// One team rule file loaded as the floor loads it, then every regex compiled and each rule
/// timed on worst-case lines ([`codex_master_redaction_engine::Engine::check`]): the number
/// of rules the floor would use, and every problem, named by file and rule id.
/// Loaded next to our defaults, as the floor loads it, so that an allowlist naming a default
/// rule resolves; also returns the default rules the file narrows.
fn load_and_check(name: &str, text: &str) -> (usize, Vec<String>, Vec<ext::types::redaction::RuleError>) {
    let (engine, mut errors) = codex_master_redaction_engine::Engine::with_files(&[(name, text)]);
    errors.extend(
        engine.check().into_iter().map(|e| codex_master_redaction_engine::RuleError { file: name.to_owned(), ..e }),
    );
    (engine.team_rule_count(), engine.narrowed_defaults().to_vec(), errors.into_iter().map(Into::into).collect())
}

fn rule_ids_json(ids: &[String]) -> Value {
    ids.iter().take(50).map(|id| json!(crate::text::plain_line(id))).collect()
}

/// `ext verify FILE.toml`: every rule of a team rule file, checked by the engine the floor and
/// the default component run; a bad rule is named by its id.
fn verify_rule_file(path: &str, bytes: &[u8]) -> Value {
    let name = config::rule_file_name(Path::new(path));
    let Ok(text) = std::str::from_utf8(bytes) else {
        return error_json("rule_file_invalid", "the rule file is not UTF-8 text");
    };
    if bytes.len() > codex_master_redaction_engine::MAX_RULE_FILE_BYTES {
        return error_json(
            "rule_file_invalid",
            &format!("the rule file exceeds {} bytes", codex_master_redaction_engine::MAX_RULE_FILE_BYTES),
        );
    }
    let (rules, narrowed, errors) = load_and_check(&name, text);
    let mut v = json!({
        "ok": errors.is_empty(),
        "kind": "redaction-rules",
        "file": crate::text::plain_line(&name),
        "rules": rules,
        "narrows_default_rules": rule_ids_json(&narrowed),
        "errors": rule_errors_json(&errors),
    });
    if !errors.is_empty() {
        v["error_code"] = json!("rule_file_invalid");
        v["message"] = json!(format!("{} rule(s) cannot be used; each is named by its id", errors.len()));
    }
    v
}

/// `ext verify` without a path: the team rule files named in config.toml.
fn verify_configured_rules() -> Value {
    let settings = Settings::load();
    let (files, mut errors) = settings.rule_files();
    let mut rules = 0;
    let mut narrowed: Vec<String> = Vec::new();
    for f in &files {
        let (count, ids, file_errors) = load_and_check(&f.name, &f.text);
        rules += count;
        narrowed.extend(ids.into_iter().filter(|id| !narrowed.contains(id)).collect::<Vec<_>>());
        errors.extend(file_errors);
    }
    let mut v = json!({
        "ok": errors.is_empty(),
        "kind": "redaction-rules",
        "files": files.len(),
        "rules": rules,
        "narrows_default_rules": rule_ids_json(&narrowed),
        "errors": rule_errors_json(&errors),
    });
    if !errors.is_empty() {
        v["error_code"] = json!("rule_file_invalid");
        v["message"] = json!(format!("{} configured rule(s) or file(s) cannot be used; each is named", errors.len()));
    }
    v
}

fn config_dir_private() -> Result<(PathBuf, Dir), Value> {
    let path = config::config_dir()
        .ok_or_else(|| error_json("config_dir_unavailable", "no config directory: set XDG_CONFIG_HOME or HOME"))?;
    let dir = Dir::walk_private(&path).map_err(|e| error_json("config_dir_unusable", &e.to_string()))?;
    Ok((path, dir))
}

fn write_installed(dir: &Dir, table: &InstalledFile) -> Result<(), Value> {
    let text = toml::to_string(table)
        .map_err(|_| error_json("config_write_failed", "extensions.toml could not be written"))?;
    let header = "# Written by `codex-master-mcp ext install/remove`. Overrides here are pinned by sha256.\n";
    dir.replace_atomic(config::INSTALLED_FILE, format!("{header}{text}").as_bytes())
        .map_err(|e| error_json("config_write_failed", &e.to_string()))
}

fn install(kind: Kind, path: &str) -> Result<Value, Value> {
    let bytes = read_component(path)?;
    let verdict = verify(&bytes);
    if verdict["ok"] != json!(true) {
        let mut v = verdict;
        v["ok"] = json!(false);
        if v.get("error_code").is_none() {
            v["error_code"] = json!("extension_vectors_failed");
            v["message"] = json!("the component's self-test vectors failed");
        }
        return Err(v);
    }
    if verdict["kind"] != json!(kind.name()) {
        return Err(error_json(
            "extension_wrong_world",
            &format!("the component is a {} extension, not {kind}", verdict["kind"].as_str().unwrap_or("?")),
        ));
    }
    let (_, dir) = config_dir_private()?;
    let ext_dir =
        dir.subdir_private(config::INSTALLED_DIR).map_err(|e| error_json("config_dir_unusable", &e.to_string()))?;
    let file = format!("{}.wasm", kind.name());
    ext_dir.replace_atomic(&file, &bytes).map_err(|e| error_json("config_write_failed", &e.to_string()))?;
    let mut table = Settings::load();
    let sha256 = crate::ext::cache::sha256_hex(&bytes);
    table.installed.set(
        kind,
        Some(Override { path: format!("{}/{file}", config::INSTALLED_DIR), sha256: sha256.clone(), rules: Vec::new() }),
    );
    write_installed(&dir, &InstalledFile { extensions: table.installed })?;
    Ok(json!({
        "ok": true,
        "kind": kind.name(),
        "source": "installed",
        "name": verdict["name"],
        "version": verdict["version"],
        "sha256": sha256,
        "overridden_by_config": table.user.get(kind).is_some_and(Override::has_component),
    }))
}

fn remove(kind: Kind) -> Result<Value, Value> {
    let (_, dir) = config_dir_private()?;
    let mut settings = Settings::load();
    let removed = settings.installed.get(kind).is_some();
    settings.installed.set(kind, None);
    write_installed(&dir, &InstalledFile { extensions: settings.installed })?;
    if let Ok(Some(ext_dir)) = dir.subdir_existing(config::INSTALLED_DIR) {
        let _ = ext_dir.remove_file(&format!("{}.wasm", kind.name()));
    }
    Ok(json!({"ok": true, "kind": kind.name(), "removed": removed, "source": Settings::load().source(kind).name()}))
}

fn read_input(file: Option<&String>) -> Result<Vec<u8>, Value> {
    match file {
        Some(f) => config::read_file_nofollow(&absolute(f), MAX_RUN_INPUT)
            .map_err(|e| error_json("input_unreadable", &e))?
            .ok_or_else(|| error_json("input_unreadable", "the input file does not exist")),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_RUN_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|_| error_json("input_unreadable", "stdin could not be read"))?;
            if buf.len() as u64 > MAX_RUN_INPUT {
                return Err(error_json("input_too_large", "the input exceeds 16 MiB"));
            }
            Ok(buf)
        }
    }
}

/// How `ext run` runs: `lines` for redaction; for limits, whose classifier and screen.
struct RunOptions<'a> {
    lines: bool,
    profile: Option<&'a str>,
    agent: Option<&'a str>,
    component: Option<&'a str>,
}

/// The screen (a profile's provider) and the classifier `ext run limits` uses: a configured
/// agent's, a component file's (pinned to its own digest), or a profile's default.
fn limits_target(
    options: &RunOptions<'_>,
) -> Result<(&'static dyn crate::agents::profiles::Provider, crate::ext::Classifier), Value> {
    use crate::agents::profiles::Profile;
    if let Some(name) = options.agent {
        let registry = crate::agents::Registry::load().map_err(|e| error_json("config_invalid", &e.to_string()))?;
        let spec = registry
            .get(name)
            .ok_or_else(|| error_json("unknown_agent", "no agent of that name is configured (ext list names them)"))?;
        return Ok((spec.provider(), spec.classifier.clone()));
    }
    let provider =
        Profile::named(options.profile.unwrap_or("codex")).unwrap_or_else(Profile::default_profile).provider();
    let classifier = match options.component {
        Some(path) => {
            let bytes = read_component(path)?;
            crate::ext::Classifier::Pinned { path: absolute(path), sha256: crate::ext::cache::sha256_hex(&bytes) }
        }
        None => crate::ext::Classifier::named(provider.classifier()).expect("a default classifier"),
    };
    Ok((provider, classifier))
}

fn run_kind(kind: Kind, input: &[u8], options: &RunOptions<'_>) -> (bool, Value) {
    let exts = Extensions::new(Settings::load());
    let text = String::from_utf8_lossy(input).into_owned();
    match kind {
        Kind::Limits => run_limits(&exts, &text, options),
        Kind::Redaction => run_redaction(&exts, &text, options.lines),
        Kind::Prompts => run_prompts(&exts, &text),
        Kind::Doctor => run_doctor(&exts, &text),
    }
}

/// `ext run limits`: the classifier an agent uses (or a given component) on a screen.
fn run_limits(exts: &Extensions, text: &str, options: &RunOptions<'_>) -> (bool, Value) {
    let (provider, classifier) = match limits_target(options) {
        Ok(t) => t,
        Err(e) => return (false, e),
    };
    let now = crate::timefmt::now_epoch() as u64;
    let input = limits::ClassifyInput {
        pane: crate::text::strip_ansi(text),
        since_last_send: String::new(),
        last_sent: None,
        pane_width: 200,
        running: true,
        profile: provider.screen().to_owned(),
        session_model: None,
        assignment_model: None,
        now_epoch_seconds: now,
        utc_offset_seconds: crate::timefmt::local_utc_offset(now as i64),
    };
    match exts.classify_with(&classifier, &input) {
        Ok(out) => (true, ej::classify_output(&out)),
        Err(e) => {
            let mut v = ext_error(&e);
            v["tui_context"] = json!("unknown");
            (false, v)
        }
    }
}

/// `ext run redaction`: the whole text, or line by line.
fn run_redaction(exts: &Extensions, text: &str, lines: bool) -> (bool, Value) {
    // The WIT contract: the host strips escape sequences before a redactor sees text.
    let text = crate::text::strip_ansi(text);
    let result = if lines {
        let all: Vec<String> = text.lines().map(str::to_owned).collect();
        exts.redact_lines(&all, &[]).map(|outs| {
            json!({
                "lines": outs.iter().map(|o| o.text.clone()).collect::<Vec<_>>(),
                "changed": outs.iter().any(|o| o.changed),
            })
        })
    } else {
        exts.redact(&text, &[]).map(|o| ej::redact_output(&o))
    };
    match result {
        Ok(v) => (true, v),
        Err(e) => {
            // Fail closed: the text is withheld, never returned unredacted.
            let mut v = ext_error(&e);
            v["redaction"] = json!("failed");
            (false, v)
        }
    }
}

/// `ext run prompts`: an assignment (JSON) rendered.
fn run_prompts(exts: &Extensions, text: &str) -> (bool, Value) {
    let Ok(parsed) = serde_json::from_str::<Value>(text) else {
        return (false, error_json("input_invalid", "the input is not JSON"));
    };
    let assignment = match ej::assignment_from_json(&parsed, &exts.settings().locale) {
        Ok(a) => a,
        Err(e) => return (false, error_json("input_invalid", &e)),
    };
    match exts.render_assignment(&assignment) {
        Ok(prompt) => (true, json!({"prompt": prompt, "chars": prompt.chars().count()})),
        Err(e) => (false, ext_error(&e)),
    }
}

/// `ext run doctor`: facts (JSON) evaluated.
fn run_doctor(exts: &Extensions, text: &str) -> (bool, Value) {
    let Ok(parsed) = serde_json::from_str::<Value>(text) else {
        return (false, error_json("input_invalid", "the input is not JSON"));
    };
    let facts = match ej::facts_from_json(&parsed) {
        Ok(f) => f,
        Err(e) => return (false, error_json("input_invalid", &e)),
    };
    match exts.evaluate(&facts) {
        Ok(checks) => (
            true,
            json!({"ok": checks.iter().all(|c| c.ok), "checks": checks.iter().map(ej::check).collect::<Vec<_>>()}),
        ),
        Err(e) => (false, ext_error(&e)),
    }
}
