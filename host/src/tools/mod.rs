//! The tool catalogue: every tool's name, schemas, hints, CLI form and handler, in one place.
//!
//! MCP `tools/list`, MCP `tools/call`, the CLI subcommands and `codex-master-mcp tools` are all
//! driven from [`Catalogue`]. A tool is listed only when it has a handler: the definition and the
//! handler are one value.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::agents::Registry;
use crate::redactor::Redactor;
pub mod schema;

use schema::{Args, Param};

pub mod agent;
pub mod assign;
pub mod ext_json;
pub mod git;
pub mod lease;
pub mod master;
pub mod scope;
pub mod skills;
pub mod status;
pub mod views;
pub mod watchdog;
pub mod words;

/// The sentinel written in place of hidden data (paths, output, identities).
pub const NOT_RETURNED: &str = "not_returned";

pub use crate::codes::ErrorCode;
pub use crate::fault::{Detail, Fault};
pub use crate::session::{blocking, light, to_completion, units_finished, Ctx};

/// A failure as the caller sees it: `error_code`, `message` (and `error`, the same, for
/// seed-compatible readers), `retryable`, then the details; a lease as `client` sees it.
pub fn fault_json(f: &Fault, client: &str) -> Value {
    let mut obj = Map::new();
    obj.insert("error_code".into(), json!(f.code.as_str()));
    obj.insert("message".into(), json!(f.message));
    obj.insert("error".into(), json!(f.message));
    obj.insert("retryable".into(), json!(f.retryable));
    for (key, detail) in &f.details {
        obj.insert((*key).to_owned(), detail_json(detail, client));
    }
    Value::Object(obj)
}

fn detail_json(d: &Detail, client: &str) -> Value {
    match d {
        Detail::Text(t) => json!(t),
        Detail::Int(n) => json!(n),
        Detail::Bool(b) => json!(b),
        Detail::Null => Value::Null,
        Detail::Ints(v) => json!(v),
        Detail::Lease { agent, lease } => views::PublicLease::public(&**lease, agent, client),
    }
}

pub type ToolResult = Result<Value, Fault>;
pub type ToolFuture = Pin<Box<dyn Future<Output = ToolResult> + Send>>;

/// A tool's body behind its validated arguments. Built by [`handler!`] from an
/// `async fn(Arc<Ctx>, T) -> ToolResult`, where `T` is the tool's typed argument struct: the
/// validator keeps its exact messages, then the arguments become `T` in one step.
#[derive(Clone, Copy)]
pub struct Handler {
    run: fn(Arc<Ctx>, Args) -> ToolFuture,
    /// The field names of `T` (the catalogue test holds them equal to the declared parameters).
    pub fields: fn() -> &'static [&'static str],
    /// Whether validated arguments become a `T` (the catalogue test tries every tool's defaults).
    pub fits: fn(Args) -> bool,
}

impl Handler {
    pub const fn new(
        run: fn(Arc<Ctx>, Args) -> ToolFuture,
        fields: fn() -> &'static [&'static str],
        fits: fn(Args) -> bool,
    ) -> Handler {
        Handler { run, fields, fits }
    }
}

/// `handler!(body)`: wraps `async fn body(ctx: Arc<Ctx>, args: T) -> ToolResult` as a [`Handler`].
macro_rules! handler {
    ($body:path) => {
        $crate::tools::Handler::new(
            |ctx, args| Box::pin(async move { $body(ctx, args.parse()?).await }),
            || $crate::tools::fields_of(&$body),
            |args| $crate::tools::fits(&$body, args),
        )
    };
}
pub(crate) use handler;

/// The field names a handler's argument struct declares, read from its derived `Deserialize`.
pub fn fields_of<T, F, Fut>(_body: &F) -> &'static [&'static str]
where
    T: serde::de::DeserializeOwned,
    F: Fn(Arc<Ctx>, T) -> Fut,
{
    schema::declared_fields::<T>()
}

/// Whether validated arguments deserialize into a handler's argument struct.
pub fn fits<T, F, Fut>(_body: &F, args: Args) -> bool
where
    T: serde::de::DeserializeOwned,
    F: Fn(Arc<Ctx>, T) -> Fut,
{
    args.parse::<T>().is_ok()
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

pub const READ_ONLY: Hints = Hints { read_only: true, destructive: false, idempotent: true };

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The CLI subcommand (the seed's names: `lease-status`, `scope-check`, …).
    pub cli_name: &'static str,
    pub params: Vec<Param>,
    /// JSON Schema of a successful result's `structuredContent`, built when `tools/list` asks
    /// (a CLI call never needs it).
    pub output: fn() -> Value,
    pub hints: Hints,
    /// A multi-agent tool answers `{"results": […]}`; one failed entry fails the call.
    pub multi_agent: bool,
    pub handler: Handler,
}

impl ToolDef {
    /// The `tools/list` entry.
    pub fn describe(&self) -> Value {
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": schema::input_schema(&self.params),
            "outputSchema": (self.output)(),
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.hints.read_only,
                "destructiveHint": self.hints.destructive,
                "idempotentHint": self.hints.idempotent,
                "openWorldHint": false,
            },
        })
    }
}

/// All tools, built for one agent registry (agent enums list the configured agents).
pub struct Catalogue {
    tools: Vec<ToolDef>,
}

/// Agent parameter helpers shared by the tool families.
pub mod agent_param {
    use super::*;

    /// One agent, by name.
    pub fn one(reg: &Registry) -> Param {
        Param::choice_owned("agent", reg.names().map(str::to_owned).collect(), "Agent name.").required().positional()
    }

    /// The agent names followed by selector words.
    pub fn names_and(reg: &Registry, words: &[&str]) -> Vec<String> {
        reg.names().chain(words.iter().copied()).map(str::to_owned).collect()
    }

    /// One agent or `all` (default `all`).
    pub fn one_or_all(reg: &Registry) -> Param {
        Param::choice_owned("agent", names_and(reg, &["all"]), "Agent name, or `all`.")
            .default(json!("all"))
            .positional()
    }
}

impl Catalogue {
    pub fn new(reg: &Registry) -> Catalogue {
        let mut tools = Vec::new();
        tools.extend(agent::tools(reg));
        tools.extend(status::tools(reg));
        tools.extend(watchdog::tools(reg));
        tools.extend(lease::tools(reg));
        tools.extend(scope::tools(reg));
        tools.extend(skills::tools(reg));
        tools.extend(assign::tools(reg));
        tools.extend(git::tools(reg));
        tools.extend(master::tools(reg));
        Catalogue { tools }
    }

    pub fn tools(&self) -> &[ToolDef] {
        &self.tools
    }

    pub fn find(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn find_cli(&self, cli_name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.cli_name == cli_name)
    }

    /// `{"tools": [...]}` as printed by `codex-master-mcp tools`.
    pub fn listing(&self) -> Value {
        json!({"tools": self.tools.iter().map(ToolDef::describe).collect::<Vec<_>>()})
    }

    /// Validates and runs one tool. This is the only entry used by MCP and the CLI.
    pub async fn call(&self, ctx: Arc<Ctx>, tool: &ToolDef, raw_args: Option<&Value>) -> ToolResult {
        let args = schema::validate(tool.name, &tool.params, raw_args).map_err(Fault::invalid_arguments)?;
        if let Some(e) = &ctx.config_error {
            return Err(Fault::new(ErrorCode::ConfigInvalid, e));
        }
        let redactor = Arc::clone(&ctx.redactor);
        match (tool.handler.run)(ctx, args).await {
            Ok(mut v) => {
                redact_error_texts(&mut v, &redactor, 0);
                Ok(v)
            }
            Err(mut e) => {
                e.message = redactor.error_text(&e.message);
                Err(e)
            }
        }
    }
}

/// Deepest nesting the final pass walks; results are a few levels deep.
const ERROR_TEXT_DEPTH: usize = 8;

/// The final pass over a successful result: every error at any depth (a per-agent failure, a
/// watchdog action's or a git payload's nested `to_json()`) is an object with an `error_code`;
/// its `message` goes through the whole pipeline (the active extension and the team's rule
/// files, not only the default rules its builder applied), and `error` says the same.
fn redact_error_texts(v: &mut Value, redactor: &Redactor, depth: usize) {
    if depth > ERROR_TEXT_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            if map.contains_key("error_code") {
                if let Some(message) = map.get("message").and_then(Value::as_str) {
                    let message = redactor.error_text(message);
                    map.insert("error".into(), json!(message));
                    map.insert("message".into(), json!(message));
                }
            }
            for child in map.values_mut().filter(|c| c.is_object() || c.is_array()) {
                redact_error_texts(child, redactor, depth + 1);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| redact_error_texts(c, redactor, depth + 1)),
        _ => {}
    }
}

/// Whether a result counts as failed: a tool error, or a multi-agent result with a failed entry.
pub fn result_failed(result: &ToolResult) -> bool {
    match result {
        Err(_) => true,
        Ok(v) => v
            .get("results")
            .and_then(Value::as_array)
            .is_some_and(|rs| rs.iter().any(|r| r.get("error_code").is_some())),
    }
}

/// A closed choice argument (an enum the validator already checked against its names), read
/// through the enum's one `from_name` so the wire names live in one place.
pub trait Choice: Sized {
    fn from_name(name: &str) -> Option<Self>;
}

impl Choice for crate::watchdog::Action {
    fn from_name(name: &str) -> Option<Self> {
        Self::from_name(name)
    }
}

/// Every wire enum is a choice: its words are the argument's `enum`.
impl<T: crate::wire::Wire> Choice for T {
    fn from_name(name: &str) -> Option<Self> {
        T::parse_word(name)
    }
}

/// `#[serde(deserialize_with = "choice")]` for a [`Choice`] field.
pub fn choice<'de, D: serde::Deserializer<'de>, T: Choice>(d: D) -> Result<T, D::Error> {
    let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    T::from_name(&name).ok_or_else(|| serde::de::Error::custom("not one of the choices"))
}

/// The arguments of a tool that takes none.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// An optional text argument that is not blank (seed semantics: a blank text is absent).
pub fn non_blank(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.trim().is_empty())
}

/// A per-agent failure entry inside `{"results": […]}`: the full structured error plus the agent.
pub fn agent_error_entry(agent: &str, err: &Fault, client: &str) -> Value {
    let mut v = fault_json(err, client);
    v["agent"] = json!(agent);
    v
}

/// JSON Schema pieces for output schemas.
pub mod out {
    use serde_json::{json, Value};

    /// An object with the given required properties (more are allowed).
    pub fn object(props: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    pub fn results(entry: Value) -> Value {
        object(json!({"results": {"type": "array", "items": entry}}), &["results"])
    }

    /// A nullable value, written as single-type `anyOf` branches (portable to clients that map
    /// schemas onto a single-`type` dialect).
    pub fn nullable(ty: &str) -> Value {
        json!({"anyOf": [{"type": ty}, {"type": "null"}]})
    }

    pub fn not_returned() -> Value {
        json!({"const": super::NOT_RETURNED})
    }

    /// The words of a wire enum, as a schema `enum`: written once, on the enum.
    pub fn words<T: crate::wire::Wire>() -> Value {
        json!({"enum": T::words()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn registry() -> Registry {
        Registry::from_toml("[agents.a]\nprofile = \"scripted\"\n[agents.b]\nprofile = \"scripted\"\n").unwrap()
    }

    #[test]
    fn every_handler_takes_exactly_its_declared_parameters() {
        let catalogue = Catalogue::new(&registry());
        assert!(catalogue.tools().len() >= 27);
        for tool in catalogue.tools() {
            let fields: BTreeSet<&str> = (tool.handler.fields)().iter().copied().collect();
            let params: BTreeSet<&str> = tool.params.iter().map(|p| p.name).collect();
            assert_eq!(fields, params, "{}: handler fields vs declared parameters", tool.name);
            assert_eq!(fields.len(), (tool.handler.fields)().len(), "{}: a field twice", tool.name);
        }
    }

    #[test]
    fn tool_and_cli_names_are_unique() {
        let catalogue = Catalogue::new(&registry());
        let names: BTreeSet<&str> = catalogue.tools().iter().map(|t| t.name).collect();
        let cli: BTreeSet<&str> = catalogue.tools().iter().map(|t| t.cli_name).collect();
        assert_eq!(names.len(), catalogue.tools().len());
        assert_eq!(cli.len(), catalogue.tools().len());
        for reserved in
            ["serve", "tools", "demo", "raw-log-writer", "scripted-agent", "ext", "help", "install", "uninstall"]
        {
            assert!(!cli.contains(reserved), "{reserved} is a host subcommand");
        }
    }

    #[test]
    fn defaults_and_choices_become_typed_values() {
        // Every tool's defaults alone (plus its required arguments) fit its argument struct:
        // the validator's output and the struct agree on every name and type.
        let catalogue = Catalogue::new(&registry());
        for tool in catalogue.tools() {
            let mut given = Map::new();
            for p in tool.params.iter().filter(|p| p.required) {
                let value = match &p.ty {
                    schema::Ty::Str { choices: Some(c), .. } => json!(c[0]),
                    schema::Ty::Str { .. } => json!("x"),
                    schema::Ty::Int { min, .. } => json!(min),
                    schema::Ty::Bool => json!(true),
                    schema::Ty::StrList { .. } => json!(["x"]),
                };
                given.insert(p.name.to_owned(), value);
            }
            let args = schema::validate(tool.name, &tool.params, Some(&Value::Object(given))).unwrap();
            assert!((tool.handler.fits)(args), "{}: validated arguments do not fit the handler", tool.name);
        }
        // And a mismatch is caught: a field of the wrong type does not fit.
        let send = catalogue.find("agent_send").unwrap();
        let mut wrong = Map::new();
        wrong.insert("agent".into(), json!("a"));
        wrong.insert("text".into(), json!(5));
        assert!(!(send.handler.fits)(Args::from_map_for_tests(wrong)));
    }
}

#[cfg(test)]
mod final_pass_tests {
    use super::*;
    use crate::ext::config::{ExtensionsTable, Override, Settings};

    /// A redactor whose team rule file masks the word `falcon` (a project's code name).
    fn team_redactor(dir: &std::path::Path) -> Redactor {
        std::fs::write(
            dir.join("team.toml"),
            "[[rules]]\nid = \"code-name\"\nregex = 'falcon'\nkeywords = [\"falcon\"]\n",
        )
        .unwrap();
        let redaction = Override { rules: vec!["team.toml".into()], ..Override::default() };
        let settings = Settings {
            dir: Some(dir.to_path_buf()),
            user: ExtensionsTable { redaction: Some(redaction), ..ExtensionsTable::default() },
            ..Settings::default()
        };
        Redactor::new(Arc::new(crate::ext::Extensions::new(settings)))
    }

    #[test]
    fn nested_errors_in_watchdog_and_git_results_pass_the_teams_rules() {
        let dir = std::env::temp_dir().join(format!("cm-nested-errors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let red = team_redactor(&dir);
        let nested = |m: &str| json!({"error_code": "agent_exited", "error": m, "message": m});
        let mut watchdog = json!({"results": [{
            "agent": "w1",
            "action_taken": "stop",
            "action_result": nested("agent falcon has exited; stop and start it again"),
            "continue_prompt": nested("agent falcon was already resumed after this limit"),
        }]});
        let mut git = json!({"repo": "not_returned", "assignments": nested("could not read falcon's assignment log")});
        redact_error_texts(&mut watchdog, &red, 0);
        redact_error_texts(&mut git, &red, 0);
        for v in [&watchdog, &git] {
            assert!(!v.to_string().contains("falcon"), "{v}");
        }
        assert_eq!(
            watchdog["results"][0]["action_result"]["message"],
            "agent <redacted> has exited; stop and start it again"
        );
        assert_eq!(git["assignments"]["error"], git["assignments"]["message"]);
        // Text that is not an error's is the builders' job and is left as it is.
        let mut plain = json!({"label": "falcon"});
        redact_error_texts(&mut plain, &red, 0);
        assert_eq!(plain["label"], "falcon");
        std::fs::remove_dir_all(&dir).ok();
    }
}
