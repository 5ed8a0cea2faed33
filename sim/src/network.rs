//! The simulated network: one link per ordered pair of nodes, each a small state machine
//! (down, up), carrying frames in order as TCP would. The network is seeded and holds
//! no clock: the world asks it what happens and schedules the results.
//!
//! Operations, as raft-rs's test network names them: `send`, `drop` (a lost frame resets
//! its link), `cut` (reset one link), `isolate` (cut a node off), `recover` (heal every
//! partition).
//!
//! TCP never reorders or duplicates inside one connection, and this network does not
//! either. Around connections it does what real ones do: a frame of a connection that
//! was reset may still be read late (it sat in the receiver's buffers while a new
//! connection came up), so it arrives after frames of the new session; and a frame may
//! arrive twice, late (a retransmitting middlebox, a peer's reconnect logic). Frames on
//! different links are independent, so they reorder freely across links.

use rand_chacha::ChaCha8Rng;

use crate::seed::{between, chance, exponential_ms};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected; a reconnect attempt may be scheduled.
    Down,
    /// Connected: frames sent now arrive unless the link resets first.
    Up,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub state: LinkState,
    /// Bumped on every reset and reconnect: frames from an older epoch are dropped.
    pub epoch: u64,
    /// When the last frame sent on this link arrives: later frames never overtake it.
    delivery_ms_last: u64,
    /// A reconnect attempt is already scheduled.
    pub reconnect_scheduled: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkOptions {
    pub one_way_delay_min_ms: u64,
    pub one_way_delay_mean_ms: u64,
    pub one_way_delay_max_ms: u64,
    pub packet_loss_probability: f64,
    pub reconnect_backoff_ms_min: u64,
    pub reconnect_backoff_ms_max: u64,
    /// Chance that a frame of a reset link is read late rather than lost.
    pub late_frame_probability: f64,
    /// Chance that a delivered frame arrives a second time, late.
    pub duplicate_frame_probability: f64,
    /// How late such frames come, at most.
    pub late_frame_delay_ms_max: u64,
}

/// What became of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// It arrives at `at_ms`, if the link is still in `epoch` then.
    Deliver { at_ms: u64, epoch: u64 },
    /// The link is down: the frame is gone (the sender was, or will be, told).
    Dropped,
    /// The frame was lost and the link reset: the caller cuts it.
    Lost,
}

pub struct Network {
    node_count: usize,
    links: Vec<Link>,
    /// `blocked[from * n + to]`: frames from `from` cannot reach `to`.
    blocked: Vec<bool>,
    alive: Vec<bool>,
    rng: ChaCha8Rng,
    /// Late and duplicate frames draw from their own stream, so that turning them on
    /// leaves every latency and loss of the run as it was.
    late_rng: ChaCha8Rng,
    pub options: NetworkOptions,
}

impl Network {
    pub fn new(
        node_count: usize,
        options: NetworkOptions,
        (rng, late_rng): (ChaCha8Rng, ChaCha8Rng),
    ) -> Network {
        assert!(node_count >= 1);
        assert!(options.one_way_delay_min_ms <= options.one_way_delay_mean_ms);
        assert!(options.one_way_delay_mean_ms <= options.one_way_delay_max_ms);
        let link = Link {
            state: LinkState::Down,
            epoch: 0,
            delivery_ms_last: 0,
            reconnect_scheduled: false,
        };
        Network {
            node_count,
            links: vec![link; node_count * node_count],
            blocked: vec![false; node_count * node_count],
            alive: vec![false; node_count],
            rng,
            late_rng,
            options,
        }
    }

    fn index(&self, from: usize, to: usize) -> usize {
        assert!(from < self.node_count && to < self.node_count);
        assert_ne!(from, to, "a node has no link to itself");
        from * self.node_count + to
    }

    pub fn link(&self, from: usize, to: usize) -> &Link {
        &self.links[self.index(from, to)]
    }

    pub fn link_mut(&mut self, from: usize, to: usize) -> &mut Link {
        let i = self.index(from, to);
        &mut self.links[i]
    }

    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.blocked[self.index(from, to)]
    }

    /// Whether a connection from `from` to `to` can be made now.
    pub fn can_connect(&self, from: usize, to: usize) -> bool {
        self.alive[from] && self.alive[to] && !self.is_blocked(from, to)
    }

    /// One frame from `from` to `to`, sent at `now_ms`.
    pub fn send(&mut self, from: usize, to: usize, now_ms: u64) -> Sent {
        if self.link(from, to).state != LinkState::Up {
            return Sent::Dropped;
        }
        if chance(&mut self.rng, self.options.packet_loss_probability) {
            return Sent::Lost;
        }
        let delay_ms = self.draw_delay_ms();
        let link = self.link_mut(from, to);
        let at_ms = (now_ms + delay_ms).max(link.delivery_ms_last);
        link.delivery_ms_last = at_ms;
        Sent::Deliver {
            at_ms,
            epoch: link.epoch,
        }
    }

    fn draw_delay_ms(&mut self) -> u64 {
        let o = &self.options;
        let (min_ms, mean_ms, max_ms) = (
            o.one_way_delay_min_ms,
            o.one_way_delay_mean_ms,
            o.one_way_delay_max_ms,
        );
        if mean_ms == min_ms {
            return min_ms;
        }
        (min_ms + exponential_ms(&mut self.rng, mean_ms - min_ms)).min(max_ms)
    }

    /// A frame of a link that was reset: how late it is read, if it is not lost.
    pub fn late_delivery_ms(&mut self) -> Option<u64> {
        let p = self.options.late_frame_probability;
        chance(&mut self.late_rng, p).then(|| self.late_delay_ms())
    }

    /// A frame being delivered: how much later its duplicate arrives, if it has one.
    pub fn duplicate_delay_ms(&mut self) -> Option<u64> {
        let p = self.options.duplicate_frame_probability;
        chance(&mut self.late_rng, p).then(|| self.late_delay_ms())
    }

    fn late_delay_ms(&mut self) -> u64 {
        between(
            &mut self.late_rng,
            1,
            self.options.late_frame_delay_ms_max.max(1),
        )
    }

    /// Whether a frame sent in `epoch` may still arrive.
    pub fn is_current(&self, from: usize, to: usize, epoch: u64) -> bool {
        // Every reset and reconnect starts a new epoch; a close (the sender died) does
        // not, so what it sent before dying still arrives.
        self.link(from, to).epoch == epoch
    }

    /// Reset one link: what is in flight is dropped. Returns whether it was up (so the
    /// sender, if alive, must hear `PeerLinkDown`).
    pub fn cut(&mut self, from: usize, to: usize) -> bool {
        let link = self.link_mut(from, to);
        let was_up = link.state == LinkState::Up;
        link.state = LinkState::Down;
        link.epoch += 1;
        was_up
    }

    /// The sender's process died: like a TCP close, what it already sent still
    /// arrives (the kernel flushes it), but nothing more can be sent until a reconnect,
    /// which starts a new epoch.
    pub fn close(&mut self, from: usize, to: usize) {
        self.link_mut(from, to).state = LinkState::Down;
    }

    /// Try to (re)connect. Returns whether the link is now up.
    pub fn connect(&mut self, from: usize, to: usize) -> bool {
        self.link_mut(from, to).reconnect_scheduled = false;
        if !self.can_connect(from, to) || self.link(from, to).state == LinkState::Up {
            return false;
        }
        let link = self.link_mut(from, to);
        link.state = LinkState::Up;
        link.epoch += 1;
        true
    }

    pub fn reconnect_backoff_ms(&mut self) -> u64 {
        let (lo, hi) = (
            self.options.reconnect_backoff_ms_min,
            self.options.reconnect_backoff_ms_max,
        );
        between(&mut self.rng, lo, hi.max(lo))
    }

    /// Every link that touches `node`, outbound first: (from, to) pairs in a fixed order.
    pub fn links_of(&self, node: usize) -> Vec<(usize, usize)> {
        let others = (0..self.node_count).filter(|&p| p != node);
        let outbound = others.clone().map(|p| (node, p));
        let inbound = others.map(|p| (p, node));
        outbound.chain(inbound).collect()
    }

    pub fn set_alive(&mut self, node: usize, alive: bool) {
        self.alive[node] = alive;
    }

    pub fn is_alive(&self, node: usize) -> bool {
        self.alive[node]
    }

    /// Block frames from every node of `from` to every node of `to`.
    pub fn block(&mut self, from: &[usize], to: &[usize]) {
        for &a in from {
            for &b in to {
                if a != b {
                    let i = self.index(a, b);
                    self.blocked[i] = true;
                }
            }
        }
    }

    /// Cut `node` off from everyone, both ways.
    pub fn isolate(&mut self, node: usize) {
        let others: Vec<usize> = (0..self.node_count).filter(|&p| p != node).collect();
        self.block(&[node], &others);
        self.block(&others, &[node]);
    }

    /// Heal every partition. Links come back through their reconnect attempts.
    pub fn recover(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
    }

    /// Every link that is up but now blocked: the caller cuts them.
    pub fn blocked_but_up(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for from in 0..self.node_count {
            for to in (0..self.node_count).filter(|&to| to != from) {
                if self.is_blocked(from, to) && self.link(from, to).state == LinkState::Up {
                    out.push((from, to));
                }
            }
        }
        out
    }

    /// A one-line picture of the partition, for the timeline.
    pub fn describe_blocks(&self) -> String {
        let mut parts = Vec::new();
        for from in 0..self.node_count {
            for to in (0..self.node_count).filter(|&to| to != from) {
                if self.is_blocked(from, to) {
                    parts.push(format!("{from}->{to}"));
                }
            }
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn network(loss: f64) -> Network {
        let options = NetworkOptions {
            one_way_delay_min_ms: 1,
            one_way_delay_mean_ms: 10,
            one_way_delay_max_ms: 50,
            packet_loss_probability: loss,
            reconnect_backoff_ms_min: 10,
            reconnect_backoff_ms_max: 20,
            late_frame_probability: 0.0,
            duplicate_frame_probability: 0.0,
            late_frame_delay_ms_max: 100,
        };
        let rngs = (ChaCha8Rng::seed_from_u64(7), ChaCha8Rng::seed_from_u64(8));
        let mut net = Network::new(3, options, rngs);
        (0..3).for_each(|n| net.set_alive(n, true));
        net
    }

    #[test]
    fn frames_on_one_link_arrive_in_order() {
        let mut net = network(0.0);
        assert!(net.connect(0, 1));
        let mut last_ms = 0;
        for now_ms in 0..200 {
            let Sent::Deliver { at_ms, .. } = net.send(0, 1, now_ms) else {
                panic!("link is up");
            };
            assert!(at_ms >= last_ms && at_ms > now_ms && at_ms <= now_ms + 50);
            last_ms = at_ms;
        }
    }

    #[test]
    fn cut_drops_in_flight_and_partition_blocks_reconnect() {
        let mut net = network(0.0);
        assert!(net.connect(0, 1));
        let Sent::Deliver { epoch, .. } = net.send(0, 1, 0) else {
            panic!("link is up");
        };
        assert!(net.cut(0, 1));
        assert!(!net.is_current(0, 1, epoch));
        assert_eq!(net.send(0, 1, 1), Sent::Dropped);
        net.isolate(1);
        assert!(!net.connect(0, 1));
        net.recover();
        assert!(net.connect(0, 1));
    }

    #[test]
    fn one_way_block_leaves_the_reverse_direction() {
        let mut net = network(0.0);
        net.block(&[0], &[1, 2]);
        assert!(!net.can_connect(0, 1));
        assert!(net.can_connect(1, 0));
        assert!(net.can_connect(1, 2));
    }

    #[test]
    fn total_loss_resets_the_link() {
        let mut net = network(1.0);
        assert!(net.connect(2, 0));
        assert_eq!(net.send(2, 0, 0), Sent::Lost);
    }
}
