//! The command table and dispatch. Every error reply's wording lives here, in one place,
//! matching Redis so that client libraries map errors correctly.
//!
//! A command reads the keyspace through [`Store`] and changes it only by
//! [`Store::apply`], which logs the deterministic effect to the AOF and applies that same
//! effect. So the master's keyspace is, by construction, the replay of its AOF.

/// One row of a command table: name, arity, flags, first key, last key, key step and
/// handler, as `COMMAND` reports them (see [`CommandSpec`]).
macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $handler:path) => {
        $crate::commands::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            key_step: $step,
            handler: $handler,
        }
    };
}

pub mod blocking;
pub mod clients;
pub mod cluster;
pub mod daemon;
pub mod expiry;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod persistence;
pub mod server;
pub mod sets;
mod store;
pub mod strings;
mod table;
pub mod transactions;
pub mod zsets;

use crate::config::Config;
use crate::ids::ConnectionId;
use crate::resp::{self, Protocol, Request};
use crate::session::Session;
use crate::status::ClusterStatus;
use crate::time::Now;

pub use store::{or_wrongtype, Store, WrongType};
pub use table::{all, lookup, CommandSpec, TABLE};

/// The command changes the keyspace: only the master runs it.
pub const FLAG_WRITE: u16 = 1 << 0;
/// The command only reads the keyspace.
pub const FLAG_READONLY: u16 = 1 << 1;
/// The command may run before the client authenticates.
pub const FLAG_NO_AUTH: u16 = 1 << 2;
/// The command reads no keys and changes nothing (server, connection and cluster info).
pub const FLAG_SERVER: u16 = 1 << 3;
/// The command must wait for a write quorum or for replicas (WAIT).
pub const FLAG_BLOCKING: u16 = 1 << 4;

/// Short names for the table rows.
pub(crate) const W: u16 = FLAG_WRITE;
pub(crate) const R: u16 = FLAG_READONLY;
pub(crate) const S: u16 = FLAG_SERVER;

/// What the node does after a command ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Close the connection once the replies so far are written (QUIT, protocol error).
    Close,
    /// `WAIT numreplicas timeout_ms`: the node answers when enough replicas hold the
    /// client's last write, or when the timeout passes.
    Wait {
        replicas: usize,
        timeout_ms: u64,
    },
    /// A blocking pop found every key empty: the node parks the client until one of
    /// `keys` is written (and runs the request again), or `timeout_ms` passes (zero:
    /// never). Nothing was answered yet.
    Block {
        keys: Vec<Vec<u8>>,
        timeout_ms: u64,
    },
}

/// Everything a command may look at or change.
pub struct Ctx<'a> {
    pub now: Now,
    pub conn: ConnectionId,
    pub store: Store<'a>,
    /// The node's seeded generator, for commands that pick at random (`SPOP`,
    /// `HRANDFIELD`): they log what they picked, so replicas need none.
    pub rng: &'a mut rand_chacha::ChaCha8Rng,
    pub session: &'a mut Session,
    pub status: &'a ClusterStatus,
    pub config: &'a Config,
    /// The AOF's files and rewrites: INFO reads it, BGREWRITEAOF and CONFIG SET
    /// change it, and the node acts on it after the command.
    pub aof: &'a mut crate::status::AofStatus,
    /// The memory limit and use: INFO and MEMORY read it, CONFIG SET changes it.
    pub memory: &'a mut crate::memory::MemoryStatus,
    /// The other connections' sessions, for `CLIENT LIST` and `CLIENT KILL`.
    pub clients: &'a clients::Sessions,
    /// Connections the command asks the node to close after it (`CLIENT KILL`).
    pub killed: &'a mut Vec<ConnectionId>,
    /// The driver's settings: CONFIG GET reads them, CONFIG SET changes them.
    pub daemon: &'a mut crate::settings::Daemon,
}

impl Ctx<'_> {
    pub fn protocol(&self) -> Protocol {
        self.session.protocol
    }
}

pub type Handler = fn(&mut Ctx<'_>, &Request, &mut Vec<u8>) -> Flow;

// ---- Error replies, in Redis's wording ----

pub const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const ERR_NOAUTH: &str = "NOAUTH Authentication required.";
pub const ERR_WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const ERR_NO_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
/// Bucket runs in cluster mode, where Redis serves database 0 only.
pub const ERR_SELECT_CLUSTER: &str = "ERR SELECT is not allowed in cluster mode";
pub const ERR_HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
pub const ERR_READONLY: &str = "READONLY You can't write against a read only replica.";
pub const ERR_CLUSTERDOWN: &str = "CLUSTERDOWN The cluster is down: no master is elected yet";
pub const ERR_UNKNOWN_OUTCOME: &str = "UNKNOWN the master lost its reign before a majority held the write; it may or may not have been applied";
pub const ERR_NOT_MASTER_READ: &str =
    "CLUSTERDOWN the master lost its reign before the read could be confirmed";
pub const ERR_DENIED: &str = "DENIED Bucket is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Bucket you may adopt one of the following solutions: 1) Set a password with the 'requirepass' configuration key. 2) Disable protected mode by setting 'protectedMode: false' in the configuration file and restarting the server. 3) Set up an authentication system or a firewall.";

pub fn err_wrong_arity(out: &mut Vec<u8>, name: &str) {
    let message = format!("ERR wrong number of arguments for '{name}' command");
    resp::write_error(out, &message);
}

/// How many characters of arguments an unknown-command error lists (Redis's 128).
const UNKNOWN_ARGS_LISTED_MAX: usize = 128;

pub fn err_unknown_command(out: &mut Vec<u8>, req: &Request) {
    let mut message = format!(
        "ERR unknown command '{}', with args beginning with: ",
        printable(req.arg(0))
    );
    // As Redis: quote arguments while fewer than 128 characters are listed, cutting
    // each to the room left.
    let listed_start = message.len();
    for arg in req.args().skip(1) {
        let listed = message.len() - listed_start;
        if listed >= UNKNOWN_ARGS_LISTED_MAX {
            break;
        }
        let room = UNKNOWN_ARGS_LISTED_MAX - listed;
        message.push_str(&format!("'{}' ", printable(&arg[..arg.len().min(room)])));
    }
    resp::write_error(out, &message);
}

pub fn err_unknown_subcommand(out: &mut Vec<u8>, command: &str, sub: &[u8]) {
    let message = format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        printable(sub),
        command.to_ascii_uppercase()
    );
    resp::write_error(out, &message);
}

pub fn err_moved(out: &mut Vec<u8>, slot: u16, master_client_addr: &str) {
    resp::write_error(out, &format!("MOVED {slot} {master_client_addr}"));
}

/// At most 128 characters of `bytes`, lossily as text: for echoing names in errors.
pub fn printable(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(128)];
    String::from_utf8_lossy(cut).replace(['\r', '\n'], " ")
}

// ---- Argument parsing shared by commands ----

/// Parse a whole argument as a signed 64-bit decimal, as Redis's `string2ll`: no
/// leading `+`, no spaces, no leading zeros except "0" itself.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || negative)) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A blocking command's timeout in seconds (fractions allowed) as milliseconds, zero
/// meaning forever; or Redis's error.
pub fn parse_f64_timeout(arg: &[u8]) -> Result<u64, &'static str> {
    const ERR_TIMEOUT: &str = "ERR timeout is not a float or out of range";
    let seconds: f64 = std::str::from_utf8(arg)
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|s: &f64| s.is_finite())
        .ok_or(ERR_TIMEOUT)?;
    if seconds < 0.0 {
        return Err("ERR timeout is negative");
    }
    let ms = (seconds * 1000.0).ceil();
    if ms > (u64::MAX / 2) as f64 {
        return Err(ERR_TIMEOUT);
    }
    Ok(ms as u64)
}

/// Format an integer into a stack buffer, for values stored as decimal strings.
pub fn format_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = n.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_follows_string2ll() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (b"0", Some(0)),
            (b"-1", Some(-1)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-0", None),
            (b"01", None),
            (b"+1", None),
            (b" 1", None),
            (b"1.5", None),
            (b"", None),
            (b"-", None),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(parse_i64(input), *want, "#{i}: {:?}", printable(input));
        }
    }

    #[test]
    fn format_i64_round_trips_the_extremes() {
        for n in [0, 7, -7, 10, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 20];
            let text = format_i64(n, &mut buf);
            assert_eq!(parse_i64(text), Some(n), "{n}");
        }
    }
}
