//! A replica that cut a diverged suffix rebuilds its keyspace by replaying what it
//! kept of its own AOF, read back in chunks through the driver. Until it is done the
//! node neither follows a master nor stands for election: its keyspace is only the
//! replay of a prefix of its AOF (`Node::applied_end`).

use rand_core::RngCore;

use super::replica::apply_whole_records;
use crate::aof::base::BaseDecoder;
use crate::ids::Offset;
use crate::node::{log, Node};
use crate::output::{LogLevel, Output};

#[derive(Debug)]
pub(crate) struct Rebuild {
    pub session: u64,
    pub target: Offset,
    /// The keyspace is the replay of the AOF up to here.
    pub applied: Offset,
    /// The start of a record split across chunks.
    pub partial: Vec<u8>,
    /// Loading this node's own base first, when it has one.
    pub base: Option<BaseDecoder>,
}

impl Node {
    /// Replay this node's own AOF from the start up to `target`, its new end.
    pub(crate) fn start_rebuild(&mut self, target: Offset, out: &mut Vec<Output>) {
        assert!(self.rebuild.is_none(), "one rebuild at a time");
        assert_eq!(target, self.aof.end, "a rebuild replays the whole kept AOF");
        assert!(self.keyspace.is_empty(), "a rebuild starts from nothing");
        let session = self.rng.next_u64() | 1;
        let has_base = self.compaction.base_offset > Offset(0);
        self.rebuild = Some(Rebuild {
            session,
            target,
            applied: Offset(0),
            partial: Vec::new(),
            base: has_base.then(BaseDecoder::new),
        });
        let peer = self.config.self_id;
        if has_base {
            out.push(Output::StreamBase { peer, session });
        } else {
            self.stream_own_tail(out);
        }
    }

    /// Read the tail back, from the base's offset (zero without one) to the target.
    fn stream_own_tail(&mut self, out: &mut Vec<Output>) {
        let rebuild = self.rebuild.as_mut().expect("a rebuild runs");
        rebuild.applied = self.compaction.base_offset;
        out.push(Output::StreamAof {
            peer: self.config.self_id,
            session: rebuild.session,
            start: rebuild.applied,
            end: rebuild.target,
        });
    }

    /// A chunk of this node's own base, loaded first in a rebuild.
    pub(super) fn on_own_base_read(
        &mut self,
        session: u64,
        (_position, bytes, done): (u64, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        let Some(rebuild) = self.rebuild.as_mut().filter(|r| r.session == session) else {
            return;
        };
        let Some(decoder) = rebuild.base.as_mut() else {
            return;
        };
        let keyspace = &mut self.keyspace;
        let mut offset = None;
        let fed = decoder.feed(bytes, &mut |h| offset = Some(h.offset), &mut |e| {
            e.insert_into(keyspace)
        });
        let wrong_offset = offset.is_some_and(|o| o != self.compaction.base_offset);
        if fed.is_err() || wrong_offset || (done && decoder.finish().is_err()) {
            self.abandon_rebuild(out);
            return;
        }
        if done {
            rebuild.base = None;
            self.stream_own_tail(out);
        }
    }

    pub(crate) fn on_own_aof_read(
        &mut self,
        session: u64,
        (offset, bytes, done): (Offset, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        let Some(rebuild) = self.rebuild.as_mut().filter(|r| r.session == session) else {
            return;
        };
        let read_end = rebuild.applied.0 + rebuild.partial.len() as u64;
        assert_eq!(read_end, offset.0, "own AOF chunks arrive in order");
        rebuild.partial.extend_from_slice(bytes);
        let Ok(used) = apply_whole_records(&mut self.keyspace, &rebuild.partial, |_, _| {}) else {
            self.abandon_rebuild(out);
            return;
        };
        rebuild.partial.drain(..used);
        rebuild.applied = Offset(rebuild.applied.0 + used as u64);
        if !done {
            return;
        }
        if rebuild.applied != rebuild.target || !rebuild.partial.is_empty() {
            // The read came back short: the file is not what this node wrote.
            self.abandon_rebuild(out);
            return;
        }
        self.rebuild = None;
        log(
            out,
            LogLevel::Info,
            format!("keyspace rebuilt from {} AOF bytes", self.aof.end.0),
        );
        if let Some(master) = self.status.master {
            self.request_sync(master, out);
        }
    }

    /// The file changed under us (a record that does not parse, or a read that came
    /// back short): give up the kept history and resync in full.
    fn abandon_rebuild(&mut self, out: &mut Vec<Output>) {
        log(
            out,
            LogLevel::Error,
            "own AOF is unreadable: resyncing in full".to_string(),
        );
        self.rebuild = None;
        if self.aof.end > Offset(0) {
            self.truncate_to(Offset(0), out);
        }
        if let Some(master) = self.status.master {
            self.request_sync(master, out);
        }
    }
}
