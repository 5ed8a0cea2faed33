//! Hash commands: HSET, HGET, HDEL, HGETALL, HLEN, HEXISTS, ...
//!
//! The pattern every collection command follows: look the key up typed
//! (`store.read_hash` for a read command, `store.get_hash` inside a write), answer
//! `WRONGTYPE` for another type, and change the value only by logging an effect
//! (`store.apply(Effect::Hash(..))`), which the replicas apply as it is.

use super::{CommandSpec, Ctx, Flow, WrongType, ERR_WRONGTYPE, R, W};
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
];

/// The hash at `key` for a read command (counted in INFO), or the WRONGTYPE reply.
fn read<'s>(ctx: &'s mut Ctx<'_>, key: &[u8], out: &mut Vec<u8>) -> Option<Option<&'s Hash>> {
    match ctx.store.read_hash(key) {
        Ok(hash) => Some(hash),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            None
        }
    }
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
