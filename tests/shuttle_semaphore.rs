//! shuttle schedules of the semaphore: four threads make weighted blocking, zero-timeout,
//! above-the-total and `try_` requests on three permits, while a closer holds one permit and
//! may close the semaphore at a random point.
//!
//! shuttle controls every thread switch (random and PCT schedulers) and reports a deadlock
//! when every thread is blocked, so a lost wake-up fails the test. The permits in use are
//! tracked with a high-water mark that must never exceed the total. shuttle is sequentially
//! consistent; weak-memory bugs are loom's job (`tests/loom_semaphore.rs`). Request sizes and
//! the closing point come from `shuttle::rand`, so a failure replays from its schedule.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_semaphore`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{Scheduler, run};
use verisync::semaphore::{AcquireError, AcquireTimeoutError, Semaphore, TryAcquireError};

/// Permits of the semaphore.
const PERMITS: usize = 3;
/// Requesting threads: more than permits, so that some always queue.
const THREADS: usize = 4;
/// Requests per thread.
const ROUNDS: usize = 3;

/// One request of a round, drawn at random.
#[derive(Clone, Copy)]
enum Request {
    /// `try_acquire_many`: never waits.
    Try,
    /// `acquire_many_timeout` with a zero timeout: queues, then leaves the queue at once
    /// (the removal path, which may unblock the waiters behind it).
    Timeout,
    /// `acquire_many` of more than the total: waits at the front until the closer closes.
    AboveTotal,
    /// `acquire_many`.
    Blocking,
}

/// One execution; see the module documentation.
fn weighted_requests_with_a_random_close() {
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let in_use = Arc::new(AtomicUsize::new(0));
    // Requests above the total only end with a close, so they are made only when one comes.
    let will_close = thread_rng().gen_bool(0.7);
    let closer = {
        let semaphore = semaphore.clone();
        thread::spawn(move || {
            // A permit held for the whole run until the close, so that close also meets
            // waiters that can never be served.
            let held = semaphore.clone().try_acquire_owned().ok();
            for _ in 0..thread_rng().gen_range(0..=THREADS * ROUNDS) {
                thread::yield_now();
            }
            if will_close {
                semaphore.close();
            }
            drop(held);
        })
    };
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (semaphore, in_use) = (semaphore.clone(), in_use.clone());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let request = match thread_rng().gen_range(0..20) {
                        0..=5 => Request::Try,
                        6..=8 => Request::Timeout,
                        9 if will_close => Request::AboveTotal,
                        _ => Request::Blocking,
                    };
                    let n = match request {
                        Request::AboveTotal => PERMITS + 1,
                        _ => thread_rng().gen_range(1..=PERMITS),
                    };
                    let permit = match request {
                        Request::Try => match semaphore.try_acquire_many(n) {
                            Ok(permit) => permit,
                            Err(TryAcquireError::NoPermits) => continue,
                            Err(TryAcquireError::Closed) => return,
                            Err(err) => panic!("unexpected {err:?}"),
                        },
                        Request::Timeout => {
                            match semaphore.acquire_many_timeout(n, Duration::ZERO) {
                                Ok(permit) => permit,
                                Err(AcquireTimeoutError::Timeout) => continue,
                                Err(AcquireTimeoutError::Closed) => return,
                                Err(err) => panic!("unexpected {err:?}"),
                            }
                        }
                        Request::AboveTotal | Request::Blocking => {
                            match semaphore.acquire_many(n) {
                                Ok(permit) => permit,
                                Err(AcquireError::Closed) => return,
                                Err(err) => panic!("unexpected {err:?}"),
                            }
                        }
                    };
                    assert!(n <= PERMITS, "granted {n} of a total of {PERMITS}");
                    let now = in_use.fetch_add(n, Relaxed) + n;
                    assert!(now <= PERMITS, "{now} permits in use out of {PERMITS}");
                    thread::yield_now();
                    in_use.fetch_sub(n, Relaxed);
                    drop(permit);
                }
            })
        })
        .collect();
    closer.join().unwrap();
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
