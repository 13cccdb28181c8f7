//! The layering of `host/src`, checked from the source (ARCHITECTURE.md writes it down).
//!
//! Each top-level module has a layer; a module may use only modules of lower layers, so there is
//! no cycle and nothing below the tools imports `tools`, `mcp` or `cli`. JSON is built only at
//! the edge (`tools`, `mcp`, `cli`). Comments and `#[cfg(test)]` modules are not code here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (module, layer), read from ARCHITECTURE.md's "bottom to top" table, the one place the map is
/// written: a module may use modules of strictly lower layers only.
fn layers() -> Vec<(String, u32)> {
    let doc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md")).unwrap();
    let table = doc.split("### `host/src`, bottom to top").nth(1).expect("the layer table");
    let mut out = Vec::new();
    for row in table.lines().skip_while(|l| !l.starts_with("| layer")).skip(2) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (Some(layer), Some(modules)) = (cells.get(1), cells.get(2)) else { break };
        let Ok(layer) = layer.parse::<u32>() else { break };
        for m in modules.split(',') {
            out.push((m.trim().trim_matches('`').to_owned(), layer));
        }
    }
    out
}

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

/// `crate::x` references of a piece of code, grouped imports (`use crate::{a, b::c}`) included.
fn uses(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level names: split at commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[start..k].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[start..k].trim()));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            continue;
        }
        found.insert(ident(rest));
    }
    found.remove("");
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

fn layer(layers: &[(String, u32)], module: &str) -> Option<u32> {
    layers.iter().find(|(m, _)| m == module).map(|(_, l)| *l)
}

#[test]
fn every_module_uses_only_lower_layers() {
    let graph = graph();
    let layers = layers();
    assert!(layers.len() > 20, "the layer table of ARCHITECTURE.md: {layers:?}");
    let mut problems = Vec::new();
    for (module, _) in &layers {
        if !graph.contains_key(module) {
            problems.push(format!("{module}: in ARCHITECTURE.md's table but not a module of host/src"));
        }
    }
    for (module, deps) in &graph {
        let Some(own) = layer(&layers, module) else {
            problems.push(format!("{module}: not in ARCHITECTURE.md's layer table (add its row)"));
            continue;
        };
        for dep in deps {
            match layer(&layers, dep) {
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
    let grouped = "use crate::{\n    mcp::serve,\n    text::{plain_line, redact},\n    wire,\n};";
    assert_eq!(uses(grouped), BTreeSet::from(["mcp".to_owned(), "text".to_owned(), "wire".to_owned()]));
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

/// Functions longer than this many lines are split (planning apart from doing), unless they
/// are straight-line data: ARCHITECTURE.md lists these, with the reason.
const MAX_FN_LINES: usize = 80;
const LONG_BY_DESIGN: &[(&str, &str)] =
    &[("tools/agent.rs", "tools"), ("tools/status.rs", "tools"), ("tools/assign.rs", "tools"), ("cli/demo.rs", "demo")];

/// (file, function, lines) of every function in `code` (rustfmt's layout: a body closes at its
/// signature's indentation).
fn functions(file: &str, code: &str) -> Vec<(String, String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let sig = ["fn ", "pub fn ", "async fn ", "pub async fn ", "pub(crate) fn ", "const fn ", "pub const fn "]
            .iter()
            .find_map(|p| t.strip_prefix(p));
        let Some(rest) = sig else { continue };
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if line.trim_end().ends_with(';') || line.trim_end().ends_with('}') {
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            out.push((file.to_owned(), name, end + 2));
        }
    }
    out
}

#[test]
fn no_production_function_is_longer_than_80_lines_unless_it_is_data() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let body = text.split("\n#[cfg(test)]").next().unwrap_or(&text);
        for (file, name, n) in functions(&rel, body) {
            if n > MAX_FN_LINES && !LONG_BY_DESIGN.contains(&(file.as_str(), name.as_str())) {
                long.push(format!("{file}: {name} ({n} lines)"));
            }
        }
    }
    assert!(long.is_empty(), "split these (or list them in LONG_BY_DESIGN and ARCHITECTURE.md):\n{}", long.join("\n"));
    // The scan sees functions (it would pass vacuously on none).
    let sample =
        "fn a() {\n    x();\n}\n\nimpl B {\n    pub async fn c(&self) -> u8 {\n        1\n    }\n    fn d();\n}\n";
    assert_eq!(
        functions("x.rs", sample).into_iter().map(|(_, n, l)| (n, l)).collect::<Vec<_>>(),
        [("a".to_owned(), 3), ("c".to_owned(), 3)]
    );
}

/// Tool modules shared by every family: the catalogue itself, parameters, words, shared views.
const TOOL_SHARED: &[&str] = &["schema", "words", "views", "ext_json"];

/// Tools never call or read other tools: a family module (`agent.rs`, `assign.rs`, …) uses the
/// domain and the shared tool modules, never another family.
#[test]
fn no_tool_family_reaches_into_another() {
    let dir = src().join("tools");
    let families: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_owned))
        .filter(|m| m != "mod" && !TOOL_SHARED.contains(&m.as_str()))
        .collect();
    assert!(families.len() >= 8, "{families:?}");
    let mut problems = Vec::new();
    for family in &families {
        let text = code(&std::fs::read_to_string(dir.join(format!("{family}.rs"))).unwrap());
        // `super::{a, b::c}` groups: their first segments.
        let grouped: Vec<&str> = text
            .split("super::{")
            .skip(1)
            .flat_map(|g| g.split('}').next().unwrap_or_default().split(','))
            .map(|item| item.trim().split("::").next().unwrap_or_default())
            .collect();
        for other in families.iter().filter(|o| *o != family) {
            for path in [format!("super::{other}::"), format!("crate::tools::{other}::")] {
                if text.contains(&path) {
                    problems.push(format!("tools/{family}.rs uses {path}"));
                }
            }
            if grouped.contains(&other.as_str()) {
                problems.push(format!("tools/{family}.rs uses super::{{{other}…}}"));
            }
        }
    }
    assert!(problems.is_empty(), "tool families reach into one another: {problems:?}");
}
