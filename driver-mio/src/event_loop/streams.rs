//! Reading the node's own files back to it in chunks: AOF ranges (`Output::StreamAof`,
//! answered by `Input::AofRead`) and the base (`Output::StreamBase`, answered by
//! `Input::BaseRead`), for a peer's resync or the node's own replay.
//!
//! Reads are lazy, one chunk per stream per loop pass while the peer's link has room,
//! so a stream never buffers more than a link's worth of its file. An AOF stream reads
//! the AOF as it stands at each chunk (a truncation meanwhile ends it short); a base
//! stream keeps the file it opened, so a rewrite that replaces the base meanwhile does
//! not disturb it (Linux keeps an unlinked open file readable).

use std::fs::File;
use std::io;
use std::mem;

use bucket_core::{Input, NodeId, Offset};

use super::{Io, Server, AOF_CHUNK_BYTES};
use crate::fsio::read_full_at;
use crate::peers::StreamRoom;
use crate::{log_debug, log_warn};

pub(super) struct Stream {
    pub(super) peer: NodeId,
    session: u64,
    source: Source,
    pub(super) finished: bool,
}

enum Source {
    /// The logical AOF range `[next, end)`.
    Aof { next: Offset, end: Offset },
    /// The base file, from `position` to its length `len`.
    Base { file: File, position: u64, len: u64 },
}

impl Stream {
    /// Where an AOF stream reads next; `None` for a base stream or a finished one.
    fn aof_next(&self) -> Option<Offset> {
        match self.source {
            Source::Aof { next, .. } if !self.finished => Some(next),
            _ => None,
        }
    }
}

impl Io {
    pub(super) fn start_aof_stream(
        &mut self,
        peer: NodeId,
        session: u64,
        start: Offset,
        end: Offset,
    ) {
        assert!(start <= end, "StreamAof range is inverted");
        assert!(
            end <= self.files.aof_end(),
            "StreamAof beyond the AOF's end"
        );
        self.streams.push(Stream {
            peer,
            session,
            source: Source::Aof { next: start, end },
            finished: false,
        });
    }

    pub(super) fn start_base_stream(&mut self, peer: NodeId, session: u64) -> io::Result<()> {
        let (file, len) = self
            .files
            .open_base()?
            .expect("StreamBase only while the manifest names a base");
        self.streams.push(Stream {
            peer,
            session,
            source: Source::Base {
                file,
                position: 0,
                len,
            },
            finished: false,
        });
        Ok(())
    }
}

impl Server {
    pub(super) fn streams_ready(&self) -> bool {
        self.io
            .streams
            .iter()
            .any(|s| self.io.peers.stream_room(s.peer) != StreamRoom::Full)
    }

    /// Reads one chunk for each stream whose peer link has room.
    pub(super) fn advance_streams(&mut self) -> io::Result<()> {
        let mut i = 0;
        while i < self.io.streams.len() {
            let peer = self.io.streams[i].peer;
            match self.io.peers.stream_room(peer) {
                StreamRoom::Ready => self.advance_stream(i)?,
                StreamRoom::Full => {}
                StreamRoom::LinkDown => {
                    log_debug!("stream to node {} dropped: link down", peer.0);
                    self.io.streams[i].finished = true;
                }
            }
            i += 1;
        }
        self.io.streams.retain(|s| !s.finished);
        let lowest = self.io.streams.iter().filter_map(Stream::aof_next).min();
        self.io.files.release_retired(lowest);
        Ok(())
    }

    fn advance_stream(&mut self, i: usize) -> io::Result<()> {
        let mut buf = mem::take(&mut self.chunk_buf);
        let result = match self.io.streams[i].source {
            Source::Aof { .. } => self.advance_aof_stream(i, &mut buf),
            Source::Base { .. } => self.advance_base_stream(i, &mut buf),
        };
        self.chunk_buf = buf;
        result
    }

    fn advance_aof_stream(&mut self, i: usize, buf: &mut [u8]) -> io::Result<()> {
        let stream = &self.io.streams[i];
        let (peer, session) = (stream.peer, stream.session);
        let Source::Aof { next: offset, end } = stream.source else {
            unreachable!("an AOF stream")
        };
        let want = (end.0 - offset.0).min(AOF_CHUNK_BYTES as u64) as usize;
        let n = self.io.files.read_at(offset, &mut buf[..want])?;
        let next = Offset(offset.0 + n as u64);
        let done = next == end;
        let stream = &mut self.io.streams[i];
        stream.source = Source::Aof { next, end };
        stream.finished = done || n < want;
        let own_file = peer == self.io.peers.self_id();
        if n < want && !own_file {
            log_warn!(
                "AOF stream to node {} ended early at offset {}; resetting the link",
                peer.0,
                next.0
            );
            self.io.reset_peer(peer);
            return self.step_deferred();
        }
        // A short read of the node's own file ends its replay there: the node sees
        // that the file changed under it and gives the replay up.
        self.step(Input::AofRead {
            peer,
            session,
            offset,
            bytes: &buf[..n],
            done: done || n < want,
        })
    }

    fn advance_base_stream(&mut self, i: usize, buf: &mut [u8]) -> io::Result<()> {
        let stream = &mut self.io.streams[i];
        let (peer, session) = (stream.peer, stream.session);
        let Source::Base {
            file,
            position,
            len,
        } = &mut stream.source
        else {
            unreachable!("a base stream")
        };
        let offset = *position;
        let want = (*len - offset).min(AOF_CHUNK_BYTES as u64) as usize;
        let n = read_full_at(file, &mut buf[..want], offset)?;
        if n < want {
            // A base is never written again once named, and the stream holds it open.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the AOF base being streamed ended at byte {offset}, short of its {len} bytes"
                ),
            ));
        }
        *position += n as u64;
        let done = *position == *len;
        stream.finished = done;
        self.step(Input::BaseRead {
            peer,
            session,
            offset,
            bytes: &buf[..n],
            done,
        })
    }
}
