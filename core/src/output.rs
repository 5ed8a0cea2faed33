//! What to do: the node's only way to act on the world.
//!
//! The driver executes outputs in order. `PersistMeta` is a barrier: nothing after it
//! runs before it is durable. `SyncAof` is not: it asks for an fsync, and the answer
//! comes back later as `Input::AofDurable`.

use crate::ids::{ConnectionId, NodeId, Offset};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the client (RESP replies, possibly several, in order).
    Reply { conn: ConnectionId, bytes: Vec<u8> },
    /// Close the client's connection after its pending replies are written.
    Close { conn: ConnectionId },
    /// Send one framed peer message to `peer` on the outbound link.
    Send { peer: NodeId, frame: Vec<u8> },
    /// Reset the link to `peer` (drop it and reconnect): used when a peer spoke nonsense.
    ResetPeer { peer: NodeId },
    /// Append these bytes to the AOF. `offset` is where they start (the AOF's end).
    AppendAof { offset: Offset, bytes: Vec<u8> },
    /// Cut the AOF back to `offset` (a diverged suffix, or a torn tail at recovery).
    TruncateAof { offset: Offset },
    /// Make every AOF byte appended so far durable, then report it with
    /// `Input::AofDurable`. Not a barrier: later outputs (replies included) may run
    /// before the fsync, and one fsync may answer every request of a loop pass. Whatever
    /// must wait for durability waits inside the node for the report.
    SyncAof,
    /// Write this metadata (term, vote, reign chain) atomically and durably before
    /// executing later outputs.
    PersistMeta { bytes: Vec<u8> },
    /// Read the AOF range `[start, end)` and hand it back as `Input::AofRead` chunks.
    StreamAof {
        peer: NodeId,
        session: u64,
        start: Offset,
        end: Offset,
    },
    /// Something worth a log line (role change, election, resync). Never needed for
    /// correctness; the sim records it in its trace.
    Log { level: LogLevel, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}
