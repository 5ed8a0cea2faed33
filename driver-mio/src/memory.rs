//! What the allocator holds and what the process has resident, for the core's
//! `Input::MemoryUsed` (INFO memory, `maxmemory`). The daemon's allocator is jemalloc
//! (`main.rs`): its `stats.allocated` is Redis's `used_memory`. Reading it refreshes
//! jemalloc's statistics (an `epoch` bump, a few microseconds), so it is read at most
//! once a millisecond while a limit is set, and once a second otherwise; the resident
//! size comes from `/proc/self/statm`, at most ten times a second.

use tikv_jemalloc_ctl::{epoch, stats};

/// How often the allocator is read while a `maxmemory` is set: between two reports
/// the core counts what the AOF grew by, so a pass's burst is never missed.
const LIMITED_INTERVAL_MS: u64 = 1;
/// How often it is read otherwise, for INFO.
const UNLIMITED_INTERVAL_MS: u64 = 1_000;
/// How often the resident size is read.
const RESIDENT_INTERVAL_MS: u64 = 100;

pub struct MemoryProbe {
    next_report_ms: u64,
    next_resident_ms: u64,
    resident: u64,
    page_bytes: u64,
}

impl Default for MemoryProbe {
    fn default() -> MemoryProbe {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        MemoryProbe {
            next_report_ms: 0,
            next_resident_ms: 0,
            resident: 0,
            page_bytes: u64::try_from(page).unwrap_or(4096),
        }
    }
}

impl MemoryProbe {
    /// `(allocated, resident)` if a report is due at `now_ms`.
    pub fn read_if_due(&mut self, now_ms: u64, limited: bool) -> Option<(u64, u64)> {
        if now_ms < self.next_report_ms {
            return None;
        }
        let interval_ms = match limited {
            true => LIMITED_INTERVAL_MS,
            false => UNLIMITED_INTERVAL_MS,
        };
        self.next_report_ms = now_ms + interval_ms;
        if now_ms >= self.next_resident_ms {
            self.next_resident_ms = now_ms + RESIDENT_INTERVAL_MS;
            self.resident = self.read_resident().unwrap_or(self.resident);
        }
        // jemalloc's statistics are refreshed by an epoch bump; a failure leaves
        // the previous figures, which are still a sound estimate.
        let _ = epoch::advance();
        let allocated = stats::allocated::read().map_or(0, |bytes| bytes as u64);
        Some((allocated, self.resident.max(allocated)))
    }

    /// The resident set, from the second field of `/proc/self/statm` (in pages).
    fn read_resident(&self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * self.page_bytes)
    }
}
