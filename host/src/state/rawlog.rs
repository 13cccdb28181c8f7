//! Raw terminal logs (`R/raw/<run id>.log`): the bounded writer that `tmux pipe-pane` feeds, and
//! retention.
//!
//! The writer appends to the file the start created (exclusive, no-follow); when the next chunk
//! would pass the cap, the file becomes `<run id>.prev.log` and a fresh one is created, so a
//! full log costs one rename, never a rewrite. Retention keeps the newest files of the raw dir.

use std::io::{Read, Write};

use super::meta::valid_raw_log_name;
use super::State;
use crate::fsafe::{Dir, EntryKind, FsError};

pub const MAX_RAW_LOG_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_RAW_LOG_FILES: usize = 20;
const CHUNK_BYTES: usize = 64 * 1024;

/// The previous segment of a raw log.
pub fn prev_name(name: &str) -> String {
    format!("{}.prev.log", name.trim_end_matches(".log"))
}

/// Copies `input` into the raw log `name` until EOF, at most `max_bytes` per file.
pub fn write_from(state: &State, name: &str, max_bytes: u64, mut input: impl Read) -> Result<(), FsError> {
    if !valid_raw_log_name(name) {
        return Err(FsError::BadName);
    }
    let mut file = state.raw.open_append(name)?;
    let mut size = state.raw.file_stat(name)?.map_or(0, |(s, _)| s);
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let mut chunk = &buf[..n];
        if size + chunk.len() as u64 > max_bytes {
            state.raw.rename(name, &prev_name(name))?;
            file = state.raw.create_exclusive(name)?;
            size = 0;
            if chunk.len() as u64 > max_bytes {
                chunk = &chunk[chunk.len() - max_bytes as usize..];
            }
        }
        file.write_all(chunk)?;
        size += chunk.len() as u64;
    }
}

/// Deletes symlinks and all but the newest [`MAX_RAW_LOG_FILES`] logs; `protected` names stay.
/// Returns how many entries were removed.
pub fn prune(raw: &Dir, protected: &[String]) -> Result<usize, FsError> {
    let mut logs = Vec::new();
    let mut removed = 0;
    for (name, kind, _, mtime) in raw.list()? {
        if !name.ends_with(".log") {
            continue;
        }
        match kind {
            EntryKind::Symlink => removed += usize::from(raw.unlink(&name)?),
            EntryKind::File => logs.push((mtime, name)),
            _ => {}
        }
    }
    logs.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    for (i, (_, name)) in logs.iter().enumerate() {
        let keep = i < MAX_RAW_LOG_FILES || protected.iter().any(|p| *p == *name || prev_name(p) == *name);
        if !keep {
            removed += usize::from(raw.remove_file(name)?);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_state() -> (State, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("cm-rawlog-{}", crate::fsafe::nonce()));
        (State::open_at(&dir).unwrap(), dir)
    }

    #[test]
    fn the_writer_rotates_at_the_cap_and_never_writes_through_a_symlink() {
        let (state, dir) = temp_state();
        drop(state.raw.create_exclusive("run-1.log").unwrap());
        // Two reads: 100 bytes fit, the next 60 start a new file.
        let input = std::io::Cursor::new(vec![b'a'; 100]).chain(std::io::Cursor::new(vec![b'b'; 60]));
        write_from(&state, "run-1.log", 128, input).unwrap();
        let cur = state.raw.read_bounded("run-1.log", 1000).unwrap().unwrap();
        let prev = state.raw.read_bounded("run-1.prev.log", 1000).unwrap().unwrap();
        assert_eq!((prev, cur), (vec![b'a'; 100], vec![b'b'; 60]));

        std::os::unix::fs::symlink("/etc/passwd", dir.join("raw/run-2.log")).unwrap();
        assert_eq!(
            write_from(&state, "run-2.log", 128, std::io::Cursor::new(b"x".to_vec())).unwrap_err(),
            FsError::Symlink
        );
        assert_eq!(
            write_from(&state, "../meta/x.log", 128, std::io::Cursor::new(b"x".to_vec())).unwrap_err(),
            FsError::BadName
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn prune_keeps_the_newest_and_the_protected() {
        let (state, dir) = temp_state();
        for i in 0..25 {
            drop(state.raw.create_exclusive(&format!("run-{i:02}.log")).unwrap());
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + i);
            std::fs::File::options()
                .write(true)
                .open(dir.join(format!("raw/run-{i:02}.log")))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        std::os::unix::fs::symlink("/etc/passwd", dir.join("raw/evil.log")).unwrap();
        let removed = prune(&state.raw, &["run-00.log".to_owned()]).unwrap();
        assert_eq!(removed, 5);
        let names: Vec<String> = state.raw.list().unwrap().into_iter().map(|e| e.0).collect();
        assert!(names.contains(&"run-00.log".to_owned()) && names.contains(&"run-24.log".to_owned()));
        assert!(!names.contains(&"run-01.log".to_owned()) && !names.contains(&"evil.log".to_owned()));
        assert!(std::path::Path::new("/etc/passwd").exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
