//! The list commands against one master node, with Redis 7.2's replies and errors
//! (checked against a real `redis-server`), and their AOF: replayed into a fresh node
//! it gives the same lists.

mod common;

use bucket_core::aof::replay::{scan_records, Tail};
use bucket_core::aof::Effect;
use bucket_core::resp::Reply;
use common::*;

const ERR_SYNTAX: &str = "ERR syntax error";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const ERR_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

fn ints(items: &[i64]) -> Reply {
    array(items.iter().map(|&n| int(n)).collect())
}

/// Run each step on one fresh node (split on spaces); a failure names the script and
/// the step.
fn script(name: &str, steps: &[(&str, Reply)]) {
    let mut t = TestNode::new();
    let conn = t.connect();
    for (i, (command, want)) in steps.iter().enumerate() {
        let args: Vec<&str> = command.split(' ').collect();
        assert_eq!(&t.cmd(conn, &args), want, "{name} #{i}: {command}");
    }
}

#[test]
fn pushes_answer_the_length_and_keep_redis_order() {
    script(
        "push",
        &[
            ("LPUSH l a b c", int(3)),
            ("RPUSH l d e", int(5)),
            ("LRANGE l 0 -1", bulks(&["c", "b", "a", "d", "e"])),
            ("LPUSHX l x y", int(7)),
            ("RPUSHX l z", int(8)),
            ("LRANGE l 0 1", bulks(&["y", "x"])),
            ("LINDEX l -1", bulk("z")),
            ("LLEN l", int(8)),
            ("TYPE l", simple("list")),
        ],
    );
    script(
        "pushx on a missing key",
        &[
            ("LPUSHX m a", int(0)),
            ("RPUSHX m a b", int(0)),
            ("EXISTS m", int(0)),
            ("LLEN m", int(0)),
        ],
    );
    script(
        "arity",
        &[
            ("LPUSH l", arity("lpush")),
            ("RPUSH l", arity("rpush")),
            ("LPUSHX l", arity("lpushx")),
            ("RPUSHX l", arity("rpushx")),
            ("LLEN", arity("llen")),
            ("LLEN l m", arity("llen")),
        ],
    );
}

#[test]
fn pops_with_and_without_a_count() {
    script(
        "pop",
        &[
            ("RPUSH l a b c d e", int(5)),
            ("LPOP l", bulk("a")),
            ("RPOP l", bulk("e")),
            ("LPOP l 0", array(vec![])),
            ("LPOP l 2", bulks(&["b", "c"])),
            ("RPOP l 5", bulks(&["d"])),
            ("EXISTS l", int(0)),
            ("LPOP l", nil()),
            ("RPOP l 2", Reply::NilArray),
            ("LPOP l 0", Reply::NilArray),
        ],
    );
    script(
        "pop from the right answers in popping order",
        &[
            ("RPUSH l a b c", int(3)),
            ("RPOP l 2", bulks(&["c", "b"])),
            ("LRANGE l 0 -1", bulks(&["a"])),
        ],
    );
    script(
        "pop count errors",
        &[
            ("RPUSH l a", int(1)),
            ("LPOP l -1", err(ERR_NOT_POSITIVE)),
            ("RPOP l x", err(ERR_NOT_POSITIVE)),
            ("LPOP l 1 2", arity("lpop")),
            ("RPOP l 1 2", arity("rpop")),
            ("LPOP", arity("lpop")),
            // The count is checked before the key.
            ("LPOP missing -1", err(ERR_NOT_POSITIVE)),
            ("LLEN l", int(1)),
        ],
    );
}

#[test]
fn ranges_and_indexes_count_negatives_from_the_tail() {
    script(
        "lrange",
        &[
            ("RPUSH l a b c d", int(4)),
            ("LRANGE l 0 -1", bulks(&["a", "b", "c", "d"])),
            ("LRANGE l -2 -1", bulks(&["c", "d"])),
            ("LRANGE l -100 1", bulks(&["a", "b"])),
            ("LRANGE l 2 100", bulks(&["c", "d"])),
            ("LRANGE l 2 1", array(vec![])),
            ("LRANGE l 4 10", array(vec![])),
            ("LRANGE l -1 -2", array(vec![])),
            (
                "LRANGE l -9223372036854775808 9223372036854775807",
                bulks(&["a", "b", "c", "d"]),
            ),
            ("LRANGE missing 0 -1", array(vec![])),
            ("LRANGE l a 1", err(ERR_NOT_INTEGER)),
            ("LRANGE missing 0 x", err(ERR_NOT_INTEGER)),
            ("LRANGE l 0", arity("lrange")),
        ],
    );
    script(
        "lindex",
        &[
            ("RPUSH l a b c", int(3)),
            ("LINDEX l 0", bulk("a")),
            ("LINDEX l -1", bulk("c")),
            ("LINDEX l -3", bulk("a")),
            ("LINDEX l -4", nil()),
            ("LINDEX l 3", nil()),
            ("LINDEX l 9223372036854775807", nil()),
            ("LINDEX l -9223372036854775808", nil()),
            ("LINDEX l 9223372036854775808", err(ERR_NOT_INTEGER)),
            ("LINDEX l x", err(ERR_NOT_INTEGER)),
            // The key is looked up first: a missing key is nil whatever the index.
            ("LINDEX missing x", nil()),
        ],
    );
}

#[test]
fn lset_replaces_in_place() {
    script(
        "lset",
        &[
            ("RPUSH l a b c", int(3)),
            ("LSET l 0 x", ok()),
            ("LSET l -1 z", ok()),
            ("LRANGE l 0 -1", bulks(&["x", "b", "z"])),
            ("LSET l 3 y", err("ERR index out of range")),
            ("LSET l -4 y", err("ERR index out of range")),
            ("LSET l i y", err(ERR_NOT_INTEGER)),
            ("LSET missing 0 y", err("ERR no such key")),
            ("LSET missing i y", err("ERR no such key")),
            ("EXISTS missing", int(0)),
        ],
    );
}

#[test]
fn linsert_finds_the_first_pivot() {
    script(
        "linsert",
        &[
            ("RPUSH l a b a", int(3)),
            ("LINSERT l BEFORE a x", int(4)),
            ("LINSERT l after a y", int(5)),
            ("LINSERT l AFTER a z", int(6)),
            ("LRANGE l 0 -1", bulks(&["x", "a", "z", "y", "b", "a"])),
            ("LINSERT l AFTER b w", int(7)),
            ("LINSERT l AFTER no w", int(-1)),
            ("LINSERT l BEFORE a", arity("linsert")),
            ("LINSERT l MIDDLE a w", err(ERR_SYNTAX)),
            ("LINSERT missing BEFORE a w", int(0)),
            ("EXISTS missing", int(0)),
            ("LINSERT l AFTER a w", int(8)),
            ("LINDEX l 2", bulk("w")),
            // After the last item: an append.
            ("RPUSH m a", int(1)),
            ("LINSERT m AFTER a b", int(2)),
            ("LRANGE m 0 -1", bulks(&["a", "b"])),
        ],
    );
}

#[test]
fn lrem_counts_from_either_end() {
    script(
        "lrem",
        &[
            ("RPUSH l a b a c a", int(5)),
            ("LREM l 1 a", int(1)),
            ("LRANGE l 0 -1", bulks(&["b", "a", "c", "a"])),
            ("LREM l -1 a", int(1)),
            ("LRANGE l 0 -1", bulks(&["b", "a", "c"])),
            ("LREM l 0 z", int(0)),
            ("RPUSH l a a", int(5)),
            ("LREM l -2 a", int(2)),
            ("LRANGE l 0 -1", bulks(&["b", "a", "c"])),
            ("LREM l 0 a", int(1)),
            ("LREM l -9223372036854775808 b", int(1)),
            ("LREM l 9223372036854775807 c", int(1)),
            ("EXISTS l", int(0)),
            ("LREM l 0 a", int(0)),
            ("LREM l x a", err(ERR_NOT_INTEGER)),
            ("LREM l 1", arity("lrem")),
        ],
    );
}

#[test]
fn ltrim_keeps_what_lrange_would_answer() {
    script(
        "ltrim",
        &[
            ("RPUSH l a b c d e", int(5)),
            ("LTRIM l 1 -2", ok()),
            ("LRANGE l 0 -1", bulks(&["b", "c", "d"])),
            ("LTRIM l -100 100", ok()),
            ("LRANGE l 0 -1", bulks(&["b", "c", "d"])),
            ("LTRIM l -1 -1", ok()),
            ("LRANGE l 0 -1", bulks(&["d"])),
            ("LTRIM l 1 0", ok()),
            ("EXISTS l", int(0)),
            ("LTRIM l 0 1", ok()),
            ("EXISTS l", int(0)),
            ("LTRIM l x 1", err(ERR_NOT_INTEGER)),
            ("LTRIM l 0 y", err(ERR_NOT_INTEGER)),
            ("RPUSH m a b", int(2)),
            ("LTRIM m 5 10", ok()),
            ("EXISTS m", int(0)),
        ],
    );
}

#[test]
fn lpos_with_rank_count_and_maxlen() {
    script(
        "lpos",
        &[
            ("RPUSH l a b c 1 2 3 c c", int(8)),
            ("LPOS l c", int(2)),
            ("LPOS l z", nil()),
            ("LPOS l c RANK 2", int(6)),
            ("LPOS l c RANK -1", int(7)),
            ("LPOS l c RANK -3", int(2)),
            ("LPOS l c RANK 4", nil()),
            ("LPOS l c COUNT 2", ints(&[2, 6])),
            ("LPOS l c COUNT 0", ints(&[2, 6, 7])),
            ("LPOS l c COUNT 0 RANK -1", ints(&[7, 6, 2])),
            ("LPOS l c COUNT 2 RANK 2", ints(&[6, 7])),
            ("LPOS l c RANK 5 COUNT 10", array(vec![])),
            ("LPOS l z COUNT 1", array(vec![])),
            ("LPOS l c MAXLEN 3", int(2)),
            ("LPOS l c MAXLEN 2", nil()),
            ("LPOS l c COUNT 0 MAXLEN 7", ints(&[2, 6])),
            ("LPOS l c RANK -1 MAXLEN 1", int(7)),
            ("LPOS l c RANK -1 COUNT 0 MAXLEN 2", ints(&[7, 6])),
            // The last of a repeated option wins.
            ("LPOS l c RANK 1 rank 2", int(6)),
            ("LPOS l c RANK -9223372036854775807", nil()),
            ("LPOS missing c", nil()),
            ("LPOS missing c COUNT 1", array(vec![])),
        ],
    );
    script(
        "lpos errors",
        &[
            ("RPUSH l a", int(1)),
            (
                "LPOS l a RANK 0",
                err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
            ),
            (
                "LPOS l a RANK -9223372036854775808",
                err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            ),
            ("LPOS l a RANK x", err(ERR_NOT_INTEGER)),
            ("LPOS l a COUNT -1", err("ERR COUNT can't be negative")),
            ("LPOS l a COUNT x", err("ERR COUNT can't be negative")),
            ("LPOS l a MAXLEN -1", err("ERR MAXLEN can't be negative")),
            ("LPOS l a RANK", err(ERR_SYNTAX)),
            ("LPOS l a FOO 1", err(ERR_SYNTAX)),
            ("LPOS l", arity("lpos")),
            ("SET s v", ok()),
            // Options are checked before the key's type.
            ("LPOS s a RANK 0", err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")),
            ("LPOS s a", err(ERR_WRONGTYPE)),
        ],
    );
}

#[test]
fn lmove_moves_one_item_and_rotates_one_list() {
    script(
        "lmove between lists",
        &[
            ("RPUSH src a b c", int(3)),
            ("LMOVE src dst LEFT RIGHT", bulk("a")),
            ("LMOVE src dst right left", bulk("c")),
            ("LRANGE dst 0 -1", bulks(&["c", "a"])),
            ("RPOPLPUSH src dst", bulk("b")),
            ("EXISTS src", int(0)),
            ("LRANGE dst 0 -1", bulks(&["b", "c", "a"])),
            ("LMOVE src dst LEFT LEFT", nil()),
            ("RPOPLPUSH src dst", nil()),
            ("LMOVE dst dst UP LEFT", err(ERR_SYNTAX)),
            ("LMOVE dst dst LEFT DOWN", err(ERR_SYNTAX)),
            ("LMOVE dst dst LEFT", arity("lmove")),
            ("RPOPLPUSH dst", arity("rpoplpush")),
        ],
    );
    script(
        "lmove rotates",
        &[
            ("RPUSH l a b c", int(3)),
            ("LMOVE l l LEFT RIGHT", bulk("a")),
            ("LRANGE l 0 -1", bulks(&["b", "c", "a"])),
            ("LMOVE l l RIGHT LEFT", bulk("a")),
            ("LRANGE l 0 -1", bulks(&["a", "b", "c"])),
            ("RPOPLPUSH l l", bulk("c")),
            ("LRANGE l 0 -1", bulks(&["c", "a", "b"])),
            ("LMOVE l l LEFT LEFT", bulk("c")),
            ("LMOVE l l RIGHT RIGHT", bulk("b")),
            ("LRANGE l 0 -1", bulks(&["c", "a", "b"])),
            ("RPUSH one x", int(1)),
            ("LMOVE one one LEFT RIGHT", bulk("x")),
            ("LRANGE one 0 -1", bulks(&["x"])),
        ],
    );
    script(
        "lmove types",
        &[
            ("SET s v", ok()),
            ("RPUSH l a", int(1)),
            // A missing source answers nil before the destination's type is looked at.
            ("LMOVE missing s LEFT LEFT", nil()),
            ("LMOVE l s LEFT LEFT", err(ERR_WRONGTYPE)),
            ("RPOPLPUSH l s", err(ERR_WRONGTYPE)),
            ("LMOVE s l LEFT LEFT", err(ERR_WRONGTYPE)),
            ("LRANGE l 0 -1", bulks(&["a"])),
            ("GET s", bulk("v")),
        ],
    );
}

#[test]
fn lmpop_pops_from_the_first_list_holding_items() {
    script(
        "lmpop",
        &[
            ("RPUSH b 1 2 3", int(3)),
            ("RPUSH c x", int(1)),
            ("LMPOP 3 a b c LEFT", array(vec![bulk("b"), bulks(&["1"])])),
            (
                "LMPOP 2 a b right COUNT 5",
                array(vec![bulk("b"), bulks(&["3", "2"])]),
            ),
            ("EXISTS b", int(0)),
            (
                "LMPOP 3 a b c LEFT COUNT 1",
                array(vec![bulk("c"), bulks(&["x"])]),
            ),
            ("LMPOP 3 a b c LEFT", Reply::NilArray),
        ],
    );
    script(
        "lmpop errors",
        &[
            ("RPUSH l a", int(1)),
            ("SET s v", ok()),
            (
                "LMPOP 0 l LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            (
                "LMPOP -1 l LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            (
                "LMPOP x l LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            ("LMPOP 2 l LEFT", err(ERR_SYNTAX)),
            ("LMPOP 9223372036854775807 l LEFT", err(ERR_SYNTAX)),
            ("LMPOP 1 l MIDDLE", err(ERR_SYNTAX)),
            (
                "LMPOP 1 l LEFT COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            (
                "LMPOP 1 l LEFT COUNT x",
                err("ERR count should be greater than 0"),
            ),
            ("LMPOP 1 l LEFT COUNT 1 COUNT 2", err(ERR_SYNTAX)),
            ("LMPOP 1 l LEFT COUNT", err(ERR_SYNTAX)),
            ("LMPOP 1 l LEFT FOO", err(ERR_SYNTAX)),
            ("LMPOP 1 l", arity("lmpop")),
            ("LMPOP 2 missing s LEFT", err(ERR_WRONGTYPE)),
            // A list before the string is popped: the string is never looked at.
            ("LMPOP 2 l s LEFT", array(vec![bulk("l"), bulks(&["a"])])),
        ],
    );
}

#[test]
fn every_list_command_answers_wrongtype_on_a_string() {
    let commands = [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 0",
        "LLEN s",
        "LRANGE s 0 -1",
        "LINDEX s 0",
        "LSET s 0 a",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LMOVE s l LEFT LEFT",
        "RPOPLPUSH s l",
        "LMPOP 1 s LEFT",
    ];
    let mut t = TestNode::new();
    let conn = t.connect();
    t.cmd(conn, &["SET", "s", "v"]);
    for command in commands {
        let args: Vec<&str> = command.split(' ').collect();
        let (reply, aof) = t.cmd_aof(conn, &args);
        assert_eq!(reply, err(ERR_WRONGTYPE), "{command}");
        assert!(aof.is_empty(), "{command} logged");
    }
    assert_eq!(t.cmd(conn, &["GET", "s"]), bulk("v"));
}

#[test]
fn resp3_nulls_are_resp3s() {
    let mut t = TestNode::new();
    let conn = t.connect();
    t.cmd(conn, &["HELLO", "3"]);
    for command in [
        "LPOP l",
        "RPOP l 2",
        "LINDEX l 0",
        "LPOS l a",
        "LMOVE l m LEFT LEFT",
        "LMPOP 1 l LEFT",
    ] {
        let args: Vec<&str> = command.split(' ').collect();
        assert_eq!(t.cmd(conn, &args), nil(), "{command}");
    }
    t.cmd(conn, &["RPUSH", "l", "a"]);
    assert_eq!(t.cmd(conn, &["LPOP", "l", "0"]), array(vec![]));
    assert_eq!(
        t.cmd(conn, &["LMPOP", "1", "l", "LEFT"]),
        array(vec![bulk("l"), bulks(&["a"])])
    );
}

#[test]
fn writes_that_change_nothing_log_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "LPUSHX l a"),
        (&[], "LPOP l"),
        (&["RPUSH l a"], "LPOP l 0"),
        (&["RPUSH l a"], "LSET l 1 a"),
        (&["RPUSH l a"], "LINSERT l BEFORE z b"),
        (&["RPUSH l a"], "LREM l 0 z"),
        (&["RPUSH l a b"], "LTRIM l 0 -1"),
        (&["RPUSH l a b"], "LTRIM l -5 5"),
        (&[], "LTRIM l 0 1"),
        (&["RPUSH l a"], "LMOVE l l LEFT RIGHT"),
        (&["RPUSH l a b"], "LMOVE l l RIGHT RIGHT"),
        (&[], "RPOPLPUSH l m"),
        (&[], "LMPOP 2 l m LEFT"),
    ];
    for (i, (setup, command)) in cases.iter().enumerate() {
        let mut t = TestNode::new();
        let conn = t.connect();
        for setup in *setup {
            t.cmd(conn, &setup.split(' ').collect::<Vec<_>>());
        }
        let (_, aof) = t.cmd_aof(conn, &command.split(' ').collect::<Vec<_>>());
        assert!(aof.is_empty(), "#{i}: {command} logged {} bytes", aof.len());
    }
}

#[test]
fn a_move_between_two_lists_is_one_unit_in_the_aof() {
    for command in [
        "LMOVE l m LEFT RIGHT",
        "RPOPLPUSH l m",
        "LMOVE l l LEFT RIGHT",
    ] {
        let mut t = TestNode::new();
        let conn = t.connect();
        t.cmd(conn, &["RPUSH", "l", "a", "b"]);
        // An expired destination is deleted inside the same unit.
        t.cmd(conn, &["RPUSH", "m", "old"]);
        t.cmd(conn, &["PEXPIRE", "m", "5"]);
        t.advance_ms(10);
        let (_, aof) = t.cmd_aof(conn, &command.split(' ').collect::<Vec<_>>());
        let mut records = Vec::new();
        let tail = scan_records(&aof, |_, record| {
            records.push(matches!(record.effect, Effect::Unit { .. }))
        });
        assert_eq!(tail, Tail::Clean, "{command}");
        assert_eq!(records, [true], "{command}: one record, a unit");
    }
}

#[test]
fn the_aof_replays_to_the_same_lists() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let commands = [
        "RPUSH a 1 2 3 4 5 6 7 8",
        "LPUSH a 0 -1",
        "LPUSHX a x",
        "RPUSHX a y",
        "LPOP a",
        "RPOP a 2",
        "LSET a -2 seven",
        "LSET a 0 first",
        "LINSERT a BEFORE 3 two-and-a-half",
        "LINSERT a AFTER 5 five-and-a-half",
        "RPUSH a 3 3 9 3",
        "LREM a -2 3",
        "LREM a 1 3",
        "LTRIM a 1 -2",
        "LMOVE a b LEFT RIGHT",
        "LMOVE a b RIGHT LEFT",
        "LMOVE a a LEFT RIGHT",
        "RPOPLPUSH a a",
        "RPOPLPUSH b c",
        "LMPOP 3 x b c RIGHT COUNT 2",
        "RPUSH gone only",
        "LTRIM gone 1 0",
        "RPUSH e 1 2",
        "LREM e 0 1",
        "LPOP e",
    ];
    for command in commands {
        let reply = t.cmd(conn, &command.split(' ').collect::<Vec<_>>());
        assert!(!matches!(reply, Reply::Error(_)), "{command}: {reply:?}");
    }
    let mut rebuilt = replayed(&t);
    let rebuilt_conn = rebuilt.connect();
    for key in ["a", "b", "c", "gone", "e"] {
        let args = ["LRANGE", key, "0", "-1"];
        let want = t.cmd(conn, &args);
        assert_eq!(rebuilt.cmd(rebuilt_conn, &args), want, "{key}");
    }
    assert_eq!(rebuilt.cmd(rebuilt_conn, &["EXISTS", "gone", "e"]), int(0));
    assert_eq!(
        t.cmd(conn, &["LRANGE", "a", "0", "-1"]),
        bulks(&[
            "1",
            "2",
            "two-and-a-half",
            "4",
            "5",
            "five-and-a-half",
            "seven",
            "7"
        ])
    );
    assert_eq!(t.cmd(conn, &["LRANGE", "c", "0", "-1"]), bulks(&["0"]));
    assert_eq!(t.cmd(conn, &["EXISTS", "b"]), int(0));
}
