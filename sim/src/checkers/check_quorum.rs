//! CheckQuorum: a master that has heard from no majority for an election timeout steps
//! down, so an isolated master stops taking writes (DESIGN.md). Safety does not rest on
//! it (leases and commits do), which is why no other checker notices its absence: an
//! isolated master that never steps down goes on acknowledging async writes that the
//! rest of the cluster will never see.
//!
//! Silence is counted from the first heartbeat the master sent a peer after the last
//! frame it received from it (true time): a master whose loop stalled sent nothing,
//! so its peers had nothing to answer. After each of a master's timer steps the world
//! hands this checker, per peer, when that silence began; the master may not still
//! reign if a majority has been silent for the whole window.

use super::Violation;

pub const NAME: &str = "check quorum";

/// How long a master may go without hearing a majority: the election timeout it checks
/// against, two heartbeat intervals for the timer that notices, and the clock drift
/// between true time and the master's clock.
pub fn window_ms(election_timeout_ms_min: u64, heartbeat_ms: u64) -> u64 {
    let drift_ms = election_timeout_ms_min * bucket_core::config::CLOCK_DRIFT_PPM_MAX / 1_000_000;
    election_timeout_ms_min + 2 * heartbeat_ms + drift_ms + 1
}

/// `silent_since[p]`: when the master first sent peer `p` a heartbeat (true time) since
/// it last received a frame from it (`None`: the master itself, or heard since). A new
/// master needs no grace period: its peers start with no silence.
pub fn check(
    master: usize,
    now_ms: u64,
    silent_since: &[Option<u64>],
    window_ms: u64,
) -> Result<(), Violation> {
    let heard = silent_since
        .iter()
        .enumerate()
        .filter(|&(peer, since)| peer != master && since.is_none_or(|at| now_ms < at + window_ms))
        .count();
    let quorum = silent_since.len() / 2 + 1;
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
        let silent = [None, Some(1_000), Some(1_000)];
        check(0, 1_100, &silent, 500).unwrap();
        let error = check(0, 1_600, &silent, 500).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn a_master_that_hears_one_of_two_peers_passes() {
        let silent = [None, None, Some(1_000)];
        check(0, 10_000, &silent, 500).unwrap();
        // Silence shorter than the window is no violation.
        let silent = [None, Some(9_800), Some(9_800)];
        check(0, 10_000, &silent, 500).unwrap();
    }
}
