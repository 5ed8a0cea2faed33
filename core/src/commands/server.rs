//! Connection and server commands: PING, ECHO, SELECT, HELLO, AUTH, QUIT, COMMAND,
//! CONFIG, INFO (CLIENT is `clients.rs`).

use super::{
    err_unknown_subcommand, err_wrong_arity, parse_i64, Ctx, Flow, ERR_NOT_INTEGER,
    ERR_NO_PASSWORD, ERR_SELECT_CLUSTER, ERR_WRONGPASS,
};
use crate::resp::{self, Protocol, Request};

pub use super::cluster::{cluster, readonly, readwrite, role, wait};

/// The Redis version Bucket reports: client libraries gate features on it, and Bucket
/// speaks the commands it lists as Redis 7.2 does.
pub const REDIS_VERSION: &str = "7.2.0";

pub fn ping(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    match req.len() {
        1 => resp::write_simple(out, "PONG"),
        2 => resp::write_bulk(out, req.arg(1)),
        _ => err_wrong_arity(out, "ping"),
    }
    let _ = ctx;
    Flow::Continue
}

pub fn echo(_ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_bulk(out, req.arg(1));
    Flow::Continue
}

/// `TIME`: the node's wall clock as unix seconds and the microseconds within them.
/// The clock is the step's, in milliseconds, so the microseconds end in 000.
pub fn time(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    let ms = ctx.now.unix.0;
    resp::write_array_len(out, 2);
    resp::write_bulk(out, (ms / 1000).to_string().as_bytes());
    resp::write_bulk(out, ((ms % 1000) * 1000).to_string().as_bytes());
    Flow::Continue
}

pub fn select(_ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    // Redis parses the index as a C int.
    match parse_i64(req.arg(1)).and_then(|n| i32::try_from(n).ok()) {
        Some(0) => resp::write_simple(out, "OK"),
        Some(_) => resp::write_error(out, ERR_SELECT_CLUSTER),
        None => resp::write_error(out, ERR_NOT_INTEGER),
    }
    Flow::Continue
}

pub fn quit(_ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    resp::write_simple(out, "OK");
    Flow::Close
}

/// Compare without an early exit, so the time taken does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        difference |= x ^ y;
    }
    difference == 0
}

/// Check a username and password against `requirepass`. Ok(()) authenticates.
fn check_password(
    ctx: &mut Ctx<'_>,
    user: Option<&[u8]>,
    password: &[u8],
) -> Result<(), &'static str> {
    let Some(expected) = ctx.config.requirepass.as_deref() else {
        return match user {
            None => Err(ERR_NO_PASSWORD),
            Some(user) if user == b"default" => Ok(()),
            Some(_) => Err(ERR_WRONGPASS),
        };
    };
    let user_ok = user.is_none_or(|user| user == b"default");
    if user_ok & constant_time_eq(password, expected) {
        ctx.session.authenticated = true;
        Ok(())
    } else {
        Err(ERR_WRONGPASS)
    }
}

pub fn auth(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let result = match req.len() {
        2 => check_password(ctx, None, req.arg(1)),
        3 => check_password(ctx, Some(req.arg(1)), req.arg(2)),
        _ => Err(super::ERR_SYNTAX),
    };
    match result {
        Ok(()) => resp::write_simple(out, "OK"),
        Err(error) => resp::write_error(out, error),
    }
    Flow::Continue
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`, in Redis's order: the version,
/// then every option's syntax, then the password, then the name, and only then does the
/// protocol switch. A failed call changes nothing but what AUTH authenticated.
pub fn hello(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let mut protocol = ctx.session.protocol;
    if req.len() >= 2 {
        protocol = match parse_i64(req.arg(1)) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => {
                resp::write_error(out, "NOPROTO unsupported protocol version");
                return Flow::Continue;
            }
            None => {
                resp::write_error(
                    out,
                    "ERR Protocol version is not an integer or out of range",
                );
                return Flow::Continue;
            }
        };
    }
    let mut credentials = None;
    let mut name = None;
    let mut at = 2;
    while at < req.len() {
        let option = req.arg(at);
        if option.eq_ignore_ascii_case(b"AUTH") && at + 2 < req.len() {
            credentials = Some((req.arg(at + 1), req.arg(at + 2)));
            at += 3;
        } else if option.eq_ignore_ascii_case(b"SETNAME") && at + 1 < req.len() {
            name = Some(req.arg(at + 1));
            at += 2;
        } else {
            let message = format!(
                "ERR Syntax error in HELLO option '{}'",
                super::printable(option)
            );
            resp::write_error(out, &message);
            return Flow::Continue;
        }
    }
    if let Some((user, password)) = credentials {
        if let Err(error) = check_password(ctx, Some(user), password) {
            resp::write_error(out, error);
            return Flow::Continue;
        }
    }
    if !ctx.session.authenticated {
        resp::write_error(out, super::ERR_HELLO_NOAUTH);
        return Flow::Continue;
    }
    if let Some(name) = name {
        if super::clients::client_setname(ctx, name, out).is_err() {
            return Flow::Continue;
        }
    }
    ctx.session.protocol = protocol;
    write_hello_map(ctx, out);
    Flow::Continue
}

fn write_hello_map(ctx: &Ctx<'_>, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    resp::write_map_len(out, 7, protocol);
    resp::write_bulk(out, b"server");
    resp::write_bulk(out, b"redis");
    resp::write_bulk(out, b"version");
    resp::write_bulk(out, REDIS_VERSION.as_bytes());
    resp::write_bulk(out, b"proto");
    resp::write_int(out, if protocol == Protocol::Resp3 { 3 } else { 2 });
    resp::write_bulk(out, b"id");
    resp::write_int(out, ctx.session.id as i64);
    resp::write_bulk(out, b"mode");
    resp::write_bulk(out, b"cluster");
    resp::write_bulk(out, b"role");
    resp::write_bulk(out, ctx.status.role.name().as_bytes());
    resp::write_bulk(out, b"modules");
    resp::write_array_len(out, 0);
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "HELP",
    "    Print this help.",
];

/// `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`, `COMMAND INFO name...`, `COMMAND DOCS`
/// (empty), `COMMAND HELP`.
pub fn command(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = if req.len() >= 2 {
        req.arg(1).to_ascii_uppercase()
    } else {
        Vec::new()
    };
    match sub.as_slice() {
        b"" => {
            resp::write_array_len(out, super::all().count());
            super::all().for_each(|spec| write_command_info(ctx, spec, out));
        }
        b"COUNT" => resp::write_int(out, super::all().count() as i64),
        // With no names, Redis 7 lists every command.
        b"INFO" if req.len() == 2 => {
            resp::write_array_len(out, super::all().count());
            super::all().for_each(|spec| write_command_info(ctx, spec, out));
        }
        b"INFO" => {
            resp::write_array_len(out, req.len() - 2);
            for name in req.args().skip(2) {
                match super::lookup(name) {
                    Some(spec) => write_command_info(ctx, spec, out),
                    None => resp::write_null(out, ctx.protocol()),
                }
            }
        }
        b"DOCS" => resp::write_map_len(out, 0, ctx.protocol()),
        b"LIST" => {
            resp::write_array_len(out, super::all().count());
            super::all().for_each(|spec| resp::write_bulk(out, spec.name.as_bytes()));
        }
        b"HELP" => {
            resp::write_array_len(out, COMMAND_HELP.len());
            COMMAND_HELP
                .iter()
                .for_each(|line| resp::write_simple(out, line));
        }
        _ => err_unknown_subcommand(out, "command", req.arg(1)),
    }
    Flow::Continue
}

/// One command's entry in Redis 7's ten-field form.
fn write_command_info(ctx: &Ctx<'_>, spec: &super::CommandSpec, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    resp::write_array_len(out, 10);
    resp::write_bulk(out, spec.name.as_bytes());
    resp::write_int(out, spec.arity as i64);
    let flags: &[&str] = if spec.is_write() {
        &["write"]
    } else if spec.flags & super::FLAG_READONLY != 0 {
        &["readonly", "fast"]
    } else {
        &["fast"]
    };
    resp::write_set_len(out, flags.len(), protocol);
    flags.iter().for_each(|flag| resp::write_simple(out, flag));
    resp::write_int(out, spec.first_key as i64);
    resp::write_int(out, spec.last_key as i64);
    resp::write_int(out, spec.key_step as i64);
    for _ in 0..4 {
        resp::write_array_len(out, 0);
    }
}

/// `CONFIG GET pattern...` over the settings clients ask about; `CONFIG SET` changes
/// the settings that can change at run time (the AOF rewrite trigger), and refuses the
/// rest, which live in the YAML file.
pub fn config(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = req.arg(1).to_ascii_uppercase();
    match sub.as_slice() {
        b"GET" if req.len() >= 3 => config_get(ctx, req, out),
        b"GET" => err_wrong_arity(out, "config|get"),
        b"RESETSTAT" if req.len() == 2 => {
            ctx.store.stats.reset_counters();
            ctx.memory.reset_counters();
            resp::write_simple(out, "OK")
        }
        b"RESETSTAT" => err_wrong_arity(out, "config|resetstat"),
        b"SET" => super::persistence::config_set(ctx, req, out),
        _ => err_unknown_subcommand(out, "config", req.arg(1)),
    }
    Flow::Continue
}

fn yes_no(on: bool) -> String {
    if on { "yes" } else { "no" }.to_string()
}

fn config_get(ctx: &Ctx<'_>, req: &Request, out: &mut Vec<u8>) {
    let limits = &ctx.config.limits;
    let mut settings: Vec<(&str, String)> = vec![
        ("appendonly", "yes".to_string()),
        ("save", String::new()),
        ("databases", "1".to_string()),
        ("proto-max-bulk-len", limits.bulk_len_max.to_string()),
        (
            "client-query-buffer-limit",
            limits.query_buffer_bytes_max.to_string(),
        ),
        ("cluster-enabled", "yes".to_string()),
        (
            "cluster-allow-reads-when-down",
            yes_no(ctx.config.cluster_allow_reads_when_down),
        ),
    ];
    settings.extend(super::persistence::settings(ctx));
    settings.extend(super::memory::settings(ctx));
    settings.extend(super::daemon::settings(ctx));
    let matching: Vec<&(&str, String)> = settings
        .iter()
        .filter(|(name, _)| {
            req.args().skip(2).any(|pattern| {
                crate::keyspace::glob_match(&pattern.to_ascii_lowercase(), name.as_bytes())
            })
        })
        .collect();
    resp::write_map_len(out, matching.len(), ctx.protocol());
    for (name, value) in matching {
        resp::write_bulk(out, name.as_bytes());
        resp::write_bulk(out, value.as_bytes());
    }
}

/// Writes one INFO section's lines.
type InfoSection = fn(&Ctx<'_>, &mut String);

/// `INFO [section ...]`: server, clients, persistence, stats, replication, cluster,
/// keyspace. Section names are case-insensitive; "all"/"everything"/"default" give all.
pub fn info(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let wanted = |section: &str| {
        req.len() == 1
            || req.args().skip(1).any(|arg| {
                let arg = arg.to_ascii_lowercase();
                arg == section.as_bytes()
                    || matches!(arg.as_slice(), b"all" | b"everything" | b"default")
            })
    };
    let mut text = String::new();
    let sections: [(&str, InfoSection); 8] = [
        ("server", info_server),
        ("clients", info_clients),
        ("memory", super::memory::info_memory),
        ("persistence", super::persistence::info_persistence),
        ("stats", info_stats),
        ("replication", super::cluster::info_replication),
        ("cluster", super::cluster::info_cluster_section),
        ("keyspace", info_keyspace),
    ];
    // Redis separates sections with a blank line and ends the last without one.
    for (name, write) in sections {
        if wanted(name) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            write(ctx, &mut text);
        }
    }
    resp::write_verbatim(out, &text, ctx.protocol());
    Flow::Continue
}

fn info_server(ctx: &Ctx<'_>, text: &mut String) {
    let (_, port) = crate::status::split_addr(&ctx.status.myself().client_addr);
    text.push_str("# Server\r\n");
    text.push_str(&format!("redis_version:{REDIS_VERSION}\r\n"));
    text.push_str(&format!("bucket_version:{}\r\n", env!("CARGO_PKG_VERSION")));
    text.push_str("redis_mode:cluster\r\n");
    // The build's pointer width, as Redis reports it (clients test for 32-bit servers).
    text.push_str(&format!("arch_bits:{}\r\n", usize::BITS));
    let process = &ctx.config.process;
    let fields = [
        ("redis_git_sha1", "00000000".to_string()),
        ("redis_git_dirty", "0".to_string()),
        ("redis_build_id", env!("CARGO_PKG_VERSION").replace('.', "")),
        ("os", process.os.clone()),
        ("multiplexing_api", "epoll".to_string()),
        ("process_id", process.process_id.to_string()),
        ("tcp_port", port.to_string()),
        ("run_id", ctx.status.myself().name.clone()),
        ("server_time_usec", (ctx.now.unix.0 * 1000).to_string()),
        ("hz", "10".to_string()),
        ("configured_hz", "10".to_string()),
        (
            "lru_clock",
            crate::memory::lru_clock(ctx.now.instant).to_string(),
        ),
        ("executable", process.executable.clone()),
        ("config_file", process.config_file.clone()),
    ];
    for (name, value) in fields {
        text.push_str(&format!("{name}:{value}\r\n"));
    }
    let uptime_s = ctx.store.stats.uptime_s(ctx.now.instant);
    text.push_str(&format!("uptime_in_seconds:{uptime_s}\r\n"));
    text.push_str(&format!("uptime_in_days:{}\r\n", uptime_s / 86_400));
}

fn info_clients(ctx: &Ctx<'_>, text: &mut String) {
    let stats = &ctx.store.stats;
    text.push_str("# Clients\r\n");
    text.push_str(&format!(
        "connected_clients:{}\r\n",
        stats.connected_clients
    ));
    text.push_str(&format!("blocked_clients:{}\r\n", stats.blocked_clients));
}

fn info_stats(ctx: &Ctx<'_>, text: &mut String) {
    let stats = &ctx.store.stats;
    let fields = [
        ("total_connections_received", stats.connections_received),
        ("total_commands_processed", stats.commands_processed),
        (
            "instantaneous_ops_per_sec",
            stats.ops_per_sec(ctx.now.instant),
        ),
        ("total_net_input_bytes", stats.net_input_bytes),
        ("total_net_output_bytes", stats.net_output_bytes),
        ("total_net_repl_input_bytes", stats.net_repl_input_bytes),
        ("expired_keys", stats.expired_keys),
        ("evicted_keys", ctx.memory.evicted_keys),
        ("keyspace_hits", stats.keyspace_hits),
        ("keyspace_misses", stats.keyspace_misses),
        ("sync_full", ctx.status.full_resyncs),
        ("sync_partial_ok", ctx.status.partial_resyncs),
    ];
    text.push_str("# Stats\r\n");
    for (name, value) in fields {
        text.push_str(&format!("{name}:{value}\r\n"));
    }
}

fn info_keyspace(ctx: &Ctx<'_>, text: &mut String) {
    text.push_str("# Keyspace\r\n");
    let keys = ctx.store.keyspace.len();
    let expires = ctx
        .store
        .keyspace
        .iter()
        .filter(|(_, entry)| entry.expire_at.is_some())
        .count();
    debug_assert!(expires <= keys);
    if keys > 0 {
        text.push_str(&format!("db0:keys={keys},expires={expires},avg_ttl=0\r\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
