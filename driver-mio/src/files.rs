//! The node's files in `dataPath`: the AOF (a base and tail files, named by `manifest`;
//! see `aof_files.rs` and `manifest.rs`) and the metadata (`meta`).
//!
//! AOF offsets are logical offsets of the replication stream: a tail file that starts
//! at offset S holds the stream's bytes `[S, S + len)`, and a base stands for every
//! byte before its offset. Offsets never change when the AOF is compacted.
//!
//! Durability:
//! - Appends of one loop pass are gathered in `pending` and written with one `write` at
//!   the end of the pass (or earlier, when a barrier or a truncation needs them).
//! - `appendfsync always`: one `fdatasync` per pass that wrote, before replies go out.
//! - `appendfsync everysec`: a background thread runs `fdatasync` on the current tail
//!   file when signalled, at most once a second. The loop never waits for it; if a sync
//!   is still running when the next is due, the next is skipped until the running one
//!   ends (as Redis postpones). A failed background sync is fatal at the next pass,
//!   like any disk failure.
//! - `appendfsync no`: never, except for barriers.
//! - `Output::SyncAof` asks for an fsync under every policy. At the end of the pass, if
//!   none is running, the fsync thread (`syncer.rs`) starts one covering everything
//!   written, however many steps asked; the loop goes on, and reports the offset to the
//!   node (`Input::AofDurable`) when the thread is done. Under `always` the pass's own
//!   fsync, inline before its replies, answers the requests too.
//! - Only the last tail file is ever unsynced: the others, and the base, were fsynced
//!   in full before a manifest named anything after them. So one fsync of the current
//!   tail file makes the whole AOF durable to its end, and the fsync threads are handed
//!   whichever tail file is current when they start.
//! - Where replies wait for fsyncs (majority mode, `appendfsync always`), the current
//!   tail file is kept zeroed a few MiB ahead of its end by a thread (`prealloc.rs`), so
//!   an fsync of appends flushes data blocks only, not a new file size too. Recovery reads those zeros as a torn tail of nothing and cuts them.
//! - Recovery fsyncs the AOF it recovered before the node's first step: the node counts
//!   all of it durable, and a crash between a `write` and its `fdatasync` may have left
//!   some of it only in the page cache.
//! - Metadata is written to `meta.tmp`, synced, renamed over `meta`, and the directory is
//!   synced, so a crash leaves either the old or the new metadata.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bucket_core::{BaseKind, Config, Node, Offset, RecoverError, Recovery};

use crate::aof_files::AofFiles;
use crate::config::AppendFsync;
use crate::fsio;
use crate::syncer::{BackgroundSync, Syncer};
use crate::{log_info, log_warn};

pub const META_FILE_NAME: &str = "meta";
pub const META_TMP_FILE_NAME: &str = "meta.tmp";
/// Interval between background syncs under `appendfsync everysec`.
pub const EVERYSEC_INTERVAL_MS: u64 = 1000;

/// What a pass's AOF buffer starts with.
const PENDING_CAPACITY_BYTES: usize = 64 * 1024;
/// A pass's AOF buffer larger than this after its write is freed (a burst grew it).
const PENDING_CAPACITY_BYTES_KEPT_MAX: usize = 1024 * 1024;

pub struct DataDir {
    path: PathBuf,
    /// No other process may use the directory while this one does.
    _lock: crate::dir_lock::DirLock,
    aof: AofFiles,
    /// Bytes appended since the last write, written at the end of the pass.
    pending: Vec<u8>,
    /// Something was written or truncated since the last sync (or sync signal).
    unsynced: bool,
    /// The node asked for an fsync (`SyncAof`) that has not started yet.
    sync_wanted: bool,
    /// The fsync thread for the node's requests (none in unit tests: inline fsyncs).
    syncer: Option<Syncer>,
    policy: AppendFsync,
    everysec: Option<Everysec>,
}

impl DataDir {
    /// Opens (and creates if missing) the data directory and its AOF files. The error
    /// is one line naming the file.
    pub fn open(path: &Path, policy: AppendFsync) -> Result<DataDir, String> {
        let lock = crate::dir_lock::lock(path)?;
        let aof = AofFiles::open(path)?;
        let everysec = Everysec::start_for(policy)
            .map_err(|e| format!("starting the everysec fsync thread: {e}"))?;
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
            aof,
            pending: Vec::with_capacity(PENDING_CAPACITY_BYTES),
            unsynced: false,
            sync_wanted: false,
            syncer: None,
            policy,
            everysec,
        })
    }

    /// `CONFIG SET appendfsync`: sync under `policy` from now on. Leaving `everysec`
    /// first checks that its thread's last fsync did not fail; entering it starts one.
    pub fn set_policy(&mut self, policy: AppendFsync) -> io::Result<()> {
        if policy == self.policy {
            return Ok(());
        }
        if let Some(everysec) = self.everysec.take() {
            everysec.thread.check()?;
        }
        self.everysec = Everysec::start_for(policy)?;
        self.policy = policy;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn aof(&self) -> &AofFiles {
        &self.aof
    }

    pub fn meta_path(&self) -> PathBuf {
        self.path.join(META_FILE_NAME)
    }

    /// Where the next append must start: the written end plus what is pending.
    pub fn aof_end(&self) -> Offset {
        Offset(self.aof.end() + self.pending.len() as u64)
    }

    /// The metadata file's bytes, `None` if there is none yet.
    pub fn read_meta(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.meta_path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
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
        assert!(
            !self.aof.is_receiving_base(),
            "no AppendAof while a base from the master is written"
        );
        self.pending.extend_from_slice(bytes);
    }

    /// Writes what is pending with one `write_all`.
    pub fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.aof.write(&self.pending)?;
        self.pending.clear();
        if self.pending.capacity() > PENDING_CAPACITY_BYTES_KEPT_MAX {
            // A burst's pass grew it: give the memory back rather than hold it forever.
            self.pending = Vec::with_capacity(PENDING_CAPACITY_BYTES);
        }
        self.unsynced = true;
        Ok(())
    }

    /// Cuts the AOF back to `offset`, after writing what is pending.
    pub fn truncate(&mut self, offset: Offset) -> io::Result<()> {
        self.write_pending()?;
        self.aof.truncate(offset.0)?;
        self.unsynced = true;
        self.lower_in_flight(offset.0);
        Ok(())
    }

    /// The running fsync cannot vouch for bytes past `offset` any more.
    fn lower_in_flight(&mut self, offset: u64) {
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.lower(offset);
        }
    }

    /// A barrier: everything appended so far is durable when this returns.
    pub fn sync_now(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.aof.sync_current()?;
        self.unsynced = false;
        Ok(())
    }

    /// `Output::BeginBase`. For a rewrite, a barrier: the AOF is durable and a new tail
    /// file from `offset` is in the manifest when this returns.
    pub fn begin_base(&mut self, offset: Offset, kind: BaseKind) -> io::Result<()> {
        // Bytes appended before a base from the master go to the old tail, which the
        // base replaces; before a rewrite's base they must be in the old tail.
        self.write_pending()?;
        self.aof.begin_base(offset.0, kind)?;
        if kind == BaseKind::Rewrite {
            // `begin_base` fsynced the old tail; the new one is empty.
            self.unsynced = false;
        }
        Ok(())
    }

    pub fn write_base(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.aof.write_base(bytes)
    }

    /// `Output::FinishBase`, a barrier: the base and the manifest naming it are durable
    /// when this returns.
    pub fn finish_base(&mut self) -> io::Result<()> {
        self.write_pending()?;
        if let Some(offset) = self.aof.finish_base()? {
            // The base replaced the whole AOF: what a running fsync covers is of the old
            // files, and the new AOF is durable to the base's offset.
            self.lower_in_flight(offset);
            self.unsynced = false;
        }
        Ok(())
    }

    pub fn abandon_base(&mut self) -> io::Result<()> {
        self.aof.abandon_base()
    }

    /// The base the manifest names now, opened for `Output::StreamBase`, and its length.
    pub fn open_base(&self) -> io::Result<Option<(File, u64)>> {
        self.aof.open_base()
    }

    /// Writes the metadata atomically and durably, after writing what is pending.
    pub fn persist_meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_pending()?;
        fsio::write_atomically(&self.path, META_FILE_NAME, META_TMP_FILE_NAME, bytes)
    }

    /// Hand the node's fsync requests to a thread that wakes `waker` when each ends.
    pub fn start_syncer(&mut self, waker: std::sync::Arc<mio::Waker>) -> io::Result<()> {
        self.syncer = Some(Syncer::start(waker)?);
        Ok(())
    }

    /// Keeps zeroed space ahead of the AOF's end (`prealloc.rs`), after recovery.
    pub fn start_preallocating(&mut self) -> io::Result<()> {
        self.aof.start_preallocating()
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
                syncer.begin(self.aof.current(), self.aof.end());
                self.sync_wanted = false;
            }
        } else if std::mem::take(&mut self.sync_wanted) || always {
            self.sync_now()?;
            return Ok(Some(Offset(self.aof.end())));
        }
        if !self.unsynced {
            return Ok(None);
        }
        if let Some(everysec) = self.everysec.as_mut() {
            if everysec.signal_if_due(now_ms, &self.aof) {
                self.unsynced = false;
            }
        }
        Ok(None)
    }

    /// When the loop must wake for the next everysec sync, if one is waiting.
    pub fn sync_deadline_ms(&self) -> Option<u64> {
        match (&self.everysec, self.unsynced) {
            (Some(everysec), true) => Some(everysec.due_ms()),
            _ => None,
        }
    }

    /// A background sync that failed is a disk failure: fatal.
    pub fn check_background(&self) -> io::Result<()> {
        if let Some(everysec) = &self.everysec {
            everysec.thread.check()?;
        }
        self.aof.check_background()
    }

    /// Reads `buf.len()` bytes of the AOF from `offset`, or fewer at its end.
    pub fn read_at(&mut self, offset: Offset, buf: &mut [u8]) -> io::Result<usize> {
        if offset.0 + buf.len() as u64 > self.aof.end() {
            self.write_pending()?;
        }
        self.aof.read_at(offset.0, buf)
    }

    /// Tail files a rewrite dropped stay open while a stream reads below the base:
    /// `lowest` is the lowest offset any AOF stream reads next.
    pub fn release_retired(&mut self, lowest: Option<Offset>) {
        self.aof.release_retired(lowest.map(|o| o.0));
    }
}

/// Reads the files, rebuilds the node, and cuts a torn AOF tail. The error is one line
/// naming the file (and, for the AOF, the offset).
pub fn recover(config: Config, seed: u64, dir: &mut DataDir) -> Result<(Node, Recovery), String> {
    let meta = dir
        .read_meta()
        .map_err(|e| format!("{}: {e}", dir.meta_path().display()))?;
    let (base, tail) = dir.aof.read_for_recovery()?;
    let recovered = Node::recover_with_base(config, seed, meta.as_deref(), base.as_deref(), &tail);
    let (node, recovery) = recovered.map_err(|e| recover_error(dir, &e))?;
    let end = dir.aof.end();
    if recovery.aof_len_valid > end {
        return Err(format!(
            "{}: recovery reports the AOF valid to offset {} but it ends at {end}",
            dir.aof.current_path().display(),
            recovery.aof_len_valid
        ));
    }
    if recovery.aof_len_valid < end {
        let dropped_at = (recovery.aof_len_valid - dir.aof.base_offset()) as usize;
        let only_zeros = tail[dropped_at..].iter().all(|&b| b == 0);
        cut_tail(dir, &recovery, end, only_zeros)?;
    }
    // The node counts what it recovered as durable, but a process that died (on a
    // failed fsync, or killed) may have left bytes that are only in the page cache.
    dir.aof.sync_for_recovery()?;
    Ok((node, recovery))
}

/// A recovery error, prefixed with the file it is about.
fn recover_error(dir: &DataDir, error: &RecoverError) -> String {
    let path = match error {
        RecoverError::CorruptMeta { .. } => dir.meta_path(),
        RecoverError::CorruptBase { .. } => dir.aof.base_path().expect("a base was read"),
        RecoverError::CorruptAof { offset, .. } => dir.aof.tail_path_at(offset.0),
        RecoverError::Config(_) => return error.to_string(),
    };
    format!("{}: {error}", path.display())
}

/// Cuts what follows the AOF's last whole record: a torn write, or (`only_zeros`) the
/// space preallocated ahead of the end, or a write of which nothing landed.
fn cut_tail(
    dir: &mut DataDir,
    recovery: &Recovery,
    end: u64,
    only_zeros: bool,
) -> Result<(), String> {
    let dropped_bytes = end - recovery.aof_len_valid;
    if dropped_bytes != recovery.torn_bytes {
        log_warn!(
            "recovery reported {} torn bytes but the AOF has {dropped_bytes} past its valid end",
            recovery.torn_bytes
        );
    }
    dir.aof.cut_for_recovery(recovery.aof_len_valid)?;
    if only_zeros {
        log_info!(
            "{}: {dropped_bytes} bytes of zeros (preallocated space) past the AOF's end at offset {} cut",
            dir.aof.current_path().display(),
            recovery.aof_len_valid
        );
        return Ok(());
    }
    log_warn!(
        "{}: dropped {dropped_bytes} bytes of torn tail; the AOF now ends at offset {}",
        dir.aof.current_path().display(),
        recovery.aof_len_valid
    );
    Ok(())
}

/// The everysec fsyncs: a background thread signalled at most once a second.
struct Everysec {
    thread: BackgroundSync,
    last_signal_ms: Option<u64>,
}

impl Everysec {
    /// The background sync `policy` needs, if any.
    fn start_for(policy: AppendFsync) -> io::Result<Option<Everysec>> {
        if policy != AppendFsync::Everysec {
            return Ok(None);
        }
        Ok(Some(Everysec {
            thread: BackgroundSync::start("aof-fsync")?,
            last_signal_ms: None,
        }))
    }

    fn due_ms(&self) -> u64 {
        self.last_signal_ms
            .map_or(0, |ms| ms + EVERYSEC_INTERVAL_MS)
    }

    /// Signals the thread to sync the current tail if a second has passed and it is
    /// idle. True if signalled.
    fn signal_if_due(&mut self, now_ms: u64, aof: &AofFiles) -> bool {
        if now_ms < self.due_ms() || !self.thread.signal(aof.current()) {
            return false;
        }
        self.last_signal_ms = Some(now_ms);
        true
    }
}

/// Eight bytes of OS randomness for the node's seed.
pub fn os_seed() -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests;
