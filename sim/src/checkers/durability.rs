//! Durability: every write acknowledged OK is in the final converged AOF.
//!
//! The workload makes this checkable: every SET writes a value no other SET uses, and
//! INCR is logged as the value it produced, so an acked SET or INCR must have left a
//! record with its key and value in the final master's AOF (a later write may have
//! overwritten the value since; the record stays). DEL is not checked: its record names
//! no value.
//!
//! In majority mode a missing write is a violation; in async mode (Redis's semantics) a
//! failover may lose acked writes, and they are counted and reported instead.

use std::collections::HashSet;

use bucket_core::aof::{scan_records, Effect};
use bucket_core::WriteQuorum;

use super::Violation;
use crate::history::{show, History, OpKind, Outcome, Value};

pub const NAME: &str = "durability";

/// Every (key, value) written by a record of an AOF, borrowed from it. Membership only:
/// the set is never iterated, so its order cannot reach a result.
pub type Written<'a> = HashSet<(&'a [u8], &'a [u8])>;

/// The (key, value) pairs the records of `aof` write.
pub fn written(aof: &[u8]) -> Written<'_> {
    let mut out = HashSet::new();
    scan_records(aof, |_, record| match record.effect {
        Effect::Set { key, value, .. } | Effect::SetKeepTtl { key, value } => {
            out.insert((key, value));
        }
        _ => {}
    });
    out
}

/// The (key, value) an acked operation must have left in the AOF.
fn acked_write(kind: &OpKind, outcome: &Outcome) -> Option<Vec<u8>> {
    match (kind, outcome) {
        (OpKind::Set(value), Outcome::Ok(Value::Ok)) => Some(value.clone()),
        (OpKind::Incr, Outcome::Ok(Value::Int(n))) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// Returns how many acked writes are missing from `present` (what the final AOF
/// writes); an error in majority mode if any is.
pub fn check(history: &History, present: &Written, mode: WriteQuorum) -> Result<usize, Violation> {
    let mut missing = Vec::new();
    for op in &history.ops {
        let Some(value) = acked_write(&op.kind, &op.outcome) else {
            continue;
        };
        if !present.contains(&(op.key.as_slice(), value.as_slice())) {
            missing.push(format!(
                "client {} {} = {} acked at {} ms",
                op.client,
                show(&op.key),
                show(&value),
                op.ret_ms.unwrap_or(0)
            ));
        }
    }
    if mode == WriteQuorum::Majority && !missing.is_empty() {
        return Err(Violation::new(
            NAME,
            format!(
                "{} acked write(s) missing from the final AOF, first: {}",
                missing.len(),
                missing[0]
            ),
        ));
    }
    Ok(missing.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::log_matching::tests::aof;
    use crate::history::Op;

    fn set_op(value: &[u8], outcome: Outcome) -> Op {
        Op {
            client: 0,
            key: b"k".to_vec(),
            kind: OpKind::Set(value.to_vec()),
            call: 1,
            ret: Some(2),
            call_ms: 0,
            ret_ms: Some(5),
            outcome,
        }
    }

    fn history() -> History {
        History {
            ops: vec![
                set_op(b"100", Outcome::Ok(Value::Ok)),
                set_op(b"200", Outcome::Ok(Value::Ok)),
                set_op(b"300", Outcome::Unknown("timed out".into())),
            ],
            ..History::default()
        }
    }

    #[test]
    fn a_lost_acked_write_fires_in_majority_mode() {
        let final_aof = aof(&[(
            1,
            Effect::Set {
                key: b"k",
                value: b"100",
                expire_at: None,
            },
        )]);
        let error = check(&history(), &written(&final_aof), WriteQuorum::Majority).unwrap_err();
        assert_eq!(error.checker, NAME);
        // Async mode counts instead.
        assert_eq!(
            check(&history(), &written(&final_aof), WriteQuorum::Async),
            Ok(1)
        );
    }

    #[test]
    fn overwritten_and_unknown_writes_pass() {
        let final_aof = aof(&[
            (
                1,
                Effect::Set {
                    key: b"k",
                    value: b"100",
                    expire_at: None,
                },
            ),
            (
                1,
                Effect::Set {
                    key: b"k",
                    value: b"200",
                    expire_at: None,
                },
            ),
            (1, Effect::Del { key: b"k" }),
        ]);
        assert_eq!(
            check(&history(), &written(&final_aof), WriteQuorum::Majority),
            Ok(0)
        );
    }
}
