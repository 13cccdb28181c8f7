//! Diagnostics: `agent_doctor` (CLI `doctor`) and the `master_*` status tools (app bridge,
//! plugin, namespace, release), as the seed has them (§16), adapted to our packaging. Every
//! answer is flags, counts and fixed words: no paths, no values, no file contents.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::schema::Param;
use super::{blocking, ext_json, handler, out, Ctx, NoArgs, ToolDef, ToolError, ToolResult, NOT_RETURNED, READ_ONLY};
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
    let red = Arc::clone(&ctx.redactor);
    let checks = blocking(move || {
        red.extensions()
            .evaluate(&facts)
            .map_err(|e| ToolError::new(e.code(), format!("the doctor extension failed: {e}")))
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
            "skill_frontmatter_ok": doctor::skill_frontmatter_ok(doctor::SKILL),
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
    let package = env!("CARGO_PKG_VERSION");
    let plugin = packaging::plugin_manifest(packaging::PLUGIN_MANIFEST);
    let plugin_base = plugin.version.as_deref().map(|v| v.split('+').next().unwrap_or(v).to_owned());
    let expected_tag = format!("v{package}");
    let Some(repo) = (if source.is_dir() { crate::git::toplevel(&source).await } else { None }) else {
        return Err(ToolError::new("not_a_git_repository", "the source repository is not available"));
    };
    let timeout = crate::git::COMMAND_TIMEOUT;
    let lines =
        |o: crate::git::Output| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect::<Vec<_>>();
    let tags: Vec<String> = lines(
        crate::git::git(&repo, &["tag", "--merged", "HEAD", "--sort=-v:refname", "--list", "v[0-9]*"], timeout).await,
    )
    .into_iter()
    .filter(|t| t.strip_prefix('v').is_some_and(packaging::valid_version))
    .collect();
    let head = crate::git::head(&repo).await;
    let tag_commit = |tag: String| {
        let repo = repo.clone();
        async move {
            let o = crate::git::git(&repo, &["rev-list", "-n", "1", &tag], timeout).await;
            o.ok().then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        }
    };
    let count_since = |tag: String| {
        let repo = repo.clone();
        async move {
            let range = format!("{tag}..HEAD");
            let o = crate::git::git(&repo, &["rev-list", "--count", &range], timeout).await;
            String::from_utf8_lossy(&o.stdout).trim().parse::<u64>().ok()
        }
    };
    let current_exists = tags.contains(&expected_tag);
    let current_at_head = current_exists && tag_commit(expected_tag.clone()).await == head;
    let latest = tags.first().cloned();
    let since_latest = match &latest {
        Some(t) => count_since(t.clone()).await,
        None => None,
    };
    let gh = codex::on_path("gh");
    let gh_tags: Option<Vec<String>> = match &gh {
        None => None,
        Some(gh) => {
            let gh = gh.to_string_lossy().into_owned();
            let o = crate::git::run(
                &gh,
                &["release".into(), "list".into(), "--limit".into(), "100".into()],
                &repo,
                &[],
                timeout,
            )
            .await;
            o.ok().then(|| {
                let mut seen = Vec::new();
                for t in lines(o).iter().filter_map(|l| l.split('\t').next()) {
                    if t.strip_prefix('v').is_some_and(packaging::valid_version) && !seen.iter().any(|s| s == t) {
                        seen.push(t.to_owned());
                    }
                }
                seen
            })
        }
    };
    let mut blockers = Vec::new();
    if plugin_base.as_deref() != Some(package) {
        blockers.push("plugin_version_mismatch");
    }
    if !current_exists {
        blockers.push("current_version_tag_missing");
    } else if !current_at_head {
        blockers.push("current_version_tag_not_at_head");
    }
    let mut warnings = Vec::new();
    let (gh_status, latest_gh, since_gh, without_release) = match &gh_tags {
        None => (if gh.is_none() { "gh_unavailable" } else { "gh_release_list_failed" }, None, None, Vec::new()),
        Some(released) => {
            if !released.contains(&expected_tag) {
                blockers.push("github_release_missing_for_current_version");
            }
            let latest = released.first().cloned();
            let since = match &latest {
                Some(t) => count_since(t.clone()).await,
                None => None,
            };
            if since.is_some_and(|n| n > 0) {
                warnings.push("latest_github_release_behind_head");
            }
            let without: Vec<String> = tags.iter().filter(|t| !released.contains(t)).cloned().collect();
            if !without.is_empty() {
                warnings.push("local_tags_without_github_release");
            }
            ("ok", latest, since, without)
        }
    };
    Ok(json!({
        "ok": blockers.is_empty(),
        "release_needed": !blockers.is_empty() || since_gh.is_some_and(|n| n > 0),
        "package_version": package,
        "plugin_version": plugin.version,
        "plugin_base_version": plugin_base,
        "expected_tag": expected_tag,
        "current_tag_exists": current_exists,
        "current_tag_points_at_head": current_at_head,
        "latest_local_tag": latest,
        "commits_since_latest_local_tag": since_latest,
        "github_release_status": gh_status,
        "github_release_available": gh_tags.is_some(),
        "latest_github_release_tag": latest_gh,
        "commits_since_latest_github_release": since_gh,
        "current_version_has_github_release": gh_tags.as_ref().map(|r| r.contains(&format!("v{package}"))),
        "local_tag_without_github_release_count": without_release.len(),
        "local_tags_without_github_release": without_release.iter().take(10).collect::<Vec<_>>(),
        "blockers": blockers,
        "warnings": warnings,
        "repo": NOT_RETURNED,
        "raw_output": NOT_RETURNED,
    }))
}
