//! Which client write a master's AOF records belong to. A client that times out cannot
//! tell whether its write took effect; the simulator can, by noting the records a master
//! appends while serving the write, and later finding whether the final AOF kept them.
//! The linearizability checker uses this to decide the fate of writes of unknown
//! outcome instead of searching every place they might have taken effect.
//!
//! One packet may carry a pipeline of writes. The master runs them in request order and
//! appends their records in that order, in the step the packet arrives (a pipeline ends
//! at a `WAIT`, so none waits behind one): each write made one record or none (an MSET
//! one per pair), so the records are tied to the writes in order. Where several ways to
//! tie them fit (two DELs of one key, one record), a write gets what they all agree
//! on, and is marked unclear where they differ; where none fits, all are unclear.

use bucket_core::aof::effects::list::ListEffect;
use bucket_core::aof::record::{decode, unit_effects};
use bucket_core::aof::Effect;
use bucket_core::{Input, Output, Role};

use super::{World, UNIX_EPOCH_OFFSET_MS};
use crate::history::{Applied, Expiry, Op, OpKind, Span, Value};
use crate::txn::Micro;

/// The writes a client-data input carries to a master, in request order, and the
/// master's AOF end before the step that serves them.
pub(super) struct WritesInFlight {
    ops: Vec<usize>,
    aof_before: u64,
}

/// What one write of a pipeline made of the records of its step.
#[derive(Clone, Debug, PartialEq)]
enum Tie {
    /// The record at this offset is the write's own, and implies this answer, if any.
    Record { offset: u64, output: Option<Value> },
    /// The write changed nothing (a DEL of a missing key, an INCR that failed).
    NoRecord,
    /// Its records are known, but not what became of them (an MSET's records may be
    /// cut apart, so its first says nothing of the rest).
    Unclear,
}

impl World {
    /// The writes a client-data input carries to a master, if it carries any.
    pub(super) fn writes_in_flight(
        &self,
        index: usize,
        input: &Input<'_>,
    ) -> Option<WritesInFlight> {
        let Input::ClientData { conn, .. } = input else {
            return None;
        };
        let node = self.slots[index].node.as_ref()?;
        if node.role() != Role::Master {
            return None;
        }
        let ops = self.request_ops.get(&conn.0)?;
        let history = &self.clients.history;
        let writes: Vec<usize> = ops
            .iter()
            .copied()
            .filter(|&op| history.ops[op].kind.is_write())
            .collect();
        (!writes.is_empty()).then(|| WritesInFlight {
            ops: writes,
            aof_before: node.aof_end().0,
        })
    }

    /// After the step, before its outputs run: if the master logged records for the
    /// writes, note where. The step's outputs are read rather than the disk, because a
    /// crash inside the step may stop the append while the frames that carry the same
    /// records to replicas already left.
    pub(super) fn attribute(&mut self, index: usize, writes: WritesInFlight, outputs: &[Output]) {
        let node = self.slots[index].node.as_ref().expect("stepped");
        let Some(reign) = node.reigns().last() else {
            return;
        };
        let appended = outputs.iter().find_map(|output| match output {
            Output::AppendAof { offset, bytes } if offset.0 == writes.aof_before => Some(bytes),
            _ => None,
        });
        let Some(appended) = appended else {
            return; // Nothing changed: every write was a DEL of a missing key, say.
        };
        let history = &mut self.clients.history;
        let ops: Vec<&Op> = writes.ops.iter().map(|&op| &history.ops[op]).collect();
        // Records of a reign that began inside the step are not plainly the writes'.
        let records = (reign.start.0 <= writes.aof_before)
            .then(|| records(appended, writes.aof_before))
            .flatten();
        let ties = records.and_then(|records| tie(&ops, &records));
        let Some(ties) = ties else {
            history.unclear.extend(writes.ops);
            return;
        };
        for (op, tie) in writes.ops.into_iter().zip(ties) {
            match tie {
                Tie::Record { offset, output } => {
                    let master_id = reign.master_id.0;
                    let applied = Applied {
                        master_id,
                        offset,
                        output,
                    };
                    history.applied.insert(op, applied);
                }
                Tie::NoRecord => {}
                Tie::Unclear => {
                    history.unclear.insert(op);
                }
            }
        }
    }
}

/// The records of appended bytes that start at `offset`, with their offsets. Appends
/// hold whole records only.
fn records(mut bytes: &[u8], mut offset: u64) -> Option<Vec<(u64, Effect<'_>)>> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let (record, used) = decode(bytes).ok()?;
        records.push((offset, record.effect));
        bytes = &bytes[used..];
        offset += used as u64;
    }
    Some(records)
}

/// Tie each write to the records it made, in order. A write gets the tie that every
/// way of tying the whole pipeline agrees on, and is unclear where they differ. `None`
/// if no way fits.
fn tie(ops: &[&Op], records: &[(u64, Effect<'_>)]) -> Option<Vec<Tie>> {
    let (n, m) = (ops.len(), records.len());
    // fits_after[i][j]: ops[i..] can be tied to exactly records[j..].
    let mut fits_after = vec![vec![false; m + 1]; n + 1];
    fits_after[n][m] = true;
    for i in (0..n).rev() {
        for j in 0..=m {
            let moves = moves(ops[i], records, j);
            fits_after[i][j] = moves.iter().any(|&(taken, _)| fits_after[i + 1][j + taken]);
        }
    }
    if !fits_after[0][0] {
        return None;
    }
    // reached[j]: ops[..i] can be tied to exactly records[..j], and the rest fits.
    let mut reached = vec![false; m + 1];
    reached[0] = true;
    let mut ties = Vec::with_capacity(n);
    for (i, op) in ops.iter().enumerate() {
        let mut reached_next = vec![false; m + 1];
        let mut seen: Vec<Tie> = Vec::new();
        for j in (0..=m).filter(|&j| reached[j]) {
            for (taken, tie) in moves(op, records, j) {
                if fits_after[i + 1][j + taken] {
                    reached_next[j + taken] = true;
                    if !seen.contains(&tie) {
                        seen.push(tie);
                    }
                }
            }
        }
        assert!(!seen.is_empty(), "a way that fits goes through every write");
        ties.push(match seen.len() {
            1 => seen.pop().expect("one tie"),
            _ => Tie::Unclear,
        });
        reached = reached_next;
    }
    assert!(reached[m], "every record is tied");
    Some(ties)
}

/// What `op` may have made of `records[at..]`: how many records it took, and the tie.
fn moves(op: &Op, records: &[(u64, Effect<'_>)], at: usize) -> Vec<(usize, Tie)> {
    let rest = &records[at..];
    if let OpKind::MSet(pairs) = &op.kind {
        let fits = rest.len() >= pairs.len()
            && pairs
                .iter()
                .zip(rest)
                .all(|((key, value), (_, effect))| is_set_of(effect, key, value));
        return match fits {
            true => vec![(pairs.len(), Tie::Unclear)],
            false => Vec::new(),
        };
    }
    let mut moves = Vec::new();
    if !always_records(&op.kind) {
        moves.push((0, Tie::NoRecord));
    }
    let first = rest.first().filter(|(_, effect)| could_own(op, effect));
    if let Some(&(offset, ref effect)) = first {
        let tie = match implied_output(&op.kind, &op.key, effect) {
            Some(output) => Tie::Record { offset, output },
            None => Tie::Unclear,
        };
        moves.push((1, tie));
    }
    moves
}

/// Whether a write of this kind logs a record whatever the keyspace holds: a plain
/// SET, GETSET, APPEND, MSET. The others may change nothing (a condition not met, a
/// missing key, a value that is no integer, an expiry already past on a missing key).
fn always_records(kind: &OpKind) -> bool {
    match kind {
        OpKind::Set(_) | OpKind::GetSet(_) | OpKind::Append(_) | OpKind::MSet(_) => true,
        OpKind::SetWith { options, .. } => options.condition.is_none() && options.expiry.is_none(),
        _ => false,
    }
}

/// Whether `effect` may be the record `op` logged: of its key, and of a form it logs,
/// whatever the master's clock said of expiries (a time the simulator calls future may
/// be past on a master whose clock runs ahead, and its SET logs a delete).
fn could_own(op: &Op, effect: &Effect<'_>) -> bool {
    if let OpKind::Txn(micros) = &op.kind {
        return txn_could_own(micros, effect);
    }
    let Some((key, value)) = string_key_effect(effect) else {
        return false;
    };
    if key != op.key.as_slice() {
        return false;
    }
    let deletes = matches!(effect, Effect::Del { .. });
    match (&op.kind, value) {
        (OpKind::Set(v) | OpKind::SetNx(v) | OpKind::GetSet(v), Some(value)) => {
            value == v.as_slice()
        }
        (OpKind::SetWith { value: v, .. }, Some(value)) => value == v.as_slice(),
        (OpKind::SetWith { options, .. }, None) => deletes && options.expiry.is_some(),
        (OpKind::Incr | OpKind::Counter(_), Some(_)) => true,
        (OpKind::Append(suffix), Some(value)) => value.ends_with(suffix),
        (OpKind::Del | OpKind::Unlink | OpKind::GetDel, None) => deletes,
        (OpKind::Expire { .. }, None) => !matches!(effect, Effect::Persist { .. }),
        (OpKind::Persist, None) => matches!(effect, Effect::Persist { .. }),
        _ => false,
    }
}

/// The key and the value (if it sets one) of an effect the string workload may own:
/// it writes strings, deletes and expiries only.
fn string_key_effect<'a>(effect: &Effect<'a>) -> Option<(&'a [u8], Option<&'a [u8]>)> {
    match *effect {
        Effect::Set { key, value, .. } | Effect::SetKeepTtl { key, value } => {
            Some((key, Some(value)))
        }
        Effect::Del { key } | Effect::Expire { key, .. } | Effect::Persist { key } => {
            Some((key, None))
        }
        Effect::FlushAll
        | Effect::ReignStart { .. }
        | Effect::Hash(_)
        | Effect::List(_)
        | Effect::SetMembers(_)
        | Effect::ZSet(_)
        | Effect::Rename { .. }
        | Effect::Copy { .. }
        | Effect::Unit { .. } => None,
    }
}

/// Whether `effect` may be a transaction's record: a unit of its appends, or the one
/// append of a transaction that made one record.
fn txn_could_own(micros: &[Micro], effect: &Effect<'_>) -> bool {
    let is_append = |effect: &Effect<'_>| match effect {
        Effect::List(ListEffect::Push { key, items, .. }) => micros.iter().any(|m| {
            matches!(m, Micro::Append { key: k, value } if k.as_slice() == *key
                && items.iter().eq(std::iter::once(value.as_slice())))
        }),
        _ => false,
    };
    match effect {
        Effect::Unit { records } => unit_effects(records).all(|e| is_append(&e)),
        single => is_append(single),
    }
}

/// Whether `effect` sets `key` to `value` with no expiry, as an MSET does.
fn is_set_of(effect: &Effect<'_>, key: &[u8], value: &[u8]) -> bool {
    match *effect {
        Effect::Set {
            key: k,
            value: v,
            expire_at: None,
        } => k == key && v == value,
        _ => false,
    }
}

/// What the write's first record says of it: `None` if the record is not plainly the
/// write's own (an MSET's records may be cut apart, so its first says nothing of the
/// rest); `Some(answer)` if it is, with the answer it implies, if it implies one (a
/// GETDEL's delete does not say what it read).
fn implied_output(kind: &OpKind, key: &[u8], effect: &Effect<'_>) -> Option<Option<Value>> {
    let (k, value) = string_key_effect(effect)?;
    if k != key {
        return None;
    }
    let int = |n: usize| Some(Some(Value::Int(n as i64)));
    let past =
        |expiry: Option<Expiry>| expiry.is_some_and(|e| e.span(UNIX_EPOCH_OFFSET_MS) == Span::Past);
    match (kind, effect, value) {
        (OpKind::Set(v), Effect::Set { .. }, Some(value)) if value == v => Some(Some(Value::Ok)),
        (OpKind::SetWith { value: v, options }, _, Some(value)) if value == v => {
            Some((!options.get).then_some(Value::Ok))
        }
        (OpKind::SetWith { options, .. }, Effect::Del { .. }, None) if past(options.expiry) => {
            Some((!options.get).then_some(Value::Ok))
        }
        (OpKind::SetNx(v), Effect::Set { .. }, Some(value)) if value == v => int(1),
        (OpKind::GetSet(v), Effect::Set { .. }, Some(value)) if value == v => Some(None),
        (OpKind::Incr | OpKind::Counter(_), _, Some(value)) => {
            let n = std::str::from_utf8(value).ok()?.parse().ok()?;
            Some(Some(Value::Int(n)))
        }
        (OpKind::Append(suffix), _, Some(value)) if value.ends_with(suffix) => int(value.len()),
        (OpKind::Del | OpKind::Unlink, Effect::Del { .. }, _) => int(1),
        (OpKind::GetDel, Effect::Del { .. }, _) => Some(None),
        (OpKind::Expire { .. }, Effect::Expire { .. }, _) => int(1),
        (OpKind::Expire { expiry, .. }, Effect::Del { .. }, _) if past(Some(*expiry)) => int(1),
        (OpKind::Persist, Effect::Persist { .. }, _) => int(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Outcome;

    fn op(kind: OpKind) -> Op {
        Op {
            client: 0,
            key: b"k".to_vec(),
            kind,
            call: 1,
            ret: None,
            call_ms: 0,
            ret_ms: None,
            outcome: Outcome::Pending,
        }
    }

    fn set(value: &'static [u8]) -> Effect<'static> {
        Effect::Set {
            key: b"k",
            value,
            expire_at: None,
        }
    }

    fn record(offset: u64, output: Value) -> Tie {
        let output = Some(output);
        Tie::Record { offset, output }
    }

    #[test]
    fn pipelined_writes_tie_to_their_records_in_order() {
        struct Case {
            writes: Vec<OpKind>,
            records: Vec<(u64, Effect<'static>)>,
            want: Option<Vec<Tie>>,
        }
        let cases = vec![
            // A SET and the INCR after it: one record each.
            Case {
                writes: vec![OpKind::Set(b"5".to_vec()), OpKind::Incr],
                records: vec![(10, set(b"5")), (30, set(b"6"))],
                want: Some(vec![record(10, Value::Ok), record(30, Value::Int(6))]),
            },
            // Either DEL may have removed the key: no telling which; the SET's is sure.
            Case {
                writes: vec![OpKind::Set(b"5".to_vec()), OpKind::Del, OpKind::Del],
                records: vec![(10, set(b"5")), (30, Effect::Del { key: b"k" })],
                want: Some(vec![record(10, Value::Ok), Tie::Unclear, Tie::Unclear]),
            },
            // A plain SET always logs, so the INCR before it failed.
            Case {
                writes: vec![OpKind::Incr, OpKind::Set(b"5".to_vec())],
                records: vec![(10, set(b"5"))],
                want: Some(vec![Tie::NoRecord, record(10, Value::Ok)]),
            },
            // An INCR that failed and a SETNX that set, or the other way: no telling.
            Case {
                writes: vec![OpKind::Incr, OpKind::SetNx(b"5".to_vec())],
                records: vec![(10, set(b"5"))],
                want: Some(vec![Tie::Unclear, Tie::Unclear]),
            },
            // A DEL that found nothing, then a SET.
            Case {
                writes: vec![OpKind::Del, OpKind::Set(b"5".to_vec())],
                records: vec![(10, set(b"5"))],
                want: Some(vec![Tie::NoRecord, record(10, Value::Ok)]),
            },
            // A record no write of the pipeline made.
            Case {
                writes: vec![OpKind::Del],
                records: vec![(10, set(b"5"))],
                want: None,
            },
            // An MSET takes one record per pair, and stays unclear.
            Case {
                writes: vec![
                    OpKind::MSet(vec![(b"k".to_vec(), b"1".to_vec())]),
                    OpKind::Incr,
                ],
                records: vec![(10, set(b"1")), (30, set(b"2"))],
                want: Some(vec![Tie::Unclear, record(30, Value::Int(2))]),
            },
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let ops: Vec<Op> = case.writes.into_iter().map(op).collect();
            let ops: Vec<&Op> = ops.iter().collect();
            assert_eq!(tie(&ops, &case.records), case.want, "#{i}");
        }
    }
}
