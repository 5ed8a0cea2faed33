//! A key's value: a string or one of the collections, each in its own file.
//!
//! Every value type can be written to a base as [`Elems`] and read back from them
//! (`to_elems` / `from_elems`), and hashed for the keyspace digest. A collection is
//! never stored empty: the keyspace deletes a key whose collection empties, as Redis
//! does.

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::zset::ZSet;
use super::SeededSipHash;
use crate::aof::elems::{Elems, ElemsBuf};
use crate::bytes::FieldError;

/// A collection's slot in the keyspace's slab stays three words, whatever it holds.
const _: () = assert!(std::mem::size_of::<Value>() == 24);

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Box<[u8]>),
    /// Unboxed: a small hash is its packed bytes, held in the slab slot itself.
    Hash(Hash),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// A stored value, borrowed: a string's bytes (stored inline in its key's entry) or a
/// collection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    Hash(&'a Hash),
    List(&'a List),
    Set(&'a Set),
    ZSet(&'a ZSet),
}

/// The type of a value, as `TYPE` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Str,
    Hash,
    List,
    Set,
    ZSet,
}

impl ValueType {
    /// `TYPE`'s reply.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Str => "string",
            ValueType::Hash => "hash",
            ValueType::List => "list",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }

    /// The byte that tags the type in a base entry.
    pub fn tag(self) -> u8 {
        match self {
            ValueType::Str => 0,
            ValueType::Hash => 1,
            ValueType::List => 2,
            ValueType::Set => 3,
            ValueType::ZSet => 4,
        }
    }

    pub const ALL: [ValueType; 5] = [
        ValueType::Str,
        ValueType::Hash,
        ValueType::List,
        ValueType::Set,
        ValueType::ZSet,
    ];

    pub fn from_tag(tag: u8) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.tag() == tag)
    }

    /// `TYPE`'s names back, for `SCAN ... TYPE`.
    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        let named = |t: &ValueType| name.eq_ignore_ascii_case(t.name().as_bytes());
        ValueType::ALL.into_iter().find(named)
    }
}

impl Value {
    pub fn str(bytes: &[u8]) -> Value {
        Value::Str(bytes.into())
    }

    /// The value, borrowed.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(bytes) => ValueRef::Str(bytes),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::List(l) => ValueRef::List(l),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
        }
    }

    pub fn value_type(&self) -> ValueType {
        self.as_ref().value_type()
    }

    pub fn as_str(&self) -> Option<&[u8]> {
        self.as_ref().as_str()
    }

    /// An empty collection of `value_type` (not for strings).
    pub fn empty(value_type: ValueType, hasher: SeededSipHash) -> Value {
        match value_type {
            ValueType::Str => Value::Str(Box::default()),
            ValueType::Hash => Value::Hash(Hash::default()),
            ValueType::List => Value::List(Box::default()),
            ValueType::Set => Value::Set(Box::new(Set::new(hasher))),
            ValueType::ZSet => Value::ZSet(Box::new(ZSet::new(hasher))),
        }
    }

    /// Whether it is a collection with nothing left (the key must go).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// The whole collection as elements, for a base (strings are written as they are).
    pub fn to_elems(&self, out: &mut ElemsBuf) {
        self.as_ref().to_elems(out)
    }

    /// A collection back from a base's elements.
    pub fn from_elems(
        value_type: ValueType,
        elems: Elems<'_>,
        hasher: SeededSipHash,
    ) -> Result<Value, FieldError> {
        let value = match value_type {
            ValueType::Str => {
                let mut items = elems.iter();
                let (Some(bytes), None) = (items.next(), items.next()) else {
                    return Err("a string is one element");
                };
                Value::str(bytes)
            }
            ValueType::Hash => Value::Hash(Hash::from_elems(elems, hasher)?),
            ValueType::List => Value::List(Box::new(List::from_elems(elems))),
            ValueType::Set => Value::Set(Box::new(Set::from_elems(elems, hasher)?)),
            ValueType::ZSet => Value::ZSet(Box::new(ZSet::from_elems(elems, hasher)?)),
        };
        if value.is_empty_collection() {
            return Err("an empty collection");
        }
        Ok(value)
    }

    /// A digest of the content, equal for equal content whatever the storage order of
    /// unordered collections.
    pub fn digest(&self) -> u64 {
        self.as_ref().digest()
    }
}

impl<'a> ValueRef<'a> {
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueRef::Str(_) => ValueType::Str,
            ValueRef::Hash(_) => ValueType::Hash,
            ValueRef::List(_) => ValueType::List,
            ValueRef::Set(_) => ValueType::Set,
            ValueRef::ZSet(_) => ValueType::ZSet,
        }
    }

    pub fn as_str(&self) -> Option<&'a [u8]> {
        match *self {
            ValueRef::Str(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Str(bytes) => Value::str(bytes),
            ValueRef::Hash(h) => Value::Hash(h.clone()),
            ValueRef::List(l) => Value::List(Box::new(l.clone())),
            ValueRef::Set(s) => Value::Set(Box::new(s.clone())),
            ValueRef::ZSet(z) => Value::ZSet(Box::new(z.clone())),
        }
    }

    /// The whole value as elements, for a base (a string is one element).
    pub fn to_elems(&self, out: &mut ElemsBuf) {
        match self {
            ValueRef::Str(bytes) => out.push(bytes),
            ValueRef::Hash(h) => h.to_elems(out),
            ValueRef::List(l) => l.to_elems(out),
            ValueRef::Set(s) => s.to_elems(out),
            ValueRef::ZSet(z) => z.to_elems(out),
        }
    }

    /// A digest of the content, equal for equal content whatever the storage order of
    /// unordered collections.
    pub fn digest(&self) -> u64 {
        let type_tag = u64::from(self.value_type().tag());
        let content = match self {
            ValueRef::Str(bytes) => super::bytes_digest(bytes),
            ValueRef::Hash(h) => h.digest(),
            ValueRef::List(l) => l.digest(),
            ValueRef::Set(s) => s.digest(),
            ValueRef::ZSet(z) => z.digest(),
        };
        super::mix64(content ^ type_tag.rotate_left(56))
    }
}
