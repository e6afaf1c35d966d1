//! Helpers shared by the shuttle suites (`tests/shuttle_<prim>.rs`, which include this file
//! with `#[path]`): the two schedulers with an execution count that must be met, and a
//! drop-counting payload.

#![allow(dead_code, reason = "each suite uses the helpers it needs")]

#[path = "drops.rs"]
mod drops;
#[allow(unused_imports, reason = "each suite uses the helpers it needs")]
pub use drops::{DropLog, Tracked};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Executions per scheduler.
pub const ITERATIONS: usize = 50_000;

/// PCT's bug depth: the number of priority change points per execution.
pub const PCT_DEPTH: usize = 3;

/// Which of shuttle's schedulers picks the thread switches.
#[derive(Clone, Copy, Debug)]
pub enum Scheduler {
    /// A uniformly random thread at every step (`shuttle::check_random`).
    Random,
    /// Probabilistic concurrency testing (`shuttle::check_pct`), with [`PCT_DEPTH`].
    Pct,
}

/// Runs `scenario` for [`ITERATIONS`] executions under `scheduler`, then fails unless every
/// execution ran.
pub fn run(name: &str, scheduler: Scheduler, scenario: fn()) {
    // Counts executions outside the schedule; it takes no part in the test's synchronization.
    let executions = Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    let execution = move || {
        counter.fetch_add(1, Relaxed);
        scenario();
    };
    match scheduler {
        Scheduler::Random => shuttle::check_random(execution, ITERATIONS),
        Scheduler::Pct => shuttle::check_pct(execution, ITERATIONS, PCT_DEPTH),
    }
    let executions = executions.load(Relaxed);
    println!("{name}: shuttle ran {executions} executions");
    assert_eq!(executions, ITERATIONS, "{name}: shuttle skipped executions");
}
