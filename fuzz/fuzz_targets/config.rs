//! Fuzz target `config`: the daemon's YAML config loader must answer any text with a
//! config or one clear error, never a panic. `driver-mio/tests/fuzz_corpus.rs` replays
//! the corpus on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = driver_mio::config::parse(text);
    }
});
