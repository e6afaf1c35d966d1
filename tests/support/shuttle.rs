//! Helpers shared by the shuttle schedules (`tests/shuttle_*.rs`, which include this file with
//! `#[path]`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Runs `check` (a shuttle scheduler) on `execution`, then fails unless it ran all
/// `iterations` executions.
pub fn run_counted(
    name: &str,
    iterations: usize,
    execution: fn(),
    check: impl FnOnce(Box<dyn Fn() + Send + Sync>),
) {
    // Counts executions outside the schedule; it takes no part in the test's synchronization.
    let executions = Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    check(Box::new(move || {
        counter.fetch_add(1, Relaxed);
        execution();
    }));
    let executions = executions.load(Relaxed);
    println!("{name}: shuttle ran {executions} executions");
    assert_eq!(executions, iterations, "{name}: shuttle skipped executions");
}
