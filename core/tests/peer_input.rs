//! A peer's bytes never panic the core, and a bad batch is applied not at all: a replica
//! fed records it must refuse (a term from the future, a checksum that fails) drops the
//! batch and the link, and its keyspace stays the replay of its AOF.

mod cluster_harness;

use bucket_core::aof::record::{encode, Record};
use bucket_core::aof::Effect;
use bucket_core::peer::{self, Message};
use bucket_core::{Input, NodeId, Offset, Term, WriteQuorum};
use cluster_harness::{ok, Cluster};

/// A live 3-node cluster and, for one replica, the session and term its feed uses.
fn fed_replica() -> (Cluster, usize, usize, u64, Term) {
    let mut cluster = Cluster::new(3, WriteQuorum::Async);
    let master = cluster.elect();
    let replica = (0..3).find(|&i| i != master).expect("a replica");
    assert_eq!(cluster.command(master, &["SET", "before", "1"]), ok());
    cluster.advance(1_000);
    cluster.assert_converged();
    // One more write, held on the link, names the feed's session.
    let conn = cluster.connect(master);
    assert_eq!(
        cluster.send(master, conn, &["SET", "probe", "1"]),
        Some(ok())
    );
    let frames = cluster.take_frames(master, replica);
    let session = frames
        .iter()
        .find_map(|frame| match peer::decode(frame) {
            Ok(Message::Data { session, .. }) => Some(session),
            _ => None,
        })
        .expect("the write went to the replica");
    for frame in &frames {
        deliver(&mut cluster, master, replica, frame);
    }
    let term = cluster.node(master).term();
    (cluster, master, replica, session, term)
}

fn deliver(cluster: &mut Cluster, from: usize, to: usize, frame: &[u8]) {
    let peer = NodeId(from as u32);
    cluster.input(to, Input::PeerMessage { peer, frame });
}

fn set_record(term: Term, key: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let effect = Effect::Set {
        key: key.as_bytes(),
        value: b"v",
        expire_at: None,
    };
    encode(&Record { term, effect }, &mut bytes);
    bytes
}

fn data(term: Term, session: u64, offset: Offset, bytes: &[u8]) -> Vec<u8> {
    peer::encode(&Message::Data {
        term,
        session,
        offset,
        bytes,
    })
}

#[test]
fn a_record_from_a_future_term_is_refused_not_a_panic() {
    let (mut cluster, master, replica, session, term) = fed_replica();
    let (end, digest) = (cluster.node(replica).aof_end(), cluster.digest(replica));
    let future = set_record(Term(term.0 + 4), "future");
    deliver(
        &mut cluster,
        master,
        replica,
        &data(term, session, end, &future),
    );
    assert_eq!(cluster.node(replica).aof_end(), end, "nothing was logged");
    assert_eq!(cluster.digest(replica), digest, "nothing was applied");
    // The feed starts again and the replica catches up.
    cluster.advance(2_000);
    cluster.assert_converged();
}

#[test]
fn a_good_record_before_a_bad_one_is_not_applied_either() {
    let (mut cluster, master, replica, session, term) = fed_replica();
    let (end, digest) = (cluster.node(replica).aof_end(), cluster.digest(replica));
    let mut batch = set_record(term, "good");
    let mut bad = set_record(term, "bad");
    let last = bad.len() - 1;
    bad[last] ^= 0x40; // the payload no longer matches its checksum
    batch.extend_from_slice(&bad);
    deliver(
        &mut cluster,
        master,
        replica,
        &data(term, session, end, &batch),
    );
    assert_eq!(cluster.node(replica).aof_end(), end, "nothing was logged");
    assert_eq!(
        cluster.digest(replica),
        digest,
        "the good record was not applied alone"
    );
    cluster.advance(2_000);
    cluster.assert_converged();
}

#[test]
fn a_record_older_than_the_log_is_refused() {
    let (mut cluster, master, replica, session, term) = fed_replica();
    let (end, digest) = (cluster.node(replica).aof_end(), cluster.digest(replica));
    let old = set_record(Term(0), "old");
    deliver(
        &mut cluster,
        master,
        replica,
        &data(term, session, end, &old),
    );
    assert_eq!(cluster.node(replica).aof_end(), end);
    assert_eq!(cluster.digest(replica), digest);
}

#[test]
fn a_write_larger_than_a_peer_frame_reaches_replicas_in_pieces() {
    const FRAME_MAX: usize = 4096;
    let mut cluster = Cluster::reconfigured(3, WriteQuorum::Async, |config| {
        config.limits.peer_frame_bytes_max = FRAME_MAX
    });
    let master = cluster.elect();
    cluster.advance(500);
    let replica = (0..3).find(|&i| i != master).expect("a replica");
    let value = "x".repeat(5 * FRAME_MAX);
    let conn = cluster.connect(master);
    assert_eq!(
        cluster.send(master, conn, &["SET", "big", &value]),
        Some(ok())
    );
    let frames = cluster.take_frames(master, replica);
    assert!(
        frames.len() > 5,
        "the write went in pieces: {} frames",
        frames.len()
    );
    for frame in &frames {
        assert!(frame.len() <= FRAME_MAX, "a frame of {} bytes", frame.len());
        deliver(&mut cluster, master, replica, frame);
    }
    cluster.advance(1_000);
    cluster.assert_converged();
}
