//! The AOF's fsync thread for the node's requests (`Output::SyncAof`), as etcd overlaps
//! its WAL fsync with replication: the loop writes a pass's bytes, hands the fsync to
//! this thread and goes on serving clients and peers; when the fsync ends the thread
//! wakes the loop, which reports the offset it covered to the node
//! (`Input::AofDurable`). One fsync runs at a time; requests made meanwhile are served
//! by the next one (group commit). A failed fsync is fatal, as in Redis and PostgreSQL:
//! after a failed `fdatasync` the kernel may have dropped the dirty pages, so nothing
//! written since the last good one can be trusted to be on disk.
//!
//! Each request carries the file to sync: the AOF's current tail file, which changes
//! when a rewrite starts a new one. An fsync of the old tail that ends after the switch
//! still reports what it covered truthfully: the switch itself fsynced the old tail in
//! full, and every byte before the new tail's start is in the old tail or earlier.
//!
//! [`BackgroundSync`] is the plain form, with no report: the everysec fsyncs of the
//! tail, and the fsyncs that keep a base being written from piling up dirty pages.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use mio::Waker;

use crate::log_info;

/// What the thread hands back: the offset an fsync covered, or why it failed.
type Outcome = Result<u64, String>;

pub struct Syncer {
    requests: Sender<(Arc<File>, u64)>,
    done: Arc<Mutex<Option<Outcome>>>,
    /// The offset the running fsync covers (lowered by a truncation meanwhile).
    in_flight: Option<u64>,
}

impl Syncer {
    /// Starts the thread; it wakes `waker` after each fsync.
    pub fn start(waker: Arc<Waker>) -> io::Result<Syncer> {
        let (requests, incoming) = mpsc::channel::<(Arc<File>, u64)>();
        let done = Arc::new(Mutex::new(None));
        let done_thread = done.clone();
        std::thread::Builder::new()
            .name("aof-durable".into())
            .spawn(move || {
                crate::signals::block_in_this_thread();
                for (file, covers) in incoming {
                    let outcome = file.sync_data().map(|()| covers).map_err(|e| e.to_string());
                    *done_thread.lock().expect("never poisoned: no panics here") = Some(outcome);
                    // A loop that cannot be woken still finds the outcome on its next pass.
                    let _ = waker.wake();
                }
            })?;
        log_info!("AOF fsync thread started for durability requests");
        Ok(Syncer {
            requests,
            done,
            in_flight: None,
        })
    }

    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none()
    }

    /// Start an fsync of `file`, the current tail, which makes the AOF durable up to
    /// the logical offset `covers` (its end as written so far).
    pub fn begin(&mut self, file: Arc<File>, covers: u64) {
        assert!(self.is_idle(), "one fsync at a time");
        self.in_flight = Some(covers);
        // The thread only ends when this sender is dropped, so the send cannot fail.
        let sent = self.requests.send((file, covers));
        debug_assert!(sent.is_ok());
    }

    /// The AOF was cut to `offset`, or replaced by a base at `offset`: the running fsync
    /// cannot vouch for bytes past it.
    pub fn lower(&mut self, offset: u64) {
        if let Some(covers) = self.in_flight.as_mut() {
            *covers = (*covers).min(offset);
        }
    }

    /// The offset the last fsync made durable, once it has ended.
    pub fn take_done(&mut self) -> io::Result<Option<u64>> {
        let outcome = self
            .done
            .lock()
            .expect("never poisoned: no panics here")
            .take();
        let Some(outcome) = outcome else {
            return Ok(None);
        };
        let covers = self.in_flight.take().expect("an fsync was running");
        match outcome {
            Ok(started_at) => Ok(Some(covers.min(started_at))),
            Err(message) => Err(io::Error::other(format!("AOF fsync failed: {message}"))),
        }
    }
}

/// A thread that fsyncs the file it is handed, one at a time, and reports nothing but
/// failure. The loop never waits for it: a signal while it is busy is refused, and the
/// caller tries again later (as Redis postpones an everysec fsync). A failure stays
/// recorded: after a failed fsync nothing written since the last good one is trusted.
pub struct BackgroundSync {
    signal: Sender<Arc<File>>,
    busy: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<String>>>,
}

impl BackgroundSync {
    pub fn start(thread_name: &str) -> io::Result<BackgroundSync> {
        let (signal, signals) = mpsc::channel::<Arc<File>>();
        let busy = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let (busy_thread, failure_thread) = (busy.clone(), failure.clone());
        std::thread::Builder::new()
            .name(thread_name.into())
            .spawn(move || {
                crate::signals::block_in_this_thread();
                for file in signals {
                    if let Err(e) = file.sync_data() {
                        *failure_thread
                            .lock()
                            .expect("never poisoned: no panics here") = Some(e.to_string());
                    }
                    busy_thread.store(false, Ordering::Release);
                }
            })?;
        log_info!("background fsync thread {thread_name} started");
        Ok(BackgroundSync {
            signal,
            busy,
            failure,
        })
    }

    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Hands `file` to the thread unless it is busy. True if handed over.
    pub fn signal(&mut self, file: Arc<File>) -> bool {
        if self.is_busy() {
            return false;
        }
        self.busy.store(true, Ordering::Release);
        // The thread only ends when this sender is dropped, so the send cannot fail.
        self.signal.send(file).is_ok()
    }

    /// A background fsync that failed is a disk failure: fatal.
    pub fn check(&self) -> io::Result<()> {
        let failure = self.failure.lock().expect("never poisoned: no panics here");
        match failure.as_ref() {
            Some(message) => Err(io::Error::other(format!(
                "background fsync failed: {message}"
            ))),
            None => Ok(()),
        }
    }

    /// What the thread records when `fdatasync` fails (EIO cannot be caused in a test).
    #[cfg(test)]
    pub fn record_failure(&self, message: &str) {
        *self.failure.lock().expect("never poisoned") = Some(message.to_string());
    }
}
