//! Process trees from `/proc`: where it is, who descends from a worker, and how a tree is
//! ended. Admission counts trees; stopping and crash repair end them.

use std::path::{Path, PathBuf};

/// Where `/proc` is: `CODEX_MASTER_MCP_PROC_ROOT` (tests use a fake one), else `/proc`.
pub fn proc_root() -> PathBuf {
    crate::config::absolute_env("CODEX_MASTER_MCP_PROC_ROOT").unwrap_or_else(|| PathBuf::from("/proc"))
}

/// Small `/proc` files only.
pub(crate) fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path).ok()?.take(64 * 1024).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The parent pid field of `/proc/<pid>/stat` (after the parenthesised command name, which may
/// itself hold spaces and parentheses).
fn parent_of(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Counts the processes in the trees rooted at `roots`: a walk down the kernel's `children`
/// lists (only the workers' own processes are read), or, on a kernel without them, one pass
/// over every `/proc/*/stat`.
pub fn tree_size(proc_root: &Path, roots: &[u32]) -> u32 {
    if roots.is_empty() {
        return 0;
    }
    tree_pids(proc_root, roots).map_or_else(|| scan_parents(proc_root, roots), |pids| pids.len() as u32)
}

/// What `/proc` says about one process of a tree.
enum Node {
    /// It runs; these are the children of all its threads.
    Alive(Vec<u32>),
    Gone,
    /// The kernel offers no `children` lists.
    Unsupported,
}

fn node(proc_root: &Path, pid: u32) -> Node {
    let dir = proc_root.join(pid.to_string());
    let Ok(tasks) = std::fs::read_dir(dir.join("task")) else {
        return if dir.exists() { Node::Unsupported } else { Node::Gone };
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        match read_small(&task.path().join("children")) {
            Some(text) => children.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok())),
            // A thread that ended meanwhile has no list; a live one without it: no support.
            None if task.path().exists() => return Node::Unsupported,
            None => {}
        }
    }
    Node::Alive(children)
}

/// Bounded: a cycle in a fake `/proc` or a fork bomb must not hang a start.
const MAX_TREE: usize = 100_000;

/// The live processes in the trees rooted at `roots`, roots first; `None` without `children`
/// lists.
pub fn tree_pids(proc_root: &Path, roots: &[u32]) -> Option<Vec<u32>> {
    let mut seen: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let mut queue: std::collections::VecDeque<u32> = roots.iter().copied().collect();
    let mut alive = Vec::new();
    while let Some(pid) = queue.pop_front() {
        if !seen.insert(pid) || seen.len() > MAX_TREE {
            continue;
        }
        match node(proc_root, pid) {
            Node::Alive(children) => {
                alive.push(pid);
                queue.extend(children);
            }
            Node::Gone => {}
            Node::Unsupported => return None,
        }
    }
    Some(alive)
}

/// Ends `pids` (a worker's tree, or orphans a crash left on its home): SIGTERM to those still
/// there after `grace`, SIGKILL to those still there a second later. Some CLIs outlive the
/// SIGHUP tmux sends when it closes their pane (Gemini CLI's node processes do).
pub async fn reap(pids: &[u32], grace: std::time::Duration) {
    use rustix::process::{kill_process, Pid, Signal};
    let alive = |pids: &[u32]| -> Vec<u32> { pids.iter().copied().filter(|p| runs(*p)).collect() };
    let until_gone = |pids: Vec<u32>, wait: std::time::Duration| async move {
        let deadline = std::time::Instant::now() + wait;
        let mut left = pids;
        while !left.is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            left = alive(&left);
        }
        left
    };
    let left = until_gone(alive(pids), grace).await;
    for (signal, wait) in
        [(Signal::TERM, std::time::Duration::from_secs(1)), (Signal::KILL, std::time::Duration::from_secs(1))]
    {
        let now_left = alive(&left);
        if now_left.is_empty() {
            return;
        }
        for pid in &now_left {
            if let Some(pid) = Pid::from_raw(*pid as i32) {
                let _ = kill_process(pid, signal);
            }
        }
        let _ = until_gone(now_left, wait).await;
    }
}

/// One pass over `/proc/*/stat`: every process's parent, then who descends from a root.
fn scan_parents(proc_root: &Path, roots: &[u32]) -> u32 {
    let Ok(entries) = std::fs::read_dir(proc_root) else { return roots.len() as u32 };
    let mut parent: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(ppid) = read_small(&entry.path().join("stat")).as_deref().and_then(parent_of) {
            parent.insert(pid, ppid);
        }
    }
    let roots: std::collections::HashSet<u32> = roots.iter().copied().collect();
    let mut count = 0;
    for &pid in parent.keys() {
        // Walk up (bounded: a cycle in a fake /proc must not hang us).
        let mut cur = pid;
        for _ in 0..64 {
            if roots.contains(&cur) {
                count += 1;
                break;
            }
            match parent.get(&cur) {
                Some(&p) if p != 0 && p != cur => cur = p,
                _ => break,
            }
        }
    }
    count
}

/// Whether `pid` is a process that still runs (a zombie has ended; only its parent's wait is
/// missing).
pub fn runs(pid: u32) -> bool {
    read_small(Path::new(&format!("/proc/{pid}/stat")))
        .and_then(|stat| stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_owned)))
        .is_some_and(|state| state != "Z" && state != "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_the_command_name() {
        assert_eq!(parent_of("42 (a (b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn trees_count_descendants_in_a_fake_proc() {
        let dir = std::env::temp_dir().join(format!("cm-proctree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // 10 is a worker with children 11 and 12; 12 has 13; 20 is someone else's; 30↔31 loop.
        for (pid, ppid) in [(10, 1), (11, 10), (12, 10), (13, 12), (20, 1), (30, 31), (31, 30)] {
            std::fs::create_dir_all(dir.join(pid.to_string())).unwrap();
            std::fs::write(dir.join(format!("{pid}/stat")), format!("{pid} (x y) S {ppid} 0 0")).unwrap();
        }
        // No `task/*/children` here: the scan of every parent.
        assert_eq!(tree_size(&dir, &[10]), 4);
        assert_eq!(tree_size(&dir, &[12, 20]), 3);
        assert_eq!(tree_size(&dir, &[]), 0);
        // With children lists (two threads of 10 have a child each; 30 and 31 name each other).
        for (pid, tid, children) in [
            (10, 10, "11 "),
            (10, 99, "12"),
            (11, 11, ""),
            (12, 12, "13"),
            (13, 13, ""),
            (30, 30, "31"),
            (31, 31, "30"),
        ] {
            let task = dir.join(format!("{pid}/task/{tid}"));
            std::fs::create_dir_all(&task).unwrap();
            std::fs::write(task.join("children"), children).unwrap();
        }
        let sorted = |roots: &[u32]| {
            tree_pids(&dir, roots).map(|mut pids| {
                pids.sort_unstable();
                pids
            })
        };
        assert_eq!(sorted(&[10]), Some(vec![10, 11, 12, 13]));
        assert_eq!(sorted(&[30]), Some(vec![30, 31]));
        assert_eq!(sorted(&[12, 4242]), Some(vec![12, 13]), "a gone root counts nothing");
        assert_eq!(tree_size(&dir, &[10, 12]), 4, "shared descendants count once");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
