//! Linearizability of the client history, one register per key (GET, SET, INCR, DEL),
//! with the Wing–Gong–Lowe search as Porcupine does it: depth-first over the order in
//! which operations take effect, pruned by memoizing (operations linearized, register
//! value). An operation whose outcome is unknown may take effect at any point after its
//! invocation, or never. A step budget turns a search too large to finish into
//! `Unknown` instead of a hang.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

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

use super::Violation;
use crate::history::{show, History, OpKind, Outcome, Value};

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

/// The register: a key's value, or absent.
type State = Option<Vec<u8>>;

#[derive(Clone, Debug)]
struct LinOp {
    call: u64,
    /// `u64::MAX` when the operation never returned (or its outcome is unknown).
    ret: u64,
    kind: OpKind,
    /// `None` when unknown: any effect the model allows, or none at all.
    output: Option<Value>,
    client: usize,
    call_ms: u64,
}

/// Apply `op` to `state`; `None` if the model cannot produce the op's output.
fn model_step(state: &State, op: &LinOp) -> Option<State> {
    let output = op.output.as_ref();
    match &op.kind {
        OpKind::Get => {
            let matches = match (state, output?) {
                (None, Value::Nil) => true,
                (Some(v), Value::Bulk(got)) => v == got,
                _ => false,
            };
            matches.then(|| state.clone())
        }
        OpKind::Set(value) => match output {
            None | Some(Value::Ok) => Some(Some(value.clone())),
            Some(_) => None,
        },
        OpKind::Incr => incr_step(state, output),
        OpKind::Del => match output {
            None => Some(None),
            Some(Value::Int(n)) if *n == state.is_some() as i64 => Some(None),
            Some(_) => None,
        },
        OpKind::Wait => Some(state.clone()),
    }
}

fn incr_step(state: &State, output: Option<&Value>) -> Option<State> {
    let current = match state {
        None => Some(0i64),
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<i64>().ok()),
    };
    match (current.and_then(|m| m.checked_add(1)), output) {
        (Some(next), None) => Some(Some(next.to_string().into_bytes())),
        (Some(next), Some(Value::Int(n))) if *n == next => {
            Some(Some(next.to_string().into_bytes()))
        }
        (None, None) | (None, Some(Value::Error(_))) => Some(state.clone()),
        _ => None,
    }
}

/// The operations on one key that the model checks, sorted by invocation.
fn ops_of_key(history: &History, key: &[u8]) -> Vec<LinOp> {
    let mut ops: Vec<LinOp> = Vec::new();
    for op in history.ops.iter().filter(|op| op.key == key) {
        let (ret, output) = match &op.outcome {
            Outcome::Ok(value) => (
                op.ret.expect("a completed op has a return"),
                Some(value.clone()),
            ),
            Outcome::Unknown(_) | Outcome::Pending if op.kind.is_write() => (u64::MAX, None),
            _ => continue, // Failed, or a read that never answered: no effect.
        };
        if op.kind == OpKind::Wait {
            continue;
        }
        ops.push(LinOp {
            call: op.call,
            ret,
            kind: op.kind.clone(),
            output,
            client: op.client,
            call_ms: op.call_ms,
        });
    }
    ops.sort_by_key(|op| op.call);
    ops
}

struct Frame {
    linearized: Vec<u64>,
    state: State,
    /// The next operation index to try from this frame.
    next: usize,
    /// The first operation not yet linearized: everything before it is.
    first_open: usize,
    /// Completed operations linearized so far.
    done: usize,
}

fn is_set(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

enum KeyVerdict {
    Linearizable,
    Not(String),
    Budget,
}

/// The earliest return among unlinearized ops: only ops invoked before it may go next.
/// Ops are sorted by invocation, so the scan stops once invocations pass the minimum.
fn ret_min(ops: &[LinOp], frame: &Frame) -> u64 {
    let mut ret_min = u64::MAX;
    let mut i = frame.first_open;
    while i < ops.len() && ops[i].call < ret_min {
        if !is_set(&frame.linearized, i) {
            ret_min = ret_min.min(ops[i].ret);
        }
        i += 1;
    }
    ret_min
}

/// The frame after linearizing op `i` from `top`, if the model allows it.
fn child(ops: &[LinOp], top: &Frame, i: usize) -> Option<Frame> {
    let state = model_step(&top.state, &ops[i])?;
    let mut linearized = top.linearized.clone();
    linearized[i / 64] |= 1 << (i % 64);
    let mut first_open = top.first_open;
    while first_open < ops.len() && is_set(&linearized, first_open) {
        first_open += 1;
    }
    let done = top.done + (ops[i].ret != u64::MAX) as usize;
    Some(Frame {
        linearized,
        state,
        next: first_open,
        first_open,
        done,
    })
}

fn check_key(ops: &[LinOp]) -> KeyVerdict {
    let required = ops.iter().filter(|op| op.ret != u64::MAX).count();
    let words = ops.len().div_ceil(64).max(1);
    let mut visited: MemoSet<(Vec<u64>, State)> = MemoSet::default();
    let root = Frame {
        linearized: vec![0; words],
        state: None,
        next: 0,
        first_open: 0,
        done: 0,
    };
    let mut stack = vec![root];
    let mut depth_max = 0usize;
    for _ in 0..STEPS_PER_KEY_MAX {
        let Some(top) = stack.last() else {
            return KeyVerdict::Not(stuck_detail(ops, depth_max));
        };
        if top.done == required {
            return KeyVerdict::Linearizable;
        }
        depth_max = depth_max.max(top.done);
        let ret_min = ret_min(ops, top);
        // Completed ops first, then those of unknown outcome: a history usually
        // linearizes with most unknown writes never taking effect, so this order finds
        // it sooner. `next` counts through both passes: k < n is op k of the first pass,
        // k >= n is op k - n of the second.
        let n = ops.len();
        let mut pushed = None;
        let mut k = top.next.max(top.first_open);
        while k < 2 * n {
            let (i, unknown_pass) = if k < n { (k, false) } else { (k - n, true) };
            if ops[i].call >= ret_min {
                // Sorted by invocation: nothing later in this pass may go next.
                k = if unknown_pass {
                    2 * n
                } else {
                    n + top.first_open
                };
                continue;
            }
            let eligible = (ops[i].ret == u64::MAX) == unknown_pass && !is_set(&top.linearized, i);
            if eligible {
                if let Some(frame) = child(ops, top, i) {
                    if visited.insert((frame.linearized.clone(), frame.state.clone())) {
                        pushed = Some((k, frame));
                        break;
                    }
                }
            }
            k += 1;
        }
        match pushed {
            Some((k, frame)) => {
                stack.last_mut().expect("top").next = k + 1;
                stack.push(frame);
            }
            None => {
                stack.pop();
            }
        }
    }
    KeyVerdict::Budget
}

fn stuck_detail(ops: &[LinOp], depth_max: usize) -> String {
    let first_returns: Vec<String> = ops
        .iter()
        .filter(|op| op.ret != u64::MAX)
        .take(depth_max + 3)
        .skip(depth_max.saturating_sub(2))
        .map(|op| {
            format!(
                "client {} {:?} -> {:?} at {} ms",
                op.client, op.kind, op.output, op.call_ms
            )
        })
        .collect();
    format!(
        "{} operations, at most {depth_max} of the completed ones linearize; around there: {}",
        ops.len(),
        first_returns.join("; ")
    )
}

pub fn check(history: &History) -> Result<Verdict, Violation> {
    let mut keys: Vec<&[u8]> = history.ops.iter().map(|op| op.key.as_slice()).collect();
    keys.sort();
    keys.dedup();
    let mut unknown = Vec::new();
    for key in keys {
        let ops = ops_of_key(history, key);
        match check_key(&ops) {
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
        };
        assert_eq!(check(&history).unwrap_err().checker, NAME);
    }

    #[test]
    fn incr_that_skips_a_value_fires() {
        let history = History {
            ops: vec![
                op(0, OpKind::Incr, 1, Some(2), Outcome::Ok(Value::Int(1))),
                op(0, OpKind::Incr, 3, Some(4), Outcome::Ok(Value::Int(3))),
            ],
        };
        assert!(check(&history).is_err());
    }

    #[test]
    fn concurrent_and_unknown_operations_pass() {
        let history = History {
            ops: vec![
                // Overlapping SETs: the GET may see either order's last value.
                op(0, set("1"), 1, Some(6), Outcome::Ok(Value::Ok)),
                op(1, set("2"), 2, Some(5), Outcome::Ok(Value::Ok)),
                op(2, OpKind::Get, 7, Some(8), bulk("1")),
                // A write of unknown fate that took effect later...
                op(3, set("3"), 9, None, Outcome::Unknown("timed out".into())),
                op(2, OpKind::Get, 20, Some(21), bulk("3")),
                // ...and one that never did.
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
        };
        assert_eq!(check(&history), Ok(Verdict::Linearizable));
    }
}
