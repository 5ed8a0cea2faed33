//! Effects on sets.

use super::{key, put_bytes};
use crate::aof::elems::Elems;
use crate::bytes::{FieldError, Reader};
use crate::keyspace::{Keyspace, Value, ValueType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetEffect<'a> {
    /// Add members (`SADD`, the destination side of `SMOVE`), creating the set.
    Add { key: &'a [u8], members: Elems<'a> },
    /// Remove members (`SREM`, `SPOP` with the members it picked); the key goes with the
    /// last one.
    Rem { key: &'a [u8], members: Elems<'a> },
}

const ADD: u8 = 1;
const REM: u8 = 2;

impl<'a> SetEffect<'a> {
    pub fn key(&self) -> &'a [u8] {
        match *self {
            SetEffect::Add { key, .. } | SetEffect::Rem { key, .. } => key,
        }
    }

    pub(crate) fn fields_len(&self) -> usize {
        match self {
            SetEffect::Add { key, members } | SetEffect::Rem { key, members } => {
                1 + 4 + key.len() + members.encoded_len()
            }
        }
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) {
        let (sub_tag, key, members) = match *self {
            SetEffect::Add { key, members } => (ADD, key, members),
            SetEffect::Rem { key, members } => (REM, key, members),
        };
        out.push(sub_tag);
        put_bytes(out, key);
        members.encode(out);
    }

    pub(crate) fn decode_fields(reader: &mut Reader<'a>) -> Result<SetEffect<'a>, FieldError> {
        let sub_tag = reader.u8()?;
        let key = key(reader)?;
        let members = Elems::decode(reader)?;
        Ok(match sub_tag {
            ADD => SetEffect::Add { key, members },
            REM => SetEffect::Rem { key, members },
            _ => return Err("unknown set effect"),
        })
    }

    pub(crate) fn apply(&self, keyspace: &mut Keyspace) {
        let applied = keyspace.change_collection(self.key(), ValueType::Set, |value| {
            let Value::Set(set) = value else {
                unreachable!("change_collection checked the type")
            };
            match *self {
                SetEffect::Add { members, .. } => members.iter().for_each(|m| {
                    set.insert(m);
                }),
                SetEffect::Rem { members, .. } => members.iter().for_each(|m| {
                    set.remove(m);
                }),
            }
        });
        debug_assert!(
            applied.is_some(),
            "the master logs set effects on sets only"
        );
    }
}
