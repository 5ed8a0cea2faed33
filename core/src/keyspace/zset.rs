//! Sorted sets: members with a score, ordered by (score, member) as Redis orders them.
//!
//! Two views of the same pairs: a map from member to score for lookups, and an ordered
//! set of (score, member) for ranges. Every change goes through `insert` and `remove`,
//! which keep the two equal.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{score_of, Elems, ElemsBuf};
use crate::bytes::FieldError;

/// A score that is never NaN, ordered as Redis orders scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(f64);

impl Score {
    pub fn new(score: f64) -> Score {
        assert!(!score.is_nan(), "scores are never NaN");
        // -0.0 and 0.0 are one score.
        Score(if score == 0.0 { 0.0 } else { score })
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.partial_cmp(&other.0).expect("scores are never NaN")
    }
}

#[derive(Clone, Debug)]
pub struct ZSet {
    scores: IndexMap<Box<[u8]>, Score, SeededSipHash>,
    order: BTreeSet<(Score, Box<[u8]>)>,
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.order == other.order
    }
}

impl ZSet {
    pub fn new(hasher: SeededSipHash) -> ZSet {
        ZSet {
            scores: IndexMap::with_hasher(hasher),
            order: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).map(|s| s.get())
    }

    /// Set a member's score; true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        let score = Score::new(score);
        let is_new = match self.scores.get_mut(member) {
            Some(old) => {
                let removed = self.order.remove(&(*old, member.into()));
                assert!(removed, "the two views agree");
                *old = score;
                false
            }
            None => {
                self.scores.insert(member.into(), score);
                true
            }
        };
        self.order.insert((score, member.into()));
        debug_assert_eq!(self.scores.len(), self.order.len());
        is_new
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Some(score) = self.scores.swap_remove(member) else {
            return false;
        };
        let removed = self.order.remove(&(score, member.into()));
        assert!(removed, "the two views agree");
        true
    }

    /// Members from the lowest (score, member) up.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        self.order.iter().map(|(s, m)| (&**m, s.get()))
    }

    /// The ordered view, for range queries.
    pub fn ordered(&self) -> &BTreeSet<(Score, Box<[u8]>)> {
        &self.order
    }

    /// The member and score at a storage position (`ZRANDMEMBER`, `ZSCAN`).
    pub fn get_index(&self, index: usize) -> Option<(&[u8], f64)> {
        self.scores.get_index(index).map(|(m, s)| (&**m, s.get()))
    }

    /// Pairs of (score, member), in order.
    pub fn to_elems(&self, out: &mut ElemsBuf) {
        for (member, score) in self.iter() {
            out.push_score(score);
            out.push(member);
        }
    }

    pub fn from_elems(elems: Elems<'_>, hasher: SeededSipHash) -> Result<ZSet, FieldError> {
        if !elems.len().is_multiple_of(2) {
            return Err("a sorted set's elements come in pairs");
        }
        let mut zset = ZSet::new(hasher);
        for (score, member) in elems.pairs() {
            if !zset.insert(member, score_of(score)?) {
                return Err("a sorted set member twice");
            }
        }
        Ok(zset)
    }

    pub fn digest(&self) -> u64 {
        self.iter()
            .map(|(m, s)| mix64(bytes_digest(m) ^ s.to_bits()))
            .fold(0, u64::wrapping_add)
    }
}
