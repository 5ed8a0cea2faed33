//! Lists: a double-ended queue of byte strings.

mod packed;

use std::collections::VecDeque;

use super::{bytes_digest, mix64};
use crate::aof::elems::{Elems, ElemsBuf};
use crate::commands::parse_i64;
use packed::Packed;

/// Redis's `list-max-listpack-size -2`: a list stays packed up to 8 KB of listpack.
pub const PACKED_BYTES_MAX: usize = 8192;
/// A listpack's header and end byte.
const LISTPACK_OVERHEAD: usize = 7;

/// A list: packed while its listpack would fit in `PACKED_BYTES_MAX`, a deque of
/// items past that, and packed again once it shrinks to half of it, as Redis 7.2
/// converts a quicklist of one node back. The listpack's size is Redis's own count,
/// kept as items come and go, so that `OBJECT ENCODING` answers as Redis would.
#[derive(Clone, Debug)]
pub struct List {
    repr: Repr,
    listpack_bytes: usize,
}

#[derive(Clone, Debug)]
enum Repr {
    Packed(Packed),
    Deque(VecDeque<Box<[u8]>>),
}

impl Default for List {
    fn default() -> List {
        List {
            repr: Repr::Packed(Packed::default()),
            listpack_bytes: LISTPACK_OVERHEAD,
        }
    }
}

impl PartialEq for List {
    /// The same items in the same order, whatever the encoding.
    fn eq(&self, other: &List) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for List {}

/// A walk over a list from either end.
pub enum Iter<'a> {
    Packed(packed::Iter<'a>),
    Deque(std::collections::vec_deque::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Iter::Packed(walk) => walk.next(),
            Iter::Deque(walk) => walk.next().map(|i| &**i),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Packed(walk) => walk.size_hint(),
            Iter::Deque(walk) => walk.size_hint(),
        }
    }

    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        match self {
            Iter::Packed(walk) => walk.nth(n),
            Iter::Deque(walk) => walk.nth(n).map(|i| &**i),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Packed(walk) => walk.next_back(),
            Iter::Deque(walk) => walk.next_back().map(|i| &**i),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl List {
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Deque(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the list is packed (`OBJECT ENCODING` says `listpack`, else `quicklist`).
    pub fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    pub fn push_front(&mut self, item: &[u8]) {
        self.listpack_bytes += listpack_entry_len(item);
        match &mut self.repr {
            Repr::Packed(p) => p.push_front(item),
            Repr::Deque(d) => d.push_front(item.into()),
        }
        self.settle();
    }

    pub fn push_back(&mut self, item: &[u8]) {
        self.listpack_bytes += listpack_entry_len(item);
        match &mut self.repr {
            Repr::Packed(p) => p.push_back(item),
            Repr::Deque(d) => d.push_back(item.into()),
        }
        self.settle();
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let item = match &mut self.repr {
            Repr::Packed(p) => p.pop_front(),
            Repr::Deque(d) => d.pop_front(),
        }?;
        self.listpack_bytes -= listpack_entry_len(&item);
        self.settle();
        Some(item)
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        let item = match &mut self.repr {
            Repr::Packed(p) => p.pop_back(),
            Repr::Deque(d) => d.pop_back(),
        }?;
        self.listpack_bytes -= listpack_entry_len(&item);
        self.settle();
        Some(item)
    }

    /// Pack or unpack as the listpack's size says.
    fn settle(&mut self) {
        assert!(
            self.listpack_bytes >= LISTPACK_OVERHEAD,
            "the size counts every item"
        );
        match &self.repr {
            Repr::Packed(p) if self.listpack_bytes > PACKED_BYTES_MAX => {
                let deque = p.iter().map(Box::from).collect();
                self.repr = Repr::Deque(deque);
            }
            Repr::Deque(d) if self.listpack_bytes <= PACKED_BYTES_MAX / 2 => {
                let packed = Packed::from_items(d.iter().map(|i| &**i));
                self.repr = Repr::Packed(packed);
            }
            _ => {}
        }
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) if index >= p.len() => None,
            // A packed list is walked from the nearer end.
            Repr::Packed(p) if index > p.len() / 2 => p.iter().nth_back(p.len() - 1 - index),
            Repr::Packed(p) => p.iter().nth(index),
            Repr::Deque(d) => d.get(index).map(|i| &**i),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Packed(p) => Iter::Packed(p.iter()),
            Repr::Deque(d) => Iter::Deque(d.iter()),
        }
    }

    /// Edit the items as a deque (`LSET`, `LINSERT`, `LREM`, `LTRIM`: O(n) in Redis as
    /// here), the change keeping the listpack size up to date; then a list that was
    /// packed is packed again if it still fits, and a deque settles as after a pop.
    fn edit<T>(&mut self, change: impl FnOnce(&mut VecDeque<Box<[u8]>>, &mut usize) -> T) -> T {
        let was_packed = self.is_packed();
        if let Repr::Packed(p) = &self.repr {
            self.repr = Repr::Deque(p.iter().map(Box::from).collect());
        }
        let Repr::Deque(items) = &mut self.repr else {
            unreachable!("unpacked above")
        };
        let result = change(items, &mut self.listpack_bytes);
        if was_packed && self.listpack_bytes <= PACKED_BYTES_MAX {
            self.repr = Repr::Packed(Packed::from_items(items.iter().map(|i| &**i)));
        }
        self.settle();
        result
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
        self.edit(|items, bytes| {
            if let Some(slot) = items.get_mut(index) {
                *bytes = *bytes - listpack_entry_len(slot) + listpack_entry_len(item);
                *slot = item.into();
            }
        });
    }

    /// Insert `item` so that it sits at `index` (`len` appends); nothing past that.
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        if index <= self.len() {
            self.edit(|items, bytes| {
                *bytes += listpack_entry_len(item);
                items.insert(index, item.into());
            });
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
        self.edit(|items, bytes| {
            items.retain(|i| {
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
            *bytes = listpack_bytes_of(items);
        });
        removed
    }

    /// Keep only the items at positions `start..end` (clamped to the list).
    pub fn trim(&mut self, start: usize, end: usize) {
        self.edit(|items, bytes| {
            items.truncate(end);
            let start = start.min(items.len());
            items.drain(..start);
            *bytes = listpack_bytes_of(items);
        });
    }

    pub fn to_elems(&self, out: &mut ElemsBuf) {
        self.iter().for_each(|item| out.push(item));
    }

    pub fn from_elems(elems: Elems<'_>) -> List {
        let mut list = List::default();
        elems.iter().for_each(|item| list.push_back(item));
        list
    }

    /// Ordered: position counts.
    pub fn digest(&self) -> u64 {
        self.iter().fold(0u64, |acc, item| {
            mix64(acc.rotate_left(5) ^ bytes_digest(item))
        })
    }
}

/// The bytes a listpack of these items takes.
fn listpack_bytes_of(items: &VecDeque<Box<[u8]>>) -> usize {
    LISTPACK_OVERHEAD + items.iter().map(|i| listpack_entry_len(i)).sum::<usize>()
}

/// The bytes one element takes in a listpack: its encoding (integers packed by
/// magnitude, strings with a 1, 2 or 5 byte header) and its back length.
pub fn listpack_entry_len(item: &[u8]) -> usize {
    let encoded = match parse_i64(item) {
        Some(0..=127) => 1,
        Some(-4096..=4095) => 2,
        Some(-32_768..=32_767) => 3,
        Some(-8_388_608..=8_388_607) => 4,
        Some(n) if i32::try_from(n).is_ok() => 5,
        Some(_) => 9,
        None if item.len() < 64 => 1 + item.len(),
        None if item.len() < 4096 => 2 + item.len(),
        None => 5 + item.len(),
    };
    let back_len = match encoded {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    encoded + back_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop_oneof, Just, Strategy};

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

    #[derive(Clone, Debug)]
    enum Op {
        PushFront(usize),
        PushBack(usize),
        PopFront,
        PopBack,
        Set(usize, usize),
        Insert(usize, usize),
        Remove(usize, i64),
        Trim(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Item sizes up to 3000 bytes move a list across 8 KB within a few pushes.
        let size = prop_oneof![4 => 0usize..20, 1 => 0usize..3000];
        prop_oneof![
            4 => size.clone().prop_map(Op::PushFront),
            4 => size.clone().prop_map(Op::PushBack),
            2 => Just(Op::PopFront),
            2 => Just(Op::PopBack),
            1 => (0usize..40, size.clone()).prop_map(|(i, n)| Op::Set(i, n)),
            1 => (0usize..40, size.clone()).prop_map(|(i, n)| Op::Insert(i, n)),
            1 => (0usize..20, -2i64..3).prop_map(|(n, c)| Op::Remove(n, c)),
            1 => (0usize..10, 0usize..60).prop_map(|(a, b)| Op::Trim(a, b)),
        ]
    }

    /// An item of `n` bytes; equal sizes give equal items, so that LREM finds some.
    fn item(n: usize) -> Vec<u8> {
        (0..n).map(|i| b'a' + (i % 26) as u8).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        #[test]
        fn a_list_matches_a_deque_in_either_encoding(ops in proptest::collection::vec(op(), 0..200)) {
            let mut list = List::default();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::PushFront(n) => { list.push_front(&item(n)); model.push_front(item(n)); }
                    Op::PushBack(n) => { list.push_back(&item(n)); model.push_back(item(n)); }
                    Op::PopFront => assert_eq!(list.pop_front().map(Vec::from), model.pop_front()),
                    Op::PopBack => assert_eq!(list.pop_back().map(Vec::from), model.pop_back()),
                    Op::Set(i, n) => {
                        list.set(i, &item(n));
                        if let Some(slot) = model.get_mut(i) { *slot = item(n); }
                    }
                    Op::Insert(i, n) => {
                        list.insert(i, &item(n));
                        if i <= model.len() { model.insert(i, item(n)); }
                    }
                    Op::Remove(n, count) => {
                        let removed = list.remove(&item(n), count);
                        let mut reference = List::default();
                        model.iter().for_each(|i| reference.push_back(i));
                        assert_eq!(reference.remove(&item(n), count), removed);
                        model = reference.iter().map(<[u8]>::to_vec).collect();
                    }
                    Op::Trim(start, end) => {
                        list.trim(start, end);
                        model.truncate(end);
                        let start = start.min(model.len());
                        model.drain(..start);
                    }
                }
                let bytes = LISTPACK_OVERHEAD + model.iter().map(|i| listpack_entry_len(i)).sum::<usize>();
                assert_eq!(list.listpack_bytes, bytes);
                if bytes > PACKED_BYTES_MAX { assert!(!list.is_packed()); }
                if bytes <= PACKED_BYTES_MAX / 2 { assert!(list.is_packed()); }
            }
            assert_eq!(list.len(), model.len());
            assert!(list.iter().eq(model.iter().map(|i| &i[..])));
            assert!(list.iter().rev().eq(model.iter().rev().map(|i| &i[..])));
            for i in 0..model.len() + 1 {
                assert_eq!(list.get(i), model.get(i).map(|i| &i[..]));
            }
        }
    }
}
