//! Sorted set commands: ZADD, ZRANGE, ZSCORE, ...

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
