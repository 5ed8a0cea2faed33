//! A small list, packed as Redis's listpack: one buffer of items, each its varint
//! length, its bytes and the same length again backwards, so that a walk goes from
//! either end and both ends push and pop in place.

use crate::keyspace::packed::{put, take};

#[derive(Clone, Debug, Default)]
pub struct Packed {
    bytes: Vec<u8>,
    len: usize,
}

/// The item that ends at `end` and where it starts: the back length read backwards
/// is the front length's varint, byte for byte.
fn take_back(bytes: &[u8], end: usize) -> (&[u8], usize) {
    let (mut len, mut shift, mut at) = (0usize, 0, end);
    loop {
        at -= 1;
        let byte = bytes[at];
        len |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let item_start = at - len;
    let varint_len = end - at;
    (&bytes[item_start..at], item_start - varint_len)
}

/// An item's bytes in the buffer: length, bytes, length backwards.
fn encode(item: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(item.len() + 4);
    put(&mut bytes, item);
    let varint_len = bytes.len() - item.len();
    let back: Vec<u8> = bytes[..varint_len].iter().rev().copied().collect();
    bytes.extend(back);
    bytes
}

impl Packed {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push_front(&mut self, item: &[u8]) {
        self.bytes.splice(0..0, encode(item));
        self.len += 1;
    }

    pub fn push_back(&mut self, item: &[u8]) {
        self.bytes.extend(encode(item));
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let mut walk = self.iter();
        let item = Box::from(walk.next()?);
        let end = walk.front;
        self.bytes.drain(..end);
        self.len -= 1;
        Some(item)
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        if self.len == 0 {
            return None;
        }
        let (item, start) = take_back(&self.bytes, self.bytes.len());
        let item = Box::from(item);
        self.bytes.truncate(start);
        self.len -= 1;
        Some(item)
    }

    pub fn from_items<'a>(items: impl Iterator<Item = &'a [u8]>) -> Packed {
        let mut packed = Packed::default();
        items.for_each(|item| packed.push_back(item));
        packed
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: &self.bytes,
            front: 0,
            back: self.bytes.len(),
            left: self.len,
        }
    }
}

/// A walk from either end of a packed list.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    front: usize,
    back: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (item, after) = take(self.bytes, self.front);
        // Past the item, its back length, as long as its front one.
        let varint_len = after - item.len() - self.front;
        self.front = after + varint_len;
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (item, start) = take_back(self.bytes, self.back);
        self.back = start;
        self.left -= 1;
        Some(item)
    }
}

impl ExactSizeIterator for Iter<'_> {}
