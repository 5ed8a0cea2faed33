//! What happened: the only way the world reaches a node.

use crate::ids::{ConnectionId, NodeId, Offset};

/// One event for [`crate::Node::step`]. Byte slices are borrowed: the node copies what it
/// must keep, so the driver can reuse its buffers at once.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A client connected from `addrs.peer` (protected mode refuses addresses other than
    /// loopback when no password is set; `CLIENT LIST` shows both ends).
    ClientConnected {
        conn: ConnectionId,
        addrs: ClientAddrs,
    },
    /// Bytes arrived from a client: any slice of a RESP stream, split anywhere.
    ClientData { conn: ConnectionId, bytes: &'a [u8] },
    /// The client's connection ended (EOF, error, or a `Close` the node asked for).
    ClientClosed { conn: ConnectionId },
    /// One whole, authenticated peer frame arrived from `peer`.
    PeerMessage { peer: NodeId, frame: &'a [u8] },
    /// The outbound link to `peer` is connected and its hello was sent: messages can flow.
    PeerLinkUp { peer: NodeId },
    /// The link to `peer` is gone; whatever was in flight on it is lost.
    PeerLinkDown { peer: NodeId },
    /// Time passed. Timers fire from here.
    Tick,
    /// The AOF is durable up to `offset`: every byte in `[0, offset)` of the AOF as it
    /// stands now survives a crash. The answer to `Output::SyncAof`; a driver reports
    /// once per fsync, however many requests that fsync covered.
    AofDurable { offset: Offset },
    /// What the allocator holds (`allocated` bytes) and what the process has resident
    /// (`resident`), for `INFO memory` and `maxmemory`. A driver reports at most once
    /// a millisecond while a limit is set, and now and then otherwise.
    MemoryUsed { allocated: u64, resident: u64 },
    /// Bytes of this node's own AOF that it asked for with `Output::StreamAof`.
    /// `offset` is where `bytes` start; `done` is true on the last chunk of the range.
    /// The driver reads lazily, so a chunk may come back short if the file was cut
    /// meanwhile: a stream to a peer then ends with that peer's link reset, and a read
    /// of the node's own file ends with a short chunk marked `done`.
    AofRead {
        peer: NodeId,
        session: u64,
        offset: Offset,
        bytes: &'a [u8],
        done: bool,
    },
    /// Bytes of this node's base file that it asked for with `Output::StreamBase`.
    /// `offset` is the position in the base file; `done` is true on the last chunk.
    BaseRead {
        peer: NodeId,
        session: u64,
        offset: u64,
        bytes: &'a [u8],
        done: bool,
    },
}

/// A client connection's two ends: `CLIENT LIST`'s `addr` and `laddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddrs {
    pub peer: std::net::SocketAddr,
    pub local: std::net::SocketAddr,
}

impl ClientAddrs {
    /// A client on this machine, from `port` to the server's 6379 (tests, the simulator).
    pub fn loopback(port: u16) -> ClientAddrs {
        let at = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        ClientAddrs {
            peer: at(port),
            local: at(6379),
        }
    }

    /// Whether the client connects from this machine (an IPv4-mapped address counts as
    /// its IPv4 self).
    pub fn is_loopback(&self) -> bool {
        self.peer.ip().to_canonical().is_loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_peers_are_recognised() {
        let cases = [
            ("127.0.0.1:5000", true),
            ("127.1.2.3:5000", true),
            ("[::1]:5000", true),
            ("[::ffff:127.0.0.1]:5000", true),
            ("10.0.0.1:5000", false),
            ("192.0.2.2:5000", false),
            ("0.0.0.0:5000", false),
            ("[::ffff:10.0.0.1]:5000", false),
            ("[2001:db8::1]:5000", false),
            ("[::]:5000", false),
        ];
        for (i, (addr, want)) in cases.iter().enumerate() {
            // Protected mode lets loopback clients in without a password; an IPv4 peer
            // seen through an IPv6 socket counts as the IPv4 address it is.
            let peer: std::net::SocketAddr = addr.parse().unwrap();
            let addrs = ClientAddrs { peer, local: peer };
            assert_eq!(addrs.is_loopback(), *want, "#{i}: {addr}");
        }
    }
}
