//! `sim`: run seeds of the Bucket simulator.
//!
//! ```text
//! cargo run -p sim --release -- --seed S          one seed
//! cargo run -p sim --release -- --seeds N [--start S]   N seeds from S (default: random)
//! cargo run -p sim --release -- --replay S        one seed, printing its timeline
//! cargo run -p sim --release -- --bench           simulated time per wall second
//! ```
//! Pin drawn options with `--nodes N`, `--async` or `--majority`, `--fsync-always`.
//! For sweeps, `--profile sweep` in place of `--release` keeps the core's debug
//! assertions on at release speed (the test profile has them on too).

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use sim::{run, Overrides};

fn main() -> ExitCode {
    install_panic_hook();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut overrides = Overrides::default();
    if let Some(n) = value_of(&args, "--nodes") {
        overrides.node_count = Some(n as usize);
    }
    if args.iter().any(|a| a == "--async") {
        overrides.write_quorum = Some(bucket_core::WriteQuorum::Async);
    }
    if args.iter().any(|a| a == "--majority") {
        overrides.write_quorum = Some(bucket_core::WriteQuorum::Majority);
    }
    if args.iter().any(|a| a == "--fsync-always") {
        overrides.appendfsync = Some(sim::options::AppendFsync::Always);
    }
    if args.iter().any(|a| a == "--bench") {
        return bench(overrides.node_count.unwrap_or(5));
    }
    if let Some(seed) = value_of(&args, "--replay") {
        return replay(seed, &overrides);
    }
    if let Some(seed) = value_of(&args, "--seed") {
        return seeds(seed, 1, &overrides);
    }
    if let Some(count) = value_of(&args, "--seeds") {
        let start = value_of(&args, "--start").unwrap_or_else(random_start);
        return seeds(start, count, &overrides);
    }
    eprintln!("usage: sim --seed S | --seeds N [--start S] | --replay S | --bench [--nodes N]");
    ExitCode::from(2)
}

fn value_of(args: &[String], flag: &str) -> Option<u64> {
    let at = args.iter().position(|a| a == flag)?;
    let value = args.get(at + 1)?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{flag} takes a number, not {value:?}")),
    )
}

/// A start seed from the wall clock: the only place the simulator reads real time.
fn random_start() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    sim::seed::splitmix64(nanos)
}

fn seeds(start: u64, count: u64, overrides: &Overrides) -> ExitCode {
    for seed in start..start.saturating_add(count) {
        // Printed first: a release build aborts on a panic outside the simulated nodes.
        println!("seed {seed} ...");
        announce_on_panic(seed, overrides);
        let report = run(seed, overrides);
        println!("{}", report.summary());
        if !report.passed() {
            println!("{}", report.failure_text());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// What to print if the current seed panics: release builds abort on a panic (a core
/// assertion), so the failure is printed from the panic hook, before the abort.
static ON_PANIC: Mutex<String> = Mutex::new(String::new());

fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let context = ON_PANIC.lock().map(|c| c.clone()).unwrap_or_default();
        println!("{context}\n  panic: {info}");
    }));
}

fn announce_on_panic(seed: u64, overrides: &Overrides) {
    let options = sim::options_for(seed, overrides);
    let context = format!(
        "seed {seed} FAILED: [{}]\noptions:\n{options}\nreplay: cargo run -p sim --release -- --replay {seed}{}",
        sim::world::CORE_ASSERTION,
        overrides.flags()
    );
    if let Ok(mut c) = ON_PANIC.lock() {
        *c = context;
    }
}

fn replay(seed: u64, overrides: &Overrides) -> ExitCode {
    announce_on_panic(seed, overrides);
    let overrides = Overrides {
        echo_timeline: true,
        ..overrides.clone()
    };
    let report = run(seed, &overrides);
    println!("{}", report.summary());
    println!("options:\n{}", report.options);
    if report.passed() {
        return ExitCode::SUCCESS;
    }
    println!("{}", report.failure_text());
    ExitCode::FAILURE
}

/// Simulated time per wall time for an `node_count` cluster at about 100 writes per
/// simulated second, with no faults.
fn bench(node_count: usize) -> ExitCode {
    let seed = 1;
    let mut options = sim::options_for(
        seed,
        &Overrides {
            node_count: Some(node_count),
            fault_scale: Some(0.0),
            ..Overrides::default()
        },
    );
    options.client_count = 4;
    options.pipelined_client_count = 0;
    // 4 clients, each thinking ~11 ms between writes that take ~29 ms (a round trip to
    // the master, and its round trip to a majority): 100 writes per simulated second.
    options.think_time_ms_mean = 11;
    options.workload = sim::options::WorkloadMix {
        get: 0,
        set: 3,
        incr: 1,
        del: 0,
        wait: 0,
        ..sim::options::WorkloadMix::default()
    };
    // Ten simulated minutes, so that start-up does not weigh on the figure.
    options.faulty_phase_ms = 600_000;
    let wall = Instant::now();
    let report = sim::run_with_options(seed, options);
    let wall_s = wall.elapsed().as_secs_f64();
    let simulated_s = report.simulated_ms as f64 / 1000.0;
    println!("{}", report.summary());
    println!(
        "bench: {node_count} nodes, {simulated_s:.1} s simulated in {wall_s:.2} s wall: {:.0}x real time, {:.0} events/s, {:.0} writes per simulated second",
        simulated_s / wall_s,
        report.events as f64 / wall_s,
        (report.ops_ok + report.ops_failed + report.ops_unknown) as f64 / simulated_s
    );
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        println!("{}", report.failure_text());
        ExitCode::FAILURE
    }
}
