//! Cluster scenarios: nodes of the real core wired together by hand. Each test names
//! the case, says what should happen, and drives a few calls on the cluster.

mod cluster_harness;

use bucket_core::resp::Reply;
use bucket_core::{Input, Role, Term, WriteQuorum};
use cluster_harness::{bulk, ok, Cluster};

fn info_field(cluster: &mut Cluster, node: usize, field: &str) -> String {
    cluster.info_field(node, field)
}

fn other_than(cluster: &Cluster, excluded: &[usize]) -> Vec<usize> {
    (0..cluster.size())
        .filter(|i| !excluded.contains(i))
        .collect()
}

#[test]
fn three_nodes_elect_exactly_one_master() {
    // A fresh cluster: PreVote, then one candidate wins a majority.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let term = cluster.node(master).term();
    for i in other_than(&cluster, &[master]) {
        assert_eq!(cluster.node(i).role(), Role::Replica, "node {i}");
        assert_eq!(
            cluster.node(i).term(),
            term,
            "node {i} follows the master's term"
        );
    }
}

#[test]
fn majority_vote_needs_a_majority_of_five() {
    // Two isolated nodes of five cannot elect; the other three can.
    let mut cluster = Cluster::new(5, WriteQuorum::Async);
    cluster.isolate(0);
    cluster.isolate(1);
    cluster.cut(0, 1);
    cluster.advance(3000);
    let masters = cluster.masters();
    assert_eq!(masters.len(), 1, "one master among the connected three");
    assert!(masters[0] >= 2, "the minority never elects: {masters:?}");
    assert_ne!(cluster.node(0).role(), Role::Master);
    assert_ne!(cluster.node(1).role(), Role::Master);
}

#[test]
fn no_election_while_the_master_is_healthy() {
    // PreVote and heartbeats: with the master alive, the term never moves.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let term = cluster.node(master).term();
    cluster.advance(10_000);
    assert_eq!(cluster.masters(), vec![master]);
    for i in 0..3 {
        assert_eq!(cluster.node(i).term(), term, "node {i}");
    }
}

#[test]
fn a_partitioned_replica_does_not_disrupt_the_cluster_when_it_returns() {
    // PreVote: the cut-off replica times out again and again but never raises its
    // term, so when it returns the master keeps its reign.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let term = cluster.node(master).term();
    let replica = other_than(&cluster, &[master])[0];
    cluster.isolate(replica);
    cluster.advance(5000);
    assert_eq!(cluster.node(replica).term(), term, "PreVote kept the term");
    cluster.heal();
    cluster.advance(2000);
    assert_eq!(cluster.masters(), vec![master]);
    assert_eq!(cluster.node(master).term(), term);
}

#[test]
fn writes_replicate_to_every_replica() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    assert_eq!(cluster.command(master, &["SET", "k", "v"]), ok());
    assert_eq!(cluster.command(master, &["INCR", "n"]), Reply::Integer(1));
    cluster.advance(500);
    for i in 0..3 {
        assert_eq!(
            cluster.command(i, &["GET", "k"]),
            bulk("v"),
            "node {i} serves the read"
        );
    }
    cluster.assert_converged();
}

#[test]
fn redirect_a_write_at_a_replica_gets_moved_to_the_master() {
    // The seed's REDIRECT, as Redis Cluster's -MOVED with the key's real slot.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let replica = other_than(&cluster, &[master])[0];
    let reply = cluster.command(replica, &["SET", "foo", "bar"]);
    let want = format!("MOVED 12182 10.0.0.{}:6379", master + 1);
    assert_eq!(reply, Reply::Error(want));
}

#[test]
fn clusterdown_when_no_master_is_known() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let reply = cluster.command(0, &["SET", "a", "b"]);
    let Reply::Error(message) = reply else {
        panic!("an error")
    };
    assert!(message.starts_with("CLUSTERDOWN"), "{message}");
}

#[test]
fn an_isolated_master_steps_down_and_the_rest_elect_a_new_one() {
    // CheckQuorum: the old master stops taking writes; the majority side elects.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let old = cluster.elect();
    cluster.isolate(old);
    cluster.advance(3000);
    assert_ne!(
        cluster.node(old).role(),
        Role::Master,
        "the isolated master stepped down"
    );
    let masters = cluster.masters();
    assert_eq!(masters.len(), 1);
    assert_ne!(masters[0], old);
    assert!(cluster.node(masters[0]).term() > cluster.node(old).term());
}

#[test]
fn a_master_whose_own_loop_stalled_keeps_its_reign_on_waking() {
    // CheckQuorum counts silence from the first unanswered heartbeat. A master that
    // sent nothing for a while (its loop stalled on the disk or the CPU) left its
    // replicas nothing to answer: on waking it heartbeats them again, and they answer,
    // rather than it stepping down and costing the cluster a failover.
    let (mut cluster, master, term) = settled_cluster();
    cluster.now_ms += 2_000; // Over three times the longest election timeout (600 ms).
    cluster.input(master, Input::Tick);
    assert_eq!(
        cluster.node(master).role(),
        Role::Master,
        "no step-down on waking"
    );
    cluster.deliver();
    assert_reign_kept(&mut cluster, master, term);
}

#[test]
fn a_master_keeps_its_reign_through_a_silence_shorter_than_the_window() {
    // Replies held back for less than the shortest election timeout (300 ms) cost
    // nothing: CheckQuorum waits the whole window before it counts a peer as gone.
    let (mut cluster, master, term) = settled_cluster();
    cluster.advance_holding_frames(250);
    assert_eq!(
        cluster.node(master).role(),
        Role::Master,
        "no early step-down"
    );
    assert_reign_kept(&mut cluster, master, term);
}

/// A 3-node async cluster past its first election and a few heartbeats: the master and
/// its term.
fn settled_cluster() -> (Cluster, usize, Term) {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(500);
    let term = cluster.node(master).term();
    (cluster, master, term)
}

/// Two more seconds of a healthy network change neither the master nor the term.
fn assert_reign_kept(cluster: &mut Cluster, master: usize, term: Term) {
    cluster.advance(2000);
    assert_eq!(cluster.masters(), vec![master]);
    assert_eq!(cluster.node(master).term(), term, "no election");
}

#[test]
fn current_and_last_master_id_follow_the_seed() {
    // When a new master starts, its id becomes current-master-id and the old current
    // becomes last-master-id, on the master and on its replicas.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let first = cluster.elect();
    cluster.advance(300);
    let first_id = info_field(&mut cluster, first, "current_master_id");
    cluster.crash(first);
    let second = cluster.elect();
    cluster.advance(300);
    let second_id = info_field(&mut cluster, second, "current_master_id");
    assert_ne!(first_id, second_id);
    for i in other_than(&cluster, &[first]) {
        assert_eq!(
            info_field(&mut cluster, i, "current_master_id"),
            second_id,
            "node {i}"
        );
        assert_eq!(
            info_field(&mut cluster, i, "last_master_id"),
            first_id,
            "node {i}"
        );
    }
}

/// Write `count` keys named `{prefix}{i}` at the master.
fn write_keys(cluster: &mut Cluster, master: usize, prefix: &str, count: usize) {
    for i in 0..count {
        let key = format!("{prefix}{i}");
        assert_eq!(cluster.command(master, &["SET", &key, &key]), ok());
    }
}

#[test]
fn partial_resync_after_one_failover() {
    // The old master comes back as a replica and shares the new master's history up
    // to the failover: it resumes from there instead of copying everything.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let old = cluster.elect();
    write_keys(&mut cluster, old, "a", 20);
    cluster.advance(500);
    cluster.crash(old);
    let new = cluster.elect();
    write_keys(&mut cluster, new, "b", 20);
    cluster.start(old);
    cluster.advance(1000);
    assert_eq!(info_field(&mut cluster, new, "sync_full"), "0");
    let partial: u64 = info_field(&mut cluster, new, "sync_partial_ok")
        .parse()
        .unwrap();
    assert!(partial >= 2, "both replicas resynced partially: {partial}");
    cluster.assert_converged();
    assert_eq!(cluster.command(old, &["GET", "b7"]), bulk("b7"));
}

#[test]
fn partial_resync_after_two_chained_failovers() {
    // A replica that was down across two reigns still shares the first reign: the
    // chain of reigns finds it, where the seed's two master ids alone could not.
    let mut cluster = Cluster::new(5, WriteQuorum::Async);
    let first = cluster.elect();
    write_keys(&mut cluster, first, "a", 10);
    cluster.advance(500);
    let sleeper = other_than(&cluster, &[first])[0];
    cluster.crash(sleeper);
    cluster.crash(first);
    let second = cluster.elect();
    write_keys(&mut cluster, second, "b", 10);
    cluster.start(first);
    cluster.advance(300);
    cluster.crash(second);
    let third = cluster.elect();
    write_keys(&mut cluster, third, "c", 10);
    cluster.start(sleeper);
    cluster.start(second);
    cluster.advance(2000);
    assert_eq!(cluster.masters(), vec![third]);
    assert_eq!(info_field(&mut cluster, third, "sync_full"), "0");
    cluster.assert_converged();
}

#[test]
fn a_replica_ahead_of_the_new_master_truncates_its_diverged_suffix() {
    // The old master took writes while cut off (async mode acks them); the majority
    // moved on. On return its extra records are cut and its keyspace rebuilt.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let old = cluster.elect();
    write_keys(&mut cluster, old, "kept", 5);
    cluster.advance(500);
    cluster.isolate(old);
    write_keys(&mut cluster, old, "lost", 5);
    cluster.advance(3000);
    let new = cluster.masters()[0];
    assert_ne!(new, old);
    write_keys(&mut cluster, new, "new", 5);
    cluster.heal();
    cluster.advance(2000);
    assert!(cluster
        .logs
        .iter()
        .any(|l| l.contains(&format!("n{old}: truncating"))));
    cluster.assert_converged();
    assert_eq!(cluster.command(old, &["GET", "lost0"]), Reply::Nil);
    assert_eq!(cluster.command(old, &["GET", "new0"]), bulk("new0"));
    assert_eq!(cluster.command(old, &["GET", "kept4"]), bulk("kept4"));
}

#[test]
fn full_resync_buffers_writes_that_arrive_during_it() {
    // A replica with no shared history copies the master's AOF file up to the offset
    // of its request, while later writes wait in a buffer and follow.
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    for config in &mut cluster.configs {
        config.limits.backlog_bytes_max = 64;
    }
    let master = cluster.elect();
    let wiped = other_than(&cluster, &[master])[0];
    write_keys(&mut cluster, master, "a", 10);
    let full_before: u64 = info_field(&mut cluster, master, "sync_full")
        .parse()
        .unwrap();
    cluster.advance(500);
    cluster.crash(wiped);
    cluster.disks[wiped] = Default::default();
    cluster.start(wiped);
    cluster.deliver();
    // The handshake is done and the file stream requested; write before it lands.
    cluster.advance(150);
    write_keys(&mut cluster, master, "during", 5);
    cluster.advance(1000);
    let full_after: u64 = info_field(&mut cluster, master, "sync_full")
        .parse()
        .unwrap();
    assert_eq!(full_after, full_before + 1);
    cluster.assert_converged();
}

#[test]
fn wait_counts_replicas_holding_the_write() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["SET", "k", "v"]), Some(ok()));
    assert_eq!(
        cluster.send(master, conn, &["WAIT", "2", "1000"]),
        None,
        "WAIT blocks"
    );
    cluster.advance(50);
    assert_eq!(cluster.reply(master, conn), Some(Reply::Integer(2)));
}

#[test]
fn wait_times_out_with_the_count_reached() {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    cluster.advance(300);
    let cut_off = other_than(&cluster, &[master])[0];
    cluster.cut(master, cut_off);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["SET", "k", "v"]), Some(ok()));
    assert_eq!(cluster.send(master, conn, &["WAIT", "2", "200"]), None);
    cluster.advance(100);
    assert_eq!(cluster.reply(master, conn), None, "not yet timed out");
    cluster.advance(150);
    assert_eq!(cluster.reply(master, conn), Some(Reply::Integer(1)));
}

#[test]
fn majority_mode_acks_a_write_only_after_a_quorum_holds_it() {
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    cluster.advance(300);
    let conn = cluster.connect(master);
    assert_eq!(
        cluster.send(master, conn, &["SET", "k", "v"]),
        None,
        "held for the quorum"
    );
    cluster.deliver();
    assert_eq!(cluster.reply(master, conn), Some(ok()));
}

#[test]
fn majority_mode_answers_unknown_outcome_when_the_master_loses_its_reign() {
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    cluster.advance(300);
    cluster.isolate(master);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["SET", "k", "v"]), None);
    cluster.advance(2000);
    let Some(Reply::Error(message)) = cluster.reply(master, conn) else {
        panic!("an error reply")
    };
    assert!(message.starts_with("UNKNOWN"), "{message}");
}

#[test]
fn majority_mode_reads_at_the_master_are_answered_within_its_lease() {
    // Just after the master is cut off, no other master can exist yet (followers that
    // heard it recently refuse to vote): its lease answers reads at once.
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    cluster.advance(300);
    assert_eq!(cluster.command(master, &["SET", "k", "v"]), ok());
    cluster.isolate(master);
    cluster.advance(50);
    let conn = cluster.connect(master);
    assert_eq!(cluster.send(master, conn, &["GET", "k"]), Some(bulk("v")));
}

#[test]
fn majority_mode_reads_never_come_from_a_deposed_master() {
    // Once the majority side has a new master that changed the key, the old master
    // must not answer with the old value.
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let old = cluster.elect();
    cluster.advance(300);
    assert_eq!(cluster.command(old, &["SET", "k", "old"]), ok());
    cluster.isolate(old);
    cluster.advance(3000);
    let new = cluster.masters()[0];
    assert_ne!(new, old);
    assert_eq!(cluster.command(new, &["SET", "k", "new"]), ok());
    let Reply::Error(message) = cluster.command(old, &["GET", "k"]) else {
        panic!("a redirect or an error, not a stale value")
    };
    assert!(
        message.starts_with("CLUSTERDOWN") || message.starts_with("MOVED"),
        "{message}"
    );
}

#[test]
fn majority_mode_replicas_redirect_reads_unless_readonly() {
    // As in Redis Cluster: a replica answers reads only on a READONLY connection.
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    cluster.advance(300);
    assert_eq!(cluster.command(master, &["SET", "foo", "v"]), ok());
    cluster.advance(300);
    let replica = other_than(&cluster, &[master])[0];
    let want = format!("MOVED 12182 10.0.0.{}:6379", master + 1);
    assert_eq!(
        cluster.command(replica, &["GET", "foo"]),
        Reply::Error(want)
    );
    let conn = cluster.connect(replica);
    assert_eq!(cluster.send(replica, conn, &["READONLY"]), Some(ok()));
    assert_eq!(
        cluster.send(replica, conn, &["GET", "foo"]),
        Some(bulk("v"))
    );
}

#[test]
fn same_seeds_and_inputs_give_identical_outputs() {
    let run = || {
        let mut cluster = Cluster::new(3, WriteQuorum::Async);
        let master = cluster.elect();
        write_keys(&mut cluster, master, "k", 10);
        cluster.crash(master);
        cluster.elect();
        cluster.advance(1000);
        (
            cluster.logs.clone(),
            cluster
                .disks
                .iter()
                .map(|d| d.aof().to_vec())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn a_master_refuses_a_peer_claiming_its_own_term() {
    // Impossible among honest nodes; a broken or hostile peer must not take the reign
    // away or crash the master: its link is reset and the master reigns on.
    use bucket_core::peer::{encode, Message};
    use bucket_core::{Input, MasterId, NodeId, Offset};
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let liar = other_than(&cluster, &[master])[0];
    let term = cluster.node(master).term();
    let frame = encode(&Message::Heartbeat {
        term,
        master_id: MasterId(99),
        commit: Offset(0),
        sent_at_ms: 0,
        session: 0,
    });
    cluster.input(
        master,
        Input::PeerMessage {
            peer: NodeId(liar as u32),
            frame: &frame,
        },
    );
    assert_eq!(cluster.node(master).role(), Role::Master);
    assert_eq!(cluster.node(master).term(), term);
    assert!(cluster
        .logs
        .iter()
        .any(|l| l.contains("claims to be master")));
}

#[test]
fn majority_mode_replica_refuses_to_cut_committed_records() {
    // A SyncAccept below the commit offset would lose acknowledged writes: refused.
    use bucket_core::peer::{decode, encode, Message, SyncKind};
    use bucket_core::{Input, NodeId, Offset};
    let mut cluster = Cluster::new(3, WriteQuorum::Majority);
    let master = cluster.elect();
    write_keys(&mut cluster, master, "k", 5);
    cluster.advance(300);
    let replica = other_than(&cluster, &[master])[0];
    let end = cluster.node(replica).aof_end();
    assert!(cluster.node(replica).status().commit > Offset(0));
    // A heartbeat naming another session makes the replica ask for a new feed.
    let term = cluster.node(replica).term();
    let master_id = cluster.node(replica).status().current_master_id;
    let heartbeat = encode(&Message::Heartbeat {
        term,
        master_id,
        commit: Offset(0),
        sent_at_ms: 0,
        session: 1,
    });
    let from = NodeId(master as u32);
    cluster.input(
        replica,
        Input::PeerMessage {
            peer: from,
            frame: &heartbeat,
        },
    );
    let session = cluster
        .take_frames(replica, master)
        .iter()
        .find_map(|frame| match decode(frame) {
            Ok(Message::SyncRequest { session, .. }) => Some(session),
            _ => None,
        })
        .expect("the replica asked for a feed");
    let accept = encode(&Message::SyncAccept {
        term,
        session,
        master_id,
        kind: SyncKind::Full,
        offset: Offset(0),
    });
    cluster.input(
        replica,
        Input::PeerMessage {
            peer: from,
            frame: &accept,
        },
    );
    assert_eq!(cluster.node(replica).aof_end(), end, "nothing was cut");
    assert!(cluster
        .logs
        .iter()
        .any(|l| l.contains("below the commit offset")));
}

#[test]
fn records_keep_a_replica_from_an_election_while_heartbeats_wait_behind_them() {
    // Under a flood of writes the master's heartbeats queue behind its records on the
    // link. Here every heartbeat to one replica is lost while records keep reaching it,
    // for several election timeouts: the records alone must keep it a follower.
    use bucket_core::peer::{decode, Message};
    use bucket_core::{Input, NodeId};
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let starved = other_than(&cluster, &[master])[0];
    let term = cluster.node(master).term();
    let conn = cluster.connect(master);
    for step in 0..400 {
        cluster.now_ms += 5;
        for i in 0..cluster.size() {
            if cluster.node(i).deadline().0 <= cluster.now_ms {
                cluster.input(i, Input::Tick);
            }
        }
        let key = format!("k{step}");
        cluster.send(master, conn, &["SET", &key, "v"]);
        for from in 0..cluster.size() {
            for to in 0..cluster.size() {
                for frame in cluster.take_frames(from, to) {
                    let heartbeat = matches!(decode(&frame), Ok(Message::Heartbeat { .. }));
                    if heartbeat && from == master && to == starved {
                        continue;
                    }
                    let peer = NodeId(from as u32);
                    cluster.input(
                        to,
                        Input::PeerMessage {
                            peer,
                            frame: &frame,
                        },
                    );
                }
            }
        }
        assert_eq!(cluster.node(starved).role(), Role::Replica, "step {step}");
    }
    assert_eq!(cluster.masters(), vec![master]);
    assert_eq!(cluster.node(master).term(), term, "no election happened");
}
