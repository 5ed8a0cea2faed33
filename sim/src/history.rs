//! The clients' history: every operation with its invocation, its completion and its
//! outcome. The durability and linearizability checkers read it.

use std::collections::{BTreeMap, BTreeSet};

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpKind {
    Get,
    /// SET with a value no other SET in the run uses, so an acked write can be found.
    Set(Vec<u8>),
    Incr,
    Del,
    /// `WAIT numreplicas timeout_ms`: recorded, not modelled.
    Wait,
    /// SET with options: `NX`/`XX`, `GET`, `KEEPTTL` or an expiry.
    SetWith {
        value: Vec<u8>,
        options: SetOptions,
    },
    SetNx(Vec<u8>),
    GetSet(Vec<u8>),
    /// DECR, INCRBY and DECRBY (INCR is `Incr`).
    Counter(Counter),
    Append(Vec<u8>),
    GetDel,
    /// UNLINK of one key: DEL by another name.
    Unlink,
    /// MSET of distinct keys, the op's key first, with values no other write uses.
    MSet(Vec<(Vec<u8>, Vec<u8>)>),
    /// MGET of distinct keys, the op's key first.
    MGet(Vec<Vec<u8>>),
    Exists,
    Strlen,
    Type,
    /// EXPIRE, PEXPIRE, EXPIREAT or PEXPIREAT, with a condition.
    Expire {
        expiry: Expiry,
        condition: Option<ExpireCondition>,
    },
    Persist,
    Ttl,
    Pttl,
    /// A read of the whole keyspace (DBSIZE, SCAN, KEYS): recorded, not modelled, since
    /// it counts keys that have expired but are not deleted yet.
    Keyspace(KeyspaceRead),
    /// A list-append transaction (`txn.rs`), checked by `checkers/list_append.rs`.
    Txn(Vec<crate::txn::Micro>),
}

/// The options of a `SET` beyond the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// `NX` (`Some(Nx)`) or `XX` (`Some(Xx)`); `GT` and `LT` are not SET options.
    pub condition: Option<ExpireCondition>,
    /// `GET`: answer the old value.
    pub get: bool,
    pub keep_ttl: bool,
    pub expiry: Option<Expiry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    Decr,
    IncrBy(i64),
    DecrBy(i64),
}

impl Counter {
    pub fn delta(self) -> i64 {
        match self {
            Counter::Decr => -1,
            Counter::IncrBy(n) => n,
            Counter::DecrBy(n) => -n,
        }
    }
}

/// An expiry as a client sends it: `EX`/`PX` relative, `EXAT`/`PXAT` absolute, in
/// seconds or milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub unit: ExpiryUnit,
    pub amount: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryUnit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

/// How long an expiry lasts, which is all the register model may know of it: the
/// time it takes effect is the master's, and no client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// At or before the start of the run: the key is deleted at once.
    Past,
    /// Within the run: the key may expire at any moment the model cannot know.
    Short,
    /// At least `LONG_TTL_MS` after the start of the run, so never within it.
    Long,
}

/// An expiry this far ahead outlasts every run (runs are minutes; this is 11 days).
pub const LONG_TTL_MS: i64 = 1_000_000_000;

impl Expiry {
    /// The span of the expiry, for a run whose clock starts at `unix_start_ms`.
    pub fn span(self, unix_start_ms: u64) -> Span {
        let ms = match self.unit {
            ExpiryUnit::Seconds | ExpiryUnit::UnixSeconds => self.amount.saturating_mul(1000),
            ExpiryUnit::Millis | ExpiryUnit::UnixMillis => self.amount,
        };
        // A relative expiry is measured from the op, which is at or after the start.
        let from_start_ms = match self.unit {
            ExpiryUnit::Seconds | ExpiryUnit::Millis => ms,
            ExpiryUnit::UnixSeconds | ExpiryUnit::UnixMillis => {
                ms.saturating_sub(unix_start_ms as i64)
            }
        };
        // A relative expiry of zero is "now", as is an absolute one at the start.
        if from_start_ms <= 0 {
            Span::Past
        } else if from_start_ms >= LONG_TTL_MS {
            Span::Long
        } else {
            Span::Short
        }
    }
}

/// EXPIRE's conditions (Redis 7); `Nx` and `Xx` are also SET's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireCondition {
    Nx,
    Xx,
    Gt,
    Lt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyspaceRead {
    DbSize,
    /// `SCAN 0 COUNT 100`.
    Scan,
    /// `KEYS *`.
    Keys,
    /// `BGREWRITEAOF`: no key changes, but the node compacts its AOF meanwhile.
    Rewrite,
}

impl OpKind {
    pub fn is_write(&self) -> bool {
        match self {
            OpKind::Set(_)
            | OpKind::Incr
            | OpKind::Del
            | OpKind::SetWith { .. }
            | OpKind::SetNx(_)
            | OpKind::GetSet(_)
            | OpKind::Counter(_)
            | OpKind::Append(_)
            | OpKind::GetDel
            | OpKind::Unlink
            | OpKind::MSet(_)
            | OpKind::Expire { .. }
            | OpKind::Persist => true,
            OpKind::Txn(micros) => micros
                .iter()
                .any(|m| matches!(m, crate::txn::Micro::Append { .. })),
            OpKind::Get
            | OpKind::Wait
            | OpKind::MGet(_)
            | OpKind::Exists
            | OpKind::Strlen
            | OpKind::Type
            | OpKind::Ttl
            | OpKind::Pttl
            | OpKind::Keyspace(_) => false,
        }
    }

    /// Whether the op names keys: WAIT and the whole-keyspace reads do not.
    pub fn has_keys(&self) -> bool {
        !matches!(self, OpKind::Wait | OpKind::Keyspace(_))
    }
}

/// A reply that is the command's own answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Ok,
    Nil,
    Bulk(Vec<u8>),
    Int(i64),
    /// MGET's answer, one value per key; SCAN's and KEYS' lists.
    Array(Vec<Value>),
    /// A deterministic command error (INCR on a non-integer, say).
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not finished when the run ended: like `Unknown`.
    Pending,
    /// The command ran and answered.
    Ok(Value),
    /// The command certainly had no effect (a read that timed out, redirects exhausted).
    Failed(String),
    /// A write whose fate is unknown: timed out, connection lost, or `-UNKNOWN`.
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub client: usize,
    pub key: Vec<u8>,
    pub kind: OpKind,
    /// Logical time of the invocation and completion: a global counter, so any two
    /// events are ordered. `ret` is `None` while pending or when the outcome is unknown.
    pub call: u64,
    pub ret: Option<u64>,
    pub call_ms: u64,
    pub ret_ms: Option<u64>,
    pub outcome: Outcome,
}

/// Where a client's write took effect on a master, seen by the simulator (no client
/// can see this): the master's reign and the AOF offset of the write's first record,
/// and the answer that record implies (an INCR's result, a DEL that removed a key), if
/// it implies one (a GETDEL's record does not say what it read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub master_id: u64,
    pub offset: u64,
    pub output: Option<Value>,
}

#[derive(Clone, Debug, Default)]
pub struct History {
    pub ops: Vec<Op>,
    /// Op index -> where it was applied, for writes whose records a master appended
    /// while the op was in flight.
    pub applied: BTreeMap<usize, Applied>,
    /// Writes during whose service a master appended records that were not plainly
    /// theirs: their fate stays open.
    pub unclear: BTreeSet<usize>,
}

impl Op {
    /// Every key the op names, its own first.
    pub fn keys(&self) -> Vec<&[u8]> {
        match &self.kind {
            OpKind::MSet(pairs) => pairs.iter().map(|(key, _)| key.as_slice()).collect(),
            OpKind::MGet(keys) => keys.iter().map(Vec::as_slice).collect(),
            OpKind::Txn(micros) => {
                let mut keys: Vec<&[u8]> = micros.iter().map(|m| m.key()).collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            }
            kind if kind.has_keys() => vec![self.key.as_slice()],
            _ => Vec::new(),
        }
    }
}

impl History {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.ops.iter().filter(|op| f(&op.outcome)).count()
    }
}

/// Format a key or value for the timeline.
pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
