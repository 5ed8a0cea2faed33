//! Sorted sets: members with a score, ordered by (score, member) as Redis orders them.
//!
//! Two views of the same pairs: a map from member to score for lookups, and an ordered
//! set of (score, member) for ranges. Every change goes through `insert` and `remove`,
//! which keep the two equal.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

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

    /// A member's 0-based rank from the lowest. The ordered set keeps no subtree
    /// counts, so this walks the members below it: O(rank), acceptable for now.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = *self.scores.get(member)?;
        Some(self.order.range(..(score, Box::from(member))).count())
    }

    /// The members whose score is in `range`, from the lowest (or, `reverse`, from the
    /// highest). Finding the first one is O(log n).
    pub fn range_by_score(
        &self,
        range: &ScoreRange,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        let lower = match (range.min, range.min_ex) {
            (min, false) => Some(Bound::Included(Score::new(min))),
            (min, true) if min < f64::INFINITY => Some(Bound::Included(Score::new(min.next_up()))),
            _ => None,
        };
        let upper = match (range.max, range.max_ex) {
            (max, false) if max == f64::INFINITY => Some(Bound::Unbounded),
            (max, false) => Some(Bound::Excluded(Score::new(max.next_up()))),
            (max, true) => Some(Bound::Excluded(Score::new(max))),
        };
        // A score bound sits below every member of that score: the empty member.
        let at_score = |bound: Bound<Score>| bound.map(|score| (score, Box::from(&b""[..])));
        match lower.zip(upper).filter(|_| !range.is_empty()) {
            Some((lower, upper)) => self.bounded(at_score(lower), at_score(upper), reverse),
            None => Box::new(std::iter::empty()),
        }
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
        if range.is_empty() {
            return Box::new(std::iter::empty());
        }
        let (Some(first), Some(last)) = (self.order.first(), self.order.last()) else {
            return Box::new(std::iter::empty());
        };
        if first.0 == last.0 {
            let score = first.0;
            // `-` and `+` on the wrong side make the range empty, which `is_empty` saw.
            let bound = |bound: &LexBound, lower: bool| -> Option<Bound<(Score, Box<[u8]>)>> {
                Some(match bound {
                    LexBound::Min if lower => Bound::Unbounded,
                    LexBound::Max if !lower => Bound::Unbounded,
                    LexBound::Min | LexBound::Max => return None,
                    LexBound::Inclusive(m) => Bound::Included((score, m.clone())),
                    LexBound::Exclusive(m) => Bound::Excluded((score, m.clone())),
                })
            };
            return match (bound(&range.min, true), bound(&range.max, false)) {
                (Some(lower), Some(upper)) => self.bounded(lower, upper, reverse),
                _ => Box::new(std::iter::empty()),
            };
        }
        let range = range.clone();
        let members = self.iter();
        if reverse {
            let above = range.clone();
            Box::new(
                members
                    .rev()
                    .skip_while(move |(m, _)| !above.max.is_at_least(m, false))
                    .take_while(move |(m, _)| range.min.is_at_least(m, true)),
            )
        } else {
            let below = range.clone();
            Box::new(
                members
                    .skip_while(move |(m, _)| !below.min.is_at_least(m, true))
                    .take_while(move |(m, _)| range.max.is_at_least(m, false)),
            )
        }
    }

    /// The ordered pairs between two bounds, or none where the bounds cross (which
    /// `BTreeSet::range` would panic on).
    fn bounded(
        &self,
        lower: Bound<(Score, Box<[u8]>)>,
        upper: Bound<(Score, Box<[u8]>)>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        let crossed = match (&lower, &upper) {
            (Bound::Included(lo), Bound::Included(hi)) => lo > hi,
            (Bound::Included(lo) | Bound::Excluded(lo), Bound::Excluded(hi))
            | (Bound::Excluded(lo), Bound::Included(hi)) => lo >= hi,
            _ => false,
        };
        if crossed {
            return Box::new(std::iter::empty());
        }
        let pairs = self
            .order
            .range((lower, upper))
            .map(|(s, m)| (&**m, s.get()));
        if reverse {
            Box::new(pairs.rev())
        } else {
            Box::new(pairs)
        }
    }

    /// ZSCAN: visit the members in `count` storage slots (at least one) below the
    /// cursor; the next cursor, 0 once done. The same walk, and the same guarantee,
    /// as `Keyspace::scan`: slots go from the highest down, a removal moves the last
    /// member into the hole, so a member stored for the whole scan is visited.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        let len = self.scores.len();
        let start = match cursor {
            0 => len,
            c => usize::try_from(c).map_or(len, |c| c.min(len)),
        };
        let end = start - count.max(1).min(start);
        for index in (end..start).rev() {
            let (member, score) = self.get_index(index).expect("index < len");
            visit(member, score);
        }
        u64::try_from(end).expect("usize fits in u64")
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
