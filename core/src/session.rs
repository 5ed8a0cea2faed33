//! One client connection's state: protocol version, authentication, name, the bytes of a
//! request not yet complete, the `WAIT` it is blocked in, and the replies held back for
//! the commit offset (majority mode).

use std::collections::VecDeque;

use crate::ids::{ConnectionId, Offset};
use crate::input::ClientAddrs;
use crate::resp::{Protocol, Request};
use crate::time::Instant;

/// Replies one session may hold at once. At the bound the session stops running requests
/// until its oldest replies go, so what it sends meanwhile waits unparsed, up to the query
/// buffer limit: a client that pipelines without end is closed, as Redis would close it.
pub const HELD_REPLIES_MAX: usize = 1024;

/// `WAIT`: answer with the count of replicas holding `target` once `replicas` do, or at
/// `deadline` (none = wait forever). No further request of the session runs until then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub target: Offset,
    pub replicas: usize,
    pub deadline: Option<Instant>,
}

/// A reply held in majority mode: it goes once the commit offset reaches `offset` and,
/// for a read, once the master's reign is confirmed at or after `read_at`, and never
/// before the replies held ahead of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// For a write, the AOF end after its records; for a read, the AOF end when it ran,
    /// so that it saw only what will be committed (Raft's ReadIndex).
    pub offset: Offset,
    /// When the read ran (`None` for a write, which needs no reign confirmation: its
    /// commit proves the reign).
    pub read_at: Option<Instant>,
    /// The length of the command's own reply, at the front of its part of `held_reply`.
    pub reply_bytes: usize,
    /// The length of the replies after it that needed nothing themselves (`PING`, an
    /// error, a `WAIT`'s answer): they wait behind it to keep their place in the order.
    pub trailing_bytes: usize,
}

impl Held {
    pub fn is_write(&self) -> bool {
        self.read_at.is_none()
    }

    pub fn bytes_total(&self) -> usize {
        self.reply_bytes + self.trailing_bytes
    }
}

/// Where a session with held replies is in the node's index (`node/held.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKey {
    /// Its oldest held reply waits for the commit to reach this offset.
    Commit(Offset),
    /// Its oldest held reply is a read that the commit has passed, waiting for the
    /// reign to be confirmed after it (a heartbeat round).
    Reign,
}

/// A client parked by a blocking pop (`node/blocking.rs`).
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The request, run again when one of `keys` is written.
    pub request: Request,
    pub keys: Vec<Box<[u8]>>,
    /// When the timeout's null is due (`None`: never).
    pub deadline: Option<Instant>,
}

/// `MULTI`: the requests queued for `EXEC`.
#[derive(Debug, Default)]
pub struct Multi {
    pub queued: Vec<Request>,
    /// The bytes of the queued arguments, bounded like a query buffer.
    pub queued_bytes: usize,
    /// A request could not be queued (unknown, wrong arity, refused): `EXEC` answers
    /// `EXECABORT` and runs nothing.
    pub aborted: bool,
}

#[derive(Debug)]
pub struct Session {
    pub conn: ConnectionId,
    /// The id Redis shows (`CLIENT ID`, `CLIENT LIST`, `CLIENT KILL ID`): unique for
    /// the node's life and counted from 1, unlike the driver's connection ids, which a
    /// later connection may reuse.
    pub id: u64,
    pub addrs: ClientAddrs,
    pub connected_at: Instant,
    /// When the client's last request ran (`CLIENT LIST`'s `idle`).
    pub active_at: Instant,
    /// The name of the last command run (`CLIENT LIST`'s `cmd`).
    pub last_command: &'static str,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// Refused by protected mode: every request gets `-DENIED`, then the link closes.
    pub denied: bool,
    pub name: Option<Vec<u8>>,
    /// `READONLY` was sent: reads at a replica are answered even in majority mode.
    pub readonly: bool,
    /// `CLIENT NO-TOUCH on`: this client's commands leave the keys' LRU/LFU stamps be.
    pub no_touch: bool,
    pub lib_name: Option<Vec<u8>>,
    pub lib_version: Option<Vec<u8>>,
    /// Bytes received but not yet parsed into a whole request.
    pub input: Vec<u8>,
    /// The parser's hint: do not parse again before `input` is this long.
    pub input_needed_total: usize,
    pub wait: Option<Wait>,
    /// Majority mode: the replies held for the commit, oldest first.
    pub held: VecDeque<Held>,
    /// The bytes of the held replies, in the order of `held`.
    pub held_reply: Vec<u8>,
    /// Where the node's index has this session (`None` while nothing is held, and
    /// while the node has the session out of its table for a step).
    pub held_key: Option<HeldKey>,
    /// The AOF offset just past this client's last write (the target of `WAIT`).
    pub last_write_end: Offset,
    /// The client asked to close (QUIT) or broke the protocol; no more requests run.
    pub closing: bool,
    /// In `MULTI`: requests are queued until `EXEC` or `DISCARD`.
    pub multi: Option<Multi>,
    /// The keys this client `WATCH`es, each with whether it was live when watched (a
    /// key that expires since counts as changed).
    pub watching: Vec<(Box<[u8]>, bool)>,
    /// A watched key changed: the next `EXEC` runs nothing.
    pub watch_dirty: bool,
    /// Parked by a blocking pop: no further request runs until it is answered.
    pub blocked: Option<Blocked>,
}

impl Session {
    pub fn new(
        conn: ConnectionId,
        id: u64,
        addrs: ClientAddrs,
        now: Instant,
        authenticated: bool,
    ) -> Session {
        assert!(id > 0, "client ids count from 1");
        Session {
            conn,
            id,
            addrs,
            connected_at: now,
            active_at: now,
            last_command: "NULL",
            protocol: Protocol::Resp2,
            authenticated,
            denied: false,
            name: None,
            readonly: false,
            no_touch: false,
            lib_name: None,
            lib_version: None,
            input: Vec::new(),
            input_needed_total: 0,
            wait: None,
            held: VecDeque::new(),
            held_reply: Vec::new(),
            held_key: None,
            last_write_end: Offset(0),
            closing: false,
            multi: None,
            watching: Vec::new(),
            watch_dirty: false,
            blocked: None,
        }
    }

    /// When a `WAIT` of this client times out, if it is waiting with a timeout.
    pub fn wait_deadline(&self) -> Option<Instant> {
        self.wait.as_ref().and_then(|wait| wait.deadline)
    }

    /// Whether some reply of this session is still to come (a `WAIT`, a held reply).
    pub fn is_blocked(&self) -> bool {
        self.wait.is_some() || !self.held.is_empty() || self.blocked.is_some()
    }

    /// Whether the session must run no further request for now: it is in `WAIT`, or
    /// holds as many replies as it may.
    pub fn stalled(&self) -> bool {
        self.wait.is_some() || self.held.len() >= HELD_REPLIES_MAX || self.blocked.is_some()
    }

    /// Hold the reply at `reply[from..]` until the commit reaches `offset` (and, for a
    /// read, the reign is confirmed after `read_at`).
    pub fn hold(
        &mut self,
        reply: &mut Vec<u8>,
        from: usize,
        offset: Offset,
        read_at: Option<Instant>,
    ) {
        assert!(from <= reply.len());
        assert!(
            self.held.len() < HELD_REPLIES_MAX,
            "a stalled session runs nothing"
        );
        debug_assert!(
            self.held.back().is_none_or(|last| last.offset <= offset),
            "held replies need offsets in request order"
        );
        self.held.push_back(Held {
            offset,
            read_at,
            reply_bytes: reply.len() - from,
            trailing_bytes: 0,
        });
        self.held_reply.extend_from_slice(&reply[from..]);
        reply.truncate(from);
    }

    /// Keep the replies at `reply[from..]` behind the held ones, if any are held, so
    /// that replies leave in the order of their requests.
    pub fn hold_behind(&mut self, reply: &mut Vec<u8>, from: usize) {
        assert!(from <= reply.len());
        let Some(last) = self.held.back_mut() else {
            return;
        };
        last.trailing_bytes += reply.len() - from;
        self.held_reply.extend_from_slice(&reply[from..]);
        reply.truncate(from);
    }
}
