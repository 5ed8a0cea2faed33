//! Server commands as clients and their test suites read them: CONFIG RESETSTAT really
//! resets, COMMAND HELP and LIST answer, CLIENT NO-TOUCH leaves stamps be, and INFO
//! server carries Redis's fields.

mod common;

use bucket_core::memory::{MaxMemory, Policy};
use bucket_core::resp::Reply;
use common::*;

fn info_text(t: &mut TestNode, conn: bucket_core::ConnectionId, section: &str) -> String {
    let Reply::Bulk(text) = t.cmd(conn, &["INFO", section]) else {
        panic!("INFO is a bulk string");
    };
    String::from_utf8(text).unwrap()
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string()
}

#[test]
fn config_resetstat_resets_the_counters() {
    let mut t = TestNode::new();
    let conn = t.connect();
    t.cmd(conn, &["SET", "k", "v"]);
    t.cmd(conn, &["GET", "k"]);
    t.cmd(conn, &["GET", "nokey"]);
    let before = info_text(&mut t, conn, "stats");
    assert_eq!(field(&before, "keyspace_hits"), "1");
    assert_ne!(field(&before, "total_commands_processed"), "0");
    assert_eq!(t.cmd(conn, &["CONFIG", "RESETSTAT"]), ok());
    let after = info_text(&mut t, conn, "stats");
    assert_eq!(field(&after, "keyspace_hits"), "0");
    assert_eq!(field(&after, "keyspace_misses"), "0");
    // The INFO that reads them counts itself, as in Redis.
    assert_eq!(field(&after, "total_commands_processed"), "1");
    assert_eq!(
        t.cmd(conn, &["CONFIG", "RESETSTAT", "x"]),
        arity("config|resetstat")
    );
}

#[test]
fn command_help_and_list_answer() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let Reply::Array(help) = t.cmd(conn, &["COMMAND", "HELP"]) else {
        panic!("COMMAND HELP is an array");
    };
    assert!(matches!(&help[0], Reply::Simple(s) if s.starts_with("COMMAND <subcommand>")));
    let Reply::Array(names) = t.cmd(conn, &["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST is an array");
    };
    assert!(names.contains(&bulk("get")) && names.contains(&bulk("memory")));
    let Reply::Integer(count) = t.cmd(conn, &["COMMAND", "COUNT"]) else {
        panic!("COMMAND COUNT is an integer");
    };
    assert_eq!(count as usize, names.len());
}

#[test]
fn client_no_touch_leaves_the_lru_stamp_alone() {
    let mut config = config();
    config.maxmemory = MaxMemory {
        bytes: 1 << 30,
        policy: Policy::AllKeysLru,
        samples: 5,
    };
    let mut t = TestNode::with_config(config, 7);
    let conn = t.connect();
    t.cmd(conn, &["SET", "k", "v"]);
    t.advance_ms(5_000);
    assert_eq!(t.cmd(conn, &["CLIENT", "NO-TOUCH", "on"]), ok());
    t.cmd(conn, &["GET", "k"]);
    assert_eq!(t.cmd(conn, &["OBJECT", "IDLETIME", "k"]), int(5));
    assert_eq!(t.cmd(conn, &["CLIENT", "NO-TOUCH", "off"]), ok());
    t.cmd(conn, &["GET", "k"]);
    assert_eq!(t.cmd(conn, &["OBJECT", "IDLETIME", "k"]), int(0));
    assert_eq!(t.cmd(conn, &["CLIENT", "NO-EVICT", "on"]), ok());
    assert_eq!(
        t.cmd(conn, &["CLIENT", "NO-TOUCH", "maybe"]),
        err("ERR syntax error")
    );
}

#[test]
fn info_server_has_the_fields_clients_read() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let text = info_text(&mut t, conn, "server");
    for name in [
        "redis_version",
        "redis_git_sha1",
        "redis_build_id",
        "redis_mode",
        "os",
        "arch_bits",
        "multiplexing_api",
        "process_id",
        "tcp_port",
        "run_id",
        "server_time_usec",
        "uptime_in_seconds",
        "hz",
        "lru_clock",
        "executable",
        "config_file",
    ] {
        field(&text, name);
    }
    assert_eq!(
        field(&text, "server_time_usec"),
        (UNIX_MS_START * 1000).to_string()
    );
}

/// `CLIENT LIST`'s lines, one field map per client, in id order.
fn client_list(
    t: &mut TestNode,
    conn: bucket_core::ConnectionId,
    args: &[&str],
) -> Vec<Vec<String>> {
    let mut command = vec!["CLIENT", "LIST"];
    command.extend_from_slice(args);
    let listing = text(&t.cmd(conn, &command));
    listing.lines().map(words).collect()
}

fn has(line: &[String], field: &str) -> bool {
    line.iter().any(|f| f == field)
}

#[test]
fn client_list_shows_every_connection_in_redis_format() {
    let mut t = TestNode::new();
    let first = t.connect();
    let second = t.connect();
    t.cmd(second, &["CLIENT", "SETNAME", "worker"]);
    t.cmd(second, &["MULTI"]);
    let lines = client_list(&mut t, first, &[]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (me, other) = (&lines[0], &lines[1]);
    assert_eq!(me[0], format!("id={}", first.0));
    assert_eq!(me[1], format!("addr=127.0.0.1:{}", 40000 + first.0));
    assert_eq!(me[2], "laddr=127.0.0.1:6379");
    assert!(
        has(me, "name=") && has(me, "flags=N") && has(me, "cmd=client"),
        "{me:?}"
    );
    assert!(has(me, "multi=-1") && has(me, "resp=2") && has(me, "user=default"));
    assert!(
        has(other, "name=worker") && has(other, "flags=x"),
        "{other:?}"
    );
    assert!(
        has(other, "multi=0") && has(other, "cmd=multi"),
        "{other:?}"
    );
    // Redis 7.2's fields, in its order (Bucket's core sees no file descriptors).
    let names: Vec<&str> = me.iter().map(|f| f.split('=').next().unwrap()).collect();
    assert_eq!(
        names.join(" "),
        "id addr laddr name age idle flags db sub psub ssub multi watch qbuf qbuf-free \
         argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp \
         lib-name lib-ver"
    );
    let info = text(&t.cmd(first, &["CLIENT", "INFO"]));
    assert!(info.starts_with(&format!("id={} addr=", first.0)), "{info}");
}

#[test]
fn client_list_filters_by_type_and_id() {
    let mut t = TestNode::new();
    let first = t.connect();
    let second = t.connect();
    let ids = [&second.0.to_string() as &str, "999"];
    let only_second = client_list(&mut t, first, &["ID", ids[0], ids[1]]);
    assert_eq!(only_second.len(), 1);
    assert_eq!(only_second[0][0], format!("id={}", second.0));
    assert!(client_list(&mut t, first, &["TYPE", "pubsub"]).is_empty());
    assert_eq!(client_list(&mut t, first, &["TYPE", "normal"]).len(), 2);
    let errors = [
        (vec!["TYPE", "bogus"], "ERR Unknown client type 'bogus'"),
        (vec!["ID", "x"], "ERR Invalid client ID"),
        (vec!["ID", "0"], "ERR syntax error"),
        (vec!["FOO"], "ERR syntax error"),
    ];
    for (args, want) in errors {
        let mut command = vec!["CLIENT", "LIST"];
        command.extend(args);
        assert_eq!(t.cmd(first, &command), err(want));
    }
}

fn closed(out: &[bucket_core::Output], conn: bucket_core::ConnectionId) -> bool {
    out.iter()
        .any(|o| matches!(o, bucket_core::Output::Close { conn: c } if *c == conn))
}

#[test]
fn client_kill_closes_the_connections_it_names() {
    let mut t = TestNode::new();
    let killer = t.connect();
    let by_id = t.connect();
    let by_addr = t.connect();
    let id = by_id.0.to_string();
    let out = t.send(killer, &encode(&["CLIENT", "KILL", "ID", &id]));
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, killer)),
        vec![int(1)]
    );
    assert!(closed(&out, by_id), "{out:?}");
    // The killed session is gone: its late bytes are dropped unanswered.
    assert!(t.send(by_id, &encode(&["PING"])).is_empty());
    let addr = format!("127.0.0.1:{}", 40000 + by_addr.0);
    let out = t.send(killer, &encode(&["CLIENT", "KILL", &addr]));
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, killer)),
        vec![ok()]
    );
    assert!(closed(&out, by_addr));
    assert_eq!(
        t.cmd(killer, &["CLIENT", "KILL", &addr]),
        err("ERR No such client")
    );
    assert_eq!(client_list(&mut t, killer, &[]).len(), 1);
}

#[test]
fn client_kill_filters_skip_the_caller_unless_told() {
    let mut t = TestNode::new();
    let me = t.connect();
    let other = t.connect();
    let out = t.send(me, &encode(&["CLIENT", "KILL", "LADDR", "127.0.0.1:6379"]));
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, me)),
        vec![int(1)]
    );
    assert!(closed(&out, other) && !closed(&out, me));
    let mine = me.0.to_string();
    let out = t.send(
        me,
        &encode(&["CLIENT", "KILL", "ID", &mine, "SKIPME", "no"]),
    );
    // The caller gets its answer, then its connection closes.
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, me)),
        vec![int(1)]
    );
    assert!(closed(&out, me));
}

#[test]
fn client_kill_of_a_blocked_client_unblocks_nothing_later() {
    let mut t = TestNode::new();
    let pusher = t.connect();
    let blocked = t.connect();
    assert!(t.send(blocked, &encode(&["BLPOP", "jobs", "0"])).is_empty());
    let id = blocked.0.to_string();
    assert_eq!(t.cmd(pusher, &["CLIENT", "KILL", "ID", &id]), int(1));
    assert_eq!(t.cmd(pusher, &["RPUSH", "jobs", "a"]), int(1));
    // No one was left waiting on `jobs`: the element stays.
    assert_eq!(t.cmd(pusher, &["LLEN", "jobs"]), int(1));
}

#[test]
fn client_kill_rejects_bad_filters() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let cases: [(&[&str], &str); 6] = [
        (&["ID", "0"], "ERR client-id should be greater than 0"),
        (&["TYPE", "bogus"], "ERR Unknown client type 'bogus'"),
        (&["USER", "alice"], "ERR No such user 'alice'"),
        (&["SKIPME", "maybe"], "ERR syntax error"),
        (
            &["MAXAGE", "soon"],
            "ERR value is not an integer or out of range",
        ),
        (&["ID", "1", "ADDR"], "ERR syntax error"),
    ];
    for (args, want) in cases {
        let mut command = vec!["CLIENT", "KILL"];
        command.extend_from_slice(args);
        assert_eq!(t.cmd(conn, &command), err(want), "{args:?}");
    }
    assert_eq!(t.cmd(conn, &["CLIENT", "NO-EVICT", "on"]), ok());
    assert_eq!(
        t.cmd(conn, &["CLIENT", "NO-EVICT", "maybe"]),
        err("ERR syntax error")
    );
}
