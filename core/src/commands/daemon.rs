//! The daemon's settings in `CONFIG GET` and `CONFIG SET` (`timeout`, `maxclients`,
//! `loglevel`, `appendfsync`), and the settings Redis has that cannot change while
//! Bucket runs, which `CONFIG SET` refuses by name.

use super::Ctx;
use crate::settings::{self, AppendFsync, DaemonSettings, MAXCLIENTS_MAX, TIMEOUT_S_MAX};

/// Settings fixed for the process's life: the addresses, the data directory, the cluster
/// and the AOF, which Bucket always keeps. Redis's own reply for such a key.
const IMMUTABLE: &[&[u8]] = &[
    b"port",
    b"bind",
    b"cluster-port",
    b"cluster-enabled",
    b"cluster-config-file",
    b"databases",
    b"daemonize",
    b"appendonly",
    b"appendfilename",
    b"appenddirname",
    b"proto-max-bulk-len",
    b"client-query-buffer-limit",
    b"protected-mode",
    b"cluster-allow-reads-when-down",
];
/// Redis protects these from change unless configured to allow it; Bucket never does.
const PROTECTED: &[&[u8]] = &[b"dir", b"dbfilename", b"logfile", b"pidfile"];

/// The daemon settings of CONFIG GET, by Redis's names.
pub fn settings(ctx: &Ctx<'_>) -> [(&'static str, String); 4] {
    let current = &ctx.daemon.settings;
    [
        ("timeout", current.timeout_s.to_string()),
        ("maxclients", current.maxclients.to_string()),
        (
            "loglevel",
            settings::loglevel_name(current.loglevel).to_string(),
        ),
        ("appendfsync", current.appendfsync.name().to_string()),
    ]
}

/// Sets `name` in `current` if it is a daemon setting (`None` if it is not one), or
/// says why it cannot be set, in Redis's words.
pub fn config_set(
    current: &mut DaemonSettings,
    name: &[u8],
    value: &[u8],
) -> Option<Result<(), String>> {
    let result = match name {
        b"timeout" => bounded(value, 0, TIMEOUT_S_MAX).map(|s| current.timeout_s = s),
        b"maxclients" => bounded(value, 1, MAXCLIENTS_MAX).map(|n| current.maxclients = n),
        b"loglevel" => settings::parse_loglevel(value)
            .map(|level| current.loglevel = level)
            .ok_or_else(|| one_of(settings::LOGLEVEL_NAMES)),
        b"appendfsync" => AppendFsync::parse(value)
            .map(|policy| current.appendfsync = policy)
            .ok_or_else(|| one_of(AppendFsync::NAMES)),
        name if IMMUTABLE.contains(&name) => Err("can't set immutable config".to_string()),
        name if PROTECTED.contains(&name) => Err("can't set protected config".to_string()),
        _ => return None,
    };
    Some(result)
}

fn bounded(value: &[u8], min: u64, max: u64) -> Result<u64, String> {
    let text = std::str::from_utf8(value).unwrap_or("");
    let number: i128 = text
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    u64::try_from(number)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("argument must be between {min} and {max} inclusive"))
}

fn one_of(names: &str) -> String {
    format!("argument(s) must be one of the following: {names}")
}
