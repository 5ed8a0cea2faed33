//! Blocking pops on one node: served in the order clients blocked, woken by any push
//! (a transaction's included), answered with a null at their timeout, and never
//! blocking inside EXEC. The cluster cases are in `cluster_blocking.rs`.

mod common;

use bucket_core::resp::Reply;
use bucket_core::ConnectionId;
use common::*;

/// Send `args` on `conn` and return the replies `watch` got in that step.
fn send_seen(
    t: &mut TestNode,
    conn: ConnectionId,
    args: &[&str],
    watch: ConnectionId,
) -> Vec<Reply> {
    let out = t.send(conn, &encode(args));
    parse_replies(&TestNode::reply_bytes(&out, watch))
}

/// Park a new client on `args`; it must get no reply yet.
fn park(t: &mut TestNode, args: &[&str]) -> ConnectionId {
    let conn = t.connect();
    assert_eq!(
        send_seen(t, conn, args, conn),
        Vec::<Reply>::new(),
        "{args:?} blocks"
    );
    conn
}

#[test]
fn parked_clients_are_served_in_the_order_they_blocked() {
    let mut t = TestNode::new();
    let first = park(&mut t, &["BLPOP", "q1", "q2", "0"]);
    let second = park(&mut t, &["BRPOP", "q2", "0"]);
    let pusher = t.connect();
    let out = t.send(pusher, &encode(&["RPUSH", "q2", "a", "b", "c"]));
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, pusher)),
        vec![int(3)]
    );
    let got = |c| parse_replies(&TestNode::reply_bytes(&out, c));
    assert_eq!(got(first), vec![bulks(&["q2", "a"])]);
    assert_eq!(got(second), vec![bulks(&["q2", "c"])]);
    assert_eq!(run(&mut t, pusher, "LRANGE q2 0 -1"), bulks(&["b"]));
    // What they popped is in the AOF as pops: a replay holds the same list.
    let replayed = TestNode::recover(config(), 7, &t.aof);
    assert_eq!(
        replayed.node.keyspace().digest(),
        t.node.keyspace().digest()
    );
}

#[test]
fn a_timeout_answers_null_and_zero_waits_forever() {
    let mut t = TestNode::new();
    let timed = park(&mut t, &["BLPOP", "q", "0.5"]);
    let forever = park(&mut t, &["BZPOPMIN", "z", "0"]);
    // The node asks to be woken for the timeout.
    assert!(t.node.deadline().0 <= t.instant_ms + 500);
    let out = t.advance_ms(499);
    assert!(TestNode::reply_bytes(&out, timed).is_empty());
    let out = t.advance_ms(1);
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, timed)),
        vec![Reply::NilArray]
    );
    t.advance_ms(60_000);
    let pusher = t.connect();
    let seen = send_seen(&mut t, pusher, &["ZADD", "z", "2", "m"], forever);
    let score = Reply::Bulk(b"2".to_vec());
    assert_eq!(seen, vec![array(vec![bulk("z"), bulk("m"), score])]);
}

#[test]
fn a_transaction_s_push_serves_a_parked_client_after_the_exec() {
    let mut t = TestNode::new();
    let parked = park(&mut t, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    let c = t.connect();
    assert_eq!(run(&mut t, c, "MULTI"), ok());
    assert_eq!(run(&mut t, c, "RPUSH src x"), simple("QUEUED"));
    let seen = send_seen(&mut t, c, &["EXEC"], parked);
    assert_eq!(seen, vec![bulk("x")]);
    assert_eq!(run(&mut t, c, "LRANGE dst 0 -1"), bulks(&["x"]));
}

#[test]
fn inside_exec_a_blocking_pop_answers_at_once() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(run(&mut t, c, "MULTI"), ok());
    assert_eq!(run(&mut t, c, "BLPOP q 0"), simple("QUEUED"));
    assert_eq!(run(&mut t, c, "BRPOPLPUSH a b 0"), simple("QUEUED"));
    assert_eq!(run(&mut t, c, "EXEC"), array(vec![Reply::NilArray, nil()]));
}

#[test]
fn errors_answer_at_once() {
    let mut t = TestNode::new();
    let c = t.connect();
    assert_eq!(run(&mut t, c, "SET s v"), ok());
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(run(&mut t, c, "BLPOP s 0"), wrongtype);
    assert_eq!(run(&mut t, c, "BLPOP q -1"), err("ERR timeout is negative"));
    assert_eq!(
        run(&mut t, c, "BLPOP q x"),
        err("ERR timeout is not a float or out of range")
    );
    assert_eq!(run(&mut t, c, "RPUSH q a"), int(1));
    assert_eq!(
        run(&mut t, c, "BLMPOP 0 2 none q LEFT COUNT 5"),
        array(vec![bulk("q"), bulks(&["a"])])
    );
}

#[test]
fn a_closed_parked_client_is_forgotten() {
    let mut t = TestNode::new();
    let gone = park(&mut t, &["BLPOP", "q", "0"]);
    t.step(bucket_core::Input::ClientClosed { conn: gone });
    assert_eq!(
        t.node.keyspace().watched_keys(),
        0,
        "its key is no longer watched"
    );
    let c = t.connect();
    assert_eq!(run(&mut t, c, "RPUSH q a"), int(1));
    assert_eq!(run(&mut t, c, "LLEN q"), int(1));
}
