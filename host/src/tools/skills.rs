//! Skills tools: `agent_skills`, `agent_skill_match`, `agent_capabilities`.
//!
//! Counts, names and home-relative paths only: no file contents, no absolute paths.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::schema::Param;
use super::views::public_skill;
use super::{agent_param, blocking, handler, out, Ctx, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::profiles::WorkRole;
use crate::agents::{AgentSpec, Registry};
use crate::redactor::Redactor;
use crate::skills::{self, Inventory};

pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_NAMES_LIMIT: i64 = 80;
pub const DEFAULT_PLUGINS_LIMIT: i64 = 20;
pub const DEFAULT_MATCH_LIMIT: i64 = 8;
pub use crate::skills::MAX_SKILL_REF;

/// The model policy: reads on the mini model, writes marked for Spark (as in the seed).
pub const WRITE_REASONING_EFFORT: &str = "low";

fn skill_entry_schema() -> Value {
    out::object(
        json!({"name": {"type": "string"}, "source": {"type": "string"}, "plugin": {"type": "string"}, "path": {"type": "string"}, "description": out::nullable("string")}),
        &["name", "source", "plugin", "path"],
    )
}

/// The output schema of one agent's `agent_skills` entry.
fn inventory_schema() -> Value {
    json!({
        "agent": {"type": "string"},
        "label": {"type": "string"},
        "home": out::not_returned(),
        "home_kind": out::words::<super::words::HomeKind>(),
        "total": {"type": "integer"},
        "inventory_truncated": {"type": "boolean"},
        "roots": {"type": "array", "items": out::object(
            json!({"kind": {"type": "string"}, "path": out::not_returned(), "path_state": {"const": "configured"}, "exists": {"type": "boolean"}, "skill_count": {"type": "integer"}}),
            &["kind", "exists", "skill_count"],
        )},
        "by_source": {"type": "object", "additionalProperties": {"type": "integer"}},
        "system_skills": {"type": "array", "items": {"type": "string"}},
        "plugin_count": {"type": "integer"},
        "plugins_offset": {"type": "integer"},
        "plugins_limit": {"type": "integer"},
        "plugins": {"type": "object", "additionalProperties": {"type": "integer"}},
        "plugins_truncated": {"type": "boolean"},
        "names_total": {"type": "integer"},
        "names_offset": {"type": "integer"},
        "names_limit": {"type": "integer"},
        "names": {"type": "array", "items": skill_entry_schema()},
        "names_truncated": {"type": "boolean"},
        "skill_file_contents": out::not_returned(),
        "raw_output": out::not_returned(),
    })
}

/// The output schema of one agent's `agent_capabilities` entry: the inventory's counts.
fn capabilities_schema() -> Value {
    let mut capabilities = inventory_schema().as_object().cloned().unwrap_or_default();
    for k in [
        "names_total",
        "names_offset",
        "names_limit",
        "names",
        "names_truncated",
        "roots",
        "by_source",
        "total",
        "inventory_truncated",
    ] {
        capabilities.remove(k);
    }
    capabilities.insert("skill_count".into(), json!({"type": "integer"}));
    capabilities.insert("plugin_page_count".into(), json!({"type": "integer"}));
    capabilities.insert("models".into(), json!({"type": "object"}));
    capabilities.insert("session_model".into(), json!({"type": "string"}));
    for k in ["master_mcp_tools", "native_subagents", "write_policy"] {
        capabilities.insert(k.into(), json!({"type": "string"}));
    }
    Value::Object(capabilities)
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "agent_skills",
            title: "Skills inventory",
            description: "Count the SKILL.md files an agent's home offers, under the roots its CLI loads skills from (Codex: system skills, plugin cache, .tmp/plugins; Claude Code: skills, plugins; Gemini CLI: .gemini/skills, .agents/skills), with paged plugin counts and optionally paged names. Symlinked roots, directories and files are skipped. Never returns file contents or absolute paths.",
            cli_name: "skills",
            params: vec![
                agent_param::one_or_all(reg),
                Param::boolean("include_names", "Include a page of skill names (with home-relative paths and frontmatter descriptions)."),
                Param::integer("limit", 0, Some(MAX_PAGE), "Names per page.").default(json!(DEFAULT_NAMES_LIMIT)),
                Param::integer("names_offset", 0, None, "First name of the page.").default(json!(0)),
                Param::integer("plugins_offset", 0, None, "First plugin of the page.").default(json!(0)),
                Param::integer("plugins_limit", 0, Some(MAX_PAGE), "Plugins per page.").default(json!(DEFAULT_PLUGINS_LIMIT)),
            ],
            output: || out::results(out::object(inventory_schema(), &["agent", "total", "roots", "by_source", "plugin_count", "plugins", "plugins_truncated"])),
            hints: READ_ONLY,
            multi_agent: true,
            handler: handler!(agent_skills),
        },
        ToolDef {
            name: "agent_skill_match",
            title: "Find a skill",
            description: "Look a skill reference up in an agent's inventory: `name`, `plugin:name` or `plugin/name`, case-insensitive.",
            cli_name: "skill-match",
            params: vec![
                agent_param::one_or_all(reg).cli_flag("agent"),
                Param::string("skill", MAX_SKILL_REF, "Skill reference.").required().non_blank().positional(),
                Param::integer("limit", 1, Some(MAX_PAGE), "Most matches returned.").default(json!(DEFAULT_MATCH_LIMIT)),
            ],
            output: || out::results(out::object(
                json!({
                    "agent": {"type": "string"},
                    "skill": {"type": "string"},
                    "available": {"type": "boolean"},
                    "match_count": {"type": "integer"},
                    "matches": {"type": "array", "items": skill_entry_schema()},
                    "skill_file_contents": out::not_returned(),
                    "raw_output": out::not_returned(),
                }),
                &["agent", "skill", "available", "match_count", "matches"],
            )),
            hints: READ_ONLY,
            multi_agent: true,
            handler: handler!(skill_match),
        },
        ToolDef {
            name: "agent_capabilities",
            title: "Agent capabilities",
            description: "An agent's model policy, skill and plugin counts (first plugin page) and delegation rules.",
            cli_name: "capabilities",
            params: vec![agent_param::one_or_all(reg)],
            output: || out::results(out::object(capabilities_schema(), &["agent", "models", "skill_count", "plugin_count", "write_policy"])),
            hints: READ_ONLY,
            multi_agent: true,
            handler: handler!(agent_capabilities),
        },
    ]
}

/// Scans the homes of the selected agents off the async threads.
async fn scan_agents(ctx: &Ctx, agents: Vec<String>) -> Vec<(AgentSpec, Inventory)> {
    let specs: Vec<AgentSpec> = agents.iter().filter_map(|a| ctx.registry.get(a).cloned()).collect();
    blocking(move || {
        Ok(specs
            .into_iter()
            .map(|s| {
                let inv = s.home.as_deref().map(|h| skills::scan(h, s.provider().skills_roots())).unwrap_or_default();
                (s, inv)
            })
            .collect())
    })
    .await
    .unwrap_or_default()
}

struct Pages {
    plugins_offset: usize,
    plugins_limit: usize,
}

/// The counts every inventory view shares.
fn summary(red: &Redactor, spec: &AgentSpec, inv: &Inventory, pages: &Pages) -> Map<String, Value> {
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut plugins: BTreeMap<&str, usize> = BTreeMap::new();
    let mut system: Vec<&str> = Vec::new();
    for s in &inv.skills {
        *by_source.entry(s.source).or_default() += 1;
        if !s.plugin.is_empty() {
            *plugins.entry(s.plugin.as_str()).or_default() += 1;
        }
        if s.source == "system" {
            system.push(&s.name);
        }
    }
    system.sort_unstable();
    system.dedup();
    let page: Map<String, Value> = plugins
        .iter()
        .skip(pages.plugins_offset)
        .take(pages.plugins_limit)
        .map(|(p, n)| (red.bounded(p, 200), json!(n)))
        .collect();
    let mut m = Map::new();
    m.insert("agent".into(), json!(spec.name));
    m.insert("label".into(), json!(red.bounded(&spec.label, 80)));
    m.insert("home".into(), json!(NOT_RETURNED));
    m.insert(
        "home_kind".into(),
        json!(if spec.home.is_some() {
            super::words::HomeKind::ManagedAgentHome
        } else {
            super::words::HomeKind::NotConfigured
        }
        .as_str()),
    );
    m.insert("by_source".into(), json!(by_source));
    m.insert("system_skills".into(), json!(system.iter().map(|n| red.bounded(n, 200)).collect::<Vec<_>>()));
    m.insert("plugin_count".into(), json!(plugins.len()));
    m.insert("plugins_offset".into(), json!(pages.plugins_offset));
    m.insert("plugins_limit".into(), json!(pages.plugins_limit));
    m.insert("plugins".into(), Value::Object(page));
    m.insert("plugins_truncated".into(), json!(pages.plugins_offset + pages.plugins_limit < plugins.len()));
    m.insert("skill_file_contents".into(), json!(NOT_RETURNED));
    m.insert("raw_output".into(), json!(NOT_RETURNED));
    m
}

/// `agent_skills` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillsArgs {
    agent: String,
    include_names: bool,
    limit: usize,
    names_offset: usize,
    plugins_offset: usize,
    plugins_limit: usize,
}

async fn agent_skills(ctx: Arc<Ctx>, args: SkillsArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let pages = Pages { plugins_offset: args.plugins_offset, plugins_limit: args.plugins_limit };
    let SkillsArgs { names_offset, limit, include_names, .. } = args;
    let results: Vec<Value> = scan_agents(&ctx, agents)
        .await
        .iter()
        .map(|(spec, inv)| {
            let mut m = summary(&ctx.redactor, spec, inv, &pages);
            m.insert("total".into(), json!(inv.skills.len()));
            m.insert("inventory_truncated".into(), json!(inv.truncated));
            let roots: Vec<Value> = inv
                .roots
                .iter()
                .map(|r| json!({"kind": r.kind, "path": NOT_RETURNED, "path_state": "configured", "exists": r.exists, "skill_count": r.skill_count}))
                .collect();
            m.insert("roots".into(), json!(roots));
            if include_names {
                let names: Vec<Value> = inv.skills.iter().skip(names_offset).take(limit).map(|s| public_skill(&ctx.redactor, s)).collect();
                m.insert("names_total".into(), json!(inv.skills.len()));
                m.insert("names_offset".into(), json!(names_offset));
                m.insert("names_limit".into(), json!(limit));
                m.insert("names_truncated".into(), json!(names_offset + names.len() < inv.skills.len()));
                m.insert("names".into(), json!(names));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json!({"results": results}))
}

/// `agent_skill_match` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillMatchArgs {
    agent: String,
    skill: String,
    limit: usize,
}

async fn skill_match(ctx: Arc<Ctx>, args: SkillMatchArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let SkillMatchArgs { skill: wanted, limit, .. } = args;
    let shown = ctx.redactor.bounded(wanted.trim(), MAX_SKILL_REF);
    let results: Vec<Value> = scan_agents(&ctx, agents)
        .await
        .iter()
        .map(|(spec, inv)| {
            let found = skills::find(inv, &wanted, limit);
            json!({
                "agent": spec.name,
                "skill": shown,
                "available": !found.is_empty(),
                "match_count": found.len(),
                "matches": found.into_iter().map(|s| public_skill(&ctx.redactor, s)).collect::<Vec<_>>(),
                "skill_file_contents": NOT_RETURNED,
                "raw_output": NOT_RETURNED,
            })
        })
        .collect();
    Ok(json!({"results": results}))
}

/// `agent_capabilities` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesArgs {
    agent: String,
}

async fn agent_capabilities(ctx: Arc<Ctx>, args: CapabilitiesArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let pages = Pages { plugins_offset: 0, plugins_limit: DEFAULT_PLUGINS_LIMIT as usize };
    let results: Vec<Value> = scan_agents(&ctx, agents)
        .await
        .iter()
        .map(|(spec, inv)| {
            let mut m = summary(&ctx.redactor, spec, inv, &pages);
            let page_count = m["plugins"].as_object().map_or(0, Map::len);
            m.insert("skill_count".into(), json!(inv.skills.len()));
            m.insert("plugin_page_count".into(), json!(page_count));
            m.insert(
                "models".into(),
                json!({
                    "default": spec.model,
                    "read_only": spec.provider().role_model(WorkRole::ReadOnly),
                    "write": spec.provider().role_model(WorkRole::Write),
                    "default_reasoning_effort": spec.reasoning_effort,
                    "write_reasoning_effort": WRITE_REASONING_EFFORT,
                }),
            );
            m.insert("session_model".into(), json!(spec.model));
            m.insert("master_mcp_tools".into(), json!("not_configured_for_agent"));
            m.insert("native_subagents".into(), json!("assignment_gated"));
            m.insert("write_policy".into(), json!("explicit_paths_only"));
            Value::Object(m)
        })
        .collect();
    Ok(json!({"results": results}))
}
