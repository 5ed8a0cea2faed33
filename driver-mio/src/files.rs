//! The node's files in `dataPath`: the AOF (`appendonly.aof`) and the metadata (`meta`).
//!
//! AOF offsets are logical offsets of the replication stream. Today the file holds the
//! stream from offset 0, so an offset is also a file position; compaction would add a
//! base offset here and nowhere else.
//!
//! Durability:
//! - Appends of one loop pass are gathered in `pending` and written with one `write` at
//!   the end of the pass (or earlier, when a barrier or a truncation needs them).
//! - `appendfsync always`: one `fdatasync` per pass that wrote, before replies go out.
//! - `appendfsync everysec`: a background thread owns a duplicate of the AOF's file
//!   descriptor and runs `fdatasync` when signalled, at most once a second. The loop never
//!   waits for it; if a sync is still running when the next is due, the next is skipped
//!   until the running one ends (as Redis postpones). A failed background sync is fatal
//!   at the next pass, like any disk failure.
//! - `appendfsync no`: never, except for barriers.
//! - `Output::SyncAof` asks for an fsync under every policy. At the end of the pass, if
//!   none is running, the fsync thread (`syncer.rs`) starts one covering everything
//!   written, however many steps asked; the loop goes on, and reports the offset to the
//!   node (`Input::AofDurable`) when the thread is done. Under `always` the pass's own
//!   fsync, inline before its replies, answers the requests too.
//! - Recovery fsyncs the AOF it recovered before the node's first step: the node counts
//!   all of it durable, and a crash between a `write` and its `fdatasync` may have left
//!   some of it only in the page cache.
//! - Metadata is written to `meta.tmp`, synced, renamed over `meta`, and the directory is
//!   synced, so a crash leaves either the old or the new metadata.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use bucket_core::{Config, Node, Offset, Recovery};

use crate::config::AppendFsync;
use crate::syncer::Syncer;
use crate::{log_info, log_warn};

pub const AOF_FILE_NAME: &str = "appendonly.aof";
pub const META_FILE_NAME: &str = "meta";
pub const META_TMP_FILE_NAME: &str = "meta.tmp";
/// Interval between background syncs under `appendfsync everysec`.
pub const EVERYSEC_INTERVAL_MS: u64 = 1000;

pub struct DataDir {
    path: PathBuf,
    aof: File,
    /// Logical end of what has been written to the file.
    aof_end_written: u64,
    /// Bytes appended since the last write, written at the end of the pass.
    pending: Vec<u8>,
    /// Something was written or truncated since the last sync (or sync signal).
    unsynced: bool,
    /// The node asked for an fsync (`SyncAof`) that has not started yet.
    sync_wanted: bool,
    /// The fsync thread for the node's requests (none in unit tests: inline fsyncs).
    syncer: Option<Syncer>,
    policy: AppendFsync,
    everysec: Option<EverysecSyncer>,
}

impl DataDir {
    /// Opens (and creates if missing) the data directory and its AOF.
    pub fn open(path: &Path, policy: AppendFsync) -> io::Result<DataDir> {
        fs::create_dir_all(path)?;
        let aof_path = path.join(AOF_FILE_NAME);
        let aof = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&aof_path)?;
        let aof_end_written = aof.metadata()?.len();
        let everysec = match policy {
            AppendFsync::Everysec => Some(EverysecSyncer::start(aof.try_clone()?)?),
            AppendFsync::Always | AppendFsync::No => None,
        };
        Ok(DataDir {
            path: path.to_path_buf(),
            aof,
            aof_end_written,
            pending: Vec::with_capacity(64 * 1024),
            unsynced: false,
            sync_wanted: false,
            syncer: None,
            policy,
            everysec,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn aof_path(&self) -> PathBuf {
        self.path.join(AOF_FILE_NAME)
    }

    pub fn meta_path(&self) -> PathBuf {
        self.path.join(META_FILE_NAME)
    }

    /// Where the next append must start: the written end plus what is pending.
    pub fn aof_end(&self) -> Offset {
        Offset(self.aof_end_written + self.pending.len() as u64)
    }

    /// The metadata file's bytes, `None` if there is none yet.
    pub fn read_meta(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.meta_path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn read_aof_all(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(self.aof_end_written as usize);
        let mut file = &self.aof;
        // `read_to_end` on `&File` reads from the shared position, which starts at 0
        // after open; `append` affects writes only.
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Queues bytes for this pass's single AOF write.
    pub fn append(&mut self, offset: Offset, bytes: &[u8]) {
        assert_eq!(
            offset,
            self.aof_end(),
            "AppendAof must start at the AOF's end"
        );
        self.pending.extend_from_slice(bytes);
    }

    /// Writes what is pending with one `write_all`.
    pub fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.aof.write_all(&self.pending)?;
        self.aof_end_written += self.pending.len() as u64;
        self.pending.clear();
        self.unsynced = true;
        Ok(())
    }

    /// Cuts the AOF back to `offset`, after writing what is pending.
    pub fn truncate(&mut self, offset: Offset) -> io::Result<()> {
        self.write_pending()?;
        assert!(
            offset.0 <= self.aof_end_written,
            "TruncateAof beyond the AOF's end"
        );
        self.aof.set_len(offset.0)?;
        self.aof_end_written = offset.0;
        self.unsynced = true;
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.lower(offset.0);
        }
        Ok(())
    }

    /// A barrier: everything appended so far is durable when this returns.
    pub fn sync_now(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.aof.sync_data()?;
        self.unsynced = false;
        Ok(())
    }

    /// Writes the metadata atomically and durably, after writing what is pending.
    pub fn persist_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_pending()?;
        let tmp_path = self.path.join(META_TMP_FILE_NAME);
        let mut tmp = File::create(&tmp_path)?;
        tmp.write_all(bytes)?;
        tmp.sync_all()?;
        drop(tmp);
        fs::rename(&tmp_path, self.meta_path())?;
        File::open(&self.path)?.sync_all()
    }

    /// Hand the node's fsync requests to a thread that wakes `waker` when each ends.
    pub fn start_syncer(&mut self, waker: std::sync::Arc<mio::Waker>) -> io::Result<()> {
        self.syncer = Some(Syncer::start(self.aof.try_clone()?, waker)?);
        Ok(())
    }

    /// `SyncAof`: an fsync starts at the end of this pass, or after the running one.
    pub fn request_sync(&mut self) {
        self.sync_wanted = true;
    }

    /// The offset the fsync thread made durable since the last call, if it finished one.
    pub fn take_durable(&mut self) -> io::Result<Option<Offset>> {
        let done = match self.syncer.as_mut() {
            Some(syncer) => syncer.take_done()?,
            None => None,
        };
        Ok(done.map(Offset))
    }

    /// The end of a loop pass: one write, then the fsync the node asked for (handed to
    /// the thread, or inline) or the policy's sync. Returns the offset an inline fsync
    /// made durable, which the node must be told.
    pub fn end_pass(&mut self, now_ms: u64) -> io::Result<Option<Offset>> {
        self.write_pending()?;
        let always = self.unsynced && self.policy == AppendFsync::Always;
        let threaded = self.syncer.is_some() && !always;
        if self.sync_wanted && threaded {
            let syncer = self.syncer.as_mut().expect("threaded");
            if syncer.is_idle() {
                syncer.begin(self.aof_end_written);
                self.sync_wanted = false;
            }
        } else if std::mem::take(&mut self.sync_wanted) || always {
            self.sync_now()?;
            return Ok(Some(Offset(self.aof_end_written)));
        }
        if !self.unsynced {
            return Ok(None);
        }
        match self.policy {
            AppendFsync::Everysec => {
                let syncer = self.everysec.as_mut().expect("everysec has a syncer");
                if syncer.signal_if_due(now_ms) {
                    self.unsynced = false;
                }
                Ok(None)
            }
            AppendFsync::Always | AppendFsync::No => Ok(None),
        }
    }

    /// When the loop must wake for the next everysec sync, if one is waiting.
    pub fn sync_deadline_ms(&self) -> Option<u64> {
        match (&self.everysec, self.unsynced) {
            (Some(syncer), true) => Some(syncer.due_ms()),
            _ => None,
        }
    }

    /// A background sync that failed is a disk failure: fatal.
    pub fn check_background(&self) -> io::Result<()> {
        match &self.everysec {
            Some(syncer) => syncer.check(),
            None => Ok(()),
        }
    }

    /// Reads `buf.len()` bytes of the AOF from `offset`, or fewer at the file's end.
    pub fn read_at(&mut self, offset: Offset, buf: &mut [u8]) -> io::Result<usize> {
        if offset.0 + buf.len() as u64 > self.aof_end_written {
            self.write_pending()?;
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self
                .aof
                .read_at(&mut buf[filled..], offset.0 + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    /// Cuts a torn tail found by recovery, durably, before anything else happens.
    fn cut_for_recovery(&mut self, len_valid: u64) -> io::Result<()> {
        self.aof.set_len(len_valid)?;
        self.aof.sync_all()?;
        self.aof_end_written = len_valid;
        Ok(())
    }
}

/// Reads the files, rebuilds the node, and cuts a torn AOF tail. The error is one line
/// naming the file (and, for the AOF, the offset).
pub fn recover(config: Config, seed: u64, dir: &mut DataDir) -> Result<(Node, Recovery), String> {
    let io_error = |path: PathBuf, e: io::Error| format!("{}: {e}", path.display());
    let meta = dir.read_meta().map_err(|e| io_error(dir.meta_path(), e))?;
    let aof = dir
        .read_aof_all()
        .map_err(|e| io_error(dir.aof_path(), e))?;
    let (node, recovery) = Node::recover(config, seed, meta.as_deref(), &aof).map_err(|e| {
        let path = match e {
            bucket_core::RecoverError::CorruptMeta { .. } => dir.meta_path(),
            _ => dir.aof_path(),
        };
        format!("{}: {e}", path.display())
    })?;
    let len_file = aof.len() as u64;
    if recovery.aof_len_valid > len_file {
        return Err(format!(
            "{}: recovery reports {} valid bytes but the file holds {len_file}",
            dir.aof_path().display(),
            recovery.aof_len_valid
        ));
    }
    if recovery.aof_len_valid < len_file {
        cut_tail(dir, &recovery, len_file).map_err(|e| io_error(dir.aof_path(), e))?;
    }
    // The node counts what it recovered as durable, but a process that died (on a
    // failed fsync, or killed) may have left bytes that are only in the page cache.
    dir.sync_now().map_err(|e| io_error(dir.aof_path(), e))?;
    Ok((node, recovery))
}

fn cut_tail(dir: &mut DataDir, recovery: &Recovery, len_file: u64) -> io::Result<()> {
    let dropped_bytes = len_file - recovery.aof_len_valid;
    if dropped_bytes != recovery.torn_bytes {
        log_warn!(
            "recovery reported {} torn bytes but the file has {dropped_bytes} past its valid end",
            recovery.torn_bytes
        );
    }
    dir.cut_for_recovery(recovery.aof_len_valid)?;
    log_warn!(
        "{}: dropped {dropped_bytes} bytes of torn tail; the AOF now ends at offset {}",
        dir.aof_path().display(),
        recovery.aof_len_valid
    );
    Ok(())
}

/// The everysec background syncer: one thread, one duplicated descriptor, one signal.
struct EverysecSyncer {
    signal: Sender<()>,
    busy: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<String>>>,
    last_signal_ms: Option<u64>,
}

impl EverysecSyncer {
    fn start(file: File) -> io::Result<EverysecSyncer> {
        let (signal, signals) = mpsc::channel::<()>();
        let busy = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let (busy_thread, failure_thread) = (busy.clone(), failure.clone());
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                crate::signals::block_in_this_thread();
                for () in signals {
                    if let Err(e) = file.sync_data() {
                        *failure_thread
                            .lock()
                            .expect("never poisoned: no panics here") = Some(e.to_string());
                    }
                    busy_thread.store(false, Ordering::Release);
                }
            })?;
        log_info!("appendfsync everysec: background fsync thread started");
        Ok(EverysecSyncer {
            signal,
            busy,
            failure,
            last_signal_ms: None,
        })
    }

    fn due_ms(&self) -> u64 {
        self.last_signal_ms
            .map_or(0, |ms| ms + EVERYSEC_INTERVAL_MS)
    }

    /// Signals the thread if a second has passed and it is idle. True if signalled.
    fn signal_if_due(&mut self, now_ms: u64) -> bool {
        if now_ms < self.due_ms() || self.busy.load(Ordering::Acquire) {
            return false;
        }
        self.busy.store(true, Ordering::Release);
        self.last_signal_ms = Some(now_ms);
        // The thread only ends when this sender is dropped, so the send cannot fail.
        self.signal.send(()).is_ok()
    }

    fn check(&self) -> io::Result<()> {
        let failure = self.failure.lock().expect("never poisoned: no panics here");
        match failure.as_ref() {
            Some(message) => Err(io::Error::other(format!(
                "background fsync failed: {message}"
            ))),
            None => Ok(()),
        }
    }
}

/// Eight bytes of OS randomness for the node's seed.
pub fn os_seed() -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "bucket-files-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&path);
        path
    }

    #[test]
    fn append_write_truncate_read() {
        let path = temp_dir("aof");
        let mut dir = DataDir::open(&path, AppendFsync::Always).unwrap();
        dir.append(Offset(0), b"hello ");
        dir.append(Offset(6), b"world");
        assert_eq!(dir.aof_end(), Offset(11));
        dir.end_pass(0).unwrap();
        let mut buf = [0u8; 5];
        assert_eq!(dir.read_at(Offset(6), &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"world");
        dir.truncate(Offset(5)).unwrap();
        dir.append(Offset(5), b"!");
        dir.sync_now().unwrap();
        assert_eq!(fs::read(path.join(AOF_FILE_NAME)).unwrap(), b"hello!");
        let reopened = DataDir::open(&path, AppendFsync::No).unwrap();
        assert_eq!(reopened.aof_end(), Offset(6));
        assert_eq!(reopened.read_aof_all().unwrap(), b"hello!");
        fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn read_at_sees_pending_bytes() {
        let path = temp_dir("pending");
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        dir.append(Offset(0), b"abc");
        let mut buf = [0u8; 8];
        assert_eq!(dir.read_at(Offset(1), &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"bc");
        fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    #[should_panic(expected = "AppendAof must start at the AOF's end")]
    fn append_at_the_wrong_offset_panics() {
        let path = temp_dir("wrong-offset");
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        dir.append(Offset(3), b"x");
    }

    #[test]
    fn meta_is_replaced_atomically() {
        let path = temp_dir("meta");
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        assert_eq!(dir.read_meta().unwrap(), None);
        dir.persist_meta(b"one").unwrap();
        dir.persist_meta(b"two").unwrap();
        assert_eq!(dir.read_meta().unwrap().as_deref(), Some(&b"two"[..]));
        assert!(!path.join(META_TMP_FILE_NAME).exists());
        fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn a_failed_background_sync_stays_fatal() {
        let path = temp_dir("everysec-failure");
        let dir = DataDir::open(&path, AppendFsync::Everysec).unwrap();
        dir.check_background().unwrap();
        // What the fsync thread records when `fdatasync` fails (EIO cannot be caused
        // here). Every later check fails: a retried fsync that succeeds proves nothing.
        let syncer = dir.everysec.as_ref().unwrap();
        *syncer.failure.lock().unwrap() = Some("Input/output error (os error 5)".into());
        for _ in 0..2 {
            let error = dir.check_background().unwrap_err();
            assert!(
                error.to_string().contains("background fsync failed"),
                "{error}"
            );
        }
        fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn everysec_signals_at_most_once_a_second() {
        let path = temp_dir("everysec");
        let mut dir = DataDir::open(&path, AppendFsync::Everysec).unwrap();
        assert_eq!(dir.sync_deadline_ms(), None);
        dir.append(Offset(0), b"a");
        dir.end_pass(5_000).unwrap();
        assert_eq!(
            dir.sync_deadline_ms(),
            None,
            "signalled at once: nothing waits"
        );
        dir.append(Offset(1), b"b");
        dir.end_pass(5_100).unwrap();
        assert_eq!(dir.sync_deadline_ms(), Some(6_000));
        // Let the background sync finish, then the due one goes out.
        let busy = dir.everysec.as_ref().unwrap().busy.clone();
        for _ in 0..500 {
            if !busy.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        dir.end_pass(6_000).unwrap();
        assert_eq!(dir.sync_deadline_ms(), None);
        dir.check_background().unwrap();
        fs::remove_dir_all(&path).unwrap();
    }
}
