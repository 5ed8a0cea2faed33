//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! They act on the session's queue and on the node's index of watched keys, so the
//! node runs them itself (`node/transactions.rs`); the table lists them for `COMMAND`,
//! arity checks and routing.

use super::{CommandSpec, Ctx, Flow, R, S};
use crate::resp::{self, Request};

pub static COMMANDS: &[CommandSpec] = &[
    spec!("multi", 1, S, 0, 0, 0, run_by_node),
    // EXEC is a data command (majority mode holds its reply for the commit); its
    // writes are its queued commands', each checked against its own flags.
    spec!("exec", 1, R, 0, 0, 0, run_by_node),
    spec!("discard", 1, S, 0, 0, 0, run_by_node),
    spec!("watch", -2, R, 1, -1, 1, run_by_node),
    spec!("unwatch", 1, S, 0, 0, 0, run_by_node),
];

pub const ERR_NESTED_MULTI: &str = "ERR MULTI calls can not be nested";
pub const ERR_EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const ERR_DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const ERR_WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const ERR_EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const ERR_NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";

/// Whether the node runs `spec` itself (never through a handler).
pub fn is_transaction_command(spec: &CommandSpec) -> bool {
    COMMANDS.iter().any(|c| c.name == spec.name)
}

/// The table's handler for the commands above. The node intercepts them before any
/// handler runs, so reaching this is a bug in the node; answer an error, never panic.
fn run_by_node(_ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    debug_assert!(false, "transaction commands are run by the node");
    resp::write_error(out, "ERR transaction command outside the node's dispatch");
    Flow::Continue
}
