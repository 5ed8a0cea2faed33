//! Seeds that once failed, kept after the fix so the bug stays caught. Each entry says
//! what went wrong. They run with the options the seed draws, like any swarm seed.

use sim::{run, Overrides};

/// (seed, what it caught)
const REGRESSIONS: &[(u64, &str)] = &[
    (
        2409260735808531901,
        "a replica took the master's commit offset before its handshake, so commit covered \
         its own diverged suffix and a later truncation cut 'committed' records",
    ),
    (
        342,
        "the state checker compared a rebuilding replica's keyspace with its whole AOF \
         instead of the prefix replayed so far (Node::applied_end)",
    ),
    (
        5984,
        "a replica's keyspace rebuild lived in its upstream feed, so a new term or a link \
         going down dropped it half-done and the node kept a partial keyspace",
    ),
    (
        5,
        "a crash left a torn record followed by zeros (a zero-filled tail), and AOF replay \
         called it corruption instead of a torn tail, so the node's AOF read as corrupt",
    ),
    (
        2683,
        "a master took a late sync request while its link to that replica was down and fed \
         it into the void; when the link came up it still counted the feed as live, so the \
         replica never got the records it lacked (a link that comes up now drops the feed)",
    ),
    (
        2150,
        "a duplicated sync request restarted a replica's file stream under the same session \
         while the old stream's chunks were still arriving, and the master took them for the \
         new stream's (each file stream now has its own tag)",
    ),
    (
        2000795,
        "a master paused through an election woke up and answered a pipelined write that \
         logged nothing (GETDEL of a missing key) from its stale keyspace: such a write now \
         waits for its reign to be confirmed, as a read does",
    ),
    (
        773,
        "a duplicated base resync accept started a second base over the first on the \
         replica (a second accept now starts the base over)",
    ),
    (
        350,
        "a replica waiting for a fresh base asked again after each rewrite and found the \
         tail of a small, busy keyspace already over half the new base, so the master \
         rewrote at every retry and never fed it (a tail under a MiB now follows any base)",
    ),
    (
        83,
        "late frames of a base resync arrived after the link to the master went down, and \
         the replica went live with no upstream (a base from a master no longer feeding \
         the replica is given up)",
    ),
    (
        21430,
        "a paused replica resumed and a frame due that same millisecond overtook the \
         frames held for it on the same link, so the feed's last frame came before the \
         accept and was ignored (held events are now handled as the node resumes)",
    ),
];

#[test]
fn every_regression_seed_passes() {
    for (seed, caught) in REGRESSIONS {
        let report = run(*seed, &Overrides::default());
        assert!(
            report.passed(),
            "regression seed {seed} ({caught}):\n{}",
            report.failure_text()
        );
    }
}
