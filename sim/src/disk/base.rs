//! The base file of a node's disk, beside its AOF (see `Output::BeginBase`).
//!
//! The disk's AOF stays the node's whole logical history (its shadow), so that every
//! checker keeps reading offsets from zero; the files the node itself reads back are
//! the base and the history's bytes from the base's offset on (the tail). A base being
//! written is lost in a crash; an installed one is durable (the driver syncs it and
//! swaps the manifest atomically).

use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use bucket_core::BaseKind;

use super::Disk;

/// An installed base: durable, named by the manifest.
#[derive(Clone, Debug)]
pub struct BaseFile {
    pub offset: u64,
    pub bytes: Rc<Vec<u8>>,
    /// The history it stands for: the AOF of the node that wrote it, up to `offset`.
    pub history: Rc<Vec<u8>>,
}

/// A base being written: a temporary file.
#[derive(Clone, Debug)]
pub(super) struct TempBase {
    offset: u64,
    kind: BaseKind,
    bytes: Vec<u8>,
}

impl Disk {
    pub fn base(&self) -> Option<&BaseFile> {
        self.base.as_ref()
    }

    /// Where the tail starts: the base's offset, zero without one.
    pub fn tail_start(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.offset)
    }

    /// The tail: what the node's tail files hold, from the base's offset on.
    pub fn tail(&self) -> &[u8] {
        &self.aof()[self.tail_start() as usize..]
    }

    /// `BeginBase`. A rewrite's cut is the AOF's end, and the driver syncs the AOF
    /// before it starts the new tail file there.
    pub fn begin_base(&mut self, offset: u64, kind: BaseKind) -> Result<(), String> {
        if self.temp_base.is_some() {
            return Err("BeginBase while another base is being written".to_string());
        }
        match kind {
            BaseKind::Rewrite if offset != self.aof_len() => {
                return Err(format!(
                    "a rewrite's base at {offset} but the AOF ends at {}",
                    self.aof_len()
                ))
            }
            BaseKind::Rewrite => self.sync(),
            BaseKind::FromMaster => {}
        }
        self.temp_base = Some(TempBase {
            offset,
            kind,
            bytes: Vec::new(),
        });
        Ok(())
    }

    pub fn write_base(&mut self, bytes: &[u8]) -> Result<(), String> {
        let temp = self
            .temp_base
            .as_mut()
            .ok_or("WriteBase with no base begun")?;
        temp.bytes.extend_from_slice(bytes);
        Ok(())
    }

    /// The base being written, if any: its kind and its bytes so far.
    pub fn temp_base(&self) -> Option<(BaseKind, &[u8])> {
        self.temp_base.as_ref().map(|t| (t.kind, &t.bytes[..]))
    }

    /// `FinishBase`: the temporary base becomes the base. A base from the master brings
    /// `history`, the master's AOF up to the base's offset, as this disk's shadow: the
    /// whole AOF is replaced at once, durably (the manifest swap).
    pub fn finish_base(&mut self, history: Option<Rc<Vec<u8>>>) -> Result<BaseFile, String> {
        let temp = self
            .temp_base
            .take()
            .ok_or("FinishBase with no base begun")?;
        let history = match (temp.kind, history) {
            (BaseKind::FromMaster, Some(history)) => {
                if history.len() as u64 != temp.offset {
                    return Err("a base from the master at another offset than its history".into());
                }
                self.set_history(history.to_vec());
                history
            }
            (BaseKind::FromMaster, None) => {
                return Err("a base from the master that no node wrote".into())
            }
            (BaseKind::Rewrite, _) => Rc::new(self.aof()[..temp.offset as usize].to_vec()),
        };
        let base = BaseFile {
            offset: temp.offset,
            bytes: Rc::new(temp.bytes),
            history,
        };
        self.base = Some(base.clone());
        Ok(base)
    }

    pub fn abandon_base(&mut self) {
        self.temp_base = None;
    }

    /// A crash: a base being written is gone.
    pub(super) fn crash_base(&mut self) {
        self.temp_base = None;
    }

    /// A cut to zero drops the base too; a cut inside it is impossible.
    pub(super) fn truncate_base(&mut self, offset: u64) -> Result<(), String> {
        match &self.base {
            Some(_) if offset == 0 => {
                self.base = None;
                Ok(())
            }
            Some(base) if offset < base.offset => Err(format!(
                "TruncateAof to {offset}, inside the base at {}",
                base.offset
            )),
            _ => Ok(()),
        }
    }
}

/// The bases nodes wrote of their own AOF, by their bytes' checksum, with the history
/// each stands for: a replica that loads one from the master takes that history as its
/// own disk's. An installed base keeps its history alive, and the newest few are kept
/// besides, for the frames of a base still on their way after a newer one replaced it.
#[derive(Debug, Default)]
pub struct BaseHistories {
    by_checksum: HashMap<u32, Weak<Vec<u8>>>,
    newest: VecDeque<Rc<Vec<u8>>>,
    /// Bases being streamed to a replica, kept until their frames have surely landed
    /// (or been lost): (until when, in virtual ms, and the history).
    streamed: VecDeque<(u64, Rc<Vec<u8>>)>,
}

/// How long a streamed base's history is kept: past any frame's delay, late or not.
const STREAMED_BASE_KEPT_MS: u64 = 60_000;

/// Bases `BaseHistories` keeps alive beyond those installed.
const BASE_HISTORIES_KEPT: usize = 64;

impl BaseHistories {
    /// A master streams `base` at `now_ms`: its frames may land after the master
    /// replaced it, so its history stays until they have.
    pub fn streaming(&mut self, base: &BaseFile, now_ms: u64) {
        let key = crc32fast::hash(&base.bytes);
        self.by_checksum.insert(key, Rc::downgrade(&base.history));
        self.streamed
            .push_back((now_ms + STREAMED_BASE_KEPT_MS, base.history.clone()));
        while self
            .streamed
            .front()
            .is_some_and(|(until, _)| *until < now_ms)
        {
            self.streamed.pop_front();
        }
    }

    /// Execute `FinishBase` on `disk`.
    pub fn finish(&mut self, disk: &mut Disk) -> Result<BaseFile, String> {
        let (kind, bytes) = disk.temp_base().ok_or("FinishBase with no base begun")?;
        let key = crc32fast::hash(bytes);
        let history = match kind {
            BaseKind::Rewrite => None,
            BaseKind::FromMaster => self.by_checksum.get(&key).and_then(Weak::upgrade),
        };
        let base = disk.finish_base(history)?;
        if kind == BaseKind::Rewrite {
            self.by_checksum.insert(key, Rc::downgrade(&base.history));
            self.newest.push_back(base.history.clone());
            if self.newest.len() > BASE_HISTORIES_KEPT {
                self.newest.pop_front();
                self.by_checksum.retain(|_, h| h.strong_count() > 0);
            }
        }
        Ok(base)
    }
}
