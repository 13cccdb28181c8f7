//! Host admission: whether the machine has room for one more worker.
//!
//! A start reads `/proc/meminfo` (`MemAvailable`), `/proc/pressure/{memory,cpu}` (the `some
//! avg10` line, where the kernel has PSI) and the process trees of the running workers, and
//! refuses with the check that failed. Thresholds come from `[admission]` in `config.toml`.
//! The sample never looks at other users' processes: only the workers' own trees are counted.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[admission]` in `config.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// What a worker is expected to use, unless its config sets `memory_max_mib`.
    pub agent_memory_mib: u64,
    /// Memory that must stay available after the new worker's estimate.
    pub reserve_memory_mib: u64,
    /// Highest memory `some avg10` (percent of time stalled) at which a start is allowed.
    pub max_memory_pressure: f64,
    /// Highest CPU `some avg10` at which a start is allowed.
    pub max_cpu_pressure: f64,
    /// Running workers, the new one not counted.
    pub max_workers: u32,
    /// Processes in the running workers' trees (their tools and subagents count).
    pub max_worker_processes: u32,
    /// A worker whose CLI reports this much of a usage window used is `warned` and listed as
    /// near its limit, so a lead can assign elsewhere.
    pub near_limit_percent: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            agent_memory_mib: 512,
            reserve_memory_mib: 256,
            max_memory_pressure: 40.0,
            // A build box sits at 50-90 %: only a saturated machine refuses.
            max_cpu_pressure: 98.0,
            max_workers: 16,
            max_worker_processes: 1024,
            near_limit_percent: 90,
        }
    }
}

impl Thresholds {
    /// Checks the ranges (a config typo must not switch admission off silently).
    pub fn validate(&self) -> Result<(), String> {
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        if !pct(self.max_memory_pressure) || !pct(self.max_cpu_pressure) {
            return Err("admission: max_memory_pressure and max_cpu_pressure are percentages (0-100)".into());
        }
        if self.agent_memory_mib > 1 << 20 || self.reserve_memory_mib > 1 << 20 {
            return Err("admission: memory sizes are MiB of at most 1048576".into());
        }
        if self.max_workers == 0 || self.max_workers > 1024 || self.max_worker_processes == 0 {
            return Err("admission: max_workers is 1-1024 and max_worker_processes at least 1".into());
        }
        if !(1..=100).contains(&self.near_limit_percent) {
            return Err("admission: near_limit_percent is a percentage (1-100)".into());
        }
        Ok(())
    }
}

/// Where `/proc` is: `CODEX_MASTER_MCP_PROC_ROOT` (tests use a fake one), else `/proc`.
pub fn proc_root() -> PathBuf {
    crate::config::absolute_env("CODEX_MASTER_MCP_PROC_ROOT").unwrap_or_else(|| PathBuf::from("/proc"))
}

/// What the machine shows right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    pub mem_available_mib: Option<u64>,
    /// `some avg10` of `/proc/pressure/memory`; `None` without PSI.
    pub memory_pressure: Option<f64>,
    pub cpu_pressure: Option<f64>,
}

impl Sample {
    pub fn psi(&self) -> bool {
        self.memory_pressure.is_some() || self.cpu_pressure.is_some()
    }
}

/// The running workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Workers {
    pub running: u32,
    /// Processes in their trees, the workers themselves included.
    pub processes: u32,
}

/// Small `/proc` files only.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path).ok()?.take(64 * 1024).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `some avg10=…` of a PSI file.
fn some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    let value = line.split_whitespace().find_map(|w| w.strip_prefix("avg10="))?;
    value.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

fn mem_available_mib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

pub fn sample(proc_root: &Path) -> Sample {
    Sample {
        mem_available_mib: read_small(&proc_root.join("meminfo")).as_deref().and_then(mem_available_mib),
        memory_pressure: read_small(&proc_root.join("pressure/memory")).as_deref().and_then(some_avg10),
        cpu_pressure: read_small(&proc_root.join("pressure/cpu")).as_deref().and_then(some_avg10),
    }
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

/// Whether `systemd-run --user --scope` works here (a user manager on a bus): probed once per
/// process, bounded by a timeout.
pub async fn scope_available() -> bool {
    static PROBED: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    *PROBED
        .get_or_init(|| async {
            let Some(program) = crate::config::on_path("systemd-run") else { return false };
            let program = program.to_string_lossy().into_owned();
            let cmd = crate::process::Cmd::new(
                &program,
                &["--user", "--scope", "--quiet", "--collect", "--", "true"],
                std::time::Duration::from_secs(5),
            );
            crate::process::run(&cmd).await.ok()
        })
        .await
}

/// The words that run `command` in its own transient scope with a memory cap.
pub fn scoped(command: Vec<String>, unit: &str, max_mib: u64) -> Vec<String> {
    let mut words: Vec<String> = ["systemd-run", "--user", "--scope", "--quiet", "--collect"].map(str::to_owned).into();
    words.push(format!("--unit={unit}"));
    words.extend(["-p".to_owned(), format!("MemoryMax={max_mib}M"), "--".to_owned()]);
    words.extend(command);
    words
}

/// Whether `pid` is a process that still runs (a zombie has ended; only its parent's wait is
/// missing).
pub fn runs(pid: u32) -> bool {
    read_small(Path::new(&format!("/proc/{pid}/stat")))
        .and_then(|stat| stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_owned)))
        .is_some_and(|state| state != "Z" && state != "X")
}

/// The check that refused a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    MemoryAvailable,
    MemoryPressure,
    CpuPressure,
    Workers,
    WorkerProcesses,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::MemoryAvailable => "memory_available",
            Check::MemoryPressure => "memory_pressure",
            Check::CpuPressure => "cpu_pressure",
            Check::Workers => "workers",
            Check::WorkerProcesses => "worker_processes",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Check::MemoryAvailable => "available memory is below the new worker's estimate plus the reserve",
            Check::MemoryPressure => "memory pressure is above the configured limit",
            Check::CpuPressure => "CPU pressure is above the configured limit",
            Check::Workers => "the configured number of running workers is reached",
            Check::WorkerProcesses => "the workers' process trees hold the configured number of processes",
        }
    }

    /// How long until another try makes sense: pressure is a 10 s average, memory and counts
    /// change when a worker finishes.
    pub fn retry_after_seconds(self) -> u64 {
        match self {
            Check::MemoryPressure | Check::CpuPressure => 20,
            Check::MemoryAvailable => 60,
            Check::Workers | Check::WorkerProcesses => 60,
        }
    }
}

/// Whether one more worker, expected to use `need_mib`, may start. Missing readings (no PSI, no
/// meminfo) pass: admission never blocks a machine it cannot measure.
pub fn decide(s: &Sample, w: Workers, t: &Thresholds, need_mib: u64) -> Result<(), Check> {
    if w.running >= t.max_workers {
        return Err(Check::Workers);
    }
    if w.processes >= t.max_worker_processes {
        return Err(Check::WorkerProcesses);
    }
    if s.mem_available_mib.is_some_and(|m| m < need_mib.saturating_add(t.reserve_memory_mib)) {
        return Err(Check::MemoryAvailable);
    }
    if s.memory_pressure.is_some_and(|p| p > t.max_memory_pressure) {
        return Err(Check::MemoryPressure);
    }
    if s.cpu_pressure.is_some_and(|p| p > t.max_cpu_pressure) {
        return Err(Check::CpuPressure);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PSI: &str =
        "some avg10=12.50 avg60=3.00 avg300=1.00 total=1\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=0\n";

    #[test]
    fn readings_come_from_the_kernel_formats() {
        assert_eq!(some_avg10(PSI), Some(12.5));
        assert_eq!(some_avg10("full avg10=1.00"), None);
        assert_eq!(some_avg10("some avg10=nan"), None);
        assert_eq!(mem_available_mib("MemTotal: 100 kB\nMemAvailable:  2097152 kB\n"), Some(2048));
        assert_eq!(mem_available_mib("MemTotal: 100 kB\n"), None);
        assert_eq!(parent_of("42 (a (b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn each_check_refuses_on_its_own() {
        let t = Thresholds::default();
        let calm = Sample { mem_available_mib: Some(8192), memory_pressure: Some(0.0), cpu_pressure: Some(10.0) };
        let few = Workers { running: 2, processes: 10 };
        assert_eq!(decide(&calm, few, &t, 512), Ok(()));
        assert_eq!(decide(&Sample { mem_available_mib: Some(700), ..calm }, few, &t, 512), Err(Check::MemoryAvailable));
        assert_eq!(decide(&Sample { memory_pressure: Some(41.0), ..calm }, few, &t, 512), Err(Check::MemoryPressure));
        assert_eq!(decide(&Sample { cpu_pressure: Some(99.0), ..calm }, few, &t, 512), Err(Check::CpuPressure));
        assert_eq!(decide(&calm, Workers { running: 16, processes: 10 }, &t, 512), Err(Check::Workers));
        assert_eq!(decide(&calm, Workers { running: 1, processes: 1024 }, &t, 512), Err(Check::WorkerProcesses));
        // Without PSI and meminfo nothing is known, and nothing is refused.
        assert_eq!(decide(&Sample::default(), few, &t, 512), Ok(()));
        assert!(Thresholds { max_cpu_pressure: 120.0, ..t }.validate().is_err());
        assert!(Thresholds { max_workers: 0, ..t }.validate().is_err());
        assert!(t.validate().is_ok());
    }

    #[test]
    fn trees_count_descendants_in_a_fake_proc() {
        let dir = std::env::temp_dir().join(format!("cm-admission-{}", std::process::id()));
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
        std::fs::create_dir_all(dir.join("pressure")).unwrap();
        std::fs::write(dir.join("pressure/cpu"), PSI).unwrap();
        std::fs::write(dir.join("meminfo"), "MemAvailable: 1048576 kB\n").unwrap();
        let s = sample(&dir);
        assert_eq!((s.mem_available_mib, s.memory_pressure, s.cpu_pressure), (Some(1024), None, Some(12.5)));
        assert!(s.psi());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
