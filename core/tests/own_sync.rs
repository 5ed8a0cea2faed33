//! Majority mode: a master defers the fsync of its own appends while its live replicas
//! can commit them alone, and makes it once they are slow or too few
//! (`core/src/node/replication/own_sync.rs`). Each test compares the master's whole
//! output list.

mod cluster_harness;

use bucket_core::{ConnectionId, Instant};
use cluster_harness::{round_trip, watched_majority_cluster, Cluster};

const DELAY_MS: u64 = 5;

fn deferring_cluster() -> (Cluster, usize, [usize; 2]) {
    watched_majority_cluster(DELAY_MS)
}

fn set(cluster: &mut Cluster, master: usize, key: &str) -> (ConnectionId, u64) {
    let conn = cluster.connect(master);
    let end = cluster.node(master).aof_end().0;
    assert_eq!(cluster.send(master, conn, &["SET", key, "v"]), None);
    (conn, end)
}

/// The master's next wake-up is the deferred fsync, due `DELAY_MS` from now.
fn assert_fsync_due_in_delay(cluster: &Cluster, master: usize) {
    let due = Instant(cluster.now_ms + DELAY_MS);
    assert_eq!(cluster.node(master).deadline(), due);
}

/// No deferred fsync is pending: the next wake-up is further away.
fn assert_no_fsync_due(cluster: &Cluster, master: usize) {
    let deadline = cluster.node(master).deadline().0;
    assert!(deadline > cluster.now_ms + DELAY_MS, "{deadline}");
}

fn reply_ok(conn: ConnectionId) -> String {
    format!("reply c{} [+OK]", conn.0)
}

#[test]
fn with_both_replicas_live_the_master_skips_its_fsync_and_needs_both_acks() {
    // Two live replicas are a majority without the master: no fsync is asked for, and
    // one replica's ack is not enough (the master's copy is not durable).
    let (mut cluster, master, [first, second]) = deferring_cluster();
    let (conn, end) = set(&mut cluster, master, "k");
    assert_eq!(
        cluster.take_outputs(master),
        vec![
            format!("send n{first} data@{end} [set k v]"),
            format!("send n{second} data@{end} [set k v]"),
            format!("append@{end} [set k v]"),
        ]
    );
    round_trip(&mut cluster, master, first);
    assert_eq!(cluster.take_outputs(master), Vec::<String>::new());
    assert_fsync_due_in_delay(&cluster, master);
    round_trip(&mut cluster, master, second);
    assert_eq!(cluster.take_outputs(master), vec![reply_ok(conn)]);
    // Committed without it: the deferred fsync is dropped, not made later.
    assert_no_fsync_due(&cluster, master);
    cluster.advance(DELAY_MS);
    let late: Vec<String> = cluster.take_outputs(master);
    assert!(!late.contains(&"sync".to_string()), "{late:?}");
}

#[test]
fn records_still_uncommitted_after_the_delay_are_fsynced_by_the_master() {
    // One replica is slow: after the delay the master's own fsync is the second vote.
    let (mut cluster, master, [first, _second]) = deferring_cluster();
    let (conn, _) = set(&mut cluster, master, "k");
    round_trip(&mut cluster, master, first);
    cluster.take_outputs(master);
    cluster.advance_holding_frames(DELAY_MS - 1);
    assert_eq!(cluster.take_outputs(master), Vec::<String>::new());
    cluster.advance_holding_frames(1);
    assert_eq!(
        cluster.take_outputs(master),
        vec!["sync".to_string(), reply_ok(conn)]
    );
}

#[test]
fn a_master_without_a_live_majority_of_replicas_fsyncs_at_once() {
    // With one replica gone, the master's vote is needed for every commit.
    let (mut cluster, master, [first, second]) = deferring_cluster();
    cluster.crash(second);
    cluster.take_outputs(master);
    let (conn, end) = set(&mut cluster, master, "k");
    assert_eq!(
        cluster.take_outputs(master),
        vec![
            format!("send n{first} data@{end} [set k v]"),
            format!("append@{end} [set k v]"),
            "sync".to_string(),
        ]
    );
    round_trip(&mut cluster, master, first);
    assert_eq!(cluster.take_outputs(master), vec![reply_ok(conn)]);
}

#[test]
fn records_appended_after_the_deferral_get_their_own_once_the_first_commit() {
    // `a` defers an fsync; `b` is appended while it waits. Both replicas commit `a`
    // alone; then only one acks `b`: a new deferral covers `b`, and its fsync is made.
    let (mut cluster, master, [first, second]) = deferring_cluster();
    let (_, _) = set(&mut cluster, master, "a");
    cluster.deliver_link(master, first);
    cluster.deliver_link(master, second);
    let (conn_b, _) = set(&mut cluster, master, "b");
    // The replicas' acks of `a` alone (they have not been fed `b` yet).
    cluster.deliver_link(first, master);
    cluster.deliver_link(second, master);
    cluster.take_outputs(master);
    assert_fsync_due_in_delay(&cluster, master);
    round_trip(&mut cluster, master, first);
    cluster.advance_holding_frames(DELAY_MS);
    assert_eq!(
        cluster.take_outputs(master),
        vec!["sync".to_string(), reply_ok(conn_b)]
    );
}
