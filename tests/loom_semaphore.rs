//! loom models of the semaphore: the hand-off of a permit between blocking acquirers (no lost
//! wake-up, and the holder's writes visible to the next holder), weighted requests queued
//! behind a holder, `close` waking a waiter, and a timed acquire whose deadline races the
//! hand-off (under loom a wait with a deadline times out at once, so both outcomes occur).
//!
//! The main thread of each model only creates the semaphore, spawns the roles and joins them;
//! invariants are asserted after the joins. Every model counts its executions and fails if
//! loom explored only a trivial number of them.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_semaphore`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use support::{Written, explore};
use verisync::semaphore::{AcquireError, AcquireTimeoutError, Semaphore};

/// A counter that only the holder of the semaphore's single permit may touch: loom reports
/// any access that the permit hand-off does not order.
struct Guarded {
    semaphore: Semaphore,
    counter: UnsafeCell<usize>,
}

// SAFETY: `counter` is only accessed while holding the one permit, whose hand-off orders the
// accesses (and loom checks exactly that).
unsafe impl Sync for Guarded {}

impl Guarded {
    /// Takes the permit (blocking), bumps the counter, gives the permit back.
    fn bump(&self) {
        let permit = self.semaphore.acquire().expect("not closed");
        // SAFETY: we hold the only permit.
        self.counter.with_mut(|counter| unsafe { *counter += 1 });
        drop(permit);
    }
}

/// Two threads take turns on one permit with blocking `acquire`, twice each for one of them.
/// A lost wake-up leaves a thread parked forever (loom reports the deadlock); a hand-off
/// without happens-before is a data race on the counter.
#[test]
fn blocking_handoff_of_one_permit() {
    explore("blocking_handoff_of_one_permit", 50, || {
        let guarded = Arc::new(Guarded {
            semaphore: Semaphore::new(1),
            counter: UnsafeCell::new(0),
        });
        let other = guarded.clone();
        let first = thread::spawn(move || {
            other.bump();
            other.bump();
        });
        let other = guarded.clone();
        let second = thread::spawn(move || other.bump());
        first.join().unwrap();
        second.join().unwrap();
        // SAFETY: both threads are joined.
        let total = guarded.counter.with(|counter| unsafe { *counter });
        assert_eq!(total, 3);
        assert_eq!(guarded.semaphore.available_permits(), 1);
        // Nobody waits any more: the queue flag must be clear again.
        assert!(guarded.semaphore.try_acquire().is_ok());
    });
}

/// A weighted request for both permits waits while a single permit is held and is served
/// when it comes back; a one-permit `try_acquire` races with both.
#[test]
fn weighted_request_waits_for_the_holder() {
    explore("weighted_request_waits_for_the_holder", 50, || {
        let semaphore = Arc::new(Semaphore::new(2));
        let holder = {
            let semaphore = semaphore.clone();
            thread::spawn(move || {
                let permit = semaphore.acquire().unwrap();
                drop(permit);
            })
        };
        let weighted = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire_many(2).unwrap().count())
        };
        let probe = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.try_acquire().map(|p| p.count()).ok())
        };
        holder.join().unwrap();
        assert_eq!(weighted.join().unwrap(), 2);
        let _ = probe.join().unwrap();
        assert_eq!(semaphore.available_permits(), 2);
        assert!(semaphore.try_acquire_many(2).is_ok());
    });
}

/// `close` while a thread waits for the held permit: the waiter gets the permit or `Closed`,
/// but never sleeps forever, and the held permit still comes back.
#[test]
fn close_wakes_a_waiter() {
    explore("close_wakes_a_waiter", 20, || {
        let semaphore = Arc::new(Semaphore::new(1));
        let closer = {
            let semaphore = semaphore.clone();
            thread::spawn(move || {
                let permit = semaphore.acquire();
                semaphore.close();
                drop(permit);
            })
        };
        let waiter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || match semaphore.acquire() {
                Ok(permit) => drop(permit),
                Err(err) => assert_eq!(err, AcquireError::Closed),
            })
        };
        closer.join().unwrap();
        waiter.join().unwrap();
        assert!(semaphore.is_closed());
        assert_eq!(semaphore.available_permits(), 1);
    });
}

/// `close` races a thread that is just queueing for a permit that stays held throughout: the
/// waiter must end with `Closed` (there is never a permit to give it), whichever of the two
/// takes the queue lock first, and must never sleep forever.
#[test]
fn close_races_a_queueing_waiter_while_the_permit_stays_held() {
    explore(
        "close_races_a_queueing_waiter_while_the_permit_stays_held",
        10,
        || {
            let semaphore = std::sync::Arc::new(Semaphore::new(1));
            let held = semaphore.clone().acquire_owned().unwrap();
            let waiter = {
                let semaphore = semaphore.clone();
                thread::spawn(move || semaphore.acquire().map(|p| p.count()))
            };
            let closer = {
                let semaphore = semaphore.clone();
                thread::spawn(move || semaphore.close())
            };
            closer.join().unwrap();
            assert_eq!(waiter.join().unwrap(), Err(AcquireError::Closed));
            drop(held);
            assert_eq!(semaphore.available_permits(), 1);
        },
    );
}

/// A release that finds a waiter queued takes the locked path, but by the time it holds the
/// lock another release may have served that waiter and emptied the queue: the permit it
/// adds is then free for a `try_acquire`, and the writes made while holding it must be
/// visible to that taker. The taker takes both permits, so it only reads once the writer has
/// released; a release on the locked path without release ordering is a data race loom
/// reports.
#[test]
fn a_release_on_the_locked_path_orders_its_holder_before_a_try_acquire() {
    explore(
        "a_release_on_the_locked_path_orders_its_holder_before_a_try_acquire",
        50,
        || {
            let semaphore = std::sync::Arc::new(Semaphore::new(2));
            let written = Arc::new(Written::new());
            let mine = semaphore.clone().acquire_owned().unwrap();
            let writers = semaphore.clone().acquire_owned().unwrap();
            let writer = {
                let written = written.clone();
                thread::spawn(move || {
                    written.set(1);
                    drop(writers);
                })
            };
            let waiter = {
                let semaphore = semaphore.clone();
                thread::spawn(move || drop(semaphore.acquire().unwrap()))
            };
            drop(mine);
            if let Ok(both) = semaphore.try_acquire_many(2) {
                // With both permits taken, the writer has released its own.
                let seen = written.get();
                assert_eq!(seen, 1, "took the writer's permit before its write");
                drop(both);
            }
            writer.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(semaphore.available_permits(), 2);
        },
    );
}

/// A timed acquire queues behind the holder of the only permit; under loom its deadline passes
/// at once, so the holder's release and the timeout race: the release may hand the permit to
/// the waiter just before or just after its deadline, or find it gone. Whichever way, the
/// permit is held by exactly one thread at a time (the counter) and is back at the end; a
/// timeout that drops a permit handed over at the last moment loses it.
#[test]
fn a_timed_acquire_racing_the_hand_off_keeps_the_permit() {
    explore(
        "a_timed_acquire_racing_the_hand_off_keeps_the_permit",
        20,
        || {
            let guarded = Arc::new(Guarded {
                semaphore: Semaphore::new(1),
                counter: UnsafeCell::new(0),
            });
            let holder = {
                let guarded = guarded.clone();
                thread::spawn(move || guarded.bump())
            };
            let timed = {
                let guarded = guarded.clone();
                thread::spawn(move || {
                    let semaphore = &guarded.semaphore;
                    match semaphore.acquire_timeout(std::time::Duration::from_secs(3600)) {
                        Ok(permit) => {
                            // SAFETY: we hold the only permit.
                            guarded.counter.with_mut(|counter| unsafe { *counter += 1 });
                            drop(permit);
                            true
                        }
                        Err(AcquireTimeoutError::Timeout) => false,
                        Err(err) => panic!("unexpected {err:?}"),
                    }
                })
            };
            holder.join().unwrap();
            let acquired = timed.join().unwrap();
            // SAFETY: both threads are joined.
            let total = guarded.counter.with(|counter| unsafe { *counter });
            assert_eq!(total, 1 + usize::from(acquired));
            assert_eq!(
                guarded.semaphore.available_permits(),
                1,
                "a permit was lost"
            );
            assert!(
                guarded.semaphore.try_acquire().is_ok(),
                "the queue flag stayed set"
            );
        },
    );
}
