//! `ext new limits|redaction NAME`: a ready extension crate from a template, self-contained so
//! that it builds anywhere (no checkout of this repository, no network for our crates).
//!
//! The binary embeds the templates (`extensions/templates/`), the guest SDK, the WIT contracts
//! it binds and, for a redaction component, the default engine; `ext new` writes them under
//! the crate's `vendor/`, with our `Cargo.lock` so the build takes the dependency versions we
//! test with.

use std::path::Path;

/// A file of the new crate: its path inside the crate, and its text.
type File = (&'static str, &'static str);

/// What every crate gets: the SDK and the WIT contracts it binds.
const SDK: &[File] = &[
    ("vendor/codex-master-guest-sdk/src/lib.rs", include_str!("../../../guest-sdk/src/lib.rs")),
    ("vendor/codex-master-guest-sdk/src/classify.rs", include_str!("../../../guest-sdk/src/classify.rs")),
    ("vendor/codex-master-guest-sdk/src/screen.rs", include_str!("../../../guest-sdk/src/screen.rs")),
    ("vendor/codex-master-guest-sdk/src/text.rs", include_str!("../../../guest-sdk/src/text.rs")),
    ("vendor/wit/v1.0.0/common/common.wit", include_str!("../../../wit/v1.0.0/common/common.wit")),
    ("vendor/wit/v1.0.0/doctor/doctor.wit", include_str!("../../../wit/v1.0.0/doctor/doctor.wit")),
    ("vendor/wit/v1.0.0/limits/limits.wit", include_str!("../../../wit/v1.0.0/limits/limits.wit")),
    ("vendor/wit/v1.0.0/prompts/prompts.wit", include_str!("../../../wit/v1.0.0/prompts/prompts.wit")),
    ("vendor/wit/v1.0.0/redaction/redaction.wit", include_str!("../../../wit/v1.0.0/redaction/redaction.wit")),
    ("vendor/wit/v1.1.0/limits/limits.wit", include_str!("../../../wit/v1.1.0/limits/limits.wit")),
    ("vendor/wit/v1.1.0/prompts/prompts.wit", include_str!("../../../wit/v1.1.0/prompts/prompts.wit")),
    ("vendor/wit/v1.1.0/redaction/redaction.wit", include_str!("../../../wit/v1.1.0/redaction/redaction.wit")),
    ("Cargo.lock", include_str!("../../../Cargo.lock")),
    ("vendor/codex-master-guest-sdk/Cargo.toml", SDK_MANIFEST),
];

/// The SDK's manifest outside our workspace (ours inherits the workspace's fields).
const SDK_MANIFEST: &str = r#"[package]
name = "codex-master-guest-sdk"
version = "0.1.0"
edition = "2021"
license = "MIT"
publish = false

[features]
limits = ["dep:wit-bindgen"]
redaction = ["dep:wit-bindgen"]
doctor = ["dep:wit-bindgen"]
prompts = ["dep:wit-bindgen"]

[dependencies]
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc"], optional = true }
"#;

/// The default engine and its rules: what a redaction component starts from.
const ENGINE: &[File] = &[
    (
        "vendor/codex-master-redaction-engine/src/lib.rs",
        include_str!("../../../extensions/redaction-engine/src/lib.rs"),
    ),
    (
        "vendor/codex-master-redaction-engine/src/paths.rs",
        include_str!("../../../extensions/redaction-engine/src/paths.rs"),
    ),
    (
        "vendor/codex-master-redaction-engine/src/spec.rs",
        include_str!("../../../extensions/redaction-engine/src/spec.rs"),
    ),
    (
        "vendor/codex-master-redaction-engine/src/default-rules.toml",
        include_str!("../../../extensions/redaction-engine/src/default-rules.toml"),
    ),
    ("vendor/codex-master-redaction-engine/build.rs", include_str!("../../../extensions/redaction-engine/build.rs")),
    ("vendor/codex-master-redaction-engine/Cargo.toml", ENGINE_MANIFEST),
];

const ENGINE_MANIFEST: &str = r#"[package]
name = "codex-master-redaction-engine"
version = "0.1.0"
edition = "2021"
license = "MIT"
publish = false

[dependencies]
regex = { version = "1.11", default-features = false, features = ["std", "perf"] }
regex-syntax = { version = "0.8", default-features = false, features = ["std"] }
aho-corasick = { version = "1.1", default-features = false, features = ["std", "perf-literal"] }
memchr = { version = "2.7", default-features = false, features = ["std"] }
serde = { version = "1", features = ["derive"] }
toml = { version = "0.9", default-features = false, features = ["parse", "serde", "std", "display"] }

[build-dependencies]
serde = { version = "1", features = ["derive"] }
toml = { version = "0.9", default-features = false, features = ["parse", "serde", "std", "display"] }
"#;

const LIMITS: &[File] = &[
    ("Cargo.toml", include_str!("../../../extensions/templates/limits/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../extensions/templates/limits/src/lib.rs")),
    ("README.md", include_str!("../../../extensions/templates/limits/README.md")),
];

const REDACTION: &[File] = &[
    ("Cargo.toml", include_str!("../../../extensions/templates/redaction/Cargo.toml")),
    ("rules.toml", include_str!("../../../extensions/templates/redaction/rules.toml")),
    ("src/lib.rs", include_str!("../../../extensions/templates/redaction/src/lib.rs")),
    ("README.md", include_str!("../../../extensions/templates/redaction/README.md")),
];

/// The kinds a template exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Limits,
    Redaction,
}

impl Template {
    pub const NAMES: [&'static str; 2] = ["limits", "redaction"];

    pub fn named(name: &str) -> Option<Template> {
        match name {
            "limits" => Some(Template::Limits),
            "redaction" => Some(Template::Redaction),
            _ => None,
        }
    }

    /// Every file of a new crate of this kind (paths inside the crate; texts with `{{name}}`).
    fn files(self) -> Vec<File> {
        let own = match self {
            Template::Limits => LIMITS,
            Template::Redaction => REDACTION,
        };
        let mut all: Vec<File> = own.to_vec();
        all.extend_from_slice(SDK);
        if self == Template::Redaction {
            all.extend_from_slice(ENGINE);
        }
        all
    }
}

/// A crate name `ext new` accepts: what cargo accepts as a package name, kept simple (and never
/// a path): a lower-case letter, then lower-case letters, digits and `-`, at most 64.
pub fn valid_crate_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    (1..=64).contains(&name.len())
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-')
}

/// Why a crate could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("the directory already exists: choose another name or remove it")]
    Exists,
    #[error("the crate could not be written: {0}")]
    Write(std::io::Error),
}

/// Writes a new crate of `template` named `name` into `dir` (which must not exist yet).
/// Returns how many files were written.
pub fn write(template: Template, name: &str, dir: &Path) -> Result<usize, ScaffoldError> {
    use std::os::unix::fs::DirBuilderExt;
    // A fresh directory (never into one that exists: nothing of the author's is overwritten).
    std::fs::DirBuilder::new().mode(0o755).create(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists,
        _ => ScaffoldError::Write(e),
    })?;
    let files = template.files();
    for (path, text) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(ScaffoldError::Write)?;
        }
        let text = text.replace("{{name}}", name);
        std::fs::write(&target, text).map_err(ScaffoldError::Write)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_are_plain_words() {
        assert!(valid_crate_name("team-limits") && valid_crate_name("a1"));
        for bad in ["", "Team", "1x", "a/b", "../x", "a_b", "x-", &"a".repeat(65)] {
            assert!(!valid_crate_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_template_names_its_crate_and_vendors_what_it_uses() {
        for t in [Template::Limits, Template::Redaction] {
            let files = t.files();
            let manifest = files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
            assert!(manifest.contains("name = \"{{name}}\"") && manifest.contains("[workspace]"));
            for (dep, dir) in [
                ("codex-master-guest-sdk", "vendor/codex-master-guest-sdk"),
                ("codex-master-redaction-engine", "vendor/codex-master-redaction-engine"),
            ] {
                if manifest.contains(dep) {
                    assert!(manifest.contains(&format!("path = \"{dir}\"")), "{dep}");
                    assert!(files.iter().any(|(p, _)| *p == format!("{dir}/Cargo.toml")), "{dep} is vendored");
                }
            }
        }
        // The vendored SDK finds the WIT where its bindings look for it.
        let sdk = include_str!("../../../guest-sdk/src/lib.rs");
        for path in sdk.lines().filter_map(|l| l.trim().strip_prefix("path: [")) {
            for dir in path.split('"').filter(|p| p.starts_with("../wit/")) {
                let vendored = format!("vendor/{}", dir.trim_start_matches("../"));
                assert!(SDK.iter().any(|(p, _)| p.starts_with(&vendored)), "{vendored}");
            }
        }
    }
}
