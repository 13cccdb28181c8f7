//! The fleet's observation: one batched tmux round trip for every agent, captures of quiet
//! panes reused, shared by every concurrent wait ([`SharedObserver`]), and the host's readings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::observe::{self, Observation};
use super::{light, Ctx};
use crate::agents::{procs, AgentSpec, Registry};
use crate::codes::ErrorCode;
use crate::fault::Fault;
use crate::state::meta::AgentMeta;
use crate::state::State;
use crate::tmux::{self, PaneInfo};

/// How often waits look at the fleet.
pub const WAIT_TICK: Duration = Duration::from_millis(1000);

/// The host's room and the fleet's size, from the same readings admission uses (nothing about
/// other users' processes).
#[derive(Debug, Clone)]
pub struct HostReading {
    pub psi: bool,
    pub memory_pressure: Option<f64>,
    pub cpu_pressure: Option<f64>,
    pub mem_available_mib: Option<u64>,
    pub reserve_memory_mib: u64,
    pub workers: crate::admission::Workers,
    pub max_workers: u32,
    /// The admission check that would refuse a start now.
    pub busy_check: Option<crate::admission::Check>,
}

/// How long a count of the workers' process trees stands for the same workers: walking 64
/// trees thread by thread costs more than the rest of a status, and the host block is a
/// reading, not a gate (admission counts afresh under its lock).
const TREE_COUNT_REUSE: Duration = Duration::from_secs(1);

fn tree_size_cached(root: &std::path::Path, roots: &[u32]) -> u32 {
    type Last = (Instant, std::path::PathBuf, Vec<u32>, u32);
    static LAST: std::sync::Mutex<Option<Last>> = std::sync::Mutex::new(None);
    let mut sorted = roots.to_vec();
    sorted.sort_unstable();
    if let Some((at, proc, seen, count)) = &*LAST.lock().unwrap_or_else(|p| p.into_inner()) {
        if at.elapsed() < TREE_COUNT_REUSE && proc == root && *seen == sorted {
            return *count;
        }
    }
    let count = crate::proctree::tree_size(root, roots);
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), root.to_owned(), sorted, count));
    count
}

fn host_reading(roots: &[u32], t: &crate::admission::Thresholds) -> HostReading {
    let root = crate::proctree::proc_root();
    let s = crate::admission::sample(&root);
    let processes = tree_size_cached(&root, roots);
    let workers = crate::admission::Workers { running: roots.len() as u32, processes };
    HostReading {
        psi: s.psi(),
        memory_pressure: s.memory_pressure,
        cpu_pressure: s.cpu_pressure,
        mem_available_mib: s.mem_available_mib,
        reserve_memory_mib: t.reserve_memory_mib,
        workers,
        max_workers: t.max_workers,
        busy_check: crate::admission::decide(&s, workers, t, t.agent_memory_mib).err(),
    }
}

/// Pane lines read for classification (the seed's `MAX_TAIL_LINES`).
pub const PANE_LINES: u32 = 80;
/// One observation of every agent, by name.
type FleetObservation = HashMap<String, Result<Observation, Fault>>;

/// One fleet observation shared by every concurrent wait: whoever asks first observes all
/// agents (one `list-panes`, one batched capture), the others reuse it while it is fresh, so a
/// thousand waits cost one tmux poll per tick, not one each.
#[derive(Default)]
pub struct SharedObserver {
    latest: tokio::sync::Mutex<Option<(Instant, Arc<FleetObservation>)>>,
    stale: std::sync::atomic::AtomicBool,
    /// The last capture of each session, with the raw log's size when it was taken: a pane
    /// whose raw log has not grown shows what it showed (every byte a pane prints goes through
    /// its raw log), so it is not captured again for [`CAPTURE_REUSE`].
    captures: std::sync::Mutex<HashMap<String, Captured>>,
    keep: std::sync::atomic::AtomicBool,
}

/// A capture and what it was taken against.
#[derive(Clone)]
struct Captured {
    run_id: String,
    raw_bytes: u64,
    at: Instant,
    text: String,
}

/// How long a capture of a pane with a quiet raw log is reused (a screen that changes without
/// output, a resize, is seen within this).
const CAPTURE_REUSE: Duration = Duration::from_secs(5);

impl SharedObserver {
    /// The sessions among `runs` (session → run id and raw-log size) whose last capture still
    /// stands, with that capture.
    fn reusable(&self, runs: &Runs) -> HashMap<String, String> {
        let cache = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        runs.iter()
            .filter_map(|(session, (run, bytes))| {
                let c = cache.get(session)?;
                (c.run_id == *run && c.raw_bytes == *bytes && c.at.elapsed() < CAPTURE_REUSE)
                    .then(|| (session.clone(), c.text.clone()))
            })
            .collect()
    }

    /// Remembers fresh captures (each with the run and raw-log size read before it).
    fn remember(&self, runs: &Runs, fresh: &HashMap<String, String>) {
        let mut cache = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for (session, text) in fresh {
            if let Some((run_id, raw_bytes)) = runs.get(session) {
                let entry = Captured { run_id: run_id.clone(), raw_bytes: *raw_bytes, at: now, text: text.clone() };
                cache.insert(session.clone(), entry);
            }
        }
    }

    /// A long-lived server keeps captures between observations; a one-shot CLI call does not
    /// (it would pay for reading the sizes and never reuse them).
    pub fn keep_captures(&self) {
        self.keep.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn reuses(&self) -> bool {
        self.keep.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Session → (run id, raw-log bytes here).
type Runs = HashMap<String, (String, u64)>;
/// Agent → its metadata, read once per observation.
type Metas = HashMap<String, AgentMeta>;

/// Every agent's metadata; with `sizes`, each local agent's run and raw-log size, read before a
/// capture (a host's panes are captured each time: see `tmux::ssh::snapshot`).
fn read_metas(specs: &[AgentSpec], sizes: bool) -> (Metas, Runs) {
    let Ok(state) = State::open() else { return Default::default() };
    let (mut metas, mut here) = (HashMap::new(), HashMap::new());
    for s in specs {
        let Ok(Some(meta)) = state.read_meta(&s.name) else { continue };
        if sizes && s.place.is_local() {
            if let Ok(Some((bytes, _))) = state.raw.file_stat(&meta.raw_log) {
                here.insert(s.session.clone(), (meta.run_id.clone(), bytes));
            }
        }
        metas.insert(s.name.clone(), meta);
    }
    (metas, here)
}

impl SharedObserver {
    /// Forgets the shared observation: a mutation (a send, an interrupt, a start) makes it stale.
    pub fn invalidate(&self) {
        if let Ok(mut latest) = self.latest.try_lock() {
            *latest = None;
        } else {
            // An observation is being taken right now; it may predate the mutation. Mark it old
            // once it lands.
            self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// `agents`' observations, at most `max_age` old.
    pub async fn observe(
        &self,
        ctx: &Ctx,
        agents: &[String],
        max_age: Duration,
    ) -> Result<Vec<Result<Observation, Fault>>, Fault> {
        let fleet = {
            let mut latest = self.latest.lock().await;
            if self.stale.swap(false, std::sync::atomic::Ordering::SeqCst) {
                *latest = None;
            }
            match &*latest {
                Some((at, fleet)) if at.elapsed() < max_age && agents.iter().all(|a| fleet.contains_key(a)) => {
                    fleet.clone()
                }
                _ => {
                    let all: Vec<String> = ctx.registry.names().map(str::to_owned).collect();
                    let observed = observe(ctx, &all).await?;
                    let fleet = Arc::new(all.into_iter().zip(observed).collect::<HashMap<_, _>>());
                    *latest = Some((Instant::now(), fleet.clone()));
                    fleet
                }
            }
        };
        Ok(agents
            .iter()
            .map(|a| fleet.get(a).cloned().unwrap_or_else(|| Err(Fault::invalid_arguments("unknown agent"))))
            .collect())
    }
}

/// The pane pids of the fleet's running workers (the roots of their process trees).
pub fn worker_pids(reg: &Registry, panes: &HashMap<String, PaneInfo>) -> Vec<u32> {
    // A host's pids are not this machine's processes.
    reg.agents()
        .iter()
        .filter(|a| a.place.is_local())
        .filter_map(|a| panes.get(&a.session))
        .filter(|p| !p.dead)
        .filter_map(|p| p.pid)
        .collect()
}

/// Observes `agents` with batched tmux queries.
pub async fn observe(ctx: &Ctx, agents: &[String]) -> Result<Vec<Result<Observation, Fault>>, Fault> {
    Ok(observe_with_host(ctx, agents, None).await?.0)
}

pub type Observed = (Vec<Result<Observation, Fault>>, Option<HostReading>, Vec<HostSeen>);

/// [`observe`], with the `host` block when `host` gives the thresholds: its `/proc` readings
/// run on the blocking pool while tmux captures the panes.
pub async fn observe_with_host(
    ctx: &Ctx,
    agents: &[String],
    host: Option<crate::admission::Thresholds>,
) -> Result<Observed, Fault> {
    let specs: Vec<Option<AgentSpec>> = agents.iter().map(|a| ctx.registry.get(a).cloned()).collect();
    // The classifiers load (from the compiled cache) while tmux answers.
    let warm = || {
        let (exts, classifiers) =
            (Arc::clone(&ctx.extensions), specs.iter().flatten().map(|s| s.classifier.clone()).collect());
        tokio::task::spawn_blocking(move || exts.preload_classifiers(classifiers))
    };
    // The metadata is read once. A server that captured these panes before reuses the captures
    // of quiet ones, and the raw-log sizes that vouch for a capture must predate it: it reads
    // them first. A one-shot call reuses nothing, and reads them while tmux answers.
    let sizes = ctx.observer.reuses();
    let read = {
        let known: Vec<AgentSpec> = specs.iter().flatten().cloned().collect();
        light(move || Ok(read_metas(&known, sizes)))
    };
    // One round trip per place (this machine, each host), all at once: the listing and the
    // captures together. A host that does not answer leaves its agents unknown.
    let (warm, (metas, runs), reused, fleet) = if sizes {
        let warm = warm();
        let (metas, runs) = read.await?;
        let reused = ctx.observer.reusable(&runs);
        let fleet = snapshot_places(&specs, &reused).await;
        (warm, (metas, runs), reused, fleet)
    } else {
        // The snapshot is polled first, so tmux starts before the classifiers' thread and the
        // metadata read (in place in a one-shot call).
        let none = HashMap::new();
        let (fleet, (warm, read)) = tokio::join!(snapshot_places(&specs, &none), async { (warm(), read.await) });
        (warm, read?, none, fleet)
    };
    let Fleet { panes, mut captures, unreachable, hosts } = fleet?;
    ctx.observer.remember(&runs, &captures);
    captures.extend(reused.into_iter().filter(|(s, _)| panes.get(s).is_some_and(|p| !p.dead)));
    let host = host.map(|t| {
        let roots = worker_pids(&ctx.registry, &panes);
        tokio::task::spawn_blocking(move || host_reading(&roots, &t))
    });
    let _ = warm.await;
    let exts = Arc::clone(&ctx.extensions);
    let near_limit_percent = ctx.registry.admission().near_limit_percent;
    let seen = (panes, captures, unreachable);
    let observed =
        light(move || observe_all(&exts, &specs, metas, (&seen.0, &seen.1, &seen.2), near_limit_percent)).await?;
    let host = match host {
        Some(task) => Some(task.await.map_err(|_| Fault::new(ErrorCode::InternalError, "the host readings failed"))?),
        None => None,
    };
    Ok((observed, host, hosts))
}

/// What the snapshot read: panes, captures, and the hosts that did not answer.
type Read<'a> = (&'a HashMap<String, PaneInfo>, &'a HashMap<String, String>, &'a std::collections::HashSet<String>);

/// Every agent observed from what the snapshot read (a large fleet on two threads: file reads
/// and JSON; the classifier itself takes one call at a time).
fn observe_all(
    exts: &crate::ext::Extensions,
    specs: &[Option<AgentSpec>],
    mut metas: Metas,
    (panes, captures, unreachable): Read<'_>,
    near_limit_percent: u8,
) -> Result<Vec<Result<Observation, Fault>>, Fault> {
    let state = State::open()?;
    // One /proc scan for every agent with a home its provider names; the others have none.
    let homes: Vec<Option<(&std::path::Path, &str)>> =
        specs.iter().map(|s| s.as_ref().and_then(|s| Some((s.home.as_deref()?, s.provider().home_var()?)))).collect();
    let known: Vec<(&std::path::Path, &str)> = homes.iter().flatten().copied().collect();
    let mut found = procs::home_users_many(&known).into_iter();
    let users: Vec<procs::HomeUsers> = homes.iter().map(|h| h.and_then(|_| found.next()).unwrap_or_default()).collect();
    let jobs: Vec<(&Option<AgentSpec>, Option<AgentMeta>, procs::HomeUsers)> = specs
        .iter()
        .zip(users)
        .map(|(spec, users)| (spec, spec.as_ref().and_then(|s| metas.remove(&s.name)), users))
        .collect();
    let one = |(spec, meta, users): &(&Option<AgentSpec>, Option<AgentMeta>, procs::HomeUsers)| {
        let spec = spec.as_ref().ok_or_else(|| Fault::invalid_arguments("unknown agent"))?;
        let seen = match spec.place.host().filter(|h| unreachable.contains(*h)) {
            Some(_) => observe::Seen::HostUnreachable,
            None => observe::Seen::Pane(panes.get(&spec.session), captures.get(&spec.session)),
        };
        Ok(observe::observe_one(exts, &state, (spec, meta.as_ref()), seen, *users, near_limit_percent))
    };
    if jobs.len() < PARALLEL_FROM {
        return Ok(jobs.iter().map(one).collect());
    }
    let (first, second) = jobs.split_at(jobs.len() / 2);
    Ok(std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(one).collect::<Vec<_>>());
        let mut all: Vec<Result<Observation, Fault>> = first.iter().map(one).collect();
        all.extend(other.join().unwrap_or_else(|_| second.iter().map(one).collect()));
        all
    }))
}

/// What one observation read from every place.
struct Fleet {
    panes: HashMap<String, PaneInfo>,
    captures: HashMap<String, String>,
    /// Hosts that did not answer.
    unreachable: std::collections::HashSet<String>,
    hosts: Vec<HostSeen>,
}

/// One configured host as the observation saw it.
#[derive(Debug, Clone)]
pub struct HostSeen {
    pub name: String,
    pub reachable: bool,
    /// The snapshot's round trip.
    pub round_trip: Duration,
    /// Its `/proc` readings (`None` when it did not answer).
    pub sample: Option<crate::admission::Sample>,
    /// Our live panes there.
    pub workers_running: u32,
}

/// Snapshots every place the agents run on, concurrently: one tmux round trip each. Only the
/// agents' own sessions are kept (a host may run sessions of the same name that are not ours).
/// This machine failing fails the observation; a host failing marks it unreachable.
async fn snapshot_places(specs: &[Option<AgentSpec>], reused: &HashMap<String, String>) -> Result<Fleet, Fault> {
    // This machine is not asked when every agent asked about runs on a host (an empty fleet
    // still asks it, so a missing tmux is reported).
    let mut known = specs.iter().flatten().peekable();
    let hosts_only = known.peek().is_some() && known.all(|s| !s.place.is_local());
    let mut places: Vec<(tmux::Place, Vec<String>)> = Vec::new();
    if !hosts_only {
        places.push((tmux::Place::Local, Vec::new()));
    }
    for spec in specs.iter().flatten() {
        let i = match places.iter().position(|(p, _)| *p == spec.place) {
            Some(i) => i,
            None => {
                places.push((spec.place.clone(), Vec::new()));
                places.len() - 1
            }
        };
        if !reused.contains_key(&spec.session) {
            places[i].1.push(spec.session.clone());
        }
    }
    let tasks: Vec<_> = places
        .into_iter()
        .map(|(place, sessions)| {
            tokio::spawn(async move {
                let started = Instant::now();
                let snap = tmux::snapshot_with(&place, &sessions, PANE_LINES, tmux::ssh::Readings::Recent).await;
                (place, snap, started.elapsed())
            })
        })
        .collect();
    let ours: std::collections::HashSet<&str> = specs.iter().flatten().map(|s| s.session.as_str()).collect();
    let mut fleet =
        Fleet { panes: HashMap::new(), captures: HashMap::new(), unreachable: Default::default(), hosts: Vec::new() };
    for task in tasks {
        let (place, snap, round_trip) =
            task.await.map_err(|_| Fault::new(ErrorCode::InternalError, "a tmux snapshot failed"))?;
        match (snap, place.host()) {
            (Ok(tmux::Snapshot { panes, captures, readings }), host) => {
                let keep = |s: &String| host.is_none() || ours.contains(s.as_str());
                let panes: HashMap<String, PaneInfo> = panes.into_iter().filter(|(s, _)| keep(s)).collect();
                if let Some(name) = host {
                    let sample = readings.as_ref().map(crate::admission::sample_from);
                    let workers_running = panes.values().filter(|p| !p.dead).count() as u32;
                    let seen = HostSeen { name: name.to_owned(), reachable: true, round_trip, sample, workers_running };
                    fleet.hosts.push(seen);
                }
                fleet.panes.extend(panes);
                fleet.captures.extend(captures.into_iter().filter(|(s, _)| keep(s)));
            }
            (Err(e), None) => return Err(Fault::tmux("list-panes", None, e)),
            (Err(_), Some(host)) => {
                fleet.unreachable.insert(host.to_owned());
                let seen =
                    HostSeen { name: host.to_owned(), reachable: false, round_trip, sample: None, workers_running: 0 };
                fleet.hosts.push(seen);
            }
        }
    }
    Ok(fleet)
}

/// Fleets of this many agents or more are observed on two threads.
const PARALLEL_FROM: usize = 16;
