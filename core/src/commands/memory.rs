//! MEMORY USAGE / STATS / DOCTOR / HELP, INFO's `# Memory`, and the `maxmemory*`
//! settings of CONFIG GET and CONFIG SET, with Redis's replies and field names.

use super::{err_unknown_subcommand, err_wrong_arity, parse_i64, Ctx, Flow, ERR_SYNTAX};
use crate::memory::{human_bytes, MaxMemory, Policy, SAMPLES_MAX, SAMPLES_MIN};
use crate::resp::{self, Request};

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// `MEMORY USAGE|STATS|DOCTOR|HELP`.
pub fn memory(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = req.arg(1).to_ascii_uppercase();
    match (sub.as_slice(), req.len()) {
        (b"USAGE", n) if n >= 3 => usage(ctx, req, out),
        (b"USAGE", _) => err_wrong_arity(out, "memory|usage"),
        (b"STATS", 2) => stats(ctx, out),
        (b"DOCTOR", 2) => {
            let text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.";
            resp::write_verbatim(out, text, ctx.protocol());
        }
        (b"HELP", 2) => {
            resp::write_array_len(out, MEMORY_HELP.len());
            MEMORY_HELP
                .iter()
                .for_each(|line| resp::write_simple(out, line));
        }
        (b"STATS" | b"DOCTOR" | b"HELP", _) => {
            let name = format!("memory|{}", String::from_utf8_lossy(&sub).to_lowercase());
            err_wrong_arity(out, &name)
        }
        _ => err_unknown_subcommand(out, "memory", req.arg(1)),
    }
    Flow::Continue
}

/// `MEMORY USAGE key [SAMPLES count]`: the key's estimated bytes, or null. Bucket
/// counts every element of a collection, so `SAMPLES` is checked but changes nothing.
fn usage(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    match req.len() {
        3 => {}
        5 if req.arg(3).eq_ignore_ascii_case(b"SAMPLES") => {
            if parse_i64(req.arg(4)).is_none_or(|n| n < 0) {
                return resp::write_error(out, super::ERR_NOT_INTEGER);
            }
        }
        _ => return resp::write_error(out, ERR_SYNTAX),
    }
    let key = req.arg(2);
    let live = ctx.store.keyspace.get(key, ctx.store.now).is_some();
    match ctx.store.keyspace.memory_usage(key).filter(|_| live) {
        Some(bytes) => resp::write_int(out, bytes as i64),
        None => resp::write_null(out, ctx.protocol()),
    }
}

/// What the node uses beyond its data, as far as the core knows: the keyspace's own
/// structures (the driver's buffers are in `used` but not broken out).
fn overhead_bytes(ctx: &Ctx<'_>) -> u64 {
    ctx.store.keyspace.overhead_bytes() as u64
}

/// `MEMORY STATS`: the fields of Redis's that Bucket can fill.
fn stats(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    let used = ctx.memory.used(ctx.store.end());
    let peak = ctx.memory.peak.max(used);
    let keys = ctx.store.keyspace.len() as u64;
    let overhead = overhead_bytes(ctx).min(used);
    let dataset = used - overhead;
    let ints: [(&str, u64); 6] = [
        ("peak.allocated", peak),
        ("total.allocated", used),
        ("overhead.total", overhead),
        ("keys.count", keys),
        ("keys.bytes-per-key", used.checked_div(keys).unwrap_or(0)),
        ("dataset.bytes", dataset),
    ];
    let ratios: [(&str, f64); 3] = [
        ("dataset.percentage", percent(dataset, used)),
        ("peak.percentage", percent(used, peak)),
        ("fragmentation", ratio(ctx.memory.resident, used)),
    ];
    let protocol = ctx.protocol();
    resp::write_map_len(out, ints.len() + ratios.len(), protocol);
    for (name, value) in ints {
        resp::write_bulk(out, name.as_bytes());
        resp::write_int(out, value as i64);
    }
    for (name, value) in ratios {
        resp::write_bulk(out, name.as_bytes());
        resp::write_double(out, value, protocol);
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    ratio(part, whole) * 100.0
}

fn ratio(part: u64, whole: u64) -> f64 {
    match whole {
        0 => 0.0,
        _ => part as f64 / whole as f64,
    }
}

/// INFO's `# Memory`.
pub fn info_memory(ctx: &Ctx<'_>, text: &mut String) {
    let memory = &*ctx.memory;
    let used = memory.used(ctx.store.end());
    let peak = memory.peak.max(used);
    let overhead = overhead_bytes(ctx).min(used);
    let limit = memory.limit;
    let fields: [(&str, String); 13] = [
        ("used_memory", used.to_string()),
        ("used_memory_human", human_bytes(used)),
        ("used_memory_rss", memory.resident.to_string()),
        ("used_memory_rss_human", human_bytes(memory.resident)),
        ("used_memory_peak", peak.to_string()),
        ("used_memory_peak_human", human_bytes(peak)),
        (
            "used_memory_peak_perc",
            format!("{:.2}%", percent(used, peak)),
        ),
        ("used_memory_overhead", overhead.to_string()),
        ("used_memory_dataset", (used - overhead).to_string()),
        ("maxmemory", limit.bytes.to_string()),
        ("maxmemory_human", human_bytes(limit.bytes)),
        ("maxmemory_policy", limit.policy.name().to_string()),
        (
            "mem_fragmentation_ratio",
            format!("{:.2}", ratio(memory.resident, used)),
        ),
    ];
    text.push_str("# Memory\r\n");
    for (name, value) in fields {
        text.push_str(&format!("{name}:{value}\r\n"));
    }
}

/// The memory settings of CONFIG GET, by Redis's names.
pub fn settings(ctx: &Ctx<'_>) -> [(&'static str, String); 3] {
    let limit = ctx.memory.limit;
    [
        ("maxmemory", limit.bytes.to_string()),
        ("maxmemory-policy", limit.policy.name().to_string()),
        ("maxmemory-samples", limit.samples.to_string()),
    ]
}

/// One `CONFIG SET` pair, if it names a memory setting: applied to `limit`, or the
/// reason it cannot be, in Redis's words (after "argument couldn't be parsed" style
/// prefixes, which the caller adds).
pub fn config_set(limit: &mut MaxMemory, name: &[u8], value: &[u8]) -> Option<Result<(), String>> {
    let text = std::str::from_utf8(value).unwrap_or("");
    let result = match name {
        b"maxmemory" => super::persistence::parse_size(value)
            .map(|bytes| limit.bytes = bytes)
            .ok_or_else(|| "argument must be a memory value".to_string()),
        b"maxmemory-policy" => Policy::from_name(text)
            .map(|policy| limit.policy = policy)
            .ok_or_else(|| {
                let names: Vec<&str> = Policy::names().collect();
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            }),
        b"maxmemory-samples" => text
            .parse::<u32>()
            .ok()
            .filter(|n| (SAMPLES_MIN..=SAMPLES_MAX).contains(n))
            .map(|n| limit.samples = n)
            .ok_or_else(|| {
                format!("argument must be between {SAMPLES_MIN} and {SAMPLES_MAX} inclusive")
            }),
        _ => return None,
    };
    Some(result)
}
