//! The wire format of cluster links, isolated here so it can be swapped for
//! `bucket_core::peer` once the core defines it. The rest of the driver only calls
//! [`encode_hello`]/[`decode_hello`] and [`encode_frame`]/[`decode_frame`] and treats a
//! frame as opaque bytes.
//!
//! Interim format (not yet the core's):
//! - hello: `b"BKTH"`, u32 node id, then three u16-length-prefixed strings: the
//!   sender's cluster address, its client address, and the cluster secret (empty if
//!   none). The secret is sent in the clear; the core's codec is to replace this with a
//!   proper authentication (a MAC over a challenge).
//! - frame: u32 big-endian length, then the frame as the core produced it.

use std::ops::Range;

use bucket_core::NodeId;

const HELLO_MAGIC: &[u8; 4] = b"BKTH";
const FRAME_HEADER_BYTES: usize = 4;
/// Longest string in a hello (addresses and secret).
const HELLO_FIELD_BYTES_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub node_id: NodeId,
    pub cluster_addr: String,
    pub client_addr: String,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

pub fn encode_hello(hello: &Hello, out: &mut Vec<u8>) {
    out.extend_from_slice(HELLO_MAGIC);
    out.extend_from_slice(&hello.node_id.0.to_be_bytes());
    for field in [&hello.cluster_addr, &hello.client_addr, &hello.secret] {
        assert!(field.len() <= HELLO_FIELD_BYTES_MAX, "hello field too long");
        out.extend_from_slice(&(field.len() as u16).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
}

/// The hello at the head of `buf` and its length, `None` if it is not all there yet.
pub fn decode_hello(buf: &[u8]) -> Result<Option<(Hello, usize)>, CodecError> {
    let head = buf.len().min(HELLO_MAGIC.len());
    if buf[..head] != HELLO_MAGIC[..head] {
        return Err(CodecError("the link did not start with a hello".into()));
    }
    if buf.len() < 8 {
        return Ok(None);
    }
    let node_id = NodeId(u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes")));
    let mut at = 8;
    let mut fields = [String::new(), String::new(), String::new()];
    for field in &mut fields {
        let Some(len_bytes) = buf.get(at..at + 2) else {
            return Ok(None);
        };
        let len = u16::from_be_bytes(len_bytes.try_into().expect("2 bytes")) as usize;
        if len > HELLO_FIELD_BYTES_MAX {
            return Err(CodecError(format!("hello field of {len} bytes")));
        }
        let Some(bytes) = buf.get(at + 2..at + 2 + len) else {
            return Ok(None);
        };
        *field = String::from_utf8(bytes.to_vec())
            .map_err(|_| CodecError("hello field is not UTF-8".into()))?;
        at += 2 + len;
    }
    let [cluster_addr, client_addr, secret] = fields;
    Ok(Some((
        Hello {
            node_id,
            cluster_addr,
            client_addr,
            secret,
        },
        at,
    )))
}

pub fn encode_frame(frame: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(frame.len()).expect("the core bounds frames far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
}

/// The range of the whole frame at the head of `buf` and the bytes it takes, `None` if
/// it is not all there yet.
pub fn decode_frame(
    buf: &[u8],
    frame_bytes_max: usize,
) -> Result<Option<(Range<usize>, usize)>, CodecError> {
    let Some(header) = buf.get(..FRAME_HEADER_BYTES) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(header.try_into().expect("4 bytes")) as usize;
    if len > frame_bytes_max {
        return Err(CodecError(format!(
            "frame of {len} bytes exceeds {frame_bytes_max}"
        )));
    }
    let end = FRAME_HEADER_BYTES + len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((FRAME_HEADER_BYTES..end, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_waits_for_all_bytes() {
        let hello = Hello {
            node_id: NodeId(2),
            cluster_addr: "localhost:16556".into(),
            client_addr: "localhost:6556".into(),
            secret: "s".into(),
        };
        let mut bytes = Vec::new();
        encode_hello(&hello, &mut bytes);
        for cut in 0..bytes.len() {
            assert_eq!(decode_hello(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        bytes.extend_from_slice(b"rest");
        let (decoded, used) = decode_hello(&bytes).unwrap().unwrap();
        assert_eq!(decoded, hello);
        assert_eq!(&bytes[used..], b"rest");
    }

    #[test]
    fn hello_rejects_garbage() {
        assert!(decode_hello(b"GET / HTTP/1.1").is_err());
    }

    #[test]
    fn frames_split_a_stream() {
        let mut bytes = Vec::new();
        encode_frame(b"one", &mut bytes);
        encode_frame(b"", &mut bytes);
        encode_frame(b"three", &mut bytes);
        let mut at = 0;
        let mut frames = Vec::new();
        while let Some((range, used)) = decode_frame(&bytes[at..], 16).unwrap() {
            frames.push(bytes[at + range.start..at + range.end].to_vec());
            at += used;
        }
        assert_eq!(frames, [b"one".to_vec(), b"".to_vec(), b"three".to_vec()]);
        assert_eq!(decode_frame(&bytes[..2], 16), Ok(None));
        assert!(decode_frame(&bytes, 2).is_err());
    }
}
