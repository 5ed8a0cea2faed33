//! What to do: the node's only way to act on the world.
//!
//! The driver executes outputs in order. `PersistMeta`, `BeginBase { kind: Rewrite }`
//! and `FinishBase` are barriers: nothing after them runs before they are durable. `SyncAof` is not: it asks for an fsync, and the answer
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
    /// `offset` is at least the base's offset (where the tail starts), or zero: cutting
    /// to zero drops the base too, leaving an empty AOF.
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
    /// Begin a base: the keyspace as of AOF offset `offset`, written to a new temporary
    /// base file by the `WriteBase` slices that follow.
    /// - `BaseKind::Rewrite`: compaction of this node's own AOF; `offset` is the AOF's
    ///   end now. The driver makes the AOF durable, starts a new tail file at `offset`
    ///   for every later append, and lists it in the manifest durably, before later
    ///   outputs run (a barrier): bytes it reports durable are always in a file the
    ///   manifest names.
    /// - `BaseKind::FromMaster`: a full resync; the base replaces the whole AOF. The
    ///   node appends nothing until `FinishBase`, and the files stay as they are until
    ///   then.
    BeginBase { offset: Offset, kind: BaseKind },
    /// Append these bytes to the temporary base file.
    WriteBase { bytes: Vec<u8> },
    /// The base is whole: make it durable, replace the manifest atomically by (this
    /// base, the tail from its offset), and delete the files the manifest no longer
    /// names. A barrier: later outputs run after the swap, so appends after a
    /// `FromMaster` base land in its new, empty tail.
    FinishBase,
    /// Drop the temporary base (a rewrite given up); the manifest stays as it is.
    AbandonBase,
    /// Read the base file the manifest names now and hand it back as `Input::BaseRead`
    /// chunks, in order, the last one marked `done` (a full resync sends it to `peer`).
    StreamBase { peer: NodeId, session: u64 },
    /// Apply these settings from now on (idle timeout, client limit, log level, fsync
    /// policy): a `CONFIG SET` changed at least one of them.
    ApplySettings(crate::settings::DaemonSettings),
    /// Something worth a log line (role change, election, resync). Never needed for
    /// correctness; the sim records it in its trace.
    Log { level: LogLevel, message: String },
}

/// Whose base `Output::BeginBase` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseKind {
    /// This node compacts its own AOF; the tail after the base's offset stays.
    Rewrite,
    /// A base received from the master in a full resync: it replaces base and tail.
    FromMaster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}
