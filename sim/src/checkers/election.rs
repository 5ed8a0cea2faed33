//! Election safety: at most one master per term, ever.

use std::collections::BTreeMap;

use super::Violation;

pub const NAME: &str = "election safety";

#[derive(Default)]
pub struct ElectionSafety {
    /// The first node seen as master in each term.
    master_of_term: BTreeMap<u64, usize>,
}

impl ElectionSafety {
    /// After every step: `node` is master in `term`.
    pub fn observe_master(&mut self, node: usize, term: u64) -> Result<(), Violation> {
        let master = *self.master_of_term.entry(term).or_insert(node);
        if master != node {
            return Err(Violation::new(
                NAME,
                format!("nodes {master} and {node} were both master in term {term}"),
            ));
        }
        Ok(())
    }

    pub fn terms_with_master(&self) -> usize {
        self.master_of_term.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_masters_in_one_term_fire() {
        let mut checker = ElectionSafety::default();
        checker.observe_master(0, 3).unwrap();
        checker.observe_master(0, 3).unwrap();
        let error = checker.observe_master(1, 3).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn one_master_per_term_passes() {
        let mut checker = ElectionSafety::default();
        checker.observe_master(0, 1).unwrap();
        checker.observe_master(1, 2).unwrap();
        checker.observe_master(0, 3).unwrap();
        // Restarted in the same term it led: still the same master.
        checker.observe_master(0, 3).unwrap();
        assert_eq!(checker.terms_with_master(), 3);
    }
}
