//! Behaviour tests for `verisync::semaphore` on std threads; the same tests run under Miri.
//!
//! Tests whose name starts with `concurrent_` use several threads and are the set meant for
//! Miri's many-seeds run:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test semaphore
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test semaphore -- concurrent_
//! ```
//!
//! Whether a thread has queued is observed without timing: while a thread waits, `try_acquire`
//! fails even with a permit free ([`wait_until_queued`]), so the tests that need a queued
//! waiter leave one permit free and make the waiter ask for more.

#[path = "support/behaviour.rs"]
mod behaviour;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use behaviour::{SETTLE, scaled, spawn_watched};
use verisync::semaphore::{
    AcquireError, AcquireTimeoutError, Semaphore, TooManyPermits, TryAcquireError,
};

/// How long [`wait_until_queued`] probes before it gives up: far longer than a thread needs to
/// queue, short enough that a `try_acquire` that overtakes waiters fails the test quickly.
const QUEUE_DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 3600 } else { 10 });

/// Returns once some thread waits in `semaphore`'s queue. Needs a free permit to probe with:
/// `try_acquire` succeeds on it (the probe gives it back) until a waiter makes it fail.
fn wait_until_queued(semaphore: &Semaphore) {
    assert!(
        semaphore.available_permits() > 0,
        "the probe needs a free permit"
    );
    let deadline = Instant::now() + QUEUE_DEADLINE;
    loop {
        match semaphore.try_acquire() {
            Ok(permit) => {
                drop(permit);
                assert!(
                    Instant::now() < deadline,
                    "try_acquire kept succeeding with a thread waiting (or it never queued)"
                );
                thread::yield_now();
            }
            Err(TryAcquireError::NoPermits) => return,
            Err(err) => panic!("unexpected {err:?} while waiting for a queued thread"),
        }
    }
}

#[test]
fn permits_are_counted_and_returned_on_drop() {
    let semaphore = Semaphore::new(3);
    let one = semaphore.acquire().unwrap();
    let two = semaphore.acquire_many(2).unwrap();
    assert_eq!((one.count(), two.count()), (1, 2));
    assert_eq!(semaphore.available_permits(), 0);
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits
    );
    drop(two);
    assert_eq!(semaphore.available_permits(), 2);
    drop(one);
    assert_eq!(semaphore.available_permits(), 3);
    assert_eq!(semaphore.total_permits(), 3);
}

#[test]
fn try_acquire_many_needs_all_permits_at_once() {
    let semaphore = Semaphore::new(3);
    let held = semaphore.try_acquire().unwrap();
    assert_eq!(
        semaphore.try_acquire_many(3).unwrap_err(),
        TryAcquireError::NoPermits
    );
    assert_eq!(
        semaphore.available_permits(),
        2,
        "a failed try took permits"
    );
    let rest = semaphore.try_acquire_many(2).unwrap();
    drop((held, rest));
    assert_eq!(semaphore.try_acquire_many(3).unwrap().count(), 3);
}

#[test]
fn requests_above_the_total_wait_and_only_above_the_maximum_fail() {
    let semaphore = Semaphore::new(2);
    // The try_ forms never wait: above the current total they say so.
    assert_eq!(
        semaphore.try_acquire_many(3).unwrap_err(),
        TryAcquireError::TooLarge {
            requested: 3,
            total: 2
        }
    );
    // A blocking request above the total waits (here, until its deadline).
    assert_eq!(
        semaphore
            .acquire_many_timeout(3, Duration::from_millis(20))
            .unwrap_err(),
        AcquireTimeoutError::Timeout
    );
    // Above MAX_PERMITS no semaphore can ever grant it: at once, even without a deadline.
    let max = Semaphore::MAX_PERMITS;
    let too_large = AcquireError::TooLarge {
        requested: max + 1,
        max,
    };
    assert_eq!(semaphore.acquire_many(max + 1).unwrap_err(), too_large);
    assert_eq!(
        semaphore
            .acquire_many_timeout(usize::MAX, Duration::from_secs(3600))
            .unwrap_err(),
        AcquireTimeoutError::TooLarge {
            requested: usize::MAX,
            max
        }
    );
    assert_eq!(
        too_large.to_string(),
        format!(
            "requested {} permits, more than any semaphore can have ({max})",
            max + 1
        )
    );
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_closed_semaphore_reports_closed_whatever_the_request() {
    let semaphore = Semaphore::new(2);
    semaphore.close();
    let max = Semaphore::MAX_PERMITS;
    for n in [0, 1, 3, max, max + 1, usize::MAX] {
        assert_eq!(semaphore.acquire_many(n).unwrap_err(), AcquireError::Closed);
        assert_eq!(
            semaphore.try_acquire_many(n).unwrap_err(),
            TryAcquireError::Closed
        );
        assert_eq!(
            semaphore
                .acquire_many_timeout(n, Duration::from_secs(3600))
                .unwrap_err(),
            AcquireTimeoutError::Closed
        );
    }
}

#[test]
fn zero_permits_wait_for_added_ones() {
    let semaphore = Arc::new(Semaphore::new(0));
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::TooLarge {
            requested: 1,
            total: 0
        }
    );
    let acquired = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (semaphore, acquired) = (semaphore.clone(), acquired.clone());
        spawn_watched("waiter", move || {
            let permit = semaphore.acquire();
            acquired.store(true, Ordering::SeqCst);
            permit.map(|p| p.count())
        })
    };
    thread::sleep(SETTLE);
    assert!(
        !acquired.load(Ordering::SeqCst),
        "acquired from a semaphore with no permits"
    );
    semaphore.add_permits(1);
    assert_eq!(waiter.join(), Ok(1));
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn a_wait_above_the_total_ends_with_close() {
    let semaphore = Arc::new(Semaphore::new(0));
    let waiter = {
        let semaphore = semaphore.clone();
        spawn_watched("waiter", move || {
            semaphore.acquire_many(5).map(|p| p.count())
        })
    };
    thread::sleep(SETTLE);
    semaphore.close();
    assert_eq!(waiter.join(), Err(AcquireError::Closed));
}

#[test]
fn empty_requests_succeed() {
    let semaphore = Semaphore::new(1);
    let _held = semaphore.acquire().unwrap();
    assert_eq!(semaphore.acquire_many(0).unwrap().count(), 0);
    assert_eq!(semaphore.try_acquire_many(0).unwrap().count(), 0);
}

#[test]
fn bad_permit_counts_are_errors_or_precise_panics() {
    let max = Semaphore::MAX_PERMITS;
    assert!(Semaphore::try_new(max).is_ok());
    let err = Semaphore::try_new(max + 1).unwrap_err();
    assert_eq!(
        err,
        TooManyPermits {
            requested: max + 1,
            max
        }
    );
    let panic = std::panic::catch_unwind(|| Semaphore::new(usize::MAX)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("verisync::semaphore::Semaphore::new: "),
        "{message}"
    );
    let semaphore = Semaphore::new(max);
    assert_eq!(
        semaphore.available_permits(),
        max,
        "the maximum does not fit"
    );
    // Exactly the maximum is a request that can be granted one day: it waits, not fails.
    assert_eq!(
        semaphore.acquire_many(max).unwrap().count(),
        max,
        "a request of MAX_PERMITS was refused"
    );
    let held = semaphore.acquire_many(max).unwrap();
    assert_eq!(
        semaphore
            .acquire_many_timeout(max, Duration::ZERO)
            .unwrap_err(),
        AcquireTimeoutError::Timeout
    );
    drop(held);
    let panic = std::panic::catch_unwind(|| semaphore.add_permits(1)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("would exceed the maximum"), "{message}");
    assert_eq!(
        semaphore.total_permits(),
        max,
        "a failed add changed the total"
    );
}

#[test]
fn forget_lowers_the_total() {
    let semaphore = Semaphore::new(3);
    semaphore.acquire_many(2).unwrap().forget();
    assert_eq!(semaphore.total_permits(), 1);
    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!(
        semaphore.try_acquire_many(2).unwrap_err(),
        TryAcquireError::TooLarge {
            requested: 2,
            total: 1
        }
    );
    let waited = semaphore.acquire_many_timeout(2, Duration::ZERO);
    assert_eq!(waited.unwrap_err(), AcquireTimeoutError::Timeout);
}

#[test]
fn try_acquire_does_not_overtake_a_waiter() {
    let semaphore = Arc::new(Semaphore::new(3));
    let held = semaphore.acquire_many(2).unwrap();
    let waiter = {
        let semaphore = semaphore.clone();
        spawn_watched("waiter", move || {
            semaphore.acquire_many(3).map(|p| p.count())
        })
    };
    wait_until_queued(&semaphore);
    // One permit is free, but the older waiter comes first.
    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits
    );
    drop(held);
    assert_eq!(waiter.join(), Ok(3));
    assert_eq!(semaphore.try_acquire().unwrap().count(), 1);
}

#[test]
fn a_blocking_acquire_queues_behind_a_larger_waiter() {
    let semaphore = Arc::new(Semaphore::new(3));
    let held = semaphore.acquire_many(2).unwrap();
    let big_done = Arc::new(AtomicBool::new(false));
    let big = {
        let (semaphore, big_done) = (semaphore.clone(), big_done.clone());
        spawn_watched("big", move || {
            let permit = semaphore.acquire_many(3).unwrap();
            big_done.store(true, Ordering::SeqCst);
            drop(permit);
        })
    };
    wait_until_queued(&semaphore);
    let small_done = Arc::new(AtomicBool::new(false));
    let small = {
        let (semaphore, big_done, small_done) =
            (semaphore.clone(), big_done.clone(), small_done.clone());
        spawn_watched("small", move || {
            let _permit = semaphore.acquire().unwrap();
            small_done.store(true, Ordering::SeqCst);
            // The free permit was there all along; FIFO kept it for the older waiter.
            big_done.load(Ordering::SeqCst)
        })
    };
    thread::sleep(SETTLE);
    assert!(
        !small_done.load(Ordering::SeqCst),
        "a later, smaller request overtook a waiter"
    );
    drop(held);
    big.join();
    assert!(
        small.join(),
        "the small request was served before the big one"
    );
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn a_timed_out_waiter_leaves_the_queue() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.acquire().unwrap();
    assert_eq!(
        semaphore
            .acquire_timeout(Duration::from_millis(10))
            .unwrap_err(),
        AcquireTimeoutError::Timeout
    );
    drop(held);
    // Nobody waits any more, so try_acquire must not be turned away.
    assert_eq!(semaphore.try_acquire().unwrap().count(), 1);
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn a_timed_out_front_waiter_lets_the_next_one_through() {
    let semaphore = Arc::new(Semaphore::new(3));
    let held = semaphore.acquire_many(2).unwrap();
    let big = {
        let semaphore = semaphore.clone();
        spawn_watched("big", move || {
            semaphore
                .acquire_many_timeout(3, Duration::from_millis(200))
                .map(|p| p.count())
        })
    };
    wait_until_queued(&semaphore);
    let small = {
        let semaphore = semaphore.clone();
        spawn_watched("small", move || semaphore.acquire().map(|p| p.count()))
    };
    assert_eq!(big.join(), Err(AcquireTimeoutError::Timeout));
    // The free permit goes to the small waiter once the big one gave up.
    assert_eq!(small.join(), Ok(1));
    drop(held);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn acquire_timeout_succeeds_when_a_permit_arrives_in_time() {
    let semaphore = Arc::new(Semaphore::new(2));
    let held = semaphore.acquire().unwrap();
    let waiter = {
        let semaphore = semaphore.clone();
        spawn_watched("waiter", move || {
            semaphore
                .acquire_many_timeout(2, Duration::from_secs(3600))
                .map(|p| p.count())
        })
    };
    wait_until_queued(&semaphore);
    drop(held);
    assert_eq!(waiter.join(), Ok(2));
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    let semaphore = Arc::new(Semaphore::new(2));
    let held = semaphore.acquire().unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let semaphore = semaphore.clone();
            spawn_watched("waiter", move || {
                semaphore.acquire_many(2).map(|p| p.count())
            })
        })
        .collect();
    wait_until_queued(&semaphore);
    semaphore.close();
    for waiter in waiters {
        assert_eq!(waiter.join(), Err(AcquireError::Closed));
    }
    assert!(semaphore.is_closed());
    assert_eq!(semaphore.acquire().unwrap_err(), AcquireError::Closed);
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::Closed
    );
    assert_eq!(
        semaphore.acquire_timeout(Duration::ZERO).unwrap_err(),
        AcquireTimeoutError::Closed
    );
    // Held permits stay valid and come back.
    assert_eq!(held.count(), 1);
    drop(held);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_queued_request_above_the_total_keeps_its_place() {
    let semaphore = Arc::new(Semaphore::new(3));
    let first = semaphore.acquire().unwrap();
    let second = semaphore.acquire().unwrap();
    let large = {
        let semaphore = semaphore.clone();
        spawn_watched("large", move || {
            semaphore.acquire_many(3).map(|p| p.count())
        })
    };
    wait_until_queued(&semaphore);
    // The total drops to 2, below the request: it waits on, at the front.
    first.forget();
    let small = {
        let semaphore = semaphore.clone();
        spawn_watched("small", move || semaphore.acquire().map(|p| p.count()))
    };
    thread::sleep(SETTLE);
    // One permit is free, but the small request queued behind the large one.
    assert_eq!(semaphore.available_permits(), 1);
    semaphore.add_permits(1);
    drop(second);
    // Now 3 are free: the large request is served first, then the small one once it ends.
    assert_eq!(large.join(), Ok(3));
    assert_eq!(small.join(), Ok(1));
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn owned_permits_are_released_on_another_thread() {
    fn is_static_send<T: Send + 'static>(_: &T) {}
    let semaphore = Arc::new(Semaphore::new(2));
    let permit = semaphore.clone().acquire_owned().unwrap();
    is_static_send(&permit);
    assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    let many = semaphore.clone().try_acquire_many_owned(1).unwrap();
    assert_eq!(
        semaphore.clone().try_acquire_owned().unwrap_err(),
        TryAcquireError::NoPermits
    );
    assert_eq!(
        semaphore
            .clone()
            .acquire_owned_timeout(Duration::ZERO)
            .unwrap_err(),
        AcquireTimeoutError::Timeout
    );
    let workers: Vec<_> = [permit, many]
        .into_iter()
        .map(|permit| spawn_watched("worker", move || drop(permit)))
        .collect();
    workers.into_iter().for_each(|worker| worker.join());
    assert_eq!(semaphore.available_permits(), 2);
    let both = semaphore.clone().acquire_many_owned(2).unwrap();
    assert_eq!(both.count(), 2);
    assert_eq!(format!("{both:?}"), "OwnedPermit { count: 2, .. }");
    both.forget();
    assert_eq!(semaphore.total_permits(), 0);
    let waited = semaphore
        .clone()
        .acquire_many_owned_timeout(1, Duration::ZERO);
    assert_eq!(waited.unwrap_err(), AcquireTimeoutError::Timeout);
    semaphore.close();
    assert_eq!(
        semaphore.clone().acquire_owned().unwrap_err(),
        AcquireError::Closed
    );
    assert_eq!(
        Arc::strong_count(&semaphore),
        1,
        "a failed acquire kept its Arc"
    );
}

#[test]
fn add_permits_serves_waiters_oldest_first() {
    let semaphore = Arc::new(Semaphore::new(3));
    let held = semaphore.acquire_many(2).unwrap();
    let waiter = {
        let semaphore = semaphore.clone();
        spawn_watched("waiter", move || {
            semaphore.acquire_many(3).map(|p| p.count())
        })
    };
    wait_until_queued(&semaphore);
    semaphore.add_permits(1);
    assert_eq!(
        semaphore.available_permits(),
        2,
        "handed out a partial request"
    );
    semaphore.add_permits(1);
    assert_eq!(waiter.join(), Ok(3));
    drop(held);
    assert_eq!(semaphore.available_permits(), 5);
    assert_eq!(semaphore.total_permits(), 5);
}

#[test]
fn errors_display_and_debug() {
    assert_eq!(AcquireError::Closed.to_string(), "semaphore closed");
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
    assert_eq!(
        AcquireTimeoutError::Timeout.to_string(),
        "timed out waiting for permits"
    );
    assert_eq!(
        TryAcquireError::TooLarge {
            requested: 3,
            total: 2
        }
        .to_string(),
        "requested 3 permits from a semaphore with 2 in total"
    );
    assert_eq!(
        TooManyPermits {
            requested: 9,
            max: 8
        }
        .to_string(),
        "9 permits is too many: at most 8"
    );
    let semaphore = Semaphore::new(2);
    let permit = semaphore.acquire().unwrap();
    assert_eq!(format!("{permit:?}"), "Permit { count: 1 }");
    assert_eq!(
        format!("{semaphore:?}"),
        "Semaphore { available_permits: 1, total_permits: 2, closed: false }"
    );
}

/// `threads` threads each acquire `weight(thread, round)` permits `rounds` times; the permits
/// in use, tracked with an atomic high-water mark, never exceed the total.
fn never_more_than_the_total(
    permits: usize,
    threads: usize,
    rounds: usize,
    weight: fn(usize, usize) -> usize,
) {
    let semaphore = Arc::new(Semaphore::new(permits));
    let in_use = Arc::new(AtomicUsize::new(0));
    let high_water = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (semaphore, in_use, high_water) =
                (semaphore.clone(), in_use.clone(), high_water.clone());
            spawn_watched("worker", move || {
                for round in 0..rounds {
                    let n = weight(thread, round);
                    let permit = semaphore.acquire_many(n).unwrap();
                    let now = in_use.fetch_add(n, Ordering::SeqCst) + n;
                    high_water.fetch_max(now, Ordering::SeqCst);
                    assert!(now <= permits, "{now} permits in use out of {permits}");
                    in_use.fetch_sub(n, Ordering::SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join();
    }
    assert!(high_water.load(Ordering::SeqCst) <= permits);
    assert_eq!(semaphore.available_permits(), permits);
    assert_eq!(
        semaphore.try_acquire_many(permits).unwrap().count(),
        permits
    );
}

#[test]
fn concurrent_never_more_than_two_of_two_permits() {
    never_more_than_the_total(2, 4, scaled(20_000, 30), |_, _| 1);
}

#[test]
fn concurrent_weighted_requests_never_exceed_the_total() {
    never_more_than_the_total(3, 4, scaled(10_000, 20), |thread, round| {
        1 + (thread + round) % 3
    });
}

#[test]
fn concurrent_timeouts_and_close_leave_a_consistent_semaphore() {
    let semaphore = Arc::new(Semaphore::new(2));
    let rounds = scaled(2_000, 10);
    let workers: Vec<_> = (0..3)
        .map(|thread| {
            let semaphore = semaphore.clone();
            spawn_watched("worker", move || {
                for round in 0..rounds {
                    let n = 1 + (thread + round) % 2;
                    let result = semaphore.acquire_many_timeout(n, Duration::from_micros(50));
                    match result {
                        Ok(permit) => assert_eq!(permit.count(), n),
                        Err(AcquireTimeoutError::Timeout) => {}
                        Err(AcquireTimeoutError::Closed) => return,
                        Err(err) => panic!("unexpected {err:?}"),
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
    semaphore.close();
    for worker in workers {
        worker.join();
    }
    assert_eq!(semaphore.available_permits(), 2);
    assert_eq!(semaphore.acquire().unwrap_err(), AcquireError::Closed);
}
