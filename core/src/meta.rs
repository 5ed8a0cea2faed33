//! The node's metadata file: term, vote, reign ids and the reign chain.
//! Written whole and atomically by the driver on every `PersistMeta`.
//!
//! Layout: magic "BKTM", version u8, crc32 u32 LE of the body, body length u32 LE, body.
//! Body: term u64, voted_for (u8 flag + u32), current and last master id u64, reign count
//! u32, then each reign as master id u64, term u64, start offset u64.

use crate::bytes::Reader;
use crate::ids::{MasterId, NodeId, Offset, Term};

const MAGIC: &[u8; 4] = b"BKTM";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 4;
const REIGN_LEN: usize = 24;
/// More reigns than this in one file means corruption, not history.
pub const REIGNS_MAX: usize = 1 << 20;

/// One master's reign: who, in which term, and where its records begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reign {
    pub master_id: MasterId,
    pub term: Term,
    pub start: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub current_master_id: MasterId,
    pub last_master_id: MasterId,
    pub reigns: Vec<Reign>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaError(pub &'static str);

impl From<crate::bytes::FieldError> for MetaError {
    fn from(e: crate::bytes::FieldError) -> MetaError {
        MetaError(e)
    }
}

impl Meta {
    pub fn encode(&self) -> Vec<u8> {
        assert!(
            self.reigns.len() <= REIGNS_MAX,
            "reign chain exceeds its bound"
        );
        let mut body = Vec::with_capacity(40 + self.reigns.len() * REIGN_LEN);
        body.extend_from_slice(&self.term.0.to_le_bytes());
        body.push(self.voted_for.is_some() as u8);
        body.extend_from_slice(&self.voted_for.map_or(0, |n| n.0).to_le_bytes());
        body.extend_from_slice(&self.current_master_id.0.to_le_bytes());
        body.extend_from_slice(&self.last_master_id.0.to_le_bytes());
        encode_reigns(&self.reigns, &mut body);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Meta, MetaError> {
        if bytes.len() < HEADER_LEN || &bytes[..4] != MAGIC {
            return Err(MetaError("not a Bucket metadata file"));
        }
        if bytes[4] != VERSION {
            return Err(MetaError("unknown metadata version"));
        }
        let crc = u32::from_le_bytes(bytes[5..9].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(bytes[9..13].try_into().expect("4 bytes")) as usize;
        let body = &bytes[HEADER_LEN..];
        if body.len() != len {
            return Err(MetaError("metadata length does not match the file"));
        }
        if crc32fast::hash(body) != crc {
            return Err(MetaError("metadata checksum mismatch"));
        }
        decode_body(body)
    }
}

/// A reign chain as the metadata file and a base header hold it: count `u32`, then
/// master id, term and start `u64` each.
pub(crate) fn encode_reigns(reigns: &[Reign], out: &mut Vec<u8>) {
    assert!(reigns.len() <= REIGNS_MAX, "reign chain exceeds its bound");
    out.extend_from_slice(&(reigns.len() as u32).to_le_bytes());
    for reign in reigns {
        out.extend_from_slice(&reign.master_id.0.to_le_bytes());
        out.extend_from_slice(&reign.term.0.to_le_bytes());
        out.extend_from_slice(&reign.start.0.to_le_bytes());
    }
}

/// The reign chain that ends `reader`'s bytes (its count must fit them exactly).
pub(crate) fn decode_reigns(
    reader: &mut Reader<'_>,
) -> Result<Vec<Reign>, crate::bytes::FieldError> {
    let count = reader.u32()? as usize;
    if count > REIGNS_MAX || count * REIGN_LEN != reader.rest.len() {
        return Err("bad reign count");
    }
    let mut reigns = Vec::with_capacity(count);
    for _ in 0..count {
        reigns.push(Reign {
            master_id: MasterId(reader.u64()?),
            term: Term(reader.u64()?),
            start: Offset(reader.u64()?),
        });
    }
    Ok(reigns)
}

fn decode_body(body: &[u8]) -> Result<Meta, MetaError> {
    let mut reader = Reader::new(body);
    let term = Term(reader.u64()?);
    let has_vote = reader.u8()?;
    let vote = reader.u32()?;
    let voted_for = match has_vote {
        0 => None,
        1 => Some(NodeId(vote)),
        _ => return Err(MetaError("bad vote flag")),
    };
    let current_master_id = MasterId(reader.u64()?);
    let last_master_id = MasterId(reader.u64()?);
    let reigns = decode_reigns(&mut reader)?;
    Ok(Meta {
        term,
        voted_for,
        current_master_id,
        last_master_id,
        reigns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Meta {
        Meta {
            term: Term(7),
            voted_for: Some(NodeId(2)),
            current_master_id: MasterId(99),
            last_master_id: MasterId(42),
            reigns: vec![
                Reign {
                    master_id: MasterId(42),
                    term: Term(3),
                    start: Offset(0),
                },
                Reign {
                    master_id: MasterId(99),
                    term: Term(7),
                    start: Offset(512),
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let meta = sample();
        assert_eq!(Meta::decode(&meta.encode()), Ok(meta));
        let empty = Meta::default();
        assert_eq!(Meta::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = sample().encode();
        for bit in 0..bytes.len() * 8 {
            let mut broken = bytes.clone();
            broken[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Meta::decode(&broken).is_err(),
                "bit {bit} flipped unnoticed"
            );
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Meta::decode(&bytes);
        }

        #[test]
        fn truncation_is_detected(cut in 0usize..100) {
            let bytes = sample().encode();
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(Meta::decode(&bytes[..cut]).is_err());
        }
    }
}
