//! `maxmemory` in a real `bucket-server`: the daemon reports jemalloc's figures to the
//! core, so INFO shows the process's memory, a full `noeviction` node answers `-OOM`
//! and loses nothing it acknowledged, and an `allkeys-lru` node evicts and serves on.

mod common;

use common::cluster::info_field;
use common::TestServer;

/// A value big enough that a few thousand keys cross a few MB.
const VALUE_BYTES: usize = 1024;
/// SETs sent at most, whatever happens: bounds the loops below.
const SETS_MAX: usize = 20_000;

/// An `INFO` field at `port`, as a number.
fn info_number(port: u16, section: &str, field: &str) -> u64 {
    let value = info_field(port, section, field).unwrap_or_else(|| panic!("no {field}"));
    value.parse().unwrap_or_else(|_| panic!("{field}: {value}"))
}

fn set(con: &mut redis::Connection, key: &str) -> redis::RedisResult<String> {
    redis::cmd("SET")
        .arg(key)
        .arg(vec![b'v'; VALUE_BYTES])
        .query(con)
}

#[test]
fn info_memory_reports_the_allocator() {
    let server = TestServer::start_single("info-memory", "");
    let used = info_number(server.port, "memory", "used_memory");
    let rss = info_number(server.port, "memory", "used_memory_rss");
    assert!(
        used > 100_000,
        "jemalloc holds the server's buffers: {used}"
    );
    assert!(rss >= used, "{rss} < {used}");
    assert_eq!(info_number(server.port, "memory", "maxmemory"), 0);
}

#[test]
fn a_full_noeviction_node_refuses_writes_and_keeps_what_it_acknowledged() {
    let server = TestServer::start_single("noeviction", "maxmemory: 8mb\n");
    let mut con = server.client();
    let mut acked = 0;
    let refusal = loop {
        assert!(acked < SETS_MAX, "8 MB never filled up");
        match set(&mut con, &format!("key:{acked}")) {
            Ok(_) => acked += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(refusal.code(), Some("OOM"), "{refusal}");
    assert!(acked > 1000, "{acked} keys in 8 MB");
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, acked, "every acknowledged key is kept");
    let first: Vec<u8> = redis::cmd("GET").arg("key:0").query(&mut con).unwrap();
    assert_eq!(first.len(), VALUE_BYTES);
    let deleted: usize = redis::cmd("DEL").arg("key:0").query(&mut con).unwrap();
    assert_eq!(deleted, 1, "deletes run on a full node");
}

#[test]
fn an_allkeys_lru_node_evicts_and_serves_on() {
    let server = TestServer::start_single(
        "allkeys-lru",
        "maxmemory: 8mb\nmaxmemoryPolicy: allkeys-lru\n",
    );
    let mut con = server.client();
    for i in 0..SETS_MAX {
        set(&mut con, &format!("key:{i}")).expect("an evicting node takes every write");
    }
    // Every command may evict first (a fresh allocator figure can show the node over
    // its limit), so the count is read on both sides of DBSIZE: every key written is
    // either stored or was evicted.
    let evicted_before = info_number(server.port, "stats", "evicted_keys");
    assert!(evicted_before > 0);
    let dbsize: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    let evicted_after = info_number(server.port, "stats", "evicted_keys");
    let written = SETS_MAX as u64;
    assert!(dbsize + evicted_before <= written && written <= dbsize + evicted_after);
    // Within the limit after the last eviction, give or take the last write and buffers.
    assert!(info_number(server.port, "memory", "used_memory") <= 9 << 20);
    let policy: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query(&mut con)
        .unwrap();
    assert_eq!(policy, ["maxmemory-policy", "allkeys-lru"]);
}
