//! The bodies of the fuzz targets in `fuzz/`, kept here so that the committed corpora
//! replay as ordinary tests on stable (`core/tests/fuzz_corpus.rs`) through the very
//! same code. Each function must never panic, whatever the bytes.

mod replica;

pub use replica::replica_peer_input;

use crate::aof::replay;
use crate::config::Config;
use crate::ids::ConnectionId;
use crate::input::Input;
use crate::keyspace::Keyspace;
use crate::meta::Meta;
use crate::node::{Node, Role};
use crate::output::Output;
use crate::resp::{self, Limits, Parsed, Request};
use crate::time::Now;

/// Small limits, so that the fuzzer reaches the limit checks.
fn small_limits() -> Limits {
    Limits {
        bulk_len_max: 1024,
        multibulk_len_max: 64,
        inline_len_max: 256,
    }
}

/// RESP requests, pipelined: parse until the bytes run out or an error.
pub fn resp_requests(data: &[u8]) {
    let mut request = Request::new();
    let mut at = 0;
    while at < data.len() {
        match resp::parse_request(&data[at..], &small_limits(), &mut request) {
            Ok(Parsed::Request { consumed }) => {
                assert!(consumed > 0 && at + consumed <= data.len());
                at += consumed;
            }
            Ok(Parsed::Incomplete { .. }) | Err(_) => break,
        }
    }
    let _ = resp::parse_reply(data);
}

/// Peer frames: split and decode as the driver does.
pub fn peer_frames(data: &[u8]) {
    let mut at = 0;
    while let Ok(Some(len)) = crate::peer::frame_len(&data[at..], 1 << 20) {
        let _ = crate::peer::decode(&data[at..at + len]);
        at += len;
    }
}

/// AOF bytes: scan and apply, as recovery does.
pub fn aof_records(data: &[u8]) {
    let mut keyspace = Keyspace::new((1, 2));
    let _ = replay::scan_records(data, |_, record| {
        replay::apply(&mut keyspace, &record.effect)
    });
}

/// A metadata file: decoding it, and recovering a node from it with any AOF.
pub fn meta_and_recovery(data: &[u8]) {
    let _ = Meta::decode(data);
    let (meta, aof) = data.split_at(data.len() / 2);
    let config = Config::single("127.0.0.1:6379", "127.0.0.1:16379");
    let _ = Node::recover(config, 7, Some(meta), aof);
    let config = Config::single("127.0.0.1:6379", "127.0.0.1:16379");
    let _ = Node::recover(config, 7, None, data);
}

/// A one-node cluster fed arbitrary client bytes: then its AOF, replayed, must give
/// exactly its keyspace.
pub fn node_commands(data: &[u8]) {
    let config = Config::single("127.0.0.1:6379", "127.0.0.1:16379");
    let (mut node, _) = Node::recover(config.clone(), 7, None, &[]).expect("a fresh node recovers");
    let mut out = Vec::new();
    let mut now = Now::new(0, 1_700_000_000_000);
    node.step(now, Input::Tick, &mut out);
    assert_eq!(node.role(), Role::Master);
    let conn = ConnectionId(1);
    node.step(
        now,
        Input::ClientConnected {
            conn,
            addrs: crate::ClientAddrs::loopback(40000),
        },
        &mut out,
    );
    for chunk in data.chunks(64) {
        now = Now::new(now.instant.0 + 40, now.unix.0 + 40);
        node.step(now, Input::ClientData { conn, bytes: chunk }, &mut out);
        node.step(now, Input::Tick, &mut out);
    }
    let mut aof = Vec::new();
    for output in &out {
        if let Output::AppendAof { offset, bytes } = output {
            assert_eq!(offset.0 as usize, aof.len());
            aof.extend_from_slice(bytes);
        }
    }
    let (replayed, _) = Node::recover(config, 8, None, &aof).expect("the node's own AOF recovers");
    assert_eq!(replayed.keyspace().digest(), node.keyspace().digest());
}
