//! One `u64` seed per run, and a derived sub-seed for each subsystem, so that a change in
//! how one subsystem draws its numbers does not reshuffle the others.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// SplitMix64's finaliser: a bijective mix with good avalanche, so neighbouring seeds
/// give unrelated sub-seeds.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const TAG_OPTIONS: u64 = 0x6f70_7469_6f6e_7300;
const TAG_NETWORK: u64 = 0x6e65_7477_6f72_6b00;
const TAG_DISK: u64 = 0x6469_736b_0000_0000;
const TAG_WORKLOAD: u64 = 0x776f_726b_6c6f_6164;
const TAG_FAULTS: u64 = 0x6661_756c_7473_0000;
const TAG_NODE: u64 = 0x6e6f_6465_0000_0000;
const TAG_CLOCKS: u64 = 0x636c_6f63_6b73_0000;
const TAG_PAUSES: u64 = 0x7061_7573_6573_0000;
const TAG_CRASH_POINTS: u64 = 0x6372_6173_6870_0000;
const TAG_LATE_FRAMES: u64 = 0x6c61_7465_6672_0000;

/// The run's seed and every sub-seed derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub run: u64,
}

impl Seeds {
    pub fn new(run: u64) -> Seeds {
        Seeds { run }
    }

    fn derive(&self, tag: u64) -> u64 {
        splitmix64(self.run ^ tag)
    }

    /// The swarm options drawn for this run.
    pub fn options(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_OPTIONS))
    }

    /// Latencies, losses and reconnect backoffs.
    pub fn network(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_NETWORK))
    }

    /// How much of an unsynced tail survives a crash, and disk read latency.
    pub fn disk(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_DISK))
    }

    /// What the clients do and when.
    pub fn workload(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_WORKLOAD))
    }

    /// When nodes crash and restart and when partitions begin and heal.
    pub fn faults(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_FAULTS))
    }

    /// Each node's clock drift and origin, and when wall clocks are stepped.
    pub fn clocks(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_CLOCKS))
    }

    /// Which nodes pause, when and for how long.
    pub fn pauses(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_PAUSES))
    }

    /// Where inside a step a crash lands.
    pub fn crash_points(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_CRASH_POINTS))
    }

    /// Which frames of reset links are read late, and which arrive twice.
    pub fn late_frames(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(TAG_LATE_FRAMES))
    }

    /// The seed node `index` is built with in its `incarnation`-th life. Each restart
    /// draws fresh, as a restarted daemon seeds from the OS: a reused seed would redraw
    /// the same master ids.
    pub fn node(&self, index: usize, incarnation: u64) -> u64 {
        let node = self.derive(TAG_NODE ^ (index as u64));
        splitmix64(node ^ incarnation.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }
}

/// A number in `lo..=hi`. The modulo bias is negligible for the small ranges drawn here.
pub fn between(rng: &mut impl rand_core::RngCore, lo: u64, hi: u64) -> u64 {
    assert!(lo <= hi, "empty range {lo}..={hi}");
    let span = hi - lo;
    if span == u64::MAX {
        return rng.next_u64();
    }
    lo + rng.next_u64() % (span + 1)
}

/// True with probability `p` (0.0 never, 1.0 always).
pub fn chance(rng: &mut impl rand_core::RngCore, p: f64) -> bool {
    assert!((0.0..=1.0).contains(&p), "probability {p}");
    // 53 random bits, as a float in [0, 1).
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit < p
}

/// An exponentially distributed delay with the given mean, capped at ten means so that
/// one unlucky draw cannot stall a run.
pub fn exponential_ms(rng: &mut impl rand_core::RngCore, mean_ms: u64) -> u64 {
    let unit = ((rng.next_u64() >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
    let ms = -(unit.ln()) * mean_ms as f64;
    (ms as u64).min(mean_ms.saturating_mul(10)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn sub_seeds_differ_and_are_stable() {
        let seeds = Seeds::new(42);
        let a = seeds.network().next_u64();
        let b = seeds.disk().next_u64();
        let c = seeds.workload().next_u64();
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_eq!(a, Seeds::new(42).network().next_u64());
        assert_ne!(seeds.node(0, 0), seeds.node(1, 0));
        assert_ne!(seeds.node(0, 0), seeds.node(0, 1));
    }
}
