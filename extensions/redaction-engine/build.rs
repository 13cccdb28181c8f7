//! Reads our default rule file into code (`$OUT_DIR/default_rules.rs`, `fn default_spec()`): a
//! process that redacts builds the default rules from plain values instead of parsing 20 KiB
//! of TOML each time. A default rule file that does not parse fails the build.

#[path = "src/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::fmt::Write as _;

use spec::{AllowlistSpec, FileSpec, RuleSpec};

fn string(s: &str) -> String {
    // `{:?}` of a str is a valid Rust string literal.
    format!("String::from({s:?})")
}

fn strings(v: &[String]) -> String {
    format!("vec![{}]", v.iter().map(|s| string(s)).collect::<Vec<_>>().join(", "))
}

fn option(o: &Option<String>) -> String {
    o.as_deref().map_or_else(|| "None".to_owned(), |s| format!("Some({})", string(s)))
}

fn allowlist(a: &AllowlistSpec) -> String {
    format!(
        "AllowlistSpec {{ regexes: {}, regex_target: {}, stopwords: {}, condition: {}, description: {}, target_rules: {} }}",
        strings(&a.regexes),
        option(&a.regex_target),
        strings(&a.stopwords),
        option(&a.condition),
        option(&a.description),
        strings(&a.target_rules)
    )
}

fn allowlists(v: &[AllowlistSpec]) -> String {
    format!("vec![{}]", v.iter().map(allowlist).collect::<Vec<_>>().join(",\n"))
}

fn rule(r: &RuleSpec) -> String {
    format!(
        "RuleSpec {{ id: {}, regex: {}, secret_group: {:?}, keywords: {}, entropy: {}, allowlists: {}, allowlist: {}, block_end: {}, mask: {} }}",
        string(&r.id),
        option(&r.regex),
        r.secret_group,
        strings(&r.keywords),
        r.entropy.map_or_else(|| "None".to_owned(), |e| format!("Some({e:?}_f64)")),
        allowlists(&r.allowlists),
        r.allowlist.as_ref().map_or_else(|| "None".to_owned(), |a| format!("Some({})", allowlist(a))),
        option(&r.block_end),
        option(&r.mask)
    )
}

fn main() {
    println!("cargo::rerun-if-changed=src/default-rules.toml");
    println!("cargo::rerun-if-changed=src/spec.rs");
    let text = std::fs::read_to_string("src/default-rules.toml").expect("read the default rules");
    let spec: FileSpec = toml::from_str(&text).expect("the default rule file parses");
    let mut out =
        String::from("/// Our default rule file, as parsed at build time.\nfn default_spec() -> FileSpec {\n");
    let _ = writeln!(
        out,
        "FileSpec {{ rules: vec![{}], allowlist: {}, allowlists: {} }}\n}}",
        spec.rules.iter().map(rule).collect::<Vec<_>>().join(",\n"),
        spec.allowlist.as_ref().map_or_else(|| "None".to_owned(), |a| format!("Some({})", allowlist(a))),
        allowlists(&spec.allowlists)
    );
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("default_rules.rs");
    std::fs::write(path, out).expect("write default_rules.rs");
}
