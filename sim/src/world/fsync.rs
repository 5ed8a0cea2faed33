//! The node's fsync requests (`Output::SyncAof`), executed as the daemon does: one fsync
//! at a time per node, covering the AOF as it was when the fsync began, completing after
//! the disk's latency and reported back as `Input::AofDurable`. Requests made while one
//! runs are served together by the next (group commit). A truncation while an fsync
//! runs lowers what it may report; a crash loses it.

use bucket_core::Input;

use super::{Event, World};
use crate::seed::between;

/// One node's fsync in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsyncInFlight {
    /// The AOF length it makes durable (lowered by a truncation meanwhile).
    pub covers: u64,
    /// Another request came while it ran: start the next one when it ends.
    pub again: bool,
}

impl World {
    /// `SyncAof` from node `index`.
    pub(super) fn request_fsync(&mut self, index: usize) {
        match self.slots[index].fsync.as_mut() {
            Some(running) => running.again = true,
            None => self.start_fsync(index),
        }
    }

    fn start_fsync(&mut self, index: usize) {
        let covers = self.disks[index].aof_len();
        self.slots[index].fsync = Some(FsyncInFlight {
            covers,
            again: false,
        });
        let latency_ms = between(&mut self.disk_rng, 0, self.options.fsync_latency_ms_max);
        let incarnation = self.slots[index].incarnation;
        self.schedule(
            self.now_ms + latency_ms,
            Event::FsyncDone {
                node: index,
                incarnation,
            },
        );
    }

    /// A truncation: a running fsync can no longer vouch for bytes past `offset`.
    pub(super) fn lower_fsync(&mut self, index: usize, offset: u64) {
        if let Some(running) = self.slots[index].fsync.as_mut() {
            running.covers = running.covers.min(offset);
        }
    }

    pub(super) fn on_fsync_done(&mut self, index: usize, incarnation: u64) {
        if !self.is_incarnation(index, incarnation) {
            return; // The process died first: the fsync's outcome is the crash's.
        }
        let running = self.slots[index]
            .fsync
            .take()
            .expect("an fsync was running");
        self.disks[index].sync_to(running.covers);
        self.trace.event(
            self.now_ms,
            "fsync-done",
            &[index as u64, running.covers],
            b"",
        );
        if running.again {
            self.start_fsync(index);
        }
        let offset = bucket_core::Offset(running.covers);
        self.step_node(index, Input::AofDurable { offset });
    }
}
