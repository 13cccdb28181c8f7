//! Attacks on every private-state primitive: symlinks, swapped parents, FIFOs, oversized files,
//! pre-planted temp names, foreign permissions. Errors must never name a path.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{base_env, cli, TempDir};
use codex_master::fsafe::{Dir, EntryKind, FsError};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

fn no_path(err: &FsError, dir: &TempDir) {
    let text = err.to_string();
    assert!(!text.contains(dir.path().to_str().unwrap()) && !text.contains('/'), "error names a path: {text}");
}

#[test]
fn walk_creates_private_dirs_and_refuses_symlinked_or_file_components() {
    let t = TempDir::new("walk");
    let made = t.join("a/b/state");
    Dir::walk_private(&made).unwrap();
    assert_eq!(mode(&made), 0o700);

    // An existing dir we did not create is never re-moded: readable by others is accepted as it
    // is, writable by others is refused.
    std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o755)).unwrap();
    Dir::walk_private(&made).unwrap();
    assert_eq!(mode(&made), 0o755);
    std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(Dir::walk_private(&made).unwrap_err(), FsError::WritableByOthers);
    assert_eq!(mode(&made), 0o777);
    std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A symlinked parent: refused, and nothing is created behind it.
    std::fs::create_dir(t.join("elsewhere")).unwrap();
    symlink(t.join("elsewhere"), t.join("linked")).unwrap();
    let err = Dir::walk_private(&t.join("linked/state")).unwrap_err();
    assert_eq!(err, FsError::Symlink);
    no_path(&err, &t);
    assert!(!t.join("elsewhere/state").exists());

    // A symlinked final component.
    symlink(t.join("elsewhere"), t.join("state-link")).unwrap();
    assert_eq!(Dir::walk_private(&t.join("state-link")).unwrap_err(), FsError::Symlink);

    // A dangling symlink is still a symlink.
    symlink(t.join("missing"), t.join("dangling")).unwrap();
    assert_eq!(Dir::walk_private(&t.join("dangling/x")).unwrap_err(), FsError::Symlink);
    assert!(!t.join("missing").exists());

    // A file where a directory should be.
    std::fs::write(t.join("file"), b"x").unwrap();
    assert_eq!(Dir::walk_private(&t.join("file/state")).unwrap_err(), FsError::NotDirectory);
    assert_eq!(Dir::walk_private(&t.join("file")).unwrap_err(), FsError::NotDirectory);
}

#[test]
fn atomic_replace_replaces_a_symlink_never_writes_through_it() {
    let t = TempDir::new("replace");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("target"), b"precious").unwrap();
    symlink(t.join("target"), t.join("state/meta.json")).unwrap();
    dir.replace_atomic("meta.json", b"{\"new\":true}").unwrap();
    assert_eq!(std::fs::read(t.join("target")).unwrap(), b"precious");
    assert_eq!(dir.entry_kind("meta.json").unwrap(), Some(EntryKind::File));
    assert_eq!(std::fs::read(t.join("state/meta.json")).unwrap(), b"{\"new\":true}");
    assert_eq!(mode(&t.join("state/meta.json")), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(t.join("state")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
}

#[test]
fn a_swapped_parent_cannot_redirect_writes_made_through_an_open_handle() {
    let t = TempDir::new("swap");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::rename(t.join("state"), t.join("moved")).unwrap();
    std::fs::create_dir(t.join("attacker")).unwrap();
    symlink(t.join("attacker"), t.join("state")).unwrap();
    dir.replace_atomic("lease.json", b"{}").unwrap();
    dir.append_locked("log.jsonl", ".log.lock", b"line\n", Duration::from_secs(1)).unwrap();
    assert!(t.join("moved/lease.json").is_file());
    assert!(t.join("moved/log.jsonl").is_file());
    assert_eq!(std::fs::read_dir(t.join("attacker")).unwrap().count(), 0, "a write followed the swapped path");
    // Re-walking the path now meets the symlink and refuses it.
    assert_eq!(Dir::walk_private(&t.join("state")).unwrap_err(), FsError::Symlink);
}

#[test]
fn exclusive_create_refuses_existing_files_and_symlinks() {
    let t = TempDir::new("excl");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("target"), b"keep").unwrap();
    symlink(t.join("target"), t.join("state/raw.log")).unwrap();
    assert!(dir.create_exclusive("raw.log").is_err());
    std::fs::write(t.join("state/existing.log"), b"old").unwrap();
    assert_eq!(dir.create_exclusive("existing.log").unwrap_err(), FsError::Exists);
    assert_eq!(std::fs::read(t.join("target")).unwrap(), b"keep");
    assert_eq!(std::fs::read(t.join("state/existing.log")).unwrap(), b"old");
    dir.create_exclusive("fresh.log").unwrap();
    assert_eq!(mode(&t.join("state/fresh.log")), 0o600);
    for bad in ["", ".", "..", "a/b"] {
        assert_eq!(dir.create_exclusive(bad).unwrap_err(), FsError::BadName);
    }
}

#[test]
fn planted_temp_names_do_not_disturb_an_atomic_replace() {
    let t = TempDir::new("planted");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("target"), b"keep").unwrap();
    // Predictable temp names an attacker might guess, as symlinks and as files.
    for i in 0..20 {
        symlink(t.join("target"), t.path().join(format!("state/.a.json.{i}.tmp"))).unwrap();
    }
    std::fs::write(t.join("state/.a.json.tmp"), b"planted").unwrap();
    dir.replace_atomic("a.json", b"{\"ok\":1}").unwrap();
    assert_eq!(std::fs::read(t.join("state/a.json")).unwrap(), b"{\"ok\":1}");
    assert_eq!(std::fs::read(t.join("target")).unwrap(), b"keep");
    assert_eq!(std::fs::read(t.join("state/.a.json.tmp")).unwrap(), b"planted");
    assert_eq!(std::fs::read_dir(t.join("state")).unwrap().count(), 22);
}

#[test]
fn bounded_reads_refuse_symlinks_fifos_and_oversized_files() {
    let t = TempDir::new("read");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("secret"), b"do not read").unwrap();
    symlink(t.join("secret"), t.join("state/link.json")).unwrap();
    let err = dir.read_bounded("link.json", 1024).unwrap_err();
    assert_eq!(err, FsError::Symlink);
    no_path(&err, &t);

    let fifo = t.join("state/fifo.json");
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
        .unwrap();
    let started = Instant::now();
    assert_eq!(dir.read_bounded("fifo.json", 1024).unwrap_err(), FsError::NotRegular);
    assert!(started.elapsed() < Duration::from_secs(2), "opening a FIFO blocked");
    assert_eq!(dir.append_unlocked("fifo.json", b"x").unwrap_err(), FsError::NotRegular);

    std::fs::write(t.join("state/big.json"), vec![b'x'; 65 * 1024]).unwrap();
    assert_eq!(dir.read_bounded("big.json", 64 * 1024).unwrap_err(), FsError::TooLarge);
    std::fs::write(t.join("state/ok.json"), vec![b'x'; 64 * 1024]).unwrap();
    assert_eq!(dir.read_bounded("ok.json", 64 * 1024).unwrap().unwrap().len(), 64 * 1024);
    assert_eq!(dir.read_bounded("absent.json", 10).unwrap(), None);
    std::fs::write(t.join("state/bin.json"), [0xff, 0xfe]).unwrap();
    assert_eq!(dir.read_text_bounded("bin.json", 10).unwrap_err(), FsError::NotUtf8);
    std::fs::create_dir(t.join("state/adir")).unwrap();
    assert!(dir.read_bounded("adir", 10).is_err());
}

#[test]
fn locks_refuse_symlinks_and_wait_a_bounded_time() {
    let t = TempDir::new("lock");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("target"), b"").unwrap();
    symlink(t.join("target"), t.join("state/agent-a.lock")).unwrap();
    assert_eq!(dir.lock("agent-a.lock", Duration::from_millis(10)).unwrap_err(), FsError::Symlink);
    assert!(std::fs::symlink_metadata(t.join("state/agent-a.lock")).unwrap().file_type().is_symlink());

    let held = dir.lock("agent-b.lock", Duration::from_millis(10)).unwrap();
    let started = Instant::now();
    assert_eq!(dir.lock("agent-b.lock", Duration::from_millis(200)).unwrap_err(), FsError::LockBusy);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2), "{waited:?}");
    // Different agents stay independent.
    dir.lock("agent-c.lock", Duration::from_millis(10)).unwrap();
    drop(held);
    dir.lock("agent-b.lock", Duration::from_millis(10)).unwrap();
    assert_eq!(mode(&t.join("state/agent-b.lock")), 0o600);
}

#[test]
fn concurrent_locked_appends_lose_nothing() {
    let t = TempDir::new("append");
    let path = t.join("state");
    Dir::walk_private(&path).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let dir = Dir::walk_private(&path).unwrap();
                for i in 0..50 {
                    let line = format!("{{\"writer\":{w},\"seq\":{i},\"pad\":\"{}\"}}\n", "z".repeat(300));
                    dir.append_locked("ledger.jsonl", ".ledger.lock", line.as_bytes(), Duration::from_secs(10))
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let text = std::fs::read_to_string(path.join("ledger.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 400);
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is whole");
    }
    assert_eq!(mode(&path.join("ledger.jsonl")), 0o600);
}

#[test]
fn remove_refuses_symlinks_and_leaves_them() {
    let t = TempDir::new("remove");
    let dir = Dir::walk_private(&t.join("state")).unwrap();
    std::fs::write(t.join("target"), b"keep").unwrap();
    symlink(t.join("target"), t.join("state/x.json")).unwrap();
    assert_eq!(dir.remove_file("x.json").unwrap_err(), FsError::Symlink);
    assert!(t.join("target").exists() && std::fs::symlink_metadata(t.join("state/x.json")).is_ok());
    std::fs::write(t.join("state/y.json"), b"1").unwrap();
    assert!(dir.remove_file("y.json").unwrap());
    assert!(!dir.remove_file("y.json").unwrap());
}

#[test]
fn the_binary_refuses_a_symlinked_state_root_without_naming_it() {
    let t = TempDir::new("state-root");
    std::fs::create_dir(t.join("real")).unwrap();
    symlink(t.join("real"), t.join("state")).unwrap();
    let run = cli(&base_env(&t, "x"), &["claim", "a"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("must not be a symlink"), "{}", run.stdout);
    assert!(!run.stdout.contains(t.path().to_str().unwrap()));
    assert_eq!(std::fs::read_dir(t.join("real")).unwrap().count(), 0);
}

#[test]
fn the_state_tree_is_private() {
    let t = TempDir::new("tree");
    assert_eq!(cli(&base_env(&t, "x"), &["claim", "a"]).code, 0);
    for d in ["state", "state/meta", "state/locks", "state/leases"] {
        assert_eq!(mode(&t.join(d)), 0o700, "{d}");
    }
    assert_eq!(mode(&t.join("state/leases/a.json")), 0o600);
    assert_eq!(mode(&t.join("state/locks/agent-a.lock")), 0o600);
}
