//! Expiry commands: the EXPIRE family with NX/XX/GT/LT, TTL, PTTL, EXPIRETIME,
//! PEXPIRETIME, PERSIST.

use super::{parse_i64, CommandSpec, Ctx, Flow, ERR_NOT_INTEGER, R, W};
use crate::aof::record::Effect;
use crate::resp::{self, Request};
use crate::time::UnixMillis;

pub static COMMANDS: &[CommandSpec] = &[
    spec!("expire", -3, W, 1, 1, 1, expire),
    spec!("pexpire", -3, W, 1, 1, 1, pexpire),
    spec!("expireat", -3, W, 1, 1, 1, expireat),
    spec!("pexpireat", -3, W, 1, 1, 1, pexpireat),
    spec!("ttl", 2, R, 1, 1, 1, ttl),
    spec!("pttl", 2, R, 1, 1, 1, pttl),
    spec!("expiretime", 2, R, 1, 1, 1, expiretime),
    spec!("pexpiretime", 2, R, 1, 1, 1, pexpiretime),
    spec!("persist", 2, W, 1, 1, 1, persist),
];

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
    let ms = expiry_ms(ctx, req.arg(1), Since::Now);
    resp::write_int(out, round_to_seconds(ms));
    Flow::Continue
}

pub fn pttl(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_int(out, expiry_ms(ctx, req.arg(1), Since::Now));
    Flow::Continue
}

/// `EXPIRETIME key`: the absolute expiry in unix seconds, -1 or -2 as TTL.
pub fn expiretime(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let ms = expiry_ms(ctx, req.arg(1), Since::Epoch);
    resp::write_int(out, round_to_seconds(ms));
    Flow::Continue
}

pub fn pexpiretime(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_int(out, expiry_ms(ctx, req.arg(1), Since::Epoch));
    Flow::Continue
}

/// As Redis: milliseconds to seconds rounded half up; -1 and -2 stay as they are.
fn round_to_seconds(ms: i64) -> i64 {
    if ms >= 0 {
        (ms + 500) / 1000
    } else {
        ms
    }
}

/// What an expiry is counted from: now (TTL) or the epoch (EXPIRETIME).
#[derive(Clone, Copy)]
enum Since {
    Now,
    Epoch,
}

/// Redis's convention: -2 no such key, -1 no expiry, else milliseconds since `since`.
fn expiry_ms(ctx: &mut Ctx<'_>, key: &[u8], since: Since) -> i64 {
    let now = ctx.store.now;
    match ctx.store.read(key) {
        None => -2,
        Some(entry) => match (entry.expire_at, since) {
            (None, _) => -1,
            (Some(at), Since::Now) => {
                debug_assert!(at >= now, "a live key cannot be expired");
                (at.0 - now.0) as i64
            }
            // Stored expiry times stay below 2^63.
            (Some(at), Since::Epoch) => at.0 as i64,
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
