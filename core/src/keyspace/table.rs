//! The keyspace's table: entries in segments, each a dense array with a Swiss-table
//! index of `u32` positions into it.
//!
//! - **Memory.** A key costs its entry's pointer in the dense array (16 bytes) and its
//!   index slot (4 bytes and a control byte, at hashbrown's load of 7/16 to 7/8).
//! - **No stall on growth.** A key's segment is fixed by its hash, and each segment
//!   grows on its own, so a growth copies one segment (1/256 of the keys), never the
//!   whole table.
//! - **Storage order.** Positions (`Pos`) order entries segment by segment, then by
//!   index. Inserts append to their segment; a delete moves the segment's last entry
//!   into the hole (`swap_remove`). SCAN, the expiry sweep and snapshots walk this
//!   order, and their guarantees rest on those two rules alone.
//! - **HashDoS.** Keys are hashed with the keyspace's seeded SipHash.

use super::entry::Entry;
use super::SeededSipHash;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// A power of two: the segment is picked by 8 bits of the hash.
pub(super) const SEGMENTS: usize = 256;

/// The segment bits sit above those hashbrown reads for a bucket (the low bits) and
/// below those of its control tags (the top 7), so neither loses any spread.
const SEGMENT_SHIFT: u32 = 48;

/// Where an entry is in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub seg: usize,
    pub idx: usize,
}

#[derive(Clone, Default)]
struct Segment {
    entries: Vec<Entry>,
    index: HashTable<u32>,
}

#[derive(Clone)]
pub(super) struct Table {
    segments: Box<[Segment]>,
    len: usize,
    hasher: SeededSipHash,
}

impl Table {
    pub(super) fn new(hasher: SeededSipHash) -> Table {
        Table {
            segments: vec![Segment::default(); SEGMENTS].into_boxed_slice(),
            len: 0,
            hasher,
        }
    }

    pub(super) fn hasher(&self) -> SeededSipHash {
        self.hasher
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn segment_of(hash: u64) -> usize {
        (hash >> SEGMENT_SHIFT) as usize & (SEGMENTS - 1)
    }

    pub(super) fn find(&self, key: &[u8]) -> Option<Pos> {
        let hash = self.hash(key);
        let seg = Self::segment_of(hash);
        let segment = &self.segments[seg];
        let found = segment
            .index
            .find(hash, |&idx| segment.entries[idx as usize].key() == key)?;
        Some(Pos {
            seg,
            idx: *found as usize,
        })
    }

    pub(super) fn get(&self, pos: Pos) -> &Entry {
        &self.segments[pos.seg].entries[pos.idx]
    }

    pub(super) fn get_mut(&mut self, pos: Pos) -> &mut Entry {
        &mut self.segments[pos.seg].entries[pos.idx]
    }

    /// Append an entry whose key is not stored; returns where it went.
    pub(super) fn insert_new(&mut self, entry: Entry) -> Pos {
        debug_assert!(self.find(entry.key()).is_none(), "the key is new");
        let hash = self.hash(entry.key());
        let seg = Self::segment_of(hash);
        let hasher = self.hasher;
        let segment = &mut self.segments[seg];
        let idx = segment.entries.len();
        let idx_u32 = u32::try_from(idx).expect("a segment holds under 2^32 entries");
        let entries = &segment.entries;
        segment.index.insert_unique(hash, idx_u32, |&i| {
            hasher.hash_one(entries[i as usize].key())
        });
        segment.entries.push(entry);
        self.len += 1;
        Pos { seg, idx }
    }

    /// Remove the entry at `pos`; the segment's last entry moves into its place.
    /// Returns the removed entry and whether an entry moved to `pos`.
    pub(super) fn swap_remove(&mut self, pos: Pos) -> (Entry, bool) {
        let segment = &mut self.segments[pos.seg];
        let last = segment.entries.len() - 1;
        let hash = self.hasher.hash_one(segment.entries[pos.idx].key());
        let removed = segment
            .index
            .find_entry(hash, |&i| i as usize == pos.idx)
            .expect("every entry is indexed");
        removed.remove();
        let entry = segment.entries.swap_remove(pos.idx);
        let moved = pos.idx < last;
        if moved {
            let moved_hash = self.hasher.hash_one(segment.entries[pos.idx].key());
            let slot = segment
                .index
                .find_mut(moved_hash, |&i| i as usize == last)
                .expect("every entry is indexed");
            *slot = pos.idx as u32;
        }
        self.len -= 1;
        debug_assert_eq!(segment.index.len(), segment.entries.len());
        (entry, moved)
    }

    pub(super) fn clear(&mut self) {
        *self = Table::new(self.hasher);
    }

    /// How many entries segment `seg` holds.
    pub(super) fn segment_len(&self, seg: usize) -> usize {
        self.segments[seg].entries.len()
    }

    /// The first position at or after `pos` that holds an entry, in storage order.
    pub(super) fn next_at_or_after(&self, mut pos: Pos) -> Option<Pos> {
        while pos.seg < SEGMENTS {
            if pos.idx < self.segments[pos.seg].entries.len() {
                return Some(pos);
            }
            pos = Pos {
                seg: pos.seg + 1,
                idx: 0,
            };
        }
        None
    }

    /// The position after `pos` in storage order, or `None` at the end.
    pub(super) fn next(&self, pos: Pos) -> Option<Pos> {
        self.next_at_or_after(Pos {
            seg: pos.seg,
            idx: pos.idx + 1,
        })
    }

    /// The entry at index `n` of storage order (`n < len`).
    pub(super) fn nth(&self, mut n: usize) -> &Entry {
        assert!(n < self.len);
        for segment in self.segments.iter() {
            match segment.entries.get(n) {
                Some(entry) => return entry,
                None => n -= segment.entries.len(),
            }
        }
        unreachable!("n < len")
    }

    /// An entry picked by `draw`, near uniformly. In a large table, in O(1): a
    /// segment from the draw's low byte, an entry of it from the rest (keys spread
    /// evenly over the segments). A small table has empty segments, which would favour
    /// the keys just after them: there it is the entry at `draw % len`.
    pub(super) fn sample(&self, draw: u64) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        if self.len < SEGMENTS * 8 {
            return Some(self.nth((draw % self.len as u64) as usize));
        }
        let first = (draw as usize) % SEGMENTS;
        let seg = (0..SEGMENTS)
            .map(|i| (first + i) % SEGMENTS)
            .find(|&seg| !self.segments[seg].entries.is_empty())
            .expect("a table with entries has a non-empty segment");
        let entries = &self.segments[seg].entries;
        Some(&entries[((draw >> 8) as usize) % entries.len()])
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.segments.iter().flat_map(|s| s.entries.iter())
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.segments.iter_mut().flat_map(|s| s.entries.iter_mut())
    }

    /// The bytes the table itself holds (not the entries' blocks).
    pub(super) fn overhead_bytes(&self) -> usize {
        let per_segment = |s: &Segment| {
            s.entries.capacity() * std::mem::size_of::<Entry>()
                + s.index.capacity() * (std::mem::size_of::<u32>() + 1)
        };
        self.segments.iter().map(per_segment).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::Payload;
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn entry(key: &[u8]) -> Entry {
        Entry::new(key, Payload::Str(b"v"), 0, (false, 0))
    }

    proptest! {
        /// The table finds exactly the keys a model holds, through inserts and deletes,
        /// and keeps its length and its walk in step.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec((any::<bool>(), 0u16..400), 0..600)) {
            let mut table = Table::new(SeededSipHash { k0: 1, k1: 2 });
            let mut model = BTreeMap::new();
            for (insert, n) in ops {
                let key = n.to_string().into_bytes();
                match (insert, table.find(&key)) {
                    (true, None) => {
                        let pos = table.insert_new(entry(&key));
                        prop_assert_eq!(table.get(pos).key(), &key[..]);
                        model.insert(key, ());
                    }
                    (false, Some(pos)) => {
                        let (removed, _) = table.swap_remove(pos);
                        prop_assert_eq!(removed.key(), &key[..]);
                        model.remove(&key);
                    }
                    (_, found) => prop_assert_eq!(found.is_some(), model.contains_key(&key)),
                }
            }
            prop_assert_eq!(table.len(), model.len());
            let mut walked = Vec::new();
            let mut pos = table.next_at_or_after(Pos { seg: 0, idx: 0 });
            while let Some(p) = pos {
                walked.push(table.get(p).key().to_vec());
                pos = table.next(p);
            }
            walked.sort();
            prop_assert_eq!(walked, model.keys().cloned().collect::<Vec<_>>());
            for key in model.keys() {
                prop_assert!(table.find(key).is_some());
            }
        }
    }

    #[test]
    fn keys_spread_over_the_segments() {
        let mut table = Table::new(SeededSipHash { k0: 7, k1: 9 });
        for n in 0..(SEGMENTS * 64) {
            table.insert_new(entry(n.to_string().as_bytes()));
        }
        let fullest = (0..SEGMENTS).map(|s| table.segment_len(s)).max().unwrap();
        assert!(
            fullest < 64 * 2,
            "no segment takes twice its share: {fullest}"
        );
    }
}
