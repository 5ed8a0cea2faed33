//! The peer protocol: framed, versioned binary messages between cluster members.
//!
//! Frame: body length u32 LE, CRC32 of the body u32 LE, body. Body: message type u8,
//! then the message's fields (integers little-endian, byte strings u32-length-prefixed).
//! Decoding any bytes returns a message or an error, never a panic.

use crate::bytes::{FieldError, Reader};
use crate::ids::{MasterId, Offset, Term};
use crate::meta::Reign;

pub const PROTOCOL_VERSION: u32 = 1;
pub const FRAME_HEADER_LEN: usize = 8;
/// Longest address a hello may carry.
pub const ADDR_LEN_MAX: usize = 256;
pub const SECRET_LEN_MAX: usize = 1024;
/// Most reigns a sync request may list.
pub const SYNC_REIGNS_MAX: usize = 1 << 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// The replica keeps its history up to `offset` and receives the rest.
    Partial,
    /// The replica shares no reign with the master: it discards everything.
    Full,
    /// As `Full`, but the replica first receives the master's base (`BaseData`), the
    /// keyspace as of `offset`, and then the records from `offset` on: a full resync
    /// that costs the data, not the history.
    Base,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// First frame on every link: who is speaking, where its clients connect, and the
    /// cluster secret if one is configured.
    Hello {
        version: u32,
        cluster_addr: &'a str,
        client_addr: &'a str,
        secret: &'a [u8],
    },
    /// A candidate asks for a vote; with `pre_vote`, asks whether it could win, without
    /// anyone changing their term.
    RequestVote {
        term: Term,
        pre_vote: bool,
        last_term: Term,
        end: Offset,
    },
    Vote {
        term: Term,
        pre_vote: bool,
        granted: bool,
    },
    /// The master is alive. `sent_at_ms` is the master's clock, echoed in the ack so the
    /// master knows when a majority last confirmed its reign.
    Heartbeat {
        term: Term,
        master_id: MasterId,
        commit: Offset,
        sent_at_ms: u64,
        /// The replication session the master is feeding this replica with, zero if
        /// none: a replica that holds another session asks again.
        session: u64,
    },
    HeartbeatAck {
        term: Term,
        sent_at_ms: u64,
    },
    /// The seed's DenyHeartBeat: the sender knows a newer term than the master's.
    DenyHeartbeat {
        term: Term,
    },
    /// A replica asks to be fed: here is my reign chain and where my AOF ends.
    SyncRequest {
        term: Term,
        session: u64,
        end: Offset,
        reigns: Vec<Reign>,
    },
    /// The master answers: cut your AOF to `offset` (zero for a full resync) and expect
    /// data from there.
    SyncAccept {
        term: Term,
        session: u64,
        master_id: MasterId,
        kind: SyncKind,
        offset: Offset,
    },
    /// AOF bytes starting at `offset`. Records may be split across messages.
    Data {
        term: Term,
        session: u64,
        offset: Offset,
        bytes: &'a [u8],
    },
    /// Bytes of the master's base file from `position`, in a `SyncKind::Base` resync.
    /// Sections may be split across messages; `done` marks the last.
    BaseData {
        term: Term,
        session: u64,
        position: u64,
        done: bool,
        bytes: &'a [u8],
    },
    /// The replica holds the AOF up to `end` (durably, in majority mode).
    Ack {
        term: Term,
        session: u64,
        end: Offset,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    TooLarge { len: usize },
    Checksum,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl From<FieldError> for DecodeError {
    fn from(e: FieldError) -> DecodeError {
        DecodeError(e)
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad peer message: {}", self.0)
    }
}

/// If `buf` starts with a whole frame, its length (header included). `Ok(None)` means
/// more bytes are needed. The checksum is verified here.
pub fn frame_len(buf: &[u8], frame_bytes_max: usize) -> Result<Option<usize>, FrameError> {
    if buf.len() < FRAME_HEADER_LEN {
        return Ok(None);
    }
    let body_len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    if body_len + FRAME_HEADER_LEN > frame_bytes_max {
        return Err(FrameError::TooLarge { len: body_len });
    }
    let total = FRAME_HEADER_LEN + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if crc32fast::hash(&buf[FRAME_HEADER_LEN..total]) != crc {
        return Err(FrameError::Checksum);
    }
    Ok(Some(total))
}

const TYPE_HELLO: u8 = 1;
const TYPE_REQUEST_VOTE: u8 = 2;
const TYPE_VOTE: u8 = 3;
const TYPE_HEARTBEAT: u8 = 4;
const TYPE_HEARTBEAT_ACK: u8 = 5;
const TYPE_DENY_HEARTBEAT: u8 = 6;
const TYPE_SYNC_REQUEST: u8 = 7;
const TYPE_SYNC_ACCEPT: u8 = 8;
const TYPE_DATA: u8 = 9;
const TYPE_ACK: u8 = 10;
const TYPE_BASE_DATA: u8 = 11;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).expect("peer field under 4 GiB"));
        self.0.extend_from_slice(v);
        self
    }
}

/// Encode one message as a whole frame.
pub fn encode(message: &Message<'_>) -> Vec<u8> {
    // Room for the header, the fixed fields and any byte string, so that encoding
    // allocates once.
    let payload_len = match message {
        Message::Data { bytes, .. } => bytes.len(),
        Message::SyncRequest { reigns, .. } => reigns.len() * 24,
        _ => 0,
    };
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + 64 + payload_len);
    frame.resize(FRAME_HEADER_LEN, 0);
    let mut w = Writer(frame);
    encode_body(message, &mut w);
    let mut frame = w.0;
    let body_len = frame.len() - FRAME_HEADER_LEN;
    let crc = crc32fast::hash(&frame[FRAME_HEADER_LEN..]);
    frame[0..4].copy_from_slice(&(body_len as u32).to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    debug_assert!(
        decode(&frame).as_ref() == Ok(message),
        "encode and decode agree"
    );
    frame
}

fn encode_body(message: &Message<'_>, w: &mut Writer) {
    match *message {
        Message::Hello {
            version,
            cluster_addr,
            client_addr,
            secret,
        } => {
            w.u8(TYPE_HELLO).u32(version).bytes(cluster_addr.as_bytes());
            w.bytes(client_addr.as_bytes()).bytes(secret);
        }
        Message::RequestVote {
            term,
            pre_vote,
            last_term,
            end,
        } => {
            w.u8(TYPE_REQUEST_VOTE).u64(term.0).u8(pre_vote as u8);
            w.u64(last_term.0).u64(end.0);
        }
        Message::Vote {
            term,
            pre_vote,
            granted,
        } => {
            w.u8(TYPE_VOTE)
                .u64(term.0)
                .u8(pre_vote as u8)
                .u8(granted as u8);
        }
        Message::Heartbeat {
            term,
            master_id,
            commit,
            sent_at_ms,
            session,
        } => {
            w.u8(TYPE_HEARTBEAT)
                .u64(term.0)
                .u64(master_id.0)
                .u64(commit.0);
            w.u64(sent_at_ms).u64(session);
        }
        Message::HeartbeatAck { term, sent_at_ms } => {
            w.u8(TYPE_HEARTBEAT_ACK).u64(term.0).u64(sent_at_ms);
        }
        Message::DenyHeartbeat { term } => {
            w.u8(TYPE_DENY_HEARTBEAT).u64(term.0);
        }
        Message::SyncRequest {
            term,
            session,
            end,
            ref reigns,
        } => {
            w.u8(TYPE_SYNC_REQUEST).u64(term.0).u64(session).u64(end.0);
            w.u32(u32::try_from(reigns.len()).expect("reign count under 4G"));
            for reign in reigns {
                w.u64(reign.master_id.0)
                    .u64(reign.term.0)
                    .u64(reign.start.0);
            }
        }
        Message::SyncAccept {
            term,
            session,
            master_id,
            kind,
            offset,
        } => {
            let kind = match kind {
                SyncKind::Partial => 0,
                SyncKind::Full => 1,
                SyncKind::Base => 2,
            };
            w.u8(TYPE_SYNC_ACCEPT)
                .u64(term.0)
                .u64(session)
                .u64(master_id.0);
            w.u8(kind).u64(offset.0);
        }
        Message::Data {
            term,
            session,
            offset,
            bytes,
        } => {
            w.u8(TYPE_DATA)
                .u64(term.0)
                .u64(session)
                .u64(offset.0)
                .bytes(bytes);
        }
        Message::BaseData {
            term,
            session,
            position,
            done,
            bytes,
        } => {
            w.u8(TYPE_BASE_DATA)
                .u64(term.0)
                .u64(session)
                .u64(position)
                .u8(done as u8)
                .bytes(bytes);
        }
        Message::Ack { term, session, end } => {
            w.u8(TYPE_ACK).u64(term.0).u64(session).u64(end.0);
        }
    }
}

fn flag(v: u8) -> Result<bool, DecodeError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError("bad flag")),
    }
}

fn text(bytes: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError("address is not UTF-8"))
}

/// Decode a whole frame (as `frame_len` measured it).
pub fn decode(frame: &[u8]) -> Result<Message<'_>, DecodeError> {
    if frame.len() < FRAME_HEADER_LEN + 1 {
        return Err(DecodeError("frame too short"));
    }
    let body_len = u32::from_le_bytes(frame[0..4].try_into().expect("4 bytes")) as usize;
    if body_len != frame.len() - FRAME_HEADER_LEN {
        return Err(DecodeError("frame length mismatch"));
    }
    let mut r = Reader::new(&frame[FRAME_HEADER_LEN..]);
    let message = decode_body(&mut r)?;
    if !r.rest.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(message)
}

fn decode_body<'a>(r: &mut Reader<'a>) -> Result<Message<'a>, DecodeError> {
    let message = match r.u8()? {
        TYPE_HELLO => Message::Hello {
            version: r.u32()?,
            cluster_addr: text(r.bytes(ADDR_LEN_MAX)?)?,
            client_addr: text(r.bytes(ADDR_LEN_MAX)?)?,
            secret: r.bytes(SECRET_LEN_MAX)?,
        },
        TYPE_REQUEST_VOTE => Message::RequestVote {
            term: Term(r.u64()?),
            pre_vote: flag(r.u8()?)?,
            last_term: Term(r.u64()?),
            end: Offset(r.u64()?),
        },
        TYPE_VOTE => Message::Vote {
            term: Term(r.u64()?),
            pre_vote: flag(r.u8()?)?,
            granted: flag(r.u8()?)?,
        },
        TYPE_HEARTBEAT => Message::Heartbeat {
            term: Term(r.u64()?),
            master_id: MasterId(r.u64()?),
            commit: Offset(r.u64()?),
            sent_at_ms: r.u64()?,
            session: r.u64()?,
        },
        TYPE_HEARTBEAT_ACK => Message::HeartbeatAck {
            term: Term(r.u64()?),
            sent_at_ms: r.u64()?,
        },
        TYPE_DENY_HEARTBEAT => Message::DenyHeartbeat {
            term: Term(r.u64()?),
        },
        TYPE_SYNC_REQUEST => decode_sync_request(r)?,
        TYPE_SYNC_ACCEPT => Message::SyncAccept {
            term: Term(r.u64()?),
            session: r.u64()?,
            master_id: MasterId(r.u64()?),
            kind: match r.u8()? {
                0 => SyncKind::Partial,
                1 => SyncKind::Full,
                2 => SyncKind::Base,
                _ => return Err(DecodeError("bad resync kind")),
            },
            offset: Offset(r.u64()?),
        },
        TYPE_DATA => Message::Data {
            term: Term(r.u64()?),
            session: r.u64()?,
            offset: Offset(r.u64()?),
            bytes: r.bytes(usize::MAX)?,
        },
        TYPE_BASE_DATA => Message::BaseData {
            term: Term(r.u64()?),
            session: r.u64()?,
            position: r.u64()?,
            done: flag(r.u8()?)?,
            bytes: r.bytes(usize::MAX)?,
        },
        TYPE_ACK => Message::Ack {
            term: Term(r.u64()?),
            session: r.u64()?,
            end: Offset(r.u64()?),
        },
        _ => return Err(DecodeError("unknown message type")),
    };
    Ok(message)
}

fn decode_sync_request<'a>(r: &mut Reader<'a>) -> Result<Message<'a>, DecodeError> {
    let term = Term(r.u64()?);
    let session = r.u64()?;
    let end = Offset(r.u64()?);
    let count = r.u32()? as usize;
    if count > SYNC_REIGNS_MAX || count.saturating_mul(24) != r.rest.len() {
        return Err(DecodeError("bad reign count"));
    }
    let mut reigns = Vec::with_capacity(count);
    for _ in 0..count {
        reigns.push(Reign {
            master_id: MasterId(r.u64()?),
            term: Term(r.u64()?),
            start: Offset(r.u64()?),
        });
    }
    Ok(Message::SyncRequest {
        term,
        session,
        end,
        reigns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> Vec<Message<'static>> {
        let reign = Reign {
            master_id: MasterId(5),
            term: Term(2),
            start: Offset(0),
        };
        vec![
            Message::Hello {
                version: 1,
                cluster_addr: "a:1",
                client_addr: "a:2",
                secret: b"s",
            },
            Message::RequestVote {
                term: Term(3),
                pre_vote: true,
                last_term: Term(2),
                end: Offset(9),
            },
            Message::Vote {
                term: Term(3),
                pre_vote: false,
                granted: true,
            },
            Message::Heartbeat {
                term: Term(3),
                master_id: MasterId(7),
                commit: Offset(4),
                sent_at_ms: 11,
                session: 8,
            },
            Message::HeartbeatAck {
                term: Term(3),
                sent_at_ms: 11,
            },
            Message::DenyHeartbeat { term: Term(4) },
            Message::SyncRequest {
                term: Term(3),
                session: 8,
                end: Offset(100),
                reigns: vec![reign],
            },
            Message::SyncAccept {
                term: Term(3),
                session: 8,
                master_id: MasterId(7),
                kind: SyncKind::Full,
                offset: Offset(0),
            },
            Message::Data {
                term: Term(3),
                session: 8,
                offset: Offset(0),
                bytes: b"records",
            },
            Message::Ack {
                term: Term(3),
                session: 8,
                end: Offset(7),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_through_a_frame() {
        for (i, message) in samples().iter().enumerate() {
            let frame = encode(message);
            assert_eq!(frame_len(&frame, 1 << 20), Ok(Some(frame.len())), "#{i}");
            assert_eq!(decode(&frame).as_ref(), Ok(message), "#{i}");
            assert_eq!(
                frame_len(&frame[..frame.len() - 1], 1 << 20),
                Ok(None),
                "#{i}"
            );
        }
    }

    #[test]
    fn corruption_and_oversize_are_reported() {
        let mut frame = encode(&samples()[0]);
        assert_eq!(
            frame_len(&frame, 8),
            Err(FrameError::TooLarge {
                len: frame.len() - 8
            })
        );
        let last = frame.len() - 1;
        frame[last] ^= 1;
        assert_eq!(frame_len(&frame, 1 << 20), Err(FrameError::Checksum));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = frame_len(&bytes, 1 << 20);
            let _ = decode(&bytes);
        }

        #[test]
        fn arbitrary_bodies_in_valid_frames_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut frame = (body.len() as u32).to_le_bytes().to_vec();
            frame.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
            frame.extend_from_slice(&body);
            prop_assert_eq!(frame_len(&frame, 1 << 20), Ok(Some(frame.len())));
            let _ = decode(&frame);
        }
    }
}
