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
