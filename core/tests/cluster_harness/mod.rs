//! A hand-wired cluster for scenario tests, in the manner of raft-rs's harness: nodes
//! of the real core, a FIFO link per ordered pair of nodes, a disk per node, and a
//! clock that the test advances. No randomness beyond each node's own seed.

#![allow(dead_code)]

mod describe;

use std::collections::VecDeque;

use bucket_core::resp::{self, Reply, Request};
use bucket_core::{
    Config, ConnectionId, Input, Member, Node, NodeId, Now, Output, Role, WriteQuorum,
};

/// Wall-clock origin for the virtual clock, so expiry times look like real ones.
const UNIX_EPOCH_MS: u64 = 1_700_000_000_000;
/// The clock advances in steps of this many milliseconds.
const STEP_MS: u64 = 5;
/// Bound on message deliveries per clock step.
const DELIVERIES_PER_STEP_MAX: usize = 100_000;

use sim::disk::BaseHistories;
/// The simulator's disk model: it checks each AOF output against the file (appends at
/// the end, truncations inside it, reads within it), as the sim's driver does. This
/// harness never crashes one, so nothing written is ever lost.
pub use sim::disk::Disk;

pub struct Cluster {
    pub nodes: Vec<Option<Node>>,
    pub disks: Vec<Disk>,
    pub configs: Vec<Config>,
    /// `links[from][to]`: frames in flight, in order.
    links: Vec<Vec<VecDeque<Vec<u8>>>>,
    /// `cut[from][to]`: the link is down.
    cut: Vec<Vec<bool>>,
    /// Reply bytes per (node, connection).
    replies: Vec<(usize, ConnectionId, Vec<u8>)>,
    /// File reads asked for (`StreamAof`), answered at the next clock step, so that
    /// writes can land while a stream is under way; read then, as the daemon reads.
    reads: VecDeque<(usize, NodeId, u64, (u64, u64))>,
    /// Base reads asked for (`StreamBase`), answered with the file as it was then.
    base_reads: VecDeque<(usize, NodeId, u64, std::rc::Rc<Vec<u8>>)>,
    base_histories: BaseHistories,
    pub logs: Vec<String>,
    /// Per node, its outputs as lines (`describe`), kept only for watched nodes.
    watched: Vec<Option<Vec<String>>>,
    pub now_ms: u64,
    /// Per node, its clock: (its reading at `now_ms` = the second, parts per million it
    /// runs fast or slow since then). See `set_drift`.
    clocks: Vec<(u64, u64, i64)>,
    next_conn: u64,
}

pub fn member(i: usize) -> Member {
    Member {
        client_addr: format!("10.0.0.{}:6379", i + 1),
        cluster_addr: format!("10.0.0.{}:16379", i + 1),
    }
}

impl Cluster {
    pub fn new(count: usize, quorum: WriteQuorum) -> Cluster {
        let members: Vec<Member> = (0..count).map(member).collect();
        let configs: Vec<Config> = (0..count)
            .map(|i| {
                let mut config = Config::single(&members[i].client_addr, &members[i].cluster_addr);
                config.members = members.clone();
                config.self_id = NodeId(i as u32);
                config.write_quorum = quorum;
                config.protected_mode = false;
                config
            })
            .collect();
        let mut cluster = Cluster {
            nodes: (0..count).map(|_| None).collect(),
            disks: vec![Disk::default(); count],
            configs,
            links: vec![vec![VecDeque::new(); count]; count],
            cut: vec![vec![false; count]; count],
            replies: Vec::new(),
            reads: VecDeque::new(),
            base_reads: VecDeque::new(),
            base_histories: BaseHistories::default(),
            logs: Vec::new(),
            watched: vec![None; count],
            now_ms: 0,
            clocks: vec![(0, 0, 0); count],
            next_conn: 1,
        };
        for i in 0..count {
            cluster.start(i);
        }
        cluster
    }

    /// A cluster whose every node runs with `change` made to its config, from its
    /// first step.
    pub fn reconfigured(
        count: usize,
        quorum: WriteQuorum,
        change: impl Fn(&mut Config),
    ) -> Cluster {
        let mut cluster = Cluster::new(count, quorum);
        for i in 0..count {
            change(&mut cluster.configs[i]);
            cluster.crash(i);
            cluster.start(i);
        }
        cluster
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// What node `i`'s clocks read now.
    fn now_of(&self, i: usize) -> Now {
        const PPM: i128 = 1_000_000;
        let (reading_ms, since_ms, drift_ppm) = self.clocks[i];
        let elapsed = (self.now_ms - since_ms) as i128;
        let instant_ms = reading_ms + (elapsed * (PPM + drift_ppm as i128) / PPM) as u64;
        Now::new(instant_ms, UNIX_EPOCH_MS + instant_ms)
    }

    /// From now on node `i`'s clock runs `drift_ppm` parts per million fast (or slow, if
    /// negative), going on from what it reads now.
    pub fn set_drift(&mut self, i: usize, drift_ppm: i64) {
        let reading_ms = self.now_of(i).instant.0;
        self.clocks[i] = (reading_ms, self.now_ms, drift_ppm);
    }

    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Start (or restart) node `i` from its disk.
    pub fn start(&mut self, i: usize) {
        assert!(self.nodes[i].is_none());
        let disk = &self.disks[i];
        let seed = 1000 + i as u64 + self.now_ms;
        let base = disk.base().map(|b| &b.bytes[..]);
        let (node, recovery) = Node::recover_with_base(
            self.configs[i].clone(),
            seed,
            disk.meta(),
            base,
            disk.tail(),
        )
        .expect("recovery succeeds");
        self.disks[i].cut_torn_tail(recovery.aof_len_valid);
        self.nodes[i] = Some(node);
        for j in 0..self.size() {
            if j != i && self.link_usable(i, j) {
                self.input(
                    i,
                    Input::PeerLinkUp {
                        peer: NodeId(j as u32),
                    },
                );
            }
            if j != i && self.link_usable(j, i) {
                self.input(
                    j,
                    Input::PeerLinkUp {
                        peer: NodeId(i as u32),
                    },
                );
            }
        }
    }

    /// Kill node `i`: its links drop what was in flight.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
        self.reads.retain(|read| read.0 != i);
        for j in 0..self.size() {
            self.reset_link(i, j);
            self.reset_link(j, i);
        }
    }

    fn link_usable(&self, from: usize, to: usize) -> bool {
        self.nodes[from].is_some() && self.nodes[to].is_some() && !self.cut[from][to]
    }

    fn reset_link(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        self.links[from][to].clear();
        if self.nodes[from].is_some() {
            self.input(
                from,
                Input::PeerLinkDown {
                    peer: NodeId(to as u32),
                },
            );
        }
    }

    /// Cut both directions between `a` and `b`.
    pub fn cut(&mut self, a: usize, b: usize) {
        for (from, to) in [(a, b), (b, a)] {
            self.cut[from][to] = true;
            self.reset_link(from, to);
        }
    }

    pub fn isolate(&mut self, a: usize) {
        for b in 0..self.size() {
            if b != a {
                self.cut(a, b);
            }
        }
    }

    pub fn heal(&mut self) {
        for from in 0..self.size() {
            for to in 0..self.size() {
                if self.cut[from][to] {
                    self.cut[from][to] = false;
                    if self.link_usable(from, to) {
                        self.input(
                            from,
                            Input::PeerLinkUp {
                                peer: NodeId(to as u32),
                            },
                        );
                    }
                }
            }
        }
    }

    /// Step node `i` with one input and execute its outputs.
    pub fn input(&mut self, i: usize, input: Input<'_>) {
        let now = self.now_of(i);
        let mut out = Vec::new();
        self.nodes[i]
            .as_mut()
            .expect("running")
            .step(now, input, &mut out);
        if self.execute(i, out) && self.nodes[i].is_some() {
            // The driver's fsync of this pass: report what it covered (the contract's
            // step 4). The harness's disks never lose a byte, so it is all of it.
            self.disks[i].sync();
            let offset = bucket_core::Offset(self.disks[i].aof_len());
            self.input(i, Input::AofDurable { offset });
        }
    }

    /// Execute a step's outputs; returns whether the node asked for an fsync.
    fn execute(&mut self, i: usize, outputs: Vec<Output>) -> bool {
        if let Some(lines) = &mut self.watched[i] {
            lines.extend(outputs.iter().filter_map(describe::output));
        }
        let mut sync_asked = false;
        for output in outputs {
            match output {
                Output::Send { peer, frame } => {
                    if self.link_usable(i, peer.0 as usize) {
                        self.links[i][peer.0 as usize].push_back(frame);
                    }
                }
                Output::AppendAof { offset, bytes } => self.disks[i]
                    .append(offset.0, &bytes)
                    .unwrap_or_else(|e| panic!("node {i}: {e}")),
                Output::TruncateAof { offset } => self.disks[i]
                    .truncate(offset.0)
                    .unwrap_or_else(|e| panic!("node {i}: {e}")),
                Output::PersistMeta { bytes } => self.disks[i].persist_meta(&bytes),
                Output::StreamAof {
                    peer,
                    session,
                    start,
                    end,
                } => {
                    assert!(start <= end && end.0 <= self.disks[i].aof_len());
                    self.reads.push_back((i, peer, session, (start.0, end.0)));
                }
                Output::BeginBase { offset, kind } => self.disks[i]
                    .begin_base(offset.0, kind)
                    .unwrap_or_else(|e| panic!("node {i}: {e}")),
                Output::WriteBase { bytes } => self.disks[i]
                    .write_base(&bytes)
                    .unwrap_or_else(|e| panic!("node {i}: {e}")),
                Output::FinishBase => {
                    let finished = self.base_histories.finish(&mut self.disks[i]);
                    finished.unwrap_or_else(|e| panic!("node {i}: {e}"));
                }
                Output::AbandonBase => self.disks[i].abandon_base(),
                Output::StreamBase { peer, session } => {
                    let base = self.disks[i]
                        .base()
                        .expect("a base to stream")
                        .bytes
                        .clone();
                    self.base_reads.push_back((i, peer, session, base));
                }
                Output::Reply { conn, bytes } => self.replies.push((i, conn, bytes)),
                Output::Log { level, message } => {
                    // Debug lines are marked: an operator does not see them by default.
                    let debug = if level == bucket_core::LogLevel::Debug {
                        " (debug)"
                    } else {
                        ""
                    };
                    self.logs
                        .push(format!("{} n{i}{debug}: {message}", self.now_ms))
                }
                Output::SyncAof => sync_asked = true,
                // The harness models no fsync policy nor client limits.
                Output::Close { .. } | Output::ResetPeer { .. } | Output::ApplySettings(_) => {}
            }
        }
        sync_asked
    }

    /// Read a file range now, and hand it back in two chunks, so that records split
    /// across chunks are tested. A read past the file's end comes back short, as
    /// `pread` does, and ends the range.
    fn stream_back(&mut self, i: usize, peer: NodeId, session: u64, (start, end): (u64, u64)) {
        let half = (end - start) / 2;
        let mut next = start;
        for want in [half, end - start - half] {
            let bytes = self.disks[i].read_at_most(next, want).to_vec();
            let short = (bytes.len() as u64) < want;
            let done = next + want == end || short;
            let chunk = Input::AofRead {
                peer,
                session,
                offset: bucket_core::Offset(next),
                bytes: &bytes,
                done,
            };
            self.input(i, chunk);
            if done {
                return;
            }
            next += want;
        }
    }

    /// Answer the file reads asked for so far.
    pub fn answer_reads(&mut self) {
        let base_reads: Vec<_> = self.base_reads.drain(..).collect();
        for (i, peer, session, base) in base_reads {
            let half = base.len() / 2;
            for (offset, part, done) in [(0, &base[..half], false), (half, &base[half..], true)] {
                if self.nodes[i].is_some() {
                    let chunk = Input::BaseRead {
                        peer,
                        session,
                        offset: offset as u64,
                        bytes: part,
                        done,
                    };
                    self.input(i, chunk);
                }
            }
        }
        let reads: Vec<_> = self.reads.drain(..).collect();
        for (i, peer, session, range) in reads {
            if self.nodes[i].is_some() {
                self.stream_back(i, peer, session, range);
            }
        }
    }

    /// Start keeping node `i`'s outputs (log lines aside) for `take_outputs`.
    pub fn watch(&mut self, i: usize) {
        self.watched[i] = Some(Vec::new());
    }

    /// Node `i`'s outputs since the last call, as lines, in order (it must be watched).
    pub fn take_outputs(&mut self, i: usize) -> Vec<String> {
        let lines = self.watched[i].as_mut().expect("the node is watched");
        std::mem::take(lines)
    }

    /// Deliver the frames in flight from `from` to `to`, and only those.
    pub fn deliver_link(&mut self, from: usize, to: usize) {
        for frame in self.take_frames(from, to) {
            let peer = NodeId(from as u32);
            self.input(
                to,
                Input::PeerMessage {
                    peer,
                    frame: &frame,
                },
            );
        }
    }

    /// Take the frames in flight from `from` to `to`, undelivered.
    pub fn take_frames(&mut self, from: usize, to: usize) -> Vec<Vec<u8>> {
        self.links[from][to].drain(..).collect()
    }

    /// Deliver every frame in flight, repeatedly, until the links are empty.
    pub fn deliver(&mut self) {
        for _ in 0..DELIVERIES_PER_STEP_MAX {
            let Some((from, to, frame)) = self.next_frame() else {
                return;
            };
            if self.nodes[to].is_some() {
                self.input(
                    to,
                    Input::PeerMessage {
                        peer: NodeId(from as u32),
                        frame: &frame,
                    },
                );
            }
        }
        panic!("messages never stopped flowing");
    }

    fn next_frame(&mut self) -> Option<(usize, usize, Vec<u8>)> {
        for from in 0..self.size() {
            for to in 0..self.size() {
                if let Some(frame) = self.links[from][to].pop_front() {
                    return Some((from, to, frame));
                }
            }
        }
        None
    }

    /// Advance the clock by `ms`, firing timers and delivering messages as it goes.
    pub fn advance(&mut self, ms: u64) {
        self.run_clock(ms, true);
    }

    /// Advance the clock by `ms`, firing timers, while every frame stays in flight (a
    /// slow network).
    pub fn advance_holding_frames(&mut self, ms: u64) {
        self.run_clock(ms, false);
    }

    fn run_clock(&mut self, ms: u64, deliver: bool) {
        let end = self.now_ms + ms;
        while self.now_ms < end {
            self.now_ms = (self.now_ms + STEP_MS).min(end);
            self.answer_reads();
            for i in 0..self.size() {
                let due = self.nodes[i]
                    .as_ref()
                    .is_some_and(|n| n.deadline().0 <= self.now_of(i).instant.0);
                if due {
                    self.input(i, Input::Tick);
                }
            }
            if deliver {
                self.deliver();
            }
        }
    }

    pub fn masters(&self) -> Vec<usize> {
        (0..self.size())
            .filter(|&i| {
                self.nodes[i]
                    .as_ref()
                    .is_some_and(|n| n.role() == Role::Master)
            })
            .collect()
    }

    /// Advance until exactly one master exists; returns it.
    pub fn elect(&mut self) -> usize {
        for _ in 0..200 {
            self.advance(50);
            if let [master] = self.masters()[..] {
                return master;
            }
        }
        panic!("no master after 10 s; logs:\n{}", self.logs.join("\n"));
    }

    pub fn connect(&mut self, i: usize) -> ConnectionId {
        let conn = ConnectionId(self.next_conn);
        self.next_conn += 1;
        self.input(
            i,
            Input::ClientConnected {
                conn,
                addrs: bucket_core::ClientAddrs::loopback(40000),
            },
        );
        conn
    }

    /// Send one command on `conn` at node `i`; returns the reply if one came in this
    /// step (a held reply arrives later: see `reply`).
    pub fn send(&mut self, i: usize, conn: ConnectionId, args: &[&str]) -> Option<Reply> {
        let mut request = Request::new();
        args.iter().for_each(|a| request.push(a.as_bytes()));
        let mut bytes = Vec::new();
        request.encode(&mut bytes);
        self.input(
            i,
            Input::ClientData {
                conn,
                bytes: &bytes,
            },
        );
        self.reply(i, conn)
    }

    /// Send several commands on `conn` at node `i` in one packet, as a pipelining client.
    pub fn send_pipeline(&mut self, i: usize, conn: ConnectionId, commands: &[&[&str]]) {
        let mut bytes = Vec::new();
        for args in commands {
            let mut request = Request::new();
            args.iter().for_each(|a| request.push(a.as_bytes()));
            request.encode(&mut bytes);
        }
        self.input(
            i,
            Input::ClientData {
                conn,
                bytes: &bytes,
            },
        );
    }

    /// The next reply for `conn` at node `i`, if it has arrived.
    pub fn reply(&mut self, i: usize, conn: ConnectionId) -> Option<Reply> {
        let at = self
            .replies
            .iter()
            .position(|(n, c, _)| *n == i && *c == conn)?;
        let (_, _, bytes) = self.replies.remove(at);
        let (reply, used) = resp::parse_reply(&bytes)
            .expect("valid reply")
            .expect("whole reply");
        assert_eq!(used, bytes.len(), "one reply per step in these tests");
        Some(reply)
    }

    /// Run a command at node `i` on a fresh connection and wait (bounded) for its reply.
    pub fn command(&mut self, i: usize, args: &[&str]) -> Reply {
        let conn = self.connect(i);
        if let Some(reply) = self.send(i, conn, args) {
            return reply;
        }
        for _ in 0..400 {
            self.advance(STEP_MS);
            if let Some(reply) = self.reply(i, conn) {
                return reply;
            }
        }
        panic!("no reply to {args:?} at node {i}");
    }

    /// One field of node `i`'s INFO, as text.
    pub fn info_field(&mut self, i: usize, field: &str) -> String {
        let Reply::Bulk(text) = self.command(i, &["INFO", "everything"]) else {
            panic!("INFO replies with a bulk string");
        };
        let text = String::from_utf8(text).expect("INFO is text");
        let prefix = format!("{field}:");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {field} in {text}"));
        line[prefix.len()..].to_string()
    }

    pub fn digest(&self, i: usize) -> u64 {
        self.node(i).keyspace().digest()
    }

    /// Every running node has the same AOF bytes and the same keyspace.
    pub fn assert_converged(&self) {
        let running: Vec<usize> = (0..self.size())
            .filter(|&i| self.nodes[i].is_some())
            .collect();
        let first = running[0];
        for &i in &running[1..] {
            assert_eq!(
                self.disks[i].aof(),
                self.disks[first].aof(),
                "node {i}'s AOF equals node {first}'s"
            );
            assert_eq!(
                self.digest(i),
                self.digest(first),
                "node {i}'s keyspace equals node {first}'s"
            );
        }
    }
}

pub fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

pub fn ok() -> Reply {
    Reply::Simple("OK".to_string())
}

/// A settled three-node cluster in majority mode whose master defers its own fsyncs by
/// `own_sync_delay_ms` (zero: at once), with the master's outputs watched; returns it
/// with the master and its two replicas.
pub fn watched_majority_cluster(own_sync_delay_ms: u64) -> (Cluster, usize, [usize; 2]) {
    let mut cluster = Cluster::reconfigured(3, WriteQuorum::Majority, |config| {
        config.limits.own_sync_delay_ms = own_sync_delay_ms
    });
    let master = cluster.elect();
    cluster.advance(300);
    // Step past the master's other timers, so that a deferred fsync's is the nearest.
    for _ in 0..200 {
        if cluster.node(master).deadline().0 > cluster.now_ms + own_sync_delay_ms {
            break;
        }
        cluster.advance(1);
    }
    cluster.watch(master);
    let others: Vec<usize> = (0..3).filter(|&i| i != master).collect();
    (cluster, master, [others[0], others[1]])
}

/// Deliver the master's frames to `replica` and the replica's answers back.
pub fn round_trip(cluster: &mut Cluster, master: usize, replica: usize) {
    cluster.deliver_link(master, replica);
    cluster.deliver_link(replica, master);
}
