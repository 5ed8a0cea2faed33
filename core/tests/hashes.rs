//! The hash commands beyond HSET and HGET against one master node, with Redis 7.2's
//! replies (checked against a real `redis-server`), and their AOF replayed into a fresh
//! node.

mod common;

use bucket_core::resp::Reply;
use bucket_core::ConnectionId;
use common::*;

const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const ERR_SYNTAX: &str = "ERR syntax error";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";

#[test]
fn hsetnx_hmget_hstrlen_hkeys_and_hvals() {
    let mut t = script(&[
        ("HSETNX h f v", int(1)),
        ("HSETNX h f w", int(0)),
        ("HGET h f", bulk("v")),
        ("HSET h g longer", int(1)),
        (
            "HMGET h f nope g",
            array(vec![bulk("v"), Reply::Nil, bulk("longer")]),
        ),
        ("HMGET nokey f", array(vec![Reply::Nil])),
        ("HSTRLEN h g", int(6)),
        ("HSTRLEN h nope", int(0)),
        ("HSTRLEN nokey f", int(0)),
        ("HKEYS nokey", array(vec![])),
        ("HVALS nokey", array(vec![])),
    ]);
    let conn = t.connect();
    assert_eq!(sorted(&run(&mut t, conn, "HKEYS h")), words("f g"));
    assert_eq!(sorted(&run(&mut t, conn, "HVALS h")), words("longer v"));
    // HSETNX on a present field logs nothing.
    let aof_len = t.aof.len();
    assert_eq!(run(&mut t, conn, "HSETNX h f x"), int(0));
    assert_eq!(t.aof.len(), aof_len);
}

#[test]
fn hincrby_counts_and_refuses_what_is_not_an_integer() {
    script(&[
        ("HINCRBY h n 5", int(5)),
        ("HINCRBY h n -7", int(-2)),
        ("HGET h n", bulk("-2")),
        ("HSET h s abc big 9223372036854775807 z 01", int(3)),
        ("HINCRBY h s 1", err("ERR hash value is not an integer")),
        ("HINCRBY h z 1", err("ERR hash value is not an integer")),
        (
            "HINCRBY h big 1",
            err("ERR increment or decrement would overflow"),
        ),
        ("HINCRBY h n x", err(ERR_NOT_INTEGER)),
        ("HINCRBY h n 1.5", err(ERR_NOT_INTEGER)),
        ("HGET h big", bulk("9223372036854775807")),
    ]);
}

#[test]
fn hincrbyfloat_stores_the_result_as_redis_prints_it() {
    script(&[
        ("HINCRBYFLOAT h f 1.5", bulk("1.5")),
        ("HINCRBYFLOAT h f 1", bulk("2.5")),
        ("HINCRBYFLOAT h n 5.0e3", bulk("5000")),
        ("HSET h i 10", int(1)),
        ("HINCRBYFLOAT h i 0.1", bulk("10.1")),
        ("HINCRBYFLOAT h w 1e20", bulk("100000000000000000000")),
        ("HINCRBYFLOAT h y 1e-20", bulk("0")),
        ("HINCRBYFLOAT h z -0", bulk("0")),
        ("HINCRBYFLOAT h q .5", bulk("0.5")),
        ("HGET h i", bulk("10.1")),
        ("HINCRBY h i 1", err("ERR hash value is not an integer")),
        ("HINCRBYFLOAT h f x", err("ERR value is not a valid float")),
        (
            "HINCRBYFLOAT h f nan",
            err("ERR value is not a valid float"),
        ),
        ("HINCRBYFLOAT h f 1e", err("ERR value is not a valid float")),
        ("HINCRBYFLOAT h f inf", err("ERR value is NaN or Infinity")),
        ("HSET h s abc big 1.7e308", int(2)),
        ("HINCRBYFLOAT h s 1", err("ERR hash value is not a float")),
        (
            "HINCRBYFLOAT h big 1.7e308",
            err("ERR increment would produce NaN or Infinity"),
        ),
        ("HGET h f", bulk("2.5")),
    ]);
}

#[test]
fn every_hash_command_answers_wrongtype_on_another_type() {
    let commands = [
        "HSETNX str f v",
        "HMGET str f",
        "HKEYS str",
        "HVALS str",
        "HINCRBY str f 1",
        "HINCRBYFLOAT str f 1",
        "HSTRLEN str f",
        "HRANDFIELD str",
        "HRANDFIELD str 2 WITHVALUES",
        "HRANDFIELD str 0",
        "HSCAN str 0",
        "HSCAN str 0 COUNT 0",
    ];
    let mut t = script(&[("SET str x", ok())]);
    let conn = t.connect();
    for (i, command) in commands.iter().enumerate() {
        let aof_len = t.aof.len();
        assert_eq!(
            run(&mut t, conn, command),
            err(ERR_WRONGTYPE),
            "#{i}: {command}"
        );
        assert_eq!(t.aof.len(), aof_len, "#{i}: {command} logged");
    }
}

#[test]
fn bad_arguments_get_redis_errors() {
    let mut t = script(&[("HSET h f v g w", int(2))]);
    let conn = t.connect();
    let cases: &[(&str, Reply)] = &[
        ("HSETNX h f", arity("hsetnx")),
        ("HMGET h", arity("hmget")),
        ("HINCRBYFLOAT h f", arity("hincrbyfloat")),
        ("HRANDFIELD", arity("hrandfield")),
        ("HRANDFIELD h x", err(ERR_NOT_INTEGER)),
        ("HRANDFIELD h 1 foo", err(ERR_SYNTAX)),
        ("HRANDFIELD h 1 WITHVALUES x", err(ERR_SYNTAX)),
        (
            "HRANDFIELD h 9223372036854775807 WITHVALUES",
            err("ERR value is out of range"),
        ),
        ("HSCAN h x", err("ERR invalid cursor")),
        ("HSCAN h 0 COUNT 0", err(ERR_SYNTAX)),
        ("HSCAN h 0 COUNT x", err(ERR_NOT_INTEGER)),
        ("HSCAN h 0 MATCH", err(ERR_SYNTAX)),
        ("HSCAN h 0 foo", err(ERR_SYNTAX)),
    ];
    for (i, (command, want)) in cases.iter().enumerate() {
        assert_eq!(&run(&mut t, conn, command), want, "#{i}: {command}");
    }
}

#[test]
fn hrandfield_picks_fields_with_or_without_values() {
    let mut t = script(&[
        ("HRANDFIELD nokey", Reply::Nil),
        ("HRANDFIELD nokey 2", array(vec![])),
        ("HRANDFIELD nokey -2 WITHVALUES", array(vec![])),
        ("HSET h a 1 b 2 c 3", int(3)),
        ("HRANDFIELD h 0", array(vec![])),
        ("HRANDFIELD h 0 WITHVALUES", array(vec![])),
    ]);
    let conn = t.connect();
    let fields = words("a b c");
    assert!(fields.contains(&text(&run(&mut t, conn, "HRANDFIELD h"))));
    let two = sorted(&run(&mut t, conn, "HRANDFIELD h 2"));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert_eq!(sorted(&run(&mut t, conn, "HRANDFIELD h 5")), fields);
    assert_eq!(sorted(&run(&mut t, conn, "HRANDFIELD h -7")).len(), 7);
    // RESP2: fields and values alternate; each value is its field's.
    let Reply::Array(flat) = run(&mut t, conn, "HRANDFIELD h -5 WITHVALUES") else {
        panic!("an array")
    };
    assert_eq!(flat.len(), 10);
    for pair in flat.chunks(2) {
        let (field, value) = (text(&pair[0]), text(&pair[1]));
        assert_eq!(run(&mut t, conn, &format!("HGET h {field}")), bulk(&value));
    }
    // RESP3: an array of [field, value] pairs.
    run(&mut t, conn, "HELLO 3");
    let Reply::Array(pairs) = run(&mut t, conn, "HRANDFIELD h 3 WITHVALUES") else {
        panic!("an array")
    };
    assert_eq!(pairs.len(), 3);
    for pair in &pairs {
        let Reply::Array(pair) = pair else {
            panic!("a pair: {pair:?}")
        };
        assert_eq!(pair.len(), 2);
    }
    let Reply::Map(all) = run(&mut t, conn, "HGETALL h") else {
        panic!("a map")
    };
    assert_eq!(all.len(), 3);
}

/// Every element a full HSCAN returns with `options`, following the cursor to 0.
fn scan_all(t: &mut TestNode, conn: ConnectionId, options: &str) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut found = Vec::new();
    for _ in 0..1000 {
        let Reply::Array(parts) = run(t, conn, &format!("HSCAN h {cursor}{options}")) else {
            panic!("an array")
        };
        let Reply::Array(items) = &parts[1] else {
            panic!("items")
        };
        found.extend(items.iter().map(text));
        cursor = text(&parts[0]);
        if cursor == "0" {
            return found;
        }
    }
    panic!("the scan never ends");
}

#[test]
fn hscan_walks_the_hash_with_a_cursor() {
    let mut t = TestNode::new();
    let conn = t.connect();
    for i in 0..25 {
        run(&mut t, conn, &format!("HSET h f{i:02} v{i:02}"));
    }
    let pairs = scan_all(&mut t, conn, " COUNT 3");
    assert_eq!(pairs.len(), 50);
    for pair in pairs.chunks(2) {
        assert_eq!(pair[0][1..], pair[1][1..], "{pair:?}");
    }
    let mut fields = scan_all(&mut t, conn, " COUNT 1 NOVALUES");
    fields.sort();
    let want: Vec<String> = (0..25).map(|i| format!("f{i:02}")).collect();
    assert_eq!(fields, want);
    let mut matched = scan_all(&mut t, conn, " MATCH f2* NOVALUES");
    matched.sort();
    assert_eq!(matched, words("f20 f21 f22 f23 f24"));
    assert_eq!(
        run(&mut t, conn, "HSCAN nokey 0"),
        array(vec![bulk("0"), array(vec![])])
    );
}

#[test]
fn the_last_field_removed_deletes_the_key() {
    script(&[
        ("HSETNX h f v", int(1)),
        ("HDEL h f", int(1)),
        ("EXISTS h", int(0)),
        ("HKEYS h", array(vec![])),
        ("HRANDFIELD h", Reply::Nil),
    ]);
}

#[test]
fn the_aof_replays_to_the_same_hashes() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let commands = [
        "HSETNX h a 1",
        "HSETNX h a 2",
        "HINCRBY h a 41",
        "HINCRBY h n -3",
        "HINCRBYFLOAT h f 10.5",
        "HINCRBYFLOAT h f 0.1",
        "HINCRBYFLOAT h a 0.5",
        "HSET g x 1",
        "HDEL g x",
    ];
    for command in commands {
        run(&mut t, conn, command);
    }
    let mut rebuilt = replayed(&t);
    let conn = rebuilt.connect();
    let cases = [("a", "42.5"), ("n", "-3"), ("f", "10.6")];
    for (field, want) in cases {
        assert_eq!(
            run(&mut rebuilt, conn, &format!("HGET h {field}")),
            bulk(want),
            "{field}"
        );
    }
    assert_eq!(run(&mut rebuilt, conn, "EXISTS g"), int(0));
}
