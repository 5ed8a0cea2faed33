//! Effects on lists. Edits inside a list name positions the master resolved (`LSET`,
//! `LINSERT`, `LTRIM`) or a value and count (`LREM`): a replica holding the same list
//! reaches the same list.

use super::{key, put_bytes};
use crate::aof::elems::Elems;
use crate::bytes::{FieldError, Reader};
use crate::keyspace::{Keyspace, Value, ValueType};

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListEffect<'a> {
    /// Push items one by one at an end (`LPUSH a b` leaves `b a`), creating the list.
    Push {
        key: &'a [u8],
        end: End,
        items: Elems<'a>,
    },
    /// Pop `count` items from an end (at most the list's length); the key goes with the
    /// last one.
    Pop { key: &'a [u8], end: End, count: u64 },
    /// Replace the item at `index` (`LSET`).
    Set {
        key: &'a [u8],
        index: u64,
        item: &'a [u8],
    },
    /// Insert `item` so that it sits at `index` (`LINSERT`).
    Insert {
        key: &'a [u8],
        index: u64,
        item: &'a [u8],
    },
    /// Remove matches of `item` as `LREM key count item` does: the first `count`, the
    /// last `-count`, or all for 0. The key goes with the last item.
    Rem {
        key: &'a [u8],
        count: i64,
        item: &'a [u8],
    },
    /// Keep only the items at positions `start..end` (`LTRIM`). The key goes with the
    /// last item.
    Trim { key: &'a [u8], start: u64, end: u64 },
}

const PUSH: u8 = 1;
const POP: u8 = 2;
const SET: u8 = 3;
const INSERT: u8 = 4;
const REM: u8 = 5;
const TRIM: u8 = 6;

fn end_byte(end: End) -> u8 {
    match end {
        End::Left => 0,
        End::Right => 1,
    }
}

fn end_of(reader: &mut Reader<'_>) -> Result<End, FieldError> {
    match reader.u8()? {
        0 => Ok(End::Left),
        1 => Ok(End::Right),
        _ => Err("unknown list end"),
    }
}

fn item<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], FieldError> {
    reader.bytes(usize::MAX)
}

impl<'a> ListEffect<'a> {
    pub fn key(&self) -> &'a [u8] {
        match *self {
            ListEffect::Push { key, .. }
            | ListEffect::Pop { key, .. }
            | ListEffect::Set { key, .. }
            | ListEffect::Insert { key, .. }
            | ListEffect::Rem { key, .. }
            | ListEffect::Trim { key, .. } => key,
        }
    }

    pub(crate) fn fields_len(&self) -> usize {
        let head = 1 + 4 + self.key().len();
        head + match self {
            ListEffect::Push { items, .. } => 1 + items.encoded_len(),
            ListEffect::Pop { .. } => 1 + 8,
            ListEffect::Set { item, .. }
            | ListEffect::Insert { item, .. }
            | ListEffect::Rem { item, .. } => 8 + 4 + item.len(),
            ListEffect::Trim { .. } => 8 + 8,
        }
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) {
        let sub_tag = match self {
            ListEffect::Push { .. } => PUSH,
            ListEffect::Pop { .. } => POP,
            ListEffect::Set { .. } => SET,
            ListEffect::Insert { .. } => INSERT,
            ListEffect::Rem { .. } => REM,
            ListEffect::Trim { .. } => TRIM,
        };
        out.push(sub_tag);
        put_bytes(out, self.key());
        match *self {
            ListEffect::Push { end, items, .. } => {
                out.push(end_byte(end));
                items.encode(out);
            }
            ListEffect::Pop { end, count, .. } => {
                out.push(end_byte(end));
                out.extend_from_slice(&count.to_le_bytes());
            }
            ListEffect::Set { index, item, .. } | ListEffect::Insert { index, item, .. } => {
                out.extend_from_slice(&index.to_le_bytes());
                put_bytes(out, item);
            }
            ListEffect::Rem { count, item, .. } => {
                out.extend_from_slice(&count.to_le_bytes());
                put_bytes(out, item);
            }
            ListEffect::Trim { start, end, .. } => {
                out.extend_from_slice(&start.to_le_bytes());
                out.extend_from_slice(&end.to_le_bytes());
            }
        }
    }

    pub(crate) fn decode_fields(reader: &mut Reader<'a>) -> Result<ListEffect<'a>, FieldError> {
        let sub_tag = reader.u8()?;
        let key = key(reader)?;
        Ok(match sub_tag {
            PUSH => ListEffect::Push {
                key,
                end: end_of(reader)?,
                items: Elems::decode(reader)?,
            },
            POP => ListEffect::Pop {
                key,
                end: end_of(reader)?,
                count: reader.u64()?,
            },
            SET => ListEffect::Set {
                key,
                index: reader.u64()?,
                item: item(reader)?,
            },
            INSERT => ListEffect::Insert {
                key,
                index: reader.u64()?,
                item: item(reader)?,
            },
            REM => ListEffect::Rem {
                key,
                count: reader.u64()? as i64,
                item: item(reader)?,
            },
            TRIM => {
                let start = reader.u64()?;
                let end = reader.u64()?;
                if start > end {
                    return Err("a list trim that starts past its end");
                }
                ListEffect::Trim { key, start, end }
            }
            _ => return Err("unknown list effect"),
        })
    }

    pub(crate) fn apply(&self, keyspace: &mut Keyspace) {
        let applied = keyspace.change_collection(self.key(), ValueType::List, |value| {
            let Value::List(list) = value else {
                unreachable!("change_collection checked the type")
            };
            // A position past `usize` is past any list: the edit changes nothing.
            let at = |index: u64| usize::try_from(index).unwrap_or(usize::MAX);
            match *self {
                ListEffect::Push { end, items, .. } => items.iter().for_each(|item| match end {
                    End::Left => list.push_front(item),
                    End::Right => list.push_back(item),
                }),
                ListEffect::Pop { end, count, .. } => {
                    for _ in 0..count {
                        let popped = match end {
                            End::Left => list.pop_front(),
                            End::Right => list.pop_back(),
                        };
                        if popped.is_none() {
                            break;
                        }
                    }
                }
                ListEffect::Set { index, item, .. } => list.set(at(index), item),
                ListEffect::Insert { index, item, .. } => list.insert(at(index), item),
                ListEffect::Rem { count, item, .. } => {
                    list.remove(item, count);
                }
                ListEffect::Trim { start, end, .. } => list.trim(at(start), at(end)),
            }
        });
        debug_assert!(
            applied.is_some(),
            "the master logs list effects on lists only"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::elems::ElemsBuf;

    fn round_trip(effect: ListEffect<'_>) {
        let mut encoded = Vec::new();
        effect.encode_fields(&mut encoded);
        assert_eq!(encoded.len(), effect.fields_len(), "{effect:?}");
        let mut reader = Reader::new(&encoded);
        assert_eq!(ListEffect::decode_fields(&mut reader), Ok(effect));
        assert!(reader.rest.is_empty(), "{effect:?}");
        // Every cut of the encoding is an error, never a panic.
        for cut in 0..encoded.len() {
            let decoded = ListEffect::decode_fields(&mut Reader::new(&encoded[..cut]));
            assert!(decoded.is_err(), "{effect:?} cut at {cut}: {decoded:?}");
        }
    }

    #[test]
    fn every_list_effect_round_trips_and_cuts_are_errors() {
        let mut items = ElemsBuf::new();
        items.push(b"a");
        items.push(b"");
        let items = items.as_elems();
        for effect in [
            ListEffect::Push {
                key: b"k",
                end: End::Left,
                items,
            },
            ListEffect::Pop {
                key: b"k",
                end: End::Right,
                count: 3,
            },
            ListEffect::Set {
                key: b"k",
                index: 2,
                item: b"v",
            },
            ListEffect::Insert {
                key: b"",
                index: u64::MAX,
                item: b"",
            },
            ListEffect::Rem {
                key: b"k",
                count: -2,
                item: b"\r\n",
            },
            ListEffect::Rem {
                key: b"k",
                count: i64::MIN,
                item: b"x",
            },
            ListEffect::Trim {
                key: b"k",
                start: 1,
                end: 4,
            },
        ] {
            round_trip(effect);
        }
    }

    #[test]
    fn bad_list_effect_bytes_are_errors() {
        let mut trim = Vec::new();
        ListEffect::Trim {
            key: b"k",
            start: 1,
            end: 4,
        }
        .encode_fields(&mut trim);
        let mut unknown = trim.clone();
        unknown[0] = 99;
        assert_eq!(
            ListEffect::decode_fields(&mut Reader::new(&unknown)),
            Err("unknown list effect")
        );
        // start past end: the bytes after the key are start (8) then end (8).
        let mut backwards = trim.clone();
        let at = 1 + 4 + 1;
        backwards[at..at + 8].copy_from_slice(&9u64.to_le_bytes());
        assert!(ListEffect::decode_fields(&mut Reader::new(&backwards)).is_err());
        let mut bad_end = Vec::new();
        ListEffect::Pop {
            key: b"k",
            end: End::Left,
            count: 1,
        }
        .encode_fields(&mut bad_end);
        bad_end[1 + 4 + 1] = 7;
        assert_eq!(
            ListEffect::decode_fields(&mut Reader::new(&bad_end)),
            Err("unknown list end")
        );
        // An item length that claims more bytes than there are.
        let mut set = Vec::new();
        ListEffect::Set {
            key: b"k",
            index: 0,
            item: b"v",
        }
        .encode_fields(&mut set);
        let len_at = 1 + 4 + 1 + 8;
        set[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(ListEffect::decode_fields(&mut Reader::new(&set)).is_err());
    }
}
