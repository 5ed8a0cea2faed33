//! Time as the node sees it: only what the driver passes in.

/// A monotonic instant in milliseconds since an arbitrary origin (the sim starts at zero).
/// Used for timers: heartbeats, elections, WAIT timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub fn add_ms(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Wall-clock time in milliseconds since the Unix epoch. Used only for key expiry,
/// which Redis defines in wall-clock terms (`EXPIREAT`, `PXAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub u64);

/// Everything the node knows about "now" during one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Now {
    pub instant: Instant,
    pub unix: UnixMillis,
}

impl Now {
    pub fn new(instant_ms: u64, unix_ms: u64) -> Now {
        Now {
            instant: Instant(instant_ms),
            unix: UnixMillis(unix_ms),
        }
    }
}
