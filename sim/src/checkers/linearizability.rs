//! Linearizability of the client history, one register per modelled key (the model is
//! `register`; the volatile keys, whose expiries are the master's, are left out), with
//! the Wing–Gong–Lowe search as Porcupine does it: depth-first over the order in
//! which operations take effect, pruned by memoizing (operations linearized, register
//! value). An operation whose outcome is unknown may take effect at any point after its
//! invocation, or never. A step budget turns a search too large to finish into
//! `Unknown` instead of a hang.
//!
//! The simulator knows more than a client: what became of each write of unknown
//! outcome (`fates`). Deciding fates can only make the check stricter (a read that saw
//! a lost write fails it, as it should), and it removes the branching that unknown
//! writes cause, so long histories finish within the budget.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::fates::{Fate, Fates};
use super::register::{self, State};
use super::Violation;
use crate::history::{show, History, OpKind, Outcome, Value};
use crate::workload::{is_volatile, show_request, show_value};

/// A fast, fixed hasher for the memo set: membership only, never iterated, so its
/// order cannot leak into results; SipHash was a tenth of a run's time.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type MemoSet<T> = HashSet<T, BuildHasherDefault<WordHasher>>;

pub const NAME: &str = "linearizability";
/// Search steps per key before the answer is `Unknown`.
pub const STEPS_PER_KEY_MAX: u64 = 500_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// The search ran out of budget on these keys.
    Unknown {
        keys: Vec<String>,
    },
}

#[derive(Clone, Debug)]
struct LinOp {
    call: u64,
    /// The return, or for a write of unknown outcome the bound by which it must have
    /// taken effect (`u64::MAX`: none).
    ret: u64,
    kind: OpKind,
    /// `None` when unknown: any effect the model allows, or none at all.
    output: Option<Value>,
    /// The op must take effect: it completed, or its records are in the final AOF.
    must: bool,
    client: usize,
    call_ms: u64,
}

/// The operations on one key that the model checks, sorted by invocation, each as it
/// bears on that key (see `register::projected`).
fn ops_of_key(history: &History, key: &[u8], indexes: &[usize], fates: &Fates) -> Vec<LinOp> {
    let mut ops: Vec<LinOp> = Vec::new();
    for &index in indexes {
        let op = &history.ops[index];
        let (ret, output, must) = match &op.outcome {
            Outcome::Ok(value) => (
                op.ret.expect("a completed op has a return"),
                Some(value),
                true,
            ),
            Outcome::Unknown(_) | Outcome::Pending if op.kind.is_write() => {
                match fates.get(&index) {
                    Some(Fate::Took { output, by }) => (*by, output.as_ref(), true),
                    Some(Fate::Unclear) => (u64::MAX, None, false),
                    Some(Fate::Lost) | None => continue,
                }
            }
            _ => continue, // Failed, lost, or a read that never answered: no effect.
        };
        let (kind, output) = register::projected(&op.kind, key, output);
        ops.push(LinOp {
            call: op.call,
            ret,
            kind,
            output,
            must,
            client: op.client,
            call_ms: op.call_ms,
        });
    }
    ops.sort_by_key(|op| op.call);
    ops
}

/// A point in the search: the operations linearized so far are the bits of the shared
/// `Search::linearized` set for the frames on the stack, up to and including this one.
struct Frame {
    /// The operation this frame linearized (`None` for the root).
    op: Option<usize>,
    state: State,
    /// The next candidate position to try from this frame (see `Search::candidate`).
    next: usize,
    /// Position in `completed` of the first completed op not yet linearized: every
    /// completed op before it is.
    first_open: usize,
    /// Completed operations linearized so far.
    done: usize,
    /// The Zobrist hash of the linearized set: the XOR of its ops' random words.
    set_hash: u128,
}

/// The memo key: the linearized set and the register value, both by hash.
///
/// Hashing instead of storing the set keeps each step O(1) rather than O(history);
/// this is what lets the checker take ten-minute histories. A collision could only
/// prune a branch never explored, so it could make a linearizable history look stuck
/// (a false alarm), never let a broken one pass: every accepted linearization is
/// replayed op by op through the model. With 192 bits, the chance is negligible.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct MemoKey {
    set_hash: u128,
    state_hash: u64,
}

fn state_hash(state: &State) -> u64 {
    let mut hasher = WordHasher::default();
    match state {
        None => hasher.write_u64(0),
        Some(register) => {
            let len = register.value.len() as u64;
            hasher.write_u64(1 + (len << 1 | register.ttl as u64));
            hasher.write(&register.value);
        }
    }
    hasher.finish()
}

/// SplitMix64: a fixed, well-mixed word per operation index.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn zobrist_word(i: usize) -> u128 {
    let i = i as u64;
    (u128::from(splitmix64(2 * i)) << 64) | u128::from(splitmix64(2 * i + 1))
}

fn is_set(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

fn flip(bits: &mut [u64], i: usize) {
    bits[i / 64] ^= 1 << (i % 64);
}

enum KeyVerdict {
    Linearizable,
    Not(String),
    Budget,
}

/// One key's search: the operations, split into those that must linearize (completed,
/// or known to have taken effect) and those of unknown outcome (which may take effect,
/// or not), each list sorted by invocation.
struct Search<'a> {
    ops: &'a [LinOp],
    /// The ops that must linearize (named for the common case).
    completed: Vec<usize>,
    unknown: Vec<usize>,
    /// The linearized set of the frame on top of the stack (set on push, cleared on pop).
    linearized: Vec<u64>,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [LinOp]) -> Search<'a> {
        let (completed, unknown) = (0..ops.len()).partition(|&i| ops[i].must);
        Search {
            ops,
            completed,
            unknown,
            linearized: vec![0; ops.len().div_ceil(64).max(1)],
        }
    }

    /// Candidate positions run through the completed ops, then the unknown ones: a
    /// history usually linearizes with most unknown writes never taking effect, so
    /// this order finds it sooner.
    fn candidate(&self, k: usize) -> Option<usize> {
        let n = self.completed.len();
        if k < n {
            Some(self.completed[k])
        } else {
            self.unknown.get(k - n).copied()
        }
    }

    /// The earliest return among unlinearized ops: only ops invoked before it may go
    /// next. Unknown ops never return, so only the `completed` list counts, and as it
    /// is sorted by invocation the scan stops once invocations pass the minimum.
    fn ret_min(&self, first_open: usize) -> u64 {
        let mut ret_min = u64::MAX;
        for &i in &self.completed[first_open..] {
            if self.ops[i].call >= ret_min {
                break;
            }
            if !is_set(&self.linearized, i) {
                ret_min = ret_min.min(self.ops[i].ret);
            }
        }
        ret_min
    }

    /// The next frame from `top`, trying candidates from `top.next`; the position tried
    /// is returned with it so that `top` resumes after it.
    fn next_child(&self, top: &Frame, visited: &mut MemoSet<MemoKey>) -> Option<(usize, Frame)> {
        let ret_min = self.ret_min(top.first_open);
        let n = self.completed.len();
        let mut k = top.next.max(top.first_open);
        while let Some(i) = self.candidate(k) {
            let op = &self.ops[i];
            if op.call >= ret_min {
                // Sorted by invocation: nothing later in this list may go next.
                if k >= n {
                    return None;
                }
                k = n;
                continue;
            }
            if !is_set(&self.linearized, i) {
                if let Some(state) = register::step(&top.state, &op.kind, op.output.as_ref()) {
                    let set_hash = top.set_hash ^ zobrist_word(i);
                    let key = MemoKey {
                        set_hash,
                        state_hash: state_hash(&state),
                    };
                    if visited.insert(key) {
                        let frame = Frame {
                            op: Some(i),
                            state,
                            next: 0,
                            first_open: top.first_open,
                            done: top.done + (k < n) as usize,
                            set_hash,
                        };
                        return Some((k, frame));
                    }
                }
            }
            k += 1;
        }
        None
    }

    fn push(&mut self, stack: &mut Vec<Frame>, mut frame: Frame) {
        let op = frame.op.expect("only the root has no op");
        debug_assert!(!is_set(&self.linearized, op), "each op linearizes once");
        flip(&mut self.linearized, op);
        while frame.first_open < self.completed.len()
            && is_set(&self.linearized, self.completed[frame.first_open])
        {
            frame.first_open += 1;
        }
        stack.push(frame);
    }

    fn pop(&mut self, stack: &mut Vec<Frame>) {
        let frame = stack.pop().expect("a frame to pop");
        if let Some(op) = frame.op {
            debug_assert!(is_set(&self.linearized, op));
            flip(&mut self.linearized, op);
        }
    }
}

fn check_key(key: &[u8], ops: &[LinOp]) -> KeyVerdict {
    let mut search = Search::new(ops);
    let required = search.completed.len();
    let mut visited: MemoSet<MemoKey> = MemoSet::default();
    let mut stack = vec![Frame {
        op: None,
        state: None,
        next: 0,
        first_open: 0,
        done: 0,
        set_hash: 0,
    }];
    let mut depth_max = 0usize;
    for _ in 0..STEPS_PER_KEY_MAX {
        let Some(top) = stack.last() else {
            return KeyVerdict::Not(stuck_detail(key, ops, depth_max));
        };
        if top.done == required {
            return KeyVerdict::Linearizable;
        }
        depth_max = depth_max.max(top.done);
        match search.next_child(top, &mut visited) {
            Some((k, frame)) => {
                stack.last_mut().expect("top").next = k + 1;
                search.push(&mut stack, frame);
            }
            None => search.pop(&mut stack),
        }
    }
    KeyVerdict::Budget
}

fn stuck_detail(key: &[u8], ops: &[LinOp], depth_max: usize) -> String {
    let first_returns: Vec<String> = ops
        .iter()
        .filter(|op| op.must)
        .take(depth_max + 3)
        .skip(depth_max.saturating_sub(2))
        .map(|op| {
            let output = op.output.as_ref().map_or("unknown".into(), show_value);
            format!(
                "client {} {} -> {output} at {} ms",
                op.client,
                show_request(&op.kind, key),
                op.call_ms
            )
        })
        .collect();
    format!(
        "{} operations, at most {depth_max} of the completed ones linearize; around there: {}",
        ops.len(),
        first_returns.join("; ")
    )
}

/// Checks `history` against the register model; `fates` says what became of the
/// writes masters applied (see `fates`).
pub fn check(history: &History, fates: &Fates) -> Result<Verdict, Violation> {
    let mut ops_by_key: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    for (index, op) in history.ops.iter().enumerate() {
        let modelled = |key: &&[u8]| !is_volatile(key) && !crate::txn::is_list_key(key);
        for key in op.keys().into_iter().filter(modelled) {
            ops_by_key.entry(key).or_default().push(index);
        }
    }
    let mut unknown = Vec::new();
    for (key, indexes) in ops_by_key {
        let ops = ops_of_key(history, key, &indexes, fates);
        match check_key(key, &ops) {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Budget => unknown.push(show(key)),
            KeyVerdict::Not(detail) => {
                return Err(Violation::new(NAME, format!("key {}: {detail}", show(key))));
            }
        }
    }
    if unknown.is_empty() {
        Ok(Verdict::Linearizable)
    } else {
        Ok(Verdict::Unknown { keys: unknown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;

    fn op(client: usize, kind: OpKind, call: u64, ret: Option<u64>, outcome: Outcome) -> Op {
        Op {
            client,
            key: b"k".to_vec(),
            kind,
            call,
            ret,
            call_ms: call,
            ret_ms: ret,
            outcome,
        }
    }

    fn set(v: &str) -> OpKind {
        OpKind::Set(v.as_bytes().to_vec())
    }

    fn bulk(v: &str) -> Outcome {
        Outcome::Ok(Value::Bulk(v.as_bytes().to_vec()))
    }

    #[test]
    fn a_stale_read_after_an_acked_write_fires() {
        // SET 1 is acked, then a later GET sees nothing.
        let history = History {
            ops: vec![
                op(0, set("1"), 1, Some(2), Outcome::Ok(Value::Ok)),
                op(1, OpKind::Get, 3, Some(4), Outcome::Ok(Value::Nil)),
            ],
            ..History::default()
        };
        assert_eq!(check(&history, &Fates::new()).unwrap_err().checker, NAME);
    }

    #[test]
    fn incr_that_skips_a_value_fires() {
        let history = History {
            ops: vec![
                op(0, OpKind::Incr, 1, Some(2), Outcome::Ok(Value::Int(1))),
                op(0, OpKind::Incr, 3, Some(4), Outcome::Ok(Value::Int(3))),
            ],
            ..History::default()
        };
        assert!(check(&history, &Fates::new()).is_err());
    }

    #[test]
    fn concurrent_and_unknown_operations_pass() {
        let history = History {
            ops: vec![
                // Overlapping SETs: the GET may see either order's last value.
                op(0, set("1"), 1, Some(6), Outcome::Ok(Value::Ok)),
                op(1, set("2"), 2, Some(5), Outcome::Ok(Value::Ok)),
                op(2, OpKind::Get, 7, Some(8), bulk("1")),
                // A write of unknown outcome that a master applied in a way the
                // simulator could not pin down: it may take effect, and here did...
                op(3, set("3"), 9, None, Outcome::Unknown("timed out".into())),
                op(2, OpKind::Get, 20, Some(21), bulk("3")),
                // ...and one no master ever applied.
                op(
                    3,
                    set("4"),
                    22,
                    None,
                    Outcome::Unknown("connection lost".into()),
                ),
                op(2, OpKind::Get, 30, Some(31), bulk("3")),
                op(1, OpKind::Incr, 32, Some(33), Outcome::Ok(Value::Int(4))),
                op(1, OpKind::Del, 34, Some(35), Outcome::Ok(Value::Int(1))),
                op(1, OpKind::Get, 36, Some(37), Outcome::Ok(Value::Nil)),
            ],
            ..History::default()
        };
        let fates = Fates::from([(3, Fate::Unclear)]);
        assert_eq!(check(&history, &fates), Ok(Verdict::Linearizable));
    }

    #[test]
    fn multi_key_ops_are_checked_on_each_key_and_volatile_keys_not_at_all() {
        let pair = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
        let mset = OpKind::MSet(vec![pair("k", "1"), pair("j", "2")]);
        let mget = OpKind::MGet(vec![b"j".to_vec(), b"k".to_vec()]);
        let read = |j: Value, k: Value| Outcome::Ok(Value::Array(vec![j, k]));
        let mut history = History {
            ops: vec![
                op(0, mset, 1, Some(2), Outcome::Ok(Value::Ok)),
                op(
                    1,
                    mget.clone(),
                    3,
                    Some(4),
                    read(Value::Bulk(b"2".to_vec()), bulk_value("1")),
                ),
            ],
            ..History::default()
        };
        assert_eq!(check(&history, &Fates::new()), Ok(Verdict::Linearizable));
        // A volatile key's stale read is not the model's to judge...
        let mut stale = op(1, OpKind::Get, 5, Some(6), Outcome::Ok(Value::Nil));
        stale.key = b"v0".to_vec();
        history.ops.push(stale);
        assert_eq!(check(&history, &Fates::new()), Ok(Verdict::Linearizable));
        // ...but a modelled key's is, inside an MGET too.
        let stale = op(1, mget, 7, Some(8), read(Value::Nil, bulk_value("1")));
        history.ops.push(stale);
        let error = check(&history, &Fates::new()).unwrap_err();
        assert!(error.detail.starts_with("key j:"), "{}", error.detail);
    }

    fn bulk_value(v: &str) -> Value {
        Value::Bulk(v.as_bytes().to_vec())
    }

    #[test]
    fn a_read_of_a_write_that_was_lost_fires() {
        // A SET of unknown outcome is read, but the final AOF does not hold it (its
        // records were cut, or no master applied it): the read saw a lost write.
        let history = History {
            ops: vec![
                op(0, set("1"), 1, None, Outcome::Unknown("timed out".into())),
                op(1, OpKind::Get, 3, Some(4), bulk("1")),
            ],
            ..History::default()
        };
        for fates in [Fates::new(), Fates::from([(0, Fate::Lost)])] {
            assert_eq!(check(&history, &fates).unwrap_err().checker, NAME);
        }
        let kept = Fates::from([(0, Fate::took(Value::Ok, u64::MAX))]);
        assert_eq!(check(&history, &kept), Ok(Verdict::Linearizable));
    }

    #[test]
    fn a_write_known_to_have_taken_effect_must_linearize_with_its_answer() {
        // SET 5 is acked, then an INCR times out: its record says it produced 1, which
        // no order allows (it had to see 5). Had it produced 6, or were its fate
        // unclear, the history would pass.
        let history = History {
            ops: vec![
                op(0, set("5"), 1, Some(2), Outcome::Ok(Value::Ok)),
                op(
                    1,
                    OpKind::Incr,
                    3,
                    None,
                    Outcome::Unknown("timed out".into()),
                ),
            ],
            ..History::default()
        };
        let incr = |n| Fates::from([(1, Fate::took(Value::Int(n), u64::MAX))]);
        assert_eq!(check(&history, &incr(1)).unwrap_err().checker, NAME);
        assert_eq!(check(&history, &incr(6)), Ok(Verdict::Linearizable));
        let unclear = Fates::from([(1, Fate::Unclear)]);
        assert_eq!(check(&history, &unclear), Ok(Verdict::Linearizable));
    }

    #[test]
    fn a_kept_write_takes_effect_before_a_later_acked_write_returns() {
        // SET a timed out, but its record precedes the acked SET b's in the final AOF:
        // it took effect before SET b returned, so a read of b followed by a read of a
        // is not linearizable, though it would be if SET a could come at any time.
        let history = History {
            ops: vec![
                op(0, set("a"), 1, None, Outcome::Unknown("timed out".into())),
                op(1, set("b"), 2, Some(3), Outcome::Ok(Value::Ok)),
                op(2, OpKind::Get, 4, Some(5), bulk("b")),
                op(2, OpKind::Get, 6, Some(7), bulk("a")),
            ],
            ..History::default()
        };
        let unbounded = Fates::from([(0, Fate::took(Value::Ok, u64::MAX))]);
        assert_eq!(check(&history, &unbounded), Ok(Verdict::Linearizable));
        let bounded = Fates::from([(0, Fate::took(Value::Ok, 3))]);
        assert_eq!(check(&history, &bounded).unwrap_err().checker, NAME);
    }
}
