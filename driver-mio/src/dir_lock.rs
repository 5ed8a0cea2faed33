//! One process per data directory: an exclusive `flock` on `<dataPath>/bucket.lock`,
//! held for the process's life, as etcd locks its WAL. A second `bucket-server` given
//! the same `dataPath` (with other ports) would otherwise append to the live node's AOF
//! and elect itself master of it. The file holds the holder's PID, so the refusal can
//! name it; the lock itself dies with the process, so a crash leaves nothing to clean.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

pub const LOCK_FILE_NAME: &str = "bucket.lock";

/// The held lock: dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Create `dir` if missing and lock it, or say why not in one line naming it.
pub fn lock(dir: &Path) -> Result<DirLock, String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("dataPath {}: not a directory", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("dataPath {}: {e}", dir.display()))?;
    let path = dir.join(LOCK_FILE_NAME);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock on a file descriptor this function owns.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let pid = holder.trim();
        let pid = if pid.is_empty() { "unknown" } else { pid };
        return Err(format!(
            "dataPath {} is in use by another bucket-server (pid {pid}); each node needs a data directory of its own",
            dir.display()
        ));
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    written.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(DirLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_directory_is_refused_with_the_holders_pid() {
        let dir = std::env::temp_dir().join(format!("bucket-lock-{}", std::process::id()));
        let first = lock(&dir).unwrap();
        let refused = lock(&dir).unwrap_err();
        assert!(
            refused.contains("is in use by another bucket-server"),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("(pid {})", std::process::id())),
            "{refused}"
        );
        drop(first);
        let again = lock(&dir).expect("a released lock can be taken");
        drop(again);
        let file = dir.join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(lock(&file).unwrap_err().ends_with("not a directory"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
