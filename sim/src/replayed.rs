//! An AOF replayed as it grows: the keyspace its whole records build, and, for every
//! reign-start record, a checksum of the AOF up to that record's end. The state and
//! log-matching checkers compare these, so a check costs the bytes appended since the
//! last one rather than a replay of every file from the start.

use std::collections::BTreeMap;

use bucket_core::aof::record::encoded_len;
use bucket_core::aof::{apply, scan_records, Effect, Tail};
use bucket_core::keyspace::Keyspace;

#[derive(Clone, Debug)]
pub struct ReplayedAof {
    keyspace: Keyspace,
    /// Whole records replayed so far: the AOF's bytes `[0, end)`.
    end: usize,
    /// CRC32 of `[0, end)`.
    hasher: crc32fast::Hasher,
    /// The term of the last whole record (zero for none).
    last_term: u64,
    /// (offset, master id) of each reign start -> CRC32 of the AOF up to its end.
    reigns: BTreeMap<(u64, u64), u32>,
}

impl Default for ReplayedAof {
    fn default() -> ReplayedAof {
        ReplayedAof {
            // The digest does not depend on the hash keys.
            keyspace: Keyspace::new((1, 2)),
            end: 0,
            hasher: crc32fast::Hasher::new(),
            last_term: 0,
            reigns: BTreeMap::new(),
        }
    }
}

impl ReplayedAof {
    /// Replay `aof` from scratch.
    pub fn of(aof: &[u8]) -> Result<ReplayedAof, String> {
        let mut replayed = ReplayedAof::default();
        replayed.catch_up(aof)?;
        Ok(replayed)
    }

    pub fn end(&self) -> usize {
        self.end
    }

    pub fn last_term(&self) -> u64 {
        self.last_term
    }

    pub fn digest(&self) -> u64 {
        self.keyspace.digest()
    }

    pub fn reigns(&self) -> &BTreeMap<(u64, u64), u32> {
        &self.reigns
    }

    /// Replay the whole records of `aof` past what was replayed before. `aof` must
    /// still begin with the bytes replayed so far (the owner resets on a cut).
    pub fn catch_up(&mut self, aof: &[u8]) -> Result<(), String> {
        assert!(self.end <= aof.len(), "the AOF was cut without a reset");
        let base = self.end;
        let new = &aof[base..];
        let mut replayed_len = 0usize;
        let (keyspace, hasher, reigns) = (&mut self.keyspace, &mut self.hasher, &mut self.reigns);
        let last_term = &mut self.last_term;
        let tail = scan_records(new, |offset, record| {
            let len = encoded_len(record);
            let start = offset as usize;
            hasher.update(&new[start..start + len]);
            apply(keyspace, &record.effect);
            *last_term = record.term.0;
            if let Effect::ReignStart { master_id } = record.effect {
                reigns.insert(
                    ((base + start) as u64, master_id.0),
                    hasher.clone().finalize(),
                );
            }
            replayed_len = start + len;
        });
        self.end = base + replayed_len;
        match tail {
            Tail::Corrupt { offset, reason } => {
                Err(format!("corrupt at {}: {reason}", base as u64 + offset))
            }
            Tail::Clean | Tail::Torn { .. } => Ok(()),
        }
    }
}
