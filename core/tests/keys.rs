//! Key and string commands: RENAME, COPY, OBJECT, the expiry family, SCAN TYPE, TIME,
//! SETEX, GETEX, GETRANGE, SETRANGE, INCRBYFLOAT, MSETNX and SET's repeated options,
//! with Redis 7.2's replies and errors, and the replay of what they log.

mod common;

use bucket_core::aof::effects::list::{End, ListEffect};
use bucket_core::aof::effects::set::SetEffect;
use bucket_core::aof::effects::zset::ZSetEffect;
use bucket_core::aof::elems::ElemsBuf;
use bucket_core::aof::record::{decode, encode};
use bucket_core::aof::{Effect, Record};
use bucket_core::keyspace::Value;
use bucket_core::resp::Reply;
use bucket_core::{ConnectionId, UnixMillis};
use common::*;

const ERR_SYNTAX: &str = "ERR syntax error";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Run each `(command, reply)` in order on one connection; a failure names the step.
fn script(t: &mut TestNode, conn: ConnectionId, steps: &[(&str, Reply)]) {
    for (i, (command, want)) in steps.iter().enumerate() {
        let args: Vec<&str> = command.split(' ').collect();
        assert_eq!(&t.cmd(conn, &args), want, "#{i}: {command}");
    }
}

/// A fresh node and a connection.
fn node() -> (TestNode, ConnectionId) {
    let mut t = TestNode::new();
    let conn = t.connect();
    (t, conn)
}

/// The elements as one `Elems` buffer.
fn elems(items: &[&[u8]]) -> ElemsBuf {
    let mut buf = ElemsBuf::new();
    items.iter().for_each(|item| buf.push(item));
    buf
}

/// A node holding one key of every type: `str` (with a TTL), `hash`, `list`, `set`,
/// `zset`. Collections other than hashes are written as records into the AOF the
/// node recovers from, as a master would have logged them.
fn node_with_every_type() -> (TestNode, ConnectionId) {
    let (mut t, conn) = node();
    t.cmd(conn, &["SET", "str", "text", "EX", "100"]);
    t.cmd(conn, &["HSET", "hash", "f", "v", "g", "w"]);
    let (last, _) = decode(&t.aof).expect("a record");
    let term = last.term;
    let list = elems(&[b"a", b"b", b"c"]);
    let set = elems(&[b"x", b"y"]);
    let mut pairs = ElemsBuf::new();
    pairs.push_score(1.5);
    pairs.push(b"m");
    pairs.push_score(-2.0);
    pairs.push(b"n");
    let effects = [
        Effect::List(ListEffect::Push {
            key: b"list",
            end: End::Right,
            items: list.as_elems(),
        }),
        Effect::SetMembers(SetEffect::Add {
            key: b"set",
            members: set.as_elems(),
        }),
        Effect::ZSet(ZSetEffect::Add {
            key: b"zset",
            pairs: pairs.as_elems(),
        }),
    ];
    let mut aof = t.aof.clone();
    for effect in effects {
        encode(&Record { term, effect }, &mut aof);
    }
    let mut t = TestNode::recover(config(), 7, &aof);
    let conn = t.connect();
    (t, conn)
}

fn value_of(t: &TestNode, key: &str) -> Option<(Value, Option<UnixMillis>)> {
    let now = UnixMillis(t.unix_ms);
    let entry = t.node.keyspace().get(key.as_bytes(), now)?;
    Some((entry.value.to_value(), entry.expire_at))
}

const TYPES: [(&str, &str); 5] = [
    ("str", "string"),
    ("hash", "hash"),
    ("list", "list"),
    ("set", "set"),
    ("zset", "zset"),
];

#[test]
fn rename_moves_every_type_with_its_ttl() {
    let (mut t, conn) = node_with_every_type();
    for (key, type_name) in TYPES {
        let before = value_of(&t, key).expect("stored");
        let to = format!("{key}-renamed");
        assert_eq!(t.cmd(conn, &["RENAME", key, &to]), ok(), "{key}");
        assert_eq!(value_of(&t, key), None, "{key}");
        assert_eq!(value_of(&t, &to), Some(before), "{key}");
        assert_eq!(t.cmd(conn, &["TYPE", &to]), simple(type_name));
    }
    assert_eq!(t.cmd(conn, &["TTL", "str-renamed"]), int(100));
    assert_eq!(t.cmd(conn, &["TTL", "hash-renamed"]), int(-1));
    replayed(&t);
}

#[test]
fn rename_replaces_the_destination_and_its_ttl() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("SET a 1", ok()),
            ("SET b 2 EX 50", ok()),
            ("RENAME a b", ok()),
            ("GET b", bulk("1")),
            ("TTL b", int(-1)),
            ("EXISTS a", int(0)),
            ("RENAME nokey x", err("ERR no such key")),
            ("RENAMENX nokey x", err("ERR no such key")),
            ("RENAME b b", ok()),
            ("RENAMENX b b", int(0)),
            ("SET c 3", ok()),
            ("RENAMENX b c", int(0)),
            ("GET c", bulk("3")),
            ("RENAMENX b d", int(1)),
            ("GET d", bulk("1")),
            (
                "RENAME d",
                err("ERR wrong number of arguments for 'rename' command"),
            ),
        ],
    );
    replayed(&t);
}

#[test]
fn rename_of_an_expired_key_is_no_such_key() {
    let (mut t, conn) = node();
    t.cmd(conn, &["SET", "a", "1", "PX", "10"]);
    t.unix_ms += 20; // Past its expiry, before any tick deletes it.
    assert_eq!(t.cmd(conn, &["RENAME", "a", "b"]), err("ERR no such key"));
    assert_eq!(t.cmd(conn, &["EXISTS", "b"]), int(0));
}

#[test]
fn copy_clones_every_type_with_its_ttl() {
    let (mut t, conn) = node_with_every_type();
    for (key, type_name) in TYPES {
        let before = value_of(&t, key).expect("stored");
        let to = format!("{key}-copy");
        assert_eq!(t.cmd(conn, &["COPY", key, &to]), int(1), "{key}");
        assert_eq!(value_of(&t, key), Some(before.clone()), "{key}");
        assert_eq!(value_of(&t, &to), Some(before), "{key}");
        assert_eq!(t.cmd(conn, &["TYPE", &to]), simple(type_name));
    }
    assert_eq!(t.cmd(conn, &["TTL", "str-copy"]), int(100));
    // The copy is a value of its own.
    t.cmd(conn, &["HSET", "hash-copy", "f", "changed"]);
    assert_eq!(t.cmd(conn, &["HGET", "hash", "f"]), bulk("v"));
    replayed(&t);
}

#[test]
fn copy_options_and_errors() {
    let (mut t, conn) = node();
    let cluster = "ERR Copying to another database is not allowed in cluster mode";
    let range = "ERR value is out of range, value must between -2147483648 and 2147483647";
    script(
        &mut t,
        conn,
        &[
            ("SET a 1", ok()),
            ("SET b 2 EX 50", ok()),
            ("COPY a b", int(0)),
            ("GET b", bulk("2")),
            ("COPY a b REPLACE", int(1)),
            ("GET b", bulk("1")),
            ("TTL b", int(-1)),
            ("COPY nokey c", int(0)),
            (
                "COPY a a",
                err("ERR source and destination objects are the same"),
            ),
            ("COPY a c DB 0", int(1)),
            ("COPY a d DB 1", err(cluster)),
            ("COPY a a DB 1", err(cluster)),
            ("COPY a d DB 16", err("ERR DB index is out of range")),
            ("COPY a d DB -1", err("ERR DB index is out of range")),
            ("COPY a d DB x", err(ERR_NOT_INTEGER)),
            ("COPY a d DB 9999999999", err(range)),
            ("COPY a d DB", err(ERR_SYNTAX)),
            ("COPY a d FOO", err(ERR_SYNTAX)),
            ("COPY a d replace db 0", int(1)),
            (
                "COPY a",
                err("ERR wrong number of arguments for 'copy' command"),
            ),
        ],
    );
    replayed(&t);
}

#[test]
fn refused_renames_and_copies_log_nothing() {
    let cases: &[&[&str]] = &[
        &["RENAME", "a", "a"],
        &["RENAMENX", "a", "b"],
        &["RENAME", "nokey", "x"],
        &["COPY", "a", "b"],
        &["COPY", "nokey", "x"],
        &["COPY", "a", "x", "DB", "1"],
        &["TOUCH", "a"],
        &["RANDOMKEY"],
        &["GETEX", "a"],
        &["GETEX", "a", "PERSIST"],
        &["SETRANGE", "a", "0", ""],
        &["SETRANGE", "nokey", "0", ""],
        &["MSETNX", "x", "1", "a", "2"],
        &["INCRBYFLOAT", "a", "x"],
        &["OBJECT", "ENCODING", "a"],
    ];
    for (i, command) in cases.iter().enumerate() {
        let (mut t, conn) = node();
        t.cmd(conn, &["MSET", "a", "1", "b", "2"]);
        let (_, aof) = t.cmd_aof(conn, command);
        assert!(
            aof.is_empty(),
            "#{i}: {command:?} logged {} bytes",
            aof.len()
        );
    }
}

#[test]
fn touch_and_randomkey() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("RANDOMKEY", nil()),
            ("SET a 1", ok()),
            ("TOUCH a a nokey", int(2)),
            ("RANDOMKEY", bulk("a")),
            ("SET b 2", ok()),
        ],
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        match t.cmd(conn, &["RANDOMKEY"]) {
            Reply::Bulk(key) => seen.insert(key),
            other => panic!("{other:?}"),
        };
    }
    assert_eq!(seen.len(), 2, "both keys are picked");
    // Only expired keys: none is live.
    let (mut t, conn) = node();
    t.cmd(conn, &["SET", "a", "1", "PX", "10"]);
    t.unix_ms += 20;
    assert_eq!(t.cmd(conn, &["RANDOMKEY"]), nil());
}

#[test]
fn object_subcommands() {
    let (mut t, conn) = node();
    let no_lfu = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    let long = "x".repeat(45);
    t.cmd(conn, &["SET", "long", &long]);
    script(
        &mut t,
        conn,
        &[
            ("SET i 12345", ok()),
            ("SET neg -7", ok()),
            ("SET zero 007", ok()),
            ("SET s hello", ok()),
            ("OBJECT ENCODING i", bulk("int")),
            ("OBJECT ENCODING neg", bulk("int")),
            ("OBJECT ENCODING zero", bulk("embstr")),
            ("OBJECT ENCODING s", bulk("embstr")),
            ("OBJECT ENCODING long", bulk("raw")),
            ("OBJECT encoding nokey", nil()),
            ("OBJECT REFCOUNT s", int(1)),
            ("OBJECT REFCOUNT i", int(1)),
            ("SET small 100", ok()),
            ("OBJECT REFCOUNT small", int(2147483647)),
            ("OBJECT IDLETIME s", int(0)),
            ("OBJECT FREQ s", err(no_lfu)),
            ("OBJECT FREQ nokey", nil()),
            (
                "OBJECT FOO s",
                err("ERR unknown subcommand 'FOO'. Try OBJECT HELP."),
            ),
            (
                "OBJECT",
                err("ERR wrong number of arguments for 'object' command"),
            ),
            (
                "OBJECT ENCODING",
                err("ERR wrong number of arguments for 'object|encoding' command"),
            ),
            (
                "OBJECT REFCOUNT a b",
                err("ERR wrong number of arguments for 'object|refcount' command"),
            ),
            (
                "OBJECT HELP x",
                err("ERR wrong number of arguments for 'object|help' command"),
            ),
            ("HSET h f v", int(1)),
            ("OBJECT ENCODING h", bulk("listpack")),
        ],
    );
    let Reply::Array(lines) = t.cmd(conn, &["OBJECT", "HELP"]) else {
        panic!("an array");
    };
    assert_eq!(lines.len(), 15);
    assert_eq!(
        lines[0],
        simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    // A hash value longer than 64 bytes, or more than 128 fields: a hashtable.
    t.cmd(conn, &["HSET", "h", "big", &"v".repeat(65)]);
    assert_eq!(t.cmd(conn, &["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    for i in 0..129 {
        t.cmd(conn, &["HSET", "many", &format!("f{i}"), "v"]);
    }
    assert_eq!(
        t.cmd(conn, &["OBJECT", "ENCODING", "many"]),
        bulk("hashtable")
    );
}

/// A node whose AOF also holds the given collection effects.
fn node_with(effects: &[Effect<'_>]) -> (TestNode, ConnectionId) {
    let (mut t, conn) = node();
    t.cmd(conn, &["SET", "anchor", "1"]);
    let (last, _) = decode(&t.aof).expect("a record");
    let mut aof = t.aof.clone();
    for effect in effects {
        let record = Record {
            term: last.term,
            effect: *effect,
        };
        encode(&record, &mut aof);
    }
    let mut t = TestNode::recover(config(), 7, &aof);
    let conn = t.connect();
    (t, conn)
}

#[test]
fn object_encoding_of_collections_follows_redis_thresholds() {
    let numbers: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    let bytes = |items: &[String]| {
        let mut buf = ElemsBuf::new();
        items.iter().for_each(|item| buf.push(item.as_bytes()));
        buf
    };
    let ints_512 = bytes(&numbers[..512]);
    let ints_513 = bytes(&numbers[..513]);
    let words_128 = bytes(&words[..128]);
    let words_129 = bytes(&words[..129]);
    let long = bytes(&["x".repeat(65)]);
    let list_small = bytes(&words[..200]);
    let list_big = bytes(&vec!["y".repeat(100); 100]);
    let mut zpairs = ElemsBuf::new();
    for word in &words[..129] {
        zpairs.push_score(1.0);
        zpairs.push(word.as_bytes());
    }
    let mut zsmall = ElemsBuf::new();
    zsmall.push_score(2.0);
    zsmall.push(b"m");
    let set_add = |key: &'static [u8], members| Effect::SetMembers(SetEffect::Add { key, members });
    let push = |key: &'static [u8], items| {
        Effect::List(ListEffect::Push {
            key,
            end: End::Right,
            items,
        })
    };
    let (mut t, conn) = node_with(&[
        set_add(b"ints512", ints_512.as_elems()),
        set_add(b"ints513", ints_513.as_elems()),
        set_add(b"words128", words_128.as_elems()),
        set_add(b"words129", words_129.as_elems()),
        set_add(b"long", long.as_elems()),
        push(b"list-small", list_small.as_elems()),
        push(b"list-big", list_big.as_elems()),
        Effect::ZSet(ZSetEffect::Add {
            key: b"zset-big",
            pairs: zpairs.as_elems(),
        }),
        Effect::ZSet(ZSetEffect::Add {
            key: b"zset-small",
            pairs: zsmall.as_elems(),
        }),
    ]);
    let cases = [
        ("ints512", "intset"),
        ("ints513", "hashtable"),
        ("words128", "listpack"),
        ("words129", "hashtable"),
        ("long", "hashtable"),
        ("list-small", "listpack"),
        ("list-big", "quicklist"),
        ("zset-small", "listpack"),
        ("zset-big", "skiplist"),
    ];
    for (key, want) in cases {
        assert_eq!(
            t.cmd(conn, &["OBJECT", "ENCODING", key]),
            bulk(want),
            "{key}"
        );
    }
}

#[test]
fn expiretime_and_expire_conditions() {
    let (mut t, conn) = node();
    let at_s = UNIX_MS_START / 1000 + 100;
    let at_ms = UNIX_MS_START + 100_000;
    script(
        &mut t,
        conn,
        &[
            ("EXPIRETIME nokey", int(-2)),
            ("PEXPIRETIME nokey", int(-2)),
            ("SET a 1", ok()),
            ("EXPIRETIME a", int(-1)),
            ("EXPIRE a 100 XX", int(0)),
            ("EXPIRE a 100 GT", int(0)),
            ("EXPIRE a 100 NX", int(1)),
            ("EXPIRE a 200 NX", int(0)),
            ("EXPIRE a 50 GT", int(0)),
            ("EXPIRE a 150 LT", int(0)),
            ("EXPIRE a 100 XX LT", int(0)),
            ("PEXPIRE a 100000 XX", int(1)),
            (
                "EXPIRE a 1 NX XX",
                err("ERR NX and XX, GT or LT options at the same time are not compatible"),
            ),
            (
                "EXPIRE a 1 GT LT",
                err("ERR GT and LT options at the same time are not compatible"),
            ),
            ("EXPIRE a 1 FOO", err("ERR Unsupported option FOO")),
            ("EXPIRE a x", err(ERR_NOT_INTEGER)),
            (
                "EXPIRE a 9223372036854775807",
                err("ERR invalid expire time in 'expire' command"),
            ),
        ],
    );
    assert_eq!(t.cmd(conn, &["EXPIRETIME", "a"]), int(at_s as i64));
    assert_eq!(t.cmd(conn, &["PEXPIRETIME", "a"]), int(at_ms as i64));
    t.cmd(
        conn,
        &["PEXPIREAT", "a", &(UNIX_MS_START + 1_499).to_string()],
    );
    assert_eq!(
        t.cmd(conn, &["EXPIRETIME", "a"]),
        int((UNIX_MS_START / 1000 + 1) as i64)
    );
    // An expiry in the past deletes, LT allowing it on a key without expiry.
    t.cmd(conn, &["SET", "b", "1"]);
    assert_eq!(t.cmd(conn, &["EXPIREAT", "b", "1", "LT"]), int(1));
    assert_eq!(t.cmd(conn, &["EXISTS", "b"]), int(0));
    replayed(&t);
}

#[test]
fn scan_type_filters_by_the_real_type() {
    let (mut t, conn) = node_with_every_type();
    let scan_type = |t: &mut TestNode, name: &str| -> Vec<Reply> {
        let reply = t.cmd(conn, &["SCAN", "0", "COUNT", "100", "TYPE", name]);
        let Reply::Array(mut parts) = reply else {
            panic!("{reply:?}");
        };
        let Reply::Array(keys) = parts.pop().expect("keys") else {
            panic!("an array of keys");
        };
        keys
    };
    for (key, type_name) in TYPES {
        assert_eq!(scan_type(&mut t, type_name), vec![bulk(key)], "{type_name}");
        let upper = type_name.to_ascii_uppercase();
        assert_eq!(scan_type(&mut t, &upper), vec![bulk(key)], "{upper}");
    }
    assert_eq!(scan_type(&mut t, "stream"), vec![]);
    assert_eq!(scan_type(&mut t, "nosuchtype"), vec![]);
}

#[test]
fn time_is_the_wall_clock_in_seconds_and_microseconds() {
    let (mut t, conn) = node();
    t.unix_ms = 1_700_000_123_456;
    let want = array(vec![bulk("1700000123"), bulk("456000")]);
    assert_eq!(t.cmd(conn, &["TIME"]), want);
    assert_eq!(
        t.cmd(conn, &["TIME", "x"]),
        err("ERR wrong number of arguments for 'time' command")
    );
}

#[test]
fn setex_psetex_and_getex() {
    let (mut t, conn) = node();
    let past = UNIX_MS_START / 1000 - 1;
    script(
        &mut t,
        conn,
        &[
            ("SETEX a 100 v", ok()),
            ("TTL a", int(100)),
            ("PSETEX b 1500 w", ok()),
            ("PTTL b", int(1500)),
            (
                "SETEX a 0 v",
                err("ERR invalid expire time in 'setex' command"),
            ),
            (
                "PSETEX a -1 v",
                err("ERR invalid expire time in 'psetex' command"),
            ),
            ("SETEX a x v", err(ERR_NOT_INTEGER)),
            (
                "SETEX a 100000000000000000 v",
                err("ERR invalid expire time in 'setex' command"),
            ),
            ("GETEX nokey", nil()),
            ("GETEX nokey EX x", nil()),
            ("GETEX a", bulk("v")),
            ("TTL a", int(100)),
            ("GETEX a EX 10", bulk("v")),
            ("TTL a", int(10)),
            ("GETEX a PX 5000", bulk("v")),
            ("PTTL a", int(5000)),
            ("GETEX a PERSIST", bulk("v")),
            ("TTL a", int(-1)),
            ("GETEX a EX 1 EX 20", bulk("v")),
            ("TTL a", int(20)),
            ("GETEX a PERSIST PERSIST", bulk("v")),
            ("GETEX a EX 1 PX 1", err(ERR_SYNTAX)),
            ("GETEX a PX 1 PERSIST", err(ERR_SYNTAX)),
            ("GETEX a PERSIST EX 1", err(ERR_SYNTAX)),
            ("GETEX a EX", err(ERR_SYNTAX)),
            ("GETEX a KEEPTTL", err(ERR_SYNTAX)),
            ("GETEX a NX", err(ERR_SYNTAX)),
            (
                "GETEX a EX 0",
                err("ERR invalid expire time in 'getex' command"),
            ),
            ("GETEX a EX x", err(ERR_NOT_INTEGER)),
            ("GETEX a EX 0 EX 5", bulk("v")),
            ("TTL a", int(5)),
            ("HSET h f v", int(1)),
            ("GETEX h EX 5", err(ERR_WRONGTYPE)),
        ],
    );
    let exat = format!("GETEX a EXAT {past}");
    script(&mut t, conn, &[(&exat, bulk("v")), ("EXISTS a", int(0))]);
    t.cmd(conn, &["SET", "c", "v"]);
    let at = (UNIX_MS_START + 7_000).to_string();
    assert_eq!(t.cmd(conn, &["GETEX", "c", "PXAT", &at]), bulk("v"));
    assert_eq!(t.cmd(conn, &["PTTL", "c"]), int(7_000));
    replayed(&t);
}

#[test]
fn set_accepts_repeated_options_but_not_conflicting_ones() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("SET k v PX 5 PX 1000", ok()),
            ("PTTL k", int(1000)),
            ("SET k v EX abc EX 10", ok()),
            ("TTL k", int(10)),
            ("SET k v NX NX", nil()),
            ("SET k w XX XX", ok()),
            ("SET k v GET GET", bulk("w")),
            ("SET k v KEEPTTL KEEPTTL", ok()),
            ("SET k v NX XX", err(ERR_SYNTAX)),
            ("SET k v XX XX NX", err(ERR_SYNTAX)),
            ("SET k v EX 10 KEEPTTL", err(ERR_SYNTAX)),
            ("SET k v KEEPTTL PX 100", err(ERR_SYNTAX)),
            ("SET k v EX 10 PX 100", err(ERR_SYNTAX)),
            ("SET k v EX 10 EXAT 1", err(ERR_SYNTAX)),
            ("SET k v PERSIST", err(ERR_SYNTAX)),
            (
                "SET k v EX 10 EX 0",
                err("ERR invalid expire time in 'set' command"),
            ),
        ],
    );
    replayed(&t);
}

#[test]
fn getrange_and_substr() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("SET s hello", ok()),
            ("GETRANGE s 0 -1", bulk("hello")),
            ("GETRANGE s 1 3", bulk("ell")),
            ("SUBSTR s 1 3", bulk("ell")),
            ("GETRANGE s -3 -1", bulk("llo")),
            ("GETRANGE s 0 100", bulk("hello")),
            ("GETRANGE s 3 1", bulk("")),
            ("GETRANGE s -1 -2", bulk("")),
            ("GETRANGE s -100 -50", bulk("h")),
            ("GETRANGE s 100 200", bulk("")),
            (
                "GETRANGE s 9223372036854775807 -9223372036854775808",
                bulk(""),
            ),
            ("GETRANGE nokey 0 1", bulk("")),
            ("GETRANGE s x 1", err(ERR_NOT_INTEGER)),
            ("GETRANGE s 0 1.5", err(ERR_NOT_INTEGER)),
            ("HSET h f v", int(1)),
            ("GETRANGE h 0 1", err(ERR_WRONGTYPE)),
            (
                "SUBSTR s 0",
                err("ERR wrong number of arguments for 'substr' command"),
            ),
        ],
    );
    t.cmd(conn, &["SET", "e", ""]);
    assert_eq!(t.cmd(conn, &["GETRANGE", "e", "0", "-1"]), bulk(""));
}

#[test]
fn setrange_pads_keeps_the_ttl_and_checks_the_limit() {
    let (mut t, conn) = node();
    let too_long = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    script(
        &mut t,
        conn,
        &[
            ("SET s hello EX 100", ok()),
            ("SETRANGE s 1 a", int(5)),
            ("GET s", bulk("hallo")),
            ("SETRANGE s 7 ab", int(9)),
            ("GET s", bulk("hallo\0\0ab")),
            ("TTL s", int(100)),
            ("SETRANGE s 0 ", int(9)),
            ("SETRANGE new 2 x", int(3)),
            ("GET new", bulk("\0\0x")),
            ("SETRANGE absent 3 ", int(0)),
            ("EXISTS absent", int(0)),
            ("SETRANGE s -1 x", err("ERR offset is out of range")),
            ("SETRANGE s x x", err(ERR_NOT_INTEGER)),
            ("SETRANGE s 536870912 x", err(too_long)),
            ("SETRANGE s 9223372036854775807 x", err(too_long)),
            ("SETRANGE absent 536870912 ", int(0)),
            ("HSET h f v", int(1)),
            ("SETRANGE h 0 x", err(ERR_WRONGTYPE)),
            ("SETRANGE h 0 ", err(ERR_WRONGTYPE)),
        ],
    );
    replayed(&t);
}

#[test]
fn incrbyfloat_logs_the_formatted_result_and_keeps_the_ttl() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("INCRBYFLOAT f 1.5", bulk("1.5")),
            ("INCRBYFLOAT f 1", bulk("2.5")),
            ("INCRBYFLOAT f -2.5", bulk("0")),
            ("INCRBYFLOAT f -0", bulk("0")),
            ("SET n 10 EX 100", ok()),
            ("INCRBYFLOAT n 5.0e3", bulk("5010")),
            ("TTL n", int(100)),
            ("INCRBYFLOAT n 0.25", bulk("5010.25")),
            ("SET x 3.0", ok()),
            ("INCRBYFLOAT x 0", bulk("3")),
            ("INCRBYFLOAT q 1e20", bulk("100000000000000000000")),
            ("INCRBYFLOAT tiny 0.0000000000000000001", bulk("0")),
            ("INCRBYFLOAT small 1.0e-5", bulk("0.00001")),
            ("INCRBYFLOAT f abc", err("ERR value is not a valid float")),
            ("INCRBYFLOAT f nan", err("ERR value is not a valid float")),
            (
                "INCRBYFLOAT f inf",
                err("ERR increment would produce NaN or Infinity"),
            ),
            ("SET g abc", ok()),
            ("INCRBYFLOAT g 1", err("ERR value is not a valid float")),
            ("HSET h f v", int(1)),
            ("INCRBYFLOAT h 1", err(ERR_WRONGTYPE)),
        ],
    );
    t.cmd(conn, &["SET", "y", " 1"]);
    let not_float = err("ERR value is not a valid float");
    assert_eq!(t.cmd(conn, &["INCRBYFLOAT", "y", "1"]), not_float);
    // The AOF holds the result, as text: replayed, it is the same string.
    let (_, aof) = t.cmd_aof(conn, &["INCRBYFLOAT", "n", "0.5"]);
    let (record, _) = decode(&aof).expect("one record");
    let Effect::SetKeepTtl { key, value } = record.effect else {
        panic!("{:?}", record.effect);
    };
    assert_eq!((key, value), (&b"n"[..], &b"5010.75"[..]));
    replayed(&t);
}

#[test]
fn msetnx_sets_all_or_nothing() {
    let (mut t, conn) = node();
    script(
        &mut t,
        conn,
        &[
            ("MSETNX a 1 b 2", int(1)),
            ("MGET a b", array(vec![bulk("1"), bulk("2")])),
            ("MSETNX a 9 c 3", int(0)),
            ("EXISTS c", int(0)),
            ("GET a", bulk("1")),
            (
                "MSETNX a",
                err("ERR wrong number of arguments for 'msetnx' command"),
            ),
            (
                "MSETNX a 1 b",
                err("ERR wrong number of arguments for 'msetnx' command"),
            ),
        ],
    );
    replayed(&t);
}

#[test]
fn the_aof_of_every_new_command_replays_to_the_same_keyspace() {
    let (mut t, conn) = node_with_every_type();
    let commands: &[&[&str]] = &[
        &["RENAME", "list", "list2"],
        &["COPY", "set", "set2"],
        &["COPY", "zset", "hash", "REPLACE"],
        &["RENAMENX", "str", "str2"],
        &["SETEX", "e", "100", "v"],
        &["PSETEX", "p", "100000", "v"],
        &["GETEX", "e", "PERSIST"],
        &["GETEX", "p", "EX", "50"],
        &["SETRANGE", "e", "3", "xyz"],
        &["INCRBYFLOAT", "fl", "2.75"],
        &["MSETNX", "m1", "1", "m2", "2"],
        &["EXPIRE", "m1", "100", "NX"],
        &["SET", "k", "v", "PX", "5", "PX", "90000"],
    ];
    for command in commands {
        let reply = t.cmd(conn, command);
        assert!(!matches!(reply, Reply::Error(_)), "{command:?}: {reply:?}");
    }
    let mut rebuilt = replayed(&t);
    let conn = rebuilt.connect();
    assert_eq!(rebuilt.cmd(conn, &["TYPE", "hash"]), simple("zset"));
    assert_eq!(rebuilt.cmd(conn, &["TTL", "str2"]), int(100));
    assert_eq!(rebuilt.cmd(conn, &["GET", "e"]), bulk("v\0\0xyz"));
    assert_eq!(rebuilt.cmd(conn, &["GET", "fl"]), bulk("2.75"));
    assert_eq!(rebuilt.cmd(conn, &["PTTL", "k"]), int(90_000));
}
