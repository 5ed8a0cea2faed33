//! Client connections: parse requests, run commands, hold replies that must wait (WAIT,
//! majority mode), and release them when their condition holds.

use super::Node;
use crate::commands::{self, Ctx, Flow, Store};
use crate::config::WriteQuorum;
use crate::ids::{ConnectionId, Offset};
use crate::output::Output;
use crate::resp::{self, Parsed};
use crate::session::{Blocked, Session};
use crate::slot::key_slot;
use crate::status::Role;

const ERR_QUERY_BUFFER: &str = "ERR Protocol error: query buffer limit exceeded";

impl Node {
    pub(super) fn on_client_connected(&mut self, conn: ConnectionId, loopback: bool) {
        let password_set = self.config.requirepass.is_some();
        let mut session = Box::new(Session::new(conn, !password_set));
        session.denied = self.config.protected_mode && !password_set && !loopback;
        self.stats.connections_received += 1;
        let previous = self.clients.insert(conn, session);
        debug_assert!(
            previous.is_none(),
            "connection ids are not reused while open"
        );
    }

    pub(super) fn on_client_closed(&mut self, conn: ConnectionId) {
        self.clients.remove(&conn);
        self.blocked_clients.remove(&conn);
    }

    pub(super) fn on_client_data(
        &mut self,
        conn: ConnectionId,
        bytes: &[u8],
        out: &mut Vec<Output>,
    ) {
        let Some(mut session) = self.clients.remove(&conn) else {
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
        if session.input.len() > self.config.limits.query_buffer_bytes_max {
            resp::write_error(reply, ERR_QUERY_BUFFER);
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

    /// Parse and run requests from `data` until it runs out, the client blocks, or the
    /// protocol breaks. Returns how many bytes were consumed.
    fn serve(&mut self, session: &mut Session, data: &[u8], reply: &mut Vec<u8>) -> usize {
        let mut consumed = 0;
        session.input_needed_total = 0;
        let limits = resp::Limits::from(&self.config.limits);
        while !session.closing && session.blocked.is_none() && consumed < data.len() {
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
        }
        consumed
    }

    /// Run the request in `self.request` for `session`.
    fn run_request(&mut self, session: &mut Session, reply: &mut Vec<u8>) {
        // Redis 7's order: unknown command, then arity, then authentication.
        let Some(spec) = commands::lookup(self.request.arg(0)) else {
            commands::err_unknown_command(reply, &self.request);
            return;
        };
        if !spec.arity_ok(self.request.len()) {
            commands::err_wrong_arity(reply, spec.name);
            return;
        }
        if !session.authenticated && spec.flags & commands::FLAG_NO_AUTH == 0 {
            resp::write_error(reply, commands::ERR_NOAUTH);
            return;
        }
        if self.must_redirect(spec, session) {
            self.redirect(spec, reply);
            return;
        }
        self.stats.commands_processed += 1;
        let flow = self.run_handler(spec, session, reply);
        self.after_command(spec, session, flow, reply);
    }

    /// Writes go to the master. In majority mode reads do too, unless the connection
    /// chose stale reads with `READONLY` (Redis Cluster's rule); in async mode every
    /// node answers reads from its own data, as the seed has it.
    fn must_redirect(&self, spec: &commands::CommandSpec, session: &Session) -> bool {
        if self.status.role == Role::Master {
            return false;
        }
        let keyed_read = spec.flags & commands::FLAG_READONLY != 0 && spec.first_key > 0;
        let majority = self.config.write_quorum == WriteQuorum::Majority;
        let stale_ok = session.readonly || self.planted_stale_read();
        spec.is_write() || (keyed_read && majority && !stale_ok)
    }

    /// A write (or a majority-mode read) at a replica: `-MOVED` to the master, `-CLUSTERDOWN` if none is known.
    fn redirect(&self, spec: &commands::CommandSpec, reply: &mut Vec<u8>) {
        match (
            self.status.master_client_addr(),
            spec.first_key(&self.request),
        ) {
            (None, _) => resp::write_error(reply, commands::ERR_CLUSTERDOWN),
            (Some(addr), Some(key)) => commands::err_moved(reply, key_slot(key), addr),
            (Some(_), None) => resp::write_error(reply, commands::ERR_READONLY),
        }
    }

    fn run_handler(
        &mut self,
        spec: &commands::CommandSpec,
        session: &mut Session,
        reply: &mut Vec<u8>,
    ) -> Flow {
        let aof_pending_start = super::Offset(self.aof.end.0);
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
            },
            session,
            status: &self.status,
            config: &self.config,
        };
        let flow = (spec.handler)(&mut ctx, &self.request, reply);
        let end = ctx.store.end();
        if end > aof_pending_start.max(session.last_write_end) {
            assert!(
                spec.is_write(),
                "{} wrote without the write flag",
                spec.name
            );
            session.last_write_end = end;
        }
        flow
    }

    fn after_command(
        &mut self,
        spec: &commands::CommandSpec,
        session: &mut Session,
        flow: Flow,
        reply: &mut Vec<u8>,
    ) {
        match flow {
            Flow::Continue => {}
            Flow::Close => session.closing = true,
            Flow::Wait {
                replicas,
                timeout_ms,
            } => {
                let deadline = (timeout_ms > 0).then(|| self.now.instant.add_ms(timeout_ms));
                self.acks_wanted = true;
                session.blocked = Some(Blocked::Wait {
                    target: session.last_write_end,
                    replicas,
                    deadline,
                });
            }
        }
        let data_command = spec.flags & commands::FLAG_SERVER == 0;
        let at_master = self.status.role == Role::Master;
        if data_command && at_master && self.config.write_quorum == WriteQuorum::Majority {
            session.blocked = Some(Blocked::Commit {
                offset: self.pending_end(),
                write: spec.is_write(),
                since: self.now.instant,
            });
        }
        if session.blocked.is_some() {
            session.held_reply.extend_from_slice(reply);
            reply.clear();
        }
    }

    /// The AOF end including records logged in this step.
    fn pending_end(&self) -> Offset {
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
        // Each round releases the client and runs what it sent meanwhile, which may block
        // again and be released at once (a one-node cluster in majority mode).
        const RELEASES_PER_STEP_MAX: usize = 1024;
        for _ in 0..RELEASES_PER_STEP_MAX {
            self.flush_aof(out);
            let Some(blocked) = session.blocked.clone() else {
                break;
            };
            if !self.unblock(&mut session, &blocked, &mut reply) {
                break;
            }
            self.serve_buffered(&mut session, &mut reply);
        }
        let conn = session.conn;
        if !reply.is_empty() {
            self.stats.net_output_bytes += reply.len() as u64;
            out.push(Output::Reply { conn, bytes: reply });
        }
        if session.closing && session.blocked.is_none() {
            out.push(Output::Close { conn });
        }
        if session.blocked.is_some() {
            self.blocked_clients.insert(conn);
        } else {
            self.blocked_clients.remove(&conn);
        }
        self.clients.insert(conn, session);
    }

    /// Release every blocked client whose condition now holds (after acks, commits,
    /// role changes and timeouts).
    pub(super) fn release_blocked_clients(&mut self, out: &mut Vec<Output>) {
        if self.blocked_clients.is_empty() {
            return;
        }
        let blocked: Vec<ConnectionId> = self.blocked_clients.iter().copied().collect();
        for conn in blocked {
            let session = self
                .clients
                .remove(&conn)
                .expect("a blocked client is connected");
            debug_assert!(session.blocked.is_some());
            self.finish_client(session, Vec::new(), out);
        }
    }

    /// If `blocked` is satisfied (or timed out), write its reply and clear it.
    fn unblock(&mut self, session: &mut Session, blocked: &Blocked, reply: &mut Vec<u8>) -> bool {
        match *blocked {
            Blocked::Wait {
                target,
                replicas,
                deadline,
            } => {
                let acked = self.replicas_holding(target);
                let timed_out = deadline.is_some_and(|d| self.now.instant >= d);
                if acked < replicas && !timed_out && self.status.role == Role::Master {
                    return false;
                }
                resp::write_int(reply, acked as i64);
            }
            Blocked::Commit {
                offset,
                write,
                since,
            } => {
                if self.status.role != Role::Master {
                    let error = if write {
                        commands::ERR_UNKNOWN_OUTCOME
                    } else {
                        commands::ERR_NOT_MASTER_READ
                    };
                    session.held_reply.clear();
                    resp::write_error(&mut session.held_reply, error);
                } else if !self.commit_reached(offset, write) || !self.reign_confirmed_since(since)
                {
                    return false;
                }
                reply.extend_from_slice(&session.held_reply);
                session.held_reply.clear();
            }
        }
        session.blocked = None;
        true
    }

    /// Whether a held reply at `offset` may go: a majority holds it durably.
    fn commit_reached(&self, offset: Offset, write: bool) -> bool {
        self.status.commit >= offset || (write && self.planted_ack_before_quorum())
    }

    /// How many replicas durably hold `offset`.
    fn replicas_holding(&self, offset: Offset) -> usize {
        self.progress.values().filter(|p| p.acked >= offset).count()
    }
}
