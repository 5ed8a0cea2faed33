//! A big sorted set: a skip list ordered by (score, member), with a span on every link
//! so that a rank is found on the way down (Redis's zskiplist), and a hash index from
//! member to node. Both are O(log n) or better per operation.
//!
//! Nodes live in a slab and link to each other by slot. A member's bytes are stored
//! once, in its node; the index holds only slots and finds a member by hashing it
//! with the set's seeded hasher (HashDoS) and comparing the node's bytes.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use slab::Slab;

use super::Score;
use crate::keyspace::SeededSipHash;

/// Enough levels for 4^32 members at Redis's p = 1/4.
const LEVELS_MAX: usize = 32;
/// The end of a level's chain, and the head's slot in `back`.
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default)]
struct Link {
    /// The next node on this level, or `NIL`.
    next: u32,
    /// How many nodes of level 0 this link jumps over, the next one included.
    span: u32,
}

#[derive(Clone, Debug)]
struct Node {
    member: Box<[u8]>,
    score: Score,
    /// The previous node on level 0, or `NIL` for the first.
    back: u32,
    links: Box<[Link]>,
}

impl Node {
    fn key(&self) -> (Score, &[u8]) {
        (self.score, &self.member)
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Slab<Node>,
    index: HashTable<u32>,
    hasher: SeededSipHash,
    /// The head's links, one per level in use.
    head: Vec<Link>,
    tail: u32,
}

impl SkipList {
    pub fn new(hasher: SeededSipHash) -> SkipList {
        SkipList {
            nodes: Slab::new(),
            index: HashTable::new(),
            hasher,
            head: vec![Link { next: NIL, span: 0 }],
            tail: NIL,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn node(&self, slot: u32) -> &Node {
        &self.nodes[slot as usize]
    }

    fn link(&self, at: u32, level: usize) -> Link {
        match at {
            NIL => self.head[level],
            slot => self.node(slot).links[level],
        }
    }

    fn link_mut(&mut self, at: u32, level: usize) -> &mut Link {
        match at {
            NIL => &mut self.head[level],
            slot => &mut self.nodes[slot as usize].links[level],
        }
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(member);
        let nodes = &self.nodes;
        let found = self
            .index
            .find(hash, |&slot| *nodes[slot as usize].member == *member);
        found.copied()
    }

    pub fn score(&self, member: &[u8]) -> Option<Score> {
        self.find(member).map(|slot| self.node(slot).score)
    }

    /// The nodes before the place of `key` on every level, with the rank of each (the
    /// count of nodes up to and including it; 0 for the head).
    fn path_to(&self, key: (Score, &[u8])) -> ([u32; LEVELS_MAX], [u32; LEVELS_MAX]) {
        let (mut before, mut ranks) = ([NIL; LEVELS_MAX], [0u32; LEVELS_MAX]);
        let (mut at, mut rank) = (NIL, 0);
        for level in (0..self.head.len()).rev() {
            loop {
                let link = self.link(at, level);
                if link.next == NIL || self.node(link.next).key() >= key {
                    break;
                }
                rank += link.span;
                at = link.next;
            }
            before[level] = at;
            ranks[level] = rank;
        }
        (before, ranks)
    }

    /// A node's height, drawn from its member's seeded hash so that the list is the
    /// same for the same members without a generator of its own: each level above the
    /// first with p = 1/4, as Redis.
    fn height_of(&self, member: &[u8]) -> usize {
        let hash = self.hasher.hash_one(member).rotate_left(32);
        (1 + hash.trailing_zeros() as usize / 2).min(LEVELS_MAX)
    }

    /// Set a member's score; true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: Score) -> bool {
        if let Some(slot) = self.find(member) {
            if self.stays_in_place(slot, score) {
                // ZINCRBY's usual case: the order does not change, nor do the links.
                self.nodes[slot as usize].score = score;
            } else {
                let old = self.remove_slot(slot);
                self.link_in(old.member, score);
            }
            return false;
        }
        self.link_in(member.into(), score);
        true
    }

    /// Whether the node at `slot` keeps its place in the order with `score`.
    fn stays_in_place(&self, slot: u32, score: Score) -> bool {
        let node = self.node(slot);
        let key = (score, &*node.member);
        let after_back = node.back == NIL || self.node(node.back).key() < key;
        let next = node.links[0].next;
        after_back && (next == NIL || self.node(next).key() > key)
    }

    fn link_in(&mut self, member: Box<[u8]>, score: Score) {
        let height = self.height_of(&member);
        let (mut before, mut ranks) = self.path_to((score, &member));
        while self.head.len() < height {
            // A new level starts at the head and, for now, spans the whole list.
            let level = self.head.len();
            before[level] = NIL;
            ranks[level] = 0;
            self.head.push(Link {
                next: NIL,
                span: self.len() as u32,
            });
        }
        let hash = self.hasher.hash_one(&*member);
        let slot = self.nodes.vacant_key() as u32;
        assert_ne!(slot, NIL, "a sorted set holds fewer than 2^32 - 1 members");
        let mut links = vec![Link::default(); height].into_boxed_slice();
        for (level, link) in links.iter_mut().enumerate() {
            let prev = self.link_mut(before[level], level);
            let jumped = ranks[0] - ranks[level];
            *link = Link {
                next: prev.next,
                span: prev.span - jumped,
            };
            *prev = Link {
                next: slot,
                span: jumped + 1,
            };
        }
        // Higher links jump over one more node.
        for (level, &prev) in before.iter().enumerate().take(self.head.len()).skip(height) {
            self.link_mut(prev, level).span += 1;
        }
        let next = links[0].next;
        let inserted = self.nodes.insert(Node {
            member,
            score,
            back: before[0],
            links,
        });
        debug_assert_eq!(inserted as u32, slot);
        match next {
            NIL => self.tail = slot,
            next => self.nodes[next as usize].back = slot,
        }
        let nodes = &self.nodes;
        self.index.insert_unique(hash, slot, |&s| {
            self.hasher.hash_one(&*nodes[s as usize].member)
        });
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some(slot) => {
                self.remove_slot(slot);
                true
            }
            None => false,
        }
    }

    /// Unlink a node from every level and the index, and hand it back.
    fn remove_slot(&mut self, slot: u32) -> Node {
        let (before, _) = self.path_to(self.node(slot).key());
        assert_eq!(
            self.link(before[0], 0).next,
            slot,
            "the path leads to the node"
        );
        let node = self.nodes.remove(slot as usize);
        for (level, &prev) in before.iter().enumerate().take(self.head.len()) {
            let prev = self.link_mut(prev, level);
            if prev.next == slot {
                prev.span += node.links[level].span;
                prev.next = node.links[level].next;
            }
            prev.span -= 1;
        }
        match node.links[0].next {
            NIL => self.tail = node.back,
            next => self.nodes[next as usize].back = node.back,
        }
        while self.head.len() > 1 && self.head.last().is_some_and(|l| l.next == NIL) {
            self.head.pop();
        }
        let hash = self.hasher.hash_one(&*node.member);
        let entry = self.index.find_entry(hash, |&s| s == slot);
        entry.expect("every node is indexed").remove();
        node
    }

    /// How many members come before the first one for which `below` is false; `below`
    /// holds for a prefix of the order.
    pub fn count_below(&self, below: impl Fn(Score, &[u8]) -> bool) -> usize {
        let (mut at, mut rank) = (NIL, 0usize);
        for level in (0..self.head.len()).rev() {
            loop {
                let link = self.link(at, level);
                if link.next == NIL
                    || !below(self.node(link.next).score, &self.node(link.next).member)
                {
                    break;
                }
                rank += link.span as usize;
                at = link.next;
            }
        }
        rank
    }

    /// The slot of the member at 0-based `rank`.
    fn slot_at(&self, rank: usize) -> Option<u32> {
        if rank >= self.len() {
            return None;
        }
        let (mut at, mut passed) = (NIL, 0usize);
        for level in (0..self.head.len()).rev() {
            loop {
                let link = self.link(at, level);
                if link.next == NIL || passed + link.span as usize > rank + 1 {
                    break;
                }
                passed += link.span as usize;
                at = link.next;
            }
            if passed == rank + 1 {
                return Some(at);
            }
        }
        unreachable!("a rank below the length is on level 0")
    }

    /// The members from `rank` up (or, `reverse`, down to the lowest).
    pub fn walk(&self, rank: usize, reverse: bool) -> impl Iterator<Item = (&[u8], Score)> + '_ {
        let mut at = self.slot_at(rank).unwrap_or(NIL);
        std::iter::from_fn(move || {
            let node = match at {
                NIL => return None,
                slot => self.node(slot),
            };
            at = if reverse {
                node.back
            } else {
                node.links[0].next
            };
            Some((&*node.member, node.score))
        })
    }

    /// One `ZSCAN` step over slab slots, from `cursor` (0: the top) down `count` slots
    /// (at least one); the next cursor, 0 once done. A node keeps its slot for its
    /// whole life, so a member present for the whole scan is visited.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], Score),
    ) -> u64 {
        let top = self.nodes.capacity();
        let start = match cursor {
            0 => top,
            c => usize::try_from(c).map_or(top, |c| c.min(top)),
        };
        let end = start - count.max(1).min(start);
        for slot in (end..start).rev() {
            if let Some(node) = self.nodes.get(slot) {
                visit(&node.member, node.score);
            }
        }
        u64::try_from(end).expect("usize fits in u64")
    }

    /// Check the links against the nodes: ordered, spans that add up, back links that
    /// mirror level 0, an index that finds every node. For tests.
    #[cfg(test)]
    pub fn assert_well_formed(&self) {
        let order: Vec<u32> = {
            let mut slots = Vec::new();
            let mut at = self.head[0].next;
            while at != NIL {
                slots.push(at);
                at = self.node(at).links[0].next;
            }
            slots
        };
        assert_eq!(order.len(), self.len());
        assert!(order
            .windows(2)
            .all(|w| self.node(w[0]).key() < self.node(w[1]).key()));
        assert_eq!(self.tail, order.last().copied().unwrap_or(NIL));
        let rank_of = |slot: u32| order.iter().position(|&s| s == slot).expect("linked") + 1;
        for level in 0..self.head.len() {
            let (mut at, mut rank) = (NIL, 0);
            loop {
                let link = self.link(at, level);
                if link.next == NIL {
                    break;
                }
                rank += link.span as usize;
                assert_eq!(rank, rank_of(link.next), "spans add up to ranks");
                at = link.next;
            }
        }
        for (i, &slot) in order.iter().enumerate() {
            let back = if i == 0 { NIL } else { order[i - 1] };
            assert_eq!(self.node(slot).back, back);
            assert_eq!(self.find(&self.node(slot).member), Some(slot));
        }
    }
}
