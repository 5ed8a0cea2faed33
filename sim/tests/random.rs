//! Randomized runs: a fixed budget of seeds (swarm testing: each seed draws its own
//! options), proptest over structured plans so that shrinking gives smaller runs, and
//! planted bugs that the checkers must catch.
//!
//! `SIM_SEEDS` sets the number of seeds per swarm (default 1600 for the cluster swarm,
//! split over four tests, and 150 for each single-node swarm); `SIM_START` the first
//! seed (default 0). A failure prints the seed, the options it drew, the checker
//! that fired, and the command that replays it.
//!

use bucket_core::config::PlantedBug;
use bucket_core::WriteQuorum;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use sim::checkers::Violation;
use sim::options::AppendFsync;
use sim::world::faults::RECOVERY;
use sim::{check_determinism, run, Overrides, RunReport};

/// Cluster seeds per run of `cargo test -p sim`, split over `CLUSTER_PARTS` tests so
/// that both cores work; single-node swarms take `SINGLE_NODE_SEEDS_DEFAULT` each.
/// Together with the planted-bug runs, over 2000 seeds; sweeps of more seeds run with
/// `cargo run -p sim --profile sweep -- --seeds N`.
const CLUSTER_SEEDS_DEFAULT: u64 = 1_600;
const CLUSTER_PARTS: u64 = 4;
const SINGLE_NODE_SEEDS_DEFAULT: u64 = 150;
/// Seeds a planted bug has to be caught within.
const PLANTED_BUG_SEEDS_MAX: u64 = 1_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `SIM_SEEDS` overrides the seed count of each swarm (all parts together for the
/// cluster swarm); `SIM_START` the first seed.
fn seed_range(default: u64) -> std::ops::Range<u64> {
    let start = env_u64("SIM_START", 0);
    start..start + env_u64("SIM_SEEDS", default)
}

/// Part `part` of `CLUSTER_PARTS` of the cluster seeds.
fn cluster_part(part: u64) -> impl Iterator<Item = u64> {
    seed_range(CLUSTER_SEEDS_DEFAULT).filter(move |seed| seed % CLUSTER_PARTS == part)
}

fn assert_passed(report: &RunReport) {
    assert!(report.passed(), "{}", report.failure_text());
}

fn swarm(seeds: impl Iterator<Item = u64>, overrides: &Overrides) {
    for seed in seeds {
        assert_passed(&run(seed, overrides));
    }
}

fn single_node(quorum: WriteQuorum) -> Overrides {
    Overrides {
        node_count: Some(1),
        write_quorum: Some(quorum),
        ..Overrides::default()
    }
}

#[test]
fn swarm_single_node_async() {
    swarm(
        seed_range(SINGLE_NODE_SEEDS_DEFAULT),
        &single_node(WriteQuorum::Async),
    );
}

#[test]
fn swarm_single_node_majority_fsync_always() {
    let overrides = Overrides {
        appendfsync: Some(AppendFsync::Always),
        ..single_node(WriteQuorum::Majority)
    };
    swarm(seed_range(SINGLE_NODE_SEEDS_DEFAULT), &overrides);
}

#[test]
fn swarm_single_node_majority() {
    swarm(
        seed_range(SINGLE_NODE_SEEDS_DEFAULT),
        &single_node(WriteQuorum::Majority),
    );
}

#[test]
fn swarm_cluster_part_0() {
    swarm(cluster_part(0), &Overrides::default());
}

#[test]
fn swarm_cluster_part_1() {
    swarm(cluster_part(1), &Overrides::default());
}

#[test]
fn swarm_cluster_part_2() {
    swarm(cluster_part(2), &Overrides::default());
}

#[test]
fn swarm_cluster_part_3() {
    swarm(cluster_part(3), &Overrides::default());
}

#[test]
fn same_seed_same_trace_single_node() {
    for seed in seed_range(20) {
        let report = check_determinism(seed, &single_node(WriteQuorum::Async)).unwrap();
        assert_passed(&report);
    }
}

#[test]
fn same_seed_same_trace_cluster() {
    for seed in seed_range(10) {
        assert_passed(&check_determinism(seed, &Overrides::default()).unwrap());
    }
}

/// A structured plan: shrinking lowers the node count, the fault rates and the
/// duration, not just the seed.
#[derive(Clone, Debug)]
struct Plan {
    node_count: usize,
    fault_scale: f64,
    faulty_phase_ms: u64,
    quorum: WriteQuorum,
    seed: u64,
}

fn plan(node_counts: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Plan> {
    let quorum = prop_oneof![Just(WriteQuorum::Async), Just(WriteQuorum::Majority)];
    (node_counts, 0u32..=20, 500u64..10_000, quorum, any::<u64>()).prop_map(
        |(node_count, fault_tenths, faulty_phase_ms, quorum, seed)| Plan {
            node_count,
            fault_scale: fault_tenths as f64 / 10.0,
            faulty_phase_ms,
            quorum,
            seed,
        },
    )
}

fn run_plan(plan: &Plan, appendfsync: Option<AppendFsync>) -> RunReport {
    let overrides = Overrides {
        node_count: Some(plan.node_count),
        write_quorum: Some(plan.quorum),
        fault_scale: Some(plan.fault_scale),
        faulty_phase_ms: Some(plan.faulty_phase_ms),
        appendfsync,
        ..Overrides::default()
    };
    run(plan.seed, &overrides)
}

fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/random.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn plans_single_node(plan in plan(1..=1)) {
        // Majority mode is run with `appendfsync always` until core syncs by itself.
        let fsync = (plan.quorum == WriteQuorum::Majority).then_some(AppendFsync::Always);
        let report = run_plan(&plan, fsync);
        prop_assert!(report.passed(), "{}", report.failure_text());
    }
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn plans_cluster(plan in plan(3..=7)) {
        let report = run_plan(&plan, None);
        prop_assert!(report.passed(), "{}", report.failure_text());
    }
}

/// Run seeds with `bug` on every node until a checker fires; it must within
/// `PLANTED_BUG_SEEDS_MAX` seeds. Returns the violation.
fn assert_planted_bug_caught(bug: PlantedBug, quorum: Option<WriteQuorum>) -> Violation {
    let overrides = Overrides {
        planted_bug: Some(bug),
        write_quorum: quorum,
        ..Overrides::default()
    };
    for seed in 0..PLANTED_BUG_SEEDS_MAX {
        let report = run(seed, &overrides);
        if let Some(violation) = report.violation {
            println!("{bug:?} caught at seed {seed}: {violation}");
            return violation;
        }
    }
    panic!("{bug:?} was not caught within {PLANTED_BUG_SEEDS_MAX} seeds");
}

#[test]
fn planted_vote_not_persisted_is_caught() {
    assert_planted_bug_caught(PlantedBug::VoteNotPersisted, None);
}

#[test]
fn planted_vote_without_up_to_date_check_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::VoteWithoutUpToDateCheck,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_ack_before_quorum_is_caught() {
    assert_planted_bug_caught(PlantedBug::AckBeforeQuorum, Some(WriteQuorum::Majority));
}

#[test]
fn planted_torn_tail_replayed_is_caught() {
    assert_planted_bug_caught(PlantedBug::TornTailReplayed, None);
}

#[test]
fn planted_checksum_failure_as_torn_tail_is_caught() {
    let violation = assert_planted_bug_caught(PlantedBug::ChecksumFailureAsTornTail, None);
    assert_eq!(violation.checker, RECOVERY, "{violation}");
}

#[test]
fn planted_diverged_suffix_kept_is_caught() {
    assert_planted_bug_caught(PlantedBug::DivergedSuffixKept, None);
}

#[test]
fn planted_stale_read_after_reign_lost_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::StaleReadAfterReignLost,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_vote_sent_before_persist_is_caught() {
    assert_planted_bug_caught(PlantedBug::VoteSentBeforePersist, None);
}

#[test]
fn planted_lease_read_without_lease_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::LeaseReadWithoutLease,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_stale_session_ack_counted_is_caught() {
    assert_planted_bug_caught(PlantedBug::StaleSessionAckCounted, None);
}

#[test]
fn planted_commit_before_own_reign_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::CommitBeforeOwnReign,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_last_term_kept_after_cut_is_caught() {
    assert_planted_bug_caught(PlantedBug::LastTermKeptAfterCut, None);
}

#[test]
fn planted_replica_expires_on_own_clock_is_caught() {
    assert_planted_bug_caught(PlantedBug::ReplicaExpiresOnOwnClock, None);
}

#[test]
fn planted_replica_evicts_on_its_own_is_caught() {
    let violation =
        assert_planted_bug_caught(PlantedBug::ReplicaEvictsOnItsOwn, Some(WriteQuorum::Async));
    assert_eq!(violation.checker, "state safety", "{violation}");
}

#[test]
fn planted_durable_before_fsync_report_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::DurableBeforeFsyncReport,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_no_check_quorum_is_caught() {
    assert_planted_bug_caught(PlantedBug::NoCheckQuorum, None);
}

#[test]
fn planted_read_released_before_read_index_is_caught() {
    assert_planted_bug_caught(
        PlantedBug::ReadReleasedBeforeReadIndex,
        Some(WriteQuorum::Majority),
    );
}

#[test]
fn planted_base_skips_moved_entries_is_caught() {
    assert_planted_bug_caught(PlantedBug::BaseSkipsMovedEntries, None);
}

#[test]
fn planted_base_installed_before_whole_is_caught() {
    assert_planted_bug_caught(PlantedBug::BaseInstalledBeforeWhole, None);
}

#[test]
fn planted_transaction_not_a_unit_is_caught() {
    assert_planted_bug_caught(PlantedBug::TransactionNotAUnit, Some(WriteQuorum::Majority));
}
