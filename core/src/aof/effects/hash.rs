//! Effects on hashes.

use super::{key, put_bytes};
use crate::aof::elems::Elems;
use crate::bytes::{FieldError, Reader};
use crate::keyspace::{Keyspace, Value, ValueType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashEffect<'a> {
    /// Set fields (`HSET`, `HSETNX`, `HINCRBY` with its result), creating the hash.
    Set { key: &'a [u8], pairs: Elems<'a> },
    /// Remove fields (`HDEL`); the key goes with the last one.
    Del { key: &'a [u8], fields: Elems<'a> },
}

const SET: u8 = 1;
const DEL: u8 = 2;

impl<'a> HashEffect<'a> {
    pub fn key(&self) -> &'a [u8] {
        match *self {
            HashEffect::Set { key, .. } | HashEffect::Del { key, .. } => key,
        }
    }

    pub(crate) fn fields_len(&self) -> usize {
        match self {
            HashEffect::Set { key, pairs: elems } | HashEffect::Del { key, fields: elems } => {
                1 + 4 + key.len() + elems.encoded_len()
            }
        }
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) {
        let (sub_tag, key, elems) = match *self {
            HashEffect::Set { key, pairs } => (SET, key, pairs),
            HashEffect::Del { key, fields } => (DEL, key, fields),
        };
        out.push(sub_tag);
        put_bytes(out, key);
        elems.encode(out);
    }

    pub(crate) fn decode_fields(reader: &mut Reader<'a>) -> Result<HashEffect<'a>, FieldError> {
        Ok(match reader.u8()? {
            SET => HashEffect::Set {
                key: key(reader)?,
                pairs: Elems::decode_pairs(reader)?,
            },
            DEL => HashEffect::Del {
                key: key(reader)?,
                fields: Elems::decode(reader)?,
            },
            _ => return Err("unknown hash effect"),
        })
    }

    pub(crate) fn apply(&self, keyspace: &mut Keyspace) {
        let hasher = keyspace.hasher();
        let applied = keyspace.change_collection(self.key(), ValueType::Hash, |value| {
            let Value::Hash(hash) = value else {
                unreachable!("change_collection checked the type")
            };
            match *self {
                HashEffect::Set { pairs, .. } => {
                    for (field, value) in pairs.pairs() {
                        hash.insert(field, value, hasher);
                    }
                }
                HashEffect::Del { fields, .. } => {
                    for field in fields.iter() {
                        hash.remove(field);
                    }
                }
            }
        });
        debug_assert!(
            applied.is_some(),
            "the master logs hash effects on hashes only"
        );
    }
}
