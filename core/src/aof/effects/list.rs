//! Effects on lists.

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
}

const PUSH: u8 = 1;
const POP: u8 = 2;

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

impl<'a> ListEffect<'a> {
    pub fn key(&self) -> &'a [u8] {
        match *self {
            ListEffect::Push { key, .. } | ListEffect::Pop { key, .. } => key,
        }
    }

    pub(crate) fn fields_len(&self) -> usize {
        match self {
            ListEffect::Push { key, items, .. } => 1 + 4 + key.len() + 1 + items.encoded_len(),
            ListEffect::Pop { key, .. } => 1 + 4 + key.len() + 1 + 8,
        }
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) {
        match *self {
            ListEffect::Push { key, end, items } => {
                out.push(PUSH);
                put_bytes(out, key);
                out.push(end_byte(end));
                items.encode(out);
            }
            ListEffect::Pop { key, end, count } => {
                out.push(POP);
                put_bytes(out, key);
                out.push(end_byte(end));
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
    }

    pub(crate) fn decode_fields(reader: &mut Reader<'a>) -> Result<ListEffect<'a>, FieldError> {
        Ok(match reader.u8()? {
            PUSH => ListEffect::Push {
                key: key(reader)?,
                end: end_of(reader)?,
                items: Elems::decode(reader)?,
            },
            POP => ListEffect::Pop {
                key: key(reader)?,
                end: end_of(reader)?,
                count: reader.u64()?,
            },
            _ => return Err("unknown list effect"),
        })
    }

    pub(crate) fn apply(&self, keyspace: &mut Keyspace) {
        let applied = keyspace.change_collection(self.key(), ValueType::List, |value| {
            let Value::List(list) = value else {
                unreachable!("change_collection checked the type")
            };
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
            }
        });
        debug_assert!(
            applied.is_some(),
            "the master logs list effects on lists only"
        );
    }
}
