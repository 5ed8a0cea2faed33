//! List-append transactions, the workload Jepsen ran against Redis-Raft: each operation
//! is a `MULTI`, a few `RPUSH key value` and `LRANGE key 0 -1` over a handful of list
//! keys, and an `EXEC`. Every appended value is unique in the run, so a read's list
//! says which transactions it saw, in which order: the checker
//! (`checkers/list_append.rs`) infers the version order of each list from the reads and
//! looks for cycles in the dependencies between transactions, as Elle does.
//!
//! The list keys are written by transactions only, and never deleted. As Jepsen does,
//! the workload moves on to fresh keys as time passes (`l<generation>.<i>`, a new
//! generation every `LIST_KEY_LIFETIME_MS`), so lists stay short and a read stays cheap
//! however long the run.

use bucket_core::resp::{Reply, Request};
use rand_chacha::ChaCha8Rng;

use crate::history::Value;
use crate::seed::between;
use crate::workload::Values;

/// The list keys of one generation: few, so that transactions conflict.
pub const LIST_KEY_COUNT: u64 = 3;
/// How long the workload appends to one generation of list keys.
pub const LIST_KEY_LIFETIME_MS: u64 = 2_000;
/// Micro-operations in one transaction at most.
pub const MICRO_OPS_MAX: u64 = 4;

/// One step of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Micro {
    Append { key: Vec<u8>, value: Vec<u8> },
    Read { key: Vec<u8> },
}

impl Micro {
    pub fn key(&self) -> &[u8] {
        match self {
            Micro::Append { key, .. } | Micro::Read { key } => key,
        }
    }
}

/// Whether `key` is one of the transactions' lists (no other operation touches them).
pub fn is_list_key(key: &[u8]) -> bool {
    key.first() == Some(&b'l')
}

/// A transaction of one to `MICRO_OPS_MAX` steps over the list keys of the generation
/// of `now_ms`.
pub fn draw(rng: &mut ChaCha8Rng, values: &mut Values, now_ms: u64) -> Vec<Micro> {
    let len = between(rng, 1, MICRO_OPS_MAX);
    let generation = now_ms / LIST_KEY_LIFETIME_MS;
    (0..len)
        .map(|_| {
            let i = between(rng, 0, LIST_KEY_COUNT - 1);
            let key = format!("l{generation}.{i}").into_bytes();
            match between(rng, 0, 1) {
                0 => Micro::Append {
                    key,
                    value: values.draw(),
                },
                _ => Micro::Read { key },
            }
        })
        .collect()
}

/// The requests of a transaction, back to back, and how many replies they get.
pub fn requests(micros: &[Micro]) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut push = |args: &[&[u8]]| {
        let mut request = Request::new();
        args.iter().for_each(|a| request.push(a));
        request.encode(&mut bytes);
    };
    push(&[b"MULTI"]);
    for micro in micros {
        match micro {
            Micro::Append { key, value } => push(&[b"RPUSH", key, value]),
            Micro::Read { key } => push(&[b"LRANGE", key, b"0", b"-1"]),
        }
    }
    push(&[b"EXEC"]);
    (bytes, micros.len() + 2)
}

/// What a transaction's replies (MULTI's, each QUEUED, EXEC's) say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// EXEC ran: one result per step (a list's length after an append, a read's list).
    Committed(Value),
    /// Nothing ran: a step was redirected to this error's master (`-MOVED`), or the
    /// cluster had none (`-CLUSTERDOWN`): send the whole transaction again.
    Redirected(String),
    ClusterDown,
    /// The master lost its reign before a majority held the transaction.
    Unknown(String),
    /// Nothing ran, for a reason retrying will not change.
    Failed(String),
}

pub fn answer(replies: &[Reply]) -> Answer {
    let Some((exec, queued)) = replies.split_last() else {
        return Answer::Failed("no replies".to_string());
    };
    let error_of = |reply: &Reply| match reply {
        Reply::Error(e) => Some(e.clone()),
        _ => None,
    };
    match exec {
        Reply::Array(results) => Answer::Committed(Value::Array(
            results
                .iter()
                .map(|r| crate::client::value_of(r.clone()))
                .collect(),
        )),
        Reply::Error(e) if e.starts_with("UNKNOWN") => Answer::Unknown(e.clone()),
        Reply::Error(e) if e.starts_with("CLUSTERDOWN") => Answer::ClusterDown,
        Reply::Error(e) => {
            let queued_errors: Vec<String> = queued.iter().filter_map(error_of).collect();
            if let Some(moved) = queued_errors.iter().find(|e| e.starts_with("MOVED ")) {
                Answer::Redirected(moved.clone())
            } else if queued_errors.iter().any(|e| e.starts_with("CLUSTERDOWN")) {
                Answer::ClusterDown
            } else {
                Answer::Failed(e.clone())
            }
        }
        other => Answer::Failed(format!("EXEC answered {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_exec_reply_and_the_queued_errors() {
        let ok = Reply::Simple("OK".into());
        let queued = Reply::Simple("QUEUED".into());
        let exec = Reply::Array(vec![Reply::Integer(1)]);
        assert_eq!(
            answer(&[ok.clone(), queued, exec]),
            Answer::Committed(Value::Array(vec![Value::Int(1)]))
        );
        let moved = Reply::Error("MOVED 1 node2:6379".into());
        let abort = Reply::Error("EXECABORT Transaction discarded".into());
        assert_eq!(
            answer(&[ok.clone(), moved, abort.clone()]),
            Answer::Redirected("MOVED 1 node2:6379".into())
        );
        let down = Reply::Error("CLUSTERDOWN no master".into());
        assert_eq!(
            answer(&[ok.clone(), down, abort.clone()]),
            Answer::ClusterDown
        );
        let unknown = Reply::Error("UNKNOWN lost".into());
        assert_eq!(
            answer(&[ok, unknown.clone()]),
            Answer::Unknown("UNKNOWN lost".into())
        );
    }
}
