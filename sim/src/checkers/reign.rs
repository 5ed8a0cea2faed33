//! A master never truncates or rewrites its own reign: while master, a node never emits
//! `TruncateAof`; and a node never cuts below the start of a reign it led in the term it
//! is still in. (Appends always land at the AOF's end: the disk checks that.)

use std::collections::BTreeMap;

use super::Violation;

pub const NAME: &str = "reign never truncated";

#[derive(Default)]
pub struct ReignGuard {
    /// Per node: term -> where the reign it led in that term starts.
    led: Vec<BTreeMap<u64, u64>>,
}

impl ReignGuard {
    pub fn new(node_count: usize) -> ReignGuard {
        ReignGuard {
            led: vec![BTreeMap::new(); node_count],
        }
    }

    /// `node` is master in `term` with its reign starting at `start`.
    pub fn observe_reign(&mut self, node: usize, term: u64, start: u64) {
        self.led[node].entry(term).or_insert(start);
    }

    /// `node`, in `term` and master or not, emitted `TruncateAof { offset }` while its
    /// AOF was `aof_len` long. A cut at the end itself removes nothing.
    pub fn observe_truncate(
        &self,
        node: usize,
        term: u64,
        is_master: bool,
        offset: u64,
        aof_len: u64,
    ) -> Result<(), Violation> {
        if offset >= aof_len {
            return Ok(());
        }
        if is_master {
            return Err(Violation::new(
                NAME,
                format!("node {node} truncated its AOF to {offset} while master in term {term}"),
            ));
        }
        if let Some(&start) = self.led[node].get(&term) {
            // Everything after `start` in this term is the node's own reign.
            return Err(Violation::new(
                NAME,
                format!(
                    "node {node} truncated to {offset} (end {aof_len}), cutting its own reign of term {term} that starts at {start}"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncating_while_master_fires() {
        let guard = ReignGuard::new(2);
        assert!(guard.observe_truncate(0, 3, true, 100, 200).is_err());
    }

    #[test]
    fn truncating_own_reign_in_the_same_term_fires() {
        let mut guard = ReignGuard::new(2);
        guard.observe_reign(1, 3, 500);
        let error = guard.observe_truncate(1, 3, false, 200, 900).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn a_replica_cutting_a_diverged_suffix_passes() {
        let mut guard = ReignGuard::new(2);
        guard.observe_reign(1, 3, 500);
        // A later term: its old reign may have lost to a newer master's history.
        guard.observe_truncate(1, 4, false, 200, 900).unwrap();
        // Another node's reign is no business of node 0's truncation.
        guard.observe_truncate(0, 3, false, 0, 900).unwrap();
        // A cut at the end removes nothing, even at a master.
        guard.observe_truncate(1, 3, true, 900, 900).unwrap();
    }
}
