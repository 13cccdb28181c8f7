//! The plugin packaging this build ships (`plugin/`, embedded at build time) and its checks:
//! the plugin manifest's name and version, the app manifest's connector id, the server entry.

use serde_json::Value;

pub const PLUGIN_MANIFEST: &str = include_str!("../../../plugin/.codex-plugin/plugin.json");
pub const APP_MANIFEST: &str = include_str!("../../../plugin/.app.json");
pub const MCP_MANIFEST: &str = include_str!("../../../plugin/.mcp.json");
/// Our app's name in `.app.json`.
pub const APP_NAME: &str = "codex-master";

/// What the plugin manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginManifest {
    pub name_matches: bool,
    pub version: Option<String>,
    /// The version equals this crate's.
    pub version_matches: bool,
    /// `apps` names `./.app.json`.
    pub declares_app: bool,
    pub declares_skills: bool,
    pub declares_server: bool,
}

/// What the app manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppManifest {
    pub connector_id: Option<String>,
    /// `connector_` followed by 32 lowercase hex digits.
    pub connector_id_format_ok: bool,
    /// `connector`, `app` (an `app_` prefix) or `custom`.
    pub connector_id_kind: &'static str,
}

fn normalise_rel(p: &str) -> &str {
    p.trim_start_matches("./")
}

pub fn plugin_manifest(text: &str) -> PluginManifest {
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    let version = v["version"].as_str().filter(|s| valid_version(s)).map(str::to_owned);
    PluginManifest {
        name_matches: v["name"] == super::codex::PLUGIN_NAME,
        version_matches: version.as_deref() == Some(env!("CARGO_PKG_VERSION")),
        version,
        declares_app: v["apps"].as_str().map(normalise_rel) == Some(".app.json"),
        declares_skills: v["skills"].as_str().map(normalise_rel).is_some_and(|s| s.trim_end_matches('/') == "skills"),
        declares_server: v["mcpServers"].as_str().map(normalise_rel) == Some(".mcp.json"),
    }
}

/// `MAJOR.MINOR.PATCH`, optionally `-pre` / `+build`.
pub fn valid_version(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    s.len() <= 64 && parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

pub fn app_manifest(text: &str) -> AppManifest {
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    let id = v["apps"][APP_NAME]["id"].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let kind = match id.as_deref() {
        Some(i) if i.starts_with("connector_") => "connector",
        Some(i) if i.starts_with("app_") => "app",
        _ => "custom",
    };
    let format_ok = id
        .as_deref()
        .and_then(|i| i.strip_prefix("connector_"))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    AppManifest { connector_id: id, connector_id_format_ok: format_ok, connector_id_kind: kind }
}

/// The seed's connector id: a plugin that still carries it would refresh the seed's app.
pub const SEED_CONNECTOR_ID: &str = "connector_26697a678b7ec999dc005131eb5c087c";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_packaging_is_ours_and_this_version() {
        let p = plugin_manifest(PLUGIN_MANIFEST);
        assert!(
            p.name_matches && p.version_matches && p.declares_app && p.declares_skills && p.declares_server,
            "{p:?}"
        );
        let a = app_manifest(APP_MANIFEST);
        assert!(a.connector_id_format_ok, "{a:?}");
        assert_ne!(a.connector_id.as_deref(), Some(SEED_CONNECTOR_ID));
        let mcp: Value = serde_json::from_str(MCP_MANIFEST).unwrap();
        let server = &mcp["mcpServers"][super::super::codex::SERVER_NAME];
        assert!(server["tool_timeout_sec"].as_u64() >= Some(610));
        for tool in super::super::codex::HEADLESS_TOOLS {
            assert_eq!(server["tools"][tool]["approval_mode"], "approve", "{tool}");
        }
    }

    #[test]
    fn manifests_are_checked_not_trusted() {
        let p = plugin_manifest(r#"{"name": "codex-master", "version": "1.x", "apps": "../.app.json"}"#);
        assert!(p.name_matches && !p.version_matches && p.version.is_none() && !p.declares_app);
        assert!(!app_manifest(r#"{"apps": {"codex-master": {"id": "connector_XYZ"}}}"#).connector_id_format_ok);
        assert_eq!(app_manifest("{}").connector_id, None);
        assert!(
            valid_version("0.1.0")
                && valid_version("1.2.3-rc.1+b5")
                && !valid_version("1.2")
                && !valid_version("v1.2.3")
        );
    }
}
