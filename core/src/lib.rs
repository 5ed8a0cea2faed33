//! # bucket-core: one Bucket node as a pure, deterministic state machine
//!
//! Nothing here touches sockets, files, clocks, threads or OS randomness. Time comes in
//! as the `now` of each step; randomness comes from one ChaCha generator seeded at
//! construction. The same seed and the same inputs give the same outputs, byte for byte,
//! which is what lets the simulator (`sim`) run the exact code the daemon runs.
//!
//! ## The driver contract
//!
//! 1. Build the node: [`Node::recover`] with the metadata file's bytes and the AOF's
//!    bytes (empty for a fresh node). If the recovery report names a torn tail, cut the
//!    AOF file to `aof_len_valid` before anything else.
//! 2. For every event, call [`Node::step`]`(now, input, &mut outputs)`: a client's bytes,
//!    a peer's frame, a link going up or down, an AOF range that was read, or a `Tick`
//!    when [`Node::deadline`] has passed. `now` never goes backwards.
//! 3. Execute the outputs in order. `PersistMeta` and `SyncAof` are barriers: nothing
//!    after them may run before they are durable, so a vote never leaves the node before
//!    the vote is on disk.
//! 4. Replies and peer messages may be buffered and flushed at the end of a loop pass, as
//!    long as every AOF write and sync of that pass is issued first (group commit).
//! 5. Drain every output after every step. The node keeps no outbox of its own.
//! 6. `StreamAof` asks for a range of the node's own AOF; answer with `AofRead` chunks in
//!    order, the last one marked `done`. Its `peer` may be the node itself: a replica
//!    that cut a diverged suffix rebuilds its keyspace by re-reading what it kept.
//! 7. Peer links: `PeerLinkUp`/`PeerLinkDown` report the outbound link to a peer (where
//!    `Send` goes); frames from a peer arrive on its own outbound link, whole and
//!    checked (`peer::frame_len`), as `PeerMessage`. The first frame on every link is a
//!    `peer::Message::Hello`, which the driver checks (cluster secret) before passing
//!    anything else from that link on.

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
pub mod meta;
pub mod node;
pub mod output;
pub mod peer;
pub mod resp;
pub mod session;
pub mod slot;
pub mod stats;
pub mod status;
pub mod time;

pub use config::{Config, ConfigError, Limits, Member, WriteQuorum};
pub use ids::{ConnectionId, MasterId, NodeId, Offset, Term};
pub use input::Input;
pub use node::{Node, RecoverError, Recovery, Role};
pub use output::{LogLevel, Output};
pub use time::{Instant, Now, UnixMillis};
