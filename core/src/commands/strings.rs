//! String commands: GET, SET and its options, counters, APPEND, MGET/MSET.

use super::ERR_WRONGTYPE;
use super::{parse_i64, Ctx, Flow, WrongType, ERR_NOT_INTEGER, ERR_OVERFLOW, ERR_SYNTAX};
use crate::aof::record::Effect;
use crate::resp::{self, Request};
use crate::time::UnixMillis;

const ERR_SET_EXPIRE: &str = "ERR invalid expire time in 'set' command";
const ERR_STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

pub fn get(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    // A collection's key answers WRONGTYPE; it has been written already.
    let _ = write_value(ctx, req.arg(1), out);
    Flow::Continue
}

/// The string at `key`, or null, or WRONGTYPE for a collection (an `Err`, so that a
/// write command stops there): a read, counted in INFO's hits and misses.
fn write_value(ctx: &mut Ctx<'_>, key: &[u8], out: &mut Vec<u8>) -> Result<(), WrongType> {
    let protocol = ctx.protocol();
    match ctx.store.read_str(key) {
        Ok(Some(bytes)) => resp::write_bulk(out, bytes),
        Ok(None) => resp::write_null(out, protocol),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Err(WrongType);
        }
    }
    Ok(())
}

pub fn mget(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    resp::write_array_len(out, req.len() - 1);
    for key in req.args().skip(1) {
        // As Redis: a key holding a collection reads as null here.
        match ctx.store.read_str(key) {
            Ok(Some(bytes)) => resp::write_bulk(out, bytes),
            Ok(None) | Err(WrongType) => resp::write_null(out, protocol),
        }
    }
    Flow::Continue
}

pub fn strlen(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    match ctx.store.read_str(req.arg(1)) {
        Ok(value) => resp::write_int(out, value.map_or(0, |v| v.len()) as i64),
        Err(WrongType) => resp::write_error(out, ERR_WRONGTYPE),
    }
    Flow::Continue
}

/// The options of `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct SetOptions {
    only_if_absent: bool,
    only_if_present: bool,
    get_old: bool,
    keep_ttl: bool,
    expire_at: Option<UnixMillis>,
}

fn parse_set_options(ctx: &Ctx<'_>, req: &Request) -> Result<SetOptions, &'static str> {
    let mut options = SetOptions::default();
    // Redis reports a syntax error anywhere before it looks at the expiry's value.
    let mut expiry: Option<(Vec<u8>, &[u8])> = None;
    let mut at = 3;
    while at < req.len() {
        let word = req.arg(at).to_ascii_uppercase();
        let has_expiry = expiry.is_some() || options.keep_ttl;
        match word.as_slice() {
            b"NX" if !options.only_if_present => options.only_if_absent = true,
            b"XX" if !options.only_if_absent => options.only_if_present = true,
            b"GET" => options.get_old = true,
            b"KEEPTTL" if !has_expiry => options.keep_ttl = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if !has_expiry && at + 1 < req.len() => {
                at += 1;
                expiry = Some((word, req.arg(at)));
            }
            _ => return Err(ERR_SYNTAX),
        }
        at += 1;
    }
    if let Some((unit, amount)) = expiry {
        let amount = parse_i64(amount).ok_or(ERR_NOT_INTEGER)?;
        options.expire_at = Some(expire_time(ctx, &unit, amount, ERR_SET_EXPIRE)?);
    }
    debug_assert!(!(options.keep_ttl && options.expire_at.is_some()));
    debug_assert!(!(options.only_if_absent && options.only_if_present));
    Ok(options)
}

/// Turn SET's relative or absolute expiry argument into an absolute time in
/// milliseconds. `unit` is EX, PX, EXAT or PXAT; the amount must be positive.
fn expire_time(
    ctx: &Ctx<'_>,
    unit: &[u8],
    amount: i64,
    error: &'static str,
) -> Result<UnixMillis, &'static str> {
    if amount <= 0 {
        return Err(error);
    }
    let seconds = unit[0] == b'E';
    let relative = unit.len() == 2;
    let ms = if seconds {
        amount.checked_mul(1000).ok_or(error)?
    } else {
        amount
    };
    let base = if relative { ctx.now.unix.0 as i64 } else { 0 };
    let at = base.checked_add(ms).ok_or(error)?;
    Ok(UnixMillis(at as u64))
}

pub fn set(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let options = match parse_set_options(ctx, req) {
        Ok(options) => options,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let (key, value) = (req.arg(1), req.arg(2));
    let exists = ctx.store.get(key).is_some();
    if options.get_old && write_value(ctx, key, out).is_err() {
        return Flow::Continue;
    }
    let blocked = (options.only_if_absent && exists) || (options.only_if_present && !exists);
    if !blocked {
        store_value(ctx, key, value, &options);
    }
    if !options.get_old {
        match blocked {
            true => resp::write_null(out, ctx.protocol()),
            false => resp::write_simple(out, "OK"),
        }
    }
    Flow::Continue
}

fn store_value(ctx: &mut Ctx<'_>, key: &[u8], value: &[u8], options: &SetOptions) {
    let now = ctx.store.now;
    let effect = match options.expire_at {
        // Already in the past: the key ends up absent, as in Redis.
        Some(at) if at <= now => Effect::Del { key },
        expire_at if options.keep_ttl && ctx.store.get(key).is_some() => {
            debug_assert!(expire_at.is_none());
            Effect::SetKeepTtl { key, value }
        }
        expire_at => Effect::Set {
            key,
            value,
            expire_at,
        },
    };
    if matches!(effect, Effect::Del { .. }) && ctx.store.get(key).is_none() {
        return;
    }
    ctx.store.apply(effect);
}

pub fn setnx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, value) = (req.arg(1), req.arg(2));
    let absent = ctx.store.get(key).is_none();
    if absent {
        ctx.store.apply(Effect::Set {
            key,
            value,
            expire_at: None,
        });
    }
    resp::write_int(out, absent as i64);
    Flow::Continue
}

pub fn getset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, value) = (req.arg(1), req.arg(2));
    if write_value(ctx, key, out).is_err() {
        return Flow::Continue;
    }
    ctx.store.apply(Effect::Set {
        key,
        value,
        expire_at: None,
    });
    Flow::Continue
}

pub fn getdel(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    if write_value(ctx, key, out).is_err() {
        return Flow::Continue;
    }
    if ctx.store.get(key).is_some() {
        ctx.store.apply(Effect::Del { key });
    }
    Flow::Continue
}

pub fn mset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    // The name and then whole key-value pairs; `is_multiple_of` is newer than our MSRV.
    let pairs = (req.len() - 1) / 2;
    if 1 + 2 * pairs != req.len() {
        super::err_wrong_arity(out, "mset");
        return Flow::Continue;
    }
    for pair in 0..pairs {
        let key = req.arg(1 + 2 * pair);
        let value = req.arg(2 + 2 * pair);
        ctx.store.apply(Effect::Set {
            key,
            value,
            expire_at: None,
        });
    }
    resp::write_simple(out, "OK");
    Flow::Continue
}

pub fn incr(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    add(ctx, req.arg(1), 1, out)
}

pub fn decr(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    add(ctx, req.arg(1), -1, out)
}

pub fn incrby(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    match parse_i64(req.arg(2)) {
        Some(delta) => add(ctx, req.arg(1), delta, out),
        None => not_integer(out),
    }
}

pub fn decrby(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    match parse_i64(req.arg(2)).and_then(i64::checked_neg) {
        Some(delta) => add(ctx, req.arg(1), delta, out),
        None if parse_i64(req.arg(2)).is_some() => {
            resp::write_error(out, "ERR decrement would overflow");
            Flow::Continue
        }
        None => not_integer(out),
    }
}

fn not_integer(out: &mut Vec<u8>) -> Flow {
    resp::write_error(out, ERR_NOT_INTEGER);
    Flow::Continue
}

/// INCR and its family. The AOF logs the value produced, not the increment.
fn add(ctx: &mut Ctx<'_>, key: &[u8], delta: i64, out: &mut Vec<u8>) -> Flow {
    let current = match ctx.store.get_str(key) {
        Ok(None) => Some(0),
        Ok(Some(value)) => parse_i64(value),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    let Some(current) = current else {
        return not_integer(out);
    };
    let Some(next) = current.checked_add(delta) else {
        resp::write_error(out, ERR_OVERFLOW);
        return Flow::Continue;
    };
    let mut digits = [0u8; 20];
    let value = super::format_i64(next, &mut digits);
    put_keeping_ttl(ctx, key, value);
    resp::write_int(out, next);
    Flow::Continue
}

/// Overwrite a value and keep its TTL if the key is live; create it without one if not.
fn put_keeping_ttl(ctx: &mut Ctx<'_>, key: &[u8], value: &[u8]) {
    let effect = match ctx.store.get(key) {
        Some(_) => Effect::SetKeepTtl { key, value },
        None => Effect::Set {
            key,
            value,
            expire_at: None,
        },
    };
    ctx.store.apply(effect);
}

pub fn append(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, suffix) = (req.arg(1), req.arg(2));
    let old = match ctx.store.get_str(key) {
        Ok(old) => old.unwrap_or_default(),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    let len = old.len() + suffix.len();
    if len > ctx.config.limits.bulk_len_max {
        resp::write_error(out, ERR_STRING_TOO_LONG);
        return Flow::Continue;
    }
    let mut value = Vec::with_capacity(len);
    value.extend_from_slice(old);
    value.extend_from_slice(suffix);
    put_keeping_ttl(ctx, key, &value);
    resp::write_int(out, len as i64);
    Flow::Continue
}
