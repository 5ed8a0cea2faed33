//! Replay arbitrary bytes as an AOF: scanning and applying must never panic.
#![no_main]

use bucket_core::aof::record::decode;
use bucket_core::aof::replay::{apply, scan_records};
use bucket_core::keyspace::Keyspace;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
    let mut keyspace = Keyspace::new((0, 0));
    let _ = scan_records(data, |_, record| apply(&mut keyspace, &record.effect));
});
