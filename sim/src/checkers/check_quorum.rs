//! CheckQuorum: a master that has heard from no majority for an election timeout steps
//! down, so an isolated master stops taking writes (DESIGN.md). Safety does not rest on
//! it (leases and commits do), which is why no other checker notices its absence: an
//! isolated master that never steps down goes on acknowledging async writes that the
//! rest of the cluster will never see.
//!
//! After each of a master's timer steps, the world hands this checker when the master
//! last received a frame from each peer (true time); the master may not still reign
//! if fewer than a majority were heard within the window.

use super::Violation;

pub const NAME: &str = "check quorum";

/// How long a master may go without hearing a majority: the election timeout it checks
/// against, two heartbeat intervals for the timer that notices, and the clock drift
/// between true time and the master's clock.
pub fn window_ms(election_timeout_ms_min: u64, heartbeat_ms: u64) -> u64 {
    let drift_ms = election_timeout_ms_min * bucket_core::config::CLOCK_DRIFT_PPM_MAX / 1_000_000;
    election_timeout_ms_min + 2 * heartbeat_ms + drift_ms + 1
}

/// `heard_at[p]`: when the master last received a frame from peer `p` (`None`: never,
/// or the master itself).
pub fn check(
    master: usize,
    now_ms: u64,
    master_since_ms: u64,
    heard_at: &[Option<u64>],
    window_ms: u64,
) -> Result<(), Violation> {
    if now_ms < master_since_ms + window_ms {
        return Ok(()); // A new master has a full window before it must have heard.
    }
    let heard = heard_at
        .iter()
        .filter(|at| at.is_some_and(|at| now_ms < at + window_ms))
        .count();
    let quorum = heard_at.len() / 2 + 1;
    if heard + 1 >= quorum {
        return Ok(());
    }
    Err(Violation::new(
        NAME,
        format!(
            "node {master} is still master at {now_ms} ms having heard {heard} peers in the last {window_ms} ms"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isolated_master_that_stays_fires() {
        let heard = [None, Some(1_000), Some(1_000)];
        check(0, 1_100, 0, &heard, 500).unwrap();
        let error = check(0, 1_600, 0, &heard, 500).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn a_master_that_hears_one_of_two_peers_passes() {
        let heard = [None, Some(9_900), None];
        check(0, 10_000, 0, &heard, 500).unwrap();
        // A new master is given a whole window.
        check(0, 10_000, 9_800, &[None, None, None], 500).unwrap();
    }
}
