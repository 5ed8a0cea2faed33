//! A master's read lease across a voter's restart. The master's lease counts on a
//! replica's ack; if that replica restarts at once it forgets it acked, and must not
//! vote until an election timeout from its start has passed, or a new master could
//! commit a write while the old one still answers reads from its lease.

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
    let reader = cluster.connect(m);
    for _ in 0..WATCH_MS / STEP_MS {
        cluster.advance(STEP_MS);
        let master = |i: &usize| cluster.node(*i).role() == Role::Master;
        let Some(new) = [r, c].into_iter().find(master) else {
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
