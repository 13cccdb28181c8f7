//! Every file primitive that touches private state: no-follow directory walks, exclusive
//! creates, atomic replaces, bounded reads, and bounded-wait locks.
//!
//! Nothing here takes a path below a directory handle: callers hold a [`Dir`] (an open,
//! verified directory) and name single entries inside it. A directory swapped for a symlink after
//! it was opened cannot redirect a later write, because the write is relative to the handle, and
//! every entry is opened with `O_NOFOLLOW`. Error texts name the rule, never the path.

pub mod paths;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use rustix::fs::{self as rfs, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// Mode of every private directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every private file.
pub const FILE_MODE: u32 = 0o600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("private state path must not be a symlink")]
    Symlink,
    #[error("private state path is not a directory")]
    NotDirectory,
    #[error("private state path is not a regular file")]
    NotRegular,
    #[error("private state file exceeds its size limit")]
    TooLarge,
    #[error("private state file is not valid UTF-8")]
    NotUtf8,
    #[error("private state path must be absolute and normalised")]
    NotAbsolute,
    #[error("private state entry name is invalid")]
    BadName,
    #[error("private state directory is owned by another user")]
    ForeignOwner,
    #[error("private state directory is writable by other users; use a directory only you can write")]
    WritableByOthers,
    #[error("the trusted base directory (home) is not owned by you or root, or is writable by others")]
    UntrustedBase,
    #[error("private state file already exists")]
    Exists,
    #[error("private state lock is busy; try again")]
    LockBusy,
    #[error("private state I/O failed: {0}")]
    Io(String),
}

impl From<Errno> for FsError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::LOOP | Errno::MLINK => FsError::Symlink,
            Errno::NOTDIR => FsError::NotDirectory,
            Errno::EXIST => FsError::Exists,
            // ENXIO: a FIFO without a reader opened for writing.
            Errno::NXIO => FsError::NotRegular,
            other => FsError::Io(std::io::Error::from(other).kind().to_string()),
        }
    }
}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(code) => Errno::from_raw_os_error(code).into(),
            None => FsError::Io(e.kind().to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, FsError>;

/// What an entry is, looked at without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

impl EntryKind {
    fn of(ty: FileType) -> EntryKind {
        match ty {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        }
    }
}

/// An open directory that was reached without following any symlink.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

fn mode(bits: u32) -> Mode {
    Mode::from_raw_mode(bits)
}

/// Reads at most `max` bytes of an open file whose size was `size`.
fn read_capped(file: File, size: u64, max: u64) -> Result<Vec<u8>> {
    if size > max {
        return Err(FsError::TooLarge);
    }
    let mut buf = Vec::with_capacity(size as usize);
    // Read one byte past the cap so a file that grew after fstat is still caught.
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(FsError::TooLarge);
    }
    Ok(buf)
}

/// `.<name>.<nonce>.tmp`, as [`Dir::replace_atomic`] names its temp files.
pub fn is_our_temp_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else { return false };
    let Some((head, nonce)) = inner.rsplit_once('.') else { return false };
    !head.is_empty() && nonce.len() == 32 && nonce.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The trusted base of `path`: when it lies below `$HOME`, the home resolved once (symlinks in
/// it followed) and checked, opened, with the rest of `path` to walk no-follow.
fn trusted_base(path: &Path) -> Result<Option<(OwnedFd, std::path::PathBuf)>> {
    let Some(home) =
        std::env::var_os("HOME").map(std::path::PathBuf::from).filter(|h| h.is_absolute() && h.parent().is_some())
    else {
        return Ok(None);
    };
    let home = paths::normalize_lexically(&home);
    let Ok(rest) = path.strip_prefix(&home) else { return Ok(None) };
    let Ok(resolved) = std::fs::canonicalize(&home) else { return Ok(None) };
    if resolved == home {
        return Ok(None); // No symlink on the way: the plain walk covers it.
    }
    let fd = rfs::open(&resolved, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let st = rfs::fstat(&fd)?;
    let me = rustix::process::geteuid().as_raw();
    if (st.st_uid != me && st.st_uid != 0) || st.st_mode & 0o022 != 0 {
        return Err(FsError::UntrustedBase);
    }
    Ok(Some((fd, rest.to_path_buf())))
}

/// Checks that `name` is one plain entry name (no separators, not `.`/`..`, no NUL).
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() <= 255 && name != "." && name != ".." && !name.contains(['/', '\0']);
    if ok {
        Ok(())
    } else {
        Err(FsError::BadName)
    }
}

/// A random 128-bit hex string (temp names, client ids).
pub fn nonce() -> String {
    let mut buf = [0u8; 16];
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(_) => {
                // No kernel randomness: fall back to time and pid, still unique per process.
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let mix = t.as_nanos() ^ (u128::from(std::process::id()) << 64);
                buf.copy_from_slice(&mix.to_le_bytes());
                break;
            }
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn open_dir_at(parent: BorrowedFd<'_>, name: &str) -> std::result::Result<OwnedFd, Errno> {
    rfs::openat(parent, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
}

/// Classifies why opening `name` as a directory failed, without following it.
fn classify_dir_error(parent: BorrowedFd<'_>, name: &str, err: Errno) -> FsError {
    match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => FsError::Symlink,
            FileType::Directory => err.into(),
            _ => FsError::NotDirectory,
        },
        Err(_) => err.into(),
    }
}

impl Dir {
    /// Opens an absolute, normalised path one component at a time, never following a symlink.
    /// With `create`, missing components are made with mode 0700.
    ///
    /// The user's home (`$HOME`) is the one exception: when the path lies below it, the home
    /// itself is resolved once (so `/home → /var/home` layouts work) and trusted if it is owned
    /// by the user or root and not writable by others; everything below it is walked no-follow.
    pub fn walk(path: &Path, create: bool) -> Result<Dir> {
        Ok(Dir::walk_tracked(path, create)?.0)
    }

    /// [`Dir::walk`], also saying whether the final directory was created by this call.
    fn walk_tracked(path: &Path, create: bool) -> Result<(Dir, bool)> {
        if !path.is_absolute() {
            return Err(FsError::NotAbsolute);
        }
        let (mut current, rest) = match trusted_base(path)? {
            Some((base, rest)) => (base, rest),
            None => (
                rfs::open("/", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?,
                path.to_path_buf(),
            ),
        };
        let mut created = false;
        for comp in rest.components() {
            let name = match comp {
                Component::RootDir => continue,
                Component::Normal(n) => n.to_str().ok_or(FsError::BadName)?,
                _ => return Err(FsError::NotAbsolute),
            };
            check_name(name)?;
            created = false;
            let next = match open_dir_at(current.as_fd(), name) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => {
                    match rfs::mkdirat(current.as_fd(), name, mode(DIR_MODE)) {
                        Ok(()) => created = true,
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    open_dir_at(current.as_fd(), name).map_err(|e| classify_dir_error(current.as_fd(), name, e))?
                }
                Err(e) => return Err(classify_dir_error(current.as_fd(), name, e)),
            };
            current = next;
        }
        Ok((Dir { fd: current }, created))
    }

    /// Like [`Dir::walk`] with `create`, then checks that the final directory is private: ours,
    /// and writable by nobody else. A directory we did not create is never re-moded: one that
    /// others can write is refused instead.
    pub fn walk_private(path: &Path) -> Result<Dir> {
        let (dir, created) = Dir::walk_tracked(path, true)?;
        dir.check_private(created)?;
        Ok(dir)
    }

    /// Ours and not writable by others; a directory this process just created is made 0700.
    fn check_private(&self, created: bool) -> Result<()> {
        let st = rfs::fstat(&self.fd)?;
        if st.st_uid != rustix::process::geteuid().as_raw() {
            return Err(FsError::ForeignOwner);
        }
        if created {
            if st.st_mode & 0o7777 != DIR_MODE {
                rfs::fchmod(&self.fd, mode(DIR_MODE))?;
            }
        } else if st.st_mode & 0o022 != 0 {
            return Err(FsError::WritableByOthers);
        }
        Ok(())
    }

    /// Opens (creating if missing) a private subdirectory (see [`Dir::walk_private`]).
    pub fn subdir_private(&self, name: &str) -> Result<Dir> {
        let (dir, created) = self.subdir_tracked(name)?;
        dir.check_private(created)?;
        Ok(dir)
    }

    /// Opens a subdirectory without following a symlink, creating it (0700) when missing; an
    /// existing one is left as it is.
    pub fn subdir_create(&self, name: &str) -> Result<Dir> {
        Ok(self.subdir_tracked(name)?.0)
    }

    fn subdir_tracked(&self, name: &str) -> Result<(Dir, bool)> {
        check_name(name)?;
        let mut created = false;
        let fd = match open_dir_at(self.fd.as_fd(), name) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                match rfs::mkdirat(&self.fd, name, mode(DIR_MODE)) {
                    Ok(()) => created = true,
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                open_dir_at(self.fd.as_fd(), name).map_err(|e| classify_dir_error(self.fd.as_fd(), name, e))?
            }
            Err(e) => return Err(classify_dir_error(self.fd.as_fd(), name, e)),
        };
        Ok((Dir { fd }, created))
    }

    /// Opens an existing subdirectory without creating or changing it; `None` when missing.
    pub fn subdir_existing(&self, name: &str) -> Result<Option<Dir>> {
        check_name(name)?;
        match open_dir_at(self.fd.as_fd(), name) {
            Ok(fd) => Ok(Some(Dir { fd })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(classify_dir_error(self.fd.as_fd(), name, e)),
        }
    }

    /// The kind of `name`, without following it; `None` when absent.
    pub fn entry_kind(&self, name: &str) -> Result<Option<EntryKind>> {
        check_name(name)?;
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(EntryKind::of(FileType::from_raw_mode(st.st_mode)))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a regular file for reading without following symlinks and without blocking on a
    /// FIFO; `None` when absent.
    fn open_regular_read(&self, name: &str) -> Result<Option<(File, u64)>> {
        Ok(self.open_regular_read_owner(name)?.map(|(f, size, _)| (f, size)))
    }

    /// [`Dir::open_regular_read`], with the file's owner.
    fn open_regular_read_owner(&self, name: &str) -> Result<Option<(File, u64, u32)>> {
        check_name(name)?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rfs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(FsError::NotRegular);
        }
        Ok(Some((File::from(fd), st.st_size as u64, st.st_uid)))
    }

    /// [`Dir::read_bounded`] for a file that only this user may have written: one owned by
    /// another uid is refused ([`FsError::ForeignOwner`]).
    pub fn read_owned_bounded(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some((file, size, uid)) = self.open_regular_read_owner(name)? else { return Ok(None) };
        if uid != rustix::process::geteuid().as_raw() {
            return Err(FsError::ForeignOwner);
        }
        read_capped(file, size, max).map(Some)
    }

    /// Reads a whole regular file of at most `max` bytes; `None` when absent.
    pub fn read_bounded(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some((file, size)) = self.open_regular_read(name)? else { return Ok(None) };
        read_capped(file, size, max).map(Some)
    }

    /// Reads at most `max` bytes from the start of the regular file `name` (no-follow, no FIFO
    /// blocking); a larger file is not an error. `None` when absent.
    pub fn read_head(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some((file, size)) = self.open_regular_read(name)? else { return Ok(None) };
        let mut buf = Vec::with_capacity(size.min(max) as usize);
        file.take(max).read_to_end(&mut buf)?;
        Ok(Some(buf))
    }

    /// The entries of this directory with their kinds, from the directory itself (`d_type`;
    /// a no-follow stat only when the file system does not say). Cheaper than [`Dir::list`].
    pub fn entries(&self) -> Result<Vec<(String, EntryKind)>> {
        let fd = rfs::openat(&self.fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        let mut out = Vec::new();
        for entry in rfs::Dir::new(fd)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else { continue };
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Unknown => match self.entry_kind(name) {
                    Ok(Some(k)) => k,
                    _ => continue,
                },
                known => EntryKind::of(known),
            };
            out.push((name.to_owned(), kind));
        }
        Ok(out)
    }

    /// [`Dir::read_bounded`] for UTF-8 text.
    pub fn read_text_bounded(&self, name: &str, max: u64) -> Result<Option<String>> {
        match self.read_bounded(name, max)? {
            Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| FsError::NotUtf8),
            None => Ok(None),
        }
    }

    /// Creates `name` exclusively (never reusing or following an existing entry), mode 0600.
    pub fn create_exclusive(&self, name: &str) -> Result<File> {
        check_name(name)?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, name, flags, mode(FILE_MODE))?;
        // The umask may have narrowed the mode further; make it exact.
        rfs::fchmod(&fd, mode(FILE_MODE))?;
        Ok(File::from(fd))
    }

    /// Replaces `name` atomically: nonce temp file (exclusive, no-follow), write, fsync, rename,
    /// fsync of the directory. A symlink at `name` is replaced, never written through.
    pub fn replace_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        let short: String = name.chars().take(100).collect();
        let temp = format!(".{short}.{}.tmp", nonce());
        let mut file = self.create_exclusive(&temp)?;
        let written = file.write_all(bytes).and_then(|()| file.sync_all()).map_err(FsError::from);
        let renamed =
            written.and_then(|()| rfs::renameat(&self.fd, temp.as_str(), &self.fd, name).map_err(FsError::from));
        if let Err(e) = renamed {
            let _ = rfs::unlinkat(&self.fd, temp.as_str(), AtFlags::empty());
            return Err(e);
        }
        rfs::fsync(&self.fd)?;
        Ok(())
    }

    /// Takes an exclusive `flock` on the lock file `name` (created 0600, no-follow), waiting at
    /// most `timeout`.
    pub fn lock(&self, name: &str, timeout: Duration) -> Result<FileLock> {
        check_name(name)?;
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, name, flags, mode(FILE_MODE))?;
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(FsError::NotRegular);
        }
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match rfs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(FileLock { _fd: fd }),
                Err(Errno::WOULDBLOCK) | Err(Errno::INTR) => {
                    if Instant::now() >= deadline {
                        return Err(FsError::LockBusy);
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Appends `bytes` to the regular file `name` (created 0600) while holding `lock_name`, then
    /// fsyncs. Writers that rewrite `name` take the same lock, so no append is lost to a rewrite.
    pub fn append_locked(&self, name: &str, lock_name: &str, bytes: &[u8], timeout: Duration) -> Result<()> {
        let _lock = self.lock(lock_name, timeout)?;
        self.append_unlocked(name, bytes)
    }

    /// Appends without taking a lock; the caller holds the file's lock.
    pub fn append_unlocked(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.append_with(name, bytes)?.sync_data()?;
        Ok(())
    }

    /// Appends with one `write` and no fsync: for advisory records whose loss in a crash costs
    /// nothing (worker events). Concurrent appenders never interleave inside `bytes`.
    pub fn append_nosync(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.append_with(name, bytes).map(drop)
    }

    fn append_with(&self, name: &str, bytes: &[u8]) -> Result<File> {
        check_name(name)?;
        let flags =
            OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, name, flags, mode(FILE_MODE))?;
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(FsError::NotRegular);
        }
        if st.st_mode & 0o777 != FILE_MODE {
            rfs::fchmod(&fd, mode(FILE_MODE))?;
        }
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        Ok(file)
    }

    /// Opens the existing regular file `name` for appending (no-follow, never created).
    pub fn open_append(&self, name: &str) -> Result<File> {
        check_name(name)?;
        let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, name, flags, Mode::empty())?;
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(FsError::NotRegular);
        }
        Ok(File::from(fd))
    }

    /// Size and modification time (epoch seconds) of the regular file `name`; `None` when
    /// absent. A symlink or other entry is an error.
    pub fn file_stat(&self, name: &str) -> Result<Option<(u64, f64)>> {
        check_name(name)?;
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                Ok(Some((st.st_size as u64, st.st_mtime as f64 + st.st_mtime_nsec as f64 / 1e9)))
            }
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => Err(FsError::Symlink),
            Ok(_) => Err(FsError::NotRegular),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The last `max` bytes of the regular file `name` from offset `from` on, and the file's
    /// size; `None` when absent.
    pub fn read_tail(&self, name: &str, from: u64, max: u64) -> Result<Option<(Vec<u8>, u64)>> {
        use std::io::{Seek, SeekFrom};
        let Some((mut file, size)) = self.open_regular_read(name)? else { return Ok(None) };
        let start = size.saturating_sub(max).max(from.min(size));
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((size - start) as usize);
        file.take(max).read_to_end(&mut buf)?;
        Ok(Some((buf, size)))
    }

    /// At most `max` bytes of the regular file `name` from offset `start`; `None` when absent.
    pub fn read_range(&self, name: &str, start: u64, max: u64) -> Result<Option<Vec<u8>>> {
        use std::io::{Seek, SeekFrom};
        let Some((mut file, size)) = self.open_regular_read(name)? else { return Ok(None) };
        file.seek(SeekFrom::Start(start.min(size)))?;
        let mut buf = Vec::with_capacity(max.min(size.saturating_sub(start)) as usize);
        file.take(max).read_to_end(&mut buf)?;
        Ok(Some(buf))
    }

    /// Renames `from` to `to` inside this directory (replacing `to`).
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        check_name(from)?;
        check_name(to)?;
        rfs::renameat(&self.fd, from, &self.fd, to)?;
        Ok(())
    }

    /// Removes the entry `name` itself (a symlink is unlinked, never followed); not directories.
    pub fn unlink(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        match rfs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The entries of this directory: name, kind, size and mtime (a no-follow stat each).
    pub fn list(&self) -> Result<Vec<(String, EntryKind, u64, f64)>> {
        Ok(self
            .entries()?
            .into_iter()
            .filter_map(|(name, _)| {
                // An entry that vanished since the directory was read is skipped.
                let st = rfs::statat(&self.fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
                let kind = EntryKind::of(FileType::from_raw_mode(st.st_mode));
                Some((name, kind, st.st_size as u64, st.st_mtime as f64 + st.st_mtime_nsec as f64 / 1e9))
            })
            .collect())
    }

    /// Removes the temp files [`Dir::replace_atomic`] leaves behind when its process is killed
    /// between creating and renaming them: exactly our pattern `.<name>.<32 hex>.tmp`, regular,
    /// older than `min_age` (so a write in progress is never touched). Anything else, other
    /// programs' `.tmp` files included, is left alone. Returns how many were removed.
    pub fn sweep_temp_files(&self, min_age: Duration) -> Result<usize> {
        let cutoff =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
                - min_age.as_secs_f64();
        let mut removed = 0;
        for (name, kind, _, mtime) in self.list()? {
            if kind == EntryKind::File && is_our_temp_name(&name) && mtime < cutoff && self.remove_file(&name)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes the regular file `name`; a symlink or other non-regular entry is refused and left
    /// in place. Returns whether something was removed.
    pub fn remove_file(&self, name: &str) -> Result<bool> {
        match self.entry_kind(name)? {
            None => Ok(false),
            Some(EntryKind::File) => match rfs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) => Ok(true),
                Err(Errno::NOENT) => Ok(false),
                Err(e) => Err(e.into()),
            },
            Some(EntryKind::Symlink) => Err(FsError::Symlink),
            Some(_) => Err(FsError::NotRegular),
        }
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An exclusive `flock`, released when dropped.
#[derive(Debug)]
pub struct FileLock {
    _fd: OwnedFd,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_single_components() {
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert_eq!(check_name(bad), Err(FsError::BadName), "{bad:?}");
        }
        assert!(check_name(".a.json.tmp").is_ok());
    }

    #[test]
    fn nonces_are_unique_hex() {
        let a = nonce();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, nonce());
    }

    #[test]
    fn relative_paths_are_refused() {
        assert_eq!(Dir::walk(Path::new("rel/dir"), false).unwrap_err(), FsError::NotAbsolute);
        assert_eq!(Dir::walk(Path::new("/tmp/../etc"), false).unwrap_err(), FsError::NotAbsolute);
    }
}
