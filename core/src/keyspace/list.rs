//! Lists: a double-ended queue of byte strings.

use std::collections::VecDeque;

use super::{bytes_digest, mix64};
use crate::aof::elems::{Elems, ElemsBuf};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push_front(&mut self, item: &[u8]) {
        self.items.push_front(item.into());
    }

    pub fn push_back(&mut self, item: &[u8]) {
        self.items.push_back(item.into());
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        self.items.pop_front()
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        self.items.pop_back()
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(|i| &**i)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|i| &**i)
    }

    /// The items themselves, for the list commands' edits (`LSET`, `LINSERT`, `LREM`,
    /// `LTRIM`).
    pub fn items_mut(&mut self) -> &mut VecDeque<Box<[u8]>> {
        &mut self.items
    }

    pub fn to_elems(&self, out: &mut ElemsBuf) {
        self.iter().for_each(|item| out.push(item));
    }

    pub fn from_elems(elems: Elems<'_>) -> List {
        List {
            items: elems.iter().map(Box::from).collect(),
        }
    }

    /// Ordered: position counts.
    pub fn digest(&self) -> u64 {
        self.iter().fold(0u64, |acc, item| {
            mix64(acc.rotate_left(5) ^ bytes_digest(item))
        })
    }
}
