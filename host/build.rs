//! The sha256 of each default component the host embeds (`extensions/dist/`), computed at build
//! time into `$OUT_DIR/embedded_digests.rs`: a cold call that loads or names a default
//! component does not hash its bytes first.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The components `src/ext/mod.rs` embeds with `include_bytes!`.
const EMBEDDED: [&str; 6] =
    ["limits.wasm", "redaction.wasm", "doctor.wasm", "prompts.wasm", "limits-claude.wasm", "limits-gemini.wasm"];

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../extensions/dist");
    let mut out = String::from("/// (file in `extensions/dist/`, sha256) of each embedded component.\n");
    let _ = writeln!(out, "const EMBEDDED_SHA256: [(&str, &str); {}] = [", EMBEDDED.len());
    for name in EMBEDDED {
        let path = dist.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "    ({name:?}, {hex:?}),");
    }
    out.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_digests.rs");
    std::fs::write(path, out).expect("write embedded_digests.rs");
}
