//! The node: `step` dispatches each input, then checks the invariants.

use crate::config::Config;
use crate::ids::{Offset, Term};
use crate::input::Input;
use crate::output::Output;
use crate::time::{Instant, Now};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Replica,
    PreCandidate,
    Candidate,
    Master,
}

/// What recovery found in the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of the AOF that hold whole, valid records. The driver cuts the file here.
    pub aof_len_valid: u64,
    /// Bytes dropped from a torn tail (zero when the file ended cleanly).
    pub torn_bytes: u64,
    pub records: u64,
    pub term: Term,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoverError {
    Config(String),
    /// Corruption before the tail: the node refuses to start.
    CorruptAof { offset: Offset, reason: String },
    CorruptMeta { reason: String },
}

impl std::fmt::Display for RecoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoverError::Config(m) => write!(f, "bad configuration: {m}"),
            RecoverError::CorruptAof { offset, reason } => {
                write!(f, "AOF is corrupt at offset {}: {reason}", offset.0)
            }
            RecoverError::CorruptMeta { reason } => write!(f, "metadata is corrupt: {reason}"),
        }
    }
}

pub struct Node {
    config: Config,
}

impl Node {
    /// Rebuild a node from its metadata file (`None` if there is none yet) and its AOF.
    pub fn recover(
        config: Config,
        seed: u64,
        meta: Option<&[u8]>,
        aof: &[u8],
    ) -> Result<(Node, Recovery), RecoverError> {
        let _ = (seed, meta, aof);
        Ok((
            Node { config },
            Recovery {
                aof_len_valid: 0,
                torn_bytes: 0,
                records: 0,
                term: Term(0),
            },
        ))
    }

    pub fn step(&mut self, now: Now, input: Input<'_>, out: &mut Vec<Output>) {
        let _ = (now, input, out, &self.config);
    }

    /// When the node next needs a `Tick`.
    pub fn deadline(&self) -> Instant {
        Instant(u64::MAX)
    }

    pub fn role(&self) -> Role {
        Role::Master
    }
}
