//! A big sorted set: a B+tree ordered by (score, member) whose inner nodes count the
//! members below each child, so that a rank is summed on the way down, and a hash index
//! from member to its slot. A lookup is O(1), an insert, a removal, a rank and the
//! start of a range O(log n).
//!
//! Why a B+tree and not Redis's skip list: a skip list pays a cache miss per hop, and
//! a big set is far larger than the caches; a B+tree node holds dozens of keys in a
//! few lines. A key is (score, member slot): the score sits in the node, so the
//! member's bytes are read only on a tie of scores.
//!
//! Members live in a slab, stored once; the index holds slots and finds a member by
//! hashing it with the set's seeded hasher (HashDoS) and comparing the bytes. Nodes
//! live in another slab and refer to each other by slot; leaves are linked both ways
//! for walks. A removal that empties a node unlinks it; nodes are not merged, so the
//! height is that of the set's largest size, and stays O(log n) of it.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use slab::Slab;

use super::Score;
use crate::keyspace::SeededSipHash;

/// The most keys in a leaf and children in an inner node, before it splits in two.
const FANOUT_MAX: usize = 64;
/// No leaf: the end of the leaf chain.
const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Member {
    bytes: Box<[u8]>,
    score: Score,
}

/// A member's place in the order: its score, and its slot for the bytes on a tie.
#[derive(Clone, Copy, Debug)]
struct Key {
    score: Score,
    slot: u32,
}

#[derive(Clone, Copy, Debug)]
struct Child {
    /// The lowest key below this child (a removal of it puts the next one here).
    /// Unused, and not kept, for a first child.
    first: Key,
    /// The members below this child.
    count: u32,
    node: u32,
}

#[derive(Clone, Debug)]
enum Node {
    Leaf {
        keys: Vec<Key>,
        prev: u32,
        next: u32,
    },
    Inner {
        children: Vec<Child>,
    },
}

#[derive(Clone, Debug)]
pub struct OrderTree {
    members: Slab<Member>,
    index: HashTable<u32>,
    hasher: SeededSipHash,
    nodes: Slab<Node>,
    root: u32,
}

/// The members, for the comparisons that the nodes' borrows leave them out of.
struct Order<'a>(&'a Slab<Member>);

impl Order<'_> {
    fn cmp(&self, key: Key, target: (Score, &[u8])) -> Ordering {
        key.score
            .cmp(&target.0)
            .then_with(|| (*self.0[key.slot as usize].bytes).cmp(target.1))
    }

    fn below(&self, key: Key, below: &impl Fn(Score, &[u8]) -> bool) -> bool {
        below(key.score, &self.0[key.slot as usize].bytes)
    }

    /// The child whose keys `target` falls among: the last whose `first` is at most
    /// `target`, or the first child.
    fn child_for(&self, children: &[Child], target: (Score, &[u8])) -> usize {
        children[1..].partition_point(|c| self.cmp(c.first, target) != Ordering::Greater)
    }
}

impl OrderTree {
    pub fn new(hasher: SeededSipHash) -> OrderTree {
        let mut nodes = Slab::new();
        let root = nodes.insert(Node::Leaf {
            keys: Vec::new(),
            prev: NONE,
            next: NONE,
        }) as u32;
        OrderTree {
            members: Slab::new(),
            index: HashTable::new(),
            hasher,
            nodes,
            root,
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(member);
        let members = &self.members;
        let found = self
            .index
            .find(hash, |&slot| *members[slot as usize].bytes == *member);
        found.copied()
    }

    pub fn score(&self, member: &[u8]) -> Option<Score> {
        self.find(member)
            .map(|slot| self.members[slot as usize].score)
    }

    /// Set a member's score; true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: Score) -> bool {
        let (slot, is_new) = match self.find(member) {
            Some(slot) if self.members[slot as usize].score == score => return false,
            Some(slot) => {
                self.unlink(slot);
                self.members[slot as usize].score = score;
                (slot, false)
            }
            None => {
                let slot = self.members.insert(Member {
                    bytes: member.into(),
                    score,
                }) as u32;
                assert_ne!(slot, NONE, "a sorted set holds fewer than 2^32 - 1 members");
                let hash = self.hasher.hash_one(member);
                let (members, hasher) = (&self.members, &self.hasher);
                self.index.insert_unique(hash, slot, |&s| {
                    hasher.hash_one(&*members[s as usize].bytes)
                });
                (slot, true)
            }
        };
        self.link(slot);
        is_new
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Some(slot) = self.find(member) else {
            return false;
        };
        self.unlink(slot);
        let hash = self.hasher.hash_one(member);
        let entry = self.index.find_entry(hash, |&s| s == slot);
        entry.expect("every member is indexed").remove();
        self.members.remove(slot as usize);
        true
    }

    /// Put a member's key in the tree, splitting the nodes that overflow.
    fn link(&mut self, slot: u32) {
        let member = &self.members[slot as usize];
        let key = Key {
            score: member.score,
            slot,
        };
        let order = Order(&self.members);
        let target = (member.score, &*member.bytes);
        if let Some(right) = insert_below(&mut self.nodes, &order, self.root, key, target) {
            // The root split: a new root above the two halves.
            let left_count = self.members.len() as u32 - right.count;
            let left = Child {
                first: right.first,
                count: left_count,
                node: self.root,
            };
            let children = vec![left, right];
            self.root = self.nodes.insert(Node::Inner { children }) as u32;
        }
    }

    /// Take a member's key out of the tree, dropping the nodes it empties.
    fn unlink(&mut self, slot: u32) {
        let member = &self.members[slot as usize];
        let order = Order(&self.members);
        let target = (member.score, &*member.bytes);
        remove_below(&mut self.nodes, &order, self.root, slot, target);
        // A root with one child gives way to it; an emptied root becomes an empty leaf.
        while let Node::Inner { children } = &self.nodes[self.root as usize] {
            if children.len() > 1 {
                break;
            }
            let only = match children.first() {
                Some(only) => only.node,
                None => self.nodes.insert(Node::Leaf {
                    keys: Vec::new(),
                    prev: NONE,
                    next: NONE,
                }) as u32,
            };
            self.nodes.remove(self.root as usize);
            self.root = only;
        }
    }

    /// How many members come before the first one for which `below` is false; `below`
    /// holds for a prefix of the order.
    pub fn count_below(&self, below: impl Fn(Score, &[u8]) -> bool) -> usize {
        let order = Order(&self.members);
        let (mut node, mut passed) = (self.root, 0usize);
        loop {
            match &self.nodes[node as usize] {
                Node::Inner { children } => {
                    // Every child before the last whose first key is below is below.
                    let at = children[1..].partition_point(|c| order.below(c.first, &below));
                    passed += children[..at]
                        .iter()
                        .map(|c| c.count as usize)
                        .sum::<usize>();
                    node = children[at].node;
                }
                Node::Leaf { keys, .. } => {
                    return passed + keys.partition_point(|&k| order.below(k, &below));
                }
            }
        }
    }

    /// The leaf and the position in it of the member at 0-based `rank`.
    fn at_rank(&self, mut rank: usize) -> Option<(u32, usize)> {
        if rank >= self.len() {
            return None;
        }
        let mut node = self.root;
        loop {
            match &self.nodes[node as usize] {
                Node::Inner { children } => {
                    let child = children.iter().find(|c| {
                        let inside = rank < c.count as usize;
                        if !inside {
                            rank -= c.count as usize;
                        }
                        inside
                    });
                    node = child.expect("the counts add up to the length").node;
                }
                Node::Leaf { .. } => return Some((node, rank)),
            }
        }
    }

    /// The members from `rank` up (or, `reverse`, down to the lowest).
    pub fn walk(&self, rank: usize, reverse: bool) -> impl Iterator<Item = (&[u8], Score)> + '_ {
        let mut at = self.at_rank(rank);
        std::iter::from_fn(move || {
            let (leaf, index) = at?;
            let Node::Leaf { keys, prev, next } = &self.nodes[leaf as usize] else {
                unreachable!("a walk stays on leaves")
            };
            let member = &self.members[keys[index].slot as usize];
            at = match reverse {
                false if index + 1 < keys.len() => Some((leaf, index + 1)),
                false => (*next != NONE).then_some((*next, 0)),
                true if index > 0 => Some((leaf, index - 1)),
                true => (*prev != NONE).then(|| (*prev, self.leaf_len(*prev) - 1)),
            };
            Some((&*member.bytes, member.score))
        })
    }

    fn leaf_len(&self, leaf: u32) -> usize {
        match &self.nodes[leaf as usize] {
            Node::Leaf { keys, .. } => keys.len(),
            Node::Inner { .. } => unreachable!("leaves link to leaves"),
        }
    }

    /// One `ZSCAN` step over member slots, from `cursor` (0: the top) down `count`
    /// slots (at least one); the next cursor, 0 once done. A member keeps its slot for
    /// its whole life, so a member present for the whole scan is visited.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], Score),
    ) -> u64 {
        let top = self.members.capacity();
        let start = match cursor {
            0 => top,
            c => usize::try_from(c).map_or(top, |c| c.min(top)),
        };
        let end = start - count.max(1).min(start);
        for slot in (end..start).rev() {
            if let Some(member) = self.members.get(slot) {
                visit(&member.bytes, member.score);
            }
        }
        u64::try_from(end).expect("usize fits in u64")
    }

    /// Check the tree against the members: keys in order, counts that add up, firsts
    /// that separate, leaves linked in order, an index that finds every member. For
    /// tests.
    #[cfg(test)]
    pub fn assert_well_formed(&self) {
        let mut leaves = Vec::new();
        let count = self.check_node(self.root, &mut leaves);
        assert_eq!(count, self.len());
        let order = Order(&self.members);
        let keys: Vec<Key> = self.walk_leaves(&leaves);
        assert_eq!(keys.len(), self.len());
        for pair in keys.windows(2) {
            let b = &self.members[pair[1].slot as usize];
            assert_eq!(order.cmp(pair[0], (b.score, &b.bytes)), Ordering::Less);
        }
        for (slot, member) in &self.members {
            assert_eq!(self.find(&member.bytes), Some(slot as u32));
        }
    }

    #[cfg(test)]
    fn check_node(&self, node: u32, leaves: &mut Vec<u32>) -> usize {
        let order = Order(&self.members);
        match &self.nodes[node as usize] {
            Node::Leaf { keys, .. } => {
                assert!(
                    !keys.is_empty() || node == self.root,
                    "no empty leaf but the root"
                );
                leaves.push(node);
                keys.len()
            }
            Node::Inner { children } => {
                assert!(!children.is_empty() && children.len() <= FANOUT_MAX);
                let mut total = 0;
                for (i, child) in children.iter().enumerate() {
                    let first_leaf = leaves.len();
                    let below = self.check_node(child.node, leaves);
                    assert_eq!(
                        below, child.count as usize,
                        "a child's count is its members"
                    );
                    let keys = self.walk_leaves(&leaves[first_leaf..]);
                    if i > 0 {
                        let lowest = &self.members[keys[0].slot as usize];
                        let first = order.cmp(child.first, (lowest.score, &lowest.bytes));
                        assert_eq!(first, Ordering::Equal, "a first key is the lowest");
                    }
                    total += below;
                }
                total
            }
        }
    }

    #[cfg(test)]
    fn walk_leaves(&self, leaves: &[u32]) -> Vec<Key> {
        let mut keys = Vec::new();
        for (i, &leaf) in leaves.iter().enumerate() {
            let Node::Leaf {
                keys: own,
                prev,
                next,
            } = &self.nodes[leaf as usize]
            else {
                unreachable!()
            };
            keys.extend_from_slice(own);
            if i + 1 < leaves.len() {
                assert_eq!(*next, leaves[i + 1]);
            }
            if i > 0 {
                assert_eq!(*prev, leaves[i - 1]);
            }
        }
        keys
    }
}

/// Insert `key` below `node`; the new right half when `node` split.
fn insert_below(
    nodes: &mut Slab<Node>,
    order: &Order<'_>,
    node: u32,
    key: Key,
    target: (Score, &[u8]),
) -> Option<Child> {
    let (child_at, child) = match &mut nodes[node as usize] {
        Node::Leaf { keys, .. } => {
            let at = keys.partition_point(|&k| order.cmp(k, target) == Ordering::Less);
            keys.insert(at, key);
            let full = keys.len() > FANOUT_MAX;
            return if full {
                Some(split_leaf(nodes, node))
            } else {
                None
            };
        }
        Node::Inner { children } => {
            let at = order.child_for(children, target);
            children[at].count += 1;
            (at, children[at].node)
        }
    };
    let right = insert_below(nodes, order, child, key, target)?;
    let Node::Inner { children } = &mut nodes[node as usize] else {
        unreachable!("an inner node stays inner")
    };
    children[child_at].count -= right.count;
    children.insert(child_at + 1, right);
    if children.len() <= FANOUT_MAX {
        return None;
    }
    let half = children.split_off(children.len() / 2);
    let count = half.iter().map(|c| c.count).sum();
    let first = half[0].first;
    let node = nodes.insert(Node::Inner { children: half }) as u32;
    Some(Child { first, count, node })
}

/// Split a leaf in two; the right half, linked after it.
fn split_leaf(nodes: &mut Slab<Node>, leaf: u32) -> Child {
    let Node::Leaf { keys, next, .. } = &mut nodes[leaf as usize] else {
        unreachable!("a leaf")
    };
    let half = keys.split_off(keys.len() / 2);
    let after = *next;
    let (first, count) = (half[0], half.len() as u32);
    let right = nodes.insert(Node::Leaf {
        keys: half,
        prev: leaf,
        next: after,
    }) as u32;
    set_link(nodes, leaf, |_, next| *next = right);
    if after != NONE {
        set_link(nodes, after, |prev, _| *prev = right);
    }
    Child {
        first,
        count,
        node: right,
    }
}

fn set_link(nodes: &mut Slab<Node>, leaf: u32, change: impl FnOnce(&mut u32, &mut u32)) {
    let Node::Leaf { prev, next, .. } = &mut nodes[leaf as usize] else {
        unreachable!("leaves link to leaves")
    };
    change(prev, next);
}

/// The lowest key below a node that holds some.
fn lowest_key(nodes: &Slab<Node>, mut node: u32) -> Key {
    loop {
        match &nodes[node as usize] {
            Node::Inner { children } => node = children[0].node,
            Node::Leaf { keys, .. } => return keys[0],
        }
    }
}

/// Remove the key of member `slot` below `node`; true if `node` is left empty (and,
/// for a leaf, unlinked from its neighbours), for its parent to drop.
fn remove_below(
    nodes: &mut Slab<Node>,
    order: &Order<'_>,
    node: u32,
    slot: u32,
    target: (Score, &[u8]),
) -> bool {
    let (child_at, child) = match &mut nodes[node as usize] {
        Node::Leaf { keys, prev, next } => {
            let at = keys.partition_point(|&k| order.cmp(k, target) == Ordering::Less);
            assert_eq!(
                keys.get(at).map(|k| k.slot),
                Some(slot),
                "the key is in its leaf"
            );
            keys.remove(at);
            if !keys.is_empty() {
                return false;
            }
            let (prev, next) = (*prev, *next);
            if prev != NONE {
                set_link(nodes, prev, |_, n| *n = next);
            }
            if next != NONE {
                set_link(nodes, next, |p, _| *p = prev);
            }
            return true;
        }
        Node::Inner { children } => {
            let at = order.child_for(children, target);
            children[at].count -= 1;
            (at, children[at].node)
        }
    };
    if !remove_below(nodes, order, child, slot, target) {
        // A first key names a member: one that goes hands its place to the next.
        let Node::Inner { children } = &mut nodes[node as usize] else {
            unreachable!("an inner node stays inner")
        };
        if child_at > 0 && children[child_at].first.slot == slot {
            let lowest = lowest_key(nodes, child);
            let Node::Inner { children } = &mut nodes[node as usize] else {
                unreachable!("an inner node stays inner")
            };
            children[child_at].first = lowest;
        }
        return false;
    }
    nodes.remove(child as usize);
    let Node::Inner { children } = &mut nodes[node as usize] else {
        unreachable!("an inner node stays inner")
    };
    children.remove(child_at);
    children.is_empty()
}
