//! shuttle schedules of the semaphore: four threads make weighted blocking and `try_`
//! requests on three permits, and one of them may close the semaphore at a random point.
//!
//! shuttle controls every thread switch (random and PCT schedulers) and reports a deadlock
//! when every thread is blocked, so a lost wake-up fails the test. The permits in use are
//! tracked with a high-water mark that must never exceed the total. shuttle is sequentially
//! consistent; weak-memory bugs are loom's job (`tests/loom_semaphore.rs`). Request sizes and
//! the closing point come from `shuttle::rand`, so a failure replays from its schedule.
//!
//! Run: `cargo test --release --features shuttle --test shuttle_semaphore`.
#![cfg(feature = "shuttle")]

#[path = "support/shuttle.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{Scheduler, run};
use verisync::semaphore::{AcquireError, Semaphore, TryAcquireError};

/// Permits of the semaphore.
const PERMITS: usize = 3;
/// Requesting threads.
const THREADS: usize = 4;
/// Requests per thread.
const ROUNDS: usize = 3;

/// One execution; see the module documentation.
fn weighted_requests_with_a_random_close() {
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let in_use = Arc::new(AtomicUsize::new(0));
    let closes_after = thread_rng().gen_range(0..=ROUNDS * 2);
    let threads: Vec<_> = (0..THREADS)
        .map(|id| {
            let (semaphore, in_use) = (semaphore.clone(), in_use.clone());
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    if id == 0 && round == closes_after {
                        semaphore.close();
                    }
                    let n = thread_rng().gen_range(1..=PERMITS);
                    let permit = if thread_rng().gen_bool(0.3) {
                        match semaphore.try_acquire_many(n) {
                            Ok(permit) => permit,
                            Err(TryAcquireError::NoPermits) => continue,
                            Err(TryAcquireError::Closed) => return,
                            Err(err) => panic!("unexpected {err:?}"),
                        }
                    } else {
                        match semaphore.acquire_many(n) {
                            Ok(permit) => permit,
                            Err(AcquireError::Closed) => return,
                            Err(err) => panic!("unexpected {err:?}"),
                        }
                    };
                    let now = in_use.fetch_add(n, Relaxed) + n;
                    assert!(now <= PERMITS, "{now} permits in use out of {PERMITS}");
                    thread::yield_now();
                    in_use.fetch_sub(n, Relaxed);
                    drop(permit);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(semaphore.available_permits(), PERMITS);
    if semaphore.is_closed() {
        assert_eq!(semaphore.acquire().unwrap_err(), AcquireError::Closed);
    } else {
        // Nobody waits: the queue flag must be clear, so the whole total is available.
        assert_eq!(
            semaphore.try_acquire_many(PERMITS).unwrap().count(),
            PERMITS
        );
    }
}

#[test]
fn random_schedules_of_weighted_requests() {
    run(
        "random_schedules_of_weighted_requests",
        Scheduler::Random,
        weighted_requests_with_a_random_close,
    );
}

#[test]
fn pct_schedules_of_weighted_requests() {
    run(
        "pct_schedules_of_weighted_requests",
        Scheduler::Pct,
        weighted_requests_with_a_random_close,
    );
}
