//! A master's read lease across a voter's restart, and across clocks that drift apart.
//! Otherwise a new master could commit a write while the old one still answers reads
//! from its lease, which counts on a replica's acks:
//! - if that replica restarts at once it forgets it acked, and must neither vote nor
//!   stand until an election timeout from its start has passed;
//! - the replica measures that timeout on its own clock, so the lease, on the master's
//!   clock, must end early by the drift bound between them.

mod cluster_harness;

use bucket_core::config::PlantedBug;
use bucket_core::{Role, WriteQuorum};
use cluster_harness::{bulk, ok, Cluster};

/// Attempts, each with the restart at a different moment of the candidate's timer.
const ATTEMPTS: u64 = 12;
/// How long after the restart the scenario looks for a new master: longer than a lease.
const WATCH_MS: u64 = 400;
const STEP_MS: u64 = 5;

/// Master `m` holds `k = old`, cut off from `c`; its lease rests on `r`'s acks. Right
/// after an ack, `r` restarts, cut off from `m`, so only `c` can reach it. Once `r` or
/// `c` is master and has committed `k = new`, `m` is asked for `k`: `Some(true)` if it
/// answered the stale `old`, `None` if this attempt's timers never got that far.
fn stale_read_after_voter_restart(delay_ms: u64, planted: Option<PlantedBug>) -> Option<bool> {
    let mut cluster = Cluster::reconfigured(3, WriteQuorum::Majority, |config| {
        config.planted_bug = planted;
    });
    cluster.advance(delay_ms);
    let m = cluster.elect();
    let [r, c] = [(m + 1) % 3, (m + 2) % 3];
    assert_eq!(cluster.command(m, &["SET", "k", "old"]), ok());
    cluster.cut(m, c);
    // `c` has campaigned and been refused at least once: its timer runs freely now.
    cluster.advance(700 + delay_ms);
    if cluster.masters() != [m] {
        return None;
    }
    assert_eq!(cluster.command(m, &["GET", "k"]), bulk("old"));
    cluster.crash(r);
    cluster.cut(m, r);
    cluster.start(r);
    stale_read_once_replaced(&mut cluster, m, WATCH_MS)
}

/// Watch for `watch_ms` for a master other than `m`; once one has committed `k = new`,
/// ask `m` (on a connection opened before) for `k`: `Some(true)` if it answered `old`.
fn stale_read_once_replaced(cluster: &mut Cluster, m: usize, watch_ms: u64) -> Option<bool> {
    let reader = cluster.connect(m);
    for _ in 0..watch_ms / STEP_MS {
        cluster.advance(STEP_MS);
        let is_master = |i: &usize| *i != m && cluster.node(*i).role() == Role::Master;
        let Some(new) = (0..3).find(is_master) else {
            continue;
        };
        if cluster.command(new, &["SET", "k", "new"]) != ok() {
            return None;
        }
        let reply = cluster.send(m, reader, &["GET", "k"]);
        return Some(reply == Some(bulk("old")));
    }
    None
}

#[test]
fn a_restarted_voter_waits_out_the_old_masters_lease() {
    let mut staged = 0;
    for attempt in 0..ATTEMPTS {
        let stale = stale_read_after_voter_restart(attempt * 37, None);
        assert_ne!(stale, Some(true), "attempt {attempt} read a stale value");
        staged += usize::from(stale.is_some());
    }
    assert!(
        staged as u64 >= ATTEMPTS / 2,
        "only {staged} attempts set the stage"
    );
}

#[test]
fn planted_restarted_node_votes_at_once_is_caught() {
    let planted = Some(PlantedBug::RestartedNodeVotesAtOnce);
    let caught = (0..ATTEMPTS)
        .find(|&attempt| stale_read_after_voter_restart(attempt * 37, planted) == Some(true));
    assert!(caught.is_some(), "no attempt read a stale value");
}

/// Timeouts ten times the default, so the drift margin (1% of the timeout at the drift
/// bound) spans several harness steps.
const SLOW_TIMEOUT_MS_MIN: u64 = 3_000;
const SLOW_ATTEMPTS: u64 = 16;

/// Once a master is elected, its clock runs slow and the others' fast, each at the
/// drift bound. Master `m` holds `k = old`, cut off from `c`; its lease rests on `r`'s acks until `m` and `r`
/// are cut apart too. Once `r` stops refusing votes (by its fast clock) and a new master
/// has committed `k = new`, `m` is asked for `k`. As `stale_read_after_voter_restart`.
fn stale_read_across_drift(attempt: u64, planted: Option<PlantedBug>) -> Option<bool> {
    let mut cluster = Cluster::reconfigured(3, WriteQuorum::Majority, |config| {
        config.election_timeout_ms_min = SLOW_TIMEOUT_MS_MIN;
        config.election_timeout_ms_max = 2 * SLOW_TIMEOUT_MS_MIN;
        config.planted_bug = planted;
    });
    let m = cluster.elect();
    let bound = bucket_core::config::CLOCK_DRIFT_PPM_MAX as i64;
    for i in 0..3 {
        cluster.set_drift(i, if i == m { -bound } else { bound });
    }
    let [r, c] = [(m + 1) % 3, (m + 2) % 3];
    assert_eq!(cluster.command(m, &["SET", "k", "old"]), ok());
    // Each attempt draws `c`'s timers afresh: how often it heard `m` decides them.
    cluster.advance(130 * attempt);
    cluster.cut(m, c);
    // `c` stands and asks `r` once a heartbeat interval, refused while `r` hears `m`.
    cluster.advance(2 * SLOW_TIMEOUT_MS_MIN);
    if cluster.masters() != [m] {
        return None;
    }
    cluster.cut(m, r);
    stale_read_once_replaced(&mut cluster, m, SLOW_TIMEOUT_MS_MIN + 500)
}

#[test]
fn a_lease_ends_before_a_faster_clock_gives_its_vote_away() {
    let mut staged = 0;
    for attempt in 0..SLOW_ATTEMPTS {
        let stale = stale_read_across_drift(attempt, None);
        assert_ne!(stale, Some(true), "attempt {attempt} read a stale value");
        staged += usize::from(stale.is_some());
    }
    assert!(staged >= 1, "no attempt set the stage");
}

#[test]
fn planted_lease_without_drift_margin_is_caught() {
    let planted = Some(PlantedBug::LeaseWithoutDriftMargin);
    let caught =
        (0..SLOW_ATTEMPTS).find(|&attempt| stale_read_across_drift(attempt, planted) == Some(true));
    assert!(caught.is_some(), "no attempt read a stale value");
}
