//! The node: `step` dispatches each input, by input and then by role (as raft-rs's
//! `step_leader`/`step_follower`), and checks the invariants at the end of every step.
//!
//! - `clients.rs`: client sessions, command execution, `WAIT`.
//! - `held.rs`: majority mode's replies held for the commit, and their index.
//! - `election.rs`: PreVote, votes, terms, heartbeats, CheckQuorum, reigns.
//! - `replication/`: the master feeding replicas, and a replica following its master.
//! - `recover.rs`: rebuilding a node from its files.
//! - `eviction.rs`: `maxmemory`: evictions, `-OOM`, and the keys' access stamps.

mod blocking;
mod clients;
mod compaction;
mod election;
mod eviction;
mod held;
mod planted;
mod recover;
mod replication;
mod transactions;

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::aof::record::{self, Effect, Record};
use crate::aof::replay;
use crate::backlog::Backlog;
use crate::config::{Config, WriteQuorum};
use crate::ids::{ConnectionId, MasterId, NodeId, Offset, Term};
use crate::input::Input;
use crate::keyspace::Keyspace;
use crate::meta::{Meta, Reign};
use crate::output::{LogLevel, Output};
use crate::peer::{self, Message};
use crate::resp::Request;
use crate::session::Session;
use crate::stats::Stats;
use crate::status::{member_name, ClusterStatus, MemberStatus};
use crate::time::{Instant, Now};

pub use crate::status::Role;
use held::HeldIndex;
pub use recover::{RecoverError, Recovery};
use replication::{Progress, Rebuild, Upstream};

/// The AOF as the node tracks it: where it ends and what its last record's term is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AofPosition {
    pub end: Offset,
    pub last_term: Term,
    /// Records logged during the current step, not yet handed to the driver.
    pub pending: Vec<u8>,
    /// Where the AOF is known durable: from the driver's `AofDurable` reports in majority
    /// mode (nothing counts toward a commit before it), the end itself in async mode,
    /// where only the driver's `appendfsync` policy decides.
    pub durable_end: Offset,
}

/// What this node knows of one other member.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerState {
    /// When this node last heard anything from the peer in the current term.
    pub last_heard: Option<Instant>,
    /// While master: when the first heartbeat since the peer was last heard went out,
    /// if one did. CheckQuorum counts silence from here, so time in which this
    /// master itself sent nothing (its loop stalled) is not held against the peer.
    pub unanswered_since: Option<Instant>,
    /// The newest heartbeat send time (this master's clock) the peer acknowledged.
    pub heartbeat_acked_sent_at: Option<Instant>,
}

pub struct Node {
    pub(crate) config: Config,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) keyspace: Keyspace,
    pub(crate) aof: AofPosition,
    pub(crate) meta: Meta,
    pub(crate) status: ClusterStatus,
    /// Boxed, so that taking a session out of the map for a step moves a pointer.
    pub(crate) clients: BTreeMap<ConnectionId, Box<Session>>,
    /// The sessions blocked in `WAIT`: an ack or a timeout may release them.
    pub(crate) waiting_clients: BTreeSet<ConnectionId>,
    /// Connections a `CLIENT KILL` named, closed when the running command's step ends.
    pub(crate) killed_clients: Vec<ConnectionId>,
    /// The last client id given out (`Session::id`).
    pub(crate) client_id_last: u64,
    /// The driver's settings, which CONFIG SET may change.
    pub(crate) daemon: crate::settings::Daemon,
    /// The sessions with replies held for the commit (majority mode), by what they need.
    pub(crate) held_index: HeldIndex,
    /// Reused parse buffer, so parsing allocates nothing per request once warm.
    pub(crate) request: Request,
    pub(crate) now: Now,
    pub(crate) peers: Vec<PeerState>,
    /// Votes (or pre-votes) granted to this node's current candidacy, itself included.
    pub(crate) votes: Vec<NodeId>,
    /// When this node last heard from a master of its current term (leader stickiness).
    pub(crate) master_heard_at: Option<Instant>,
    pub(crate) master_since: Instant,
    /// Master side: the commit offset this reign inherited. Until a majority holds the
    /// reign's start record the commit stays there (Raft: count only your own term).
    pub(crate) commit_inherited: Offset,
    /// Master side: one progress per replica that asked to be fed.
    pub(crate) progress: BTreeMap<NodeId, Progress>,
    /// Master side: file streams started in this node's life, the last one's tag.
    pub(crate) streams_started: u64,
    pub(crate) backlog: Backlog,
    /// Replica side: the feed from the master, if any.
    pub(crate) upstream: Option<Upstream>,
    /// Replica side: the keyspace is being rebuilt after a truncation.
    pub(crate) rebuild: Option<Rebuild>,
    pub(crate) election_deadline: Instant,
    pub(crate) heartbeat_deadline: Instant,
    pub(crate) expiry_deadline: Instant,
    pub(crate) stats: Stats,
    /// A `WAIT` blocked during this step: ask the replicas for acks at its end.
    pub(crate) acks_wanted: bool,
    pub(crate) compaction: compaction::Compaction,
    /// Master in majority mode: an fsync of its AOF deferred while the live replicas
    /// can commit without it (`replication/own_sync.rs`).
    pub(crate) own_sync: Option<replication::OwnSync>,
    /// The sessions that `WATCH` each key (`transactions.rs`).
    pub(crate) watchers: BTreeMap<Box<[u8]>, BTreeSet<ConnectionId>>,
    /// Clients parked by a blocking pop, by key, oldest first (`blocking.rs`).
    pub(crate) blocked_on: BTreeMap<Box<[u8]>, std::collections::VecDeque<ConnectionId>>,
    /// The parked clients with a timeout, by when it passes.
    pub(crate) blocked_deadlines: BTreeSet<(Instant, ConnectionId)>,
    /// Keys written in this step that parked clients wait on.
    pub(crate) ready_keys: BTreeSet<Box<[u8]>>,
    /// What the node uses, its limit, and its evictions.
    pub(crate) memory: crate::memory::MemoryStatus,
}

/// How often active expiry runs, as Redis's `hz 10`; the ops-per-second sampling
/// rides on the same tick.
const EXPIRY_INTERVAL_MS: u64 = crate::stats::OPS_SAMPLE_INTERVAL_MS;

impl Node {
    fn new(config: Config, seed: u64, keyspace_seed: (u64, u64)) -> Node {
        let daemon = crate::settings::Daemon {
            settings: config.daemon.clone(),
            changed: false,
        };
        let members = config
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| MemberStatus {
                client_addr: m.client_addr.clone(),
                cluster_addr: m.cluster_addr.clone(),
                name: member_name(&m.cluster_addr),
                link_up: i == config.self_id.0 as usize,
            })
            .collect();
        let status = ClusterStatus {
            role: Role::Replica,
            term: Term(0),
            self_id: config.self_id,
            master: None,
            current_master_id: MasterId(0),
            last_master_id: MasterId(0),
            aof_end: Offset(0),
            commit: Offset(0),
            members,
            replicas: Vec::new(),
            master_link_up: false,
            full_resyncs: 0,
            partial_resyncs: 0,
            last_resync: None,
        };
        let peers = vec![PeerState::default(); config.members.len()];
        // A node with no peers has no replica to feed, so it keeps no backlog (Redis
        // makes one only once a replica connects).
        let backlog_bytes_max = match config.members.len() {
            1 => 0,
            _ => config.limits.backlog_bytes_max,
        };
        let backlog = Backlog::new(Offset(0), backlog_bytes_max);
        let config_aof_rewrite = config.aof_rewrite;
        let memory = crate::memory::MemoryStatus::new(config.maxmemory);
        Node {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            keyspace: Keyspace::new(keyspace_seed),
            aof: AofPosition::default(),
            meta: Meta::default(),
            status,
            clients: BTreeMap::new(),
            waiting_clients: BTreeSet::new(),
            killed_clients: Vec::new(),
            client_id_last: 0,
            daemon,
            held_index: HeldIndex::default(),
            request: Request::new(),
            now: Now::default(),
            peers,
            votes: Vec::new(),
            master_heard_at: None,
            master_since: Instant(0),
            commit_inherited: Offset(0),
            progress: BTreeMap::new(),
            streams_started: 0,
            backlog,
            upstream: None,
            rebuild: None,
            election_deadline: Instant(0),
            heartbeat_deadline: Instant(u64::MAX),
            expiry_deadline: Instant(0),
            stats: Stats::default(),
            acks_wanted: false,
            compaction: compaction::Compaction::new(config_aof_rewrite),
            own_sync: None,
            watchers: BTreeMap::new(),
            blocked_on: BTreeMap::new(),
            blocked_deadlines: BTreeSet::new(),
            ready_keys: BTreeSet::new(),
            memory,
        }
    }

    /// Advance the node by one input. Every output is pushed onto `out`, in the order
    /// the driver must execute them.
    pub fn step(&mut self, now: Now, input: Input<'_>, out: &mut Vec<Output>) {
        assert!(now.instant >= self.now.instant, "time went backwards");
        assert!(
            self.aof.pending.is_empty(),
            "records left over from a previous step"
        );
        self.now = now;
        if self.stats.started_at.is_none() {
            // The first step: recovery ran before the node knew the time, so its
            // election timeout starts now. A node that just started never stands (nor
            // votes, see `master_is_fresh`) before a whole timeout has passed: in its
            // last life it may have acked a master whose lease still counts on it.
            self.stats.started_at = Some(now.instant);
            self.reset_election_deadline();
        }
        let stamp = self.memory.new_key_stamp(now.instant);
        self.keyspace.set_new_key_stamp(stamp);
        match input {
            Input::ClientConnected { conn, addrs } => self.on_client_connected(conn, addrs),
            Input::ClientData { conn, bytes } => self.on_client_data(conn, bytes, out),
            Input::ClientClosed { conn } => self.on_client_closed(conn),
            Input::PeerMessage { peer, frame } => self.on_peer_frame(peer, frame, out),
            Input::PeerLinkUp { peer } => self.on_peer_link_up(peer, out),
            Input::PeerLinkDown { peer } => self.on_peer_link_down(peer),
            Input::Tick => self.on_tick(out),
            Input::AofDurable { offset } => self.on_aof_durable(offset, out),
            Input::MemoryUsed {
                allocated,
                resident,
            } => self.memory.report(allocated, resident, self.pending_end()),
            Input::AofRead {
                peer,
                session,
                offset,
                bytes,
                done,
            } => self.on_aof_read(peer, session, offset, bytes, done, out),
            Input::BaseRead {
                peer,
                session,
                offset,
                bytes,
                done,
            } => self.on_base_read(peer, session, (offset, bytes, done), out),
        }
        self.flush_aof(out);
        self.note_watched_changes(None);
        self.serve_blocked(out);
        self.review_own_sync(out);
        self.advance_compaction(out);
        self.release_blocked_clients(out);
        self.request_acks(out);
        self.refresh_status();
        self.check_invariants();
    }

    /// When the node next needs a `Tick`.
    pub fn deadline(&self) -> Instant {
        let mut deadline = self.election_deadline.min(self.heartbeat_deadline);
        deadline = deadline.min(self.expiry_deadline);
        if let Some(due) = self.own_sync_deadline() {
            deadline = deadline.min(due);
        }
        if let Some(due) = self.blocked_deadline() {
            deadline = deadline.min(due);
        }
        if let Some(upstream) = &self.upstream {
            deadline = deadline.min(upstream.retry_at);
        }
        if self.rewrite_has_slices() {
            // The rewrite's next slice runs as soon as the driver has served its I/O.
            deadline = deadline.min(self.now.instant);
        }
        let waits = self
            .waiting_clients
            .iter()
            .filter_map(|conn| self.clients[conn].wait_deadline());
        waits.fold(deadline, Instant::min)
    }

    pub fn role(&self) -> Role {
        self.status.role
    }

    pub fn term(&self) -> Term {
        self.meta.term
    }

    pub fn aof_end(&self) -> Offset {
        self.aof.end
    }

    /// Where the node holds its AOF durable: what it counts toward a commit, or acks.
    pub fn durable_end(&self) -> Offset {
        self.aof.durable_end
    }

    /// The term of the AOF's last record (zero for an empty AOF): what a vote compares.
    pub fn last_term(&self) -> Term {
        self.aof.last_term
    }

    /// The memory limit in force (CONFIG SET may have changed the configured one).
    pub fn maxmemory(&self) -> crate::memory::MaxMemory {
        self.memory.limit
    }

    /// Keys this node evicted in its life (INFO's `evicted_keys`).
    pub fn evicted_keys(&self) -> u64 {
        self.memory.evicted_keys
    }

    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    pub fn status(&self) -> &ClusterStatus {
        &self.status
    }

    pub fn reigns(&self) -> &[Reign] {
        &self.meta.reigns
    }

    /// The AOF offset the keyspace reflects: the AOF end, except while a replica
    /// rebuilds its keyspace from its own AOF after a truncation.
    pub fn applied_end(&self) -> Offset {
        self.rebuild.as_ref().map_or(self.aof.end, |r| r.applied)
    }

    /// Whether a reply of the client is still to come (WAIT, a reply held in majority
    /// mode): such a client is not idle, whatever its socket shows, and the idle timeout
    /// must spare it (as Redis).
    pub fn is_blocked(&self, conn: ConnectionId) -> bool {
        self.clients.get(&conn).is_some_and(|s| s.is_blocked())
    }

    pub fn voted_for(&self) -> Option<NodeId> {
        self.meta.voted_for
    }

    fn on_tick(&mut self, out: &mut Vec<Output>) {
        let now = self.now.instant;
        if now >= self.heartbeat_deadline {
            match self.status.role {
                Role::Master => self.on_heartbeat_timeout(out),
                Role::PreCandidate | Role::Candidate => self.on_vote_retry_timeout(out),
                Role::Replica => self.heartbeat_deadline = Instant(u64::MAX),
            }
        }
        if self.status.role != Role::Master && now >= self.election_deadline {
            self.on_election_timeout(out);
        }
        if self.upstream.as_ref().is_some_and(|u| now >= u.retry_at) {
            self.on_sync_retry_timeout(out);
        }
        if now >= self.expiry_deadline {
            self.on_expiry_timeout();
        }
    }

    fn on_peer_frame(&mut self, peer: NodeId, frame: &[u8], out: &mut Vec<Output>) {
        assert_ne!(peer, self.config.self_id, "a node never hears from itself");
        assert!(
            (peer.0 as usize) < self.config.members.len(),
            "peer is a member"
        );
        let message = match peer::decode(frame) {
            Ok(message) => message,
            Err(error) => {
                log(
                    out,
                    LogLevel::Warn,
                    format!(
                        "node {} sent a bad frame: {error}",
                        self.status.node_name(peer)
                    ),
                );
                out.push(Output::ResetPeer { peer });
                return;
            }
        };
        if matches!(message, Message::Data { .. } | Message::BaseData { .. }) {
            self.stats.net_repl_input_bytes += frame.len() as u64;
        }
        if let Some(term) = message_term(&message) {
            if term > self.meta.term && !defers_term(&message) {
                self.adopt_term(term, out);
            }
            if term == self.meta.term {
                let state = &mut self.peers[peer.0 as usize];
                state.last_heard = Some(self.now.instant);
                state.unanswered_since = None;
            }
        }
        self.dispatch(peer, message, out);
    }

    fn dispatch(&mut self, peer: NodeId, message: Message<'_>, out: &mut Vec<Output>) {
        match message {
            Message::Hello {
                version,
                client_addr,
                ..
            } => self.on_hello(peer, version, client_addr, out),
            Message::RequestVote {
                term,
                pre_vote,
                last_term,
                end,
            } => self.on_request_vote(peer, term, pre_vote, (last_term, end), out),
            Message::Vote {
                term,
                pre_vote,
                granted,
            } => self.on_vote(peer, term, pre_vote, granted, out),
            Message::Heartbeat {
                term,
                master_id,
                commit,
                sent_at_ms,
                session,
            } => self.on_heartbeat(
                peer,
                term,
                master_id,
                commit,
                (Instant(sent_at_ms), session),
                out,
            ),
            Message::HeartbeatAck { term, sent_at_ms } => {
                self.on_heartbeat_ack(peer, term, Instant(sent_at_ms))
            }
            Message::DenyHeartbeat { .. } => {} // Its newer term was adopted above.
            Message::SyncRequest {
                term,
                session,
                end,
                reigns,
            } => self.on_sync_request(peer, term, session, end, &reigns, out),
            Message::SyncAccept {
                term,
                session,
                master_id,
                kind,
                offset,
            } => self.on_sync_accept(peer, term, session, (master_id, kind, offset), out),
            Message::Data {
                term,
                session,
                offset,
                bytes,
            } => self.on_data(peer, term, session, offset, bytes, out),
            Message::BaseData {
                term,
                session,
                position,
                done,
                bytes,
            } => self.on_base_data(peer, (term, session), (position, bytes, done), out),
            Message::Ack { term, session, end } => self.on_ack(peer, term, session, end),
        }
    }

    fn on_hello(&mut self, peer: NodeId, version: u32, client_addr: &str, out: &mut Vec<Output>) {
        if version != peer::PROTOCOL_VERSION {
            log(
                out,
                LogLevel::Warn,
                format!(
                    "node {} speaks protocol {version}",
                    self.status.node_name(peer)
                ),
            );
            return;
        }
        let member = &mut self.status.members[peer.0 as usize];
        if member.client_addr != client_addr {
            member.client_addr = client_addr.to_string();
        }
    }

    fn on_peer_link_up(&mut self, peer: NodeId, out: &mut Vec<Output>) {
        self.status.members[peer.0 as usize].link_up = true;
        // Nothing sent while the link was down arrived: a feed started then (on a sync
        // request that came in on the peer's own link) lost its frames, and must start
        // again from a handshake.
        self.progress.remove(&peer);
        if self.status.role == Role::Master {
            self.send_heartbeat(peer, out);
        }
    }

    fn on_peer_link_down(&mut self, peer: NodeId) {
        self.status.members[peer.0 as usize].link_up = false;
        // Whatever was in flight is gone: the feed must start again from a handshake.
        self.progress.remove(&peer);
        if self.upstream.as_ref().is_some_and(|u| u.master == peer) {
            self.upstream = None;
            self.status.master_link_up = false;
        }
    }

    /// Active expiry, at the master only: replicas wait for the master's deletes, so
    /// their keyspaces stay equal to the replay of their AOFs.
    fn on_expiry_timeout(&mut self) {
        self.expiry_deadline = self.now.instant.add_ms(EXPIRY_INTERVAL_MS);
        self.stats.sample_ops(self.now.instant);
        if self.status.role != Role::Master && !self.planted_replica_expires_on_own_clock() {
            return;
        }
        let mut expired = Vec::new();
        let budget = self.config.limits.expiry_keys_per_tick_max;
        self.keyspace
            .collect_expired(self.now.unix, budget, &mut expired);
        self.stats.expired_keys += expired.len() as u64;
        for key in &expired {
            if self.status.role == Role::Master {
                self.log_effect(Effect::Del { key });
            } else {
                // The planted bug: a delete no record carries.
                self.keyspace.remove(key);
            }
        }
    }

    /// Log one record in the current term and apply it (the master's only write path
    /// outside commands, which use `commands::Store::apply` for the same two steps).
    fn log_effect(&mut self, effect: Effect<'_>) {
        assert_eq!(
            self.status.role,
            Role::Master,
            "only the master writes records"
        );
        let record = Record {
            term: self.meta.term,
            effect,
        };
        record::encode(&record, &mut self.aof.pending);
        replay::apply(&mut self.keyspace, &effect);
    }

    /// Hand this step's records to the driver as one append, feed them to the replicas,
    /// and, in majority mode, sync them so that this node counts toward the quorum.
    fn flush_aof(&mut self, out: &mut Vec<Output>) {
        if self.aof.pending.is_empty() {
            return;
        }
        assert_eq!(
            self.status.role,
            Role::Master,
            "only the master logs records itself"
        );
        let bytes = std::mem::take(&mut self.aof.pending);
        let offset = self.aof.end;
        self.aof.end = Offset(offset.0 + bytes.len() as u64);
        self.aof.last_term = self.meta.term;
        self.feed_replicas(offset, &bytes, out);
        out.push(Output::AppendAof { offset, bytes });
        self.after_append(out);
        self.advance_commit();
    }

    /// After records are appended: in majority mode they count only once the driver
    /// reports them durable, so ask for the fsync (one per loop pass, however many
    /// appends ask). A master may defer its own (`replication/own_sync.rs`).
    fn after_append(&mut self, out: &mut Vec<Output>) {
        match self.config.write_quorum {
            WriteQuorum::Majority if self.status.role == Role::Master => self.sync_own_appends(out),
            WriteQuorum::Majority => out.push(Output::SyncAof),
            WriteQuorum::Async => self.aof.durable_end = self.aof.end,
        }
        if self.planted_durable_before_fsync_report() {
            // Planted bug: the appended bytes count (and a replica acks them) at once.
            self.aof.durable_end = self.aof.end;
            if self.status.role != Role::Master {
                self.ack_durable(out);
            }
        }
    }

    /// The driver's fsync covered the AOF up to `offset`: a master counts itself that
    /// far toward the commit, a replica fed live acks it (once per fsync, not per
    /// record).
    fn on_aof_durable(&mut self, offset: Offset, out: &mut Vec<Output>) {
        if offset > self.aof.end {
            // A report can never cover bytes the AOF does not hold: a driver bug.
            let message = format!(
                "the AOF was reported durable to {} but ends at {}",
                offset.0, self.aof.end.0
            );
            log(out, LogLevel::Error, message);
            return;
        }
        if offset <= self.aof.durable_end {
            return;
        }
        self.aof.durable_end = offset;
        match self.status.role {
            Role::Master => self.advance_commit(),
            _ => self.ack_durable(out),
        }
    }

    fn persist_meta(&mut self, out: &mut Vec<Output>) {
        out.push(Output::PersistMeta {
            bytes: self.meta.encode(),
        });
    }

    /// Copy the figures commands report into the status.
    fn refresh_status(&mut self) {
        self.stats.connected_clients = self.clients.len();
        let waiting_only = self
            .waiting_clients
            .iter()
            .filter(|conn| self.clients[*conn].held.is_empty())
            .count();
        self.stats.blocked_clients = self.held_index.len() + waiting_only;
        self.stats.loading = self.rebuild.is_some();
        self.status.term = self.meta.term;
        self.status.aof_end = self.aof.end;
        self.status.current_master_id = self.meta.current_master_id;
        self.status.last_master_id = self.meta.last_master_id;
        self.status.replicas.clear();
        for (node, progress) in &self.progress {
            self.status
                .replicas
                .push(progress.status(*node, self.now.instant));
        }
    }

    fn check_invariants(&self) {
        assert!(
            self.aof.pending.is_empty(),
            "every record was handed to the driver"
        );
        assert!(
            self.aof.last_term <= self.meta.term,
            "no record is from a future term"
        );
        assert!(self.aof.durable_end <= self.aof.end);
        assert_eq!(self.status.aof_end, self.aof.end);
        assert!(
            self.status.commit <= self.aof.end,
            "commit never passes the AOF end"
        );
        assert!(self.votes.len() <= self.config.members.len());
        debug_assert!(self
            .waiting_clients
            .iter()
            .all(|c| self.clients[c].wait.is_some()));
        debug_assert!(
            self.clients.values().filter(|s| s.wait.is_some()).count()
                == self.waiting_clients.len()
        );
        self.check_held_invariants();
        debug_assert!(
            self.meta
                .reigns
                .windows(2)
                .all(|w| w[0].term < w[1].term && w[0].start <= w[1].start),
            "reigns are ordered by term and offset"
        );
        assert!(self
            .meta
            .reigns
            .last()
            .is_none_or(|r| r.start < self.aof.end));
        assert_eq!(
            self.aof.last_term,
            self.meta.reigns.last().map_or(Term(0), |r| r.term),
            "every record after a reign's start is of that reign's term"
        );
        if let Some(rebuild) = &self.rebuild {
            assert_eq!(self.status.role, Role::Replica, "only a replica rebuilds");
            assert!(rebuild.applied <= rebuild.target && rebuild.target == self.aof.end);
        }
        match self.status.role {
            Role::Master => {
                assert_eq!(self.status.master, Some(self.config.self_id));
                assert!(self.upstream.is_none(), "a master follows no one");
                let reign = self.meta.reigns.last().expect("a master has a reign");
                assert_eq!(
                    reign.term, self.meta.term,
                    "a master reigns in the current term"
                );
                assert_eq!(
                    self.meta.voted_for,
                    Some(self.config.self_id),
                    "a master voted for itself"
                );
                assert!(
                    self.status.commit == self.commit_inherited || self.status.commit > reign.start,
                    "the commit offset moves only past this reign's start record"
                );
            }
            Role::Candidate => assert_eq!(self.meta.voted_for, Some(self.config.self_id)),
            Role::Replica | Role::PreCandidate => {
                assert!(self.progress.is_empty(), "only a master feeds replicas");
            }
        }
    }
}

/// A line worth logging. Nothing depends on it; the sim keeps it in its trace.
pub(crate) fn log(out: &mut Vec<Output>, level: LogLevel, message: String) {
    out.push(Output::Log { level, message });
}

/// The term a message carries, if any.
fn message_term(message: &Message<'_>) -> Option<Term> {
    match *message {
        Message::Hello { .. } => None,
        Message::RequestVote { term, .. }
        | Message::Vote { term, .. }
        | Message::Heartbeat { term, .. }
        | Message::HeartbeatAck { term, .. }
        | Message::DenyHeartbeat { term }
        | Message::SyncRequest { term, .. }
        | Message::SyncAccept { term, .. }
        | Message::Data { term, .. }
        | Message::BaseData { term, .. }
        | Message::Ack { term, .. } => Some(term),
    }
}

/// Messages whose newer term is not adopted on receipt: a PreVote request and its
/// grant carry a hypothetical term, and a vote request's term is adopted only once
/// leader stickiness allows it (`on_request_vote`).
fn defers_term(message: &Message<'_>) -> bool {
    matches!(
        message,
        Message::RequestVote { .. }
            | Message::Vote {
                pre_vote: true,
                granted: true,
                ..
            }
    )
}
