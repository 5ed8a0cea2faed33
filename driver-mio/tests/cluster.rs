//! Three real `bucket-server` processes on loopback: election, redirects, replication,
//! failover after `kill -9`, partial resync, majority-mode durability and SIGTERM.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::{self, Cluster, RoleReply, ELECTION_WAIT_MAX, POLL_INTERVAL};
use redis::Commands;

/// A failover must finish well inside this (election timeouts are 300-600 ms).
const FAILOVER_TIME_MAX: Duration = Duration::from_secs(5);
/// `CLUSTER KEYSLOT foo` in Redis.
const SLOT_OF_FOO: u16 = 12182;

fn replicas_of(master: usize) -> Vec<usize> {
    (0..cluster::NODE_COUNT).filter(|&i| i != master).collect()
}

/// Writes `count` keys `{prefix}{i}` at the master, then `WAIT 2` until both replicas
/// hold them.
fn write_and_wait_all(cluster: &Cluster, master: usize, prefix: &str, count: usize) {
    let mut con = cluster.nodes[master].client();
    for i in 0..count {
        let _: () = con.set(format!("{prefix}{i}"), format!("v{i}")).unwrap();
    }
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(1000).query(&mut con).unwrap();
    assert_eq!(acked, 2, "WAIT 2 1000\n{}", cluster.logs());
}

fn assert_keys_at(cluster: &Cluster, node: usize, prefix: &str, count: usize) {
    let mut con = cluster.nodes[node].client();
    for i in 0..count {
        let value: Option<String> = con.get(format!("{prefix}{i}")).unwrap();
        assert_eq!(
            value,
            Some(format!("v{i}")),
            "node {node}: {prefix}{i}\n{}",
            cluster.logs()
        );
    }
}

#[test]
fn three_nodes_elect_exactly_one_master() {
    let cluster = Cluster::start("elect", "");
    let master = cluster.wait_master();
    let roles = cluster.roles();
    let masters = roles
        .iter()
        .filter(|r| **r == Some(RoleReply::Master))
        .count();
    assert_eq!(masters, 1, "roles {roles:?}");
    for i in replicas_of(master) {
        assert!(
            matches!(roles[i], Some(RoleReply::Slave { .. })),
            "node {i}: {:?}",
            roles[i]
        );
    }
    let terms: Vec<u64> = cluster
        .nodes
        .iter()
        .map(|n| cluster::term(n.port))
        .collect();
    assert!(
        terms.iter().all(|&t| t == terms[0] && t > 0),
        "terms {terms:?}"
    );
}

/// The replica names the master's advertised address, with the key's slot; a cluster
/// client built from all three addresses follows the redirect.
#[test]
fn write_at_a_replica_is_moved_and_a_cluster_client_follows() {
    let cluster = Cluster::start("moved", "");
    let master = cluster.wait_master();
    let replica = replicas_of(master)[0];
    let request = common::resp_command(&["SET", "foo", "bar"]);
    let want = format!(
        "-MOVED {SLOT_OF_FOO} 127.0.0.1:{}\r\n",
        cluster.nodes[master].port
    );
    let got = common::raw_exchange(cluster.nodes[replica].port, &request, want.len());
    assert_eq!(String::from_utf8_lossy(&got), want);

    let urls: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("redis://127.0.0.1:{}/", n.port))
        .collect();
    let client = redis::cluster::ClusterClient::builder(urls)
        .connection_timeout(common::REPLY_TIMEOUT)
        .response_timeout(common::REPLY_TIMEOUT)
        .build()
        .unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = con.set("foo", "through-the-cluster-client").unwrap();
    let _: () = con.set("{tag}other", "second").unwrap();
    let mut at_master = cluster.nodes[master].client();
    let value: Option<String> = at_master.get("foo").unwrap();
    assert_eq!(value.as_deref(), Some("through-the-cluster-client"));
    let value: Option<String> = at_master.get("{tag}other").unwrap();
    assert_eq!(value.as_deref(), Some("second"));
}

#[test]
fn replicas_serve_data_written_at_the_master() {
    let cluster = Cluster::start("replicas-read", "");
    let master = cluster.wait_master();
    let mut con = cluster.nodes[master].client();
    for i in 0..20 {
        let _: () = con.set(format!("r{i}"), format!("v{i}")).unwrap();
    }
    for replica in replicas_of(master) {
        cluster.wait_value(replica, "r19", "v19");
        assert_keys_at(&cluster, replica, "r", 20);
    }
}

/// Every write that `WAIT 2` confirmed survives the master's crash; the new master is
/// elected quickly and takes writes.
#[test]
fn master_kill_fails_over_and_keeps_waited_writes() {
    let mut cluster = Cluster::start("failover", "");
    let master = cluster.wait_master();
    write_and_wait_all(&cluster, master, "before", 50);
    let term_before = cluster::term(cluster.nodes[master].port);

    cluster.nodes[master].kill();
    let killed_at = Instant::now();
    let new_master = cluster.wait_master_within(ELECTION_WAIT_MAX);
    let failover_time = killed_at.elapsed();
    assert_ne!(new_master, master);
    assert!(
        failover_time < FAILOVER_TIME_MAX,
        "failover took {failover_time:?}\n{}",
        cluster.logs()
    );
    assert!(cluster::term(cluster.nodes[new_master].port) > term_before);

    assert_keys_at(&cluster, new_master, "before", 50);
    let mut con = cluster.nodes[new_master].client();
    let _: () = con.set("after", "failover").unwrap();
    let value: Option<String> = con.get("after").unwrap();
    assert_eq!(value.as_deref(), Some("failover"));

    // The old master comes back as a replica of the new one and catches up, keeping
    // the history it shares with the new master.
    cluster.nodes[master].start();
    assert_eq!(cluster.wait_master(), new_master, "{}", cluster.logs());
    cluster.wait_value(master, "after", "failover");
    assert_keys_at(&cluster, master, "before", 50);
    let resync = cluster::info_field(
        cluster.nodes[master].port,
        "replication",
        "master_last_resync",
    );
    assert_eq!(resync.as_deref(), Some("partial"), "{}", cluster.logs());
}

/// A replica killed and restarted from its data dir asks for the missing suffix only.
#[test]
fn restarted_node_resyncs_partially() {
    let mut cluster = Cluster::start("partial", "");
    let master = cluster.wait_master();
    let replica = replicas_of(master)[0];
    let master_port = cluster.nodes[master].port;
    write_and_wait_all(&cluster, master, "old", 20);

    cluster.nodes[replica].kill();
    let mut con = cluster.nodes[master].client();
    for i in 0..20 {
        let _: () = con.set(format!("new{i}"), format!("v{i}")).unwrap();
    }
    let partial_before = sync_partial_ok(master_port);
    cluster.nodes[replica].start();
    cluster.wait_value(replica, "new19", "v19");
    assert_keys_at(&cluster, replica, "old", 20);
    assert_keys_at(&cluster, replica, "new", 20);
    let resync = cluster::info_field(
        cluster.nodes[replica].port,
        "replication",
        "master_last_resync",
    );
    assert_eq!(resync.as_deref(), Some("partial"), "{}", cluster.logs());
    let partial_after = sync_partial_ok(master_port);
    assert!(
        partial_after > partial_before,
        "sync_partial_ok {partial_before} -> {partial_after}"
    );
    assert_logs_name_nodes_by_address(&cluster, master, replica);
}

/// Every node's log names members by their cluster address, never by an internal
/// index, and the master says why its link to the killed replica went down.
fn assert_logs_name_nodes_by_address(cluster: &Cluster, master: usize, replica: usize) {
    let name = format!("{}:{}", cluster.host, cluster.nodes[replica].cluster_port);
    let master_log = cluster.nodes[master].log();
    let down = format!("link to node {name} is down: ");
    let line = master_log.lines().find(|l| l.contains(&down));
    let reason = line.map(|l| &l[l.find(&down).unwrap() + down.len()..]);
    assert!(reason.is_some_and(|r| !r.is_empty()), "{master_log}");
    assert!(master_log.contains(&format!("replica {name} resyncs partially")));
    for node in &cluster.nodes {
        let log = node.log();
        let words: Vec<&str> = log.split_whitespace().collect();
        let by_index = words
            .windows(2)
            .find(|w| w[0] == "node" && w[1].parse::<u32>().is_ok());
        assert!(by_index.is_none(), "{by_index:?} in\n{log}");
    }
}

fn sync_partial_ok(port: u16) -> u64 {
    cluster::info_field(port, "stats", "sync_partial_ok")
        .and_then(|v| v.parse().ok())
        .expect("sync_partial_ok in INFO stats")
}

/// A master whose last writes reached only its own AOF (both replicas frozen with
/// SIGSTOP) is killed; the replicas elect a new master without those writes. The old
/// master, restarted, must cut its diverged suffix, rebuild its keyspace from what it
/// kept, and follow the new master.
#[test]
fn diverged_old_master_truncates_and_rejoins() {
    let mut cluster = Cluster::start("diverged", "");
    let master = cluster.wait_master();
    write_and_wait_all(&cluster, master, "base", 20);
    let replicas = replicas_of(master);
    replicas
        .iter()
        .for_each(|&i| cluster.nodes[i].signal(libc::SIGSTOP));
    {
        let mut con = cluster.nodes[master].client();
        for i in 0..20 {
            let _: () = con.set(format!("lost{i}"), "x").unwrap();
        }
    }
    cluster.nodes[master].kill();
    replicas
        .iter()
        .for_each(|&i| cluster.nodes[i].signal(libc::SIGCONT));
    let new_master = cluster.wait_master();
    assert_ne!(new_master, master);
    let mut con = cluster.nodes[new_master].client();
    let _: () = con.set("after", "failover").unwrap();

    cluster.nodes[master].start();
    assert_eq!(cluster.wait_master(), new_master, "{}", cluster.logs());
    cluster.wait_value(master, "after", "failover");
    let log = cluster.nodes[master].log();
    assert!(log.contains("truncating the AOF"), "{log}");
    assert!(log.contains("keyspace rebuilt"), "{log}");
    assert_keys_at(&cluster, master, "base", 20);
    let mut old = cluster.nodes[master].client();
    let lost: Option<String> = old.get("lost0").unwrap();
    assert_eq!(lost, None, "the diverged write survived on the old master");
    let old_keys: i64 = redis::cmd("DBSIZE").query(&mut old).unwrap();
    let master_keys: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(old_keys, master_keys);
}

/// Writer thread state: the indexes of acknowledged SETs.
struct Writer {
    acked: Arc<Mutex<Vec<usize>>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

/// SETs `m{i}` = `v{i}` at `port` one at a time, recording every `+OK`, until an error,
/// `stop`, or `WRITES_MAX`.
fn start_writer(port: u16) -> Writer {
    const WRITES_MAX: usize = 100_000;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (acked_thread, stop_thread) = (acked.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let Ok(mut con) = cluster::try_client(port, Duration::from_secs(3)) else {
            return;
        };
        for i in 0..WRITES_MAX {
            if stop_thread.load(Ordering::Relaxed) {
                return;
            }
            let reply: redis::RedisResult<()> = con.set(format!("m{i}"), format!("v{i}"));
            if reply.is_err() {
                return;
            }
            acked_thread.lock().unwrap().push(i);
        }
    });
    Writer {
        acked,
        stop,
        thread,
    }
}

fn wait_acked(writer: &Writer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while writer.acked.lock().unwrap().len() < count && Instant::now() < deadline {
        assert!(!writer.thread.is_finished(), "the writer stopped early");
        std::thread::sleep(POLL_INTERVAL);
    }
    assert!(writer.acked.lock().unwrap().len() >= count, "too few acks");
}

/// `writeQuorum: majority`: a write is acked only once a majority holds it, so a master
/// crash mid-stream loses none of them.
#[test]
fn majority_quorum_loses_no_acked_write_across_master_kill() {
    let mut cluster = Cluster::start("majority", "writeQuorum: majority\n");
    let master = cluster.wait_master();
    let writer = start_writer(cluster.nodes[master].port);
    wait_acked(&writer, 100);
    cluster.nodes[master].kill();
    writer.stop.store(true, Ordering::Relaxed);
    writer.thread.join().expect("writer thread");
    let acked = writer.acked.lock().unwrap().clone();

    let new_master = cluster.wait_master();
    assert_ne!(new_master, master);
    let mut con = cluster.nodes[new_master].client();
    for &i in &acked {
        let value: Option<String> = con.get(format!("m{i}")).unwrap();
        assert_eq!(
            value,
            Some(format!("v{i}")),
            "acked write m{i} lost ({} acked)\n{}",
            acked.len(),
            cluster.logs()
        );
    }

    // The old master may hold writes the new master never had: it cuts them and
    // converges on the new master's history.
    let _: () = con.set("after", "failover").unwrap();
    cluster.nodes[master].start();
    assert_eq!(cluster.wait_master(), new_master, "{}", cluster.logs());
    cluster.wait_value(master, "after", "failover");
    let mut old = cluster.nodes[master].client();
    let _: () = redis::cmd("READONLY").query(&mut old).unwrap();
    let master_keys: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    let old_keys: i64 = redis::cmd("DBSIZE").query(&mut old).unwrap();
    assert_eq!(old_keys, master_keys, "{}", cluster.logs());
    for &i in &acked {
        let value: Option<String> = old.get(format!("m{i}")).unwrap();
        assert_eq!(value, Some(format!("v{i}")), "rejoined node lost m{i}");
    }
}

#[test]
fn sigterm_exits_zero_and_restart_keeps_the_data() {
    let mut cluster = Cluster::start("sigterm", "");
    let master = cluster.wait_master();
    write_and_wait_all(&cluster, master, "durable", 30);
    let status = cluster.nodes[master].sigterm();
    assert!(status.success(), "exit status {status}\n{}", cluster.logs());
    assert!(cluster.nodes[master].log().contains("shutting down"));

    cluster.nodes[master].start();
    cluster.wait_master();
    assert_keys_at(&cluster, master, "durable", 30);
}
