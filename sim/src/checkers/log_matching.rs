//! Log matching: two AOFs that hold the same reign-start record (same master id) at the
//! same offset are byte-identical up to and including that record.

use std::collections::BTreeMap;

use bucket_core::aof::{scan_records, Effect, Tail};

use super::Violation;

pub const NAME: &str = "log matching";

/// Reign starts of one AOF: (offset, master id) -> end of the reign-start record.
fn reign_starts(aof: &[u8]) -> Result<BTreeMap<(u64, u64), u64>, String> {
    let mut starts = BTreeMap::new();
    let tail = scan_records(aof, |offset, record| {
        if let Effect::ReignStart { master_id } = record.effect {
            let len = bucket_core::aof::record::encoded_len(record) as u64;
            starts.insert((offset, master_id.0), offset + len);
        }
    });
    match tail {
        Tail::Corrupt { offset, reason } => Err(format!("corrupt at {offset}: {reason}")),
        Tail::Clean | Tail::Torn { .. } => Ok(starts),
    }
}

/// Check every pair of `aofs` (node, bytes).
pub fn check(aofs: &[(usize, &[u8])]) -> Result<(), Violation> {
    let mut starts = Vec::with_capacity(aofs.len());
    for &(node, aof) in aofs {
        let s = reign_starts(aof)
            .map_err(|e| Violation::new(NAME, format!("node {node}'s AOF is {e}")))?;
        starts.push(s);
    }
    for i in 0..aofs.len() {
        for j in i + 1..aofs.len() {
            check_pair(aofs[i], &starts[i], aofs[j], &starts[j])?;
        }
    }
    Ok(())
}

fn check_pair(
    (a, aof_a): (usize, &[u8]),
    starts_a: &BTreeMap<(u64, u64), u64>,
    (b, aof_b): (usize, &[u8]),
    starts_b: &BTreeMap<(u64, u64), u64>,
) -> Result<(), Violation> {
    // The last shared reign start covers every earlier one: its prefix contains theirs.
    let shared = starts_a
        .iter()
        .rev()
        .find(|(key, _)| starts_b.contains_key(key));
    let Some((&(offset, master_id), &end)) = shared else {
        return Ok(());
    };
    let end = end as usize;
    assert!(end <= aof_a.len() && end <= aof_b.len());
    if aof_a[..end] == aof_b[..end] {
        return Ok(());
    }
    let first_diff = (0..end).find(|&k| aof_a[k] != aof_b[k]).unwrap_or(end);
    Err(Violation::new(
        NAME,
        format!(
            "nodes {a} and {b} both hold reign {master_id:016x} at offset {offset} but differ at byte {first_diff}"
        ),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bucket_core::aof::record::{encode, Record};
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
        let error = check(&[(0, &a), (1, &b)]).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn diverging_after_the_last_shared_reign_passes() {
        // Node 1 holds a suffix of reign 1 that node 0 never got: allowed until a new
        // master makes it truncate.
        let a = aof(&[(1, REIGN_1), (1, set(b"x")), (2, REIGN_2)]);
        let b = aof(&[(1, REIGN_1), (1, set(b"x")), (1, set(b"z"))]);
        check(&[(0, &a), (1, &b), (2, &a)]).unwrap();
    }
}
