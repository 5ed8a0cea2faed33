//! `Output::StreamAof`, executed as the daemon's event loop does (`advance_streams` in
//! `driver-mio`): the range is read lazily, one chunk at a time, each from the file as
//! it is when the chunk is read. A chunk can therefore come back short, when the file
//! was cut meanwhile: a stream to a peer then resets that link, and a node's read of its
//! own AOF ends there, with `done`, so the node sees the file changed under it.

use bucket_core::{Input, NodeId, Offset};

use super::outputs::peer_index;
use super::{Event, World};
use crate::network::LinkState;

impl World {
    /// A stream to `peer` goes on while its link is up; one to the node itself always.
    pub(super) fn stream_link_up(&self, index: usize, peer: NodeId) -> bool {
        peer.0 as usize == index || self.network.link(index, peer.0 as usize).state == LinkState::Up
    }

    /// Check the range against the file and schedule its first chunk.
    pub(super) fn stream_aof(
        &mut self,
        index: usize,
        peer: NodeId,
        session: u64,
        (start, end): (u64, u64),
    ) -> Result<(), String> {
        let aof_len = self.disks[index].aof_len();
        if start > end || end > aof_len {
            return Err(format!(
                "StreamAof range {start}..{end} outside the AOF (length {aof_len})"
            ));
        }
        peer_index(self, peer)?;
        let at_ms = self.now_ms + self.options.disk_read_latency_ms;
        self.schedule_aof_chunk(at_ms, index, peer, session, (start, end));
        Ok(())
    }

    fn schedule_aof_chunk(
        &mut self,
        at_ms: u64,
        index: usize,
        peer: NodeId,
        session: u64,
        range: (u64, u64),
    ) {
        let event = Event::AofReadChunk {
            node: index,
            incarnation: self.slots[index].incarnation,
            peer,
            session,
            next: range.0,
            end: range.1,
        };
        self.schedule(at_ms, event);
    }

    /// Read one chunk of `[next, end)` and hand it to the node.
    pub(super) fn read_aof_chunk(
        &mut self,
        index: usize,
        peer: NodeId,
        session: u64,
        (next, end): (u64, u64),
    ) {
        if !self.stream_link_up(index, peer) {
            return; // The daemon drops a stream whose link is down.
        }
        let to_self = peer.0 as usize == index;
        let want = (end - next).min(self.options.aof_read_chunk_bytes as u64);
        let bytes = self.disks[index].read_at_most(next, want).to_vec();
        let short = (bytes.len() as u64) < want;
        let read_end = next + bytes.len() as u64;
        let done = read_end == end || short;
        self.trace.event(
            self.now_ms,
            "aof-read",
            &[index as u64, session, next, done as u64],
            &bytes,
        );
        if short && !to_self {
            self.trace.note(
                self.now_ms,
                format!(
                    "node {index}: AOF stream to {} ended early at {read_end}",
                    peer.0
                ),
            );
            self.cut_link(index, peer.0 as usize);
            return;
        }
        let input = Input::AofRead {
            peer,
            session,
            offset: Offset(next),
            bytes: &bytes,
            done,
        };
        self.step_node(index, input);
        if !done && self.slots[index].node.is_some() {
            // The file is in the page cache now: the next chunk comes at once, as the
            // daemon reads one chunk per loop pass.
            self.schedule_aof_chunk(self.now_ms, index, peer, session, (read_end, end));
        }
    }
}
