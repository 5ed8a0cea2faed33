//! AOF records.
