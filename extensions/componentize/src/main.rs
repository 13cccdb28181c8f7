//! `codex-master-componentize OUT_DIR TOOLCHAIN NAME=MODULE.wasm…`
//!
//! Turns each core module (built for wasm32-unknown-unknown with wit-bindgen's embedded
//! component type) into a component with `wit-component`, writes `OUT_DIR/NAME.wasm`, and
//! records every component's sha256 and the toolchain in `OUT_DIR/manifest.json`. No WASI
//! adapter is used: a module that imports WASI fails here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let out_dir = PathBuf::from(args.next().ok_or("usage: componentize OUT_DIR TOOLCHAIN NAME=MODULE.wasm...")?);
    let toolchain = args.next().ok_or("missing TOOLCHAIN")?;
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create output dir: {e}"))?;
    let mut entries = BTreeMap::new();
    for spec in args {
        let (name, module) = spec.split_once('=').ok_or_else(|| format!("expected NAME=MODULE.wasm, got {spec}"))?;
        let bytes = std::fs::read(module).map_err(|e| format!("read {module}: {e}"))?;
        let component = wit_component::ComponentEncoder::default()
            .module(&bytes)
            .and_then(|e| e.validate(true).encode())
            .map_err(|e| format!("componentize {name}: {e:#}"))?;
        let file = format!("{name}.wasm");
        std::fs::write(out_dir.join(&file), &component).map_err(|e| format!("write {file}: {e}"))?;
        let digest = hex(&Sha256::digest(&component));
        eprintln!("{name}: {} bytes, sha256 {digest}", component.len());
        entries.insert(name.to_owned(), serde_json::json!({"file": file, "sha256": digest, "bytes": component.len()}));
    }
    let manifest = serde_json::json!({"toolchain": toolchain, "components": entries});
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises") + "\n";
    std::fs::write(out_dir.join("manifest.json"), text).map_err(|e| format!("write manifest: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("componentize: {e}");
            ExitCode::FAILURE
        }
    }
}
