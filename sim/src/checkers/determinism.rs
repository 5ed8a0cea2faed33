//! Determinism: the same seed gives the same trace, compared by hash.

use super::Violation;

pub const NAME: &str = "determinism";

pub fn check(seed: u64, first_hash: u64, second_hash: u64) -> Result<(), Violation> {
    if first_hash != second_hash {
        return Err(Violation::new(
            NAME,
            format!("seed {seed} gave trace hashes {first_hash:016x} and {second_hash:016x}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_different_hashes_fire() {
        assert_eq!(check(1, 5, 6).unwrap_err().checker, NAME);
    }

    #[test]
    fn equal_hashes_pass() {
        check(1, 5, 5).unwrap();
    }
}
