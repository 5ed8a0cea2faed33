//! Booting, crashing and restarting nodes; partitions; the swarm's fault schedule and
//! the liveness phase.

use super::{Event, World};
use crate::checkers::{list_append, Violation};
use crate::disk::{CrashFaults, CrashLoss};
use crate::seed::{between, chance, exponential_ms};

/// How often the liveness phase checks for convergence.
pub const CONVERGENCE_POLL_MS: u64 = 100;
pub const RECOVERY: &str = "recovery";

impl World {
    /// Start node `index` from its disk, as the daemon does at start.
    pub(super) fn boot(&mut self, index: usize) {
        assert!(
            self.slots[index].node.is_none(),
            "node {index} is already up"
        );
        let Some((node, recovery)) = self.recover_node(index) else {
            return; // A violation was recorded.
        };
        if recovery.torn_bytes > 0 {
            self.disks[index].cut_torn_tail(recovery.aof_len_valid);
            self.trace.note(
                self.now_ms,
                format!(
                    "node {index}: recovery cut a torn tail of {} bytes",
                    recovery.torn_bytes
                ),
            );
        }
        // The daemon fsyncs what it recovered before the node's first step.
        self.disks[index].sync();
        if node.aof_end().0 != self.disks[index].aof_len() {
            let detail = format!(
                "node {index} recovered to {} but its AOF is {} bytes",
                node.aof_end().0,
                self.disks[index].aof_len()
            );
            self.fail(Violation::new(RECOVERY, detail));
        }
        self.trace.note(
            self.now_ms,
            format!(
                "node {index}: started (life {}) with {} records, term {}",
                self.slots[index].incarnation,
                recovery.records,
                node.term().0
            ),
        );
        // A crash may cut the AOF at any byte, but never inside a transaction.
        let lists = super::checks::txn_lists(&self.clients.history, node.keyspace());
        let held = format!("the lists node {index} recovered");
        if let Err(v) = list_append::check_atomic(&self.clients.history, &lists, &held) {
            self.fail(v);
        }
        self.slots[index].node = Some(node);
        self.slots[index].tick_at_ms = Some(self.now_ms);
        let incarnation = self.slots[index].incarnation;
        self.schedule(
            self.now_ms,
            Event::Tick {
                node: index,
                incarnation,
            },
        );
        self.network.set_alive(index, true);
        for peer in (0..self.slots.len()).filter(|&p| p != index) {
            self.schedule_reconnect(index, peer);
        }
        self.slots[index].appendfsync = self.slots[index].config.daemon.appendfsync;
        self.slots[index].everysec_timer = false;
        self.start_everysec_timer(index);
    }

    /// The power goes out at node `index`: what its AOF holds beyond the last sync may
    /// be lost (see `crate::disk`), its links drop, its clients are disconnected.
    pub fn crash(&mut self, index: usize) {
        let p = self.options.disk_tail_loss_probability;
        self.crash_with(index, p);
    }

    /// A crash with the given chance of losing unsynced bytes; the other disk faults
    /// as the options drew them.
    pub fn crash_with(&mut self, index: usize, tail_loss_probability: f64) {
        if self.slots[index].node.is_none() {
            return;
        }
        self.slots[index].node = None;
        self.slots[index].incarnation += 1;
        self.slots[index].tick_at_ms = None;
        self.slots[index].paused_until_ms = None;
        self.slots[index].crash_in_step = false;
        self.slots[index].fsync = None;
        // What queued for the paused process is handled as for any dead one (dropped,
        // or refused), so that the bookkeeping of each event still runs.
        for event in std::mem::take(&mut self.slots[index].held) {
            self.schedule(self.now_ms, event);
        }
        self.slots[index].role_last = bucket_core::Role::Replica;
        let faults = CrashFaults {
            tail_loss_probability,
            zero_fill_probability: self.options.disk_zero_fill_probability,
            truncation_undo_probability: self.options.disk_truncation_undo_probability,
        };
        let loss = self.disks[index].crash(&mut self.disk_rng, &faults);
        self.trace.note(
            self.now_ms,
            format!("node {index}: CRASH ({})", describe(&loss)),
        );
        self.network.set_alive(index, false);
        for (from, to) in self.network.links_of(index) {
            if from == index {
                // Frames the dead process already sent are still delivered.
                self.network.close(from, to);
            } else {
                self.cut_link(from, to);
            }
        }
        self.disconnect_clients_of(index);
    }

    /// Keep exactly `kept` bytes of the unsynced tail: scenarios use it to tear a record.
    pub fn crash_keeping(&mut self, index: usize, kept: usize) {
        assert!(self.slots[index].node.is_some());
        let synced = self.disks[index].aof_synced_len() as usize;
        let len = (synced + kept).min(self.disks[index].aof().len());
        self.disks[index]
            .truncate(len as u64)
            .expect("within the AOF");
        self.crash_with(index, 0.0);
    }

    fn disconnect_clients_of(&mut self, index: usize) {
        let conns: Vec<(u64, usize)> = self
            .conns
            .iter()
            .filter(|(_, info)| info.node == index)
            .map(|(&conn, info)| (conn, info.client))
            .collect();
        for (conn, client) in conns {
            self.conns.remove(&conn);
            let at_ms = self.now_ms + self.options.client_latency_ms;
            self.schedule(at_ms, Event::ClientDisconnected { client, conn });
        }
    }

    pub fn restart(&mut self, index: usize) {
        if self.slots[index].node.is_some() {
            return;
        }
        self.boot(index);
    }

    pub(super) fn on_crash_timer(&mut self) {
        if !self.faults_active {
            return;
        }
        let alive: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].node.is_some())
            .collect();
        if !alive.is_empty() {
            let victim = alive[between(&mut self.fault_rng, 0, alive.len() as u64 - 1) as usize];
            if chance(
                &mut self.crash_point_rng,
                self.options.crash_in_step_probability,
            ) {
                // It crashes inside its next step, and is restarted from there.
                self.slots[victim].crash_in_step = true;
            } else {
                self.crash(victim);
                self.schedule_restart(victim);
            }
        }
        let next_ms = exponential_ms(&mut self.fault_rng, self.options.crash_interval_ms_mean);
        self.schedule(self.now_ms + next_ms, Event::Crash);
    }

    fn schedule_restart(&mut self, index: usize) {
        let mean_ms = self.options.restart_delay_ms_mean.max(1);
        let down_ms = exponential_ms(&mut self.fault_rng, mean_ms);
        self.schedule(self.now_ms + down_ms, Event::Restart { node: index });
    }

    /// Where inside this step node `index` crashes, if it was picked to: before output
    /// `k` of `outputs_len` (`k == outputs_len`: after the last, before the step's own
    /// fsync and replies).
    pub(super) fn crash_point(&mut self, index: usize, outputs_len: usize) -> Option<usize> {
        if !std::mem::take(&mut self.slots[index].crash_in_step) {
            return None;
        }
        Some(between(&mut self.crash_point_rng, 0, outputs_len as u64) as usize)
    }

    /// The crash that `crash_point` or a granted vote armed lands now, mid-step. After
    /// a vote it comes back soon, while the election may still be going on.
    pub(super) fn crash_inside_step(&mut self, index: usize, after_vote: bool) {
        self.trace
            .note(self.now_ms, format!("node {index}: crash inside a step"));
        self.crash(index);
        if after_vote {
            let down_ms = between(&mut self.fault_rng, 10, 100);
            self.schedule(self.now_ms + down_ms, Event::Restart { node: index });
        } else {
            self.schedule_restart(index);
        }
    }

    /// A node is sending a vote it granted: maybe crash it right after the frame leaves,
    /// before its later outputs run, and bring it back while the election may still be
    /// going on. A vote persisted before it was sent survives; one sent first does not.
    pub(super) fn maybe_crash_after_vote(&mut self) {
        let p = self.options.crash_after_vote_probability;
        if !self.faults_active || p == 0.0 || !chance(&mut self.fault_rng, p) {
            return;
        }
        // The vote is on the wire already: it arrives although its sender dies.
        self.crash_now = true;
    }

    pub(super) fn on_partition_timer(&mut self) {
        if !self.faults_active {
            return;
        }
        let n = self.slots.len();
        let kinds = self.options.partition_kinds;
        let mut choices = Vec::new();
        if kinds.symmetric {
            choices.push(0);
        }
        if kinds.one_way {
            choices.push(1);
        }
        if kinds.isolate_one {
            choices.push(2);
        }
        if n >= 2 && !choices.is_empty() && self.network.describe_blocks() == "none" {
            let kind = choices[between(&mut self.fault_rng, 0, choices.len() as u64 - 1) as usize];
            self.start_partition(kind);
            let heal_ms = exponential_ms(
                &mut self.fault_rng,
                self.options.partition_duration_ms_mean.max(1),
            );
            self.schedule(self.now_ms + heal_ms, Event::PartitionHeal);
        }
        let next_ms = exponential_ms(&mut self.fault_rng, self.options.partition_interval_ms_mean);
        self.schedule(self.now_ms + next_ms, Event::PartitionStart);
    }

    fn start_partition(&mut self, kind: u32) {
        let n = self.slots.len();
        if kind == 2 {
            let node = between(&mut self.fault_rng, 0, n as u64 - 1) as usize;
            self.isolate(node);
            return;
        }
        // A random split into two non-empty groups.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = between(&mut self.fault_rng, 0, i as u64) as usize;
            order.swap(i, j);
        }
        let cut = between(&mut self.fault_rng, 1, n as u64 - 1) as usize;
        let (a, b) = order.split_at(cut);
        self.network.block(a, b);
        if kind == 0 {
            self.network.block(b, a);
        }
        self.after_blocking();
    }

    /// Cut node `index` off from everyone, both ways.
    pub fn isolate(&mut self, index: usize) {
        self.network.isolate(index);
        self.after_blocking();
    }

    /// Block frames from the nodes of `from` to those of `to` (one way).
    pub fn block(&mut self, from: &[usize], to: &[usize]) {
        self.network.block(from, to);
        self.after_blocking();
    }

    fn after_blocking(&mut self) {
        let blocks = self.network.describe_blocks();
        self.trace
            .note(self.now_ms, format!("network: PARTITION {blocks}"));
        for (from, to) in self.network.blocked_but_up() {
            self.cut_link(from, to);
        }
    }

    /// Heal every partition; links come back at their next reconnect attempt.
    pub fn heal(&mut self) {
        self.network.recover();
        self.trace.note(self.now_ms, "network: healed".to_string());
    }

    /// The swarm's schedule: faults for the faulty phase, then the liveness phase.
    pub fn start_swarm(&mut self) {
        self.faults_active = true;
        self.start_clients();
        if self.options.crash_interval_ms_mean > 0 {
            let at_ms = exponential_ms(&mut self.fault_rng, self.options.crash_interval_ms_mean);
            self.schedule(self.now_ms + at_ms, Event::Crash);
        }
        if self.options.partition_interval_ms_mean > 0 && self.options.partition_kinds.any() {
            let at_ms =
                exponential_ms(&mut self.fault_rng, self.options.partition_interval_ms_mean);
            self.schedule(self.now_ms + at_ms, Event::PartitionStart);
        }
        if self.options.pause_interval_ms_mean > 0 {
            let at_ms = exponential_ms(&mut self.pause_rng, self.options.pause_interval_ms_mean);
            self.schedule(self.now_ms + at_ms, Event::PauseStart);
        }
        if self.options.clock_step_interval_ms_mean > 0 {
            let mean_ms = self.options.clock_step_interval_ms_mean;
            let at_ms = exponential_ms(&mut self.pause_rng, mean_ms);
            self.schedule(self.now_ms + at_ms, Event::ClockStep);
        }
        self.schedule(self.now_ms + self.options.check_interval_ms, Event::Check);
        self.schedule(
            self.now_ms + self.options.faulty_phase_ms,
            Event::LivenessStart,
        );
    }

    /// Faults stop, every node comes up, no new client operations: the cluster must
    /// converge within the liveness phase.
    pub fn start_liveness(&mut self) {
        self.faults_active = false;
        self.liveness_start_ms = Some(self.now_ms);
        self.trace.note(
            self.now_ms,
            "LIVENESS phase: faults stop, every node up".to_string(),
        );
        self.heal();
        self.network.options.packet_loss_probability = 0.0;
        self.network.options.late_frame_probability = 0.0;
        self.network.options.duplicate_frame_probability = 0.0;
        self.clients.issuing = false;
        for node in 0..self.slots.len() {
            self.restart(node);
        }
        self.schedule(self.now_ms + CONVERGENCE_POLL_MS, Event::ConvergenceCheck);
    }
}

/// What a crash did to the AOF, for the timeline.
fn describe(loss: &CrashLoss) -> String {
    let mut text = format!(
        "lost {} of {} unsynced AOF bytes",
        loss.lost_bytes, loss.unsynced_bytes
    );
    if loss.zeroed_bytes > 0 {
        text.push_str(&format!(", {} read back as zeros", loss.zeroed_bytes));
    }
    if loss.preallocated_bytes > 0 {
        text.push_str(&format!(
            ", then {} zeros of preallocated space",
            loss.preallocated_bytes
        ));
    }
    if loss.restored_bytes > 0 {
        text.push_str(&format!(
            ", an unsynced truncation undone ({} bytes back)",
            loss.restored_bytes
        ));
    }
    text
}
