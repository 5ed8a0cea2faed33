//! The append-only file: records of deterministic effects, and their replay.
pub mod base;
pub mod effects;
pub mod elems;
pub mod record;
pub mod replay;

pub use record::{DecodeError, Effect, Record};
pub use replay::{apply, scan_records, Tail};
