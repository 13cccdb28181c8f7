//! The compiled-component cache, in the private state dir (`ext-cache/`).
//!
//! Key: the component's sha256, the engine's compatibility hash and the wasmtime version.
//! Serialized code is not integrity-checked by wasmtime, so each artifact carries a header
//! naming the component it was compiled from (its sha256) and the engine configuration, and a
//! digest keyed with a per-user secret (`cache.key`, 0600, in the cache dir) over header and
//! payload. An artifact whose digest does not match (a flipped byte, a partial write) or whose
//! header names another component or engine (an artifact swapped in under another name) is
//! recompiled, never loaded. Only artifacts this cache wrote are ever deserialized:
//! user-supplied files are components, compiled here.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::fsafe::Dir;

/// The pinned wasmtime version (see Cargo.toml); part of the cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";
const MAGIC: &[u8; 8] = b"CMXCWAS2";
const KEY_FILE: &str = "cache.key";
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

/// The per-user key of the keyed digests; created once (exclusively, 0600).
fn cache_key(dir: &Dir) -> Option<Vec<u8>> {
    if let Ok(Some(key)) = dir.read_bounded(KEY_FILE, 64) {
        return (key.len() == 32).then_some(key);
    }
    let key: Vec<u8> = (0..2).flat_map(|_| crate::fsafe::nonce().into_bytes()).take(32).collect();
    match dir.create_exclusive(KEY_FILE) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&key).and_then(|()| f.sync_all()).ok()?;
            Some(key)
        }
        // Another process made it meanwhile.
        Err(_) => dir.read_bounded(KEY_FILE, 64).ok().flatten().filter(|k| k.len() == 32),
    }
}

/// The artifact header: the component it came from and the engine configuration.
fn header(component_sha256: &str, engine: &Engine) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + 64 + 8);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(component_sha256.as_bytes());
    h.extend_from_slice(&compat_hash(engine).to_le_bytes());
    h
}

fn keyed_digest(key: &[u8], header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(header);
    h.update(payload);
    h.finalize().into()
}

/// Loads `bytes` (a component) through the cache in `dir` (if any).
pub fn load(engine: &Engine, dir: Option<&Dir>, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, Origin)> {
    let name = artifact_name(engine, sha256);
    let keyed = dir.and_then(|d| cache_key(d).map(|k| (d, k)));
    let expected_header = header(sha256, engine);
    if let Some((dir, key)) = &keyed {
        if let Ok(Some(artifact)) = dir.read_bounded(&name, MAX_ARTIFACT_BYTES) {
            if let Some(payload) = verified_payload(&artifact, key, &expected_header) {
                // SAFETY: the payload is an artifact this cache serialized from this very
                // component (the header says so, under our keyed digest) for this engine.
                if let Ok(c) = unsafe { Component::deserialize(engine, payload) } {
                    return Ok((c, Origin::Cache));
                }
            }
            tracing::warn!("a cached extension artifact failed its identity or digest check; recompiling");
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Some((dir, key)) = &keyed {
        if let Ok(serialized) = component.serialize() {
            let mut artifact = Vec::with_capacity(serialized.len() + expected_header.len() + 32);
            artifact.extend_from_slice(&expected_header);
            artifact.extend_from_slice(&keyed_digest(key, &expected_header, &serialized));
            artifact.extend_from_slice(&serialized);
            if let Err(e) = dir.replace_atomic(&name, &artifact) {
                tracing::warn!(error = %e, "could not write the extension cache");
            }
        }
    }
    Ok((component, Origin::Compiled))
}

fn verified_payload<'a>(artifact: &'a [u8], key: &[u8], expected_header: &[u8]) -> Option<&'a [u8]> {
    let rest = artifact.strip_prefix(expected_header)?;
    if rest.len() < 32 {
        return None;
    }
    let (digest, payload) = rest.split_at(32);
    (keyed_digest(key, expected_header, payload).as_slice() == digest).then_some(payload)
}
