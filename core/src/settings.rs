//! The daemon's runtime settings: what the driver, not the core, acts on (idle clients,
//! the client limit, the log level, the fsync policy), but which `CONFIG GET` reports
//! and `CONFIG SET` changes, as Redis's do.
//!
//! The core keeps the current values; a `CONFIG SET` that changes any of them makes the
//! node emit `Output::ApplySettings` with all of them, once the command has run.

use crate::output::LogLevel;

/// When the driver fsyncs the AOF, as Redis's `appendfsync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AppendFsync {
    /// Once per loop pass that wrote to the AOF, before that pass's replies go out.
    Always,
    /// At most once a second, on a background thread.
    #[default]
    Everysec,
    /// Never; the OS decides.
    No,
}

impl AppendFsync {
    pub const NAMES: &'static str = "everysec, always, no";

    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }

    pub fn parse(text: &[u8]) -> Option<AppendFsync> {
        match text.to_ascii_lowercase().as_slice() {
            b"always" => Some(AppendFsync::Always),
            b"everysec" => Some(AppendFsync::Everysec),
            b"no" => Some(AppendFsync::No),
            _ => None,
        }
    }
}

/// Redis's `loglevel` words for Bucket's levels: `verbose` is Bucket's debug, and
/// `notice` its info.
pub const LOGLEVEL_NAMES: &str = "debug, verbose, notice, warning";

pub fn loglevel_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "notice",
        LogLevel::Warn => "warning",
        // Redis has no level for errors only; `warning` is the nearest it reports.
        LogLevel::Error => "warning",
    }
}

pub fn parse_loglevel(text: &[u8]) -> Option<LogLevel> {
    match text.to_ascii_lowercase().as_slice() {
        b"debug" | b"verbose" => Some(LogLevel::Debug),
        b"notice" => Some(LogLevel::Info),
        b"warning" => Some(LogLevel::Warn),
        _ => None,
    }
}

/// The settings themselves, as the config file gave them and `CONFIG SET` changed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonSettings {
    /// Close a client idle this many seconds; 0: never (Redis's `timeout`).
    pub timeout_s: u64,
    /// Refuse new clients beyond this many (Redis's `maxclients`).
    pub maxclients: u64,
    pub loglevel: LogLevel,
    pub appendfsync: AppendFsync,
}

impl Default for DaemonSettings {
    fn default() -> DaemonSettings {
        DaemonSettings {
            timeout_s: 0,
            maxclients: 10_000,
            loglevel: LogLevel::Info,
            appendfsync: AppendFsync::Everysec,
        }
    }
}

/// Redis's bounds: `timeout` is a non-negative `int`, `maxclients` a positive `uint`.
pub const TIMEOUT_S_MAX: u64 = i32::MAX as u64;
pub const MAXCLIENTS_MAX: u64 = u32::MAX as u64;

/// The node's copy, and whether a command changed it since the driver last heard.
#[derive(Clone, Debug, Default)]
pub struct Daemon {
    pub settings: DaemonSettings,
    pub changed: bool,
}
