//! `ext build [DIR]`: builds an extension crate for `wasm32-unknown-unknown` and turns its
//! module into a component with `wit-component`, as `scripts/build-extensions` does ours.
//!
//! Two toolchains work, the same two: Debian's `rustc-web` (std built from source with
//! `-Zbuild-std`), or a rustup toolchain with the `wasm32-unknown-unknown` target. A missing
//! piece is named with the command that installs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{run_blocking, Cmd};

/// Longest one build may take (a cold build compiles std and the regex engine).
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Which compiler builds the module.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Toolchain {
    /// Debian's rustc-web: `/usr/bin/cargo`, std from `/usr/src/rustc-<version>/library`.
    Debian,
    /// rustup's, with the target's std installed.
    Rustup,
}

/// Why a build did not give a component.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Toolchain(String),
    #[error("no Cargo.toml with a [package] name in the directory (ext new writes one)")]
    NotACrate,
    #[error("cargo build failed:\n{0}")]
    Cargo(String),
    #[error("the build wrote no module (is the crate a cdylib?)")]
    NoModule,
    #[error("the module is not an extension: {0}")]
    Componentize(String),
    #[error("the component could not be written: {0}")]
    Write(std::io::Error),
}

impl BuildError {
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Toolchain(_) => "toolchain_missing",
            BuildError::NotACrate => "not_an_extension_crate",
            BuildError::Cargo(_) => "build_failed",
            BuildError::NoModule | BuildError::Componentize(_) => "componentize_failed",
            BuildError::Write(_) => "write_failed",
        }
    }
}

const DEBIAN_PACKAGES: &str = "apt install rustc-web cargo-web rust-web-src rust-web-llvm lld-22";

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = run_blocking(&Cmd::new(program, args, Duration::from_secs(30)));
    out.ok().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The toolchain to use: `CODEX_MASTER_WASM_TOOLCHAIN=debian|rustup` forces one; else Debian's
/// when it is complete, then rustup's.
fn toolchain() -> Result<Toolchain, BuildError> {
    let debian_rustc = Path::new("/usr/bin/rustc");
    let debian_library = || {
        let version = output("/usr/bin/rustc", &["-V"])?;
        let version = version.split_whitespace().nth(1)?.to_owned();
        Some(PathBuf::from(format!("/usr/src/rustc-{version}/library")))
    };
    let debian = || -> Result<Toolchain, BuildError> {
        if !debian_rustc.exists() || !Path::new("/usr/bin/cargo").exists() {
            return Err(BuildError::Toolchain(format!("Debian's Rust toolchain is not installed: {DEBIAN_PACKAGES}")));
        }
        match debian_library() {
            Some(lib) if lib.is_dir() => Ok(Toolchain::Debian),
            _ => Err(BuildError::Toolchain(format!(
                "Debian's rustc has no library sources to build std for WebAssembly: {DEBIAN_PACKAGES}"
            ))),
        }
    };
    let rustup = || -> Result<Toolchain, BuildError> {
        match output("rustup", &["target", "list", "--installed"]) {
            Some(list) if list.lines().any(|l| l.trim() == "wasm32-unknown-unknown") => Ok(Toolchain::Rustup),
            Some(_) => Err(BuildError::Toolchain(
                "rustup has no WebAssembly target: rustup target add wasm32-unknown-unknown".into(),
            )),
            None => Err(BuildError::Toolchain("rustup is not installed".into())),
        }
    };
    match std::env::var("CODEX_MASTER_WASM_TOOLCHAIN").as_deref() {
        Ok("debian") => debian(),
        Ok("rustup") => rustup(),
        _ => debian().or_else(|_| rustup()).map_err(|_| {
            BuildError::Toolchain(format!(
                "no WebAssembly toolchain: install Debian's ({DEBIAN_PACKAGES}), or rustup's target (rustup target add wasm32-unknown-unknown)"
            ))
        }),
    }
}

/// The package name in `dir/Cargo.toml`.
fn package_name(dir: &Path) -> Option<String> {
    let text = crate::config::read_file_nofollow(&dir.join("Cargo.toml"), 256 * 1024).ok()??;
    let value: toml::Table = toml::from_str(std::str::from_utf8(&text).ok()?).ok()?;
    value.get("package")?.get("name")?.as_str().map(str::to_owned)
}

/// What `ext build` made: the component's file name (in the crate's directory), size and digest.
pub struct Built {
    pub file: String,
    pub bytes: usize,
    pub sha256: String,
}

/// Builds the crate in `dir` and writes `dir/<name>.wasm`.
pub fn build(dir: &Path) -> Result<Built, BuildError> {
    let name = package_name(dir).ok_or(BuildError::NotACrate)?;
    let toolchain = toolchain()?;
    let cargo_home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))
        .unwrap_or_default();
    // No machine paths inside the module (panic messages carry source paths); SIMD as ours.
    // The parent is remapped, not the crate: crates side by side share one build of std.
    let parent = dir.parent().unwrap_or(dir);
    let rustflags = format!(
        "--remap-path-prefix={}=/ext --remap-path-prefix={cargo_home}=/cargo -C target-feature=+simd128",
        parent.display()
    );
    let mut args = vec!["build", "--release", "--target", "wasm32-unknown-unknown", "-q"];
    let mut env = vec![("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", rustflags)];
    let cargo = match toolchain {
        Toolchain::Debian => {
            args.push("-Zbuild-std=std,panic_abort");
            env.push(("RUSTC", "/usr/bin/rustc".into()));
            env.push(("RUSTC_BOOTSTRAP", "1".into()));
            "/usr/bin/cargo"
        }
        Toolchain::Rustup => "cargo",
    };
    let out = run_blocking(&Cmd::new(cargo, &args, BUILD_TIMEOUT).cwd(dir).env(&env).remove(&["RUSTFLAGS"]));
    if !out.ok() {
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let why = if out.timed_out { "the build timed out".to_owned() } else { tail.join("\n") };
        return Err(BuildError::Cargo(why));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| dir.join("target"), PathBuf::from);
    let module = target.join("wasm32-unknown-unknown/release").join(format!("{}.wasm", name.replace('-', "_")));
    let bytes = std::fs::read(&module).map_err(|_| BuildError::NoModule)?;
    let component =
        wit_component::ComponentEncoder::default()
            .module(&bytes)
            .and_then(|e| e.validate(true).encode())
            .map_err(|e| BuildError::Componentize(format!("{e:#}").lines().next().unwrap_or_default().to_owned()))?;
    let file = format!("{name}.wasm");
    std::fs::write(dir.join(&file), &component).map_err(BuildError::Write)?;
    Ok(Built { file, bytes: component.len(), sha256: crate::ext::cache::sha256_hex(&component) })
}
