//! Transactions in a cluster: a replicated write invalidates a replica's WATCH, a
//! replica applies a transaction whole, and majority mode answers EXEC once the whole
//! transaction is committed.

mod cluster_harness;

use bucket_core::resp::Reply;
use bucket_core::WriteQuorum;
use cluster_harness::{bulk, ok, Cluster};

fn queued() -> Reply {
    Reply::Simple("QUEUED".to_string())
}

/// A client WATCHes a key at a replica, the master writes it, and the client runs a
/// transaction there: the EXEC's reply.
fn exec_after_a_replicated_write(
    planted: Option<bucket_core::config::PlantedBug>,
) -> Option<Reply> {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    for i in 0..3 {
        cluster.configs[i].planted_bug = planted;
        cluster.crash(i);
        cluster.start(i);
    }
    let master = cluster.elect();
    cluster.advance(300);
    let replica = (0..3).find(|&i| i != master).unwrap();
    let conn = cluster.connect(replica);
    assert_eq!(cluster.send(replica, conn, &["WATCH", "k"]), Some(ok()));
    assert_eq!(cluster.command(master, &["SET", "k", "v"]), ok());
    cluster.advance(100);
    assert_eq!(cluster.send(replica, conn, &["MULTI"]), Some(ok()));
    assert_eq!(cluster.send(replica, conn, &["GET", "k"]), Some(queued()));
    cluster.send(replica, conn, &["EXEC"])
}

#[test]
fn a_replicated_write_invalidates_a_watch_at_a_replica() {
    assert_eq!(exec_after_a_replicated_write(None), Some(Reply::NilArray));
}

#[test]
fn planted_watch_misses_replicated_write_is_caught() {
    // The scenario above is the checker: with the planted bug the EXEC runs.
    let planted = Some(bucket_core::config::PlantedBug::WatchMissesReplicatedWrite);
    let reply = exec_after_a_replicated_write(planted);
    assert_eq!(reply, Some(Reply::Array(vec![bulk("v")])));
}

#[test]
fn a_write_queued_at_a_replica_is_redirected_and_aborts_the_exec() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let replica = (0..3).find(|&i| i != master).unwrap();
    let conn = cluster.connect(replica);
    assert_eq!(cluster.send(replica, conn, &["MULTI"]), Some(ok()));
    let moved = cluster.send(replica, conn, &["SET", "k", "v"]);
    assert!(matches!(moved, Some(Reply::Error(e)) if e.starts_with("MOVED")));
    let Some(Reply::Error(abort)) = cluster.send(replica, conn, &["EXEC"]) else {
        panic!("EXEC fails");
    };
    assert!(abort.starts_with("EXECABORT"), "{abort}");
}

#[test]
fn majority_mode_answers_exec_once_the_whole_transaction_is_committed() {
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    cluster.advance(300);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["MULTI"]), Some(ok()));
    assert_eq!(
        cluster.send(master, conn, &["SET", "a", "1"]),
        Some(queued())
    );
    assert_eq!(cluster.send(master, conn, &["INCR", "a"]), Some(queued()));
    assert_eq!(
        cluster.send(master, conn, &["SET", "b", "2"]),
        Some(queued())
    );
    assert_eq!(
        cluster.send(master, conn, &["EXEC"]),
        None,
        "held for the commit"
    );
    cluster.deliver();
    let reply = cluster.reply(master, conn);
    assert_eq!(
        reply,
        Some(Reply::Array(vec![ok(), Reply::Integer(2), ok()]))
    );
    cluster.advance(300);
    for i in 0..3 {
        let conn = cluster.connect(i);
        assert_eq!(cluster.send(i, conn, &["READONLY"]), Some(ok()));
        assert_eq!(
            cluster.send(i, conn, &["GET", "a"]),
            Some(bulk("2")),
            "node {i}"
        );
    }
    cluster.assert_converged();
}
