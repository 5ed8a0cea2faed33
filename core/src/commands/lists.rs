//! List commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, ...

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
