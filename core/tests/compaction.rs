//! AOF compaction scenarios: a base plus the tail, on real cores wired by hand. Each
//! test says what should happen, and checks it on the nodes and their disks.

mod cluster_harness;

use bucket_core::resp::Reply;
use bucket_core::WriteQuorum;
use cluster_harness::{ok, Cluster};

fn info_field(cluster: &mut Cluster, node: usize, field: &str) -> String {
    cluster.info_field(node, field)
}

fn write_keys(cluster: &mut Cluster, master: usize, prefix: &str, count: usize) {
    for i in 0..count {
        let key = format!("{prefix}{i}");
        assert_eq!(cluster.command(master, &["SET", &key, &key]), ok());
    }
}

/// A cluster whose nodes walk a rewrite's snapshot `keys_per_step` keys at a time.
fn cluster_with_slow_rewrites(count: usize, keys_per_step: usize) -> Cluster {
    let mut cluster = Cluster::new(count, WriteQuorum::Async);
    for i in 0..count {
        cluster.configs[i].limits.rewrite_keys_per_step = keys_per_step;
        cluster.crash(i);
        cluster.start(i);
    }
    cluster
}

fn rewrite_and_wait(cluster: &mut Cluster, node: usize) {
    let before: u64 = info_field(cluster, node, "aof_rewrites").parse().unwrap();
    assert_eq!(
        cluster.command(node, &["BGREWRITEAOF"]),
        Reply::Simple("Background append only file rewriting started".into())
    );
    for _ in 0..200 {
        if info_field(cluster, node, "aof_rewrites")
            .parse::<u64>()
            .unwrap()
            > before
        {
            return;
        }
        cluster.advance(5);
    }
    panic!("node {node}'s rewrite never ended");
}

#[test]
fn a_node_restarts_from_its_base_plus_tail() {
    let mut cluster = Cluster::new(1, WriteQuorum::Async);
    let node = cluster.elect();
    for round in 0..5 {
        write_keys(&mut cluster, node, &format!("r{round}-"), 20);
        write_keys(&mut cluster, node, "same", 20);
    }
    rewrite_and_wait(&mut cluster, node);
    write_keys(&mut cluster, node, "after", 10);
    assert_eq!(cluster.command(node, &["DEL", "same3"]), Reply::Integer(1));
    let digest = cluster.digest(node);
    let end = cluster.node(node).aof_end();
    cluster.crash(node);
    cluster.start(node);
    assert_eq!(
        cluster.digest(node),
        digest,
        "base plus tail replay the same keyspace"
    );
    assert_eq!(
        cluster.node(node).aof_end(),
        end,
        "offsets are unchanged by a rewrite"
    );
    let base = cluster.disks[node].base().expect("a base").clone();
    assert!(base.offset > 0 && base.offset < end.0);
}

#[test]
fn writes_during_a_rewrite_land_in_the_tail_and_the_base_keeps_the_cut() {
    // One key per step: the writes below run while the snapshot is half done.
    let mut cluster = cluster_with_slow_rewrites(1, 1);
    let node = cluster.elect();
    write_keys(&mut cluster, node, "k", 30);
    assert_eq!(
        cluster.command(node, &["BGREWRITEAOF"]),
        Reply::Simple("Background append only file rewriting started".into())
    );
    assert_eq!(
        info_field(&mut cluster, node, "aof_rewrite_in_progress"),
        "1"
    );
    for i in (0..30).step_by(3) {
        let key = format!("k{i}");
        assert_eq!(cluster.command(node, &["SET", &key, "changed"]), ok());
        let gone = format!("k{}", i + 1);
        assert_eq!(cluster.command(node, &["DEL", &gone]), Reply::Integer(1));
    }
    write_keys(&mut cluster, node, "new", 5);
    for _ in 0..100 {
        cluster.advance(5);
    }
    assert_eq!(
        info_field(&mut cluster, node, "aof_rewrite_in_progress"),
        "0"
    );
    assert_eq!(info_field(&mut cluster, node, "aof_rewrites"), "1");
    let digest = cluster.digest(node);
    cluster.crash(node);
    cluster.start(node);
    assert_eq!(cluster.digest(node), digest);
}

#[test]
fn a_wiped_replica_resyncs_from_the_master_base() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    for config in &mut cluster.configs {
        config.limits.backlog_bytes_max = 64;
    }
    let master = cluster.elect();
    for _ in 0..10 {
        write_keys(&mut cluster, master, "k", 10);
    }
    rewrite_and_wait(&mut cluster, master);
    cluster.advance(500);
    let wiped = (0..3).find(|&i| i != master).unwrap();
    cluster.crash(wiped);
    cluster.disks[wiped] = Default::default();
    cluster.start(wiped);
    cluster.advance(300);
    write_keys(&mut cluster, master, "during", 5);
    cluster.advance(1500);
    assert_eq!(
        info_field(&mut cluster, wiped, "master_last_resync"),
        "full-from-base"
    );
    cluster.assert_converged();
    let base = cluster.disks[wiped]
        .base()
        .expect("the master's base")
        .clone();
    let master_base = cluster.disks[master].base().unwrap().clone();
    assert_eq!(
        base.bytes, master_base.bytes,
        "the replica holds the master's base"
    );
    // It restarts from it, too.
    let digest = cluster.digest(wiped);
    cluster.crash(wiped);
    cluster.start(wiped);
    assert_eq!(cluster.digest(wiped), digest);
}

#[test]
fn a_full_resync_of_a_long_history_waits_for_a_fresh_base() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    for config in &mut cluster.configs {
        config.limits.backlog_bytes_max = 64;
    }
    let master = cluster.elect();
    // Over a MiB of history on few keys, and no base yet.
    let value = "v".repeat(4096);
    for i in 0..300 {
        let key = format!("k{}", i % 7);
        assert_eq!(cluster.command(master, &["SET", &key, &value]), ok());
    }
    cluster.advance(500);
    let wiped = (0..3).find(|&i| i != master).unwrap();
    cluster.crash(wiped);
    cluster.disks[wiped] = Default::default();
    cluster.start(wiped);
    cluster.advance(3000);
    assert_eq!(info_field(&mut cluster, master, "aof_rewrites"), "1");
    assert_eq!(
        info_field(&mut cluster, wiped, "master_last_resync"),
        "full-from-base"
    );
    cluster.assert_converged();
    let received = cluster.disks[wiped].base().unwrap().bytes.len() as u64;
    let history = cluster.node(master).aof_end().0;
    assert!(
        received * 10 < history,
        "{received} base bytes for {history} of history"
    );
}

#[test]
fn a_flushall_during_a_rewrite_starts_it_again() {
    let mut cluster = cluster_with_slow_rewrites(1, 1);
    let node = cluster.elect();
    write_keys(&mut cluster, node, "k", 20);
    cluster.command(node, &["BGREWRITEAOF"]);
    assert_eq!(cluster.command(node, &["FLUSHALL"]), ok());
    write_keys(&mut cluster, node, "fresh", 3);
    for _ in 0..100 {
        cluster.advance(5);
    }
    assert_eq!(info_field(&mut cluster, node, "aof_rewrites"), "1");
    let digest = cluster.digest(node);
    cluster.crash(node);
    cluster.start(node);
    assert_eq!(cluster.digest(node), digest);
    assert_eq!(cluster.command(node, &["DBSIZE"]), Reply::Integer(3));
}
