//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, ...

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
