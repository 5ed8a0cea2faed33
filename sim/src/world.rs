//! The world: N real nodes, their disks, the network and the clients, driven by one
//! event queue on a virtual clock. Events are ordered by (time, sequence number), so two
//! events at the same millisecond run in the order they were scheduled, and nothing
//! depends on a hash map's iteration order.

mod aof_stream;
mod attribution;
mod base_files;
mod checks;
mod client_io;
pub use checks::FinalFindings;
pub use memory::MODEL_BASE_BYTES;
pub mod clock;
mod disk_faults;
pub mod faults;
mod fsync;
mod memory;
mod outputs;
mod pause;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use bucket_core::config::{Limits, Member};
use bucket_core::{Config, Input, Node, NodeId, Now, Output, Role};
use rand_chacha::ChaCha8Rng;

use crate::checkers::acks::AckLedger;
use crate::checkers::election::ElectionSafety;
use crate::checkers::reign::ReignGuard;
use crate::checkers::Violation;
use crate::client::{self, Clients};
use crate::disk::Disk;
use crate::network::{Network, NetworkOptions};
use crate::options::Options;
use crate::seed::Seeds;
use crate::trace::Trace;
use clock::Clock;

/// Unix time at virtual time zero: 2024-01-01T00:00:00Z.
pub const UNIX_EPOCH_OFFSET_MS: u64 = 1_704_067_200_000;
/// Events one run may process: a bound on runaway loops (a timer that never advances).
pub const EVENTS_MAX: u64 = 200_000_000;
/// A checker that names the driver contract: the node asked for something impossible.
pub const DRIVER_CONTRACT: &str = "driver contract";
/// A node's own assertion fired (a panic inside core).
pub const CORE_ASSERTION: &str = "core assertion";

#[derive(Clone, Debug)]
pub enum Event {
    Tick {
        node: usize,
        incarnation: u64,
    },
    PeerFrame {
        from: usize,
        to: usize,
        /// The link epoch it was sent in; `None` for a frame delivered outside its
        /// link (one from an old connection, or a duplicate).
        epoch: Option<u64>,
        /// The receiver's life it was sent to: no other life can read it.
        to_incarnation: u64,
        frame: Vec<u8>,
    },
    /// Tell `from` its link to `to` went down.
    LinkDownNotice {
        from: usize,
        to: usize,
        incarnation: u64,
    },
    LinkReconnect {
        from: usize,
        to: usize,
    },
    /// The next chunk of a `StreamBase`: the base as it was when the stream began (the
    /// daemon holds the file open).
    BaseReadChunk {
        node: usize,
        incarnation: u64,
        peer: NodeId,
        session: u64,
        base: std::rc::Rc<Vec<u8>>,
        position: usize,
    },
    /// The next chunk of a `StreamAof` range, read from the disk when it fires (as the
    /// daemon reads lazily, one chunk per pass), so it sees truncations made meanwhile.
    AofReadChunk {
        node: usize,
        incarnation: u64,
        peer: NodeId,
        session: u64,
        next: u64,
        end: u64,
    },
    /// Client-to-node traffic.
    ClientConnect {
        node: usize,
        conn: u64,
        client: usize,
    },
    ClientData {
        node: usize,
        conn: u64,
        bytes: Vec<u8>,
    },
    ClientClose {
        node: usize,
        conn: u64,
    },
    /// Node-to-client traffic.
    ClientReply {
        client: usize,
        conn: u64,
        bytes: Vec<u8>,
    },
    ClientDisconnected {
        client: usize,
        conn: u64,
    },
    ClientWake {
        client: usize,
    },
    Crash,
    Restart {
        node: usize,
    },
    PartitionStart,
    PartitionHeal,
    /// Pause a random running node (the fault schedule).
    PauseStart,
    Resume {
        node: usize,
        incarnation: u64,
    },
    /// Step a node's wall clock (the fault schedule).
    ClockStep,
    /// `appendfsync everysec`'s background sync is due.
    FsyncTimer {
        node: usize,
        incarnation: u64,
    },
    /// The fsync running at a node (asked for with `SyncAof`, or everysec's) returns.
    FsyncDone {
        node: usize,
        incarnation: u64,
    },
    LivenessStart,
    Check,
    ConvergenceCheck,
}

/// An event in the queue, ordered by (time, sequence number) alone.
struct Scheduled {
    at_ms: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Scheduled) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Scheduled) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Scheduled) -> Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

/// One node's place in the world: the node while it runs, and what the world tracks.
pub struct Slot {
    pub node: Option<Node>,
    /// Bumped on every crash: events for an earlier life are dropped.
    pub incarnation: u64,
    tick_at_ms: Option<u64>,
    role_last: Role,
    term_last: u64,
    pub config: Config,
    /// The machine's clocks: they survive the node's crashes.
    pub clock: Clock,
    /// Paused until this true time: events for the node wait in `held`.
    pub paused_until_ms: Option<u64>,
    held: Vec<Event>,
    /// The fault schedule picked this node to crash inside its next step.
    crash_in_step: bool,
    /// The fsync the node asked for, while it runs.
    fsync: Option<fsync::FsyncInFlight>,
    /// While master, for each peer: the true time of the first heartbeat this node
    /// sent the peer since it last received a frame from it (`None`: none since).
    silent_since: Vec<Option<u64>>,
    /// The fsync policy now: the config's at boot, then as `ApplySettings` says.
    appendfsync: crate::options::AppendFsync,
    /// An `appendfsync everysec` timer is scheduled for this life.
    everysec_timer: bool,
}

/// A client connection as the world sees it.
#[derive(Clone, Copy, Debug)]
struct ConnInfo {
    client: usize,
    node: usize,
}

pub struct World {
    pub seeds: Seeds,
    pub options: Options,
    pub now_ms: u64,
    seq: u64,
    /// The earliest event on top.
    queue: BinaryHeap<Reverse<Scheduled>>,
    pub slots: Vec<Slot>,
    pub disks: Vec<Disk>,
    pub network: Network,
    pub clients: Clients,
    conns: BTreeMap<u64, ConnInfo>,
    /// The operations whose requests were last sent on each connection, in request
    /// order (a client has one packet out at a time): a node may serve them after the
    /// client gave up (a paused node).
    request_ops: BTreeMap<u64, Vec<usize>>,
    pub trace: Trace,
    disk_rng: ChaCha8Rng,
    fault_rng: ChaCha8Rng,
    pause_rng: ChaCha8Rng,
    crash_point_rng: ChaCha8Rng,
    election: ElectionSafety,
    acks: AckLedger,
    /// The histories the bases nodes wrote stand for.
    base_histories: crate::disk::BaseHistories,
    reign_guard: ReignGuard,
    pub violation: Option<Violation>,
    /// Faults are being injected (the faulty phase).
    pub faults_active: bool,
    pub liveness_start_ms: Option<u64>,
    pub converged_at_ms: Option<u64>,
    pub events: u64,
    outputs: Vec<Output>,
    /// A fault asked for the node being stepped to crash after the output in hand.
    crash_now: bool,
}

pub fn node_config(options: &Options, index: usize) -> Config {
    let members = (0..options.node_count)
        .map(|i| Member {
            client_addr: client::client_addr(i),
            cluster_addr: client::cluster_addr(i),
        })
        .collect();
    Config {
        members,
        self_id: NodeId(index as u32),
        heartbeat_ms: 100,
        election_timeout_ms_min: 300,
        election_timeout_ms_max: 600,
        write_quorum: options.write_quorum,
        requirepass: None,
        protected_mode: false,
        cluster_allow_reads_when_down: false,
        aof_rewrite: options.aof_rewrite,
        maxmemory: options.maxmemory,
        process: bucket_core::config::ProcessInfo::default(),
        daemon: bucket_core::settings::DaemonSettings {
            appendfsync: options.appendfsync,
            ..Default::default()
        },
        limits: Limits {
            rewrite_keys_per_step: options.rewrite_keys_per_step,
            own_sync_delay_ms: options.own_sync_delay_ms,
            ..Limits::default()
        },
        planted_bug: options.planted_bug,
    }
}

impl World {
    /// A world with every node booted from an empty disk and no faults scheduled.
    pub fn new(seed: u64, mut options: Options) -> World {
        assert!(options.node_count >= 1, "a cluster has a node");
        // Evictions and `-OOM` are outcomes no client asked for, which the majority
        // runs' linearizability checkers would take for lost or phantom writes: a run
        // made majority after its draw (an override, a plan) runs without a limit.
        if options.write_quorum != bucket_core::WriteQuorum::Async {
            options.maxmemory = bucket_core::memory::MaxMemory::default();
        }
        let seeds = Seeds::new(seed);
        let network_options = NetworkOptions {
            one_way_delay_min_ms: options.one_way_delay_min_ms,
            one_way_delay_mean_ms: options.one_way_delay_mean_ms,
            one_way_delay_max_ms: options.one_way_delay_max_ms,
            packet_loss_probability: options.packet_loss_probability,
            reconnect_backoff_ms_min: options.reconnect_backoff_ms_min,
            reconnect_backoff_ms_max: options.reconnect_backoff_ms_max,
            late_frame_probability: options.late_frame_probability,
            duplicate_frame_probability: options.duplicate_frame_probability,
            late_frame_delay_ms_max: options.late_frame_delay_ms_max,
        };
        let mut clock_rng = seeds.clocks();
        let slots = (0..options.node_count)
            .map(|i| Slot {
                node: None,
                incarnation: 0,
                tick_at_ms: None,
                role_last: Role::Replica,
                term_last: 0,
                config: node_config(&options, i),
                clock: clock::draw(&mut clock_rng, options.clock_drift_ppm_max),
                paused_until_ms: None,
                held: Vec::new(),
                crash_in_step: false,
                fsync: None,
                silent_since: vec![None; options.node_count],
                appendfsync: options.appendfsync,
                everysec_timer: false,
            })
            .collect();
        let mut world = World {
            seeds,
            network: Network::new(
                options.node_count,
                network_options,
                (seeds.network(), seeds.late_frames()),
            ),
            clients: Clients::new(&options, seeds.workload()),
            disks: vec![Disk::default(); options.node_count],
            slots,
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            conns: BTreeMap::new(),
            request_ops: BTreeMap::new(),
            trace: Trace::default(),
            disk_rng: seeds.disk(),
            fault_rng: seeds.faults(),
            pause_rng: seeds.pauses(),
            crash_point_rng: seeds.crash_points(),
            election: ElectionSafety::default(),
            acks: AckLedger::default(),
            base_histories: crate::disk::BaseHistories::default(),
            reign_guard: ReignGuard::new(options.node_count),
            violation: None,
            faults_active: false,
            liveness_start_ms: None,
            converged_at_ms: None,
            events: 0,
            outputs: Vec::new(),
            crash_now: false,
            options,
        };
        world.trace.echo = world.options.echo_timeline;
        for node in 0..world.options.node_count {
            world.boot(node);
        }
        world
    }

    pub fn schedule(&mut self, at_ms: u64, event: Event) {
        assert!(at_ms >= self.now_ms, "scheduled in the past");
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at_ms,
            seq: self.seq,
            event,
        }));
    }

    /// Start the clients: they issue operations until told to stop.
    pub fn start_clients(&mut self) {
        for (client, at_ms) in self.clients.start(self.now_ms) {
            self.schedule(at_ms, Event::ClientWake { client });
        }
    }

    /// Process the next event. Returns false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        let Some(Reverse(Scheduled { at_ms, event, .. })) = self.queue.pop() else {
            return false;
        };
        assert!(at_ms >= self.now_ms, "the clock never goes back");
        self.now_ms = at_ms;
        self.events += 1;
        assert!(
            self.events <= EVENTS_MAX,
            "event budget exhausted: a runaway loop"
        );
        if let Some(event) = self.hold_if_paused(event) {
            self.dispatch(event);
        }
        true
    }

    /// Run until `until_ms` of simulated time, or until a checker fires.
    pub fn run_until(&mut self, until_ms: u64) {
        while self.violation.is_none() {
            match self.queue.peek() {
                Some(Reverse(next)) if next.at_ms <= until_ms => {
                    self.step();
                }
                _ => break,
            }
        }
        self.now_ms = self.now_ms.max(until_ms);
    }

    /// Run until `done(world)` holds (checked after each event) or `until_ms` passes.
    /// Returns whether `done` held.
    pub fn run_until_with(&mut self, until_ms: u64, done: impl Fn(&World) -> bool) -> bool {
        while self.violation.is_none() && !done(self) {
            match self.queue.peek() {
                Some(Reverse(next)) if next.at_ms <= until_ms => {
                    self.step();
                }
                _ => return done(self),
            }
        }
        done(self)
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Tick { node, incarnation } => self.on_tick(node, incarnation),
            Event::PeerFrame {
                from,
                to,
                epoch,
                to_incarnation,
                frame,
            } => self.on_peer_frame(from, to, (epoch, to_incarnation), frame),
            Event::LinkDownNotice {
                from,
                to,
                incarnation,
            } => self.on_link_down_notice(from, to, incarnation),
            Event::LinkReconnect { from, to } => self.on_link_reconnect(from, to),
            Event::BaseReadChunk {
                node,
                incarnation,
                peer,
                session,
                base,
                position,
            } => {
                if self.is_incarnation(node, incarnation) {
                    self.read_base_chunk(node, peer, session, (base, position));
                }
            }
            Event::AofReadChunk {
                node,
                incarnation,
                peer,
                session,
                next,
                end,
            } => {
                if self.is_incarnation(node, incarnation) {
                    self.read_aof_chunk(node, peer, session, (next, end));
                }
            }
            Event::ClientConnect { node, conn, client } => {
                self.on_client_connect(node, conn, client)
            }
            Event::ClientData { node, conn, bytes } => self.on_client_data(node, conn, &bytes),
            Event::ClientClose { node, conn } => self.on_client_close(node, conn),
            Event::ClientReply {
                client,
                conn,
                bytes,
            } => {
                self.trace
                    .event(self.now_ms, "client-reply", &[client as u64, conn], &bytes);
                let mut actions = Vec::new();
                self.clients
                    .on_reply(client, conn, &bytes, self.now_ms, &mut actions);
                self.execute_client_actions(client, actions);
            }
            Event::ClientDisconnected { client, conn } => {
                self.trace.event(
                    self.now_ms,
                    "client-disconnected",
                    &[client as u64, conn],
                    b"",
                );
                let mut actions = Vec::new();
                self.clients
                    .on_disconnect(client, conn, self.now_ms, &mut actions);
                self.execute_client_actions(client, actions);
            }
            Event::ClientWake { client } => {
                self.trace
                    .event(self.now_ms, "client-wake", &[client as u64], b"");
                let mut actions = Vec::new();
                self.clients.on_wake(client, self.now_ms, &mut actions);
                self.execute_client_actions(client, actions);
            }
            Event::Crash => self.on_crash_timer(),
            Event::Restart { node } => self.restart(node),
            Event::PartitionStart => self.on_partition_timer(),
            Event::PartitionHeal => self.heal(),
            Event::PauseStart => self.on_pause_timer(),
            Event::Resume { node, incarnation } => self.on_resume(node, incarnation),
            Event::ClockStep => self.on_clock_step_timer(),
            Event::FsyncTimer { node, incarnation } => self.on_fsync_timer(node, incarnation),
            Event::FsyncDone { node, incarnation } => self.on_fsync_done(node, incarnation),
            Event::LivenessStart => self.start_liveness(),
            Event::Check => self.on_check_timer(),
            Event::ConvergenceCheck => self.on_convergence_check(),
        }
    }

    fn is_incarnation(&self, node: usize, incarnation: u64) -> bool {
        let slot = &self.slots[node];
        slot.node.is_some() && slot.incarnation == incarnation
    }

    /// What node `index`'s clocks read now.
    pub fn now_at(&self, index: usize) -> Now {
        self.slots[index]
            .clock
            .now(self.now_ms, UNIX_EPOCH_OFFSET_MS)
    }

    fn on_tick(&mut self, node: usize, incarnation: u64) {
        if !self.is_incarnation(node, incarnation)
            || self.slots[node].tick_at_ms != Some(self.now_ms)
        {
            return; // A tick for an earlier life, or one that was rescheduled.
        }
        self.trace.event(self.now_ms, "tick", &[node as u64], b"");
        self.slots[node].tick_at_ms = None;
        self.report_memory(node);
        if self.is_incarnation(node, incarnation) {
            self.step_node(node, Input::Tick);
        }
    }

    fn on_peer_frame(
        &mut self,
        from: usize,
        to: usize,
        (epoch, to_incarnation): (Option<u64>, u64),
        frame: Vec<u8>,
    ) {
        if !self.is_incarnation(to, to_incarnation) {
            return; // The receiving process died: its sockets died with it.
        }
        let current = epoch.is_none_or(|e| self.network.is_current(from, to, e));
        if !current {
            // The link reset since. Usually the frame is lost with it; sometimes it
            // was already in the receiver's buffers and is read late, after frames
            // of the new connection.
            if let Some(delay_ms) = self.network.late_delivery_ms() {
                let event = Event::PeerFrame {
                    from,
                    to,
                    epoch: None,
                    to_incarnation,
                    frame,
                };
                self.schedule(self.now_ms + delay_ms, event);
            }
            return;
        }
        let kind = if epoch.is_none() {
            "late-frame"
        } else {
            "peer-frame"
        };
        self.trace
            .event(self.now_ms, kind, &[from as u64, to as u64], &frame);
        self.slots[to].silent_since[from] = None;
        let input = Input::PeerMessage {
            peer: NodeId(from as u32),
            frame: &frame,
        };
        self.step_node(to, input);
    }

    fn on_link_down_notice(&mut self, from: usize, to: usize, incarnation: u64) {
        if !self.is_incarnation(from, incarnation) {
            return;
        }
        self.trace
            .event(self.now_ms, "link-down", &[from as u64, to as u64], b"");
        self.step_node(
            from,
            Input::PeerLinkDown {
                peer: NodeId(to as u32),
            },
        );
    }

    fn on_link_reconnect(&mut self, from: usize, to: usize) {
        if self.slots[from].node.is_none() {
            self.network.link_mut(from, to).reconnect_scheduled = false;
            return; // Its restart schedules the next attempt.
        }
        if self.network.connect(from, to) {
            self.trace
                .event(self.now_ms, "link-up", &[from as u64, to as u64], b"");
            self.step_node(
                from,
                Input::PeerLinkUp {
                    peer: NodeId(to as u32),
                },
            );
        } else if self.network.link(from, to).state != crate::network::LinkState::Up {
            self.schedule_reconnect(from, to);
        }
    }

    pub(crate) fn schedule_reconnect(&mut self, from: usize, to: usize) {
        if self.network.link(from, to).reconnect_scheduled {
            return;
        }
        self.network.link_mut(from, to).reconnect_scheduled = true;
        let at_ms = self.now_ms + self.network.reconnect_backoff_ms();
        self.schedule(at_ms, Event::LinkReconnect { from, to });
    }

    /// Cut a link and tell its sender (if alive) once this event is done.
    pub(crate) fn cut_link(&mut self, from: usize, to: usize) {
        let was_up = self.network.cut(from, to);
        if was_up && self.slots[from].node.is_some() {
            let incarnation = self.slots[from].incarnation;
            self.schedule(
                self.now_ms,
                Event::LinkDownNotice {
                    from,
                    to,
                    incarnation,
                },
            );
        }
        if self.slots[from].node.is_some() {
            self.schedule_reconnect(from, to);
        }
    }

    /// Step one node with one input, observe it, and execute its outputs.
    pub fn step_node(&mut self, index: usize, input: Input<'_>) {
        let now = self.now_at(index);
        let writes_in_flight = self.writes_in_flight(index, &input);
        let mut outputs = std::mem::take(&mut self.outputs);
        outputs.clear();
        let node = self.slots[index]
            .node
            .as_mut()
            .expect("only live nodes are stepped");
        node.step(now, input, &mut outputs);
        self.observe(index);
        if let Some(writes) = writes_in_flight {
            self.attribute(index, writes, &outputs);
        }
        self.execute_outputs(index, &mut outputs);
        self.check_after_step(index, matches!(input, Input::Tick));
        self.schedule_tick(index, matches!(input, Input::Tick));
        self.outputs = outputs;
    }

    fn schedule_tick(&mut self, index: usize, was_tick: bool) {
        let Some(node) = self.slots[index].node.as_ref() else {
            return;
        };
        let deadline_ms = node.deadline().0;
        if deadline_ms == u64::MAX {
            self.slots[index].tick_at_ms = None;
            return;
        }
        let mut at_ms = self.slots[index]
            .clock
            .true_ms_at(deadline_ms)
            .max(self.now_ms);
        if was_tick && at_ms == self.now_ms {
            at_ms += 1; // A timer that did not advance must not spin at one instant.
        }
        if self.slots[index].tick_at_ms == Some(at_ms) {
            return;
        }
        self.slots[index].tick_at_ms = Some(at_ms);
        let incarnation = self.slots[index].incarnation;
        self.schedule(
            at_ms,
            Event::Tick {
                node: index,
                incarnation,
            },
        );
    }

    /// After every step: election safety, reigns led, and the timeline of roles.
    fn observe(&mut self, index: usize) {
        let node = self.slots[index].node.as_ref().expect("stepped");
        let (role, term) = (node.role(), node.term().0);
        let reign_start = node.reigns().last().map(|r| (r.term.0, r.start.0));
        if role == Role::Master {
            if let Err(v) = self.election.observe_master(index, term) {
                self.fail(v);
            }
            if let Some((reign_term, start)) = reign_start.filter(|&(t, _)| t == term) {
                self.reign_guard.observe_reign(index, reign_term, start);
            }
        }
        let slot = &mut self.slots[index];
        if role != slot.role_last && role != Role::Master {
            slot.silent_since.fill(None);
        }
        if role != slot.role_last || term != slot.term_last {
            slot.role_last = role;
            slot.term_last = term;
            self.trace.note(
                self.now_ms,
                format!("node {index}: {role:?} in term {term}"),
            );
        }
    }

    /// Record the first violation; the run stops at it.
    pub fn fail(&mut self, violation: Violation) {
        self.trace
            .note(self.now_ms, format!("VIOLATION {violation}"));
        if self.violation.is_none() {
            self.violation = Some(violation);
        }
    }

    /// The node that is master now, if exactly one live node is.
    pub fn master(&self) -> Option<usize> {
        let masters: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.slots[i]
                    .node
                    .as_ref()
                    .is_some_and(|n| n.role() == Role::Master)
            })
            .collect();
        match masters.as_slice() {
            &[m] => Some(m),
            _ => None,
        }
    }

    pub fn node(&self, index: usize) -> Option<&Node> {
        self.slots[index].node.as_ref()
    }

    /// The readable timeline so far.
    pub fn timeline(&self) -> String {
        let history = &self.clients.history;
        self.trace
            .timeline(|op| crate::workload::describe(&history.ops[op]))
    }

    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }
}
