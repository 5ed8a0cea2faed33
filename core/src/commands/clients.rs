//! `CLIENT`: a connection's own settings (ID, SETNAME, GETNAME, SETINFO, NO-TOUCH,
//! NO-EVICT), and the view over every connection (LIST, INFO, KILL) in Redis's format.
//!
//! The node lends the handler its other sessions (`Ctx::clients`, without the running
//! one, which the handler has as `Ctx::session`). A kill is a request: the handler
//! names the connections in `Ctx::killed`, and the node closes them after the command,
//! as Redis closes a killed client before its next event.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{err_unknown_subcommand, err_wrong_arity, parse_i64, Ctx, Flow, ERR_SYNTAX};
use crate::ids::ConnectionId;
use crate::resp::{self, Protocol, Request};
use crate::session::Session;
use crate::time::Instant;

/// The sessions other than the running one, by connection id.
pub type Sessions = BTreeMap<ConnectionId, Box<Session>>;

/// The subcommands, for the arity error of a known one.
const SUBCOMMANDS: [&[u8]; 10] = [
    b"ID",
    b"GETNAME",
    b"SETNAME",
    b"SETINFO",
    b"INFO",
    b"LIST",
    b"KILL",
    b"NO-TOUCH",
    b"NO-EVICT",
    b"HELP",
];

/// `CLIENT <subcommand> ...`.
pub fn client(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = req.arg(1).to_ascii_uppercase();
    match (sub.as_slice(), req.len()) {
        (b"ID", 2) => resp::write_int(out, ctx.session.id as i64),
        (b"GETNAME", 2) => match &ctx.session.name {
            Some(name) => resp::write_bulk(out, name),
            None => resp::write_null(out, ctx.protocol()),
        },
        (b"SETNAME", 3) => {
            if client_setname(ctx, req.arg(2), out).is_ok() {
                resp::write_simple(out, "OK");
            }
        }
        (b"SETINFO", 4) => client_setinfo(ctx, req, out),
        (b"INFO", 2) => {
            let line = client_line(ctx.session, ctx.now.instant);
            resp::write_verbatim(out, &line, ctx.protocol());
        }
        (b"LIST", _) => client_list(ctx, req, out),
        (b"KILL", 3..) => client_kill(ctx, req, out),
        (b"NO-TOUCH" | b"NO-EVICT", 3) => match on_off(req.arg(2)) {
            // Bucket never evicts clients: NO-EVICT has nothing to change.
            Some(on) => {
                if sub == b"NO-TOUCH" {
                    ctx.session.no_touch = on;
                }
                resp::write_simple(out, "OK")
            }
            None => resp::write_error(out, ERR_SYNTAX),
        },
        (b"HELP", 2) => write_help(out),
        (known, _) if SUBCOMMANDS.contains(&known) => {
            let name = format!("client|{}", String::from_utf8_lossy(&sub).to_lowercase());
            err_wrong_arity(out, &name);
        }
        _ => err_unknown_subcommand(out, "client", req.arg(1)),
    }
    Flow::Continue
}

fn write_help(out: &mut Vec<u8>) {
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID",
        "    Return the ID of the current connection.",
        "GETNAME",
        "    Return the name of the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
        "INFO",
        "    Return information about the current client connection.",
        "LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]",
        "    Return information about client connections.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
        "NO-EVICT (ON|OFF)",
        "    Protect the current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "HELP",
        "    Print this help.",
    ];
    resp::write_array_len(out, lines.len());
    for line in lines {
        resp::write_simple(out, line);
    }
}

fn on_off(arg: &[u8]) -> Option<bool> {
    match arg.to_ascii_lowercase().as_slice() {
        b"on" => Some(true),
        b"off" => Some(false),
        _ => None,
    }
}

/// Whether `value` may be a client name or library attribute: printable ASCII without
/// spaces, so that `CLIENT LIST` stays splittable on spaces (Redis's `validateClientAttr`).
fn client_attr_valid(value: &[u8]) -> bool {
    value.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Set (or, when empty, clear) the connection's name. On a bad name, writes the error
/// and changes nothing; on success writes nothing, so HELLO can reply with its map.
pub(super) fn client_setname(ctx: &mut Ctx<'_>, name: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    if !client_attr_valid(name) {
        resp::write_error(
            out,
            "ERR Client names cannot contain spaces, newlines or special characters.",
        );
        return Err(());
    }
    ctx.session.name = (!name.is_empty()).then(|| name.to_vec());
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    let (attr, value) = (req.arg(2), req.arg(3));
    let lib_name = attr.eq_ignore_ascii_case(b"LIB-NAME");
    if !lib_name && !attr.eq_ignore_ascii_case(b"LIB-VER") {
        let message = format!("ERR Unrecognized option '{}'", super::printable(attr));
        resp::write_error(out, &message);
        return;
    }
    if !client_attr_valid(value) {
        let message = format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            super::printable(attr)
        );
        resp::write_error(out, &message);
        return;
    }
    let value = (!value.is_empty()).then(|| value.to_vec());
    if lib_name {
        ctx.session.lib_name = value;
    } else {
        ctx.session.lib_version = value;
    }
    resp::write_simple(out, "OK");
}

/// Every session, the running one included, in client-id (connection) order.
fn every_session<'a>(ctx: &'a Ctx<'_>) -> Vec<&'a Session> {
    let mut sessions: Vec<&Session> = ctx.clients.values().map(|s| &**s).collect();
    sessions.push(ctx.session);
    sessions.sort_unstable_by_key(|s| s.id);
    sessions
}

/// The client types of `TYPE`: every Bucket client is `normal` (replicas replicate
/// over the cluster port, and there is no pub/sub yet), but the others are valid names.
fn client_type(name: &[u8]) -> Option<bool> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(true),
        b"master" | b"replica" | b"slave" | b"pubsub" => Some(false),
        _ => None,
    }
}

fn err_client_type(out: &mut Vec<u8>, name: &[u8]) {
    let message = format!("ERR Unknown client type '{}'", super::printable(name));
    resp::write_error(out, &message);
}

/// `CLIENT LIST [TYPE type] [ID id ...]`.
fn client_list(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    let mut normal_wanted = true;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < req.len() {
        let option = req.arg(i).to_ascii_uppercase();
        if option == b"TYPE" && i + 1 < req.len() {
            let Some(normal) = client_type(req.arg(i + 1)) else {
                return err_client_type(out, req.arg(i + 1));
            };
            normal_wanted = normal;
            i += 2;
        } else if option == b"ID" && i + 1 < req.len() {
            let mut wanted = Vec::new();
            for arg in req.args().skip(i + 1) {
                // Redis's texts: not a number is an invalid id, zero or less a syntax error.
                match parse_i64(arg) {
                    Some(id) if id > 0 => wanted.push(id as u64),
                    Some(_) => return resp::write_error(out, ERR_SYNTAX),
                    None => return resp::write_error(out, "ERR Invalid client ID"),
                }
            }
            ids = Some(wanted);
            i = req.len();
        } else {
            return resp::write_error(out, ERR_SYNTAX);
        }
    }
    let now = ctx.now.instant;
    let mut text = String::new();
    for session in every_session(ctx) {
        let listed = ids.as_ref().is_none_or(|ids| ids.contains(&session.id));
        if normal_wanted && listed {
            text.push_str(&client_line(session, now));
        }
    }
    resp::write_verbatim(out, &text, ctx.protocol());
}

/// One connection's line, with Redis 7.2's fields in its order. Bucket has one
/// database and no pub/sub, and its core does not see sockets' file descriptors or
/// output buffers: those fields read as Redis's for an idle client.
pub(super) fn client_line(session: &Session, now: Instant) -> String {
    let text = |v: &Option<Vec<u8>>| v.as_deref().map(super::printable).unwrap_or_default();
    let multi = session.multi.as_ref();
    let queued_bytes = multi.map_or(0, |m| m.queued_bytes);
    let buffer_bytes = session.input.capacity() + session.held_reply.capacity();
    format!(
        "id={} addr={} laddr={} name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 \
         multi={} watch={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp={} \
         obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} \
         lib-name={} lib-ver={}\n",
        session.id,
        session.addrs.peer,
        session.addrs.local,
        text(&session.name),
        now.since(session.connected_at) / 1000,
        now.since(session.active_at) / 1000,
        flags(session),
        multi.map_or(-1, |m| m.queued.len() as i64),
        session.watching.len(),
        session.input.len(),
        session.input.capacity() - session.input.len(),
        queued_bytes,
        session.input.capacity(),
        session.input.len(),
        session.held_reply.len(),
        std::mem::size_of::<Session>() + buffer_bytes + queued_bytes,
        session.last_command,
        match session.protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        },
        text(&session.lib_name),
        text(&session.lib_version),
    )
}

/// `CLIENT LIST`'s flags, in Redis's order; `N` when none applies.
fn flags(session: &Session) -> String {
    let flags = [
        (session.multi.is_some(), 'x'),
        (session.blocked.is_some() || session.wait.is_some(), 'b'),
        (session.watch_dirty, 'd'),
        (session.closing, 'c'),
        (session.readonly, 'r'),
        (session.no_touch, 'T'),
    ];
    let set: String = flags.iter().filter(|(on, _)| *on).map(|(_, c)| c).collect();
    if set.is_empty() {
        "N".to_string()
    } else {
        set
    }
}

/// What `CLIENT KILL`'s filters ask for; every filter given must match.
#[derive(Debug, Default)]
struct KillFilter {
    id: Option<u64>,
    normal_only: Option<bool>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    /// Connected longer than this many seconds.
    older_than_s: Option<u64>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, session: &Session, me: ConnectionId, now: Instant) -> bool {
        let addr_is = |want: &Option<Vec<u8>>, addr: SocketAddr| {
            want.as_ref()
                .is_none_or(|want| want.as_slice() == addr.to_string().as_bytes())
        };
        self.id.is_none_or(|id| id == session.id)
            && self.normal_only.unwrap_or(true)
            && addr_is(&self.addr, session.addrs.peer)
            && addr_is(&self.laddr, session.addrs.local)
            && self
                .older_than_s
                .is_none_or(|s| now.since(session.connected_at) / 1000 > s)
            && !(self.skip_me && session.conn == me)
    }
}

/// `CLIENT KILL ip:port` (`+OK`, or an error if no client has that address), or
/// `CLIENT KILL <filter> <value> ...` (the count of clients killed).
fn client_kill(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    let old_form = req.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(req.arg(2).to_vec()),
            ..KillFilter::default()
        }
    } else {
        match parse_kill_filter(req) {
            Ok(filter) => filter,
            Err(message) => return resp::write_error(out, &message),
        }
    };
    let now = ctx.now.instant;
    let me = ctx.conn;
    let victims: Vec<ConnectionId> = every_session(ctx)
        .into_iter()
        .filter(|s| filter.matches(s, me, now))
        .map(|s| s.conn)
        .collect();
    for &conn in &victims {
        if conn == me {
            // Closed once this reply is written, as Redis's CLOSE_AFTER_REPLY.
            ctx.session.closing = true;
        } else {
            ctx.killed.push(conn);
        }
    }
    match (old_form, victims.len()) {
        (true, 0) => resp::write_error(out, "ERR No such client"),
        (true, _) => resp::write_simple(out, "OK"),
        (false, n) => resp::write_int(out, n as i64),
    }
}

fn parse_kill_filter(req: &Request) -> Result<KillFilter, String> {
    if !req.len().is_multiple_of(2) {
        return Err(ERR_SYNTAX.to_string());
    }
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    for i in (2..req.len()).step_by(2) {
        let (option, value) = (req.arg(i).to_ascii_uppercase(), req.arg(i + 1));
        match option.as_slice() {
            b"ID" => {
                let id = parse_i64(value).filter(|&id| id > 0);
                let id = id.ok_or("ERR client-id should be greater than 0")?;
                filter.id = Some(id as u64);
            }
            b"TYPE" => {
                let normal = client_type(value).ok_or_else(|| {
                    format!("ERR Unknown client type '{}'", super::printable(value))
                })?;
                filter.normal_only = Some(normal);
            }
            b"USER" if !value.eq_ignore_ascii_case(b"default") => {
                return Err(format!("ERR No such user '{}'", super::printable(value)));
            }
            b"USER" => {}
            b"ADDR" => filter.addr = Some(value.to_vec()),
            b"LADDR" => filter.laddr = Some(value.to_vec()),
            b"SKIPME" => {
                filter.skip_me = match value.to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err(ERR_SYNTAX.to_string()),
                }
            }
            b"MAXAGE" => {
                let age = parse_i64(value).ok_or(super::ERR_NOT_INTEGER)?;
                filter.older_than_s = Some(age.max(0) as u64);
            }
            _ => return Err(ERR_SYNTAX.to_string()),
        }
    }
    Ok(filter)
}
