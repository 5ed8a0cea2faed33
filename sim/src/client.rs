//! Simulated clients. Each runs one operation at a time, as a Redis Cluster client does,
//! or (a pipelining client) several at once on one connection, reading the replies in
//! order: it sends to the node it believes is master, follows `-MOVED` to the named node,
//! waits and retries on `-CLUSTERDOWN`, and gives up after a timeout (outcome unknown
//! for writes). Every operation lands in the [`History`] with its own invocation and
//! completion, so a pipeline's operations are concurrent there.
//!
//! Clients do not touch the world: each call returns the actions the world executes.

use std::collections::VecDeque;

use bucket_core::resp::{parse_reply, Reply};
use rand_chacha::ChaCha8Rng;

use crate::history::{History, Op, OpKind, Outcome, Value, LONG_TTL_MS};
use crate::options::Options;
use crate::seed::{between, chance, exponential_ms};
use crate::txn::Answer;
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
    /// Send the requests of `ops` (history indexes, in request order) in one packet.
    Send {
        conn: u64,
        node: usize,
        bytes: Vec<u8>,
        ops: Vec<usize>,
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
    /// Requests are on their way or being served.
    Sent,
    /// Waiting to retry (after `-CLUSTERDOWN`).
    Backoff,
}

/// An operation of the current pipeline that has not finished.
#[derive(Clone, Debug)]
struct Pending {
    /// Index into the history.
    op: usize,
    write: bool,
    request: Vec<u8>,
    /// How many replies the request gets (a transaction's: MULTI, each QUEUED, EXEC),
    /// and those in so far.
    replies_total: usize,
    replies: Vec<Reply>,
    deadline_ms: u64,
    redirects: u32,
}

pub struct Client {
    connection: Option<Connection>,
    inbox: Vec<u8>,
    phase: Phase,
    /// The operations sent on `connection` whose replies are still to come, in order.
    sent: VecDeque<Pending>,
    /// The operations to send (again) once every reply of `sent` is in.
    unsent: Vec<Pending>,
    /// One of `unsent` met `-CLUSTERDOWN`: wait, and try another node.
    cluster_down: bool,
    /// The most operations one pipeline of this client holds (1: no pipelining).
    depth_max: usize,
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
        assert!(
            options.pipeline_depth_max >= 2,
            "a pipeline holds two or more"
        );
        // The modelled keys' long expiries must outlast the run (see `workload`).
        let run_ms = options.faulty_phase_ms + options.liveness_phase_ms;
        assert!(
            (run_ms as i64) < LONG_TTL_MS / 2,
            "a run longer than a long expiry"
        );
        for id in 0..options.client_count {
            let target = between(&mut clients.rng, 0, options.node_count as u64 - 1) as usize;
            let pipelines = id < options.pipelined_client_count;
            clients.clients.push(Client {
                connection: None,
                inbox: Vec::new(),
                phase: Phase::Idle,
                sent: VecDeque::new(),
                unsent: Vec::new(),
                cluster_down: false,
                depth_max: if pipelines {
                    options.pipeline_depth_max
                } else {
                    1
                },
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
            Phase::Idle => self.start_pipeline(id, now_ms, out),
            Phase::Backoff => self.attempt(id, now_ms, out),
            Phase::Sent => {
                let deadline_ms = self.clients[id].sent.iter().map(|p| p.deadline_ms).min();
                if deadline_ms.is_some_and(|d| now_ms >= d) {
                    self.abandon_sent(id, now_ms, "timed out", out);
                    self.after_replies(id, now_ms, out);
                }
            }
        }
    }

    /// Draw the next operations (one, or a pipeline of 2 to `depth_max`; a `WAIT` ends a
    /// pipeline, so that every write of it runs in the step its packet arrives) and send
    /// them.
    fn start_pipeline(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        if !self.issuing {
            return;
        }
        let depth_max = self.clients[id].depth_max as u64;
        let depth = match depth_max {
            1 => 1,
            _ => between(&mut self.rng, 2, depth_max),
        };
        for _ in 0..depth {
            let kind = self.invoke(id, now_ms);
            if kind == OpKind::Wait {
                break;
            }
        }
        let reads_only = self.clients[id].unsent.iter().all(|p| !p.write);
        if self.reads_anywhere && reads_only && chance(&mut self.rng, 0.3) {
            self.retarget(id);
        }
        self.attempt(id, now_ms, out);
    }

    /// Draw one operation, record its invocation, and queue it to be sent.
    fn invoke(&mut self, id: usize, now_ms: u64) -> OpKind {
        let client = &mut self.clients[id];
        let (kind, key) = self
            .workload
            .draw(&mut self.rng, &mut client.values, now_ms);
        let (bytes, replies_total) = workload::requests(&kind, &key);
        let call = self.stamp_next();
        self.history.ops.push(Op {
            client: id,
            key,
            kind: kind.clone(),
            call,
            ret: None,
            call_ms: now_ms,
            ret_ms: None,
            outcome: Outcome::Pending,
        });
        self.clients[id].unsent.push(Pending {
            op: self.history.ops.len() - 1,
            write: kind.is_write(),
            request: bytes,
            replies_total,
            replies: Vec::new(),
            deadline_ms: now_ms + self.request_timeout_ms,
            redirects: 0,
        });
        kind
    }

    /// Send every unsent operation to the target in one packet, connecting first if
    /// needed; an operation past its deadline fails instead.
    fn attempt(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        assert!(self.clients[id].sent.is_empty(), "one packet out at a time");
        self.clients[id].cluster_down = false;
        let unsent = std::mem::take(&mut self.clients[id].unsent);
        let (late, due): (Vec<Pending>, Vec<Pending>) =
            unsent.into_iter().partition(|p| now_ms >= p.deadline_ms);
        for pending in late {
            let failed = Outcome::Failed("gave up retrying".to_string());
            self.finish(pending.op, now_ms, failed, out);
        }
        if due.is_empty() {
            self.rest(id, now_ms, out);
            return;
        }
        let connection = self.connection_to_target(id, out);
        let bytes: Vec<u8> = due.iter().flat_map(|p| p.request.iter().copied()).collect();
        let ops = due.iter().map(|p| p.op).collect();
        let deadline_ms = due.iter().map(|p| p.deadline_ms).min().expect("not empty");
        out.push(Action::Send {
            conn: connection.conn,
            node: connection.node,
            bytes,
            ops,
        });
        let client = &mut self.clients[id];
        client.sent = due.into();
        client.phase = Phase::Sent;
        self.set_timer(id, deadline_ms, out);
    }

    /// The connection to the target node: the current one, or a new one.
    fn connection_to_target(&mut self, id: usize, out: &mut Vec<Action>) -> Connection {
        let target = self.clients[id].target;
        if let Some(c) = self.clients[id].connection.filter(|c| c.node == target) {
            return c;
        }
        if let Some(old) = self.clients[id].connection.take() {
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

    /// The reply to the oldest request sent; once every reply is in, go on.
    fn on_whole_reply(&mut self, id: usize, reply: Reply, now_ms: u64, out: &mut Vec<Action>) {
        let Some(front) = self.clients[id].sent.front_mut() else {
            panic!("client {id}: a reply nobody asked for: {reply:?}");
        };
        if front.replies_total > 1 {
            front.replies.push(reply);
            if front.replies.len() == front.replies_total {
                let pending = self.clients[id].sent.pop_front().expect("the front");
                self.on_transaction_replies(id, pending, now_ms, out);
            }
            return;
        }
        let pending = self.clients[id].sent.pop_front().expect("the front");
        assert_eq!(self.clients[id].phase, Phase::Sent);
        let error = match &reply {
            Reply::Error(e) => Some(e.clone()),
            _ => None,
        };
        match error {
            Some(e) if e.starts_with("MOVED ") => {
                self.follow_redirect(id, pending, &e, now_ms, out)
            }
            Some(e) if e.starts_with("CLUSTERDOWN") => {
                self.clients[id].cluster_down = true;
                self.clients[id].unsent.push(pending);
            }
            Some(e) if e.starts_with("UNKNOWN") => {
                self.finish(pending.op, now_ms, Outcome::Unknown(e), out)
            }
            _ => self.finish(pending.op, now_ms, Outcome::Ok(value_of(reply)), out),
        }
        if self.clients[id].sent.is_empty() {
            self.after_replies(id, now_ms, out);
        }
    }

    /// Every reply of a transaction is in: finish it, or send it again where its
    /// replies say nothing ran (a step was redirected, or no master was known).
    fn on_transaction_replies(
        &mut self,
        id: usize,
        mut pending: Pending,
        now_ms: u64,
        out: &mut Vec<Action>,
    ) {
        let replies = std::mem::take(&mut pending.replies);
        match crate::txn::answer(&replies) {
            Answer::Committed(value) => self.finish(pending.op, now_ms, Outcome::Ok(value), out),
            Answer::Unknown(e) => self.finish(pending.op, now_ms, Outcome::Unknown(e), out),
            Answer::Failed(e) => self.finish(pending.op, now_ms, Outcome::Failed(e), out),
            Answer::ClusterDown => {
                self.clients[id].cluster_down = true;
                self.clients[id].unsent.push(pending);
            }
            Answer::Redirected(moved) => self.follow_redirect(id, pending, &moved, now_ms, out),
        }
        if self.clients[id].sent.is_empty() {
            self.after_replies(id, now_ms, out);
        }
    }

    /// `-MOVED`: send the request again to the master it names, unless it has been
    /// redirected too often already.
    fn follow_redirect(
        &mut self,
        id: usize,
        mut pending: Pending,
        moved: &str,
        now_ms: u64,
        out: &mut Vec<Action>,
    ) {
        pending.redirects += 1;
        if pending.redirects > REDIRECTS_MAX {
            let failed = Outcome::Failed("too many redirects".to_string());
            self.finish(pending.op, now_ms, failed, out);
        } else {
            self.clients[id].target = self.moved_to(id, moved);
            self.clients[id].unsent.push(pending);
        }
    }

    /// Pick a node at random to send to from now on.
    fn retarget(&mut self, id: usize) {
        self.clients[id].target = between(&mut self.rng, 0, self.node_count as u64 - 1) as usize;
    }

    /// The node a `-MOVED` names.
    fn moved_to(&self, id: usize, error: &str) -> usize {
        let node = error
            .rsplit(' ')
            .next()
            .and_then(node_of_client_addr)
            .filter(|&n| n < self.node_count);
        node.unwrap_or_else(|| panic!("client {id}: bad redirect {error:?}"))
    }

    /// Every request sent has its answer (or was abandoned): retry what must be retried,
    /// after a pause if the cluster was down, or rest before the next pipeline.
    fn after_replies(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        let client = &self.clients[id];
        assert!(client.sent.is_empty());
        if client.unsent.is_empty() {
            self.rest(id, now_ms, out);
        } else if client.cluster_down {
            self.retarget(id);
            self.clients[id].phase = Phase::Backoff;
            self.set_timer(id, now_ms + RETRY_DELAY_MS, out);
        } else {
            self.attempt(id, now_ms, out);
        }
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
        // The node may be down: go on elsewhere.
        self.retarget(id);
        self.abandon_sent(id, now_ms, "connection lost", out);
        self.after_replies(id, now_ms, out);
    }

    /// Give up on every request sent whose reply has not come: it may or may not have
    /// run, so a write's outcome is unknown, and a read failed (it changed nothing). The
    /// connection is closed, so that a late reply is not taken for a later request's.
    fn abandon_sent(&mut self, id: usize, now_ms: u64, why: &str, out: &mut Vec<Action>) {
        let sent = std::mem::take(&mut self.clients[id].sent);
        for pending in sent {
            let outcome = match pending.write {
                true => Outcome::Unknown(why.to_string()),
                false => Outcome::Failed(why.to_string()),
            };
            self.finish(pending.op, now_ms, outcome, out);
        }
        if let Some(old) = self.clients[id].connection.take() {
            out.push(Action::Close {
                conn: old.conn,
                node: old.node,
            });
        }
    }

    /// Record the completion of history op `op`.
    fn finish(&mut self, op: usize, now_ms: u64, outcome: Outcome, out: &mut Vec<Action>) {
        let stamp = self.stamp_next();
        let op_ref = &mut self.history.ops[op];
        assert_eq!(op_ref.outcome, Outcome::Pending);
        if matches!(outcome, Outcome::Ok(_) | Outcome::Failed(_)) {
            op_ref.ret = Some(stamp);
        }
        op_ref.ret_ms = Some(now_ms);
        op_ref.outcome = outcome;
        out.push(Action::Finished { op });
    }

    /// The pipeline is done: think before the next one.
    fn rest(&mut self, id: usize, now_ms: u64, out: &mut Vec<Action>) {
        let client = &mut self.clients[id];
        assert!(client.sent.is_empty() && client.unsent.is_empty());
        client.phase = Phase::Idle;
        let think_ms = exponential_ms(&mut self.rng, self.think_time_ms_mean);
        self.set_timer(id, now_ms + think_ms, out);
    }

    /// Whether every client is between operations.
    pub fn all_idle(&self) -> bool {
        self.clients
            .iter()
            .all(|c| c.sent.is_empty() && c.unsent.is_empty())
    }
}

pub(crate) fn value_of(reply: Reply) -> Value {
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
