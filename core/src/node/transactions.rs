//! MULTI / EXEC / DISCARD / WATCH / UNWATCH, run by the node itself: they act on the
//! session's queue and on the index of watched keys.
//!
//! - In `MULTI` a request is checked as if it ran (known, right arity, allowed here)
//!   and queued; one that fails a check is answered with its error and makes the
//!   `EXEC` fail with `EXECABORT`, running nothing.
//! - `EXEC` runs the queue in order, and the records its commands log are one unit in
//!   the AOF (`Store::begin_unit`): a torn tail drops all of them, a replica applies all
//!   of them or none, and in majority mode one commit covers the whole transaction.
//! - A watched key that changes (any write: a command of any client, a record from the
//!   master, an expiry's delete, a flush) or expires makes the next `EXEC` answer a
//!   null array and run nothing. The keyspace notes changes to watched keys
//!   (`keyspace/watch.rs`); the node marks the sessions that watch them.

use std::collections::BTreeSet;

use super::Node;
use crate::aof::record;
use crate::commands::transactions::{self as tx, is_transaction_command};
use crate::commands::{self, CommandSpec, Flow};
use crate::ids::ConnectionId;
use crate::resp;
use crate::session::{Multi, Session};
use crate::status::Role;

impl Node {
    /// Run `spec` if it is a transaction command, or queue it if the session is in
    /// `MULTI`. Returns whether it was dealt with here.
    pub(super) fn transaction_step(
        &mut self,
        spec: &'static CommandSpec,
        session: &mut Session,
        reply: &mut Vec<u8>,
    ) -> bool {
        match spec.name {
            "multi" => self.multi(session, reply),
            "exec" => self.exec(spec, session, reply),
            "discard" => self.discard(session, reply),
            "watch" => self.watch(session, reply),
            "unwatch" if session.multi.is_none() => {
                self.unwatch_all(session);
                resp::write_simple(reply, "OK");
            }
            _ if session.multi.is_some() => self.queue(spec, session, reply),
            _ => return false,
        }
        true
    }

    /// A queued request failed a check: the transaction will fail.
    pub(super) fn abort_transaction(&self, session: &mut Session) {
        if let Some(multi) = session.multi.as_mut() {
            multi.aborted = true;
        }
    }

    fn multi(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        if session.multi.is_some() {
            resp::write_error(reply, tx::ERR_NESTED_MULTI);
            return;
        }
        session.multi = Some(Multi::default());
        resp::write_simple(reply, "OK");
    }

    fn queue(&mut self, spec: &CommandSpec, session: &mut Session, reply: &mut Vec<u8>) {
        let multi = session.multi.as_mut().expect("in MULTI");
        // A WAIT cannot block inside EXEC, which answers at once.
        if spec.flags & commands::FLAG_BLOCKING != 0 {
            resp::write_error(reply, tx::ERR_NOT_IN_MULTI);
            multi.aborted = true;
            return;
        }
        let bytes: usize = self.request.args().map(<[u8]>::len).sum();
        if multi.queued_bytes + bytes > self.config.limits.query_buffer_bytes_max {
            resp::write_error(reply, "ERR Protocol error: query buffer limit exceeded");
            multi.aborted = true;
            return;
        }
        multi.queued_bytes += bytes;
        multi.queued.push(self.request.clone());
        resp::write_simple(reply, "QUEUED");
    }

    fn discard(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        if session.multi.take().is_none() {
            resp::write_error(reply, tx::ERR_DISCARD_WITHOUT_MULTI);
            return;
        }
        self.unwatch_all(session);
        resp::write_simple(reply, "OK");
    }

    fn exec(&mut self, spec: &'static CommandSpec, session: &mut Session, reply: &mut Vec<u8>) {
        let reply_start = reply.len();
        let Some(multi) = session.multi.take() else {
            resp::write_error(reply, tx::ERR_EXEC_WITHOUT_MULTI);
            return;
        };
        let changed = self.watched_key_changed(session);
        self.unwatch_all(session);
        if multi.aborted {
            resp::write_error(reply, tx::ERR_EXECABORT);
            return;
        }
        if changed {
            resp::write_null_array(reply, session.protocol);
            return;
        }
        self.stats.commands_processed += 1;
        let pending_before = self.pending_end();
        resp::write_array_len(reply, multi.queued.len());
        // Only a master logs; a replica runs reads alone (writes were refused when queued).
        let unit = (self.status.role == Role::Master && !self.planted_transaction_not_a_unit())
            .then(|| record::open_unit(self.meta.term, &mut self.aof.pending));
        for request in multi.queued {
            self.request = request;
            self.run_queued(session, reply, unit);
        }
        if let Some(start) = unit {
            record::close_unit(start, &mut self.aof.pending);
        }
        let wrote = self.pending_end() > pending_before;
        if wrote {
            // A unit of one record is unwrapped: the end moved back by its frame.
            session.last_write_end = self.pending_end();
        }
        self.after_command(spec, session, Flow::Continue, (reply, reply_start), wrote);
    }

    /// Run one queued request inside `EXEC` (checked when it was queued).
    fn run_queued(&mut self, session: &mut Session, reply: &mut Vec<u8>, unit: Option<usize>) {
        let spec = commands::lookup(self.request.arg(0)).expect("checked when queued");
        if is_transaction_command(spec) {
            // Only UNWATCH is ever queued, and EXEC has unwatched already.
            resp::write_simple(reply, "OK");
            return;
        }
        self.stats.commands_processed += 1;
        match self.run_handler(spec, session, reply, unit) {
            Flow::Continue => {}
            Flow::Close => session.closing = true,
            Flow::Wait { .. } => unreachable!("WAIT is refused in MULTI"),
            // Inside EXEC a blocking pop cannot wait: it answers as if it timed out.
            Flow::Block { .. } => {
                crate::commands::blocking::write_timed_out(spec.name, session.protocol, reply)
            }
        }
    }

    fn watch(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        if session.multi.is_some() {
            resp::write_error(reply, tx::ERR_WATCH_IN_MULTI);
            return;
        }
        for i in 1..self.request.len() {
            let key = self.request.arg(i);
            if session.watching.iter().any(|(k, _)| &**k == key) {
                continue;
            }
            let live = self.keyspace.get(key, self.now.unix).is_some();
            session.watching.push((key.into(), live));
            self.keyspace.watch(key);
            self.watchers
                .entry(key.into())
                .or_default()
                .insert(session.conn);
        }
        resp::write_simple(reply, "OK");
    }

    /// Drop every watch of `session` (EXEC, DISCARD, UNWATCH, a closed connection).
    pub(super) fn unwatch_all(&mut self, session: &mut Session) {
        for (key, _) in session.watching.drain(..) {
            self.keyspace.unwatch(&key);
            if let Some(conns) = self.watchers.get_mut(&key) {
                conns.remove(&session.conn);
                if conns.is_empty() {
                    self.watchers.remove(&key);
                }
            }
        }
        session.watch_dirty = false;
    }

    /// Whether a key `session` watches has changed or expired since it was watched.
    fn watched_key_changed(&mut self, session: &mut Session) -> bool {
        self.note_watched_changes(Some(session));
        let now = self.now.unix;
        session.watch_dirty
            || session
                .watching
                .iter()
                .any(|(key, live)| *live && self.keyspace.get(key, now).is_none())
    }

    /// Mark the sessions watching the keys that changed. `current` is the session
    /// running now, out of the table.
    pub(super) fn note_watched_changes(&mut self, mut current: Option<&mut Session>) {
        let (keys, cleared) = self.keyspace.take_touched();
        if current.is_none() && self.planted_watch_misses_replicated_write() {
            return; // Planted bug: the changes a step made outside commands are lost.
        }
        if keys.is_empty() && !cleared {
            return;
        }
        let mut dirty: BTreeSet<ConnectionId> = BTreeSet::new();
        if cleared {
            dirty.extend(self.watchers.values().flatten().copied());
        }
        for key in &keys {
            dirty.extend(self.watchers.get(key).into_iter().flatten().copied());
        }
        self.note_ready_keys(&keys);
        for conn in dirty {
            match current.as_deref_mut() {
                Some(session) if session.conn == conn => session.watch_dirty = true,
                _ => {
                    if let Some(session) = self.clients.get_mut(&conn) {
                        session.watch_dirty = true;
                    }
                }
            }
        }
    }
}
