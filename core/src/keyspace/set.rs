//! Sets: members in insertion order (a removal moves the last member into the hole).

use indexmap::IndexSet;

use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{Elems, ElemsBuf};
use crate::bytes::FieldError;

#[derive(Clone, Debug)]
pub struct Set {
    members: IndexSet<Box<[u8]>, SeededSipHash>,
}

impl PartialEq for Set {
    /// Equal members, whatever the order.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

impl Set {
    pub fn new(hasher: SeededSipHash) -> Set {
        Set {
            members: IndexSet::with_hasher(hasher),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    /// Add a member; true if it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.members.contains(member) {
            return false;
        }
        self.members.insert(member.into())
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.members.swap_remove(member)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|m| &**m)
    }

    /// The member at a storage position (`SRANDMEMBER`, `SPOP`, `SSCAN`).
    pub fn get_index(&self, index: usize) -> Option<&[u8]> {
        self.members.get_index(index).map(|m| &**m)
    }

    /// One `SSCAN` step: the members in the next [`scan_window`] of storage positions.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, out: &mut Vec<&'s [u8]>) -> u64 {
        let (window, next) = scan_window(self.len(), cursor, count);
        out.extend(window.rev().filter_map(|index| self.get_index(index)));
        next
    }

    pub fn to_elems(&self, out: &mut ElemsBuf) {
        self.iter().for_each(|member| out.push(member));
    }

    pub fn from_elems(elems: Elems<'_>, hasher: SeededSipHash) -> Result<Set, FieldError> {
        let mut set = Set::new(hasher);
        for member in elems.iter() {
            if !set.insert(member) {
                return Err("a set member twice");
            }
        }
        Ok(set)
    }

    pub fn digest(&self) -> u64 {
        self.iter()
            .map(|m| mix64(bytes_digest(m)))
            .fold(0, u64::wrapping_add)
    }
}

/// One step of a scan over storage positions (the keyspace's `SCAN`, `SSCAN`, `HSCAN`):
/// cursor 0 starts at the top, the cursor returned is the boundary below which
/// positions remain, and 0 means done. Positions are visited from
/// the highest down because a removal (`swap_remove`) moves the last element into the
/// hole: an element below the boundary never moves above it, so every element present
/// for the whole scan is returned at least once. Returns the window (at most `count`
/// positions, at least one unless nothing remains) and the next cursor.
pub fn scan_window(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let boundary_start = if cursor == 0 {
        len
    } else {
        // Clamp: the collection may have shrunk, and a client may send any cursor.
        usize::try_from(cursor).map_or(len, |c| c.min(len))
    };
    let boundary_end = boundary_start - count.max(1).min(boundary_start);
    assert!(boundary_end <= boundary_start);
    assert!(boundary_start <= len);
    let next = u64::try_from(boundary_end).expect("usize fits in u64");
    (boundary_end..boundary_start, next)
}

#[cfg(test)]
mod tests {
    use super::scan_window;

    #[test]
    fn a_scan_window_walks_down_to_zero() {
        assert_eq!(scan_window(0, 0, 10), (0..0, 0));
        assert_eq!(scan_window(5, 0, 2), (3..5, 3));
        assert_eq!(scan_window(5, 3, 2), (1..3, 1));
        assert_eq!(scan_window(5, 1, 2), (0..1, 0));
        // A cursor past the end (the set shrank) is clamped; COUNT 0 still advances.
        assert_eq!(scan_window(2, 9, 0), (1..2, 1));
        assert_eq!(scan_window(3, u64::MAX, 100), (0..3, 0));
    }
}
