//! What the master knows of one replica it feeds.

use crate::ids::{NodeId, Offset};
use crate::status::ReplicaStatus;
use crate::time::Instant;

#[derive(Debug)]
pub(crate) enum Feed {
    /// Streaming `[next, file_end)` from the AOF file; records logged meanwhile wait in
    /// `buffered` (the seed's buffering during a full resync).
    FromFile {
        /// The tag of this stream's `StreamAof`, echoed in its `AofRead` chunks. A
        /// replica's session alone cannot tell two streams apart: a duplicated sync
        /// request restarts a feed under the same session while the old stream's
        /// chunks are still on their way.
        stream: u64,
        next: Offset,
        file_end: Offset,
        buffered: Vec<u8>,
    },
    /// Streaming the base file (`StreamBase`, tagged `stream`) in a `SyncKind::Base`
    /// resync; then the tail from the base's offset to `file_end` follows as
    /// `FromFile`. Records logged meanwhile wait in `buffered`.
    FromBase {
        stream: u64,
        file_end: Offset,
        buffered: Vec<u8>,
    },
    /// Every new record goes out as it is logged.
    Live { next: Offset },
}

#[derive(Debug)]
pub(crate) struct Progress {
    /// The replica's handshake id: data and acks of other sessions are stale.
    pub session: u64,
    /// The replica's AOF end, from its last ack (durable in majority mode).
    pub acked: Offset,
    pub acked_at: Instant,
    pub feed: Feed,
}

impl Progress {
    pub fn status(&self, node: NodeId, now: Instant) -> ReplicaStatus {
        ReplicaStatus {
            node,
            session: self.session,
            acked: self.acked,
            lag_ms: now.since(self.acked_at),
            state: match self.feed {
                Feed::FromFile { .. } | Feed::FromBase { .. } => "sync",
                Feed::Live { .. } => "online",
            },
        }
    }

    /// Bytes waiting behind a file stream.
    pub fn buffered_len(&self) -> usize {
        match &self.feed {
            Feed::FromFile { buffered, .. } | Feed::FromBase { buffered, .. } => buffered.len(),
            Feed::Live { .. } => 0,
        }
    }
}
