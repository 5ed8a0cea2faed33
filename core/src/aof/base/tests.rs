use super::*;
use crate::ids::MasterId;
use proptest::prelude::*;

type Owned = (Vec<u8>, Vec<u8>, Option<UnixMillis>);

fn header() -> BaseHeader {
    BaseHeader {
        offset: Offset(900),
        last_term: Term(3),
        reigns: vec![
            Reign {
                master_id: MasterId(11),
                term: Term(1),
                start: Offset(0),
            },
            Reign {
                master_id: MasterId(12),
                term: Term(3),
                start: Offset(400),
            },
        ],
    }
}

fn sample_entries() -> Vec<Owned> {
    vec![
        (b"a".to_vec(), b"1".to_vec(), None),
        (
            b"".to_vec(),
            b"empty key".to_vec(),
            Some(UnixMillis(1_700_000_000_000)),
        ),
        (b"bin\0\xff".to_vec(), vec![7; 300], None),
    ]
}

/// A base of `entries`, split into sections of at most `per_section` entries.
fn encode_base(header: &BaseHeader, entries: &[Owned], per_section: usize) -> Vec<u8> {
    let mut out = Vec::new();
    encode_start(header, &mut out);
    for chunk in entries.chunks(per_section.max(1)) {
        let mut buf = Vec::new();
        for (key, value, at) in chunk {
            encode_entry(key, value, *at, &mut buf);
        }
        encode_entries(chunk.len() as u32, &buf, &mut out);
    }
    encode_end(entries.len() as u64, &mut out);
    out
}

fn decode_all(bytes: &[u8]) -> Result<(BaseHeader, Vec<Owned>), BaseError> {
    let mut got = Vec::new();
    let header = decode(bytes, &mut |e| {
        got.push((e.key.to_vec(), e.value.to_vec(), e.expire_at))
    })?;
    Ok((header, got))
}

#[test]
fn round_trips() {
    let bytes = encode_base(&header(), &sample_entries(), 2);
    assert_eq!(decode_all(&bytes), Ok((header(), sample_entries())));
}

#[test]
fn an_empty_base_at_offset_zero_round_trips() {
    let empty = BaseHeader {
        offset: Offset(0),
        last_term: Term(0),
        reigns: Vec::new(),
    };
    let bytes = encode_base(&empty, &[], 1);
    assert_eq!(decode_all(&bytes), Ok((empty, Vec::new())));
}

#[test]
fn chunks_split_anywhere_decode_the_same() {
    let bytes = encode_base(&header(), &sample_entries(), 1);
    for split in 0..=bytes.len() {
        let mut decoder = BaseDecoder::new();
        let mut got = Vec::new();
        let mut seen = None;
        for part in [&bytes[..split], &bytes[split..]] {
            decoder
                .feed(part, &mut |h| seen = Some(h), &mut |e| {
                    got.push((e.key.to_vec(), e.value.to_vec(), e.expire_at))
                })
                .unwrap();
        }
        decoder.finish().unwrap();
        assert_eq!(decoder.position(), bytes.len() as u64);
        assert_eq!(seen, Some(header()));
        assert_eq!(got, sample_entries(), "split at {split}");
    }
}

#[test]
fn every_flipped_bit_is_detected() {
    let bytes = encode_base(&header(), &sample_entries(), 2);
    for bit in 0..bytes.len() * 8 {
        let mut broken = bytes.clone();
        broken[bit / 8] ^= 1 << (bit % 8);
        let error = decode_all(&broken).expect_err("a flipped bit is corruption");
        assert!(error.position <= (bit / 8) as u64, "bit {bit}: {error:?}");
    }
}

#[test]
fn every_truncation_is_detected() {
    let bytes = encode_base(&header(), &sample_entries(), 2);
    for cut in 0..bytes.len() {
        assert!(decode_all(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn bytes_after_the_end_are_corruption() {
    let mut bytes = encode_base(&header(), &sample_entries(), 2);
    let len = bytes.len() as u64;
    bytes.push(0);
    assert_eq!(decode_all(&bytes).unwrap_err().position, len);
}

#[test]
fn a_wrong_entry_count_is_corruption() {
    let mut out = Vec::new();
    encode_start(&header(), &mut out);
    encode_end(1, &mut out);
    assert!(decode_all(&out).is_err());
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_all(&bytes);
        let mut with_magic = b"BKTB\x01".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = decode_all(&with_magic);
    }
}
