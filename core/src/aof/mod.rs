//! The append-only file.
pub mod record;
pub mod replay;
