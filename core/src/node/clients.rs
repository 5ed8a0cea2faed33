//! Client connections: parse requests, run commands, block a session in `WAIT`, and
//! release what waited (with the held replies of majority mode, `held.rs`) when its
//! condition holds.

use super::Node;
use crate::commands::{self, Ctx, Flow, Store};
use crate::config::WriteQuorum;
use crate::ids::{ConnectionId, Offset};
use crate::input::ClientAddrs;
use crate::output::Output;
use crate::resp::{self, Parsed};
use crate::session::{Session, Wait};
use crate::slot::key_slot;
use crate::status::Role;

const ERR_QUERY_BUFFER: &str = "ERR Protocol error: query buffer limit exceeded";
/// The capacity a session's input buffer keeps once what it buffered has been served:
/// a burst (a large request, or a pipeline that arrived while the session was stalled)
/// gives its memory back, as Redis's clients cron resizes query buffers.
pub(crate) const INPUT_CAPACITY_KEPT_BYTES: usize = 32 * 1024;

impl Node {
    pub(super) fn on_client_connected(&mut self, conn: ConnectionId, addrs: ClientAddrs) {
        let password_set = self.config.requirepass.is_some();
        let now = self.now.instant;
        self.client_id_last += 1;
        let id = self.client_id_last;
        let mut session = Box::new(Session::new(conn, id, addrs, now, !password_set));
        session.denied = self.config.protected_mode && !password_set && !addrs.is_loopback();
        self.stats.connections_received += 1;
        let previous = self.clients.insert(conn, session);
        debug_assert!(
            previous.is_none(),
            "connection ids are not reused while open"
        );
    }

    pub(super) fn on_client_closed(&mut self, conn: ConnectionId) {
        if let Some(mut session) = self.take_session(conn) {
            self.unwatch_all(&mut session);
            self.forget_blocked(&mut session);
        }
    }

    /// Take a session out of the table (and the indexes) for a step.
    pub(super) fn take_session(&mut self, conn: ConnectionId) -> Option<Box<Session>> {
        let mut session = self.clients.remove(&conn)?;
        self.unindex_held(&mut session);
        self.waiting_clients.remove(&conn);
        Some(session)
    }

    /// Put a session back into the table, indexed by what it waits for.
    pub(super) fn put_session(&mut self, mut session: Box<Session>) {
        self.index_held(&mut session);
        if session.wait.is_some() {
            self.waiting_clients.insert(session.conn);
        }
        let previous = self.clients.insert(session.conn, session);
        assert!(previous.is_none(), "a session is in the table once");
    }

    pub(super) fn on_client_data(
        &mut self,
        conn: ConnectionId,
        bytes: &[u8],
        out: &mut Vec<Output>,
    ) {
        let Some(mut session) = self.take_session(conn) else {
            return; // Closed already: late bytes are dropped.
        };
        self.stats.net_input_bytes += bytes.len() as u64;
        let mut reply = Vec::new();
        if session.denied {
            resp::write_error(&mut reply, commands::ERR_DENIED);
            session.closing = true;
        } else if !session.closing {
            self.take_input(&mut session, bytes, &mut reply);
        }
        self.finish_client(session, reply, out);
    }

    /// Run every whole request in the session's buffered input plus `bytes`, keeping the
    /// unparsed rest. The common case (nothing buffered) parses straight from `bytes`.
    fn take_input(&mut self, session: &mut Session, bytes: &[u8], reply: &mut Vec<u8>) {
        if session.input.is_empty() {
            let consumed = self.serve(session, bytes, reply);
            session.input.extend_from_slice(&bytes[consumed..]);
        } else {
            session.input.extend_from_slice(bytes);
            self.serve_buffered(session, reply);
        }
        let input = &mut session.input;
        if input.capacity() > INPUT_CAPACITY_KEPT_BYTES && input.len() <= INPUT_CAPACITY_KEPT_BYTES
        {
            input.shrink_to(INPUT_CAPACITY_KEPT_BYTES);
        }
        if session.input.len() > self.config.limits.query_buffer_bytes_max {
            let reply_start = reply.len();
            resp::write_error(reply, ERR_QUERY_BUFFER);
            session.hold_behind(reply, reply_start);
            session.closing = true;
            session.input = Vec::new();
        }
    }

    fn serve_buffered(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        if session.input.len() < session.input_needed_total {
            return;
        }
        let mut input = std::mem::take(&mut session.input);
        let consumed = self.serve(session, &input, reply);
        input.drain(..consumed);
        session.input = input;
    }

    /// Parse and run requests from `data` until it runs out, the session stalls (WAIT, or
    /// too many held replies), or the protocol breaks. Returns how many bytes were
    /// consumed. Replies behind held ones are held too, so that the order is kept.
    fn serve(&mut self, session: &mut Session, data: &[u8], reply: &mut Vec<u8>) -> usize {
        let mut consumed = 0;
        session.input_needed_total = 0;
        let limits = resp::Limits::from(&self.config.limits);
        while !session.closing && !session.stalled() && consumed < data.len() {
            let reply_start = reply.len();
            match resp::parse_request(&data[consumed..], &limits, &mut self.request) {
                Ok(Parsed::Request { consumed: used }) => {
                    debug_assert!(used > 0, "a parsed request consumes bytes");
                    consumed += used;
                    if !self.request.is_empty() {
                        self.run_request(session, reply);
                    }
                }
                Ok(Parsed::Incomplete { needed_total }) => {
                    session.input_needed_total = needed_total;
                    break;
                }
                Err(error) => {
                    resp::write_error(reply, &format!("ERR {error}"));
                    session.closing = true;
                }
            }
            session.hold_behind(reply, reply_start);
        }
        consumed
    }

    /// Run the request in `self.request` for `session` (or queue it, in `MULTI`).
    fn run_request(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        let reply_start = reply.len();
        session.active_at = self.now.instant;
        let Some(spec) = self.admit(session, reply) else {
            self.abort_transaction(session);
            return;
        };
        session.last_command = spec.name;
        if !self.room_for(spec, session, reply) {
            self.abort_transaction(session);
            return;
        }
        if !self.transaction_step(spec, session, reply) {
            self.stats.commands_processed += 1;
            let pending_before = self.pending_end();
            let flow = self.run_handler(spec, session, reply, None);
            let wrote = self.pending_end() > pending_before;
            self.after_command(spec, session, flow, (reply, reply_start), wrote);
        }
        self.note_watched_changes(Some(session));
    }

    /// The command `self.request` names, if it may run here; otherwise the error reply
    /// is written. Redis 7's order: unknown command, then arity, then authentication.
    fn admit(
        &self,
        session: &Session,
        reply: &mut Vec<u8>,
    ) -> Option<&'static commands::CommandSpec> {
        let Some(spec) = commands::lookup(self.request.arg(0)) else {
            commands::err_unknown_command(reply, &self.request);
            return None;
        };
        if !spec.arity_ok(self.request.len()) {
            commands::err_wrong_arity(reply, spec.name);
            return None;
        }
        if !session.authenticated && spec.flags & commands::FLAG_NO_AUTH == 0 {
            resp::write_error(reply, commands::ERR_NOAUTH);
            return None;
        }
        if self.must_redirect(spec, session) {
            self.redirect(spec, reply);
            return None;
        }
        Some(spec)
    }

    /// Writes go to the master. In majority mode reads do too, unless the connection
    /// chose stale reads with `READONLY` (Redis Cluster's rule); in async mode every
    /// node answers reads from its own data, as the seed has it, while it knows a
    /// master: a node no majority stands behind says `-CLUSTERDOWN` to reads as to
    /// writes, unless `clusterAllowReadsWhenDown` is set (Redis Cluster's rule again).
    fn must_redirect(&self, spec: &commands::CommandSpec, session: &Session) -> bool {
        if self.status.role == Role::Master {
            return false;
        }
        let keyed_read = spec.flags & commands::FLAG_READONLY != 0 && spec.first_key > 0;
        let majority = self.config.write_quorum == WriteQuorum::Majority;
        let stale_ok = session.readonly || self.planted_stale_read();
        let down = self.status.master.is_none() && !self.config.cluster_allow_reads_when_down;
        spec.is_write() || (keyed_read && ((majority && !stale_ok) || down))
    }

    /// A write (or a majority-mode read) at a replica: `-MOVED` to the master, or
    /// `-CLUSTERDOWN` if none is known or it has gone quiet (a client would only be
    /// sent to a dead node; it retries `-CLUSTERDOWN` after a pause).
    fn redirect(&self, spec: &commands::CommandSpec, reply: &mut Vec<u8>) {
        let heard_ms = 2 * self.config.heartbeat_ms;
        let reachable = self
            .master_heard_at
            .is_some_and(|at| self.now.instant.since(at) <= heard_ms);
        match (
            self.status.master_client_addr().filter(|_| reachable),
            spec.first_key(&self.request),
        ) {
            (None, _) => resp::write_error(reply, commands::ERR_CLUSTERDOWN),
            (Some(addr), Some(key)) => commands::err_moved(reply, key_slot(key), addr),
            (Some(_), None) => resp::write_error(reply, commands::ERR_READONLY),
        }
    }

    /// Run `spec`'s handler; `unit` is where an open unit starts in the pending AOF
    /// bytes (inside `EXEC`), which the handler's records join.
    pub(super) fn run_handler(
        &mut self,
        spec: &commands::CommandSpec,
        session: &mut Session,
        reply: &mut Vec<u8>,
        unit: Option<usize>,
    ) -> Flow {
        let aof_pending_start = super::Offset(self.aof.end.0);
        let end_before = self.pending_end();
        let mut ctx = Ctx {
            now: self.now,
            conn: session.conn,
            store: Store {
                keyspace: &mut self.keyspace,
                aof_pending: &mut self.aof.pending,
                aof_pending_start,
                term: self.meta.term,
                now: self.now.unix,
                stats: &mut self.stats,
                unit: unit.map(|start| (start, 1)),
            },
            rng: &mut self.rng,
            session,
            status: &self.status,
            config: &self.config,
            aof: &mut self.compaction.info,
            memory: &mut self.memory,
            clients: &self.clients,
            killed: &mut self.killed_clients,
            daemon: &mut self.daemon,
        };
        let flow = (spec.handler)(&mut ctx, &self.request, reply);
        assert_eq!(
            ctx.store.unit,
            unit.map(|start| (start, 1)),
            "{} left a unit open",
            spec.name
        );
        let end = ctx.store.end();
        if !session.no_touch {
            self.stamp_used_keys(spec);
        }
        if end > end_before {
            assert!(
                spec.is_write(),
                "{} wrote without the write flag",
                spec.name
            );
            session.last_write_end = end;
        }
        flow
    }

    /// Act on the command's flow, and in majority mode hold a data command's reply
    /// (`reply[reply_start..]`) for the commit.
    pub(super) fn after_command(
        &mut self,
        spec: &commands::CommandSpec,
        session: &mut Session,
        flow: Flow,
        (reply, reply_start): (&mut Vec<u8>, usize),
        wrote: bool,
    ) {
        match flow {
            Flow::Continue => {}
            Flow::Close => session.closing = true,
            Flow::Block { keys, timeout_ms } => {
                // Nothing is answered yet: the reply comes when the client is served.
                debug_assert_eq!(reply.len(), reply_start);
                self.block(session, keys, timeout_ms);
                return;
            }
            Flow::Wait {
                replicas,
                timeout_ms,
            } => {
                let deadline = (timeout_ms > 0).then(|| self.now.instant.add_ms(timeout_ms));
                self.acks_wanted = true;
                session.wait = Some(Wait {
                    target: session.last_write_end,
                    replicas,
                    deadline,
                });
            }
        }
        let data_command = spec.flags & commands::FLAG_SERVER == 0;
        let at_master = self.status.role == Role::Master;
        if data_command && at_master && self.config.write_quorum == WriteQuorum::Majority {
            // A write that logged nothing (a DEL of a missing key, GETDEL finding none)
            // answered from the state like a read, and waits like one for its reign:
            // a commit that passed long ago proves nothing about a deposed master.
            self.hold_reply(session, reply, reply_start, wrote);
        }
    }

    /// The AOF end including records logged in this step.
    pub(super) fn pending_end(&self) -> Offset {
        Offset(self.aof.end.0 + self.aof.pending.len() as u64)
    }

    /// End a step for one client: hand over its records, release what its records
    /// unblocked, and emit its replies after the records they depend on.
    pub(super) fn finish_client(
        &mut self,
        mut session: Box<Session>,
        mut reply: Vec<u8>,
        out: &mut Vec<Output>,
    ) {
        // Each round releases what may go and, if that ended a stall, runs what the client
        // sent meanwhile, which may stall again and be released at once (a one-node
        // cluster in majority mode).
        const RELEASES_PER_STEP_MAX: usize = 1024;
        for _ in 0..RELEASES_PER_STEP_MAX {
            self.flush_aof(out);
            let stalled = session.stalled();
            self.release_held(&mut session, &mut reply);
            self.answer_wait(&mut session, &mut reply);
            if !stalled || session.stalled() {
                break;
            }
            self.serve_buffered(&mut session, &mut reply);
        }
        let conn = session.conn;
        if !reply.is_empty() {
            self.stats.net_output_bytes += reply.len() as u64;
            out.push(Output::Reply { conn, bytes: reply });
        }
        if session.closing && !session.is_blocked() {
            out.push(Output::Close { conn });
        }
        self.put_session(session);
        self.close_killed_clients(out);
        if std::mem::take(&mut self.daemon.changed) {
            out.push(Output::ApplySettings(self.daemon.settings.clone()));
        }
    }

    /// Close the connections a `CLIENT KILL` named: each is forgotten as if it had
    /// closed, and the driver drops its socket.
    fn close_killed_clients(&mut self, out: &mut Vec<Output>) {
        for conn in std::mem::take(&mut self.killed_clients) {
            self.on_client_closed(conn);
            out.push(Output::Close { conn });
        }
    }

    /// Release every blocked client whose condition may hold now (after acks, commits,
    /// role changes and timeouts). Held replies are found through their index; sessions
    /// in `WAIT` (rare, and released by acks, timeouts and role changes alike) are
    /// visited on every step.
    pub(super) fn release_blocked_clients(&mut self, out: &mut Vec<Output>) {
        let mut conns = self.held_to_visit();
        conns.extend(self.waiting_clients.iter().copied());
        conns.sort_unstable();
        conns.dedup();
        for conn in conns {
            let session = self
                .take_session(conn)
                .expect("an indexed client is connected");
            self.finish_client(session, Vec::new(), out);
        }
    }

    /// Answer the session's `WAIT` if enough replicas hold its target, it timed out, or
    /// the node is no longer master. The answer waits behind held replies.
    fn answer_wait(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        let Some(wait) = &session.wait else {
            return;
        };
        let acked = self.replicas_holding(wait.target);
        let timed_out = wait.deadline.is_some_and(|d| self.now.instant >= d);
        if acked < wait.replicas && !timed_out && self.status.role == Role::Master {
            return;
        }
        let reply_start = reply.len();
        resp::write_int(reply, acked as i64);
        session.hold_behind(reply, reply_start);
        session.wait = None;
    }

    /// How many replicas durably hold `offset`.
    fn replicas_holding(&self, offset: Offset) -> usize {
        self.progress.values().filter(|p| p.acked >= offset).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Input, Now};

    /// A large request that arrives in two pieces is buffered whole, then served; the
    /// buffer then gives its memory back.
    #[test]
    fn a_served_burst_gives_its_input_buffer_back() {
        let config = Config::single("127.0.0.1:6379", "127.0.0.1:16379");
        let (mut node, _) = Node::recover(config, 1, None, &[]).unwrap();
        let now = Now {
            instant: crate::time::Instant(0),
            unix: crate::time::UnixMillis(1_700_000_000_000),
        };
        let conn = ConnectionId(1);
        let mut out = Vec::new();
        let connected = Input::ClientConnected {
            conn,
            addrs: crate::ClientAddrs::loopback(40000),
        };
        node.step(now, connected, &mut out);
        let value = vec![b'v'; 1024 * 1024];
        let mut request =
            format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", value.len()).into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\n");
        let (first, second) = request.split_at(request.len() / 2);
        node.step(now, Input::ClientData { conn, bytes: first }, &mut out);
        assert!(node.clients[&conn].input.capacity() >= first.len());
        node.step(
            now,
            Input::ClientData {
                conn,
                bytes: second,
            },
            &mut out,
        );
        let session = &node.clients[&conn];
        assert!(session.input.is_empty(), "the request was served");
        assert!(session.input.capacity() <= INPUT_CAPACITY_KEPT_BYTES);
    }
}
