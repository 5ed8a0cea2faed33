//! Sorted set commands against one master node, with Redis 7.2's replies (checked
//! against a real `redis-server` where the versions agree).

mod common;

use bucket_core::resp::Reply;
use bucket_core::ConnectionId;
use common::*;

const ERR_SYNTAX: &str = "ERR syntax error";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
const ERR_RANGE: &str = "ERR min or max is not a float";
const ERR_LEX: &str = "ERR min or max not valid string range item";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A node and a connection, after `setup`.
fn node(setup: &[&str]) -> (TestNode, ConnectionId) {
    let mut t = TestNode::new();
    let conn = t.connect();
    for command in setup {
        let reply = run(&mut t, conn, command);
        assert!(!matches!(reply, Reply::Error(_)), "{command}: {reply:?}");
    }
    (t, conn)
}

/// Check each (command, reply) in order on one node.
fn script(setup: &[&str], steps: &[(&str, Reply)]) {
    let (mut t, conn) = node(setup);
    for (i, (command, want)) in steps.iter().enumerate() {
        assert_eq!(&run(&mut t, conn, command), want, "#{i}: {command}");
    }
}

fn empty() -> Reply {
    array(vec![])
}

#[test]
fn zadd_options_follow_redis() {
    script(
        &[],
        &[
            ("ZADD z 1 a 2 b", int(2)),
            ("ZADD z 3 a 4 c", int(1)),
            ("ZADD z CH 5 a 4 c 6 d", int(2)),
            ("ZADD z NX 100 a 7 e", int(1)),
            ("ZSCORE z a", bulk("5")),
            ("ZADD z XX 8 a 9 f", int(0)),
            ("ZSCORE z a", bulk("8")),
            ("ZSCORE z f", Reply::Nil),
            ("ZADD z GT CH 1 a 10 b", int(1)),
            ("ZSCORE z a", bulk("8")),
            ("ZADD z LT CH 1 a 10 g", int(2)),
            ("ZSCORE z a", bulk("1")),
            ("ZADD z INCR 2.5 a", bulk("3.5")),
            ("ZADD z NX INCR 1 a", Reply::Nil),
            ("ZADD z XX INCR 1 nosuch", Reply::Nil),
            ("ZADD z GT INCR -1 a", Reply::Nil),
            ("ZADD z 1 m 2 m", int(1)),
            ("ZSCORE z m", bulk("2")),
            ("ZADD z CH 3 m 4 m", int(2)),
            ("ZADD z INCR inf a", bulk("inf")),
            (
                "ZADD z INCR -inf a",
                err("ERR resulting score is not a number (NaN)"),
            ),
            ("ZSCORE z a", bulk("inf")),
            ("ZADD nokey XX 1 a", int(0)),
            ("EXISTS nokey", int(0)),
        ],
    );
}

#[test]
fn zadd_errors_come_in_redis_order() {
    script(
        &["SET s v"],
        &[
            (
                "ZADD z 1",
                err("ERR wrong number of arguments for 'zadd' command"),
            ),
            ("ZADD z 1 a 2", err(ERR_SYNTAX)),
            ("ZADD z NX 1", err(ERR_SYNTAX)),
            (
                "ZADD z NX XX 1 a",
                err("ERR XX and NX options at the same time are not compatible"),
            ),
            (
                "ZADD z NX GT 1 a",
                err("ERR GT, LT, and/or NX options at the same time are not compatible"),
            ),
            (
                "ZADD z GT LT 1 a",
                err("ERR GT, LT, and/or NX options at the same time are not compatible"),
            ),
            (
                "ZADD z INCR 1 a 2 b",
                err("ERR INCR option supports a single increment-element pair"),
            ),
            ("ZADD z x a", err(ERR_NOT_FLOAT)),
            ("ZADD z nan a", err(ERR_NOT_FLOAT)),
            ("ZADD z 1e400 a", err(ERR_NOT_FLOAT)),
            ("ZADD z 1e-400 a", err(ERR_NOT_FLOAT)),
            ("ZADD s x a", err(ERR_NOT_FLOAT)),
            ("ZADD s 1 a", err(WRONGTYPE)),
            ("EXISTS z", int(0)),
        ],
    );
}

#[test]
fn scores_are_formatted_as_redis_formats_them() {
    script(
        &["ZADD z 1 a 1.5 b inf c -inf d 0.1 e -0 f 1e300 g 1e-5 h 123456789012345678 i"],
        &[
            ("ZSCORE z a", bulk("1")),
            ("ZSCORE z b", bulk("1.5")),
            ("ZSCORE z c", bulk("inf")),
            ("ZSCORE z d", bulk("-inf")),
            ("ZSCORE z e", bulk("0.1")),
            ("ZSCORE z f", bulk("0")),
            ("ZSCORE z g", bulk("1e+300")),
            ("ZSCORE z h", bulk("1e-05")),
            ("ZSCORE z i", bulk("1.2345678901234568e+17")),
            ("ZINCRBY z 0.2 e", bulk("0.30000000000000004")),
            ("ZINCRBY z x e", err(ERR_NOT_FLOAT)),
            ("ZINCRBY z 1 new", bulk("1")),
            (
                "ZINCRBY z -inf c",
                err("ERR resulting score is not a number (NaN)"),
            ),
            (
                "ZMSCORE z a nosuch c",
                array(vec![bulk("1"), Reply::Nil, bulk("inf")]),
            ),
            ("ZMSCORE nokey a", array(vec![Reply::Nil])),
        ],
    );
}

#[test]
fn resp3_answers_doubles_and_pairs() {
    script(
        &["ZADD z 1 a 2.5 b", "HELLO 3"],
        &[
            ("ZSCORE z b", Reply::Double(2.5)),
            ("ZSCORE z x", Reply::Nil),
            ("ZADD z INCR 1 a", Reply::Double(2.0)),
            (
                "ZRANGE z 0 -1 WITHSCORES",
                array(vec![
                    array(vec![bulk("a"), Reply::Double(2.0)]),
                    array(vec![bulk("b"), Reply::Double(2.5)]),
                ]),
            ),
            ("ZRANGE z 0 -1", bulks(&["a", "b"])),
            (
                "ZRANK z b WITHSCORE",
                array(vec![int(1), Reply::Double(2.5)]),
            ),
            ("ZRANK z x WITHSCORE", Reply::Nil),
            ("ZPOPMIN z", array(vec![bulk("a"), Reply::Double(2.0)])),
            (
                "ZPOPMAX z 1",
                array(vec![array(vec![bulk("b"), Reply::Double(2.5)])]),
            ),
            ("ZSCAN z 0", array(vec![bulk("0"), empty()])),
        ],
    );
}

#[test]
fn zrem_zcard_and_the_key_goes_with_the_last_member() {
    script(
        &["ZADD z 1 a 2 b", "SET s v"],
        &[
            ("ZCARD z", int(2)),
            ("ZREM z a a x", int(1)),
            ("ZCARD z", int(1)),
            ("ZREM z b", int(1)),
            ("EXISTS z", int(0)),
            ("ZCARD z", int(0)),
            ("ZREM z b", int(0)),
            ("ZREM s a", err(WRONGTYPE)),
        ],
    );
}

#[test]
fn ranks_with_and_without_score() {
    script(
        &["ZADD z 1 a 2 b 3 c"],
        &[
            ("ZRANK z a", int(0)),
            ("ZRANK z c", int(2)),
            ("ZREVRANK z c", int(0)),
            ("ZREVRANK z a WITHSCORE", array(vec![int(2), bulk("1")])),
            ("ZRANK z x", Reply::Nil),
            ("ZRANK z x WITHSCORE", Reply::NilArray),
            ("ZRANK nokey a", Reply::Nil),
            ("ZRANK z a foo", err(ERR_SYNTAX)),
            (
                "ZRANK z a withscore x",
                err("ERR wrong number of arguments for 'zrank' command"),
            ),
        ],
    );
}

#[test]
fn zrange_by_rank_score_and_lex() {
    script(
        &["ZADD z 1 a 2 b 3 c 4 d"],
        &[
            ("ZRANGE z 0 -1", bulks(&["a", "b", "c", "d"])),
            ("ZRANGE z -2 100", bulks(&["c", "d"])),
            ("ZRANGE z 3 1", empty()),
            ("ZRANGE z 0 0 WITHSCORES", bulks(&["a", "1"])),
            ("ZRANGE z 0 1 REV", bulks(&["d", "c"])),
            ("ZREVRANGE z 0 1 WITHSCORES", bulks(&["d", "4", "c", "3"])),
            ("ZRANGE z (1 3 BYSCORE", bulks(&["b", "c"])),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 1 2", bulks(&["b", "c"])),
            ("ZRANGE z -inf +inf BYSCORE LIMIT -1 2", empty()),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 2 -1", bulks(&["c", "d"])),
            ("ZRANGE z 3 (1 BYSCORE REV", bulks(&["c", "b"])),
            ("ZRANGEBYSCORE z 2 inf WITHSCORES LIMIT 0 1", bulks(&["b", "2"])),
            ("ZRANGEBYSCORE z (2 (2", empty()),
            ("ZRANGEBYSCORE z 3 1", empty()),
            ("ZREVRANGEBYSCORE z +inf (3", bulks(&["d"])),
            ("ZRANGE z 0 -1 LIMIT 0 1", err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")),
            ("ZRANGE z 0 -1 REV REV", err(ERR_SYNTAX)),
            ("ZRANGE z 0 -1 BYSCORE BYLEX", err(ERR_SYNTAX)),
            ("ZRANGEBYSCORE z 0 1 BYSCORE", err(ERR_SYNTAX)),
            ("ZREVRANGE z 0 1 REV", err(ERR_SYNTAX)),
            ("ZRANGE z 0 -1 LIMIT 0", err(ERR_SYNTAX)),
            ("ZRANGE z 0 -1 LIMIT 0 x", err(ERR_NOT_INTEGER)),
            ("ZRANGE z a 1", err(ERR_NOT_INTEGER)),
            ("ZRANGE z a 1 BYSCORE", err(ERR_RANGE)),
            ("ZRANGEBYSCORE z nan 1", err(ERR_RANGE)),
            ("ZRANGE nokey 0 -1", empty()),
        ],
    );
    script(
        &["ZADD z 0 a 0 b 0 c 0 d"],
        &[
            ("ZRANGEBYLEX z - +", bulks(&["a", "b", "c", "d"])),
            ("ZRANGEBYLEX z [b (d", bulks(&["b", "c"])),
            ("ZRANGEBYLEX z (a + LIMIT 1 1", bulks(&["c"])),
            ("ZREVRANGEBYLEX z + [c", bulks(&["d", "c"])),
            ("ZRANGE z [c - BYLEX REV", bulks(&["c", "b", "a"])),
            ("ZRANGEBYLEX z + -", empty()),
            ("ZRANGEBYLEX z (b (b", empty()),
            ("ZRANGEBYLEX z a c", err(ERR_LEX)),
            (
                "ZRANGEBYLEX z - + WITHSCORES",
                err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            ),
            ("ZLEXCOUNT z [b +", int(3)),
            ("ZLEXCOUNT z - (a", int(0)),
            ("ZLEXCOUNT z x +", err(ERR_LEX)),
        ],
    );
}

#[test]
fn zcount_parses_bounds_as_strtod() {
    script(
        &["ZADD z 1 a 2 b 3 c -inf m inf p"],
        &[
            ("ZCOUNT z -inf +inf", int(5)),
            ("ZCOUNT z (1 3", int(2)),
            ("ZCOUNT z (-inf (inf", int(3)),
            ("ZCOUNT z 1e400 inf", int(1)),
            ("ZCOUNT z (3 3", int(0)),
            ("ZCOUNT z a 1", err(ERR_RANGE)),
            ("ZCOUNT nokey 0 1", int(0)),
        ],
    );
}

#[test]
fn zremrange_removes_and_empties() {
    script(
        &["ZADD z 1 a 2 b 3 c 4 d 5 e"],
        &[
            ("ZREMRANGEBYRANK z 0 0", int(1)),
            ("ZREMRANGEBYRANK z -1 -1", int(1)),
            ("ZREMRANGEBYRANK z 5 10", int(0)),
            ("ZREMRANGEBYSCORE z (2 3", int(1)),
            ("ZRANGE z 0 -1", bulks(&["b", "d"])),
            ("ZREMRANGEBYSCORE z x 1", err(ERR_RANGE)),
            ("ZREMRANGEBYRANK z x 1", err(ERR_NOT_INTEGER)),
            ("ZREMRANGEBYSCORE z -inf inf", int(2)),
            ("EXISTS z", int(0)),
        ],
    );
    script(
        &["ZADD z 0 a 0 b 0 c"],
        &[
            ("ZREMRANGEBYLEX z (a [b", int(1)),
            ("ZREMRANGEBYLEX z x +", err(ERR_LEX)),
            ("ZREMRANGEBYLEX z - +", int(2)),
            ("EXISTS z", int(0)),
        ],
    );
}

#[test]
fn zrangestore_replaces_the_destination() {
    script(
        &["ZADD z 1 a 2 b 3 c", "SET d string", "SET s v"],
        &[
            ("ZRANGESTORE d z 0 1", int(2)),
            ("ZRANGE d 0 -1 WITHSCORES", bulks(&["a", "1", "b", "2"])),
            ("ZRANGESTORE d z (1 +inf BYSCORE LIMIT 0 1", int(1)),
            ("ZRANGE d 0 -1", bulks(&["b"])),
            ("ZRANGESTORE d z [a [b BYLEX REV", int(0)),
            ("EXISTS d", int(0)),
            ("ZRANGESTORE z z 2 -1", int(1)),
            ("ZRANGE z 0 -1", bulks(&["c"])),
            ("ZRANGESTORE d z 0 -1 WITHSCORES", err(ERR_SYNTAX)),
            ("ZRANGESTORE d s 0 -1", err(WRONGTYPE)),
            ("ZRANGESTORE d nokey 0 -1", int(0)),
        ],
    );
}

#[test]
fn pops_take_from_the_ends() {
    script(
        &["ZADD z 1 a 2 b 3 c", "SET s v"],
        &[
            ("ZPOPMIN z", bulks(&["a", "1"])),
            ("ZPOPMAX z 5", bulks(&["c", "3", "b", "2"])),
            ("EXISTS z", int(0)),
            ("ZPOPMIN z", empty()),
            ("ZPOPMIN s", err(WRONGTYPE)),
            ("ZPOPMIN s 0", err(WRONGTYPE)),
            (
                "ZPOPMIN z -1",
                err("ERR value is out of range, must be positive"),
            ),
            (
                "ZPOPMIN z x",
                err("ERR value is out of range, must be positive"),
            ),
            ("ZPOPMIN z 1 2", err(ERR_SYNTAX)),
            ("ZADD z 1 a", int(1)),
            ("ZPOPMIN z 0", empty()),
            ("ZCARD z", int(1)),
        ],
    );
    script(
        &["ZADD z 1 a 2 b 3 c", "SET s v"],
        &[
            (
                "ZMPOP 2 nokey z MAX COUNT 2",
                array(vec![
                    bulk("z"),
                    array(vec![bulks(&["c", "3"]), bulks(&["b", "2"])]),
                ]),
            ),
            (
                "ZMPOP 1 z min",
                array(vec![bulk("z"), array(vec![bulks(&["a", "1"])])]),
            ),
            ("ZMPOP 1 z MIN", Reply::NilArray),
            ("ZMPOP 2 nokey s MIN", err(WRONGTYPE)),
            ("ZMPOP 0 z MIN", err("ERR numkeys should be greater than 0")),
            ("ZMPOP x z MIN", err(ERR_NOT_INTEGER)),
            ("ZMPOP 2 z MIN", err(ERR_SYNTAX)),
            ("ZMPOP 1 z LEFT", err(ERR_SYNTAX)),
            (
                "ZMPOP 1 z MIN COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            ("ZMPOP 1 z MIN COUNT 1 COUNT 1", err(ERR_SYNTAX)),
        ],
    );
}

#[test]
fn set_algebra_with_weights_and_aggregates() {
    script(
        &["ZADD a 1 x 2 y 3 z", "ZADD b 10 y 20 z 30 w", "SET str v"],
        &[
            (
                "ZUNION 2 a b WITHSCORES",
                bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]),
            ),
            ("ZINTER 2 a b", bulks(&["y", "z"])),
            (
                "ZINTER 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES",
                bulks(&["y", "5", "z", "10"]),
            ),
            (
                "ZUNION 2 a b AGGREGATE MIN WITHSCORES",
                bulks(&["x", "1", "y", "2", "z", "3", "w", "30"]),
            ),
            ("ZDIFF 2 a b WITHSCORES", bulks(&["x", "1"])),
            ("ZDIFF 2 b a", bulks(&["w"])),
            ("ZINTER 2 a nokey", empty()),
            ("ZUNIONSTORE d 2 a b", int(4)),
            ("ZRANGE d 0 -1", bulks(&["x", "y", "z", "w"])),
            ("ZINTERSTORE d 2 a nokey", int(0)),
            ("EXISTS d", int(0)),
            ("ZDIFFSTORE str 2 a b", int(1)),
            ("ZRANGE str 0 -1 WITHSCORES", bulks(&["x", "1"])),
            ("SET str v", ok()),
            ("ZUNION 2 a str", err(WRONGTYPE)),
            (
                "ZUNION 0 a",
                err("ERR at least 1 input key is needed for 'zunion' command"),
            ),
            (
                "ZINTERSTORE d 0 a",
                err("ERR at least 1 input key is needed for 'zinterstore' command"),
            ),
            ("ZUNION 3 a b", err(ERR_SYNTAX)),
            ("ZUNION x a", err(ERR_NOT_INTEGER)),
            (
                "ZUNION 1 a WEIGHTS x",
                err("ERR weight value is not a float"),
            ),
            ("ZUNION 2 a b WEIGHTS 1", err(ERR_SYNTAX)),
            ("ZUNION 1 a AGGREGATE avg", err(ERR_SYNTAX)),
            ("ZDIFF 1 a WEIGHTS 1", err(ERR_SYNTAX)),
            ("ZUNIONSTORE d 1 a WITHSCORES", err(ERR_SYNTAX)),
        ],
    );
    // Opposite infinities sum to 0, as in Redis.
    script(
        &["ZADD i inf a"],
        &[
            ("ZUNION 2 i i WEIGHTS 1 -1 WITHSCORES", bulks(&["a", "0"])),
            ("ZINTER 2 i i WEIGHTS 1 -1 WITHSCORES", bulks(&["a", "0"])),
            ("ZUNION 1 i WEIGHTS 0 WITHSCORES", bulks(&["a", "0"])),
        ],
    );
}

fn members_of(reply: &Reply) -> Vec<Vec<u8>> {
    let Reply::Array(items) = reply else {
        panic!("an array: {reply:?}");
    };
    items
        .iter()
        .map(|item| match item {
            Reply::Bulk(bytes) => bytes.clone(),
            other => panic!("a bulk: {other:?}"),
        })
        .collect()
}

#[test]
fn zrandmember_picks_members() {
    let (mut t, conn) = node(&["ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i 10 j", "SET s v"]);
    let all: Vec<Vec<u8>> = "abcdefghij".bytes().map(|b| vec![b]).collect();
    let one = run(&mut t, conn, "ZRANDMEMBER z");
    assert!(matches!(&one, Reply::Bulk(m) if all.contains(m)), "{one:?}");
    for count in [1, 2, 5, 9, 10, 20] {
        let mut got = members_of(&run(&mut t, conn, &format!("ZRANDMEMBER z {count}")));
        assert_eq!(got.len(), count.min(10));
        got.sort();
        got.dedup();
        assert_eq!(got.len(), count.min(10), "distinct");
        assert!(got.iter().all(|m| all.contains(m)));
    }
    let repeated = members_of(&run(&mut t, conn, "ZRANDMEMBER z -30"));
    assert_eq!(repeated.len(), 30);
    let Reply::Array(pairs) = run(&mut t, conn, "ZRANDMEMBER z 3 WITHSCORES") else {
        panic!("an array");
    };
    assert_eq!(pairs.len(), 6);
    let steps = [
        ("ZRANDMEMBER z 0", empty()),
        ("ZRANDMEMBER nokey", Reply::Nil),
        ("ZRANDMEMBER nokey 5", empty()),
        ("ZRANDMEMBER s", err(WRONGTYPE)),
        ("ZRANDMEMBER z 1 WITHSCORE", err(ERR_SYNTAX)),
        ("ZRANDMEMBER z x", err(ERR_NOT_INTEGER)),
        (
            "ZRANDMEMBER z -9223372036854775808",
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        ),
        (
            "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
            err("ERR value is out of range"),
        ),
    ];
    for (command, want) in steps {
        assert_eq!(run(&mut t, conn, command), want, "{command}");
    }
    // A read: nothing logged.
    let (_, aof) = t.cmd_aof(conn, &["ZRANDMEMBER", "z", "-5"]);
    assert!(aof.is_empty());
}

#[test]
fn zscan_visits_every_member() {
    let mut setup = "ZADD z".to_string();
    for i in 0..50 {
        setup.push_str(&format!(" {i} m{i}"));
    }
    let (mut t, conn) = node(&[setup.as_str(), "SET s v"]);
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let reply = run(&mut t, conn, &format!("ZSCAN z {cursor} COUNT 7"));
        let Reply::Array(parts) = reply else {
            panic!("an array");
        };
        let Reply::Bulk(next) = &parts[0] else {
            panic!("a cursor");
        };
        let items = members_of(&parts[1]);
        for pair in items.chunks(2) {
            let member = String::from_utf8(pair[0].clone()).unwrap();
            let score = String::from_utf8(pair[1].clone()).unwrap();
            assert_eq!(member, format!("m{score}"));
            seen.push(member);
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 50);
    let matched = run(&mut t, conn, "ZSCAN z 0 MATCH m1? COUNT 100");
    let Reply::Array(parts) = matched else {
        panic!("an array");
    };
    assert_eq!(members_of(&parts[1]).len(), 20);
    let steps = [
        ("ZSCAN nokey 0 COUNT 0", array(vec![bulk("0"), empty()])),
        ("ZSCAN z x", err("ERR invalid cursor")),
        ("ZSCAN z 0 COUNT 0", err(ERR_SYNTAX)),
        ("ZSCAN z 0 COUNT x", err(ERR_NOT_INTEGER)),
        ("ZSCAN z 0 TYPE zset", err(ERR_SYNTAX)),
        ("ZSCAN s 0", err(WRONGTYPE)),
    ];
    for (command, want) in steps {
        assert_eq!(run(&mut t, conn, command), want, "{command}");
    }
}

#[test]
fn every_command_answers_wrongtype_on_a_string() {
    let commands = [
        "ZADD s 1 a",
        "ZINCRBY s 1 a",
        "ZREM s a",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZCARD s",
        "ZRANK s a",
        "ZREVRANK s a",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZRANGE s 0 -1",
        "ZRANGESTORE d s 0 -1",
        "ZRANGEBYSCORE s 0 1",
        "ZREVRANGE s 0 -1",
        "ZREVRANGEBYSCORE s 1 0",
        "ZRANGEBYLEX s - +",
        "ZREVRANGEBYLEX s + -",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYLEX s - +",
        "ZPOPMIN s",
        "ZPOPMAX s",
        "ZMPOP 1 s MIN",
        "ZRANDMEMBER s",
        "ZSCAN s 0",
        "ZUNION 1 s",
        "ZINTER 1 s",
        "ZDIFF 1 s",
        "ZUNIONSTORE d 1 s",
        "ZINTERSTORE d 1 s",
        "ZDIFFSTORE d 1 s",
    ];
    let (mut t, conn) = node(&["SET s v"]);
    for command in commands {
        assert_eq!(run(&mut t, conn, command), err(WRONGTYPE), "{command}");
    }
    assert_eq!(run(&mut t, conn, "GET s"), bulk("v"));
}

#[test]
fn writes_that_change_nothing_log_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["ZADD z 1 a"], "ZADD z 1 a"),
        (&["ZADD z 1 a"], "ZADD z NX 2 a"),
        (&[], "ZADD z XX 1 a"),
        (&["ZADD z 1 a"], "ZREM z b"),
        (&[], "ZPOPMIN z"),
        (&[], "ZMPOP 1 z MIN"),
        (&["ZADD z 1 a"], "ZREMRANGEBYSCORE z 5 6"),
        (&[], "ZRANGESTORE d z 0 -1"),
        (&[], "ZUNIONSTORE d 1 z"),
    ];
    for (i, (setup, command)) in cases.iter().enumerate() {
        let (mut t, conn) = node(setup);
        let args: Vec<&str> = command.split(' ').collect();
        let (_, aof) = t.cmd_aof(conn, &args);
        assert!(aof.is_empty(), "#{i}: {command} logged {} bytes", aof.len());
    }
}

#[test]
fn the_aof_replays_to_the_same_sorted_sets() {
    let (mut t, conn) = node(&[
        "ZADD z 1 a 2 b 3 c 4 d 5 e",
        "ZINCRBY z 0.1 a",
        "ZADD z INCR 2.5 b",
        "ZADD z GT CH 10 c 0 d",
        "ZREM z e",
        "ZPOPMAX z",
        "ZADD y 7 x 0.3 a",
        "ZUNIONSTORE u 2 z y WEIGHTS 2 3",
        "ZINTERSTORE i 2 z y AGGREGATE MAX",
        "ZDIFFSTORE df 2 z y",
        "ZRANGESTORE r z 0 1",
        "SET str v",
        "ZRANGESTORE str z 1 1",
        "ZMPOP 1 y MIN",
        "ZADD gone 1 a",
        "ZREMRANGEBYRANK gone 0 -1",
        "ZADD lex 0 a 0 b 0 c",
        "ZREMRANGEBYLEX lex [b +",
    ]);
    let mut rebuilt = replayed(&t);
    let check = rebuilt.connect();
    for key in ["z", "y", "u", "i", "df", "r", "str", "lex"] {
        let command = format!("ZRANGE {key} 0 -1 WITHSCORES");
        let want = run(&mut t, conn, &command);
        assert_eq!(run(&mut rebuilt, check, &command), want, "{key}");
    }
    assert_eq!(
        run(&mut rebuilt, check, "ZRANGE z 0 -1 WITHSCORES"),
        bulks(&["a", "1.1", "d", "4", "b", "4.5"])
    );
    assert_eq!(run(&mut rebuilt, check, "EXISTS gone"), int(0));
}

#[test]
fn zintercard_counts_members_in_every_input_up_to_the_limit() {
    script(
        &["ZADD a 1 x 2 y 3 z", "ZADD b 1 y 2 z", "SADD s z y"],
        &[
            ("ZINTERCARD 2 a b", int(2)),
            ("ZINTERCARD 3 a b s LIMIT 1", int(1)),
            ("ZINTERCARD 2 a missing", int(0)),
            (
                "ZINTERCARD 0 a",
                err("ERR numkeys should be greater than 0"),
            ),
            (
                "ZINTERCARD 2 a b LIMIT -1",
                err("ERR LIMIT can't be negative"),
            ),
        ],
    );
}
