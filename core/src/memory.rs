//! Memory: what the node uses, its limit (`maxmemory`), and how keys are chosen for
//! eviction, as Redis does.
//!
//! The core touches no allocator. The driver reports what the allocator holds
//! (`Input::MemoryUsed`); between two reports the node adds what its AOF grew by and
//! subtracts what it evicted, so a burst of writes inside one loop pass is counted
//! before the next report comes. The estimate is a function of the inputs alone, so the
//! simulator reproduces every eviction.
//!
//! Each key carries a 32-bit access stamp (`keyspace::entry`): under an LRU policy the
//! seconds of the node's clock when it was last used (Redis's 24-bit LRU clock), under
//! an LFU policy Redis's logarithmic counter in the low 8 bits and the minutes of its
//! last decrement in the 16 above. Only the master evicts, and it logs each eviction as
//! a delete, so replicas stay the replay of their AOF.

use crate::ids::Offset;
use crate::time::Instant;

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

/// How a policy ranks the keys it samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rank {
    Lru,
    Lfu,
    Random,
    Ttl,
}

const POLICIES: [(Policy, &str); 8] = [
    (Policy::NoEviction, "noeviction"),
    (Policy::AllKeysLru, "allkeys-lru"),
    (Policy::AllKeysLfu, "allkeys-lfu"),
    (Policy::AllKeysRandom, "allkeys-random"),
    (Policy::VolatileLru, "volatile-lru"),
    (Policy::VolatileLfu, "volatile-lfu"),
    (Policy::VolatileRandom, "volatile-random"),
    (Policy::VolatileTtl, "volatile-ttl"),
];

impl Policy {
    /// The policy Redis names `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Policy> {
        POLICIES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(p, _)| *p)
    }

    pub fn name(self) -> &'static str {
        POLICIES
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .expect("every policy is named")
    }

    /// Every name, for error messages and config help.
    pub fn names() -> impl Iterator<Item = &'static str> {
        POLICIES.iter().map(|(_, n)| *n)
    }

    /// Only keys with an expiry may be evicted.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// How sampled keys are ranked; `None` under `noeviction`.
    pub fn rank(self) -> Option<Rank> {
        match self {
            Policy::NoEviction => None,
            Policy::AllKeysLru | Policy::VolatileLru => Some(Rank::Lru),
            Policy::AllKeysLfu | Policy::VolatileLfu => Some(Rank::Lfu),
            Policy::AllKeysRandom | Policy::VolatileRandom => Some(Rank::Random),
            Policy::VolatileTtl => Some(Rank::Ttl),
        }
    }

    /// Whether reads must stamp the keys they use (an LRU or LFU policy).
    pub fn tracks_access(self) -> bool {
        matches!(self.rank(), Some(Rank::Lru | Rank::Lfu))
    }
}

/// The memory limit and its policy: Redis's `maxmemory`, `maxmemory-policy` and
/// `maxmemory-samples` (YAML `maxmemory`, `maxmemoryPolicy`, `maxmemorySamples`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxMemory {
    /// Bytes; 0 is no limit.
    pub bytes: u64,
    pub policy: Policy,
    /// Keys sampled for each eviction.
    pub samples: u32,
}

/// Redis's bounds on `maxmemory-samples`.
pub const SAMPLES_MIN: u32 = 1;
pub const SAMPLES_MAX: u32 = 64;

impl Default for MaxMemory {
    fn default() -> MaxMemory {
        MaxMemory {
            bytes: 0,
            policy: Policy::NoEviction,
            samples: 5,
        }
    }
}

/// What the node knows of its memory, and what it did about it.
#[derive(Clone, Debug)]
pub struct MemoryStatus {
    pub limit: MaxMemory,
    /// The allocator's bytes at the last report.
    allocated: u64,
    /// The process's resident bytes at the last report.
    pub resident: u64,
    /// The AOF's end (with records of this step) at the last report.
    aof_end_at_report: Offset,
    /// Bytes freed by evictions since the last report.
    evicted_bytes_since_report: u64,
    pub peak: u64,
    pub evicted_keys: u64,
    /// Draws for the LFU counter's increments: a generator of its own, so that reads,
    /// which stamp keys on every node, leave the node's main generator alone.
    lfu_draws: u64,
}

impl MemoryStatus {
    pub fn new(limit: MaxMemory) -> MemoryStatus {
        MemoryStatus {
            limit,
            allocated: 0,
            resident: 0,
            aof_end_at_report: Offset(0),
            evicted_bytes_since_report: 0,
            peak: 0,
            evicted_keys: 0,
            lfu_draws: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The driver's report: the allocator holds `allocated` bytes, the process
    /// `resident`, when the AOF (with this step's records) ends at `aof_end`.
    pub fn report(&mut self, allocated: u64, resident: u64, aof_end: Offset) {
        self.allocated = allocated;
        self.resident = resident;
        self.aof_end_at_report = aof_end;
        self.evicted_bytes_since_report = 0;
        self.peak = self.peak.max(allocated);
    }

    /// Bytes used now: the last report, plus what the AOF grew by since (a write's
    /// record is about the size of what it adds), less what evictions freed.
    pub fn used(&self, aof_end: Offset) -> u64 {
        let grown = aof_end.0.saturating_sub(self.aof_end_at_report.0);
        (self.allocated + grown).saturating_sub(self.evicted_bytes_since_report)
    }

    /// Whether a limit is set and `used` is over it.
    pub fn is_over(&self, aof_end: Offset) -> bool {
        self.limit.bytes != 0 && self.used(aof_end) > self.limit.bytes
    }

    /// `CONFIG RESETSTAT`: the eviction count and the peak start again.
    pub fn reset_counters(&mut self) {
        self.evicted_keys = 0;
        self.peak = self.allocated;
    }

    pub fn note_eviction(&mut self, bytes: u64) {
        self.evicted_keys += 1;
        self.evicted_bytes_since_report += bytes;
    }

    /// The stamp a key gets when it is created (Redis's `LFU_INIT_VAL` under LFU).
    pub fn new_key_stamp(&self, now: Instant) -> u32 {
        match self.limit.policy.rank() {
            Some(Rank::Lfu) => lfu_stamp(minutes(now), LFU_INIT_VAL),
            _ => lru_clock(now),
        }
    }

    /// The stamp of a key used now that had `stamp`.
    pub fn touched_stamp(&mut self, stamp: u32, now: Instant) -> u32 {
        if self.limit.policy.rank() != Some(Rank::Lfu) {
            return lru_clock(now);
        }
        let counter = lfu_decayed(stamp, now);
        let draw = self.next_draw();
        lfu_stamp(minutes(now), lfu_incremented(counter, draw))
    }

    /// A uniform draw in [0, 1) (splitmix64).
    fn next_draw(&mut self) -> f64 {
        self.lfu_draws = self.lfu_draws.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.lfu_draws;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Redis's LRU clock: seconds, in 24 bits.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// A new key's LFU counter, so that it is not evicted before it can be used.
const LFU_INIT_VAL: u8 = 5;
/// `lfu-log-factor`: how many hits it takes to saturate the counter.
const LFU_LOG_FACTOR: f64 = 10.0;
/// `lfu-decay-time`: minutes for the counter to lose one.
const LFU_DECAY_MINUTES: u32 = 1;

pub fn lru_clock(now: Instant) -> u32 {
    ((now.0 / 1000) as u32) & LRU_CLOCK_MAX
}

/// Seconds since a key stamped `stamp` was used (the LRU clock wraps every 194 days).
pub fn idle_seconds(stamp: u32, now: Instant) -> u64 {
    let clock = lru_clock(now);
    let stamp = stamp & LRU_CLOCK_MAX;
    u64::from(clock.wrapping_sub(stamp) & LRU_CLOCK_MAX)
}

fn minutes(now: Instant) -> u16 {
    (now.0 / 60_000) as u16
}

fn lfu_stamp(minutes: u16, counter: u8) -> u32 {
    (u32::from(minutes) << 8) | u32::from(counter)
}

/// The counter of `stamp`, less one per decay period since its last decrement.
pub fn lfu_decayed(stamp: u32, now: Instant) -> u8 {
    let counter = (stamp & 0xff) as u8;
    let last = (stamp >> 8) as u16;
    let elapsed = u32::from(minutes(now).wrapping_sub(last));
    let periods = elapsed / LFU_DECAY_MINUTES;
    counter.saturating_sub(periods.min(255) as u8)
}

/// Redis's `LFULogIncr`: the counter grows with probability 1 / (base * factor + 1).
fn lfu_incremented(counter: u8, draw: f64) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * LFU_LOG_FACTOR + 1.0);
    if draw < p {
        counter + 1
    } else {
        counter
    }
}

/// How much a sampled key deserves eviction: the higher, the sooner.
pub fn eviction_score(rank: Rank, stamp: u32, expire_at_ms: Option<u64>, now: Instant) -> u64 {
    match rank {
        Rank::Lru => idle_seconds(stamp, now),
        Rank::Lfu => u64::from(u8::MAX - lfu_decayed(stamp, now)),
        Rank::Random => 0,
        Rank::Ttl => u64::MAX - expire_at_ms.unwrap_or(u64::MAX),
    }
}

/// `bytes` as Redis's `bytesToHuman` prints it: `1.50M`.
pub fn human_bytes(bytes: u64) -> String {
    let units = [
        (1u64 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (scale, unit) in units {
        if bytes >= scale {
            return format!("{:.2}{unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_reads_back_by_its_name() {
        for name in Policy::names() {
            let policy = Policy::from_name(name).unwrap();
            assert_eq!(policy.name(), name);
            assert_eq!(policy.is_volatile(), name.starts_with("volatile"));
        }
        assert_eq!(Policy::from_name("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::from_name("lru"), None);
    }

    #[test]
    fn used_memory_follows_reports_growth_and_evictions() {
        let mut memory = MemoryStatus::new(MaxMemory {
            bytes: 1000,
            ..MaxMemory::default()
        });
        memory.report(900, 2000, Offset(50));
        assert_eq!(memory.used(Offset(50)), 900);
        assert!(!memory.is_over(Offset(150)));
        assert!(memory.is_over(Offset(151)));
        memory.note_eviction(300);
        assert_eq!(memory.used(Offset(151)), 701);
        assert_eq!(memory.evicted_keys, 1);
        memory.report(700, 2000, Offset(151));
        assert_eq!(memory.used(Offset(151)), 700);
        assert_eq!(memory.peak, 900);
    }

    #[test]
    fn the_lru_clock_counts_idle_seconds_across_its_wrap() {
        let stamp = lru_clock(Instant(5_000));
        assert_eq!(idle_seconds(stamp, Instant(65_000)), 60);
        let near_wrap = Instant(u64::from(LRU_CLOCK_MAX) * 1000);
        let stamp = lru_clock(near_wrap);
        assert_eq!(idle_seconds(stamp, Instant(near_wrap.0 + 3_000)), 3);
    }

    #[test]
    fn the_lfu_counter_grows_ever_slower_and_decays_by_the_minute() {
        let mut memory = MemoryStatus::new(MaxMemory {
            policy: Policy::AllKeysLfu,
            ..MaxMemory::default()
        });
        let now = Instant(0);
        let mut stamp = memory.new_key_stamp(now);
        assert_eq!(lfu_decayed(stamp, now), LFU_INIT_VAL);
        for _ in 0..1000 {
            stamp = memory.touched_stamp(stamp, now);
        }
        let hot = lfu_decayed(stamp, now);
        // Redis's table for factor 10: about 18 after 100 hits, 24 after 1000.
        assert!((15..=40).contains(&hot), "{hot}");
        assert_eq!(lfu_decayed(stamp, Instant(3 * 60_000)), hot - 3);
        assert_eq!(lfu_decayed(stamp, Instant(1_000 * 60_000)), 0);
    }

    #[test]
    fn scores_prefer_the_idle_the_rare_and_the_soon_expiring() {
        let now = Instant(100_000);
        let old = lru_clock(Instant(10_000));
        let recent = lru_clock(Instant(90_000));
        assert!(
            eviction_score(Rank::Lru, old, None, now)
                > eviction_score(Rank::Lru, recent, None, now)
        );
        let rare = lfu_stamp(minutes(now), 1);
        let common = lfu_stamp(minutes(now), 50);
        assert!(
            eviction_score(Rank::Lfu, rare, None, now)
                > eviction_score(Rank::Lfu, common, None, now)
        );
        assert!(
            eviction_score(Rank::Ttl, 0, Some(5), now)
                > eviction_score(Rank::Ttl, 0, Some(50), now)
        );
    }

    #[test]
    fn human_bytes_prints_as_redis() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1536), "1.50K");
        assert_eq!(human_bytes(100 << 20), "100.00M");
    }
}
