//! A node of a three-node cluster driven by a stranger's peer frames, interleaved with
//! link events, timers and client requests. The operations are decoded from the fuzz
//! bytes so that most of them are well-formed messages carrying fuzzed fields (terms,
//! sessions, offsets, records): random bytes alone would rarely pass the frame checks
//! and reach the replication code. After every step the node's own assertions hold
//! (`Node::step` checks its invariants), and now and then, and at the end, its keyspace
//! must equal the replay of its AOF.

use crate::aof::record::{encode, Record};
use crate::aof::Effect;
use crate::config::{Config, Member};
use crate::ids::{ConnectionId, MasterId, NodeId, Offset, Term};
use crate::input::Input;
use crate::node::Node;
use crate::output::Output;
use crate::peer::{self, Message, SyncKind};
use crate::time::Now;

/// Steps between two replay checks (each recovers a node from the AOF).
const CHECK_EVERY_STEPS: usize = 16;

/// The fuzz input, read a byte at a time; zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.at.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.at = start + n;
        &self.data[start..end]
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// The world around the node: its disk, the clock, and what it asked for.
struct Harness {
    node: Node,
    config: Config,
    now: Now,
    aof: Vec<u8>,
    /// The last sync session the node asked a peer for, to answer to.
    asked_session: u64,
    /// A base was begun: the AOF alone no longer gives the keyspace, so the replay
    /// check stops (bases are exercised by the simulator).
    base_seen: bool,
}

fn config() -> Config {
    let members: Vec<Member> = (0..3)
        .map(|i| Member {
            client_addr: format!("10.0.0.{i}:6379"),
            cluster_addr: format!("10.0.0.{i}:16379"),
        })
        .collect();
    let mut config = Config::single(&members[1].client_addr, &members[1].cluster_addr);
    config.members = members;
    config.self_id = NodeId(1);
    config.protected_mode = false;
    config.aof_rewrite.percentage = 0;
    config
}

impl Harness {
    fn step(&mut self, input: Input<'_>) {
        let mut out = Vec::new();
        self.node.step(self.now, input, &mut out);
        self.execute(out);
    }

    fn execute(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::AppendAof { offset, bytes } => {
                    assert_eq!(offset.0 as usize, self.aof.len(), "appends are contiguous");
                    self.aof.extend_from_slice(&bytes);
                }
                Output::TruncateAof { offset } => self.aof.truncate(offset.0 as usize),
                Output::SyncAof => {
                    let offset = Offset(self.aof.len() as u64);
                    self.step(Input::AofDurable { offset });
                }
                Output::StreamAof {
                    peer,
                    session,
                    start,
                    end,
                } => {
                    let bytes = self.aof[start.0 as usize..end.0 as usize].to_vec();
                    let read = Input::AofRead {
                        peer,
                        session,
                        offset: start,
                        bytes: &bytes,
                        done: true,
                    };
                    self.step(read);
                }
                Output::Send { frame, .. } => {
                    if let Ok(Message::SyncRequest { session, .. }) = peer::decode(&frame) {
                        self.asked_session = session;
                    }
                }
                Output::BeginBase { .. } => self.base_seen = true,
                _ => {}
            }
        }
    }

    /// The keyspace is the replay of the AOF prefix it reflects.
    fn check_replay(&self) {
        if self.base_seen {
            return;
        }
        let applied = self.node.applied_end().0 as usize;
        let (replayed, _) = Node::recover(self.config.clone(), 9, None, &self.aof[..applied])
            .expect("the node's own AOF recovers");
        assert_eq!(replayed.keyspace().digest(), self.node.keyspace().digest());
    }

    fn peer_message(&mut self, from: u32, message: &Message<'_>) {
        let frame = peer::encode(message);
        let peer = NodeId(from);
        self.step(Input::PeerMessage {
            peer,
            frame: &frame,
        });
    }
}

/// Records for a `Data` frame: small SETs and DELs in fuzzed terms, maybe cut short or
/// with a byte flipped.
fn records(bytes: &mut Bytes<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..bytes.byte() % 4 {
        let term = Term(u64::from(bytes.byte() % 8));
        let key = [b'k', b'0' + bytes.byte() % 4];
        let value = [b'v', bytes.byte()];
        let effect = match bytes.byte() % 3 {
            0 => Effect::Del { key: &key },
            _ => Effect::Set {
                key: &key,
                value: &value,
                expire_at: None,
            },
        };
        encode(&Record { term, effect }, &mut out);
    }
    match bytes.byte() % 8 {
        0 if !out.is_empty() => {
            let cut = usize::from(bytes.byte()) % out.len();
            out.truncate(cut);
        }
        1 if !out.is_empty() => {
            let at = usize::from(bytes.byte()) % out.len();
            out[at] ^= 1 << (bytes.byte() % 8);
        }
        _ => {}
    }
    out
}

pub fn replica_peer_input(data: &[u8]) {
    let config = config();
    let (node, _) = Node::recover(config.clone(), 7, None, &[]).expect("a fresh node recovers");
    let mut h = Harness {
        node,
        config,
        now: Now::new(0, 1_700_000_000_000),
        aof: Vec::new(),
        asked_session: 0,
        base_seen: false,
    };
    h.step(Input::Tick);
    for peer in [0, 2] {
        h.step(Input::PeerLinkUp { peer: NodeId(peer) });
    }
    let mut bytes = Bytes { data, at: 0 };
    let conn = ConnectionId(1);
    h.step(Input::ClientConnected {
        conn,
        addrs: crate::ClientAddrs::loopback(40000),
    });
    let mut steps = 0usize;
    while !bytes.done() {
        step_once(&mut h, &mut bytes, conn);
        steps += 1;
        if steps.is_multiple_of(CHECK_EVERY_STEPS) {
            h.check_replay();
        }
    }
    h.check_replay();
}

fn step_once(h: &mut Harness, bytes: &mut Bytes<'_>, conn: ConnectionId) {
    let from = if bytes.byte().is_multiple_of(2) { 0 } else { 2 };
    let term = Term(u64::from(bytes.byte() % 8));
    match bytes.byte() % 9 {
        0 => {
            let len = usize::from(bytes.byte());
            let frame = bytes.take(len).to_vec();
            // A base resync is the simulator's to test: it replaces the AOF.
            let base = matches!(
                peer::decode(&frame),
                Ok(Message::SyncAccept {
                    kind: SyncKind::Base,
                    ..
                } | Message::BaseData { .. })
            );
            if !base {
                let peer = NodeId(from);
                h.step(Input::PeerMessage {
                    peer,
                    frame: &frame,
                });
            }
        }
        1 => {
            let session = if bytes.byte().is_multiple_of(4) {
                0
            } else {
                h.asked_session
            };
            let message = Message::Heartbeat {
                term,
                master_id: MasterId(u64::from(from) + 1),
                commit: Offset(u64::from(bytes.byte())),
                sent_at_ms: h.now.instant.0,
                session,
            };
            h.peer_message(from, &message);
        }
        2 => {
            let kind = if bytes.byte().is_multiple_of(2) {
                SyncKind::Partial
            } else {
                SyncKind::Full
            };
            let offset = match bytes.byte() % 3 {
                0 => Offset(0),
                1 => h.node.aof_end(),
                _ => Offset(u64::from(bytes.byte())),
            };
            let message = Message::SyncAccept {
                term,
                session: h.asked_session,
                master_id: MasterId(u64::from(from) + 1),
                kind,
                offset,
            };
            h.peer_message(from, &message);
        }
        3 => {
            let offset = match bytes.byte() % 4 {
                0 => Offset(u64::from(bytes.byte())),
                _ => h.node.aof_end(),
            };
            let records = records(bytes);
            let message = Message::Data {
                term,
                session: h.asked_session,
                offset,
                bytes: &records,
            };
            h.peer_message(from, &message);
        }
        4 => {
            let len = usize::from(bytes.byte() % 64);
            let request = bytes.take(len).to_vec();
            h.step(Input::ClientData {
                conn,
                bytes: &request,
            });
        }
        5 => {
            let ms = u64::from(bytes.byte()) * 10;
            h.now = Now::new(h.now.instant.0 + ms, h.now.unix.0 + ms);
            h.step(Input::Tick);
        }
        6 => h.step(Input::PeerLinkDown { peer: NodeId(from) }),
        7 => h.step(Input::PeerLinkUp { peer: NodeId(from) }),
        _ => {
            let message = Message::RequestVote {
                term,
                pre_vote: bytes.byte().is_multiple_of(2),
                last_term: Term(u64::from(bytes.byte() % 8)),
                end: Offset(u64::from(bytes.byte())),
            };
            h.peer_message(from, &message);
        }
    }
}
