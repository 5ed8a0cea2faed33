//! The base outputs that reach past one disk: `FinishBase` installs a base (a base
//! from the master brings its history), and `StreamBase` reads the installed one back
//! in chunks, as the daemon does from the file it opened when the stream began.

use std::rc::Rc;

use bucket_core::{Input, NodeId};

use super::outputs::peer_index;
use super::{Event, World};

impl World {
    /// Install the base being written. A rewrite's base is remembered with the history
    /// it stands for; a base from the master takes that history over.
    pub(super) fn finish_base(&mut self, index: usize) -> Result<(), String> {
        let base = self.base_histories.finish(&mut self.disks[index])?;
        self.trace.note(
            self.now_ms,
            format!(
                "node {index}: base of {} bytes at offset {} installed",
                base.bytes.len(),
                base.offset
            ),
        );
        Ok(())
    }

    pub(super) fn stream_base(
        &mut self,
        index: usize,
        peer: NodeId,
        session: u64,
    ) -> Result<(), String> {
        peer_index(self, peer)?;
        let file = self.disks[index].base().ok_or("StreamBase with no base")?;
        let base = file.bytes.clone();
        self.base_histories.streaming(file, self.now_ms);
        let at_ms = self.now_ms + self.options.disk_read_latency_ms;
        self.schedule_base_chunk(at_ms, index, (peer, session), (base, 0));
        Ok(())
    }

    fn schedule_base_chunk(
        &mut self,
        at_ms: u64,
        index: usize,
        (peer, session): (NodeId, u64),
        (base, position): (Rc<Vec<u8>>, usize),
    ) {
        let event = Event::BaseReadChunk {
            node: index,
            incarnation: self.slots[index].incarnation,
            peer,
            session,
            base,
            position,
        };
        self.schedule(at_ms, event);
    }

    pub(super) fn read_base_chunk(
        &mut self,
        index: usize,
        peer: NodeId,
        session: u64,
        (base, position): (Rc<Vec<u8>>, usize),
    ) {
        if !self.stream_link_up(index, peer) {
            return; // The daemon drops a stream whose link is down.
        }
        let end = (position + self.options.aof_read_chunk_bytes).min(base.len());
        let done = end == base.len();
        let input = Input::BaseRead {
            peer,
            session,
            offset: position as u64,
            bytes: &base[position..end],
            done,
        };
        self.step_node(index, input);
        if !done && self.slots[index].node.is_some() {
            self.schedule_base_chunk(self.now_ms, index, (peer, session), (base, end));
        }
    }
}
