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
}

impl OpKind {
    pub fn is_write(&self) -> bool {
        matches!(self, OpKind::Set(_) | OpKind::Incr | OpKind::Del)
    }
}

/// A reply that is the command's own answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Ok,
    Nil,
    Bulk(Vec<u8>),
    Int(i64),
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
/// and the answer that record implies (an INCR's result, a DEL that removed a key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub master_id: u64,
    pub offset: u64,
    pub output: Value,
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

impl History {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.ops.iter().filter(|op| f(&op.outcome)).count()
    }
}

/// Format a key or value for the timeline.
pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
