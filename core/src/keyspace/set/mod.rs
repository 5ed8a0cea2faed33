//! Sets: members in insertion order (a removal from a table moves the last member
//! into the hole; from a packed set it closes the gap), or by value in an intset.

mod packed;

use indexmap::IndexSet;

use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{Elems, ElemsBuf};
use crate::bytes::FieldError;
use packed::Packed;
pub use packed::{INTSET_ENTRIES_MAX, LISTPACK_ENTRIES_MAX, LISTPACK_VALUE_BYTES_MAX};

/// A set: an intset while every member is an integer and there are few, a listpack
/// while the members are few and short, a table past that, for good (as Redis's,
/// until it is emptied).
#[derive(Clone, Debug)]
pub struct Set {
    repr: Repr,
    hasher: SeededSipHash,
}

#[derive(Clone, Debug)]
enum Repr {
    Packed(Packed),
    Table(IndexSet<Box<[u8]>, SeededSipHash>),
}

/// Redis's three names for a set's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Intset,
    Listpack,
    Hashtable,
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
            repr: Repr::Packed(Packed::ints()),
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> Encoding {
        match &self.repr {
            Repr::Packed(p) if p.is_intset() => Encoding::Intset,
            Repr::Packed(_) => Encoding::Listpack,
            Repr::Table(_) => Encoding::Hashtable,
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Packed(p) => p.contains(member),
            Repr::Table(t) => t.contains(member),
        }
    }

    /// Add a member; true if it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) {
            return false;
        }
        if let Repr::Packed(packed) = &mut self.repr {
            if packed.has_room_for(member) {
                packed.insert(member);
                return true;
            }
            let mut table = IndexSet::with_capacity_and_hasher(packed.len() + 1, self.hasher);
            table.extend(packed.iter().map(Box::from));
            self.repr = Repr::Table(table);
        }
        let Repr::Table(table) = &mut self.repr else {
            unreachable!("unpacked above")
        };
        table.insert(member.into())
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(member),
            Repr::Table(t) => t.swap_remove(member),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.repr {
            Repr::Packed(p) => Box::new(p.iter()),
            Repr::Table(t) => Box::new(t.iter().map(|m| &**m)),
        }
    }

    /// The member at a storage position (`SRANDMEMBER`, `SPOP`, `SSCAN`): a walk in a
    /// packed set, which holds few.
    pub fn get_index(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.iter().nth(index),
            Repr::Table(t) => t.get_index(index).map(|m| &**m),
        }
    }

    /// One `SSCAN` step: a packed set whole (cursor 0 next, as Redis does for its small
    /// encodings), a table's members in the next [`scan_window`] of storage positions.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, out: &mut Vec<&'s [u8]>) -> u64 {
        if let Repr::Packed(packed) = &self.repr {
            out.extend(packed.iter());
            return 0;
        }
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
    use super::*;
    use crate::commands::parse_i64;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn hasher() -> SeededSipHash {
        SeededSipHash { k0: 3, k1: 4 }
    }

    /// Mostly integers (some with a leading zero or `+`, which are strings to an
    /// intset), a few short strings, a rare long one.
    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            20 => (-700i64..700).prop_map(|i| i.to_string().into_bytes()),
            1 => (0u8..20).prop_map(|i| format!("0{i}").into_bytes()),
            2 => (0u8..200).prop_map(|i| format!("m{i}").into_bytes()),
            1 => Just(vec![b'x'; LISTPACK_VALUE_BYTES_MAX + 1]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn a_set_matches_the_model_and_encodes_as_redis(
            ops in prop::collection::vec((any::<bool>(), member()), 0..900)
        ) {
            let mut set = Set::new(hasher());
            let mut model = BTreeSet::new();
            let mut ever_string = false;
            let mut ever_big = false;
            for (add, member) in ops {
                if add {
                    prop_assert_eq!(set.insert(&member), model.insert(member.clone()));
                } else {
                    prop_assert_eq!(set.remove(&member), model.remove(&member));
                }
                if set.is_empty() {
                    set = Set::new(hasher());
                    (ever_string, ever_big) = (false, false);
                }
                let int = parse_i64(&member).is_some();
                ever_string |= add && !int;
                let bound = if ever_string { LISTPACK_ENTRIES_MAX } else { INTSET_ENTRIES_MAX };
                ever_big |= model.len() > bound || model.iter().any(|m| m.len() > LISTPACK_VALUE_BYTES_MAX);
                let expected = match (ever_big, ever_string) {
                    (true, _) => Encoding::Hashtable,
                    (false, true) => Encoding::Listpack,
                    (false, false) => Encoding::Intset,
                };
                prop_assert_eq!(set.encoding(), expected);
            }
            let members: BTreeSet<Vec<u8>> = set.iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(set.len(), model.len());
            prop_assert_eq!(&members, &model);
            if set.encoding() == Encoding::Intset {
                let values: Vec<i64> = set.iter().map(|m| parse_i64(m).unwrap()).collect();
                prop_assert!(values.windows(2).all(|w| w[0] < w[1]));
            }
            let (mut scanned, mut cursor, mut steps) = (Vec::new(), 0, 0);
            loop {
                cursor = set.scan(cursor, 7, &mut scanned);
                steps += 1;
                if cursor == 0 || steps > 1000 { break; }
            }
            let scanned: BTreeSet<Vec<u8>> = scanned.into_iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(scanned, model);
        }
    }

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
