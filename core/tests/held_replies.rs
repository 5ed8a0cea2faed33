//! Majority mode's held replies, on a hand-wired three-node cluster: a pipeline runs at
//! once and its replies wait, in order, for the commit. Each test names the case, says
//! what should happen, and compares the master's whole output list.

mod cluster_harness;

use bucket_core::{ConnectionId, Role};
use cluster_harness::{round_trip, watched_majority_cluster, Cluster};

fn majority_cluster() -> (Cluster, usize, [usize; 2]) {
    watched_majority_cluster(0)
}

fn reply(conn: ConnectionId, replies: &str) -> String {
    format!("reply c{} [{replies}]", conn.0)
}

#[test]
fn pipelined_writes_are_appended_at_once_and_acked_together() {
    // Three SETs in one packet all run in that step: one append, one feed to each
    // replica. Their replies wait for a majority; the first replica's ack releases all
    // three, in one reply, in order.
    let (mut cluster, master, [first, second]) = majority_cluster();
    let conn = cluster.connect(master);
    let end = cluster.node(master).aof_end().0;
    let sets: [&[&str]; 3] = [&["SET", "a", "1"], &["SET", "b", "2"], &["SET", "c", "3"]];
    cluster.send_pipeline(master, conn, &sets);
    let records = "[set a 1, set b 2, set c 3]";
    assert_eq!(
        cluster.take_outputs(master),
        vec![
            format!("send n{first} data@{end} {records}"),
            format!("send n{second} data@{end} {records}"),
            format!("append@{end} {records}"),
            "sync".to_string(),
        ]
    );
    round_trip(&mut cluster, master, first);
    assert_eq!(
        cluster.take_outputs(master),
        vec![reply(conn, "+OK, +OK, +OK")]
    );
    round_trip(&mut cluster, master, second);
    assert_eq!(cluster.take_outputs(master), Vec::<String>::new());
    assert!(!cluster.node(master).is_blocked(conn));
}

#[test]
fn a_read_waits_for_the_commit_of_the_writes_it_saw() {
    // ReadIndex: a GET that saw an uncommitted SET is answered only once the SET
    // commits, though the master's lease is valid: on the SET's connection (behind its
    // reply) and on another. A GET that saw only committed data is answered at once.
    let (mut cluster, master, [first, second]) = majority_cluster();
    let writer = cluster.connect(master);
    let reader = cluster.connect(master);
    let end = cluster.node(master).aof_end().0;
    cluster.send_pipeline(master, writer, &[&["SET", "k", "v"], &["GET", "k"]]);
    cluster.send_pipeline(master, reader, &[&["GET", "k"]]);
    assert_eq!(
        cluster.take_outputs(master),
        vec![
            format!("send n{first} data@{end} [set k v]"),
            format!("send n{second} data@{end} [set k v]"),
            format!("append@{end} [set k v]"),
            "sync".to_string(),
        ]
    );
    assert!(cluster.node(master).is_blocked(reader), "the read is held");
    round_trip(&mut cluster, master, first);
    assert_eq!(
        cluster.take_outputs(master),
        vec![reply(writer, "+OK, $v"), reply(reader, "$v")]
    );
    cluster.send_pipeline(master, reader, &[&["GET", "k"]]);
    assert_eq!(cluster.take_outputs(master), vec![reply(reader, "$v")]);
}

#[test]
fn a_wait_after_pipelined_writes_answers_behind_their_replies() {
    // The SETs commit with the first replica's ack; WAIT 2 then still waits for the
    // second replica, and its count follows the SETs' replies.
    let (mut cluster, master, [first, second]) = majority_cluster();
    let conn = cluster.connect(master);
    let commands: [&[&str]; 3] = [&["SET", "a", "1"], &["SET", "b", "2"], &["WAIT", "2", "0"]];
    cluster.send_pipeline(master, conn, &commands);
    cluster.take_outputs(master);
    round_trip(&mut cluster, master, first);
    assert_eq!(cluster.take_outputs(master), vec![reply(conn, "+OK, +OK")]);
    assert!(cluster.node(master).is_blocked(conn), "WAIT blocks");
    round_trip(&mut cluster, master, second);
    assert_eq!(cluster.take_outputs(master), vec![reply(conn, ":2")]);
    assert!(!cluster.node(master).is_blocked(conn));
}

#[test]
fn a_master_that_steps_down_answers_its_held_replies_in_order() {
    // Cut off, the master runs the pipeline, but nothing can commit. When CheckQuorum
    // deposes it, each held write is answered UNKNOWN and each held read CLUSTERDOWN,
    // in order, and the PING between them keeps its place.
    let (mut cluster, master, _) = majority_cluster();
    cluster.isolate(master);
    cluster.take_outputs(master);
    let conn = cluster.connect(master);
    let end = cluster.node(master).aof_end().0;
    let commands: [&[&str]; 4] = [
        &["SET", "a", "1"],
        &["GET", "a"],
        &["PING"],
        &["SET", "b", "2"],
    ];
    cluster.send_pipeline(master, conn, &commands);
    assert_eq!(
        cluster.take_outputs(master),
        vec![
            format!("append@{end} [set a 1, set b 2]"),
            "sync".to_string()
        ]
    );
    cluster.advance(2000);
    assert_ne!(cluster.node(master).role(), Role::Master);
    let replies: Vec<String> = cluster
        .take_outputs(master)
        .into_iter()
        .filter(|line| line.starts_with("reply"))
        .collect();
    assert_eq!(
        replies,
        vec![reply(conn, "-UNKNOWN, -CLUSTERDOWN, +PONG, -UNKNOWN")]
    );
    assert!(!cluster.node(master).is_blocked(conn));
}
