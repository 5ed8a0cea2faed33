//! Each node's clocks. Real machines disagree about time: a monotonic clock that runs a
//! little fast or slow (drift, bounded by `bucket_core::config::CLOCK_DRIFT_PPM_MAX`),
//! and a wall clock that can also be stepped forward or back (NTP, an operator). The
//! world keeps true time; a node only ever sees its own clocks.

use bucket_core::Now;
use rand_chacha::ChaCha8Rng;

use super::{Event, World};
use crate::seed::{between, exponential_ms};

const PPM: i128 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// How fast this clock runs against true time, in parts per million.
    pub drift_ppm: i64,
    /// The monotonic clock's reading at true time zero.
    pub instant_origin_ms: u64,
    /// Wall-clock steps applied so far (positive: the clock was set forward).
    pub unix_step_ms: i64,
}

impl Clock {
    pub fn new(drift_ppm: i64, instant_origin_ms: u64) -> Clock {
        assert!(
            drift_ppm.unsigned_abs() <= bucket_core::config::CLOCK_DRIFT_PPM_MAX,
            "drift within the bound the config states"
        );
        Clock {
            drift_ppm,
            instant_origin_ms,
            unix_step_ms: 0,
        }
    }

    /// The monotonic clock's reading at true time `true_ms`.
    pub fn instant_ms(&self, true_ms: u64) -> u64 {
        let scaled = true_ms as i128 * (PPM + self.drift_ppm as i128) / PPM;
        self.instant_origin_ms + scaled as u64
    }

    /// What the node sees at true time `true_ms`: its monotonic and wall clocks.
    pub fn now(&self, true_ms: u64, unix_epoch_offset_ms: u64) -> Now {
        let instant_ms = self.instant_ms(true_ms);
        let unix_ms = (unix_epoch_offset_ms + instant_ms) as i64 + self.unix_step_ms;
        Now::new(instant_ms, unix_ms as u64)
    }

    /// The first true time at which the monotonic clock reads at least `instant_ms`.
    pub fn true_ms_at(&self, instant_ms: u64) -> u64 {
        let elapsed = instant_ms.saturating_sub(self.instant_origin_ms) as i128;
        let rate = PPM + self.drift_ppm as i128;
        // Round down, then step forward past the integer rounding of `instant_ms`.
        let mut true_ms = (elapsed * PPM / rate) as u64;
        while self.instant_ms(true_ms) < instant_ms {
            true_ms += 1;
        }
        debug_assert!(true_ms == 0 || self.instant_ms(true_ms - 1) < instant_ms);
        true_ms
    }
}

/// A machine's clock: drift within `drift_ppm_max` either way, and a monotonic origin
/// of its own (machines booted at different times).
pub fn draw(rng: &mut ChaCha8Rng, drift_ppm_max: u64) -> Clock {
    let drift_ppm = between(rng, 0, 2 * drift_ppm_max) as i64 - drift_ppm_max as i64;
    let origin_ms = between(rng, 0, 1_000_000);
    Clock::new(drift_ppm, origin_ms)
}

impl World {
    /// Step one node's wall clock forward or back, as NTP or an operator might. The
    /// monotonic clock, which timers use, is untouched.
    pub(super) fn on_clock_step_timer(&mut self) {
        if !self.faults_active {
            return;
        }
        let rng = &mut self.pause_rng;
        let node = between(rng, 0, self.slots.len() as u64 - 1) as usize;
        let max_ms = self.options.clock_step_ms_max;
        let step_ms = between(rng, 0, 2 * max_ms) as i64 - max_ms as i64;
        self.slots[node].clock.unix_step_ms += step_ms;
        self.trace.note(
            self.now_ms,
            format!("node {node}: wall clock stepped by {step_ms} ms"),
        );
        let mean_ms = self.options.clock_step_interval_ms_mean;
        let next_ms = exponential_ms(&mut self.pause_rng, mean_ms);
        self.schedule(self.now_ms + next_ms, Event::ClockStep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drifting_clock_is_monotonic_and_inverts() {
        for drift_ppm in [-5_000, -1, 0, 7, 5_000] {
            let clock = Clock::new(drift_ppm, 1_000);
            let mut last = 0;
            for true_ms in (0..100_000).step_by(997) {
                let instant = clock.instant_ms(true_ms);
                assert!(instant >= last, "drift {drift_ppm}: monotonic");
                last = instant;
                let back = clock.true_ms_at(instant);
                assert!(back <= true_ms, "drift {drift_ppm}: {back} > {true_ms}");
                assert_eq!(clock.instant_ms(back), instant, "drift {drift_ppm}");
            }
        }
    }

    #[test]
    fn a_fast_clock_gains_and_a_step_moves_only_the_wall_clock() {
        let mut clock = Clock::new(5_000, 0);
        assert_eq!(clock.instant_ms(100_000), 100_500);
        clock.unix_step_ms = -2_000;
        let now = clock.now(100_000, 10_000_000);
        assert_eq!(now.instant.0, 100_500);
        assert_eq!(now.unix.0, 10_098_500);
    }
}
