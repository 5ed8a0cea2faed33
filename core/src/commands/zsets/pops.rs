//! Taking members out by rank (ZPOPMIN, ZPOPMAX, ZMPOP), picking them at random
//! (ZRANDMEMBER) and iterating them (ZSCAN).

use std::collections::BTreeSet;

use rand_chacha::rand_core::RngCore;

use super::{get, read};
use crate::aof::effects::zset::ZSetEffect;
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::commands::{parse_i64, Ctx, Flow, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::keyspace::glob_match;
use crate::resp::{self, Protocol, Request};

const ERR_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_COUNT: &str = "ERR count should be greater than 0";
const ERR_RANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_OUT_OF_RANGE: &str = "ERR value is out of range";
/// Most picks one ZRANDMEMBER with a negative count (repeats allowed) makes. Redis has
/// no bound but the client's output buffer; here a step's work stays bounded.
const RANDMEMBER_REPEATS_MAX: u64 = 1_000_000;
/// ZSCAN's slots per call without COUNT, and the most one call examines.
const SCAN_COUNT_DEFAULT: usize = 10;
const SCAN_COUNT_MAX: usize = 100_000;

pub fn zpopmin(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_command(ctx, req, false, out);
    Flow::Continue
}

pub fn zpopmax(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_command(ctx, req, true, out);
    Flow::Continue
}

/// `ZPOPMIN|ZPOPMAX key [count]`: RESP2 a flat array of member, score; RESP3 with a
/// count an array of [member, score] pairs (Redis 7.2).
fn pop_command(ctx: &mut Ctx<'_>, req: &Request, max: bool, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    if req.len() > 3 {
        return resp::write_error(out, ERR_SYNTAX);
    }
    let count = match req.len() {
        3 => match parse_i64(req.arg(2)).and_then(|n| u64::try_from(n).ok()) {
            Some(count) => Some(count),
            None => return resp::write_error(out, ERR_NOT_POSITIVE),
        },
        _ => None,
    };
    let key = req.arg(1);
    let Some(found) = get(&ctx.store, key, out) else {
        return;
    };
    if found.is_none() || count == Some(0) {
        return resp::write_array_len(out, 0);
    }
    let popped = pop(ctx, key, max, count.unwrap_or(1));
    let nested = protocol == Protocol::Resp3 && count.is_some();
    write_popped(out, &popped, nested, protocol);
}

/// Remove the `count` lowest (or highest) members of the sorted set at `key`, logged
/// as one Rem; the members and scores, in pop order.
fn pop(ctx: &mut Ctx<'_>, key: &[u8], max: bool, count: u64) -> Vec<(Vec<u8>, f64)> {
    let Ok(Some(zset)) = ctx.store.get_zset(key) else {
        return Vec::new();
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let taken = |(member, score): (&[u8], f64)| (member.to_vec(), score);
    let popped: Vec<(Vec<u8>, f64)> = if max {
        zset.iter_rev().take(count).map(taken).collect()
    } else {
        zset.iter().take(count).map(taken).collect()
    };
    let mut members = ElemsBuf::new();
    popped.iter().for_each(|(member, _)| members.push(member));
    if !members.is_empty() {
        let members = members.as_elems();
        ctx.store
            .apply(Effect::ZSet(ZSetEffect::Rem { key, members }));
    }
    popped
}

fn write_popped(out: &mut Vec<u8>, popped: &[(Vec<u8>, f64)], nested: bool, protocol: Protocol) {
    resp::write_array_len(
        out,
        if nested {
            popped.len()
        } else {
            popped.len() * 2
        },
    );
    for (member, score) in popped {
        if nested {
            resp::write_array_len(out, 2);
        }
        resp::write_bulk(out, member);
        resp::write_double(out, *score, protocol);
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`: pops from the first key that
/// holds a sorted set; [key, [[member, score], ...]], or a null array if none does.
pub fn zmpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let (keys_end, max, count) = match parse_mpop(req) {
        Ok(parsed) => parsed,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let mut chosen = None;
    for at in 2..keys_end {
        match get(&ctx.store, req.arg(at), out) {
            None => return Flow::Continue,
            Some(None) => continue,
            Some(Some(_)) => {
                chosen = Some(req.arg(at));
                break;
            }
        }
    }
    let Some(key) = chosen else {
        resp::write_null_array(out, protocol);
        return Flow::Continue;
    };
    let popped = pop(ctx, key, max, count);
    resp::write_array_len(out, 2);
    resp::write_bulk(out, key);
    write_popped(out, &popped, true, protocol);
    Flow::Continue
}

/// ZMPOP's arguments: where the keys end, MAX or not, and the count.
fn parse_mpop(req: &Request) -> Result<(usize, bool, u64), &'static str> {
    let numkeys = parse_i64(req.arg(1)).ok_or(ERR_NOT_INTEGER)?;
    let numkeys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or(ERR_NUMKEYS)?;
    let where_at = numkeys
        .checked_add(2)
        .filter(|&at| at < req.len())
        .ok_or(ERR_SYNTAX)?;
    let max = match req.arg(where_at).to_ascii_uppercase().as_slice() {
        b"MIN" => false,
        b"MAX" => true,
        _ => return Err(ERR_SYNTAX),
    };
    let mut count = None;
    let mut at = where_at + 1;
    while at < req.len() {
        let more = at + 1 < req.len();
        if count.is_none() && more && req.arg(at).eq_ignore_ascii_case(b"COUNT") {
            let n = parse_i64(req.arg(at + 1)).ok_or(ERR_NOT_INTEGER)?;
            count = Some(u64::try_from(n).ok().filter(|&n| n >= 1).ok_or(ERR_COUNT)?);
            at += 2;
        } else {
            return Err(ERR_SYNTAX);
        }
    }
    Ok((where_at, max, count.unwrap_or(1)))
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`. A read: the node's generator picks, and
/// nothing is logged.
pub fn zrandmember(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if req.len() < 3 {
        if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
            match zset {
                Some(zset) => {
                    let index = pick(ctx.rng, zset.len());
                    let (member, _) = zset.nth(index).expect("index < len");
                    resp::write_bulk(out, member);
                }
                None => resp::write_null(out, protocol),
            }
        }
        return Flow::Continue;
    }
    let count = match parse_i64(req.arg(2)) {
        None => return error(out, ERR_NOT_INTEGER),
        Some(i64::MIN) => return error(out, ERR_RANDMEMBER_RANGE),
        Some(count) => count,
    };
    if req.len() > 4 || (req.len() == 4 && !req.arg(3).eq_ignore_ascii_case(b"WITHSCORES")) {
        return error(out, ERR_SYNTAX);
    }
    let withscores = req.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return error(out, ERR_OUT_OF_RANGE);
    }
    let repeats = count < 0 || count == 1;
    if repeats && count.unsigned_abs() > RANDMEMBER_REPEATS_MAX {
        return error(out, ERR_OUT_OF_RANGE);
    }
    let Some(zset) = read(&mut ctx.store, req.arg(1), out) else {
        return Flow::Continue;
    };
    let Some(zset) = zset.filter(|_| count != 0) else {
        resp::write_array_len(out, 0);
        return Flow::Continue;
    };
    let count = count.unsigned_abs();
    let picked: Vec<(&[u8], f64)> = if !repeats && count >= zset.len() as u64 {
        // Redis answers the whole set, in its order.
        zset.iter().collect()
    } else {
        let indexes = random_indexes(ctx.rng, zset.len(), count, repeats);
        let at = |i| zset.nth(i).expect("index < len");
        indexes.into_iter().map(at).collect()
    };
    super::write_members(out, &picked, withscores, protocol);
    Flow::Continue
}

fn error(out: &mut Vec<u8>, message: &str) -> Flow {
    resp::write_error(out, message);
    Flow::Continue
}

/// A uniform storage position below `len` (> 0).
fn pick(rng: &mut rand_chacha::ChaCha8Rng, len: usize) -> usize {
    (rng.next_u64() % len as u64) as usize
}

/// Storage positions below `len` for `count` picks: with `repeats` each pick is
/// independent; otherwise distinct ones (`count` < `len`).
fn random_indexes(
    rng: &mut rand_chacha::ChaCha8Rng,
    len: usize,
    count: u64,
    repeats: bool,
) -> Vec<usize> {
    if repeats {
        return (0..count).map(|_| pick(rng, len)).collect();
    }
    let count = usize::try_from(count).expect("below the set's length");
    if count * 3 > len {
        // Many of the members: a partial shuffle of all the positions.
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + pick(rng, len - i);
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    // Few of many: draw until enough are distinct (each draw is new with odds > 2/3).
    let mut seen = BTreeSet::new();
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let index = pick(rng, len);
        if seen.insert(index) {
            picked.push(index);
        }
    }
    picked
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: [next cursor, [member, score,
/// ...]], scores as bulk strings in both protocols (as Redis).
pub fn zscan(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let cursor = std::str::from_utf8(req.arg(2))
        .ok()
        .and_then(|text| text.parse::<u64>().ok());
    let Some(cursor) = cursor else {
        return error(out, "ERR invalid cursor");
    };
    let Some(zset) = read(&mut ctx.store, req.arg(1), out) else {
        return Flow::Continue;
    };
    // As Redis, a missing key answers before the options are read.
    let Some(zset) = zset else {
        resp::write_array_len(out, 2);
        resp::write_bulk(out, b"0");
        resp::write_array_len(out, 0);
        return Flow::Continue;
    };
    let (count, pattern) = match parse_scan_options(req) {
        Ok(options) => options,
        Err(message) => return error(out, message),
    };
    let mut found = Vec::new();
    let next = zset.scan(cursor, count, |member, score| {
        if pattern.is_none_or(|p| glob_match(p, member)) {
            found.push((member, score));
        }
    });
    resp::write_array_len(out, 2);
    resp::write_bulk(out, next.to_string().as_bytes());
    resp::write_array_len(out, found.len() * 2);
    for (member, score) in found {
        resp::write_bulk(out, member);
        resp::write_double(out, score, Protocol::Resp2);
    }
    Flow::Continue
}

/// ZSCAN's COUNT and MATCH (`*` matches everything, the empty member included).
fn parse_scan_options(req: &Request) -> Result<(usize, Option<&[u8]>), &'static str> {
    let (mut count, mut pattern) = (SCAN_COUNT_DEFAULT, None);
    let mut at = 3;
    while at < req.len() {
        if at + 1 >= req.len() {
            return Err(ERR_SYNTAX);
        }
        let value = req.arg(at + 1);
        match req.arg(at).to_ascii_uppercase().as_slice() {
            b"COUNT" => match parse_i64(value) {
                Some(n) if n >= 1 => count = (n as usize).min(SCAN_COUNT_MAX),
                Some(_) => return Err(ERR_SYNTAX),
                None => return Err(ERR_NOT_INTEGER),
            },
            b"MATCH" => pattern = Some(value).filter(|p| *p != b"*"),
            _ => return Err(ERR_SYNTAX),
        }
        at += 2;
    }
    Ok((count, pattern))
}
