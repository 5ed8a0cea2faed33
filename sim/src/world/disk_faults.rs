//! The disk faults the world plays out around a node (the disk model itself is
//! `crate::disk`, the fsyncs `fsync.rs`): fsyncs that fail (the node stops, as the
//! daemon does), and bit flips that recovery must refuse to start on.

use bucket_core::{Node, RecoverError, Recovery};

use super::faults::RECOVERY;
use super::{Event, World};
use crate::checkers::Violation;
use crate::disk::BitFlip;
use crate::seed::{chance, exponential_ms};

/// Interval between `appendfsync everysec` background syncs, as the daemon's.
pub const EVERYSEC_INTERVAL_MS: u64 = 1_000;

impl World {
    /// `appendfsync always`: the end of a step that wrote or truncated syncs before its
    /// replies leave, as the daemon's end of pass. False if the sync failed and the node
    /// stopped.
    pub(super) fn sync_at_step_end(&mut self, index: usize) -> bool {
        if !self.disks[index].is_dirty() {
            return true; // The daemon fsyncs only when something is unsynced.
        }
        if self.fsync_fails() {
            self.stop_on_failed_fsync(index, "end of pass");
            return false;
        }
        self.disks[index].sync();
        true
    }

    /// One fsync fails: only in the faulty phase.
    pub(super) fn fsync_fails(&mut self) -> bool {
        let p = self.options.fsync_failure_probability;
        self.faults_active && p > 0.0 && chance(&mut self.disk_rng, p)
    }

    /// The daemon exits on a failed fsync rather than pretend it succeeded: the node
    /// crashes here and restarts later. The replies its current step held never leave:
    /// the daemon writes them only after the pass's fsync.
    pub(super) fn stop_on_failed_fsync(&mut self, index: usize, what: &str) {
        self.trace.note(
            self.now_ms,
            format!("node {index}: {what} failed; the process stops"),
        );
        self.crash(index);
        let mean_ms = self.options.restart_delay_ms_mean.max(1);
        let down_ms = exponential_ms(&mut self.disk_rng, mean_ms);
        self.schedule(self.now_ms + down_ms, Event::Restart { node: index });
    }

    /// Rebuild node `index` from its disk, as the daemon does at start. In the faulty
    /// phase a bit of the AOF may have flipped while it was down: recovery must refuse
    /// that, and then the file is restored. `None` once a violation is recorded.
    pub(super) fn recover_node(&mut self, index: usize) -> Option<(Node, Recovery)> {
        let p = self.options.disk_bit_flip_probability;
        let flip = self.faults_active && p > 0.0 && chance(&mut self.disk_rng, p);
        if flip && !self.refuses_a_flipped_bit(index) {
            return None;
        }
        let slot = &self.slots[index];
        let seed = self.seeds.node(index, slot.incarnation);
        let disk = &self.disks[index];
        let base = disk.base().map(|b| &b.bytes[..]);
        match Node::recover_with_base(slot.config.clone(), seed, disk.meta(), base, disk.tail()) {
            Ok(recovered) => Some(recovered),
            Err(e) => {
                let detail = format!("node {index} cannot start: {e}");
                self.fail(Violation::new(RECOVERY, detail));
                None
            }
        }
    }

    /// Flip a bit of a synced record, start the node on it, and check that it refused.
    /// The bit is restored after, as an operator restores the file from a replica.
    fn refuses_a_flipped_bit(&mut self, index: usize) -> bool {
        let slot = &self.slots[index];
        let config = slot.config.clone();
        let seed = self.seeds.node(index, slot.incarnation);
        let base = self.disks[index].base().map(|b| b.bytes.clone());
        let flipped = self.disks[index].with_bit_flipped(&mut self.disk_rng, |meta, tail| {
            Node::recover_with_base(config, seed, meta, base.as_deref().map(|b| &b[..]), tail)
                .map(|(_, recovery)| recovery)
        });
        let Some((flip, result)) = flipped else {
            return true; // Fewer than two whole records: nothing to flip.
        };
        self.trace.note(
            self.now_ms,
            format!(
                "node {index}: a bit flipped while down at byte {} (record at {})",
                flip.byte_offset, flip.record_offset
            ),
        );
        match check_refusal(&flip, &result) {
            Ok(()) => {
                let note = format!(
                    "node {index}: refused to start ({}); the AOF is restored",
                    show(&result)
                );
                self.trace.note(self.now_ms, note);
                true
            }
            Err(detail) => {
                self.fail(Violation::new(RECOVERY, format!("node {index} {detail}")));
                false
            }
        }
    }
}

/// Recovery of an AOF with `flip` must fail with `CorruptAof` at an offset within the
/// flipped record, no later than the flipped byte: never replay it, never cut there.
pub fn check_refusal(
    flip: &BitFlip,
    result: &Result<Recovery, RecoverError>,
) -> Result<(), String> {
    let at = format!(
        "a bit flipped at byte {} of the record at {}",
        flip.byte_offset, flip.record_offset
    );
    match result {
        Err(RecoverError::CorruptAof { offset, .. })
            if (flip.record_offset..=flip.byte_offset).contains(&offset.0) =>
        {
            Ok(())
        }
        Err(RecoverError::CorruptAof { offset, reason }) => Err(format!(
            "refused to start on {at}, but named offset {} ({reason})",
            offset.0
        )),
        Err(other) => Err(format!(
            "refused to start on {at} for another reason: {other}"
        )),
        Ok(recovery) => Err(format!(
            "started on {at} instead of refusing: {} records kept, {} bytes cut as a torn tail",
            recovery.records, recovery.torn_bytes
        )),
    }
}

fn show(result: &Result<Recovery, RecoverError>) -> String {
    match result {
        Ok(_) => "started".to_string(),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bucket_core::{Offset, Term};

    const FLIP: BitFlip = BitFlip {
        record_offset: 100,
        byte_offset: 110,
        mask: 4,
    };

    fn corrupt_at(offset: u64) -> Result<Recovery, RecoverError> {
        Err(RecoverError::CorruptAof {
            offset: Offset(offset),
            reason: "record checksum mismatch".to_string(),
        })
    }

    #[test]
    fn a_refusal_must_name_an_offset_within_the_flipped_record() {
        let cases = [(100, true), (110, true), (99, false), (111, false)];
        for (i, (offset, ok)) in cases.into_iter().enumerate() {
            let result = check_refusal(&FLIP, &corrupt_at(offset));
            assert_eq!(result.is_ok(), ok, "#{i}: offset {offset}: {result:?}");
        }
    }

    #[test]
    fn starting_on_a_flipped_bit_is_a_violation() {
        let started = Ok(Recovery {
            aof_len_valid: 100,
            torn_bytes: 60,
            records: 3,
            term: Term(1),
        });
        let detail = check_refusal(&FLIP, &started).unwrap_err();
        assert!(detail.contains("instead of refusing"), "{detail}");
        let meta = Err(RecoverError::CorruptMeta {
            reason: "bad".to_string(),
        });
        assert!(check_refusal(&FLIP, &meta).is_err());
    }
}
