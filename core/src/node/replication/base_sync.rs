//! Full resync from a base: the master streams its base file (the keyspace as of its
//! offset X), then the tail from X, then what it logged meanwhile; the replica loads
//! the base into its keyspace as the sections arrive, writes the same bytes to its own
//! base file, and installs it once whole: its AOF then starts at X. The cost is the
//! data, not the history.

use super::master::send_data;
use super::Feed;
use crate::aof::base::{BaseDecoder, BaseHeader};
use crate::ids::{NodeId, Offset, Term};
use crate::node::{log, Node};
use crate::output::{BaseKind, LogLevel, Output};
use crate::peer::Message;

/// A base arriving from the master.
#[derive(Debug)]
pub(crate) struct BaseReceive {
    pub master: NodeId,
    pub session: u64,
    /// The offset the master named in its accept: the base's header must agree.
    pub offset: Offset,
    pub decoder: BaseDecoder,
    pub header: Option<BaseHeader>,
    pub bytes: u64,
}

impl Node {
    /// Master: feed `peer` from the base file first.
    pub(super) fn start_base_feed(&mut self, peer: NodeId, out: &mut Vec<Output>) -> Feed {
        self.streams_started += 1;
        let stream = self.streams_started;
        out.push(Output::StreamBase {
            peer,
            session: stream,
        });
        Feed::FromBase {
            stream,
            file_end: self.aof.end,
            buffered: Vec::new(),
        }
    }

    /// A chunk of this node's base file: for a replica's resync, or for its own rebuild.
    pub(crate) fn on_base_read(
        &mut self,
        peer: NodeId,
        stream: u64,
        chunk: (u64, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        if peer == self.config.self_id {
            self.on_own_base_read(stream, chunk, out);
        } else {
            self.on_base_read_for_replica(peer, stream, chunk, out);
        }
    }

    fn on_base_read_for_replica(
        &mut self,
        peer: NodeId,
        stream: u64,
        (position, bytes, done): (u64, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        let term = self.meta.term;
        let base_offset = self.compaction.base_offset;
        let Some(progress) = self.progress.get_mut(&peer) else {
            return; // The feed ended: the read is stale.
        };
        let session = progress.session;
        let Feed::FromBase {
            stream: current,
            file_end,
            buffered,
        } = &mut progress.feed
        else {
            return;
        };
        if *current != stream {
            return;
        }
        let message = Message::BaseData {
            term,
            session,
            position,
            done,
            bytes,
        };
        let frame = crate::peer::encode(&message);
        out.push(Output::Send { peer, frame });
        if !done {
            return;
        }
        // The base is out: the tail from its offset follows, then the buffered records.
        let (file_end, buffered) = (*file_end, std::mem::take(buffered));
        let feed = match self.backlog.read_from(base_offset) {
            Some(tail) => {
                // The backlog holds the whole tail, buffered records included.
                let frame_max = self.config.limits.peer_frame_bytes_max;
                send_data(out, peer, (term, session), (base_offset, &tail), frame_max);
                Feed::Live { next: self.aof.end }
            }
            None => self.stream_from_file(peer, (base_offset, file_end), buffered, out),
        };
        self.progress.get_mut(&peer).expect("checked above").feed = feed;
    }

    /// Replica: the master accepted a `SyncKind::Base` resync at `offset`. Drop the
    /// history and get ready to load the base.
    pub(super) fn begin_base_receive(
        &mut self,
        master: NodeId,
        offset: Offset,
        out: &mut Vec<Output>,
    ) {
        self.give_up_rewrite("a full resync replaces the AOF", out);
        if self.compaction.receiving.take().is_some() {
            // The master started the feed over (a duplicated request): so does this.
            out.push(Output::AbandonBase);
        }
        // The files stay as they are until the base is whole and swapped in at once:
        // what this node acked durable is never missing meanwhile. The master offers a
        // base only past the point the histories part, and that point is past this
        // node's commit, so the base holds every committed record this node held.
        self.keyspace.clear();
        let upstream = self.upstream.as_mut().expect("a resync has an upstream");
        upstream.retry_at = self.now.instant.add_ms(self.config.election_timeout_ms_max);
        let session = upstream.session;
        out.push(Output::BeginBase {
            offset,
            kind: BaseKind::FromMaster,
        });
        self.compaction.receiving = Some(BaseReceive {
            master,
            session,
            offset,
            decoder: BaseDecoder::new(),
            header: None,
            bytes: 0,
        });
        self.stats.loading = true;
    }

    pub(crate) fn on_base_data(
        &mut self,
        from: NodeId,
        (term, session): (Term, u64),
        (position, bytes, done): (u64, &[u8], bool),
        out: &mut Vec<Output>,
    ) {
        self.heard_from_master(from, term);
        let Some(receive) = self.compaction.receiving.as_mut() else {
            return;
        };
        if receive.master != from || receive.session != session || term != self.meta.term {
            return;
        }
        let fed_by_it = self
            .upstream
            .as_ref()
            .is_some_and(|u| u.master == from && u.session == session);
        if !fed_by_it {
            // The link to the master went down since (its frames can still be read late).
            return self.fail_base_receive("the master's link went down", out);
        }
        if position != receive.bytes {
            return self.fail_base_receive("a gap in the base", out);
        }
        let keyspace = &mut self.keyspace;
        let header = &mut receive.header;
        let fed = receive
            .decoder
            .feed(bytes, &mut |h| *header = Some(h), &mut |e| {
                e.insert_into(keyspace)
            });
        receive.bytes += bytes.len() as u64;
        if let Err(e) = fed {
            return self.fail_base_receive(e.reason, out);
        }
        if receive
            .header
            .as_ref()
            .is_some_and(|h| h.offset != receive.offset)
        {
            return self.fail_base_receive("the base is not at the offset accepted", out);
        }
        out.push(Output::WriteBase {
            bytes: bytes.to_vec(),
        });
        if let Some(upstream) = self.upstream.as_mut() {
            upstream.retry_at = self.now.instant.add_ms(self.config.election_timeout_ms_max);
        }
        if done {
            self.finish_base_receive(out);
        }
    }

    fn finish_base_receive(&mut self, out: &mut Vec<Output>) {
        let receive = self.compaction.receiving.take().expect("receiving");
        let header = match (receive.decoder.finish(), receive.header) {
            (Ok(()), Some(header)) => header,
            (Err(e), _) => return self.fail_base_receive_taken(e.reason, out),
            (Ok(()), None) => unreachable!("a finished base has its header"),
        };
        out.push(Output::FinishBase);
        self.aof.end = header.offset;
        self.status.commit = self.status.commit.min(header.offset);
        // `FinishBase` is a barrier: the base is durable once it has run.
        self.aof.durable_end = header.offset;
        self.aof.last_term = header.last_term;
        self.meta.reigns = header.reigns;
        self.persist_meta(out);
        self.backlog.reset(header.offset);
        self.compaction.adopt_base(header.offset, receive.bytes);
        self.compaction.growth_reference = receive.bytes;
        self.stats.loading = false;
        let message = format!(
            "loaded a base of {} bytes ({} keys) at offset {} from master {}",
            receive.bytes,
            self.keyspace.len(),
            header.offset.0,
            self.status.node_name(receive.master)
        );
        log(out, LogLevel::Info, message);
        self.go_live(out);
    }

    fn fail_base_receive(&mut self, why: &str, out: &mut Vec<Output>) {
        self.compaction.receiving = None;
        self.fail_base_receive_taken(why, out);
    }

    /// Give a base up. The keyspace holds part of it, and the files are as they were:
    /// rebuild the keyspace from them, then ask again.
    fn fail_base_receive_taken(&mut self, why: &str, out: &mut Vec<Output>) {
        out.push(Output::AbandonBase);
        self.keyspace.clear();
        self.stats.loading = false;
        self.upstream = None;
        log(
            out,
            LogLevel::Warn,
            format!("full resync from a base failed: {why}"),
        );
        self.start_rebuild(self.aof.end, out);
    }

    /// A new handshake replaces a base still arriving; returns whether one was (the
    /// keyspace is rebuilt from the files first, and the rebuild asks again).
    pub(crate) fn drop_base_receive(&mut self, out: &mut Vec<Output>) -> bool {
        if self.compaction.receiving.take().is_none() {
            return false;
        }
        self.fail_base_receive_taken("a new handshake", out);
        true
    }
}
