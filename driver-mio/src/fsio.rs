//! Small file-system steps shared by the AOF's files, the manifest and the metadata.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Replace `dir/name` by `bytes` so that a crash leaves either the old file or the new
/// one, never a mix: write `dir/tmp_name`, fsync it, rename it over `name`, fsync the
/// directory (which also makes every other rename and create in it durable).
pub fn write_atomically(dir: &Path, name: &str, tmp_name: &str, bytes: &[u8]) -> io::Result<()> {
    assert_ne!(
        name, tmp_name,
        "the temporary file must not be the file itself"
    );
    let tmp_path = dir.join(tmp_name);
    let mut tmp = File::create(&tmp_path).map_err(named(&tmp_path))?;
    tmp.write_all(bytes).map_err(named(&tmp_path))?;
    tmp.sync_all().map_err(named(&tmp_path))?;
    drop(tmp);
    let path = dir.join(name);
    fs::rename(&tmp_path, &path).map_err(named(&path))?;
    sync_dir(dir)
}

/// Make the directory's entries (creates, renames, deletes) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(named(dir))
}

/// Read `buf.len()` bytes at `position`, or fewer where the file ends.
pub fn read_full_at(file: &File, buf: &mut [u8], position: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], position + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Prefix an I/O error with the path it happened on: a fatal disk error then names its
/// file in the daemon's last log line.
pub fn named(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A fresh directory under the system temp dir for one unit test, removed on drop.
#[cfg(test)]
pub struct TestDir(std::path::PathBuf);

#[cfg(test)]
impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
pub fn test_dir(name: &str) -> TestDir {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("bucket-unit-{name}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    TestDir(path)
}

/// The names in a directory, sorted, for tests that check what is on disk.
#[cfg(test)]
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list the test directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .collect();
    names.sort();
    names
}
