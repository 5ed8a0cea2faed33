//! Ranges of a sorted set: by rank, by score, by member (lex). ZRANGE and its older
//! spellings, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* commands.

use super::{get, read, store_result, write_members};
use crate::aof::effects::zset::ZSetEffect;
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::commands::{parse_i64, Ctx, Flow, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::keyspace::zset::{LexBound, LexRange, ScoreRange, ZSet};
use crate::resp::{self, Request};

const ERR_RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
const ERR_LEX_RANGE: &str = "ERR min or max not valid string range item";
const ERR_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const ERR_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";

/// A score bound as Redis's `zslParseRange` reads it: C's `strtod` up to the end, so a
/// leading space is skipped, an overflow reads as an infinity and an empty argument
/// as 0 (Redis accepts `ZCOUNT k "" 1`); only NaN and trailing bytes are refused.
fn parse_bound(bytes: &[u8]) -> Option<(f64, bool)> {
    let (bytes, exclusive) = match bytes.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    if bytes.is_empty() {
        return Some((0.0, exclusive));
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some((value, exclusive))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, &'static str> {
    let (min, min_ex) = parse_bound(min).ok_or(ERR_RANGE_NOT_FLOAT)?;
    let (max, max_ex) = parse_bound(max).ok_or(ERR_RANGE_NOT_FLOAT)?;
    Ok(ScoreRange {
        min,
        max,
        min_ex,
        max_ex,
    })
}

/// `-`, `+`, `[member` or `(member`.
fn parse_lex_bound(bytes: &[u8]) -> Option<LexBound> {
    Some(match (bytes.first()?, &bytes[1..]) {
        (b'-', []) => LexBound::Min,
        (b'+', []) => LexBound::Max,
        (b'[', member) => LexBound::Inclusive(member.into()),
        (b'(', member) => LexBound::Exclusive(member.into()),
        _ => return None,
    })
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, &'static str> {
    Ok(LexRange {
        min: parse_lex_bound(min).ok_or(ERR_LEX_RANGE)?,
        max: parse_lex_bound(max).ok_or(ERR_LEX_RANGE)?,
    })
}

/// The rank window `start..=stop` (negative counts from the end) clipped to `len`, as
/// Redis sanitizes it: (first rank, count), or `None` when empty.
fn rank_window(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).expect("a set's length fits i64");
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    Some((start as usize, (stop - start + 1) as usize))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// ZRANGE and ZRANGESTORE: chosen by the options.
    Auto,
    Rank,
    Score,
    Lex,
}

enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

struct Query {
    range: Range,
    reverse: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
    withscores: bool,
}

/// The arguments after the source key at `key_at`, as Redis's `zrangeGenericCommand`:
/// the options first, then the range (swapped for a reverse score or lex range, which
/// is given max first).
fn parse_query(
    req: &Request,
    key_at: usize,
    store: bool,
    mut by: By,
    mut reverse: Option<bool>,
) -> Result<Query, &'static str> {
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    let mut at = key_at + 3;
    while at < req.len() {
        let left = req.len() - at - 1;
        match req.arg(at).to_ascii_uppercase().as_slice() {
            b"WITHSCORES" if !store => withscores = true,
            b"LIMIT" if left >= 2 => {
                offset = parse_i64(req.arg(at + 1)).ok_or(ERR_NOT_INTEGER)?;
                limit = parse_i64(req.arg(at + 2)).ok_or(ERR_NOT_INTEGER)?;
                at += 2;
            }
            b"REV" if reverse.is_none() => reverse = Some(true),
            b"BYLEX" if by == By::Auto => by = By::Lex,
            b"BYSCORE" if by == By::Auto => by = By::Score,
            _ => return Err(ERR_SYNTAX),
        }
        at += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if by == By::Auto {
        by = By::Rank;
    }
    if limit != -1 && by == By::Rank {
        return Err(ERR_LIMIT_RANK);
    }
    if withscores && by == By::Lex {
        return Err(ERR_WITHSCORES_LEX);
    }
    let (mut min, mut max) = (req.arg(key_at + 1), req.arg(key_at + 2));
    if reverse && by != By::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let range = match by {
        By::Score => Range::Score(parse_score_range(min, max)?),
        By::Lex => Range::Lex(parse_lex_range(min, max)?),
        By::Rank | By::Auto => Range::Rank(
            parse_i64(min).ok_or(ERR_NOT_INTEGER)?,
            parse_i64(max).ok_or(ERR_NOT_INTEGER)?,
        ),
    };
    Ok(Query {
        range,
        reverse,
        offset,
        limit,
        withscores,
    })
}

/// The members a query selects, in reply order.
fn select<'z>(zset: &'z ZSet, query: &Query) -> Vec<(&'z [u8], f64)> {
    let limited = |members: Box<dyn Iterator<Item = (&'z [u8], f64)> + 'z>| {
        // As Redis: a negative offset skips everything, a negative limit is none.
        let Ok(offset) = usize::try_from(query.offset) else {
            return Vec::new();
        };
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        members.skip(offset).take(limit).collect()
    };
    match &query.range {
        Range::Rank(start, stop) => {
            let Some((first, count)) = rank_window(zset.len(), *start, *stop) else {
                return Vec::new();
            };
            // Ranks count from the highest in a reverse query.
            let rank = match query.reverse {
                true => zset.len() - 1 - first,
                false => first,
            };
            zset.walk(rank, query.reverse).take(count).collect()
        }
        Range::Score(range) => limited(zset.range_by_score(range, query.reverse)),
        Range::Lex(range) => limited(zset.range_by_lex(range, query.reverse)),
    }
}

/// A range command's reply: the members, or an empty array for a missing key.
fn range_reply(ctx: &mut Ctx<'_>, req: &Request, by: By, reverse: Option<bool>, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    let query = match parse_query(req, 1, false, by, reverse) {
        Ok(query) => query,
        Err(error) => return resp::write_error(out, error),
    };
    match read(&mut ctx.store, req.arg(1), out) {
        None => {}
        Some(None) => resp::write_array_len(out, 0),
        Some(Some(zset)) => {
            let members = select(zset, &query);
            write_members(out, &members, query.withscores, protocol);
        }
    }
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
pub fn zrange(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Auto, None, out);
    Flow::Continue
}

pub fn zrangebyscore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Score, Some(false), out);
    Flow::Continue
}

pub fn zrevrange(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Rank, Some(true), out);
    Flow::Continue
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Score, Some(true), out);
    Flow::Continue
}

pub fn zrangebylex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Lex, Some(false), out);
    Flow::Continue
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    range_reply(ctx, req, By::Lex, Some(true), out);
    Flow::Continue
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`: the count
/// stored; an empty range deletes `dst`.
pub fn zrangestore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let query = match parse_query(req, 2, true, By::Auto, None) {
        Ok(query) => query,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let Some(zset) = get(&ctx.store, req.arg(2), out) else {
        return Flow::Continue;
    };
    let mut pairs = ElemsBuf::new();
    for (member, score) in zset.map(|z| select(z, &query)).unwrap_or_default() {
        pairs.push_score(score);
        pairs.push(member);
    }
    store_result(ctx, req.arg(1), &pairs);
    resp::write_int(out, (pairs.len() / 2) as i64);
    Flow::Continue
}

/// `ZCOUNT key min max`: the difference of two ranks, O(log n).
pub fn zcount(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let range = match parse_score_range(req.arg(2), req.arg(3)) {
        Ok(range) => range,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
        let count = zset.map_or(0, |z| z.ranks_by_score(&range).len());
        resp::write_int(out, count as i64);
    }
    Flow::Continue
}

/// `ZLEXCOUNT key min max`: O(log n) as ZCOUNT where all scores are one, as Redis
/// means it; a walk otherwise.
pub fn zlexcount(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let range = match parse_lex_range(req.arg(2), req.arg(3)) {
        Ok(range) => range,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    if let Some(zset) = read(&mut ctx.store, req.arg(1), out) {
        let count = zset.map_or(0, |z| match z.ranks_by_lex(&range) {
            Some(ranks) => ranks.len(),
            None => z.range_by_lex(&range, false).count(),
        });
        resp::write_int(out, count as i64);
    }
    Flow::Continue
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let range = parse_score_range(req.arg(2), req.arg(3)).map(Range::Score);
    remove_range(ctx, req, range, out);
    Flow::Continue
}

pub fn zremrangebylex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let range = parse_lex_range(req.arg(2), req.arg(3)).map(Range::Lex);
    remove_range(ctx, req, range, out);
    Flow::Continue
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let start = parse_i64(req.arg(2)).ok_or(ERR_NOT_INTEGER);
    let range = start.and_then(|start| {
        let stop = parse_i64(req.arg(3)).ok_or(ERR_NOT_INTEGER)?;
        Ok(Range::Rank(start, stop))
    });
    remove_range(ctx, req, range, out);
    Flow::Continue
}

/// Remove the members in `range` (logged as one Rem); the count removed.
fn remove_range(
    ctx: &mut Ctx<'_>,
    req: &Request,
    range: Result<Range, &'static str>,
    out: &mut Vec<u8>,
) {
    let range = match range {
        Ok(range) => range,
        Err(error) => return resp::write_error(out, error),
    };
    let key = req.arg(1);
    let Some(zset) = get(&ctx.store, key, out) else {
        return;
    };
    let query = Query {
        range,
        reverse: false,
        offset: 0,
        limit: -1,
        withscores: false,
    };
    let mut members = ElemsBuf::new();
    for (member, _) in zset.map(|z| select(z, &query)).unwrap_or_default() {
        members.push(member);
    }
    if !members.is_empty() {
        let members = members.as_elems();
        ctx.store
            .apply(Effect::ZSet(ZSetEffect::Rem { key, members }));
    }
    resp::write_int(out, members.len() as i64);
}
