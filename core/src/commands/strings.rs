//! String commands: GET, SET and its options, counters, APPEND, MGET/MSET.

use super::ERR_WRONGTYPE;
use super::{parse_i64, Ctx, Flow, WrongType, ERR_NOT_INTEGER, ERR_OVERFLOW, ERR_SYNTAX};
use crate::aof::record::Effect;
use crate::resp::{self, Request};
use crate::time::UnixMillis;

const ERR_SET_EXPIRE: &str = "ERR invalid expire time in 'set' command";
const ERR_GETEX_EXPIRE: &str = "ERR invalid expire time in 'getex' command";
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

/// Which command's options `parse_extended` reads: SET's, or GETEX's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extended {
    Set,
    Getex,
}

/// The words SET and GETEX share, as Redis's `parseExtendedStringArgumentsOrReply`
/// reads them: an option may repeat (the last expiry's argument wins), but NX with XX,
/// two expiry units, or an expiry with KEEPTTL or PERSIST is a syntax error.
#[derive(Default)]
struct ExtendedArgs<'r> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The unit (EX, PX, EXAT or PXAT, upper case) and its argument, not yet parsed.
    expiry: Option<(Vec<u8>, &'r [u8])>,
}

fn parse_extended(
    req: &Request,
    from: usize,
    command: Extended,
) -> Result<ExtendedArgs<'_>, &'static str> {
    let set = command == Extended::Set;
    let mut args = ExtendedArgs::default();
    let mut at = from;
    while at < req.len() {
        let word = req.arg(at).to_ascii_uppercase();
        // EX after EX is a repeat, EX after PX a conflict.
        let unit_free = args.expiry.as_ref().is_none_or(|(unit, _)| *unit == word);
        match word.as_slice() {
            b"NX" if set && !args.xx => args.nx = true,
            b"XX" if set && !args.nx => args.xx = true,
            b"GET" if set => args.get = true,
            b"KEEPTTL" if set && args.expiry.is_none() => args.keep_ttl = true,
            b"PERSIST" if !set && args.expiry.is_none() => args.persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT"
                if !args.keep_ttl && !args.persist && unit_free && at + 1 < req.len() =>
            {
                at += 1;
                args.expiry = Some((word, req.arg(at)));
            }
            _ => return Err(ERR_SYNTAX),
        }
        at += 1;
    }
    debug_assert!(!(args.nx && args.xx));
    debug_assert!(args.expiry.is_none() || !(args.keep_ttl || args.persist));
    Ok(args)
}

/// The absolute time of a parsed expiry option, or `error` if it is not positive or
/// overflows (or not an integer).
fn expiry_option(
    ctx: &Ctx<'_>,
    expiry: Option<(Vec<u8>, &[u8])>,
    error: &'static str,
) -> Result<Option<UnixMillis>, &'static str> {
    let Some((unit, amount)) = expiry else {
        return Ok(None);
    };
    let amount = parse_i64(amount).ok_or(ERR_NOT_INTEGER)?;
    expire_time(ctx, &unit, amount, error).map(Some)
}

fn parse_set_options(ctx: &Ctx<'_>, req: &Request) -> Result<SetOptions, &'static str> {
    // Redis reports a syntax error anywhere before it looks at the expiry's value.
    let args = parse_extended(req, 3, Extended::Set)?;
    let options = SetOptions {
        only_if_absent: args.nx,
        only_if_present: args.xx,
        get_old: args.get,
        keep_ttl: args.keep_ttl,
        expire_at: expiry_option(ctx, args.expiry, ERR_SET_EXPIRE)?,
    };
    debug_assert!(!(options.keep_ttl && options.expire_at.is_some()));
    Ok(options)
}

/// Turn an EX, PX, EXAT or PXAT argument into an absolute time in milliseconds. The
/// amount must be positive.
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

pub fn setex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiring(
        ctx,
        req,
        b"EX",
        "ERR invalid expire time in 'setex' command",
        out,
    )
}

pub fn psetex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiring(
        ctx,
        req,
        b"PX",
        "ERR invalid expire time in 'psetex' command",
        out,
    )
}

/// `SETEX key seconds value` and `PSETEX key milliseconds value`: SET with EX or PX.
fn set_expiring(
    ctx: &mut Ctx<'_>,
    req: &Request,
    unit: &[u8],
    error: &'static str,
    out: &mut Vec<u8>,
) -> Flow {
    let expiry = Some((unit.to_vec(), req.arg(2)));
    let expire_at = match expiry_option(ctx, expiry, error) {
        Ok(expire_at) => expire_at,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let options = SetOptions {
        expire_at,
        ..SetOptions::default()
    };
    store_value(ctx, req.arg(1), req.arg(3), &options);
    resp::write_simple(out, "OK");
    Flow::Continue
}

/// `GETEX key [EX|PX|EXAT|PXAT t|PERSIST]`: the value, then its expiry changed.
pub fn getex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let args = match parse_extended(req, 2, Extended::Getex) {
        Ok(args) => args,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let key = req.arg(1);
    // As Redis: a missing key or a collection answers before the expiry is checked.
    match ctx.store.read_str(key) {
        Ok(Some(_)) => {}
        Ok(None) => {
            resp::write_null(out, ctx.protocol());
            return Flow::Continue;
        }
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    }
    let expire_at = match expiry_option(ctx, args.expiry, ERR_GETEX_EXPIRE) {
        Ok(expire_at) => expire_at,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let entry = ctx.store.get(key).expect("read above");
    resp::write_bulk(out, entry.as_str().expect("a string"));
    let has_ttl = entry.expire_at.is_some();
    let effect = match expire_at {
        // An EXAT or PXAT already past deletes the key, as in Redis.
        Some(at) if at <= ctx.store.now => Effect::Del { key },
        Some(at) => Effect::Expire { key, at },
        None if args.persist && has_ttl => Effect::Persist { key },
        None => return Flow::Continue,
    };
    ctx.store.apply(effect);
    Flow::Continue
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

/// The key-value pairs of MSET and MSETNX, or `None` once the arity error is written.
fn pairs(req: &Request, name: &str, out: &mut Vec<u8>) -> Option<usize> {
    // The name and then whole key-value pairs; `is_multiple_of` is newer than our MSRV.
    let pairs = (req.len() - 1) / 2;
    if 1 + 2 * pairs != req.len() {
        super::err_wrong_arity(out, name);
        return None;
    }
    Some(pairs)
}

pub fn mset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(pairs) = pairs(req, "mset", out) else {
        return Flow::Continue;
    };
    set_pairs(ctx, req, pairs);
    resp::write_simple(out, "OK");
    Flow::Continue
}

fn set_pairs(ctx: &mut Ctx<'_>, req: &Request, pairs: usize) {
    for pair in 0..pairs {
        let key = req.arg(1 + 2 * pair);
        let value = req.arg(2 + 2 * pair);
        ctx.store.apply(Effect::Set {
            key,
            value,
            expire_at: None,
        });
    }
}

/// `MSETNX`: all the pairs, as one AOF unit, if none of the keys exists; else none.
pub fn msetnx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(pairs) = pairs(req, "msetnx", out) else {
        return Flow::Continue;
    };
    let none_exists = (0..pairs).all(|pair| ctx.store.get(req.arg(1 + 2 * pair)).is_none());
    if none_exists {
        ctx.store.begin_unit();
        set_pairs(ctx, req, pairs);
        ctx.store.end_unit();
    }
    resp::write_int(out, none_exists as i64);
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

/// `GETRANGE key start end` (and its old name `SUBSTR`): the bytes from `start` to
/// `end` inclusive, negative indices counting from the end, clamped as Redis 7.2 does.
pub fn getrange(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (Some(start), Some(end)) = (parse_i64(req.arg(2)), parse_i64(req.arg(3))) else {
        return not_integer(out);
    };
    match ctx.store.read_str(req.arg(1)) {
        Ok(value) => {
            let value = value.unwrap_or_default();
            resp::write_bulk(out, byte_range(value, start, end));
        }
        Err(WrongType) => resp::write_error(out, ERR_WRONGTYPE),
    }
    Flow::Continue
}

fn byte_range(value: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let len = value.len() as i64;
    let from_end = |index: i64| {
        if index < 0 {
            (len + index).max(0)
        } else {
            index
        }
    };
    let start = from_end(start);
    let end = from_end(end).min(len - 1);
    if len == 0 || start > end {
        return &[];
    }
    &value[start as usize..=end as usize]
}

/// `SETRANGE key offset value`: overwrite from `offset`, padding with zero bytes; the
/// new length. The TTL stays.
pub fn setrange(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, patch) = (req.arg(1), req.arg(3));
    let Some(offset) = parse_i64(req.arg(2)) else {
        return not_integer(out);
    };
    let Ok(offset) = usize::try_from(offset) else {
        resp::write_error(out, "ERR offset is out of range");
        return Flow::Continue;
    };
    let old = match ctx.store.get_str(key) {
        Ok(old) => old,
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    // Setting nothing changes nothing, and creates no key.
    if patch.is_empty() {
        resp::write_int(out, old.map_or(0, <[u8]>::len) as i64);
        return Flow::Continue;
    }
    let patch_end = offset.saturating_add(patch.len());
    if patch_end > ctx.config.limits.bulk_len_max {
        resp::write_error(out, ERR_STRING_TOO_LONG);
        return Flow::Continue;
    }
    let mut value = old.unwrap_or_default().to_vec();
    if value.len() < patch_end {
        value.resize(patch_end, 0);
    }
    value[offset..patch_end].copy_from_slice(patch);
    put_keeping_ttl(ctx, key, &value);
    resp::write_int(out, value.len() as i64);
    Flow::Continue
}

const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
/// Longest text Redis reads as a float (`MAX_LONG_DOUBLE_CHARS`).
const FLOAT_TEXT_LEN_MAX: usize = 5 * 1024;
/// Digits after the point Redis prints for INCRBYFLOAT (`%.17Lf`).
const FLOAT_FRACTION_DIGITS: usize = 17;

/// `INCRBYFLOAT key increment`: the AOF logs the value produced, formatted as the
/// reply, so replicas never redo the arithmetic. The TTL stays.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let current = match ctx.store.get_str(key) {
        Ok(None) => Some(0.0),
        Ok(Some(value)) => parse_float(value),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    let (Some(current), Some(increment)) = (current, parse_float(req.arg(2))) else {
        resp::write_error(out, ERR_NOT_FLOAT);
        return Flow::Continue;
    };
    let sum = current + increment;
    if !sum.is_finite() {
        resp::write_error(out, "ERR increment would produce NaN or Infinity");
        return Flow::Continue;
    }
    let text = format_float(sum);
    put_keeping_ttl(ctx, key, text.as_bytes());
    resp::write_bulk(out, text.as_bytes());
    Flow::Continue
}

/// A float as Redis's `string2ld` reads one: the whole text, no spaces, not NaN.
fn parse_float(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || bytes.len() > FLOAT_TEXT_LEN_MAX {
        return None;
    }
    let value: f64 = std::str::from_utf8(bytes).ok()?.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// A finite float in fixed notation with at most 17 digits after the point, trailing
/// zeros dropped, and no negative zero: Redis's human-friendly form. Bucket computes
/// in `f64` where Redis uses `long double`, so the last digits of inexact sums may
/// differ; the shortest text that reads back as the same `f64` is used where it has
/// no more than 17 digits after the point.
fn format_float(value: f64) -> String {
    debug_assert!(value.is_finite());
    let shortest = format!("{value}");
    let fraction_len = shortest.split_once('.').map_or(0, |(_, f)| f.len());
    let mut text = if fraction_len <= FLOAT_FRACTION_DIGITS {
        shortest
    } else {
        let rounded = format!("{value:.FLOAT_FRACTION_DIGITS$}");
        rounded
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    };
    if text == "-0" {
        text = "0".to_string();
    }
    text
}
