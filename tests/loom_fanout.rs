//! loom models of the fan-out task group: the limit (a slot is only free again once its task
//! has ended, and that end happens-before the next task is accepted) and a spawn from inside a
//! task. A group with two workers exceeds loom's branch budget; the root-cause rule with two
//! workers is shuttle's (`tests/shuttle_fanout.rs`).
//!
//! Under loom the crate's facade runs `fanout` on loom threads (a scoped-thread shim that joins
//! them before `scope` returns), so the worker loop, the slot semaphore, the mpmc job channel
//! and the drain at the end are all explored. The main thread of each model only spawns the
//! thread that opens the group and joins it; invariants are asserted after the join. Every
//! model fails if loom explored only a trivial number of executions.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_fanout`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use support::{Written, explore};
use verisync::fanout;

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
