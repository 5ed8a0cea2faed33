//! Blocking pops in a cluster: redirected at a replica, and answered `-UNBLOCKED` by a
//! master that steps down (the pop would never be served there).

mod cluster_harness;

use bucket_core::resp::Reply;
use bucket_core::WriteQuorum;
use cluster_harness::Cluster;

#[test]
fn a_blocking_pop_at_a_replica_is_redirected() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let replica = (0..3).find(|&i| i != master).unwrap();
    let conn = cluster.connect(replica);
    let reply = cluster.send(replica, conn, &["BLPOP", "q", "0"]);
    assert!(matches!(reply, Some(Reply::Error(e)) if e.starts_with("MOVED")));
}

#[test]
fn a_master_that_steps_down_unblocks_its_parked_clients() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["BLPOP", "q", "0"]), None);
    cluster.isolate(master);
    cluster.advance(2_000);
    let Some(Reply::Error(error)) = cluster.reply(master, conn) else {
        panic!("the parked client is answered");
    };
    assert!(error.starts_with("UNBLOCKED"), "{error}");
}
