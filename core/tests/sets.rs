//! The set commands against one master node, with Redis 7.2's replies (checked against
//! a real `redis-server`), and their AOF replayed into a fresh node.

mod common;

use bucket_core::resp::Reply;
use bucket_core::ConnectionId;
use common::*;

const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const ERR_SYNTAX: &str = "ERR syntax error";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";

#[test]
fn sadd_and_srem_count_changes_and_the_last_removal_deletes_the_key() {
    script(&[
        ("SADD s a b a", int(2)),
        ("SADD s a c", int(1)),
        ("SCARD s", int(3)),
        ("SREM s a x a", int(1)),
        ("SREM s nope", int(0)),
        ("SREM s b c", int(1 + 1)),
        ("EXISTS s", int(0)),
        ("SCARD s", int(0)),
        ("SREM s a", int(0)),
        ("TYPE s", simple("none")),
        ("SADD s a", int(1)),
        ("TYPE s", simple("set")),
    ]);
}

#[test]
fn membership_replies() {
    let mut t = script(&[
        ("SADD s a b c", int(3)),
        ("SISMEMBER s a", int(1)),
        ("SISMEMBER s z", int(0)),
        ("SISMEMBER nokey a", int(0)),
        ("SMISMEMBER s a z c", array(vec![int(1), int(0), int(1)])),
        ("SMISMEMBER nokey a", array(vec![int(0)])),
        ("SMEMBERS nokey", array(vec![])),
    ]);
    let conn = t.connect();
    assert_eq!(sorted(&run(&mut t, conn, "SMEMBERS s")), words("a b c"));
}

#[test]
fn every_set_command_answers_wrongtype_on_another_type() {
    let commands = [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SPOP str 0",
        "SRANDMEMBER str",
        "SRANDMEMBER str -2",
        "SMOVE str s a",
        "SMOVE s str a",
        "SMOVE s str zz",
        "SINTER s str",
        "SINTER nokey str",
        "SUNION nokey str",
        "SDIFF nokey str",
        "SDIFF str nokey",
        "SINTERSTORE d s str",
        "SUNIONSTORE d s str",
        "SDIFFSTORE d s str",
        "SINTERCARD 2 s str",
        "SSCAN str 0",
        "SSCAN str 0 COUNT 0",
    ];
    let mut t = script(&[("SET str x", ok()), ("SADD s a", int(1))]);
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
    assert_eq!(run(&mut t, conn, "GET str"), bulk("x"));
}

#[test]
fn bad_arguments_get_redis_errors() {
    let mut t = script(&[("SADD s a b c", int(3))]);
    let conn = t.connect();
    let cases: &[(&str, Reply)] = &[
        ("SADD s", arity("sadd")),
        ("SMISMEMBER s", arity("smismember")),
        ("SMOVE s t", arity("smove")),
        ("SINTERSTORE d", arity("sinterstore")),
        (
            "SPOP s -1",
            err("ERR value is out of range, must be positive"),
        ),
        (
            "SPOP s x",
            err("ERR value is out of range, must be positive"),
        ),
        (
            "SPOP s 99999999999999999999",
            err("ERR value is out of range, must be positive"),
        ),
        ("SPOP s 1 2", err(ERR_SYNTAX)),
        ("SRANDMEMBER s x", err(ERR_NOT_INTEGER)),
        ("SRANDMEMBER s 1 2", err(ERR_SYNTAX)),
        (
            "SINTERCARD 0 s",
            err("ERR numkeys should be greater than 0"),
        ),
        (
            "SINTERCARD x s",
            err("ERR numkeys should be greater than 0"),
        ),
        (
            "SINTERCARD 2 s",
            err("ERR Number of keys can't be greater than number of args"),
        ),
        (
            "SINTERCARD 1 s LIMIT -1",
            err("ERR LIMIT can't be negative"),
        ),
        ("SINTERCARD 1 s LIMIT x", err("ERR LIMIT can't be negative")),
        ("SINTERCARD 1 s LIMIT", err(ERR_SYNTAX)),
        ("SINTERCARD 1 s foo 1", err(ERR_SYNTAX)),
        ("SSCAN s x", err("ERR invalid cursor")),
        ("SSCAN s -1", err("ERR invalid cursor")),
        ("SSCAN s 18446744073709551616", err("ERR invalid cursor")),
        ("SSCAN s 0 COUNT 0", err(ERR_SYNTAX)),
        ("SSCAN s 0 COUNT -1", err(ERR_SYNTAX)),
        ("SSCAN s 0 COUNT x", err(ERR_NOT_INTEGER)),
        ("SSCAN s 0 MATCH", err(ERR_SYNTAX)),
        ("SSCAN s 0 NOVALUES", err(ERR_SYNTAX)),
        ("SSCAN s 0 foo 1", err(ERR_SYNTAX)),
    ];
    for (i, (command, want)) in cases.iter().enumerate() {
        assert_eq!(&run(&mut t, conn, command), want, "#{i}: {command}");
    }
    // Bucket bounds repeated picks, which Redis leaves to run out of memory.
    let Reply::Error(text) = run(&mut t, conn, "SRANDMEMBER s -9223372036854775808") else {
        panic!("an error");
    };
    assert!(text.starts_with("ERR value is out of range"), "{text}");
    assert_eq!(run(&mut t, conn, "SCARD s"), int(3));
}

#[test]
fn spop_removes_what_it_returns() {
    let mut t = script(&[
        ("SPOP nokey", Reply::Nil),
        ("SPOP nokey 2", array(vec![])),
        ("SADD s a b c d e", int(5)),
        ("SPOP s 0", array(vec![])),
    ]);
    let conn = t.connect();
    let one = run(&mut t, conn, "SPOP s");
    let Reply::Bulk(one) = one else {
        panic!("a bulk: {one:?}")
    };
    let one = String::from_utf8(one).unwrap();
    assert_eq!(run(&mut t, conn, &format!("SISMEMBER s {one}")), int(0));
    let two = sorted(&run(&mut t, conn, "SPOP s 2"));
    assert_eq!(two.len(), 2);
    assert!(!two.contains(&one));
    let left = sorted(&run(&mut t, conn, "SMEMBERS s"));
    assert_eq!(left.len(), 2);
    let mut all: Vec<String> = [vec![one], two, left.clone()].concat();
    all.sort();
    assert_eq!(all, words("a b c d e"));
    // A count as large as the set pops it all, and the key goes.
    assert_eq!(sorted(&run(&mut t, conn, "SPOP s 10")), left);
    assert_eq!(run(&mut t, conn, "EXISTS s"), int(0));
}

#[test]
fn srandmember_picks_distinct_members_or_repeats_them() {
    let mut t = script(&[
        ("SRANDMEMBER nokey", Reply::Nil),
        ("SRANDMEMBER nokey 3", array(vec![])),
        ("SRANDMEMBER nokey -3", array(vec![])),
        ("SADD s a b c d e", int(5)),
        ("SRANDMEMBER s 0", array(vec![])),
    ]);
    let conn = t.connect();
    let members = words("a b c d e");
    let three = sorted(&run(&mut t, conn, "SRANDMEMBER s 3"));
    assert_eq!(three.len(), 3);
    assert!(
        three.windows(2).all(|w| w[0] != w[1]),
        "distinct: {three:?}"
    );
    assert!(three.iter().all(|m| members.contains(m)));
    assert_eq!(sorted(&run(&mut t, conn, "SRANDMEMBER s 9")), members);
    let repeated = sorted(&run(&mut t, conn, "SRANDMEMBER s -20"));
    assert_eq!(repeated.len(), 20);
    assert!(repeated.iter().all(|m| members.contains(m)));
    let Reply::Bulk(one) = run(&mut t, conn, "SRANDMEMBER s") else {
        panic!("a bulk")
    };
    assert!(members.contains(&String::from_utf8(one).unwrap()));
    // Reads only: nothing logged, nothing removed.
    assert_eq!(run(&mut t, conn, "SCARD s"), int(5));
}

#[test]
fn smove_moves_one_member_between_two_keys() {
    script(&[
        ("SMOVE nokey t a", int(0)),
        ("SADD s a b", int(2)),
        ("SMOVE s t zz", int(0)),
        ("EXISTS t", int(0)),
        ("SMOVE s s a", int(1)),
        ("SMOVE s s zz", int(0)),
        ("SCARD s", int(2)),
        ("SMOVE s t a", int(1)),
        ("SMEMBERS t", array(vec![bulk("a")])),
        ("SADD t b", int(1)),
        // Already in the destination: removed from the source only.
        ("SMOVE s t b", int(1)),
        ("EXISTS s", int(0)),
        ("SCARD t", int(2)),
    ]);
}

#[test]
fn intersection_union_and_difference() {
    let mut t = script(&[
        ("SADD a 1 2 3 4", int(4)),
        ("SADD b 3 4 5", int(3)),
        ("SADD c 4 5 6", int(3)),
        ("SINTER a nokey", array(vec![])),
        ("SINTER nokey", array(vec![])),
        ("SDIFF nokey a", array(vec![])),
        ("SINTERCARD 2 a b", int(2)),
        ("SINTERCARD 2 a b LIMIT 1", int(1)),
        ("SINTERCARD 2 a b LIMIT 0", int(2)),
        ("SINTERCARD 3 a b c LIMIT 5", int(1)),
        ("SINTERCARD 2 a nokey", int(0)),
    ]);
    let conn = t.connect();
    let cases = [
        ("SINTER a b", "3 4"),
        ("SINTER a b c", "4"),
        ("SINTER a", "1 2 3 4"),
        ("SUNION a b c", "1 2 3 4 5 6"),
        ("SUNION nokey b", "3 4 5"),
        ("SDIFF a b", "1 2"),
        ("SDIFF a b c", "1 2"),
        ("SDIFF a nokey", "1 2 3 4"),
        ("SDIFF b a", "5"),
    ];
    for (i, (command, want)) in cases.iter().enumerate() {
        assert_eq!(
            sorted(&run(&mut t, conn, command)),
            words(want),
            "#{i}: {command}"
        );
    }
}

#[test]
fn store_forms_replace_the_destination_and_an_empty_result_deletes_it() {
    let mut t = script(&[
        ("SADD a 1 2 3", int(3)),
        ("SADD b 2 3 4", int(3)),
        ("SET d string", ok()),
        ("SINTERSTORE d a b", int(2)),
        ("TYPE d", simple("set")),
        ("SUNIONSTORE u a b", int(4)),
        ("SDIFFSTORE x a b", int(1)),
        ("SMEMBERS x", array(vec![bulk("1")])),
        // The destination may be a source.
        ("SDIFFSTORE a a x", int(2)),
        ("SINTERSTORE d a nokey", int(0)),
        ("EXISTS d", int(0)),
        ("SDIFFSTORE nothing nokey", int(0)),
        ("EXISTS nothing", int(0)),
    ]);
    let conn = t.connect();
    assert_eq!(sorted(&run(&mut t, conn, "SMEMBERS u")), words("1 2 3 4"));
    assert_eq!(sorted(&run(&mut t, conn, "SMEMBERS a")), words("2 3"));
    // An empty result on a missing destination changes nothing and logs nothing.
    let aof_len = t.aof.len();
    assert_eq!(run(&mut t, conn, "SINTERSTORE d a nokey"), int(0));
    assert_eq!(t.aof.len(), aof_len);
}

/// Every member a full SSCAN returns, following the cursor to 0.
fn scan_all(t: &mut TestNode, conn: ConnectionId, options: &str) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut found = Vec::new();
    for _ in 0..1000 {
        let reply = run(t, conn, &format!("SSCAN s {cursor}{options}"));
        let Reply::Array(parts) = reply else {
            panic!("an array: {reply:?}")
        };
        let [Reply::Bulk(next), items] = &parts[..] else {
            panic!("cursor and items: {parts:?}")
        };
        found.extend(sorted(items));
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            found.sort();
            return found;
        }
    }
    panic!("the scan never ends");
}

#[test]
fn sscan_walks_the_set_with_a_cursor() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let members: Vec<String> = (0..25).map(|i| format!("m{i:02}")).collect();
    let mut sadd = vec!["SADD".to_string(), "s".to_string()];
    sadd.extend(members.iter().cloned());
    assert_eq!(t.cmd(conn, &sadd), int(25));
    let mut want = members.clone();
    want.sort();
    assert_eq!(scan_all(&mut t, conn, ""), want);
    assert_eq!(scan_all(&mut t, conn, " COUNT 1"), want);
    assert_eq!(scan_all(&mut t, conn, " COUNT 1000"), want);
    assert_eq!(
        scan_all(&mut t, conn, " MATCH m1* COUNT 3"),
        words("m10 m11 m12 m13 m14 m15 m16 m17 m18 m19")
    );
    assert_eq!(
        run(&mut t, conn, "SSCAN nokey 0"),
        array(vec![bulk("0"), array(vec![])])
    );
    // A packed set comes whole in the first call, as Redis's listpack does; a table
    // comes COUNT slots at a time.
    let first_cursor = |t: &mut TestNode| {
        let Reply::Array(parts) = run(t, conn, "SSCAN s 0") else {
            panic!("an array")
        };
        parts[0].clone()
    };
    assert_eq!(run(&mut t, conn, "OBJECT ENCODING s"), bulk("listpack"));
    assert_eq!(first_cursor(&mut t), bulk("0"));
    for i in 0..200 {
        run(&mut t, conn, &format!("SADD s big{i}"));
    }
    assert_eq!(run(&mut t, conn, "OBJECT ENCODING s"), bulk("hashtable"));
    assert_ne!(first_cursor(&mut t), bulk("0"));
}

#[test]
fn sscan_returns_every_member_present_throughout_despite_removals() {
    const MEMBERS: usize = 150;
    let mut t = TestNode::new();
    let conn = t.connect();
    // Past 128 members: a table, scanned by storage slots.
    for i in 0..MEMBERS {
        run(&mut t, conn, &format!("SADD s m{i:03}"));
    }
    let mut cursor = "0".to_string();
    let mut found = std::collections::BTreeSet::new();
    let mut removed = Vec::new();
    for step in 0..1000 {
        let Reply::Array(parts) = run(&mut t, conn, &format!("SSCAN s {cursor} COUNT 4")) else {
            panic!("an array")
        };
        found.extend(sorted(&parts[1]));
        // Remove a member not yet returned, when there is one, to move others around.
        let victim = format!("m{:03}", (step * 7) % MEMBERS);
        if !found.contains(&victim) && run(&mut t, conn, &format!("SREM s {victim}")) == int(1) {
            removed.push(victim);
        }
        let Reply::Bulk(next) = &parts[0] else {
            panic!("a cursor")
        };
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0");
    for i in 0..MEMBERS {
        let member = format!("m{i:03}");
        assert!(
            found.contains(&member) || removed.contains(&member),
            "{member} missed"
        );
    }
}

#[test]
fn resp3_replies_sets_where_redis_does() {
    let mut t = script(&[("SADD s a b", int(2)), ("SADD t b c", int(2))]);
    let conn = t.connect();
    run(&mut t, conn, "HELLO 3");
    for command in [
        "SMEMBERS s",
        "SINTER s t",
        "SUNION s t",
        "SDIFF s t",
        "SPOP t 1",
    ] {
        let reply = run(&mut t, conn, command);
        assert!(matches!(reply, Reply::Set(_)), "{command}: {reply:?}");
    }
    assert_eq!(run(&mut t, conn, "SMEMBERS nokey"), Reply::Set(vec![]));
    let reply = run(&mut t, conn, "SRANDMEMBER s 2");
    assert!(matches!(reply, Reply::Array(_)), "{reply:?}");
    assert_eq!(run(&mut t, conn, "SPOP nokey"), Reply::Nil);
}

#[test]
fn the_aof_replays_to_the_same_sets_spop_included() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let commands = [
        "SADD a 1 2 3 4 5 6 7 8",
        "SADD b 5 6 7 8 9",
        "SREM a 1",
        "SPOP a",
        "SPOP a 3",
        "SPOP b 100",
        "SADD b 5 6 7 8 9",
        "SMOVE a b 8",
        "SMOVE b c 9",
        "SET str x",
        "SUNIONSTORE str a b c",
        "SINTERSTORE i a b",
        "SDIFFSTORE d b a",
        "SINTERSTORE gone a nokey",
    ];
    for command in commands {
        run(&mut t, conn, command);
    }
    let mut rebuilt = replayed(&t);
    let conn_rebuilt = rebuilt.connect();
    for key in ["a", "b", "c", "str", "i", "d", "gone"] {
        let command = format!("SMEMBERS {key}");
        let want = sorted(&run(&mut t, conn, &command));
        assert_eq!(
            sorted(&run(&mut rebuilt, conn_rebuilt, &command)),
            want,
            "{key}"
        );
    }
}
