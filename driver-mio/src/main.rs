//! `bucket-server <config.yml>`: load the config, recover from the data directory, run
//! the event loop until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use driver_mio::config::{self, ServerConfig};
use driver_mio::event_loop::{self, Server};
use driver_mio::files::{self, DataDir};
use driver_mio::{log, log_error, log_info, log_warn, signals};

/// jemalloc, as Redis ships with: see the README's "Memory".
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's start-up options (its `malloc_conf`, under the crate's symbol prefix). A
/// background thread returns freed pages to the OS after its decay time, as Redis's
/// `jemalloc-bg-thread yes`: without it, pages freed by an idle server (a keyspace
/// table that grew, a burst's buffers) are only purged on later allocations. Freed
/// pages are kept one second, not jemalloc's default ten: a node loading keys at its
/// `maxmemory` frees a table segment or a burst's buffer now and then, and those pages
/// would otherwise stand above the limit in the RSS for ten seconds (bench/maxmemory.sh:
/// peak RSS 1.21x the limit with ten seconds, 1.10x with one, at the same load speed).
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_CONF: &[u8; 43] = b"background_thread:true,dirty_decay_ms:1000\0";

const USAGE: &str = "\
Usage: bucket-server <config.yml>

Runs one Bucket node as configured in <config.yml>.

Options:
  -h, --help      print this help
  -V, --version   print the version

Environment:
  BUCKET_LOG      log level (error, warn, info, debug); overrides the config's logLevel
";

enum Args {
    Run(PathBuf),
    Help,
    Version,
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => Ok(Args::Help),
        [flag] if flag == "-V" || flag == "--version" => Ok(Args::Version),
        [flag] if flag.starts_with('-') => Err(format!("unknown option {flag}")),
        [path] => Ok(Args::Run(PathBuf::from(path))),
        [] => Err("missing the config file".to_string()),
        _ => Err("expected one config file".to_string()),
    }
}

fn main() -> ExitCode {
    let path = match parse_args() {
        Ok(Args::Run(path)) => path,
        Ok(Args::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Args::Version) => {
            println!("bucket-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bucket-server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log_error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn set_log_level(config: &ServerConfig) {
    let from_env = std::env::var("BUCKET_LOG")
        .ok()
        .and_then(|v| log::parse_level(&v));
    log::set_level(from_env.unwrap_or(config.log_level));
}

fn run(path: &std::path::Path) -> Result<(), String> {
    let mut config = config::load(path).map_err(|e| e.to_string())?;
    config.core.process = process_info(path);
    set_log_level(&config);
    // Before the listeners open: a stop signal that arrives as soon as the port
    // answers must find the handler, not the default action.
    signals::install().map_err(|e| format!("installing signal handlers: {e}"))?;
    let mut server = start(&config)?;
    log_startup(&config, &server);
    server.run().map_err(|e| format!("fatal: {e}"))
}

fn start(config: &ServerConfig) -> Result<Server, String> {
    // The ports first: a port in use stops the start before the data directory and its
    // files are made.
    let client_listener = event_loop::bind(&config.client_listen_addr)
        .map_err(|e| format!("listening on {} (port): {e}", config.client_listen_addr))?;
    let cluster_listener = event_loop::bind(&config.cluster_listen_addr).map_err(|e| {
        format!(
            "listening on {} (clusterPort): {e}",
            config.cluster_listen_addr
        )
    })?;
    let mut files = DataDir::open(&config.data_path, config.appendfsync)?;
    let seed = files::os_seed().map_err(|e| format!("reading /dev/urandom: {e}"))?;
    let (node, recovery) = files::recover(config.core.clone(), seed, &mut files)?;
    let base = match files.aof().base_path() {
        Some(_) => format!("a base at offset {} and ", files.aof().base_offset()),
        None => String::new(),
    };
    log_info!(
        "recovered {base}{} AOF records; the AOF ends at offset {}, term {}",
        recovery.records,
        recovery.aof_len_valid,
        recovery.term.0
    );
    Server::new(config, node, files, client_listener, cluster_listener)
        .map_err(|e| format!("starting the event loop: {e}"))
}

/// What `INFO server` says of this process.
fn process_info(config_path: &std::path::Path) -> bucket_core::config::ProcessInfo {
    let absolute = |p: &std::path::Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    bucket_core::config::ProcessInfo {
        process_id: std::process::id(),
        os: os_name(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_file: absolute(config_path),
    }
}

/// `uname -srm`: system, release, machine.
fn os_name() -> String {
    // SAFETY: uname fills the zeroed struct it is given; its fields are NUL-terminated.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut name) } != 0 {
        return String::new();
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&name.sysname),
        field(&name.release),
        field(&name.machine)
    )
}

fn log_startup(config: &ServerConfig, server: &Server) {
    let member = config.self_member();
    log_info!(
        "bucket-server {} node {} ({} of {} members) client {} (listening {}) cluster listening {} data {} appendfsync {} writeQuorum {} role {}",
        env!("CARGO_PKG_VERSION"),
        member.cluster_addr,
        config.core.self_id.0 + 1,
        config.core.members.len(),
        member.client_addr,
        config.client_listen_addr,
        config.cluster_listen_addr,
        config.data_path.display(),
        format!("{:?}", config.appendfsync).to_lowercase(),
        format!("{:?}", config.core.write_quorum).to_lowercase(),
        format!("{:?}", server.node().role()).to_lowercase(),
    );
    if config.cluster_secret.is_none() && config.core.members.len() > 1 {
        log_warn!(
            "no clusterSecret is set: the cluster port takes links only from loopback and from the addresses of clusterNodes"
        );
    }
}
