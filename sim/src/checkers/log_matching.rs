//! Log matching: two AOFs that hold the same reign-start record (same master id) at the
//! same offset are byte-identical up to and including that record.

use std::collections::BTreeMap;

use super::Violation;

pub const NAME: &str = "log matching";

/// Each node's reign starts: (offset, master id) -> CRC32 of its AOF up to the end of
/// that reign-start record (see `ReplayedAof`).
pub type ReignPrefixes<'a> = (usize, &'a BTreeMap<(u64, u64), u32>);

/// Check every pair of nodes: if both hold the same reign start at the same offset,
/// their AOFs up to it must be identical. The last shared reign start covers every
/// earlier one, since its prefix contains theirs.
pub fn check(nodes: &[ReignPrefixes<'_>]) -> Result<(), Violation> {
    for (i, &(a, starts_a)) in nodes.iter().enumerate() {
        for &(b, starts_b) in &nodes[i + 1..] {
            let shared = starts_a
                .iter()
                .rev()
                .find(|(key, _)| starts_b.contains_key(key));
            let Some((&(offset, master_id), &crc_a)) = shared else {
                continue;
            };
            if starts_b[&(offset, master_id)] != crc_a {
                let detail = format!(
                    "nodes {a} and {b} both hold reign {master_id:016x} at offset {offset} but their AOFs before it differ"
                );
                return Err(Violation::new(NAME, detail));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::replayed::ReplayedAof;
    use bucket_core::aof::record::{encode, Record};
    use bucket_core::aof::Effect;
    use bucket_core::{MasterId, Term};

    /// An AOF of reign starts and SETs, as (term, effect) pairs.
    pub(crate) fn aof(records: &[(u64, Effect<'_>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(term, effect) in records {
            encode(
                &Record {
                    term: Term(term),
                    effect,
                },
                &mut out,
            );
        }
        out
    }

    fn set(value: &[u8]) -> Effect<'_> {
        Effect::Set {
            key: b"k",
            value,
            expire_at: None,
        }
    }

    const REIGN_1: Effect<'static> = Effect::ReignStart {
        master_id: MasterId(11),
    };
    const REIGN_2: Effect<'static> = Effect::ReignStart {
        master_id: MasterId(22),
    };

    #[test]
    fn diverging_before_a_shared_reign_fires() {
        let a = aof(&[(1, REIGN_1), (1, set(b"x")), (2, REIGN_2)]);
        let b = aof(&[(1, REIGN_1), (1, set(b"y")), (2, REIGN_2)]);
        let (a, b) = (ReplayedAof::of(&a).unwrap(), ReplayedAof::of(&b).unwrap());
        let error = check(&[(0, a.reigns()), (1, b.reigns())]).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn diverging_after_the_last_shared_reign_passes() {
        // Node 1 holds a suffix of reign 1 that node 0 never got: allowed until a new
        // master makes it truncate.
        let a = aof(&[(1, REIGN_1), (1, set(b"x")), (2, REIGN_2)]);
        let b = aof(&[(1, REIGN_1), (1, set(b"x")), (1, set(b"z"))]);
        let (a, b) = (ReplayedAof::of(&a).unwrap(), ReplayedAof::of(&b).unwrap());
        check(&[(0, a.reigns()), (1, b.reigns()), (2, a.reigns())]).unwrap();
    }
}
