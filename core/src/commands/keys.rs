//! Key commands: DEL, EXISTS, the EXPIRE family, TTL, TYPE, SCAN, KEYS, DBSIZE, FLUSHALL.

use super::{parse_i64, Ctx, Flow, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::aof::record::Effect;
use crate::resp::{self, Request};
use crate::time::UnixMillis;

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

pub fn expire(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiry(ctx, req, ExpiryUnit::RelativeSeconds, out)
}

pub fn pexpire(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiry(ctx, req, ExpiryUnit::RelativeMillis, out)
}

pub fn expireat(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiry(ctx, req, ExpiryUnit::AbsoluteSeconds, out)
}

pub fn pexpireat(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    set_expiry(ctx, req, ExpiryUnit::AbsoluteMillis, out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryUnit {
    RelativeSeconds,
    RelativeMillis,
    AbsoluteSeconds,
    AbsoluteMillis,
}

impl ExpiryUnit {
    fn command(self) -> &'static str {
        match self {
            ExpiryUnit::RelativeSeconds => "expire",
            ExpiryUnit::RelativeMillis => "pexpire",
            ExpiryUnit::AbsoluteSeconds => "expireat",
            ExpiryUnit::AbsoluteMillis => "pexpireat",
        }
    }

    /// The absolute time in milliseconds, or `None` on overflow. Zero and negative
    /// results are allowed: they mean "already expired", and the key is deleted.
    fn absolute_ms(self, amount: i64, now: UnixMillis) -> Option<i64> {
        let ms = match self {
            ExpiryUnit::RelativeSeconds | ExpiryUnit::AbsoluteSeconds => {
                amount.checked_mul(1000)?
            }
            ExpiryUnit::RelativeMillis | ExpiryUnit::AbsoluteMillis => amount,
        };
        match self {
            ExpiryUnit::RelativeSeconds | ExpiryUnit::RelativeMillis => {
                ms.checked_add(i64::try_from(now.0).ok()?)
            }
            ExpiryUnit::AbsoluteSeconds | ExpiryUnit::AbsoluteMillis => Some(ms),
        }
    }
}

/// EXPIRE's conditions (Redis 7): NX, XX, GT, LT.
#[derive(Clone, Copy, Default)]
struct ExpiryCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expiry_condition(req: &Request) -> Result<ExpiryCondition, String> {
    let mut condition = ExpiryCondition::default();
    for word in req.args().skip(3) {
        match word.to_ascii_uppercase().as_slice() {
            b"NX" => condition.nx = true,
            b"XX" => condition.xx = true,
            b"GT" => condition.gt = true,
            b"LT" => condition.lt = true,
            _ => {
                let option = super::printable(word);
                return Err(format!("ERR Unsupported option {option}"));
            }
        }
    }
    let c = condition;
    if c.nx && (c.xx || c.gt || c.lt) {
        let message = "ERR NX and XX, GT or LT options at the same time are not compatible";
        return Err(message.to_string());
    }
    if c.gt && c.lt {
        let message = "ERR GT and LT options at the same time are not compatible";
        return Err(message.to_string());
    }
    Ok(condition)
}

impl ExpiryCondition {
    /// Whether the new expiry may replace `current` (None = no expiry = infinite TTL).
    fn allows(self, current: Option<UnixMillis>, new_ms: i64) -> bool {
        let current_ms = current.map(|at| at.0 as i64);
        if (self.nx && current.is_some()) || (self.xx && current.is_none()) {
            return false;
        }
        if self.gt && current_ms.is_none_or(|now_ms| new_ms <= now_ms) {
            return false;
        }
        !(self.lt && current_ms.is_some_and(|now_ms| new_ms >= now_ms))
    }
}

fn set_expiry(ctx: &mut Ctx<'_>, req: &Request, unit: ExpiryUnit, out: &mut Vec<u8>) -> Flow {
    // Redis checks the options before the number.
    let condition = match parse_expiry_condition(req) {
        Ok(condition) => condition,
        Err(error) => {
            resp::write_error(out, &error);
            return Flow::Continue;
        }
    };
    let Some(amount) = parse_i64(req.arg(2)) else {
        resp::write_error(out, ERR_NOT_INTEGER);
        return Flow::Continue;
    };
    let Some(at_ms) = unit.absolute_ms(amount, ctx.store.now) else {
        let message = format!("ERR invalid expire time in '{}' command", unit.command());
        resp::write_error(out, &message);
        return Flow::Continue;
    };
    let key = req.arg(1);
    let Some(entry) = ctx.store.get(key) else {
        resp::write_int(out, 0);
        return Flow::Continue;
    };
    if !condition.allows(entry.expire_at, at_ms) {
        resp::write_int(out, 0);
        return Flow::Continue;
    }
    let effect = if at_ms <= ctx.store.now.0 as i64 {
        Effect::Del { key }
    } else {
        Effect::Expire {
            key,
            at: UnixMillis(at_ms as u64),
        }
    };
    ctx.store.apply(effect);
    resp::write_int(out, 1);
    Flow::Continue
}

pub fn ttl(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let ms = remaining_ms(ctx, req.arg(1));
    let seconds = if ms >= 0 { (ms + 500) / 1000 } else { ms };
    resp::write_int(out, seconds);
    Flow::Continue
}

pub fn pttl(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_int(out, remaining_ms(ctx, req.arg(1)));
    Flow::Continue
}

/// Redis's convention: -2 no such key, -1 no expiry, else milliseconds left.
fn remaining_ms(ctx: &mut Ctx<'_>, key: &[u8]) -> i64 {
    let now = ctx.store.now;
    match ctx.store.read(key) {
        None => -2,
        Some(entry) => match entry.expire_at {
            None => -1,
            Some(at) => {
                debug_assert!(at >= now, "a live key cannot be expired");
                (at.0 - now.0) as i64
            }
        },
    }
}

pub fn persist(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let has_ttl = ctx.store.get(key).is_some_and(|e| e.expire_at.is_some());
    if has_ttl {
        ctx.store.apply(Effect::Persist { key });
    }
    resp::write_int(out, has_ttl as i64);
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
    /// `TYPE t`: only strings exist, so any other type matches nothing.
    strings_wanted: bool,
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
        strings_wanted: true,
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
            b"TYPE" => args.strings_wanted = value.eq_ignore_ascii_case(b"string"),
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
    if !args.strings_wanted {
        found.clear();
    }
    resp::write_array_len(out, 2);
    resp::write_bulk(out, next.to_string().as_bytes());
    write_key_list(out, &found);
    Flow::Continue
}
