//! AOF compaction: a base (the keyspace as of offset X) plus the tail after X.
//!
//! The node writes a base without fork and without a second copy of the keyspace: the
//! keyspace's snapshot cursor walks it in bounded slices, one per step, and a key that
//! changes ahead of the cursor is written out first, with its value as of X (a
//! point-in-time cut, as Dragonfly's fork-less snapshot; see `keyspace::snapshot`).
//! The slices are outputs: `BeginBase` (the driver starts a new tail file at X),
//! `WriteBase` per slice, and `FinishBase` (the driver syncs the base and swaps the
//! manifest). Offsets never change, so nothing else notices a rewrite.
//!
//! When: on `BGREWRITEAOF`, on Redis's automatic trigger (`auto-aof-rewrite-*`), and
//! when a full resync wants a base no larger than twice the tail (`wants_fresh_base`).
//! In majority mode the base is installed only once its cut is committed.
//! Never while a replica is fed from the files (its stream would lose the old tail
//! files the swap deletes), and never while this node rebuilds or receives a base.

use super::replication::Feed;
use crate::aof::base::{self, BaseHeader};
use crate::ids::Offset;
use crate::node::{log, Node};
use crate::output::{BaseKind, LogLevel, Output};
use crate::status::AofStatus;
use crate::time::Instant;

/// A rewrite under way.
#[derive(Debug)]
pub(crate) struct Rewrite {
    /// The cut: the base is the keyspace as of this AOF offset.
    pub offset: Offset,
    pub started_at: Instant,
    /// Bytes handed to the driver so far.
    pub bytes: u64,
    /// Every slice is written; `FinishBase` waits for file feeds below `offset`.
    pub complete: bool,
}

/// What the node knows of its AOF's files.
#[derive(Debug)]
pub(crate) struct Compaction {
    /// Where the tail starts: the offset of the base, zero without one.
    pub base_offset: Offset,
    /// The base file's length in bytes (zero without one).
    pub base_bytes: u64,
    /// The size the automatic trigger measures growth against: base plus tail after
    /// the last rewrite, or at recovery (Redis's `aof_rewrite_base_size`).
    pub growth_reference: u64,
    pub rewrite: Option<Rewrite>,
    /// A base arriving from the master in a full resync.
    pub receiving: Option<super::replication::BaseReceive>,
    pub info: AofStatus,
}

impl Compaction {
    pub fn new(auto: crate::config::AofRewrite) -> Compaction {
        Compaction {
            base_offset: Offset(0),
            base_bytes: 0,
            growth_reference: 0,
            rewrite: None,
            receiving: None,
            info: AofStatus::new(auto),
        }
    }

    /// Recovery found a base of `bytes` bytes at `offset`.
    pub fn adopt_base(&mut self, offset: Offset, bytes: u64) {
        self.base_offset = offset;
        self.base_bytes = bytes;
    }

    /// Base plus tail, in bytes, with the AOF ending at `end`.
    pub fn current_size(&self, end: Offset) -> u64 {
        assert!(end >= self.base_offset, "the tail starts at the base");
        self.base_bytes + (end.0 - self.base_offset.0)
    }

    /// Redis's trigger: at least the minimum size, and grown by the percentage.
    fn auto_due(&self, end: Offset) -> bool {
        let auto = self.info.auto;
        let current = self.current_size(end);
        if auto.percentage == 0 || current < auto.min_size_bytes {
            return false;
        }
        let reference = self.growth_reference.max(1);
        let growth_percent = (current.saturating_mul(100) / reference).saturating_sub(100);
        growth_percent >= auto.percentage
    }
}

impl Node {
    /// End of every step: start a rewrite that is due, and write the next slice of a
    /// running one.
    pub(crate) fn advance_compaction(&mut self, out: &mut Vec<Output>) {
        if self.compaction.rewrite.is_none() {
            self.maybe_start_rewrite(out);
        }
        if self.compaction.rewrite.is_some() {
            self.write_rewrite_slice(out);
        }
        self.refresh_aof_status();
    }

    fn maybe_start_rewrite(&mut self, out: &mut Vec<Output>) {
        let end = self.aof.end;
        // Cheap test first: this runs at the end of every step.
        if !self.compaction.info.rewrite_scheduled && !self.compaction.auto_due(end) {
            return;
        }
        let blocked = self.rebuild.is_some()
            || self.is_receiving_base()
            || self.feeding_from_files()
            || end == self.compaction.base_offset;
        if blocked {
            return;
        }
        self.compaction.info.rewrite_scheduled = false;
        let header = BaseHeader {
            offset: end,
            last_term: self.aof.last_term,
            reigns: self.meta.reigns.clone(),
        };
        let mut bytes = Vec::new();
        base::encode_start(&header, &mut bytes);
        out.push(Output::BeginBase {
            offset: end,
            kind: BaseKind::Rewrite,
        });
        self.keyspace.begin_snapshot();
        self.compaction.rewrite = Some(Rewrite {
            offset: end,
            started_at: self.now.instant,
            bytes: bytes.len() as u64,
            complete: false,
        });
        out.push(Output::WriteBase { bytes });
        let message = format!(
            "AOF rewrite started at offset {} ({} keys, {} bytes of AOF)",
            end.0,
            self.keyspace.len(),
            self.compaction.current_size(end)
        );
        log(out, LogLevel::Info, message);
    }

    fn write_rewrite_slice(&mut self, out: &mut Vec<Output>) {
        let complete = self.compaction.rewrite.as_ref().is_some_and(|r| r.complete);
        if !complete {
            if !self.keyspace.snapshot_running() {
                // The keyspace was cleared under the snapshot (FLUSHALL): its cut is
                // gone. Start again from the keyspace as it is now.
                self.give_up_rewrite("the keyspace was flushed", out);
                self.compaction.info.rewrite_scheduled = true;
                return;
            }
            let bytes = self.next_base_slice();
            if bytes.is_empty() {
                // Nothing written out this step.
            } else if self.rewrite_is_complete() && self.planted_base_installed_before_whole() {
                // The last slice never reaches the file.
                self.install_rewrite(out);
                return;
            } else {
                out.push(Output::WriteBase { bytes });
            }
        }
        let rewrite = self.compaction.rewrite.as_ref().expect("a rewrite runs");
        // A replica streamed from the old tail files would lose them in the swap.
        let (complete, offset) = (rewrite.complete, rewrite.offset);
        if complete && !self.feeding_from_files_below(offset) && self.is_committed(offset) {
            self.install_rewrite(out);
        }
    }

    /// In majority mode a base is installed only once its cut is committed, so that it
    /// never holds a record a new master could cut (a base cannot be cut: the node
    /// would have to drop it whole and, with it, records it acked durable). In async
    /// mode a cut inside the base drops it, and a full resync follows.
    fn is_committed(&self, offset: Offset) -> bool {
        self.config.write_quorum != crate::config::WriteQuorum::Majority
            || self.status.commit >= offset
    }

    /// The snapshot's next slice, encoded as base sections (the end section too, once
    /// the snapshot is done), with the rewrite's accounts updated.
    fn next_base_slice(&mut self) -> Vec<u8> {
        // Bounded work per step (`Limits::rewrite_keys_per_step`).
        let budget = self.config.limits.rewrite_keys_per_step.max(1);
        let slice = self.keyspace.snapshot_slice(budget);
        let mut bytes = Vec::new();
        if slice.count > 0 {
            base::encode_entries(slice.count, &slice.entries, &mut bytes);
        }
        let rewrite = self.compaction.rewrite.as_mut().expect("a rewrite runs");
        if slice.done {
            base::encode_end(slice.written_total, &mut bytes);
            rewrite.complete = true;
        }
        rewrite.bytes += bytes.len() as u64;
        bytes
    }

    fn rewrite_is_complete(&self) -> bool {
        self.compaction.rewrite.as_ref().is_some_and(|r| r.complete)
    }

    fn install_rewrite(&mut self, out: &mut Vec<Output>) {
        let rewrite = self.compaction.rewrite.take().expect("a rewrite runs");
        out.push(Output::FinishBase);
        let compaction = &mut self.compaction;
        compaction.adopt_base(rewrite.offset, rewrite.bytes);
        compaction.growth_reference = compaction.current_size(self.aof.end);
        compaction.info.rewrites += 1;
        let took_ms = self.now.instant.since(rewrite.started_at);
        compaction.info.last_rewrite_time_sec = (took_ms / 1000) as i64;
        let message = format!(
            "AOF rewrite done: base of {} bytes at offset {} in {} ms",
            rewrite.bytes, rewrite.offset.0, took_ms
        );
        log(out, LogLevel::Info, message);
    }

    /// Drop a running rewrite: its temporary base goes, the files stay as they were.
    pub(crate) fn give_up_rewrite(&mut self, why: &str, out: &mut Vec<Output>) {
        if self.compaction.rewrite.take().is_none() {
            return;
        }
        self.keyspace.abandon_snapshot();
        out.push(Output::AbandonBase);
        log(out, LogLevel::Warn, format!("AOF rewrite given up: {why}"));
    }

    /// A full resync would send the base and the tail: ask for a fresh base when the
    /// tail is over `stale_tail_bytes` and more than a quarter of the base (so a resync
    /// costs at most 1.25 times the data and what is logged meanwhile, or that many
    /// bytes more), or when a rewrite is already under way. Returns whether the resync must wait. The floor keeps a small,
    /// busy keyspace from rewriting at every retry of a waiting replica.
    pub(crate) fn wants_fresh_base(&mut self, stale_tail_bytes: u64) -> bool {
        let tail = self.aof.end.0 - self.compaction.base_offset.0;
        let stale = self.compaction.base_bytes == 0
            || tail > (self.compaction.base_bytes / 4).max(stale_tail_bytes);
        if self.compaction.rewrite.is_some() || stale {
            self.compaction.info.rewrite_scheduled |= self.compaction.rewrite.is_none();
            return true;
        }
        false
    }

    /// The AOF was cut to zero: no base any more.
    pub(crate) fn forget_base(&mut self) {
        self.compaction.adopt_base(Offset(0), 0);
    }

    fn refresh_aof_status(&mut self) {
        let end = self.aof.end;
        let now = self.now.instant;
        let compaction = &mut self.compaction;
        let current_size = compaction.current_size(end);
        let info = &mut compaction.info;
        info.base_size = compaction.base_bytes;
        info.current_size = current_size;
        info.rewrite_in_progress = compaction.rewrite.is_some();
        info.current_rewrite_time_sec = compaction
            .rewrite
            .as_ref()
            .map_or(-1, |r| (now.since(r.started_at) / 1000) as i64);
    }

    /// Whether a rewrite wants the next step at once: its slices run back to back.
    pub(crate) fn rewrite_has_slices(&self) -> bool {
        self.compaction
            .rewrite
            .as_ref()
            .is_some_and(|r| !r.complete)
    }
}

impl Node {
    /// A base from the master is being loaded: the keyspace is only part of it.
    pub fn is_receiving_base(&self) -> bool {
        self.compaction.receiving.is_some()
    }

    /// A base is being loaded (from the master, or this node's own in a rebuild): the
    /// keyspace holds part of it, the replay of no AOF prefix.
    pub fn is_loading_base(&self) -> bool {
        self.is_receiving_base() || self.rebuild.as_ref().is_some_and(|r| r.base.is_some())
    }

    /// Some replica is fed from the files (a base, or a range of the tail).
    fn feeding_from_files(&self) -> bool {
        self.progress
            .values()
            .any(|p| matches!(p.feed, Feed::FromFile { .. } | Feed::FromBase { .. }))
    }

    /// Some replica is fed from tail bytes before `offset`, which a swap would delete.
    fn feeding_from_files_below(&self, offset: Offset) -> bool {
        self.progress.values().any(|p| match p.feed {
            Feed::FromFile { next, .. } => next < offset,
            Feed::FromBase { .. } => true,
            Feed::Live { .. } => false,
        })
    }
}
