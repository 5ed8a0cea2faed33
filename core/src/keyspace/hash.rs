//! Hashes: fields and their values, in insertion order.
//!
//! A small hash is packed, as Redis's listpack: one buffer of `[field][value]` pairs,
//! each a varint length and its bytes, searched by a walk. Up to
//! `PACKED_ENTRIES_MAX` fields of at most `PACKED_VALUE_BYTES_MAX` bytes (Redis's
//! `hash-max-listpack-entries` and `hash-max-listpack-value` defaults), that costs a
//! byte or two per field and value, where a table costs two allocations and a slot;
//! the hash needs no allocation of its own, as it sits inline in the key's value.
//! Past either bound the hash becomes a table for good. A removal from a table moves
//! the last field into the hole; from a packed hash it closes the gap. Either way the
//! order is the same on every node that applied the same records.

use indexmap::IndexMap;

use super::packed::{encoded, pair_end, pairs, put, take};
use super::set::scan_window;
use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{Elems, ElemsBuf};
use crate::bytes::FieldError;

/// Redis's `hash-max-listpack-entries`.
pub const PACKED_ENTRIES_MAX: usize = 128;
/// Redis's `hash-max-listpack-value`: the longest field or value a packed hash holds.
pub const PACKED_VALUE_BYTES_MAX: usize = 64;

/// A hash's table form: field to value, in insertion order.
type Table = IndexMap<Box<[u8]>, Box<[u8]>, SeededSipHash>;

/// Held inline in a key's [`super::Value`], with no box of its own: a small hash costs
/// its packed bytes and nothing more.
#[derive(Clone, Debug)]
pub enum Hash {
    /// Exactly the bytes of its pairs: a packed hash is about bytes.
    Packed(Box<[u8]>),
    /// Boxed, so that a packed hash does not pay for a table's size.
    Table(Box<Table>),
}

const _: () = assert!(std::mem::size_of::<Hash>() == 16);

impl Default for Hash {
    /// Empty and packed.
    fn default() -> Hash {
        Hash::Packed(Box::default())
    }
}

impl PartialEq for Hash {
    /// Equal content, whatever the order and the encoding.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Packed(bytes) => pairs(bytes).count(),
            Hash::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Hash::Packed(bytes) => bytes.is_empty(),
            Hash::Table(table) => table.is_empty(),
        }
    }

    /// Whether the hash is packed (`OBJECT ENCODING` says `listpack`).
    pub fn is_packed(&self) -> bool {
        matches!(self, Hash::Packed(_))
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Packed(bytes) => pairs(bytes).find(|p| p.1 == field).map(|p| p.2),
            Hash::Table(table) => table.get(field).map(|v| &**v),
        }
    }

    /// Set a field; true if it is new. `hasher` keys the table a packed hash becomes.
    pub fn insert(&mut self, field: &[u8], value: &[u8], hasher: SeededSipHash) -> bool {
        let fits = field.len().max(value.len()) <= PACKED_VALUE_BYTES_MAX;
        if let Hash::Packed(packed) = self {
            // One walk finds the field and counts the pairs.
            let (mut found, mut count) = (None, 0);
            for (start, f, _) in pairs(packed) {
                count += 1;
                if f == field {
                    found = Some(start);
                    break;
                }
            }
            let grows = found.is_none() && count == PACKED_ENTRIES_MAX;
            if fits && !grows {
                let mut bytes = std::mem::take(packed).into_vec();
                match found {
                    // An overwrite keeps the field's place, as a listpack does.
                    Some(start) => {
                        let (_, value_at) = take(&bytes, start);
                        let (_, end) = take(&bytes, value_at);
                        bytes.splice(value_at..end, encoded(value));
                    }
                    None => {
                        bytes.reserve_exact(field.len() + value.len() + 4);
                        put(&mut bytes, field);
                        put(&mut bytes, value);
                    }
                }
                *packed = bytes.into_boxed_slice();
                return found.is_none();
            }
            self.unpack(hasher);
        }
        let Hash::Table(table) = self else {
            unreachable!("unpacked above")
        };
        match table.get_mut(field) {
            Some(slot) => {
                *slot = value.into();
                false
            }
            None => {
                table.insert(field.into(), value.into());
                true
            }
        }
    }

    /// Remove a field; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(packed) => {
                let Some(start) = pairs(packed).find(|p| p.1 == field).map(|p| p.0) else {
                    return false;
                };
                let mut bytes = std::mem::take(packed).into_vec();
                remove_pair(&mut bytes, start);
                *packed = bytes.into_boxed_slice();
                true
            }
            Hash::Table(table) => table.swap_remove(field).is_some(),
        }
    }

    /// Become a table, keeping the order.
    fn unpack(&mut self, hasher: SeededSipHash) {
        let Hash::Packed(bytes) = self else {
            return;
        };
        let mut table = IndexMap::with_capacity_and_hasher(pairs(bytes).count() + 1, hasher);
        for (_, field, value) in pairs(bytes) {
            table.insert(field.into(), value.into());
        }
        *self = Hash::Table(Box::new(table));
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Packed(bytes) => Box::new(pairs(bytes).map(|(_, f, v)| (f, v))),
            Hash::Table(table) => Box::new(table.iter().map(|(f, v)| (&**f, &**v))),
        }
    }

    /// The field and value at a storage position (`HRANDFIELD`, `HSCAN`): a walk in a
    /// packed hash, which holds few.
    pub fn get_index(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Packed(_) => self.iter().nth(index),
            Hash::Table(table) => table.get_index(index).map(|(f, v)| (&**f, &**v)),
        }
    }

    /// One `HSCAN` step: the fields and values in the next [`scan_window`] of storage
    /// positions.
    pub fn scan<'s>(
        &'s self,
        cursor: u64,
        count: usize,
        out: &mut Vec<(&'s [u8], &'s [u8])>,
    ) -> u64 {
        let (window, next) = scan_window(self.len(), cursor, count);
        out.extend(window.rev().filter_map(|index| self.get_index(index)));
        next
    }

    pub fn to_elems(&self, out: &mut ElemsBuf) {
        for (field, value) in self.iter() {
            out.push(field);
            out.push(value);
        }
    }

    pub fn from_elems(elems: Elems<'_>, hasher: SeededSipHash) -> Result<Hash, FieldError> {
        if !elems.len().is_multiple_of(2) {
            return Err("a hash's elements come in pairs");
        }
        let mut hash = Hash::default();
        for (field, value) in elems.pairs() {
            if !hash.insert(field, value, hasher) {
                return Err("a hash field twice");
            }
        }
        Ok(hash)
    }

    pub fn digest(&self) -> u64 {
        self.iter()
            .map(|(f, v)| mix64(bytes_digest(f) ^ bytes_digest(v).rotate_left(1)))
            .fold(0, u64::wrapping_add)
    }
}

/// Cut the pair that starts at `start` out of a packed buffer.
fn remove_pair(bytes: &mut Vec<u8>, start: usize) {
    let end = pair_end(bytes, start);
    bytes.drain(start..end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> SeededSipHash {
        SeededSipHash { k0: 1, k1: 2 }
    }

    #[test]
    fn a_packed_hash_sets_overwrites_and_removes_in_order() {
        let mut h = Hash::default();
        assert!(h.insert(b"a", b"1", hasher()));
        assert!(h.insert(b"b", b"2", hasher()));
        assert!(!h.insert(b"a", b"10", hasher()));
        assert!(h.is_packed());
        // The overwrite kept its place.
        assert_eq!(h.get_index(0), Some((&b"a"[..], &b"10"[..])));
        assert_eq!(h.get(b"a"), Some(&b"10"[..]));
        assert_eq!(h.len(), 2);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"10"[..])]);
        // Lengths of two varint bytes survive the round trip.
        let long = vec![b'x'; 64];
        assert!(h.insert(&long, &long, hasher()));
        assert_eq!(h.get(&long), Some(&long[..]));
    }

    #[test]
    fn past_either_bound_the_hash_becomes_a_table_with_its_content() {
        let mut h = Hash::default();
        for i in 0..PACKED_ENTRIES_MAX {
            h.insert(i.to_string().as_bytes(), b"v", hasher());
        }
        assert!(h.is_packed());
        let packed = h.clone();
        h.insert(b"one more", b"v", hasher());
        assert!(!h.is_packed());
        assert_eq!(h.len(), PACKED_ENTRIES_MAX + 1);
        assert!(packed.iter().all(|(f, v)| h.get(f) == Some(v)));
        let mut long = Hash::default();
        long.insert(b"f", b"short", hasher());
        long.insert(b"g", &[b'v'; PACKED_VALUE_BYTES_MAX + 1], hasher());
        assert!(!long.is_packed());
        assert_eq!(long.get(b"f"), Some(&b"short"[..]));
        // Equal content compares equal whatever the encoding.
        let mut table_copy = Hash::default();
        table_copy.insert(b"g", &[b'v'; PACKED_VALUE_BYTES_MAX + 1], hasher());
        table_copy.insert(b"f", b"short", hasher());
        assert_eq!(long, table_copy);
    }
}
