//! One client connection: its socket, its output buffer, and the interest that follows
//! from its state (rustls's tlsserver-mio pattern: interest is computed, never tracked
//! by hand).

use std::io::{self, Write};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// An output buffer that grew past this is given back to the allocator once flushed, so
/// one large reply does not pin memory for the connection's lifetime.
const OUT_CAPACITY_BYTES_KEPT_MAX: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Reading requests and writing replies.
    Open,
    /// The node asked to close: write what is buffered, then close.
    Closing,
    /// The client sent EOF: write what is buffered, then close.
    ReadClosed,
    /// An error, or a limit was passed: close at once, dropping buffered output.
    Dead,
}

pub struct Connection {
    pub stream: TcpStream,
    state: State,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    out_pos: usize,
    /// The interest the socket is registered with now.
    registered: Interest,
    pub last_active_ms: u64,
    /// On the event loop's list of connections to flush or reap this pass.
    pub touched: bool,
}

impl Connection {
    /// A connection registered for `READABLE`, as `register` must have done.
    pub fn new(stream: TcpStream, now_ms: u64) -> Connection {
        Connection {
            stream,
            state: State::Open,
            out: Vec::new(),
            out_pos: 0,
            registered: Interest::READABLE,
            last_active_ms: now_ms,
            touched: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_reading(&self) -> bool {
        self.state == State::Open
    }

    pub fn pending_bytes(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Queues reply bytes. Takes the `Vec` itself when nothing else is buffered.
    pub fn queue(&mut self, bytes: Vec<u8>) {
        if self.state == State::Dead {
            return;
        }
        if self.pending_bytes() == 0 && self.out.capacity() < bytes.len() {
            self.out = bytes;
            self.out_pos = 0;
        } else {
            self.out.extend_from_slice(&bytes);
        }
    }

    /// Queues bytes without taking ownership (driver-made replies).
    pub fn queue_slice(&mut self, bytes: &[u8]) {
        if self.state != State::Dead {
            self.out.extend_from_slice(bytes);
        }
    }

    pub fn close_after_flush(&mut self) {
        if self.state == State::Open || self.state == State::ReadClosed {
            self.state = State::Closing;
        }
    }

    pub fn on_eof(&mut self) {
        if self.state == State::Open {
            self.state = State::ReadClosed;
        }
    }

    pub fn kill(&mut self) {
        self.state = State::Dead;
        self.out = Vec::new();
        self.out_pos = 0;
    }

    /// Writes until the buffer is empty or the socket would block.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.pending_bytes() > 0 {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > OUT_CAPACITY_BYTES_KEPT_MAX {
            self.out = Vec::new();
        }
        Ok(())
    }

    /// True once nothing more will happen on this connection.
    pub fn is_finished(&self) -> bool {
        match self.state {
            State::Open => false,
            State::Closing | State::ReadClosed => self.pending_bytes() == 0,
            State::Dead => true,
        }
    }

    /// The interest this state calls for: readable while open, writable only while output
    /// is buffered. `None` once finished.
    pub fn interest(&self) -> Option<Interest> {
        let writable = self.pending_bytes() > 0;
        match (self.state, writable) {
            (State::Open, false) => Some(Interest::READABLE),
            (State::Open, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (State::Closing | State::ReadClosed, true) => Some(Interest::WRITABLE),
            (State::Closing | State::ReadClosed, false) | (State::Dead, _) => None,
        }
    }

    /// Re-registers if the interest changed. Not for finished connections.
    pub fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self
            .interest()
            .expect("finished connections are reaped, not updated");
        if interest != self.registered {
            registry.reregister(&mut self.stream, token, interest)?;
            self.registered = interest;
        }
        Ok(())
    }
}
