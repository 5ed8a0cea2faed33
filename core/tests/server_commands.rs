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
