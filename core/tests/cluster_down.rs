//! What a node without a reachable master tells clients: `-CLUSTERDOWN`, for reads once
//! no master is known (unless `clusterAllowReadsWhenDown`), and for writes as soon as
//! the master has gone quiet, instead of a `-MOVED` to a dead node.

mod cluster_harness;

use bucket_core::resp::Reply;
use bucket_core::WriteQuorum;
use cluster_harness::{bulk, ok, Cluster};

/// A 3-node cluster holding `k`, and the master and a replica.
fn cluster_with_a_key() -> (Cluster, usize, usize) {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    assert_eq!(cluster.command(master, &["SET", "k", "v"]), ok());
    cluster.advance(500);
    cluster.assert_converged();
    let replica = (0..3).find(|&i| i != master).expect("a replica");
    (cluster, master, replica)
}

fn is_clusterdown(reply: &Reply) -> bool {
    matches!(reply, Reply::Error(e) if e.starts_with("CLUSTERDOWN"))
}

#[test]
fn a_node_left_alone_refuses_reads_with_clusterdown() {
    let (mut cluster, master, survivor) = cluster_with_a_key();
    let other = (0..3).find(|&i| i != master && i != survivor).unwrap();
    cluster.crash(master);
    cluster.crash(other);
    cluster.advance(3_000);
    assert!(cluster.node(survivor).role() != bucket_core::Role::Master);
    let reply = cluster.command(survivor, &["GET", "k"]);
    assert!(is_clusterdown(&reply), "{reply:?}");
    // Server commands still answer.
    assert_eq!(
        cluster.command(survivor, &["PING"]),
        Reply::Simple("PONG".into())
    );
}

#[test]
fn cluster_allow_reads_when_down_serves_the_survivors_data() {
    let (mut cluster, master, survivor) = cluster_with_a_key();
    let other = (0..3).find(|&i| i != master && i != survivor).unwrap();
    cluster.configs[survivor].cluster_allow_reads_when_down = true;
    cluster.crash(survivor);
    cluster.start(survivor);
    cluster.crash(master);
    cluster.crash(other);
    cluster.advance(3_000);
    assert_eq!(cluster.command(survivor, &["GET", "k"]), bulk("v"));
    let reply = cluster.command(survivor, &["SET", "k", "w"]);
    assert!(
        is_clusterdown(&reply),
        "writes still need a master: {reply:?}"
    );
}

#[test]
fn a_write_at_a_replica_whose_master_went_quiet_gets_clusterdown_not_moved() {
    let (mut cluster, master, replica) = cluster_with_a_key();
    let reply = cluster.command(replica, &["SET", "k", "w"]);
    assert!(
        matches!(&reply, Reply::Error(e) if e.starts_with("MOVED ")),
        "{reply:?}"
    );
    cluster.crash(master);
    // Past two heartbeats, within the election timeout: the replica still names the
    // old master, but will not send clients to it.
    cluster.advance(250);
    assert!(cluster.node(replica).role() == bucket_core::Role::Replica);
    let reply = cluster.command(replica, &["SET", "k", "w"]);
    assert!(is_clusterdown(&reply), "{reply:?}");
    // Reads go on from the replica's own data while it still follows a master.
    assert_eq!(cluster.command(replica, &["GET", "k"]), bulk("v"));
}

#[test]
fn a_deposed_master_logs_the_term_it_led() {
    let (mut cluster, master, replica) = cluster_with_a_key();
    let led = cluster.node(master).term();
    // A heartbeat of a later term: another node was elected meanwhile.
    let vote = bucket_core::peer::encode(&bucket_core::peer::Message::Heartbeat {
        term: bucket_core::Term(led.0 + 5),
        master_id: bucket_core::MasterId(7),
        commit: bucket_core::Offset(0),
        sent_at_ms: 0,
        session: 0,
    });
    let peer = bucket_core::NodeId(replica as u32);
    cluster.input(
        master,
        bucket_core::Input::PeerMessage { peer, frame: &vote },
    );
    let line = format!("n{master}: stepped down as master of term {}", led.0);
    assert!(
        cluster.logs.iter().any(|l| l.ends_with(&line)),
        "{:#?}",
        cluster.logs
    );
}

#[test]
fn a_new_cluster_logs_no_full_resync() {
    let (cluster, _, _) = cluster_with_a_key();
    let shown: Vec<&String> = cluster
        .logs
        .iter()
        .filter(|l| !l.contains("(debug)") && l.contains("full"))
        .collect();
    assert!(shown.is_empty(), "{shown:#?}");
}

/// A node that restarts may have counted toward the master's lease in its last life:
/// it grants no vote until an election timeout has passed since it started.
#[test]
fn a_restarted_node_waits_an_election_timeout_before_it_votes() {
    let (mut cluster, master, replica) = cluster_with_a_key();
    let term = cluster.node(master).term();
    cluster.crash(replica);
    cluster.start(replica);
    let candidate = (0..3).find(|&i| i != master && i != replica).unwrap();
    let ask = |cluster: &mut Cluster, term: u64| {
        let request = bucket_core::peer::encode(&bucket_core::peer::Message::RequestVote {
            term: bucket_core::Term(term),
            pre_vote: false,
            last_term: bucket_core::Term(term),
            end: bucket_core::Offset(1 << 20),
        });
        cluster.take_frames(replica, candidate);
        let peer = bucket_core::NodeId(candidate as u32);
        cluster.input(
            replica,
            bucket_core::Input::PeerMessage {
                peer,
                frame: &request,
            },
        );
        cluster.take_frames(replica, candidate).iter().any(|frame| {
            matches!(
                bucket_core::peer::decode(frame),
                Ok(bucket_core::peer::Message::Vote { granted: true, .. })
            )
        })
    };
    assert!(
        !ask(&mut cluster, term.0 + 1),
        "a vote right after the restart"
    );
    cluster.crash(master);
    cluster.advance_holding_frames(400);
    assert!(
        ask(&mut cluster, term.0 + 2),
        "a vote once the timeout has passed"
    );
}
