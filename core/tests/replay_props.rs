//! The master's keyspace is, by construction, the replay of its AOF: random command
//! sequences, with time passing and active expiry running, must leave a keyspace equal
//! to a fresh replay of the bytes the node asked to append.

mod common;

use bucket_core::aof::replay::{apply, scan_records, Tail};
use bucket_core::keyspace::Keyspace;
use bucket_core::Node;
use common::*;
use proptest::prelude::*;

/// A small alphabet, so commands collide on the same keys.
const KEYS: &[&str] = &["a", "b", "c", "{a}d"];
/// Values that INCR accepts, rejects, or overflows on.
const VALUES: &[&str] = &["0", "7", "-3", "x", "hello", "9223372036854775807", ""];

#[derive(Clone, Debug)]
enum Op {
    Set {
        key: usize,
        value: usize,
        condition: Option<&'static str>,
        get: bool,
        expiry: Option<(&'static str, i64)>,
    },
    Incr(usize),
    IncrBy(usize, i64),
    Append(usize, usize),
    Del(Vec<usize>),
    Expire(&'static str, usize, i64),
    Persist(usize),
    GetDel(usize),
    MSet(Vec<(usize, usize)>),
    FlushAll,
    AdvanceMs(u64),
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn value() -> impl Strategy<Value = usize> {
    0..VALUES.len()
}

/// SET's expiry: relative amounts small enough to expire during a run, absolute times
/// around the start (some already past), and KEEPTTL.
fn set_expiry() -> impl Strategy<Value = Option<(&'static str, i64)>> {
    let start_ms = UNIX_MS_START as i64;
    prop_oneof![
        3 => Just(None),
        1 => (1i64..3).prop_map(|s| Some(("EX", s))),
        2 => (1i64..400).prop_map(|ms| Some(("PX", ms))),
        1 => (-2i64..3).prop_map(move |s| Some(("EXAT", start_ms / 1000 + s))),
        1 => (-500i64..800).prop_map(move |ms| Some(("PXAT", start_ms + ms))),
        1 => Just(Some(("KEEPTTL", 0))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let condition = prop_oneof![Just(None), Just(Some("NX")), Just(Some("XX"))];
    let expire_unit = prop_oneof![
        Just("EXPIRE"),
        Just("PEXPIRE"),
        Just("EXPIREAT"),
        Just("PEXPIREAT")
    ];
    prop_oneof![
        6 => (key(), value(), condition, any::<bool>(), set_expiry()).prop_map(
            |(key, value, condition, get, expiry)| Op::Set { key, value, condition, get, expiry }
        ),
        2 => key().prop_map(Op::Incr),
        1 => (key(), prop_oneof![-5i64..5, Just(i64::MAX), Just(i64::MIN)])
            .prop_map(|(k, n)| Op::IncrBy(k, n)),
        2 => (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        2 => prop::collection::vec(key(), 1..3).prop_map(Op::Del),
        3 => (expire_unit, key(), -2i64..400).prop_map(|(unit, k, n)| Op::Expire(unit, k, n)),
        1 => key().prop_map(Op::Persist),
        1 => key().prop_map(Op::GetDel),
        1 => prop::collection::vec((key(), value()), 1..3).prop_map(Op::MSet),
        1 => Just(Op::FlushAll),
        4 => prop_oneof![0u64..5, 50u64..400, Just(1000)].prop_map(Op::AdvanceMs),
    ]
}

/// The command for `op`, with absolute EXPIREAT/PEXPIREAT times near the node's clock.
fn command(op: &Op, unix_ms: u64) -> Option<Vec<String>> {
    let k = |i: &usize| KEYS[*i].to_string();
    let v = |i: &usize| VALUES[*i].to_string();
    let args = match op {
        Op::Set {
            key,
            value,
            condition,
            get,
            expiry,
        } => {
            let mut args = vec!["SET".to_string(), k(key), v(value)];
            args.extend(condition.map(str::to_string));
            if *get {
                args.push("GET".to_string());
            }
            match expiry {
                Some(("KEEPTTL", _)) => args.push("KEEPTTL".to_string()),
                Some((unit, amount)) => {
                    args.push(unit.to_string());
                    args.push(amount.to_string());
                }
                None => {}
            }
            args
        }
        Op::Incr(key) => vec!["INCR".to_string(), k(key)],
        Op::IncrBy(key, n) => vec!["INCRBY".to_string(), k(key), n.to_string()],
        Op::Append(key, value) => vec!["APPEND".to_string(), k(key), v(value)],
        Op::Del(keys) => std::iter::once("DEL".to_string())
            .chain(keys.iter().map(k))
            .collect(),
        Op::Expire(unit, key, n) => {
            let amount = match *unit {
                "EXPIREAT" => (unix_ms / 1000) as i64 + n / 100,
                "PEXPIREAT" => unix_ms as i64 + n,
                "EXPIRE" => n / 100,
                _ => *n,
            };
            vec![unit.to_string(), k(key), amount.to_string()]
        }
        Op::Persist(key) => vec!["PERSIST".to_string(), k(key)],
        Op::GetDel(key) => vec!["GETDEL".to_string(), k(key)],
        Op::MSet(pairs) => std::iter::once("MSET".to_string())
            .chain(pairs.iter().flat_map(|(key, value)| [k(key), v(value)]))
            .collect(),
        Op::FlushAll => vec!["FLUSHALL".to_string()],
        Op::AdvanceMs(_) => return None,
    };
    Some(args)
}

/// Replay `aof` into a keyspace with other hash keys than any node's.
fn replay(aof: &[u8]) -> Keyspace {
    let mut keyspace = Keyspace::new((0x0123_4567, 0x89ab_cdef));
    let tail = scan_records(aof, |_, record| apply(&mut keyspace, &record.effect));
    assert_eq!(tail, Tail::Clean, "the node's AOF ends cleanly");
    keyspace
}

fn run(ops: &[Op], seed: u64) -> TestNode {
    let mut t = TestNode::with_config(config(), seed);
    let conn = t.connect();
    for op in ops {
        match command(op, t.unix_ms) {
            Some(args) => {
                t.cmd(conn, &args);
            }
            None => {
                let Op::AdvanceMs(ms) = op else {
                    unreachable!("only AdvanceMs has no command")
                };
                t.advance_ms(*ms);
            }
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_aof_replays_to_the_masters_keyspace(
        ops in prop::collection::vec(op(), 1..60),
        seed in any::<u64>(),
    ) {
        let t = run(&ops, seed);
        let digest = t.node.keyspace().digest();
        let replayed = replay(&t.aof);
        prop_assert_eq!(replayed.len(), t.node.keyspace().len());
        prop_assert_eq!(replayed.digest(), digest);

        let (recovered, recovery) = Node::recover(config(), seed ^ 1, None, &t.aof)
            .expect("the node's own AOF recovers");
        prop_assert_eq!(recovery.aof_len_valid, t.aof.len() as u64);
        prop_assert_eq!(recovery.torn_bytes, 0);
        prop_assert_eq!(recovered.keyspace().digest(), digest);
        prop_assert_eq!(recovered.aof_end(), t.node.aof_end());
    }

    #[test]
    fn a_recovered_node_keeps_serving_the_same_values(
        ops in prop::collection::vec(op(), 1..40),
        seed in any::<u64>(),
    ) {
        // After a restart from the AOF, every key reads the same as before it.
        let mut before = run(&ops, seed);
        let mut after = TestNode::recover(config(), seed.wrapping_add(1), &before.aof);
        after.instant_ms = before.instant_ms;
        after.unix_ms = before.unix_ms;
        let (conn_before, conn_after) = (before.connect(), after.connect());
        for key in KEYS {
            for name in ["GET", "PTTL"] {
                let want = before.cmd(conn_before, &[name, key]);
                let got = after.cmd(conn_after, &[name, key]);
                prop_assert_eq!(got, want, "{} {}", name, key);
            }
        }
    }
}
