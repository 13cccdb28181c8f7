//! The compiled-component cache, in the private state dir (`ext-cache/`).
//!
//! Key: the component's sha256, the engine's compatibility hash and the wasmtime version.
//! Serialized code is not integrity-checked by wasmtime, so each artifact carries our own
//! sha256 of its payload; an artifact whose digest does not match (a flipped byte, a partial
//! write) is recompiled, never loaded. Only artifacts this cache wrote are ever deserialized:
//! user-supplied files are components, compiled here.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::fsafe::Dir;

/// The pinned wasmtime version (see Cargo.toml); part of the cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";
const MAGIC: &[u8; 8] = b"CMXCWASM";
/// Largest artifact we read back.
const MAX_ARTIFACT_BYTES: u64 = 256 * 1024 * 1024;

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn compat_hash(engine: &Engine) -> u64 {
    // FNV-1a over the engine's compatibility hash: stable across runs of one build.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// The cache file name for a component.
pub fn artifact_name(engine: &Engine, component_sha256: &str) -> String {
    format!("{component_sha256}-{:016x}-{WASMTIME_VERSION}.cwasm", compat_hash(engine))
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

/// Loads `bytes` (a component) through the cache in `dir` (if any).
pub fn load(engine: &Engine, dir: Option<&Dir>, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, Origin)> {
    let name = artifact_name(engine, sha256);
    if let Some(dir) = dir {
        if let Ok(Some(artifact)) = dir.read_bounded(&name, MAX_ARTIFACT_BYTES) {
            if let Some(payload) = verified_payload(&artifact) {
                // SAFETY: the payload is an artifact this cache serialized from a component it
                // compiled itself, for this engine (the key), and its digest matches.
                if let Ok(c) = unsafe { Component::deserialize(engine, payload) } {
                    return Ok((c, Origin::Cache));
                }
            }
            tracing::warn!("a cached extension artifact failed its digest check; recompiling");
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Some(dir) = dir {
        if let Ok(serialized) = component.serialize() {
            let mut artifact = Vec::with_capacity(serialized.len() + 40);
            artifact.extend_from_slice(MAGIC);
            artifact.extend_from_slice(&Sha256::digest(&serialized));
            artifact.extend_from_slice(&serialized);
            if let Err(e) = dir.replace_atomic(&name, &artifact) {
                tracing::warn!(error = %e, "could not write the extension cache");
            }
        }
    }
    Ok((component, Origin::Compiled))
}

fn verified_payload(artifact: &[u8]) -> Option<&[u8]> {
    let rest = artifact.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (digest, payload) = rest.split_at(32);
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}
