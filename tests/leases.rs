//! Leases under pressure, through the real binary: several processes contending for one agent in
//! real tmux, kill -9 in the middle of lease and metadata writes, expiry, stale generations and
//! the force rules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use crate::common::fleet::Fleet;
use crate::common::{base_env, cli, Mcp, TempDir};
use serde_json::{json, Value};

/// A random number below `n` (the kernel's randomness, through the crate's nonce).
fn random_below(n: u64) -> u64 {
    u64::from_str_radix(&codex_master::fsafe::nonce()[..12], 16).unwrap() % n
}

fn code(result: &Value) -> &str {
    result["structuredContent"]["error_code"].as_str().unwrap_or("")
}

/// One process's view of one round in the contention test.
#[derive(Debug)]
struct Hold {
    process: usize,
    generation: u64,
    /// Measured inside the real holding interval: after the claim answered, before the release
    /// was asked for. Real intervals contain these, so overlapping ones would prove two holders.
    from: Duration,
    to: Duration,
    text: String,
}

#[test]
fn four_processes_contend_for_one_agent_and_only_the_holder_mutates() {
    const PROCESSES: usize = 4;
    // Each process goes on until it has held the lease this often (a refused attempt is no
    // round), within a bounded number of attempts: the proof does not depend on the machine's
    // speed.
    const HOLDS_EACH: usize = 3;
    const MAX_ATTEMPTS: usize = 400;
    let dir_probe = TempDir::new("contend-transcript");
    let transcript = dir_probe.join("received.txt");
    let f = Fleet::new(
        "contend",
        &format!(
            "[agents.w]\nprofile = \"scripted\"\nargs = [\"--work-seconds\", \"0\", \"--transcript\", \"{}\"]\n",
            transcript.display()
        ),
    );
    let (code0, v) = f.run(&["start", "w", "--cwd", &f.cwd()]);
    assert_eq!(code0, 0, "{v}");
    f.await_state("w", "idle");

    let origin = Instant::now();
    let workers: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let env = f.env_as(&format!("contender-{p}"));
            std::thread::spawn(move || {
                let mut mcp = Mcp::spawn(&env);
                mcp.initialize();
                let (mut holds, mut refused, mut id) = (Vec::new(), Vec::new(), 0i64);
                let mut next_id = || {
                    id += 1;
                    id
                };
                let mut last_generation = 1u64;
                for round in 0..MAX_ATTEMPTS {
                    if holds.len() >= HOLDS_EACH {
                        break;
                    }
                    let claim = mcp.call(next_id(), "agent_claim", json!({"agent": "w", "ttl_seconds": 120}));
                    if claim["isError"] == json!(true) {
                        // Not the holder: a send under a generation we do not hold must be refused.
                        let c = code(&claim).to_owned();
                        assert!(c == "agent_lease_held_by_other_client" || c == "agent_lock_busy", "{claim}");
                        let text = format!("intruder p{p} r{round}");
                        let sent = mcp.call(
                            next_id(),
                            "agent_send",
                            json!({"agent": "w", "text": text, "lease_generation": last_generation}),
                        );
                        assert_eq!(sent["isError"], json!(true), "a non-holder's send went through: {sent}");
                        let c = code(&sent).to_owned();
                        assert!(
                            ["agent_lease_held_by_other_client", "stale_lease_generation", "agent_lock_busy"]
                                .contains(&c.as_str()),
                            "{sent}"
                        );
                        refused.push(c);
                        std::thread::sleep(Duration::from_millis(random_below(40)));
                        continue;
                    }
                    let from = origin.elapsed();
                    let lease = &claim["structuredContent"]["lease"];
                    assert_eq!(lease["holder"], json!("this_server"), "{claim}");
                    let generation = lease["generation"].as_u64().unwrap();
                    last_generation = generation;
                    let text = format!("holder p{p} g{generation} r{round}");
                    let sent = mcp.call(
                        next_id(),
                        "agent_send",
                        json!({"agent": "w", "text": text, "lease_generation": generation, "confirm_seconds": 3}),
                    );
                    assert_eq!(sent["isError"], json!(false), "the holder's send failed: {sent}");
                    assert_eq!(sent["structuredContent"]["typed"], json!(true), "{sent}");
                    let to = origin.elapsed();
                    let released =
                        mcp.call(next_id(), "agent_release", json!({"agent": "w", "lease_generation": generation}));
                    assert_eq!(released["structuredContent"]["status"], json!("released"), "{released}");
                    holds.push(Hold { process: p, generation, from, to, text });
                    // A generation we released is stale from now on.
                    let stale =
                        mcp.call(next_id(), "agent_interrupt", json!({"agent": "w", "lease_generation": generation}));
                    assert_eq!(stale["isError"], json!(true), "{stale}");
                    assert!(
                        ["stale_lease_generation", "agent_lease_held_by_other_client", "agent_lock_busy"]
                            .contains(&code(&stale)),
                        "{stale}"
                    );
                    std::thread::sleep(Duration::from_millis(random_below(40)));
                }
                (holds, refused)
            })
        })
        .collect();
    let mut holds = Vec::new();
    let mut refused = Vec::new();
    for w in workers {
        let (h, r) = w.join().expect("a contender panicked");
        holds.extend(h);
        refused.extend(r);
    }

    // Every generation belongs to exactly one process.
    let mut owners: BTreeMap<u64, usize> = BTreeMap::new();
    for h in &holds {
        assert!(owners.insert(h.generation, h.process).is_none(), "generation {} was claimed twice", h.generation);
    }
    // At most one holder at any instant.
    holds.sort_by_key(|h| h.from);
    for pair in holds.windows(2) {
        assert!(pair[0].to <= pair[1].from, "two holders at once: {:?} and {:?}", pair[0], pair[1]);
        assert!(pair[0].generation < pair[1].generation, "generations must grow: {pair:?}");
    }
    let holders: BTreeSet<usize> = holds.iter().map(|h| h.process).collect();
    assert!(
        holds.len() >= PROCESSES * HOLDS_EACH && holders.len() == PROCESSES,
        "too little contention to prove anything: {} holds by {holders:?}",
        holds.len()
    );
    assert!(!refused.is_empty(), "no intruder was ever refused");

    // What the agent really received, in order: only holders' texts, each exactly once, in
    // generation order, each from the process that held that generation.
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        let text = std::fs::read_to_string(&transcript).unwrap_or_default();
        if text.lines().count() >= holds.len() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = received.lines().collect();
    assert!(lines.iter().all(|l| !l.contains("intruder")), "a non-holder's text reached the agent:\n{received}");
    let expected: Vec<&str> = holds.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(lines, expected, "the agent received something other than the holders' texts in generation order");

    // Force never takes a running agent's lease.
    let env_a = f.env_as("contender-0");
    let env_b = f.env_as("contender-1");
    assert_eq!(cli(&env_a, &["claim", "w"]).code, 0);
    let forced = cli(&env_b, &["claim", "w", "--force"]);
    assert_eq!(
        (forced.code, forced.json()["error_code"].as_str()),
        (1, Some("force_requires_stopped_agent")),
        "{}",
        forced.stdout
    );
    let forced = cli(&env_b, &["release", "w", "--force"]);
    assert_eq!(forced.json()["error_code"], json!("force_requires_stopped_agent"));
    // Stopping with force ends the session and frees the lease for anyone.
    let (_, stopped) = f.run(&["stop", "w", "--force"]);
    assert_eq!(stopped["results"][0]["status"], json!("stopped"), "{stopped}");
    assert_eq!(stopped["results"][0]["lease"]["state"], json!("unclaimed"));
}

#[test]
fn expired_leases_are_taken_over_and_stale_generations_are_refused() {
    let dir = TempDir::new("lease-expiry");
    let (one, two) = (base_env(&dir, "one"), base_env(&dir, "two"));
    let first = cli(&one, &["claim", "a", "--ttl-seconds", "1"]);
    assert_eq!(first.json()["lease"]["generation"], json!(1), "{}", first.stdout);
    let busy = cli(&two, &["claim", "a"]).json();
    assert_eq!(busy["error_code"], json!("agent_lease_held_by_other_client"));
    assert!((1..=30).contains(&busy["retry_after_seconds"].as_i64().unwrap()));

    std::thread::sleep(Duration::from_millis(1300));
    let taken = cli(&two, &["claim", "a", "--ttl-seconds", "600"]).json();
    assert_eq!(
        (taken["status"].as_str(), taken["lease"]["generation"].as_u64()),
        (Some("claimed_expired"), Some(2)),
        "{taken}"
    );
    assert_eq!(taken["previous_lease"]["state"], json!("expired"));

    // The old holder's generation: another client's active lease is reported first.
    for args in [&["release", "a", "--lease-generation", "1"][..], &["claim", "a", "--lease-generation", "1"][..]] {
        let v = cli(&one, args).json();
        assert_eq!(v["error_code"], json!("agent_lease_held_by_other_client"), "{args:?}: {v}");
    }
    // The holder naming an older generation of its own: stale, and nothing changes.
    let stale = cli(&two, &["release", "a", "--lease-generation", "1"]);
    assert_eq!(stale.code, 1);
    let v = stale.json();
    assert_eq!(
        (v["error_code"].as_str(), v["expected_generation"].as_u64()),
        (Some("stale_lease_generation"), Some(1)),
        "{v}"
    );
    assert_eq!((v["lease"]["generation"].as_u64(), v["lease"]["holder"].as_str()), (Some(2), Some("this_server")));
    assert!(!stale.stdout.contains("\"two\"") && !stale.stdout.contains("\"one\""), "an identity leaked");
    // The right generation renews and releases.
    let renewed = cli(&two, &["claim", "a", "--lease-generation", "2"]).json();
    assert_eq!(
        (renewed["status"].as_str(), renewed["lease"]["generation"].as_u64()),
        (Some("renewed"), Some(2)),
        "{renewed}"
    );
    assert_eq!(cli(&two, &["release", "a", "--lease-generation", "2"]).json()["status"], json!("released"));
    // After the release, generation 2 is stale even for its old holder; a plain claim moves on.
    assert_eq!(
        cli(&two, &["claim", "a", "--lease-generation", "2"]).json()["error_code"],
        json!("stale_lease_generation")
    );
    assert_eq!(cli(&one, &["claim", "a"]).json()["lease"]["generation"], json!(3));
}

/// Checks every lease and metadata file in the state tree is whole: valid JSON of the right
/// agent. Returns the temp files found (debris of interrupted writes).
fn assert_whole(state: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut temps = Vec::new();
    for sub in ["leases", "meta"] {
        let Ok(entries) = std::fs::read_dir(state.join(sub)) else { continue };
        for e in entries {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                temps.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{sub}/{name} is torn ({e}): {text:?}"));
            assert_eq!(v["agent"].as_str(), name.strip_suffix(".json"), "{sub}/{name}: {v}");
        }
    }
    temps
}

#[test]
fn kill_dash_nine_mid_write_never_leaves_a_torn_file_and_the_next_call_recovers() {
    let f = Fleet::scripted("crash", &["w", "x"]);
    let (code0, v) = f.run(&["start", "w", "--cwd", &f.cwd()]);
    assert_eq!(code0, 0, "{v}");
    f.await_state("w", "idle");
    let state = f.dir.join("state");
    let env = f.env_as("crash-lead");
    let (code, v) = cli_json(&env, &["assign-readonly", "w", "--task", "before the storm", "--no-enter"]);
    assert_eq!(code, 0, "{v}");
    f.tmux(&["send-keys", "-t", "=w:", "C-u"]);
    let mut temps = BTreeSet::new();
    for round in 0..30 {
        let mut mcp = Mcp::spawn(&env);
        mcp.initialize();
        // A burst of lease writes on x (no tmux needed), metadata writes on w (each send
        // records itself in the agent's metadata) and assignments to w (a ledger append once
        // they get the agent's lock; most are still queued behind the sends), all in flight
        // when the kill lands.
        let mut burst = String::new();
        for i in 0..120 {
            let (tool, args) = match i % 6 {
                1 | 3 => ("agent_claim", json!({"agent": "x", "ttl_seconds": 600})),
                2 | 4 => ("agent_release", json!({"agent": "x"})),
                0 => (
                    "agent_assign_readonly",
                    json!({"agent": "w", "task": format!("crash round {round} task {i}"), "enter": false}),
                ),
                _ => (
                    "agent_send",
                    json!({"agent": "w", "text": format!("crash round {round} burst {i}"), "enter": false}),
                ),
            };
            burst.push_str(&json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}).to_string());
            burst.push('\n');
        }
        mcp.send_raw(burst.as_bytes());
        std::thread::sleep(Duration::from_millis(2 + random_below(if round % 2 == 0 { 15 } else { 700 })));
        mcp.child.kill().unwrap(); // SIGKILL
        mcp.child.wait().unwrap();
        temps.extend(assert_whole(&state));
        // The next call recovers: the lock died with its holder, the same lead renews its lease.
        for (args, agent) in [(&["claim", "x"][..], "x"), (&["claim", "w"][..], "w")] {
            let r = cli(&env, args);
            assert_eq!(r.code, 0, "round {round}, agent {agent}: {}", r.stdout);
        }
        // The metadata is readable: the log tail goes through it.
        let (c, tail) = f.run(&["tail", "w", "--source", "log", "--chars", "200"]);
        assert_eq!(c, 0, "round {round}: {tail}");
    }
    // Clear the composer the sends filled, then prove a real send still works.
    f.tmux(&["send-keys", "-t", "=w:", "C-u"]);
    let (c, sent) = cli_json(&env, &["send", "w", "after the storm"]);
    assert_eq!(c, 0, "{sent}");

    // Debris of interrupted writes is swept once it is old enough; a fresh temp file (a write
    // that may be in progress) is left alone.
    let planted_old = state.join("leases/.x.json.0123456789abcdef0123456789abcdef.tmp");
    std::fs::write(&planted_old, "{\"half").unwrap();
    temps.insert(planted_old);
    let fresh = state.join("meta/.w.json.fedcba9876543210fedcba9876543210.tmp");
    std::fs::write(&fresh, "{").unwrap();
    let old = SystemTime::now() - Duration::from_secs(300);
    for t in &temps {
        if let Ok(file) = std::fs::File::options().write(true).open(t) {
            file.set_modified(old).unwrap();
        }
    }
    let mut mcp = Mcp::spawn(&env);
    mcp.initialize();
    assert_eq!(mcp.close(), Some(0));
    // The ledger the kills interrupted holds whole records only; a line a kill could have torn
    // would now be in `assignments.damaged`, never in the ledger and never lost.
    let ledger = std::fs::read_to_string(state.join("assignments.jsonl")).unwrap_or_default();
    assert!(ledger.is_empty() || ledger.ends_with('\n'), "{ledger:?}");
    let records = ledger.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    let assignments = records.filter(|r| r["kind"] == "assignment").count();
    assert!(assignments > 0, "{ledger}");
    let damaged = std::fs::read_to_string(state.join("assignments.damaged")).unwrap_or_default();
    eprintln!("crash storm: {assignments} assignments in the ledger, {} lines moved aside", damaged.lines().count());
    for t in &temps {
        assert!(!t.exists(), "old temp file was not swept: {}", t.display());
    }
    assert!(fresh.exists(), "a fresh temp file was removed");
    // Leftover temp files show that kills really landed between a write's start and its rename.
    assert!(temps.len() > 1, "no kill landed inside a write; the storm proved nothing");
    eprintln!("crash storm: {} temp files left by kills landing mid-write", temps.len() - 1);
}

fn cli_json(env: &[(String, String)], args: &[&str]) -> (i32, Value) {
    let r = cli(env, args);
    (r.code, r.json())
}
