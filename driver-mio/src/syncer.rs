//! The AOF's fsync thread for the node's requests (`Output::SyncAof`), as etcd overlaps
//! its WAL fsync with replication: the loop writes a pass's bytes, hands the fsync to
//! this thread and goes on serving clients and peers; when the fsync ends the thread
//! wakes the loop, which reports the offset it covered to the node
//! (`Input::AofDurable`). One fsync runs at a time; requests made meanwhile are served
//! by the next one (group commit). A failed fsync is fatal, as in Redis and PostgreSQL:
//! after a failed `fdatasync` the kernel may have dropped the dirty pages, so nothing
//! written since the last good one can be trusted to be on disk.

use std::fs::File;
use std::io;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use mio::Waker;

use crate::log_info;

/// What the thread hands back: the offset an fsync covered, or why it failed.
type Outcome = Result<u64, String>;

pub struct Syncer {
    requests: Sender<u64>,
    done: Arc<Mutex<Option<Outcome>>>,
    /// The offset the running fsync covers (lowered by a truncation meanwhile).
    in_flight: Option<u64>,
}

impl Syncer {
    /// Starts the thread on a duplicate of the AOF's descriptor; it wakes `waker` after
    /// each fsync.
    pub fn start(file: File, waker: Arc<Waker>) -> io::Result<Syncer> {
        let (requests, incoming) = mpsc::channel::<u64>();
        let done = Arc::new(Mutex::new(None));
        let done_thread = done.clone();
        std::thread::Builder::new()
            .name("aof-durable".into())
            .spawn(move || {
                crate::signals::block_in_this_thread();
                for covers in incoming {
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

    /// Start an fsync of the file as written so far, `covers` bytes long.
    pub fn begin(&mut self, covers: u64) {
        assert!(self.is_idle(), "one fsync at a time");
        self.in_flight = Some(covers);
        // The thread only ends when this sender is dropped, so the send cannot fail.
        let sent = self.requests.send(covers);
        debug_assert!(sent.is_ok());
    }

    /// The file was cut to `offset`: the running fsync cannot vouch for bytes past it.
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
