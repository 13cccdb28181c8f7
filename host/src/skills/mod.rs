//! The skills inventory of an agent home: the `SKILL.md` files its CLI loads, under the roots
//! its provider names ([`Roots`]).
//!
//! Codex 0.169 has three under the home `H`: `H/skills` (user skills and `.system`),
//! `H/plugins/cache` (installed plugins, `<marketplace>/<plugin>/<version>/skills/<name>/SKILL.md`)
//! and `H/.tmp/plugins` (the plugin checkout Codex syncs). Every directory is opened through
//! no-follow handles: a symlinked root, directory or `SKILL.md` is skipped, never followed.
//! Only the frontmatter `name` and `description` are read; file bodies never leave here.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fsafe::{Dir, EntryKind};

/// Where a CLI's skills are, in the order the inventory reports them: (kind, path relative to
/// the agent home).
pub type Roots = &'static [(&'static str, &'static [&'static str])];

/// Codex's roots.
pub const CODEX_ROOTS: Roots =
    &[("system", &["skills"]), ("plugin_cache", &["plugins", "cache"]), ("tmp_plugin_cache", &[".tmp", "plugins"])];

/// Directory levels below a root that are searched.
const MAX_DEPTH: usize = 10;
/// Entries looked at per scan, so a huge tree cannot stall a call.
const MAX_ENTRIES: usize = 200_000;
/// The longest skill reference a lookup takes.
pub const MAX_SKILL_REF: usize = 300;

/// How much of a `SKILL.md` is read for its frontmatter.
const HEAD_BYTES: u64 = 4 * 1024;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// One skill file.
#[derive(Debug, Clone)]
pub struct Skill {
    /// The frontmatter name, else the name the path implies.
    pub name: String,
    /// The directory name the path implies (an alias for matching).
    pub dir_name: String,
    pub source: &'static str,
    /// `<plugin>@<marketplace>`, or empty.
    pub plugin: String,
    /// Path relative to the agent home.
    pub rel_path: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RootInfo {
    pub kind: &'static str,
    /// A real directory (a symlinked root counts as absent).
    pub exists: bool,
    pub skill_count: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Sorted by home-relative path.
    pub skills: Vec<Skill>,
    pub roots: Vec<RootInfo>,
    /// The entry budget ran out; the inventory is partial.
    pub truncated: bool,
}

/// Scans the home. A home that is missing or unusable gives an empty inventory.
///
/// The subdirectories right below the roots are shared out to a few threads: a scan is mostly
/// small system calls, which overlap well.
pub fn scan(home: &Path, roots: Roots) -> Inventory {
    let mut inv = Inventory::default();
    // The home itself may sit behind a symlink the user chose; everything below it is no-follow.
    let home_dir = std::fs::canonicalize(home).ok().and_then(|h| Dir::walk(&h, false).ok());
    let budget = AtomicUsize::new(MAX_ENTRIES);
    // (root index, directory, home-relative path) of every directory one level below a root.
    let mut jobs: Vec<(usize, Dir, Vec<String>)> = Vec::new();
    let mut per_root: Vec<Vec<Skill>> = Vec::new();
    for (i, (kind, parts)) in roots.iter().enumerate() {
        let root = home_dir.as_ref().and_then(|h| open_path(h, parts));
        let rel: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
        let mut found = Vec::new();
        if let Some(root) = &root {
            for (name, entry) in root.entries().unwrap_or_default() {
                if take(&budget) {
                    match entry {
                        EntryKind::File if name == "SKILL.md" => {
                            found.extend(read_skill(root, &[rel.clone(), vec![name]].concat()))
                        }
                        EntryKind::Dir => {
                            if let Ok(Some(sub)) = root.subdir_existing(&name) {
                                jobs.push((i, sub, [rel.clone(), vec![name]].concat()));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        per_root.push(found);
        inv.roots.push(RootInfo { kind, exists: root.is_some(), skill_count: 0 });
    }
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4).min(jobs.len().max(1));
    let found: Vec<Vec<(usize, Skill)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        let Some((root, dir, rel)) = jobs.get(j) else { break };
                        let mut rel = rel.clone();
                        let mut skills = Vec::new();
                        walk(dir, &mut rel, 1, &budget, &mut skills);
                        out.extend(skills.into_iter().map(|s| (*root, s)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    for (root, skill) in found.into_iter().flatten() {
        per_root[root].push(skill);
    }
    for (i, mut skills) in per_root.into_iter().enumerate() {
        // A path outside Codex's layout is of the kind of the root it was found under.
        for s in skills.iter_mut().filter(|s| s.source == "unknown") {
            s.source = roots[i].0;
        }
        inv.roots[i].skill_count = skills.len();
        inv.skills.extend(skills);
    }
    inv.truncated = budget.load(Ordering::Relaxed) == 0;
    inv.skills.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    inv
}

/// Takes one entry from the shared budget; false once it is spent.
fn take(budget: &AtomicUsize) -> bool {
    budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1)).is_ok()
}

fn open_path(base: &Dir, parts: &[&str]) -> Option<Dir> {
    let mut dir = base.subdir_existing(parts[0]).ok()??;
    for p in &parts[1..] {
        dir = dir.subdir_existing(p).ok()??;
    }
    Some(dir)
}

fn walk(dir: &Dir, rel: &mut Vec<String>, depth: usize, budget: &AtomicUsize, out: &mut Vec<Skill>) {
    let Ok(entries) = dir.entries() else { return };
    for (name, kind) in entries {
        if !take(budget) {
            return;
        }
        match kind {
            EntryKind::File if name == "SKILL.md" => {
                rel.push(name);
                out.extend(read_skill(dir, rel));
                rel.pop();
            }
            EntryKind::Dir if depth < MAX_DEPTH => {
                if let Ok(Some(sub)) = dir.subdir_existing(&name) {
                    rel.push(name);
                    walk(&sub, rel, depth + 1, budget, out);
                    rel.pop();
                }
            }
            // Symlinks (to files or directories) and other kinds are skipped.
            _ => {}
        }
    }
}

fn read_skill(dir: &Dir, rel: &[String]) -> Option<Skill> {
    // read_head opens no-follow and refuses anything but a regular file.
    let head = dir.read_head("SKILL.md", HEAD_BYTES).ok()??;
    let (fm_name, description) = frontmatter(&String::from_utf8_lossy(&head));
    let parts: Vec<&str> = rel.iter().map(String::as_str).collect();
    let (dir_name, source, plugin) = classify(&parts);
    Some(Skill {
        name: fm_name.unwrap_or_else(|| dir_name.clone()),
        dir_name,
        source,
        plugin,
        rel_path: parts.join("/"),
        description,
    })
}

/// Name, source and plugin implied by a home-relative path ending in `SKILL.md`.
pub fn classify(parts: &[&str]) -> (String, &'static str, String) {
    let parent = parts.len().checked_sub(2).map_or("", |i| parts[i]).to_owned();
    match parts {
        ["skills", ".system", n, ..] if parts.len() >= 4 => ((*n).to_owned(), "system", String::new()),
        ["skills", n, "SKILL.md"] => ((*n).to_owned(), "user", String::new()),
        ["plugins", "cache", market, p, ..] if parts.len() >= 6 => (parent, "plugin_cache", format!("{p}@{market}")),
        [".tmp", "plugins", "plugins", p, ..] if parts.len() >= 6 => (parent, "tmp_plugin_cache", format!("{p}@tmp")),
        [".tmp", "plugins", ".agents", "skills", n, ..] if parts.len() >= 6 => {
            ((*n).to_owned(), "tmp_agent_skills", "agents@tmp".to_owned())
        }
        _ => (parent, "unknown", String::new()),
    }
}

/// The frontmatter's `name` and `description` (single-line or folded block values), bounded
/// and on one line. Anything else in the file is ignored.
pub fn frontmatter(text: &str) -> (Option<String>, Option<String>) {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return (None, None);
    }
    let (mut name, mut description) = (None, None);
    let mut block: Option<(&str, Vec<String>)> = None;
    let finish = |key: &str, parts: Vec<String>, name: &mut Option<String>, description: &mut Option<String>| {
        let value = parts.join(" ");
        match key {
            "name" => *name = clean(&value, MAX_NAME_CHARS),
            "description" => *description = clean(&value, MAX_DESCRIPTION_CHARS),
            _ => {}
        }
    };
    for line in lines {
        if line.trim_end() == "---" {
            break;
        }
        if let Some((key, parts)) = block.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') || line.trim().is_empty() {
                parts.push(line.trim().to_owned());
                continue;
            }
            let (key, parts) = (*key, std::mem::take(parts));
            finish(key, parts, &mut name, &mut description);
            block = None;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let key = match key.trim() {
            "name" => "name",
            "description" => "description",
            _ => continue,
        };
        let value = value.trim();
        if matches!(value, "|" | ">" | "|-" | ">-" | "|+" | ">+") {
            block = Some((key, Vec::new()));
        } else {
            finish(key, vec![unquote(value).to_owned()], &mut name, &mut description);
        }
    }
    if let Some((key, parts)) = block {
        finish(key, parts, &mut name, &mut description);
    }
    (name, description)
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// One line, control characters removed, bounded; `None` when blank.
fn clean(value: &str, max: usize) -> Option<String> {
    let one: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let one = one.split_whitespace().collect::<Vec<_>>().join(" ");
    (!one.is_empty()).then(|| crate::text::keep_head_chars(&one, max))
}

/// The lower-case keys a skill answers to: its name and directory name, and with a plugin
/// `<plugin-base>:<name>`, `<plugin-base>/<name>`, `<plugin>:<name>` and `<plugin>/<name>`.
pub fn match_keys(skill: &Skill) -> Vec<String> {
    let mut names = vec![skill.name.to_lowercase()];
    if skill.dir_name.to_lowercase() != names[0] {
        names.push(skill.dir_name.to_lowercase());
    }
    let mut keys = names.clone();
    if !skill.plugin.is_empty() {
        let plugin = skill.plugin.to_lowercase();
        let base = plugin.split('@').next().unwrap_or("").to_owned();
        for n in &names {
            for p in [&base, &plugin] {
                keys.push(format!("{p}:{n}"));
                keys.push(format!("{p}/{n}"));
            }
        }
    }
    keys
}

/// Skills answering to `wanted` (trimmed, case-insensitive), at most `limit`.
pub fn find<'a>(inv: &'a Inventory, wanted: &str, limit: usize) -> Vec<&'a Skill> {
    let wanted = wanted.trim().to_lowercase();
    inv.skills.iter().filter(|s| match_keys(s).contains(&wanted)).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cli_is_scanned_under_its_own_roots() {
        let home = std::env::temp_dir().join(format!("cm-skills-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        for dir in [".gemini/skills/review", "skills/fix-ci", ".agents/skills/plan"] {
            std::fs::create_dir_all(home.join(dir)).unwrap();
            std::fs::write(home.join(dir).join("SKILL.md"), "---\nname: x\ndescription: d\n---\n").unwrap();
        }
        let gemini: Roots = &[("user", &[".gemini", "skills"]), ("agent_skills", &[".agents", "skills"])];
        let found = |roots| scan(&home, roots).skills.into_iter().map(|s| (s.rel_path, s.source)).collect::<Vec<_>>();
        assert_eq!(
            found(gemini),
            [
                (".agents/skills/plan/SKILL.md".to_owned(), "agent_skills"),
                (".gemini/skills/review/SKILL.md".to_owned(), "user")
            ]
        );
        assert_eq!(found(CODEX_ROOTS), [("skills/fix-ci/SKILL.md".to_owned(), "user")]);
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn frontmatter_reads_name_and_description_only() {
        let (n, d) = frontmatter("---\nname: \"gh-fix-ci\"\ndescription: >\n  Fix failing\n  CI checks.\nother: x\n---\n# Body\nsecret body text\n");
        assert_eq!((n.as_deref(), d.as_deref()), (Some("gh-fix-ci"), Some("Fix failing CI checks.")));
        assert_eq!(frontmatter("# no frontmatter\nname: x\n"), (None, None));
        let (_, d) = frontmatter(&format!("---\ndescription: {}\n---\n", "x".repeat(900)));
        assert_eq!(d.unwrap().chars().count(), MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn paths_classify_like_codex_lays_them_out() {
        let c = |p: &str| {
            let parts: Vec<&str> = p.split('/').collect();
            let (n, s, pl) = classify(&parts);
            (n, s, pl)
        };
        assert_eq!(c("skills/.system/imagegen/SKILL.md"), ("imagegen".into(), "system", String::new()));
        assert_eq!(c("skills/mine/SKILL.md"), ("mine".into(), "user", String::new()));
        assert_eq!(
            c("plugins/cache/openai-curated/github/1.0.0/skills/gh-fix-ci/SKILL.md"),
            ("gh-fix-ci".into(), "plugin_cache", "github@openai-curated".into())
        );
        assert_eq!(
            c(".tmp/plugins/plugins/codex-security/skills/security-scan/SKILL.md"),
            ("security-scan".into(), "tmp_plugin_cache", "codex-security@tmp".into())
        );
        assert_eq!(
            c(".tmp/plugins/.agents/skills/review/SKILL.md"),
            ("review".into(), "tmp_agent_skills", "agents@tmp".into())
        );
    }
}
