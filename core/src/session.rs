//! One client connection's state: protocol version, authentication, name, the bytes of a
//! request not yet complete, and what the client is blocked on.

use crate::ids::{ConnectionId, Offset};
use crate::resp::Protocol;
use crate::time::Instant;

/// Why the node is holding a client's reply (and its further requests) back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// `WAIT`: answer with the count of replicas holding `target` once `replicas` do, or
    /// at `deadline` (none = wait forever).
    Wait {
        target: Offset,
        replicas: usize,
        deadline: Option<Instant>,
    },
    /// Majority mode: the held reply goes out once the commit offset reaches `offset`
    /// (and, for a read, the master's reign is confirmed after the read).
    Commit {
        offset: Offset,
        write: bool,
        since: Instant,
    },
}

#[derive(Debug)]
pub struct Session {
    pub conn: ConnectionId,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// Refused by protected mode: every request gets `-DENIED`, then the link closes.
    pub denied: bool,
    pub name: Option<Vec<u8>>,
    /// `READONLY` was sent: reads at a replica are answered even in majority mode.
    pub readonly: bool,
    pub lib_name: Option<Vec<u8>>,
    pub lib_version: Option<Vec<u8>>,
    /// Bytes received but not yet parsed into a whole request.
    pub input: Vec<u8>,
    /// The parser's hint: do not parse again before `input` is this long.
    pub input_needed_total: usize,
    pub blocked: Option<Blocked>,
    /// Replies held back while blocked (majority mode).
    pub held_reply: Vec<u8>,
    /// The AOF offset just past this client's last write (the target of `WAIT`).
    pub last_write_end: Offset,
    /// The client asked to close (QUIT) or broke the protocol; no more requests run.
    pub closing: bool,
}

impl Session {
    pub fn new(conn: ConnectionId, authenticated: bool) -> Session {
        Session {
            conn,
            protocol: Protocol::Resp2,
            authenticated,
            denied: false,
            name: None,
            readonly: false,
            lib_name: None,
            lib_version: None,
            input: Vec::new(),
            input_needed_total: 0,
            blocked: None,
            held_reply: Vec::new(),
            last_write_end: Offset(0),
            closing: false,
        }
    }

    /// When a `WAIT` of this client times out, if it is waiting with a timeout.
    pub fn wait_deadline(&self) -> Option<Instant> {
        match self.blocked {
            Some(Blocked::Wait { deadline, .. }) => deadline,
            _ => None,
        }
    }
}
