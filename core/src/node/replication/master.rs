//! The master's side of replication: answer handshakes, feed replicas from the backlog
//! or the AOF file, count their acks, and advance the commit offset.

use super::{divergence, Feed, Progress};
use crate::ids::{NodeId, Offset, Term};
use crate::meta::Reign;
use crate::node::{log, Node};
use crate::output::{LogLevel, Output};
use crate::peer::{self, Message, SyncKind};
use crate::status::Role;

/// Bytes a replica may have waiting behind a file stream before its feed is dropped
/// (it asks again): Redis's replica output buffer hard limit.
const REPLICA_BUFFER_BYTES_MAX: usize = 256 * 1024 * 1024;
/// An AOF longer than this, with no base yet, is resynced from a fresh base rather
/// than streamed whole; and a tail shorter than this is sent after a base whatever its
/// size, rather than waiting for a fresh base.
const FULL_RESYNC_HISTORY_BYTES_MAX: u64 = 1024 * 1024;

/// Room in a `Data` frame for everything but its bytes (tag, term, session, offset,
/// length), with a margin.
const DATA_FRAME_HEADER_BYTES: usize = 64;

/// Send `peer` the AOF bytes from `offset` as `Data` frames, each within the peer frame
/// limit `frame_bytes_max`: a batch or a record larger than one frame is cut, and the
/// replica joins the pieces (records may be split across frames).
pub(super) fn send_data(
    out: &mut Vec<Output>,
    peer: NodeId,
    (term, session): (Term, u64),
    (offset, bytes): (Offset, &[u8]),
    frame_bytes_max: usize,
) {
    let piece_max = frame_bytes_max - DATA_FRAME_HEADER_BYTES;
    for (i, piece) in bytes.chunks(piece_max).enumerate() {
        let frame = peer::encode(&Message::Data {
            term,
            session,
            offset: Offset(offset.0 + (i * piece_max) as u64),
            bytes: piece,
        });
        debug_assert!(frame.len() <= frame_bytes_max);
        out.push(Output::Send { peer, frame });
    }
}

impl Node {
    pub(crate) fn on_sync_request(
        &mut self,
        from: NodeId,
        term: Term,
        session: u64,
        end: Offset,
        reigns: &[Reign],
        out: &mut Vec<Output>,
    ) {
        if self.status.role != Role::Master || term != self.meta.term {
            return;
        }
        let Some((kind, offset)) = self.resync_point(from, reigns, end, out) else {
            return; // A fresh base is on its way: the replica asks again.
        };
        assert!(
            offset <= self.aof.end,
            "a replica never resumes past the master's end"
        );
        let accept = Message::SyncAccept {
            term,
            session,
            master_id: self.meta.current_master_id,
            kind,
            offset,
        };
        self.send(from, &accept, out);
        let feed = if kind == SyncKind::Base {
            self.start_base_feed(from, out)
        } else {
            self.start_feed(from, session, offset, out)
        };
        // The replica holds `offset`, but in majority mode it counts only for what it
        // acks durable, which its first ack, right after the accept, tells.
        let acked = match self.config.write_quorum {
            crate::config::WriteQuorum::Majority => Offset(0),
            crate::config::WriteQuorum::Async => offset,
        };
        let progress = Progress {
            session,
            acked,
            acked_at: self.now.instant,
            feed,
        };
        self.progress.insert(from, progress);
        match kind {
            SyncKind::Full | SyncKind::Base => self.status.full_resyncs += 1,
            SyncKind::Partial => self.status.partial_resyncs += 1,
        }
        let message = format!(
            "replica {} resyncs {} from offset {} (its end {}, master end {})",
            self.status.node_name(from),
            match kind {
                SyncKind::Full => "fully",
                SyncKind::Base => "fully, from the base",
                SyncKind::Partial => "partially",
            },
            offset.0,
            end.0,
            self.aof.end.0
        );
        // An empty replica fed from the start is how every new cluster begins, not a
        // resync worth an operator's attention.
        let level = match end == Offset(0) && offset == Offset(0) {
            true => LogLevel::Debug,
            false => LogLevel::Info,
        };
        log(out, level, message);
    }

    /// Where the replica resumes. A point the files no longer hold (before the base)
    /// and out of the backlog means a full resync; a full resync sends the base when
    /// there is one or the history is long, and waits (`None`) for a fresh base when
    /// the one on disk is stale.
    fn resync_point(
        &mut self,
        from: NodeId,
        reigns: &[Reign],
        end: Offset,
        out: &mut Vec<Output>,
    ) -> Option<(SyncKind, Offset)> {
        let (mut kind, mut offset) = divergence(&self.meta.reigns, self.aof.end, reigns, end);
        let base_offset = self.compaction.base_offset;
        if kind == SyncKind::Partial
            && offset < base_offset
            && self.backlog.read_from(offset).is_none()
        {
            (kind, offset) = (SyncKind::Full, Offset(0));
        }
        let long_history =
            base_offset > Offset(0) || self.aof.end.0 > FULL_RESYNC_HISTORY_BYTES_MAX;
        if kind != SyncKind::Full || !long_history {
            return Some((kind, offset));
        }
        if self.wants_fresh_base(FULL_RESYNC_HISTORY_BYTES_MAX) {
            let message = format!(
                "replica {} waits for a fresh AOF base to resync from",
                self.status.node_name(from)
            );
            log(out, LogLevel::Info, message);
            return None;
        }
        Some((SyncKind::Base, self.compaction.base_offset))
    }

    /// Send what the replica lacks: from the backlog if it still holds `from`, else by
    /// streaming the AOF file up to the current end while new records are buffered.
    pub(super) fn start_feed(
        &mut self,
        peer: NodeId,
        session: u64,
        from: Offset,
        out: &mut Vec<Output>,
    ) -> Feed {
        if let Some(bytes) = self.backlog.read_from(from) {
            let frame_max = self.config.limits.peer_frame_bytes_max;
            send_data(
                out,
                peer,
                (self.meta.term, session),
                (from, &bytes),
                frame_max,
            );
            return Feed::Live { next: self.aof.end };
        }
        self.stream_from_file(peer, (from, self.aof.end), Vec::new(), out)
    }

    /// Feed `peer` the AOF range `[from, file_end)` from the file; `buffered` holds the
    /// records logged after `file_end` so far, which follow it.
    pub(super) fn stream_from_file(
        &mut self,
        peer: NodeId,
        (from, file_end): (Offset, Offset),
        buffered: Vec<u8>,
        out: &mut Vec<Output>,
    ) -> Feed {
        self.streams_started += 1;
        let stream = self.streams_started;
        out.push(Output::StreamAof {
            peer,
            session: stream,
            start: from,
            end: file_end,
        });
        Feed::FromFile {
            stream,
            next: from,
            file_end,
            buffered,
        }
    }

    /// New records `[offset, offset + bytes.len())` were logged: keep them in the
    /// backlog and send them to every replica fed live.
    pub(crate) fn feed_replicas(&mut self, offset: Offset, bytes: &[u8], out: &mut Vec<Output>) {
        self.backlog.push(offset, bytes);
        let end = Offset(offset.0 + bytes.len() as u64);
        let term = self.meta.term;
        let frame_max = self.config.limits.peer_frame_bytes_max;
        let mut overflowed = Vec::new();
        for (&peer, progress) in self.progress.iter_mut() {
            match &mut progress.feed {
                Feed::Live { next } => {
                    assert_eq!(*next, offset, "a live feed is contiguous");
                    let session = progress.session;
                    send_data(out, peer, (term, session), (offset, bytes), frame_max);
                    *next = end;
                }
                Feed::FromFile { buffered, .. } | Feed::FromBase { buffered, .. } => {
                    buffered.extend_from_slice(bytes)
                }
            }
            if progress.buffered_len() > REPLICA_BUFFER_BYTES_MAX {
                overflowed.push(peer);
            }
        }
        for peer in overflowed {
            self.progress.remove(&peer);
            log(
                out,
                LogLevel::Warn,
                format!(
                    "replica {} fell too far behind; it must resync",
                    self.status.node_name(peer)
                ),
            );
        }
    }

    /// A chunk of the AOF file arrived for `peer`'s file stream `stream`.
    pub(crate) fn on_aof_read_for_replica(
        &mut self,
        peer: NodeId,
        stream: u64,
        (offset, bytes, done): (Offset, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        let term = self.meta.term;
        let frame_max = self.config.limits.peer_frame_bytes_max;
        let Some(progress) = self.progress.get_mut(&peer) else {
            return; // The feed ended (link down, step-down): the read is stale.
        };
        let session = progress.session;
        let Feed::FromFile {
            stream: current,
            next,
            file_end,
            buffered,
        } = &mut progress.feed
        else {
            return;
        };
        if *current != stream {
            return; // A chunk of an earlier stream to this replica.
        }
        assert_eq!(offset, *next, "file chunks arrive in order");
        assert!(
            offset.0 + bytes.len() as u64 <= file_end.0,
            "a chunk stays in its range"
        );
        if !bytes.is_empty() {
            send_data(out, peer, (term, session), (offset, bytes), frame_max);
            *next = Offset(offset.0 + bytes.len() as u64);
        }
        if !done {
            return;
        }
        assert_eq!(*next, *file_end, "the whole range was read");
        let file_end = *file_end;
        let buffered = std::mem::take(buffered);
        send_data(out, peer, (term, session), (file_end, &buffered), frame_max);
        progress.feed = Feed::Live {
            next: Offset(file_end.0 + buffered.len() as u64),
        };
    }

    pub(crate) fn on_ack(&mut self, from: NodeId, term: Term, session: u64, end: Offset) {
        if self.status.role != Role::Master || term != self.meta.term {
            return;
        }
        let now = self.now.instant;
        let aof_end = self.aof.end;
        let any_session = self.planted_stale_session_ack_counted();
        let Some(progress) = self
            .progress
            .get_mut(&from)
            .filter(|p| p.session == session || any_session)
        else {
            return;
        };
        if end > aof_end {
            return; // Nonsense from a confused peer: it cannot hold what was never sent.
        }
        progress.acked = progress.acked.max(end);
        progress.acked_at = now;
        self.advance_commit();
    }

    /// The commit offset is the highest offset a majority holds durably, counted only
    /// once it covers this reign's start record (Raft: commit by counting only in the
    /// current term).
    pub(crate) fn advance_commit(&mut self) {
        if self.status.role != Role::Master {
            return;
        }
        let mut ends: Vec<Offset> = vec![self.aof.durable_end];
        for id in 0..self.config.members.len() as u32 {
            if id != self.config.self_id.0 {
                ends.push(
                    self.progress
                        .get(&NodeId(id))
                        .map_or(Offset(0), |p| p.acked),
                );
            }
        }
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let quorum = self.config.quorum();
        let candidate = ends[quorum - 1];
        let reign_start = self.meta.reigns.last().expect("a master has a reign").start;
        let counted = candidate > reign_start
            || (candidate == reign_start && self.planted_commit_before_own_reign());
        if counted && candidate > self.status.commit {
            self.status.commit = candidate;
            assert!(
                ends.iter().filter(|&&end| end >= candidate).count() >= quorum,
                "a commit is held by a majority"
            );
        }
        assert!(self.status.commit <= self.aof.end);
    }
}
