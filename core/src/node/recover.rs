//! Recovery: rebuild a node from its metadata file and its AOF, through the same replay
//! that replicas use, so a restarted node is exactly the replay of its AOF.

use super::Node;
use crate::aof::base;
use crate::aof::record::{Effect, Record, CORRUPT_CHECKSUM};
use crate::aof::replay::{self, Tail};
use crate::config::Config;
use crate::ids::{Offset, Term};
use crate::meta::{Meta, Reign};

/// What recovery found in the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Where the whole, valid records end, as a logical AOF offset (the base's offset
    /// plus the valid tail bytes). The driver cuts the tail here.
    pub aof_len_valid: u64,
    /// Bytes dropped from a torn tail (zero when the file ended cleanly).
    pub torn_bytes: u64,
    pub records: u64,
    pub term: Term,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoverError {
    Config(String),
    /// Corruption before the tail: the node refuses to start.
    CorruptAof {
        offset: Offset,
        reason: String,
    },
    CorruptMeta {
        reason: String,
    },
    /// The base is damaged at `position` bytes into its file: the node refuses to start.
    CorruptBase {
        position: u64,
        reason: String,
    },
}

impl std::fmt::Display for RecoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoverError::Config(m) => write!(f, "bad configuration: {m}"),
            RecoverError::CorruptAof { offset, reason } => {
                write!(f, "the AOF is corrupt at offset {}: {reason}", offset.0)
            }
            RecoverError::CorruptMeta { reason } => {
                write!(f, "the metadata file is corrupt: {reason}")
            }
            RecoverError::CorruptBase { position, reason } => {
                write!(f, "the AOF base is corrupt at byte {position}: {reason}")
            }
        }
    }
}

impl Node {
    /// Rebuild a node from its metadata file (`None` if there is none yet) and its AOF
    /// (one without a base: the tail from offset zero). `seed` drives every random
    /// choice the node makes (election timeouts, master ids, the keyspace's hash keys).
    pub fn recover(
        config: Config,
        seed: u64,
        meta: Option<&[u8]>,
        aof: &[u8],
    ) -> Result<(Node, Recovery), RecoverError> {
        Node::recover_with_base(config, seed, meta, None, aof)
    }

    /// Rebuild a node from its metadata file, its base (`None` if it has none) and its
    /// tail: the AOF bytes from the base's offset on (all the tail files the manifest
    /// names, in order, end to end).
    pub fn recover_with_base(
        config: Config,
        seed: u64,
        meta: Option<&[u8]>,
        base: Option<&[u8]>,
        tail: &[u8],
    ) -> Result<(Node, Recovery), RecoverError> {
        config.validate().map_err(|e| RecoverError::Config(e.0))?;
        let meta = match meta {
            Some(bytes) => Meta::decode(bytes).map_err(|e| RecoverError::CorruptMeta {
                reason: e.0.to_string(),
            })?,
            None => Meta::default(),
        };
        let keyspace_seed = (
            seed.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15,
            seed.wrapping_mul(31),
        );
        let mut node = Node::new(config, seed, keyspace_seed);
        node.plant_keyspace_bugs();
        if let Some(base) = base {
            node.load_base(base)?;
        }
        let recovery = node.replay_aof(tail)?;
        node.adopt_meta(meta);
        node.reset_election_deadline();
        node.refresh_status();
        node.check_invariants();
        Ok((node, recovery))
    }

    /// Fill the keyspace from a base and take its position: the AOF starts there.
    fn load_base(&mut self, bytes: &[u8]) -> Result<(), RecoverError> {
        let keyspace = &mut self.keyspace;
        let header = base::decode(bytes, &mut |e| e.insert_into(keyspace)).map_err(|e| {
            RecoverError::CorruptBase {
                position: e.position,
                reason: e.reason.to_string(),
            }
        })?;
        self.compaction
            .adopt_base(header.offset, bytes.len() as u64);
        self.aof.end = header.offset;
        self.aof.last_term = header.last_term;
        self.meta.reigns = header.reigns;
        Ok(())
    }

    /// Replay every whole record, rebuilding the keyspace, the AOF position and the
    /// reign chain (each reign starts with its `ReignStart` record).
    fn replay_aof(&mut self, aof: &[u8]) -> Result<Recovery, RecoverError> {
        let start = self.aof.end.0;
        let mut records = 0u64;
        let mut reigns: Vec<Reign> = std::mem::take(&mut self.meta.reigns);
        let mut last_term = self.aof.last_term;
        let mut end = 0u64;
        let keyspace = &mut self.keyspace;
        let tail = replay::scan_records(aof, |offset, record: &Record<'_>| {
            let offset = start + offset;
            replay::apply(keyspace, &record.effect);
            if let Effect::ReignStart { master_id } = record.effect {
                reigns.push(Reign {
                    master_id,
                    term: record.term,
                    start: Offset(offset),
                });
            }
            last_term = record.term;
            records += 1;
            end = offset - start + crate::aof::record::encoded_len(record) as u64;
        });
        let aof_len_valid = match tail {
            Tail::Clean => aof.len() as u64,
            // Planted bug: keep the torn bytes as if they were a whole record.
            Tail::Torn { .. } if self.planted_torn_tail_replayed() => {
                end = aof.len() as u64;
                aof.len() as u64
            }
            Tail::Torn { offset } => offset,
            // Planted bug: cut at a corrupt record as if it were a torn last write.
            Tail::Corrupt { offset, reason }
                if reason == CORRUPT_CHECKSUM && self.planted_checksum_failure_as_torn_tail() =>
            {
                offset
            }
            Tail::Corrupt { offset, reason } => {
                return Err(RecoverError::CorruptAof {
                    offset: Offset(start + offset),
                    reason: reason.to_string(),
                })
            }
        };
        assert_eq!(
            end, aof_len_valid,
            "the valid prefix ends at the last whole record"
        );
        self.aof.end = Offset(start + aof_len_valid);
        // The driver syncs the AOF it recovered before the node's first step.
        self.aof.durable_end = self.aof.end;
        self.aof.last_term = last_term;
        self.meta.reigns = reigns;
        Ok(Recovery {
            aof_len_valid: start + aof_len_valid,
            torn_bytes: aof.len() as u64 - aof_len_valid,
            records,
            term: last_term,
        })
    }

    /// Take term, vote and master ids from the metadata file. The reign chain comes from
    /// the AOF itself, which is authoritative: a lost unsynced tail takes its reigns with
    /// it, and the metadata's copy may be ahead of or behind what survived.
    fn adopt_meta(&mut self, meta: Meta) {
        let aof_term = self.aof.last_term;
        self.meta.term = meta.term.max(aof_term);
        self.meta.voted_for = if meta.term >= aof_term {
            meta.voted_for
        } else {
            None
        };
        let ids_from_chain = self.meta.reigns.iter().rev().map(|r| r.master_id);
        let mut ids = ids_from_chain.chain([meta.current_master_id, meta.last_master_id]);
        self.meta.current_master_id = ids.next().unwrap_or_default();
        self.meta.last_master_id = ids.next().unwrap_or_default();
        self.status.term = self.meta.term;
        self.status.current_master_id = self.meta.current_master_id;
        self.status.last_master_id = self.meta.last_master_id;
    }
}
