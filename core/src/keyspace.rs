//! The keyspace: Redis strings with optional absolute expiry.
//!
//! Keys and values are binary-safe. Each key costs its key bytes, its value bytes and one
//! inline `u64` expiry (zero means "no expiry"), plus the map's own slot: nothing else is
//! allocated per key.
//!
//! Expiry is logical. A key whose expiry has passed is hidden from reads (`get`, `scan`,
//! `keys`) but stays stored until a delete is applied: the master finds expired keys with
//! [`Keyspace::collect_expired`] and logs a delete for each, and replicas only ever
//! delete through the log, so every node's keyspace stays the replay of its AOF.
//!
//! As in Redis, a key with expiry `at` is expired once `now > at` (see [`is_expired`]).
//! The expiry time `UnixMillis(0)` is reserved to mean "no expiry" in storage and in AOF
//! records; an expiry at the epoch is always in the past, so commands log a delete instead.

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
#[derive(Clone, Copy, Debug)]
struct SeededSipHash {
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
    value: Box<[u8]>,
    /// Absolute expiry in unix milliseconds, `EXPIRE_AT_NONE` for none.
    expire_at_ms: u64,
}

impl Entry {
    fn expire_at(&self) -> Option<UnixMillis> {
        if self.expire_at_ms == EXPIRE_AT_NONE {
            None
        } else {
            Some(UnixMillis(self.expire_at_ms))
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
            at.0
        }
    }
}

/// A live view of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub value: &'a [u8],
    pub expire_at: Option<UnixMillis>,
}

#[derive(Clone)]
pub struct Keyspace {
    map: IndexMap<Box<[u8]>, Entry, SeededSipHash>,
    /// Where the next `collect_expired` call starts examining, as a storage index.
    sweep_index: usize,
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

    /// Insert or overwrite. An overwrite keeps the existing key allocation (and the value
    /// allocation when the length is unchanged).
    pub fn set(&mut self, key: &[u8], value: &[u8], expire_at: Option<UnixMillis>) {
        let expire_at_ms = expire_at_stored(expire_at);
        if let Some(entry) = self.map.get_mut(key) {
            overwrite_value(&mut entry.value, value);
            entry.expire_at_ms = expire_at_ms;
        } else {
            let len_before = self.map.len();
            let entry = Entry {
                value: value.into(),
                expire_at_ms,
            };
            let previous = self.map.insert(key.into(), entry);
            assert!(previous.is_none());
            assert_eq!(self.map.len(), len_before + 1);
        }
        debug_assert_eq!(self.map.get(key).map(|e| &*e.value), Some(value));
    }

    /// Overwrite the value of an existing key in place, keeping its expiry (APPEND, INCR,
    /// SET KEEPTTL). Returns false, changing nothing, if the key is absent.
    pub fn set_value(&mut self, key: &[u8], value: &[u8]) -> bool {
        let Some(entry) = self.map.get_mut(key) else {
            return false;
        };
        let expire_at_ms = entry.expire_at_ms;
        overwrite_value(&mut entry.value, value);
        assert_eq!(entry.expire_at_ms, expire_at_ms);
        true
    }

    /// Delete a key. Returns whether it was stored (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let len_before = self.map.len();
        let removed = self.map.swap_remove(key).is_some();
        assert_eq!(self.map.len() + usize::from(removed), len_before);
        debug_assert!(!self.map.contains_key(key));
        removed
    }

    /// Set or clear (`None`) a key's expiry. Returns false, changing nothing, if absent.
    pub fn set_expiry(&mut self, key: &[u8], expire_at: Option<UnixMillis>) -> bool {
        let expire_at_ms = expire_at_stored(expire_at);
        let Some(entry) = self.map.get_mut(key) else {
            return false;
        };
        entry.expire_at_ms = expire_at_ms;
        true
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.sweep_index = 0;
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
        let boundary_start = if cursor == 0 {
            len
        } else {
            // Clamp: the map may have shrunk, and a client may send any cursor.
            usize::try_from(cursor).map_or(len, |c| c.min(len))
        };
        let examine_count = count.max(1).min(boundary_start);
        let boundary_end = boundary_start - examine_count;
        for index in (boundary_end..boundary_start).rev() {
            let (key, entry) = self.map.get_index(index).expect("index < len");
            if entry.is_live(now) && pattern_matches(pattern, key) {
                out.push(key.to_vec());
            }
        }
        assert!(boundary_end <= boundary_start);
        assert!(boundary_end < boundary_start || len == 0 || boundary_start == 0);
        u64::try_from(boundary_end).expect("usize fits in u64")
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

fn overwrite_value(slot: &mut Box<[u8]>, value: &[u8]) {
    if slot.len() == value.len() {
        slot.copy_from_slice(value);
    } else {
        *slot = value.into();
    }
    debug_assert_eq!(&**slot, value);
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
    hasher.write(&(entry.value.len() as u64).to_le_bytes());
    hasher.write(&entry.value);
    hasher.write(&entry.expire_at_ms.to_le_bytes());
    mix64(hasher.finish())
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

/// Redis glob matching, as `stringmatchlen` (case-sensitive): `*`, `?`, `[abc]`, `[^a]`,
/// `[a-z]` (reversed ranges allowed), `\x` escapes, and an unterminated `[` set running
/// to the end of the pattern. Iterative: on a mismatch it backtracks to the last `*`
/// only, which is enough for globs. Never panics, and takes O(pattern * string) steps.
///
/// As in Redis, an empty string matches only the empty pattern.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    if s.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0usize;
    let mut i = 0usize;
    // After the last `*` seen: where its remainder starts, and where in `s` it was tried.
    let mut star: Option<(usize, usize)> = None;
    loop {
        debug_assert!(p <= pattern.len());
        debug_assert!(i <= s.len());
        if i == s.len() {
            // String consumed: only trailing stars may remain.
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        } else if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, i));
            continue;
        } else if p < pattern.len() {
            if let Some(p_next) = glob_match_one(pattern, p, s[i]) {
                p = p_next;
                i += 1;
                continue;
            }
        }
        // Mismatch: let the last star swallow one more byte, if any remain.
        let Some((star_p, star_i)) = star else {
            return false;
        };
        if star_i + 1 >= s.len() {
            return false;
        }
        star = Some((star_p, star_i + 1));
        p = star_p;
        i = star_i + 1;
    }
}

/// Match the single pattern element at `pattern[p]` (not `*`) against byte `c`. Returns
/// where the next element starts, or `None` on a mismatch.
fn glob_match_one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    assert!(p < pattern.len());
    debug_assert_ne!(pattern[p], b'*');
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => glob_match_set(pattern, p + 1, c),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        literal => (literal == c).then_some(p + 1),
    }
}

/// Match a `[...]` set whose body starts at `pattern[p]` against byte `c`, as Redis does:
/// `^` negates, `\x` is literal, `a-z` is a range, and a set without `]` ends with the
/// pattern.
fn glob_match_set(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = p < pattern.len() && pattern[p] == b'^';
    if negate {
        p += 1;
    }
    let mut matched = false;
    let p_next = loop {
        let remaining = pattern.len() - p;
        if remaining == 0 {
            break p;
        }
        if pattern[p] == b'\\' && remaining >= 2 {
            matched |= pattern[p + 1] == c;
            p += 2;
        } else if pattern[p] == b']' {
            break p + 1;
        } else if remaining >= 3 && pattern[p + 1] == b'-' {
            let (start, end) = (pattern[p], pattern[p + 2]);
            let (low, high) = if start <= end {
                (start, end)
            } else {
                (end, start)
            };
            matched |= low <= c && c <= high;
            p += 3;
        } else {
            matched |= pattern[p] == c;
            p += 1;
        }
    };
    assert!(p_next <= pattern.len());
    (matched != negate).then_some(p_next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const NOW: UnixMillis = UnixMillis(1_000);

    fn keyspace() -> Keyspace {
        Keyspace::new((1, 2))
    }

    #[test]
    fn set_get_overwrite() {
        let mut ks = keyspace();
        assert!(ks.is_empty());
        assert_eq!(ks.get(b"k", NOW), None);
        ks.set(b"k", b"v1", None);
        assert_eq!(ks.len(), 1);
        let want = EntryRef {
            value: b"v1",
            expire_at: None,
        };
        assert_eq!(ks.get(b"k", NOW), Some(want));
        ks.set(b"k", b"value2", Some(UnixMillis(5_000)));
        assert_eq!(ks.len(), 1);
        let want = EntryRef {
            value: b"value2",
            expire_at: Some(UnixMillis(5_000)),
        };
        assert_eq!(ks.get(b"k", NOW), Some(want));
        // Overwrite without expiry clears it, as SET does.
        ks.set(b"k", b"v3", None);
        assert_eq!(ks.get(b"k", NOW).unwrap().expire_at, None);
    }

    #[test]
    fn keys_and_values_are_binary_safe() {
        let mut ks = keyspace();
        ks.set(b"", b"empty key", None);
        ks.set(b"a\0b", b"\0\xff\r\n", None);
        assert_eq!(ks.get(b"", NOW).unwrap().value, b"empty key");
        assert_eq!(ks.get(b"a\0b", NOW).unwrap().value, b"\0\xff\r\n");
        assert_eq!(ks.get(b"a", NOW), None);
        assert_eq!(ks.len(), 2);
    }

    #[test]
    fn get_hides_expired_keys_without_deleting() {
        let mut ks = keyspace();
        ks.set(b"k", b"v", Some(UnixMillis(100)));
        assert!(ks.get(b"k", UnixMillis(99)).is_some());
        // Redis: expired once now > when.
        assert!(ks.get(b"k", UnixMillis(100)).is_some());
        assert_eq!(ks.get(b"k", UnixMillis(101)), None);
        assert_eq!(ks.len(), 1);
        assert_eq!(ks.iter().count(), 1);
    }

    #[test]
    fn set_value_keeps_expiry() {
        let mut ks = keyspace();
        assert!(!ks.set_value(b"k", b"v"));
        assert!(ks.is_empty());
        ks.set(b"k", b"1", Some(UnixMillis(5_000)));
        assert!(ks.set_value(b"k", b"2"));
        assert!(ks.set_value(b"k", b"longer"));
        let want = EntryRef {
            value: b"longer",
            expire_at: Some(UnixMillis(5_000)),
        };
        assert_eq!(ks.get(b"k", NOW), Some(want));
    }

    #[test]
    fn remove_and_clear() {
        let mut ks = keyspace();
        assert!(!ks.remove(b"k"));
        ks.set(b"a", b"1", None);
        ks.set(b"b", b"2", None);
        ks.set(b"c", b"3", Some(UnixMillis(1)));
        assert!(ks.remove(b"a"));
        assert!(!ks.remove(b"a"));
        // Removing an expired key still reports that it was stored.
        assert!(ks.remove(b"c"));
        assert_eq!(ks.len(), 1);
        assert_eq!(ks.get(b"b", NOW).unwrap().value, b"2");
        ks.clear();
        assert!(ks.is_empty());
        assert_eq!(ks.get(b"b", NOW), None);
    }

    #[test]
    fn set_expiry_and_persist() {
        let mut ks = keyspace();
        assert!(!ks.set_expiry(b"k", Some(UnixMillis(10))));
        ks.set(b"k", b"v", None);
        assert!(ks.set_expiry(b"k", Some(UnixMillis(2_000))));
        assert_eq!(
            ks.get(b"k", NOW).unwrap().expire_at,
            Some(UnixMillis(2_000))
        );
        assert_eq!(ks.get(b"k", UnixMillis(2_001)), None);
        assert!(ks.set_expiry(b"k", None));
        assert_eq!(ks.get(b"k", UnixMillis(2_001)).unwrap().expire_at, None);
    }

    #[test]
    #[should_panic(expected = "reserved")]
    fn expiry_at_epoch_is_a_bug() {
        keyspace().set(b"k", b"v", Some(UnixMillis(0)));
    }

    #[test]
    fn collect_expired_is_bounded_and_wraps_around() {
        let mut ks = keyspace();
        for i in 0..10u8 {
            // Even keys expire at 100, odd keys never.
            let expire_at = (i % 2 == 0).then_some(UnixMillis(100));
            ks.set(&[i], b"v", expire_at);
        }
        let now = UnixMillis(200);
        let mut out = Vec::new();
        ks.collect_expired(now, 3, &mut out);
        assert!(out.len() <= 3);
        let mut seen: BTreeSet<Box<[u8]>> = out.iter().cloned().collect();
        // Three more calls of three cover the remaining seven entries and wrap around.
        for _ in 0..3 {
            let len_before = out.len();
            ks.collect_expired(now, 3, &mut out);
            assert!(out.len() - len_before <= 3);
            seen.extend(out[len_before..].iter().cloned());
        }
        let want: BTreeSet<Box<[u8]>> = (0..10u8).step_by(2).map(|i| Box::from([i])).collect();
        assert_eq!(seen, want);
        // Nothing is deleted, and nothing is expired before its time.
        assert_eq!(ks.len(), 10);
        out.clear();
        ks.collect_expired(UnixMillis(100), 100, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn collect_expired_budget_above_len_reports_each_key_once() {
        let mut ks = keyspace();
        ks.set(b"a", b"v", Some(UnixMillis(1)));
        ks.set(b"b", b"v", Some(UnixMillis(1)));
        let mut out = Vec::new();
        ks.collect_expired(NOW, 100, &mut out);
        out.sort();
        assert_eq!(out, vec![Box::from(&b"a"[..]), Box::from(&b"b"[..])]);
        // After deleting, a sweep cursor past the end restarts at zero.
        for key in &out {
            assert!(ks.remove(key));
        }
        out.clear();
        ks.collect_expired(NOW, 100, &mut out);
        assert!(out.is_empty());
        ks.set(b"c", b"v", Some(UnixMillis(1)));
        ks.collect_expired(NOW, 1, &mut out);
        assert_eq!(out, vec![Box::from(&b"c"[..])]);
    }

    #[test]
    fn scan_returns_every_live_match_and_ends_at_zero() {
        let mut ks = keyspace();
        for i in 0..25u32 {
            ks.set(format!("key:{i}").as_bytes(), b"v", None);
        }
        ks.set(b"other", b"v", None);
        ks.set(b"key:expired", b"v", Some(UnixMillis(1)));
        let mut out = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = ks.scan(cursor, 4, Some(b"key:*"), NOW, &mut out);
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(calls, 7); // 27 slots, 4 per call.
        out.sort();
        let mut want: Vec<Vec<u8>> = (0..25u32)
            .map(|i| format!("key:{i}").into_bytes())
            .collect();
        want.sort();
        assert_eq!(out, want);
    }

    #[test]
    fn scan_of_empty_keyspace_and_odd_cursors() {
        let mut ks = keyspace();
        let mut out = Vec::new();
        assert_eq!(ks.scan(0, 10, None, NOW, &mut out), 0);
        assert_eq!(ks.scan(u64::MAX, 10, None, NOW, &mut out), 0);
        ks.set(b"a", b"v", None);
        // Count zero still makes progress; an oversized cursor is clamped.
        assert_eq!(ks.scan(0, 0, None, NOW, &mut out), 0);
        assert_eq!(ks.scan(u64::MAX, 10, None, NOW, &mut out), 0);
        assert_eq!(out, vec![b"a".to_vec(), b"a".to_vec()]);
    }

    #[test]
    fn keys_in_storage_order_skipping_expired() {
        let mut ks = keyspace();
        ks.set(b"b1", b"v", None);
        ks.set(b"a1", b"v", None);
        ks.set(b"b2", b"v", Some(UnixMillis(1)));
        ks.set(b"b3", b"v", None);
        ks.set(b"", b"v", None);
        let mut out = Vec::new();
        ks.keys(b"b*", NOW, &mut out);
        assert_eq!(out, vec![b"b1".to_vec(), b"b3".to_vec()]);
        out.clear();
        ks.keys(b"*", NOW, &mut out);
        let want: Vec<Vec<u8>> = vec![b"b1".to_vec(), b"a1".to_vec(), b"b3".to_vec(), vec![]];
        assert_eq!(out, want);
    }

    #[test]
    fn digest_ignores_order_and_hash_keys() {
        let mut a = Keyspace::new((1, 2));
        let mut b = Keyspace::new((3, 4));
        a.set(b"x", b"1", None);
        a.set(b"y", b"2", Some(UnixMillis(9)));
        b.set(b"y", b"2", Some(UnixMillis(9)));
        b.set(b"x", b"1", None);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(Keyspace::new((5, 6)).digest(), 0);
        b.set_expiry(b"y", Some(UnixMillis(10)));
        assert_ne!(a.digest(), b.digest());
        b.set_expiry(b"y", Some(UnixMillis(9)));
        b.set_value(b"x", b"2");
        assert_ne!(a.digest(), b.digest());
        // Key/value boundaries are part of the digest.
        let mut c = keyspace();
        let mut d = keyspace();
        c.set(b"ab", b"c", None);
        d.set(b"a", b"bc", None);
        assert_ne!(c.digest(), d.digest());
    }

    #[test]
    fn glob_cases() {
        // (pattern, string, want), mostly from Redis's util.c tests and keyspace tests.
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"*", b"anything", true),
            (b"*", b"", false),
            (b"", b"", true),
            (b"", b"a", false),
            (b"a*", b"a", true),
            (b"a*", b"abc", true),
            (b"*c", b"abc", true),
            (b"*c", b"abd", false),
            (b"a*b*c", b"aXbYc", true),
            (b"a*b*c", b"aXbYd", false),
            (b"a**c", b"ac", true),
            (b"h?llo", b"hello", true),
            (b"h?llo", b"hllo", false),
            (b"h*llo", b"heeeello", true),
            (b"h[ae]llo", b"hello", true),
            (b"h[ae]llo", b"hallo", true),
            (b"h[ae]llo", b"hillo", false),
            (b"h[^e]llo", b"hallo", true),
            (b"h[^e]llo", b"hello", false),
            (b"h[a-b]llo", b"hbllo", true),
            (b"h[a-b]llo", b"hcllo", false),
            (b"h[b-a]llo", b"hallo", true),
            (b"h[\\]]llo", b"h]llo", true),
            (b"h[\\-]llo", b"h-llo", true),
            (b"h\\*llo", b"h*llo", true),
            (b"h\\*llo", b"hello", false),
            (b"\\", b"\\", true),
            (b"a\\", b"a\\", true),
            (b"[", b"a", false),
            (b"[abc", b"b", true),
            (b"[abc", b"d", false),
            (b"[^", b"x", true),
            (b"[a-", b"-", true),
            (b"[a-", b"b", false),
            (b"[]", b"a", false),
            (b"*[", b"ab", false),
            (b"?", b"", false),
            (b"???", b"ab", false),
            (
                b"*a*a*a*a*a*a*a*a*b",
                b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
            (b"*?", b"a", true),
            (b"*?*", b"", false),
            (b"user:*:name", b"user:1000:name", true),
            (b"user:*:name", b"user:1000:email", false),
        ];
        for (i, (pattern, s, want)) in cases.iter().enumerate() {
            let got = glob_match(pattern, s);
            assert_eq!(
                got,
                *want,
                "#{i}: glob_match({:?}, {:?}) = {got}, want {want}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(s),
            );
        }
    }

    /// Plain recursive glob without sets or escapes, as a reference for the iterative one.
    fn glob_reference(pattern: &[u8], s: &[u8]) -> bool {
        match (pattern.first(), s.first()) {
            (None, _) => s.is_empty(),
            (Some(b'*'), _) => {
                glob_reference(&pattern[1..], s)
                    || (!s.is_empty() && glob_reference(pattern, &s[1..]))
            }
            (Some(_), None) => false,
            (Some(&p), Some(&c)) => (p == b'?' || p == c) && glob_reference(&pattern[1..], &s[1..]),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn glob_never_panics(pattern in proptest::collection::vec(any::<u8>(), 0..12),
                             s in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = glob_match(&pattern, &s);
        }

        #[test]
        fn glob_agrees_with_reference(pattern in "[ab*?]{0,8}", s in "[ab]{1,8}") {
            let want = glob_reference(pattern.as_bytes(), s.as_bytes());
            prop_assert_eq!(glob_match(pattern.as_bytes(), s.as_bytes()), want);
        }
    }

    #[derive(Clone, Debug)]
    enum ScanStep {
        Scan { count: usize },
        Insert { key: u16 },
        Delete { pick: usize },
        Overwrite { pick: usize },
    }

    fn scan_step() -> impl Strategy<Value = ScanStep> {
        prop_oneof![
            3 => (1usize..6).prop_map(|count| ScanStep::Scan { count }),
            1 => (1000u16..2000).prop_map(|key| ScanStep::Insert { key }),
            2 => any::<usize>().prop_map(|pick| ScanStep::Delete { pick }),
            1 => any::<usize>().prop_map(|pick| ScanStep::Overwrite { pick }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A key stored for the whole scan is returned at least once, whatever inserts,
        /// deletes and overwrites happen between calls.
        #[test]
        fn scan_returns_keys_present_throughout(
            initial in 0u16..60,
            steps in proptest::collection::vec(scan_step(), 1..80),
        ) {
            let mut ks = Keyspace::new((7, 8));
            for i in 0..initial {
                ks.set(&i.to_le_bytes(), b"v", None);
            }
            let mut present: BTreeSet<Vec<u8>> = ks.iter().map(|(k, _)| k.to_vec()).collect();
            let mut returned = BTreeSet::new();
            let mut out = Vec::new();
            let mut cursor = 0u64;
            let mut started = false;
            let mut done = false;
            let steps_then_scans = steps.into_iter().chain(std::iter::repeat(ScanStep::Scan { count: 3 }));
            for step in steps_then_scans.take(2_000) {
                match step {
                    ScanStep::Scan { count } => {
                        out.clear();
                        cursor = ks.scan(cursor, count, None, NOW, &mut out);
                        started = true;
                        returned.extend(out.iter().cloned());
                        if cursor == 0 {
                            done = true;
                            break;
                        }
                    }
                    ScanStep::Insert { key } => ks.set(&key.to_le_bytes(), b"new", None),
                    ScanStep::Delete { pick } if !ks.is_empty() => {
                        let key = ks.iter().nth(pick % ks.len()).unwrap().0.to_vec();
                        ks.remove(&key);
                        present.remove(&key);
                    }
                    ScanStep::Overwrite { pick } if !ks.is_empty() => {
                        let key = ks.iter().nth(pick % ks.len()).unwrap().0.to_vec();
                        ks.set(&key, b"overwritten", None);
                    }
                    ScanStep::Delete { .. } | ScanStep::Overwrite { .. } => {}
                }
            }
            prop_assert!(started && done, "scan must terminate");
            let missing: Vec<_> = present.difference(&returned).collect();
            prop_assert!(missing.is_empty(), "missing keys: {:?}", missing);
        }
    }
}
