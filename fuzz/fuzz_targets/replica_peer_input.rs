//! Fuzz target `replica_peer_input`: the body is `bucket_core::fuzz::replica_peer_input`,
//! which the corpus replay test in `core/tests/fuzz_corpus.rs` also runs on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bucket_core::fuzz::replica_peer_input(data));
