//! Hand-written scenarios: a name that states the case, a comment saying what should
//! happen, then a few calls on the world.
//!
//! The multi-node scenarios need cluster elections and replication in core; until those
//! land they are ignored (a multi-node node asserts that elections are not wired yet).

use bucket_core::WriteQuorum;
use sim::checkers::linearizability::Verdict;
use sim::history::Outcome;
use sim::options::{AppendFsync, Options};
use sim::seed::Seeds;
use sim::World;

/// Calm options: no faults, a few clients, a short run.
fn calm(node_count: usize, quorum: WriteQuorum, appendfsync: AppendFsync) -> Options {
    let mut options = Options::draw(&mut Seeds::new(7).options());
    options.node_count = node_count;
    options.write_quorum = quorum;
    options.appendfsync = appendfsync;
    options.packet_loss_probability = 0.0;
    options.partition_interval_ms_mean = 0;
    options.crash_interval_ms_mean = 0;
    options.client_count = 3;
    options.key_count = 3;
    options.workload = sim::options::WorkloadMix {
        get: 3,
        set: 3,
        incr: 1,
        del: 1,
        wait: 0,
        ..sim::options::WorkloadMix::default()
    };
    options.think_time_ms_mean = 20;
    options.pipelined_client_count = 0;
    options.one_way_delay_min_ms = 1;
    options.one_way_delay_mean_ms = 5;
    options.one_way_delay_max_ms = 20;
    options
}

fn world(node_count: usize, quorum: WriteQuorum) -> World {
    World::new(11, calm(node_count, quorum, AppendFsync::Always))
}

fn acked_after(world: &World, since_ms: u64) -> usize {
    let ops = &world.clients.history.ops;
    ops.iter()
        .filter(|op| op.call_ms >= since_ms && matches!(op.outcome, Outcome::Ok(_)))
        .count()
}

fn assert_safe(world: &World) {
    assert_eq!(world.violation, None, "{}", world.timeline());
    world.check_state().unwrap();
}

#[test]
fn single_node_becomes_master_and_serves_writes() {
    // A one-node cluster is its own majority: master on its first tick, and every
    // client operation succeeds.
    let mut world = world(1, WriteQuorum::Async);
    world.start_clients();
    world.run_until(3_000);
    assert_eq!(world.master(), Some(0));
    assert!(acked_after(&world, 0) > 50);
    assert_safe(&world);
}

#[test]
fn single_node_survives_a_crash_with_a_torn_tail() {
    // Nothing is synced under `appendfsync no`; the crash keeps all but the last three
    // bytes, tearing the last record. Recovery cuts it, the node is the replay of what
    // is left, and it serves writes again.
    let mut world = World::new(12, calm(1, WriteQuorum::Async, AppendFsync::No));
    world.start_clients();
    world.run_until(2_000);
    let unsynced = world.disks[0].aof_len() - world.disks[0].aof_synced_len();
    assert!(unsynced > 3, "the workload wrote something unsynced");
    world.crash_keeping(0, unsynced as usize - 3);
    assert!(world.master().is_none());
    world.run_until(2_200);
    world.restart(0);
    world.run_until(4_000);
    assert!(world.timeline().contains("torn tail"));
    assert_eq!(world.master(), Some(0));
    assert!(acked_after(&world, 2_300) > 10);
    assert_safe(&world);
}

#[test]
fn single_node_majority_mode_loses_no_acked_write_in_a_crash() {
    // Majority mode promises no acked write is lost even when every node loses power:
    // the node must sync before it counts a write, whatever `appendfsync` says.
    let mut world = World::new(13, calm(1, WriteQuorum::Majority, AppendFsync::No));
    world.start_clients();
    world.run_until(2_000);
    world.crash_with(0, 1.0);
    world.restart(0);
    world.run_until(2_500);
    let findings = world.final_checks();
    assert_eq!(findings.lost_acked_writes, 0);
    assert_safe(&world);
}

#[test]
fn three_nodes_elect_exactly_one_master() {
    // Within a few election timeouts one node is master, and it stays the only one.
    let mut world = world(3, WriteQuorum::Majority);
    assert!(world.run_until_with(3_000, |w| w.master().is_some()));
    world.run_until(6_000);
    assert!(world.master().is_some());
    assert_safe(&world);
}

#[test]
fn isolated_master_is_replaced_and_steps_down() {
    // Cut the master off: the others elect a new master in a higher term, and the old
    // one steps down (CheckQuorum) instead of taking writes alone. After healing, all
    // three converge on the new master's history.
    let mut world = world(3, WriteQuorum::Majority);
    world.start_clients();
    assert!(world.run_until_with(3_000, |w| w.master().is_some()));
    let old = world.master().unwrap();
    let old_term = world.node(old).unwrap().term();
    world.isolate(old);
    let until_ms = world.now_ms + 5_000;
    let replaced = world.run_until_with(until_ms, |w| w.master().is_some_and(|m| m != old));
    assert!(replaced, "{}", world.timeline());
    let new = world.master().unwrap();
    assert!(world.node(new).unwrap().term() > old_term);
    world.heal();
    world.clients.issuing = false;
    let until_ms = world.now_ms + 20_000;
    assert!(world.run_until_with(until_ms, |w| w.is_converged() && w.clients.all_idle()));
    assert_safe(&world);
}

#[test]
fn partitions_heal_and_the_cluster_converges() {
    // Five nodes split 2|3 both ways while clients write, then one-way 0->all. After
    // healing, one master holds everything and every node matches it.
    let mut world = world(5, WriteQuorum::Majority);
    world.start_clients();
    world.run_until(2_000);
    world.block(&[0, 1], &[2, 3, 4]);
    world.block(&[2, 3, 4], &[0, 1]);
    world.run_until(5_000);
    world.heal();
    world.block(&[0], &[1, 2, 3, 4]);
    world.run_until(8_000);
    world.heal();
    world.clients.issuing = false;
    let until_ms = world.now_ms + 20_000;
    assert!(world.run_until_with(until_ms, |w| w.is_converged() && w.clients.all_idle()));
    assert!(world.final_checks().lost_acked_writes == 0);
    assert_safe(&world);
}

#[test]
fn a_crashed_replica_catches_up_after_restart() {
    // A replica that was down while the master took writes resyncs on restart.
    let mut world = world(3, WriteQuorum::Async);
    world.start_clients();
    assert!(world.run_until_with(3_000, |w| w.master().is_some()));
    let replica = (0..3).find(|&i| Some(i) != world.master()).unwrap();
    world.crash(replica);
    world.run_until(world.now_ms + 3_000);
    world.restart(replica);
    world.clients.issuing = false;
    let until_ms = world.now_ms + 20_000;
    assert!(world.run_until_with(until_ms, |w| w.is_converged() && w.clients.all_idle()));
    assert_safe(&world);
}

#[test]
fn pipelined_clients_in_majority_mode_get_every_reply() {
    // Three clients send pipelines of up to sixteen operations to a calm three-node
    // cluster in majority mode: the master runs each pipeline as it arrives and
    // releases the replies in order as the commit passes them, so every operation
    // completes, and the history linearizes.
    let mut options = calm(3, WriteQuorum::Majority, AppendFsync::Always);
    options.pipelined_client_count = 3;
    options.pipeline_depth_max = 16;
    let mut world = World::new(14, options);
    world.start_clients();
    world.run_until(5_000);
    world.clients.issuing = false;
    let until_ms = world.now_ms + 5_000;
    assert!(world.run_until_with(until_ms, |w| w.clients.all_idle()));
    let ops = &world.clients.history.ops;
    assert!(ops.len() > 300, "pipelines ran: {} operations", ops.len());
    let answered = ops.iter().all(|op| matches!(op.outcome, Outcome::Ok(_)));
    assert!(answered, "{}", world.timeline());
    let findings = world.final_checks();
    assert_eq!(findings.linearizability, Some(Verdict::Linearizable));
    assert_safe(&world);
}
