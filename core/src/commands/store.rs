//! The keyspace as commands see it: reads are direct, writes go through the AOF.

use crate::aof::record::{self, Effect, Record};
use crate::aof::replay;
use crate::ids::{Offset, Term};
use crate::keyspace::hash::Hash;
use crate::keyspace::list::List;
use crate::keyspace::set::Set;
use crate::keyspace::zset::ZSet;
use crate::keyspace::{EntryRef, Keyspace, ValueRef};
use crate::stats::Stats;
use crate::time::UnixMillis;

/// The key holds a value of another type: `-WRONGTYPE` (`super::ERR_WRONGTYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongType;

/// A typed lookup's result, or `None` once the WRONGTYPE reply is written to `out`.
pub fn or_wrongtype<T>(found: Result<T, WrongType>, out: &mut Vec<u8>) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(WrongType) => {
            crate::resp::write_error(out, super::ERR_WRONGTYPE);
            None
        }
    }
}

pub struct Store<'a> {
    pub keyspace: &'a mut Keyspace,
    /// Framed records produced during this step, not yet handed to the driver.
    pub aof_pending: &'a mut Vec<u8>,
    /// Logical offset where `aof_pending` starts.
    pub aof_pending_start: Offset,
    pub term: Term,
    pub now: UnixMillis,
    pub stats: &'a mut Stats,
    /// The open unit (`begin_unit`): where its frame starts, and how deep the nesting.
    pub unit: Option<(usize, u32)>,
}

/// Typed lookups, one pair per collection type: `read_*` counts in INFO's hits and
/// misses (read commands), `get_*` does not (writes, and reads that help another
/// command along).
macro_rules! typed_lookups {
    ($read:ident, $get:ident, $variant:ident, $type:ty) => {
        pub fn $read(&mut self, key: &[u8]) -> Result<Option<&$type>, WrongType> {
            let found = self.keyspace.get(key, self.now);
            self.stats.count_lookup(found.is_some());
            match found.map(|e| e.value) {
                None => Ok(None),
                Some(ValueRef::$variant(collection)) => Ok(Some(collection)),
                Some(_) => Err(WrongType),
            }
        }

        pub fn $get(&self, key: &[u8]) -> Result<Option<&$type>, WrongType> {
            match self.keyspace.get(key, self.now).map(|e| e.value) {
                None => Ok(None),
                Some(ValueRef::$variant(collection)) => Ok(Some(collection)),
                Some(_) => Err(WrongType),
            }
        }
    };
}

impl Store<'_> {
    /// A lookup that does not count in INFO's hits and misses: writes, and reads that
    /// only help another command along.
    pub fn get(&self, key: &[u8]) -> Option<EntryRef<'_>> {
        self.keyspace.get(key, self.now)
    }

    /// A read command's lookup: counted in INFO's `keyspace_hits`/`keyspace_misses`.
    pub fn read(&mut self, key: &[u8]) -> Option<EntryRef<'_>> {
        let entry = self.keyspace.get(key, self.now);
        self.stats.count_lookup(entry.is_some());
        entry
    }

    /// A string command's read: the bytes, or `WrongType` for a collection.
    pub fn read_str(&mut self, key: &[u8]) -> Result<Option<&[u8]>, WrongType> {
        let entry = self.keyspace.get(key, self.now);
        self.stats.count_lookup(entry.is_some());
        entry.map(|e| e.as_str().ok_or(WrongType)).transpose()
    }

    /// A string command's uncounted lookup.
    pub fn get_str(&self, key: &[u8]) -> Result<Option<&[u8]>, WrongType> {
        let entry = self.keyspace.get(key, self.now);
        entry.map(|e| e.as_str().ok_or(WrongType)).transpose()
    }

    typed_lookups!(read_hash, get_hash, Hash, Hash);
    typed_lookups!(read_list, get_list, List, List);
    typed_lookups!(read_set, get_set, Set, Set);
    typed_lookups!(read_zset, get_zset, ZSet, ZSet);

    /// Log `effect` as one AOF record, then apply exactly that effect. A collection
    /// effect on a key that is stored but logically expired first deletes it (logged):
    /// the write must start from nothing, not from the expired value.
    pub fn apply(&mut self, effect: Effect<'_>) {
        let on_collection = matches!(
            effect,
            Effect::Hash(_) | Effect::List(_) | Effect::SetMembers(_) | Effect::ZSet(_)
        );
        if let Some(key) = effect.key().filter(|_| on_collection) {
            if self.keyspace.is_stored_but_expired(key, self.now) {
                self.log_and_apply(Effect::Del { key });
            }
        }
        self.log_and_apply(effect);
    }

    fn log_and_apply(&mut self, effect: Effect<'_>) {
        let record = Record {
            term: self.term,
            effect,
        };
        let len_before = self.aof_pending.len();
        record::encode(&record, self.aof_pending);
        debug_assert_eq!(
            self.aof_pending.len() - len_before,
            record::encoded_len(&record)
        );
        replay::apply(self.keyspace, &effect);
    }

    /// Records logged from here to the matching [`Store::end_unit`] are one unit in
    /// the AOF: applied all or none everywhere (a transaction; a command that changes
    /// two keys, as `LMOVE`). Units nest: only the outermost one frames.
    pub fn begin_unit(&mut self) {
        self.unit = match self.unit {
            Some((start, depth)) => Some((start, depth + 1)),
            None => Some((record::open_unit(self.term, self.aof_pending), 1)),
        };
    }

    pub fn end_unit(&mut self) {
        match self.unit.take() {
            Some((start, 1)) => record::close_unit(start, self.aof_pending),
            Some((start, depth)) => self.unit = Some((start, depth - 1)),
            None => panic!("end_unit without begin_unit"),
        }
    }

    /// The AOF offset just past every record logged so far.
    pub fn end(&self) -> Offset {
        Offset(self.aof_pending_start.0 + self.aof_pending.len() as u64)
    }
}
