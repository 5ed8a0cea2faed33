//! A node's fsyncs, as the daemon runs them: the ones the node asks for (`SyncAof`),
//! and `appendfsync everysec`'s. One runs at a time per node. It covers the AOF as it
//! was when it began (`Disk::begin_background_sync`) and returns after a drawn latency;
//! a node's request is then answered with `Input::AofDurable`. Requests made while one
//! runs are served together by the next one (group commit). A truncation meanwhile
//! lowers what it covers, a crash loses it, and it may fail: the node then stops.

use bucket_core::Input;

use super::disk_faults::EVERYSEC_INTERVAL_MS;
use super::{Event, World};
use crate::options::AppendFsync;
use crate::seed::{between, exponential_ms};

/// One node's fsync in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsyncInFlight {
    /// The node asked for it: tell it when it returns.
    for_node: bool,
    /// The node asked again while it ran: start the next one when it returns.
    again: bool,
}

impl World {
    /// `SyncAof` from node `index`.
    pub(super) fn request_fsync(&mut self, index: usize) {
        match self.slots[index].fsync.as_mut() {
            Some(running) => running.again = true,
            None => self.start_fsync(index, true),
        }
    }

    /// `appendfsync everysec`: a sync is due. The daemon skips it while one runs, and
    /// when nothing is unsynced.
    pub(super) fn on_fsync_timer(&mut self, index: usize, incarnation: u64) {
        if !self.is_incarnation(index, incarnation) {
            return; // Its next boot starts the timer again.
        }
        if self.slots[index].appendfsync != AppendFsync::Everysec {
            self.slots[index].everysec_timer = false;
            return; // A CONFIG SET changed the policy: the timer stops.
        }
        if self.slots[index].fsync.is_none() && self.disks[index].is_dirty() {
            self.start_fsync(index, false);
        }
        let event = Event::FsyncTimer {
            node: index,
            incarnation,
        };
        self.schedule(self.now_ms + EVERYSEC_INTERVAL_MS, event);
    }

    /// Under `appendfsync everysec`, start the node's background-sync timer unless it
    /// runs already (at boot, and when a CONFIG SET turns the policy on).
    pub(super) fn start_everysec_timer(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if slot.appendfsync != AppendFsync::Everysec || slot.everysec_timer {
            return;
        }
        slot.everysec_timer = true;
        let event = Event::FsyncTimer {
            node: index,
            incarnation: slot.incarnation,
        };
        self.schedule(self.now_ms + EVERYSEC_INTERVAL_MS, event);
    }

    fn start_fsync(&mut self, index: usize, for_node: bool) {
        assert!(self.slots[index].fsync.is_none(), "one fsync at a time");
        self.slots[index].fsync = Some(FsyncInFlight {
            for_node,
            again: false,
        });
        self.disks[index].begin_background_sync();
        let latency_ms = match for_node {
            true => between(&mut self.disk_rng, 0, self.options.fsync_latency_ms_max),
            false => match self.options.fsync_latency_ms_mean {
                0 => 0,
                mean_ms => exponential_ms(&mut self.disk_rng, mean_ms),
            },
        };
        let incarnation = self.slots[index].incarnation;
        self.schedule(
            self.now_ms + latency_ms,
            Event::FsyncDone {
                node: index,
                incarnation,
            },
        );
    }

    pub(super) fn on_fsync_done(&mut self, index: usize, incarnation: u64) {
        if !self.is_incarnation(index, incarnation) {
            return; // The process died first: the fsync's outcome is the crash's.
        }
        let running = self.slots[index]
            .fsync
            .take()
            .expect("an fsync was running");
        if self.fsync_fails() {
            self.stop_on_failed_fsync(index, "fsync");
            return;
        }
        self.disks[index].complete_background_sync();
        let durable = self.disks[index].aof_synced_len();
        self.trace
            .event(self.now_ms, "fsync-done", &[index as u64, durable], b"");
        if running.again {
            self.start_fsync(index, true);
        }
        if running.for_node {
            let offset = bucket_core::Offset(durable);
            self.step_node(index, Input::AofDurable { offset });
        }
    }
}
