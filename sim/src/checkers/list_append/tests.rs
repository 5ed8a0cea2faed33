//! Hand-made histories, each with one anomaly the checker must name (and one without).

use super::*;
use crate::history::{History, Op, OpKind, Outcome, Value};
use crate::txn::Micro;

fn append(key: &str, value: &str) -> Micro {
    Micro::Append {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

fn read(key: &str) -> Micro {
    Micro::Read {
        key: key.as_bytes().to_vec(),
    }
}

fn list(items: &[&str]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|i| Value::Bulk(i.as_bytes().to_vec()))
            .collect(),
    )
}

/// A transaction invoked at `call`, returned at `call + 1`, with its outcome.
fn txn(call: u64, micros: Vec<Micro>, outcome: Outcome) -> Op {
    Op {
        client: 0,
        key: micros[0].key().to_vec(),
        kind: OpKind::Txn(micros),
        call,
        ret: matches!(outcome, Outcome::Ok(_)).then_some(call + 1),
        call_ms: call,
        ret_ms: None,
        outcome,
    }
}

fn ok(results: Vec<Value>) -> Outcome {
    Outcome::Ok(Value::Array(results))
}

fn finals(lists: &[(&str, &[&str])]) -> FinalLists {
    lists
        .iter()
        .map(|(k, items)| {
            let items = items.iter().map(|i| i.as_bytes().to_vec()).collect();
            (k.as_bytes().to_vec(), items)
        })
        .collect()
}

fn verdict(ops: Vec<Op>, lists: &[(&str, &[&str])]) -> Result<usize, String> {
    let history = History {
        ops,
        ..History::default()
    };
    check(&history, &finals(lists)).map_err(|v| v.detail)
}

#[test]
fn a_serial_history_passes() {
    let ops = vec![
        txn(
            1,
            vec![append("x", "a"), read("x")],
            ok(vec![Value::Int(1), list(&["a"])]),
        ),
        txn(
            3,
            vec![read("x"), append("x", "b")],
            ok(vec![list(&["a"]), Value::Int(2)]),
        ),
        txn(
            5,
            vec![append("x", "c")],
            Outcome::Unknown("timed out".into()),
        ),
        txn(7, vec![read("x")], ok(vec![list(&["a", "b"])])),
    ];
    assert_eq!(verdict(ops, &[("x", &["a", "b"])]), Ok(4));
}

#[test]
fn a_lost_acknowledged_append_is_named() {
    let ops = vec![txn(1, vec![append("x", "a")], ok(vec![Value::Int(1)]))];
    let error = verdict(ops, &[("x", &[])]).unwrap_err();
    assert!(error.contains("is lost"), "{error}");
}

#[test]
fn a_read_off_the_final_order_is_named() {
    let ops = vec![
        txn(1, vec![append("x", "a")], ok(vec![Value::Int(1)])),
        txn(3, vec![append("x", "b")], ok(vec![Value::Int(2)])),
        txn(5, vec![read("x")], ok(vec![list(&["b"])])),
    ];
    let error = verdict(ops, &[("x", &["a", "b"])]).unwrap_err();
    assert!(error.contains("not a prefix"), "{error}");
}

#[test]
fn an_aborted_read_is_named() {
    let ops = vec![
        txn(
            1,
            vec![append("x", "a")],
            Outcome::Failed("EXECABORT".into()),
        ),
        txn(3, vec![read("x")], ok(vec![list(&["a"])])),
    ];
    let error = verdict(ops, &[("x", &["a"])]).unwrap_err();
    assert!(error.contains("G1a"), "{error}");
}

#[test]
fn an_intermediate_read_is_named() {
    // The writer appended a and b to x; a reader saw a alone (a transaction in part).
    let ops = vec![
        txn(
            1,
            vec![append("x", "a"), append("x", "b")],
            Outcome::Unknown("lost".into()),
        ),
        txn(3, vec![read("x")], ok(vec![list(&["a"])])),
    ];
    let error = verdict(ops, &[("x", &["a", "b"])]).unwrap_err();
    assert!(error.contains("G1b"), "{error}");
}

#[test]
fn a_transaction_applied_in_part_is_named() {
    let ops = vec![txn(
        1,
        vec![append("x", "a"), append("y", "b")],
        Outcome::Unknown("lost".into()),
    )];
    let error = verdict(ops, &[("x", &["a"])]).unwrap_err();
    assert!(error.contains("applied in part"), "{error}");
}

#[test]
fn write_skew_is_a_cycle() {
    // Each read missed the other's append: T1 -rw-> T2 -rw-> T1 (G2).
    let ops = vec![
        txn(
            1,
            vec![read("x"), append("y", "a")],
            ok(vec![list(&[]), Value::Int(1)]),
        ),
        txn(
            1,
            vec![read("y"), append("x", "b")],
            ok(vec![list(&[]), Value::Int(1)]),
        ),
    ];
    let error = verdict(ops, &[("x", &["b"]), ("y", &["a"])]).unwrap_err();
    assert!(error.contains("cycle"), "{error}");
}

#[test]
fn a_stale_read_after_a_completed_append_breaks_real_time() {
    // The append finished before the read began, yet the read missed it.
    let ops = vec![
        txn(1, vec![append("x", "a")], ok(vec![Value::Int(1)])),
        txn(5, vec![read("x")], ok(vec![list(&[])])),
    ];
    let error = verdict(ops, &[("x", &["a"])]).unwrap_err();
    assert!(error.contains("cycle"), "{error}");
}
