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
use crate::files::DataDir;
use crate::fsio::read_full_at;
use crate::log_debug;
use crate::peers::StreamRoom;

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
        let io = &mut self.io;
        let result = match io.streams[i].read_chunk(&mut io.files, &mut buf) {
            Ok(chunk) => self.on_chunk(i, chunk, &buf),
            Err(e) => Err(e),
        };
        self.chunk_buf = buf;
        result
    }

    /// Hands a chunk to the node, or resets the link of a peer whose AOF stream the
    /// AOF no longer holds (it was cut meanwhile).
    fn on_chunk(&mut self, i: usize, chunk: Chunk, buf: &[u8]) -> io::Result<()> {
        let stream = &self.io.streams[i];
        let (peer, session) = (stream.peer, stream.session);
        let bytes = &buf[..chunk.len];
        match stream.source {
            Source::Base { .. } => self.step(Input::BaseRead {
                peer,
                session,
                offset: chunk.offset,
                bytes,
                done: chunk.done,
            }),
            Source::Aof { .. } if chunk.short && peer != self.io.peers.self_id() => {
                let why = format!(
                    "the AOF stream to it ended early at offset {} (the file was cut)",
                    chunk.offset + chunk.len as u64
                );
                self.io.reset_peer(peer, &why);
                self.step_deferred()
            }
            // A short read of the node's own file ends its replay there: the node sees
            // that the file changed under it and gives the replay up.
            Source::Aof { .. } => self.step(Input::AofRead {
                peer,
                session,
                offset: Offset(chunk.offset),
                bytes,
                done: chunk.done,
            }),
        }
    }
}

/// What one read of a stream's file gave: `len` bytes at `offset` (a logical AOF
/// offset, or a position in the base file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chunk {
    offset: u64,
    len: usize,
    /// The stream is finished: its range is all read, or (`short`) its file ended.
    done: bool,
    /// An AOF stream read less than it asked: the AOF was cut under it.
    short: bool,
}

impl Stream {
    /// Reads the stream's next chunk into `buf` and moves the stream past it.
    fn read_chunk(&mut self, files: &mut DataDir, buf: &mut [u8]) -> io::Result<Chunk> {
        assert!(!self.finished, "a finished stream reads nothing");
        assert!(
            buf.len() >= AOF_CHUNK_BYTES,
            "the chunk buffer holds a chunk"
        );
        let chunk = match &mut self.source {
            Source::Aof { next, end } => {
                let want = (end.0 - next.0).min(AOF_CHUNK_BYTES as u64) as usize;
                let n = files.read_at(*next, &mut buf[..want])?;
                let offset = next.0;
                next.0 += n as u64;
                let short = n < want;
                let done = *next == *end || short;
                Chunk {
                    offset,
                    len: n,
                    done,
                    short,
                }
            }
            Source::Base {
                file,
                position,
                len,
            } => {
                let want = (*len - *position).min(AOF_CHUNK_BYTES as u64) as usize;
                let offset = *position;
                let n = read_full_at(file, &mut buf[..want], offset)?;
                if n < want {
                    // A named base is never written again, and the stream holds it open.
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the AOF base being streamed ended at byte {offset}, short of its {len} bytes"),
                    ));
                }
                *position += n as u64;
                Chunk {
                    offset,
                    len: n,
                    done: *position == *len,
                    short: false,
                }
            }
        };
        self.finished = chunk.done;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests;
