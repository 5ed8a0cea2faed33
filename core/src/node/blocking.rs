//! Clients parked by a blocking pop (`commands/blocking.rs`), indexed by the keys they
//! wait on, first come first served.
//!
//! - A blocking pop that finds its keys empty parks its session (which then runs no
//!   further request) under each of its keys, and asks the keyspace to note changes to
//!   them (the same notes `WATCH` uses).
//! - At the end of a step, the keys written in it that have parked clients are served:
//!   each parked client, oldest first, runs its request again, until the key is empty.
//!   A served pop logs the pop it did. What a served `BLMOVE` pushes may serve others,
//!   in the same step.
//! - A parked client whose timeout passes gets the null its command answers then.
//! - A master that steps down answers every parked client `-UNBLOCKED`: the pop will
//!   never be served here. (Replicas park nobody: a blocking pop is a write, and is
//!   redirected to the master.)

use std::collections::VecDeque;

use super::Node;
use crate::commands::{self, blocking, Flow};
use crate::ids::ConnectionId;
use crate::output::Output;
use crate::resp;
use crate::session::{Blocked, Session};
use crate::status::Role;
use crate::time::Instant;

pub const ERR_UNBLOCKED: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

/// Rounds of serving in one step at most: each serves what the previous round's pushes
/// made ready (a chain of `BLMOVE`s).
const SERVE_ROUNDS_MAX: usize = 64;

impl Node {
    /// Park `session`, whose request `Flow::Block`ed on `keys`.
    pub(super) fn block(&mut self, session: &mut Session, keys: Vec<Vec<u8>>, timeout_ms: u64) {
        let mut keys: Vec<Box<[u8]>> = keys.into_iter().map(Vec::into_boxed_slice).collect();
        keys.sort();
        keys.dedup();
        let deadline = (timeout_ms > 0).then(|| self.now.instant.add_ms(timeout_ms));
        for key in &keys {
            self.blocked_on
                .entry(key.clone())
                .or_default()
                .push_back(session.conn);
            self.keyspace.watch(key);
        }
        if let Some(at) = deadline {
            self.blocked_deadlines.insert((at, session.conn));
        }
        session.blocked = Some(Blocked {
            request: self.request.clone(),
            keys,
            deadline,
        });
    }

    /// Drop `conn`'s entries from the indexes (served, timed out, closed).
    pub(super) fn unindex_blocked(&mut self, conn: ConnectionId, blocked: &Blocked) {
        for key in &blocked.keys {
            self.keyspace.unwatch(key);
            if let Some(queue) = self.blocked_on.get_mut(key) {
                queue.retain(|&c| c != conn);
                if queue.is_empty() {
                    self.blocked_on.remove(key);
                }
            }
        }
        if let Some(at) = blocked.deadline {
            self.blocked_deadlines.remove(&(at, conn));
        }
    }

    /// Keys written in this step that parked clients wait on (from the keyspace's notes).
    pub(super) fn note_ready_keys(&mut self, keys: &[Box<[u8]>]) {
        for key in keys {
            if self.blocked_on.contains_key(key) {
                self.ready_keys.insert(key.clone());
            }
        }
    }

    /// The earliest timeout of a parked client.
    pub(super) fn blocked_deadline(&self) -> Option<Instant> {
        self.blocked_deadlines.first().map(|&(at, _)| at)
    }

    /// End of a step: answer parked clients that can be answered.
    pub(super) fn serve_blocked(&mut self, out: &mut Vec<Output>) {
        if self.blocked_on.is_empty() {
            self.ready_keys.clear();
            return;
        }
        if self.status.role != Role::Master {
            let all: Vec<ConnectionId> = self.blocked_on.values().flatten().copied().collect();
            all.into_iter()
                .for_each(|conn| self.unblock_with(conn, Some(ERR_UNBLOCKED), out));
            return;
        }
        while let Some(&(at, conn)) = self.blocked_deadlines.first() {
            if at > self.now.instant {
                break;
            }
            self.unblock_with(conn, None, out);
        }
        for _ in 0..SERVE_ROUNDS_MAX {
            let ready = std::mem::take(&mut self.ready_keys);
            if ready.is_empty() {
                break;
            }
            for key in ready {
                self.serve_key(&key, out);
            }
            self.note_watched_changes(None);
        }
    }

    /// Serve the clients parked on `key`, oldest first, while it holds something.
    fn serve_key(&mut self, key: &[u8], out: &mut Vec<Output>) {
        let waiting: VecDeque<ConnectionId> = self.blocked_on.get(key).cloned().unwrap_or_default();
        for conn in waiting {
            if self.keyspace.get(key, self.now.unix).is_none() {
                break;
            }
            self.try_serve(conn, out);
        }
    }

    /// Run a parked client's request again; it stays parked if it blocks again.
    fn try_serve(&mut self, conn: ConnectionId, out: &mut Vec<Output>) {
        let Some((mut session, blocked)) = self.take_parked(conn) else {
            return;
        };
        self.request = blocked.request.clone();
        let spec = commands::lookup(self.request.arg(0)).expect("ran before");
        let mut reply = Vec::new();
        let pending_before = self.pending_end();
        let flow = self.run_handler(spec, &mut session, &mut reply, None);
        if let Flow::Block { .. } = flow {
            debug_assert!(reply.is_empty());
            session.blocked = Some(blocked);
            self.put_session(session);
            return;
        }
        self.unindex_blocked(conn, &blocked);
        let wrote = self.pending_end() > pending_before;
        self.after_command(spec, &mut session, flow, (&mut reply, 0), wrote);
        self.note_watched_changes(Some(&mut session));
        self.finish_client(session, reply, out);
    }

    /// Answer a parked client without serving it: its timeout's null, or `error`.
    fn unblock_with(&mut self, conn: ConnectionId, error: Option<&str>, out: &mut Vec<Output>) {
        let Some((mut session, blocked)) = self.take_parked(conn) else {
            return;
        };
        self.unindex_blocked(conn, &blocked);
        let mut reply = Vec::new();
        match error {
            Some(error) => resp::write_error(&mut reply, error),
            None => {
                let name = String::from_utf8_lossy(blocked.request.arg(0)).to_ascii_lowercase();
                blocking::write_timed_out(&name, session.protocol, &mut reply);
            }
        }
        // Behind the replies still held for the commit, if any.
        session.hold_behind(&mut reply, 0);
        self.finish_client(session, reply, out);
    }

    /// A parked session out of the table, with what it is parked on.
    fn take_parked(&mut self, conn: ConnectionId) -> Option<(Box<Session>, Blocked)> {
        let mut session = self.take_session(conn)?;
        let blocked = session
            .blocked
            .take()
            .expect("an indexed session is parked");
        Some((session, blocked))
    }

    /// A closed connection's parked request goes from the indexes.
    pub(super) fn forget_blocked(&mut self, session: &mut Session) {
        if let Some(blocked) = session.blocked.take() {
            self.unindex_blocked(session.conn, &blocked);
        }
    }
}
