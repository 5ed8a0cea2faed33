//! `maxmemory`: eviction under each policy, `-OOM` under `noeviction`, the settings in
//! CONFIG GET/SET, and what INFO, MEMORY and OBJECT report. Every eviction is a logged
//! delete, so the node stays the replay of its AOF.

mod common;

use bucket_core::memory::{MaxMemory, Policy};
use bucket_core::resp::Reply;
use bucket_core::{ConnectionId, Input};
use common::*;

const ERR_OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// What the driver reports the allocator holds before any key: the limit sits above it.
const BASE_BYTES: u64 = 100_000;

/// A node limited to `BASE_BYTES + room` bytes under `policy`, sampling every key it
/// can (the largest sample), so that which key goes is predictable.
fn limited(policy: Policy, room: u64) -> (TestNode, ConnectionId) {
    let mut config = config();
    config.maxmemory = MaxMemory {
        bytes: BASE_BYTES + room,
        policy,
        samples: 64,
    };
    let mut t = TestNode::with_config(config, 7);
    report(&mut t, BASE_BYTES);
    let conn = t.connect();
    (t, conn)
}

fn report(t: &mut TestNode, allocated: u64) {
    let out = t.step(Input::MemoryUsed {
        allocated,
        resident: allocated + allocated / 10,
    });
    assert!(out.is_empty(), "a report changes nothing at once: {out:?}");
}

fn set(t: &mut TestNode, conn: ConnectionId, key: &str) -> Reply {
    t.cmd(conn, &["SET", key, &"v".repeat(40)])
}

fn info_field(t: &mut TestNode, conn: ConnectionId, section: &str, field: &str) -> String {
    let Reply::Bulk(text) = t.cmd(conn, &["INFO", section]) else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8(text).unwrap();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has {field}: {text}"));
    line.to_string()
}

fn dbsize(t: &mut TestNode, conn: ConnectionId) -> i64 {
    match t.cmd(conn, &["DBSIZE"]) {
        Reply::Integer(n) => n,
        other => panic!("DBSIZE: {other:?}"),
    }
}

#[test]
fn noeviction_refuses_growing_writes_and_keeps_every_acknowledged_key() {
    let (mut t, conn) = limited(Policy::NoEviction, 2_000);
    let mut acked = Vec::new();
    let mut refused = 0;
    for i in 0..100 {
        let key = format!("key:{i}");
        match set(&mut t, conn, &key) {
            Reply::Simple(ok) if ok == "OK" => acked.push(key),
            Reply::Error(e) if e == ERR_OOM => refused += 1,
            other => panic!("SET: {other:?}"),
        }
    }
    assert!(!acked.is_empty() && refused > 0, "{} acked", acked.len());
    assert_eq!(
        dbsize(&mut t, conn),
        acked.len() as i64,
        "nothing acked is lost"
    );
    // Reads and deletes still work; so do writes that only shrink.
    assert_eq!(t.cmd(conn, &["GET", &acked[0]]), bulk(&"v".repeat(40)));
    assert_eq!(t.cmd(conn, &["EXPIRE", &acked[0], "100"]), int(1));
    assert_eq!(t.cmd(conn, &["DEL", &acked[0]]), int(1));
    assert_eq!(t.cmd(conn, &["LPUSH", "list", "x"]), err(ERR_OOM));
    // Once the allocator reports the memory back, writes go through again.
    report(&mut t, BASE_BYTES);
    assert_eq!(set(&mut t, conn, "again"), ok());
    assert_eq!(info_field(&mut t, conn, "stats", "evicted_keys"), "0");
    replayed(&t);
}

#[test]
fn a_transaction_that_would_grow_a_full_node_is_refused_whole() {
    let (mut t, conn) = limited(Policy::NoEviction, 0);
    set(&mut t, conn, "fill");
    assert_eq!(t.cmd(conn, &["MULTI"]), ok());
    assert_eq!(t.cmd(conn, &["SET", "a", "1"]), err(ERR_OOM));
    assert_eq!(t.cmd(conn, &["DEL", "fill"]), simple("QUEUED"));
    assert_eq!(
        t.cmd(conn, &["EXEC"]),
        err("EXECABORT Transaction discarded because of previous errors.")
    );
    // A transaction that only deletes runs on a full node.
    assert_eq!(t.cmd(conn, &["MULTI"]), ok());
    assert_eq!(t.cmd(conn, &["DEL", "fill"]), simple("QUEUED"));
    assert_eq!(t.cmd(conn, &["EXEC"]), array(vec![int(1)]));
}

#[test]
fn allkeys_lru_evicts_the_keys_used_least_recently() {
    let (mut t, conn) = limited(Policy::AllKeysLru, 3_000);
    for i in 0..20 {
        assert_eq!(set(&mut t, conn, &format!("old:{i}")), ok());
    }
    t.advance_ms(5_000);
    let hot = ["old:3", "old:7", "old:11"];
    for key in hot {
        assert_eq!(t.cmd(conn, &["GET", key]), bulk(&"v".repeat(40)));
    }
    t.advance_ms(5_000);
    for i in 0..30 {
        assert_eq!(set(&mut t, conn, &format!("new:{i}")), ok(), "never -OOM");
    }
    let evicted: u64 = info_field(&mut t, conn, "stats", "evicted_keys")
        .parse()
        .unwrap();
    // Fewer than the keys left unused: those are the ones to go.
    assert!(evicted > 0 && evicted < 17, "{evicted}");
    for key in hot {
        assert_eq!(t.cmd(conn, &["EXISTS", key]), int(1), "{key} was just used");
    }
    assert_eq!(t.cmd(conn, &["EXISTS", "new:29"]), int(1));
    let used: u64 = info_field(&mut t, conn, "memory", "used_memory")
        .parse()
        .unwrap();
    assert!(used <= BASE_BYTES + 3_000, "{used}");
    replayed(&t);
}

#[test]
fn allkeys_lfu_keeps_the_keys_used_most_often() {
    let (mut t, conn) = limited(Policy::AllKeysLfu, 3_000);
    for i in 0..20 {
        set(&mut t, conn, &format!("key:{i}"));
    }
    for _ in 0..50 {
        t.cmd(conn, &["GET", "key:5"]);
    }
    let Reply::Integer(freq) = t.cmd(conn, &["OBJECT", "FREQ", "key:5"]) else {
        panic!("OBJECT FREQ is an integer under LFU");
    };
    assert!(freq > 5, "{freq}");
    for i in 0..60 {
        assert_eq!(set(&mut t, conn, &format!("more:{i}")), ok());
    }
    assert_eq!(t.cmd(conn, &["EXISTS", "key:5"]), int(1));
    assert!(matches!(
        t.cmd(conn, &["OBJECT", "IDLETIME", "key:5"]),
        Reply::Error(e) if e.starts_with("ERR An LFU maxmemory policy is selected")
    ));
    replayed(&t);
}

#[test]
fn volatile_ttl_evicts_the_soonest_to_expire_and_only_keys_with_an_expiry() {
    let (mut t, conn) = limited(Policy::VolatileTtl, 2_500);
    for i in 0..10 {
        assert_eq!(set(&mut t, conn, &format!("kept:{i}")), ok());
    }
    for i in 0..10 {
        let ttl = (100 + i * 100).to_string();
        let key = format!("ttl:{i}");
        assert_eq!(t.cmd(conn, &["SET", &key, "v", "EX", &ttl]), ok());
    }
    let mut refused = false;
    for i in 0..40 {
        match set(&mut t, conn, &format!("more:{i}")) {
            Reply::Error(e) if e == ERR_OOM => refused = true,
            reply => assert_eq!(reply, ok()),
        }
    }
    for i in 0..10 {
        let key = format!("kept:{i}");
        assert_eq!(
            t.cmd(conn, &["EXISTS", &key]),
            int(1),
            "{key} has no expiry"
        );
    }
    assert_eq!(
        t.cmd(conn, &["EXISTS", "ttl:0"]),
        int(0),
        "the soonest goes first"
    );
    assert!(refused, "with no key left to evict, writes get -OOM");
    replayed(&t);
}

#[test]
fn random_policies_evict_until_within_the_limit() {
    for policy in [
        Policy::AllKeysRandom,
        Policy::VolatileRandom,
        Policy::VolatileLru,
    ] {
        let (mut t, conn) = limited(policy, 2_000);
        for i in 0..60 {
            let key = format!("key:{i}");
            let reply = t.cmd(conn, &["SET", &key, &"v".repeat(40), "EX", "1000"]);
            assert_eq!(reply, ok(), "{policy:?}");
        }
        assert!(dbsize(&mut t, conn) < 60, "{policy:?} evicted");
        replayed(&t);
    }
}

#[test]
fn config_get_and_set_use_redis_names_and_errors() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let get = |t: &mut TestNode, name: &str| t.cmd(conn, &["CONFIG", "GET", name]);
    assert_eq!(get(&mut t, "maxmemory"), bulks(&["maxmemory", "0"]));
    assert_eq!(
        get(&mut t, "maxmemory-policy"),
        bulks(&["maxmemory-policy", "noeviction"])
    );
    let set = [
        "CONFIG",
        "SET",
        "maxmemory",
        "100mb",
        "maxmemory-policy",
        "allkeys-lru",
    ];
    assert_eq!(t.cmd(conn, &set), ok());
    assert_eq!(get(&mut t, "maxmemory"), bulks(&["maxmemory", "104857600"]));
    assert_eq!(
        get(&mut t, "maxmemory*"),
        bulks(&[
            "maxmemory",
            "104857600",
            "maxmemory-policy",
            "allkeys-lru",
            "maxmemory-samples",
            "5"
        ])
    );
    let Reply::Error(e) = t.cmd(conn, &["CONFIG", "SET", "maxmemory-policy", "lru"]) else {
        panic!("an unknown policy is refused");
    };
    assert!(e.starts_with("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: noeviction, allkeys-lru"), "{e}");
    let reply = t.cmd(
        conn,
        &["CONFIG", "SET", "maxmemory-samples", "0", "maxmemory", "1"],
    );
    assert_eq!(reply, err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive"));
    assert_eq!(
        get(&mut t, "maxmemory"),
        bulks(&["maxmemory", "104857600"]),
        "all or nothing"
    );
    for (field, want) in [
        ("maxmemory_human", "100.00M"),
        ("maxmemory_policy", "allkeys-lru"),
    ] {
        assert_eq!(info_field(&mut t, conn, "memory", field), want);
    }
}

#[test]
fn info_and_memory_report_what_the_node_uses() {
    let mut t = TestNode::new();
    report(&mut t, 1 << 20);
    let conn = t.connect();
    let wanted = [
        ("used_memory", "1048576"),
        ("used_memory_human", "1.00M"),
        ("used_memory_rss", "1153433"),
        ("mem_fragmentation_ratio", "1.10"),
    ];
    for (field, want) in wanted {
        assert_eq!(info_field(&mut t, conn, "memory", field), want);
    }
    for field in ["used_memory_peak", "used_memory_dataset", "maxmemory"] {
        info_field(&mut t, conn, "memory", field);
    }
    t.cmd(conn, &["SET", "k", &"v".repeat(100)]);
    let Reply::Integer(usage) = t.cmd(conn, &["MEMORY", "USAGE", "k"]) else {
        panic!("MEMORY USAGE of a key is an integer");
    };
    assert!((100..200).contains(&usage), "{usage}");
    assert_eq!(t.cmd(conn, &["MEMORY", "USAGE", "nokey"]), nil());
    assert_eq!(
        t.cmd(conn, &["MEMORY", "USAGE", "k", "SAMPLES", "0"]),
        int(usage)
    );
    assert_eq!(
        t.cmd(conn, &["MEMORY", "USAGE", "k", "SAMPLES"]),
        err("ERR syntax error")
    );
    let Reply::Array(stats) = t.cmd(conn, &["MEMORY", "STATS"]) else {
        panic!("MEMORY STATS is a flat map in RESP2");
    };
    assert!(stats.contains(&bulk("keys.count")) && stats.contains(&bulk("dataset.bytes")));
    assert_eq!(
        t.cmd(conn, &["MEMORY", "NOPE"]).clone(),
        err("ERR unknown subcommand 'NOPE'. Try MEMORY HELP.")
    );
}

#[test]
fn object_idletime_counts_seconds_since_the_key_was_used() {
    let (mut t, conn) = limited(Policy::AllKeysLru, 1 << 20);
    set(&mut t, conn, "k");
    t.advance_ms(7_000);
    assert_eq!(t.cmd(conn, &["OBJECT", "IDLETIME", "k"]), int(7));
    t.cmd(conn, &["GET", "k"]);
    assert_eq!(t.cmd(conn, &["OBJECT", "IDLETIME", "k"]), int(0));
}
