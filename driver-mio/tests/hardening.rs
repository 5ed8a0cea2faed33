//! The daemon against hostile or careless input: passwords, protected mode, the cluster
//! secret and rogue peers, every configurable limit, and malformed client bytes thrown
//! at a running cluster.

mod common;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bucket_core::peer::{self, Message, PROTOCOL_VERSION};
use bucket_core::{MasterId, Offset, Term};
use common::cluster::{self, Cluster};
use common::{resp_command, RawClient, TestServer, REPLY_TIMEOUT};
use redis::Commands;

/// Time for anything a rogue sent to have taken effect, had it got through.
const SETTLE_TIME: Duration = Duration::from_millis(700);

fn ends_with(suffix: &'static [u8]) -> impl Fn(&[u8]) -> bool {
    move |got: &[u8]| got.ends_with(suffix)
}

/// Sends `request` on a fresh connection and reads until `want` arrived (or a bounded
/// timeout), returning the text.
fn exchange(port: u16, request: &[u8], want_bytes: usize) -> String {
    let got = common::raw_exchange(port, request, want_bytes);
    String::from_utf8_lossy(&got).into_owned()
}

fn ping_is_answered(port: u16) {
    let got = exchange(port, &resp_command(&["PING"]), 7);
    assert_eq!(got, "+PONG\r\n", "PING at port {port}");
}

// ---------------------------------------------------------------- requirepass

#[test]
fn requirepass_refuses_until_auth() {
    let server = TestServer::start_single("requirepass", "requirepass: pw\n");
    let port = server.port;
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(
        exchange(port, &resp_command(&["GET", "k"]), noauth.len()),
        noauth
    );
    assert_eq!(
        exchange(port, &resp_command(&["SET", "k", "v"]), noauth.len()),
        noauth
    );

    let wrong = exchange(port, &resp_command(&["AUTH", "nope"]), 10);
    assert!(wrong.starts_with("-WRONGPASS "), "{wrong:?}");
    let wrong = exchange(port, &resp_command(&["AUTH", "default", "nope"]), 10);
    assert!(wrong.starts_with("-WRONGPASS "), "{wrong:?}");

    let mut request = resp_command(&["AUTH", "pw"]);
    request.extend_from_slice(&resp_command(&["SET", "k", "v"]));
    request.extend_from_slice(&resp_command(&["GET", "k"]));
    let want = "+OK\r\n+OK\r\n$1\r\nv\r\n";
    assert_eq!(exchange(port, &request, want.len()), want);

    let mut request = resp_command(&["AUTH", "default", "pw"]);
    request.extend_from_slice(&resp_command(&["GET", "k"]));
    let want = "+OK\r\n$1\r\nv\r\n";
    assert_eq!(exchange(port, &request, want.len()), want);

    // HELLO 3 AUTH answers with a RESP3 map, then the connection is authenticated.
    let mut raw = RawClient::connect(port);
    let mut request = resp_command(&["HELLO", "3", "AUTH", "default", "pw"]);
    request.extend_from_slice(&resp_command(&["GET", "k"]));
    raw.send(&request).unwrap();
    let got = raw.read_until(ends_with(b"\r\n$1\r\nv\r\n"), REPLY_TIMEOUT);
    assert!(got.starts_with(b"%"), "{:?}", String::from_utf8_lossy(&got));
    assert!(
        got.ends_with(b"\r\n$1\r\nv\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );

    // A real client with the password in its URL.
    let url = format!("redis://:pw@127.0.0.1:{port}/");
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_connection_with_timeout(REPLY_TIMEOUT).unwrap();
    con.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    let value: Option<String> = con.get("k").unwrap();
    assert_eq!(value.as_deref(), Some("v"));
}

// ---------------------------------------------------------------- protected mode

/// This machine's address on a non-loopback interface, if it has one (the address the
/// kernel would send from; nothing is sent).
fn non_loopback_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn ping_from(addr: SocketAddr) -> String {
    let mut raw = RawClient::connect_to(addr);
    raw.send(&resp_command(&["PING"])).unwrap();
    let got = raw.read_until(ends_with(b"\r\n"), REPLY_TIMEOUT);
    String::from_utf8_lossy(&got).into_owned()
}

/// Loopback clients are always served; a client from another interface gets Redis's
/// `-DENIED` explanation while protected mode is on and no password is set.
#[test]
fn protected_mode_denies_non_loopback_clients_only() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipped: this machine has no non-loopback interface");
        return;
    };
    let protected = TestServer::start_single("protected", "bind: 0.0.0.0\n");
    ping_is_answered(protected.port);
    let reply = ping_from(SocketAddr::new(ip, protected.port));
    assert!(
        reply.starts_with("-DENIED Bucket is running in protected mode"),
        "{reply:?}"
    );

    let open = TestServer::start_single("unprotected", "bind: 0.0.0.0\nprotectedMode: false\n");
    assert_eq!(ping_from(SocketAddr::new(ip, open.port)), "+PONG\r\n");

    let password = TestServer::start_single("protected-pw", "bind: 0.0.0.0\nrequirepass: pw\n");
    let reply = ping_from(SocketAddr::new(ip, password.port));
    assert_eq!(reply, "-NOAUTH Authentication required.\r\n");
}

/// `bind` is where the node listens; `host` is what it tells clients and peers.
#[test]
fn bind_is_separate_from_the_advertised_host() {
    let cluster = Cluster::start_with_host("bind", "localhost", "bind: 127.0.0.1\n");
    let master = cluster.wait_master();
    let replica = (master + 1) % cluster::NODE_COUNT;
    let node = &cluster.nodes[replica];
    let listening = format!("(listening 127.0.0.1:{})", node.port);
    assert!(node.log().contains(&listening), "{}", node.log());
    let want = format!("-MOVED 12182 localhost:{}\r\n", cluster.nodes[master].port);
    let got = exchange(node.port, &resp_command(&["SET", "foo", "x"]), want.len());
    assert_eq!(got, want);
}

// ---------------------------------------------------------------- cluster secret

/// The master's index and every node's term.
fn snapshot(cluster: &Cluster) -> (usize, Vec<u64>) {
    let master = cluster.wait_master();
    let terms = cluster
        .nodes
        .iter()
        .map(|n| cluster::term(n.port))
        .collect();
    (master, terms)
}

fn hello(cluster_addr: &str, client_addr: &str, secret: &[u8]) -> Vec<u8> {
    peer::encode(&Message::Hello {
        version: PROTOCOL_VERSION,
        cluster_addr,
        client_addr,
        secret,
    })
}

/// Sends `bytes` to `port` as a new cluster link and expects the node to close it.
fn rogue_is_dropped(port: u16, bytes: &[u8], what: &str) {
    let mut raw = RawClient::connect(port);
    let _ = raw.send(bytes);
    let (_, closed) = raw.read_until_closed(Duration::from_secs(6));
    assert!(
        closed,
        "{what}: the link to cluster port {port} stayed open"
    );
}

/// With no cluster secret, a cluster link from an address that is no cluster node's is
/// closed at once, even with a well-formed hello naming a member; loopback links still
/// get to say hello.
#[test]
fn without_a_secret_strangers_cannot_open_cluster_links() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipped: this machine has no non-loopback interface");
        return;
    };
    let server = TestServer::start_single(
        "no-secret",
        "bind: 0.0.0.0
",
    );
    let member = format!("localhost:{}", server.cluster_port);
    let client = format!("localhost:{}", server.port);
    let mut raw = RawClient::connect_to(SocketAddr::new(ip, server.cluster_port));
    let _ = raw.send(&hello(&member, &client, b""));
    let (_, closed) = raw.read_until_closed(Duration::from_secs(1));
    assert!(closed, "a stranger's link stayed open");
    assert!(
        server
            .log()
            .contains(&format!("refusing cluster link from {ip}")),
        "{}",
        server.log()
    );
    let mut local = RawClient::connect(server.cluster_port);
    let (_, closed) = local.read_until_closed(Duration::from_millis(300));
    assert!(!closed, "a loopback link waits for its hello");
}

/// A secret-protected cluster works, and nothing a stranger sends to a cluster port
/// moves the master or the term.
#[test]
fn rogue_cluster_links_change_nothing() {
    let cluster = Cluster::start("secret", "clusterSecret: s3cret\n");
    let (master, terms) = snapshot(&cluster);
    let mut con = cluster.nodes[master].client();
    let _: () = con.set("kept", "yes").unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(1000).query(&mut con).unwrap();
    assert_eq!(acked, 2, "replication with a cluster secret");

    for (i, node) in cluster.nodes.iter().enumerate() {
        let other = &cluster.nodes[(i + 1) % cluster::NODE_COUNT];
        let member = format!("127.0.0.1:{}", other.cluster_port);
        let member_client = format!("127.0.0.1:{}", other.port);
        let mut garbage = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        garbage.extend((0..4096u32).map(|n| (n * 7 + 13) as u8));
        rogue_is_dropped(node.cluster_port, &garbage, "garbage");
        let wrong = hello(&member, &member_client, b"guess");
        let stranger = hello("10.9.9.9:20000", "10.9.9.9:10000", b"s3cret");
        rogue_is_dropped(
            node.cluster_port,
            &hello("10.9.9.9:20000", "x:1", b"no"),
            "wrong secret",
        );
        rogue_is_dropped(node.cluster_port, &stranger, "not a member");
        let mut attack = wrong;
        attack.extend(peer::encode(&Message::RequestVote {
            term: Term(1 << 40),
            pre_vote: false,
            last_term: Term(1 << 40),
            end: Offset(1 << 40),
        }));
        attack.extend(peer::encode(&Message::Data {
            term: Term(1 << 40),
            session: 1,
            offset: Offset(0),
            bytes: &fake_records(),
        }));
        rogue_is_dropped(node.cluster_port, &attack, "member address, wrong secret");
    }
    std::thread::sleep(SETTLE_TIME);
    assert_eq!(snapshot(&cluster), (master, terms), "{}", cluster.logs());
    for node in &cluster.nodes {
        let refusals = node.log().matches("refusing cluster link from").count();
        assert!(refusals >= 4, "{refusals} refusals logged:\n{}", node.log());
        assert!(
            node.log().contains("wrong cluster secret"),
            "{}",
            node.log()
        );
        assert!(node.log().contains("not a member"), "{}", node.log());
    }
    cluster.wait_value(master, "kept", "yes");
}

/// AOF records a forged `Data` frame might carry.
fn fake_records() -> Vec<u8> {
    use bucket_core::aof::record::{self, Effect, Record};
    let mut bytes = Vec::new();
    for effect in [
        Effect::FlushAll,
        Effect::ReignStart {
            master_id: MasterId::default(),
        },
    ] {
        record::encode(
            &Record {
                term: Term(1 << 40),
                effect,
            },
            &mut bytes,
        );
    }
    bytes
}

/// A link that passes the hello and then claims a 1 GiB frame is dropped before the
/// node buffers it; a link that never says hello is dropped after a while.
#[test]
fn oversized_peer_frames_and_silent_links_are_dropped() {
    let cluster = Cluster::start("peer-frame", "clusterSecret: s3cret\n");
    let (master, terms) = snapshot(&cluster);
    let target = &cluster.nodes[master];
    let other = &cluster.nodes[(master + 1) % cluster::NODE_COUNT];
    let mut bytes = hello(
        &format!("127.0.0.1:{}", other.cluster_port),
        &format!("127.0.0.1:{}", other.port),
        b"s3cret",
    );
    bytes.extend_from_slice(&(1u32 << 30).to_le_bytes());
    bytes.extend_from_slice(&[0u8; 4]);
    bytes.extend_from_slice(&[0xAB; 4096]);
    rogue_is_dropped(target.cluster_port, &bytes, "1 GiB frame header");
    assert!(target.log().contains("dropping it"), "{}", target.log());

    let started = Instant::now();
    rogue_is_dropped(target.cluster_port, b"", "silent link");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "dropped too soon"
    );
    assert!(target.log().contains("no hello within"), "{}", target.log());

    std::thread::sleep(SETTLE_TIME);
    assert_eq!(snapshot(&cluster), (master, terms), "{}", cluster.logs());
}

// ---------------------------------------------------------------- limits

#[test]
fn maxclients_refuses_the_extra_client() {
    let server = TestServer::start_single("maxclients", "maxclients: 2\n");
    // One at a time: each PING's round trip also lets the server reap the harness's
    // readiness probe, which would otherwise still hold a slot.
    let mut first = server.client();
    let pong: String = redis::cmd("PING").query(&mut first).unwrap();
    assert_eq!(pong, "PONG");
    let mut second = server.client();
    let pong: String = redis::cmd("PING")
        .query(&mut second)
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_eq!(pong, "PONG");
    let want = "-ERR max number of clients reached\r\n";
    assert_eq!(
        exchange(server.port, &resp_command(&["PING"]), want.len()),
        want
    );
    let pong: String = redis::cmd("PING").query(&mut first).unwrap();
    assert_eq!(
        pong, "PONG",
        "the clients inside the limit are still served"
    );
    drop(second);
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let mut got = String::new();
    while Instant::now() < deadline {
        got = exchange(server.port, &resp_command(&["PING"]), 7);
        if got == "+PONG\r\n" {
            return;
        }
        std::thread::sleep(cluster::POLL_INTERVAL);
    }
    panic!("a freed slot was not reused: {got:?}");
}

#[test]
fn query_buffer_limit_disconnects_a_huge_unfinished_request() {
    let server = TestServer::start_single("querybuf", "clientQueryBufferLimitBytes: 65536\n");
    let mut other = server.client();
    let mut raw = RawClient::connect(server.port);
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\n")
        .unwrap();
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..64 {
        if raw.send(&chunk).is_err() {
            break;
        }
    }
    let (got, closed) = raw.read_until_closed(REPLY_TIMEOUT);
    assert!(closed, "the streaming client is still connected");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.contains("query buffer limit"),
        "{text:?}"
    );
    let pong: String = redis::cmd("PING").query(&mut other).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn proto_max_bulk_len_and_multibulk_limits() {
    let server = TestServer::start_single("bulklen", "protoMaxBulkLen: 1024\n");
    let want = "-ERR Protocol error: invalid bulk length\r\n";
    let request = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n";
    assert_eq!(exchange(server.port, request, want.len()), want);
    let fits = vec![b'x'; 1024];
    let fits = String::from_utf8(fits).unwrap();
    assert_eq!(
        exchange(server.port, &resp_command(&["SET", "k", &fits]), 5),
        "+OK\r\n"
    );
    let want = "-ERR Protocol error: invalid multibulk length\r\n";
    assert_eq!(exchange(server.port, b"*2000000\r\n", want.len()), want);
    ping_is_answered(server.port);
}

/// A client that pipelines GETs of a big value and never reads is cut off once its
/// replies pass the limit; another client is served meanwhile.
#[test]
fn output_buffer_limit_disconnects_a_client_that_never_reads() {
    let server = TestServer::start_single("outbuf", "clientOutputBufferLimitBytes: 1048576\n");
    let mut other = server.client();
    let big = vec![b'v'; 256 * 1024];
    let _: () = other.set("big", &big).unwrap();
    let mut raw = RawClient::connect(server.port);
    let get = resp_command(&["GET", "big"]);
    let pipeline: Vec<u8> = get.iter().copied().cycle().take(get.len() * 2000).collect();
    let mut cut_off = raw.send(&pipeline).is_err();
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while !cut_off && Instant::now() < deadline {
        cut_off = server.log().contains("over clientOutputBufferLimitBytes");
        std::thread::sleep(cluster::POLL_INTERVAL);
    }
    assert!(
        cut_off,
        "the client was not disconnected:\n{}",
        server.log()
    );
    let value: Vec<u8> = other.get("big").unwrap();
    assert!(value == big, "the well-behaved client got a wrong value");
    drop(raw);
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = TestServer::start_single("idle", "timeout: 1\n");
    let mut idle = RawClient::connect(server.port);
    idle.send(&resp_command(&["PING"])).unwrap();
    let got = idle.read_until(ends_with(b"+PONG\r\n"), REPLY_TIMEOUT);
    assert_eq!(got, b"+PONG\r\n");
    let mut busy = server.client();
    let started = Instant::now();
    let mut busy_pings = 0;
    let (_, closed) = loop {
        let result = idle.read_until_closed(Duration::from_millis(300));
        let pong: String = redis::cmd("PING").query(&mut busy).unwrap();
        assert_eq!(pong, "PONG");
        busy_pings += 1;
        if result.1 || started.elapsed() > Duration::from_secs(6) {
            break result;
        }
    };
    let idle_time = started.elapsed();
    assert!(
        closed,
        "the idle client was not closed within {idle_time:?}"
    );
    assert!(
        idle_time >= Duration::from_millis(900),
        "closed after {idle_time:?}"
    );
    assert!(
        idle_time <= Duration::from_millis(4500),
        "closed after {idle_time:?}"
    );
    assert!(busy_pings >= 3);
    let pong: String = redis::cmd("PING").query(&mut busy).unwrap();
    assert_eq!(pong, "PONG", "an active client stays connected");
}

// ---------------------------------------------------------------- bad input

/// One malformed input and, if the reply is fixed, what the node must answer.
struct BadInput {
    name: &'static str,
    bytes: Vec<u8>,
    reply_prefix: Option<&'static str>,
}

fn bad_inputs() -> Vec<BadInput> {
    let garbage: Vec<u8> = (0..8192u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        BadInput {
            name: "garbage",
            bytes: garbage,
            reply_prefix: None,
        },
        BadInput {
            name: "truncated then closed",
            bytes: b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc".to_vec(),
            reply_prefix: None,
        },
        BadInput {
            name: "huge bulk length",
            bytes: b"*1\r\n$999999999999\r\n".to_vec(),
            reply_prefix: Some("-ERR Protocol error: invalid bulk length\r\n"),
        },
        BadInput {
            name: "negative bulk length",
            bytes: b"*1\r\n$-5\r\n".to_vec(),
            reply_prefix: Some("-ERR Protocol error: invalid bulk length\r\n"),
        },
        BadInput {
            name: "negative multibulk length",
            bytes: b"*-3\r\n".to_vec(),
            reply_prefix: None,
        },
        BadInput {
            name: "huge multibulk length",
            bytes: b"*99999999999999999999\r\n".to_vec(),
            reply_prefix: Some("-ERR Protocol error: invalid multibulk length\r\n"),
        },
        BadInput {
            name: "non-UTF-8 command name",
            bytes: b"*1\r\n$4\r\n\xff\xfe\xc0\x80\r\n".to_vec(),
            reply_prefix: Some("-ERR unknown command"),
        },
        BadInput {
            name: "closed mid-request",
            bytes: b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\nxxxx".to_vec(),
            reply_prefix: None,
        },
    ]
}

fn send_bad_input(port: u16, input: &BadInput) {
    let mut raw = RawClient::connect(port);
    let _ = raw.send(&input.bytes);
    let Some(prefix) = input.reply_prefix else {
        return; // Close at once, mid-request.
    };
    let got = raw.read_until(|got| got.len() >= prefix.len(), REPLY_TIMEOUT);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with(prefix),
        "{} at port {port}: {text:?}",
        input.name
    );
}

/// 10k PINGs in one write, all answered, in order, on the same connection.
fn deep_pipeline(port: u16) {
    const PINGS: usize = 10_000;
    let mut raw = RawClient::connect(port);
    let mut request = Vec::with_capacity(PINGS * 20);
    for i in 0..PINGS {
        request.extend_from_slice(&resp_command(&["PING", &i.to_string()]));
    }
    let writer = {
        let mut stream = raw.stream.try_clone().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stream, &request).is_ok())
    };
    let mut want = Vec::new();
    for i in 0..PINGS {
        let text = i.to_string();
        want.extend_from_slice(format!("${}\r\n{text}\r\n", text.len()).as_bytes());
    }
    let got = raw.read_until(|got| got.len() >= want.len(), Duration::from_secs(20));
    assert!(
        writer.join().unwrap(),
        "writing the pipeline to port {port}"
    );
    assert!(
        got == want,
        "pipeline at port {port}: {} bytes, want {}",
        got.len(),
        want.len()
    );
}

/// Every kind of malformed input, at every node of a running cluster: other clients
/// are served throughout, the master and term stay, and no data is lost.
#[test]
fn bad_input_leaves_a_running_cluster_unharmed() {
    let cluster = Cluster::start("bad-input", "");
    let (master, terms) = snapshot(&cluster);
    let mut con = cluster.nodes[master].client();
    for i in 0..50 {
        let _: () = con.set(format!("b{i}"), format!("v{i}")).unwrap();
    }
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(1000).query(&mut con).unwrap();
    assert_eq!(acked, 2);
    let mut bystanders: Vec<redis::Connection> = cluster.nodes.iter().map(|n| n.client()).collect();

    for node in &cluster.nodes {
        for input in bad_inputs() {
            send_bad_input(node.port, &input);
        }
        deep_pipeline(node.port);
        for bystander in &mut bystanders {
            let pong: String = redis::cmd("PING").query(bystander).unwrap();
            assert_eq!(pong, "PONG");
        }
    }
    std::thread::sleep(SETTLE_TIME);
    assert_eq!(snapshot(&cluster), (master, terms), "{}", cluster.logs());
    for (n, bystander) in bystanders.iter_mut().enumerate() {
        for i in 0..50 {
            let value: Option<String> = bystander.get(format!("b{i}")).unwrap();
            assert_eq!(value, Some(format!("v{i}")), "node {n}: b{i}");
        }
    }
    let _: () = con.set("after", "ok").unwrap();
}

/// Redis never applies `timeout` to a blocked client: `WAIT` for longer than the idle
/// timeout still gets its answer. The driver cannot tell a blocked client from an idle
/// one: the core keeps that state (`Session::blocked`) and offers no query for it.
#[test]
fn idle_timeout_spares_a_client_blocked_in_wait() {
    let server = TestServer::start_single("idle-wait", "timeout: 1\n");
    let mut raw = RawClient::connect(server.port);
    raw.send(&resp_command(&["WAIT", "1", "3000"])).unwrap();
    let started = Instant::now();
    let (got, closed) = raw.read_until_reply_or_close(Duration::from_secs(6));
    let text = String::from_utf8_lossy(&got);
    assert_eq!(
        text,
        ":0\r\n",
        "after {:?} (closed: {closed})\n{}",
        started.elapsed(),
        server.log()
    );
}
