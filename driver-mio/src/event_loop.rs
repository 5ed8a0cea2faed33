//! The event loop: one mio `Poll`, one thread, one node.
//!
//! Each pass:
//! 1. poll, with a timeout from the node's deadline, the everysec timer, peer reconnects
//!    and idle-client checks (capped at `POLL_TIMEOUT_MS_MAX` so a stop signal is seen);
//! 2. handle every event: accept, read each ready socket until it would block, and step
//!    the node on each read at once; execute each step's outputs in order before the next
//!    step (AOF appends go to the pass buffer, replies to connection buffers, barriers
//!    hit the disk at once);
//! 3. step on `Tick` if the node's deadline has passed; start peer reconnects;
//! 4. feed AOF and base streams one chunk each, while their peer link has room;
//! 5. end of pass: write the pass's AOF bytes with one write, fsync under `always`, then
//!    flush every connection that has output (group commit), reap finished connections
//!    and flush peer links.
//!
//! An error on a connection closes that connection only. A failed poll or a failed disk
//! operation is returned and ends the process.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bucket_core::settings::DaemonSettings;
use bucket_core::{ConnectionId, Input, Node, NodeId, Now, Output};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use crate::config::ServerConfig;
use crate::connection::{Connection, State};
use crate::files::DataDir;
use crate::peers::{self, PeerEvent, PeerToken, Peers};
use crate::{log_debug, log_info, log_warn, signals};

mod streams;
use streams::Stream;

pub const LISTENER: Token = Token(usize::MAX - 1);
/// The fsync thread wakes the loop with this token when an fsync ends.
pub const WAKER: Token = Token(usize::MAX);
/// The loop wakes at least this often, to notice a stop signal and idle clients.
pub const POLL_TIMEOUT_MS_MAX: u64 = 100;
/// One read from a client socket; reused across reads.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// One chunk of the AOF or the base handed to the node as `AofRead` or `BaseRead`.
pub const AOF_CHUNK_BYTES: usize = 64 * 1024;
pub const EVENTS_CAPACITY: usize = 1024;
/// How much one pass reads from one client. A client that pipes a burst faster than
/// the loop serves it (`redis-cli --pipe`) would otherwise be read for as long as it
/// writes: one pass would gather the whole burst's AOF bytes and replies in memory,
/// and every other client, heartbeat and fsync would wait for it.
const CLIENT_READ_BYTES_PER_PASS: usize = 16 * READ_BUFFER_BYTES;
/// How often idle clients are looked for, when `timeout` is set.
const IDLE_CHECK_INTERVAL_MS: u64 = 1_000;
const MAXCLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

const _: () = assert!(LISTENER.0 > peers::CLUSTER_LISTENER.0);
const _: () = assert!(WAKER.0 > LISTENER.0);
const _: () = assert!(READ_BUFFER_BYTES >= 16 * 1024);

/// Monotonic milliseconds since the process started, and the wall clock.
struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    fn now(&self) -> Now {
        let instant_ms = self.origin.elapsed().as_millis() as u64;
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Now::new(instant_ms, unix_ms)
    }
}

/// Inputs produced while executing outputs; stepped once the current outputs are done.
#[derive(Clone, Copy, Debug)]
enum Deferred {
    ClientClosed(ConnectionId),
    Peer(PeerEvent),
}

/// Everything outputs act on, apart from the node.
struct Io {
    registry: Registry,
    files: DataDir,
    clients: Slab<Connection>,
    listener: Option<TcpListener>,
    /// Connections with output, or a state change, to look at the end of the pass.
    touched: Vec<usize>,
    /// Clients whose read stopped at the per-pass budget with bytes still in the
    /// socket: edge-triggered readiness will not report them again, so the next pass
    /// reads them first.
    clients_unread: Vec<usize>,
    /// The previous pass's `touched`, kept for its capacity.
    touched_spare: Vec<usize>,
    peers: Peers,
    peer_events: Vec<PeerEvent>,
    streams: Vec<Stream>,
    deferred: VecDeque<Deferred>,
    now: Now,
    client_output_buffer_limit_bytes: usize,
}

pub struct Server {
    node: Node,
    outputs: Vec<Output>,
    read_buf: Vec<u8>,
    chunk_buf: Vec<u8>,
    poll: Poll,
    clock: Clock,
    io: Io,
    maxclients: usize,
    client_idle_timeout_ms: u64,
    idle_check_at_ms: u64,
    memory: crate::memory::MemoryProbe,
}

/// Binds a listener on `addr` (`host:port`; the host may be a name).
pub fn bind(addr: &str) -> io::Result<TcpListener> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    let socket_addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| io::Error::other(format!("{addr} resolves to no address")))?;
    TcpListener::bind(socket_addr)
}

impl Server {
    pub fn new(
        config: &ServerConfig,
        node: Node,
        files: DataDir,
        client_listener: TcpListener,
        cluster_listener: TcpListener,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let mut files = files;
        files.start_syncer(std::sync::Arc::new(mio::Waker::new(&registry, WAKER)?))?;
        // Only where replies wait for fsyncs: elsewhere zeroing ahead gains nothing, and
        // its flushes compete with the appends (a write into a page under writeback
        // waits for it).
        let fsync_bound = config.core.write_quorum == bucket_core::WriteQuorum::Majority
            || config.appendfsync == crate::config::AppendFsync::Always;
        if fsync_bound {
            files.start_preallocating()?;
        }
        let mut listener = client_listener;
        registry.register(&mut listener, LISTENER, Interest::READABLE)?;
        let peers = Peers::new(config, cluster_listener, &registry)?;
        let io = Io {
            registry,
            files,
            clients: Slab::with_capacity(1024),
            listener: Some(listener),
            touched: Vec::with_capacity(1024),
            clients_unread: Vec::new(),
            touched_spare: Vec::with_capacity(1024),
            peers,
            peer_events: Vec::new(),
            streams: Vec::new(),
            deferred: VecDeque::new(),
            now: Now::default(),
            client_output_buffer_limit_bytes: config.client_output_buffer_limit_bytes,
        };
        Ok(Server {
            node,
            outputs: Vec::with_capacity(256),
            read_buf: vec![0; READ_BUFFER_BYTES],
            chunk_buf: vec![0; AOF_CHUNK_BYTES],
            poll,
            clock: Clock {
                origin: std::time::Instant::now(),
            },
            io,
            maxclients: config.maxclients,
            client_idle_timeout_ms: config.client_idle_timeout_s.saturating_mul(1000),
            idle_check_at_ms: 0,
            memory: crate::memory::MemoryProbe::default(),
        })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Runs until SIGTERM or SIGINT (then returns `Ok`) or a fatal error.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        self.io.now = self.clock.now();
        loop {
            if signals::stop_requested() {
                return self.shutdown();
            }
            let timeout = self.poll_timeout();
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.io.now = self.clock.now();
            self.report_memory()?;
            for key in self.io.peers.take_unread() {
                self.read_peer(key)?;
            }
            for key in mem::take(&mut self.io.clients_unread) {
                self.read_client(key, false)?;
            }
            for event in events.iter() {
                self.on_event(event)?;
            }
            self.report_durable()?;
            self.on_timers()?;
            self.advance_streams()?;
            self.end_pass()?;
        }
    }

    fn now_ms(&self) -> u64 {
        self.io.now.instant.0
    }

    fn poll_timeout(&self) -> Duration {
        let now_ms = self.now_ms();
        let busy = !self.io.touched.is_empty()
            || !self.io.deferred.is_empty()
            || self.io.files.has_pending()
            || self.io.peers.has_unread()
            || !self.io.clients_unread.is_empty()
            || self.streams_ready();
        if busy {
            return Duration::ZERO;
        }
        let mut deadline_ms = now_ms + POLL_TIMEOUT_MS_MAX;
        deadline_ms = deadline_ms.min(self.node.deadline().0);
        deadline_ms = deadline_ms.min(self.io.files.sync_deadline_ms().unwrap_or(u64::MAX));
        deadline_ms = deadline_ms.min(self.io.peers.deadline_ms().unwrap_or(u64::MAX));
        if self.client_idle_timeout_ms > 0 {
            deadline_ms = deadline_ms.min(self.idle_check_at_ms);
        }
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    }

    fn on_event(&mut self, event: &Event) -> io::Result<()> {
        match event.token() {
            LISTENER => self.accept_clients(),
            WAKER => Ok(()), // An fsync ended: `report_durable` reads it each pass.
            peers::CLUSTER_LISTENER => {
                let now_ms = self.now_ms();
                self.io.peers.accept(now_ms, &self.io.registry)
            }
            token if token.0 < peers::CLIENT_TOKEN_END => {
                if event.is_writable() {
                    // Flushed at the end of the pass, after the AOF write and fsync: a
                    // reply from this pass must not leave before its write is durable.
                    self.io.touch(token.0);
                }
                if event.is_readable() {
                    // A peer that closed must be read to the end, to see the EOF.
                    let closed = event.is_read_closed() || event.is_error();
                    self.read_client(token.0, closed)?;
                }
                Ok(())
            }
            token => self.on_peer_event(token),
        }
    }

    fn on_peer_event(&mut self, token: Token) -> io::Result<()> {
        let now_ms = self.now_ms();
        match peers::classify(token) {
            Some(PeerToken::Outbound(peer)) => {
                let io = &mut self.io;
                io.peers
                    .on_outbound_event(peer, now_ms, &io.registry, &mut io.peer_events);
                self.step_deferred()
            }
            Some(PeerToken::Inbound(key)) => self.read_peer(key),
            None => Ok(()),
        }
    }

    /// Steps the node on one input and executes its outputs, then any inputs that the
    /// execution produced (a connection over its limit, a link that broke).
    /// Tell the node what the allocator holds, when a report is due: before the pass's
    /// requests, so that `maxmemory` is judged on a fresh figure.
    fn report_memory(&mut self) -> io::Result<()> {
        let limited = self.node.maxmemory().bytes != 0;
        match self.memory.read_if_due(self.now_ms(), limited) {
            Some((allocated, resident)) => self.step(Input::MemoryUsed {
                allocated,
                resident,
            }),
            None => Ok(()),
        }
    }

    fn step(&mut self, input: Input<'_>) -> io::Result<()> {
        self.node.step(self.io.now, input, &mut self.outputs);
        self.execute_outputs()?;
        self.step_deferred()
    }

    fn execute_outputs(&mut self) -> io::Result<()> {
        let mut outputs = std::mem::take(&mut self.outputs);
        for output in outputs.drain(..) {
            match output {
                Output::ApplySettings(settings) => self.apply_settings(&settings)?,
                output => self.io.execute(output)?,
            }
        }
        self.outputs = outputs;
        Ok(())
    }

    /// A `CONFIG SET` changed the daemon's settings: they hold from this pass on.
    fn apply_settings(&mut self, settings: &DaemonSettings) -> io::Result<()> {
        self.maxclients = usize::try_from(settings.maxclients).unwrap_or(usize::MAX);
        self.client_idle_timeout_ms = settings.timeout_s.saturating_mul(1000);
        crate::log::set_level(settings.loglevel);
        self.io.files.set_policy(settings.appendfsync)?;
        log_info!(
            "CONFIG SET: timeout {}s, maxclients {}, loglevel {:?}, appendfsync {}",
            settings.timeout_s,
            settings.maxclients,
            settings.loglevel,
            settings.appendfsync.name()
        );
        Ok(())
    }

    fn step_deferred(&mut self) -> io::Result<()> {
        self.io.take_peer_events();
        while let Some(deferred) = self.io.deferred.pop_front() {
            let input = match deferred {
                Deferred::ClientClosed(conn) => Input::ClientClosed { conn },
                Deferred::Peer(PeerEvent::LinkUp(peer)) => Input::PeerLinkUp { peer },
                Deferred::Peer(PeerEvent::LinkDown(peer)) => Input::PeerLinkDown { peer },
            };
            self.node.step(self.io.now, input, &mut self.outputs);
            self.execute_outputs()?;
            self.io.take_peer_events();
        }
        Ok(())
    }

    fn accept_clients(&mut self) -> io::Result<()> {
        loop {
            let Some(listener) = &self.io.listener else {
                return Ok(());
            };
            let (stream, addr) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors and the like: the listener stays, the loop goes on.
                    log_warn!("accept on the client port: {e}");
                    return Ok(());
                }
            };
            self.add_client(stream, addr)?;
        }
    }

    fn add_client(&mut self, mut stream: TcpStream, addr: SocketAddr) -> io::Result<()> {
        if self.io.clients.len() >= self.maxclients {
            log_warn!(
                "refusing client {addr}: maxclients ({}) reached",
                self.maxclients
            );
            let _ = std::io::Write::write(&mut stream, MAXCLIENTS_REPLY);
            return Ok(());
        }
        let now_ms = self.now_ms();
        let entry = self.io.clients.vacant_entry();
        let key = entry.key();
        debug_assert!(
            key < peers::CLIENT_TOKEN_END,
            "maxclients keeps keys far below peers'"
        );
        if let Err(e) = self
            .io
            .registry
            .register(&mut stream, Token(key), Interest::READABLE)
        {
            log_warn!("register client {addr}: {e}");
            return Ok(());
        }
        let _ = stream.set_nodelay(true);
        // Never fails on an accepted socket; an unspecified address if it did.
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        entry.insert(Connection::new(stream, now_ms));
        log_debug!("client {key} connected from {addr}");
        self.step(Input::ClientConnected {
            conn: ConnectionId(key as u64),
            addrs: bucket_core::ClientAddrs { peer: addr, local },
        })
    }

    fn read_client(&mut self, key: usize, read_to_end: bool) -> io::Result<()> {
        let mut buf = mem::take(&mut self.read_buf);
        let result = self.read_client_into(key, &mut buf, read_to_end);
        self.read_buf = buf;
        result
    }

    /// Reads until the socket is drained or the pass's budget is read, stepping the
    /// node on each read. A read that fills less than the buffer drained it (epoll(7),
    /// Q9: a stream socket hands over all it holds), and any later data raises a new
    /// edge, so the read that would only say `WouldBlock` is skipped: one syscall fewer
    /// per request at pipeline depth 1. Unless `read_to_end`: after the peer closed,
    /// reading on is how the EOF is seen.
    fn read_client_into(
        &mut self,
        key: usize,
        buf: &mut [u8],
        read_to_end: bool,
    ) -> io::Result<()> {
        let now_ms = self.now_ms();
        let mut read = 0;
        loop {
            let Some(conn) = self.io.clients.get_mut(key) else {
                return Ok(());
            };
            if !conn.is_reading() {
                return Ok(());
            }
            if read >= CLIENT_READ_BYTES_PER_PASS && !read_to_end {
                if !self.io.clients_unread.contains(&key) {
                    self.io.clients_unread.push(key);
                }
                return Ok(());
            }
            match conn.stream.read(buf) {
                Ok(0) => {
                    conn.on_eof();
                    self.io.touch(key);
                    return Ok(());
                }
                Ok(n) => {
                    read += n;
                    conn.last_active_ms = now_ms;
                    let conn = ConnectionId(key as u64);
                    self.step(Input::ClientData {
                        conn,
                        bytes: &buf[..n],
                    })?;
                    if n < buf.len() && !read_to_end {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log_debug!("client {key}: read: {e}");
                    conn.kill();
                    self.io.touch(key);
                    return Ok(());
                }
            }
        }
    }

    /// Reads an inbound peer link and steps the node on each whole frame.
    fn read_peer(&mut self, key: usize) -> io::Result<()> {
        if let peers::InboundRead::Closed = self.io.peers.read_inbound(key, &self.io.registry) {
            return Ok(());
        }
        let Some((peer, buf)) = self.io.peers.take_inbound(key) else {
            return Ok(());
        };
        let frame_bytes_max = self.io.peers.frame_bytes_max();
        let mut used = 0;
        let mut result = Ok(());
        let mut broken = None;
        loop {
            let (range, len) = match crate::peer_codec::decode_frame(&buf[used..], frame_bytes_max)
            {
                Ok(Some(whole)) => whole,
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            };
            let frame = &buf[used + range.start..used + range.end];
            result = self.step(Input::PeerMessage { peer, frame });
            used += len;
            if result.is_err() {
                break;
            }
        }
        self.io.peers.restore_inbound(key, buf, used);
        if let Some(e) = broken {
            // A peer speaking nonsense loses its link, nothing else.
            let name = self.io.peers.name(peer);
            log_warn!("cluster link from node {name}: {}; dropping it", e.0);
            self.io.peers.drop_inbound(key, &self.io.registry);
        }
        result
    }

    fn on_timers(&mut self) -> io::Result<()> {
        let now_ms = self.now_ms();
        if self.node.deadline() <= self.io.now.instant {
            self.step(Input::Tick)?;
        }
        self.io.peers.on_timers(now_ms, &self.io.registry);
        if self.client_idle_timeout_ms > 0 && now_ms >= self.idle_check_at_ms {
            self.idle_check_at_ms = now_ms + IDLE_CHECK_INTERVAL_MS;
            let node = &self.node;
            let blocked = |key: usize| node.is_blocked(ConnectionId(key as u64));
            self.io
                .close_idle_clients(now_ms, self.client_idle_timeout_ms, blocked);
        }
        self.io.files.check_background()
    }

    /// The fsync thread finished: tell the node, whose acks and commits it releases go
    /// out with this pass.
    fn report_durable(&mut self) -> io::Result<()> {
        match self.io.files.take_durable()? {
            Some(offset) => self.step(Input::AofDurable { offset }),
            None => Ok(()),
        }
    }

    /// One AOF write and the policy's fsync, then replies and peer frames go out.
    fn end_pass(&mut self) -> io::Result<()> {
        let now_ms = self.now_ms();
        if let Some(offset) = self.io.files.end_pass(now_ms)? {
            // What waited for this fsync (acks, majority commits) is released now, and
            // goes out with the rest of the pass.
            self.step(Input::AofDurable { offset })?;
        }
        self.io.flush_touched();
        let io = &mut self.io;
        io.peers
            .flush_all(now_ms, &io.registry, &mut io.peer_events);
        self.step_deferred()
    }

    /// Stop accepting, write and fsync the AOF, flush what replies can go, return.
    fn shutdown(&mut self) -> io::Result<()> {
        log_info!("stop signal received: shutting down");
        if let Some(mut listener) = self.io.listener.take() {
            let _ = self.io.registry.deregister(&mut listener);
        }
        self.io.peers.close_listener(&self.io.registry);
        self.io.files.sync_now()?;
        self.io.flush_touched();
        log_info!("AOF synced at offset {}; bye", self.io.files.aof_end().0);
        Ok(())
    }
}

impl Io {
    fn execute(&mut self, output: Output) -> io::Result<()> {
        match output {
            Output::AppendAof { offset, bytes } => self.files.append(offset, &bytes),
            Output::TruncateAof { offset } => self.files.truncate(offset)?,
            Output::SyncAof => self.files.request_sync(),
            Output::PersistMeta { bytes } => self.files.persist_meta(&bytes)?,
            Output::Reply { conn, bytes } => self.reply(conn, bytes),
            Output::Close { conn } => self.close_client(conn),
            Output::Send { peer, frame } => {
                let now_ms = self.now.instant.0;
                self.peers
                    .send(peer, &frame, now_ms, &self.registry, &mut self.peer_events);
            }
            // The node logged what the peer did wrong just before.
            Output::ResetPeer { peer } => {
                self.reset_peer(peer, "the node refused the peer's input")
            }
            Output::StreamAof {
                peer,
                session,
                start,
                end,
            } => self.start_aof_stream(peer, session, start, end),
            Output::BeginBase { offset, kind } => self.files.begin_base(offset, kind)?,
            Output::WriteBase { bytes } => self.files.write_base(&bytes)?,
            Output::FinishBase => self.files.finish_base()?,
            Output::AbandonBase => self.files.abandon_base()?,
            Output::StreamBase { peer, session } => self.start_base_stream(peer, session)?,
            Output::Log { level, message } => crate::log::write(level, format_args!("{message}")),
            Output::ApplySettings(_) => unreachable!("Server::execute_outputs applies settings"),
        }
        Ok(())
    }

    fn take_peer_events(&mut self) {
        for event in self.peer_events.drain(..) {
            self.deferred.push_back(Deferred::Peer(event));
        }
    }

    fn touch(&mut self, key: usize) {
        if let Some(conn) = self.clients.get_mut(key) {
            if !conn.touched {
                conn.touched = true;
                self.touched.push(key);
            }
        }
    }

    fn reply(&mut self, conn: ConnectionId, bytes: Vec<u8>) {
        let key = conn.0 as usize;
        let limit = self.client_output_buffer_limit_bytes;
        let Some(connection) = self.clients.get_mut(key) else {
            return;
        };
        // A reply is interaction, as in Redis: a client unblocked by this very step
        // (its `WAIT` ran out) is not idle, and its answer is not dropped.
        connection.last_active_ms = self.now.instant.0;
        connection.queue(bytes);
        if connection.pending_bytes() > limit {
            log_warn!(
                "client {key} closed: {} bytes of replies buffered, over clientOutputBufferLimitBytes ({limit})",
                connection.pending_bytes()
            );
            connection.kill();
        }
        self.touch(key);
    }

    fn close_client(&mut self, conn: ConnectionId) {
        let key = conn.0 as usize;
        if let Some(connection) = self.clients.get_mut(key) {
            connection.close_after_flush();
            self.touch(key);
        }
    }

    fn reset_peer(&mut self, peer: NodeId, why: &str) {
        let now_ms = self.now.instant.0;
        self.peers
            .reset(peer, why, now_ms, &self.registry, &mut self.peer_events);
        self.streams
            .iter_mut()
            .filter(|s| s.peer == peer)
            .for_each(|s| s.finished = true);
    }

    /// Flushes every touched connection; reaps the finished ones, queueing their
    /// `ClientClosed` for the node.
    fn flush_touched(&mut self) {
        let mut touched = mem::replace(&mut self.touched, mem::take(&mut self.touched_spare));
        for &key in &touched {
            let Some(conn) = self.clients.get_mut(key) else {
                continue;
            };
            conn.touched = false;
            if conn.state() != State::Dead {
                if let Err(e) = conn.flush() {
                    log_debug!("client {key}: write: {e}");
                    conn.kill();
                }
            }
            let updated = if conn.is_finished() {
                Err(())
            } else {
                conn.update_interest(&self.registry, Token(key))
                    .map_err(|_| ())
            };
            if updated.is_err() {
                let mut conn = self.clients.remove(key);
                let _ = self.registry.deregister(&mut conn.stream);
                log_debug!("client {key} closed");
                self.deferred
                    .push_back(Deferred::ClientClosed(ConnectionId(key as u64)));
            }
        }
        touched.clear();
        self.touched_spare = touched;
    }

    /// Close clients silent for longer than `idle_ms_max`, except those the node holds
    /// blocked (a `WAIT` may outlast the idle timeout, as in Redis).
    fn close_idle_clients(
        &mut self,
        now_ms: u64,
        idle_ms_max: u64,
        blocked: impl Fn(usize) -> bool,
    ) {
        let idle: Vec<usize> = self
            .clients
            .iter()
            .filter(|&(key, c)| {
                c.is_reading()
                    && now_ms.saturating_sub(c.last_active_ms) > idle_ms_max
                    && !blocked(key)
            })
            .map(|(key, _)| key)
            .collect();
        for key in idle {
            log_debug!(
                "client {key} closed: idle for more than {} s",
                idle_ms_max / 1000
            );
            self.clients[key].kill();
            self.touch(key);
        }
    }
}
