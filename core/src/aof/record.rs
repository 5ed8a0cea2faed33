//! AOF records: deterministic effects, framed with their length and a CRC32.
//!
//! A record is an effect, not a command: `INCR` logs the value it produced, a relative
//! expiry is logged as an absolute time, and an expired key is logged as a delete. A
//! replica applies records without a clock or randomness.
//!
//! Frame: `[body_len u32 LE][crc32 u32 LE of body][body]`.
//! Body: `[term u64 LE][tag u8][fields]`, where a byte string is `[len u32 LE][bytes]`
//! and a time or id is a `u64 LE`. An optional expiry is a `u64` with zero meaning none,
//! so an expiry at the epoch (`UnixMillis(0)`) cannot be encoded: encode asserts it
//! never is, and decode rejects it.
//!
//! Every property decode checks, encode asserts, so a bad record is caught both when it
//! is written and when it is read.

use crate::aof::effects::{hash::HashEffect, list::ListEffect, set::SetEffect, zset::ZSetEffect};
use crate::bytes::{FieldError, Reader};
use crate::ids::{MasterId, Term};
use crate::time::UnixMillis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect<'a> {
    Set {
        key: &'a [u8],
        value: &'a [u8],
        expire_at: Option<UnixMillis>,
    },
    /// Overwrite the value, keep the expiry (INCR, APPEND, SET KEEPTTL). Creates the key
    /// without expiry if it is absent.
    SetKeepTtl {
        key: &'a [u8],
        value: &'a [u8],
    },
    Del {
        key: &'a [u8],
    },
    Expire {
        key: &'a [u8],
        at: UnixMillis,
    },
    Persist {
        key: &'a [u8],
    },
    FlushAll,
    /// A new master's first record (Raft's no-op): its reign begins here.
    ReignStart {
        master_id: MasterId,
    },
    Hash(HashEffect<'a>),
    List(ListEffect<'a>),
    SetMembers(SetEffect<'a>),
    ZSet(ZSetEffect<'a>),
    /// Records that stand or fall together (a transaction, a command that changes two
    /// keys): whole framed records, none of them a unit or a reign start. One frame
    /// and one checksum cover them all, so a torn tail drops all of them, a replica
    /// applies all or none, and a commit covers all at once.
    Unit {
        records: &'a [u8],
    },
    /// Move `from`'s value and expiry to `to`, replacing what `to` held (RENAME).
    Rename {
        from: &'a [u8],
        to: &'a [u8],
    },
    /// Copy `from`'s value and expiry to `to`, replacing what `to` held (COPY).
    Copy {
        from: &'a [u8],
        to: &'a [u8],
    },
}

impl<'a> Effect<'a> {
    /// The key the effect changes, if it changes one key. `Rename` and `Copy` give
    /// their destination (a rename also deletes its source).
    pub fn key(&self) -> Option<&'a [u8]> {
        match *self {
            Effect::Set { key, .. }
            | Effect::SetKeepTtl { key, .. }
            | Effect::Del { key }
            | Effect::Expire { key, .. }
            | Effect::Persist { key } => Some(key),
            Effect::Rename { to, .. } | Effect::Copy { to, .. } => Some(to),
            Effect::FlushAll | Effect::ReignStart { .. } | Effect::Unit { .. } => None,
            Effect::Hash(e) => Some(e.key()),
            Effect::List(e) => Some(e.key()),
            Effect::SetMembers(e) => Some(e.key()),
            Effect::ZSet(e) => Some(e.key()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub term: Term,
    pub effect: Effect<'a>,
}

/// Body length and checksum.
pub const RECORD_HEADER_LEN: usize = 8;
/// Term and tag.
const BODY_PREFIX_LEN: usize = 9;
/// Key and value bytes together that one record can carry (Redis's 512 MiB bulk limit,
/// twice over). Commands check this before logging: encode panics above it.
pub const RECORD_PAYLOAD_BYTES_MAX: usize = 1 << 30;
/// The longest body: a `Set` with both strings and the expiry, around the payload.
pub const RECORD_BODY_BYTES_MAX: usize = RECORD_PAYLOAD_BYTES_MAX + BODY_PREFIX_LEN + 4 + 4 + 8;

const _: () = assert!(RECORD_BODY_BYTES_MAX <= u32::MAX as usize);
const _: () = assert!(RECORD_BODY_BYTES_MAX > RECORD_PAYLOAD_BYTES_MAX);
const _: () = assert!(RECORD_HEADER_LEN == 4 + 4);

const TAG_SET: u8 = 1;
const TAG_SET_KEEP_TTL: u8 = 2;
const TAG_DEL: u8 = 3;
const TAG_EXPIRE: u8 = 4;
const TAG_PERSIST: u8 = 5;
const TAG_FLUSH_ALL: u8 = 6;
const TAG_REIGN_START: u8 = 7;
const TAG_HASH: u8 = 8;
const TAG_LIST: u8 = 9;
const TAG_SET_TYPE: u8 = 10;
const TAG_ZSET: u8 = 11;
const TAG_UNIT: u8 = 12;
const TAG_RENAME: u8 = 13;
const TAG_COPY: u8 = 14;

pub(crate) const CORRUPT_CHECKSUM: &str = "record checksum mismatch";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the record does.
    Incomplete,
    /// Bad checksum, unknown tag, bad lengths, trailing bytes in the body, too large.
    Corrupt(&'static str),
}

fn tag(effect: &Effect<'_>) -> u8 {
    match effect {
        Effect::Set { .. } => TAG_SET,
        Effect::SetKeepTtl { .. } => TAG_SET_KEEP_TTL,
        Effect::Del { .. } => TAG_DEL,
        Effect::Expire { .. } => TAG_EXPIRE,
        Effect::Persist { .. } => TAG_PERSIST,
        Effect::FlushAll => TAG_FLUSH_ALL,
        Effect::ReignStart { .. } => TAG_REIGN_START,
        Effect::Hash(_) => TAG_HASH,
        Effect::List(_) => TAG_LIST,
        Effect::SetMembers(_) => TAG_SET_TYPE,
        Effect::ZSet(_) => TAG_ZSET,
        Effect::Unit { .. } => TAG_UNIT,
        Effect::Rename { .. } => TAG_RENAME,
        Effect::Copy { .. } => TAG_COPY,
    }
}

fn body_len(effect: &Effect<'_>) -> usize {
    let fields_len = match effect {
        Effect::Set { key, value, .. } => 4 + key.len() + 4 + value.len() + 8,
        Effect::SetKeepTtl { key, value } => 4 + key.len() + 4 + value.len(),
        Effect::Del { key } | Effect::Persist { key } => 4 + key.len(),
        Effect::Expire { key, .. } => 4 + key.len() + 8,
        Effect::FlushAll => 0,
        Effect::ReignStart { .. } => 8,
        Effect::Hash(e) => e.fields_len(),
        Effect::List(e) => e.fields_len(),
        Effect::SetMembers(e) => e.fields_len(),
        Effect::ZSet(e) => e.fields_len(),
        Effect::Unit { records } => records.len(),
        Effect::Rename { from, to } | Effect::Copy { from, to } => 4 + from.len() + 4 + to.len(),
    };
    BODY_PREFIX_LEN + fields_len
}

/// The framed length of `record`.
pub fn encoded_len(record: &Record<'_>) -> usize {
    RECORD_HEADER_LEN + body_len(&record.effect)
}

/// Append one framed record to `out`. Panics if the record could not be decoded back
/// (too large, or an expiry at the epoch): the caller checks limits before logging.
pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    let body_len = body_len(&record.effect);
    assert!(body_len >= BODY_PREFIX_LEN);
    assert!(body_len <= RECORD_BODY_BYTES_MAX, "record body too large");
    let start = out.len();
    out.reserve(RECORD_HEADER_LEN + body_len);
    out.extend_from_slice(
        &u32::try_from(body_len)
            .expect("checked above")
            .to_le_bytes(),
    );
    out.extend_from_slice(&[0; 4]); // Checksum, filled in below.
    out.extend_from_slice(&record.term.0.to_le_bytes());
    out.push(tag(&record.effect));
    encode_fields(&record.effect, out);
    let body = &out[start + RECORD_HEADER_LEN..];
    assert_eq!(body.len(), body_len);
    let crc = crc32fast::hash(body);
    out[start + 4..start + RECORD_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(out.len() - start, encoded_len(record));
    debug_assert_eq!(decode(&out[start..]), Ok((*record, out.len() - start)));
}

fn encode_fields(effect: &Effect<'_>, out: &mut Vec<u8>) {
    match *effect {
        Effect::Set {
            key,
            value,
            expire_at,
        } => {
            put_bytes(out, key);
            put_bytes(out, value);
            put_expire_at(out, expire_at);
        }
        Effect::SetKeepTtl { key, value } => {
            put_bytes(out, key);
            put_bytes(out, value);
        }
        Effect::Del { key } | Effect::Persist { key } => put_bytes(out, key),
        Effect::Expire { key, at } => {
            put_bytes(out, key);
            assert_ne!(at.0, 0, "expiry at the epoch cannot be encoded");
            assert!(at.0 < EXPIRE_AT_MS_LIMIT, "expiry times stay below 2^63");
            out.extend_from_slice(&at.0.to_le_bytes());
        }
        Effect::FlushAll => {}
        Effect::ReignStart { master_id } => out.extend_from_slice(&master_id.0.to_le_bytes()),
        Effect::Hash(e) => e.encode_fields(out),
        Effect::List(e) => e.encode_fields(out),
        Effect::SetMembers(e) => e.encode_fields(out),
        Effect::ZSet(e) => e.encode_fields(out),
        Effect::Unit { records } => {
            debug_assert!(unit_records(records).is_ok(), "a unit holds whole records");
            out.extend_from_slice(records);
        }
        Effect::Rename { from, to } | Effect::Copy { from, to } => {
            put_bytes(out, from);
            put_bytes(out, to);
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("body length was checked against the max");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_expire_at(out: &mut Vec<u8>, expire_at: Option<UnixMillis>) {
    let expire_at_ms = match expire_at {
        None => 0,
        Some(at) => {
            assert_ne!(at.0, 0, "expiry at the epoch cannot be encoded");
            assert!(at.0 < EXPIRE_AT_MS_LIMIT, "expiry times stay below 2^63");
            at.0
        }
    };
    out.extend_from_slice(&expire_at_ms.to_le_bytes());
}

/// Decode the record at the start of `buf`: the record and its framed length. Never
/// panics, whatever the bytes.
pub fn decode(buf: &[u8]) -> Result<(Record<'_>, usize), DecodeError> {
    let (body, framed_len) = decode_frame(buf)?;
    let record = decode_body(body)?;
    assert_eq!(framed_len, RECORD_HEADER_LEN + body.len());
    assert!(framed_len <= buf.len());
    Ok((record, framed_len))
}

/// Check the frame at the start of `buf`: its body (checksum verified) and framed length.
pub(crate) fn decode_frame(buf: &[u8]) -> Result<(&[u8], usize), DecodeError> {
    let Some(header) = buf.get(..RECORD_HEADER_LEN) else {
        return Err(DecodeError::Incomplete);
    };
    let body_len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    if body_len > RECORD_BODY_BYTES_MAX {
        return Err(DecodeError::Corrupt("record body too large"));
    }
    if body_len < BODY_PREFIX_LEN {
        return Err(DecodeError::Corrupt("record body too short"));
    }
    let framed_len = RECORD_HEADER_LEN + body_len;
    let Some(body) = buf.get(RECORD_HEADER_LEN..framed_len) else {
        return Err(DecodeError::Incomplete);
    };
    if crc32fast::hash(body) != crc {
        return Err(DecodeError::Corrupt(CORRUPT_CHECKSUM));
    }
    Ok((body, framed_len))
}

/// Decode a checksummed body. Every byte must belong to a field.
fn decode_body(body: &[u8]) -> Result<Record<'_>, DecodeError> {
    let mut reader = Reader::new(body);
    let term = Term(reader.u64()?);
    let tag = reader.u8()?;
    let effect = match tag {
        TAG_SET => Effect::Set {
            key: reader.bytes(usize::MAX)?,
            value: reader.bytes(usize::MAX)?,
            expire_at: expire_at_option(&mut reader)?,
        },
        TAG_SET_KEEP_TTL => Effect::SetKeepTtl {
            key: reader.bytes(usize::MAX)?,
            value: reader.bytes(usize::MAX)?,
        },
        TAG_DEL => Effect::Del {
            key: reader.bytes(usize::MAX)?,
        },
        TAG_EXPIRE => Effect::Expire {
            key: reader.bytes(usize::MAX)?,
            at: expire_at(&mut reader)?,
        },
        TAG_PERSIST => Effect::Persist {
            key: reader.bytes(usize::MAX)?,
        },
        TAG_FLUSH_ALL => Effect::FlushAll,
        TAG_REIGN_START => Effect::ReignStart {
            master_id: MasterId(reader.u64()?),
        },
        TAG_HASH => Effect::Hash(HashEffect::decode_fields(&mut reader)?),
        TAG_LIST => Effect::List(ListEffect::decode_fields(&mut reader)?),
        TAG_SET_TYPE => Effect::SetMembers(SetEffect::decode_fields(&mut reader)?),
        TAG_ZSET => Effect::ZSet(ZSetEffect::decode_fields(&mut reader)?),
        TAG_UNIT => {
            let records = reader.take(reader.rest.len())?;
            unit_records(records)?;
            Effect::Unit { records }
        }
        TAG_RENAME => Effect::Rename {
            from: reader.bytes(usize::MAX)?,
            to: reader.bytes(usize::MAX)?,
        },
        TAG_COPY => Effect::Copy {
            from: reader.bytes(usize::MAX)?,
            to: reader.bytes(usize::MAX)?,
        },
        _ => return Err(DecodeError::Corrupt("unknown record tag")),
    };
    if !reader.rest.is_empty() {
        return Err(DecodeError::Corrupt("trailing bytes in record body"));
    }
    let record = Record { term, effect };
    assert_eq!(body_len(&record.effect), body.len());
    Ok(record)
}

/// Check a unit's records: whole, valid, and none of them a unit or a reign start.
fn unit_records(mut records: &[u8]) -> Result<(), FieldError> {
    if records.is_empty() {
        return Err("an empty unit");
    }
    while !records.is_empty() {
        let Ok((record, len)) = decode(records) else {
            return Err("a bad record inside a unit");
        };
        if matches!(
            record.effect,
            Effect::Unit { .. } | Effect::ReignStart { .. }
        ) {
            return Err("a unit inside a unit, or a reign start");
        }
        records = &records[len..];
    }
    Ok(())
}

/// Each effect of a unit's records, in order.
pub fn unit_effects(records: &[u8]) -> impl Iterator<Item = Effect<'_>> {
    let mut rest = records;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (record, len) = decode(rest).expect("a unit's records were checked");
        rest = &rest[len..];
        Some(record.effect)
    })
}

/// Where a unit's frame starts in a buffer of records being written: the frame's
/// header and body prefix are reserved, its records follow, and [`close_unit`] fills
/// the prefix in.
pub(crate) fn open_unit(term: Term, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; RECORD_HEADER_LEN]);
    out.extend_from_slice(&term.0.to_le_bytes());
    out.push(TAG_UNIT);
    start
}

/// Close the unit opened at `start`: frame its records, or, with fewer than two,
/// leave them as they are (a unit of one record is that record).
pub(crate) fn close_unit(start: usize, out: &mut Vec<u8>) {
    let records_at = start + RECORD_HEADER_LEN + BODY_PREFIX_LEN;
    let records = &out[records_at..];
    let count = unit_effects(records).count();
    let body_len = BODY_PREFIX_LEN + records.len();
    if count < 2 || body_len > RECORD_BODY_BYTES_MAX {
        // One record needs no unit. A unit too large for one frame stays as separate
        // records: it cannot be made atomic, and a frame must stay decodable.
        out.drain(start..records_at);
        return;
    }
    let body = &out[start + RECORD_HEADER_LEN..];
    assert_eq!(body.len(), body_len);
    let crc = crc32fast::hash(body);
    let len = u32::try_from(body_len).expect("checked against the max");
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + RECORD_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    debug_assert!(decode(&out[start..]).is_ok_and(|(_, l)| l == out.len() - start));
}

/// An optional expiry: zero means none.
/// Expiry times stay below this: commands take them from `i64` values, and the
/// keyspace keeps a mark in the top bit.
pub const EXPIRE_AT_MS_LIMIT: u64 = 1 << 63;

fn expire_at_option(reader: &mut Reader<'_>) -> Result<Option<UnixMillis>, DecodeError> {
    match reader.u64()? {
        0 => Ok(None),
        at if at >= EXPIRE_AT_MS_LIMIT => Err(DecodeError::Corrupt("expiry past 2^63")),
        at => Ok(Some(UnixMillis(at))),
    }
}

fn expire_at(reader: &mut Reader<'_>) -> Result<UnixMillis, DecodeError> {
    match reader.u64()? {
        0 => Err(DecodeError::Corrupt("expiry at the epoch")),
        at if at >= EXPIRE_AT_MS_LIMIT => Err(DecodeError::Corrupt("expiry past 2^63")),
        expire_at_ms => Ok(UnixMillis(expire_at_ms)),
    }
}

/// A field that runs past a body which passed its checksum is corruption, never
/// `Incomplete`.
impl From<FieldError> for DecodeError {
    fn from(e: FieldError) -> DecodeError {
        DecodeError::Corrupt(e)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bytes::FIELD_PAST_END;
    use proptest::prelude::*;

    fn record(effect: Effect<'_>) -> Record<'_> {
        Record {
            term: Term(7),
            effect,
        }
    }

    fn every_effect() -> Vec<Effect<'static>> {
        vec![
            Effect::Set {
                key: b"k",
                value: b"v",
                expire_at: None,
            },
            Effect::Set {
                key: b"",
                value: b"\0\xff",
                expire_at: Some(UnixMillis(1_700_000_000_000)),
            },
            Effect::SetKeepTtl {
                key: b"counter",
                value: b"42",
            },
            Effect::Del { key: b"k" },
            Effect::Expire {
                key: b"k",
                at: UnixMillis(1),
            },
            Effect::Persist { key: b"k" },
            Effect::FlushAll,
            Effect::ReignStart {
                master_id: MasterId(u64::MAX),
            },
            Effect::Rename {
                from: b"a",
                to: b"b",
            },
            Effect::Copy {
                from: b"",
                to: b"\0\xff",
            },
        ]
    }

    #[test]
    fn every_effect_round_trips() {
        for (i, effect) in every_effect().into_iter().enumerate() {
            let record = record(effect);
            let mut buf = vec![0xaa]; // Encoding appends after existing bytes.
            encode(&record, &mut buf);
            assert_eq!(buf.len(), 1 + encoded_len(&record), "#{i}: {effect:?}");
            let got = decode(&buf[1..]);
            assert_eq!(got, Ok((record, encoded_len(&record))), "#{i}: {effect:?}");
        }
    }

    #[test]
    fn decode_reads_only_the_first_record() {
        let mut buf = Vec::new();
        encode(&record(Effect::Del { key: b"a" }), &mut buf);
        let first_len = buf.len();
        encode(&record(Effect::FlushAll), &mut buf);
        let (got, len) = decode(&buf).unwrap();
        assert_eq!(got.effect, Effect::Del { key: b"a" });
        assert_eq!(len, first_len);
    }

    #[test]
    fn frame_layout_is_stable() {
        let mut buf = Vec::new();
        encode(&record(Effect::Del { key: b"ab" }), &mut buf);
        let body: &[u8] = &[7, 0, 0, 0, 0, 0, 0, 0, TAG_DEL, 2, 0, 0, 0, b'a', b'b'];
        assert_eq!(&buf[..4], &15u32.to_le_bytes());
        assert_eq!(&buf[4..8], &crc32fast::hash(body).to_le_bytes());
        assert_eq!(&buf[8..], body);
    }

    /// Frame `body` with a correct checksum, for building corrupt bodies.
    pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
        buf.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        buf.extend_from_slice(body);
        buf
    }

    #[test]
    fn every_decode_error() {
        let mut valid = Vec::new();
        encode(&record(Effect::Del { key: b"k" }), &mut valid);
        let mut bad_crc = valid.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        let mut too_large = valid.clone();
        too_large[..4].copy_from_slice(&(RECORD_BODY_BYTES_MAX as u32 + 1).to_le_bytes());
        let term = [1, 0, 0, 0, 0, 0, 0, 0];
        let with_term = |rest: &[u8]| frame(&[&term[..], rest].concat());
        let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
            ("empty", vec![], DecodeError::Incomplete),
            (
                "partial header",
                valid[..5].to_vec(),
                DecodeError::Incomplete,
            ),
            (
                "partial body",
                valid[..valid.len() - 1].to_vec(),
                DecodeError::Incomplete,
            ),
            (
                "bad checksum",
                bad_crc,
                DecodeError::Corrupt(CORRUPT_CHECKSUM),
            ),
            (
                "too large",
                too_large,
                DecodeError::Corrupt("record body too large"),
            ),
            (
                "too short",
                frame(&term),
                DecodeError::Corrupt("record body too short"),
            ),
            (
                "unknown tag",
                with_term(&[0]),
                DecodeError::Corrupt("unknown record tag"),
            ),
            (
                "tag 15",
                with_term(&[15]),
                DecodeError::Corrupt("unknown record tag"),
            ),
            (
                "rename without a destination",
                with_term(&[TAG_RENAME, 1, 0, 0, 0, b'a']),
                DecodeError::Corrupt(FIELD_PAST_END),
            ),
            (
                "copy destination past body",
                with_term(&[TAG_COPY, 0, 0, 0, 0, 2, 0, 0, 0, b'b']),
                DecodeError::Corrupt(FIELD_PAST_END),
            ),
            (
                "rename with trailing bytes",
                with_term(&[TAG_RENAME, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
                DecodeError::Corrupt("trailing bytes in record body"),
            ),
            (
                "unknown hash effect",
                with_term(&[TAG_HASH, 9]),
                DecodeError::Corrupt("unknown hash effect"),
            ),
            (
                "unknown list end",
                with_term(&[TAG_LIST, 2, 0, 0, 0, 0, 7]),
                DecodeError::Corrupt("unknown list end"),
            ),
            (
                "odd hash pairs",
                with_term(&[TAG_HASH, 1, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]),
                DecodeError::Corrupt("an odd count of paired elements"),
            ),
            (
                "key past body",
                with_term(&[TAG_DEL, 5, 0, 0, 0, b'k']),
                DecodeError::Corrupt(FIELD_PAST_END),
            ),
            (
                "missing expiry",
                with_term(&[TAG_SET, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]),
                DecodeError::Corrupt(FIELD_PAST_END),
            ),
            (
                "trailing bytes",
                with_term(&[TAG_FLUSH_ALL, 0]),
                DecodeError::Corrupt("trailing bytes in record body"),
            ),
            (
                "expire at epoch",
                with_term(&[TAG_EXPIRE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                DecodeError::Corrupt("expiry at the epoch"),
            ),
        ];
        for (i, (name, buf, want)) in cases.into_iter().enumerate() {
            assert_eq!(decode(&buf).map(|_| ()), Err(want), "#{i}: {name}");
        }
    }

    #[test]
    #[should_panic(expected = "epoch")]
    fn encode_rejects_expiry_at_epoch() {
        let effect = Effect::Expire {
            key: b"k",
            at: UnixMillis(0),
        };
        encode(&record(effect), &mut Vec::new());
    }

    /// An arbitrary effect over the given owned strings.
    #[derive(Clone, Debug)]
    pub(crate) enum OwnedEffect {
        Set(Vec<u8>, Vec<u8>, Option<u64>),
        SetKeepTtl(Vec<u8>, Vec<u8>),
        Del(Vec<u8>),
        Expire(Vec<u8>, u64),
        Persist(Vec<u8>),
        FlushAll,
        ReignStart(u64),
        Rename(Vec<u8>, Vec<u8>),
        Copy(Vec<u8>, Vec<u8>),
    }

    impl OwnedEffect {
        pub(crate) fn effect(&self) -> Effect<'_> {
            match self {
                OwnedEffect::Set(key, value, at) => Effect::Set {
                    key,
                    value,
                    expire_at: at.map(UnixMillis),
                },
                OwnedEffect::SetKeepTtl(key, value) => Effect::SetKeepTtl { key, value },
                OwnedEffect::Del(key) => Effect::Del { key },
                OwnedEffect::Expire(key, at) => Effect::Expire {
                    key,
                    at: UnixMillis(*at),
                },
                OwnedEffect::Persist(key) => Effect::Persist { key },
                OwnedEffect::FlushAll => Effect::FlushAll,
                OwnedEffect::ReignStart(id) => Effect::ReignStart {
                    master_id: MasterId(*id),
                },
                OwnedEffect::Rename(from, to) => Effect::Rename { from, to },
                OwnedEffect::Copy(from, to) => Effect::Copy { from, to },
            }
        }
    }

    pub(crate) fn owned_effect() -> impl Strategy<Value = OwnedEffect> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..16);
        prop_oneof![
            (
                bytes(),
                bytes(),
                proptest::option::of(1u64..EXPIRE_AT_MS_LIMIT)
            )
                .prop_map(|(k, v, at)| OwnedEffect::Set(k, v, at)),
            (bytes(), bytes()).prop_map(|(k, v)| OwnedEffect::SetKeepTtl(k, v)),
            bytes().prop_map(OwnedEffect::Del),
            (bytes(), 1u64..EXPIRE_AT_MS_LIMIT).prop_map(|(k, at)| OwnedEffect::Expire(k, at)),
            bytes().prop_map(OwnedEffect::Persist),
            Just(OwnedEffect::FlushAll),
            any::<u64>().prop_map(OwnedEffect::ReignStart),
            (bytes(), bytes()).prop_map(|(f, t)| OwnedEffect::Rename(f, t)),
            (bytes(), bytes()).prop_map(|(f, t)| OwnedEffect::Copy(f, t)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn encode_decode_round_trip(term in any::<u64>(), owned in owned_effect()) {
            let record = Record { term: Term(term), effect: owned.effect() };
            let mut buf = Vec::new();
            encode(&record, &mut buf);
            prop_assert_eq!(buf.len(), encoded_len(&record));
            prop_assert_eq!(decode(&buf), Ok((record, buf.len())));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok((record, len)) = decode(&bytes) {
                prop_assert!(len <= bytes.len());
                prop_assert_eq!(encoded_len(&record), len);
            }
        }
    }
}
