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
            encode_entry(key, ValueRef::Str(value), *at, &mut buf);
        }
        encode_entries(chunk.len() as u32, &buf, &mut out);
    }
    encode_end(entries.len() as u64, &mut out);
    out
}

fn decode_all(bytes: &[u8]) -> Result<(BaseHeader, Vec<Owned>), BaseError> {
    let mut got = Vec::new();
    let header = decode(bytes, &mut |e| {
        got.push((
            e.key.to_vec(),
            e.value.as_str().unwrap().to_vec(),
            e.expire_at,
        ));
        Ok(())
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
                    got.push((
                        e.key.to_vec(),
                        e.value.as_str().unwrap().to_vec(),
                        e.expire_at,
                    ));
                    Ok(())
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

#[test]
fn a_flaw_is_reported_at_the_start_of_its_section() {
    // Sections of one entry each: corrupt the body of the third entries section, and
    // feed the file in two chunks split before it, so the decoder's position is past
    // zero when it finds the flaw.
    let entries = sample_entries();
    let bytes = encode_base(&header(), &entries, 1);
    let mut starts = Vec::new();
    let mut at = PRELUDE_LEN;
    while at < bytes.len() {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += SECTION_HEADER_LEN + len;
    }
    assert_eq!(starts.len(), 1 + entries.len() + 1, "header, entries, end");
    let third_entries = starts[3];
    let mut broken = bytes.clone();
    broken[third_entries + SECTION_HEADER_LEN + 2] ^= 0x10;
    let mut decoder = BaseDecoder::new();
    let split = starts[2] + 3;
    decoder
        .feed(&broken[..split], &mut |_| {}, &mut |_| Ok(()))
        .unwrap();
    assert_eq!(decoder.position(), starts[2] as u64);
    let error = decoder
        .feed(&broken[split..], &mut |_| {}, &mut |_| Ok(()))
        .unwrap_err();
    assert_eq!(error.position, third_entries as u64, "{error:?}");
    // A wrong magic is reported at byte zero, a wrong version at byte four.
    let mut magic = bytes.clone();
    magic[1] ^= 1;
    assert_eq!(decode_all(&magic).unwrap_err().position, 0);
    let mut version = bytes;
    version[4] ^= 1;
    assert_eq!(decode_all(&version).unwrap_err().position, 4);
}

/// A base whose header section holds these fields, checksummed, then an empty end.
fn with_raw_header(offset: u64, last_term: u64, reign_starts: &[u64]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(VERSION);
    let mut body = vec![KIND_HEADER];
    body.extend_from_slice(&offset.to_le_bytes());
    body.extend_from_slice(&last_term.to_le_bytes());
    body.extend_from_slice(&(reign_starts.len() as u32).to_le_bytes());
    for (i, start) in reign_starts.iter().enumerate() {
        body.extend_from_slice(&(i as u64 + 1).to_le_bytes());
        body.extend_from_slice(&last_term.to_le_bytes());
        body.extend_from_slice(&start.to_le_bytes());
    }
    push_section(&body, &mut out);
    encode_end(0, &mut out);
    out
}

#[test]
fn a_header_that_contradicts_itself_is_corruption() {
    assert!(decode_all(&with_raw_header(200, 3, &[0, 100])).is_ok());
    assert!(decode_all(&with_raw_header(10, 3, &[])).is_ok());
    let bad: [(u64, u64, &[u64]); 5] = [
        (200, 3, &[100, 50]),
        (200, 3, &[100, 100]),
        (200, 3, &[0, 200]),
        (0, 3, &[]),
        (10, 0, &[]),
    ];
    for (offset, term, starts) in bad {
        let error = decode_all(&with_raw_header(offset, term, starts)).unwrap_err();
        assert_eq!(
            error.position, PRELUDE_LEN as u64,
            "{offset} {term} {starts:?}"
        );
    }
}

#[test]
fn an_oversized_section_length_is_refused_at_once() {
    let mut bytes = MAGIC.to_vec();
    bytes.push(VERSION);
    bytes.extend_from_slice(&((SECTION_BODY_BYTES_MAX + 1) as u32).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    let mut decoder = BaseDecoder::new();
    let error = decoder
        .feed(&bytes, &mut |_| {}, &mut |_| Ok(()))
        .unwrap_err();
    assert_eq!(error.position, PRELUDE_LEN as u64);
}
