//! The keyspace: keys holding strings or collections ([`Value`]), with optional absolute
//! expiry.
//!
//! Keys and values are binary-safe. Each key is one block holding its key bytes, its
//! expiry if it has one, and its string or the slot of its collection (`entry.rs`), in
//! a segmented table that grows a segment at a time (`table.rs`). Each value type lives
//! in its own file (`hash.rs`, `list`, `set`, `zset`); a collection that empties is
//! deleted with its key, as in Redis.
//!
//! Expiry is logical. A key whose expiry has passed is hidden from reads (`get`, `scan`,
//! `keys`) but stays stored until a delete is applied: the master finds expired keys with
//! [`Keyspace::collect_expired`] and logs a delete for each, and replicas only ever
//! delete through the log, so every node's keyspace stays the replay of its AOF.
//!
//! As in Redis, a key with expiry `at` is expired once `now > at` (see [`is_expired`]).
//! The expiry time `UnixMillis(0)` is reserved to mean "no expiry" in storage and in AOF
//! records; an expiry at the epoch is always in the past, so commands log a delete instead.

mod access;
mod entry;
mod glob;
pub mod hash;
pub mod list;
mod packed;
pub mod set;
mod snapshot;
mod table;
mod value;
mod watch;
pub mod zset;

pub use access::Sampled;
pub use glob::glob_match;
pub use snapshot::SnapshotSlice;
pub use value::{Value, ValueRef, ValueType};

use crate::time::UnixMillis;
use entry::{Entry, Payload};
use slab::Slab;
use std::hash::BuildHasher;
use table::{Pos, Table, SEGMENTS};

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

/// A live view of one entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EntryRef<'a> {
    pub value: ValueRef<'a>,
    pub expire_at: Option<UnixMillis>,
}

impl<'a> EntryRef<'a> {
    /// The bytes of a string value; `None` for a collection.
    pub fn as_str(&self) -> Option<&'a [u8]> {
        self.value.as_str()
    }
}

/// The stored form of an expiry. Panics on `UnixMillis(0)`, which is reserved (a bug in
/// the caller: decoded records never carry it).
fn expire_at_stored(expire_at: Option<UnixMillis>) -> u64 {
    match expire_at {
        None => EXPIRE_AT_NONE,
        Some(at) => {
            assert_ne!(at.0, EXPIRE_AT_NONE, "expiry at the epoch is reserved");
            assert!(at.0 < 1 << 63, "expiry times stay below 2^63");
            at.0
        }
    }
}

fn expire_at_of(entry: &Entry) -> Option<UnixMillis> {
    match entry.expire_at_ms() {
        EXPIRE_AT_NONE => None,
        at => Some(UnixMillis(at)),
    }
}

/// The value an entry holds, its collection found in `collections`.
fn value_in<'a>(collections: &'a Slab<Value>, entry: &'a Entry) -> ValueRef<'a> {
    match entry.payload() {
        Payload::Str(bytes) => ValueRef::Str(bytes),
        Payload::Collection(slot) => collections[slot as usize].as_ref(),
    }
}

fn is_live(entry: &Entry, now: UnixMillis) -> bool {
    expire_at_of(entry).is_none_or(|at| !is_expired(at, now))
}

#[derive(Clone)]
pub struct Keyspace {
    /// Every key, with its expiry and its string (see `entry`).
    table: Table,
    /// The collections entries point to by slot. Strings live in their entries.
    collections: Slab<Value>,
    /// Where the next `collect_expired` call starts examining.
    sweep_pos: Pos,
    /// The mark of an entry the latest snapshot has dealt with; outside a snapshot,
    /// every entry carries it.
    mark: bool,
    /// The snapshot being written, if one is.
    snapshot: Option<snapshot::Snapshot>,
    /// Planted bug `BaseSkipsMovedEntries` (simulator tests only).
    planted_skips_moved_entries: bool,
    /// The keys clients `WATCH`, and which of them changed.
    watch: watch::WatchSet,
    /// The access stamp a new key gets (`crate::memory`).
    new_key_stamp: u32,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("len", &self.table.len())
            .field("digest", &format_args!("{:016x}", self.digest()))
            .finish()
    }
}

const START: Pos = Pos { seg: 0, idx: 0 };

impl Keyspace {
    pub fn new(hash_keys: (u64, u64)) -> Keyspace {
        let hasher = SeededSipHash {
            k0: hash_keys.0,
            k1: hash_keys.1,
        };
        Keyspace {
            table: Table::new(hasher),
            collections: Slab::new(),
            sweep_pos: START,
            mark: false,
            snapshot: None,
            planted_skips_moved_entries: false,
            watch: watch::WatchSet::default(),
            new_key_stamp: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    fn value_of<'a>(&'a self, entry: &'a Entry) -> ValueRef<'a> {
        value_in(&self.collections, entry)
    }

    fn entry_ref<'a>(&'a self, entry: &'a Entry) -> EntryRef<'a> {
        EntryRef {
            value: self.value_of(entry),
            expire_at: expire_at_of(entry),
        }
    }

    /// Live entry: `None` if absent or logically expired at `now`. Never deletes: replicas
    /// never delete on their own.
    pub fn get(&self, key: &[u8], now: UnixMillis) -> Option<EntryRef<'_>> {
        let entry = self.table.get(self.table.find(key)?);
        is_live(entry, now).then(|| self.entry_ref(entry))
    }

    /// Whether `key` is stored but logically expired at `now` (a write must start anew).
    pub fn is_stored_but_expired(&self, key: &[u8], now: UnixMillis) -> bool {
        self.table
            .find(key)
            .is_some_and(|pos| !is_live(self.table.get(pos), now))
    }

    /// Insert or overwrite with a string. An overwrite of a string of the same length
    /// keeps the entry's block.
    pub fn set(&mut self, key: &[u8], value: &[u8], expire_at: Option<UnixMillis>) {
        let expire_at_ms = expire_at_stored(expire_at);
        if let Some(pos) = self.table.find(key) {
            self.before_change(pos);
            self.free_collection(pos);
            let entry = self.table.get_mut(pos);
            entry.overwrite(Payload::Str(value), expire_at_ms);
        } else {
            self.insert_new(key, Payload::Str(value), expire_at_ms);
        }
        debug_assert_eq!(
            self.get(key, UnixMillis(0)).and_then(|e| e.as_str()),
            Some(value)
        );
    }

    /// Insert or overwrite with any value (a base's entry, `RENAME`, `COPY`).
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: Option<UnixMillis>) {
        assert!(
            !value.is_empty_collection(),
            "no empty collection is stored"
        );
        if let Value::Str(bytes) = &value {
            return self.set(key, bytes, expire_at);
        }
        let expire_at_ms = expire_at_stored(expire_at);
        if let Some(pos) = self.table.find(key) {
            self.before_change(pos);
            self.free_collection(pos);
            let slot = self.store_collection(value);
            let entry = self.table.get_mut(pos);
            entry.overwrite(Payload::Collection(slot), expire_at_ms);
        } else {
            let slot = self.store_collection(value);
            self.insert_new(key, Payload::Collection(slot), expire_at_ms);
        }
    }

    fn store_collection(&mut self, value: Value) -> u32 {
        assert_ne!(
            value.value_type(),
            ValueType::Str,
            "strings live in entries"
        );
        let slot = self.collections.insert(value);
        u32::try_from(slot).expect("under 2^32 collections")
    }

    /// Free the collection the entry at `pos` holds, if it holds one (it is about to
    /// hold something else, or to go).
    fn free_collection(&mut self, pos: Pos) -> Option<Value> {
        match self.table.get(pos).payload() {
            Payload::Str(_) => None,
            Payload::Collection(slot) => Some(self.collections.remove(slot as usize)),
        }
    }

    fn insert_new(&mut self, key: &[u8], payload: Payload<'_>, expire_at_ms: u64) -> Pos {
        self.watch.note(key);
        let len_before = self.table.len();
        // A key born after a snapshot's cut is not part of it: it starts dealt with.
        let pos = self.table.insert_new(Entry::new(
            key,
            payload,
            expire_at_ms,
            (self.mark, self.new_key_stamp),
        ));
        assert_eq!(self.table.len(), len_before + 1);
        pos
    }

    /// Overwrite the value of an existing key in place with a string, keeping its expiry
    /// (APPEND, INCR, SET KEEPTTL). Returns false, changing nothing, if the key is absent.
    pub fn set_value(&mut self, key: &[u8], value: &[u8]) -> bool {
        let Some(pos) = self.table.find(key) else {
            return false;
        };
        self.before_change(pos);
        self.free_collection(pos);
        let entry = self.table.get_mut(pos);
        let expire_at_ms = entry.expire_at_ms();
        entry.set_payload(Payload::Str(value));
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
        let pos = match self.table.find(key) {
            Some(pos) => {
                self.before_change(pos);
                pos
            }
            None => {
                let empty = Value::empty(value_type, self.table.hasher());
                let slot = self.store_collection(empty);
                self.insert_new(key, Payload::Collection(slot), EXPIRE_AT_NONE)
            }
        };
        let Payload::Collection(slot) = self.table.get(pos).payload() else {
            return None;
        };
        let value = &mut self.collections[slot as usize];
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
        self.table.hasher()
    }

    /// Delete a key. Returns whether it was stored (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.take(key).is_some()
    }

    /// Delete a key and hand back its value and expiry (stored, expired or not).
    fn take(&mut self, key: &[u8]) -> Option<(Value, Option<UnixMillis>)> {
        let pos = self.table.find(key)?;
        self.before_change(pos);
        let len_before = self.table.len();
        let collection = self.free_collection(pos);
        let (entry, moved) = self.table.swap_remove(pos);
        assert_eq!(self.table.len() + 1, len_before);
        debug_assert!(self.table.find(key).is_none());
        // The segment's last entry moved into the hole: if that is behind the snapshot's
        // cursor, the cursor would never reach it.
        if moved {
            self.after_move(pos);
        }
        let value = match (collection, entry.payload()) {
            (Some(collection), _) => collection,
            (None, Payload::Str(bytes)) => Value::str(bytes),
            (None, Payload::Collection(_)) => unreachable!("freed above"),
        };
        Some((value, expire_at_of(&entry)))
    }

    /// RENAME: move `from`'s value and expiry (stored, expired or not) to `to`, replacing
    /// what `to` held. Returns false, changing nothing, if `from` is absent. A collection
    /// moves without a copy; `from` goes through `take`, so a snapshot still sees
    /// both keys as they were at its cut.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> bool {
        if from == to {
            return self.table.find(from).is_some();
        }
        let Some((value, expire_at)) = self.take(from) else {
            return false;
        };
        self.insert(to, value, expire_at);
        debug_assert!(self.table.find(from).is_none());
        true
    }

    /// COPY: give `to` a clone of `from`'s value and its expiry (stored, expired or
    /// not), replacing what `to` held. Returns false, changing nothing, if `from` is
    /// absent.
    pub fn copy(&mut self, from: &[u8], to: &[u8]) -> bool {
        let Some(pos) = self.table.find(from) else {
            return false;
        };
        let entry = self.table.get(pos);
        let (value, expire_at) = (self.value_of(entry).to_value(), expire_at_of(entry));
        self.insert(to, value, expire_at);
        true
    }

    /// Set or clear (`None`) a key's expiry. Returns false, changing nothing, if absent.
    pub fn set_expiry(&mut self, key: &[u8], expire_at: Option<UnixMillis>) -> bool {
        let expire_at_ms = expire_at_stored(expire_at);
        let Some(pos) = self.table.find(key) else {
            return false;
        };
        self.before_change(pos);
        self.table.get_mut(pos).set_expire_at_ms(expire_at_ms);
        true
    }

    /// Delete every key. A snapshot being written is given up: its cut is gone.
    pub fn clear(&mut self) {
        self.watch.note_clear();
        self.table.clear();
        self.collections = Slab::new();
        self.sweep_pos = START;
        self.snapshot = None;
        assert!(self.is_empty());
    }

    /// Push into `out` the keys that are expired at `now`, examining at most `budget`
    /// entries, continuing a round-robin sweep from where the previous call stopped, so
    /// each tick does bounded work and every key is examined eventually. Does not delete:
    /// the caller deletes each key through a logged effect.
    pub fn collect_expired(&mut self, now: UnixMillis, budget: usize, out: &mut Vec<Box<[u8]>>) {
        // Never examine an entry twice in one call, so `out` holds no duplicates.
        let examine_count = budget.min(self.table.len());
        let out_len_before = out.len();
        let mut pos = self.sweep_pos;
        for _ in 0..examine_count {
            let at = self
                .table
                .next_at_or_after(pos)
                .or_else(|| self.table.next_at_or_after(START))
                .expect("the table is not empty");
            let entry = self.table.get(at);
            if !is_live(entry, now) {
                out.push(entry.key().into());
            }
            pos = Pos {
                seg: at.seg,
                idx: at.idx + 1,
            };
        }
        assert!(out.len() - out_len_before <= examine_count);
        self.sweep_pos = pos;
    }

    /// SCAN. Cursor 0 starts a scan; the returned cursor is 0 once the scan is done.
    /// Examines `count` storage slots (at least one, and the rest of a segment's at
    /// most) and pushes the live keys among them that match `pattern`.
    ///
    /// Guarantee (Redis's): a key stored for the whole scan is returned at least once,
    /// even if other keys are inserted or deleted between calls. Segments are visited in
    /// turn, and a key never changes segment. Within one, slots are visited from the
    /// highest index down, and the cursor holds the segment and the boundary below which
    /// slots remain. Inserts append above the boundary. A delete (`swap_remove`) moves
    /// the segment's last entry, which is above the boundary or below it already, into
    /// the hole: an entry below the boundary never moves above it, so it is still
    /// visited. A moved entry that was already visited may be returned twice, which
    /// SCAN allows.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
        now: UnixMillis,
        out: &mut Vec<Vec<u8>>,
    ) -> u64 {
        let (mut seg, mut boundary) = scan_cursor::decode(cursor);
        let mut slots_left = count.max(1);
        // Empty segments cost nothing to pass, and there are SEGMENTS of them at most.
        while seg < SEGMENTS && slots_left > 0 {
            let len = self.table.segment_len(seg);
            let remaining = boundary.map_or(len, |b| b.min(len));
            if remaining == 0 {
                // Done, or a client's cursor of boundary 0 (which `scan_window` would
                // read as "start"): go on to the next segment.
                (seg, boundary) = (seg + 1, None);
                continue;
            }
            let (window, next) = set::scan_window(len, remaining as u64, slots_left);
            slots_left -= window.len();
            for idx in window.rev() {
                let entry = self.table.get(Pos { seg, idx });
                if is_live(entry, now) && pattern_matches(pattern, entry.key()) {
                    out.push(entry.key().to_vec());
                }
            }
            boundary = Some(next as usize);
            if next > 0 {
                break;
            }
            (seg, boundary) = (seg + 1, None);
        }
        let rest_is_empty =
            boundary.is_none() && (seg..SEGMENTS).all(|s| self.table.segment_len(s) == 0);
        if seg >= SEGMENTS || rest_is_empty {
            return 0;
        }
        scan_cursor::encode(seg, boundary)
    }

    /// KEYS: every live key matching the glob, in storage order.
    pub fn keys(&self, pattern: &[u8], now: UnixMillis, out: &mut Vec<Vec<u8>>) {
        for entry in self.table.iter() {
            if is_live(entry, now) && pattern_matches(Some(pattern), entry.key()) {
                out.push(entry.key().to_vec());
            }
        }
    }

    /// An order-independent digest of the content (keys, values, expiries, expired or
    /// not): equal for two keyspaces with equal content, whatever the insertion order or
    /// hash keys. Each entry is hashed with FNV-1a 64 and mixed, and the entry hashes are
    /// summed with wrapping addition.
    pub fn digest(&self) -> u64 {
        self.iter().fold(0u64, |digest, (key, entry)| {
            digest.wrapping_add(entry_digest(key, entry))
        })
    }

    /// The stored entry (expired or not) at index `n` of storage order, `n < len`: a
    /// uniform pick for RANDOMKEY, given a uniform `n`.
    pub fn nth(&self, n: usize) -> (&[u8], EntryRef<'_>) {
        let entry = self.table.nth(n);
        (entry.key(), self.entry_ref(entry))
    }

    /// All stored entries, expired ones included, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], EntryRef<'_>)> {
        self.table
            .iter()
            .map(|entry| (entry.key(), self.entry_ref(entry)))
    }

    /// The bytes the keyspace's own structures hold: the table and the collection slab
    /// (not the entries' blocks, nor what collections hold).
    pub fn overhead_bytes(&self) -> usize {
        self.table.overhead_bytes() + self.collections.capacity() * std::mem::size_of::<Value>()
    }
}

/// SCAN's cursor: 0 is the start and the end; otherwise the segment in the high 32
/// bits, plus one, and in the low 32 the boundary in it (slots below it remain), all
/// ones for "the whole segment".
mod scan_cursor {
    use super::SEGMENTS;

    /// The segment, and the boundary in it (`None`: the whole segment remains).
    pub(super) fn decode(cursor: u64) -> (usize, Option<usize>) {
        let (seg_plus_one, boundary) = ((cursor >> 32) as usize, cursor & 0xffff_ffff);
        match (seg_plus_one, boundary) {
            (0, _) => (0, None),
            // A client may send any cursor: one past the segments ends the scan.
            (s, 0xffff_ffff) => ((s - 1).min(SEGMENTS), None),
            (s, b) => ((s - 1).min(SEGMENTS), Some(b as usize)),
        }
    }

    pub(super) fn encode(seg: usize, boundary: Option<usize>) -> u64 {
        assert!(seg < SEGMENTS);
        let boundary = boundary.map_or(0xffff_ffff, |b| {
            assert!(b > 0 && b < 0xffff_ffff, "a boundary inside the segment");
            b as u64
        });
        ((seg as u64 + 1) << 32) | boundary
    }
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

fn entry_digest(key: &[u8], entry: EntryRef<'_>) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.write(&(key.len() as u64).to_le_bytes());
    hasher.write(key);
    hasher.write(&entry.value.digest().to_le_bytes());
    let expire_at_ms = entry.expire_at.map_or(EXPIRE_AT_NONE, |at| at.0);
    hasher.write(&expire_at_ms.to_le_bytes());
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
