//! Feeds arbitrary bytes to the request parser, pipelined, and to the reply decoder.
//! Neither may panic, and every request must consume at least one byte.
#![no_main]
use bucket_core::resp::{parse_reply, parse_request, Limits, Parsed, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        bulk_len_max: 1024,
        multibulk_len_max: 64,
        inline_len_max: 256,
    };
    let mut request = Request::new();
    let mut pos = 0;
    while let Ok(Parsed::Request { consumed }) = parse_request(&data[pos..], &limits, &mut request)
    {
        assert!(consumed > 0 && pos + consumed <= data.len());
        pos += consumed;
    }
    let _ = parse_reply(data);
});
