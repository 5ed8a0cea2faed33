//! The invariant checkers, one per file. Each takes plain data (what the world
//! observed), so its unit tests can feed it a hand-made bad history.

pub mod acks;
pub mod check_quorum;
pub mod convergence;
pub mod determinism;
pub mod durability;
pub mod election;
pub mod fates;
pub mod linearizability;
pub mod list_append;
pub mod log_matching;
pub mod register;
pub mod reign;
pub mod state;

/// A broken invariant: which checker fired and what it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub checker: &'static str,
    pub detail: String,
}

impl Violation {
    pub fn new(checker: &'static str, detail: String) -> Violation {
        Violation { checker, detail }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.checker, self.detail)
    }
}
