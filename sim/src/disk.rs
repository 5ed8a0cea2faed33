//! Each node's disk: its AOF, the image of it that a crash keeps for sure, and its
//! metadata file.
//!
//! Faults injected (the design promises to survive them, or to refuse to start on them
//! with an error naming the offset):
//! - Lost unsynced tail: on a crash, the bytes written since the last sync are lost in
//!   part or whole: the synced prefix survives, followed by a random prefix of the
//!   unsynced bytes, which may end in the middle of a record (a torn write).
//! - Zero-filled tail: part of the lost tail may read back as zeros, as on a file
//!   system that extended the file but never wrote the data; and the file may end in
//!   a run of zeros past everything written, as the daemon's tail file does (it keeps
//!   zeroed space preallocated ahead of its end).
//! - Truncation undone: a truncation is durable only at the next sync. A crash before
//!   it may bring the file back as it was at the last sync (the truncation undone, the
//!   bytes appended after it lost).
//! - Slow fsync: the `everysec` background sync covers what was written when it began
//!   and completes after a drawn latency; a crash before that loses as above.
//! - Failed fsync: any sync may fail. The daemon stops, as Redis and PostgreSQL do, so
//!   the world crashes the node right there (as above) and restarts it later.
//! - Bit flips in synced data: while a node is down, a bit flips in the checksum or
//!   body of a whole record that another whole record follows. Recovery must refuse to
//!   start, naming an offset within that record; the world checks it, then restores
//!   the bit (an operator restoring the file from a replica) and starts the node.
//!
//! Faults not injected (the design does not promise to survive them, or the format
//! cannot tell them from a torn write):
//! - Loss of anything after `SyncAof` or `PersistMeta` returned.
//! - A half-written metadata file: `PersistMeta` is atomic (write, fsync, rename).
//! - Bit flips in a record's length field: the length is outside the checksum, so a
//!   flip can make a record claim to run past the end of the file, which reads exactly
//!   as a torn write.
//! - Bit flips in the last whole record: a checksum failure on a frame that ends the
//!   file is a torn write by the decoder's rule. Nor in unsynced bytes, which a crash
//!   may cut anyway.
//! - Misdirected or reordered writes: zeros or stale bytes before data that landed.
//! - A restarted process reading unsynced bytes from the page cache as if durable: a
//!   crash here always makes what survived durable.

use std::cell::RefCell;

use bucket_core::aof::record::{encoded_len, RECORD_HEADER_LEN};
use bucket_core::aof::scan_records;
use rand_chacha::ChaCha8Rng;

use crate::replayed::ReplayedAof;

mod base;
pub use base::{BaseFile, BaseHistories};

use crate::seed::{between, chance};

/// Bytes at the start of a record that hold its length, outside its checksum.
const RECORD_LEN_FIELD_BYTES: usize = 4;
const _: () = assert!(RECORD_LEN_FIELD_BYTES < RECORD_HEADER_LEN);

#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The AOF as the node's writes left it, synced or not.
    aof: Vec<u8>,
    /// What a crash keeps for sure: the AOF as of the last sync.
    durable: Image,
    /// The `everysec` background sync in flight: the AOF as it was when it began.
    sync_in_flight: Option<Image>,
    /// The last metadata written: always durable.
    meta: Option<Vec<u8>>,
    /// The AOF's replay, kept up to date lazily by the checkers; reset by every change
    /// to bytes it replayed.
    replayed: RefCell<ReplayedAof>,
    /// The installed base, and one being written (see `base`).
    base: Option<base::BaseFile>,
    temp_base: Option<base::TempBase>,
}

/// A past state of the AOF, held as the prefix it shares with the AOF now and the
/// bytes that followed that prefix then (since cut by truncations). Truncations are
/// rare, so `cut` is almost always empty and the image costs nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Image {
    shared_len: usize,
    cut: Vec<u8>,
}

impl Image {
    fn of(aof: &[u8]) -> Image {
        Image {
            shared_len: aof.len(),
            cut: Vec::new(),
        }
    }

    /// The AOF is about to be cut to `len`: the image's bytes past `len` leave the
    /// shared prefix and are kept here.
    fn before_truncate(&mut self, aof: &[u8], len: usize) {
        assert!(
            self.shared_len <= aof.len(),
            "the shared prefix is in the AOF"
        );
        if len >= self.shared_len {
            return;
        }
        let mut cut = aof[len..self.shared_len].to_vec();
        cut.extend_from_slice(&self.cut);
        self.cut = cut;
        self.shared_len = len;
    }

    fn is_prefix_of(&self, aof: &[u8]) -> bool {
        self.cut.is_empty() && self.shared_len <= aof.len()
    }
}

/// The most zeros a crash leaves past everything written: enough to hold several
/// record headers, far less than the daemon preallocates (a run of zeros of any length
/// reads the same to recovery).
const PREALLOCATED_ZEROS_MAX: u64 = 4096;

/// What a crash may do to the AOF beyond its durable image.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrashFaults {
    /// The chance that some of the unsynced tail is lost.
    pub tail_loss_probability: f64,
    /// The chance that zeros show up: in place of part of the lost bytes, if any are
    /// lost, and past them, as preallocated space.
    pub zero_fill_probability: f64,
    /// With a truncation not yet synced, the chance the file comes back as it was at
    /// the last sync.
    pub truncation_undo_probability: f64,
}

/// What a crash did to the AOF tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoss {
    pub unsynced_bytes: usize,
    pub lost_bytes: usize,
    /// Bytes past what survived that read back as zeros.
    pub zeroed_bytes: usize,
    /// Zeros past everything written: preallocated space.
    pub preallocated_bytes: usize,
    /// Bytes a truncation had cut that came back with the last synced image.
    pub restored_bytes: usize,
}

/// A bit flipped in a whole record of the AOF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitFlip {
    /// Where the record holding the flipped bit starts.
    pub record_offset: u64,
    pub byte_offset: u64,
    pub mask: u8,
}

impl Disk {
    pub fn aof(&self) -> &[u8] {
        &self.aof
    }

    pub fn aof_len(&self) -> u64 {
        self.aof.len() as u64
    }

    /// How many leading bytes of the AOF, as it is now, are durable.
    pub fn aof_synced_len(&self) -> u64 {
        self.durable.shared_len as u64
    }

    /// Something was written or truncated since the last sync.
    pub fn is_dirty(&self) -> bool {
        !(self.durable.is_prefix_of(&self.aof) && self.durable.shared_len == self.aof.len())
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

    /// `TruncateAof`: cut back to `offset` (never forward). Durable only at the next
    /// sync, as the daemon's `set_len`.
    pub fn truncate(&mut self, offset: u64) -> Result<(), String> {
        if offset > self.aof_len() {
            return Err(format!(
                "TruncateAof to {offset} beyond the AOF end {}",
                self.aof_len()
            ));
        }
        self.truncate_base(offset)?;
        let len = offset as usize;
        self.durable.before_truncate(&self.aof, len);
        if let Some(image) = self.sync_in_flight.as_mut() {
            image.before_truncate(&self.aof, len);
        }
        self.cut(len);
        Ok(())
    }

    /// Cut the AOF to `len` bytes; the replay starts over if it went past the cut.
    fn cut(&mut self, len: usize) {
        self.aof.truncate(len);
        self.forget_replay_past(len);
    }

    /// Bytes from `len` on changed: a replay that read them starts over.
    fn forget_replay_past(&mut self, len: usize) {
        if self.replayed.borrow().end() > len {
            self.replayed = RefCell::default();
        }
    }

    /// The AOF's replay, brought up to date.
    pub fn replayed(&self) -> Result<std::cell::Ref<'_, ReplayedAof>, String> {
        self.replayed.borrow_mut().catch_up(&self.aof)?;
        Ok(self.replayed.borrow())
    }

    /// A sync that returned: `SyncAof`, or the driver's own under `appendfsync always`.
    /// It covers any background sync still in flight.
    pub fn sync(&mut self) {
        self.durable = Image::of(&self.aof);
        self.sync_in_flight = None;
    }

    /// The `everysec` background sync begins: it covers the AOF as it is now.
    pub fn begin_background_sync(&mut self) {
        assert!(
            self.sync_in_flight.is_none(),
            "one background sync at a time"
        );
        self.sync_in_flight = Some(Image::of(&self.aof));
    }

    /// The background sync returned: what it covered is durable (unless a sync that
    /// returned since covered more, or a crash came first).
    pub fn complete_background_sync(&mut self) {
        if let Some(image) = self.sync_in_flight.take() {
            assert!(image.shared_len <= self.aof.len());
            self.durable = image;
        }
    }

    /// `PersistMeta`: atomic and durable.
    pub fn persist_meta(&mut self, bytes: &[u8]) {
        self.meta = Some(bytes.to_vec());
    }

    /// Read up to `len` bytes from `start`: fewer if the file ends first, as `pread`.
    pub fn read_at_most(&self, start: u64, len: u64) -> &[u8] {
        let aof_len = self.aof_len();
        let lo = start.min(aof_len) as usize;
        let hi = (start + len).min(aof_len) as usize;
        &self.aof[lo..hi]
    }

    /// Recovery cut a torn tail: the driver cuts the file there and syncs it.
    pub fn cut_torn_tail(&mut self, aof_len_valid: u64) {
        assert!(aof_len_valid <= self.aof_len());
        self.cut(aof_len_valid as usize);
        self.sync();
    }

    /// The power went out. A truncation not yet synced may be undone; otherwise the
    /// durable prefix survives with a random prefix (possibly mid-record) of the
    /// unsynced tail, and part of what was lost may read back as zeros.
    pub fn crash(&mut self, rng: &mut ChaCha8Rng, faults: &CrashFaults) -> CrashLoss {
        let p_undo = faults.truncation_undo_probability;
        let undo = !self.durable.cut.is_empty() && p_undo > 0.0 && chance(rng, p_undo);
        let loss = if undo {
            self.undo_truncation()
        } else {
            self.lose_tail(rng, faults)
        };
        // What survived a crash is on the platter now.
        self.sync();
        self.crash_base();
        loss
    }

    /// The file comes back as it was at the last sync.
    fn undo_truncation(&mut self) -> CrashLoss {
        let shared_len = self.durable.shared_len;
        let unsynced_bytes = self.aof.len() - shared_len;
        let restored = std::mem::take(&mut self.durable.cut);
        assert!(!restored.is_empty());
        self.cut(shared_len);
        self.aof.extend_from_slice(&restored);
        CrashLoss {
            unsynced_bytes,
            lost_bytes: unsynced_bytes,
            zeroed_bytes: 0,
            preallocated_bytes: 0,
            restored_bytes: restored.len(),
        }
    }

    fn lose_tail(&mut self, rng: &mut ChaCha8Rng, faults: &CrashFaults) -> CrashLoss {
        let synced_len = self.durable.shared_len;
        let unsynced_bytes = self.aof.len() - synced_len;
        let mut kept = unsynced_bytes;
        if unsynced_bytes > 0 && chance(rng, faults.tail_loss_probability) {
            kept = between(rng, 0, unsynced_bytes as u64 - 1) as usize;
        }
        let lost_bytes = unsynced_bytes - kept;
        let p_zero = faults.zero_fill_probability;
        let (mut zeroed_bytes, mut preallocated_bytes) = (0, 0);
        if p_zero > 0.0 && chance(rng, p_zero) {
            if lost_bytes > 0 {
                zeroed_bytes = between(rng, 1, lost_bytes as u64) as usize;
            }
            preallocated_bytes = between(rng, 0, PREALLOCATED_ZEROS_MAX) as usize;
        }
        let survived_len = synced_len + kept;
        self.cut(survived_len);
        self.aof.resize(survived_len + zeroed_bytes, 0);
        assert!(self.aof.len() <= synced_len + unsynced_bytes);
        self.aof.resize(self.aof.len() + preallocated_bytes, 0);
        CrashLoss {
            unsynced_bytes,
            lost_bytes,
            zeroed_bytes,
            preallocated_bytes,
            restored_bytes: 0,
        }
    }

    /// Flip one bit in the checksum or body of a whole record that another whole
    /// record follows, run `read` on the damaged files (metadata, AOF), and restore the
    /// bit. `None` if no record qualifies. The replay is never shown the damage.
    pub fn with_bit_flipped<R>(
        &mut self,
        rng: &mut ChaCha8Rng,
        read: impl FnOnce(Option<&[u8]>, &[u8]) -> R,
    ) -> Option<(BitFlip, R)> {
        let flip = self.draw_bit_flip(rng)?;
        let byte = flip.byte_offset as usize;
        self.aof[byte] ^= flip.mask;
        let start = self.tail_start() as usize;
        let result = read(self.meta.as_deref(), &self.aof[start..]);
        self.aof[byte] ^= flip.mask;
        Some((flip, result))
    }

    fn draw_bit_flip(&self, rng: &mut ChaCha8Rng) -> Option<BitFlip> {
        // Only the tail is read back at recovery: history under the base is not a file.
        let start = self.tail_start() as usize;
        let mut records: Vec<(usize, usize)> = Vec::new();
        scan_records(&self.aof[start..], |offset, record| {
            records.push((start + offset as usize, encoded_len(record)));
        });
        // The last whole record is left alone: see the list at the top.
        records.pop();
        if records.is_empty() {
            return None;
        }
        let pick = between(rng, 0, records.len() as u64 - 1) as usize;
        let (start, len) = records[pick];
        assert!(len > RECORD_HEADER_LEN);
        let byte = between(
            rng,
            (start + RECORD_LEN_FIELD_BYTES) as u64,
            (start + len - 1) as u64,
        );
        let bit = between(rng, 0, 7);
        Some(BitFlip {
            record_offset: start as u64,
            byte_offset: byte,
            mask: 1 << bit,
        })
    }

    /// Replace the AOF wholesale: used by checker tests and scenarios.
    pub fn set_aof_for_test(&mut self, bytes: Vec<u8>) {
        self.set_history(bytes);
    }

    /// Replace the AOF wholesale, durably.
    fn set_history(&mut self, bytes: Vec<u8>) {
        self.aof = bytes;
        self.sync();
        self.replayed = RefCell::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bucket_core::aof::record::{encode, Effect, Record};
    use bucket_core::aof::Tail;
    use bucket_core::Term;
    use rand_core::SeedableRng;

    fn faults(tail_loss: f64, zero_fill: f64, undo: f64) -> CrashFaults {
        CrashFaults {
            tail_loss_probability: tail_loss,
            zero_fill_probability: zero_fill,
            truncation_undo_probability: undo,
        }
    }

    /// `count` framed records, and where each starts.
    fn records(count: usize) -> (Vec<u8>, Vec<u64>) {
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for i in 0..count {
            offsets.push(bytes.len() as u64);
            let value = format!("value {i}");
            let effect = Effect::Set {
                key: b"k",
                value: value.as_bytes(),
                expire_at: None,
            };
            encode(
                &Record {
                    term: Term(1),
                    effect,
                },
                &mut bytes,
            );
        }
        (bytes, offsets)
    }

    #[test]
    fn crash_keeps_the_synced_prefix() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for round in 0..100 {
            let mut disk = Disk::default();
            disk.append(0, b"synced").unwrap();
            disk.sync();
            disk.append(6, b"unsynced tail").unwrap();
            let loss = disk.crash(&mut rng, &faults(1.0, 0.0, 0.0));
            assert!(disk.aof().starts_with(b"synced"), "#{round}");
            assert_eq!(loss.unsynced_bytes, 13);
            assert!(loss.lost_bytes >= 1, "#{round}: a loss is drawn");
            assert_eq!(loss.zeroed_bytes, 0);
            assert!(!disk.is_dirty(), "#{round}: what survived is durable");
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

    #[test]
    fn a_lost_tail_may_read_back_as_zeros() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let tail = b"0123456789abcdef";
        for round in 0..100 {
            let mut disk = Disk::default();
            disk.append(0, b"synced").unwrap();
            disk.sync();
            disk.append(6, tail).unwrap();
            let loss = disk.crash(&mut rng, &faults(1.0, 1.0, 0.0));
            assert!(loss.zeroed_bytes >= 1, "#{round}");
            assert!(loss.zeroed_bytes <= loss.lost_bytes, "#{round}");
            let aof = disk.aof();
            let survived = aof.len() - loss.zeroed_bytes - loss.preallocated_bytes;
            assert_eq!(survived, 6 + tail.len() - loss.lost_bytes, "#{round}");
            assert_eq!(&aof[..6], b"synced", "#{round}");
            assert_eq!(&aof[6..survived], &tail[..survived - 6], "#{round}");
            assert!(aof[survived..].iter().all(|&b| b == 0), "#{round}");
        }
    }

    /// With nothing lost, the zeros of preallocated space follow every whole record,
    /// and the decoder reads them as a torn tail of nothing.
    #[test]
    fn preallocated_zeros_follow_everything_written() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (bytes, offsets) = records(3);
        let mut padded = 0;
        for round in 0..100 {
            let mut disk = Disk::default();
            disk.append(0, &bytes).unwrap();
            let loss = disk.crash(&mut rng, &faults(0.0, 1.0, 0.0));
            assert_eq!(loss.lost_bytes, 0);
            assert_eq!(disk.aof().len(), bytes.len() + loss.preallocated_bytes);
            let mut seen = Vec::new();
            let tail = scan_records(disk.aof(), |offset, _| seen.push(offset));
            assert_eq!(seen, offsets, "#{round}");
            let expected = match loss.preallocated_bytes {
                0 => Tail::Clean,
                _ => Tail::Torn {
                    offset: bytes.len() as u64,
                },
            };
            assert_eq!(tail, expected, "#{round}");
            padded += usize::from(loss.preallocated_bytes > 0);
        }
        assert!(padded > 50, "zeros are drawn in most crashes");
    }

    #[test]
    fn a_zero_filled_tail_after_a_torn_record_is_a_torn_tail() {
        // Whatever survives and however many zeros follow, the decoder sees the whole
        // records before the loss, then a torn tail: never corruption.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (bytes, offsets) = records(4);
        for round in 0..200 {
            let mut disk = Disk::default();
            disk.append(0, &bytes[..offsets[1] as usize]).unwrap();
            disk.sync();
            disk.append(offsets[1], &bytes[offsets[1] as usize..])
                .unwrap();
            disk.crash(&mut rng, &faults(1.0, 1.0, 0.0));
            let tail = scan_records(disk.aof(), |_, _| {});
            assert!(
                !matches!(tail, Tail::Corrupt { .. }),
                "#{round}: {tail:?} on {:?}",
                disk.aof()
            );
        }
    }

    #[test]
    fn a_truncation_not_yet_synced_may_be_undone() {
        let mut disk = Disk::default();
        disk.append(0, b"abcdefgh").unwrap();
        disk.sync();
        disk.truncate(5).unwrap();
        disk.append(5, b"12").unwrap();
        disk.truncate(3).unwrap();
        disk.append(3, b"Z").unwrap();
        assert_eq!(disk.aof_synced_len(), 3);
        assert!(disk.is_dirty());
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut undone = disk.clone();
        let loss = undone.crash(&mut rng, &faults(0.0, 0.0, 1.0));
        assert_eq!(undone.aof(), b"abcdefgh", "the image of the last sync");
        assert_eq!(loss.restored_bytes, 5);
        assert_eq!(loss.lost_bytes, 1);
        let mut kept = disk.clone();
        kept.crash(&mut rng, &faults(0.0, 0.0, 0.0));
        assert_eq!(kept.aof(), b"abcZ", "the truncation made it to the disk");
    }

    #[test]
    fn a_synced_truncation_is_never_undone() {
        let mut disk = Disk::default();
        disk.append(0, b"abcdef").unwrap();
        disk.sync();
        disk.truncate(2).unwrap();
        disk.sync();
        disk.append(2, b"XY").unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let loss = disk.crash(&mut rng, &faults(1.0, 0.0, 1.0));
        assert_eq!(loss.restored_bytes, 0);
        assert!(disk.aof().starts_with(b"ab"));
        assert!(disk.aof().len() < 4);
    }

    #[test]
    fn a_slow_background_sync_covers_what_was_written_when_it_began() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut disk = Disk::default();
        disk.append(0, b"ab").unwrap();
        disk.begin_background_sync();
        disk.append(2, b"cd").unwrap();
        assert_eq!(disk.aof_synced_len(), 0, "not durable until it returns");
        let mut crashed_first = disk.clone();
        crashed_first.crash(&mut rng, &faults(1.0, 0.0, 0.0));
        assert!(
            crashed_first.aof().len() < 4,
            "a crash before it returns loses"
        );
        disk.complete_background_sync();
        assert_eq!(disk.aof_synced_len(), 2);
        assert!(disk.is_dirty(), "what came after it is not covered");
        // A sync that returned in the meantime covered more: no step back.
        disk.begin_background_sync();
        disk.append(4, b"e").unwrap();
        disk.sync();
        disk.complete_background_sync();
        assert_eq!(disk.aof_synced_len(), 5);
    }

    #[test]
    fn a_background_sync_covers_the_file_before_a_later_truncation() {
        let mut disk = Disk::default();
        disk.append(0, b"abcd").unwrap();
        disk.begin_background_sync();
        disk.truncate(1).unwrap();
        disk.append(1, b"Z").unwrap();
        disk.complete_background_sync();
        assert_eq!(disk.aof_synced_len(), 1);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        disk.crash(&mut rng, &faults(0.0, 0.0, 1.0));
        assert_eq!(disk.aof(), b"abcd", "durable as the sync began");
    }

    #[test]
    fn a_bit_flips_in_a_whole_record_that_another_follows() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (bytes, offsets) = records(3);
        let mut disk = Disk::default();
        disk.set_aof_for_test(bytes.clone());
        disk.append(bytes.len() as u64, b"torn").unwrap();
        for round in 0..200 {
            let (flip, tail) = disk
                .with_bit_flipped(&mut rng, |_, aof| scan_records(aof, |_, _| {}))
                .expect("two records qualify");
            assert!(offsets[..2].contains(&flip.record_offset), "#{round}");
            let record_end = offsets[offsets
                .iter()
                .position(|&o| o == flip.record_offset)
                .unwrap()
                + 1];
            assert!(flip.byte_offset >= flip.record_offset + RECORD_LEN_FIELD_BYTES as u64);
            assert!(flip.byte_offset < record_end, "#{round}");
            assert_eq!(flip.mask.count_ones(), 1);
            let offset = flip.record_offset;
            assert!(
                matches!(tail, Tail::Corrupt { offset: o, .. } if o == offset),
                "#{round}: {tail:?}"
            );
            assert_eq!(&disk.aof()[..bytes.len()], &bytes[..], "#{round}: restored");
        }
        let mut lone = Disk::default();
        lone.set_aof_for_test(records(1).0);
        assert!(lone.with_bit_flipped(&mut rng, |_, _| ()).is_none());
    }
}
