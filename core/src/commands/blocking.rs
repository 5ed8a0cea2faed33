//! Blocking pops: BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP.
//!
//! Each first tries its non-blocking form (LPOP, RPOPLPUSH, LMOVE, LMPOP, ZPOPMIN,
//! ZPOPMAX, ZMPOP), so what it logs is that form's effect: a served blocking pop is a
//! pop in the AOF, and replicas never block. When every key is empty the handler
//! answers nothing and returns `Flow::Block` with the keys to wait on; the node parks
//! the client (`node/blocking.rs`) and runs the same request again when one of those
//! keys is written, or answers the timeout's null.

use super::{parse_f64_timeout, CommandSpec, Ctx, Flow, W};
use crate::resp::{self, Protocol, Reply, Request};

pub static COMMANDS: &[CommandSpec] = &[
    spec!("blpop", -3, W, 1, -2, 1, blpop),
    spec!("brpop", -3, W, 1, -2, 1, brpop),
    spec!("brpoplpush", 4, W, 1, 2, 1, brpoplpush),
    spec!("blmove", 6, W, 1, 2, 1, blmove),
    spec!("blmpop", -5, W, 3, 3, 1, blmpop),
    spec!("bzpopmin", -3, W, 1, -2, 1, bzpopmin),
    spec!("bzpopmax", -3, W, 1, -2, 1, bzpopmax),
    spec!("bzmpop", -5, W, 3, 3, 1, bzmpop),
];

pub fn blpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_first(ctx, req, "lpop", out)
}

pub fn brpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_first(ctx, req, "rpop", out)
}

pub fn bzpopmin(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_first(ctx, req, "zpopmin", out)
}

pub fn bzpopmax(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    pop_first(ctx, req, "zpopmax", out)
}

/// `BRPOPLPUSH source destination timeout`: RPOPLPUSH once the source holds an item.
pub fn brpoplpush(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    move_when_ready(ctx, req, "rpoplpush", out)
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: LMOVE once ready.
pub fn blmove(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    move_when_ready(ctx, req, "lmove", out)
}

/// `BLMPOP timeout numkeys key ... LEFT|RIGHT [COUNT n]`: LMPOP once a key holds one.
pub fn blmpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    mpop_when_ready(ctx, req, "lmpop", out)
}

/// `BZMPOP timeout numkeys key ... MIN|MAX [COUNT n]`: ZMPOP once a key holds one.
pub fn bzmpop(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    mpop_when_ready(ctx, req, "zmpop", out)
}

/// The timeout argument in milliseconds (zero: forever), or the error reply written.
fn timeout_ms(arg: &[u8], out: &mut Vec<u8>) -> Option<u64> {
    match parse_f64_timeout(arg) {
        Ok(ms) => Some(ms),
        Err(message) => {
            resp::write_error(out, message);
            None
        }
    }
}

/// Whether `key` holds something a pop can take (or a value of another type, whose
/// WRONGTYPE the non-blocking form answers).
fn ready(ctx: &Ctx<'_>, key: &[u8]) -> bool {
    ctx.store.get(key).is_some()
}

/// Run the non-blocking command `args` and return its reply bytes.
fn run(ctx: &mut Ctx<'_>, args: &[&[u8]]) -> Vec<u8> {
    let mut request = Request::new();
    args.iter().for_each(|a| request.push(a));
    let spec = super::lookup(args[0]).expect("a command of the table");
    let mut reply = Vec::new();
    let flow = (spec.handler)(ctx, &request, &mut reply);
    debug_assert_eq!(flow, Flow::Continue);
    reply
}

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: `key [key ...] timeout`. The first key that holds
/// something is popped once; the reply names it.
fn pop_first(ctx: &mut Ctx<'_>, req: &Request, pop: &str, out: &mut Vec<u8>) -> Flow {
    let Some(timeout_ms) = timeout_ms(req.arg(req.len() - 1), out) else {
        return Flow::Continue;
    };
    let keys: Vec<&[u8]> = (1..req.len() - 1).map(|i| req.arg(i)).collect();
    let Some(&key) = keys.iter().find(|k| ready(ctx, k)) else {
        return Flow::Block {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            timeout_ms,
        };
    };
    let protocol = ctx.protocol();
    let reply = run(ctx, &[pop.as_bytes(), key]);
    write_named(key, &reply, protocol, out);
    Flow::Continue
}

/// `[key, popped...]`: a list pop's one item, or a sorted set pop's member and score,
/// after the key; an error (WRONGTYPE) as it came.
fn write_named(key: &[u8], reply: &[u8], protocol: Protocol, out: &mut Vec<u8>) {
    let parsed = resp::parse_reply(reply).ok().flatten().map(|(r, _)| r);
    let items = match parsed {
        Some(Reply::Bulk(item)) => vec![Reply::Bulk(item)],
        Some(Reply::Array(items)) => items,
        _ => {
            out.extend_from_slice(reply);
            return;
        }
    };
    resp::write_array_len(out, 1 + items.len());
    resp::write_bulk(out, key);
    for item in &items {
        resp::write_reply(out, item, protocol);
    }
}

/// BRPOPLPUSH and BLMOVE: the source is the first key, the timeout the last argument.
fn move_when_ready(ctx: &mut Ctx<'_>, req: &Request, command: &str, out: &mut Vec<u8>) -> Flow {
    let Some(timeout_ms) = timeout_ms(req.arg(req.len() - 1), out) else {
        return Flow::Continue;
    };
    let source = req.arg(1);
    if !ready(ctx, source) {
        return Flow::Block {
            keys: vec![source.to_vec()],
            timeout_ms,
        };
    }
    let mut args: Vec<&[u8]> = vec![command.as_bytes()];
    args.extend((1..req.len() - 1).map(|i| req.arg(i)));
    let reply = run(ctx, &args);
    out.extend_from_slice(&reply);
    Flow::Continue
}

/// BLMPOP and BZMPOP: the timeout first, then the arguments of LMPOP / ZMPOP.
fn mpop_when_ready(ctx: &mut Ctx<'_>, req: &Request, command: &str, out: &mut Vec<u8>) -> Flow {
    let Some(timeout_ms) = timeout_ms(req.arg(1), out) else {
        return Flow::Continue;
    };
    let mut args: Vec<&[u8]> = vec![command.as_bytes()];
    args.extend((2..req.len()).map(|i| req.arg(i)));
    let reply = run(ctx, &args);
    // The non-blocking form answers a null when every key is empty (and an error for
    // bad arguments, which is final).
    let empty = matches!(
        resp::parse_reply(&reply),
        Ok(Some((Reply::NilArray | Reply::Nil, _)))
    );
    if !empty {
        out.extend_from_slice(&reply);
        return Flow::Continue;
    }
    let numkeys = super::parse_i64(req.arg(2)).unwrap_or(0).max(0) as usize;
    let keys = (3..(3 + numkeys).min(req.len())).map(|i| req.arg(i).to_vec());
    Flow::Block {
        keys: keys.collect(),
        timeout_ms,
    }
}

/// What a blocking pop answers when its timeout passes (or inside `EXEC`, where it
/// cannot block): a null, of the shape its served reply would have.
pub fn write_timed_out(name: &str, protocol: Protocol, out: &mut Vec<u8>) {
    match name {
        "brpoplpush" | "blmove" => resp::write_null(out, protocol),
        _ => resp::write_null_array(out, protocol),
    }
}
