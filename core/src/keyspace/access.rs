//! What eviction and `MEMORY USAGE` read of the keyspace: each key's access stamp, a
//! random sample of keys, and an estimate of what a key costs.

use super::{expire_at_of, Keyspace, ValueRef};
use crate::aof::elems::ElemsBuf;
use crate::keyspace::set::Encoding;

/// The table's own bytes per key at its usual load (`the_table_costs_about_30_bytes_a_key`).
const TABLE_BYTES_PER_KEY: usize = 30;
/// The allocator's size classes are 16 bytes apart for small blocks.
const ALLOCATION_GRAIN: usize = 16;
/// What an element of a full (not packed) collection costs beyond its bytes: its node
/// or slot in a hash table, a skip list or a B-tree.
const FULL_ELEMENT_OVERHEAD: usize = 32;
/// What an element of a packed collection costs beyond its bytes: its length headers.
const PACKED_ELEMENT_OVERHEAD: usize = 2;

/// A key picked at random for eviction.
#[derive(Debug)]
pub struct Sampled<'a> {
    pub key: &'a [u8],
    pub stamp: u32,
    pub expire_at_ms: Option<u64>,
}

impl Keyspace {
    /// The stamp keys created from now on get (the policy's LRU clock or LFU start).
    pub fn set_new_key_stamp(&mut self, stamp: u32) {
        self.new_key_stamp = stamp;
    }

    /// Give `key`, if stored, the stamp `stamp` makes of its old one. Nothing else
    /// changes: a stamp is never part of the content (digests, bases, records).
    pub fn touch(&mut self, key: &[u8], stamp: impl FnOnce(u32) -> u32) {
        if let Some(pos) = self.table.find(key) {
            let entry = self.table.get_mut(pos);
            let stamped = stamp(entry.access());
            entry.set_access(stamped);
        }
    }

    /// The access stamp of `key`, if stored.
    pub fn stamp_of(&self, key: &[u8]) -> Option<u32> {
        let pos = self.table.find(key)?;
        Some(self.table.get(pos).access())
    }

    /// A stored key (expired or not) picked by `draw`, near uniformly.
    pub fn sample(&self, draw: u64) -> Option<Sampled<'_>> {
        let entry = self.table.sample(draw)?;
        Some(Sampled {
            key: entry.key(),
            stamp: entry.access(),
            expire_at_ms: expire_at_of(entry).map(|at| at.0),
        })
    }

    /// About how many bytes `key` (stored, expired or not) costs: its block, its slot
    /// in the table, and its collection. An estimate, as Redis's `MEMORY USAGE` is.
    pub fn memory_usage(&self, key: &[u8]) -> Option<u64> {
        let entry = self.table.get(self.table.find(key)?);
        let block = entry.block_len().next_multiple_of(ALLOCATION_GRAIN);
        let collection = match self.value_of(entry) {
            ValueRef::Str(_) => 0,
            value => collection_bytes(value),
        };
        Some((block + TABLE_BYTES_PER_KEY + collection) as u64)
    }
}

/// A collection's bytes: its elements, with a packed or full structure's overhead.
fn collection_bytes(value: ValueRef<'_>) -> usize {
    let packed = match value {
        ValueRef::Str(_) => unreachable!("strings live in their entries"),
        ValueRef::Hash(h) => h.is_packed(),
        ValueRef::List(l) => l.is_packed(),
        ValueRef::Set(s) => s.encoding() != Encoding::Hashtable,
        ValueRef::ZSet(z) => z.is_packed(),
    };
    let mut elems = ElemsBuf::new();
    value.to_elems(&mut elems);
    let per_element = match packed {
        true => PACKED_ELEMENT_OVERHEAD,
        false => FULL_ELEMENT_OVERHEAD,
    };
    std::mem::size_of::<super::Value>() + elems.encoded_len() + elems.len() * per_element
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn keyspace() -> Keyspace {
        Keyspace::new((1, 2))
    }

    #[test]
    fn a_new_key_gets_the_stamp_and_touch_changes_only_the_stamp() {
        let mut ks = keyspace();
        ks.set_new_key_stamp(7);
        ks.set(b"k", b"v", None);
        assert_eq!(ks.stamp_of(b"k"), Some(7));
        let digest = ks.digest();
        ks.touch(b"k", |old| old + 1);
        assert_eq!(ks.stamp_of(b"k"), Some(8));
        assert_eq!(ks.digest(), digest, "a stamp is not content");
        ks.set(b"k", b"other", None);
        assert_eq!(ks.stamp_of(b"k"), Some(8), "an overwrite keeps the stamp");
        ks.touch(b"absent", |_| unreachable!("no key, no stamp"));
    }

    #[test]
    fn samples_reach_every_key() {
        let mut ks = keyspace();
        assert!(ks.sample(1).is_none());
        for i in 0..50u32 {
            ks.set(format!("key{i}").as_bytes(), b"v", None);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut draw = 0x1234_5678u64;
        for _ in 0..5000 {
            draw = draw
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seen.insert(ks.sample(draw >> 16).unwrap().key.to_vec());
        }
        assert_eq!(seen.len(), 50);
    }

    #[test]
    fn memory_usage_grows_with_the_value() {
        let mut ks = keyspace();
        ks.set(b"small", b"v", None);
        ks.set(b"large", &[b'v'; 1000], None);
        let small = ks.memory_usage(b"small").unwrap();
        let large = ks.memory_usage(b"large").unwrap();
        assert!((40..100).contains(&small), "{small}");
        assert!((1001..1100).contains(&large), "{large}");
        let mut list = ElemsBuf::new();
        (0..1000).for_each(|_| list.push(b"element"));
        let value = Value::from_elems(super::super::ValueType::List, list.as_elems(), ks.hasher());
        ks.insert(b"list", value.unwrap(), None);
        assert!(ks.memory_usage(b"list").unwrap() > 7000);
        assert_eq!(ks.memory_usage(b"absent"), None);
    }
}
