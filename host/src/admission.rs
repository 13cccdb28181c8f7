//! Host admission: whether the machine has room for one more worker.
//!
//! A start reads `/proc/meminfo` (`MemAvailable`), `/proc/pressure/{memory,cpu}` (the `some
//! avg10` line, where the kernel has PSI) and the process trees of the running workers, and
//! refuses with the check that failed. Thresholds come from `[admission]` in `config.toml`.
//! The sample never looks at other users' processes: only the workers' own trees are counted.

use std::path::Path;

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

/// A sample from a host's `/proc` texts (read over ssh).
pub fn sample_from(t: &crate::tmux::ssh::ProcTexts) -> Sample {
    Sample {
        mem_available_mib: mem_available_mib(&t.meminfo),
        memory_pressure: some_avg10(&t.memory_pressure),
        cpu_pressure: some_avg10(&t.cpu_pressure),
    }
}

pub fn sample(proc_root: &Path) -> Sample {
    Sample {
        mem_available_mib: crate::proctree::read_small(&proc_root.join("meminfo"))
            .as_deref()
            .and_then(mem_available_mib),
        memory_pressure: crate::proctree::read_small(&proc_root.join("pressure/memory"))
            .as_deref()
            .and_then(some_avg10),
        cpu_pressure: crate::proctree::read_small(&proc_root.join("pressure/cpu")).as_deref().and_then(some_avg10),
    }
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
/// A host's admission: `running` of our workers there (their process trees are not counted: they
/// are not this machine's), its readings when it gave them, its own limits.
pub fn decide_on_host(sample: Option<Sample>, running: u32, t: &Thresholds) -> Result<(), Check> {
    decide(&sample.unwrap_or_default(), Workers { running, processes: 0 }, t, t.agent_memory_mib)
}

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
    fn a_sample_reads_psi_and_meminfo_from_a_fake_proc() {
        let dir = std::env::temp_dir().join(format!("cm-admission-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pressure")).unwrap();
        std::fs::write(dir.join("pressure/cpu"), PSI).unwrap();
        std::fs::write(dir.join("meminfo"), "MemAvailable: 1048576 kB\n").unwrap();
        let s = sample(&dir);
        assert_eq!((s.mem_available_mib, s.memory_pressure, s.cpu_pressure), (Some(1024), None, Some(12.5)));
        assert!(s.psi());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
