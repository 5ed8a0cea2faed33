//! The keys some client `WATCH`es, and which of them changed since it was last asked.
//!
//! Every change to the keyspace passes through a few places (a change to a stored key,
//! a new key, a clear), whoever makes it: a command on the master, a record from the
//! master at a replica, an expiry's delete. Each of them tells this set, so a `WATCH` is
//! invalidated by every write, replicated ones included. While nobody watches, the set
//! is empty and a change costs one check of its length.

use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub(super) struct WatchSet {
    /// Each watched key, with how many watches it has.
    counts: HashMap<Box<[u8]>, u32>,
    /// Watched keys changed since the last `take_touched`.
    touched: Vec<Box<[u8]>>,
    /// Every key was dropped (`FLUSHALL`) since the last `take_touched`.
    cleared: bool,
}

impl WatchSet {
    pub fn watch(&mut self, key: &[u8]) {
        *self.counts.entry(key.into()).or_insert(0) += 1;
    }

    pub fn unwatch(&mut self, key: &[u8]) {
        let Some(count) = self.counts.get_mut(key) else {
            debug_assert!(false, "unwatch of a key nobody watches");
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.counts.remove(key);
        }
    }

    /// `key` changed.
    pub fn note(&mut self, key: &[u8]) {
        if !self.counts.is_empty() && self.counts.contains_key(key) {
            self.touched.push(key.into());
        }
    }

    pub fn note_clear(&mut self) {
        self.cleared = !self.counts.is_empty();
    }

    /// The watched keys changed since the last call, and whether all were dropped.
    pub fn take_touched(&mut self) -> (Vec<Box<[u8]>>, bool) {
        (
            std::mem::take(&mut self.touched),
            std::mem::take(&mut self.cleared),
        )
    }

    pub fn watched_keys(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_watched_keys_are_noted_and_counts_drop_to_nothing() {
        let mut set = WatchSet::default();
        set.note(b"k");
        assert_eq!(set.take_touched(), (vec![], false), "nothing watched");
        set.watch(b"k");
        set.watch(b"k");
        assert_eq!(set.watched_keys(), 1);
        set.note(b"other");
        set.note(b"k");
        assert_eq!(set.take_touched(), (vec![Box::from(&b"k"[..])], false));
        set.note_clear();
        assert_eq!(set.take_touched(), (vec![], true));
        set.unwatch(b"k");
        assert_eq!(set.watched_keys(), 1, "one watch is left");
        set.unwatch(b"k");
        assert_eq!(set.watched_keys(), 0);
        set.note(b"k");
        set.note_clear();
        assert_eq!(set.take_touched(), (vec![], false), "no watcher is left");
    }
}
