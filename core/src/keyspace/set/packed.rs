//! A small set, packed: one buffer of members (see `keyspace::packed`). Two orders, as
//! Redis's two small encodings: an intset keeps its integers sorted by value, a
//! listpack keeps members in the order they came.

use crate::commands::parse_i64;
use crate::keyspace::packed::{encoded, items, take};

/// Redis's `set-max-intset-entries`.
pub const INTSET_ENTRIES_MAX: usize = 512;
/// Redis's `set-max-listpack-entries`.
pub const LISTPACK_ENTRIES_MAX: usize = 128;
/// Redis's `set-max-listpack-value`: the longest member a listpack set holds.
pub const LISTPACK_VALUE_BYTES_MAX: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct Packed {
    bytes: Vec<u8>,
    len: usize,
    /// Every member is an integer, and they are sorted by value.
    ints: bool,
}

impl Packed {
    /// An empty intset.
    pub fn ints() -> Packed {
        Packed {
            ints: true,
            ..Packed::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_intset(&self) -> bool {
        self.ints
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        items(&self.bytes).map(|(_, member)| member)
    }

    fn find(&self, member: &[u8]) -> Option<usize> {
        items(&self.bytes).find(|i| i.1 == member).map(|i| i.0)
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }

    /// Whether `member`, not yet in the set, can join it packed; an intset that takes
    /// a string member becomes a listpack, in the same order.
    pub fn has_room_for(&self, member: &[u8]) -> bool {
        match self.ints && parse_i64(member).is_some() {
            true => self.len < INTSET_ENTRIES_MAX,
            false => self.len < LISTPACK_ENTRIES_MAX && member.len() <= LISTPACK_VALUE_BYTES_MAX,
        }
    }

    /// Add a member that is not in the set and fits (`has_room_for`).
    pub fn insert(&mut self, member: &[u8]) {
        debug_assert!(!self.contains(member) && self.has_room_for(member));
        let at = match self.ints.then(|| parse_i64(member)).flatten() {
            Some(value) => items(&self.bytes)
                .find(|i| parse_i64(i.1).expect("an intset holds integers") > value)
                .map_or(self.bytes.len(), |i| i.0),
            None => {
                self.ints = false;
                self.bytes.len()
            }
        };
        self.bytes.splice(at..at, encoded(member));
        self.len += 1;
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Some(start) = self.find(member) else {
            return false;
        };
        let end = take(&self.bytes, start).1;
        self.bytes.drain(start..end);
        self.len -= 1;
        true
    }
}
