//! Cluster links, as in the seed: each node keeps an outbound connection to every other
//! node (it sends on it) and accepts their inbound ones (it receives on them).
//!
//! - Outbound links reconnect with exponential backoff, `PEER_BACKOFF_MS_MIN` doubling to
//!   `PEER_BACKOFF_MS_MAX`, reset after a successful connect. A connect that takes longer
//!   than `PEER_CONNECT_TIMEOUT_MS` counts as failed.
//! - When an outbound connect completes, the hello is queued first and the link is
//!   reported up; when it fails or is reset it is reported down (only if it was up).
//! - An inbound link must start with a hello naming a member whose cluster address
//!   matches ours for that id, and the cluster secret; otherwise it is dropped. After the
//!   hello, every frame is handed to the node as `PeerMessage` from that member. An
//!   inbound link that ends is not reported: the core learns of trouble through its own
//!   outbound link and timers.
//! - The output buffer of a link is bounded by `replicaOutputBufferLimitBytes`: past it
//!   the link is reset, as Redis disconnects a replica over its limit.
//!
//! Frames are opaque bytes; the wire format lives in `peer_codec`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};

use bucket_core::{Member, NodeId};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::peer_codec::{self, Hello};
use crate::{log_debug, log_info, log_warn};

pub const PEER_BACKOFF_MS_MIN: u64 = 50;
pub const PEER_BACKOFF_MS_MAX: u64 = 2_000;
pub const PEER_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// AOF streaming reads another chunk only while the link buffers less than this.
pub const PEER_STREAM_BUFFER_BYTES_MAX: usize = 1024 * 1024;
/// Inbound links before a hello, and links from one member, are few; this bounds them.
pub const PEER_INBOUND_LINKS_MAX: usize = 1024;
/// An inbound link must complete its hello within this, or it is dropped: members send
/// the hello at once, and a silent stranger must not hold one of the few inbound slots.
pub const PEER_HELLO_TIMEOUT_MS: u64 = 2_000;

pub const CLUSTER_LISTENER: Token = Token(usize::MAX - 2);
/// Outbound link to member `i` is `Token(OUTBOUND_TOKEN_BASE + i)`.
const OUTBOUND_TOKEN_BASE: usize = 1 << 62;
/// Inbound link with slab key `k` is `Token(INBOUND_TOKEN_BASE + k)`.
const INBOUND_TOKEN_BASE: usize = 1 << 61;
/// Client tokens are slab keys below this.
pub const CLIENT_TOKEN_END: usize = INBOUND_TOKEN_BASE;

const _: () = assert!(PEER_BACKOFF_MS_MIN < PEER_BACKOFF_MS_MAX);
const _: () = assert!(INBOUND_TOKEN_BASE + PEER_INBOUND_LINKS_MAX <= OUTBOUND_TOKEN_BASE);

/// What the peer layer tells the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    LinkUp(NodeId),
    LinkDown(NodeId),
}

pub enum PeerToken {
    Outbound(NodeId),
    Inbound(usize),
}

pub fn classify(token: Token) -> Option<PeerToken> {
    match token.0 {
        t if (OUTBOUND_TOKEN_BASE..CLUSTER_LISTENER.0).contains(&t) => Some(PeerToken::Outbound(
            NodeId((t - OUTBOUND_TOKEN_BASE) as u32),
        )),
        t if (INBOUND_TOKEN_BASE..OUTBOUND_TOKEN_BASE).contains(&t) => {
            Some(PeerToken::Inbound(t - INBOUND_TOKEN_BASE))
        }
        _ => None,
    }
}

fn outbound_token(peer: NodeId) -> Token {
    Token(OUTBOUND_TOKEN_BASE + peer.0 as usize)
}

enum LinkState {
    /// This node's own slot in the member table.
    Myself,
    Idle {
        retry_at_ms: u64,
    },
    Connecting {
        stream: TcpStream,
        started_ms: u64,
    },
    Up {
        stream: TcpStream,
        registered: Interest,
    },
}

struct Outbound {
    cluster_addr: String,
    state: LinkState,
    backoff_ms: u64,
    out: Vec<u8>,
    out_pos: usize,
}

impl Outbound {
    fn pending_bytes(&self) -> usize {
        self.out.len() - self.out_pos
    }
}

struct Inbound {
    stream: TcpStream,
    /// Where the link comes from, for log lines about it.
    addr: SocketAddr,
    accepted_ms: u64,
    buf: Vec<u8>,
    peer: Option<NodeId>,
}

/// The result of reading an inbound link.
pub enum InboundRead {
    /// The link is fine; its buffer may hold frames.
    Open,
    /// The link ended or broke; it has been removed.
    Closed,
}

pub struct Peers {
    self_id: NodeId,
    members: Vec<Member>,
    secret: String,
    admission: crate::peer_admission::Admission,
    hello: Vec<u8>,
    outbound: Vec<Outbound>,
    inbound: Slab<Inbound>,
    listener: Option<TcpListener>,
    out_buffer_bytes_max: usize,
    frame_bytes_max: usize,
    /// Inbound links whose read stopped at the per-pass budget with bytes still in the
    /// socket: edge-triggered readiness will not report them again, so the loop reads
    /// them on its next pass.
    unread: Vec<usize>,
}

/// How much one pass reads from one inbound link. A replica that lags its master finds
/// megabytes waiting; reading (and applying) them all in one pass would hold up its acks
/// for that long, and the master's CheckQuorum would count it as gone.
const INBOUND_READ_BYTES_PER_PASS: usize = 1 << 20;

impl Peers {
    pub fn new(
        config: &crate::config::ServerConfig,
        listener: TcpListener,
        registry: &Registry,
    ) -> io::Result<Peers> {
        let mut listener = listener;
        registry.register(&mut listener, CLUSTER_LISTENER, Interest::READABLE)?;
        let core = &config.core;
        let self_member = config.self_member();
        let secret = config.cluster_secret.clone().unwrap_or_default();
        let mut hello = Vec::new();
        peer_codec::encode_hello(
            &Hello {
                cluster_addr: self_member.cluster_addr.clone(),
                client_addr: self_member.client_addr.clone(),
                secret: secret.clone(),
            },
            &mut hello,
        );
        let outbound = core.members.iter().enumerate().map(|(i, member)| Outbound {
            cluster_addr: member.cluster_addr.clone(),
            state: if i == core.self_id.0 as usize {
                LinkState::Myself
            } else {
                LinkState::Idle { retry_at_ms: 0 }
            },
            backoff_ms: PEER_BACKOFF_MS_MIN,
            out: Vec::new(),
            out_pos: 0,
        });
        let admission =
            crate::peer_admission::Admission::new(&core.members, config.cluster_secret.is_some());
        Ok(Peers {
            self_id: core.self_id,
            members: core.members.clone(),
            secret,
            admission,
            hello,
            outbound: outbound.collect(),
            inbound: Slab::new(),
            listener: Some(listener),
            out_buffer_bytes_max: config.replica_output_buffer_limit_bytes,
            frame_bytes_max: core.limits.peer_frame_bytes_max,
            unread: Vec::new(),
        })
    }

    /// Stops accepting inbound links (shutdown).
    pub fn close_listener(&mut self, registry: &Registry) {
        if let Some(mut listener) = self.listener.take() {
            let _ = registry.deregister(&mut listener);
        }
    }

    /// The earliest time a reconnect, a connect timeout or a hello timeout is due.
    pub fn deadline_ms(&self) -> Option<u64> {
        let outbound = self
            .outbound
            .iter()
            .filter_map(|link| match &link.state {
                LinkState::Idle { retry_at_ms } => Some(*retry_at_ms),
                LinkState::Connecting { started_ms, .. } => {
                    Some(started_ms + PEER_CONNECT_TIMEOUT_MS)
                }
                LinkState::Myself | LinkState::Up { .. } => None,
            })
            .min();
        let hello = self
            .inbound
            .iter()
            .filter(|(_, link)| link.peer.is_none())
            .map(|(_, link)| link.accepted_ms + PEER_HELLO_TIMEOUT_MS)
            .min();
        outbound.into_iter().chain(hello).min()
    }

    /// Starts due reconnects, gives up on connects that took too long, and drops
    /// inbound links that did not say hello in time.
    pub fn on_timers(&mut self, now_ms: u64, registry: &Registry) {
        for i in 0..self.outbound.len() {
            let peer = NodeId(i as u32);
            match &self.outbound[i].state {
                LinkState::Idle { retry_at_ms } if *retry_at_ms <= now_ms => {
                    self.connect(peer, now_ms, registry)
                }
                LinkState::Connecting { started_ms, .. }
                    if started_ms + PEER_CONNECT_TIMEOUT_MS <= now_ms =>
                {
                    log_debug!("connect to node {} timed out", self.name(peer));
                    self.fail_link(peer, now_ms, registry);
                }
                _ => {}
            }
        }
        self.drop_silent_inbound(now_ms, registry);
    }

    fn drop_silent_inbound(&mut self, now_ms: u64, registry: &Registry) {
        let silent: Vec<usize> = self
            .inbound
            .iter()
            .filter(|(_, link)| {
                link.peer.is_none() && link.accepted_ms + PEER_HELLO_TIMEOUT_MS <= now_ms
            })
            .map(|(key, _)| key)
            .collect();
        for key in silent {
            let mut link = self.inbound.remove(key);
            log_warn!(
                "refusing cluster link from {}: no hello within {PEER_HELLO_TIMEOUT_MS} ms",
                link.addr
            );
            let _ = registry.deregister(&mut link.stream);
        }
    }

    fn connect(&mut self, peer: NodeId, now_ms: u64, registry: &Registry) {
        let link = &mut self.outbound[peer.0 as usize];
        let started = resolve(&link.cluster_addr).and_then(|addr| {
            let mut stream = TcpStream::connect(addr)?;
            registry.register(&mut stream, outbound_token(peer), Interest::WRITABLE)?;
            Ok(stream)
        });
        match started {
            Ok(stream) => {
                link.state = LinkState::Connecting {
                    stream,
                    started_ms: now_ms,
                }
            }
            Err(e) => {
                log_debug!("connect to node {}: {e}", link.cluster_addr);
                self.fail_link(peer, now_ms, registry);
            }
        }
    }

    /// Drops the link's socket and schedules a reconnect. Returns whether it was up.
    fn fail_link(&mut self, peer: NodeId, now_ms: u64, registry: &Registry) -> bool {
        let link = &mut self.outbound[peer.0 as usize];
        let old = std::mem::replace(&mut link.state, LinkState::Idle { retry_at_ms: 0 });
        let was_up = match old {
            LinkState::Connecting { mut stream, .. } => {
                let _ = registry.deregister(&mut stream);
                false
            }
            LinkState::Up { mut stream, .. } => {
                let _ = registry.deregister(&mut stream);
                link.backoff_ms = PEER_BACKOFF_MS_MIN;
                true
            }
            LinkState::Idle { .. } | LinkState::Myself => false,
        };
        link.state = LinkState::Idle {
            retry_at_ms: now_ms + link.backoff_ms,
        };
        link.backoff_ms = (link.backoff_ms * 2).min(PEER_BACKOFF_MS_MAX);
        link.out.clear();
        link.out_pos = 0;
        was_up
    }

    /// `Output::ResetPeer`, or any failure of an up link; `why` goes in the log line.
    /// How log lines name a member: by its cluster address, as the core's lines do
    /// (`ClusterStatus::node_name`).
    pub fn name(&self, peer: NodeId) -> &str {
        &self.members[peer.0 as usize].cluster_addr
    }

    /// This node's own id: its `StreamAof` reads of its own file carry it.
    pub fn self_id(&self) -> NodeId {
        self.self_id
    }

    pub fn reset(
        &mut self,
        peer: NodeId,
        why: &str,
        now_ms: u64,
        registry: &Registry,
        events: &mut Vec<PeerEvent>,
    ) {
        if peer == self.self_id || peer.0 as usize >= self.outbound.len() {
            return;
        }
        if self.fail_link(peer, now_ms, registry) {
            log_info!("link to node {} is down: {why}", self.name(peer));
            events.push(PeerEvent::LinkDown(peer));
        }
    }

    /// A readiness event on an outbound link.
    pub fn on_outbound_event(
        &mut self,
        peer: NodeId,
        now_ms: u64,
        registry: &Registry,
        events: &mut Vec<PeerEvent>,
    ) {
        let Some(link) = self.outbound.get_mut(peer.0 as usize) else {
            return;
        };
        match &mut link.state {
            LinkState::Connecting { stream, .. } => match connect_result(stream) {
                Ok(true) => self.link_up(peer, events),
                Ok(false) => {}
                Err(e) => {
                    log_debug!("connect to node {}: {e}", self.name(peer));
                    self.fail_link(peer, now_ms, registry);
                }
            },
            LinkState::Up { stream, .. } => {
                // Peers never send on our outbound link: drain it to see EOF or errors.
                if let Err(e) = drain(stream) {
                    let why = match e.kind() {
                        io::ErrorKind::UnexpectedEof => "the peer closed it".to_string(),
                        _ => format!("read failed ({e})"),
                    };
                    self.reset(peer, &why, now_ms, registry, events);
                }
            }
            LinkState::Idle { .. } | LinkState::Myself => {}
        }
    }

    fn link_up(&mut self, peer: NodeId, events: &mut Vec<PeerEvent>) {
        let link = &mut self.outbound[peer.0 as usize];
        let LinkState::Connecting { stream, .. } =
            std::mem::replace(&mut link.state, LinkState::Idle { retry_at_ms: 0 })
        else {
            unreachable!("link_up is called on connecting links only")
        };
        // The interest is fixed up by the flush at the end of the pass.
        link.state = LinkState::Up {
            stream,
            registered: Interest::WRITABLE,
        };
        link.out.clear();
        link.out_pos = 0;
        link.out.extend_from_slice(&self.hello);
        log_info!("link to node {} is up", link.cluster_addr);
        events.push(PeerEvent::LinkUp(peer));
    }

    /// Queues a frame on the outbound link; dropped if the link is not up.
    pub fn send(
        &mut self,
        peer: NodeId,
        frame: &[u8],
        now_ms: u64,
        registry: &Registry,
        events: &mut Vec<PeerEvent>,
    ) {
        let Some(link) = self.outbound.get_mut(peer.0 as usize) else {
            return;
        };
        if !matches!(link.state, LinkState::Up { .. }) {
            return;
        }
        peer_codec::encode_frame(frame, &mut link.out);
        if link.pending_bytes() > self.out_buffer_bytes_max {
            let why = format!(
                "it buffered {} bytes, over replicaOutputBufferLimitBytes",
                link.pending_bytes()
            );
            self.reset(peer, &why, now_ms, registry, events);
        }
    }

    /// Whether a stream to `peer` may read another AOF chunk now, and whether it can ever.
    /// A stream to this node itself (a replica rebuilding its keyspace after cutting a
    /// diverged suffix) goes through no link: it always has room.
    pub fn stream_room(&self, peer: NodeId) -> StreamRoom {
        match self
            .outbound
            .get(peer.0 as usize)
            .map(|l| (&l.state, l.pending_bytes()))
        {
            Some((LinkState::Up { .. }, pending)) if pending < PEER_STREAM_BUFFER_BYTES_MAX => {
                StreamRoom::Ready
            }
            Some((LinkState::Up { .. }, _)) => StreamRoom::Full,
            Some((LinkState::Myself, _)) => StreamRoom::Ready,
            _ => StreamRoom::LinkDown,
        }
    }

    /// Writes every up link's buffer until it is empty or would block.
    pub fn flush_all(&mut self, now_ms: u64, registry: &Registry, events: &mut Vec<PeerEvent>) {
        for i in 0..self.outbound.len() {
            let peer = NodeId(i as u32);
            let link = &mut self.outbound[i];
            let LinkState::Up { stream, registered } = &mut link.state else {
                continue;
            };
            let written = flush(stream, &link.out, &mut link.out_pos);
            if link.out_pos == link.out.len() {
                link.out.clear();
                link.out_pos = 0;
            }
            let interest = if link.out.is_empty() {
                Interest::READABLE
            } else {
                Interest::READABLE | Interest::WRITABLE
            };
            let registered_now = match written {
                Ok(()) if interest == *registered => Ok(()),
                Ok(()) => registry.reregister(stream, outbound_token(peer), interest),
                Err(e) => Err(e),
            };
            match registered_now {
                Ok(()) => *registered = interest,
                Err(e) => {
                    let why = format!("write failed ({e})");
                    self.reset(peer, &why, now_ms, registry, events);
                }
            }
        }
    }

    /// Accepts inbound links until the listener would block.
    pub fn accept(&mut self, now_ms: u64, registry: &Registry) -> io::Result<()> {
        loop {
            let Some(listener) = &self.listener else {
                return Ok(());
            };
            let (mut stream, addr) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log_warn!("accept on the cluster port: {e}");
                    return Ok(());
                }
            };
            if !self.admission.admits(addr.ip(), now_ms) {
                log_warn!(
                    "refusing cluster link from {addr}: not the address of a cluster node, and no clusterSecret is set"
                );
                continue;
            }
            if self.inbound.len() >= PEER_INBOUND_LINKS_MAX {
                log_warn!("refusing cluster link from {addr}: too many inbound links");
                continue;
            }
            let entry = self.inbound.vacant_entry();
            let token = Token(INBOUND_TOKEN_BASE + entry.key());
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                log_warn!("register cluster link from {addr}: {e}");
                continue;
            }
            let _ = stream.set_nodelay(true);
            log_debug!("cluster link accepted from {addr}");
            entry.insert(Inbound {
                stream,
                addr,
                accepted_ms: now_ms,
                buf: Vec::with_capacity(16 * 1024),
                peer: None,
            });
        }
    }

    /// Reads an inbound link until it would block, and checks its hello.
    pub fn read_inbound(&mut self, key: usize, registry: &Registry) -> InboundRead {
        let Some(link) = self.inbound.get_mut(key) else {
            return InboundRead::Closed;
        };
        let filled = fill(&mut link.stream, &mut link.buf, self.frame_bytes_max);
        match (self.check_hello(key), filled) {
            (Ok(()), Ok(Filled::Drained)) => return InboundRead::Open,
            (Ok(()), Ok(Filled::Budget)) => {
                if !self.unread.contains(&key) {
                    self.unread.push(key);
                }
                return InboundRead::Open;
            }
            (Err(e), _) => {
                // A link that never said a proper hello: a stranger, a misconfigured
                // node, or garbage. Worth a warning, with where it came from.
                let addr = self.inbound[key].addr;
                log_warn!("refusing cluster link from {addr}: {e}");
            }
            (Ok(()), Err(e)) => log_debug!("cluster link {key} closed: {e}"),
        }
        let mut link = self.inbound.remove(key);
        let _ = registry.deregister(&mut link.stream);
        InboundRead::Closed
    }

    fn check_hello(&mut self, key: usize) -> io::Result<()> {
        let link = &mut self.inbound[key];
        if link.peer.is_some() {
            return Ok(());
        }
        let decoded = peer_codec::decode_hello(&link.buf, self.frame_bytes_max)
            .map_err(|e| io::Error::other(format!("no valid hello: {}", e.0)))?;
        let Some((hello, _)) = decoded else {
            return Ok(());
        };
        let member = self
            .members
            .iter()
            .position(|m| m.cluster_addr == hello.cluster_addr);
        let Some(member) = member.filter(|&i| i != self.self_id.0 as usize) else {
            return Err(io::Error::other(format!(
                "its hello names {}, not a member (every node must list the same addresses)",
                hello.cluster_addr
            )));
        };
        let secret_ok = bucket_core::commands::server::constant_time_eq(
            hello.secret.as_bytes(),
            self.secret.as_bytes(),
        );
        if !secret_ok {
            return Err(io::Error::other(format!(
                "its hello names {} but has the wrong cluster secret",
                hello.cluster_addr
            )));
        }
        log_info!("cluster link from node {} accepted", hello.cluster_addr);
        // The hello stays in the buffer: the node reads it as its first frame and
        // learns the member's client address from it.
        link.peer = Some(NodeId(member as u32));
        Ok(())
    }

    /// Lends out an inbound link's buffer and its member, once the hello is in.
    pub fn take_inbound(&mut self, key: usize) -> Option<(NodeId, Vec<u8>)> {
        let link = self.inbound.get_mut(key)?;
        let peer = link.peer?;
        Some((peer, std::mem::take(&mut link.buf)))
    }

    /// Gives a lent buffer back, without the `used` bytes at its head.
    pub fn restore_inbound(&mut self, key: usize, mut buf: Vec<u8>, used: usize) {
        buf.drain(..used);
        if let Some(link) = self.inbound.get_mut(key) {
            link.buf = buf;
        }
    }

    /// Close an inbound link (its peer broke the protocol).
    pub fn drop_inbound(&mut self, key: usize, registry: &Registry) {
        if self.inbound.contains(key) {
            let mut link = self.inbound.remove(key);
            let _ = registry.deregister(&mut link.stream);
        }
    }

    pub fn frame_bytes_max(&self) -> usize {
        self.frame_bytes_max
    }

    /// The inbound links left with unread bytes last pass, to read again now.
    pub fn take_unread(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.unread)
    }

    pub fn has_unread(&self) -> bool {
        !self.unread.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamRoom {
    Ready,
    Full,
    LinkDown,
}

/// Resolves a cluster address, preferring IPv4 as the listeners do (`localhost` binds
/// 127.0.0.1). Runs on the loop thread: fine for `/etc/hosts` names and literals.
fn resolve(addr: &str) -> io::Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    let preferred = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first());
    preferred
        .copied()
        .ok_or_else(|| io::Error::other(format!("{addr} resolves to no address")))
}

/// `Ok(true)` once a non-blocking connect has completed, `Ok(false)` while in progress.
fn connect_result(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => {
            let _ = stream.set_nodelay(true);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads and discards until would-block; EOF is an error.
fn drain(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// How a read of an inbound link ended.
enum Filled {
    /// The socket said `WouldBlock`: a new edge comes with the next bytes.
    Drained,
    /// The pass's budget was read; more may wait in the socket.
    Budget,
}

/// Appends what is readable to `buf`, up to the pass's budget; EOF is an error. The
/// buffer may hold at most one frame's worth beyond what has been decoded.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, frame_bytes_max: usize) -> io::Result<Filled> {
    let mut chunk = [0u8; 16 * 1024];
    let mut read = 0;
    loop {
        if read >= INBOUND_READ_BYTES_PER_PASS {
            return Ok(Filled::Budget);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                read += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Filled::Drained),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if buf.len() > 2 * frame_bytes_max + 64 {
            return Err(io::Error::other(
                "peer sent more than two frames' worth at once",
            ));
        }
    }
}

fn flush(stream: &mut TcpStream, out: &[u8], out_pos: &mut usize) -> io::Result<()> {
    while *out_pos < out.len() {
        match stream.write(&out[*out_pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
