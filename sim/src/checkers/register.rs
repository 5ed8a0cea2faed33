//! The model the linearizability checker runs for one key: a register that holds a
//! string or nothing, and whether the string has an expiry. Only the modelled keys get
//! here, whose expiries are in the past (a delete) or beyond the end of the run (see
//! `workload`), so an expiry never takes effect in the model and is one bit.
//!
//! Each command's answer follows Bucket's handlers in `core/src/commands/` (Redis's
//! behaviour), including the order in which a handler checks things.

use bucket_core::commands::parse_i64;

use crate::history::{ExpireCondition, Expiry, OpKind, SetOptions, Span, Value, LONG_TTL_MS};
use crate::world::UNIX_EPOCH_OFFSET_MS;

/// A key's content when it exists.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Register {
    pub value: Vec<u8>,
    /// It has an expiry (one that never comes within the run).
    pub ttl: bool,
}

/// The register: the key's content, or absent.
pub type State = Option<Register>;

/// What a write answers, given the state it ran on.
enum Answer {
    Exactly(Value),
    /// Any error (a counter on a non-integer, an overflow): the message is not modelled.
    AnError,
}

impl Answer {
    fn allows(&self, got: &Value) -> bool {
        match (self, got) {
            (Answer::Exactly(want), got) => want == got,
            (Answer::AnError, Value::Error(_)) => true,
            (Answer::AnError, _) => false,
        }
    }
}

/// The op as it bears on `key` alone: an MSET is a SET of the key's value, an MGET a GET
/// with the key's part of the answer. Checking each key apart cannot fail a
/// linearizable history; it misses only what spans keys (an MSET seen half done).
pub fn projected(kind: &OpKind, key: &[u8], output: Option<&Value>) -> (OpKind, Option<Value>) {
    match kind {
        OpKind::MSet(pairs) => {
            let (_, value) = pairs
                .iter()
                .find(|(k, _)| k == key)
                .expect("the key is set");
            (OpKind::Set(value.clone()), output.cloned())
        }
        OpKind::MGet(keys) => {
            let at = keys.iter().position(|k| k == key).expect("the key is read");
            let part = output.map(|out| match out {
                Value::Array(items) if items.len() == keys.len() => items[at].clone(),
                other => other.clone(),
            });
            (OpKind::Get, part)
        }
        other => (other.clone(), output.cloned()),
    }
}

/// Apply `kind` with answer `output` (`None`: unknown, so any) to `state`; `None` if
/// the model cannot give that answer from this state.
pub fn step(state: &State, kind: &OpKind, output: Option<&Value>) -> Option<State> {
    if !kind.is_write() {
        return read_allows(state, kind, output?).then(|| state.clone());
    }
    let (answer, next) = write(state, kind);
    match output {
        None => Some(next),
        Some(got) => answer.allows(got).then_some(next),
    }
}

fn old_value(state: &State) -> Value {
    match state {
        None => Value::Nil,
        Some(r) => Value::Bulk(r.value.clone()),
    }
}

fn read_allows(state: &State, kind: &OpKind, got: &Value) -> bool {
    let ttl_reply = |got: &Value, unit_ms: i64| match (state, got) {
        (None, Value::Int(n)) => *n == -2,
        (Some(r), Value::Int(n)) if !r.ttl => *n == -1,
        // Some time left, and no more than a long expiry (doubled: an absolute one in
        // whole seconds is rounded up).
        (Some(_), Value::Int(n)) => *n > 0 && *n <= 2 * LONG_TTL_MS / unit_ms,
        _ => false,
    };
    let exists = state.is_some() as i64;
    let allowed = match kind {
        OpKind::Get => *got == old_value(state),
        OpKind::Exists => *got == Value::Int(exists),
        OpKind::Strlen => *got == Value::Int(state.as_ref().map_or(0, |r| r.value.len() as i64)),
        OpKind::Type => {
            let name: &[u8] = if state.is_some() { b"string" } else { b"none" };
            *got == Value::Bulk(name.to_vec())
        }
        OpKind::Ttl => ttl_reply(got, 1000),
        OpKind::Pttl => ttl_reply(got, 1),
        OpKind::Wait => true,
        other => panic!("{other:?} is not a read of one key"),
    };
    allowed
}

fn write(state: &State, kind: &OpKind) -> (Answer, State) {
    let exists = state.is_some() as i64;
    let fresh = |value: &[u8]| {
        Some(Register {
            value: value.to_vec(),
            ttl: false,
        })
    };
    let ok = Answer::Exactly(Value::Ok);
    match kind {
        OpKind::Set(value) => (ok, fresh(value)),
        OpKind::SetWith { value, options } => set_with(state, value, options),
        OpKind::SetNx(value) if state.is_none() => (Answer::Exactly(Value::Int(1)), fresh(value)),
        OpKind::SetNx(_) => (Answer::Exactly(Value::Int(0)), state.clone()),
        OpKind::GetSet(value) => (Answer::Exactly(old_value(state)), fresh(value)),
        OpKind::Incr => add(state, 1),
        OpKind::Counter(counter) => add(state, counter.delta()),
        OpKind::Append(suffix) => {
            let mut value = state.as_ref().map_or(Vec::new(), |r| r.value.clone());
            value.extend_from_slice(suffix);
            let len = Value::Int(value.len() as i64);
            (Answer::Exactly(len), kept_ttl(state, value))
        }
        OpKind::Del | OpKind::Unlink => (Answer::Exactly(Value::Int(exists)), None),
        OpKind::GetDel => (Answer::Exactly(old_value(state)), None),
        OpKind::Expire { expiry, condition } => expire(state, *expiry, *condition),
        OpKind::Persist => match state {
            Some(r) if r.ttl => {
                let persisted = Register {
                    value: r.value.clone(),
                    ttl: false,
                };
                (Answer::Exactly(Value::Int(1)), Some(persisted))
            }
            _ => (Answer::Exactly(Value::Int(0)), state.clone()),
        },
        other => panic!("{other:?} is not a write of one key"),
    }
}

/// The new value, keeping the expiry if the key exists (INCR, APPEND, SET KEEPTTL).
fn kept_ttl(state: &State, value: Vec<u8>) -> State {
    let ttl = state.as_ref().is_some_and(|r| r.ttl);
    Some(Register { value, ttl })
}

fn span(expiry: Expiry) -> Span {
    let span = expiry.span(UNIX_EPOCH_OFFSET_MS);
    assert_ne!(
        span,
        Span::Short,
        "a modelled key got a short expiry: {expiry:?}"
    );
    span
}

fn set_with(state: &State, value: &[u8], options: &SetOptions) -> (Answer, State) {
    let exists = state.is_some();
    let blocked = match options.condition {
        None => false,
        Some(ExpireCondition::Nx) => exists,
        Some(ExpireCondition::Xx) => !exists,
        Some(other) => panic!("SET has no {other:?} option"),
    };
    let answer = match (options.get, blocked) {
        (true, _) => old_value(state),
        (false, true) => Value::Nil,
        (false, false) => Value::Ok,
    };
    let next = match options.expiry.map(span) {
        _ if blocked => state.clone(),
        Some(Span::Past) => None,
        Some(_) => Some(Register {
            value: value.to_vec(),
            ttl: true,
        }),
        None if options.keep_ttl => kept_ttl(state, value.to_vec()),
        None => Some(Register {
            value: value.to_vec(),
            ttl: false,
        }),
    };
    (Answer::Exactly(answer), next)
}

fn add(state: &State, delta: i64) -> (Answer, State) {
    let current = match state {
        None => Some(0),
        Some(r) => parse_i64(&r.value),
    };
    match current.and_then(|n| n.checked_add(delta)) {
        Some(next) => {
            let value = next.to_string().into_bytes();
            (Answer::Exactly(Value::Int(next)), kept_ttl(state, value))
        }
        None => (Answer::AnError, state.clone()),
    }
}

fn expire(state: &State, expiry: Expiry, condition: Option<ExpireCondition>) -> (Answer, State) {
    let Some(r) = state else {
        return (Answer::Exactly(Value::Int(0)), None);
    };
    let allowed = match condition {
        None => true,
        Some(ExpireCondition::Nx) => !r.ttl,
        Some(ExpireCondition::Xx) => r.ttl,
        Some(other) => panic!("{other:?} compares expiry times: volatile keys only"),
    };
    let next = match span(expiry) {
        _ if !allowed => state.clone(),
        Span::Past => None,
        _ => Some(Register {
            value: r.value.clone(),
            ttl: true,
        }),
    };
    (Answer::Exactly(Value::Int(allowed as i64)), next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Counter, ExpiryUnit};

    fn reg(value: &str, ttl: bool) -> State {
        Some(Register {
            value: value.as_bytes().to_vec(),
            ttl,
        })
    }

    fn long() -> Expiry {
        Expiry {
            unit: ExpiryUnit::Millis,
            amount: LONG_TTL_MS,
        }
    }

    #[test]
    fn each_command_answers_as_bucket_does() {
        let int = |n| Some(Value::Int(n));
        let bulk = |v: &str| Some(Value::Bulk(v.as_bytes().to_vec()));
        let set_with = |condition, get, keep_ttl| OpKind::SetWith {
            value: b"9".to_vec(),
            options: SetOptions {
                condition,
                get,
                keep_ttl,
                expiry: None,
            },
        };
        let expire = |condition| OpKind::Expire {
            expiry: long(),
            condition,
        };
        // (state, op, answer, state after or None if the answer is impossible)
        let cases: Vec<(State, OpKind, Option<Value>, Option<State>)> = vec![
            (reg("5", true), OpKind::Incr, int(6), Some(reg("6", true))),
            (reg("05", false), OpKind::Incr, int(6), None),
            (
                reg("0", false),
                OpKind::Append(b"7".to_vec()),
                int(2),
                Some(reg("07", false)),
            ),
            (
                reg("07", false),
                OpKind::Incr,
                Some(Value::Error("ERR".into())),
                Some(reg("07", false)),
            ),
            (
                None,
                OpKind::Counter(Counter::DecrBy(3)),
                int(-3),
                Some(reg("-3", false)),
            ),
            (
                reg("1", true),
                set_with(None, false, true),
                Some(Value::Ok),
                Some(reg("9", true)),
            ),
            (
                reg("1", true),
                set_with(None, false, false),
                Some(Value::Ok),
                Some(reg("9", false)),
            ),
            (
                reg("1", false),
                set_with(Some(ExpireCondition::Nx), true, false),
                bulk("1"),
                Some(reg("1", false)),
            ),
            (
                None,
                set_with(Some(ExpireCondition::Xx), false, false),
                Some(Value::Nil),
                Some(None),
            ),
            (
                None,
                set_with(Some(ExpireCondition::Nx), true, false),
                Some(Value::Nil),
                Some(reg("9", false)),
            ),
            (
                reg("1", false),
                expire(Some(ExpireCondition::Xx)),
                int(0),
                Some(reg("1", false)),
            ),
            (
                reg("1", false),
                expire(Some(ExpireCondition::Nx)),
                int(1),
                Some(reg("1", true)),
            ),
            (None, expire(None), int(0), Some(None)),
            (
                reg("1", true),
                OpKind::Persist,
                int(1),
                Some(reg("1", false)),
            ),
            (
                reg("1", false),
                OpKind::Persist,
                int(0),
                Some(reg("1", false)),
            ),
            (
                reg("1", true),
                OpKind::Ttl,
                int(1_000_000),
                Some(reg("1", true)),
            ),
            (reg("1", true), OpKind::Ttl, int(-1), None),
            (
                reg("1", false),
                OpKind::Pttl,
                int(-1),
                Some(reg("1", false)),
            ),
            (None, OpKind::Pttl, int(-2), Some(None)),
            (
                reg("12", false),
                OpKind::Strlen,
                int(2),
                Some(reg("12", false)),
            ),
            (None, OpKind::Type, bulk("none"), Some(None)),
            (reg("1", false), OpKind::GetDel, bulk("1"), Some(None)),
            (
                reg("1", false),
                OpKind::GetSet(b"2".to_vec()),
                bulk("1"),
                Some(reg("2", false)),
            ),
            (
                reg("1", false),
                OpKind::SetNx(b"2".to_vec()),
                int(0),
                Some(reg("1", false)),
            ),
            (reg("1", false), OpKind::Unlink, int(1), Some(None)),
        ];
        for (i, (state, kind, answer, want)) in cases.iter().enumerate() {
            let got = step(state, kind, answer.as_ref());
            assert_eq!(
                got.as_ref(),
                want.as_ref(),
                "#{i}: {kind:?} on {state:?} -> {answer:?}"
            );
        }
    }

    #[test]
    fn a_past_expiry_deletes_the_key() {
        let past = Expiry {
            unit: ExpiryUnit::Seconds,
            amount: 0,
        };
        let expire = OpKind::Expire {
            expiry: past,
            condition: None,
        };
        assert_eq!(
            step(&reg("1", false), &expire, Some(&Value::Int(1))),
            Some(None)
        );
    }

    #[test]
    fn multi_key_ops_project_onto_each_key() {
        let mget = OpKind::MGet(vec![b"a".to_vec(), b"b".to_vec()]);
        let answer = Value::Array(vec![Value::Nil, Value::Bulk(b"2".to_vec())]);
        let (kind, output) = projected(&mget, b"b", Some(&answer));
        assert_eq!(
            (kind, output),
            (OpKind::Get, Some(Value::Bulk(b"2".to_vec())))
        );
        let mset = OpKind::MSet(vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
        ]);
        let (kind, _) = projected(&mset, b"a", Some(&Value::Ok));
        assert_eq!(kind, OpKind::Set(b"1".to_vec()));
    }
}
