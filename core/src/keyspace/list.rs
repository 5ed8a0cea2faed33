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

    /// The position `index` names, counting from the tail when negative (`-1` is the
    /// last item), as `LINDEX` and `LSET` read it; `None` outside the list.
    pub fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let at = if index < 0 { len + index } else { index };
        (0..len).contains(&at).then_some(at as usize)
    }

    /// The items `start..=stop` (negative counting from the tail, both clamped to the
    /// list) as a half-open range of positions, empty when nothing is inside, as
    /// `LRANGE` and `LTRIM` read their arguments.
    pub fn span(&self, start: i64, stop: i64) -> std::ops::Range<usize> {
        let len = self.len() as i64;
        let from_tail = |i: i64| if i < 0 { len.saturating_add(i) } else { i };
        let start = from_tail(start).max(0);
        let stop = from_tail(stop).min(len - 1);
        if start > stop {
            return 0..0;
        }
        start as usize..stop as usize + 1
    }

    /// Replace the item at `index`; nothing outside the list.
    pub fn set(&mut self, index: usize, item: &[u8]) {
        if let Some(slot) = self.items.get_mut(index) {
            *slot = item.into();
        }
    }

    /// Insert `item` so that it sits at `index` (`len` appends); nothing past that.
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        if index <= self.len() {
            self.items.insert(index, item.into());
        }
    }

    /// How many items `LREM key count item` removes: every match for `count` 0, else
    /// at most `|count|` of them.
    pub fn removable(&self, item: &[u8], count: i64) -> usize {
        let matches = self.iter().filter(|i| *i == item).count();
        match usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) {
            0 => matches,
            limit => matches.min(limit),
        }
    }

    /// `LREM`: remove the first `count` matches of `item` (the last `|count|` for a
    /// negative count, all of them for 0); the count removed.
    pub fn remove(&mut self, item: &[u8], count: i64) -> usize {
        let removed = self.removable(item, count);
        let matches = self.iter().filter(|i| *i == item).count();
        // From the tail, the matches kept are the first ones; from the head, the last.
        let kept_first = if count < 0 { matches - removed } else { 0 };
        let mut seen = 0;
        self.items.retain(|i| {
            if **i != *item {
                return true;
            }
            seen += 1;
            if count < 0 {
                seen <= kept_first
            } else {
                seen > removed
            }
        });
        removed
    }

    /// Keep only the items at positions `start..end` (clamped to the list).
    pub fn trim(&mut self, start: usize, end: usize) {
        self.items.truncate(end);
        let start = start.min(self.items.len());
        self.items.drain(..start);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        let mut list = List::default();
        items.iter().for_each(|i| list.push_back(i.as_bytes()));
        list
    }

    fn texts(list: &List) -> Vec<String> {
        list.iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect()
    }

    #[test]
    fn spans_and_positions_clamp_as_redis() {
        let l = list(&["a", "b", "c"]);
        assert_eq!(l.span(0, -1), 0..3);
        assert_eq!(l.span(-2, 10), 1..3);
        assert_eq!(l.span(i64::MIN, i64::MAX), 0..3);
        assert!(l.span(2, 1).is_empty());
        assert!(l.span(3, 5).is_empty());
        assert!(List::default().span(0, -1).is_empty());
        assert_eq!(l.position(-1), Some(2));
        assert_eq!(l.position(-4), None);
        assert_eq!(l.position(i64::MIN), None);
        assert_eq!(l.position(3), None);
    }

    #[test]
    fn remove_counts_from_either_end() {
        let mut l = list(&["x", "a", "x", "b", "x"]);
        assert_eq!(l.removable(b"x", 0), 3);
        assert_eq!(l.removable(b"x", -2), 2);
        assert_eq!(l.remove(b"x", -2), 2);
        assert_eq!(texts(&l), ["x", "a", "b"]);
        assert_eq!(l.remove(b"x", i64::MIN), 1);
        assert_eq!(l.remove(b"z", 0), 0);
        assert_eq!(texts(&l), ["a", "b"]);
        l.trim(1, 9);
        assert_eq!(texts(&l), ["b"]);
        l.trim(5, 9);
        assert!(l.is_empty());
    }
}
