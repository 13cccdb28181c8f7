//! The layering of `host/src`, checked from the source (ARCHITECTURE.md writes it down).
//!
//! Each top-level module has a layer; a module may use only modules of lower layers, so there is
//! no cycle and nothing below the tools imports `tools`, `mcp` or `cli`. JSON is built only at
//! the edge (`tools`, `mcp`, `cli`). Comments and `#[cfg(test)]` modules are not code here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (module, layer): a module may use modules of strictly lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("fsafe", 0),
    ("timefmt", 0),
    ("text", 0),
    ("process", 0),
    ("wire", 0),
    ("scripted", 1),
    ("config", 1),
    ("admission", 2),
    ("state", 2),
    ("git", 2),
    ("skills", 2),
    ("tmux", 2),
    ("lease", 3),
    ("ext", 3),
    ("events", 3),
    ("redactor", 4),
    ("agents", 4),
    ("watchdog", 5),
    ("install", 5),
    ("tools", 6),
    ("mcp", 7),
    ("cli", 8),
];

/// Modules that may build JSON responses (`json!`). Below them, serde types persist state.
const JSON_EDGE: &[&str] = &["tools", "mcp", "cli"];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// The code of a file: comment lines and the trailing `#[cfg(test)]` module removed.
fn code(text: &str) -> String {
    let body = text.split("\n#[cfg(test)]").next().unwrap_or(text);
    body.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// `crate::x` references of a piece of code.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let Some(module) = module_of(&f) else { continue };
        let text = std::fs::read_to_string(&f).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(uses(&code(&text)).into_iter().filter(|d| *d != module));
    }
    graph
}

fn layer(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

#[test]
fn every_module_uses_only_lower_layers() {
    let graph = graph();
    let mut problems = Vec::new();
    for (module, deps) in &graph {
        let Some(own) = layer(module) else {
            problems.push(format!("{module}: not in LAYERS (add it, and to ARCHITECTURE.md)"));
            continue;
        };
        for dep in deps {
            match layer(dep) {
                // A crate-root item (`crate::serve_stdio`) is the binary's entry: only `cli` may.
                None if module == "cli" => {}
                None => problems.push(format!("{module} uses crate::{dep}, which is not a layered module")),
                Some(l) if l >= own => problems.push(format!("{module} (layer {own}) uses {dep} (layer {l})")),
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "layering violations:\n{}", problems.join("\n"));
    // The check sees real edges (it would pass vacuously on an empty graph).
    assert!(graph["tools"].contains("lease") && graph["cli"].contains("tools") && graph["state"].contains("fsafe"));
}

#[test]
fn the_check_catches_an_upward_use_and_ignores_comments_and_tests() {
    let sample = "//! see [`crate::tools`]\nuse crate::fsafe::Dir;\nfn f() { crate::tools::x(); }\n#[cfg(test)]\nmod tests { use crate::cli; }";
    assert_eq!(uses(&code(sample)), BTreeSet::from(["fsafe".to_owned(), "tools".to_owned()]));
}

#[test]
fn json_is_built_only_at_the_edge() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let Some(module) = module_of(&f) else { continue };
        if JSON_EDGE.contains(&module.as_str()) {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        if text.contains("json!(") {
            offenders.push(f.strip_prefix(src()).unwrap().display().to_string());
        }
    }
    assert!(offenders.is_empty(), "JSON built below the tools layer: {offenders:?}");
}
