//! SIGTERM and SIGINT: the handler only sets a flag; the loop checks it every pass.
//!
//! The signal also interrupts `epoll_wait` (it is never restarted), and the loop's poll
//! timeout is capped (`event_loop::POLL_TIMEOUT_MS_MAX`), so the flag is seen at once
//! or within that cap even if the signal lands on another thread. The fsync thread blocks
//! both signals so that they are delivered to the loop's thread.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_signal: libc::c_int) {
    // Only async-signal-safe work here: one atomic store.
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGTERM and SIGINT handlers.
pub fn install() -> std::io::Result<()> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is a valid value to fill in; the handler only does an
        // atomic store, which is async-signal-safe.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Blocks SIGTERM and SIGINT in the calling thread (for helper threads).
pub fn block_in_this_thread() {
    // SAFETY: plain libc calls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}
