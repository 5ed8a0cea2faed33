//! A small sorted set, packed as Redis's listpack: one buffer of (member, score) pairs
//! in (score, member) order, the score as its 8 bytes. Every operation is a walk over
//! at most `PACKED_ENTRIES_MAX` pairs of at most `PACKED_VALUE_BYTES_MAX` bytes.

use super::Score;
use crate::keyspace::packed::{pair_end, pairs, put};

/// Redis's `zset-max-listpack-entries`.
pub const PACKED_ENTRIES_MAX: usize = 128;
/// Redis's `zset-max-listpack-value`: the longest member a packed set holds.
pub const PACKED_VALUE_BYTES_MAX: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct Packed {
    bytes: Vec<u8>,
    len: usize,
}

fn score_of(bytes: &[u8]) -> Score {
    let bits: [u8; 8] = bytes.try_into().expect("a packed score is 8 bytes");
    Score::new(f64::from_le_bytes(bits))
}

impl Packed {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The pairs in order, with where each starts.
    fn entries(&self) -> impl Iterator<Item = (usize, &[u8], Score)> + '_ {
        pairs(&self.bytes).map(|(start, member, score)| (start, member, score_of(score)))
    }

    fn find(&self, member: &[u8]) -> Option<(usize, Score)> {
        self.entries()
            .find(|e| e.1 == member)
            .map(|(start, _, score)| (start, score))
    }

    pub fn score(&self, member: &[u8]) -> Option<Score> {
        self.find(member).map(|(_, score)| score)
    }

    /// Whether a new member fits in a packed set.
    pub fn has_room_for(&self, member: &[u8]) -> bool {
        self.len < PACKED_ENTRIES_MAX && member.len() <= PACKED_VALUE_BYTES_MAX
    }

    /// Set a member's score; true if it is new. A new member must fit (`has_room_for`).
    pub fn insert(&mut self, member: &[u8], score: Score) -> bool {
        let is_new = !self.remove(member);
        assert!(
            !is_new || self.len < PACKED_ENTRIES_MAX,
            "the caller unpacks first"
        );
        let key = (score, member);
        let at = self
            .entries()
            .find(|&(_, m, s)| (s, m) > key)
            .map_or(self.bytes.len(), |e| e.0);
        let mut pair = Vec::with_capacity(member.len() + 11);
        put(&mut pair, member);
        put(&mut pair, &score.get().to_le_bytes());
        self.bytes.splice(at..at, pair);
        self.len += 1;
        is_new
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Some((start, _)) = self.find(member) else {
            return false;
        };
        let end = pair_end(&self.bytes, start);
        self.bytes.drain(start..end);
        self.len -= 1;
        if self.bytes.capacity() > 2 * self.bytes.len() + 64 {
            self.bytes.shrink_to_fit();
        }
        true
    }

    pub fn count_below(&self, below: impl Fn(Score, &[u8]) -> bool) -> usize {
        self.entries().take_while(|&(_, m, s)| below(s, m)).count()
    }

    /// The members from `rank` up (or, `reverse`, down to the lowest).
    pub fn walk(
        &self,
        rank: usize,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], Score)> + '_> {
        let pairs = self.entries().map(|(_, m, s)| (m, s));
        if reverse {
            // A walk cannot go backwards over varint lengths: gather the few pairs.
            let upto: Vec<_> = pairs.take(rank.saturating_add(1)).collect();
            Box::new(upto.into_iter().rev())
        } else {
            Box::new(pairs.skip(rank))
        }
    }
}
