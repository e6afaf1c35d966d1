//! A counter of the tasks running at once, for the fan-out checks (`tests/fanout.rs` and
//! `tests/support/ops/fanout.rs`, shared by the model suite and the fuzz target; each includes
//! this file with `#[path]`).

#![allow(dead_code, reason = "each suite uses the counts it needs")]

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the tasks running at once, remembers the most there ever were, and counts the
/// tasks that ran.
#[derive(Default)]
pub struct HighWater {
    running: AtomicUsize,
    most: AtomicUsize,
    ran: AtomicUsize,
}

impl HighWater {
    /// Runs `work` counted as one running task.
    pub fn run<R>(&self, work: impl FnOnce() -> R) -> R {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.ran.fetch_add(1, Ordering::SeqCst);
        let result = work();
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// The most tasks that ran at once.
    pub fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    /// The tasks that ran.
    pub fn ran(&self) -> usize {
        self.ran.load(Ordering::SeqCst)
    }
}
