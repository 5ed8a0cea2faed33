//! MULTI / EXEC / DISCARD / WATCH / UNWATCH on one node: Redis's replies, and a
//! transaction's records as one unit in the AOF.

mod common;

use bucket_core::aof::record::{decode, unit_effects, Effect};
use bucket_core::resp::Reply;
use common::{array, bulk, err, int, ok, simple, TestNode};

fn queued() -> Reply {
    simple("QUEUED")
}

#[test]
fn exec_runs_the_queue_in_order_and_answers_every_reply() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["SET", "a", "1"]), queued());
    assert_eq!(t.cmd(c, &["INCR", "a"]), queued());
    assert_eq!(t.cmd(c, &["HSET", "a", "f", "v"]), queued());
    assert_eq!(t.cmd(c, &["GET", "a"]), queued());
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(
        t.cmd(c, &["EXEC"]),
        array(vec![ok(), int(2), wrongtype, bulk("2")])
    );
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["EXEC"]), array(vec![]));
}

#[test]
fn errors_outside_a_transaction_and_inside_it_are_redis_s() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(t.cmd(c, &["EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(t.cmd(c, &["DISCARD"]), err("ERR DISCARD without MULTI"));
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(
        t.cmd(c, &["MULTI"]),
        err("ERR MULTI calls can not be nested")
    );
    assert_eq!(
        t.cmd(c, &["WATCH", "k"]),
        err("ERR WATCH inside MULTI is not allowed")
    );
    // Neither of those spoils the transaction.
    assert_eq!(t.cmd(c, &["SET", "k", "v"]), queued());
    assert_eq!(t.cmd(c, &["EXEC"]), array(vec![ok()]));
}

#[test]
fn a_queuing_error_aborts_the_whole_exec_and_applies_nothing() {
    for bad in [&["NOSUCH", "x"][..], &["GET"][..], &["WAIT", "1", "0"][..]] {
        let mut t = TestNode::new();
        let c = t.connect();
        assert_eq!(t.cmd(c, &["MULTI"]), ok());
        assert_eq!(t.cmd(c, &["SET", "a", "1"]), queued());
        assert!(matches!(t.cmd(c, bad), Reply::Error(_)), "{bad:?}");
        assert_eq!(t.cmd(c, &["SET", "b", "2"]), queued());
        let (reply, aof) = t.cmd_aof(c, &["EXEC"]);
        assert_eq!(
            reply,
            err("EXECABORT Transaction discarded because of previous errors.")
        );
        assert!(aof.is_empty(), "{bad:?}: nothing logged");
        assert_eq!(t.cmd(c, &["EXISTS", "a", "b"]), int(0));
        // The session is out of MULTI.
        assert_eq!(t.cmd(c, &["GET", "a"]), Reply::Nil);
    }
}

#[test]
fn discard_drops_the_queue() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["SET", "a", "1"]), queued());
    assert_eq!(t.cmd(c, &["DISCARD"]), ok());
    assert_eq!(t.cmd(c, &["GET", "a"]), Reply::Nil);
}

#[test]
fn a_transaction_s_records_are_one_unit_in_the_aof() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    for args in [
        &["SET", "a", "1"][..],
        &["GET", "a"],
        &["HSET", "h", "f", "v"],
    ] {
        assert_eq!(t.cmd(c, args), queued());
    }
    let (_, aof) = t.cmd_aof(c, &["EXEC"]);
    let (record, len) = decode(&aof).expect("one whole record");
    assert_eq!(len, aof.len(), "the transaction is one record");
    let Effect::Unit { records } = record.effect else {
        panic!("a unit: {:?}", record.effect)
    };
    let keys: Vec<_> = unit_effects(records)
        .map(|e| e.key().unwrap().to_vec())
        .collect();
    assert_eq!(keys, [b"a".to_vec(), b"h".to_vec()]);
    // A lone write in a transaction is just that record.
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["SET", "b", "2"]), queued());
    let (_, aof) = t.cmd_aof(c, &["EXEC"]);
    let (record, _) = decode(&aof).unwrap();
    assert!(matches!(record.effect, Effect::Set { .. }));
}

#[test]
fn a_torn_unit_drops_the_whole_transaction_on_recovery() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(t.cmd(c, &["SET", "before", "x"]), ok());
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["SET", "a", "1"]), queued());
    assert_eq!(t.cmd(c, &["SET", "b", "2"]), queued());
    let start = t.aof.len();
    t.cmd(c, &["EXEC"]);
    let end = t.aof.len();
    for cut in start + 1..end {
        let mut r = TestNode::recover(common::config(), 7, &t.aof[..cut]);
        let c = r.connect();
        assert_eq!(
            r.cmd(c, &["EXISTS", "before", "a", "b"]),
            int(1),
            "cut at {cut}"
        );
    }
    let mut r = TestNode::recover(common::config(), 7, &t.aof);
    let c = r.connect();
    assert_eq!(r.cmd(c, &["EXISTS", "before", "a", "b"]), int(3));
}

#[test]
fn a_watched_key_written_by_anyone_fails_the_exec() {
    let mut t = TestNode::new();
    let (watcher, other) = (t.connect(), t.connect());
    assert_eq!(t.cmd(watcher, &["WATCH", "k", "absent"]), ok());
    assert_eq!(t.cmd(other, &["SET", "k", "v"]), ok());
    assert_eq!(t.cmd(watcher, &["MULTI"]), ok());
    assert_eq!(t.cmd(watcher, &["SET", "x", "1"]), queued());
    let (reply, aof) = t.cmd_aof(watcher, &["EXEC"]);
    assert_eq!(reply, Reply::NilArray);
    assert!(aof.is_empty());
    // EXEC dropped the watches: the next transaction runs.
    assert_eq!(t.cmd(watcher, &["MULTI"]), ok());
    assert_eq!(t.cmd(watcher, &["SET", "x", "1"]), queued());
    assert_eq!(t.cmd(watcher, &["EXEC"]), array(vec![ok()]));
}

#[test]
fn watch_sees_creation_own_writes_flushes_and_expiry() {
    type Change = fn(&mut TestNode, bucket_core::ConnectionId);
    let changes: [(&str, Change); 4] = [
        ("created", |t, c| {
            assert_eq!(t.cmd(c, &["HSET", "new", "f", "v"]), int(1))
        }),
        ("own write", |t, c| {
            assert_eq!(t.cmd(c, &["DEL", "k"]), int(1))
        }),
        ("flush", |t, c| assert_eq!(t.cmd(c, &["FLUSHALL"]), ok())),
        ("expired", |t, _| {
            t.advance_ms(1_500);
        }),
    ];
    for (name, change) in changes {
        let mut t = TestNode::new();
        let c = t.connect();
        assert_eq!(t.cmd(c, &["SET", "k", "v", "PX", "1000"]), ok());
        assert_eq!(t.cmd(c, &["WATCH", "k", "new"]), ok());
        change(&mut t, c);
        assert_eq!(t.cmd(c, &["MULTI"]), ok());
        assert_eq!(t.cmd(c, &["PING"]), queued());
        assert_eq!(t.cmd(c, &["EXEC"]), Reply::NilArray, "{name}");
    }
}

#[test]
fn unwatch_and_discard_forget_the_watches() {
    let mut t = TestNode::new();
    let (c, other) = (t.connect(), t.connect());
    assert_eq!(t.cmd(c, &["WATCH", "k"]), ok());
    assert_eq!(t.cmd(c, &["UNWATCH"]), ok());
    assert_eq!(t.cmd(other, &["SET", "k", "v"]), ok());
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["UNWATCH"]), queued());
    assert_eq!(t.cmd(c, &["GET", "k"]), queued());
    assert_eq!(t.cmd(c, &["EXEC"]), array(vec![ok(), bulk("v")]));
    assert_eq!(t.cmd(c, &["WATCH", "k"]), ok());
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["DISCARD"]), ok());
    assert_eq!(t.cmd(other, &["SET", "k", "w"]), ok());
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["GET", "k"]), queued());
    assert_eq!(t.cmd(c, &["EXEC"]), array(vec![bulk("w")]));
}

#[test]
fn an_overwrite_of_a_watched_key_fails_the_exec() {
    let mut t = TestNode::new();
    let (c, other) = (t.connect(), t.connect());
    assert_eq!(t.cmd(c, &["SET", "k", "v"]), ok());
    assert_eq!(t.cmd(c, &["WATCH", "k"]), ok());
    assert_eq!(t.cmd(other, &["SET", "k", "w"]), ok());
    assert_eq!(t.cmd(c, &["MULTI"]), ok());
    assert_eq!(t.cmd(c, &["GET", "k"]), queued());
    assert_eq!(t.cmd(c, &["EXEC"]), Reply::NilArray);
}
