//! Point-in-time snapshots of the keyspace, with no fork and no copy of it.
//!
//! A snapshot walks the table's storage order with a cursor, a bounded number of entries
//! per call, while writes go on between calls. It must give the keyspace exactly as it
//! was when the snapshot began (the cut), so every entry is written out once, with its
//! value at the cut:
//! - each entry carries a mark bit; at the cut the keyspace's mark flips, so every
//!   entry is "not yet dealt with", and an entry is dealt with once it is written out;
//! - a key about to change (overwrite, new expiry, delete) that is not yet dealt with
//!   is written out first, with its value at the cut (Dragonfly's fork-less snapshot);
//! - a key born after the cut starts dealt with: it is not part of the snapshot;
//! - a delete moves its segment's last entry into the hole (`swap_remove`): if the hole is
//!   behind the cursor and the moved entry is not yet dealt with, it is written out at
//!   once, since the cursor will never reach it.
//!
//! The cursor skips entries already dealt with, and the snapshot ends when it passes
//! the last entry: then every entry carries the keyspace's mark again.

use super::{expire_at_of, Entry, Keyspace, Pos, START};
use crate::aof::base;

#[derive(Clone, Debug)]
pub(super) struct Snapshot {
    /// Storage positions before this have been visited.
    cursor: Pos,
    /// Entries written out and not yet taken by `snapshot_slice`, encoded for a base.
    pending: Vec<u8>,
    pending_count: u32,
    /// Entries written out in all, taken or not.
    written: u64,
    /// Entries the keyspace held at the cut: each is written out exactly once.
    at_cut: u64,
}

/// Entries of a snapshot, encoded for a base's entries section (`base::encode_entries`).
#[derive(Debug, Default)]
pub struct SnapshotSlice {
    pub count: u32,
    pub entries: Vec<u8>,
    /// The snapshot is complete: this was its last slice.
    pub done: bool,
    /// Entries written out since the snapshot began, this slice's included.
    pub written_total: u64,
}

impl Keyspace {
    /// Cut a snapshot here: what later slices hold is the keyspace as it is now.
    pub fn begin_snapshot(&mut self) {
        assert!(self.snapshot.is_none(), "one snapshot at a time");
        self.mark = !self.mark;
        self.snapshot = Some(Snapshot {
            cursor: START,
            pending: Vec::new(),
            pending_count: 0,
            written: 0,
            at_cut: self.table.len() as u64,
        });
    }

    pub fn snapshot_running(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Move the cursor over at most `budget` entries and take what was written out
    /// since the last call. Stops early once the slice holds about a base section.
    pub fn snapshot_slice(&mut self, budget: usize) -> SnapshotSlice {
        let mark = self.mark;
        let snapshot = self.snapshot.as_mut().expect("a snapshot is running");
        let mut visited = 0;
        let mut at = self.table.next_at_or_after(snapshot.cursor);
        while let Some(pos) = at {
            if visited == budget || snapshot.pending.len() >= base::SECTION_ENTRY_BYTES_TARGET {
                break;
            }
            let entry = self.table.get_mut(pos);
            if entry.mark() != mark {
                write_out(snapshot, &self.collections, entry, mark);
            }
            visited += 1;
            at = self.table.next(pos);
        }
        snapshot.cursor = at.unwrap_or(Pos {
            seg: super::SEGMENTS,
            idx: 0,
        });
        let done = at.is_none();
        let slice = SnapshotSlice {
            count: std::mem::take(&mut snapshot.pending_count),
            entries: std::mem::take(&mut snapshot.pending),
            done,
            written_total: snapshot.written,
        };
        if done {
            // O(1), so release builds check it too: an entry the cursor never reached
            // and no change wrote out would be missing from the base.
            assert_eq!(
                snapshot.written, snapshot.at_cut,
                "a snapshot writes out every entry of its cut once"
            );
            self.snapshot = None;
            debug_assert!(self.table.iter().all(|e| e.mark() == mark));
        }
        slice
    }

    /// Give the snapshot up. Marks every entry dealt with, so the next snapshot starts
    /// from a keyspace whose entries all carry the mark: O(n), once.
    /// Plant `BaseSkipsMovedEntries`: forget entries a delete moves behind the cursor.
    pub fn plant_snapshot_skips_moved_entries(&mut self) {
        self.planted_skips_moved_entries = true;
    }

    pub fn abandon_snapshot(&mut self) {
        if self.snapshot.take().is_some() {
            let mark = self.mark;
            self.table.iter_mut().for_each(|e| e.set_mark(mark));
        }
    }

    /// A stored entry is about to change: note it for `WATCH`, and write it out first if
    /// a snapshot needs its value at the cut.
    pub(super) fn before_change(&mut self, pos: Pos) {
        if self.watch.watched_keys() > 0 {
            self.watch.note(self.table.get(pos).key());
        }
        let mark = self.mark;
        let Some(snapshot) = self.snapshot.as_mut() else {
            return;
        };
        let entry = self.table.get_mut(pos);
        if entry.mark() != mark {
            write_out(snapshot, &self.collections, entry, mark);
        }
    }

    /// An entry moved into `pos` (a delete filled its hole): write it out now if the
    /// cursor has passed `pos` and the entry is not dealt with.
    pub(super) fn after_move(&mut self, pos: Pos) {
        if self.planted_skips_moved_entries {
            return;
        }
        let mark = self.mark;
        let Some(snapshot) = self.snapshot.as_mut() else {
            return;
        };
        if pos >= snapshot.cursor {
            return; // The cursor will still reach it.
        }
        let entry = self.table.get_mut(pos);
        if entry.mark() != mark {
            write_out(snapshot, &self.collections, entry, mark);
        }
    }
}

fn write_out(
    snapshot: &mut Snapshot,
    collections: &slab::Slab<super::Value>,
    entry: &mut Entry,
    mark: bool,
) {
    debug_assert_ne!(entry.mark(), mark, "each entry is written out once");
    let value = super::value_in(collections, entry);
    base::encode_entry(
        entry.key(),
        value,
        expire_at_of(entry),
        &mut snapshot.pending,
    );
    snapshot.pending_count += 1;
    snapshot.written += 1;
    entry.set_mark(mark);
}
