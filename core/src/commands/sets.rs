//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SPOP, SMOVE, the set algebra and its
//! *STORE forms, SSCAN; and what set and hash commands share: random picks (SPOP,
//! SRANDMEMBER, HRANDFIELD) and a collection scan's options (SSCAN, HSCAN).
//!
//! The pattern of `hashes.rs`: typed lookup, WRONGTYPE, change only by effect. A random
//! pick uses the node's seeded generator and logs what it removed, so replicas need no
//! randomness; a command that changes two keys logs one unit.

use std::collections::BTreeSet;

use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;

use super::{
    parse_i64, CommandSpec, Ctx, Flow, Store, WrongType, ERR_NOT_INTEGER, ERR_SYNTAX,
    ERR_WRONGTYPE, R, W,
};
use crate::aof::effects::set::SetEffect;
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::keyspace::glob_match;
use crate::keyspace::set::Set;
use crate::resp::{self, Request, MULTIBULK_LEN_MAX_REDIS};

pub static COMMANDS: &[CommandSpec] = &[
    spec!("sadd", -3, W, 1, 1, 1, sadd),
    spec!("srem", -3, W, 1, 1, 1, srem),
    spec!("smembers", 2, R, 1, 1, 1, smembers),
    spec!("sismember", 3, R, 1, 1, 1, sismember),
    spec!("smismember", -3, R, 1, 1, 1, smismember),
    spec!("scard", 2, R, 1, 1, 1, scard),
    spec!("spop", -2, W, 1, 1, 1, spop),
    spec!("srandmember", -2, R, 1, 1, 1, srandmember),
    spec!("smove", 4, W, 1, 2, 1, smove),
    spec!("sinter", -2, R, 1, -1, 1, sinter),
    spec!("sunion", -2, R, 1, -1, 1, sunion),
    spec!("sdiff", -2, R, 1, -1, 1, sdiff),
    spec!("sinterstore", -3, W, 1, -1, 1, sinterstore),
    spec!("sunionstore", -3, W, 1, -1, 1, sunionstore),
    spec!("sdiffstore", -3, W, 1, -1, 1, sdiffstore),
    // Redis reports 0 0 0 (the keys follow numkeys); Bucket names the first key so that
    // a majority-mode replica redirects the read as it does every keyed read.
    spec!("sintercard", -3, R, 2, 2, 1, sintercard),
    spec!("sscan", -3, R, 1, 1, 1, sscan),
];

const ERR_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_NUMKEYS_ARGS: &str = "ERR Number of keys can't be greater than number of args";
const ERR_LIMIT: &str = "ERR LIMIT can't be negative";

/// The set at `key` for a read command (counted in INFO), or the WRONGTYPE reply.
fn read<'s>(ctx: &'s mut Ctx<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s Set>> {
    super::or_wrongtype(ctx.store.read_set(key), out)
}

/// The set at `key` inside a write, or the WRONGTYPE reply.
fn get<'s>(store: &'s Store<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s Set>> {
    super::or_wrongtype(store.get_set(key), out)
}

/// `SADD key member [member ...]`: the count of new members; only those are logged.
pub fn sadd(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let Some(set) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let mut added = ElemsBuf::new();
    let mut seen = BTreeSet::new();
    for member in req.args().skip(2) {
        if !set.is_some_and(|s| s.contains(member)) && seen.insert(member) {
            added.push(member);
        }
    }
    if !added.is_empty() {
        let members = added.as_elems();
        ctx.store
            .apply(Effect::SetMembers(SetEffect::Add { key, members }));
    }
    resp::write_int(out, added.len() as i64);
    Flow::Continue
}

/// `SREM key member [member ...]`: the count removed; the key goes with the last one.
pub fn srem(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let Some(set) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let mut removed = ElemsBuf::new();
    let mut seen = BTreeSet::new();
    for member in req.args().skip(2) {
        if set.is_some_and(|s| s.contains(member)) && seen.insert(member) {
            removed.push(member);
        }
    }
    if !removed.is_empty() {
        let members = removed.as_elems();
        ctx.store
            .apply(Effect::SetMembers(SetEffect::Rem { key, members }));
    }
    resp::write_int(out, removed.len() as i64);
    Flow::Continue
}

/// `SMEMBERS`: a set reply in RESP3.
pub fn smembers(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(set) = read(ctx, req.arg(1), out) {
        let members: Vec<&[u8]> = set.into_iter().flat_map(Set::iter).collect();
        write_members(out, &members, protocol);
    }
    Flow::Continue
}

fn write_members(out: &mut Vec<u8>, members: &[&[u8]], protocol: resp::Protocol) {
    resp::write_set_len(out, members.len(), protocol);
    members.iter().for_each(|m| resp::write_bulk(out, m));
}

pub fn sismember(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(set) = read(ctx, req.arg(1), out) {
        let found = set.is_some_and(|s| s.contains(req.arg(2)));
        resp::write_int(out, found as i64);
    }
    Flow::Continue
}

/// `SMISMEMBER key member [member ...]`: 1 or 0 for each member.
pub fn smismember(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(set) = read(ctx, req.arg(1), out) {
        resp::write_array_len(out, req.len() - 2);
        for member in req.args().skip(2) {
            resp::write_int(out, set.is_some_and(|s| s.contains(member)) as i64);
        }
    }
    Flow::Continue
}

pub fn scard(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(set) = read(ctx, req.arg(1), out) {
        resp::write_int(out, set.map_or(0, Set::len) as i64);
    }
    Flow::Continue
}

/// `SPOP key [count]`: removes random members and logs them (a replica removes the
/// same ones). Without a count one member or nil; with one, a set reply.
pub fn spop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let count = match req.len() {
        2 => None,
        3 => match parse_i64(req.arg(2)).and_then(|n| usize::try_from(n).ok()) {
            Some(count) => Some(count),
            None => {
                resp::write_error(out, ERR_NOT_POSITIVE);
                return Flow::Continue;
            }
        },
        _ => {
            resp::write_error(out, ERR_SYNTAX);
            return Flow::Continue;
        }
    };
    let key = req.arg(1);
    let Some(set) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let Some(set) = set.filter(|_| count != Some(0)) else {
        match count {
            None => resp::write_null(out, protocol),
            Some(_) => resp::write_set_len(out, 0, protocol),
        }
        return Flow::Continue;
    };
    let mut popped = ElemsBuf::new();
    let picked = match count {
        None => vec![random_index(ctx.rng, set.len())],
        Some(count) => pick_distinct(ctx.rng, set.len(), count),
    };
    for index in picked {
        popped.push(set.get_index(index).expect("picks are below the length"));
    }
    let members = popped.as_elems();
    ctx.store
        .apply(Effect::SetMembers(SetEffect::Rem { key, members }));
    if count.is_some() {
        resp::write_set_len(out, members.len(), protocol);
    }
    members.iter().for_each(|m| resp::write_bulk(out, m));
    Flow::Continue
}

/// `SRANDMEMBER key [count]`: distinct members for a positive count, possibly repeated
/// ones for a negative count.
pub fn srandmember(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let count = match req.len() {
        2 => None,
        3 => match parse_random_count(req.arg(2)) {
            Ok(count) => Some(count),
            Err(error) => {
                resp::write_error(out, &error);
                return Flow::Continue;
            }
        },
        _ => {
            resp::write_error(out, ERR_SYNTAX);
            return Flow::Continue;
        }
    };
    let key = req.arg(1);
    let Ok(set) = ctx.store.read_set(key) else {
        resp::write_error(out, ERR_WRONGTYPE);
        return Flow::Continue;
    };
    let len = set.map_or(0, Set::len);
    let picked = match (set, count) {
        (None, None) => {
            resp::write_null(out, protocol);
            return Flow::Continue;
        }
        (Some(_), None) => {
            let index = random_index(ctx.rng, len);
            resp::write_bulk(
                out,
                set.and_then(|s| s.get_index(index)).expect("index < len"),
            );
            return Flow::Continue;
        }
        (_, Some(count)) => count.pick(ctx.rng, len),
    };
    resp::write_array_len(out, picked.len());
    for index in picked {
        resp::write_bulk(
            out,
            set.and_then(|s| s.get_index(index)).expect("index < len"),
        );
    }
    Flow::Continue
}

/// `SMOVE source destination member`: 1 if moved. Both keys change: one unit.
pub fn smove(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (src, dst, member) = (req.arg(1), req.arg(2), req.arg(3));
    let Some(src_set) = get(&ctx.store, src, out) else {
        return Flow::Continue;
    };
    let Some(src_set) = src_set else {
        resp::write_int(out, 0);
        return Flow::Continue;
    };
    let Some(dst_set) = get(&ctx.store, dst, out) else {
        return Flow::Continue;
    };
    let present = src_set.contains(member);
    if !present || src == dst {
        resp::write_int(out, present as i64);
        return Flow::Continue;
    }
    let already_there = dst_set.is_some_and(|s| s.contains(member));
    let mut one = ElemsBuf::new();
    one.push(member);
    let members = one.as_elems();
    ctx.store.begin_unit();
    ctx.store
        .apply(Effect::SetMembers(SetEffect::Rem { key: src, members }));
    if !already_there {
        ctx.store
            .apply(Effect::SetMembers(SetEffect::Add { key: dst, members }));
    }
    ctx.store.end_unit();
    resp::write_int(out, 1);
    Flow::Continue
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

pub fn sinter(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_reply(ctx, req, SetOp::Inter, out)
}

pub fn sunion(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_reply(ctx, req, SetOp::Union, out)
}

pub fn sdiff(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_reply(ctx, req, SetOp::Diff, out)
}

pub fn sinterstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_store(ctx, req, SetOp::Inter, out)
}

pub fn sunionstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_store(ctx, req, SetOp::Union, out)
}

pub fn sdiffstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine_and_store(ctx, req, SetOp::Diff, out)
}

/// SINTER, SUNION, SDIFF: the result as a set reply in RESP3.
fn combine_and_reply(ctx: &mut Ctx<'_>, req: &Request, op: SetOp, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let keys: Vec<&[u8]> = req.args().skip(1).collect();
    match read_sources(&mut ctx.store, &keys) {
        Ok(sets) => write_members(out, &combine(&sets, op, 0), protocol),
        Err(WrongType) => resp::write_error(out, ERR_WRONGTYPE),
    }
    Flow::Continue
}

/// The *STORE forms: the destination is replaced (whatever it held) by the result, and
/// deleted if the result is empty. The Del and the Add are one unit.
fn combine_and_store(ctx: &mut Ctx<'_>, req: &Request, op: SetOp, out: &mut Vec<u8>) -> Flow {
    let dst = req.arg(1);
    let keys: Vec<&[u8]> = req.args().skip(2).collect();
    let result = match sources(&ctx.store, &keys) {
        Ok(sets) => {
            let mut result = ElemsBuf::new();
            combine(&sets, op, 0).iter().for_each(|m| result.push(m));
            result
        }
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    let replaces = ctx.store.get(dst).is_some();
    let in_unit = replaces && !result.is_empty();
    if in_unit {
        ctx.store.begin_unit();
    }
    if replaces {
        ctx.store.apply(Effect::Del { key: dst });
    }
    if !result.is_empty() {
        let members = result.as_elems();
        ctx.store
            .apply(Effect::SetMembers(SetEffect::Add { key: dst, members }));
    }
    if in_unit {
        ctx.store.end_unit();
    }
    resp::write_int(out, result.len() as i64);
    Flow::Continue
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the intersection,
/// counting no further than a non-zero limit.
/// `numkeys key [key ...] [LIMIT limit]` of SINTERCARD and ZINTERCARD: the keys and
/// the limit (0: none), or the error reply's text.
pub(crate) fn parse_intercard(req: &Request) -> Result<(Vec<&[u8]>, usize), &'static str> {
    let numkeys = match parse_i64(req.arg(1)).and_then(|n| usize::try_from(n).ok()) {
        Some(n) if n > 0 => n,
        _ => return Err(ERR_NUMKEYS),
    };
    if numkeys > req.len() - 2 {
        return Err(ERR_NUMKEYS_ARGS);
    }
    let mut limit = 0;
    let mut at = 2 + numkeys;
    while at < req.len() {
        if !req.arg(at).eq_ignore_ascii_case(b"limit") || at + 1 == req.len() {
            return Err(ERR_SYNTAX);
        }
        limit = parse_i64(req.arg(at + 1))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ERR_LIMIT)?;
        at += 2;
    }
    Ok((req.args().skip(2).take(numkeys).collect(), limit))
}

pub fn sintercard(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (keys, limit) = match parse_intercard(req) {
        Ok(parsed) => parsed,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    match read_sources(&mut ctx.store, &keys) {
        Ok(sets) => resp::write_int(out, combine(&sets, SetOp::Inter, limit).len() as i64),
        Err(WrongType) => resp::write_error(out, ERR_WRONGTYPE),
    }
    Flow::Continue
}

/// The sets at `keys` for a read command: every lookup counts in INFO.
fn read_sources<'s>(
    store: &'s mut Store<'_>,
    keys: &[&[u8]],
) -> Result<Vec<Option<&'s Set>>, WrongType> {
    for key in keys {
        store.read_set(key)?;
    }
    sources(store, keys)
}

/// The sets at `keys`, `None` for a missing key, or WRONGTYPE if any key holds another
/// type (every key is checked, as Redis does, even after a missing one).
fn sources<'s>(store: &'s Store<'_>, keys: &[&[u8]]) -> Result<Vec<Option<&'s Set>>, WrongType> {
    keys.iter().map(|key| store.get_set(key)).collect()
}

/// The members of the intersection, union or difference of `sets` (a missing key is
/// an empty set). A non-zero `limit` stops an intersection once it has that many.
fn combine<'s>(sets: &[Option<&'s Set>], op: SetOp, limit: usize) -> Vec<&'s [u8]> {
    let mut result = Vec::new();
    match op {
        SetOp::Inter => {
            let Some(present) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
                return result;
            };
            // Walk the smallest set, probing the others.
            let smallest = present
                .iter()
                .min_by_key(|s| s.len())
                .expect("one key at least");
            for member in smallest.iter() {
                if present.iter().all(|s| s.contains(member)) {
                    result.push(member);
                    if result.len() == limit {
                        break;
                    }
                }
            }
        }
        SetOp::Union => {
            let mut seen = BTreeSet::new();
            for member in sets.iter().flatten().flat_map(|s| s.iter()) {
                if seen.insert(member) {
                    result.push(member);
                }
            }
        }
        SetOp::Diff => {
            let (first, rest) = sets.split_first().expect("one key at least");
            for member in first.iter().flat_map(|s| s.iter()) {
                if !rest.iter().flatten().any(|s| s.contains(member)) {
                    result.push(member);
                }
            }
        }
    }
    result
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`.
pub fn sscan(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(cursor) = parse_cursor(req.arg(2)) else {
        resp::write_error(out, ERR_INVALID_CURSOR);
        return Flow::Continue;
    };
    let Some(set) = read(ctx, req.arg(1), out) else {
        return Flow::Continue;
    };
    let Some(set) = set else {
        write_scan_header(out, 0, 0);
        return Flow::Continue;
    };
    let options = match parse_scan_options(req, false) {
        Ok(options) => options,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let mut found = Vec::new();
    let next = set.scan(cursor, options.count, &mut found);
    found.retain(|member| options.matches(member));
    write_scan_header(out, next, found.len());
    found.iter().for_each(|m| resp::write_bulk(out, m));
    Flow::Continue
}

// ---- Shared with the hash commands: random picks ----

/// Most picks a negative count may ask for: a reply about as long as the longest
/// request. Redis has no such bound and runs out of memory instead.
pub(super) const RANDOM_PICKS_MAX: usize = MULTIBULK_LEN_MAX_REDIS;

/// The count of `SRANDMEMBER` and `HRANDFIELD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RandomCount {
    /// This many different elements, or all of them.
    Distinct(usize),
    /// This many picks, each from the whole collection.
    Repeated(usize),
}

impl RandomCount {
    /// Storage positions in a collection of `len` elements.
    pub(super) fn pick(self, rng: &mut ChaCha8Rng, len: usize) -> Vec<usize> {
        match self {
            _ if len == 0 => Vec::new(),
            RandomCount::Distinct(count) => pick_distinct(rng, len, count),
            RandomCount::Repeated(count) => (0..count).map(|_| random_index(rng, len)).collect(),
        }
    }
}

/// A count as `SRANDMEMBER` and `HRANDFIELD` read it: negative means repeated picks.
pub(super) fn parse_random_count(bytes: &[u8]) -> Result<RandomCount, String> {
    let n = parse_i64(bytes).ok_or_else(|| ERR_NOT_INTEGER.to_string())?;
    if n >= 0 {
        return Ok(RandomCount::Distinct(
            usize::try_from(n).unwrap_or(usize::MAX),
        ));
    }
    match usize::try_from(n.unsigned_abs()) {
        Ok(picks) if picks <= RANDOM_PICKS_MAX => Ok(RandomCount::Repeated(picks)),
        _ => Err(format!(
            "ERR value is out of range, value must between -{RANDOM_PICKS_MAX} and {}",
            i64::MAX
        )),
    }
}

/// A uniform storage position below `len` (not zero).
pub(super) fn random_index(rng: &mut ChaCha8Rng, len: usize) -> usize {
    assert!(len > 0, "a pick from an empty collection");
    // The high bits of a 64x64 multiply: uniform up to a bias of len / 2^64.
    let index = (u128::from(rng.next_u64()) * len as u128) >> 64;
    let index = usize::try_from(index).expect("below len");
    assert!(index < len);
    index
}

/// `count` different positions below `len` (all of them, in storage order, if `count`
/// is not smaller). Floyd's sampling: `count` draws, whatever `len`.
pub(super) fn pick_distinct(rng: &mut ChaCha8Rng, len: usize, count: usize) -> Vec<usize> {
    if count >= len {
        return (0..len).collect();
    }
    let mut chosen = BTreeSet::new();
    let mut picked = Vec::with_capacity(count);
    for top in len - count..len {
        let candidate = random_index(rng, top + 1);
        let index = if chosen.insert(candidate) {
            candidate
        } else {
            assert!(
                chosen.insert(top),
                "only draws below top were chosen before"
            );
            top
        };
        picked.push(index);
    }
    assert_eq!(picked.len(), count);
    picked
}

// ---- Shared with the hash commands: a collection scan ----

pub(super) const ERR_INVALID_CURSOR: &str = "ERR invalid cursor";
/// Elements a scan examines per call when COUNT is not given (Redis's default).
const SCAN_COUNT_DEFAULT: usize = 10;
/// Most positions one call examines, however large COUNT is: bounds one step's work.
const SCAN_COUNT_MAX: usize = 100_000;

pub(super) struct ScanOptions<'r> {
    pub count: usize,
    /// `None` for no MATCH or `*`, which Redis special-cases to match everything.
    pub pattern: Option<&'r [u8]>,
    /// `HSCAN ... NOVALUES`: fields only.
    pub novalues: bool,
}

impl ScanOptions<'_> {
    pub(super) fn matches(&self, element: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, element))
    }
}

/// A cursor as SCAN reads it: an unsigned 64-bit decimal.
pub(super) fn parse_cursor(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse::<u64>().ok()
}

/// The options after `key cursor`; NOVALUES only where `novalues_allowed` (HSCAN).
pub(super) fn parse_scan_options(
    req: &Request,
    novalues_allowed: bool,
) -> Result<ScanOptions<'_>, &'static str> {
    let mut options = ScanOptions {
        count: SCAN_COUNT_DEFAULT,
        pattern: None,
        novalues: false,
    };
    let mut at = 3;
    while at < req.len() {
        let name = req.arg(at).to_ascii_uppercase();
        if name == b"NOVALUES" && novalues_allowed {
            options.novalues = true;
            at += 1;
            continue;
        }
        if at + 1 >= req.len() {
            return Err(ERR_SYNTAX);
        }
        let value = req.arg(at + 1);
        match name.as_slice() {
            b"MATCH" => options.pattern = Some(value).filter(|p| *p != b"*"),
            b"COUNT" => match parse_i64(value) {
                Some(n) if n >= 1 => {
                    options.count =
                        usize::try_from(n).map_or(SCAN_COUNT_MAX, |n| n.min(SCAN_COUNT_MAX))
                }
                Some(_) => return Err(ERR_SYNTAX),
                None => return Err(ERR_NOT_INTEGER),
            },
            _ => return Err(ERR_SYNTAX),
        }
        at += 2;
    }
    Ok(options)
}

/// A scan reply's start: the next cursor, then the array header of `len` elements.
pub(super) fn write_scan_header(out: &mut Vec<u8>, next: u64, len: usize) {
    resp::write_array_len(out, 2);
    resp::write_bulk(out, next.to_string().as_bytes());
    resp::write_array_len(out, len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn distinct_picks_are_distinct_and_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (len, count) in [(1, 1), (5, 0), (5, 3), (5, 4), (5, 5), (5, 9), (1000, 999)] {
            let picked = pick_distinct(&mut rng, len, count);
            assert_eq!(picked.len(), count.min(len), "len {len} count {count}");
            let unique: BTreeSet<_> = picked.iter().collect();
            assert_eq!(unique.len(), picked.len(), "len {len} count {count}");
            assert!(picked.iter().all(|&i| i < len), "len {len} count {count}");
        }
    }

    #[test]
    fn random_counts_follow_redis_and_bound_repeats() {
        assert_eq!(parse_random_count(b"3"), Ok(RandomCount::Distinct(3)));
        assert_eq!(parse_random_count(b"-3"), Ok(RandomCount::Repeated(3)));
        assert_eq!(parse_random_count(b"x"), Err(ERR_NOT_INTEGER.to_string()));
        assert!(parse_random_count(b"-9223372036854775808").is_err());
        let over = format!("-{}", RANDOM_PICKS_MAX + 1);
        assert!(parse_random_count(over.as_bytes()).is_err());
    }
}
