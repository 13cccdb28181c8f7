//! The plugin packaging this build ships (the repository root's `.codex-plugin/`, `.app.json`,
//! `.mcp.json` and `skills/`, embedded at build time), its checks (the plugin manifest's name
//! and version, the app manifest's connector id, the server entry), and the local marketplace
//! `plugin-marketplace` generates from it. Codex copies a local plugin's whole directory into
//! its cache, so the plugin directory it is pointed at must hold packaging only: a generated
//! one, never the repository (`.git`, `target/`).

use std::path::Path;

use serde_json::Value;

use crate::fsafe::{Dir, EntryKind, FsError};

pub const PLUGIN_MANIFEST: &str = include_str!("../../../.codex-plugin/plugin.json");
pub const APP_MANIFEST: &str = include_str!("../../../.app.json");
pub const MCP_MANIFEST: &str = include_str!("../../../.mcp.json");
/// The skill the plugin ships, checked for valid frontmatter.
pub const SKILL: &str = include_str!("../../../skills/codex-master-fleet/SKILL.md");
/// The marketplace `plugin-marketplace` writes: `codex plugin add codex-master@codex-master-local`.
pub const MARKETPLACE_NAME: &str = "codex-master-local";

/// Every file of the plugin: its directories below the plugin root, its name, its bytes.
const PLUGIN_FILES: [(&[&str], &str, &str); 4] = [
    (&[".codex-plugin"], "plugin.json", PLUGIN_MANIFEST),
    (&[], ".app.json", APP_MANIFEST),
    (&[], ".mcp.json", MCP_MANIFEST),
    (&["skills", "codex-master-fleet"], "SKILL.md", SKILL),
];

#[derive(Debug, thiserror::Error)]
pub enum MarketplaceError {
    #[error("the marketplace directory is unusable: {0}")]
    Fs(#[from] FsError),
    /// Codex would copy them into its cache with the plugin.
    #[error("entries this build does not write, in the plugin directory: {0}; remove them or use an empty directory")]
    ForeignEntries(usize),
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceWritten {
    pub files: usize,
}

/// The marketplace listing: one local plugin, `./codex-master` (a test keeps the names in step
/// with [`MARKETPLACE_NAME`] and the plugin's name).
const MARKETPLACE_JSON: &str = r#"{
  "name": "codex-master-local",
  "plugins": [
    {
      "name": "codex-master",
      "source": { "source": "local", "path": "./codex-master" },
      "policy": { "installation": "AVAILABLE", "authentication": "ON_INSTALL" },
      "category": "Developer Tools"
    }
  ]
}
"#;

/// Names below `dir` (one level) that no plugin file path starts with, counted recursively only
/// as far as the plugin's own directories go.
fn foreign_entries(dir: &Dir, depth_paths: &[&[&str]], level: usize) -> Result<usize, FsError> {
    let mut foreign = 0;
    for (name, kind) in dir.entries()? {
        let ours: Vec<&[&str]> = depth_paths.iter().copied().filter(|p| p.get(level) == Some(&name.as_str())).collect();
        match kind {
            EntryKind::Dir if !ours.is_empty() => {
                if let Some(sub) = dir.subdir_existing(&name)? {
                    foreign += foreign_entries(&sub, &ours, level + 1)?;
                }
            }
            _ if ours.iter().any(|p| p.len() == level + 1) && kind == EntryKind::File => {}
            _ => foreign += 1,
        }
    }
    Ok(foreign)
}

/// Writes a local Codex marketplace into `root` (created when missing, walked without following
/// a symlink): `.agents/plugins/marketplace.json` and `codex-master/` with this build's
/// packaging. Refuses a plugin directory holding anything else. Rewriting is idempotent.
pub fn write_marketplace(root: &Path) -> Result<MarketplaceWritten, MarketplaceError> {
    let root = Dir::walk(root, true)?;
    let plugin = root.subdir_create(super::codex::PLUGIN_NAME)?;
    let paths: Vec<Vec<&str>> =
        PLUGIN_FILES.iter().map(|(dirs, name, _)| dirs.iter().copied().chain([*name]).collect()).collect();
    let borrowed: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
    let foreign = foreign_entries(&plugin, &borrowed, 0)?;
    if foreign > 0 {
        return Err(MarketplaceError::ForeignEntries(foreign));
    }
    for (dirs, name, text) in PLUGIN_FILES {
        let mut nested: Option<Dir> = None;
        for sub in dirs {
            nested = Some(nested.as_ref().unwrap_or(&plugin).subdir_create(sub)?);
        }
        nested.as_ref().unwrap_or(&plugin).replace_atomic(name, text.as_bytes())?;
    }
    let listing = root.subdir_create(".agents")?.subdir_create("plugins")?;
    listing.replace_atomic("marketplace.json", MARKETPLACE_JSON.as_bytes())?;
    Ok(MarketplaceWritten { files: PLUGIN_FILES.len() + 1 })
}
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

    #[test]
    fn the_marketplace_holds_packaging_only_and_refuses_strangers() {
        let base = std::env::temp_dir().join(format!("cm-market-{}", crate::fsafe::nonce()));
        let root = base.join("m");
        assert_eq!(write_marketplace(&root).unwrap().files, 5);
        let listing: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(".agents/plugins/marketplace.json")).unwrap())
                .unwrap();
        assert_eq!(listing["name"], MARKETPLACE_NAME);
        assert_eq!(listing["plugins"][0]["name"], super::super::codex::PLUGIN_NAME);
        assert_eq!(listing["plugins"][0]["source"]["path"], format!("./{}", super::super::codex::PLUGIN_NAME));
        let skill = std::fs::read_to_string(root.join("codex-master/skills/codex-master-fleet/SKILL.md")).unwrap();
        assert_eq!(skill, SKILL);
        // Rewriting is idempotent; a stranger in the plugin directory is refused, not copied.
        assert!(write_marketplace(&root).is_ok());
        std::fs::write(root.join("codex-master/skills/notes.txt"), "x").unwrap();
        assert!(matches!(write_marketplace(&root), Err(MarketplaceError::ForeignEntries(1))));
        std::fs::remove_file(root.join("codex-master/skills/notes.txt")).unwrap();
        // Never through a symlink.
        std::os::unix::fs::symlink(&root, base.join("link")).unwrap();
        assert!(matches!(write_marketplace(&base.join("link/sub")), Err(MarketplaceError::Fs(FsError::Symlink))));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
