//! The node's view of the cluster, as `INFO replication`, `ROLE` and `CLUSTER ...` report
//! it. The node keeps it current; commands only read it.

use crate::ids::{MasterId, NodeId, Offset, Term};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Replica,
    PreCandidate,
    Candidate,
    Master,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "master",
            _ => "slave",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberStatus {
    pub client_addr: String,
    pub cluster_addr: String,
    /// 40 hex characters, as Redis Cluster node ids look; derived from the cluster address.
    pub name: String,
    /// Whether this node's link to the member is up (always true for itself).
    pub link_up: bool,
}

/// What the master knows of one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub node: NodeId,
    /// The replication session the master feeds it on; acks of others are stale.
    pub session: u64,
    /// The replica's durable end offset, from its last ack.
    pub acked: Offset,
    /// Milliseconds since its last ack.
    pub lag_ms: u64,
    /// "online" when streaming, "sync" during a full resync.
    pub state: &'static str,
}

/// The AOF's files and rewrites: what INFO's persistence section shows, and what
/// `BGREWRITEAOF` and `CONFIG SET auto-aof-rewrite-*` change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofStatus {
    /// Bytes of the base file (Redis's `aof_base_size`).
    pub base_size: u64,
    /// Bytes of base plus tail (Redis's `aof_current_size`).
    pub current_size: u64,
    pub rewrite_in_progress: bool,
    /// A rewrite waits to start (`BGREWRITEAOF` while one runs, or a full resync).
    pub rewrite_scheduled: bool,
    /// Rewrites completed since the node started.
    pub rewrites: u64,
    /// How long the last rewrite took, -1 before the first.
    pub last_rewrite_time_sec: i64,
    /// How long the running rewrite has taken, -1 when none runs.
    pub current_rewrite_time_sec: i64,
    /// The automatic trigger, changeable with `CONFIG SET`.
    pub auto: crate::config::AofRewrite,
}

impl AofStatus {
    pub fn new(auto: crate::config::AofRewrite) -> AofStatus {
        AofStatus {
            base_size: 0,
            current_size: 0,
            rewrite_in_progress: false,
            rewrite_scheduled: false,
            rewrites: 0,
            last_rewrite_time_sec: -1,
            current_rewrite_time_sec: -1,
            auto,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterStatus {
    pub role: Role,
    pub term: Term,
    pub self_id: NodeId,
    pub master: Option<NodeId>,
    pub current_master_id: MasterId,
    pub last_master_id: MasterId,
    pub aof_end: Offset,
    /// Highest offset a quorum holds durably (majority mode), else the AOF end.
    pub commit: Offset,
    pub members: Vec<MemberStatus>,
    pub replicas: Vec<ReplicaStatus>,
    /// A replica's link to its master is streaming.
    pub master_link_up: bool,
    /// Resyncs this node served as master (Redis's `sync_full`, `sync_partial_ok`).
    pub full_resyncs: u64,
    pub partial_resyncs: u64,
    /// The kind of this node's own last resync as a replica.
    pub last_resync: Option<crate::peer::SyncKind>,
}

impl ClusterStatus {
    pub fn master_client_addr(&self) -> Option<&str> {
        let master = self.master?;
        Some(self.members[master.0 as usize].client_addr.as_str())
    }

    pub fn myself(&self) -> &MemberStatus {
        &self.members[self.self_id.0 as usize]
    }

    /// How logs name a member: by its configured cluster address, the one name an
    /// operator finds in every node's config and in every node's log alike.
    pub fn node_name(&self, id: NodeId) -> &str {
        &self.members[id.0 as usize].cluster_addr
    }
}

/// A stable 40-hex-character name for a member, from its cluster address.
pub fn member_name(cluster_addr: &str) -> String {
    let mut name = String::with_capacity(40);
    for salt in 0u8..5 {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&[salt]);
        hasher.update(cluster_addr.as_bytes());
        name.push_str(&format!("{:08x}", hasher.finalize()));
    }
    debug_assert_eq!(name.len(), 40);
    name
}

/// Split `host:port` at the last colon.
pub fn split_addr(addr: &str) -> (&str, u16) {
    match addr.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(0)),
        None => (addr, 0),
    }
}
