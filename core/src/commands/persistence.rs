//! BGREWRITEAOF, INFO's persistence section, the `auto-aof-rewrite-*` settings of
//! CONFIG GET, and CONFIG SET (which takes the memory settings from `memory.rs`), with
//! Redis's replies and field names.

use super::{Ctx, Flow};
use crate::resp::{self, Request};

/// `BGREWRITEAOF`: the rewrite runs in slices between requests, so it is always
/// "background". One already running makes Redis answer with an error; a rewrite
/// that cannot start yet (a replica is being fed from the files) is scheduled.
pub fn bgrewriteaof(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    if ctx.aof.rewrite_in_progress {
        resp::write_error(
            out,
            "ERR Background append only file rewriting already in progress",
        );
    } else {
        ctx.aof.rewrite_scheduled = true;
        resp::write_simple(out, "Background append only file rewriting started");
    }
    Flow::Continue
}

/// INFO's `# Persistence`: the AOF is always on.
pub fn info_persistence(ctx: &Ctx<'_>, text: &mut String) {
    let aof = &*ctx.aof;
    text.push_str("# Persistence\r\n");
    let fields: [(&str, String); 13] = [
        ("loading", u8::from(ctx.store.stats.loading).to_string()),
        ("aof_enabled", "1".to_string()),
        (
            "aof_rewrite_in_progress",
            u8::from(aof.rewrite_in_progress).to_string(),
        ),
        (
            "aof_rewrite_scheduled",
            u8::from(aof.rewrite_scheduled).to_string(),
        ),
        (
            "aof_last_rewrite_time_sec",
            aof.last_rewrite_time_sec.to_string(),
        ),
        (
            "aof_current_rewrite_time_sec",
            aof.current_rewrite_time_sec.to_string(),
        ),
        ("aof_last_bgrewrite_status", "ok".to_string()),
        ("aof_rewrites", aof.rewrites.to_string()),
        ("aof_rewrites_consecutive_failures", "0".to_string()),
        ("aof_last_write_status", "ok".to_string()),
        ("aof_current_size", aof.current_size.to_string()),
        ("aof_base_size", aof.base_size.to_string()),
        ("aof_buffer_length", "0".to_string()),
    ];
    for (name, value) in fields {
        text.push_str(name);
        text.push(':');
        text.push_str(&value);
        text.push_str("\r\n");
    }
}

/// The persistence settings of CONFIG GET, by Redis's names.
pub fn settings(ctx: &Ctx<'_>) -> [(&'static str, String); 2] {
    [
        (
            "auto-aof-rewrite-percentage",
            ctx.aof.auto.percentage.to_string(),
        ),
        (
            "auto-aof-rewrite-min-size",
            ctx.aof.auto.min_size_bytes.to_string(),
        ),
    ]
}

/// `CONFIG SET name value [name value ...]` for the settings that can change at run
/// time. Either every pair is valid and applied, or none is (Redis 7).
pub fn config_set(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    if req.len() < 4 || !req.len().is_multiple_of(2) {
        return super::err_wrong_arity(out, "config|set");
    }
    let mut auto = ctx.aof.auto;
    let mut limit = ctx.memory.limit;
    let mut daemon = ctx.daemon.settings.clone();
    let mut i = 2;
    while i < req.len() {
        let name = req.arg(i).to_ascii_lowercase();
        let value = req.arg(i + 1);
        let not_integer = || "argument couldn't be parsed into an integer".to_string();
        let duplicate = (2..i)
            .step_by(2)
            .any(|j| req.arg(j).eq_ignore_ascii_case(&name));
        let parsed = match name.as_slice() {
            _ if duplicate => Err("duplicate parameter".to_string()),
            b"auto-aof-rewrite-percentage" => parse_u64(value)
                .map(|v| auto.percentage = v)
                .ok_or_else(not_integer),
            b"auto-aof-rewrite-min-size" => parse_size(value)
                .map(|v| auto.min_size_bytes = v)
                .ok_or_else(not_integer),
            name => match super::memory::config_set(&mut limit, name, value)
                .or_else(|| super::daemon::config_set(&mut daemon, name, value))
            {
                Some(parsed) => parsed,
                None => {
                    let name = String::from_utf8_lossy(req.arg(i));
                    let message = format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    );
                    return resp::write_error(out, &message);
                }
            },
        };
        if let Err(reason) = parsed {
            let name = String::from_utf8_lossy(req.arg(i));
            let message =
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}");
            return resp::write_error(out, &message);
        }
        i += 2;
    }
    ctx.aof.auto = auto;
    ctx.memory.limit = limit;
    if daemon != ctx.daemon.settings {
        ctx.daemon.settings = daemon;
        ctx.daemon.changed = true;
    }
    resp::write_simple(out, "OK");
}

fn parse_u64(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A size as Redis reads one: bytes, or with a unit (`k`, `kb`, `m`, `mb`, `g`, `gb`;
/// `k` is 1000 and `kb` 1024, as in redis.conf).
pub fn parse_size(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("k", 1_000),
        ("m", 1_000_000),
        ("g", 1_000_000_000),
    ];
    for (suffix, scale) in units {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<u64>().ok()?.checked_mul(scale);
        }
    }
    text.parse().ok()
}
