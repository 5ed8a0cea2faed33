//! Strict serializability of the list-append transactions (`txn.rs`), checked the way
//! Elle checks Jepsen's list-append workload, in majority mode.
//!
//! Every appended value is unique, so each value names the transaction that appended
//! it, and a read's list names the transactions it saw, in order:
//! - the version order of a list is its final content at the master; every read of it
//!   must be a prefix of that (no lost update, no fork), hold no value twice, and no
//!   value a failed transaction appended (an aborted read, G1a), nor part of a
//!   transaction's appends to that list without the rest (an intermediate read, G1b);
//! - every append of a transaction acknowledged OK is in the final list (durability),
//!   and every transaction is in the final lists whole or not at all (atomicity);
//! - from the version orders come the dependencies between transactions: write-write
//!   (the next append of a list), write-read (a read saw the append), read-write (a
//!   read missed the next append), plus real time (one ended before the other began);
//!   a cycle among them means no serial order explains what clients saw (G0, G1c, G2,
//!   or a real-time violation).
//!
//! A transaction of unknown outcome counts as committed once any read saw one of its
//! appends, and is left out of the graph otherwise (it may never have run).

use std::collections::{BTreeMap, BTreeSet};

use super::Violation;
use crate::history::{History, OpKind, Outcome, Value};
use crate::txn::Micro;

pub const NAME: &str = "list-append";

/// The final content of each list key, at the master.
pub type FinalLists = BTreeMap<Vec<u8>, Vec<Vec<u8>>>;

/// One transaction of the history, as the checker needs it.
struct Txn<'h> {
    op: usize,
    micros: &'h [Micro],
    /// The result of each step, when it committed with an answer.
    results: Option<&'h [Value]>,
    failed: bool,
    call: u64,
    ret: Option<u64>,
}

pub fn check(history: &History, finals: &FinalLists) -> Result<usize, Violation> {
    let txns = transactions(history)?;
    let writer = writers(&txns)?;
    check_reads(&txns, &writer, finals)?;
    check_durable(&txns, finals)?;
    check_whole(&txns, finals, "the final lists")?;
    let graph = dependencies(&txns, &writer, finals);
    if let Some(cycle) = find_cycle(&graph) {
        let ops: Vec<String> = cycle
            .iter()
            .map(|&t| format!("op {}", txns[t].op))
            .collect();
        return Err(fail(format!(
            "a dependency cycle: {} (no serial order fits what clients saw)",
            ops.join(" -> ")
        )));
    }
    Ok(txns.len())
}

/// Atomicity alone, on the lists one node holds at any moment (`held`, said in the
/// violation): every transaction is there whole or not at all, whatever the mode.
pub fn check_atomic(history: &History, lists: &FinalLists, held: &str) -> Result<(), Violation> {
    check_whole(&transactions(history)?, lists, held)
}

fn transactions(history: &History) -> Result<Vec<Txn<'_>>, Violation> {
    history
        .ops
        .iter()
        .enumerate()
        .filter_map(|(op, o)| {
            let OpKind::Txn(micros) = &o.kind else {
                return None;
            };
            let results = match &o.outcome {
                Outcome::Ok(Value::Array(results)) if results.len() == micros.len() => {
                    Some(results.as_slice())
                }
                Outcome::Ok(other) => {
                    return Some(Err(fail(format!("op {op}: EXEC answered {other:?}"))));
                }
                _ => None,
            };
            Some(Ok(Txn {
                op,
                micros,
                results,
                failed: matches!(o.outcome, Outcome::Failed(_)),
                call: o.call,
                ret: o.ret,
            }))
        })
        .collect()
}

fn fail(detail: String) -> Violation {
    Violation::new(NAME, detail)
}

/// Which transaction (index into `txns`) appended each value; values are unique.
fn writers<'h>(txns: &[Txn<'h>]) -> Result<BTreeMap<&'h [u8], usize>, Violation> {
    let mut writer = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for micro in txn.micros {
            if let Micro::Append { value, .. } = micro {
                if writer.insert(value.as_slice(), t).is_some() {
                    return Err(fail(format!("value {} appended twice", show(value))));
                }
            }
        }
    }
    Ok(writer)
}

/// A read of a committed transaction: which one, of which list, and what it saw.
struct Read<'h> {
    txn: usize,
    key: &'h [u8],
    list: Vec<&'h [u8]>,
}

fn reads<'h>(txns: &[Txn<'h>]) -> Vec<Read<'h>> {
    let mut out = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let Some(results) = txn.results else {
            continue;
        };
        for (micro, result) in txn.micros.iter().zip(results) {
            if let (Micro::Read { key }, Value::Array(items)) = (micro, result) {
                let list = items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Bulk(b) => Some(b.as_slice()),
                        _ => None,
                    })
                    .collect();
                out.push(Read {
                    txn: t,
                    key: key.as_slice(),
                    list,
                });
            }
        }
    }
    out
}

fn check_reads(
    txns: &[Txn<'_>],
    writer: &BTreeMap<&[u8], usize>,
    finals: &FinalLists,
) -> Result<(), Violation> {
    for Read { txn: t, key, list } in reads(txns) {
        let op = txns[t].op;
        let fin = finals.get(key).map_or(&[][..], Vec::as_slice);
        let is_prefix = list.len() <= fin.len() && list.iter().zip(fin).all(|(a, b)| *a == &b[..]);
        if !is_prefix {
            return Err(fail(format!(
                "op {op} read {} = {} , not a prefix of its final {}",
                show(key),
                show_list(&list),
                show_list(&fin.iter().map(Vec::as_slice).collect::<Vec<_>>())
            )));
        }
        for value in &list {
            let Some(&w) = writer.get(value) else {
                return Err(fail(format!(
                    "op {op} read {} that nobody appended",
                    show(value)
                )));
            };
            if txns[w].failed {
                let by = txns[w].op;
                return Err(fail(format!(
                    "op {op} read {} appended by failed op {by} (G1a)",
                    show(value)
                )));
            }
            if w != t && !all_appends_seen(&txns[w], key, &list) {
                let by = txns[w].op;
                return Err(fail(format!(
                    "op {op} read part of op {by}'s appends to {} (G1b)",
                    show(key)
                )));
            }
        }
    }
    Ok(())
}

/// Whether `list` holds every append of `txn` to `key`, if it holds any.
fn all_appends_seen(txn: &Txn<'_>, key: &[u8], list: &[&[u8]]) -> bool {
    txn.micros.iter().all(|m| match m {
        Micro::Append { key: k, value } if k.as_slice() == key => list.contains(&value.as_slice()),
        _ => true,
    })
}

fn check_durable(txns: &[Txn<'_>], finals: &FinalLists) -> Result<(), Violation> {
    for txn in txns.iter().filter(|t| t.results.is_some()) {
        for micro in txn.micros {
            if let Micro::Append { key, value } = micro {
                let kept = finals.get(key).is_some_and(|list| list.contains(value));
                if !kept {
                    return Err(fail(format!(
                        "op {}: acknowledged append of {} to {} is lost",
                        txn.op,
                        show(value),
                        show(key)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Each transaction's appends are all in `lists` (`held` says whose), or none is.
fn check_whole(txns: &[Txn<'_>], lists: &FinalLists, held: &str) -> Result<(), Violation> {
    for txn in txns {
        let appends: Vec<(&Vec<u8>, &Vec<u8>)> = txn
            .micros
            .iter()
            .filter_map(|m| match m {
                Micro::Append { key, value } => Some((key, value)),
                Micro::Read { .. } => None,
            })
            .collect();
        let kept = appends
            .iter()
            .filter(|(key, value)| lists.get(*key).is_some_and(|list| list.contains(value)))
            .count();
        if kept > 0 && kept < appends.len() {
            return Err(fail(format!(
                "op {} applied in part: {kept} of its {} appends are in {held}",
                txn.op,
                appends.len()
            )));
        }
    }
    Ok(())
}

/// Edges between transactions that surely ran: committed ones, and those of unknown
/// outcome whose appends are in a final list (some node applied them).
fn dependencies(
    txns: &[Txn<'_>],
    writer: &BTreeMap<&[u8], usize>,
    finals: &FinalLists,
) -> Vec<BTreeSet<usize>> {
    let mut graph = vec![BTreeSet::new(); txns.len()];
    let mut edge = |from: usize, to: usize| {
        if from != to {
            graph[from].insert(to);
        }
    };
    for list in finals.values() {
        let order: Vec<usize> = list
            .iter()
            .filter_map(|v| writer.get(v.as_slice()).copied())
            .collect();
        for pair in order.windows(2) {
            edge(pair[0], pair[1]); // write-write
        }
    }
    for Read { txn: t, key, list } in reads(txns) {
        let fin = finals.get(key).map_or(&[][..], Vec::as_slice);
        if let Some(last) = list.last().and_then(|v| writer.get(v)) {
            edge(*last, t); // write-read
        }
        if let Some(next) = fin.get(list.len()).and_then(|v| writer.get(v.as_slice())) {
            edge(t, *next); // read-write
        }
    }
    let committed: Vec<usize> = (0..txns.len())
        .filter(|&t| txns[t].results.is_some())
        .collect();
    for &a in &committed {
        let Some(ended) = txns[a].ret else { continue };
        for &b in &committed {
            if ended < txns[b].call {
                edge(a, b); // real time
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one (iterative depth-first search).
fn find_cycle(graph: &[BTreeSet<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; graph.len()];
    for start in 0..graph.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, Vec<usize>)> =
            vec![(start, graph[start].iter().copied().collect())];
        mark[start] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            match next.pop() {
                Some(to) if mark[to] == Mark::OnPath => {
                    let at = path
                        .iter()
                        .position(|(n, _)| *n == to)
                        .expect("on the path");
                    let mut cycle: Vec<usize> = path[at..].iter().map(|(n, _)| *n).collect();
                    cycle.push(to);
                    return Some(cycle);
                }
                Some(to) if mark[to] == Mark::New => {
                    mark[to] = Mark::OnPath;
                    path.push((to, graph[to].iter().copied().collect()));
                }
                Some(_) => {}
                None => {
                    mark[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show_list(list: &[&[u8]]) -> String {
    let items: Vec<String> = list.iter().map(|v| show(v)).collect();
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests;
