//! Durability: every write acknowledged OK is in the final converged AOF.
//!
//! The workload makes this checkable: every SET (SETNX, GETSET, MSET) writes a value no
//! other write uses, and INCR and its family are logged as the value they produced, so
//! an acked write of these must have left a record with its key and value in the final
//! master's AOF (a later write, or an expiry, may have removed the value since; the
//! record stays). DEL, APPEND and the expiry commands are not checked: their records
//! name no value the client chose.
//!
//! In majority mode a missing write is a violation; in async mode (Redis's semantics) a
//! failover may lose acked writes, and they are counted and reported instead.

use std::collections::HashSet;

use bucket_core::aof::{scan_records, Effect};
use bucket_core::WriteQuorum;

use super::Violation;
use crate::history::{
    show, ExpireCondition, ExpiryUnit, History, Op, OpKind, Outcome, SetOptions, Span, Value,
};
use crate::world::UNIX_EPOCH_OFFSET_MS;

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

/// The (key, value) pairs an acked operation must have left in the AOF. A SET whose
/// expiry is past logs a delete, and an APPEND's value is the model's to know: neither
/// is checked here.
fn acked_writes(op: &Op) -> Vec<(&[u8], Vec<u8>)> {
    let Outcome::Ok(answer) = &op.outcome else {
        return Vec::new();
    };
    let key = op.key.as_slice();
    let wrote = match (&op.kind, answer) {
        (OpKind::Set(value), Value::Ok) => value.clone(),
        (OpKind::SetWith { value, options }, answer) if set_wrote(options, answer) => value.clone(),
        (OpKind::SetNx(value), Value::Int(1)) => value.clone(),
        (OpKind::GetSet(value), Value::Bulk(_) | Value::Nil) => value.clone(),
        (OpKind::Incr | OpKind::Counter(_), Value::Int(n)) => n.to_string().into_bytes(),
        (OpKind::MSet(pairs), Value::Ok) => {
            return pairs
                .iter()
                .map(|(k, v)| (k.as_slice(), v.clone()))
                .collect();
        }
        _ => return Vec::new(),
    };
    vec![(key, wrote)]
}

/// Whether a SET with options that answered `answer` wrote its value. An absolute
/// expiry within the run may have passed by the time the master ran the SET, which then
/// logged a delete: such a SET is not checked.
fn set_wrote(options: &SetOptions, answer: &Value) -> bool {
    let maybe_past = options.expiry.is_some_and(|e| {
        let absolute = matches!(e.unit, ExpiryUnit::UnixSeconds | ExpiryUnit::UnixMillis);
        absolute && e.span(UNIX_EPOCH_OFFSET_MS) != Span::Long
    });
    let existed = match answer {
        Value::Ok => return !maybe_past,
        Value::Bulk(_) if options.get => true,
        Value::Nil if options.get => false,
        _ => return false, // Not set (NX or XX said no), or an error.
    };
    let blocked = match options.condition {
        Some(ExpireCondition::Nx) => existed,
        Some(ExpireCondition::Xx) => !existed,
        _ => false,
    };
    !blocked && !maybe_past
}

/// Returns how many acked writes are missing from `present` (what the final AOF
/// writes); an error in majority mode if any is.
pub fn check(history: &History, present: &Written, mode: WriteQuorum) -> Result<usize, Violation> {
    let mut missing = Vec::new();
    for op in &history.ops {
        for (key, value) in acked_writes(op) {
            if !present.contains(&(key, value.as_slice())) {
                missing.push(format!(
                    "client {} {} = {} acked at {} ms",
                    op.client,
                    show(key),
                    show(&value),
                    op.ret_ms.unwrap_or(0)
                ));
            }
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
