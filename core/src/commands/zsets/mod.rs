//! Sorted set commands: ZADD, ZRANGE, ZSCORE, ...
//!
//! The hash commands' pattern: typed lookup, `WRONGTYPE` for another type, changes only
//! by effect. Scores are logged as the values they end at (`ZINCRBY` logs the sum), so
//! replicas never redo float arithmetic. This file holds the table, the helpers the
//! families share and the single-member commands; ranges, pops and random picks, and
//! the set algebra have their own files.

mod algebra;
mod pops;
mod ranges;

use std::collections::{BTreeMap, BTreeSet};

use super::{CommandSpec, Ctx, Flow, Store, ERR_SYNTAX, R, W};
use crate::aof::effects::zset::ZSetEffect;
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::keyspace::zset::ZSet;
use crate::resp::{self, Protocol, Request};

/// Key positions are Redis's, except for the commands whose keys follow a count
/// (`ZUNION`, `ZINTER`, `ZDIFF`, `ZMPOP`): Redis reports 0 0 0 for them, but the node
/// routes a keyed command by its first key (a replica redirects it), so they name the
/// first key after the count.
pub static COMMANDS: &[CommandSpec] = &[
    spec!("zadd", -4, W, 1, 1, 1, zadd),
    spec!("zincrby", 4, W, 1, 1, 1, zincrby),
    spec!("zrem", -3, W, 1, 1, 1, zrem),
    spec!("zscore", 3, R, 1, 1, 1, zscore),
    spec!("zmscore", -3, R, 1, 1, 1, zmscore),
    spec!("zcard", 2, R, 1, 1, 1, zcard),
    spec!("zrank", -3, R, 1, 1, 1, zrank),
    spec!("zrevrank", -3, R, 1, 1, 1, zrevrank),
    spec!("zcount", 4, R, 1, 1, 1, ranges::zcount),
    spec!("zlexcount", 4, R, 1, 1, 1, ranges::zlexcount),
    spec!("zrange", -4, R, 1, 1, 1, ranges::zrange),
    spec!("zrangestore", -5, W, 1, 2, 1, ranges::zrangestore),
    spec!("zrangebyscore", -4, R, 1, 1, 1, ranges::zrangebyscore),
    spec!("zrevrange", -4, R, 1, 1, 1, ranges::zrevrange),
    spec!("zrevrangebyscore", -4, R, 1, 1, 1, ranges::zrevrangebyscore),
    spec!("zrangebylex", -4, R, 1, 1, 1, ranges::zrangebylex),
    spec!("zrevrangebylex", -4, R, 1, 1, 1, ranges::zrevrangebylex),
    spec!("zremrangebyscore", 4, W, 1, 1, 1, ranges::zremrangebyscore),
    spec!("zremrangebyrank", 4, W, 1, 1, 1, ranges::zremrangebyrank),
    spec!("zremrangebylex", 4, W, 1, 1, 1, ranges::zremrangebylex),
    spec!("zpopmin", -2, W, 1, 1, 1, pops::zpopmin),
    spec!("zpopmax", -2, W, 1, 1, 1, pops::zpopmax),
    spec!("zmpop", -4, W, 2, 2, 1, pops::zmpop),
    spec!("zrandmember", -2, R, 1, 1, 1, pops::zrandmember),
    spec!("zscan", -3, R, 1, 1, 1, pops::zscan),
    spec!("zunion", -3, R, 2, 2, 1, algebra::zunion),
    spec!("zinter", -3, R, 2, 2, 1, algebra::zinter),
    spec!("zdiff", -3, R, 2, 2, 1, algebra::zdiff),
    spec!("zintercard", -3, R, 2, 2, 1, algebra::zintercard),
    spec!("zunionstore", -4, W, 1, 1, 1, algebra::zunionstore),
    spec!("zinterstore", -4, W, 1, 1, 1, algebra::zinterstore),
    spec!("zdiffstore", -4, W, 1, 1, 1, algebra::zdiffstore),
];

const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";
const ERR_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
const ERR_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
const ERR_INCR_PAIRS: &str = "ERR INCR option supports a single increment-element pair";

/// The sorted set at `key` for a read command (counted in INFO), or the WRONGTYPE
/// reply. Takes the store alone so a caller may use the generator alongside.
fn read<'s>(store: &'s mut Store<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s ZSet>> {
    super::or_wrongtype(store.read_zset(key), out)
}

/// The sorted set at `key` inside a write, or the WRONGTYPE reply.
fn get<'s>(store: &'s Store<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s ZSet>> {
    super::or_wrongtype(store.get_zset(key), out)
}

/// A score argument, as Redis's `string2d`: the whole argument is a number (`inf`,
/// `+inf`, `-inf` included), with no leading space, no NaN, and no overflow to an
/// infinity or underflow to zero. Unlike C's `strtod`, hexadecimal is not read.
fn parse_score(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    let names_infinity = text.to_ascii_lowercase().contains("inf");
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let underflowed = value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let overflowed = value.is_infinite() && !names_infinity;
    (!value.is_nan() && !overflowed && !underflowed).then_some(value)
}

/// Members (and their scores) as the ZRANGE family answers: RESP2 a flat array,
/// RESP3 with scores an array of [member, score] pairs (Redis 7.2).
fn write_members<M: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    items: &[(M, f64)],
    withscores: bool,
    protocol: Protocol,
) {
    let flat = withscores && protocol == Protocol::Resp2;
    resp::write_array_len(out, if flat { items.len() * 2 } else { items.len() });
    for (member, score) in items {
        if withscores && !flat {
            resp::write_array_len(out, 2);
        }
        resp::write_bulk(out, member.as_ref());
        if withscores {
            resp::write_double(out, *score, protocol);
        }
    }
}

/// The end of every `*STORE`: `dst` becomes exactly `pairs` (score, member), or goes
/// if they are none. Deleting the old value and adding the new is one unit, so no
/// replica ever holds the half-way state.
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], pairs: &ElemsBuf) {
    let live = ctx.store.get(dst).is_some();
    if pairs.is_empty() {
        if live {
            ctx.store.apply(Effect::Del { key: dst });
        }
        return;
    }
    ctx.store.begin_unit();
    if live {
        ctx.store.apply(Effect::Del { key: dst });
    }
    let pairs = pairs.as_elems();
    ctx.store
        .apply(Effect::ZSet(ZSetEffect::Add { key: dst, pairs }));
    ctx.store.end_unit();
}

/// ZADD's options.
#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one (score, member) pair does, as Redis's `zsetAdd`.
enum Added {
    /// A condition (NX, XX, GT, LT) held it back.
    Nop,
    New(f64),
    Updated(f64),
    /// The member stays at that score.
    Same(f64),
}

/// The outcome of setting a member now at `current` to `score` (or, with INCR, adding
/// it); `Err` when an increment gives NaN.
fn add_one(current: Option<f64>, score: f64, flags: AddFlags) -> Result<Added, ()> {
    let Some(current) = current else {
        return Ok(if flags.xx {
            Added::Nop
        } else {
            Added::New(score)
        });
    };
    if flags.nx {
        return Ok(Added::Nop);
    }
    let new = if flags.incr { current + score } else { score };
    if new.is_nan() {
        return Err(());
    }
    if (flags.gt && new <= current) || (flags.lt && new >= current) {
        return Ok(Added::Nop);
    }
    Ok(if new != current {
        Added::Updated(new)
    } else {
        Added::Same(new)
    })
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`.
pub fn zadd(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    add(ctx, req, AddFlags::default(), out);
    Flow::Continue
}

/// `ZINCRBY key increment member`: ZADD INCR, as Redis runs it (options parsed alike).
pub fn zincrby(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add(ctx, req, flags, out);
    Flow::Continue
}

/// ZADD's options from argument 2 on; the position of the first pair.
fn parse_add_flags(req: &Request, flags: &mut AddFlags) -> usize {
    let mut at = 2;
    while at < req.len() {
        let flag = match req.arg(at).to_ascii_uppercase().as_slice() {
            b"NX" => &mut flags.nx,
            b"XX" => &mut flags.xx,
            b"GT" => &mut flags.gt,
            b"LT" => &mut flags.lt,
            b"CH" => &mut flags.ch,
            b"INCR" => &mut flags.incr,
            _ => break,
        };
        *flag = true;
        at += 1;
    }
    at
}

/// The pairs of a ZADD after its options, checked in Redis's order; or the error.
fn parse_add_pairs<'r>(
    req: &'r Request,
    flags: &mut AddFlags,
) -> Result<Vec<(f64, &'r [u8])>, &'static str> {
    let first = parse_add_flags(req, flags);
    let elements = req.len() - first;
    let f = *flags;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(ERR_SYNTAX);
    }
    if f.nx && f.xx {
        return Err(ERR_XX_NX);
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(ERR_GT_LT_NX);
    }
    if f.incr && elements > 2 {
        return Err(ERR_INCR_PAIRS);
    }
    (first..req.len())
        .step_by(2)
        .map(|at| {
            Ok((
                parse_score(req.arg(at)).ok_or(ERR_NOT_FLOAT)?,
                req.arg(at + 1),
            ))
        })
        .collect()
}

fn add(ctx: &mut Ctx<'_>, req: &Request, mut flags: AddFlags, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    let pairs = match parse_add_pairs(req, &mut flags) {
        Ok(pairs) => pairs,
        Err(error) => return resp::write_error(out, error),
    };
    let key = req.arg(1);
    let Some(zset) = get(&ctx.store, key, out) else {
        return;
    };
    // The scores this command ends at, pair after pair (a member may come twice).
    let mut pending: BTreeMap<&[u8], f64> = BTreeMap::new();
    let (mut added, mut updated) = (0, 0);
    let mut last = None;
    for (score, member) in pairs {
        let current = pending.get(member).copied();
        let current = current.or_else(|| zset.and_then(|z| z.score(member)));
        match add_one(current, score, flags) {
            Err(()) => return resp::write_error(out, ERR_NAN),
            Ok(Added::Nop) => {}
            Ok(Added::New(score)) | Ok(Added::Updated(score)) => {
                if current.is_some() {
                    updated += 1;
                } else {
                    added += 1;
                }
                pending.insert(member, score);
                last = Some(score);
            }
            Ok(Added::Same(score)) => last = Some(score),
        }
    }
    if !pending.is_empty() {
        let mut logged = ElemsBuf::new();
        for (member, score) in &pending {
            logged.push_score(*score);
            logged.push(member);
        }
        let pairs = logged.as_elems();
        ctx.store
            .apply(Effect::ZSet(ZSetEffect::Add { key, pairs }));
    }
    match (flags.incr, last) {
        (true, Some(score)) => resp::write_double(out, score, protocol),
        (true, None) => resp::write_null(out, protocol),
        (false, _) if flags.ch => resp::write_int(out, added + updated),
        (false, _) => resp::write_int(out, added),
    }
}

/// `ZREM key member [member ...]`: the count removed; the key goes with the last one.
pub fn zrem(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let Some(zset) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let mut removed = BTreeSet::new();
    for member in req.args().skip(2) {
        if zset.is_some_and(|z| z.score(member).is_some()) {
            removed.insert(member);
        }
    }
    if !removed.is_empty() {
        let mut members = ElemsBuf::new();
        removed.iter().for_each(|m| members.push(m));
        let members = members.as_elems();
        ctx.store
            .apply(Effect::ZSet(ZSetEffect::Rem { key, members }));
    }
    resp::write_int(out, removed.len() as i64);
    Flow::Continue
}

pub fn zscore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
        match zset.and_then(|z| z.score(req.arg(2))) {
            Some(score) => resp::write_double(out, score, protocol),
            None => resp::write_null(out, protocol),
        }
    }
    Flow::Continue
}

/// `ZMSCORE key member [member ...]`: a score or a null for each.
pub fn zmscore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
        resp::write_array_len(out, req.len() - 2);
        for member in req.args().skip(2) {
            match zset.and_then(|z| z.score(member)) {
                Some(score) => resp::write_double(out, score, protocol),
                None => resp::write_null(out, protocol),
            }
        }
    }
    Flow::Continue
}

pub fn zcard(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
        resp::write_int(out, zset.map_or(0, ZSet::len) as i64);
    }
    Flow::Continue
}

pub fn zrank(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    rank(ctx, req, false, out);
    Flow::Continue
}

pub fn zrevrank(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    rank(ctx, req, true, out);
    Flow::Continue
}

/// `Z[REV]RANK key member [WITHSCORE]`: the rank, with WITHSCORE [rank, score].
fn rank(ctx: &mut Ctx<'_>, req: &Request, reverse: bool, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    if req.len() > 4 {
        let name = if reverse { "zrevrank" } else { "zrank" };
        return super::err_wrong_arity(out, name);
    }
    let withscore = req.len() == 4;
    if withscore && !req.arg(3).eq_ignore_ascii_case(b"withscore") {
        return resp::write_error(out, ERR_SYNTAX);
    }
    let Some(zset) = read(&mut ctx.store, req.arg(1), out) else {
        return;
    };
    let member = req.arg(2);
    let found = zset.and_then(|z| Some((z.rank(member)?, z.score(member)?, z.len())));
    match found {
        Some((rank, score, len)) => {
            let rank = if reverse { len - 1 - rank } else { rank };
            if withscore {
                resp::write_array_len(out, 2);
            }
            resp::write_int(out, rank as i64);
            if withscore {
                resp::write_double(out, score, protocol);
            }
        }
        None if withscore => resp::write_null_array(out, protocol),
        None => resp::write_null(out, protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_score;

    #[test]
    fn scores_parse_as_string2d() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1", Some(1.0)),
            ("-1.5", Some(-1.5)),
            ("+2", Some(2.0)),
            (".5", Some(0.5)),
            ("1e3", Some(1000.0)),
            ("inf", Some(f64::INFINITY)),
            ("+inf", Some(f64::INFINITY)),
            ("-inf", Some(f64::NEG_INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("0", Some(0.0)),
            ("0e10", Some(0.0)),
            ("nan", None),
            ("1e400", None),
            ("1e-400", None),
            ("", None),
            (" 1", None),
            ("1 ", None),
            ("1x", None),
            ("x", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_score(text.as_bytes()), *want, "{text:?}");
        }
    }
}
