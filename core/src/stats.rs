//! The counters `INFO` reports in its Server, Clients, Stats and Persistence sections,
//! with Redis's field names. The node bumps them as it steps; time comes from the step's
//! `now`, so they are as deterministic as everything else in the core.

use crate::time::Instant;

/// Samples kept for `instantaneous_ops_per_sec`: Redis keeps 16, one per 100 ms.
const OPS_SAMPLES: usize = 16;
/// The sampling period: the node's 100 ms housekeeping tick.
pub const OPS_SAMPLE_INTERVAL_MS: u64 = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct OpsSample {
    at: Instant,
    commands: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// When the node started: the time of its first step.
    pub started_at: Option<Instant>,
    pub connections_received: u64,
    /// Commands run (not those refused before running: unknown, wrong arity, no auth,
    /// redirected), as Redis counts them.
    pub commands_processed: u64,
    /// Reads by read commands that found their key, and that did not.
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Keys the master deleted because they expired.
    pub expired_keys: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Replication bytes received from a master (its AOF records and base), framed, as
    /// Redis's `total_net_repl_input_bytes`.
    pub net_repl_input_bytes: u64,
    /// Gauges as of the end of the last step: clients connected, clients whose reply
    /// is held (WAIT, majority mode), and whether the keyspace is being rebuilt from
    /// the AOF (INFO's `loading`).
    pub connected_clients: usize,
    pub blocked_clients: usize,
    pub loading: bool,
    /// A ring of (time, commands processed), oldest overwritten first.
    samples: [OpsSample; OPS_SAMPLES],
    samples_taken: usize,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started_at: None,
            connections_received: 0,
            commands_processed: 0,
            keyspace_hits: 0,
            keyspace_misses: 0,
            expired_keys: 0,
            net_input_bytes: 0,
            net_output_bytes: 0,
            net_repl_input_bytes: 0,
            connected_clients: 0,
            blocked_clients: 0,
            loading: false,
            samples: [OpsSample::default(); OPS_SAMPLES],
            samples_taken: 0,
        }
    }
}

impl Stats {
    /// `CONFIG RESETSTAT`: the counters start again from zero; the gauges, the start
    /// time and the ops samples' clock stay.
    pub fn reset_counters(&mut self) {
        self.connections_received = 0;
        self.commands_processed = 0;
        self.keyspace_hits = 0;
        self.keyspace_misses = 0;
        self.expired_keys = 0;
        self.net_input_bytes = 0;
        self.net_output_bytes = 0;
        self.net_repl_input_bytes = 0;
    }

    /// Counts one read lookup of a read command.
    pub fn count_lookup(&mut self, found: bool) {
        if found {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
    }

    /// Records the command count now, for `instantaneous_ops_per_sec`.
    pub fn sample_ops(&mut self, now: Instant) {
        let sample = OpsSample {
            at: now,
            commands: self.commands_processed,
        };
        self.samples[self.samples_taken % OPS_SAMPLES] = sample;
        self.samples_taken += 1;
    }

    /// Commands per second over the sampled window (up to 1.6 s), counting up to `now`;
    /// 0 before two samples exist.
    pub fn ops_per_sec(&self, now: Instant) -> u64 {
        let kept = self.samples_taken.min(OPS_SAMPLES);
        if kept < 2 {
            return 0;
        }
        // The oldest sample: the next to be overwritten once the ring is full.
        let oldest_index = if kept == OPS_SAMPLES {
            self.samples_taken % OPS_SAMPLES
        } else {
            0
        };
        let oldest = self.samples[oldest_index];
        let elapsed_ms = now.0.saturating_sub(oldest.at.0);
        if elapsed_ms == 0 {
            return 0;
        }
        debug_assert!(
            self.commands_processed >= oldest.commands,
            "counters only grow"
        );
        (self.commands_processed - oldest.commands) * 1000 / elapsed_ms
    }

    pub fn uptime_s(&self, now: Instant) -> u64 {
        self.started_at
            .map_or(0, |at| now.0.saturating_sub(at.0) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_per_sec_counts_over_the_sampled_window() {
        let mut stats = Stats::default();
        assert_eq!(stats.ops_per_sec(Instant(0)), 0);
        for tick in 0..40u64 {
            stats.commands_processed += 50; // 50 per 100 ms: 500 per second.
            stats.sample_ops(Instant(tick * OPS_SAMPLE_INTERVAL_MS));
        }
        assert_eq!(stats.ops_per_sec(Instant(3_900)), 500);
        // Idle since: the rate decays as time passes without commands.
        assert_eq!(stats.ops_per_sec(Instant(5_400)), 750 * 1000 / 3_000);
    }

    #[test]
    fn lookups_count_hits_and_misses() {
        let mut stats = Stats::default();
        stats.count_lookup(true);
        stats.count_lookup(false);
        stats.count_lookup(false);
        assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 2));
    }
}
