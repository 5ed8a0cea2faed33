//! ZUNION, ZINTER, ZDIFF and their *STORE forms. Inputs may be sets too (every member
//! scores 1), as in Redis.

use std::collections::BTreeMap;

use super::{parse_score, store_result, write_members};
use crate::aof::elems::ElemsBuf;
use crate::commands::{parse_i64, Ctx, Flow, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE};
use crate::keyspace::set::Set;
use crate::keyspace::zset::{Score, ZSet};
use crate::keyspace::ValueRef;
use crate::resp::{self, Request};

const ERR_WEIGHT: &str = "ERR weight value is not a float";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: a sum of opposite infinities is 0, and a NaN
    /// never wins a comparison.
    fn apply(self, target: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = target + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min if value < target => value,
            Aggregate::Max if value > target => value,
            Aggregate::Min | Aggregate::Max => target,
        }
    }
}

/// One input: a sorted set, a set, or nothing.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    ZSet(&'a ZSet),
    Set(&'a Set),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(zset) => zset.len(),
            Source::Set(set) => set.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(zset) => zset.score(member),
            Source::Set(set) => set.contains(member).then_some(1.0),
        }
    }

    fn pairs(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            Source::Missing => Box::new(std::iter::empty()),
            Source::ZSet(zset) => Box::new(zset.iter()),
            Source::Set(set) => Box::new(set.iter().map(|m| (m, 1.0))),
        }
    }
}

struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
}

pub fn zunion(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Union, "zunion", out)
}

pub fn zinter(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Inter, "zinter", out)
}

pub fn zdiff(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Diff, "zdiff", out)
}

pub fn zunionstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Union, "zunionstore", out)
}

pub fn zinterstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Inter, "zinterstore", out)
}

pub fn zdiffstore(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    combine(ctx, req, Op::Diff, "zdiffstore", out)
}

/// `numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`, after
/// the destination for the *STORE forms. Checked in Redis's order: the count, the
/// keys' types, then the options.
fn combine(ctx: &mut Ctx<'_>, req: &Request, op: Op, name: &str, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let store = name.ends_with("store");
    let numkeys_at = if store { 2 } else { 1 };
    let keys = match parse_keys(req, numkeys_at, name) {
        Ok(keys) => keys,
        Err(message) => return error(out, &message),
    };
    for at in keys.clone() {
        // Reads count in INFO; a *STORE's lookups are a write's.
        let entry = if store {
            ctx.store.get(req.arg(at))
        } else {
            ctx.store.read(req.arg(at))
        };
        if entry.is_some_and(|e| !matches!(e.value, ValueRef::ZSet(_) | ValueRef::Set(_))) {
            return error(out, ERR_WRONGTYPE);
        }
    }
    let options = match parse_options(req, keys.end, keys.len(), op, store) {
        Ok(options) => options,
        Err(message) => return error(out, message),
    };
    let sources: Vec<Source<'_>> = keys
        .map(|at| match ctx.store.get(req.arg(at)).map(|e| e.value) {
            Some(ValueRef::ZSet(zset)) => Source::ZSet(zset),
            Some(ValueRef::Set(set)) => Source::Set(set),
            _ => Source::Missing,
        })
        .collect();
    let result = compute(op, sources, &options);
    if store {
        let mut pairs = ElemsBuf::new();
        for (member, score) in &result {
            pairs.push_score(*score);
            pairs.push(member);
        }
        store_result(ctx, req.arg(1), &pairs);
        resp::write_int(out, result.len() as i64);
    } else {
        write_members(out, &result, options.withscores, protocol);
    }
    Flow::Continue
}

fn error(out: &mut Vec<u8>, message: &str) -> Flow {
    resp::write_error(out, message);
    Flow::Continue
}

/// The positions of the input keys.
fn parse_keys(
    req: &Request,
    numkeys_at: usize,
    name: &str,
) -> Result<std::ops::Range<usize>, String> {
    let numkeys = parse_i64(req.arg(numkeys_at)).ok_or(ERR_NOT_INTEGER)?;
    if numkeys < 1 {
        return Err(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    let first = numkeys_at + 1;
    let count = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n <= req.len() - first)
        .ok_or(ERR_SYNTAX)?;
    Ok(first..first + count)
}

fn parse_options(
    req: &Request,
    mut at: usize,
    numkeys: usize,
    op: Op,
    store: bool,
) -> Result<Options, &'static str> {
    let mut options = Options {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    while at < req.len() {
        let left = req.len() - at;
        match req.arg(at).to_ascii_uppercase().as_slice() {
            b"WEIGHTS" if op != Op::Diff && left > numkeys => {
                for (i, weight) in options.weights.iter_mut().enumerate() {
                    *weight = parse_score(req.arg(at + 1 + i)).ok_or(ERR_WEIGHT)?;
                }
                at += 1 + numkeys;
            }
            b"AGGREGATE" if op != Op::Diff && left >= 2 => {
                options.aggregate = match req.arg(at + 1).to_ascii_uppercase().as_slice() {
                    b"SUM" => Aggregate::Sum,
                    b"MIN" => Aggregate::Min,
                    b"MAX" => Aggregate::Max,
                    _ => return Err(ERR_SYNTAX),
                };
                at += 2;
            }
            b"WITHSCORES" if !store => {
                options.withscores = true;
                at += 1;
            }
            _ => return Err(ERR_SYNTAX),
        }
    }
    Ok(options)
}

/// A weighted score; NaN (an infinity times 0) counts as 0, as in Redis.
fn weighted(score: f64, weight: f64) -> f64 {
    let product = score * weight;
    if product.is_nan() {
        0.0
    } else {
        product
    }
}

/// The result, ordered by (score, member) as a sorted set is.
fn compute(op: Op, sources: Vec<Source<'_>>, options: &Options) -> Vec<(Vec<u8>, f64)> {
    let mut inputs: Vec<(Source<'_>, f64)> =
        sources.into_iter().zip(options.weights.clone()).collect();
    if op != Op::Diff {
        // Smallest first, as Redis orders them (it changes how sums round).
        inputs.sort_by_key(|(source, _)| source.len());
    }
    let aggregate = options.aggregate;
    let mut result: BTreeMap<&[u8], f64> = BTreeMap::new();
    let (first, rest) = inputs.split_first().expect("at least one input key");
    match op {
        Op::Inter => {
            for (member, score) in first.0.pairs() {
                let mut total = weighted(score, first.1);
                let in_all = rest
                    .iter()
                    .all(|(source, weight)| match source.score(member) {
                        Some(value) => {
                            total = aggregate.apply(total, value * weight);
                            true
                        }
                        None => false,
                    });
                if in_all {
                    result.insert(member, total);
                }
            }
        }
        Op::Union => {
            for (source, weight) in &inputs {
                for (member, score) in source.pairs() {
                    let score = weighted(score, *weight);
                    result
                        .entry(member)
                        .and_modify(|total| *total = aggregate.apply(*total, score))
                        .or_insert(score);
                }
            }
        }
        Op::Diff => {
            for (member, score) in first.0.pairs() {
                if rest
                    .iter()
                    .all(|(source, _)| source.score(member).is_none())
                {
                    result.insert(member, score);
                }
            }
        }
    }
    let mut ordered: Vec<(Vec<u8>, f64)> = result
        .into_iter()
        .map(|(member, score)| (member.to_vec(), Score::new(score).get()))
        .collect();
    ordered.sort_by(|a, b| (Score::new(a.1), &a.0).cmp(&(Score::new(b.1), &b.0)));
    ordered
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`: how many members every input
/// holds (a plain set counts as a sorted set of its members), counting up to `limit`.
pub fn zintercard(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (keys, limit) = match crate::commands::sets::parse_intercard(req) {
        Ok(parsed) => parsed,
        Err(message) => return error(out, message),
    };
    for key in &keys {
        ctx.store.read(key); // Each lookup counts in INFO's hits and misses.
    }
    let mut inputs: Vec<ValueRef<'_>> = Vec::with_capacity(keys.len());
    for key in &keys {
        match ctx.store.get(key).map(|e| e.value) {
            None => {
                // An empty input empties the intersection.
                resp::write_int(out, 0);
                return Flow::Continue;
            }
            Some(value @ (ValueRef::ZSet(_) | ValueRef::Set(_))) => inputs.push(value),
            Some(_) => return error(out, ERR_WRONGTYPE),
        }
    }
    let holds = |value: &ValueRef<'_>, member: &[u8]| match value {
        ValueRef::ZSet(z) => z.score(member).is_some(),
        ValueRef::Set(s) => s.contains(member),
        _ => false,
    };
    // Walk the smallest input, probing the others.
    inputs.sort_by_key(|v| match v {
        ValueRef::ZSet(z) => z.len(),
        ValueRef::Set(s) => s.len(),
        _ => 0,
    });
    let members: Box<dyn Iterator<Item = &[u8]>> = match inputs[0] {
        ValueRef::ZSet(z) => Box::new(z.iter().map(|(m, _)| m)),
        ValueRef::Set(s) => Box::new(s.iter()),
        _ => Box::new(std::iter::empty()),
    };
    let mut count = 0usize;
    for member in members {
        if inputs[1..].iter().all(|v| holds(v, member)) {
            count += 1;
            if count == limit {
                break;
            }
        }
    }
    resp::write_int(out, count as i64);
    Flow::Continue
}
