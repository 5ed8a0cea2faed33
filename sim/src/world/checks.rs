//! The checkers the world runs during a run (every `check_interval_ms`, and for
//! convergence every poll of the liveness phase) and at its end.

use bucket_core::{Role, WriteQuorum};

use super::{Event, World};
use crate::checkers::convergence::{self, NodeView};
use crate::checkers::linearizability::{self, Verdict};
use crate::checkers::Violation;
use crate::checkers::{check_quorum, durability, fates, list_append, log_matching, state};
use crate::world::faults::CONVERGENCE_POLL_MS;

/// A node's idea of its AOF (its end, its last record's term) against the disk: what
/// its votes and handshakes rest on.
pub const POSITION: &str = "AOF position";

/// In majority mode a node counts bytes durable (toward a commit, in an ack) only once
/// the disk holds them synced.
pub const DURABLE_ACCOUNTING: &str = "durable accounting";

/// What the end-of-run checks found, beyond a violation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalFindings {
    /// Acked writes missing from the final AOF (reported in async mode; zero or a
    /// violation in majority mode).
    pub lost_acked_writes: usize,
    pub linearizability: Option<Verdict>,
}

impl World {
    /// A master sent `peer` a heartbeat: if the peer has been heard since the last
    /// one, its silence starts now.
    pub(super) fn note_heartbeat_sent(&mut self, index: usize, peer: usize) {
        let slot = &mut self.slots[index];
        if slot.node.as_ref().is_some_and(|n| n.role() == Role::Master) {
            slot.silent_since[peer].get_or_insert(self.now_ms);
        }
    }

    /// After a master's timer step: it may not still reign if a majority has left it
    /// unanswered for the CheckQuorum window. Returns whether the check passed.
    fn check_quorum_after_tick(&mut self, index: usize) -> bool {
        let now_ms = self.now_ms;
        let slot = &self.slots[index];
        if !slot.node.as_ref().is_some_and(|n| n.role() == Role::Master) {
            return true;
        }
        let config = &slot.config;
        let window_ms =
            check_quorum::window_ms(config.election_timeout_ms_min, config.heartbeat_ms);
        match check_quorum::check(index, now_ms, &slot.silent_since, window_ms) {
            Ok(()) => true,
            Err(v) => {
                self.fail(v);
                false
            }
        }
    }

    /// After a step and its outputs: a master counts each replica for what it acked in
    /// its current session, and no node counts as durable what its disk has not synced.
    pub(super) fn check_after_step(&mut self, index: usize, was_tick: bool) {
        if was_tick && !self.check_quorum_after_tick(index) {
            return;
        }
        let Some(node) = self.slots[index].node.as_ref() else {
            return;
        };
        let synced = self.disks[index].aof_synced_len();
        let majority = self.slots[index].config.write_quorum == WriteQuorum::Majority;
        if majority && node.durable_end().0 > synced {
            let detail = format!(
                "node {index} counts its AOF durable to {} but the disk has synced {synced}",
                node.durable_end().0
            );
            self.fail(Violation::new(DURABLE_ACCOUNTING, detail));
            return;
        }
        if node.role() == Role::Master {
            if let Err(v) = self.acks.check(index, &node.status().replicas) {
                self.fail(v);
            }
        }
    }

    pub(super) fn on_check_timer(&mut self) {
        if let Err(v) = self.check_state() {
            self.fail(v);
        }
        if self.liveness_start_ms.is_none() {
            self.schedule(self.now_ms + self.options.check_interval_ms, Event::Check);
        }
    }

    /// State safety at every live node, the node's idea of its AOF end against the disk,
    /// and log matching over every disk (crashed nodes' disks included).
    pub fn check_state(&self) -> Result<(), Violation> {
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(node) = slot.node.as_ref() else {
                continue;
            };
            let disk = &self.disks[i];
            if node.aof_end().0 != disk.aof_len() {
                let detail = format!(
                    "node {i} believes its AOF ends at {} but the disk holds {}",
                    node.aof_end().0,
                    disk.aof_len()
                );
                return Err(Violation::new(POSITION, detail));
            }
            let replayed = disk
                .replayed()
                .map_err(|e| Violation::new(state::NAME, format!("node {i}'s AOF is {e}")))?;
            if node.last_term().0 != replayed.last_term() {
                let detail = format!(
                    "node {i} believes its last record is of term {} but the disk's is of term {}",
                    node.last_term().0,
                    replayed.last_term()
                );
                return Err(Violation::new(POSITION, detail));
            }
            if node.is_loading_base() {
                continue; // Its keyspace is part of a base: no prefix of its AOF.
            }
            let applied = node.applied_end().0 as usize;
            state::check(i, node.keyspace().digest(), &replayed, disk.aof(), applied)?;
        }
        let mut replays = Vec::with_capacity(self.disks.len());
        for (i, disk) in self.disks.iter().enumerate() {
            let replayed = disk.replayed().map_err(|e| {
                Violation::new(log_matching::NAME, format!("node {i}'s AOF is {e}"))
            })?;
            replays.push(replayed);
        }
        let prefixes: Vec<_> = replays
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.reigns()))
            .collect();
        log_matching::check(&prefixes)
    }

    pub fn views(&self) -> Vec<NodeView> {
        (0..self.slots.len())
            .map(|i| match self.slots[i].node.as_ref() {
                None => NodeView {
                    alive: false,
                    is_master: false,
                    term: 0,
                    aof_end: 0,
                    disk_aof_len: 0,
                    digest: 0,
                },
                Some(node) => NodeView {
                    alive: true,
                    is_master: node.role() == Role::Master,
                    term: node.term().0,
                    aof_end: node.aof_end().0,
                    disk_aof_len: self.disks[i].aof_len(),
                    digest: node.keyspace().digest(),
                },
            })
            .collect()
    }

    pub fn is_converged(&self) -> bool {
        convergence::converged(&self.views()).is_ok()
    }

    pub(super) fn on_convergence_check(&mut self) {
        let start_ms = self
            .liveness_start_ms
            .expect("polled only in the liveness phase");
        if self.is_converged() && self.clients.all_idle() {
            self.converged_at_ms = Some(self.now_ms);
            self.trace.note(
                self.now_ms,
                format!("converged after {} ms of liveness", self.now_ms - start_ms),
            );
            return;
        }
        if self.now_ms >= start_ms + self.options.liveness_phase_ms {
            let v = convergence::deadline_passed(&self.views(), self.options.liveness_phase_ms);
            if self.is_converged() {
                // Converged, but a client never finished: report that instead.
                let detail = "clients still waiting at the end of the liveness phase".to_string();
                self.fail(Violation::new(convergence::NAME, detail));
            } else {
                self.fail(v);
            }
            return;
        }
        self.schedule(self.now_ms + CONVERGENCE_POLL_MS, Event::ConvergenceCheck);
    }

    /// The end-of-run checks: state and log matching once more, durability against the
    /// master's AOF, and linearizability in majority mode.
    pub fn final_checks(&mut self) -> FinalFindings {
        let mut findings = FinalFindings::default();
        if self.violation.is_some() {
            return findings;
        }
        if let Err(v) = self.check_state() {
            self.fail(v);
            return findings;
        }
        let Some(master) = self.master() else {
            return findings; // Convergence has already failed, or the run was cut short.
        };
        let mode = self.options.write_quorum;
        let final_writes = durability::written(self.disks[master].aof());
        match durability::check(&self.clients.history, &final_writes, mode) {
            Ok(lost) => findings.lost_acked_writes = lost,
            Err(v) => {
                self.fail(v);
                return findings;
            }
        }
        if mode == WriteQuorum::Majority {
            let node = self.slots[master]
                .node
                .as_ref()
                .expect("the master is live");
            let history = &self.clients.history;
            let fates = fates::fates(history, node.reigns(), node.aof_end().0);
            let lists = txn_lists(history, node.keyspace());
            let verdict = linearizability::check(history, &fates)
                .and_then(|verdict| list_append::check(history, &lists).map(|_| verdict));
            match verdict {
                Ok(verdict) => findings.linearizability = Some(verdict),
                Err(v) => self.fail(v),
            }
        }
        findings
    }
}

/// The transactions' lists as `keyspace` holds them (`txn.rs`); at the master at the
/// end, their version orders.
pub(super) fn txn_lists(
    history: &crate::history::History,
    keyspace: &bucket_core::keyspace::Keyspace,
) -> list_append::FinalLists {
    let keys: std::collections::BTreeSet<&[u8]> = history
        .ops
        .iter()
        .filter(|op| matches!(op.kind, crate::history::OpKind::Txn(_)))
        .flat_map(|op| op.keys())
        .collect();
    keys.into_iter()
        .filter_map(|key| {
            let key = key.to_vec();
            // The lists never expire: any time reads them.
            let entry = keyspace.get(&key, bucket_core::UnixMillis(0))?;
            let bucket_core::keyspace::ValueRef::List(list) = entry.value else {
                return None;
            };
            Some((key, list.iter().map(<[u8]>::to_vec).collect()))
        })
        .collect()
}
