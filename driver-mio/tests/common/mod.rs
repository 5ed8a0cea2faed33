//! Real-process test harness: runs the built `bucket-server` on free loopback ports with
//! a temporary data directory, and cleans both up on drop.

#![allow(dead_code)]

pub mod cluster;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_bucket-server");
/// How long a server may take to accept connections, and to exit after a signal.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Replies that do not come within this fail the test instead of hanging it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A directory under the system temp dir, unique to this process and call, removed on
/// drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("bucket-test-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    /// `BUCKET_TEST_KEEP=1` keeps the directory (configs, data, logs) for a post-mortem.
    fn drop(&mut self) {
        if std::env::var_os("BUCKET_TEST_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Test ports come from below the kernel's ephemeral range (32768–60999 on Linux). No
/// client socket, of this test or any other, is ever bound to one, and a connect to one
/// with no listener yet is refused rather than connecting to itself (which can happen
/// when the kernel picks the destination port as the source port).
const TEST_PORT_FIRST: u32 = 20_000;
const TEST_PORT_COUNT: u32 = 12_000;

/// `n` distinct loopback ports, each checked free by binding it. Ports are handed out in
/// order from a counter, so tests running on parallel threads of one process never share
/// one; each test process starts at its own offset (from its PID), so a stray server of
/// an earlier run is unlikely to sit on the ports, and is skipped if it does.
pub fn free_ports(n: usize) -> Vec<u16> {
    static NEXT: AtomicU64 = AtomicU64::new(u64::MAX);
    let offset = u64::from(std::process::id() % TEST_PORT_COUNT);
    let _ = NEXT.compare_exchange(u64::MAX, offset, Ordering::Relaxed, Ordering::Relaxed);
    let mut ports = Vec::with_capacity(n);
    for _ in 0..TEST_PORT_COUNT {
        if ports.len() == n {
            break;
        }
        let index = NEXT.fetch_add(1, Ordering::Relaxed) % u64::from(TEST_PORT_COUNT);
        let port = u16::try_from(u64::from(TEST_PORT_FIRST) + index).expect("below 32768");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
        }
    }
    assert_eq!(ports.len(), n, "no {n} free ports in the test range");
    ports
}

/// Two distinct free loopback ports (see `free_ports`).
pub fn free_port_pair() -> (u16, u16) {
    let ports = free_ports(2);
    (ports[0], ports[1])
}

/// One `bucket-server` process with its config and data directory. Killed (SIGKILL) on
/// drop; the directory goes with it.
pub struct TestServer {
    pub dir: TempDir,
    pub port: u16,
    pub cluster_port: u16,
    pub config_path: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl TestServer {
    /// A single node with `extra` YAML lines appended to its config.
    pub fn start_single(name: &str, extra: &str) -> TestServer {
        let dir = TempDir::new(name);
        let (port, cluster_port) = free_port_pair();
        let data_path = dir.path.join("data");
        let text = format!(
            "host: localhost\nport: {port}\nclusterPort: {cluster_port}\ndataPath: {}\n{extra}",
            data_path.display()
        );
        let mut server = TestServer::with_config(dir, port, cluster_port, &text);
        server.start();
        server
    }

    /// A server whose config file holds `text`, not started yet. The config's
    /// `dataPath` should be `dir/data` (see `data_path`).
    pub fn with_config(dir: TempDir, port: u16, cluster_port: u16, text: &str) -> TestServer {
        let config_path = dir.path.join("bucket.yml");
        fs::write(&config_path, text).expect("write config");
        TestServer {
            dir,
            port,
            cluster_port,
            config_path,
            child: None,
            starts: 0,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn data_path(&self) -> PathBuf {
        self.dir.path.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path.join(format!("server-{}.log", self.starts))
    }

    /// Starts the process and waits until the client port accepts.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        self.starts += 1;
        let log = File::create(self.log_path()).expect("create log file");
        let child = Command::new(BINARY)
            .arg(&self.config_path)
            .env("BUCKET_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn bucket-server");
        self.child = Some(child);
        self.wait_until_accepting();
    }

    fn wait_until_accepting(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if answers_ping(self.port) {
                return;
            }
            let child = self.child.as_mut().expect("started");
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "bucket-server exited with {status} before accepting:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        panic!(
            "bucket-server did not accept on port {} within {START_TIMEOUT:?}:\n{}",
            self.port,
            self.log()
        );
    }

    /// Everything the server has logged in its current (or last) run.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn client(&self) -> redis::Connection {
        let url = format!("redis://127.0.0.1:{}/", self.port);
        let client = redis::Client::open(url).expect("client url");
        let con = client
            .get_connection_with_timeout(REPLY_TIMEOUT)
            .expect("connect");
        con.set_read_timeout(Some(REPLY_TIMEOUT))
            .expect("read timeout");
        con.set_write_timeout(Some(REPLY_TIMEOUT))
            .expect("write timeout");
        con
    }

    /// Sends a signal to the process (by PID) and waits, bounded, for it to exit.
    pub fn signal_and_wait(&mut self, signal: i32) -> ExitStatus {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill(2) on our own child's PID, which has not been reaped yet.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal})");
        self.wait_exit()
    }

    /// Sends a signal without waiting (SIGSTOP, SIGCONT).
    pub fn signal(&self, signal: i32) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill(2) on our own child's PID, which has not been reaped yet.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal})");
    }

    pub fn sigterm(&mut self) -> ExitStatus {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// SIGKILL, as a crash: nothing is flushed by the server.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let mut child = self.child.take().expect("running");
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "bucket-server did not exit within {EXIT_TIMEOUT:?}:\n{}",
            self.log()
        );
    }

    pub fn restart(&mut self) {
        self.kill();
        self.start();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the binary to completion with `args` (for `--help`, bad configs and the like).
pub fn run_to_exit(args: &[&Path]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run bucket-server")
}

/// One request in RESP, as clients send it.
pub fn resp_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

/// Writes `request` on a fresh connection and reads until `want_bytes` bytes arrived,
/// the server closed, or `REPLY_TIMEOUT` passed (then returns what arrived).
pub fn raw_exchange(port: u16, request: &[u8], want_bytes: usize) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(POLL_INTERVAL * 5))
        .expect("read timeout");
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        let request = request.to_vec();
        std::thread::spawn(move || {
            let _ = stream.write_all(&request);
        })
    };
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let mut got = Vec::with_capacity(want_bytes);
    let mut buf = [0u8; 16 * 1024];
    while got.len() < want_bytes && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    got
}

/// A plain TCP client for bytes the `redis` crate would never send, and for watching a
/// connection close. Every read is bounded by a deadline.
pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    pub fn connect(port: u16) -> RawClient {
        RawClient::connect_to(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    }

    pub fn connect_to(addr: std::net::SocketAddr) -> RawClient {
        let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT).expect("connect");
        stream
            .set_read_timeout(Some(POLL_INTERVAL))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(REPLY_TIMEOUT))
            .expect("write timeout");
        RawClient { stream }
    }

    /// Writes all of `bytes`; an error means the server closed or reset the link.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.stream, bytes)
    }

    /// Reads until `done(bytes so far)`, the server closes, or `timeout` passes.
    pub fn read_until(&mut self, done: impl Fn(&[u8]) -> bool, timeout: Duration) -> Vec<u8> {
        let (got, _) = self.read_while_open(done, timeout);
        got
    }

    /// Reads until the peer closes (returns what arrived, `true`) or `timeout` passes
    /// (`false`).
    pub fn read_until_closed(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        self.read_while_open(|_| false, timeout)
    }

    /// Reads until a whole line arrived or the peer closed; `true` if it closed.
    pub fn read_until_reply_or_close(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        self.read_while_open(|got| got.ends_with(b"\r\n"), timeout)
    }

    fn read_while_open(
        &mut self,
        done: impl Fn(&[u8]) -> bool,
        timeout: Duration,
    ) -> (Vec<u8>, bool) {
        use std::io::{ErrorKind, Read};
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while !done(&got) && Instant::now() < deadline {
            match self.stream.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return (got, true),
            }
        }
        (got, false)
    }
}

/// Whether a server on `port` answers an inline PING with a status or error line (an
/// error when a password is set): proof that the server itself accepted, not merely
/// that something did.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(POLL_INTERVAL * 10));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut first = [0u8; 1];
    matches!(stream.read(&mut first), Ok(1) if first[0] == b'+' || first[0] == b'-')
}

/// The tail files the data directory's AOF manifest names, in order, with the logical
/// offset each starts at.
pub fn aof_tail_files(data_path: &Path) -> Vec<(PathBuf, u64)> {
    let manifest = fs::read_to_string(data_path.join("manifest")).expect("read the manifest");
    manifest
        .lines()
        .filter_map(|line| line.strip_prefix("tail "))
        .map(|rest| {
            let (name, start) = rest.split_once(' ').expect("tail <name> <start>");
            (data_path.join(name), start.parse().expect("a start offset"))
        })
        .collect()
}

/// Bytes in the AOF's tail files.
pub fn aof_tail_bytes(data_path: &Path) -> u64 {
    let tails = aof_tail_files(data_path);
    tails
        .iter()
        .map(|(path, _)| fs::metadata(path).expect("a tail file").len())
        .sum()
}
