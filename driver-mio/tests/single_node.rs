//! One real `bucket-server` process per test, spoken to with the `redis` crate, checked
//! against what Redis does.

mod common;

use std::time::Duration;

use common::cluster::info_field;
use common::{run_to_exit, TempDir, TestServer};
use redis::{Commands, Value};

#[test]
fn set_then_get_returns_the_value() {
    let server = TestServer::start_single("set-get", "");
    let mut con = server.client();
    let reply: String = con.set("greeting", "hello").unwrap();
    assert_eq!(reply, "OK");
    let value: Option<String> = con.get("greeting").unwrap();
    assert_eq!(value.as_deref(), Some("hello"));
    let missing: Option<String> = con.get("nobody").unwrap();
    assert_eq!(missing, None);
}

/// `INFO stats` and `INFO persistence`, as `redis-cli INFO` shows them.
#[test]
fn info_counts_hits_misses_and_the_aof() {
    let server = TestServer::start_single("info", "");
    let mut con = server.client();
    let _: () = con.set("k", "v").unwrap();
    let _: Option<String> = con.get("k").unwrap();
    let _: Option<String> = con.get("nosuch").unwrap();
    let field = |section: &str, name: &str| -> u64 {
        let value = info_field(server.port, section, name);
        value.and_then(|v| v.parse().ok()).expect(name)
    };
    assert_eq!(field("stats", "keyspace_hits"), 1);
    assert_eq!(field("stats", "keyspace_misses"), 1);
    assert!(field("stats", "total_commands_processed") >= 4);
    assert_eq!(field("persistence", "aof_enabled"), 1);
    assert!(field("persistence", "aof_current_size") > 0);
}

/// A client whose request and close arrive together is still seen to close, though
/// the server stops reading a socket at a short read.
#[test]
fn a_client_that_sends_and_closes_at_once_is_reaped() {
    use std::io::Write;
    let server = TestServer::start_single("reaped", "");
    for request in [&b"*2\r\n$3\r\nGET"[..], b"PING\r\n"] {
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        raw.write_all(request).unwrap();
    }
    // Only the connection asking is left, once the server has seen both closes.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while info_field(server.port, "clients", "connected_clients").as_deref() != Some("1") {
        assert!(
            std::time::Instant::now() < deadline,
            "closed clients linger"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ping_answers_pong() {
    let server = TestServer::start_single("ping", "");
    let mut con = server.client();
    let reply: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(reply, "PONG");
}

/// Raw RESP so that a missing reply fails after one read timeout (the `redis` crate
/// waits for every reply of a pipeline in turn).
#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start_single("pipeline", "");
    let mut request = Vec::new();
    let mut want = Vec::new();
    for i in 0..1000 {
        let (key, value) = (format!("k{i}"), i.to_string());
        request.extend_from_slice(&common::resp_command(&["SET", &key, &value]));
        want.extend_from_slice(b"+OK\r\n");
    }
    for i in 0..1000 {
        let (key, value) = (format!("k{i}"), i.to_string());
        request.extend_from_slice(&common::resp_command(&["GET", &key]));
        want.extend_from_slice(format!("${}\r\n{value}\r\n", value.len()).as_bytes());
    }
    let got = common::raw_exchange(server.port, &request, want.len());
    assert!(
        got == want,
        "replies differ: got {} bytes, want {}",
        got.len(),
        want.len()
    );
}

#[test]
fn a_burst_longer_than_a_pass_reads_is_answered_in_full() {
    // A pass reads at most 1 MiB from one client; the rest waits in the socket with no
    // new readiness edge, so the loop must come back for it on its own.
    let server = TestServer::start_single("burst", "");
    let value = "v".repeat(1024);
    let mut request = Vec::new();
    let mut want = Vec::new();
    for i in 0..4096 {
        request.extend_from_slice(&common::resp_command(&["SET", &format!("k{i}"), &value]));
        want.extend_from_slice(b"+OK\r\n");
    }
    request.extend_from_slice(&common::resp_command(&["DBSIZE"]));
    want.extend_from_slice(b":4096\r\n");
    let got = common::raw_exchange(server.port, &request, want.len());
    assert!(got == want, "got {} bytes of {}", got.len(), want.len());
}

#[test]
fn large_values_round_trip() {
    let server = TestServer::start_single("large", "");
    let mut con = server.client();
    let value: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let _: () = con.set("big", &value).unwrap();
    let got: Vec<u8> = con.get("big").unwrap();
    assert!(got == value, "4 MiB value came back changed");
}

#[test]
fn many_clients_are_served_concurrently() {
    let server = TestServer::start_single("clients", "");
    let mut cons: Vec<redis::Connection> = (0..50).map(|_| server.client()).collect();
    for (i, con) in cons.iter_mut().enumerate() {
        let _: () = con.set(format!("c{i}"), i).unwrap();
    }
    for (i, con) in cons.iter_mut().enumerate().rev() {
        let value: usize = con.get(format!("c{i}")).unwrap();
        assert_eq!(value, i, "client #{i}");
    }
}

#[test]
fn px_expiry_removes_the_key() {
    let server = TestServer::start_single("px", "");
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("ephemeral")
        .arg("v")
        .arg("PX")
        .arg(200)
        .query(&mut con)
        .unwrap();
    let before: Option<String> = con.get("ephemeral").unwrap();
    assert_eq!(before.as_deref(), Some("v"));
    let pttl: i64 = con.pttl("ephemeral").unwrap();
    assert!((1..=200).contains(&pttl), "PTTL = {pttl}, want 1..=200");
    std::thread::sleep(Duration::from_millis(400));
    let after: Option<String> = con.get("ephemeral").unwrap();
    assert_eq!(after, None);
}

/// A crash (SIGKILL) loses nothing that reached the AOF file: the restart replays it.
#[test]
fn restart_after_kill_keeps_the_data() {
    let mut server = TestServer::start_single("restart", "appendfsync: always\n");
    {
        let mut con = server.client();
        for i in 0..100 {
            let _: () = con.set(format!("key{i}"), format!("value{i}")).unwrap();
        }
        let _: i64 = con.incr("counter", 7).unwrap();
        let _: () = redis::cmd("SET")
            .arg("expired")
            .arg("x")
            .arg("PX")
            .arg(1)
            .query(&mut con)
            .unwrap();
    }
    server.restart();
    let mut con = server.client();
    for i in 0..100 {
        let value: Option<String> = con.get(format!("key{i}")).unwrap();
        assert_eq!(value, Some(format!("value{i}")), "key{i}");
    }
    let counter: i64 = con.get("counter").unwrap();
    assert_eq!(counter, 7);
    let expired: Option<String> = con.get("expired").unwrap();
    assert_eq!(expired, None);
    assert!(
        common::aof_tail_bytes(&server.data_path()) > 0,
        "the AOF is empty after 100 writes"
    );
}

#[test]
fn sigterm_exits_zero_and_the_data_survives() {
    let mut server = TestServer::start_single("sigterm", "");
    {
        let mut con = server.client();
        let _: () = con.set("durable", "yes").unwrap();
    }
    let status = server.sigterm();
    assert!(status.success(), "exit status {status}:\n{}", server.log());
    assert!(server.log().contains("shutting down"), "{}", server.log());
    server.start();
    let mut con = server.client();
    let value: Option<String> = con.get("durable").unwrap();
    assert_eq!(value.as_deref(), Some("yes"));
}

#[test]
fn sigterm_on_an_idle_server_exits_zero() {
    let mut server = TestServer::start_single("sigterm-idle", "");
    let status = server.sigterm();
    assert!(status.success(), "exit status {status}:\n{}", server.log());
}

#[test]
fn sigint_exits_zero() {
    let mut server = TestServer::start_single("sigint", "");
    let status = server.signal_and_wait(libc::SIGINT);
    assert!(status.success(), "exit status {status}:\n{}", server.log());
}

#[test]
fn data_dir_is_created_with_a_manifest_and_an_aof() {
    let server = TestServer::start_single("datadir", "");
    let manifest = std::fs::read_to_string(server.data_path().join("manifest")).unwrap();
    assert!(
        manifest.contains("\ntail appendonly.aof.1.incr 0\n"),
        "{manifest}"
    );
    assert!(server.data_path().join("appendonly.aof.1.incr").is_file());
}

#[test]
fn client_sending_garbage_does_not_disturb_others() {
    use std::io::Write;
    let server = TestServer::start_single("garbage", "");
    let mut con = server.client();
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let _ = raw.write_all(b"*-5\r\n$abc\r\n\x00\x01\x02garbage\r\n");
    drop(raw);
    let reply: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(reply, "PONG");
}

#[test]
fn quit_closes_after_the_reply() {
    let server = TestServer::start_single("quit", "");
    let mut con = server.client();
    let reply: Value = redis::cmd("QUIT").query(&mut con).unwrap();
    assert_eq!(reply, Value::Okay);
}

#[test]
fn bad_config_exits_one_naming_key_and_line() {
    let dir = TempDir::new("bad-config");
    let path = dir.path.join("bad.yml");
    std::fs::write(
        &path,
        "host: localhost\nport: 6554\ndataPath: d\nappendfsync: sometimes\n",
    )
    .unwrap();
    let output = run_to_exit(&[&path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(
        stderr.contains("appendfsync") || stderr.contains("sometimes"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one message, got: {stderr}");
}

#[test]
fn help_and_version_exit_zero() {
    let help = run_to_exit(&[std::path::Path::new("--help")]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("bucket-server <config.yml>"));
    let version = run_to_exit(&[std::path::Path::new("--version")]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("bucket-server "));
}

#[test]
fn port_in_use_exits_one() {
    let (port, cluster_port) = common::free_port_pair();
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let dir = TempDir::new("port-in-use");
    let path = dir.path.join("bucket.yml");
    let data = dir.path.join("data");
    std::fs::write(
        &path,
        format!(
            "host: localhost\nport: {port}\nclusterPort: {cluster_port}\ndataPath: {}\n",
            data.display()
        ),
    )
    .unwrap();
    let output = run_to_exit(&[&path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&port.to_string()), "{stderr}");
}

/// `INFO server` names this process, its executable and its config file.
#[test]
fn info_server_names_the_process() {
    let server = TestServer::start_single("info-server", "");
    let field = |name: &str| info_field(server.port, "server", name).unwrap_or_default();
    assert_eq!(field("process_id"), server.pid().to_string());
    assert!(
        field("executable").ends_with("bucket-server"),
        "{}",
        field("executable")
    );
    let config = std::fs::canonicalize(&server.config_path).unwrap();
    assert_eq!(field("config_file"), config.display().to_string());
    assert!(field("os").starts_with("Linux"), "{}", field("os"));
}
