//! Hash commands: HSET, HGET, HDEL, HGETALL, HLEN, HEXISTS, HINCRBY, HRANDFIELD, HSCAN...
//!
//! The pattern every collection command follows: look the key up typed
//! (`store.read_hash` for a read command, `store.get_hash` inside a write), answer
//! `WRONGTYPE` for another type, and change the value only by logging an effect
//! (`store.apply(Effect::Hash(..))`), which the replicas apply as it is.

use super::sets::{
    parse_cursor, parse_random_count, parse_scan_options, random_index, write_scan_header,
    RandomCount, ERR_INVALID_CURSOR,
};
use super::{
    format_i64, parse_i64, CommandSpec, Ctx, Flow, WrongType, ERR_NOT_INTEGER, ERR_OVERFLOW,
    ERR_SYNTAX, ERR_WRONGTYPE, R, W,
};
use crate::aof::effects::hash::HashEffect;
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::keyspace::hash::Hash;
use crate::resp::{self, Request};

pub static COMMANDS: &[CommandSpec] = &[
    spec!("hset", -4, W, 1, 1, 1, hset),
    spec!("hmset", -4, W, 1, 1, 1, hmset),
    spec!("hget", 3, R, 1, 1, 1, hget),
    spec!("hdel", -3, W, 1, 1, 1, hdel),
    spec!("hgetall", 2, R, 1, 1, 1, hgetall),
    spec!("hlen", 2, R, 1, 1, 1, hlen),
    spec!("hexists", 3, R, 1, 1, 1, hexists),
    spec!("hsetnx", 4, W, 1, 1, 1, hsetnx),
    spec!("hmget", -3, R, 1, 1, 1, hmget),
    spec!("hkeys", 2, R, 1, 1, 1, hkeys),
    spec!("hvals", 2, R, 1, 1, 1, hvals),
    spec!("hincrby", 4, W, 1, 1, 1, hincrby),
    spec!("hincrbyfloat", 4, W, 1, 1, 1, hincrbyfloat),
    spec!("hstrlen", 3, R, 1, 1, 1, hstrlen),
    spec!("hrandfield", -2, R, 1, 1, 1, hrandfield),
    spec!("hscan", -3, R, 1, 1, 1, hscan),
];

const ERR_HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
const ERR_NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
const ERR_HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
const ERR_WOULD_BE_NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
/// Redis's bound on a WITHVALUES count, whose reply is twice as long.
const ERR_OUT_OF_RANGE: &str = "ERR value is out of range";

/// The hash at `key` for a read command (counted in INFO), or the WRONGTYPE reply.
fn read<'s>(ctx: &'s mut Ctx<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s Hash>> {
    super::or_wrongtype(ctx.store.read_hash(key), out)
}

/// `HSET key field value [field value ...]`: the count of new fields.
pub fn hset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(added) = set_fields(ctx, req, "hset", out) {
        resp::write_int(out, added as i64);
    }
    Flow::Continue
}

/// `HMSET`: HSET that answers OK.
pub fn hmset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if set_fields(ctx, req, "hmset", out).is_some() {
        resp::write_simple(out, "OK");
    }
    Flow::Continue
}

/// Log the pairs of an HSET; the count of new fields, or `None` once an error reply is
/// written.
fn set_fields(ctx: &mut Ctx<'_>, req: &Request, name: &str, out: &mut Vec<u8>) -> Option<usize> {
    if !(req.len() - 2).is_multiple_of(2) {
        super::err_wrong_arity(out, name);
        return None;
    }
    let key = req.arg(1);
    let hash = match ctx.store.get_hash(key) {
        Ok(hash) => hash,
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return None;
        }
    };
    let mut pairs = ElemsBuf::new();
    let mut added = 0;
    let mut new_fields: Vec<&[u8]> = Vec::new();
    for at in (2..req.len()).step_by(2) {
        let field = req.arg(at);
        let is_new = hash.is_none_or(|h| h.get(field).is_none()) && !new_fields.contains(&field);
        if is_new {
            added += 1;
            new_fields.push(field);
        }
        pairs.push(field);
        pairs.push(req.arg(at + 1));
    }
    let pairs = pairs.as_elems();
    ctx.store
        .apply(Effect::Hash(HashEffect::Set { key, pairs }));
    Some(added)
}

pub fn hget(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(hash) = read(ctx, req.arg(1), out) {
        match hash.and_then(|h| h.get(req.arg(2))) {
            Some(value) => resp::write_bulk(out, value),
            None => resp::write_null(out, protocol),
        }
    }
    Flow::Continue
}

/// `HDEL key field [field ...]`: the count of fields removed; the key goes with the
/// last one.
pub fn hdel(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let hash = match ctx.store.get_hash(key) {
        Ok(Some(hash)) => hash,
        Ok(None) => {
            resp::write_int(out, 0);
            return Flow::Continue;
        }
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            return Flow::Continue;
        }
    };
    let mut fields = ElemsBuf::new();
    let mut removed: Vec<&[u8]> = Vec::new();
    for field in req.args().skip(2) {
        if hash.get(field).is_some() && !removed.contains(&field) {
            removed.push(field);
            fields.push(field);
        }
    }
    if !fields.is_empty() {
        let fields = fields.as_elems();
        ctx.store
            .apply(Effect::Hash(HashEffect::Del { key, fields }));
    }
    resp::write_int(out, removed.len() as i64);
    Flow::Continue
}

/// `HGETALL`: fields and values, as a map in RESP3.
pub fn hgetall(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(hash) = read(ctx, req.arg(1), out) {
        let len = hash.map_or(0, Hash::len);
        resp::write_map_len(out, len, protocol);
        for (field, value) in hash.into_iter().flat_map(Hash::iter) {
            resp::write_bulk(out, field);
            resp::write_bulk(out, value);
        }
    }
    Flow::Continue
}

pub fn hlen(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(hash) = read(ctx, req.arg(1), out) {
        resp::write_int(out, hash.map_or(0, Hash::len) as i64);
    }
    Flow::Continue
}

pub fn hexists(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(hash) = read(ctx, req.arg(1), out) {
        let exists = hash.is_some_and(|h| h.get(req.arg(2)).is_some());
        resp::write_int(out, exists as i64);
    }
    Flow::Continue
}

/// The hash at `key` inside a write, or the WRONGTYPE reply.
fn get<'s>(store: &'s super::Store<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s Hash>> {
    super::or_wrongtype(store.get_hash(key), out)
}

/// Log one field's new value.
fn set_one(ctx: &mut Ctx<'_>, key: &[u8], field: &[u8], value: &[u8]) {
    let mut pair = ElemsBuf::new();
    pair.push(field);
    pair.push(value);
    let pairs = pair.as_elems();
    ctx.store
        .apply(Effect::Hash(HashEffect::Set { key, pairs }));
}

/// `HSETNX key field value`: 1 if the field was new and is set, 0 (and no log) if not.
pub fn hsetnx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, field) = (req.arg(1), req.arg(2));
    let Some(hash) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let is_new = hash.is_none_or(|h| h.get(field).is_none());
    if is_new {
        set_one(ctx, key, field, req.arg(3));
    }
    resp::write_int(out, is_new as i64);
    Flow::Continue
}

/// `HMGET key field [field ...]`: each value, or nil.
pub fn hmget(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    if let Some(hash) = read(ctx, req.arg(1), out) {
        resp::write_array_len(out, req.len() - 2);
        for field in req.args().skip(2) {
            match hash.and_then(|h| h.get(field)) {
                Some(value) => resp::write_bulk(out, value),
                None => resp::write_null(out, protocol),
            }
        }
    }
    Flow::Continue
}

pub fn hkeys(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    write_column(ctx, req, false, out)
}

pub fn hvals(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    write_column(ctx, req, true, out)
}

/// HKEYS and HVALS: one side of every pair (the values if `values`), as an array.
fn write_column(ctx: &mut Ctx<'_>, req: &Request, values: bool, out: &mut Vec<u8>) -> Flow {
    if let Some(hash) = read(ctx, req.arg(1), out) {
        resp::write_array_len(out, hash.map_or(0, Hash::len));
        for (field, value) in hash.into_iter().flat_map(Hash::iter) {
            resp::write_bulk(out, if values { value } else { field });
        }
    }
    Flow::Continue
}

/// `HINCRBY key field increment`: the new value, logged as a plain field set.
pub fn hincrby(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, field) = (req.arg(1), req.arg(2));
    let Some(increment) = parse_i64(req.arg(3)) else {
        resp::write_error(out, ERR_NOT_INTEGER);
        return Flow::Continue;
    };
    let Some(hash) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let current = match hash.and_then(|h| h.get(field)) {
        None => 0,
        Some(text) => match parse_i64(text) {
            Some(n) => n,
            None => {
                resp::write_error(out, ERR_HASH_NOT_INTEGER);
                return Flow::Continue;
            }
        },
    };
    let Some(result) = current.checked_add(increment) else {
        resp::write_error(out, ERR_OVERFLOW);
        return Flow::Continue;
    };
    let mut buf = [0u8; 20];
    set_one(ctx, key, field, format_i64(result, &mut buf));
    resp::write_int(out, result);
    Flow::Continue
}

/// `HINCRBYFLOAT key field increment`: the new value as text, which is what is stored
/// and logged (a replica sets the same text, with no arithmetic of its own).
pub fn hincrbyfloat(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (key, field) = (req.arg(1), req.arg(2));
    let increment = match parse_float(req.arg(3)) {
        Some(n) if n.is_finite() => n,
        Some(_) => {
            resp::write_error(out, ERR_NAN_OR_INFINITY);
            return Flow::Continue;
        }
        None => {
            resp::write_error(out, ERR_NOT_FLOAT);
            return Flow::Continue;
        }
    };
    let Some(hash) = get(&ctx.store, key, out) else {
        return Flow::Continue;
    };
    let current = match hash.and_then(|h| h.get(field)) {
        None => 0.0,
        Some(text) => match parse_float(text) {
            Some(n) => n,
            None => {
                resp::write_error(out, ERR_HASH_NOT_FLOAT);
                return Flow::Continue;
            }
        },
    };
    let result = current + increment;
    if !result.is_finite() {
        resp::write_error(out, ERR_WOULD_BE_NAN_OR_INFINITY);
        return Flow::Continue;
    }
    let text = format_float_human(result);
    set_one(ctx, key, field, text.as_bytes());
    resp::write_bulk(out, text.as_bytes());
    Flow::Continue
}

/// A float as Redis's `string2ld` reads one: the whole argument, decimal or exponent
/// notation, `inf` allowed, no spaces, never NaN. (Redis also reads hexadecimal floats;
/// Bucket does not.)
fn parse_float(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// A float as Redis prints an increment's result (`%.17Lf` with the trailing zeros cut):
/// fixed notation, at most 17 decimals. Bucket computes in `f64`, not `long double`, so
/// it takes the shortest text that reads back as the value when that has 17 decimals or
/// fewer (`10.6`, not `10.59999999999999964`).
fn format_float_human(value: f64) -> String {
    const DECIMALS_MAX: usize = 17;
    debug_assert!(value.is_finite());
    let shortest = format!("{value}");
    let text = match shortest.split_once('.') {
        Some((_, decimals)) if decimals.len() > DECIMALS_MAX => {
            let rounded = format!("{value:.DECIMALS_MAX$}");
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        }
        _ => shortest,
    };
    // `-0` (from -0.0 or a tiny negative rounded away) prints as Redis prints it.
    if text == "-0" {
        return "0".to_string();
    }
    text
}

pub fn hstrlen(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(hash) = read(ctx, req.arg(1), out) {
        let len = hash.and_then(|h| h.get(req.arg(2))).map_or(0, <[u8]>::len);
        resp::write_int(out, len as i64);
    }
    Flow::Continue
}

/// `HRANDFIELD key [count [WITHVALUES]]`: one field or nil; with a count, distinct
/// fields (positive) or repeated picks (negative), with values as pairs in RESP3.
pub fn hrandfield(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let count = match parse_hrandfield_args(req) {
        Ok(count) => count,
        Err(error) => {
            resp::write_error(out, &error);
            return Flow::Continue;
        }
    };
    let Ok(hash) = ctx.store.read_hash(req.arg(1)) else {
        resp::write_error(out, ERR_WRONGTYPE);
        return Flow::Continue;
    };
    let len = hash.map_or(0, Hash::len);
    let field_at = |index| hash.and_then(|h| h.get_index(index)).expect("index < len");
    let Some((count, withvalues)) = count else {
        match len {
            0 => resp::write_null(out, protocol),
            _ => resp::write_bulk(out, field_at(random_index(ctx.rng, len)).0),
        }
        return Flow::Continue;
    };
    let picked = count.pick(ctx.rng, len);
    let pairs_nested = withvalues && protocol == resp::Protocol::Resp3;
    let per_pick = if withvalues && !pairs_nested { 2 } else { 1 };
    resp::write_array_len(out, picked.len() * per_pick);
    for index in picked {
        let (field, value) = field_at(index);
        if pairs_nested {
            resp::write_array_len(out, 2);
        }
        resp::write_bulk(out, field);
        if withvalues {
            resp::write_bulk(out, value);
        }
    }
    Flow::Continue
}

/// HRANDFIELD's count and WITHVALUES, `None` without a count.
fn parse_hrandfield_args(req: &Request) -> Result<Option<(RandomCount, bool)>, String> {
    if req.len() == 2 {
        return Ok(None);
    }
    let count = parse_random_count(req.arg(2))?;
    let withvalues = match req.len() {
        3 => false,
        4 if req.arg(3).eq_ignore_ascii_case(b"withvalues") => true,
        _ => return Err(ERR_SYNTAX.to_string()),
    };
    // Redis bounds a WITHVALUES count to half the range, as its reply is twice as long.
    let half = (i64::MAX / 2) as usize;
    if withvalues && matches!(count, RandomCount::Distinct(n) if n > half) {
        return Err(ERR_OUT_OF_RANGE.to_string());
    }
    Ok(Some((count, withvalues)))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]`: fields and values
/// (fields only with NOVALUES); MATCH tests the field.
pub fn hscan(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(cursor) = parse_cursor(req.arg(2)) else {
        resp::write_error(out, ERR_INVALID_CURSOR);
        return Flow::Continue;
    };
    let Some(hash) = read(ctx, req.arg(1), out) else {
        return Flow::Continue;
    };
    let Some(hash) = hash else {
        write_scan_header(out, 0, 0);
        return Flow::Continue;
    };
    let options = match parse_scan_options(req, true) {
        Ok(options) => options,
        Err(error) => {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    };
    let mut found = Vec::new();
    let next = hash.scan(cursor, options.count, &mut found);
    found.retain(|(field, _)| options.matches(field));
    let per_pair = if options.novalues { 1 } else { 2 };
    write_scan_header(out, next, found.len() * per_pair);
    for (field, value) in found {
        resp::write_bulk(out, field);
        if !options.novalues {
            resp::write_bulk(out, value);
        }
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_redis_prints_increments() {
        let cases: &[(f64, &str)] = &[
            (2.5, "2.5"),
            (5000.0, "5000"),
            (10.6, "10.6"),
            (1e20, "100000000000000000000"),
            (1e-20, "0"),
            (-1e-20, "0"),
            (-0.0, "0"),
            (-3.25, "-3.25"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (i, (value, want)) in cases.iter().enumerate() {
            assert_eq!(format_float_human(*value), *want, "#{i}: {value}");
        }
    }

    #[test]
    fn floats_parse_as_string2ld() {
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"1.5", Some(1.5)),
            (b".5", Some(0.5)),
            (b"5.", Some(5.0)),
            (b"+5", Some(5.0)),
            (b"-1e3", Some(-1000.0)),
            (b"inf", Some(f64::INFINITY)),
            (b"nan", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1e", None),
            (b"", None),
            (b"\xff", None),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(parse_float(input), *want, "#{i}");
        }
    }
}
