//! A one-node cluster driven by hand: connect clients, send bytes, read replies, move the
//! clocks, and keep every AOF byte the node asked to append so a test can replay it.

#![allow(dead_code)]

use bucket_core::resp::{self, Reply, Request};
use bucket_core::{Config, ConnectionId, Input, Node, Now, Output, Role};

/// The wall clock at the start of every test: a fixed, realistic Unix time.
pub const UNIX_MS_START: u64 = 1_700_000_000_000;

pub struct TestNode {
    pub node: Node,
    pub config: Config,
    pub seed: u64,
    pub instant_ms: u64,
    pub unix_ms: u64,
    /// Every `AppendAof` byte, in order: the node's whole AOF.
    pub aof: Vec<u8>,
    conn_next: u64,
}

pub fn config() -> Config {
    Config::single("127.0.0.1:6379", "127.0.0.1:16379")
}

pub fn config_with_password(password: &str) -> Config {
    let mut config = config();
    config.requirepass = Some(password.as_bytes().to_vec());
    config
}

/// Anything a test may pass as one argument.
pub trait Arg {
    fn bytes(&self) -> &[u8];
}

impl Arg for &str {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Arg for &[u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl Arg for String {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The request as RESP multibulk bytes.
pub fn encode<A: Arg>(args: &[A]) -> Vec<u8> {
    let mut request = Request::new();
    for arg in args {
        request.push(arg.bytes());
    }
    let mut bytes = Vec::new();
    request.encode(&mut bytes);
    bytes
}

/// Every reply in `bytes`, which must hold whole replies only.
pub fn parse_replies(mut bytes: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::new();
    while !bytes.is_empty() {
        let (reply, used) = resp::parse_reply(bytes)
            .expect("the node writes valid RESP")
            .expect("the node writes whole replies");
        replies.push(reply);
        bytes = &bytes[used..];
    }
    replies
}

pub fn ok() -> Reply {
    Reply::Simple("OK".to_string())
}

pub fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

pub fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

pub fn err(text: &str) -> Reply {
    Reply::Error(text.to_string())
}

pub fn simple(text: &str) -> Reply {
    Reply::Simple(text.to_string())
}

pub fn array(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}

impl TestNode {
    /// A fresh one-node cluster that has made itself master.
    pub fn new() -> TestNode {
        TestNode::with_config(config(), 7)
    }

    pub fn with_config(config: Config, seed: u64) -> TestNode {
        TestNode::recover(config, seed, &[])
    }

    /// A node rebuilt from `aof` (a torn tail cut off), then made master by its first
    /// tick.
    pub fn recover(config: Config, seed: u64, aof: &[u8]) -> TestNode {
        let (node, recovery) =
            Node::recover(config.clone(), seed, None, aof).expect("the AOF is valid");
        // A torn tail is cut, as the driver cuts it.
        let valid = usize::try_from(recovery.aof_len_valid).expect("a test AOF is small");
        let mut test = TestNode {
            node,
            config,
            seed,
            instant_ms: 0,
            unix_ms: UNIX_MS_START,
            aof: aof[..valid].to_vec(),
            conn_next: 1,
        };
        test.step(Input::Tick);
        assert_eq!(test.node.role(), Role::Master);
        test
    }

    pub fn now(&self) -> Now {
        Now::new(self.instant_ms, self.unix_ms)
    }

    /// Step once, keep the AOF bytes, and answer each fsync the node asks for with its
    /// durability report, as a driver does at the end of its loop pass; returns every
    /// output, the reports' included.
    pub fn step(&mut self, input: Input<'_>) -> Vec<Output> {
        // Each report may release replies that run further requests, which ask again.
        const REPORTS_MAX: usize = 64;
        let mut out = self.step_once(input);
        let mut asked = out.contains(&Output::SyncAof);
        for _ in 0..REPORTS_MAX {
            if !asked {
                break;
            }
            let offset = bucket_core::Offset(self.aof.len() as u64);
            let more = self.step_once(Input::AofDurable { offset });
            asked = more.contains(&Output::SyncAof);
            out.extend(more);
        }
        assert!(!asked, "a node asks for fsyncs without end");
        out
    }

    fn step_once(&mut self, input: Input<'_>) -> Vec<Output> {
        let mut out = Vec::new();
        let aof_end_before = self.node.aof_end().0;
        self.node.step(self.now(), input, &mut out);
        for output in &out {
            if let Output::AppendAof { offset, bytes } = output {
                assert_eq!(offset.0, self.aof.len() as u64, "appends are contiguous");
                self.aof.extend_from_slice(bytes);
            }
        }
        assert_eq!(self.node.aof_end().0, self.aof.len() as u64);
        assert!(self.node.aof_end().0 >= aof_end_before);
        out
    }

    pub fn connect(&mut self) -> ConnectionId {
        let conn = ConnectionId(self.conn_next);
        self.conn_next += 1;
        let out = self.step(Input::ClientConnected {
            conn,
            addrs: bucket_core::ClientAddrs::loopback(40000 + conn.0 as u16),
        });
        assert!(out.is_empty(), "connecting emits nothing: {out:?}");
        conn
    }

    pub fn send(&mut self, conn: ConnectionId, bytes: &[u8]) -> Vec<Output> {
        self.step(Input::ClientData { conn, bytes })
    }

    /// The reply bytes `conn` got among `out`, concatenated.
    pub fn reply_bytes(out: &[Output], conn: ConnectionId) -> Vec<u8> {
        let mut bytes = Vec::new();
        for output in out {
            if let Output::Reply { conn: to, bytes: b } = output {
                if *to == conn {
                    bytes.extend_from_slice(b);
                }
            }
        }
        bytes
    }

    /// Send raw bytes and parse every reply they produced.
    pub fn send_replies(&mut self, conn: ConnectionId, bytes: &[u8]) -> Vec<Reply> {
        let out = self.send(conn, bytes);
        parse_replies(&TestNode::reply_bytes(&out, conn))
    }

    /// Run one command and return its single reply.
    pub fn cmd<A: Arg>(&mut self, conn: ConnectionId, args: &[A]) -> Reply {
        let mut replies = self.send_replies(conn, &encode(args));
        assert_eq!(replies.len(), 1, "one reply per command: {replies:?}");
        replies.pop().expect("one reply")
    }

    /// Run one command and return the AOF bytes it appended.
    pub fn cmd_aof<A: Arg>(&mut self, conn: ConnectionId, args: &[A]) -> (Reply, Vec<u8>) {
        let aof_len_before = self.aof.len();
        let reply = self.cmd(conn, args);
        (reply, self.aof[aof_len_before..].to_vec())
    }

    /// Move both clocks forward, then tick if a timer is due.
    pub fn advance_ms(&mut self, ms: u64) -> Vec<Output> {
        self.instant_ms += ms;
        self.unix_ms += ms;
        if self.node.deadline().0 <= self.instant_ms {
            self.step(Input::Tick)
        } else {
            Vec::new()
        }
    }

    /// Move time forward in steps of `step_ms`, ticking as a driver would.
    pub fn advance_ms_by_steps(&mut self, ms: u64, step_ms: u64) {
        let mut left = ms;
        while left > 0 {
            let now = left.min(step_ms);
            self.advance_ms(now);
            left -= now;
        }
    }
}

impl Default for TestNode {
    fn default() -> TestNode {
        TestNode::new()
    }
}

// ---- Helpers the per-family command tests share ----

pub fn nil() -> Reply {
    Reply::Nil
}

/// A fresh node rebuilt from `t`'s AOF, whose keyspace must equal `t`'s: the AOF is
/// the replay of what `t` did.
pub fn replayed(t: &TestNode) -> TestNode {
    let rebuilt = TestNode::recover(config(), 99, &t.aof);
    assert_eq!(rebuilt.node.keyspace().digest(), t.node.keyspace().digest());
    rebuilt
}

/// Redis's wrong-arity error for `name`.
pub fn arity(name: &str) -> Reply {
    err(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

pub fn bulks(items: &[&str]) -> Reply {
    array(items.iter().map(|s| bulk(s)).collect())
}

/// Run a command written with spaces between its arguments.
pub fn run(t: &mut TestNode, conn: ConnectionId, command: &str) -> Reply {
    let args: Vec<&str> = command.split(' ').collect();
    t.cmd(conn, &args)
}

/// Run `(command, reply)` steps on a fresh node; a failure names the step.
pub fn script(steps: &[(&str, Reply)]) -> TestNode {
    let mut t = TestNode::new();
    let conn = t.connect();
    for (i, (command, want)) in steps.iter().enumerate() {
        assert_eq!(&run(&mut t, conn, command), want, "#{i}: {command}");
    }
    t
}

/// A bulk reply's text.
pub fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(bytes) => String::from_utf8(bytes.clone()).expect("text"),
        other => panic!("not a bulk: {other:?}"),
    }
}

/// The bulk strings of an array or set reply, sorted.
pub fn sorted(reply: &Reply) -> Vec<String> {
    let (Reply::Array(items) | Reply::Set(items)) = reply else {
        panic!("not an array: {reply:?}")
    };
    let mut texts: Vec<String> = items.iter().map(text).collect();
    texts.sort();
    texts
}

pub fn words(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}
