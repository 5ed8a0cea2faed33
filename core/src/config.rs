//! The node's configuration: cluster membership, timers, quorum mode and limits.
//! Runtime limits are checked once, here, in [`Config::validate`].

use crate::ids::NodeId;

/// The most that any node's clock may run fast or slow against real time, in parts per
/// million. A master's read lease is shortened by this margin (etcd and the Raft thesis
/// bound drift the same way), so a lease stays sound between two clocks that drift
/// apart by up to twice this. The simulator draws clock drift within it.
pub const CLOCK_DRIFT_PPM_MAX: u64 = 5_000;
const _: () = assert!(
    CLOCK_DRIFT_PPM_MAX < 100_000,
    "a lease needs most of its length"
);

/// How a write is acknowledged to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteQuorum {
    /// Reply once the record is in the master's AOF (under the driver's fsync policy).
    /// Replication is asynchronous, as in Redis.
    Async,
    /// Reply only once a majority of nodes hold the record durably.
    Majority,
}

/// One cluster member as every node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// `host:port` that clients use; named in `-MOVED` redirects.
    pub client_addr: String,
    /// `host:clusterPort` that peers use; the member's identity.
    pub cluster_addr: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Redis `proto-max-bulk-len`.
    pub bulk_len_max: usize,
    /// Most arguments in one request (Redis allows 1024*1024).
    pub multibulk_len_max: usize,
    /// Longest inline command line (Redis: 64 KiB).
    pub inline_len_max: usize,
    /// Redis `client-query-buffer-limit`: unparsed bytes kept per client.
    pub query_buffer_bytes_max: usize,
    /// Largest peer frame accepted.
    pub peer_frame_bytes_max: usize,
    /// Recent AOF bytes the master keeps in memory for replicas that are close behind.
    pub backlog_bytes_max: usize,
    /// Keys examined per tick by active expiry.
    pub expiry_keys_per_tick_max: usize,
    /// Keys an AOF rewrite's snapshot cursor visits per step.
    pub rewrite_keys_per_step: usize,
    /// Majority mode: how long a master defers the fsync of its own appends while the
    /// live replicas can commit them alone; zero fsyncs at once.
    pub own_sync_delay_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            bulk_len_max: 512 * 1024 * 1024,
            multibulk_len_max: 1024 * 1024,
            inline_len_max: 64 * 1024,
            query_buffer_bytes_max: 1024 * 1024 * 1024,
            peer_frame_bytes_max: 64 * 1024 * 1024,
            backlog_bytes_max: 16 * 1024 * 1024,
            expiry_keys_per_tick_max: 200,
            rewrite_keys_per_step: 2048,
            own_sync_delay_ms: 2,
        }
    }
}

/// Redis's automatic AOF rewrite: compact once the AOF (base plus tail) is at least
/// `min_size_bytes` and has grown by `percentage` percent over the base of the last
/// rewrite (any size counts as growth when there is no base yet). A percentage of zero
/// turns automatic rewrites off; `BGREWRITEAOF` still works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AofRewrite {
    /// `auto-aof-rewrite-percentage` (YAML `autoAofRewritePercentage`).
    pub percentage: u64,
    /// `auto-aof-rewrite-min-size` (YAML `autoAofRewriteMinSize`).
    pub min_size_bytes: u64,
}

impl Default for AofRewrite {
    fn default() -> AofRewrite {
        AofRewrite {
            percentage: 100,
            min_size_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Every member, including this node, in one order that all nodes share.
    pub members: Vec<Member>,
    /// This node's index in `members`.
    pub self_id: NodeId,
    pub heartbeat_ms: u64,
    pub election_timeout_ms_min: u64,
    pub election_timeout_ms_max: u64,
    pub write_quorum: WriteQuorum,
    /// Client password (`requirepass`); `None` means no authentication.
    pub requirepass: Option<Vec<u8>>,
    /// Refuse non-loopback clients when no password is set, as Redis does.
    pub protected_mode: bool,
    /// Answer reads while no master is known (Redis Cluster's
    /// `cluster-allow-reads-when-down`); by default such a node says `-CLUSTERDOWN`.
    pub cluster_allow_reads_when_down: bool,
    pub limits: Limits,
    /// When the AOF is compacted on its own (Redis's `auto-aof-rewrite-*`).
    pub aof_rewrite: AofRewrite,
    /// The memory limit and what happens at it (Redis's `maxmemory*`).
    pub maxmemory: crate::memory::MaxMemory,
    /// What `INFO server` says of the process, as the driver knows it.
    pub process: ProcessInfo,
    /// The driver's settings as it starts, which CONFIG SET may change later.
    pub daemon: crate::settings::DaemonSettings,
    /// The bug this node runs with, in simulator tests of the checkers.
    #[cfg(feature = "planted-bugs")]
    pub planted_bug: Option<PlantedBug>,
}

/// The process a node runs in, for `INFO server`: the core has no way to ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    pub process_id: u32,
    /// `uname -srm`, as Redis prints it.
    pub os: String,
    pub executable: String,
    pub config_file: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// A one-node cluster: it elects itself master as it starts. Used by tests and `configs/single.yml`.
    pub fn single(client_addr: &str, cluster_addr: &str) -> Config {
        Config {
            members: vec![Member {
                client_addr: client_addr.to_string(),
                cluster_addr: cluster_addr.to_string(),
            }],
            self_id: NodeId(0),
            heartbeat_ms: 100,
            election_timeout_ms_min: 300,
            election_timeout_ms_max: 600,
            write_quorum: WriteQuorum::Async,
            requirepass: None,
            protected_mode: true,
            cluster_allow_reads_when_down: false,
            limits: Limits::default(),
            aof_rewrite: AofRewrite::default(),
            maxmemory: crate::memory::MaxMemory::default(),
            process: ProcessInfo::default(),
            daemon: crate::settings::DaemonSettings::default(),
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        }
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Votes (or acks) needed for a majority, counting this node.
    pub fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |m: &str| Err(ConfigError(m.to_string()));
        if self.members.is_empty() {
            return fail("the cluster has no members");
        }
        if self.self_id.0 as usize >= self.members.len() {
            return fail("self_id is not a member");
        }
        for (i, a) in self.members.iter().enumerate() {
            if self.members[..i]
                .iter()
                .any(|b| b.cluster_addr == a.cluster_addr)
            {
                return Err(ConfigError(format!(
                    "member {} is listed twice",
                    a.cluster_addr
                )));
            }
        }
        if self.heartbeat_ms == 0 {
            return fail("heartbeat must be at least 1 ms");
        }
        if self.election_timeout_ms_min <= self.heartbeat_ms {
            return fail("the election timeout must be longer than the heartbeat");
        }
        if self.election_timeout_ms_max <= self.election_timeout_ms_min {
            return fail("the election timeout's max must exceed its min");
        }
        if self.limits.bulk_len_max == 0 || self.limits.multibulk_len_max == 0 {
            return fail("bulk and multibulk limits must be positive");
        }
        if self.limits.inline_len_max == 0 || self.limits.peer_frame_bytes_max < 1024 {
            return fail("inline and peer frame limits are too small");
        }
        // A write's record holds what its request carried: a request the query buffer
        // takes must make a record the AOF can frame.
        let record_max = crate::aof::record::RECORD_PAYLOAD_BYTES_MAX;
        if self.limits.query_buffer_bytes_max > record_max {
            return Err(ConfigError(format!(
                "the client query buffer limit is at most {record_max} bytes (the largest AOF record)"
            )));
        }
        Ok(())
    }
}

/// Known bugs the simulator must catch, planted behind the `planted-bugs` feature so each
/// checker can be shown to fire. Never compiled into release builds of the daemon.
#[cfg(feature = "planted-bugs")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// Grant a vote without persisting it (nor the term it was cast in) first.
    VoteNotPersisted,
    /// Grant a vote without checking that the candidate's log is up to date.
    VoteWithoutUpToDateCheck,
    /// In majority mode, reply to a write before a quorum holds it.
    AckBeforeQuorum,
    /// At recovery, replay a torn tail record as if it were whole.
    TornTailReplayed,
    /// At recovery, take a checksum failure before the tail (corruption) for a harmless
    /// torn tail, and cut the AOF there instead of refusing to start.
    ChecksumFailureAsTornTail,
    /// Keep a diverged suffix instead of truncating it when a new master says so.
    DivergedSuffixKept,
    /// Serve reads without confirming the reign: at a master whose lease ran out, and
    /// at a node that lost its reign (it answers from its own, possibly stale, data).
    StaleReadAfterReignLost,
    /// Send a granted vote before the metadata that records it is persisted.
    VoteSentBeforePersist,
    /// Serve a read at the master without a lease or a heartbeat round: only the role.
    LeaseReadWithoutLease,
    /// Count an ack that arrives on a replication session other than the current one.
    StaleSessionAckCounted,
    /// Commit by counting replicas before a majority holds this reign's start record
    /// (Raft's figure 8: an old term's records committed by counting).
    CommitBeforeOwnReign,
    /// After cutting a diverged suffix, keep the last term of the records cut.
    LastTermKeptAfterCut,
    /// A replica runs active expiry on its own clock and drops expired keys from its
    /// keyspace without a record, instead of waiting for the master's deletes.
    ReplicaExpiresOnOwnClock,
    /// Count appended AOF bytes as durable (and ack them) before the driver reports the
    /// fsync that makes them so.
    DurableBeforeFsyncReport,
    /// A replica over its `maxmemory` drops keys on its own, with no record, instead of
    /// leaving eviction to the master's logged deletes.
    ReplicaEvictsOnItsOwn,
    /// A master never checks that it still hears a majority (no CheckQuorum).
    NoCheckQuorum,
    /// In majority mode, release a held read's reply once the reign is confirmed, without
    /// waiting for the commit to reach the AOF end the read saw (its ReadIndex).
    ReadReleasedBeforeReadIndex,
    /// A rewrite's snapshot forgets an entry that a delete moved behind its cursor, so
    /// the base lacks a key that existed at the cut.
    BaseSkipsMovedEntries,
    /// Install a rewrite's base (`FinishBase`) before its last slice is written: the
    /// manifest names a base that is not whole.
    BaseInstalledBeforeWhole,
    /// Log an `EXEC`'s records one by one instead of as one unit: a torn tail, or a
    /// replica fed part of them, holds the transaction in part.
    TransactionNotAUnit,
    /// A `WATCH` is invalidated by the writes the node runs itself only, not by the
    /// records a replica applies from its master.
    WatchMissesReplicatedWrite,
    /// A restarted node grants votes at once, though in its last life it may have acked
    /// a heartbeat that a master's lease still counts on.
    RestartedNodeVotesAtOnce,
    /// A master's lease lasts a whole minimum election timeout on its own clock, with no
    /// margin for a voter's clock running faster than the master's.
    LeaseWithoutDriftMargin,
}
