//! A three-node cluster of real `bucket-server` processes on loopback, each with its own
//! config and data directory; every process is killed by PID when the cluster drops.

use std::time::{Duration, Instant};

use redis::Value;

use super::{free_ports, TempDir, TestServer, REPLY_TIMEOUT};

pub const NODE_COUNT: usize = 3;
/// Longest wait for a master to be elected (the machine is busy: generous).
pub const ELECTION_WAIT_MAX: Duration = Duration::from_secs(10);
/// Longest wait for replicas to catch up with a write.
pub const REPLICATION_WAIT_MAX: Duration = Duration::from_secs(10);
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Probes of a node that may be down or busy answer within this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What `ROLE` says about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleReply {
    Master,
    /// A replica (or candidate) and the master client port it names (0: none known),
    /// and whether its link to the master is up.
    Slave {
        master_port: u16,
        connected: bool,
    },
}

pub struct Cluster {
    pub nodes: Vec<TestServer>,
    pub host: String,
}

impl Cluster {
    /// Three nodes advertised as 127.0.0.1, with `extra` YAML lines in every config.
    pub fn start(name: &str, extra: &str) -> Cluster {
        Cluster::start_with_host(name, "127.0.0.1", extra)
    }

    /// Three nodes advertised as `host` (which must resolve to loopback).
    pub fn start_with_host(name: &str, host: &str, extra: &str) -> Cluster {
        let ports = free_ports(2 * NODE_COUNT);
        let (client_ports, cluster_ports) = ports.split_at(NODE_COUNT);
        let nodes = (0..NODE_COUNT)
            .map(|i| {
                let others: String = (0..NODE_COUNT)
                    .filter(|&j| j != i)
                    .map(|j| format!("  - {host}:{}\n", cluster_ports[j]))
                    .collect();
                let dir = TempDir::new(&format!("{name}-n{i}"));
                let text = format!(
                    "host: {host}\nport: {}\nclusterPort: {}\nclusterNodes:\n{others}dataPath: {}\n{extra}",
                    client_ports[i],
                    cluster_ports[i],
                    dir.path.join("data").display()
                );
                TestServer::with_config(dir, client_ports[i], cluster_ports[i], &text)
            })
            .collect();
        let mut cluster = Cluster {
            nodes,
            host: host.to_string(),
        };
        cluster.nodes.iter_mut().for_each(TestServer::start);
        cluster
    }

    /// Waits until exactly one running node is master and every other running node is
    /// a connected replica of it; returns the master's index.
    pub fn wait_master(&self) -> usize {
        self.wait_master_within(ELECTION_WAIT_MAX)
    }

    pub fn wait_master_within(&self, wait_max: Duration) -> usize {
        let deadline = Instant::now() + wait_max;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.roles();
            if let Some(master) = settled_master(&last, &self.nodes) {
                return master;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        panic!(
            "no settled master within {wait_max:?}; roles {last:?}\n{}",
            self.logs()
        );
    }

    /// `ROLE` of every node; `None` for a node that is down or does not answer.
    pub fn roles(&self) -> Vec<Option<RoleReply>> {
        self.nodes
            .iter()
            .map(|n| n.is_running().then(|| role(n.port)).flatten())
            .collect()
    }

    /// The last lines of every node's log, without the noise of probe connections,
    /// for failure messages.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let log = node.log();
            let lines: Vec<&str> = log.lines().filter(|l| !is_client_noise(l)).collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            text.push_str(&format!("--- node {i} (port {}) ---\n", node.port));
            if node.is_running() {
                text.push_str(&info_replication(node.port).replace("\r\n", " "));
                text.push('\n');
            }
            text.push_str(&tail.join("\n"));
            text.push('\n');
        }
        text
    }

    /// Waits until `key` has `value` at node `i`.
    pub fn wait_value(&self, i: usize, key: &str, value: &str) {
        let deadline = Instant::now() + REPLICATION_WAIT_MAX;
        let mut last = None;
        while Instant::now() < deadline {
            last = get(self.nodes[i].port, key);
            if last.as_deref() == Some(value) {
                return;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        panic!(
            "node {i}: {key} = {last:?}, want {value:?} within {REPLICATION_WAIT_MAX:?}\n{}",
            self.logs()
        );
    }
}

fn is_client_noise(line: &str) -> bool {
    line.contains("DEBUG client ")
        && (line.ends_with(" closed") || line.contains(" connected from "))
}

fn settled_master(roles: &[Option<RoleReply>], nodes: &[TestServer]) -> Option<usize> {
    let masters: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i] == Some(RoleReply::Master))
        .collect();
    let [master] = masters[..] else {
        return None;
    };
    let master_port = nodes[master].port;
    let replicas_settled = (0..roles.len()).filter(|&i| i != master).all(|i| {
        !nodes[i].is_running()
            || roles[i]
                == Some(RoleReply::Slave {
                    master_port,
                    connected: true,
                })
    });
    replicas_settled.then_some(master)
}

/// A connection to `port` with short timeouts, or the error.
pub fn try_client(port: u16, timeout: Duration) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(timeout))?;
    con.set_write_timeout(Some(timeout))?;
    Ok(con)
}

/// `ROLE` at `port`; `None` if the node does not answer.
pub fn role(port: u16) -> Option<RoleReply> {
    let mut con = try_client(port, PROBE_TIMEOUT).ok()?;
    let reply: Value = redis::cmd("ROLE").query(&mut con).ok()?;
    let Value::Array(items) = reply else {
        return None;
    };
    match items.first() {
        Some(Value::BulkString(name)) if name == b"master" => Some(RoleReply::Master),
        Some(Value::BulkString(name)) if name == b"slave" => {
            let master_port = match items.get(2) {
                Some(Value::Int(port)) => u16::try_from(*port).unwrap_or(0),
                _ => 0,
            };
            let connected = matches!(items.get(3), Some(Value::BulkString(s)) if s == b"connected");
            Some(RoleReply::Slave {
                master_port,
                connected,
            })
        }
        _ => None,
    }
}

/// One field of `INFO <section>` at `port`.
pub fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let mut con = try_client(port, REPLY_TIMEOUT).ok()?;
    let text: String = redis::cmd("INFO").arg(section).query(&mut con).ok()?;
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|v| v.trim().to_string())
}

/// `INFO replication` at `port`, or an empty string if the node does not answer.
pub fn info_replication(port: u16) -> String {
    let Ok(mut con) = try_client(port, PROBE_TIMEOUT) else {
        return String::new();
    };
    redis::cmd("INFO")
        .arg("replication")
        .query(&mut con)
        .unwrap_or_default()
}

/// The node's term, from `INFO replication`.
pub fn term(port: u16) -> u64 {
    info_field(port, "replication", "term")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no term in INFO replication at port {port}"))
}

/// `GET key` at `port` from the node's own data (`READONLY` first, so a replica in
/// majority mode answers instead of redirecting); `None` if missing or no answer.
pub fn get(port: u16, key: &str) -> Option<String> {
    let mut con = try_client(port, PROBE_TIMEOUT).ok()?;
    redis::cmd("READONLY").query::<()>(&mut con).ok()?;
    redis::cmd("GET").arg(key).query(&mut con).ok()?
}
