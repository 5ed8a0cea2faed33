//! Cluster links speak the core's peer protocol (`bucket_core::peer`): every frame is
//! length- and CRC32-framed, and the first frame on each link is a `Message::Hello`
//! naming the sender and carrying the cluster secret, if one is configured. This module
//! adapts it to the driver: the hello as a struct, and whole frames cut from a stream.
//!
//! The secret travels in the clear, as Redis's `masterauth` does: it keeps strangers
//! and misconfigured nodes out, not an eavesdropper on the cluster network.

use std::ops::Range;

use bucket_core::peer::{self, Message, PROTOCOL_VERSION};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub cluster_addr: String,
    pub client_addr: String,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

pub fn encode_hello(hello: &Hello, out: &mut Vec<u8>) {
    let message = Message::Hello {
        version: PROTOCOL_VERSION,
        cluster_addr: &hello.cluster_addr,
        client_addr: &hello.client_addr,
        secret: hello.secret.as_bytes(),
    };
    out.extend_from_slice(&peer::encode(&message));
}

/// The hello at the head of `buf` and its length, `None` if it is not all there yet.
/// The hello stays a frame like any other: the caller hands it to the node too, which
/// learns the sender's client address from it.
pub fn decode_hello(
    buf: &[u8],
    frame_bytes_max: usize,
) -> Result<Option<(Hello, usize)>, CodecError> {
    let Some((range, len)) = decode_frame(buf, frame_bytes_max)? else {
        return Ok(None);
    };
    let message = peer::decode(&buf[range]).map_err(|e| CodecError(e.to_string()))?;
    let Message::Hello {
        version,
        cluster_addr,
        client_addr,
        secret,
    } = message
    else {
        return Err(CodecError("the link did not start with a hello".into()));
    };
    if version != PROTOCOL_VERSION {
        return Err(CodecError(format!(
            "peer speaks protocol version {version}"
        )));
    }
    let secret = String::from_utf8(secret.to_vec())
        .map_err(|_| CodecError("the secret is not UTF-8".into()))?;
    let hello = Hello {
        cluster_addr: cluster_addr.to_string(),
        client_addr: client_addr.to_string(),
        secret,
    };
    Ok(Some((hello, len)))
}

/// Core frames delimit themselves: they go on the wire as they are.
pub fn encode_frame(frame: &[u8], out: &mut Vec<u8>) {
    debug_assert!(matches!(peer::frame_len(frame, usize::MAX), Ok(Some(n)) if n == frame.len()));
    out.extend_from_slice(frame);
}

/// The range of the whole frame at the head of `buf` and the bytes it takes, `None` if
/// it is not all there yet. A frame over the limit or with a bad checksum is an error:
/// the link is dropped.
pub fn decode_frame(
    buf: &[u8],
    frame_bytes_max: usize,
) -> Result<Option<(Range<usize>, usize)>, CodecError> {
    match peer::frame_len(buf, frame_bytes_max) {
        Ok(Some(len)) => Ok(Some((0..len, len))),
        Ok(None) => Ok(None),
        Err(e) => Err(CodecError(format!("bad frame: {e:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME_BYTES_MAX: usize = 1 << 20;

    #[test]
    fn hello_round_trips_and_waits_for_all_bytes() {
        let hello = Hello {
            cluster_addr: "localhost:16556".into(),
            client_addr: "localhost:6556".into(),
            secret: "s".into(),
        };
        let mut bytes = Vec::new();
        encode_hello(&hello, &mut bytes);
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_hello(&bytes[..cut], FRAME_BYTES_MAX),
                Ok(None),
                "cut at {cut}"
            );
        }
        let hello_len = bytes.len();
        bytes.extend_from_slice(b"rest");
        let (decoded, used) = decode_hello(&bytes, FRAME_BYTES_MAX).unwrap().unwrap();
        assert_eq!(decoded, hello);
        assert_eq!(used, hello_len);
    }

    #[test]
    fn hello_rejects_garbage() {
        assert!(decode_hello(b"GET / HTTP/1.1\r\n\r\n", FRAME_BYTES_MAX).is_err());
        let vote = peer::encode(&Message::DenyHeartbeat {
            term: bucket_core::Term(1),
        });
        assert!(
            decode_hello(&vote, FRAME_BYTES_MAX).is_err(),
            "a hello must come first"
        );
    }

    #[test]
    fn frames_split_a_stream() {
        let frames: Vec<Vec<u8>> = (1..4)
            .map(|t| {
                peer::encode(&Message::DenyHeartbeat {
                    term: bucket_core::Term(t),
                })
            })
            .collect();
        let mut bytes = Vec::new();
        frames.iter().for_each(|f| encode_frame(f, &mut bytes));
        let mut at = 0;
        let mut seen = Vec::new();
        while let Some((range, used)) = decode_frame(&bytes[at..], 64).unwrap() {
            seen.push(bytes[at + range.start..at + range.end].to_vec());
            at += used;
        }
        assert_eq!(seen, frames);
        assert_eq!(decode_frame(&bytes[..2], 64), Ok(None));
        assert!(decode_frame(&bytes, 8).is_err(), "over the limit");
        let mut corrupt = frames[0].clone();
        *corrupt.last_mut().unwrap() ^= 1;
        assert!(decode_frame(&corrupt, 64).is_err(), "bad checksum");
    }
}
