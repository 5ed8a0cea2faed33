//! The node: `step` dispatches each input, by input and then by role, and checks the
//! invariants at the end of every step.

mod clients;
mod recover;

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::aof::record::{self, Effect, Record};
use crate::aof::replay;
use crate::config::Config;
use crate::ids::{ConnectionId, MasterId, Offset, Term};
use crate::input::Input;
use crate::keyspace::Keyspace;
use crate::meta::{Meta, Reign};
use crate::output::{LogLevel, Output};
use crate::resp::Request;
use crate::session::Session;
use crate::status::{member_name, ClusterStatus, MemberStatus};
use crate::time::{Instant, Now};

pub use crate::status::Role;
pub use recover::{RecoverError, Recovery};

/// The AOF as the node tracks it: where it ends and what its last record's term is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AofPosition {
    pub end: Offset,
    pub last_term: Term,
    /// Records logged during the current step, not yet handed to the driver.
    pub pending: Vec<u8>,
}

pub struct Node {
    pub(crate) config: Config,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) keyspace: Keyspace,
    pub(crate) aof: AofPosition,
    pub(crate) meta: Meta,
    pub(crate) status: ClusterStatus,
    pub(crate) clients: BTreeMap<ConnectionId, Session>,
    /// Reused parse buffer, so parsing allocates nothing per request once warm.
    pub(crate) request: Request,
    pub(crate) now: Now,
    /// When the next timer fires (election timeout, heartbeat, expiry, WAIT deadline).
    pub(crate) election_deadline: Instant,
    pub(crate) expiry_deadline: Instant,
}

/// How often active expiry runs, as Redis's `hz 10`.
const EXPIRY_INTERVAL_MS: u64 = 100;

impl Node {
    fn new(config: Config, seed: u64, keyspace_seed: (u64, u64)) -> Node {
        let members = config
            .members
            .iter()
            .map(|m| MemberStatus {
                client_addr: m.client_addr.clone(),
                cluster_addr: m.cluster_addr.clone(),
                name: member_name(&m.cluster_addr),
                link_up: false,
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
        };
        Node {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            keyspace: Keyspace::new(keyspace_seed),
            aof: AofPosition::default(),
            meta: Meta::default(),
            status,
            clients: BTreeMap::new(),
            request: Request::new(),
            now: Now::default(),
            election_deadline: Instant(0),
            expiry_deadline: Instant(0),
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
        match input {
            Input::ClientConnected { conn, loopback } => self.on_client_connected(conn, loopback),
            Input::ClientData { conn, bytes } => self.on_client_data(conn, bytes, out),
            Input::ClientClosed { conn } => self.on_client_closed(conn),
            Input::Tick => self.on_tick(out),
            Input::PeerMessage { .. }
            | Input::PeerLinkUp { .. }
            | Input::PeerLinkDown { .. }
            | Input::AofRead { .. } => {}
        }
        self.flush_aof(out);
        self.check_invariants();
    }

    /// When the node next needs a `Tick`.
    pub fn deadline(&self) -> Instant {
        self.election_deadline.min(self.expiry_deadline)
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

    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    pub fn status(&self) -> &ClusterStatus {
        &self.status
    }

    pub fn reigns(&self) -> &[Reign] {
        &self.meta.reigns
    }

    fn on_tick(&mut self, out: &mut Vec<Output>) {
        if self.now.instant >= self.election_deadline && self.status.role != Role::Master {
            self.on_election_timeout(out);
        }
        if self.now.instant >= self.expiry_deadline {
            self.on_expiry_timeout();
        }
    }

    /// A one-node cluster is its own majority: it becomes master at once.
    fn on_election_timeout(&mut self, out: &mut Vec<Output>) {
        assert_eq!(
            self.config.member_count(),
            1,
            "cluster elections are not wired yet"
        );
        self.become_master(out);
    }

    fn become_master(&mut self, out: &mut Vec<Output>) {
        assert_ne!(self.status.role, Role::Master);
        let term = Term(self.meta.term.0 + 1);
        let master_id = MasterId(self.rng.next_u64() | 1);
        self.meta.term = term;
        self.meta.voted_for = Some(self.config.self_id);
        self.meta.last_master_id = self.meta.current_master_id;
        self.meta.current_master_id = master_id;
        self.meta.reigns.push(Reign {
            master_id,
            term,
            start: self.aof.end,
        });
        out.push(Output::PersistMeta {
            bytes: self.meta.encode(),
        });
        self.log_effect(Effect::ReignStart { master_id });
        self.status.role = Role::Master;
        self.status.term = term;
        self.status.master = Some(self.config.self_id);
        self.status.current_master_id = master_id;
        self.status.last_master_id = self.meta.last_master_id;
        self.election_deadline = Instant(u64::MAX);
        out.push(Output::Log {
            level: LogLevel::Info,
            message: format!(
                "became master in term {} with master id {master_id}",
                term.0
            ),
        });
    }

    /// Active expiry, at the master only: replicas wait for the master's deletes, so
    /// their keyspaces stay equal to the replay of their AOFs.
    fn on_expiry_timeout(&mut self) {
        self.expiry_deadline = self.now.instant.add_ms(EXPIRY_INTERVAL_MS);
        if self.status.role != Role::Master {
            return;
        }
        let mut expired = Vec::new();
        let budget = self.config.limits.expiry_keys_per_tick_max;
        self.keyspace
            .collect_expired(self.now.unix, budget, &mut expired);
        for key in &expired {
            self.log_effect(Effect::Del { key });
        }
    }

    /// Log one record in the current term and apply it (the master's only write path
    /// outside commands, which use `commands::Store::apply` for the same two steps).
    fn log_effect(&mut self, effect: Effect<'_>) {
        let record = Record {
            term: self.meta.term,
            effect,
        };
        record::encode(&record, &mut self.aof.pending);
        replay::apply(&mut self.keyspace, &effect);
    }

    /// Hand this step's records to the driver as one append.
    fn flush_aof(&mut self, out: &mut Vec<Output>) {
        if self.aof.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.aof.pending);
        let offset = self.aof.end;
        self.aof.end = Offset(offset.0 + bytes.len() as u64);
        self.aof.last_term = self.meta.term;
        self.status.aof_end = self.aof.end;
        self.status.commit = self.aof.end;
        out.push(Output::AppendAof { offset, bytes });
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
        assert_eq!(self.status.aof_end, self.aof.end);
        assert!(
            self.status.commit <= self.aof.end,
            "commit never passes the AOF end"
        );
        debug_assert!(
            self.meta
                .reigns
                .windows(2)
                .all(|w| w[0].term < w[1].term && w[0].start <= w[1].start),
            "reigns are ordered by term and offset"
        );
        if self.status.role == Role::Master {
            assert_eq!(self.status.master, Some(self.config.self_id));
            let reign = self.meta.reigns.last().expect("a master has a reign");
            assert_eq!(
                reign.term, self.meta.term,
                "a master reigns in the current term"
            );
        }
    }
}
