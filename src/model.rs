//! Model-check your own code: one test for loom, shuttle and a plain run.
//!
//! verisync follows the build's checker (see the crate docs, "Model-checking your own code"):
//! with `RUSTFLAGS="--cfg loom"` its atomics, locks and threads are loom's, with
//! `RUSTFLAGS="--cfg shuttle"` shuttle's, and std's otherwise. This module hands the same
//! choice to your code, so it needs no `cfg` of its own:
//! - [`sync`] and [`thread`] are the checker's modules (`loom::sync`, `shuttle::sync`,
//!   `std::sync`, and the same for `thread`): write your code's atomics, locks and spawns
//!   against them and the checker sees every step of your code too;
//! - [`cell::UnsafeCell`] is loom's cell under loom, which reports a read racing a write,
//!   and std's behind the same closure-based API otherwise;
//! - [`check`] runs a test under the checker with a sensible bound, or once without one.
//!
//! | build | [`check`] runs the test | bound |
//! |---|---|---|
//! | `--cfg loom` | in every execution loom explores | `LOOM_MAX_PREEMPTIONS`, default [`LOOM_DEFAULT_PREEMPTIONS`] |
//! | `--cfg shuttle` | under random, then PCT schedules | `VERISYNC_SHUTTLE_ITERATIONS` each, default [`SHUTTLE_DEFAULT_ITERATIONS`] |
//! | neither | once, on std threads | - |
//!
//! A failure the checker finds (a failed assertion, a deadlock, under loom a causality
//! violation) panics out of [`check`], so the test fails with the checker's report.
//!
//! verisync's own signatures keep std's `Arc` in every build (`Semaphore::acquire_owned`);
//! [`sync::Arc`](sync) is the checker's, which under loom also reports leaks.
//!
//! # Examples
//! A counter shared by two threads, written once and run under any checker:
//! ```
//! use verisync::model::sync::Arc;
//! use verisync::model::sync::atomic::{AtomicUsize, Ordering};
//! use verisync::model::thread;
//!
//! verisync::model::check(|| {
//!     let hits = Arc::new(AtomicUsize::new(0));
//!     let (tx, rx) = verisync::spsc::channel(1);
//!     let other = {
//!         let hits = hits.clone();
//!         thread::spawn(move || {
//!             // Relaxed: a count; the join orders it before the final load.
//!             hits.fetch_add(1, Ordering::Relaxed);
//!             tx.send(()).unwrap();
//!         })
//!     };
//!     rx.recv().unwrap();
//!     hits.fetch_add(1, Ordering::Relaxed);
//!     other.join().unwrap();
//!     assert_eq!(hits.load(Ordering::Relaxed), 2);
//! });
//! ```

#[cfg(verisync_loom)]
pub use loom::{sync, thread};
#[cfg(verisync_shuttle)]
pub use shuttle::{sync, thread};
#[cfg(not(any(verisync_loom, verisync_shuttle)))]
pub use std::{sync, thread};

/// The cell whose accesses the checker tracks: loom's under loom; std's otherwise, behind the
/// same closure-based API ([`cell::UnsafeCell::with`], [`cell::UnsafeCell::with_mut`]).
pub mod cell {
    pub use crate::sync::UnsafeCell;
}

/// The preemption bound [`check`] gives loom when `LOOM_MAX_PREEMPTIONS` is not set: 2 finds
/// the bugs that take two untimely context switches, in seconds for a model of a few
/// operations per thread; each step up multiplies the executions (the README has the costs).
pub const LOOM_DEFAULT_PREEMPTIONS: usize = 2;

/// The schedules [`check`] runs under each of shuttle's random and PCT schedulers when
/// `VERISYNC_SHUTTLE_ITERATIONS` is not set.
pub const SHUTTLE_DEFAULT_ITERATIONS: usize = 1000;

/// The depth [`check`] gives shuttle's PCT scheduler: the number of priority changes per
/// schedule, so bugs that take up to this many ordering constraints are found with a
/// probability that does not shrink with the length of the test.
#[cfg(verisync_shuttle)]
const SHUTTLE_PCT_DEPTH: usize = 3;

/// Runs `test` under the build's model checker: in every execution loom explores within the
/// preemption bound (`--cfg loom`), under shuttle's random and then PCT schedulers
/// (`--cfg shuttle`), or once on std threads. Panics with the checker's report when an
/// execution fails.
///
/// # Panics
/// When `test` panics in any execution the checker runs (an assertion, a deadlock the
/// checker reports), or when `LOOM_MAX_PREEMPTIONS` or `VERISYNC_SHUTTLE_ITERATIONS` is set to
/// something that is not a number.
///
/// # Examples
/// ```
/// use verisync::model::sync::Mutex;
///
/// verisync::model::check(|| {
///     let log = Mutex::new(Vec::new());
///     let (tx, rx) = verisync::mpmc::channel(2);
///     tx.send(1).unwrap();
///     tx.send(2).unwrap();
///     drop(tx);
///     for value in rx.iter() {
///         log.lock().unwrap().push(value);
///     }
///     assert_eq!(*log.lock().unwrap(), [1, 2]);
/// });
/// ```
pub fn check<F>(test: F)
where
    F: Fn() + Send + Sync + 'static,
{
    #[cfg(verisync_loom)]
    {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(LOOM_DEFAULT_PREEMPTIONS));
        builder.check(test);
    }
    #[cfg(verisync_shuttle)]
    {
        let iterations = match std::env::var("VERISYNC_SHUTTLE_ITERATIONS") {
            Ok(value) => value.parse().unwrap_or_else(|_| {
                panic!("VERISYNC_SHUTTLE_ITERATIONS must be a number of schedules, not {value:?}")
            }),
            Err(_) => SHUTTLE_DEFAULT_ITERATIONS,
        };
        let test = std::sync::Arc::new(test);
        let random = test.clone();
        shuttle::check_random(move || random(), iterations);
        shuttle::check_pct(move || test(), iterations, SHUTTLE_PCT_DEPTH);
    }
    #[cfg(not(any(verisync_loom, verisync_shuttle)))]
    test();
}
