//! State safety: each node's keyspace equals the replay of its AOF (the whole records of
//! it: a replica may hold a record's first half until the rest arrives).

use bucket_core::aof::{apply, scan_records, Tail};
use bucket_core::keyspace::Keyspace;

use super::Violation;

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

pub fn check(node: usize, keyspace_digest: u64, aof: &[u8]) -> Result<(), Violation> {
    let replayed = replay_digest(aof)
        .map_err(|e| Violation::new(NAME, format!("node {node}'s AOF is {e}")))?;
    if replayed != keyspace_digest {
        return Err(Violation::new(
            NAME,
            format!(
                "node {node}'s keyspace (digest {keyspace_digest:016x}) is not the replay of its {}-byte AOF (digest {replayed:016x})",
                aof.len()
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
        let error = check(0, keyspace.digest(), &bytes).unwrap_err();
        assert_eq!(error.checker, NAME);
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
        check(0, keyspace.digest(), &bytes).unwrap();
    }
}
