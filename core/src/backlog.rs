//! The master's replication backlog: the most recent AOF bytes, kept in memory so that a
//! replica that is only a little behind resumes without a file read. Bounded; older
//! bytes are dropped from the front and served from the AOF file instead.

use crate::ids::Offset;
use std::collections::VecDeque;

#[derive(Debug)]
pub struct Backlog {
    bytes: VecDeque<u8>,
    /// Logical offset of `bytes[0]`.
    start: Offset,
    bytes_max: usize,
}

impl Backlog {
    pub fn new(start: Offset, bytes_max: usize) -> Backlog {
        Backlog {
            bytes: VecDeque::new(),
            start,
            bytes_max,
        }
    }

    pub fn start(&self) -> Offset {
        self.start
    }

    pub fn end(&self) -> Offset {
        Offset(self.start.0 + self.bytes.len() as u64)
    }

    /// Forget everything and start again at `offset` (after a truncation or a new reign).
    pub fn reset(&mut self, offset: Offset) {
        self.bytes.clear();
        self.start = offset;
    }

    /// Append bytes that begin at `offset`, which must be the backlog's end.
    pub fn push(&mut self, offset: Offset, bytes: &[u8]) {
        assert_eq!(offset, self.end(), "the backlog is contiguous");
        if bytes.len() >= self.bytes_max {
            // A burst longer than the backlog replaces all of it: never hold more.
            let kept = &bytes[bytes.len() - self.bytes_max..];
            self.bytes.clear();
            self.bytes.extend(kept);
            self.start = Offset(offset.0 + (bytes.len() - kept.len()) as u64);
            return;
        }
        self.bytes.extend(bytes);
        let excess = self.bytes.len().saturating_sub(self.bytes_max);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.start = Offset(self.start.0 + excess as u64);
        }
        debug_assert!(self.bytes.len() <= self.bytes_max);
    }

    /// Bytes from `from` to the end, if the backlog still holds `from`.
    pub fn read_from(&self, from: Offset) -> Option<Vec<u8>> {
        if from < self.start || from > self.end() {
            return None;
        }
        let skip = (from.0 - self.start.0) as usize;
        Some(self.bytes.iter().skip(skip).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_bytes() {
        let mut backlog = Backlog::new(Offset(10), 4);
        backlog.push(Offset(10), b"abc");
        backlog.push(Offset(13), b"def");
        assert_eq!(backlog.start(), Offset(12));
        assert_eq!(backlog.end(), Offset(16));
        assert_eq!(backlog.read_from(Offset(13)), Some(b"def".to_vec()));
        assert_eq!(backlog.read_from(Offset(16)), Some(Vec::new()));
        assert_eq!(backlog.read_from(Offset(11)), None);
        assert_eq!(backlog.read_from(Offset(17)), None);
    }

    #[test]
    fn a_burst_longer_than_the_backlog_keeps_its_end() {
        let mut backlog = Backlog::new(Offset(0), 4);
        backlog.push(Offset(0), b"ab");
        backlog.push(Offset(2), b"cdefgh");
        assert_eq!(backlog.start(), Offset(4));
        assert_eq!(backlog.read_from(Offset(4)), Some(b"efgh".to_vec()));
        let mut none = Backlog::new(Offset(0), 0);
        none.push(Offset(0), b"abc");
        assert_eq!(none.start(), Offset(3));
        assert_eq!(none.read_from(Offset(3)), Some(Vec::new()));
        assert_eq!(none.read_from(Offset(2)), None);
    }
}
