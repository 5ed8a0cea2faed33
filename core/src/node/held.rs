//! Majority mode's held replies. A data command's reply waits until the commit offset
//! passes it (a read also for its reign to be confirmed after it ran), while the session
//! goes on running the requests behind it: a pipeline of writes shares one quorum round
//! instead of waiting for one round each. Replies leave in request order.
//!
//! The node finds the sessions a commit may release through an index by the offset that
//! each session's oldest held reply needs, so a step visits only the sessions at or below
//! the commit, and the reads that wait only for the reign when a heartbeat ack arrived.

use std::collections::BTreeSet;

use super::Node;
use crate::commands;
use crate::ids::{ConnectionId, Offset};
use crate::resp;
use crate::session::{Held, HeldKey, Session};
use crate::status::Role;

/// The sessions with held replies, by what their oldest held reply waits for.
#[derive(Debug, Default)]
pub(crate) struct HeldIndex {
    /// (the commit offset the oldest held reply needs, its session).
    by_commit: BTreeSet<(Offset, ConnectionId)>,
    /// Sessions whose oldest held reply is a read the commit has passed, waiting for the
    /// reign to be confirmed after it: only a heartbeat ack can do that.
    for_reign: BTreeSet<ConnectionId>,
    /// A heartbeat ack arrived since `for_reign` was last visited.
    pub reign_news: bool,
}

impl HeldIndex {
    /// How many sessions hold replies.
    pub fn len(&self) -> usize {
        self.by_commit.len() + self.for_reign.len()
    }

    fn all(&self) -> Vec<ConnectionId> {
        let mut conns: Vec<ConnectionId> = self.by_commit.iter().map(|&(_, c)| c).collect();
        conns.extend(self.for_reign.iter().copied());
        conns
    }
}

impl Node {
    /// Hold the reply at `reply[from..]` of a data command just run at the master, until
    /// the commit covers what the command wrote or read.
    pub(super) fn hold_reply(
        &self,
        session: &mut Session,
        reply: &mut Vec<u8>,
        from: usize,
        write: bool,
    ) {
        assert_eq!(
            self.status.role,
            Role::Master,
            "only a master holds replies"
        );
        let read_at = (!write).then_some(self.now.instant);
        session.hold(reply, from, self.pending_end(), read_at);
    }

    /// Move the held replies that may go now onto `reply`, in order. Once the node is no
    /// longer master every held reply goes: a write's as `-UNKNOWN` (a majority may or
    /// may not hold it), a read's as an error (its reign was never confirmed).
    pub(super) fn release_held(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        let deposed = self.status.role != Role::Master;
        let mut released_bytes = 0;
        while let Some(held) = session.held.front() {
            if !deposed && !self.held_ready(held) {
                break;
            }
            let at = released_bytes;
            let trailing_at = at + held.reply_bytes;
            let end = at + held.bytes_total();
            if deposed {
                let error = match held.is_write() {
                    true => commands::ERR_UNKNOWN_OUTCOME,
                    false => commands::ERR_NOT_MASTER_READ,
                };
                resp::write_error(reply, error);
                reply.extend_from_slice(&session.held_reply[trailing_at..end]);
            } else {
                reply.extend_from_slice(&session.held_reply[at..end]);
            }
            released_bytes = end;
            session.held.pop_front();
        }
        session.held_reply.drain(..released_bytes);
        assert!(
            !deposed || session.held.is_empty(),
            "a deposed master holds nothing"
        );
        debug_assert_eq!(
            session.held.iter().map(Held::bytes_total).sum::<usize>(),
            session.held_reply.len()
        );
    }

    /// Whether a held reply may go: the commit covers it, and a read's reign is
    /// confirmed after it ran.
    fn held_ready(&self, held: &Held) -> bool {
        let reign_ok = held
            .read_at
            .is_none_or(|read_at| self.reign_confirmed_since(read_at));
        self.held_commit_passed(held) && reign_ok
    }

    /// Whether a majority holds what the reply depends on.
    fn held_commit_passed(&self, held: &Held) -> bool {
        let planted = match held.is_write() {
            true => self.planted_ack_before_quorum(),
            false => self.planted_read_released_before_read_index(),
        };
        self.status.commit >= held.offset || planted
    }

    /// The key a session with held replies belongs under, from its oldest held reply.
    fn held_key(&self, session: &Session) -> Option<HeldKey> {
        let front = session.held.front()?;
        if !self.held_commit_passed(front) {
            return Some(HeldKey::Commit(front.offset));
        }
        assert!(!front.is_write(), "a write the commit passed is released");
        Some(HeldKey::Reign)
    }

    /// Put a session that holds replies into the index (when it goes back to the table).
    pub(super) fn index_held(&mut self, session: &mut Session) {
        assert!(session.held_key.is_none(), "indexed once");
        let conn = session.conn;
        let key = self.held_key(session);
        let index = &mut self.held_index;
        let fresh = match key {
            None => true,
            Some(HeldKey::Commit(offset)) => index.by_commit.insert((offset, conn)),
            Some(HeldKey::Reign) => index.for_reign.insert(conn),
        };
        assert!(fresh, "a session is indexed once");
        session.held_key = key;
    }

    /// Take a session out of the index (when it leaves the table for a step).
    pub(super) fn unindex_held(&mut self, session: &mut Session) {
        let conn = session.conn;
        let index = &mut self.held_index;
        let found = match session.held_key.take() {
            None => true,
            Some(HeldKey::Commit(offset)) => index.by_commit.remove(&(offset, conn)),
            Some(HeldKey::Reign) => index.for_reign.remove(&conn),
        };
        assert!(found, "a session is where its key says");
    }

    /// The sessions whose held replies may go after this step: at a master, those whose
    /// oldest reply the commit reached, and the reads waiting for the reign if a
    /// heartbeat ack came; at a node that lost its reign, all of them.
    pub(super) fn held_to_visit(&mut self) -> Vec<ConnectionId> {
        let reign_news = std::mem::take(&mut self.held_index.reign_news);
        let index = &self.held_index;
        if self.status.role != Role::Master {
            return index.all();
        }
        let reached = ..=(self.status.commit, ConnectionId(u64::MAX));
        let mut conns: Vec<ConnectionId> =
            index.by_commit.range(reached).map(|&(_, c)| c).collect();
        if reign_news {
            conns.extend(index.for_reign.iter().copied());
        }
        conns
    }

    /// The index matches the sessions, and no session waits for what it already has.
    pub(super) fn check_held_invariants(&self) {
        let index = &self.held_index;
        if self.status.role != Role::Master {
            assert_eq!(index.len(), 0, "only a master holds replies");
        }
        if let Some(&(offset, _)) = index.by_commit.first() {
            assert!(offset > self.status.commit, "a reached commit was visited");
        }
        if !cfg!(debug_assertions) {
            return;
        }
        let mut holding = 0;
        for (conn, session) in &self.clients {
            let key = self.held_key(session);
            assert_eq!(
                session.held_key, key,
                "conn {} is indexed by its front",
                conn.0
            );
            holding += usize::from(key.is_some());
            match key {
                None => assert!(session.held_reply.is_empty()),
                Some(HeldKey::Commit(offset)) => {
                    assert!(index.by_commit.contains(&(offset, *conn)))
                }
                Some(HeldKey::Reign) => {
                    assert!(index.for_reign.contains(conn));
                    let front = session.held.front().expect("a key names a front");
                    assert!(
                        !self.held_ready(front),
                        "a read whose reign is confirmed was visited"
                    );
                }
            }
        }
        assert_eq!(
            holding,
            index.len(),
            "the index holds only sessions with held replies"
        );
    }
}
