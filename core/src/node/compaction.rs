//! AOF compaction: a base (the keyspace as of offset X) plus the tail after X.
//!
//! The node writes a base without fork and without a second copy of the keyspace: the
//! keyspace's snapshot cursor walks it in bounded slices between requests, and a key
//! that changes ahead of the cursor is written out first, with its value as of X (a
//! point-in-time cut, as Dragonfly's fork-less snapshot). The slices are outputs; the
//! driver writes them to a temporary file and swaps the manifest once the base is whole
//! (see `Output::BeginBase`).

use crate::ids::Offset;

/// What the node knows of its AOF's files.
#[derive(Debug, Default)]
pub(crate) struct Compaction {
    /// Where the tail starts: the offset of the base, zero without one.
    pub base_offset: Offset,
    /// The base file's length in bytes (zero without one).
    pub base_bytes: u64,
}

impl Compaction {
    /// Recovery found a base of `bytes` bytes at `offset`.
    pub fn adopt_base(&mut self, offset: Offset, bytes: u64) {
        self.base_offset = offset;
        self.base_bytes = bytes;
    }
}

impl super::Node {
    /// A chunk of this node's base file, for a full resync of `peer`.
    pub(crate) fn on_base_read(
        &mut self,
        _peer: crate::ids::NodeId,
        _session: u64,
        (_position, _bytes, _done): (u64, &[u8], bool),
        _out: &mut Vec<crate::output::Output>,
    ) {
    }
}
