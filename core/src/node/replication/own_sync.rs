//! When a master in majority mode fsyncs its own AOF.
//!
//! A commit needs the records durable on a majority. The master may count itself, at
//! the offset its own fsyncs reached, but it need not: when the replicas fed live are a
//! majority by themselves, their acks commit without it (Raft counts any majority; the
//! leader's own disk write is only one vote). So while they are, the master does not
//! fsync at once. It waits `Limits::own_sync_delay_ms`, and fsyncs only if the records
//! it appended are still uncommitted by then: a replica is slow or gone, and its own
//! vote is needed after all. The fsyncs a healthy cluster skips are a third of its
//! fsyncs, and on a machine where CPU is short they are what slows the commits.
//!
//! Nothing here decides what counts: the master still counts itself only at the offset
//! the driver reported durable (`Input::AofDurable`). A skipped fsync can only make a
//! commit later, never earlier. The `appendfsync` policy's own fsyncs go on as ever.

use crate::ids::Offset;
use crate::output::Output;
use crate::status::Role;
use crate::time::Instant;

use super::Feed;
use crate::node::Node;

/// A deferred fsync of the master's AOF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OwnSync {
    /// When the fsync is due, if the records are uncommitted then.
    pub due: Instant,
    /// The AOF end when it was deferred: the records it is for.
    pub covers: Offset,
}

impl Node {
    /// After the master appended records in majority mode: fsync them now, or defer
    /// the fsync while the live replicas can commit them alone.
    pub(crate) fn sync_own_appends(&mut self, out: &mut Vec<Output>) {
        debug_assert_eq!(self.status.role, Role::Master);
        let delay_ms = self.config.limits.own_sync_delay_ms;
        if delay_ms == 0 || !self.live_replicas_are_a_quorum() {
            self.own_sync = None;
            out.push(Output::SyncAof);
            return;
        }
        if self.own_sync.is_none() {
            self.own_sync = Some(OwnSync {
                due: self.now.instant.add_ms(delay_ms),
                covers: self.aof.end,
            });
        }
    }

    /// At the end of every step: drop a deferred fsync the commit has made needless
    /// (deferring again for records appended since), or make it once it is due.
    pub(crate) fn review_own_sync(&mut self, out: &mut Vec<Output>) {
        let Some(pending) = self.own_sync else {
            return;
        };
        if self.status.role != Role::Master {
            // A replica fsyncs everything it appends; a stepped-down master's records
            // are fsynced with the next ones it is fed.
            self.own_sync = None;
            return;
        }
        if self.status.commit >= pending.covers {
            self.own_sync = (self.status.commit < self.aof.end).then(|| OwnSync {
                due: self
                    .now
                    .instant
                    .add_ms(self.config.limits.own_sync_delay_ms),
                covers: self.aof.end,
            });
        } else if self.now.instant >= pending.due {
            self.own_sync = None;
            out.push(Output::SyncAof);
        }
    }

    /// Whether the replicas fed live could commit without the master's own vote.
    fn live_replicas_are_a_quorum(&self) -> bool {
        let live = self
            .progress
            .values()
            .filter(|p| matches!(p.feed, Feed::Live { .. }))
            .count();
        live >= self.config.quorum()
    }

    /// When a deferred fsync is due, if one is.
    pub(crate) fn own_sync_deadline(&self) -> Option<Instant> {
        self.own_sync.map(|pending| pending.due)
    }
}
