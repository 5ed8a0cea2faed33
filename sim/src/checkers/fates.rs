//! What became of each write of unknown outcome (a timeout, a lost connection), from
//! what the simulator saw: which master applied the write, where in its AOF
//! (`History::applied`), and the final master's AOF. In majority mode a write is
//! visible only once committed, and a committed record is never cut, so such a write
//! has one of these fates:
//! - its records are in the final AOF: it took effect, with the answer its record
//!   implies, after its invocation and before any write recorded after it was
//!   acknowledged (that write's commit covered it);
//! - its records were cut, or no master ever applied it (the request never arrived,
//!   was redirected, or changed nothing): it never took effect;
//! - a master appended records the simulator could not tie to it: it may have taken
//!   effect, or not, as for a client.

use std::collections::BTreeMap;

use bucket_core::meta::Reign;

use crate::history::{Applied, History, Outcome, Value};

/// What became of a write the simulator saw a master apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Its records are in the final AOF: it took effect, with this answer (`None`: one
    /// its record does not imply), and before `by`: the earliest return of an
    /// acknowledged write recorded after it, since the commit that acknowledged that
    /// write covered this one (`u64::MAX` if none).
    Took { output: Option<Value>, by: u64 },
    /// Its records were cut: it never took effect.
    Lost,
    /// A master appended records while serving it that were not plainly its own.
    Unclear,
}

/// Op index -> fate, for every write a master applied. A write not listed never took
/// effect.
pub type Fates = BTreeMap<usize, Fate>;

/// The fate of every write in `history.applied`, from the final master's reign chain
/// and AOF end. A record at (reign, offset) is in the final AOF when the final reign
/// covering that offset is the same reign (log matching: same reign and offset, same
/// bytes) and the AOF reaches past it.
pub fn fates(history: &History, final_reigns: &[Reign], final_end: u64) -> Fates {
    let kept = |applied: &Applied| {
        let covering = final_reigns
            .iter()
            .rev()
            .find(|reign| reign.start.0 <= applied.offset);
        applied.offset < final_end
            && covering.is_some_and(|reign| reign.master_id.0 == applied.master_id)
    };
    let by = acked_after(history, &kept);
    let fate = |applied: &Applied| {
        if kept(applied) {
            Fate::Took {
                output: applied.output.clone(),
                by: by(applied.offset),
            }
        } else {
            Fate::Lost
        }
    };
    let unclear = history.unclear.iter().map(|&op| (op, Fate::Unclear));
    history
        .applied
        .iter()
        .map(|(&op, applied)| (op, fate(applied)))
        .chain(unclear)
        .collect()
}

/// For an offset of the final AOF, the earliest return among the acknowledged writes
/// recorded after it.
fn acked_after(history: &History, kept: &impl Fn(&Applied) -> bool) -> impl Fn(u64) -> u64 {
    let mut acked: Vec<(u64, u64)> = history
        .applied
        .iter()
        .filter(|(_, applied)| kept(applied))
        .filter_map(|(&op, applied)| {
            let op = &history.ops[op];
            let ret = op.ret.filter(|_| matches!(op.outcome, Outcome::Ok(_)));
            ret.map(|ret| (applied.offset, ret))
        })
        .collect();
    acked.sort_unstable();
    // earliest_from[i]: the earliest return among acked[i..].
    let mut earliest_from = vec![u64::MAX; acked.len() + 1];
    for i in (0..acked.len()).rev() {
        earliest_from[i] = earliest_from[i + 1].min(acked[i].1);
    }
    move |offset| earliest_from[acked.partition_point(|&(o, _)| o <= offset)]
}

#[cfg(test)]
impl Fate {
    /// Shorthand for the tests of this module and of the linearizability checker.
    pub(crate) fn took(output: Value, by: u64) -> Fate {
        Fate::Took {
            output: Some(output),
            by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, OpKind};

    fn set(client: usize, value: &str, call: u64, ret: Option<u64>) -> Op {
        let outcome = match ret {
            Some(_) => Outcome::Ok(Value::Ok),
            None => Outcome::Unknown("timed out".into()),
        };
        Op {
            client,
            key: b"k".to_vec(),
            kind: OpKind::Set(value.as_bytes().to_vec()),
            call,
            ret,
            call_ms: call,
            ret_ms: ret,
            outcome,
        }
    }

    #[test]
    fn fates_follow_the_final_reign_chain() {
        let reign = |master_id, start| Reign {
            master_id: bucket_core::MasterId(master_id),
            term: bucket_core::Term(1),
            start: bucket_core::Offset(start),
        };
        let applied = |offset| Applied {
            master_id: 7,
            offset,
            output: Some(Value::Ok),
        };
        // Op 0 timed out; op 2, recorded after it, was acked at stamp 9.
        let mut history = History {
            ops: vec![
                set(0, "a", 1, None),
                set(1, "b", 2, None),
                set(2, "c", 3, Some(9)),
            ],
            ..History::default()
        };
        history.applied.insert(0, applied(50));
        history.applied.insert(2, applied(70));
        history.unclear.insert(1);
        let kept = fates(&history, &[reign(1, 0), reign(7, 40)], 100);
        assert_eq!(kept[&0], Fate::took(Value::Ok, 9));
        assert_eq!(kept[&1], Fate::Unclear);
        assert_eq!(kept[&2], Fate::took(Value::Ok, u64::MAX));
        // Cut back to before the record, or overwritten by another reign: lost.
        assert_eq!(
            fates(&history, &[reign(1, 0), reign(7, 40)], 50)[&0],
            Fate::Lost
        );
        assert_eq!(
            fates(&history, &[reign(1, 0), reign(9, 40)], 100)[&0],
            Fate::Lost
        );
    }
}
