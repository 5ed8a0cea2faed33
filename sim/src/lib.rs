//! The Bucket simulator.
