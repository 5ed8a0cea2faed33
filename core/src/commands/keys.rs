//! Key commands: DEL, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, RANDOMKEY, OBJECT,
//! SCAN, KEYS, DBSIZE, FLUSHALL. The expiry commands are in `expiry.rs`.

use super::{err_unknown_subcommand, err_wrong_arity, parse_i64, Ctx, Flow};
use super::{ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::aof::record::Effect;
use crate::keyspace::set::Encoding;
use crate::keyspace::{is_expired, ValueRef, ValueType};
use crate::resp::{self, Request};
use rand_chacha::rand_core::RngCore;

/// Keys SCAN examines per call when COUNT is not given (Redis's default).
const SCAN_COUNT_DEFAULT: usize = 10;
/// Most slots one SCAN call examines, however large COUNT is: bounds one step's work.
const SCAN_COUNT_MAX: usize = 100_000;

pub fn del(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let mut removed = 0;
    for key in req.args().skip(1) {
        if ctx.store.get(key).is_some() {
            ctx.store.apply(Effect::Del { key });
            removed += 1;
        }
    }
    resp::write_int(out, removed);
    Flow::Continue
}

pub fn exists(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let count = req
        .args()
        .skip(1)
        .filter(|key| ctx.store.read(key).is_some());
    resp::write_int(out, count.count() as i64);
    Flow::Continue
}

pub fn type_(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let name = match ctx.store.read(req.arg(1)) {
        Some(entry) => entry.value.value_type().name(),
        None => "none",
    };
    resp::write_simple(out, name);
    Flow::Continue
}

pub fn dbsize(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_int(out, ctx.store.keyspace.len() as i64);
    Flow::Continue
}

pub fn flushall(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let mode_ok = match req.len() {
        1 => true,
        2 => matches!(
            req.arg(1).to_ascii_uppercase().as_slice(),
            b"ASYNC" | b"SYNC"
        ),
        _ => false,
    };
    if !mode_ok {
        resp::write_error(out, ERR_SYNTAX);
        return Flow::Continue;
    }
    ctx.store.apply(Effect::FlushAll);
    resp::write_simple(out, "OK");
    Flow::Continue
}

pub fn keys(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let mut found = Vec::new();
    ctx.store
        .keyspace
        .keys(req.arg(1), ctx.store.now, &mut found);
    write_key_list(out, &found);
    Flow::Continue
}

fn write_key_list(out: &mut Vec<u8>, keys: &[Vec<u8>]) {
    resp::write_array_len(out, keys.len());
    for key in keys {
        resp::write_bulk(out, key);
    }
}

struct ScanArgs<'r> {
    cursor: u64,
    count: usize,
    pattern: Option<&'r [u8]>,
    /// `TYPE t`: `Some(None)` for a name no type has, which matches nothing (Redis 7.2
    /// compares the names, so an unknown one is no error).
    type_wanted: Option<Option<ValueType>>,
}

fn parse_scan_args(req: &Request) -> Result<ScanArgs<'_>, &'static str> {
    let cursor = std::str::from_utf8(req.arg(1))
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or("ERR invalid cursor")?;
    let mut args = ScanArgs {
        cursor,
        count: SCAN_COUNT_DEFAULT,
        pattern: None,
        type_wanted: None,
    };
    let mut at = 2;
    while at < req.len() {
        if at + 1 >= req.len() {
            return Err(ERR_SYNTAX);
        }
        let value = req.arg(at + 1);
        match req.arg(at).to_ascii_uppercase().as_slice() {
            b"MATCH" => args.pattern = Some(value),
            b"COUNT" => match parse_i64(value) {
                Some(n) if n >= 1 => args.count = (n as usize).min(SCAN_COUNT_MAX),
                Some(_) => return Err(ERR_SYNTAX),
                None => return Err(ERR_NOT_INTEGER),
            },
            b"TYPE" => args.type_wanted = Some(ValueType::from_name(value)),
            _ => return Err(ERR_SYNTAX),
        }
        at += 2;
    }
    Ok(args)
}

pub fn scan(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let args = match parse_scan_args(req) {
        Ok(args) => args,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let mut found = Vec::new();
    let next = ctx.store.keyspace.scan(
        args.cursor,
        args.count,
        args.pattern,
        ctx.store.now,
        &mut found,
    );
    if let Some(wanted) = args.type_wanted {
        let keyspace = &*ctx.store.keyspace;
        let now = ctx.store.now;
        found.retain(|key| {
            let found_type = keyspace.get(key, now).map(|e| e.value.value_type());
            found_type.is_some() && found_type == wanted
        });
    }
    resp::write_array_len(out, 2);
    resp::write_bulk(out, next.to_string().as_bytes());
    write_key_list(out, &found);
    Flow::Continue
}

const ERR_NO_SUCH_KEY: &str = "ERR no such key";
const ERR_SAME_OBJECT: &str = "ERR source and destination objects are the same";
const ERR_DB_RANGE: &str = "ERR DB index is out of range";
const ERR_COPY_CLUSTER: &str = "ERR Copying to another database is not allowed in cluster mode";
const ERR_INT_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
const ERR_NO_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const ERR_NO_LRU: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// Redis's default `databases`: COPY's `DB` checks its range before refusing any
/// database but 0, as Redis does in cluster mode.
const DATABASES: i64 = 16;

pub fn rename(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(renamed) = rename_key(ctx, req, false, out) {
        debug_assert!(renamed);
        resp::write_simple(out, "OK");
    }
    Flow::Continue
}

pub fn renamenx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(renamed) = rename_key(ctx, req, true, out) {
        resp::write_int(out, renamed as i64);
    }
    Flow::Continue
}

/// RENAME and RENAMENX: whether the key was renamed, or `None` once an error is
/// written. The value moves with its expiry; what the destination held is dropped.
fn rename_key(ctx: &mut Ctx<'_>, req: &Request, nx: bool, out: &mut Vec<u8>) -> Option<bool> {
    let (from, to) = (req.arg(1), req.arg(2));
    if ctx.store.get(from).is_none() {
        resp::write_error(out, ERR_NO_SUCH_KEY);
        return None;
    }
    // As Redis: renaming a key to itself changes nothing, and RENAMENX says 0.
    if from == to {
        return Some(!nx);
    }
    if nx && ctx.store.get(to).is_some() {
        return Some(false);
    }
    ctx.store.apply(Effect::Rename { from, to });
    Some(true)
}

/// `COPY source destination [DB destination-db] [REPLACE]`.
pub fn copy(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let replace = match parse_copy_options(req) {
        Ok(replace) => replace,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let (from, to) = (req.arg(1), req.arg(2));
    if from == to {
        resp::write_error(out, ERR_SAME_OBJECT);
        return Flow::Continue;
    }
    let copied = ctx.store.read(from).is_some() && (replace || ctx.store.get(to).is_none());
    if copied {
        ctx.store.apply(Effect::Copy { from, to });
    }
    resp::write_int(out, copied as i64);
    Flow::Continue
}

/// COPY's options, in Redis's order of checks: whether REPLACE was given.
fn parse_copy_options(req: &Request) -> Result<bool, &'static str> {
    let mut replace = false;
    let mut db = 0;
    let mut at = 3;
    while at < req.len() {
        match req.arg(at).to_ascii_uppercase().as_slice() {
            b"REPLACE" => replace = true,
            b"DB" if at + 1 < req.len() => {
                at += 1;
                db = parse_i64(req.arg(at)).ok_or(ERR_NOT_INTEGER)?;
                if i32::try_from(db).is_err() {
                    return Err(ERR_INT_RANGE);
                }
                if !(0..DATABASES).contains(&db) {
                    return Err(ERR_DB_RANGE);
                }
            }
            _ => return Err(ERR_SYNTAX),
        }
        at += 1;
    }
    if db != 0 {
        return Err(ERR_COPY_CLUSTER);
    }
    Ok(replace)
}

/// Random picks RANDOMKEY makes before it gives up on a keyspace of expired keys
/// (Redis's `maxtries`): a read deletes nothing, so expired keys stay in the way.
const RANDOMKEY_TRIES: usize = 100;

/// `RANDOMKEY`: a live key picked with the node's generator, or null. A read: it
/// logs nothing, whoever runs it.
pub fn randomkey(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    let (keyspace, now) = (&ctx.store.keyspace, ctx.store.now);
    let len = keyspace.len() as u64;
    let tries = if len == 0 { 0 } else { RANDOMKEY_TRIES };
    let found = (0..tries).find_map(|_| {
        let (key, entry) = keyspace.nth((ctx.rng.next_u64() % len) as usize);
        entry
            .expire_at
            .is_none_or(|at| !is_expired(at, now))
            .then_some(key)
    });
    match found {
        Some(key) => resp::write_bulk(out, key),
        None => resp::write_null(out, ctx.protocol()),
    }
    Flow::Continue
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// `OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key` and `OBJECT HELP`.
pub fn object(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = req.arg(1).to_ascii_uppercase();
    let name = match sub.as_slice() {
        b"HELP" => "object|help",
        b"ENCODING" => "object|encoding",
        b"FREQ" => "object|freq",
        b"IDLETIME" => "object|idletime",
        b"REFCOUNT" => "object|refcount",
        _ => {
            err_unknown_subcommand(out, "object", req.arg(1));
            return Flow::Continue;
        }
    };
    let arity = if sub == b"HELP" { 2 } else { 3 };
    if req.len() != arity {
        err_wrong_arity(out, name);
        return Flow::Continue;
    }
    if sub == b"HELP" {
        resp::write_array_len(out, OBJECT_HELP.len());
        OBJECT_HELP
            .iter()
            .for_each(|line| resp::write_simple(out, line));
        return Flow::Continue;
    }
    let protocol = ctx.protocol();
    let Some(entry) = ctx.store.read(req.arg(2)) else {
        resp::write_null(out, protocol);
        return Flow::Continue;
    };
    let lfu = ctx.memory.limit.policy.rank() == Some(crate::memory::Rank::Lfu);
    match sub.as_slice() {
        b"ENCODING" => resp::write_bulk(out, encoding(entry.value).as_bytes()),
        b"FREQ" | b"IDLETIME" => {
            let stamp = ctx.store.keyspace.stamp_of(req.arg(2)).expect("read above");
            match (sub.as_slice(), lfu) {
                (b"FREQ", true) => {
                    let counter = crate::memory::lfu_decayed(stamp, ctx.now.instant);
                    resp::write_int(out, i64::from(counter))
                }
                (b"FREQ", false) => resp::write_error(out, ERR_NO_LFU),
                (_, true) => resp::write_error(out, ERR_NO_LRU),
                (_, false) => {
                    let idle = crate::memory::idle_seconds(stamp, ctx.now.instant);
                    resp::write_int(out, idle as i64)
                }
            }
        }
        _ => resp::write_int(out, refcount(entry.value)),
    }
    Flow::Continue
}

/// Integers Redis shares between keys (`OBJ_SHARED_INTEGERS`), whose refcount reads
/// as `OBJ_SHARED_REFCOUNT`.
const SHARED_INTEGERS: i64 = 10_000;

fn refcount(value: ValueRef<'_>) -> i64 {
    let shared = value
        .as_str()
        .and_then(parse_i64)
        .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n));
    if shared {
        i64::from(i32::MAX)
    } else {
        1
    }
}

/// Redis's longest `embstr`.
const EMBSTR_LEN_MAX: usize = 44;

/// A value's encoding, in Redis's names. Every collection reports its own: packed
/// below Redis's default bounds, as Redis's. A string answers what Redis would for its
/// content (Redis's also depends on history: an APPENDed string is "raw").
fn encoding(value: ValueRef<'_>) -> &'static str {
    match value {
        ValueRef::Str(bytes) if parse_i64(bytes).is_some() => "int",
        ValueRef::Str(bytes) if bytes.len() <= EMBSTR_LEN_MAX => "embstr",
        ValueRef::Str(_) => "raw",
        ValueRef::Hash(h) => match h.is_packed() {
            true => "listpack",
            false => "hashtable",
        },
        ValueRef::ZSet(z) => match z.is_packed() {
            true => "listpack",
            false => "skiplist",
        },
        ValueRef::Set(s) => match s.encoding() {
            Encoding::Intset => "intset",
            Encoding::Listpack => "listpack",
            Encoding::Hashtable => "hashtable",
        },
        ValueRef::List(l) => match l.is_packed() {
            true => "listpack",
            false => "quicklist",
        },
    }
}
