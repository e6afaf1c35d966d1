//! Helpers shared by the behaviour suites (`tests/<prim>.rs`, which include this file with
//! `#[path]`): a watchdog for threads that could block forever, drop counting, and counts that
//! shrink under Miri.

#![allow(dead_code, reason = "each suite uses the helpers it needs")]

#[path = "drops.rs"]
mod drops;
#[allow(unused_imports, reason = "each suite uses the helpers it needs")]
pub use drops::{DropLog, Tracked};

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

/// How long the main thread sleeps to let a helper thread get into a blocking call first.
pub const SETTLE: Duration = Duration::from_millis(50);

/// `full` normally, `miri` under Miri (which is some 1000 times slower).
pub const fn scaled(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

/// How long [`Watched::join`] waits: [`WATCHDOG`], unless `VERISYNC_WATCHDOG_SECS` says
/// otherwise (`.ci/mutants` sets a few seconds, so that a seeded lost wake-up fails fast).
fn join_limit() -> Duration {
    std::env::var("VERISYNC_WATCHDOG_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map_or(WATCHDOG, Duration::from_secs)
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
        let limit = join_limit();
        match self.done.recv_timeout(limit) {
            Ok(result) => {
                self.handle
                    .join()
                    .expect("the thread reported, then panicked");
                result.unwrap_or_else(|payload| panic::resume_unwind(payload))
            }
            Err(_) => panic!(
                "thread `{}` did not finish within {limit:?}: blocked forever (lost wake-up?)",
                self.name
            ),
        }
    }
}
