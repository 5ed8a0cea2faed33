//! The effects on collections, one file per value type. Each file defines its effect
//! enum and, beside it, the three things a record needs of it: its length and encoding
//! (after the record's type tag: a sub-tag byte, then the fields), its decoding, and its
//! application to a keyspace. A byte string field is `[len u32 LE][bytes]`, a list of
//! them an [`Elems`](super::elems::Elems), a number a `u64 LE`.
//!
//! An effect holds what a replica needs to reach the master's state without a clock or
//! randomness: `SPOP` logs the members it removed, `HINCRBYFLOAT` the value it produced.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

use crate::bytes::{FieldError, Reader};

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("body length was checked against the max");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

pub(crate) fn key<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], FieldError> {
    reader.bytes(usize::MAX)
}
