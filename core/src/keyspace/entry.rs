//! One stored key in one allocation: its key bytes, its expiry and its value.
//!
//! A key is the bill of an in-memory store, so a stored key is a single boxed block:
//!
//! ```text
//! byte 0        flags: MARK (the snapshot mark), EXPIRY (an expiry follows),
//!               COLLECTION (the payload is a collection's slot)
//! bytes 1..5    the access stamp: an LRU clock or an LFU counter (`crate::memory`),
//!               for eviction; little-endian
//! LEB128        the key's length
//! [8 bytes]     the expiry in unix milliseconds, little-endian, if EXPIRY
//! key bytes
//! payload       a string's bytes, to the end of the block; or the little-endian u32 slot
//!               of a collection in the keyspace's collection slab
//! ```
//!
//! A 16-byte key with a 64-byte string costs an 86-byte block and the table's pointer;
//! an expiry adds 8 bytes to the block, not a second table as in Redis. A string is
//! inline, so reading it touches the block alone.

use std::fmt;

const MARK: u8 = 1;
const EXPIRY: u8 = 1 << 1;
const COLLECTION: u8 = 1 << 2;
/// Where the access stamp is, and its size.
const ACCESS_AT: usize = 1;
const ACCESS_LEN: usize = 4;
/// Where the key's length starts.
const KEY_LEN_AT: usize = ACCESS_AT + ACCESS_LEN;

/// What an entry holds: a string's bytes, or where its collection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Payload<'a> {
    Str(&'a [u8]),
    Collection(u32),
}

#[derive(Clone)]
pub(super) struct Entry {
    block: Box<[u8]>,
}

/// Where the parts of a block are.
struct Layout {
    flags: u8,
    /// The expiry's offset, if there is one.
    expiry_at: Option<usize>,
    key_start: usize,
    key_end: usize,
}

impl Entry {
    /// `expire_at_ms` is 0 for none.
    pub(super) fn new(
        key: &[u8],
        payload: Payload<'_>,
        expire_at_ms: u64,
        (mark, access): (bool, u32),
    ) -> Entry {
        let collection_slot;
        let (mut flags, payload_bytes): (u8, &[u8]) = match payload {
            Payload::Str(bytes) => (0, bytes),
            Payload::Collection(slot) => {
                collection_slot = slot.to_le_bytes();
                (COLLECTION, &collection_slot)
            }
        };
        if mark {
            flags |= MARK;
        }
        if expire_at_ms != 0 {
            flags |= EXPIRY;
        }
        let expiry_len = if expire_at_ms == 0 { 0 } else { 8 };
        let block_len = KEY_LEN_AT
            + leb128_len(key.len() as u64)
            + expiry_len
            + key.len()
            + payload_bytes.len();
        // Exactly the block's length, so that boxing it never reallocates.
        let mut block = Vec::with_capacity(block_len);
        block.push(flags);
        block.extend_from_slice(&access.to_le_bytes());
        push_leb128(&mut block, key.len() as u64);
        if expire_at_ms != 0 {
            block.extend_from_slice(&expire_at_ms.to_le_bytes());
        }
        block.extend_from_slice(key);
        block.extend_from_slice(payload_bytes);
        assert_eq!(block.len(), block_len);
        let entry = Entry {
            block: block.into_boxed_slice(),
        };
        debug_assert_eq!(entry.key(), key);
        debug_assert_eq!(entry.payload(), payload);
        debug_assert_eq!(entry.expire_at_ms(), expire_at_ms);
        debug_assert_eq!(entry.access(), access);
        entry
    }

    /// Rebuild with a new payload and expiry, keeping key, mark and access stamp.
    fn rebuilt(&self, payload: Payload<'_>, expire_at_ms: u64) -> Entry {
        Entry::new(
            self.key(),
            payload,
            expire_at_ms,
            (self.mark(), self.access()),
        )
    }

    fn layout(&self) -> Layout {
        let flags = self.block[0];
        let (key_len, len_bytes) = read_leb128(&self.block[KEY_LEN_AT..]);
        let mut key_start = KEY_LEN_AT + len_bytes;
        let expiry_at = (flags & EXPIRY != 0).then_some(key_start);
        if expiry_at.is_some() {
            key_start += 8;
        }
        Layout {
            flags,
            expiry_at,
            key_start,
            key_end: key_start + key_len as usize,
        }
    }

    pub(super) fn key(&self) -> &[u8] {
        let layout = self.layout();
        &self.block[layout.key_start..layout.key_end]
    }

    pub(super) fn payload(&self) -> Payload<'_> {
        let layout = self.layout();
        let payload = &self.block[layout.key_end..];
        if layout.flags & COLLECTION == 0 {
            return Payload::Str(payload);
        }
        let slot = payload.try_into().expect("a collection's slot is 4 bytes");
        Payload::Collection(u32::from_le_bytes(slot))
    }

    /// The expiry in unix milliseconds, 0 for none.
    pub(super) fn expire_at_ms(&self) -> u64 {
        match self.layout().expiry_at {
            None => 0,
            Some(at) => {
                let bytes = self.block[at..at + 8].try_into().expect("8 bytes");
                u64::from_le_bytes(bytes)
            }
        }
    }

    /// The access stamp: an LRU clock or an LFU counter, as the eviction policy keeps it.
    pub(super) fn access(&self) -> u32 {
        let bytes = self.block[ACCESS_AT..KEY_LEN_AT]
            .try_into()
            .expect("4 bytes");
        u32::from_le_bytes(bytes)
    }

    pub(super) fn set_access(&mut self, access: u32) {
        self.block[ACCESS_AT..KEY_LEN_AT].copy_from_slice(&access.to_le_bytes());
    }

    /// The block's size in bytes: what the key costs beyond the table's slot (and its
    /// collection, if it has one).
    pub(super) fn block_len(&self) -> usize {
        self.block.len()
    }

    pub(super) fn mark(&self) -> bool {
        self.block[0] & MARK != 0
    }

    pub(super) fn set_mark(&mut self, mark: bool) {
        if mark {
            self.block[0] |= MARK;
        } else {
            self.block[0] &= !MARK;
        }
    }

    /// Set the expiry (0 for none): in place if the block has room for it, else the
    /// block is rebuilt.
    pub(super) fn set_expire_at_ms(&mut self, expire_at_ms: u64) {
        match (self.layout().expiry_at, expire_at_ms) {
            (Some(at), ms) if ms != 0 => self.block[at..at + 8].copy_from_slice(&ms.to_le_bytes()),
            (None, 0) => {}
            _ => *self = self.rebuilt(self.payload(), expire_at_ms),
        }
        debug_assert_eq!(self.expire_at_ms(), expire_at_ms);
    }

    /// Replace the payload, keeping key, expiry and mark.
    pub(super) fn set_payload(&mut self, payload: Payload<'_>) {
        self.overwrite(payload, self.expire_at_ms());
    }

    /// Replace payload and expiry (0 for none), keeping key and mark: in place when a
    /// string overwrites a string of the same length and the expiry's presence stays,
    /// else the block is rebuilt, once.
    pub(super) fn overwrite(&mut self, payload: Payload<'_>, expire_at_ms: u64) {
        let layout = self.layout();
        let same_shape = layout.expiry_at.is_some() == (expire_at_ms != 0)
            && layout.flags & COLLECTION == 0
            && matches!(payload, Payload::Str(b) if b.len() == self.block.len() - layout.key_end);
        if !same_shape {
            *self = self.rebuilt(payload, expire_at_ms);
            return;
        }
        if let Payload::Str(bytes) = payload {
            self.block[layout.key_end..].copy_from_slice(bytes);
        }
        if let Some(at) = layout.expiry_at {
            self.block[at..at + 8].copy_from_slice(&expire_at_ms.to_le_bytes());
        }
        debug_assert_eq!(self.payload(), payload);
        debug_assert_eq!(self.expire_at_ms(), expire_at_ms);
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("payload", &self.payload())
            .field("expire_at_ms", &self.expire_at_ms())
            .field("mark", &self.mark())
            .field("access", &self.access())
            .finish()
    }
}

fn leb128_len(value: u64) -> usize {
    (64 - value.max(1).leading_zeros() as usize).div_ceil(7)
}

fn push_leb128(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The value and how many bytes it took. Blocks are only ever built by `push_leb128`.
fn read_leb128(bytes: &[u8]) -> (u64, usize) {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    unreachable!("a block's key length is complete")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload_of(bytes: &[u8], slot: Option<u32>) -> Payload<'_> {
        slot.map_or(Payload::Str(bytes), Payload::Collection)
    }

    proptest! {
        /// Every part reads back as written, through every change of the others.
        #[test]
        fn parts_read_back_through_changes(
            key in proptest::collection::vec(any::<u8>(), 0..300),
            value in proptest::collection::vec(any::<u8>(), 0..100),
            other in proptest::collection::vec(any::<u8>(), 0..100),
            slot in proptest::option::of(any::<u32>()),
            expiry in prop_oneof![Just(0u64), 1u64..(1 << 62)],
            other_expiry in prop_oneof![Just(0u64), 1u64..(1 << 62)],
            mark in any::<bool>(),
            access in any::<u32>(),
        ) {
            let mut entry = Entry::new(&key, payload_of(&value, slot), expiry, (mark, access));
            prop_assert_eq!(entry.key(), &key[..]);
            prop_assert_eq!(entry.payload(), payload_of(&value, slot));
            prop_assert_eq!(entry.expire_at_ms(), expiry);
            prop_assert_eq!(entry.mark(), mark);
            entry.set_expire_at_ms(other_expiry);
            entry.set_mark(!mark);
            entry.set_payload(Payload::Str(&other));
            prop_assert_eq!(entry.key(), &key[..]);
            prop_assert_eq!(entry.expire_at_ms(), other_expiry);
            entry.overwrite(payload_of(&value, slot), expiry);
            prop_assert_eq!(entry.payload(), payload_of(&value, slot));
            prop_assert_eq!(entry.expire_at_ms(), expiry);
            entry.overwrite(Payload::Str(&other), other_expiry);
            prop_assert_eq!(entry.key(), &key[..]);
            prop_assert_eq!(entry.payload(), Payload::Str(&other));
            prop_assert_eq!(entry.expire_at_ms(), other_expiry);
            prop_assert_eq!(entry.mark(), !mark);
            prop_assert_eq!(entry.access(), access);
            entry.set_access(!access);
            prop_assert_eq!(entry.access(), !access);
            prop_assert_eq!(entry.key(), &key[..]);
            prop_assert_eq!(entry.payload(), Payload::Str(&other));
        }
    }

    #[test]
    fn a_small_string_key_is_one_small_block() {
        let entry = Entry::new(&[b'k'; 16], Payload::Str(&[b'v'; 64]), 0, (false, 0));
        assert_eq!(entry.block_len(), 1 + 4 + 1 + 16 + 64);
        let with_expiry = Entry::new(&[b'k'; 16], Payload::Str(&[b'v'; 64]), 5, (false, 0));
        assert_eq!(with_expiry.block_len(), 1 + 4 + 1 + 8 + 16 + 64);
    }
}
