//! Simulated clients. Each runs one operation at a time, as a Redis Cluster client does:
//! it sends to the node it believes is master, follows `-MOVED` to the named node,
//! waits and retries on `-CLUSTERDOWN`, and gives up after a timeout (outcome unknown
//! for writes). Every operation lands in the [`History`].
//!
//! Clients do not touch the world: each call returns the actions the world executes.

use bucket_core::resp::{parse_reply, Reply, Request};
use rand_chacha::ChaCha8Rng;

use crate::history::{History, Op, Outcome, Value, LONG_TTL_MS};
use crate::options::Options;
use crate::seed::{between, chance, exponential_ms};
use crate::workload::{self, Values, Workload};

/// Pause before retrying after `-CLUSTERDOWN` or a lost connection.
pub const RETRY_DELAY_MS: u64 = 100;
/// Redirects one operation may follow before it fails.
pub const REDIRECTS_MAX: u32 = 16;
/// A reply longer than this is a bug: the workload's replies are small.
pub const REPLY_BYTES_MAX: usize = 1 << 20;

/// What a client asks the world to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Connect {
        conn: u64,
        node: usize,
    },
    Send {
        conn: u64,
        node: usize,
        bytes: Vec<u8>,
    },
    Close {
        conn: u64,
        node: usize,
    },
    /// Wake the client at this time (replaces any earlier timer).
    WakeAt {
        at_ms: u64,
    },
    /// The operation with this history index finished: a line for the timeline.
    Finished {
        op: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Connection {
    conn: u64,
    node: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Between operations.
    Idle,
    /// The request is on its way or being served.
    Sent,
    /// Waiting to retry (after `-CLUSTERDOWN` or a lost connection before sending).
    Backoff,
}

#[derive(Clone, Debug)]
struct Current {
    /// Index into the history.
    op: usize,
    request: Vec<u8>,
    deadline_ms: u64,
    redirects: u32,
}

pub struct Client {
    connection: Option<Connection>,
    inbox: Vec<u8>,
    phase: Phase,
    current: Option<Current>,
    /// The node this client believes is master.
    target: usize,
    /// The values this client writes, unique within the run.
    values: Values,
    pub timer_ms: Option<u64>,
}

/// Everything the clients share: their generator, the history, connection ids.
pub struct Clients {
    pub clients: Vec<Client>,
    pub history: History,
    rng: ChaCha8Rng,
    conn_next: u64,
    /// Logical clock for invocations and completions.
    stamp: u64,
    node_count: usize,
    workload: Workload,
    think_time_ms_mean: u64,
    request_timeout_ms: u64,
    /// No new operations after this (the liveness phase lets the cluster settle).
    pub issuing: bool,
    /// Reads may go to replicas (async mode, where they serve possibly stale data).
    reads_anywhere: bool,
}

impl Clients {
    pub fn new(options: &Options, rng: ChaCha8Rng) -> Clients {
        let mut clients = Clients {
            clients: Vec::new(),
            history: History::default(),
            rng,
            conn_next: 1,
            stamp: 0,
            node_count: options.node_count,
            workload: Workload {
                key_count: options.key_count.max(1),
                volatile_key_count: options.volatile_key_count,
                mix: options.workload,
            },
            think_time_ms_mean: options.think_time_ms_mean.max(1),
            request_timeout_ms: options.request_timeout_ms,
            issuing: true,
            reads_anywhere: options.write_quorum == bucket_core::WriteQuorum::Async,
        };
        assert!(options.workload.total() > 0, "the workload mix is empty");
        // The modelled keys' long expiries must outlast the run (see `workload`).
        let run_ms = options.faulty_phase_ms + options.liveness_phase_ms;
        assert!(
            (run_ms as i64) < LONG_TTL_MS / 2,
            "a run longer than a long expiry"
        );
        for id in 0..options.client_count {
            let target = between(&mut clients.rng, 0, options.node_count as u64 - 1) as usize;
            clients.clients.push(Client {
                connection: None,
                inbox: Vec::new(),
                phase: Phase::Idle,
                current: None,
                target,
                values: Values::new(id),
                timer_ms: None,
            });
        }
        clients
    }

    fn stamp_next(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    /// The first timer of every client.
    pub fn start(&mut self, now_ms: u64) -> Vec<(usize, u64)> {
        let mut wakes = Vec::new();
        for id in 0..self.clients.len() {
            let at_ms = now_ms + exponential_ms(&mut self.rng, self.think_time_ms_mean);
            self.clients[id].timer_ms = Some(at_ms);
            wakes.push((id, at_ms));
        }
        wakes
    }

    /// A client's timer fired.
    pub fn on_wake(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        if self.clients[id].timer_ms != Some(now_ms) {
            return; // A timer that was replaced.
        }
        self.clients[id].timer_ms = None;
        match self.clients[id].phase {
            Phase::Idle => self.start_op(id, now_ms, out),
            Phase::Backoff => self.attempt(id, now_ms, out),
            Phase::Sent => {
                let deadline_ms = self.clients[id].current.as_ref().map(|c| c.deadline_ms);
                if deadline_ms.is_some_and(|d| now_ms >= d) {
                    let unknown = Outcome::Unknown("timed out".to_string());
                    self.finish_unanswered(id, now_ms, unknown, out);
                }
            }
        }
    }

    fn start_op(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        if !self.issuing {
            return;
        }
        let client = &mut self.clients[id];
        let (kind, key) = self
            .workload
            .draw(&mut self.rng, &mut client.values, now_ms);
        let mut request = Request::new();
        for arg in workload::args(&kind, &key) {
            request.push(&arg);
        }
        let mut bytes = Vec::new();
        request.encode(&mut bytes);
        let call = self.stamp_next();
        let client = &mut self.clients[id];
        self.history.ops.push(Op {
            client: id,
            key,
            kind,
            call,
            ret: None,
            call_ms: now_ms,
            ret_ms: None,
            outcome: Outcome::Pending,
        });
        client.current = Some(Current {
            op: self.history.ops.len() - 1,
            request: bytes,
            deadline_ms: now_ms + self.request_timeout_ms,
            redirects: 0,
        });
        if self.reads_anywhere && !self.history.ops.last().expect("pushed").kind.is_write() {
            let client = &mut self.clients[id];
            if chance(&mut self.rng, 0.3) {
                client.target = between(&mut self.rng, 0, self.node_count as u64 - 1) as usize;
            }
        }
        self.attempt(id, now_ms, out);
    }

    /// Send the current operation to the target, connecting first if needed.
    fn attempt(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        let Some(current) = self.clients[id].current.clone() else {
            return;
        };
        if now_ms >= current.deadline_ms {
            self.finish(
                id,
                now_ms,
                Outcome::Failed("gave up retrying".to_string()),
                out,
            );
            return;
        }
        let target = self.clients[id].target;
        let connection = match self.clients[id].connection {
            Some(c) if c.node == target => c,
            other => {
                if let Some(old) = other {
                    out.push(Action::Close {
                        conn: old.conn,
                        node: old.node,
                    });
                }
                let c = Connection {
                    conn: self.conn_next,
                    node: target,
                };
                self.conn_next += 1;
                out.push(Action::Connect {
                    conn: c.conn,
                    node: c.node,
                });
                self.clients[id].connection = Some(c);
                self.clients[id].inbox.clear();
                c
            }
        };
        out.push(Action::Send {
            conn: connection.conn,
            node: connection.node,
            bytes: current.request,
        });
        self.clients[id].phase = Phase::Sent;
        self.set_timer(id, current.deadline_ms, out);
    }

    fn set_timer(&mut self, id: usize, at_ms: u64, out: &mut Vec<Action>) {
        self.clients[id].timer_ms = Some(at_ms);
        out.push(Action::WakeAt { at_ms });
    }

    /// Reply bytes arrived on `conn`.
    pub fn on_reply(
        &mut self,
        id: usize,
        conn: u64,
        bytes: &[u8],
        now_ms: u64,
        out: &mut Vec<Action>,
    ) {
        let client = &mut self.clients[id];
        if client.connection.map(|c| c.conn) != Some(conn) {
            return; // A connection this client already left.
        }
        client.inbox.extend_from_slice(bytes);
        assert!(client.inbox.len() <= REPLY_BYTES_MAX, "reply too long");
        // Bounded: each pass consumes one whole reply.
        for _ in 0..REPLY_BYTES_MAX {
            let parsed = parse_reply(&self.clients[id].inbox);
            let (reply, used) = match parsed {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => panic!("client {id}: unparsable reply from the node: {e}"),
            };
            self.clients[id].inbox.drain(..used);
            self.on_whole_reply(id, reply, now_ms, out);
        }
    }

    fn on_whole_reply(&mut self, id: usize, reply: Reply, now_ms: u64, out: &mut Vec<Action>) {
        if self.clients[id].phase != Phase::Sent {
            panic!("client {id}: a reply nobody asked for: {reply:?}");
        }
        let error = match &reply {
            Reply::Error(e) => Some(e.clone()),
            _ => None,
        };
        match error {
            Some(e) if e.starts_with("MOVED ") => self.on_moved(id, &e, now_ms, out),
            Some(e) if e.starts_with("CLUSTERDOWN") => self.backoff(id, now_ms, true, out),
            Some(e) if e.starts_with("UNKNOWN") => {
                self.finish(id, now_ms, Outcome::Unknown(e), out)
            }
            _ => {
                let outcome = Outcome::Ok(value_of(reply));
                self.finish(id, now_ms, outcome, out);
            }
        }
    }

    fn on_moved(&mut self, id: usize, error: &str, now_ms: u64, out: &mut Vec<Action>) {
        let node = error
            .rsplit(' ')
            .next()
            .and_then(node_of_client_addr)
            .filter(|&n| n < self.node_count);
        let Some(node) = node else {
            panic!("client {id}: bad redirect {error:?}");
        };
        let client = &mut self.clients[id];
        let current = client.current.as_mut().expect("a reply is to an operation");
        current.redirects += 1;
        if current.redirects > REDIRECTS_MAX {
            self.finish(
                id,
                now_ms,
                Outcome::Failed("too many redirects".to_string()),
                out,
            );
            return;
        }
        client.target = node;
        self.attempt(id, now_ms, out);
    }

    fn backoff(&mut self, id: usize, now_ms: u64, elsewhere: bool, out: &mut Vec<Action>) {
        if elsewhere {
            self.clients[id].target =
                between(&mut self.rng, 0, self.node_count as u64 - 1) as usize;
        }
        self.clients[id].phase = Phase::Backoff;
        self.set_timer(id, now_ms + RETRY_DELAY_MS, out);
    }

    /// The node closed the connection, or crashed.
    pub fn on_disconnect(&mut self, id: usize, conn: u64, now_ms: u64, out: &mut Vec<Action>) {
        let client = &mut self.clients[id];
        if client.connection.map(|c| c.conn) != Some(conn) {
            return;
        }
        client.connection = None;
        client.inbox.clear();
        if client.phase != Phase::Sent {
            return;
        }
        let lost = Outcome::Unknown("connection lost".to_string());
        self.finish_unanswered(id, now_ms, lost, out);
    }

    /// The request may or may not have run: a write's outcome is unknown; a read is
    /// retried (it changed nothing).
    fn finish_unanswered(
        &mut self,
        id: usize,
        now_ms: u64,
        unknown: Outcome,
        out: &mut Vec<Action>,
    ) {
        let op = self.clients[id].current.as_ref().expect("sent").op;
        let timed_out = self.clients[id]
            .current
            .as_ref()
            .is_some_and(|c| now_ms >= c.deadline_ms);
        if self.history.ops[op].kind.is_write() {
            self.finish(id, now_ms, unknown, out);
        } else if timed_out {
            self.finish(id, now_ms, Outcome::Failed("timed out".to_string()), out);
        } else {
            // Reconnect elsewhere: the old connection's replies are ignored from now on.
            if let Some(old) = self.clients[id].connection.take() {
                out.push(Action::Close {
                    conn: old.conn,
                    node: old.node,
                });
            }
            self.backoff(id, now_ms, true, out);
        }
    }

    fn finish(&mut self, id: usize, now_ms: u64, outcome: Outcome, out: &mut Vec<Action>) {
        let current = self.clients[id]
            .current
            .take()
            .expect("an operation to finish");
        let stamp = self.stamp_next();
        let op = &mut self.history.ops[current.op];
        assert_eq!(op.outcome, Outcome::Pending);
        if matches!(outcome, Outcome::Ok(_) | Outcome::Failed(_)) {
            op.ret = Some(stamp);
        }
        op.ret_ms = Some(now_ms);
        op.outcome = outcome;
        out.push(Action::Finished { op: current.op });
        // A late reply to an abandoned request must not be taken for the next one's.
        if matches!(op.outcome, Outcome::Unknown(_) | Outcome::Failed(_)) {
            if let Some(old) = self.clients[id].connection.take() {
                out.push(Action::Close {
                    conn: old.conn,
                    node: old.node,
                });
            }
        }
        self.clients[id].phase = Phase::Idle;
        let think_ms = exponential_ms(&mut self.rng, self.think_time_ms_mean);
        self.set_timer(id, now_ms + think_ms, out);
    }

    /// Whether every client is between operations.
    pub fn all_idle(&self) -> bool {
        self.clients.iter().all(|c| c.current.is_none())
    }

    /// The history index of the operation `client` has out on `conn`, if any.
    pub fn op_in_flight(&self, client: usize, conn: u64) -> Option<usize> {
        let client = &self.clients[client];
        let on_conn = client.connection.is_some_and(|c| c.conn == conn);
        let op = client.current.as_ref().map(|current| current.op);
        op.filter(|_| on_conn && client.phase == Phase::Sent)
    }
}

fn value_of(reply: Reply) -> Value {
    match reply {
        Reply::Simple(s) if s == "OK" => Value::Ok,
        Reply::Simple(s) => Value::Bulk(s.into_bytes()),
        Reply::Bulk(b) => Value::Bulk(b),
        Reply::Nil => Value::Nil,
        Reply::Integer(n) => Value::Int(n),
        Reply::Error(e) => Value::Error(e),
        Reply::Array(items) => Value::Array(items.into_iter().map(value_of).collect()),
        other => Value::Error(format!("unexpected reply {other:?}")),
    }
}

/// `node3:6379` names node 3.
pub fn node_of_client_addr(addr: &str) -> Option<usize> {
    addr.strip_prefix("node")?.split(':').next()?.parse().ok()
}

pub fn client_addr(node: usize) -> String {
    format!("node{node}:6379")
}

pub fn cluster_addr(node: usize) -> String {
    format!("node{node}:16379")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_round_trip() {
        for node in 0..8 {
            assert_eq!(node_of_client_addr(&client_addr(node)), Some(node));
        }
        assert_eq!(node_of_client_addr("10.0.0.1:6379"), None);
    }
}
