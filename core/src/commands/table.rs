//! The command table: name, arity, flags and key positions, as `COMMAND` reports them.

use super::{blocking, clients, expiry, hashes, keys, lists, memory, server, sets, strings};
use super::{transactions, zsets};
use super::{Handler, R, S, W};
use super::{FLAG_BLOCKING, FLAG_NO_AUTH, FLAG_WRITE};

pub struct CommandSpec {
    /// Lower case, as `COMMAND` and error messages print it.
    pub name: &'static str,
    /// Redis arity: positive = exact argument count (name included), negative = at least.
    pub arity: i32,
    pub flags: u16,
    /// 1-based position of the first key, 0 if none.
    pub first_key: i32,
    /// Position of the last key; -1 = the last argument.
    pub last_key: i32,
    pub key_step: i32,
    pub handler: Handler,
}

impl CommandSpec {
    pub fn is_write(&self) -> bool {
        self.flags & FLAG_WRITE != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.arity.unsigned_abs() as usize;
        if self.arity >= 0 {
            argc == arity
        } else {
            argc >= arity
        }
    }

    /// Whether the command may grow memory, so that it is refused with `-OOM` when the
    /// node is full (Redis's `denyoom`): every write but those that only remove.
    pub fn may_grow_memory(&self) -> bool {
        self.is_write() && !SHRINKING_WRITES.contains(&self.name)
    }

    /// The keys a request names, by the table's positions.
    pub fn keys<'r>(&self, args: &'r crate::resp::Request) -> impl Iterator<Item = &'r [u8]> {
        let len = args.len() as i32;
        let last = match self.last_key {
            last if last < 0 => len + last,
            last => last.min(len - 1),
        };
        let first = if self.first_key > 0 {
            self.first_key
        } else {
            last + 1
        };
        let step = self.key_step.max(1) as usize;
        (first..=last)
            .step_by(step)
            .map(move |at| args.arg(at as usize))
    }

    /// The first key of a request, for the slot of a `-MOVED` reply.
    pub fn first_key<'r>(&self, args: &'r crate::resp::Request) -> Option<&'r [u8]> {
        let at = usize::try_from(self.first_key).ok().filter(|&at| at > 0)?;
        (at < args.len()).then(|| args.arg(at))
    }
}

/// The writes that only remove or move what is stored, and so still run on a full
/// node (Redis flags every other write `denyoom`).
const SHRINKING_WRITES: &[&str] = &[
    "del",
    "unlink",
    "getdel",
    "getex",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "lpop",
    "rpop",
    "lmpop",
    "blpop",
    "brpop",
    "blmpop",
    "lrem",
    "ltrim",
    "spop",
    "srem",
    "smove",
    "hdel",
    "zrem",
    "zpopmin",
    "zpopmax",
    "zmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "zremrangebyscore",
    "zremrangebyrank",
    "zremrangebylex",
    "flushdb",
    "flushall",
    "rename",
    "renamenx",
];

/// The families of commands, each in its own file; a name is in one of them only.
pub static FAMILIES: &[&[CommandSpec]] = &[
    TABLE,
    expiry::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    transactions::COMMANDS,
    blocking::COMMANDS,
];

/// Strings, keys, server and cluster commands.
pub static TABLE: &[CommandSpec] = &[
    spec!("get", 2, R, 1, 1, 1, strings::get),
    spec!("set", -3, W, 1, 1, 1, strings::set),
    spec!("setnx", 3, W, 1, 1, 1, strings::setnx),
    spec!("getset", 3, W, 1, 1, 1, strings::getset),
    spec!("getdel", 2, W, 1, 1, 1, strings::getdel),
    spec!("mget", -2, R, 1, -1, 1, strings::mget),
    spec!("mset", -3, W, 1, -1, 2, strings::mset),
    spec!("incr", 2, W, 1, 1, 1, strings::incr),
    spec!("decr", 2, W, 1, 1, 1, strings::decr),
    spec!("incrby", 3, W, 1, 1, 1, strings::incrby),
    spec!("decrby", 3, W, 1, 1, 1, strings::decrby),
    spec!("append", 3, W, 1, 1, 1, strings::append),
    spec!("strlen", 2, R, 1, 1, 1, strings::strlen),
    spec!("setex", 4, W, 1, 1, 1, strings::setex),
    spec!("psetex", 4, W, 1, 1, 1, strings::psetex),
    spec!("getex", -2, W, 1, 1, 1, strings::getex),
    spec!("getrange", 4, R, 1, 1, 1, strings::getrange),
    spec!("substr", 4, R, 1, 1, 1, strings::getrange),
    spec!("setrange", 4, W, 1, 1, 1, strings::setrange),
    spec!("incrbyfloat", 3, W, 1, 1, 1, strings::incrbyfloat),
    spec!("msetnx", -3, W, 1, -1, 2, strings::msetnx),
    spec!("del", -2, W, 1, -1, 1, keys::del),
    spec!("unlink", -2, W, 1, -1, 1, keys::del),
    spec!("exists", -2, R, 1, -1, 1, keys::exists),
    // TOUCH counts the keys that exist, as EXISTS (Bucket keeps no access times).
    spec!("touch", -2, R, 1, -1, 1, keys::exists),
    spec!("rename", 3, W, 1, 2, 1, keys::rename),
    spec!("renamenx", 3, W, 1, 2, 1, keys::renamenx),
    spec!("copy", -3, W, 1, 2, 1, keys::copy),
    spec!("randomkey", 1, R, 0, 0, 0, keys::randomkey),
    spec!("object", -2, R, 2, 2, 1, keys::object),
    spec!("memory", -2, S, 0, 0, 0, memory::memory),
    spec!("type", 2, R, 1, 1, 1, keys::type_),
    spec!("scan", -2, R, 0, 0, 0, keys::scan),
    spec!("keys", 2, R, 0, 0, 0, keys::keys),
    spec!("dbsize", 1, R, 0, 0, 0, keys::dbsize),
    spec!("flushall", -1, W, 0, 0, 0, keys::flushall),
    spec!("flushdb", -1, W, 0, 0, 0, keys::flushall),
    spec!("ping", -1, S, 0, 0, 0, server::ping),
    spec!("echo", 2, S, 0, 0, 0, server::echo),
    spec!("time", 1, S, 0, 0, 0, server::time),
    spec!("select", 2, S, 0, 0, 0, server::select),
    spec!("hello", -1, S | FLAG_NO_AUTH, 0, 0, 0, server::hello),
    spec!("auth", -2, S | FLAG_NO_AUTH, 0, 0, 0, server::auth),
    spec!("quit", -1, S | FLAG_NO_AUTH, 0, 0, 0, server::quit),
    spec!("command", -1, S, 0, 0, 0, server::command),
    spec!("config", -2, S, 0, 0, 0, server::config),
    spec!("client", -2, S, 0, 0, 0, clients::client),
    spec!("info", -1, S, 0, 0, 0, server::info),
    spec!(
        "bgrewriteaof",
        1,
        S,
        0,
        0,
        0,
        super::persistence::bgrewriteaof
    ),
    spec!("wait", 3, S | FLAG_BLOCKING, 0, 0, 0, server::wait),
    spec!("role", 1, S, 0, 0, 0, server::role),
    spec!("cluster", -2, S, 0, 0, 0, server::cluster),
    spec!("readonly", 1, S, 0, 0, 0, server::readonly),
    spec!("readwrite", 1, S, 0, 0, 0, server::readwrite),
];

/// Find a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    const NAME_LEN_MAX: usize = 16;
    if name.len() > NAME_LEN_MAX {
        return None;
    }
    let mut lower = [0u8; NAME_LEN_MAX];
    for (to, from) in lower.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    let lower = &lower[..name.len()];
    let index = BY_NAME.get_or_init(|| all().map(|spec| (spec.name.as_bytes(), spec)).collect());
    index.get(lower).copied()
}

/// Every command by name, built at the first lookup: a few comparisons per request
/// instead of a walk over the whole table. A `BTreeMap`, since a hash map would want a
/// seed, and the core takes no randomness from the OS.
static BY_NAME: std::sync::OnceLock<
    std::collections::BTreeMap<&'static [u8], &'static CommandSpec>,
> = std::sync::OnceLock::new();

/// Every command, family by family.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{FLAG_READONLY, FLAG_SERVER};

    #[test]
    fn every_name_is_lower_case_unique_and_short() {
        let specs: Vec<&CommandSpec> = all().collect();
        for (i, spec) in specs.iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase(), "#{i}");
            assert!(spec.name.len() <= 16, "#{i}: {}", spec.name);
            assert!(
                specs[..i].iter().all(|other| other.name != spec.name),
                "#{i}: {} listed twice",
                spec.name
            );
        }
    }

    #[test]
    fn writes_and_reads_are_flagged_exclusively() {
        for spec in all() {
            let write = spec.flags & FLAG_WRITE != 0;
            let read = spec.flags & FLAG_READONLY != 0;
            assert!(!(write && read), "{}", spec.name);
            assert_eq!(
                write || read,
                spec.flags & FLAG_SERVER == 0,
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"GeT").map(|s| s.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(b"averyveryverylongname").is_none());
    }
}
