//! Process pauses: a node stops stepping for a while (a long GC, a stopped VM, a swapped
//! process), then resumes. While it is paused its sockets and timers queue: every event
//! for it waits, and when it resumes it first reads the flood that queued up, then runs
//! its overdue timers. Its clocks keep running all the while.
//!
//! The flood comes in no particular order across sockets (the daemon reads them in the
//! order `epoll` reports them), but in order within each: a client's requests, or one
//! peer's frames, stay in the order they were sent.

use std::collections::{BTreeMap, VecDeque};

use super::{Event, World};
use crate::seed::{between, chance, exponential_ms};

/// The longest pause: a stopped VM or a long GC, not a node that never comes back.
const PAUSE_MS_MAX: u64 = 8_000;

impl World {
    /// The node an event is handled by, if it is one of that node's inputs.
    fn event_node(event: &Event) -> Option<usize> {
        match *event {
            Event::Tick { node, .. }
            | Event::AofReadChunk { node, .. }
            | Event::BaseReadChunk { node, .. }
            | Event::ClientConnect { node, .. }
            | Event::ClientData { node, .. }
            | Event::ClientClose { node, .. }
            | Event::FsyncTimer { node, .. }
            | Event::FsyncDone { node, .. } => Some(node),
            Event::PeerFrame { to, .. } => Some(to),
            Event::LinkDownNotice { from, .. } | Event::LinkReconnect { from, .. } => Some(from),
            _ => None,
        }
    }

    /// If `event` is for a paused node, hold it until the node resumes and return
    /// `None`; otherwise hand it back to be dispatched now.
    pub(super) fn hold_if_paused(&mut self, event: Event) -> Option<Event> {
        let Some(node) = Self::event_node(&event) else {
            return Some(event);
        };
        let Some(until_ms) = self.slots[node].paused_until_ms else {
            return Some(event);
        };
        debug_assert!(until_ms >= self.now_ms);
        if let Event::Tick { .. } = event {
            // Timers are run again when the node resumes, after what queued up.
            self.slots[node].tick_at_ms = None;
            return None;
        }
        self.slots[node].held.push(event);
        None
    }

    /// Where an event comes from, as far as ordering goes: events of one source keep
    /// their order through a pause.
    fn event_source(event: &Event) -> (u8, u64) {
        match *event {
            Event::PeerFrame { from, .. } => (0, from as u64),
            Event::ClientConnect { conn, .. }
            | Event::ClientData { conn, .. }
            | Event::ClientClose { conn, .. } => (1, conn),
            Event::LinkDownNotice { to, .. } | Event::LinkReconnect { to, .. } => (2, to as u64),
            _ => (3, 0), // The disk and the fsync thread.
        }
    }

    pub(super) fn on_pause_timer(&mut self) {
        if !self.faults_active {
            return;
        }
        let alive: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].node.is_some() && self.slots[i].paused_until_ms.is_none())
            .collect();
        if !alive.is_empty() {
            let mut node = alive[between(&mut self.pause_rng, 0, alive.len() as u64 - 1) as usize];
            // Half the time the master: a master that stops while the others elect a
            // new one, then wakes up believing it still reigns, is the case to test.
            if let Some(master) = self.master().filter(|m| alive.contains(m)) {
                if chance(&mut self.pause_rng, 0.5) {
                    node = master;
                }
            }
            let mean_ms = self.options.pause_duration_ms_mean.max(1);
            // Bounded well inside the liveness phase, which waits for a paused node.
            let pause_ms = exponential_ms(&mut self.pause_rng, mean_ms).min(PAUSE_MS_MAX);
            self.pause(node, pause_ms);
        }
        let next_ms = exponential_ms(&mut self.pause_rng, self.options.pause_interval_ms_mean);
        self.schedule(self.now_ms + next_ms, Event::PauseStart);
    }

    /// Stop stepping node `index` for `pause_ms` of true time.
    pub fn pause(&mut self, index: usize, pause_ms: u64) {
        assert!(
            self.slots[index].node.is_some(),
            "only a running node pauses"
        );
        let until_ms = self.now_ms + pause_ms;
        self.slots[index].paused_until_ms = Some(until_ms);
        let incarnation = self.slots[index].incarnation;
        self.trace.note(
            self.now_ms,
            format!("node {index}: PAUSED for {pause_ms} ms"),
        );
        // Scheduled now, so it runs before every event held for the node.
        self.schedule(
            until_ms,
            Event::Resume {
                node: index,
                incarnation,
            },
        );
    }

    pub(super) fn on_resume(&mut self, index: usize, incarnation: u64) {
        if self.slots[index].incarnation != incarnation {
            return; // It crashed while paused; the crash ended the pause.
        }
        self.slots[index].paused_until_ms = None;
        let held = std::mem::take(&mut self.slots[index].held);
        self.trace.note(
            self.now_ms,
            format!("node {index}: resumed with {} events queued", held.len()),
        );
        let mut sources: BTreeMap<(u8, u64), VecDeque<Event>> = BTreeMap::new();
        for event in held {
            sources
                .entry(Self::event_source(&event))
                .or_default()
                .push_back(event);
        }
        // A random interleaving of the sources, each in its own order. They are handled
        // here, not scheduled: a frame due at this very millisecond is already in the
        // queue, and it must not overtake the frames held before it on its link.
        let mut queues: Vec<VecDeque<Event>> = sources.into_values().collect();
        while !queues.is_empty() && self.violation.is_none() {
            let pick = between(&mut self.pause_rng, 0, queues.len() as u64 - 1) as usize;
            let event = queues[pick].pop_front().expect("queues are never empty");
            if queues[pick].is_empty() {
                queues.swap_remove(pick);
            }
            self.dispatch(event);
        }
        // After the held events, which were scheduled before this tick.
        self.slots[index].tick_at_ms = Some(self.now_ms);
        self.schedule(
            self.now_ms,
            Event::Tick {
                node: index,
                incarnation,
            },
        );
    }
}
