//! State safety: each node's keyspace equals the replay of its AOF (the whole records of
//! it: a replica may hold a record's first half until the rest arrives).

use bucket_core::aof::{apply, scan_records, Tail};
use bucket_core::keyspace::Keyspace;

use super::Violation;
use crate::replayed::ReplayedAof;

pub const NAME: &str = "state safety";

/// The digest of the keyspace that replaying `aof` builds.
pub fn replay_digest(aof: &[u8]) -> Result<u64, String> {
    // The digest does not depend on the hash keys.
    let mut keyspace = Keyspace::new((1, 2));
    let tail = scan_records(aof, |_, record| apply(&mut keyspace, &record.effect));
    match tail {
        Tail::Corrupt { offset, reason } => Err(format!("corrupt at {offset}: {reason}")),
        Tail::Clean | Tail::Torn { .. } => Ok(keyspace.digest()),
    }
}

/// Node `node`'s keyspace against the replay of its AOF's first `applied` bytes (a
/// replica rebuilding after a truncation has replayed only a prefix so far).
pub fn check(
    node: usize,
    keyspace_digest: u64,
    replayed: &ReplayedAof,
    aof: &[u8],
    applied: usize,
) -> Result<(), Violation> {
    let replayed_digest = if applied == replayed.end() {
        replayed.digest()
    } else {
        replay_digest(&aof[..applied])
            .map_err(|e| Violation::new(NAME, format!("node {node}'s AOF is {e}")))?
    };
    if replayed_digest != keyspace_digest {
        return Err(Violation::new(
            NAME,
            format!(
                "node {node}'s keyspace (digest {keyspace_digest:016x}) is not the replay of its {applied}-byte AOF (digest {replayed_digest:016x})"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::log_matching::tests::aof;
    use bucket_core::aof::Effect;

    #[test]
    fn a_keyspace_that_is_not_the_replay_fires() {
        let bytes = aof(&[(
            1,
            Effect::Set {
                key: b"a",
                value: b"1",
                expire_at: None,
            },
        )]);
        let mut keyspace = Keyspace::new((5, 6));
        keyspace.set(b"a", b"2", None);
        let replayed = ReplayedAof::of(&bytes).unwrap();
        let error = check(0, keyspace.digest(), &replayed, &bytes, bytes.len()).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn a_keyspace_that_differs_only_in_an_expiry_fires() {
        // A replica that drops or moves an expiry on its own clock: the digest covers
        // expiry times, so the value alone matching is not enough.
        let expire_at = Some(bucket_core::UnixMillis(1_000));
        let bytes = aof(&[(
            1,
            Effect::Set {
                key: b"a",
                value: b"1",
                expire_at,
            },
        )]);
        let replayed = ReplayedAof::of(&bytes).unwrap();
        for expiry in [None, Some(bucket_core::UnixMillis(2_000))] {
            let mut keyspace = Keyspace::new((5, 6));
            keyspace.set(b"a", b"1", expiry);
            let error = check(0, keyspace.digest(), &replayed, &bytes, bytes.len()).unwrap_err();
            assert_eq!(error.checker, NAME, "{expiry:?}");
        }
        let mut expired_and_dropped = Keyspace::new((5, 6));
        expired_and_dropped.set(b"a", b"1", expire_at);
        check(
            0,
            expired_and_dropped.digest(),
            &replayed,
            &bytes,
            bytes.len(),
        )
        .unwrap();
        expired_and_dropped.remove(b"a");
        let error = check(
            0,
            expired_and_dropped.digest(),
            &replayed,
            &bytes,
            bytes.len(),
        );
        assert_eq!(error.unwrap_err().checker, NAME);
    }

    #[test]
    fn the_replay_with_a_torn_tail_passes() {
        let mut bytes = aof(&[
            (
                1,
                Effect::Set {
                    key: b"a",
                    value: b"1",
                    expire_at: None,
                },
            ),
            (1, Effect::Del { key: b"a" }),
        ]);
        bytes.truncate(bytes.len() - 3);
        let mut keyspace = Keyspace::new((5, 6));
        keyspace.set(b"a", b"1", None);
        let replayed = ReplayedAof::of(&bytes).unwrap();
        check(0, keyspace.digest(), &replayed, &bytes, replayed.end()).unwrap();
    }

    #[test]
    fn a_rebuilding_replica_is_compared_with_the_prefix_it_replayed() {
        let set = |value| Effect::Set {
            key: b"a",
            value,
            expire_at: None,
        };
        let bytes = aof(&[(1, set(b"1")), (1, set(b"2"))]);
        let first_len = aof(&[(1, set(b"1"))]).len();
        let replayed = ReplayedAof::of(&bytes).unwrap();
        let mut keyspace = Keyspace::new((5, 6));
        keyspace.set(b"a", b"1", None);
        check(0, keyspace.digest(), &replayed, &bytes, first_len).unwrap();
        let error = check(0, keyspace.digest(), &replayed, &bytes, bytes.len()).unwrap_err();
        assert_eq!(error.checker, NAME);
    }
}
