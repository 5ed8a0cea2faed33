//! The keyspace.
