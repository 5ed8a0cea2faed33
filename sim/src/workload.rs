//! The clients' workload: which operation comes next, on which keys, with which values
//! and expiries, and the request that carries it.
//!
//! Two sets of keys. The keys `k0`, `k1`, ... are the ones the linearizability checker
//! models: they get only expiries in the past (a delete) or far beyond the end of the
//! run, so whether a key has expired never depends on the master's clock. The volatile
//! keys `v0`, `v1`, ... get expiries of tens of milliseconds to a few seconds, so keys
//! really expire on the master during a run and its deletes reach the replicas; their
//! operations are in the history (durability checks them) but not modelled.

use rand_chacha::ChaCha8Rng;

use crate::history::{
    show, Counter, ExpireCondition, Expiry, ExpiryUnit, KeyspaceRead, Op, OpKind, Outcome,
    SetOptions, Value, LONG_TTL_MS,
};
use crate::options::WorkloadMix;
use crate::seed::{between, chance};
use crate::world::UNIX_EPOCH_OFFSET_MS;

/// Keys one MSET or MGET names at most.
pub const MULTI_KEYS_MAX: u64 = 3;
/// A short expiry lasts this long at least, and at most `SHORT_TTL_MS_MAX`.
pub const SHORT_TTL_MS_MIN: u64 = 10;
pub const SHORT_TTL_MS_MAX: u64 = 3_000;

const _: () = assert!(SHORT_TTL_MS_MIN > 0);
const _: () = assert!((SHORT_TTL_MS_MAX as i64) < LONG_TTL_MS);

/// Whether the linearizability checker leaves `key` out: its expiry is the master's.
pub fn is_volatile(key: &[u8]) -> bool {
    key.first() == Some(&b'v')
}

/// Values unique within a run and still integers, so INCR works on them: the client
/// and a per-client sequence in separate digit ranges, a million INCRs apart.
#[derive(Clone, Debug)]
pub struct Values {
    client: u64,
    drawn: u64,
}

impl Values {
    pub fn new(client: usize) -> Values {
        Values {
            client: client as u64 + 1,
            drawn: 0,
        }
    }

    pub fn draw(&mut self) -> Vec<u8> {
        self.drawn += 1;
        assert!(
            self.drawn < 1_000_000,
            "values would collide across clients"
        );
        let value = self.client * 1_000_000_000_000 + self.drawn * 1_000_000;
        value.to_string().into_bytes()
    }
}

/// What the workload draws from: the key sets and the mix.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub key_count: usize,
    pub volatile_key_count: usize,
    pub mix: WorkloadMix,
}

/// The kinds of operation the mix weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    Get,
    Set,
    Incr,
    Del,
    Wait,
    SetWith,
    SetNxGetSet,
    Counter,
    Append,
    GetDel,
    Multi,
    Read,
    Expire,
    Persist,
    Ttl,
    Keyspace,
    Txn,
}

impl Workload {
    /// The next operation and its (first) key. `now_ms` is the simulated time, from which
    /// absolute expiries are computed.
    pub fn draw(
        &self,
        rng: &mut ChaCha8Rng,
        values: &mut Values,
        now_ms: u64,
    ) -> (OpKind, Vec<u8>) {
        assert!(self.key_count > 0, "a workload has keys");
        let pick = self.pick(rng);
        let (index, count) = self.draw_key(rng);
        let volatile = index >= self.key_count;
        let key = key_name(index, self.key_count);
        let expiry = |rng: &mut ChaCha8Rng, for_set| draw_expiry(rng, volatile, for_set, now_ms);
        let kind = match pick {
            Pick::Get => OpKind::Get,
            // A volatile key is always written with a short expiry, so that every run
            // with volatile keys has keys that expire.
            Pick::Set if volatile => OpKind::SetWith {
                value: values.draw(),
                options: SetOptions {
                    expiry: Some(short_expiry(rng, now_ms)),
                    ..SetOptions::default()
                },
            },
            Pick::Set => OpKind::Set(values.draw()),
            Pick::Incr => OpKind::Incr,
            Pick::Del if chance(rng, 0.2) => OpKind::Unlink,
            Pick::Del => OpKind::Del,
            Pick::Wait => OpKind::Wait,
            Pick::SetWith => OpKind::SetWith {
                value: values.draw(),
                options: draw_set_options(rng, volatile, &expiry),
            },
            Pick::SetNxGetSet if chance(rng, 0.5) => OpKind::SetNx(values.draw()),
            Pick::SetNxGetSet => OpKind::GetSet(values.draw()),
            Pick::Counter => OpKind::Counter(draw_counter(rng)),
            Pick::Append => OpKind::Append(vec![b'0' + between(rng, 0, 9) as u8]),
            Pick::GetDel => OpKind::GetDel,
            Pick::Multi => {
                let keys = multi_keys(rng, index, count, self.key_count);
                if chance(rng, 0.5) {
                    OpKind::MSet(keys.into_iter().map(|k| (k, values.draw())).collect())
                } else {
                    OpKind::MGet(keys)
                }
            }
            Pick::Read => {
                [OpKind::Exists, OpKind::Strlen, OpKind::Type][between(rng, 0, 2) as usize].clone()
            }
            Pick::Expire => OpKind::Expire {
                expiry: expiry(rng, false),
                condition: draw_expire_condition(rng, volatile),
            },
            Pick::Persist => OpKind::Persist,
            Pick::Ttl if chance(rng, 0.5) => OpKind::Ttl,
            Pick::Ttl => OpKind::Pttl,
            Pick::Keyspace => {
                let reads = [
                    KeyspaceRead::DbSize,
                    KeyspaceRead::Scan,
                    KeyspaceRead::Keys,
                    KeyspaceRead::Rewrite,
                ];
                return (
                    OpKind::Keyspace(reads[between(rng, 0, 3) as usize]),
                    Vec::new(),
                );
            }
            Pick::Txn => {
                let micros = crate::txn::draw(rng, values, now_ms);
                let first = micros[0].key().to_vec();
                return (OpKind::Txn(micros), first);
            }
        };
        (kind, key)
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> Pick {
        let m = self.mix;
        let weights = [
            (m.get, Pick::Get),
            (m.set, Pick::Set),
            (m.incr, Pick::Incr),
            (m.del, Pick::Del),
            (m.wait, Pick::Wait),
            (m.set_with, Pick::SetWith),
            (m.set_nx_get_set, Pick::SetNxGetSet),
            (m.counter, Pick::Counter),
            (m.append, Pick::Append),
            (m.get_del, Pick::GetDel),
            (m.multi, Pick::Multi),
            (m.read, Pick::Read),
            (m.expire, Pick::Expire),
            (m.persist, Pick::Persist),
            (m.ttl, Pick::Ttl),
            (m.keyspace, Pick::Keyspace),
            (m.txn, Pick::Txn),
        ];
        let total: u32 = weights.iter().map(|(w, _)| w).sum();
        assert_eq!(total, m.total(), "every weight is drawn from");
        let mut at = between(rng, 0, total as u64 - 1) as u32;
        for (weight, pick) in weights {
            if at < weight {
                return pick;
            }
            at -= weight;
        }
        unreachable!("the pick is below the total weight");
    }

    /// A key's index among all keys (volatile ones last), and the size of its set.
    fn draw_key(&self, rng: &mut ChaCha8Rng) -> (usize, usize) {
        let all = self.key_count + self.volatile_key_count;
        let index = between(rng, 0, all as u64 - 1) as usize;
        match index < self.key_count {
            true => (index, self.key_count),
            false => (index, self.volatile_key_count),
        }
    }
}

/// `k<i>` for the modelled keys, `v<j>` for the volatile ones.
fn key_name(index: usize, key_count: usize) -> Vec<u8> {
    match index.checked_sub(key_count) {
        None => format!("k{index}").into_bytes(),
        Some(j) => format!("v{j}").into_bytes(),
    }
}

/// Distinct keys of one set, `index` first: an MSET or MGET never mixes modelled and
/// volatile keys.
fn multi_keys(rng: &mut ChaCha8Rng, index: usize, count: usize, key_count: usize) -> Vec<Vec<u8>> {
    let (base, first) = match index.checked_sub(key_count) {
        None => (0, index),
        Some(j) => (key_count, j),
    };
    let len = between(rng, 1, MULTI_KEYS_MAX.min(count as u64)) as usize;
    (0..len)
        .map(|j| key_name(base + (first + j) % count, key_count))
        .collect()
}

fn draw_counter(rng: &mut ChaCha8Rng) -> Counter {
    match between(rng, 0, 2) {
        0 => Counter::Decr,
        1 => Counter::IncrBy(between(rng, 0, 2_000) as i64 - 1_000),
        _ => Counter::DecrBy(between(rng, 1, 1_000) as i64),
    }
}

fn draw_set_options(
    rng: &mut ChaCha8Rng,
    volatile: bool,
    expiry: &impl Fn(&mut ChaCha8Rng, bool) -> Expiry,
) -> SetOptions {
    let condition = match between(rng, 0, 3) {
        0 => Some(ExpireCondition::Nx),
        1 => Some(ExpireCondition::Xx),
        _ => None,
    };
    let get = chance(rng, 0.3);
    // Volatile keys mostly get an expiry; modelled ones as often keep theirs.
    let expiry_probability = if volatile { 0.7 } else { 0.4 };
    let (keep_ttl, expiry) = if chance(rng, expiry_probability) {
        (false, Some(expiry(rng, true)))
    } else {
        (chance(rng, 0.5), None)
    };
    SetOptions {
        condition,
        get,
        keep_ttl,
        expiry,
    }
}

fn draw_expire_condition(rng: &mut ChaCha8Rng, volatile: bool) -> Option<ExpireCondition> {
    // GT and LT compare expiry times, which only the master's clock decides: volatile
    // keys only.
    let conditions_max = if volatile { 5 } else { 3 };
    match between(rng, 0, conditions_max) {
        0 => Some(ExpireCondition::Nx),
        1 => Some(ExpireCondition::Xx),
        4 => Some(ExpireCondition::Gt),
        5 => Some(ExpireCondition::Lt),
        _ => None,
    }
}

/// An expiry for a key: short on volatile keys (now and then long or past), long or
/// past on modelled keys. SET refuses a relative expiry that is not positive, so a
/// past one for SET is absolute.
fn draw_expiry(rng: &mut ChaCha8Rng, volatile: bool, for_set: bool, now_ms: u64) -> Expiry {
    // Volatile keys: short 90%, past 5%, long 5%. Modelled keys: past 25%, long 75%.
    let roll = between(rng, 0, 19);
    if volatile && roll >= 2 {
        return short_expiry(rng, now_ms);
    }
    let past = if volatile { roll == 0 } else { roll < 5 };
    let unit = draw_unit(rng);
    if past {
        return past_expiry(rng, unit, for_set);
    }
    let unix_ms = (UNIX_EPOCH_OFFSET_MS + now_ms) as i64;
    let amount = match unit {
        ExpiryUnit::Seconds => LONG_TTL_MS / 1000,
        ExpiryUnit::Millis => LONG_TTL_MS,
        ExpiryUnit::UnixSeconds => (unix_ms + LONG_TTL_MS) / 1000 + 1,
        ExpiryUnit::UnixMillis => unix_ms + LONG_TTL_MS,
    };
    Expiry { unit, amount }
}

fn draw_unit(rng: &mut ChaCha8Rng) -> ExpiryUnit {
    [
        ExpiryUnit::Seconds,
        ExpiryUnit::Millis,
        ExpiryUnit::UnixSeconds,
        ExpiryUnit::UnixMillis,
    ][between(rng, 0, 3) as usize]
}

fn past_expiry(rng: &mut ChaCha8Rng, unit: ExpiryUnit, for_set: bool) -> Expiry {
    let unit = match unit {
        ExpiryUnit::Seconds | ExpiryUnit::Millis if for_set => ExpiryUnit::UnixSeconds,
        unit => unit,
    };
    let amount = match unit {
        ExpiryUnit::Seconds | ExpiryUnit::Millis => -(between(rng, 0, 5) as i64),
        ExpiryUnit::UnixSeconds => between(rng, 1, UNIX_EPOCH_OFFSET_MS / 1000) as i64,
        ExpiryUnit::UnixMillis => between(rng, 1, UNIX_EPOCH_OFFSET_MS) as i64,
    };
    Expiry { unit, amount }
}

/// Tens of milliseconds to a few seconds from now, spread over the orders of magnitude.
fn short_expiry(rng: &mut ChaCha8Rng, now_ms: u64) -> Expiry {
    let ttl_ms = match between(rng, 0, 2) {
        0 => between(rng, SHORT_TTL_MS_MIN, 100),
        1 => between(rng, 100, 1_000),
        _ => between(rng, 1_000, SHORT_TTL_MS_MAX),
    };
    let unit = draw_unit(rng);
    let unix_at_ms = UNIX_EPOCH_OFFSET_MS + now_ms + ttl_ms;
    let amount = match unit {
        ExpiryUnit::Seconds => ttl_ms.div_ceil(1000),
        ExpiryUnit::Millis => ttl_ms,
        // Rounded up, so still in the future.
        ExpiryUnit::UnixSeconds => unix_at_ms / 1000 + 1,
        ExpiryUnit::UnixMillis => unix_at_ms,
    };
    Expiry {
        unit,
        amount: amount as i64,
    }
}

/// The request's arguments, command name first.
/// The bytes of the op's requests, and how many replies they get (a transaction is
/// several requests; anything else is one).
pub fn requests(kind: &OpKind, key: &[u8]) -> (Vec<u8>, usize) {
    if let OpKind::Txn(micros) = kind {
        return crate::txn::requests(micros);
    }
    let mut request = bucket_core::resp::Request::new();
    for arg in args(kind, key) {
        request.push(&arg);
    }
    let mut bytes = Vec::new();
    request.encode(&mut bytes);
    (bytes, 1)
}

/// The arguments of the op's request (for a transaction, its requests' arguments in a
/// row, for the timeline).
pub fn args(kind: &OpKind, key: &[u8]) -> Vec<Vec<u8>> {
    let word = |w: &str| w.as_bytes().to_vec();
    let mut args = match kind {
        OpKind::Txn(micros) => {
            let mut args = vec![word("MULTI")];
            for micro in micros {
                match micro {
                    crate::txn::Micro::Append { key, value } => {
                        args.extend([word("RPUSH"), key.clone(), value.clone()])
                    }
                    crate::txn::Micro::Read { key } => {
                        args.extend([word("LRANGE"), key.clone(), word("0"), word("-1")])
                    }
                }
            }
            args.push(word("EXEC"));
            args
        }
        OpKind::Get => vec![word("GET"), key.to_vec()],
        OpKind::Set(value) => vec![word("SET"), key.to_vec(), value.clone()],
        OpKind::Incr => vec![word("INCR"), key.to_vec()],
        OpKind::Del => vec![word("DEL"), key.to_vec()],
        OpKind::Wait => vec![word("WAIT"), word("1"), word("50")],
        OpKind::SetWith { value, options } => {
            let mut args = vec![word("SET"), key.to_vec(), value.clone()];
            push_set_options(&mut args, options);
            args
        }
        OpKind::SetNx(value) => vec![word("SETNX"), key.to_vec(), value.clone()],
        OpKind::GetSet(value) => vec![word("GETSET"), key.to_vec(), value.clone()],
        OpKind::Counter(Counter::Decr) => vec![word("DECR"), key.to_vec()],
        OpKind::Counter(Counter::IncrBy(n)) => {
            vec![word("INCRBY"), key.to_vec(), word(&n.to_string())]
        }
        OpKind::Counter(Counter::DecrBy(n)) => {
            vec![word("DECRBY"), key.to_vec(), word(&n.to_string())]
        }
        OpKind::Append(suffix) => vec![word("APPEND"), key.to_vec(), suffix.clone()],
        OpKind::GetDel => vec![word("GETDEL"), key.to_vec()],
        OpKind::Unlink => vec![word("UNLINK"), key.to_vec()],
        OpKind::MSet(pairs) => {
            let mut args = vec![word("MSET")];
            for (k, v) in pairs {
                args.extend([k.clone(), v.clone()]);
            }
            args
        }
        OpKind::MGet(keys) => std::iter::once(word("MGET"))
            .chain(keys.iter().cloned())
            .collect(),
        OpKind::Exists => vec![word("EXISTS"), key.to_vec()],
        OpKind::Strlen => vec![word("STRLEN"), key.to_vec()],
        OpKind::Type => vec![word("TYPE"), key.to_vec()],
        OpKind::Expire { expiry, condition } => {
            let name = match expiry.unit {
                ExpiryUnit::Seconds => "EXPIRE",
                ExpiryUnit::Millis => "PEXPIRE",
                ExpiryUnit::UnixSeconds => "EXPIREAT",
                ExpiryUnit::UnixMillis => "PEXPIREAT",
            };
            let mut args = vec![word(name), key.to_vec(), word(&expiry.amount.to_string())];
            args.extend(condition.map(|c| word(condition_word(c))));
            args
        }
        OpKind::Persist => vec![word("PERSIST"), key.to_vec()],
        OpKind::Ttl => vec![word("TTL"), key.to_vec()],
        OpKind::Pttl => vec![word("PTTL"), key.to_vec()],
        OpKind::Keyspace(KeyspaceRead::DbSize) => vec![word("DBSIZE")],
        OpKind::Keyspace(KeyspaceRead::Scan) => {
            vec![word("SCAN"), word("0"), word("COUNT"), word("100")]
        }
        OpKind::Keyspace(KeyspaceRead::Keys) => vec![word("KEYS"), word("*")],
        OpKind::Keyspace(KeyspaceRead::Rewrite) => vec![word("BGREWRITEAOF")],
    };
    args.shrink_to_fit();
    args
}

fn condition_word(condition: ExpireCondition) -> &'static str {
    match condition {
        ExpireCondition::Nx => "NX",
        ExpireCondition::Xx => "XX",
        ExpireCondition::Gt => "GT",
        ExpireCondition::Lt => "LT",
    }
}

fn push_set_options(args: &mut Vec<Vec<u8>>, options: &SetOptions) {
    let word = |w: &str| w.as_bytes().to_vec();
    if let Some(condition) = options.condition {
        assert!(matches!(
            condition,
            ExpireCondition::Nx | ExpireCondition::Xx
        ));
        args.push(word(condition_word(condition)));
    }
    if options.get {
        args.push(word("GET"));
    }
    if options.keep_ttl {
        assert!(options.expiry.is_none(), "KEEPTTL or an expiry, not both");
        args.push(word("KEEPTTL"));
    }
    if let Some(expiry) = options.expiry {
        let unit = match expiry.unit {
            ExpiryUnit::Seconds => "EX",
            ExpiryUnit::Millis => "PX",
            ExpiryUnit::UnixSeconds => "EXAT",
            ExpiryUnit::UnixMillis => "PXAT",
        };
        args.extend([word(unit), word(&expiry.amount.to_string())]);
    }
}

/// The request as text: `SET k0 1000001000000 PX 20`.
pub fn show_request(kind: &OpKind, key: &[u8]) -> String {
    let words: Vec<String> = args(kind, key).iter().map(|a| show(a)).collect();
    words.join(" ")
}

/// An operation as the timeline shows it.
pub fn describe(op: &Op) -> String {
    let outcome = match &op.outcome {
        Outcome::Ok(value) => show_value(value),
        other => format!("{other:?}"),
    };
    format!(
        "client {} {} -> {outcome} (invoked at {} ms)",
        op.client,
        show_request(&op.kind, &op.key),
        op.call_ms
    )
}

/// A reply as the timeline shows it.
pub fn show_value(value: &Value) -> String {
    match value {
        Value::Bulk(b) => format!("\"{}\"", show(b)),
        Value::Int(n) => format!("(integer) {n}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Span;

    fn workload(volatile_key_count: usize) -> Workload {
        let one = 1;
        Workload {
            key_count: 2,
            volatile_key_count,
            mix: WorkloadMix {
                get: one,
                set: one,
                incr: one,
                del: one,
                wait: one,
                set_with: one,
                set_nx_get_set: one,
                counter: one,
                append: one,
                get_del: one,
                multi: one,
                read: one,
                expire: one,
                persist: one,
                ttl: one,
                keyspace: one,
                txn: one,
            },
        }
    }

    fn expiries(kind: &OpKind) -> Option<Expiry> {
        match kind {
            OpKind::SetWith { options, .. } => options.expiry,
            OpKind::Expire { expiry, .. } => Some(*expiry),
            _ => None,
        }
    }

    #[test]
    fn modelled_keys_get_no_short_expiry_and_volatile_keys_do() {
        let mut rng = crate::seed::Seeds::new(3).workload();
        let mut values = Values::new(0);
        let w = workload(2);
        let (mut short_volatile, mut seen) = (0, 0);
        for i in 0..5_000 {
            let now_ms = i * 10;
            let (kind, key) = w.draw(&mut rng, &mut values, now_ms);
            let Some(expiry) = expiries(&kind) else {
                continue;
            };
            seen += 1;
            let span = expiry.span(UNIX_EPOCH_OFFSET_MS);
            if is_volatile(&key) {
                short_volatile += (span == Span::Short) as usize;
            } else {
                assert_ne!(span, Span::Short, "#{i}: {}", show(&key));
            }
            let keys_volatile: Vec<bool> = match &kind {
                OpKind::MSet(pairs) => pairs.iter().map(|(k, _)| is_volatile(k)).collect(),
                _ => vec![is_volatile(&key)],
            };
            assert!(keys_volatile.iter().all(|&v| v == keys_volatile[0]));
        }
        assert!(seen > 100 && short_volatile > 50, "{seen} {short_volatile}");
    }

    #[test]
    fn a_short_expiry_is_in_the_future_and_within_the_bound() {
        let mut rng = crate::seed::Seeds::new(4).workload();
        for i in 0..1_000 {
            let now_ms = i * 7;
            let expiry = short_expiry(&mut rng, now_ms);
            let span = expiry.span(UNIX_EPOCH_OFFSET_MS);
            assert_eq!(span, Span::Short, "#{i}: {expiry:?}");
        }
        let set_past = past_expiry(&mut rng, ExpiryUnit::Millis, true);
        assert_eq!(set_past.unit, ExpiryUnit::UnixSeconds);
        assert_eq!(set_past.span(UNIX_EPOCH_OFFSET_MS), Span::Past);
    }

    #[test]
    fn requests_name_their_arguments_as_redis_does() {
        let options = SetOptions {
            condition: Some(ExpireCondition::Nx),
            get: true,
            keep_ttl: false,
            expiry: Some(Expiry {
                unit: ExpiryUnit::Millis,
                amount: 20,
            }),
        };
        let kind = OpKind::SetWith {
            value: b"1".to_vec(),
            options,
        };
        let text: Vec<String> = args(&kind, b"v0").iter().map(|a| show(a)).collect();
        assert_eq!(text.join(" "), "SET v0 1 NX GET PX 20");
        let mset = OpKind::MSet(vec![
            (b"k0".to_vec(), b"1".to_vec()),
            (b"k1".to_vec(), b"2".to_vec()),
        ]);
        assert_eq!(args(&mset, b"k0").len(), 5);
    }
}
