//! Swarm options: each seed draws its own cluster size, fault rates, workload and
//! durations, as TigerBeetle's VOPR does, and prints them with the seed.

use bucket_core::config::CLOCK_DRIFT_PPM_MAX;
use bucket_core::WriteQuorum;
use rand_chacha::ChaCha8Rng;

#[cfg(doc)]
use crate::seed::Seeds;
use crate::seed::{between, chance};

/// The deepest pipeline a client sends.
pub const PIPELINE_DEPTH_MAX: u64 = 16;
/// The most clients of a run that pipeline.
pub const PIPELINED_CLIENTS_MAX: u64 = 3;
/// The largest `AofRead` chunk, the daemon's size.
pub const AOF_READ_CHUNK_BYTES_MAX: usize = 64 * 1024;

/// When the simulated driver fsyncs the AOF, as the daemon's `appendfsync`: after every
/// step that appended, before its replies leave; once a second, in the background; or
/// only when the node asks (`SyncAof`).
pub use bucket_core::settings::AppendFsync;

/// Which partitions the fault schedule may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionKinds {
    /// Two groups that cannot reach each other in either direction.
    pub symmetric: bool,
    /// One group's frames do not reach the other; the reverse direction works.
    pub one_way: bool,
    /// One node cut off from everyone, both ways.
    pub isolate_one: bool,
}

impl PartitionKinds {
    pub fn any(&self) -> bool {
        self.symmetric || self.one_way || self.isolate_one
    }
}

/// The mix of client operations, as relative weights (see `workload` for what each
/// weight draws).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadMix {
    pub get: u32,
    pub set: u32,
    pub incr: u32,
    pub del: u32,
    pub wait: u32,
    /// SET with NX/XX, GET, KEEPTTL or an expiry.
    pub set_with: u32,
    pub set_nx_get_set: u32,
    /// DECR, INCRBY, DECRBY.
    pub counter: u32,
    pub append: u32,
    pub get_del: u32,
    /// MSET and MGET.
    pub multi: u32,
    /// EXISTS, STRLEN, TYPE.
    pub read: u32,
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.
    pub expire: u32,
    pub persist: u32,
    /// TTL and PTTL.
    pub ttl: u32,
    /// DBSIZE, SCAN, KEYS.
    pub keyspace: u32,
    /// List-append transactions (`txn.rs`).
    pub txn: u32,
}

impl WorkloadMix {
    pub fn total(&self) -> u32 {
        let basic = self.get + self.set + self.incr + self.del + self.wait;
        let strings = self.set_with + self.set_nx_get_set + self.counter + self.append;
        let more = self.get_del + self.multi + self.read;
        let expiry = self.expire + self.persist + self.ttl + self.keyspace;
        basic + strings + more + expiry + self.txn
    }

    /// Draw the weights added after the first five, each 0 to 3, so that a seed may
    /// leave any of them out (swarm testing).
    fn draw_more(&mut self, rng: &mut ChaCha8Rng) {
        let mut weight = || between(rng, 0, 3) as u32;
        self.set_with = weight();
        self.set_nx_get_set = weight();
        self.counter = weight();
        self.append = weight();
        self.get_del = weight();
        self.multi = weight();
        self.read = weight();
        self.expire = weight();
        self.persist = weight();
        self.ttl = weight();
        self.keyspace = weight();
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub node_count: usize,
    pub write_quorum: WriteQuorum,
    pub appendfsync: AppendFsync,

    pub one_way_delay_mean_ms: u64,
    pub one_way_delay_min_ms: u64,
    pub one_way_delay_max_ms: u64,
    /// Chance that sending one frame resets its link instead (everything in flight lost).
    pub packet_loss_probability: f64,
    pub reconnect_backoff_ms_min: u64,
    pub reconnect_backoff_ms_max: u64,

    pub partition_kinds: PartitionKinds,
    /// Mean time between partitions during the faulty phase (0 = none).
    pub partition_interval_ms_mean: u64,
    pub partition_duration_ms_mean: u64,

    /// Mean time between crashes of any node during the faulty phase (0 = none).
    pub crash_interval_ms_mean: u64,
    pub restart_delay_ms_mean: u64,
    /// On a crash, the chance that some of the unsynced AOF tail is lost.
    pub disk_tail_loss_probability: f64,
    pub disk_read_latency_ms: u64,
    /// Bytes per `AofRead` chunk: small ones split records across chunks, as the
    /// daemon's reads may.
    pub aof_read_chunk_bytes: usize,
    /// The nodes' automatic AOF rewrite trigger (tiny sizes, so that rewrites happen).
    pub aof_rewrite: bucket_core::AofRewrite,
    /// The nodes' memory limit (async runs only: evictions are deletes no client asked
    /// for, which the linearizability checkers of majority runs would not expect).
    pub maxmemory: bucket_core::memory::MaxMemory,
    /// Keys a rewrite's snapshot visits per step: few, so writes land mid-snapshot.
    pub rewrite_keys_per_step: usize,
    /// How long a master in majority mode defers its own fsync while the live replicas
    /// can commit alone (zero: at once), so that commits come both ways.
    pub own_sync_delay_ms: u64,
    /// Chance that a node crashes right after granting a vote, and restarts soon: the
    /// fault that exposes a vote granted before it was durable.
    pub crash_after_vote_probability: f64,
    /// Chance that a scheduled crash lands inside the victim's next step, between two
    /// of its outputs (or after the last, before the step's own fsync), rather than
    /// between steps.
    pub crash_in_step_probability: f64,

    /// Each node's clock runs fast or slow by up to this (drawn per node).
    pub clock_drift_ppm_max: u64,
    /// Mean time between steps of some node's wall clock (0 = none).
    pub clock_step_interval_ms_mean: u64,
    /// Largest wall-clock step, forward or back.
    pub clock_step_ms_max: u64,
    /// Mean time between process pauses (0 = none).
    pub pause_interval_ms_mean: u64,
    pub pause_duration_ms_mean: u64,

    /// Chance that a frame of a reset link is read late instead of lost.
    pub late_frame_probability: f64,
    /// Chance that a frame arrives twice, the copy late.
    pub duplicate_frame_probability: f64,
    pub late_frame_delay_ms_max: u64,
    /// How long an fsync the node asked for (`SyncAof`) takes, at most (drawn per
    /// fsync, uniformly).
    pub fsync_latency_ms_max: u64,

    /// On a crash that loses unsynced bytes, the chance that part of them read back as
    /// zeros.
    pub disk_zero_fill_probability: f64,
    /// On a crash after a truncation not yet synced, the chance the file comes back as
    /// it was at the last sync.
    pub disk_truncation_undo_probability: f64,
    /// At a restart in the faulty phase, the chance that a bit of the synced AOF flipped
    /// while the node was down (recovery must refuse it).
    pub disk_bit_flip_probability: f64,
    /// Chance that one fsync fails in the faulty phase: the node stops, and restarts.
    pub fsync_failure_probability: f64,
    /// Mean time the `everysec` background fsync takes (0: it returns at once).
    pub fsync_latency_ms_mean: u64,

    pub client_count: usize,
    /// Keys the clients share; few keys mean more contention.
    pub key_count: usize,
    /// Keys that get short expiries, apart from the `key_count` keys that the
    /// linearizability checker models (see `workload`).
    pub volatile_key_count: usize,
    pub workload: WorkloadMix,
    /// Mean pause between one client's operations (or pipelines).
    pub think_time_ms_mean: u64,
    /// Clients (the first ones) that pipeline: each sends several operations at once on
    /// one connection and reads the replies in order.
    pub pipelined_client_count: usize,
    /// A pipeline holds 2 to this many operations (drawn per pipeline).
    pub pipeline_depth_max: usize,
    pub client_latency_ms: u64,
    pub request_timeout_ms: u64,

    /// Faults happen only in this first phase.
    pub faulty_phase_ms: u64,
    /// After the faulty phase, no faults and every node up: the cluster must converge
    /// within this long.
    pub liveness_phase_ms: u64,
    /// How often the state checkers run during the run.
    pub check_interval_ms: u64,

    /// The bug every node runs with (planted-bug tests only).
    pub planted_bug: Option<bucket_core::config::PlantedBug>,
    /// Print each timeline line as it happens (`--replay`), so a run that aborts on a
    /// panic still shows how it got there.
    pub echo_timeline: bool,
}

impl Options {
    /// Draw the options for one seed (from [`Seeds::options`]).
    pub fn draw(rng: &mut ChaCha8Rng) -> Options {
        let node_count = [3, 3, 3, 5, 5, 5, 4, 6, 7][between(rng, 0, 8) as usize];
        let delay_min_ms = between(rng, 0, 5);
        let delay_mean_ms = delay_min_ms + between(rng, 1, 40);
        let delay_max_ms = delay_mean_ms * between(rng, 2, 5);
        let kinds = PartitionKinds {
            symmetric: chance(rng, 0.6),
            one_way: chance(rng, 0.4),
            isolate_one: chance(rng, 0.6),
        };
        let mix = WorkloadMix {
            get: between(rng, 1, 10) as u32,
            set: between(rng, 1, 10) as u32,
            incr: between(rng, 0, 5) as u32,
            del: between(rng, 0, 2) as u32,
            wait: between(rng, 0, 1) as u32,
            ..WorkloadMix::default()
        };
        let mut options = Options {
            node_count,
            write_quorum: draw_write_quorum(rng),
            appendfsync: draw_appendfsync(rng),
            one_way_delay_mean_ms: delay_mean_ms,
            one_way_delay_min_ms: delay_min_ms,
            one_way_delay_max_ms: delay_max_ms,
            packet_loss_probability: [0.0, 0.0001, 0.001, 0.01][between(rng, 0, 3) as usize],
            reconnect_backoff_ms_min: 10,
            reconnect_backoff_ms_max: between(rng, 20, 300),
            partition_kinds: kinds,
            partition_interval_ms_mean: [0, 1_000, 3_000, 8_000][between(rng, 0, 3) as usize],
            partition_duration_ms_mean: between(rng, 200, 3_000),
            crash_interval_ms_mean: [0, 1_500, 4_000, 10_000][between(rng, 0, 3) as usize],
            restart_delay_ms_mean: between(rng, 50, 2_000),
            disk_tail_loss_probability: [0.0, 0.5, 1.0][between(rng, 0, 2) as usize],
            disk_read_latency_ms: between(rng, 0, 5),
            aof_read_chunk_bytes: AOF_READ_CHUNK_BYTES_MAX,
            aof_rewrite: bucket_core::AofRewrite::default(),
            maxmemory: bucket_core::memory::MaxMemory::default(),
            rewrite_keys_per_step: 2048,
            own_sync_delay_ms: 2,
            client_count: between(rng, 1, 8) as usize,
            key_count: between(rng, 1, 6) as usize,
            volatile_key_count: 0,
            workload: mix,
            think_time_ms_mean: between(rng, 5, 100),
            pipelined_client_count: 0,
            pipeline_depth_max: 2,
            client_latency_ms: between(rng, 0, 2),
            request_timeout_ms: 2_000,
            faulty_phase_ms: between(rng, 20_000, 120_000),
            liveness_phase_ms: 20_000,
            check_interval_ms: between(rng, 200, 1_000),
            // Drawn after the others, so that adding them did not change any earlier
            // draw; new options go at the end.
            crash_after_vote_probability: [0.0, 0.0, 0.1, 0.3][between(rng, 0, 3) as usize],
            // Drawn after everything above, so that adding them changed no earlier draw.
            crash_in_step_probability: [0.0, 0.5, 1.0][between(rng, 0, 2) as usize],
            clock_drift_ppm_max: [0, 100, CLOCK_DRIFT_PPM_MAX][between(rng, 0, 2) as usize],
            clock_step_interval_ms_mean: [0, 0, 5_000][between(rng, 0, 2) as usize],
            clock_step_ms_max: between(rng, 1, 2_000),
            pause_interval_ms_mean: [0, 2_000, 8_000][between(rng, 0, 2) as usize],
            pause_duration_ms_mean: between(rng, 50, 3_000),
            late_frame_probability: [0.0, 0.1, 0.5][between(rng, 0, 2) as usize],
            duplicate_frame_probability: [0.0, 0.001, 0.01][between(rng, 0, 2) as usize],
            late_frame_delay_ms_max: between(rng, 10, 3_000),
            fsync_latency_ms_max: 0,
            disk_zero_fill_probability: [0.0, 0.5, 1.0][between(rng, 0, 2) as usize],
            disk_truncation_undo_probability: [0.0, 0.5, 1.0][between(rng, 0, 2) as usize],
            disk_bit_flip_probability: [0.0, 0.1, 0.3][between(rng, 0, 2) as usize],
            fsync_failure_probability: [0.0, 0.0, 0.0002, 0.001][between(rng, 0, 3) as usize],
            fsync_latency_ms_mean: [0, 10, 100, 700][between(rng, 0, 3) as usize],
            planted_bug: None,
            echo_timeline: false,
        };
        // Drawn after everything above, so that adding them changed no earlier draw.
        options.workload.draw_more(rng);
        options.volatile_key_count = between(rng, 0, 3) as usize;
        options.fsync_latency_ms_max = [0, 1, 5, 20][between(rng, 0, 3) as usize];
        options.draw_pipelines(rng);
        options.aof_read_chunk_bytes =
            [AOF_READ_CHUNK_BYTES_MAX, 4096, 97, 13][between(rng, 0, 3) as usize];
        options.aof_rewrite = bucket_core::AofRewrite {
            percentage: [0, 100, 100, 200][between(rng, 0, 3) as usize],
            min_size_bytes: [16 << 10, 64 << 10, 256 << 10][between(rng, 0, 2) as usize],
        };
        options.rewrite_keys_per_step = between(rng, 1, 3) as usize;
        options.own_sync_delay_ms = [0, 1, 2, 50][between(rng, 0, 3) as usize];
        options.workload.txn = [0, 0, 1, 3][between(rng, 0, 3) as usize];
        options.maxmemory = draw_maxmemory(rng, options.write_quorum);
        if options.maxmemory.bytes != 0 {
            // The list-append checker takes every list to only grow; an eviction
            // deletes one whole.
            options.workload.txn = 0;
        }
        options
    }

    /// Pipelining clients, and a high operation rate, so that a master serves many
    /// requests per step and batches them. Every value is drawn whatever it ends up
    /// being, so that later draws stay put.
    fn draw_pipelines(&mut self, rng: &mut ChaCha8Rng) {
        let pipelined = chance(rng, 0.4);
        // Few of them: a pipeline's operations all overlap, and more would make
        // histories too concurrent for the linearizability search's budget.
        let pipelined_count =
            between(rng, 1, PIPELINED_CLIENTS_MAX.min(self.client_count as u64)) as usize;
        self.pipeline_depth_max = between(rng, 2, PIPELINE_DEPTH_MAX) as usize;
        self.pipelined_client_count = if pipelined { pipelined_count } else { 0 };
        if chance(rng, 0.15) {
            self.think_time_ms_mean = 1;
        }
    }

    /// A calm single-node run: used by scenarios and by today's single-node swarm.
    pub fn single_node(rng: &mut ChaCha8Rng) -> Options {
        let mut options = Options::draw(rng);
        options.node_count = 1;
        options.partition_interval_ms_mean = 0;
        options.packet_loss_probability = 0.0;
        options.late_frame_probability = 0.0;
        options.duplicate_frame_probability = 0.0;
        options
    }

    pub fn has_faults(&self) -> bool {
        self.crash_interval_ms_mean > 0
            || self.partition_interval_ms_mean > 0 && self.partition_kinds.any()
            || self.packet_loss_probability > 0.0
            || self.pause_interval_ms_mean > 0
            || self.late_frame_probability > 0.0
            || self.duplicate_frame_probability > 0.0
            || self.fsync_failure_probability > 0.0
    }
}

fn draw_write_quorum(rng: &mut ChaCha8Rng) -> WriteQuorum {
    if chance(rng, 0.5) {
        WriteQuorum::Majority
    } else {
        WriteQuorum::Async
    }
}

fn draw_appendfsync(rng: &mut ChaCha8Rng) -> AppendFsync {
    [AppendFsync::Always, AppendFsync::Everysec, AppendFsync::No][between(rng, 0, 2) as usize]
}

/// Values a caller pins, over the ones a seed draws. `None` keeps the drawn value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub node_count: Option<usize>,
    pub write_quorum: Option<WriteQuorum>,
    pub appendfsync: Option<AppendFsync>,
    /// Scale every fault rate: 0.0 turns faults off, 1.0 keeps the drawn rates.
    pub fault_scale: Option<f64>,
    pub faulty_phase_ms: Option<u64>,
    pub liveness_phase_ms: Option<u64>,
    pub client_count: Option<usize>,
    pub planted_bug: Option<bucket_core::config::PlantedBug>,
    pub echo_timeline: bool,
}

impl Overrides {
    /// The command-line flags of `sim` that pin the same values (those it has flags for).
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if let Some(n) = self.node_count {
            flags.push_str(&format!(" --nodes {n}"));
        }
        match self.write_quorum {
            Some(WriteQuorum::Async) => flags.push_str(" --async"),
            Some(WriteQuorum::Majority) => flags.push_str(" --majority"),
            None => {}
        }
        if self.appendfsync == Some(AppendFsync::Always) {
            flags.push_str(" --fsync-always");
        }
        if let Some(bug) = self.planted_bug {
            flags.push_str(&format!(" (planted bug {bug:?})"));
        }
        flags
    }

    pub fn apply(&self, options: &mut Options) {
        if let Some(n) = self.node_count {
            options.node_count = n;
        }
        if let Some(q) = self.write_quorum {
            options.write_quorum = q;
        }
        if let Some(f) = self.appendfsync {
            options.appendfsync = f;
        }
        if let Some(scale) = self.fault_scale {
            scale_faults(options, scale);
        }
        if let Some(ms) = self.faulty_phase_ms {
            options.faulty_phase_ms = ms;
        }
        if let Some(ms) = self.liveness_phase_ms {
            options.liveness_phase_ms = ms;
        }
        if let Some(n) = self.client_count {
            options.client_count = n;
        }
        options.echo_timeline |= self.echo_timeline;
        if self.planted_bug.is_some() {
            options.planted_bug = self.planted_bug;
        }
    }
}

/// Scale fault rates: intervals grow as rates shrink; zero turns a fault off.
fn scale_faults(options: &mut Options, scale: f64) {
    assert!(scale >= 0.0);
    let interval = |mean_ms: u64| -> u64 {
        if scale == 0.0 || mean_ms == 0 {
            0
        } else {
            ((mean_ms as f64 / scale) as u64).max(1)
        }
    };
    let probability = |p: f64| (p * scale).min(1.0);
    options.crash_interval_ms_mean = interval(options.crash_interval_ms_mean);
    options.partition_interval_ms_mean = interval(options.partition_interval_ms_mean);
    options.pause_interval_ms_mean = interval(options.pause_interval_ms_mean);
    options.clock_step_interval_ms_mean = interval(options.clock_step_interval_ms_mean);
    options.packet_loss_probability = probability(options.packet_loss_probability);
    options.disk_tail_loss_probability = probability(options.disk_tail_loss_probability);
    options.late_frame_probability = probability(options.late_frame_probability);
    options.duplicate_frame_probability = probability(options.duplicate_frame_probability);
    options.disk_zero_fill_probability = probability(options.disk_zero_fill_probability);
    options.disk_truncation_undo_probability =
        probability(options.disk_truncation_undo_probability);
    options.disk_bit_flip_probability = probability(options.disk_bit_flip_probability);
    options.fsync_failure_probability = probability(options.fsync_failure_probability);
}

impl std::fmt::Display for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "  nodes={} write_quorum={:?} appendfsync={:?} planted_bug={:?}",
            self.node_count, self.write_quorum, self.appendfsync, self.planted_bug
        )?;
        writeln!(
            f,
            "  one_way_delay_ms min={} mean={} max={} packet_loss_probability={} reconnect_backoff_ms={}..{}",
            self.one_way_delay_min_ms,
            self.one_way_delay_mean_ms,
            self.one_way_delay_max_ms,
            self.packet_loss_probability,
            self.reconnect_backoff_ms_min,
            self.reconnect_backoff_ms_max
        )?;
        writeln!(
            f,
            "  partitions {:?} interval_ms_mean={} duration_ms_mean={}",
            self.partition_kinds, self.partition_interval_ms_mean, self.partition_duration_ms_mean
        )?;
        writeln!(
            f,
            "  crash_interval_ms_mean={} restart_delay_ms_mean={} crash_after_vote_probability={} crash_in_step_probability={} disk_tail_loss_probability={} disk_read_latency_ms={} aof_read_chunk_bytes={} aof_rewrite={:?} rewrite_keys_per_step={} own_sync_delay_ms={}",
            self.crash_interval_ms_mean,
            self.restart_delay_ms_mean,
            self.crash_after_vote_probability,
            self.crash_in_step_probability,
            self.disk_tail_loss_probability,
            self.disk_read_latency_ms,
            self.aof_read_chunk_bytes,
            self.aof_rewrite,
            self.rewrite_keys_per_step,
            self.own_sync_delay_ms
        )?;
        writeln!(
            f,
            "  clock_drift_ppm_max={} clock_step_interval_ms_mean={} clock_step_ms_max={} pause_interval_ms_mean={} pause_duration_ms_mean={}",
            self.clock_drift_ppm_max,
            self.clock_step_interval_ms_mean,
            self.clock_step_ms_max,
            self.pause_interval_ms_mean,
            self.pause_duration_ms_mean
        )?;
        writeln!(
            f,
            "  late_frame_probability={} duplicate_frame_probability={} late_frame_delay_ms_max={} fsync_latency_ms_max={}",
            self.late_frame_probability,
            self.duplicate_frame_probability,
            self.late_frame_delay_ms_max,
            self.fsync_latency_ms_max
        )?;
        writeln!(
            f,
            "  disk_zero_fill_probability={} disk_truncation_undo_probability={} disk_bit_flip_probability={} fsync_failure_probability={} fsync_latency_ms_mean={}",
            self.disk_zero_fill_probability,
            self.disk_truncation_undo_probability,
            self.disk_bit_flip_probability,
            self.fsync_failure_probability,
            self.fsync_latency_ms_mean
        )?;
        writeln!(
            f,
            "  clients={} pipelined_clients={} pipeline_depth_max={} keys={} volatile_keys={} mix={:?} think_time_ms_mean={} request_timeout_ms={}",
            self.client_count,
            self.pipelined_client_count,
            self.pipeline_depth_max,
            self.key_count,
            self.volatile_key_count,
            self.workload,
            self.think_time_ms_mean,
            self.request_timeout_ms
        )?;
        write!(
            f,
            "  faulty_phase_ms={} liveness_phase_ms={} check_interval_ms={}",
            self.faulty_phase_ms, self.liveness_phase_ms, self.check_interval_ms
        )
    }
}

/// A third of async runs limit memory to a little above the modelled base
/// (`world/memory.rs`), under any policy: a few keys fill the room.
fn draw_maxmemory(rng: &mut ChaCha8Rng, quorum: WriteQuorum) -> bucket_core::memory::MaxMemory {
    use bucket_core::memory::{MaxMemory, Policy};
    let limited = chance(rng, 0.33);
    let room = [200, 600, 2_000][between(rng, 0, 2) as usize];
    let names: Vec<&str> = Policy::names().collect();
    let policy = names[between(rng, 0, names.len() as u64 - 1) as usize];
    let samples = between(rng, 1, 10) as u32;
    if !limited || quorum != WriteQuorum::Async {
        return MaxMemory::default();
    }
    MaxMemory {
        bytes: crate::world::MODEL_BASE_BYTES + room,
        policy: Policy::from_name(policy).expect("a named policy"),
        samples,
    }
}
