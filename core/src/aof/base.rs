//! The base file: the keyspace as of one AOF offset, the start of AOF compaction.
//!
//! On disk a node's AOF is a base (the keyspace as of logical offset X) plus the tail
//! (the records after X), as Redis 7's multi-part AOF. Offsets never change: X is an
//! offset of the replication stream, so a rewrite leaves resync, `WAIT` and acks alone.
//!
//! File: magic `BKTB`, version `u8`, then sections. A section is
//! `[body_len u32 LE][crc32 u32 LE of body][body]`, and a body is `[kind u8][fields]`:
//! - header (first, once): offset X `u64`, the term of the record that ends at X `u64`,
//!   the reign chain up to X (count `u32`, then master id, term, start `u64` each);
//! - entries (any number): count `u32`, then per key `[key][type u8][value][expiry u64]`,
//!   with byte strings as `[len u32][bytes]`, a string's value its bytes, a collection's
//!   its elements (`elems.rs`), and expiry zero meaning none (kind 4; kind 2, from before
//!   collections, has no type byte and holds strings only, and is still read);
//! - end (last, once): the number of entries in the whole file `u64`.
//!
//! A base is only ever named by the manifest once it is whole and synced, so every flaw
//! in one (a bad checksum, a missing end, bytes after the end) is corruption: the node
//! refuses to start, naming the file and the position.

use crate::aof::elems::{Elems, ElemsBuf};
use crate::aof::record::{EXPIRE_AT_MS_LIMIT, RECORD_BODY_BYTES_MAX};
use crate::bytes::{FieldError, Reader};
use crate::ids::{Offset, Term};
use crate::keyspace::{Keyspace, SeededSipHash, Value, ValueRef, ValueType};
use crate::meta::{decode_reigns, encode_reigns, Reign, REIGNS_MAX};
use crate::time::UnixMillis;

pub const MAGIC: &[u8; 4] = b"BKTB";
const VERSION: u8 = 1;
/// Magic and version.
pub const PRELUDE_LEN: usize = 5;
/// Length and checksum before each section body.
const SECTION_HEADER_LEN: usize = 8;
/// The largest section body: one entry as large as the largest record, and a margin.
const SECTION_BODY_BYTES_MAX: usize = RECORD_BODY_BYTES_MAX + 64;
/// Entry bytes a writer puts in one section before starting the next.
pub const SECTION_ENTRY_BYTES_TARGET: usize = 64 * 1024;

const KIND_HEADER: u8 = 1;
const KIND_ENTRIES: u8 = 2;
const KIND_END: u8 = 3;
/// Entries with their value's type: what Bucket writes. `KIND_ENTRIES` (strings only,
/// from before collections) is still read.
const KIND_TYPED_ENTRIES: u8 = 4;

const _: () = assert!(SECTION_BODY_BYTES_MAX <= u32::MAX as usize);

/// Where the base stands in the replication stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseHeader {
    pub offset: Offset,
    /// The term of the last record before `offset` (zero at offset zero).
    pub last_term: Term,
    /// Every reign that started before `offset`, oldest first.
    pub reigns: Vec<Reign>,
}

/// A flaw in a base, at `position` bytes into the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseError {
    pub position: u64,
    pub reason: &'static str,
}

/// Append the file's magic, version and header section to `out`.
pub fn encode_start(header: &BaseHeader, out: &mut Vec<u8>) {
    assert!(
        header.reigns.len() <= REIGNS_MAX,
        "reign chain over its bound"
    );
    assert!(
        header.reigns.iter().all(|r| r.start < header.offset),
        "a base holds only reigns that started before its offset"
    );
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    let mut body = vec![KIND_HEADER];
    body.extend_from_slice(&header.offset.0.to_le_bytes());
    body.extend_from_slice(&header.last_term.0.to_le_bytes());
    encode_reigns(&header.reigns, &mut body);
    push_section(&body, out);
}

/// Append one entry's fields to an entries buffer (see [`encode_entries`]): the key, the
/// value's type, the value (a string's bytes, or a collection's elements), the expiry.
pub fn encode_entry(
    key: &[u8],
    value: ValueRef<'_>,
    expire_at: Option<UnixMillis>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.push(value.value_type().tag());
    match value {
        ValueRef::Str(bytes) => {
            assert!(key.len() + bytes.len() <= SECTION_BODY_BYTES_MAX - 32);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        collection => {
            let mut elems = ElemsBuf::new();
            collection.to_elems(&mut elems);
            assert!(key.len() + elems.encoded_len() <= SECTION_BODY_BYTES_MAX - 32);
            elems.as_elems().encode(out);
        }
    }
    let at = expire_at.map_or(0, |at| {
        assert_ne!(at.0, 0, "expiry at the epoch is reserved");
        at.0
    });
    out.extend_from_slice(&at.to_le_bytes());
}

/// Append an entries section holding `count` entries encoded by [`encode_entry`].
pub fn encode_entries(count: u32, entries: &[u8], out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(5 + entries.len());
    body.push(KIND_TYPED_ENTRIES);
    body.extend_from_slice(&count.to_le_bytes());
    body.extend_from_slice(entries);
    push_section(&body, out);
}

/// Append the end section: the file holds `entry_count` entries in all.
pub fn encode_end(entry_count: u64, out: &mut Vec<u8>) {
    let mut body = vec![KIND_END];
    body.extend_from_slice(&entry_count.to_le_bytes());
    push_section(&body, out);
}

fn push_section(body: &[u8], out: &mut Vec<u8>) {
    assert!(body.len() <= SECTION_BODY_BYTES_MAX);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
}

/// One key of a base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseEntry<'a> {
    pub key: &'a [u8],
    pub value: BaseValue<'a>,
    pub expire_at: Option<UnixMillis>,
}

/// A value as a base holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseValue<'a> {
    Str(&'a [u8]),
    Collection(ValueType, Elems<'a>),
}

impl<'a> BaseValue<'a> {
    pub fn as_str(&self) -> Option<&'a [u8]> {
        match *self {
            BaseValue::Str(bytes) => Some(bytes),
            BaseValue::Collection(..) => None,
        }
    }
}

impl BaseEntry<'_> {
    /// The value, built with `hasher`; an error for a collection that could never have
    /// been written (a field twice, an empty one).
    pub fn to_value(&self, hasher: SeededSipHash) -> Result<Value, FieldError> {
        match self.value {
            BaseValue::Str(bytes) => Ok(Value::str(bytes)),
            BaseValue::Collection(value_type, elems) => {
                Value::from_elems(value_type, elems, hasher)
            }
        }
    }

    /// Store the entry in `keyspace`.
    pub fn insert_into(&self, keyspace: &mut Keyspace) -> Result<(), FieldError> {
        let value = self.to_value(keyspace.hasher())?;
        keyspace.insert(self.key, value, self.expire_at);
        Ok(())
    }
}

/// What a decoder hands each entry to; an error stops the decode there.
pub type OnEntry<'f> = dyn FnMut(BaseEntry<'_>) -> Result<(), FieldError> + 'f;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Prelude,
    Header,
    Entries,
    Done,
}

/// Reads a base fed in chunks split anywhere (from a file, or from a master during a
/// full resync). Holds at most one section's bytes.
#[derive(Debug)]
pub struct BaseDecoder {
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    position: u64,
    expect: Expect,
    entries: u64,
}

impl Default for BaseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseDecoder {
    pub fn new() -> BaseDecoder {
        BaseDecoder {
            buf: Vec::new(),
            position: 0,
            expect: Expect::Prelude,
            entries: 0,
        }
    }

    /// Bytes of the file consumed so far (whole sections only).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Decode what `bytes` completes: the header once, then each entry, in order.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        on_header: &mut dyn FnMut(BaseHeader),
        on_entry: &mut OnEntry<'_>,
    ) -> Result<(), BaseError> {
        self.buf.extend_from_slice(bytes);
        let mut used = 0;
        let result = self.decode_buffered(&mut used, on_header, on_entry);
        self.buf.drain(..used);
        self.position += used as u64;
        result
    }

    /// The file ended here: it must have ended after its end section.
    pub fn finish(&self) -> Result<(), BaseError> {
        if self.expect != Expect::Done {
            return Err(self.error(0, "the base ends before its end section"));
        }
        Ok(())
    }

    fn error(&self, at: usize, reason: &'static str) -> BaseError {
        BaseError {
            position: self.position + at as u64,
            reason,
        }
    }

    fn decode_buffered(
        &mut self,
        used: &mut usize,
        on_header: &mut dyn FnMut(BaseHeader),
        on_entry: &mut OnEntry<'_>,
    ) -> Result<(), BaseError> {
        loop {
            let rest = &self.buf[*used..];
            match self.expect {
                Expect::Done if !rest.is_empty() => {
                    return Err(self.error(*used, "bytes after the base's end section"));
                }
                Expect::Done => return Ok(()),
                Expect::Prelude => {
                    if rest.len() < PRELUDE_LEN {
                        return Ok(());
                    }
                    if &rest[..4] != MAGIC {
                        return Err(self.error(*used, "not a Bucket base file"));
                    }
                    if rest[4] != VERSION {
                        return Err(self.error(*used + 4, "unknown base version"));
                    }
                    *used += PRELUDE_LEN;
                    self.expect = Expect::Header;
                }
                Expect::Header | Expect::Entries => {
                    let Some(body) = section_body(rest).map_err(|r| self.error(*used, r))? else {
                        return Ok(());
                    };
                    let at = *used;
                    let len = SECTION_HEADER_LEN + body.len();
                    let next = decode_section(self.expect, self.entries, body, on_header, on_entry)
                        .map_err(|reason| BaseError {
                            position: self.position + at as u64,
                            reason,
                        })?;
                    (self.expect, self.entries) = next;
                    *used += len;
                }
            }
        }
    }
}

/// The body of the section at the start of `rest`, once it is all there.
fn section_body(rest: &[u8]) -> Result<Option<&[u8]>, FieldError> {
    if rest.len() < SECTION_HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    if len == 0 || len > SECTION_BODY_BYTES_MAX {
        return Err("bad base section length");
    }
    let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    let Some(body) = rest.get(SECTION_HEADER_LEN..SECTION_HEADER_LEN + len) else {
        return Ok(None);
    };
    if crc32fast::hash(body) != crc {
        return Err("base section checksum mismatch");
    }
    Ok(Some(body))
}

/// Decode one checked section body; returns what comes next and the entries so far.
fn decode_section(
    expect: Expect,
    entries: u64,
    body: &[u8],
    on_header: &mut dyn FnMut(BaseHeader),
    on_entry: &mut OnEntry<'_>,
) -> Result<(Expect, u64), FieldError> {
    let mut reader = Reader::new(body);
    let kind = reader.u8()?;
    match (expect, kind) {
        (Expect::Header, KIND_HEADER) => {
            on_header(decode_header(&mut reader)?);
            Ok((Expect::Entries, entries))
        }
        (Expect::Entries, KIND_ENTRIES | KIND_TYPED_ENTRIES) => {
            let typed = kind == KIND_TYPED_ENTRIES;
            let count = reader.u32()?;
            for _ in 0..count {
                on_entry(decode_entry(&mut reader, typed)?)?;
            }
            if !reader.rest.is_empty() {
                return Err("trailing bytes in a base section");
            }
            Ok((Expect::Entries, entries + u64::from(count)))
        }
        (Expect::Entries, KIND_END) => {
            if reader.u64()? != entries || !reader.rest.is_empty() {
                return Err("the base's entry count does not match its entries");
            }
            Ok((Expect::Done, entries))
        }
        _ => Err("base section out of place"),
    }
}

fn decode_header(reader: &mut Reader<'_>) -> Result<BaseHeader, FieldError> {
    let offset = Offset(reader.u64()?);
    let last_term = Term(reader.u64()?);
    let reigns = decode_reigns(reader)?;
    let in_order = reigns.windows(2).all(|w| w[0].start < w[1].start);
    if !in_order || reigns.last().is_some_and(|r| r.start >= offset) {
        return Err("base header reigns out of order");
    }
    if (offset.0 == 0) != (last_term.0 == 0 && reigns.is_empty()) {
        return Err("base header position is inconsistent");
    }
    Ok(BaseHeader {
        offset,
        last_term,
        reigns,
    })
}

fn decode_entry<'a>(reader: &mut Reader<'a>, typed: bool) -> Result<BaseEntry<'a>, FieldError> {
    let key = reader.bytes(SECTION_BODY_BYTES_MAX)?;
    let value_type = match typed {
        true => ValueType::from_tag(reader.u8()?).ok_or("unknown value type in a base")?,
        false => ValueType::Str,
    };
    let value = match value_type {
        ValueType::Str => BaseValue::Str(reader.bytes(SECTION_BODY_BYTES_MAX)?),
        collection => BaseValue::Collection(collection, Elems::decode(reader)?),
    };
    let at = reader.u64()?;
    if at >= EXPIRE_AT_MS_LIMIT {
        return Err("expiry past 2^63");
    }
    let expire_at = (at != 0).then_some(UnixMillis(at));
    Ok(BaseEntry {
        key,
        value,
        expire_at,
    })
}

/// Decode a whole base file, calling `on_entry` for each key; returns its header.
pub fn decode(bytes: &[u8], on_entry: &mut OnEntry<'_>) -> Result<BaseHeader, BaseError> {
    let mut decoder = BaseDecoder::new();
    let mut header = None;
    decoder.feed(bytes, &mut |h| header = Some(h), on_entry)?;
    decoder.finish()?;
    Ok(header.expect("a finished base has its header"))
}

#[cfg(test)]
mod tests;
