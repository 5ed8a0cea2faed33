//! Replay: walking a stream of records and applying their effects to a keyspace.

use crate::aof::record::{
    decode, decode_frame, DecodeError, Effect, Record, CORRUPT_CHECKSUM, RECORD_HEADER_LEN,
};
use crate::keyspace::Keyspace;

/// Apply one effect to a keyspace. Deterministic, and needs no clock: an expired key is
/// removed only by a `Del` record.
pub fn apply(keyspace: &mut Keyspace, effect: &Effect<'_>) {
    match *effect {
        Effect::Set {
            key,
            value,
            expire_at,
        } => keyspace.set(key, value, expire_at),
        Effect::SetKeepTtl { key, value } => {
            if !keyspace.set_value(key, value) {
                keyspace.set(key, value, None);
            }
        }
        Effect::Del { key } => {
            keyspace.remove(key);
        }
        Effect::Expire { key, at } => {
            keyspace.set_expiry(key, Some(at));
        }
        Effect::Persist { key } => {
            keyspace.set_expiry(key, None);
        }
        Effect::FlushAll => keyspace.clear(),
        Effect::ReignStart { .. } => {}
        Effect::Hash(e) => e.apply(keyspace),
        Effect::List(e) => e.apply(keyspace),
        Effect::SetMembers(e) => e.apply(keyspace),
        Effect::ZSet(e) => e.apply(keyspace),
        Effect::Unit { records } => {
            for inner in crate::aof::record::unit_effects(records) {
                apply(keyspace, &inner);
            }
        }
        Effect::Rename { from, to } => {
            keyspace.rename(from, to);
        }
        Effect::Copy { from, to } => {
            keyspace.copy(from, to);
        }
    }
}

/// How a byte stream of records ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The stream ends exactly after a whole, valid record (or is empty).
    Clean,
    /// An incomplete or checksum-failed last record, starting at `offset`: cut here.
    Torn { offset: u64 },
    /// A bad record at `offset` that is not a torn last write: corruption before the tail.
    Corrupt { offset: u64, reason: &'static str },
}

/// Walk the whole records of `bytes`, calling `f(offset, record)` for each valid one in
/// order (`offset` is where the record starts, relative to the slice), and report how the
/// stream ends.
///
/// An incomplete final frame, or a frame whose checksum fails and which extends exactly
/// to the end of the bytes (a half-written last write), is a torn tail. So is a frame
/// that fails and runs into zeros that last to the end (a file system extended the file
/// but the data from there on never landed). Any other failure is corruption, and no
/// record after it is visited.
pub fn scan_records<'a>(bytes: &'a [u8], mut f: impl FnMut(u64, &Record<'a>)) -> Tail {
    let mut start = 0usize;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let offset = u64::try_from(start).expect("usize fits in u64");
        let (record, framed_len) = match decode(rest) {
            Ok(decoded) => decoded,
            Err(error) => return tail_after_error(rest, offset, &error),
        };
        assert!(framed_len > 0);
        assert!(framed_len <= rest.len());
        f(offset, &record);
        start += framed_len;
    }
    assert_eq!(start, bytes.len());
    Tail::Clean
}

/// Classify a decode failure of the record at `offset`, whose bytes run to the end of
/// the stream as `rest`.
fn tail_after_error(rest: &[u8], offset: u64, error: &DecodeError) -> Tail {
    // A file system may extend a file before a crash lets its data land, leaving zeros
    // from some point to the end: only the bytes before them were written.
    let landed_len = rest
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let claimed_len = frame_len_claimed(rest);
    match *error {
        DecodeError::Incomplete => Tail::Torn { offset },
        // Not even the header landed (all zeros, or a header cut short by them).
        DecodeError::Corrupt(_) if landed_len < RECORD_HEADER_LEN => Tail::Torn { offset },
        // A half-written last write: it ends the file, or its end never landed. A
        // whole frame with a valid checksum and a bad body is corruption, not this.
        DecodeError::Corrupt(CORRUPT_CHECKSUM)
            if claimed_len == Some(rest.len()) || claimed_len > Some(landed_len) =>
        {
            Tail::Torn { offset }
        }
        DecodeError::Corrupt(reason) => {
            debug_assert!(!matches!(decode_frame(rest), Err(DecodeError::Incomplete)));
            Tail::Corrupt { offset, reason }
        }
    }
}

/// The framed length the header at the start of `buf` claims, if the header is whole.
fn frame_len_claimed(buf: &[u8]) -> Option<usize> {
    let header = buf.get(..4)?;
    let body_len = u32::from_le_bytes(header.try_into().expect("4 bytes")) as usize;
    Some(RECORD_HEADER_LEN + body_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::record::tests::{frame, owned_effect, OwnedEffect};
    use crate::aof::record::{encode, encoded_len};
    use crate::ids::{MasterId, Term};
    use crate::time::UnixMillis;
    use proptest::prelude::*;

    fn stream(effects: &[Effect<'_>]) -> (Vec<u8>, Vec<u64>) {
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for effect in effects {
            offsets.push(bytes.len() as u64);
            encode(
                &Record {
                    term: Term(3),
                    effect: *effect,
                },
                &mut bytes,
            );
        }
        (bytes, offsets)
    }

    fn scan_all(bytes: &[u8]) -> (Vec<(u64, Record<'_>)>, Tail) {
        let mut seen = Vec::new();
        let tail = scan_records(bytes, |offset, record| seen.push((offset, *record)));
        (seen, tail)
    }

    fn three_records() -> (Vec<u8>, Vec<u64>) {
        stream(&[
            Effect::ReignStart {
                master_id: MasterId(9),
            },
            Effect::Set {
                key: b"a",
                value: b"1",
                expire_at: None,
            },
            Effect::Del { key: b"a" },
        ])
    }

    #[test]
    fn apply_each_effect() {
        let mut ks = Keyspace::new((1, 1));
        let now = UnixMillis(10);
        apply(
            &mut ks,
            &Effect::Set {
                key: b"k",
                value: b"v",
                expire_at: Some(UnixMillis(50)),
            },
        );
        assert_eq!(ks.get(b"k", now).unwrap().expire_at, Some(UnixMillis(50)));
        apply(
            &mut ks,
            &Effect::SetKeepTtl {
                key: b"k",
                value: b"w",
            },
        );
        assert_eq!(ks.get(b"k", now).unwrap().as_str(), Some(&b"w"[..]));
        assert_eq!(ks.get(b"k", now).unwrap().expire_at, Some(UnixMillis(50)));
        // On an absent key, SetKeepTtl creates it without expiry.
        apply(
            &mut ks,
            &Effect::SetKeepTtl {
                key: b"n",
                value: b"1",
            },
        );
        assert_eq!(ks.get(b"n", now).unwrap().expire_at, None);
        apply(&mut ks, &Effect::Persist { key: b"k" });
        assert_eq!(ks.get(b"k", now).unwrap().expire_at, None);
        apply(
            &mut ks,
            &Effect::Expire {
                key: b"k",
                at: UnixMillis(5),
            },
        );
        assert_eq!(ks.get(b"k", now), None);
        assert_eq!(ks.len(), 2); // Expired, not deleted.
        apply(&mut ks, &Effect::Del { key: b"k" });
        assert_eq!(ks.len(), 1);
        apply(
            &mut ks,
            &Effect::Expire {
                key: b"absent",
                at: UnixMillis(5),
            },
        );
        apply(&mut ks, &Effect::Persist { key: b"absent" });
        apply(&mut ks, &Effect::Del { key: b"absent" });
        assert_eq!(ks.len(), 1);
        let digest = ks.digest();
        apply(
            &mut ks,
            &Effect::ReignStart {
                master_id: MasterId(1),
            },
        );
        assert_eq!(ks.digest(), digest);
        apply(&mut ks, &Effect::FlushAll);
        assert!(ks.is_empty());
    }

    #[test]
    fn apply_rename_and_copy() {
        let mut ks = Keyspace::new((1, 1));
        let now = UnixMillis(10);
        let set = |key, value, at: Option<u64>| Effect::Set {
            key,
            value,
            expire_at: at.map(UnixMillis),
        };
        apply(&mut ks, &set(b"a", b"1", Some(50)));
        apply(&mut ks, &set(b"b", b"2", None));
        apply(
            &mut ks,
            &Effect::Rename {
                from: b"a",
                to: b"b",
            },
        );
        assert_eq!(ks.get(b"a", now), None);
        let b = ks.get(b"b", now).unwrap();
        assert_eq!(
            (b.as_str(), b.expire_at),
            (Some(&b"1"[..]), Some(UnixMillis(50)))
        );
        apply(
            &mut ks,
            &Effect::Copy {
                from: b"b",
                to: b"c",
            },
        );
        assert_eq!(ks.get(b"c", now), ks.get(b"b", now));
        assert_eq!(ks.len(), 2);
        // Absent sources and renames to themselves change nothing.
        let digest = ks.digest();
        apply(
            &mut ks,
            &Effect::Rename {
                from: b"x",
                to: b"b",
            },
        );
        apply(
            &mut ks,
            &Effect::Copy {
                from: b"x",
                to: b"b",
            },
        );
        apply(
            &mut ks,
            &Effect::Rename {
                from: b"b",
                to: b"b",
            },
        );
        assert_eq!(ks.digest(), digest);
    }

    #[test]
    fn a_snapshot_during_renames_and_copies_is_the_keyspace_at_its_cut() {
        let mut ks = Keyspace::new((3, 4));
        for i in 0..8u8 {
            ks.set(&[b'k', i], &[i], None);
        }
        let at_cut: Vec<(Vec<u8>, Vec<u8>)> = ks
            .iter()
            .map(|(k, e)| (k.to_vec(), e.as_str().unwrap().to_vec()))
            .collect();
        ks.begin_snapshot();
        let mut slices = vec![ks.snapshot_slice(3)];
        apply(
            &mut ks,
            &Effect::Rename {
                from: b"k1",
                to: b"k6",
            },
        );
        apply(
            &mut ks,
            &Effect::Rename {
                from: b"k7",
                to: b"new",
            },
        );
        apply(
            &mut ks,
            &Effect::Copy {
                from: b"k5",
                to: b"k0",
            },
        );
        while ks.snapshot_running() {
            slices.push(ks.snapshot_slice(3));
        }
        // The slices as one base, decoded back.
        use crate::aof::base;
        let header = base::BaseHeader {
            offset: crate::ids::Offset(0),
            last_term: Term(0),
            reigns: Vec::new(),
        };
        let mut bytes = Vec::new();
        base::encode_start(&header, &mut bytes);
        let mut total = 0;
        for slice in &slices {
            base::encode_entries(slice.count, &slice.entries, &mut bytes);
            total += u64::from(slice.count);
        }
        base::encode_end(total, &mut bytes);
        let mut written = Vec::new();
        base::decode(&bytes, &mut |e| {
            written.push((e.key.to_vec(), e.value.as_str().unwrap().to_vec()));
            Ok(())
        })
        .unwrap();
        written.sort();
        let mut want = at_cut;
        want.sort();
        assert_eq!(written, want);
    }

    #[test]
    fn clean_stream_visits_every_record() {
        let (bytes, offsets) = three_records();
        let (seen, tail) = scan_all(&bytes);
        assert_eq!(tail, Tail::Clean);
        let seen_offsets: Vec<u64> = seen.iter().map(|(offset, _)| *offset).collect();
        assert_eq!(seen_offsets, offsets);
        assert_eq!(seen[2].1.effect, Effect::Del { key: b"a" });
        assert_eq!(scan_all(&[]).1, Tail::Clean);
    }

    #[test]
    fn torn_and_corrupt_tails() {
        let (bytes, offsets) = three_records();
        let last = offsets[2] as usize;
        let mut bad_crc_last = bytes.clone();
        *bad_crc_last.last_mut().unwrap() ^= 0x80;
        let mut bad_crc_middle = bytes.clone();
        bad_crc_middle[offsets[2] as usize - 1] ^= 0x80;
        let mut bad_crc_last_then_junk = bad_crc_last.clone();
        bad_crc_last_then_junk.push(0);
        let mut zero_header = bytes.clone();
        zero_header.extend_from_slice(&[0; RECORD_HEADER_LEN]);
        let zeros_from = |cut: usize| {
            let mut zeroed = bytes[..cut].to_vec();
            zeroed.resize(bytes.len() + 32, 0);
            zeroed
        };
        let mut bad_crc_last_then_zeros = bad_crc_last.clone();
        bad_crc_last_then_zeros.extend_from_slice(&[0; 32]);
        let mut bad_tag_last = bytes.clone();
        bad_tag_last.extend_from_slice(&frame(&[1, 0, 0, 0, 0, 0, 0, 0, 99]));
        let checksum = CORRUPT_CHECKSUM;
        let cases: Vec<(&str, Vec<u8>, Tail, usize)> = vec![
            (
                "cut in header",
                bytes[..last + 3].to_vec(),
                Tail::Torn {
                    offset: last as u64,
                },
                2,
            ),
            (
                "cut in body",
                bytes[..bytes.len() - 1].to_vec(),
                Tail::Torn {
                    offset: last as u64,
                },
                2,
            ),
            (
                "bad checksum, last",
                bad_crc_last,
                Tail::Torn {
                    offset: last as u64,
                },
                2,
            ),
            (
                "bad checksum, then more",
                bad_crc_middle,
                Tail::Corrupt {
                    offset: offsets[1],
                    reason: checksum,
                },
                1,
            ),
            (
                "bad checksum, then one byte",
                bad_crc_last_then_junk,
                Tail::Corrupt {
                    offset: last as u64,
                    reason: checksum,
                },
                2,
            ),
            (
                "zeros where the last write should be",
                zero_header,
                Tail::Torn {
                    offset: bytes.len() as u64,
                },
                3,
            ),
            (
                "zeros from inside the last record's body to past its end",
                zeros_from(last + RECORD_HEADER_LEN + 2),
                Tail::Torn {
                    offset: last as u64,
                },
                2,
            ),
            (
                "zeros from inside the last record's header",
                zeros_from(last + 2),
                Tail::Torn {
                    offset: last as u64,
                },
                2,
            ),
            (
                "zeros from inside a middle record",
                zeros_from(offsets[1] as usize + RECORD_HEADER_LEN + 1),
                Tail::Torn { offset: offsets[1] },
                1,
            ),
            (
                "bad checksum on a whole last record, then zeros",
                bad_crc_last_then_zeros,
                Tail::Corrupt {
                    offset: last as u64,
                    reason: checksum,
                },
                2,
            ),
            (
                "valid checksum, unknown tag",
                bad_tag_last,
                Tail::Corrupt {
                    offset: bytes.len() as u64,
                    reason: "unknown record tag",
                },
                3,
            ),
        ];
        for (i, (name, case_bytes, want, records_want)) in cases.into_iter().enumerate() {
            let (seen, tail) = scan_all(&case_bytes);
            assert_eq!(tail, want, "#{i}: {name}");
            assert_eq!(seen.len(), records_want, "#{i}: {name}");
        }
    }

    /// One operation of the model test, as the master would perform it.
    #[derive(Clone, Debug)]
    enum Op {
        Set {
            key: u8,
            value: Vec<u8>,
            expire_at: Option<u64>,
        },
        SetKeepTtl {
            key: u8,
            value: Vec<u8>,
        },
        Remove {
            key: u8,
        },
        SetExpiry {
            key: u8,
            expire_at: Option<u64>,
        },
        Clear,
        /// Advance the clock by this many milliseconds, then expire what is due.
        Expire {
            elapsed_ms: u64,
            budget: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = || 0u8..12;
        let value = || proptest::collection::vec(any::<u8>(), 0..6);
        let expire_at = || proptest::option::of(1u64..200);
        prop_oneof![
            4 => (key(), value(), expire_at()).prop_map(|(key, value, expire_at)| Op::Set { key, value, expire_at }),
            2 => (key(), value()).prop_map(|(key, value)| Op::SetKeepTtl { key, value }),
            2 => key().prop_map(|key| Op::Remove { key }),
            2 => (key(), expire_at()).prop_map(|(key, expire_at)| Op::SetExpiry { key, expire_at }),
            1 => Just(Op::Clear),
            2 => (0u64..40, 1usize..6).prop_map(|(elapsed_ms, budget)| Op::Expire { elapsed_ms, budget }),
        ]
    }

    /// Perform `op` on `ks` as the master would, and log the equivalent effects.
    fn perform(ks: &mut Keyspace, now: &mut UnixMillis, op: &Op, log: &mut Vec<u8>) {
        let mut log_effect = |effect: Effect<'_>| {
            encode(
                &Record {
                    term: Term(1),
                    effect,
                },
                log,
            )
        };
        match op {
            Op::Set {
                key,
                value,
                expire_at,
            } => {
                ks.set(&[*key], value, expire_at.map(UnixMillis));
                log_effect(Effect::Set {
                    key: &[*key],
                    value,
                    expire_at: expire_at.map(UnixMillis),
                });
            }
            Op::SetKeepTtl { key, value } => {
                if !ks.set_value(&[*key], value) {
                    ks.set(&[*key], value, None);
                }
                log_effect(Effect::SetKeepTtl {
                    key: &[*key],
                    value,
                });
            }
            Op::Remove { key } => {
                ks.remove(&[*key]);
                log_effect(Effect::Del { key: &[*key] });
            }
            Op::SetExpiry {
                key,
                expire_at: Some(at),
            } => {
                if ks.set_expiry(&[*key], Some(UnixMillis(*at))) {
                    log_effect(Effect::Expire {
                        key: &[*key],
                        at: UnixMillis(*at),
                    });
                }
            }
            Op::SetExpiry {
                key,
                expire_at: None,
            } => {
                if ks.set_expiry(&[*key], None) {
                    log_effect(Effect::Persist { key: &[*key] });
                }
            }
            Op::Clear => {
                ks.clear();
                log_effect(Effect::FlushAll);
            }
            Op::Expire { elapsed_ms, budget } => {
                *now = UnixMillis(now.0 + elapsed_ms);
                let mut expired = Vec::new();
                ks.collect_expired(*now, *budget, &mut expired);
                for key in &expired {
                    assert!(ks.get(key, *now).is_none());
                    assert!(ks.remove(key));
                    log_effect(Effect::Del { key });
                }
            }
        }
    }

    fn replay(log: &[u8], hash_keys: (u64, u64)) -> (Keyspace, Tail) {
        let mut ks = Keyspace::new(hash_keys);
        let tail = scan_records(log, |_, record| apply(&mut ks, &record.effect));
        (ks, tail)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// The keyspace a master builds equals the replay of the records it logged, on a
        /// replica with other hash keys (so another storage order).
        #[test]
        fn replay_of_logged_effects_gives_the_same_keyspace(
            ops in proptest::collection::vec(op(), 0..120),
        ) {
            let mut master = Keyspace::new((11, 12));
            let mut now = UnixMillis(1);
            let mut log = Vec::new();
            let mut digests = Vec::new();
            for op in &ops {
                perform(&mut master, &mut now, op, &mut log);
                digests.push((log.len(), master.digest()));
            }
            let (replica, tail) = replay(&log, (99, 100));
            prop_assert_eq!(tail, Tail::Clean);
            prop_assert_eq!(replica.len(), master.len());
            prop_assert_eq!(replica.digest(), master.digest());
            // Every prefix of whole records replays to the master's state at that point.
            for (log_len, digest) in digests.iter().rev().take(5) {
                let (prefix, tail) = replay(&log[..*log_len], (5, 6));
                prop_assert_eq!(tail, Tail::Clean);
                prop_assert_eq!(prefix.digest(), *digest);
            }
        }

        #[test]
        fn scan_records_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let mut ks = Keyspace::new((0, 0));
            let mut offset_next = 0u64;
            let tail = scan_records(&bytes, |offset, record| {
                assert_eq!(offset, offset_next);
                offset_next += encoded_len(record) as u64;
                apply(&mut ks, &record.effect);
            });
            match tail {
                Tail::Clean => prop_assert_eq!(offset_next, bytes.len() as u64),
                Tail::Torn { offset } | Tail::Corrupt { offset, .. } => prop_assert_eq!(offset, offset_next),
            }
        }

        /// Arbitrary bodies with valid checksums reach the field decoder.
        #[test]
        fn framed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..48)) {
            let bytes = frame(&body);
            let mut ks = Keyspace::new((0, 0));
            let tail = scan_records(&bytes, |_, record| apply(&mut ks, &record.effect));
            let torn = matches!(tail, Tail::Torn { .. });
            // Only an all-zero frame (an empty body has checksum zero) reads as torn.
            let zeros = bytes.iter().all(|&b| b == 0);
            prop_assert_eq!(torn, zeros, "a whole frame is torn only if all zeros: {:?}", tail);
        }

        /// Cutting a valid stream anywhere keeps every record before the cut, and the cut
        /// is reported as torn unless it falls on a record boundary.
        #[test]
        fn truncation_gives_torn_or_clean(
            owned in proptest::collection::vec(owned_effect(), 1..8),
            cut_pick in any::<usize>(),
        ) {
            let effects: Vec<Effect<'_>> = owned.iter().map(OwnedEffect::effect).collect();
            let (bytes, offsets) = stream(&effects);
            let cut = cut_pick % (bytes.len() + 1);
            let (seen, tail) = scan_all(&bytes[..cut]);
            let end_of = |index: usize| offsets.get(index + 1).map_or(bytes.len() as u64, |&e| e);
            let whole: Vec<u64> = (0..offsets.len())
                .filter(|&index| end_of(index) <= cut as u64)
                .map(|index| offsets[index])
                .collect();
            let seen_offsets: Vec<u64> = seen.iter().map(|(o, _)| *o).collect();
            prop_assert_eq!(&seen_offsets, &whole);
            for (i, (_, record)) in seen.iter().enumerate() {
                prop_assert_eq!(record.effect, effects[i]);
            }
            let boundary_end = whole.len().checked_sub(1).map_or(0, end_of);
            if boundary_end == cut as u64 {
                prop_assert_eq!(tail, Tail::Clean);
            } else {
                prop_assert_eq!(tail, Tail::Torn { offset: boundary_end });
            }
        }
    }
}
