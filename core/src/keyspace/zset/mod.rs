//! Sorted sets: members with a score, ordered by (score, member) as Redis orders them.
//!
//! A small set is packed (`packed.rs`); a big one is a B+tree that counts what is
//! below each node, with a hash index (`tree.rs`), so that a lookup, an insert, a rank and the start of a range
//! are O(log n) or better. Queries go through ranks: a range of scores or members is
//! first turned into the ranks it covers, then walked.

mod packed;
mod tree;

use std::cmp::Ordering;

use super::{bytes_digest, mix64, SeededSipHash};
use crate::aof::elems::{score_of, Elems, ElemsBuf};
use crate::bytes::FieldError;
use packed::Packed;
pub use packed::{PACKED_ENTRIES_MAX, PACKED_VALUE_BYTES_MAX};
use tree::OrderTree;

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

/// A sorted set: packed while small, an order tree with an index once it outgrows the
/// packed bounds, for good (as Redis's, until it is emptied).
#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
    hasher: SeededSipHash,
}

#[derive(Clone, Debug)]
enum Repr {
    Packed(Packed),
    Tree(OrderTree),
}

impl PartialEq for ZSet {
    /// The same pairs, whatever the encoding.
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl ZSet {
    pub fn new(hasher: SeededSipHash) -> ZSet {
        ZSet {
            repr: Repr::Packed(Packed::default()),
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len(),
            Repr::Tree(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the set is packed (`OBJECT ENCODING` says `listpack`, else `skiplist`, Redis's name for its big encoding).
    pub fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        let score = match &self.repr {
            Repr::Packed(p) => p.score(member),
            Repr::Tree(s) => s.score(member),
        };
        score.map(Score::get)
    }

    /// Set a member's score; true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        let score = Score::new(score);
        if let Repr::Packed(packed) = &mut self.repr {
            if packed.has_room_for(member) || packed.score(member).is_some() {
                return packed.insert(member, score);
            }
            self.unpack();
        }
        let Repr::Tree(tree) = &mut self.repr else {
            unreachable!("unpacked above")
        };
        tree.insert(member, score)
    }

    /// Become a tree, with the same pairs.
    fn unpack(&mut self) {
        let mut tree = OrderTree::new(self.hasher);
        for (member, score) in self.iter() {
            tree.insert(member, Score::new(score));
        }
        self.repr = Repr::Tree(tree);
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(member),
            Repr::Tree(s) => s.remove(member),
        }
    }

    /// The members from 0-based `rank` up (or, `reverse`, from `rank` down to the
    /// lowest). Finding the first is O(log n).
    pub fn walk(&self, rank: usize, reverse: bool) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        if rank >= self.len() {
            return Box::new(std::iter::empty());
        }
        match &self.repr {
            Repr::Packed(p) => Box::new(p.walk(rank, reverse).map(|(m, s)| (m, s.get()))),
            Repr::Tree(s) => Box::new(s.walk(rank, reverse).map(|(m, s)| (m, s.get()))),
        }
    }

    /// Members from the lowest (score, member) up.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        self.walk(0, false)
    }

    /// Members from the highest down.
    pub fn iter_rev(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        self.walk(self.len().saturating_sub(1), true)
    }

    /// How many members come before the first one for which `below` is false; `below`
    /// must hold for a prefix of the order. O(log n) in a tree.
    fn count_below(&self, below: impl Fn(Score, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.count_below(below),
            Repr::Tree(s) => s.count_below(below),
        }
    }

    /// The member and score at 0-based `rank` (`ZRANDMEMBER`): O(log n).
    pub fn nth(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.walk(rank, false).next()
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

    /// A member's 0-based rank from the lowest: O(log n) in a tree.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = Score::new(self.score(member)?);
        Some(self.count_below(|s, m| (s, m) < (score, member)))
    }

    /// The ranks of the members whose score is in `range`: O(log n) in a tree.
    pub fn ranks_by_score(&self, range: &ScoreRange) -> std::ops::Range<usize> {
        if range.is_empty() {
            return 0..0;
        }
        let (min, max) = (range.min, range.max);
        let lower = match range.min_ex {
            false => self.count_below(|s, _| s.get() < min),
            true => self.count_below(|s, _| s.get() <= min),
        };
        let upper = match range.max_ex {
            false => self.count_below(|s, _| s.get() <= max),
            true => self.count_below(|s, _| s.get() < max),
        };
        lower..upper.max(lower)
    }

    /// The members whose score is in `range`, from the lowest (or, `reverse`, from the
    /// highest).
    pub fn range_by_score(
        &self,
        range: &ScoreRange,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        self.ranked(self.ranks_by_score(range), reverse)
    }

    /// The members with ranks in `ranks`, from the lowest (or the highest).
    fn ranked(
        &self,
        ranks: std::ops::Range<usize>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match (ranks.is_empty(), reverse) {
            (true, _) => Box::new(std::iter::empty()),
            (false, false) => Box::new(self.walk(ranks.start, false).take(ranks.len())),
            (false, true) => Box::new(self.walk(ranks.end - 1, true).take(ranks.len())),
        }
    }

    /// The ranks of the members in the lexicographic `range`, for a set whose members
    /// all have one score (`None` otherwise): O(log n) in a tree.
    pub fn ranks_by_lex(&self, range: &LexRange) -> Option<std::ops::Range<usize>> {
        let (first, last) = (
            self.nth(0),
            self.walk(self.len().checked_sub(1)?, true).next(),
        );
        if first?.1 != last?.1 {
            return None;
        }
        if range.is_empty() {
            return Some(0..0);
        }
        // With one score the order is the members' order.
        let lower = match &range.min {
            LexBound::Min => 0,
            LexBound::Max => self.len(),
            LexBound::Inclusive(b) => self.count_below(|_, m| m < &**b),
            LexBound::Exclusive(b) => self.count_below(|_, m| m <= &**b),
        };
        let upper = match &range.max {
            LexBound::Min => 0,
            LexBound::Max => self.len(),
            LexBound::Inclusive(b) => self.count_below(|_, m| m <= &**b),
            LexBound::Exclusive(b) => self.count_below(|_, m| m < &**b),
        };
        Some(lower..upper.max(lower))
    }

    /// The members in the lexicographic `range`, from the lowest (or the highest). As
    /// in Redis, meant for sets whose members all have one score: then the first one
    /// is found in O(log n). With several scores the result follows the walk of the
    /// whole order (skip members below the range, stop at the first one above it).
    pub fn range_by_lex(
        &self,
        range: &LexRange,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        if range.is_empty() || self.is_empty() {
            return Box::new(std::iter::empty());
        }
        if let Some(ranks) = self.ranks_by_lex(range) {
            return self.ranked(ranks, reverse);
        }
        let range = range.clone();
        if reverse {
            let above = range.clone();
            Box::new(
                self.iter_rev()
                    .skip_while(move |(m, _)| !above.max.is_at_least(m, false))
                    .take_while(move |(m, _)| range.min.is_at_least(m, true)),
            )
        } else {
            let below = range.clone();
            Box::new(
                self.iter()
                    .skip_while(move |(m, _)| !below.min.is_at_least(m, true))
                    .take_while(move |(m, _)| range.max.is_at_least(m, false)),
            )
        }
    }

    /// One `ZSCAN` step: a packed set is visited whole (cursor 0 next, as Redis does
    /// for a listpack); a tree's members are visited `count` slots at a time, see
    /// [`OrderTree::scan`].
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        match &self.repr {
            Repr::Packed(_) => {
                self.iter().for_each(|(m, s)| visit(m, s));
                0
            }
            Repr::Tree(s) => s.scan(cursor, count, |m, s| visit(m, s.get())),
        }
    }

    #[cfg(test)]
    fn assert_well_formed(&self) {
        if let Repr::Tree(s) = &self.repr {
            s.assert_well_formed();
        }
        let pairs: Vec<_> = self.iter().collect();
        assert_eq!(pairs.len(), self.len());
        let mut rev: Vec<_> = self.iter_rev().collect();
        rev.reverse();
        assert_eq!(pairs, rev);
    }
}

/// A range of scores, as `ZRANGEBYSCORE` takes it: `(` makes a bound exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    /// Redis's test for a range that holds nothing whatever the set.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    Min,
    Max,
    Inclusive(Box<[u8]>),
    Exclusive(Box<[u8]>),
}

impl LexBound {
    /// Whether `member` is on the inner side of this bound: at or above it for a lower
    /// bound (`lower`), at or below it for an upper one.
    fn is_at_least(&self, member: &[u8], lower: bool) -> bool {
        let (bound, inclusive) = match self {
            LexBound::Min => return lower,
            LexBound::Max => return !lower,
            LexBound::Inclusive(bound) => (&**bound, true),
            LexBound::Exclusive(bound) => (&**bound, false),
        };
        match member.cmp(bound) {
            Ordering::Equal => inclusive,
            Ordering::Greater => lower,
            Ordering::Less => !lower,
        }
    }

    /// Order of bounds as Redis compares them: `-` below everything, `+` above.
    fn rank(&self) -> (u8, &[u8]) {
        match self {
            LexBound::Min => (0, b""),
            LexBound::Inclusive(m) | LexBound::Exclusive(m) => (1, m),
            LexBound::Max => (2, b""),
        }
    }

    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// Redis's test for a range that holds nothing (`-` and `+` count as exclusive).
    pub fn is_empty(&self) -> bool {
        match self.min.rank().cmp(&self.max.rank()) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.is_exclusive() || self.max.is_exclusive(),
            Ordering::Less => false,
        }
    }
}

#[cfg(test)]
mod tests;
