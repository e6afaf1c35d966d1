//! loom models of the fan-out task group and its pool: the limit (a slot is only free again
//! once its task has ended, and that end happens-before the next task is accepted), a spawn
//! from inside a task, the hand-off of a task to a pool thread (what it did happens before the
//! group ends), a helper leaving just as a task is queued, the caller running its own tasks
//! while every pool thread is busy, and a shutdown that drains the queue with a task still
//! running. A pool of two threads exceeds loom's branch budget; the root-cause rule with two
//! threads is shuttle's (`tests/shuttle_fanout.rs`).
//!
//! Under loom the crate's facade runs the pool on loom threads, so the pool's job channel, the
//! group's queue and slots, its helpers and the owner's waits are all explored. The free
//! functions run on a pool of their own per call (a static pool cannot outlive a model's
//! execution). Every model fails if loom explored only a trivial number of executions.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_fanout`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::mpsc;
use loom::thread;
use support::{Written, explore, explore_bounded};
use verisync::fanout::{self, Pool};

/// With a limit of 1, a `try_spawn` that succeeds while the first task may still run must
/// come after that task has ended: its write is then ordered before our read. A slot freed
/// too early (or one slot too many) is a data race loom reports.
#[test]
fn a_slot_is_free_only_after_its_task_ended() {
    explore("a_slot_is_free_only_after_its_task_ended", 20, || {
        let opener = thread::spawn(|| {
            let written = Written::new();
            let result: Result<bool, ()> = fanout::scope(1, |group| {
                group.spawn(|| {
                    written.set(1);
                    Ok(())
                });
                let accepted = group.try_spawn(|| Ok(())).is_ok();
                if accepted {
                    let seen = written.get();
                    assert_eq!(seen, 1, "a slot was free before its task ended");
                }
                accepted
            });
            result.unwrap()
        });
        let _accepted = opener.join().unwrap();
    });
}

/// A task writes, then fails; the thread that opened the group reads the write once it sees
/// the cancellation. Without the flag's release/acquire pair that read races the write, which
/// loom reports.
#[test]
fn whoever_sees_the_cancellation_sees_what_came_before_it() {
    explore(
        "whoever_sees_the_cancellation_sees_what_came_before_it",
        5,
        || {
            let opener = thread::spawn(|| {
                let written = Written::new();
                let result: Result<bool, u8> = fanout::scope(1, |group| {
                    group.spawn(|| {
                        written.set(1);
                        Err::<(), _>(7)
                    });
                    let cancelled = group.is_cancelled();
                    if cancelled {
                        let seen = written.get();
                        assert_eq!(
                            seen, 1,
                            "the cancellation came before the failed task's write"
                        );
                    }
                    cancelled
                });
                result
            });
            assert_eq!(opener.join().unwrap(), Err(7));
        },
    );
}

/// Limit 1: the only task spawns another from inside; it must run in place (queueing it would
/// wait forever for the busy worker, which loom reports as a deadlock).
#[test]
fn a_spawn_from_a_task_runs_in_place() {
    explore("a_spawn_from_a_task_runs_in_place", 5, || {
        let opener = thread::spawn(|| {
            let nested_ran = AtomicBool::new(false);
            let result: Result<(), ()> = fanout::scope(1, |group| {
                group.spawn(|| {
                    group.spawn(|| {
                        nested_ran.store(true, Ordering::Relaxed);
                        Ok(())
                    });
                    Ok(())
                });
            });
            result.map(|()| nested_ran.load(Ordering::Relaxed))
        });
        assert_eq!(opener.join().unwrap(), Ok(true));
    });
}

/// A task run by the pool's thread (the helper) writes; the owner reads once the group has
/// ended. The end of the group must come after the task's end: without the Release/Acquire
/// pair on the count of tasks in flight, loom reports the read as racing the write. The
/// schedule that shows it takes four preemptions (the usual bound is three).
#[test]
fn what_a_pool_thread_did_happens_before_the_group_ends() {
    explore_bounded(
        "what_a_pool_thread_did_happens_before_the_group_ends",
        5,
        4,
        || {
            let pool = Pool::new(1);
            let written = Written::new();
            let result: Result<(), ()> = pool.scope(1, |group| {
                group.spawn(|| {
                    written.set(1);
                    Ok(())
                });
            });
            assert_eq!(result, Ok(()));
            assert_eq!(written.get(), 1, "the group ended before its task did");
        },
    );
}

/// The one helper runs task A and leaves just as task B is queued; B must still get a helper
/// (the owner then blocks until B has run, so a B left in the queue is a deadlock loom
/// reports). Checks the store-buffering pair between the owner's queueing and the helper's
/// leaving, and the helper's last look at the queue.
#[test]
fn a_task_queued_as_the_helper_leaves_gets_a_helper() {
    explore_bounded(
        "a_task_queued_as_the_helper_leaves_gets_a_helper",
        5,
        2,
        || {
            let pool = Pool::new(1);
            let (ran, wait) = mpsc::channel();
            let result: Result<(), ()> = pool.scope(2, |group| {
                group.spawn(|| Ok(()));
                group.spawn(move || {
                    ran.send(()).unwrap();
                    Ok(())
                });
                wait.recv().unwrap();
            });
            assert_eq!(result, Ok(()));
        },
    );
}

/// The pool's only thread is busy with a detached task that waits for the group to end; the
/// group's task can only run on the thread that opened the group, which must run it instead
/// of waiting for a pool thread (else loom reports the deadlock).
#[test]
fn the_owner_runs_its_tasks_while_the_pool_is_busy() {
    explore("the_owner_runs_its_tasks_while_the_pool_is_busy", 5, || {
        let pool = Pool::new(1);
        let (group_ended, wait_for_group) = mpsc::channel::<()>();
        pool.spawn(move || wait_for_group.recv().unwrap());
        let ran = AtomicBool::new(false);
        let result: Result<(), ()> = pool.scope(1, |group| {
            group.spawn(|| {
                ran.store(true, Ordering::Relaxed);
                Ok(())
            });
        });
        assert_eq!(result, Ok(()));
        assert!(ran.load(Ordering::Relaxed));
        group_ended.send(()).unwrap();
    });
}

/// Shutdown with one detached task running and one still queued: both run (the queue is
/// drained before the threads leave), and what they did happens before `shutdown` returns.
#[test]
fn shutdown_drains_the_queue_then_joins() {
    explore("shutdown_drains_the_queue_then_joins", 5, || {
        let pool = Pool::new(1);
        let ran = std::sync::Arc::new(AtomicUsize::new(0));
        let written = std::sync::Arc::new(Written::new());
        for _ in 0..2 {
            let (ran, written) = (ran.clone(), written.clone());
            pool.spawn(move || {
                if ran.fetch_add(1, Ordering::Relaxed) == 1 {
                    written.set(1);
                }
            });
        }
        let panics = pool.shutdown();
        assert!(panics.is_empty());
        assert_eq!(
            ran.load(Ordering::Relaxed),
            2,
            "a queued task was dropped at shutdown"
        );
        assert_eq!(written.get(), 1);
    });
}
