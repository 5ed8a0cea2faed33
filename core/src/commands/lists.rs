//! List commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LSET, LINSERT, LREM, LTRIM, LPOS,
//! LMOVE, LMPOP, ...
//!
//! As in `hashes.rs`: a typed lookup (`read_list` for reads, `get_list` in writes),
//! `WRONGTYPE` for another type, and changes only by logged effects. An edit inside a
//! list logs the position the master resolved, so replicas need no arguments parsed
//! again. Arguments are checked in Redis's order, so that a request with two faults
//! gets Redis's error.

use super::{parse_i64, CommandSpec, Ctx, Flow, WrongType, ERR_NOT_INTEGER, ERR_SYNTAX};
use super::{ERR_WRONGTYPE, R, W};
use crate::aof::effects::list::{End, ListEffect};
use crate::aof::elems::ElemsBuf;
use crate::aof::record::Effect;
use crate::keyspace::list::List;
use crate::resp::{self, Request};

pub static COMMANDS: &[CommandSpec] = &[
    spec!("lpush", -3, W, 1, 1, 1, lpush),
    spec!("rpush", -3, W, 1, 1, 1, rpush),
    spec!("lpushx", -3, W, 1, 1, 1, lpushx),
    spec!("rpushx", -3, W, 1, 1, 1, rpushx),
    spec!("lpop", -2, W, 1, 1, 1, lpop),
    spec!("rpop", -2, W, 1, 1, 1, rpop),
    spec!("llen", 2, R, 1, 1, 1, llen),
    spec!("lrange", 4, R, 1, 1, 1, lrange),
    spec!("lindex", 3, R, 1, 1, 1, lindex),
    spec!("lset", 4, W, 1, 1, 1, lset),
    spec!("linsert", 5, W, 1, 1, 1, linsert),
    spec!("lrem", 4, W, 1, 1, 1, lrem),
    spec!("ltrim", 4, W, 1, 1, 1, ltrim),
    spec!("lpos", -3, R, 1, 1, 1, lpos),
    spec!("lmove", 5, W, 1, 2, 1, lmove),
    spec!("rpoplpush", 3, W, 1, 2, 1, rpoplpush),
    // Movable keys (after numkeys): Redis's COMMAND reports no fixed positions.
    spec!("lmpop", -4, W, 0, 0, 0, lmpop),
];

const ERR_NO_SUCH_KEY: &str = "ERR no such key";
const ERR_INDEX_RANGE: &str = "ERR index out of range";
const ERR_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
const ERR_RANK_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const ERR_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_COUNT_POSITIVE: &str = "ERR count should be greater than 0";

/// The list found, or `None` once the WRONGTYPE reply is written.
fn typed<'s>(
    found: Result<Option<&'s List>, WrongType>,
    out: &mut Vec<u8>,
) -> Option<Option<&'s List>> {
    match found {
        Ok(list) => Some(list),
        Err(WrongType) => {
            resp::write_error(out, ERR_WRONGTYPE);
            None
        }
    }
}

/// A whole argument as an integer, or `None` once `error` is written.
fn int_arg(arg: &[u8], error: &str, out: &mut Vec<u8>) -> Option<i64> {
    let n = parse_i64(arg);
    if n.is_none() {
        resp::write_error(out, error);
    }
    n
}

/// An integer at least `min`, or `None` once `error` is written (Redis's
/// `getRangeLongFromObjectOrReply` with a message: one text for both faults).
fn int_at_least(arg: &[u8], min: i64, error: &str, out: &mut Vec<u8>) -> Option<i64> {
    match parse_i64(arg) {
        Some(n) if n >= min => Some(n),
        _ => {
            resp::write_error(out, error);
            None
        }
    }
}

/// `LEFT` or `RIGHT`, any case; `None` once the syntax error is written.
fn end_arg(arg: &[u8], out: &mut Vec<u8>) -> Option<End> {
    if arg.eq_ignore_ascii_case(b"left") {
        Some(End::Left)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Some(End::Right)
    } else {
        resp::write_error(out, ERR_SYNTAX);
        None
    }
}

/// The item at `end`.
fn peek(list: &List, end: End) -> &[u8] {
    let at = match end {
        End::Left => 0,
        End::Right => list.len() - 1,
    };
    list.get(at).expect("a stored list is never empty")
}

/// The first `count` items from `end`, as an array, in popping order.
fn write_popped(list: &List, end: End, count: usize, out: &mut Vec<u8>) {
    resp::write_array_len(out, count);
    match end {
        End::Left => list
            .iter()
            .take(count)
            .for_each(|i| resp::write_bulk(out, i)),
        End::Right => list
            .iter()
            .rev()
            .take(count)
            .for_each(|i| resp::write_bulk(out, i)),
    }
}

fn log(ctx: &mut Ctx<'_>, effect: ListEffect<'_>) {
    ctx.store.apply(Effect::List(effect));
}

fn log_pop(ctx: &mut Ctx<'_>, key: &[u8], end: End, count: usize) {
    let count = count as u64;
    log(ctx, ListEffect::Pop { key, end, count });
}

// ---- Pushes and pops ----

pub fn lpush(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    push(ctx, req, End::Left, false, out)
}

pub fn rpush(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    push(ctx, req, End::Right, false, out)
}

pub fn lpushx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    push(ctx, req, End::Left, true, out)
}

pub fn rpushx(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    push(ctx, req, End::Right, true, out)
}

/// `[LR]PUSH[X] key item [item ...]`: the length after the push. The X forms push
/// onto an existing list only, and answer 0 otherwise.
fn push(ctx: &mut Ctx<'_>, req: &Request, end: End, existing: bool, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let Some(list) = typed(ctx.store.get_list(key), out) else {
        return Flow::Continue;
    };
    let len_before = list.map_or(0, List::len);
    if existing && list.is_none() {
        resp::write_int(out, 0);
        return Flow::Continue;
    }
    let mut items = ElemsBuf::new();
    req.args().skip(2).for_each(|item| items.push(item));
    let pushed = items.len();
    let items = items.as_elems();
    log(ctx, ListEffect::Push { key, end, items });
    resp::write_int(out, (len_before + pushed) as i64);
    Flow::Continue
}

pub fn lpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop(ctx, req, End::Left, out)
}

pub fn rpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop(ctx, req, End::Right, out)
}

/// `[LR]POP key [count]`: one item (nil if none), or with a count an array of up to
/// `count` items (a null array for a missing key, an empty one for a count of 0).
fn pop(ctx: &mut Ctx<'_>, req: &Request, end: End, out: &mut Vec<u8>) -> Flow {
    let name = match end {
        End::Left => "lpop",
        End::Right => "rpop",
    };
    if req.len() > 3 {
        super::err_wrong_arity(out, name);
        return Flow::Continue;
    }
    let count = match req.len() {
        3 => match int_at_least(req.arg(2), 0, ERR_NOT_POSITIVE, out) {
            Some(count) => Some(count as usize),
            None => return Flow::Continue,
        },
        _ => None,
    };
    let protocol = ctx.protocol();
    let key = req.arg(1);
    let list = match typed(ctx.store.get_list(key), out) {
        None => return Flow::Continue,
        Some(None) => {
            match count {
                Some(_) => resp::write_null_array(out, protocol),
                None => resp::write_null(out, protocol),
            }
            return Flow::Continue;
        }
        Some(Some(list)) => list,
    };
    let popped = match count {
        Some(count) => {
            let count = count.min(list.len());
            write_popped(list, end, count, out);
            count
        }
        None => {
            resp::write_bulk(out, peek(list, end));
            1
        }
    };
    if popped > 0 {
        log_pop(ctx, key, end, popped);
    }
    Flow::Continue
}

// ---- Reads ----

pub fn llen(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    if let Some(list) = typed(ctx.store.read_list(req.arg(1)), out) {
        resp::write_int(out, list.map_or(0, List::len) as i64);
    }
    Flow::Continue
}

/// `LRANGE key start stop`: inclusive, negative from the tail, clamped.
pub fn lrange(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(start) = int_arg(req.arg(2), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let Some(stop) = int_arg(req.arg(3), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let Some(list) = typed(ctx.store.read_list(req.arg(1)), out) else {
        return Flow::Continue;
    };
    let Some(list) = list else {
        resp::write_array_len(out, 0);
        return Flow::Continue;
    };
    let span = list.span(start, stop);
    resp::write_array_len(out, span.len());
    for item in list.iter().skip(span.start).take(span.len()) {
        resp::write_bulk(out, item);
    }
    Flow::Continue
}

/// `LINDEX key index`: the key is looked up before the index is parsed, as Redis.
pub fn lindex(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let protocol = ctx.protocol();
    let Some(list) = typed(ctx.store.read_list(req.arg(1)), out) else {
        return Flow::Continue;
    };
    let Some(list) = list else {
        resp::write_null(out, protocol);
        return Flow::Continue;
    };
    let Some(index) = int_arg(req.arg(2), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    match list.position(index).and_then(|at| list.get(at)) {
        Some(item) => resp::write_bulk(out, item),
        None => resp::write_null(out, protocol),
    }
    Flow::Continue
}

/// LPOS's options: which match to start from, how many to answer (`None`: one, not
/// as an array), and how many items to look at (0: all).
struct Lpos {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

/// Parse `[RANK rank] [COUNT count] [MAXLEN len]`, in any order, the last of each
/// winning; `None` once the error is written.
fn lpos_options(req: &Request, out: &mut Vec<u8>) -> Option<Lpos> {
    let mut options = Lpos {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut at = 3;
    while at < req.len() {
        let option = req.arg(at);
        if at + 1 >= req.len() {
            resp::write_error(out, ERR_SYNTAX);
            return None;
        }
        let value = req.arg(at + 1);
        if option.eq_ignore_ascii_case(b"rank") {
            let rank = int_arg(value, ERR_NOT_INTEGER, out)?;
            if rank == i64::MIN {
                resp::write_error(out, ERR_RANK_RANGE);
                return None;
            }
            if rank == 0 {
                resp::write_error(out, ERR_RANK_ZERO);
                return None;
            }
            options.rank = rank;
        } else if option.eq_ignore_ascii_case(b"count") {
            options.count = Some(int_at_least(value, 0, ERR_COUNT_NEGATIVE, out)? as usize);
        } else if option.eq_ignore_ascii_case(b"maxlen") {
            options.maxlen = int_at_least(value, 0, ERR_MAXLEN_NEGATIVE, out)? as usize;
        } else {
            resp::write_error(out, ERR_SYNTAX);
            return None;
        }
        at += 2;
    }
    Some(options)
}

/// `LPOS key item [RANK rank] [COUNT count] [MAXLEN len]`: the position of a match
/// (nil if none), or with COUNT an array of up to `count` of them (0: all). A
/// negative rank searches from the tail; positions always count from the head.
pub fn lpos(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(options) = lpos_options(req, out) else {
        return Flow::Continue;
    };
    let protocol = ctx.protocol();
    let Some(list) = typed(ctx.store.read_list(req.arg(1)), out) else {
        return Flow::Continue;
    };
    let item = req.arg(2);
    let found = list.map_or_else(Vec::new, |list| lpos_matches(list, item, &options));
    match options.count {
        Some(_) => {
            resp::write_array_len(out, found.len());
            found.iter().for_each(|&at| resp::write_int(out, at as i64));
        }
        None => match found.first() {
            Some(&at) => resp::write_int(out, at as i64),
            None => resp::write_null(out, protocol),
        },
    }
    Flow::Continue
}

/// The positions LPOS answers: matches within the first `maxlen` items looked at
/// (from the tail for a negative rank), skipping `|rank| - 1` of them, at most
/// `count` (one without COUNT, all for COUNT 0).
fn lpos_matches(list: &List, item: &[u8], options: &Lpos) -> Vec<usize> {
    let len = list.len();
    let looked = match options.maxlen {
        0 => len,
        maxlen => maxlen.min(len),
    };
    let wanted = match options.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(count) => count,
    };
    let skip = usize::try_from(options.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
    let positions: Box<dyn Iterator<Item = usize>> = if options.rank > 0 {
        Box::new(0..looked)
    } else {
        Box::new((len - looked..len).rev())
    };
    positions
        .filter(|&at| list.get(at) == Some(item))
        .skip(skip)
        .take(wanted)
        .collect()
}

// ---- Edits inside a list ----

/// `LSET key index item`: a missing key is an error, as is an index outside.
pub fn lset(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let key = req.arg(1);
    let Some(list) = typed(ctx.store.get_list(key), out) else {
        return Flow::Continue;
    };
    let Some(list) = list else {
        resp::write_error(out, ERR_NO_SUCH_KEY);
        return Flow::Continue;
    };
    let Some(index) = int_arg(req.arg(2), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let Some(at) = list.position(index) else {
        resp::write_error(out, ERR_INDEX_RANGE);
        return Flow::Continue;
    };
    let (index, item) = (at as u64, req.arg(3));
    log(ctx, ListEffect::Set { key, index, item });
    resp::write_simple(out, "OK");
    Flow::Continue
}

/// `LINSERT key BEFORE|AFTER pivot item`: the new length, -1 without the pivot, 0
/// without the key.
pub fn linsert(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let where_ = req.arg(2);
    let after = if where_.eq_ignore_ascii_case(b"after") {
        true
    } else if where_.eq_ignore_ascii_case(b"before") {
        false
    } else {
        resp::write_error(out, ERR_SYNTAX);
        return Flow::Continue;
    };
    let key = req.arg(1);
    let Some(list) = typed(ctx.store.get_list(key), out) else {
        return Flow::Continue;
    };
    let Some(list) = list else {
        resp::write_int(out, 0);
        return Flow::Continue;
    };
    let Some(pivot) = list.iter().position(|i| i == req.arg(3)) else {
        resp::write_int(out, -1);
        return Flow::Continue;
    };
    let len_after = list.len() + 1;
    let (index, item) = ((pivot + usize::from(after)) as u64, req.arg(4));
    log(ctx, ListEffect::Insert { key, index, item });
    resp::write_int(out, len_after as i64);
    Flow::Continue
}

/// `LREM key count item`: the count of items removed (see [`List::remove`]).
pub fn lrem(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(count) = int_arg(req.arg(2), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let (key, item) = (req.arg(1), req.arg(3));
    let Some(list) = typed(ctx.store.get_list(key), out) else {
        return Flow::Continue;
    };
    let removed = list.map_or(0, |list| list.removable(item, count));
    if removed > 0 {
        log(ctx, ListEffect::Rem { key, count, item });
    }
    resp::write_int(out, removed as i64);
    Flow::Continue
}

/// `LTRIM key start stop`: keep the items LRANGE would answer; the key goes if none.
pub fn ltrim(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(start) = int_arg(req.arg(2), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let Some(stop) = int_arg(req.arg(3), ERR_NOT_INTEGER, out) else {
        return Flow::Continue;
    };
    let key = req.arg(1);
    let Some(list) = typed(ctx.store.get_list(key), out) else {
        return Flow::Continue;
    };
    if let Some(list) = list {
        let span = list.span(start, stop);
        // Keeping everything changes nothing, and logs nothing.
        if span.len() < list.len() {
            let (start, end) = (span.start as u64, span.end as u64);
            log(ctx, ListEffect::Trim { key, start, end });
        }
    }
    resp::write_simple(out, "OK");
    Flow::Continue
}

// ---- Moves between lists ----

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`.
pub fn lmove(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some(from) = end_arg(req.arg(3), out) else {
        return Flow::Continue;
    };
    let Some(to) = end_arg(req.arg(4), out) else {
        return Flow::Continue;
    };
    move_item(ctx, req.arg(1), req.arg(2), (from, to), out)
}

/// `RPOPLPUSH source destination`: `LMOVE source destination RIGHT LEFT`.
pub fn rpoplpush(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    move_item(ctx, req.arg(1), req.arg(2), (End::Right, End::Left), out)
}

/// Pop one item from `source`'s `from` end and push it at `destination`'s `to` end,
/// as one unit in the AOF. Nil for a missing source, whatever the destination holds.
/// With one key the list rotates; where that leaves it as it was (one item, or the
/// same end) nothing is logged.
fn move_item(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    (from, to): (End, End),
    out: &mut Vec<u8>,
) -> Flow {
    let protocol = ctx.protocol();
    let Some(list) = typed(ctx.store.get_list(source), out) else {
        return Flow::Continue;
    };
    let Some(list) = list else {
        resp::write_null(out, protocol);
        return Flow::Continue;
    };
    let item = peek(list, from).to_vec();
    let unchanged = source == destination && (list.len() == 1 || from == to);
    if source != destination && typed(ctx.store.get_list(destination), out).is_none() {
        return Flow::Continue;
    }
    if !unchanged {
        let mut items = ElemsBuf::new();
        items.push(&item);
        let items = items.as_elems();
        ctx.store.begin_unit();
        log_pop(ctx, source, from, 1);
        let (key, end) = (destination, to);
        log(ctx, ListEffect::Push { key, end, items });
        ctx.store.end_unit();
    }
    resp::write_bulk(out, &item);
    Flow::Continue
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: `[key, items]` from the
/// first key holding a list (a null array if none); up to `count` items, default 1.
pub fn lmpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let Some((keys, end, count)) = lmpop_args(req, out) else {
        return Flow::Continue;
    };
    let protocol = ctx.protocol();
    for key in req.args().skip(2).take(keys) {
        let Some(list) = typed(ctx.store.get_list(key), out) else {
            return Flow::Continue;
        };
        let Some(list) = list else {
            continue;
        };
        let count = count.min(list.len());
        resp::write_array_len(out, 2);
        resp::write_bulk(out, key);
        write_popped(list, end, count, out);
        // One Pop record: atomic by itself.
        log_pop(ctx, key, end, count);
        return Flow::Continue;
    }
    resp::write_null_array(out, protocol);
    Flow::Continue
}

/// LMPOP's numkeys, end and count, checked in Redis's order; `None` once the error
/// is written.
fn lmpop_args(req: &Request, out: &mut Vec<u8>) -> Option<(usize, End, usize)> {
    let keys = int_at_least(req.arg(1), 1, ERR_NUMKEYS, out)?;
    // The end's position, past every key; a numkeys beyond the arguments is a
    // syntax error.
    let end_at = usize::try_from(keys)
        .ok()
        .and_then(|keys| keys.checked_add(2))
        .filter(|&at| at < req.len());
    let Some(end_at) = end_at else {
        resp::write_error(out, ERR_SYNTAX);
        return None;
    };
    let end = end_arg(req.arg(end_at), out)?;
    let mut count = None;
    let mut at = end_at + 1;
    while at < req.len() {
        let more = at + 1 < req.len();
        if count.is_none() && more && req.arg(at).eq_ignore_ascii_case(b"count") {
            count = Some(int_at_least(req.arg(at + 1), 1, ERR_COUNT_POSITIVE, out)? as usize);
            at += 2;
        } else {
            resp::write_error(out, ERR_SYNTAX);
            return None;
        }
    }
    Some((end_at - 2, end, count.unwrap_or(1)))
}
