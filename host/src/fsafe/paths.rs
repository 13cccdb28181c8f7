//! Path resolution for safety checks: how the file system will see a path, without opening it.

use std::path::{Component, Path, PathBuf};

/// Resolves `path` against `base` the way the kernel would walk it: `..` applies to the
/// directory reached so far, and every symlink met on the way, dangling ones included, is
/// replaced by its target (at most 40 hops; past that the rest is kept lexically). Components
/// that do not exist are kept as written.
pub fn resolve_lenient(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    // Components still to walk, in reverse so the next one is at the end.
    let mut todo: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut todo, &joined);
    let mut resolved = PathBuf::from("/");
    let mut hops = 0;
    let mut exists = true;
    while let Some(name) = todo.pop() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&name);
        if exists && hops < 40 {
            match std::fs::symlink_metadata(&candidate) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(&candidate) {
                        hops += 1;
                        if target.is_absolute() {
                            resolved = PathBuf::from("/");
                        }
                        push_components(&mut todo, &target);
                        continue;
                    }
                }
                Ok(_) => {}
                Err(_) => exists = false,
            }
        }
        resolved = candidate;
    }
    resolved
}

/// Pushes the normal and `..` components of `path` onto `todo` so they pop in order.
fn push_components(todo: &mut Vec<std::ffi::OsString>, path: &Path) {
    let comps: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    todo.extend(comps.into_iter().rev());
}

/// `~` and `~/…` expanded with `$HOME`; anything else unchanged.
pub fn expand_home(item: &str) -> PathBuf {
    match item.strip_prefix("~/").or(if item == "~" { Some("") } else { None }) {
        Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
        None => PathBuf::from(item),
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (the walk that follows never
/// follows a symlink, so a `..` is taken as written).
pub fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
