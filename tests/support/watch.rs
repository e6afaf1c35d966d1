//! Helpers shared by the behaviour tests of the semaphore, the error collector and fan-out
//! (included with `#[path]`): a watchdog for threads that might block forever, and scaling of
//! counts under Miri.

#![allow(
    dead_code,
    reason = "each test file uses its own subset of these helpers"
)]

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a test waits for a helper thread before declaring it hung. Under Miri the clock is
/// virtual and jumps ahead when every thread is blocked, so a real hang is still caught at once.
pub const WATCHDOG: Duration = if cfg!(miri) {
    Duration::from_secs(3600)
} else {
    Duration::from_secs(60)
};

/// How long the main thread sleeps to give a helper thread the chance to do something it must
/// not do (a check that can only pass early, never fail spuriously).
pub const SETTLE: Duration = Duration::from_millis(50);

/// `full` normally, `miri` under Miri (which is some 1000 times slower).
pub const fn scaled(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

/// A helper thread whose result the test waits for at most [`WATCHDOG`].
pub struct Watched<R> {
    name: &'static str,
    done: mpsc::Receiver<thread::Result<R>>,
    handle: thread::JoinHandle<()>,
}

/// Runs `f` on a new thread; [`Watched::join`] returns its result or re-raises its panic.
pub fn spawn_watched<R, F>(name: &'static str, f: F) -> Watched<R>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (report, done) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(f));
            // The test may have given up on us already; nobody to tell then.
            let _ = report.send(result);
        })
        .expect("failed to spawn a test thread");
    Watched { name, done, handle }
}

impl<R> Watched<R> {
    /// The thread's result; fails the test if the thread does not finish within [`WATCHDOG`].
    #[track_caller]
    pub fn join(self) -> R {
        match self.done.recv_timeout(WATCHDOG) {
            Ok(result) => {
                self.handle
                    .join()
                    .expect("the thread reported, then panicked");
                result.unwrap_or_else(|payload| panic::resume_unwind(payload))
            }
            Err(_) => panic!(
                "thread `{}` did not finish within {WATCHDOG:?}: blocked forever (lost wake-up?)",
                self.name
            ),
        }
    }

    /// Whether the thread has finished (without waiting).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}
