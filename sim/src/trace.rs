//! The run's trace: every event is hashed (FNV-1a 64 over its fields and the CRC32 of
//! its payload: fixed hashes, so the same run gives the same number on every machine
//! and build) for the determinism checker, and
//! the notable ones are kept as a readable timeline, printed when a run fails.

/// Lines kept in the timeline; older detail is summarised by the count of dropped lines.
pub const TIMELINE_LINES_MAX: usize = 200_000;

/// Payloads up to this size are hashed byte by byte; larger ones by their CRC32.
const SMALL_PAYLOAD_BYTES_MAX: usize = 32;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Fnv64 {
        Fnv64(FNV_OFFSET)
    }
}

impl Fnv64 {
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// A whole word at a time (FNV's step on 64-bit words): fields are most of what
    /// a trace hashes.
    pub fn u64(&mut self, x: u64) {
        self.0 ^= x;
        self.0 = self.0.wrapping_mul(FNV_PRIME);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// A timeline line: text, or a client operation formatted only if the timeline is
/// ever printed (there is one per operation, and most runs pass).
enum Line {
    Text(String),
    Op(usize),
}

#[derive(Default)]
pub struct Trace {
    hash: Fnv64,
    events: u64,
    timeline: Vec<(u64, Line)>,
    timeline_dropped: u64,
    /// Print each timeline line as it is noted.
    pub echo: bool,
}

impl Trace {
    /// Hash one event: its time, a tag naming its kind, and its fields.
    pub fn event(&mut self, now_ms: u64, tag: &str, fields: &[u64], bytes: &[u8]) {
        self.events += 1;
        self.hash.u64(now_ms);
        self.hash.bytes(tag.as_bytes());
        for &f in fields {
            self.hash.u64(f);
        }
        // Payloads (frames, AOF bytes) go in by their CRC32: byte-at-a-time FNV over
        // every frame was most of the cost of tracing.
        self.payload(bytes);
    }

    fn payload(&mut self, bytes: &[u8]) {
        self.hash.u64(bytes.len() as u64);
        if bytes.len() <= SMALL_PAYLOAD_BYTES_MAX {
            self.hash.bytes(bytes);
        } else {
            self.hash.u64(crc32fast::hash(bytes) as u64);
        }
    }

    /// A line for the readable timeline (also hashed).
    pub fn note(&mut self, now_ms: u64, line: String) {
        self.hash.u64(now_ms);
        self.payload(line.as_bytes());
        if self.echo {
            println!("{}", timeline_line(now_ms, &line));
        }
        self.keep(now_ms, Line::Text(line));
    }

    /// A finished client operation for the timeline, by its history index; `describe`
    /// formats it, called only when echoing. Its outcome is already in the hash, with
    /// the reply that decided it.
    pub fn note_op(&mut self, now_ms: u64, op: usize, describe: impl FnOnce() -> String) {
        self.hash.u64(now_ms);
        self.hash.u64(op as u64);
        if self.echo {
            println!("{}", timeline_line(now_ms, &describe()));
        }
        self.keep(now_ms, Line::Op(op));
    }

    fn keep(&mut self, now_ms: u64, line: Line) {
        if self.timeline.len() >= TIMELINE_LINES_MAX {
            self.timeline_dropped += 1;
            return;
        }
        // The time is formatted only if the timeline is ever printed.
        self.timeline.push((now_ms, line));
    }

    pub fn hash(&self) -> u64 {
        self.hash.finish()
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The readable timeline; `describe_op` formats the operation with a history index.
    pub fn timeline(&self, describe_op: impl Fn(usize) -> String) -> String {
        let lines: Vec<String> = self
            .timeline
            .iter()
            .map(|(ms, line)| match line {
                Line::Text(text) => timeline_line(*ms, text),
                Line::Op(op) => timeline_line(*ms, &describe_op(*op)),
            })
            .collect();
        let mut out = lines.join("\n");
        if self.timeline_dropped > 0 {
            out.push_str(&format!(
                "\n... {} more lines not kept",
                self.timeline_dropped
            ));
        }
        out
    }
}

fn timeline_line(now_ms: u64, line: &str) -> String {
    format!("{:>8}.{:03}s {line}", now_ms / 1000, now_ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_the_reference_function() {
        // FNV-1a 64 of "a", from the reference test vectors.
        let mut h = Fnv64::default();
        h.bytes(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn order_changes_the_hash() {
        let mut a = Trace::default();
        a.event(1, "x", &[1], b"");
        a.event(2, "y", &[2], b"");
        let mut b = Trace::default();
        b.event(2, "y", &[2], b"");
        b.event(1, "x", &[1], b"");
        assert_ne!(a.hash(), b.hash());
    }
}
