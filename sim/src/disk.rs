//! Each node's disk: its AOF, with a synced prefix and an unsynced tail, and its
//! metadata file.
//!
//! Faults injected (only those the design promises to survive):
//! - On a crash, the unsynced tail of the AOF is lost in part or whole: the synced
//!   prefix survives, followed by a random prefix of the unsynced bytes, which may end
//!   in the middle of a record (a torn write).
//!
//! Faults not injected (the design does not promise to survive them):
//! - Loss of anything after `SyncAof` or `PersistMeta` returned.
//! - A half-written metadata file: `PersistMeta` is atomic (write, fsync, rename).
//! - Corruption before the tail (bit flips, misdirected writes): the node must refuse
//!   to start on those, which ends the run rather than testing recovery.
//! - Zero-filled tails and reverted truncations: a truncation is treated as durable at
//!   once, as the daemon syncs after cutting.

use std::cell::RefCell;

use rand_chacha::ChaCha8Rng;

use crate::replayed::ReplayedAof;

use crate::seed::{between, chance};

#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The AOF as the node's writes left it, synced or not.
    aof: Vec<u8>,
    /// How many leading bytes of `aof` are durable.
    aof_synced_len: usize,
    /// The last metadata written: always durable.
    meta: Option<Vec<u8>>,
    /// The AOF's replay, kept up to date lazily by the checkers; reset by every cut.
    replayed: RefCell<ReplayedAof>,
}

/// What a crash did to the AOF tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashLoss {
    pub unsynced_bytes: usize,
    pub lost_bytes: usize,
}

impl Disk {
    pub fn aof(&self) -> &[u8] {
        &self.aof
    }

    pub fn aof_len(&self) -> u64 {
        self.aof.len() as u64
    }

    pub fn aof_synced_len(&self) -> u64 {
        self.aof_synced_len as u64
    }

    pub fn meta(&self) -> Option<&[u8]> {
        self.meta.as_deref()
    }

    /// `AppendAof`: the node names the offset it believes is the end; the driver checks.
    pub fn append(&mut self, offset: u64, bytes: &[u8]) -> Result<(), String> {
        if offset != self.aof_len() {
            return Err(format!(
                "AppendAof at offset {offset} but the AOF ends at {}",
                self.aof_len()
            ));
        }
        self.aof.extend_from_slice(bytes);
        Ok(())
    }

    /// `TruncateAof`: cut back to `offset` (never forward).
    pub fn truncate(&mut self, offset: u64) -> Result<(), String> {
        if offset > self.aof_len() {
            return Err(format!(
                "TruncateAof to {offset} beyond the AOF end {}",
                self.aof_len()
            ));
        }
        self.cut(offset as usize);
        Ok(())
    }

    /// Cut the AOF to `len` bytes; the replay starts over if it went past the cut.
    fn cut(&mut self, len: usize) {
        self.aof.truncate(len);
        self.aof_synced_len = self.aof_synced_len.min(self.aof.len());
        if self.replayed.borrow().end() > len {
            self.replayed = RefCell::default();
        }
    }

    /// The AOF's replay, brought up to date.
    pub fn replayed(&self) -> Result<std::cell::Ref<'_, ReplayedAof>, String> {
        self.replayed.borrow_mut().catch_up(&self.aof)?;
        Ok(self.replayed.borrow())
    }

    /// `SyncAof`, or the driver's own fsync under its `appendfsync` policy.
    pub fn sync(&mut self) {
        self.aof_synced_len = self.aof.len();
    }

    /// An fsync that began when the AOF was `len` bytes long completed.
    pub fn sync_to(&mut self, len: u64) {
        let len = (len as usize).min(self.aof.len());
        self.aof_synced_len = self.aof_synced_len.max(len);
    }

    /// `PersistMeta`: atomic and durable.
    pub fn persist_meta(&mut self, bytes: &[u8]) {
        self.meta = Some(bytes.to_vec());
    }

    /// Read `[start, end)` for `StreamAof`.
    pub fn read(&self, start: u64, end: u64) -> Result<&[u8], String> {
        if start > end || end > self.aof_len() {
            return Err(format!(
                "StreamAof range {start}..{end} outside the AOF (length {})",
                self.aof_len()
            ));
        }
        Ok(&self.aof[start as usize..end as usize])
    }

    /// Recovery cut a torn tail: the driver cuts the file there.
    pub fn cut_torn_tail(&mut self, aof_len_valid: u64) {
        assert!(aof_len_valid <= self.aof_len());
        self.cut(aof_len_valid as usize);
    }

    /// The power went out: keep the synced prefix and, with `tail_loss_probability`, only
    /// a random prefix (possibly mid-record) of the unsynced tail.
    pub fn crash(&mut self, rng: &mut ChaCha8Rng, tail_loss_probability: f64) -> CrashLoss {
        let unsynced_bytes = self.aof.len() - self.aof_synced_len;
        let mut kept = unsynced_bytes;
        if unsynced_bytes > 0 && chance(rng, tail_loss_probability) {
            kept = between(rng, 0, unsynced_bytes as u64 - 1) as usize;
        }
        self.cut(self.aof_synced_len + kept);
        // What survived a crash is on the platter now.
        self.aof_synced_len = self.aof.len();
        CrashLoss {
            unsynced_bytes,
            lost_bytes: unsynced_bytes - kept,
        }
    }

    /// Replace the AOF wholesale: used by checker tests and scenarios.
    pub fn set_aof_for_test(&mut self, bytes: Vec<u8>) {
        self.aof_synced_len = bytes.len();
        self.aof = bytes;
        self.replayed = RefCell::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn crash_keeps_the_synced_prefix() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for round in 0..100 {
            let mut disk = Disk::default();
            disk.append(0, b"synced").unwrap();
            disk.sync();
            disk.append(6, b"unsynced tail").unwrap();
            let loss = disk.crash(&mut rng, 1.0);
            assert!(disk.aof().starts_with(b"synced"), "#{round}");
            assert_eq!(loss.unsynced_bytes, 13);
            assert!(loss.lost_bytes >= 1, "#{round}: a loss is drawn");
        }
    }

    #[test]
    fn append_checks_the_offset() {
        let mut disk = Disk::default();
        assert!(disk.append(1, b"x").is_err());
        disk.append(0, b"ab").unwrap();
        assert!(disk.truncate(3).is_err());
        disk.truncate(1).unwrap();
        assert_eq!(disk.aof(), b"a");
    }
}
