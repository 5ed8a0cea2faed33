//! Hashes: fields and their values, in insertion order (a removal moves the last field
//! into the hole, so the order is the same on every node that applied the same records).

use indexmap::IndexMap;

use super::set::scan_window;
use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{Elems, ElemsBuf};
use crate::bytes::FieldError;

#[derive(Clone, Debug)]
pub struct Hash {
    fields: IndexMap<Box<[u8]>, Box<[u8]>, SeededSipHash>,
}

impl PartialEq for Hash {
    /// Equal content, whatever the order.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.fields.iter().all(|(f, v)| other.get(f) == Some(&**v))
    }
}

impl Hash {
    pub fn new(hasher: SeededSipHash) -> Hash {
        Hash {
            fields: IndexMap::with_hasher(hasher),
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.fields.get(field).map(|v| &**v)
    }

    /// Set a field; true if it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.fields.get_mut(field) {
            Some(slot) => {
                *slot = value.into();
                false
            }
            None => {
                self.fields.insert(field.into(), value.into());
                true
            }
        }
    }

    /// Remove a field; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.fields.swap_remove(field).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields.iter().map(|(f, v)| (&**f, &**v))
    }

    /// The field and value at a storage position (`HRANDFIELD`, `HSCAN`).
    pub fn get_index(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.fields.get_index(index).map(|(f, v)| (&**f, &**v))
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
        let mut hash = Hash::new(hasher);
        for (field, value) in elems.pairs() {
            if !hash.insert(field, value) {
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
