//! The keyspace: keys holding strings or collections ([`Value`]), with optional absolute
//! expiry.
//!
//! Keys and values are binary-safe. Each key costs its key bytes, its value and one
//! inline `u64` expiry (zero means "no expiry"), plus the map's own slot. Each value type
//! lives in its own file (`hash.rs`, `list.rs`, `set.rs`, `zset.rs`); a collection that
//! empties is deleted with its key, as in Redis.
//!
//! Expiry is logical. A key whose expiry has passed is hidden from reads (`get`, `scan`,
//! `keys`) but stays stored until a delete is applied: the master finds expired keys with
//! [`Keyspace::collect_expired`] and logs a delete for each, and replicas only ever
//! delete through the log, so every node's keyspace stays the replay of its AOF.
//!
//! As in Redis, a key with expiry `at` is expired once `now > at` (see [`is_expired`]).
//! The expiry time `UnixMillis(0)` is reserved to mean "no expiry" in storage and in AOF
//! records; an expiry at the epoch is always in the past, so commands log a delete instead.

mod glob;
pub mod hash;
pub mod list;
mod packed;
pub mod set;
mod snapshot;
mod value;
mod watch;
pub mod zset;

pub use glob::glob_match;
pub use snapshot::SnapshotSlice;
pub use value::{Value, ValueType};

use crate::time::UnixMillis;
use indexmap::IndexMap;
use std::hash::BuildHasher;

/// Stored expiry meaning "none".
const EXPIRE_AT_NONE: u64 = 0;

/// Whether a key with expiry `expire_at` is expired at `now` (Redis: `now > when`).
pub fn is_expired(expire_at: UnixMillis, now: UnixMillis) -> bool {
    now.0 > expire_at.0
}

/// SipHash-1-3 keyed from the node's seed: resistant to HashDoS, yet deterministic.
/// Collections take the keyspace's hasher for their own tables.
#[derive(Clone, Copy, Debug)]
pub struct SeededSipHash {
    k0: u64,
    k1: u64,
}

#[allow(deprecated)]
impl BuildHasher for SeededSipHash {
    type Hasher = std::hash::SipHasher;

    fn build_hasher(&self) -> Self::Hasher {
        std::hash::SipHasher::new_with_keys(self.k0, self.k1)
    }
}

#[derive(Clone, Debug)]
struct Entry {
    value: Value,
    /// The absolute expiry in unix milliseconds (`EXPIRE_AT_NONE` for none) in the low
    /// 63 bits, and the snapshot mark in the top bit (see `snapshot`): the mark costs
    /// no memory, as expiry times stay below 2^63 (commands refuse larger ones, and
    /// decoders reject them).
    expiry_and_mark: u64,
}

/// The top bit of `Entry::expiry_and_mark`.
const MARK_BIT: u64 = 1 << 63;

impl Entry {
    fn new(value: Value, expire_at_ms: u64, mark: bool) -> Entry {
        let mut entry = Entry {
            value,
            expiry_and_mark: 0,
        };
        entry.set_expire_at_ms(expire_at_ms);
        entry.set_mark(mark);
        entry
    }

    fn expire_at_ms(&self) -> u64 {
        self.expiry_and_mark & !MARK_BIT
    }

    fn set_expire_at_ms(&mut self, expire_at_ms: u64) {
        assert_eq!(expire_at_ms & MARK_BIT, 0, "expiry times stay below 2^63");
        self.expiry_and_mark = (self.expiry_and_mark & MARK_BIT) | expire_at_ms;
    }

    fn mark(&self) -> bool {
        self.expiry_and_mark & MARK_BIT != 0
    }

    fn set_mark(&mut self, mark: bool) {
        self.expiry_and_mark = (self.expiry_and_mark & !MARK_BIT) | if mark { MARK_BIT } else { 0 };
    }

    fn expire_at(&self) -> Option<UnixMillis> {
        match self.expire_at_ms() {
            EXPIRE_AT_NONE => None,
            at => Some(UnixMillis(at)),
        }
    }

    fn is_live(&self, now: UnixMillis) -> bool {
        match self.expire_at() {
            None => true,
            Some(at) => !is_expired(at, now),
        }
    }

    fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            value: &self.value,
            expire_at: self.expire_at(),
        }
    }
}

/// The stored form of an expiry. Panics on `UnixMillis(0)`, which is reserved (a bug in
/// the caller: decoded records never carry it).
fn expire_at_stored(expire_at: Option<UnixMillis>) -> u64 {
    match expire_at {
        None => EXPIRE_AT_NONE,
        Some(at) => {
            assert_ne!(at.0, EXPIRE_AT_NONE, "expiry at the epoch is reserved");
            assert!(at.0 < MARK_BIT, "expiry times stay below 2^63");
            at.0
        }
    }
}

/// A live view of one entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EntryRef<'a> {
    pub value: &'a Value,
    pub expire_at: Option<UnixMillis>,
}

impl<'a> EntryRef<'a> {
    /// The bytes of a string value; `None` for a collection.
    pub fn as_str(&self) -> Option<&'a [u8]> {
        self.value.as_str()
    }
}

#[derive(Clone)]
pub struct Keyspace {
    map: IndexMap<Box<[u8]>, Entry, SeededSipHash>,
    /// Where the next `collect_expired` call starts examining, as a storage index.
    sweep_index: usize,
    /// The mark of an entry the latest snapshot has dealt with; outside a snapshot,
    /// every entry carries it.
    mark: bool,
    /// The snapshot being written, if one is.
    snapshot: Option<snapshot::Snapshot>,
    /// Planted bug `BaseSkipsMovedEntries` (simulator tests only).
    planted_skips_moved_entries: bool,
    /// The keys clients `WATCH`, and which of them changed.
    watch: watch::WatchSet,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("len", &self.map.len())
            .field("digest", &format_args!("{:016x}", self.digest()))
            .finish()
    }
}

impl Keyspace {
    pub fn new(hash_keys: (u64, u64)) -> Keyspace {
        let hasher = SeededSipHash {
            k0: hash_keys.0,
            k1: hash_keys.1,
        };
        Keyspace {
            map: IndexMap::with_hasher(hasher),
            sweep_index: 0,
            mark: false,
            snapshot: None,
            planted_skips_moved_entries: false,
            watch: watch::WatchSet::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Live entry: `None` if absent or logically expired at `now`. Never deletes: replicas
    /// never delete on their own.
    pub fn get(&self, key: &[u8], now: UnixMillis) -> Option<EntryRef<'_>> {
        let entry = self.map.get(key)?;
        if entry.is_live(now) {
            Some(entry.as_ref())
        } else {
            None
        }
    }

    /// Whether `key` is stored but logically expired at `now` (a write must start anew).
    pub fn is_stored_but_expired(&self, key: &[u8], now: UnixMillis) -> bool {
        self.map.get(key).is_some_and(|e| !e.is_live(now))
    }

    /// Insert or overwrite with a string. An overwrite of a string keeps the existing key
    /// allocation (and the value allocation when the length is unchanged).
    pub fn set(&mut self, key: &[u8], value: &[u8], expire_at: Option<UnixMillis>) {
        let expire_at_ms = expire_at_stored(expire_at);
        if let Some(index) = self.map.get_index_of(key) {
            self.before_change(index);
            let entry = &mut self.map[index];
            overwrite_value(&mut entry.value, value);
            entry.set_expire_at_ms(expire_at_ms);
        } else {
            self.insert_new(key, Value::str(value), expire_at_ms);
        }
        debug_assert_eq!(
            self.map.get(key).and_then(|e| e.value.as_str()),
            Some(value)
        );
    }

    /// Insert or overwrite with any value (a base's entry, `RENAME`, `COPY`).
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: Option<UnixMillis>) {
        assert!(
            !value.is_empty_collection(),
            "no empty collection is stored"
        );
        let expire_at_ms = expire_at_stored(expire_at);
        if let Some(index) = self.map.get_index_of(key) {
            self.before_change(index);
            let entry = &mut self.map[index];
            entry.value = value;
            entry.set_expire_at_ms(expire_at_ms);
        } else {
            self.insert_new(key, value, expire_at_ms);
        }
    }

    fn insert_new(&mut self, key: &[u8], value: Value, expire_at_ms: u64) {
        self.watch.note(key);
        let len_before = self.map.len();
        // A key born after a snapshot's cut is not part of it: it starts dealt with.
        let entry = Entry::new(value, expire_at_ms, self.mark);
        let previous = self.map.insert(key.into(), entry);
        assert!(previous.is_none());
        assert_eq!(self.map.len(), len_before + 1);
    }

    /// Overwrite the value of an existing key in place with a string, keeping its expiry
    /// (APPEND, INCR, SET KEEPTTL). Returns false, changing nothing, if the key is absent.
    pub fn set_value(&mut self, key: &[u8], value: &[u8]) -> bool {
        let Some(index) = self.map.get_index_of(key) else {
            return false;
        };
        self.before_change(index);
        let entry = &mut self.map[index];
        let expire_at_ms = entry.expire_at_ms();
        overwrite_value(&mut entry.value, value);
        assert_eq!(entry.expire_at_ms(), expire_at_ms);
        true
    }

    /// Change the collection at `key` (stored, expired or not) with `change`, creating
    /// an empty one of `value_type` without expiry if the key is absent. A collection
    /// left empty is deleted with its key. Returns `change`'s result, or `None` if the
    /// key holds another type (records never ask for that: the master checked).
    pub fn change_collection<R>(
        &mut self,
        key: &[u8],
        value_type: ValueType,
        change: impl FnOnce(&mut Value) -> R,
    ) -> Option<R> {
        assert_ne!(value_type, ValueType::Str, "strings change through set");
        let index = match self.map.get_index_of(key) {
            Some(index) => {
                self.before_change(index);
                index
            }
            None => {
                let empty = Value::empty(value_type, *self.map.hasher());
                self.insert_new(key, empty, EXPIRE_AT_NONE);
                self.map.len() - 1
            }
        };
        let value = &mut self.map[index].value;
        if value.value_type() != value_type {
            return None;
        }
        let result = change(value);
        if value.is_empty_collection() {
            self.remove(key);
        }
        Some(result)
    }

    /// Count a `WATCH` of `key`: its changes are noted from now on.
    pub fn watch(&mut self, key: &[u8]) {
        self.watch.watch(key);
    }

    /// Drop one `WATCH` of `key`.
    pub fn unwatch(&mut self, key: &[u8]) {
        self.watch.unwatch(key);
    }

    /// The watched keys changed since the last call, and whether every key was dropped.
    pub fn take_touched(&mut self) -> (Vec<Box<[u8]>>, bool) {
        self.watch.take_touched()
    }

    /// How many distinct keys are watched.
    pub fn watched_keys(&self) -> usize {
        self.watch.watched_keys()
    }

    /// The hasher collections are built with.
    pub fn hasher(&self) -> SeededSipHash {
        *self.map.hasher()
    }

    /// Delete a key. Returns whether it was stored (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(index) = self.map.get_index_of(key) else {
            return false;
        };
        self.before_change(index);
        let len_before = self.map.len();
        self.map.swap_remove_index(index);
        assert_eq!(self.map.len() + 1, len_before);
        debug_assert!(!self.map.contains_key(key));
        // The last entry moved into the hole: if that is behind the snapshot's cursor,
        // the cursor would never reach it.
        if index < self.map.len() {
            self.after_move(index);
        }
        true
    }

    /// RENAME: move `from`'s value and expiry (stored, expired or not) to `to`, replacing
    /// what `to` held. Returns false, changing nothing, if `from` is absent. The value
    /// moves without a copy; `from` goes through `remove`, so a snapshot still sees
    /// both keys as they were at its cut.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> bool {
        let Some(index) = self.map.get_index_of(from) else {
            return false;
        };
        if from == to {
            return true;
        }
        // Written out first if a snapshot needs it, so the placeholder below is never.
        self.before_change(index);
        let entry = &mut self.map[index];
        let expire_at = entry.expire_at();
        let value = std::mem::replace(&mut entry.value, Value::Str(Box::default()));
        assert!(self.remove(from));
        self.insert(to, value, expire_at);
        debug_assert!(!self.map.contains_key(from));
        true
    }

    /// COPY: give `to` a clone of `from`'s value and its expiry (stored, expired or
    /// not), replacing what `to` held. Returns false, changing nothing, if `from` is
    /// absent.
    pub fn copy(&mut self, from: &[u8], to: &[u8]) -> bool {
        let Some(entry) = self.map.get(from) else {
            return false;
        };
        let (value, expire_at) = (entry.value.clone(), entry.expire_at());
        self.insert(to, value, expire_at);
        true
    }

    /// Set or clear (`None`) a key's expiry. Returns false, changing nothing, if absent.
    pub fn set_expiry(&mut self, key: &[u8], expire_at: Option<UnixMillis>) -> bool {
        let expire_at_ms = expire_at_stored(expire_at);
        let Some(index) = self.map.get_index_of(key) else {
            return false;
        };
        self.before_change(index);
        self.map[index].set_expire_at_ms(expire_at_ms);
        true
    }

    /// Delete every key. A snapshot being written is given up: its cut is gone.
    pub fn clear(&mut self) {
        self.watch.note_clear();
        self.map.clear();
        self.sweep_index = 0;
        self.snapshot = None;
        assert!(self.map.is_empty());
    }

    /// Push into `out` the keys that are expired at `now`, examining at most `budget`
    /// entries, continuing a round-robin sweep from where the previous call stopped, so
    /// each tick does bounded work and every key is examined eventually. Does not delete:
    /// the caller deletes each key through a logged effect.
    pub fn collect_expired(&mut self, now: UnixMillis, budget: usize, out: &mut Vec<Box<[u8]>>) {
        let len = self.map.len();
        if len == 0 {
            self.sweep_index = 0;
            return;
        }
        // The map may have shrunk since the last call.
        let mut index = if self.sweep_index < len {
            self.sweep_index
        } else {
            0
        };
        // Never examine an entry twice in one call, so `out` holds no duplicates.
        let examine_count = budget.min(len);
        let out_len_before = out.len();
        for _ in 0..examine_count {
            let (key, entry) = self.map.get_index(index).expect("index < len");
            if !entry.is_live(now) {
                out.push(key.clone());
            }
            index += 1;
            if index == len {
                index = 0;
            }
        }
        assert!(index < len);
        assert!(out.len() - out_len_before <= examine_count);
        self.sweep_index = index;
    }

    /// SCAN. Cursor 0 starts a scan; the returned cursor is 0 once the scan is done.
    /// Examines `count` storage slots (at least one) and pushes the live keys among them
    /// that match `pattern`.
    ///
    /// Guarantee (Redis's): a key stored for the whole scan is returned at least once,
    /// even if other keys are inserted or deleted between calls. Slots are visited from
    /// the highest index down, and the cursor is the boundary below which slots remain.
    /// Inserts append above the boundary. A delete (`swap_remove`) moves the last entry,
    /// which is above the boundary or below it already, into the hole: an entry below the
    /// boundary never moves above it, so it is still visited. A moved entry that was
    /// already visited may be returned twice, which SCAN allows.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
        now: UnixMillis,
        out: &mut Vec<Vec<u8>>,
    ) -> u64 {
        let len = self.map.len();
        let (window, next) = set::scan_window(len, cursor, count);
        assert!(!window.is_empty() || len == 0 || next == 0);
        for index in window.rev() {
            let (key, entry) = self.map.get_index(index).expect("index < len");
            if entry.is_live(now) && pattern_matches(pattern, key) {
                out.push(key.to_vec());
            }
        }
        next
    }

    /// KEYS: every live key matching the glob, in storage order.
    pub fn keys(&self, pattern: &[u8], now: UnixMillis, out: &mut Vec<Vec<u8>>) {
        for (key, entry) in &self.map {
            if entry.is_live(now) && pattern_matches(Some(pattern), key) {
                out.push(key.to_vec());
            }
        }
    }

    /// An order-independent digest of the content (keys, values, expiries, expired or
    /// not): equal for two keyspaces with equal content, whatever the insertion order or
    /// hash keys. Each entry is hashed with FNV-1a 64 and mixed, and the entry hashes are
    /// summed with wrapping addition.
    pub fn digest(&self) -> u64 {
        let mut digest = 0u64;
        for (key, entry) in &self.map {
            digest = digest.wrapping_add(entry_digest(key, entry));
        }
        digest
    }

    /// All stored entries, expired ones included, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], EntryRef<'_>)> {
        self.map.iter().map(|(key, entry)| (&**key, entry.as_ref()))
    }
}

fn overwrite_value(slot: &mut Value, value: &[u8]) {
    match slot {
        Value::Str(bytes) if bytes.len() == value.len() => bytes.copy_from_slice(value),
        _ => *slot = Value::str(value),
    }
    debug_assert_eq!(slot.as_str(), Some(value));
}

/// `None` and `*` match every key: Redis special-cases `*` in KEYS and SCAN, which also
/// makes it match the empty key (`stringmatchlen` alone would not).
fn pattern_matches(pattern: Option<&[u8]>, key: &[u8]) -> bool {
    match pattern {
        None => true,
        Some(b"*") => true,
        Some(pattern) => glob_match(pattern, key),
    }
}

fn entry_digest(key: &[u8], entry: &Entry) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.write(&(key.len() as u64).to_le_bytes());
    hasher.write(key);
    hasher.write(&entry.value.digest().to_le_bytes());
    hasher.write(&entry.expire_at_ms().to_le_bytes());
    mix64(hasher.finish())
}

/// FNV-1a 64 of a length-prefixed byte string.
fn bytes_digest(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.write(&(bytes.len() as u64).to_le_bytes());
    hasher.write(bytes);
    hasher.finish()
}

/// splitmix64's finaliser, so that sums of entry hashes do not cancel structurally.
fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct Fnv1a64 {
    state: u64,
}

impl Fnv1a64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv1a64 {
        Fnv1a64 {
            state: Self::OFFSET_BASIS,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state ^= u64::from(byte);
            self.state = self.state.wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests;
