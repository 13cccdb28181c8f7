//! Diagnostics: `agent_doctor` (CLI `doctor`) and the `master_*` status tools (app bridge,
//! plugin, namespace, release), as the seed has them (§16), adapted to our packaging. Every
//! answer is flags, counts and fixed words: no paths, no values, no file contents.

use crate::codes::ErrorCode;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::{blocking, ext_json, handler, out, Ctx, Fault, NoArgs, ToolDef, ToolResult, NOT_RETURNED, READ_ONLY};
use crate::agents::Registry;
use crate::install::{codex, doctor, packaging, setup};

/// The diagnostics tools the seed's clients look for.
pub const MASTER_TOOLS: [&str; 5] = [
    "master_app_bridge_status",
    "master_plugin_status",
    "master_namespace_status",
    "master_release_status",
    "master_watchdog_status",
];

pub fn tools(_reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "agent_doctor",
            title: "Doctor",
            description: "Check the installation the way a lead will use it: the binary Codex starts is this build, exactly one registration with timeouts that cover our waits, the variables this shell sets that the registration will not pass (names only), the same state root for the lead's server and this CLI (fingerprints), approvals for a headless lead, tmux and the user bus, start-up time, the plugin cache version, the skill's frontmatter, and each agent home. The checks run in the doctor extension; no check returns a path or a value.",
            cli_name: "doctor",
            params: vec![],
            output: || out::object(
                json!({"ok": {"type": "boolean"}, "checks": {"type": "array", "items": {"type": "object"}}, "failed": {"type": "array", "items": {"type": "string"}}, "raw_output": out::not_returned()}),
                &["ok", "checks", "failed"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(agent_doctor),
        },
        ToolDef {
            name: "master_app_bridge_status",
            title: "App bridge",
            description: "The plugin's app manifest: our connector id (returned on purpose: it is not a secret), its format, and whether the plugin manifest declares the app.",
            cli_name: "app-bridge-status",
            params: vec![],
            output: || out::object(
                json!({"ok": {"type": "boolean"}, "app_name": {"type": "string"}, "connector_id": out::nullable("string"), "connector_id_kind": {"type": "string"}, "connector_id_format_ok": {"type": "boolean"}, "plugin_declares_app": {"type": "boolean"}, "registration_mode": {"type": "string"}}),
                &["ok", "connector_id_format_ok", "plugin_declares_app"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(app_bridge_status),
        },
        ToolDef {
            name: "master_plugin_status",
            title: "Plugin status",
            description: "The plugin this build ships (name, version = crate version, app, skills, server entry) and how Codex has it: the registration route, the plugin cache version, the server's self-test.",
            cli_name: "plugin-status",
            params: vec![],
            output: || out::object(
                json!({"ok": {"type": "boolean"}, "plugin_version": out::nullable("string"), "package_version": {"type": "string"}, "plugin_cache": {"type": "string"}, "route": {"type": "string"}, "startup_self_test": {"type": "object"}}),
                &["ok", "plugin_version", "package_version", "plugin_cache", "route"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(plugin_status),
        },
        ToolDef {
            name: "master_namespace_status",
            title: "Namespace status",
            description: "Whether a lead's Codex will see our tools: registration, start-up and tools/list self-tests, plugin cache, the lead's Codex home, and a count of running Codex clients and MCP servers (aggregate only).",
            cli_name: "namespace-status",
            params: vec![],
            output: || out::object(
                json!({"ok": {"type": "boolean"}, "namespace_ready": {"type": "boolean"}, "expected_tools": {"type": "object"}, "local_tool_contract": {"type": "object"}, "running_process_summary": {"type": "object"}}),
                &["ok", "namespace_ready", "expected_tools", "local_tool_contract"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(namespace_status),
        },
        ToolDef {
            name: "master_release_status",
            title: "Release status",
            description: "Whether this version is released: the plugin version against the crate version, the tag v<version> at HEAD of the source repository, commits since the newest tag, and GitHub releases when `gh` is available.",
            cli_name: "release-status",
            params: vec![Param::string("repo", 1000, "The source repository (default: the one this binary was built from, when present).")],
            output: || out::object(
                json!({"ok": {"type": "boolean"}, "release_needed": {"type": "boolean"}, "package_version": {"type": "string"}, "expected_tag": {"type": "string"}, "blockers": {"type": "array"}, "warnings": {"type": "array"}}),
                &["ok", "release_needed", "package_version", "expected_tag", "blockers", "warnings"],
            ),
            hints: READ_ONLY,
            multi_agent: false,
            handler: handler!(release_status),
        },
    ]
}

async fn agent_doctor(ctx: Arc<Ctx>, _args: NoArgs) -> ToolResult {
    let facts = doctor::gather(&ctx.registry).await;
    let exts = Arc::clone(&ctx.extensions);
    let checks = blocking(move || {
        exts.evaluate(&facts).map_err(|e| Fault::new(e.code(), format!("the doctor extension failed: {e}")))
    })
    .await?;
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
    Ok(json!({
        "ok": failed.is_empty(),
        "checks": checks.iter().map(ext_json::check).collect::<Vec<_>>(),
        "failed": failed,
        "raw_output": NOT_RETURNED,
    }))
}

fn app_bridge() -> Value {
    let app = packaging::app_manifest(packaging::APP_MANIFEST);
    let plugin = packaging::plugin_manifest(packaging::PLUGIN_MANIFEST);
    json!({
        "ok": app.connector_id_format_ok && plugin.declares_app,
        "app_name": packaging::APP_NAME,
        "app_manifest": NOT_RETURNED,
        "connector_id": app.connector_id,
        "connector_id_kind": app.connector_id_kind,
        "connector_id_format_ok": app.connector_id_format_ok,
        "plugin_declares_app": plugin.declares_app,
        "registration_mode": "local_plugin_app_manifest",
        "chatgpt_connector_registration": "create_or_refresh_in_chatgpt_developer_mode",
        "raw_output": NOT_RETURNED,
    })
}

async fn app_bridge_status(_ctx: Arc<Ctx>, _args: NoArgs) -> ToolResult {
    Ok(app_bridge())
}

fn self_test_json(t: &setup::SelfTest) -> Value {
    json!({"ok": t.ok, "status": if t.ok { "ok" } else { t.failure.unwrap_or("failed") }, "tool_count": t.tool_count, "elapsed_ms": t.elapsed_ms, "raw_output": NOT_RETURNED})
}

async fn plugin_status(_ctx: Arc<Ctx>, _args: NoArgs) -> ToolResult {
    blocking(|| {
        let plugin = packaging::plugin_manifest(packaging::PLUGIN_MANIFEST);
        let view = doctor::lead_view();
        let test = view.target.as_deref().map(|t| setup::self_test(t, &view.registration_env));
        let bridge = app_bridge();
        let manifest_ok =
            plugin.name_matches && plugin.version_matches && plugin.declares_skills && plugin.declares_server;
        let ok = manifest_ok
            && bridge["ok"] == true
            && view.registration_count == 1
            && view.plugin_cache != "stale"
            && test.as_ref().is_some_and(|t| t.ok);
        Ok(json!({
            "ok": ok,
            "plugin_name": codex::PLUGIN_NAME,
            "plugin_version": plugin.version,
            "package_version": env!("CARGO_PKG_VERSION"),
            "plugin_manifest_ok": manifest_ok,
            "plugin_cache": view.plugin_cache,
            "route": view.route,
            "registration_count": view.registration_count,
            "binary": view.binary_state,
            "app_bridge_ok": bridge["ok"],
            "skill_frontmatter_ok": doctor::skill_frontmatter_ok(crate::install::packaging::SKILL),
            "startup_self_test": test.as_ref().map_or(json!({"ok": false, "status": "no_binary"}), self_test_json),
            "repo": NOT_RETURNED,
            "raw_output": NOT_RETURNED,
        }))
    })
    .await
}

async fn namespace_status(ctx: Arc<Ctx>, _args: NoArgs) -> ToolResult {
    let registry = ctx.registry.clone();
    blocking(move || {
        let view = doctor::lead_view();
        let test = view.target.as_deref().map(|t| setup::self_test(t, &view.registration_env));
        let catalogue = super::Catalogue::new(&registry);
        let expected: serde_json::Map<String, Value> =
            MASTER_TOOLS.iter().map(|t| ((*t).to_owned(), json!(catalogue.find(t).is_some()))).collect();
        let server_ready = view.registration_count >= 1 && test.as_ref().is_some_and(|t| t.ok && t.tool_count > 0);
        let cache_ready = view.plugin_cache != "stale";
        let home = doctor::home_kind(&registry);
        let home_ready = home != "managed_agent_home";
        let ready = server_ready && cache_ready && home_ready;
        let (clients, servers) = doctor::process_summary();
        Ok(json!({
            "ok": ready,
            "namespace_ready": ready,
            "server_name": codex::SERVER_NAME,
            "expected_mcp_server": codex::SERVER_NAME,
            "mcp_server_ready": server_ready,
            "plugin_cache_ready": cache_ready,
            "active_home_ready": home_ready,
            "codex_home_kind": home,
            "route": view.route,
            "expected_tools": expected,
            "local_tool_contract": {"tool_count": catalogue.tools().len(), "tools_list_self_test_count": test.as_ref().map_or(0, |t| t.tool_count)},
            "startup_self_test": test.as_ref().map_or(json!({"ok": false, "status": "no_binary"}), self_test_json),
            "running_process_summary": {"codex_client_process_count": clients, "mcp_server_process_count": servers, "raw_output": NOT_RETURNED},
            "client_refresh": {"existing_sessions_may_need_restart": true, "recommended_action_if_missing_in_client": "run_install_then_restart_affected_codex_sessions"},
            "raw_output": NOT_RETURNED,
        }))
    })
    .await
}

/// `release-status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseArgs {
    repo: Option<String>,
}

async fn release_status(_ctx: Arc<Ctx>, args: ReleaseArgs) -> ToolResult {
    let source = match super::non_blank(&args.repo) {
        Some(r) => crate::fsafe::paths::expand_home(r.trim()),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
    };
    let Some(repo) = (if source.is_dir() { crate::git::toplevel(&crate::git::At::Local, &source).await } else { None })
    else {
        return Err(Fault::new(ErrorCode::NotAGitRepository, "the source repository is not available"));
    };
    let f = release_facts(&repo).await;
    let a = assess(&f);
    let package = env!("CARGO_PKG_VERSION");
    Ok(json!({
        "ok": a.blockers.is_empty(),
        "release_needed": !a.blockers.is_empty() || f.since_github.is_some_and(|n| n > 0),
        "package_version": package,
        "plugin_version": f.plugin_version,
        "plugin_base_version": f.plugin_base,
        "expected_tag": f.expected_tag,
        "current_tag_exists": f.current_exists,
        "current_tag_points_at_head": f.current_at_head,
        "latest_local_tag": f.tags.first(),
        "commits_since_latest_local_tag": f.since_latest,
        "github_release_status": a.github_status,
        "github_release_available": f.github_tags.is_some(),
        "latest_github_release_tag": f.github_tags.as_ref().and_then(|r| r.first()),
        "commits_since_latest_github_release": f.since_github,
        "current_version_has_github_release": f.github_tags.as_ref().map(|r| r.contains(&format!("v{package}"))),
        "local_tag_without_github_release_count": a.without_release.len(),
        "local_tags_without_github_release": a.without_release.iter().take(10).collect::<Vec<_>>(),
        "blockers": a.blockers,
        "warnings": a.warnings,
        "repo": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}

/// What the repository and GitHub say about releases (read-only git; `gh` when on PATH).
struct ReleaseFacts {
    plugin_version: Option<String>,
    /// The plugin's version without its build suffix.
    plugin_base: Option<String>,
    expected_tag: String,
    /// Release tags merged into HEAD, newest first.
    tags: Vec<String>,
    current_exists: bool,
    current_at_head: bool,
    since_latest: Option<u64>,
    gh_on_path: bool,
    /// GitHub's release tags, newest first (`None`: `gh` missing or failed).
    github_tags: Option<Vec<String>>,
    since_github: Option<u64>,
}

async fn release_facts(repo: &std::path::Path) -> ReleaseFacts {
    let timeout = crate::git::COMMAND_TIMEOUT;
    let plugin = packaging::plugin_manifest(packaging::PLUGIN_MANIFEST);
    let plugin_base = plugin.version.as_deref().map(|v| v.split('+').next().unwrap_or(v).to_owned());
    let expected_tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let listed = crate::git::git(
        &crate::git::At::Local,
        repo,
        &["tag", "--merged", "HEAD", "--sort=-v:refname", "--list", "v[0-9]*"],
        timeout,
    )
    .await;
    let tags: Vec<String> =
        out_lines(&listed).into_iter().filter(|t| t.strip_prefix('v').is_some_and(packaging::valid_version)).collect();
    let current_exists = tags.contains(&expected_tag);
    let current_at_head =
        current_exists && tag_commit(repo, &expected_tag).await == crate::git::head(&crate::git::At::Local, repo).await;
    let since_latest = match tags.first() {
        Some(t) => commits_since(repo, t).await,
        None => None,
    };
    let gh = codex::on_path("gh");
    let github_tags = match &gh {
        Some(gh) => github_release_tags(repo, &gh.to_string_lossy()).await,
        None => None,
    };
    let since_github = match github_tags.as_ref().and_then(|r| r.first()) {
        Some(t) => commits_since(repo, t).await,
        None => None,
    };
    ReleaseFacts {
        plugin_version: plugin.version,
        plugin_base,
        expected_tag,
        tags,
        current_exists,
        current_at_head,
        since_latest,
        gh_on_path: gh.is_some(),
        github_tags,
        since_github,
    }
}

fn out_lines(o: &crate::git::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect()
}

async fn tag_commit(repo: &std::path::Path, tag: &str) -> Option<String> {
    let o =
        crate::git::git(&crate::git::At::Local, repo, &["rev-list", "-n", "1", tag], crate::git::COMMAND_TIMEOUT).await;
    o.ok().then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

async fn commits_since(repo: &std::path::Path, tag: &str) -> Option<u64> {
    let range = format!("{tag}..HEAD");
    let o =
        crate::git::git(&crate::git::At::Local, repo, &["rev-list", "--count", &range], crate::git::COMMAND_TIMEOUT)
            .await;
    String::from_utf8_lossy(&o.stdout).trim().parse::<u64>().ok()
}

/// The release tags `gh release list` names, newest first, once each.
async fn github_release_tags(repo: &std::path::Path, gh: &str) -> Option<Vec<String>> {
    let args = ["release", "list", "--limit", "100"].map(str::to_owned);
    let o = crate::git::run(gh, &args, repo, &[], crate::git::COMMAND_TIMEOUT).await;
    o.ok().then(|| {
        let mut seen: Vec<String> = Vec::new();
        for line in out_lines(&o) {
            let t = line.split('\t').next().unwrap_or("");
            if t.strip_prefix('v').is_some_and(packaging::valid_version) && !seen.iter().any(|s| s == t) {
                seen.push(t.to_owned());
            }
        }
        seen
    })
}

/// What stands in the way of a release, and what only deserves a look.
struct Assessment {
    blockers: Vec<&'static str>,
    warnings: Vec<&'static str>,
    github_status: &'static str,
    /// Local release tags GitHub has no release for.
    without_release: Vec<String>,
}

fn assess(f: &ReleaseFacts) -> Assessment {
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    if f.plugin_base.as_deref() != Some(env!("CARGO_PKG_VERSION")) {
        blockers.push("plugin_version_mismatch");
    }
    if !f.current_exists {
        blockers.push("current_version_tag_missing");
    } else if !f.current_at_head {
        blockers.push("current_version_tag_not_at_head");
    }
    let Some(released) = &f.github_tags else {
        let github_status = if f.gh_on_path { "gh_release_list_failed" } else { "gh_unavailable" };
        return Assessment { blockers, warnings, github_status, without_release: Vec::new() };
    };
    if !released.contains(&f.expected_tag) {
        blockers.push("github_release_missing_for_current_version");
    }
    if f.since_github.is_some_and(|n| n > 0) {
        warnings.push("latest_github_release_behind_head");
    }
    let without_release: Vec<String> = f.tags.iter().filter(|t| !released.contains(t)).cloned().collect();
    if !without_release.is_empty() {
        warnings.push("local_tags_without_github_release");
    }
    Assessment { blockers, warnings, github_status: "ok", without_release }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ReleaseFacts {
        let current = format!("v{}", env!("CARGO_PKG_VERSION"));
        ReleaseFacts {
            plugin_version: Some(format!("{}+1", env!("CARGO_PKG_VERSION"))),
            plugin_base: Some(env!("CARGO_PKG_VERSION").to_owned()),
            expected_tag: current.clone(),
            tags: vec![current.clone(), "v0.0.1".into()],
            current_exists: true,
            current_at_head: true,
            since_latest: Some(0),
            gh_on_path: true,
            github_tags: Some(vec![current]),
            since_github: Some(0),
        }
    }

    #[test]
    fn a_release_is_blocked_by_a_missing_tag_or_release_and_warned_about_the_rest() {
        let a = assess(&facts());
        assert_eq!(
            (a.blockers.len(), a.warnings, a.github_status),
            (0, vec!["local_tags_without_github_release"], "ok")
        );
        assert_eq!(a.without_release, ["v0.0.1"]);
        let a = assess(&ReleaseFacts {
            current_at_head: false,
            github_tags: Some(Vec::new()),
            since_github: None,
            ..facts()
        });
        assert_eq!(a.blockers, ["current_version_tag_not_at_head", "github_release_missing_for_current_version"]);
        let a = assess(&ReleaseFacts {
            plugin_base: Some("0.0.0".into()),
            github_tags: None,
            gh_on_path: false,
            ..facts()
        });
        assert_eq!((a.blockers, a.github_status), (vec!["plugin_version_mismatch"], "gh_unavailable"));
    }
}
