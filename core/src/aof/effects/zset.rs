//! Effects on sorted sets. Scores are logged as the values they end at (`ZINCRBY` logs
//! the sum), as 8-byte elements.

use super::{key, put_bytes};
use crate::aof::elems::{score_of, Elems};
use crate::bytes::{FieldError, Reader};
use crate::keyspace::{Keyspace, Value, ValueType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZSetEffect<'a> {
    /// Set members' scores: pairs of (score, member), creating the sorted set.
    Add { key: &'a [u8], pairs: Elems<'a> },
    /// Remove members; the key goes with the last one.
    Rem { key: &'a [u8], members: Elems<'a> },
}

const ADD: u8 = 1;
const REM: u8 = 2;

impl<'a> ZSetEffect<'a> {
    pub fn key(&self) -> &'a [u8] {
        match *self {
            ZSetEffect::Add { key, .. } | ZSetEffect::Rem { key, .. } => key,
        }
    }

    pub(crate) fn fields_len(&self) -> usize {
        match self {
            ZSetEffect::Add { key, pairs: elems }
            | ZSetEffect::Rem {
                key,
                members: elems,
            } => 1 + 4 + key.len() + elems.encoded_len(),
        }
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) {
        let (sub_tag, key, elems) = match *self {
            ZSetEffect::Add { key, pairs } => (ADD, key, pairs),
            ZSetEffect::Rem { key, members } => (REM, key, members),
        };
        out.push(sub_tag);
        put_bytes(out, key);
        elems.encode(out);
    }

    pub(crate) fn decode_fields(reader: &mut Reader<'a>) -> Result<ZSetEffect<'a>, FieldError> {
        Ok(match reader.u8()? {
            ADD => {
                let key = key(reader)?;
                let pairs = Elems::decode_pairs(reader)?;
                for (score, _) in pairs.pairs() {
                    score_of(score)?;
                }
                ZSetEffect::Add { key, pairs }
            }
            REM => ZSetEffect::Rem {
                key: key(reader)?,
                members: Elems::decode(reader)?,
            },
            _ => return Err("unknown sorted set effect"),
        })
    }

    pub(crate) fn apply(&self, keyspace: &mut Keyspace) {
        let applied = keyspace.change_collection(self.key(), ValueType::ZSet, |value| {
            let Value::ZSet(zset) = value else {
                unreachable!("change_collection checked the type")
            };
            match *self {
                ZSetEffect::Add { pairs, .. } => {
                    for (score, member) in pairs.pairs() {
                        zset.insert(member, score_of(score).expect("checked when decoded"));
                    }
                }
                ZSetEffect::Rem { members, .. } => members.iter().for_each(|m| {
                    zset.remove(m);
                }),
            }
        });
        debug_assert!(
            applied.is_some(),
            "the master logs zset effects on sorted sets only"
        );
    }
}
