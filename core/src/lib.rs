//! # bucket-core: one Bucket node as a pure, deterministic state machine
//!
//! Nothing here touches sockets, files, clocks, threads or OS randomness. Time comes in
//! as the `now` of each step; randomness comes from one ChaCha generator seeded at
//! construction. The same seed and the same inputs give the same outputs, byte for byte,
//! which is what lets the simulator (`sim`) run the exact code the daemon runs.
//!
//! ## The driver contract
//!
//! 1. Build the node: [`Node::recover_with_base`] with the metadata file's bytes, the
//!    base file's bytes (if the manifest names one) and the tail (the AOF bytes from
//!    the base's offset on, every tail file end to end; all of it for a fresh node).
//!    If the recovery report names a torn tail, cut the last tail file so that the AOF
//!    ends at `aof_len_valid` (a logical offset); then fsync the AOF before the first
//!    step, because the node counts everything it recovered as durable (bytes a crash
//!    left in the page cache are not on disk until then).
//! 2. For every event, call [`Node::step`]`(now, input, &mut outputs)`: a client's bytes,
//!    a peer's frame, a link going up or down, an AOF range that was read, the AOF
//!    becoming durable, or a `Tick` when [`Node::deadline`] has passed. `now` never
//!    goes backwards.
//! 3. Execute the outputs in order. `PersistMeta` is a barrier: it is durable before any
//!    later output runs, so a vote never leaves the node before the vote is on disk.
//! 4. Durability is an input, not a barrier. `AppendAof` bytes may sit in the page
//!    cache; `SyncAof` asks for them to be made durable. Write each loop pass's AOF bytes
//!    once, fsync once if any step of the pass asked (or the `appendfsync` policy says
//!    so), then step the node with `Input::AofDurable { offset }`, the AOF length the
//!    fsync covered. A truncation after the fsync began lowers what it may report. The
//!    node waits for that report before anything that needs the bytes durable: a
//!    replica's ack in majority mode, the master counting itself toward a commit.
//!    Replies and peer frames may go out before the fsync: what needs it waits inside
//!    the node (the master sends records to replicas before its own fsync, Raft thesis
//!    §10.2.1). Under `appendfsync always` the driver still holds each pass's replies
//!    until its fsync, as Redis does. A master whose live replicas are a majority by
//!    themselves asks for no fsync of its own appends until they have waited
//!    `Limits::own_sync_delay_ms` uncommitted (`node/replication/own_sync.rs`).
//! 5. Drain every output after every step. The node keeps no outbox of its own.
//! 6. `StreamAof` asks for a range of the node's own AOF; answer with `AofRead` chunks in
//!    order, the last one marked `done`. Its `peer` may be the node itself: a replica
//!    that cut a diverged suffix rebuilds its keyspace by re-reading what it kept.
//! 7. Peer links: `PeerLinkUp`/`PeerLinkDown` report the outbound link to a peer (where
//!    `Send` goes); frames from a peer arrive on its own outbound link, whole and
//!    checked (`peer::frame_len`), as `PeerMessage`. The first frame on every link is a
//!    `peer::Message::Hello`, which the driver checks (cluster secret) before passing
//!    anything else from that link on.
//! 8. Compaction (`aof::base`): `BeginBase` starts a base, `WriteBase` slices fill a
//!    temporary file, `FinishBase` syncs it and swaps the manifest atomically (base plus
//!    the tail from its offset), `AbandonBase` drops it. `BeginBase { kind: Rewrite }`
//!    and `FinishBase` are barriers, like `PersistMeta`. `StreamBase` reads the base the
//!    manifest names back as `BaseRead` chunks, from the file as it was when the
//!    stream began. Offsets are logical everywhere: a rewrite changes none.

pub mod aof;
pub mod backlog;
mod bytes;
pub mod commands;
pub mod config;
#[doc(hidden)]
pub mod fuzz;
pub mod ids;
pub mod input;
pub mod keyspace;
pub mod memory;
pub mod meta;
pub mod node;
pub mod output;
pub mod peer;
pub mod resp;
pub mod session;
pub mod settings;
pub mod slot;
pub mod stats;
pub mod status;
pub mod time;

pub use config::{AofRewrite, Config, ConfigError, Limits, Member, WriteQuorum};
pub use ids::{ConnectionId, MasterId, NodeId, Offset, Term};
pub use input::{ClientAddrs, Input};
pub use node::{Node, RecoverError, Recovery, Role};
pub use output::{BaseKind, LogLevel, Output};
pub use time::{Instant, Now, UnixMillis};
