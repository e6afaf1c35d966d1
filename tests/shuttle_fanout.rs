//! shuttle schedules of the fan-out task group: a limit of 2 with six tasks that may fail,
//! poll for cancellation or spawn from inside a task (a nested task spawned after the group
//! was cancelled must not run), and an ordered `map`.
//!
//! shuttle controls every thread switch of the scope's own thread and of the workers (the
//! crate's facade gives `fanout` shuttle's scoped threads under this feature) and reports a
//! deadlock when every thread is blocked. The tasks running at once are counted with a
//! high-water mark that must never exceed the limit; a failed group must return the root
//! error, never the "cancelled" one its other tasks return after seeing the cancellation.
//! Which tasks fail comes from `shuttle::rand`, so a failure replays from its schedule.
//!
//! Run: `cargo test --release --features shuttle --test shuttle_fanout`.
#![cfg(feature = "shuttle")]

#[path = "support/shuttle.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{Scheduler, run};
use verisync::fanout;

/// The group's limit.
const LIMIT: usize = 2;
/// Tasks spawned per execution.
const TASKS: usize = 6;

/// What one task does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Succeed,
    Fail,
    /// Polls for cancellation a few times and fails with "cancelled" if it sees it.
    Poll,
    /// Spawns a task from inside the task.
    Nest,
}

/// One execution of a group; see the module documentation.
fn group_with_random_failures() {
    let roles: Vec<Role> = (0..TASKS)
        .map(|_| match thread_rng().gen_range(0..4) {
            0 => Role::Succeed,
            1 => Role::Fail,
            2 => Role::Poll,
            _ => Role::Nest,
        })
        .collect();
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let enter = || {
        let now = running.fetch_add(1, Relaxed) + 1;
        most.fetch_max(now, Relaxed);
        ran.fetch_add(1, Relaxed);
    };
    let leave = || {
        running.fetch_sub(1, Relaxed);
    };
    let result = fanout::scope(LIMIT, |group| {
        for (id, &role) in roles.iter().enumerate() {
            let (enter, leave) = (&enter, &leave);
            group.spawn(move || {
                enter();
                let outcome = match role {
                    Role::Succeed => Ok(()),
                    Role::Fail => Err(format!("task {id} failed")),
                    Role::Poll => {
                        let mut outcome = Ok(());
                        for _ in 0..3 {
                            if group.is_cancelled() {
                                outcome = Err(String::from("cancelled"));
                                break;
                            }
                            thread::yield_now();
                        }
                        outcome
                    }
                    Role::Nest => {
                        // Spawned from a task, the nested task runs in place, right away;
                        // once the group is cancelled it must be skipped instead.
                        let cancelled = group.is_cancelled();
                        group.spawn(move || {
                            assert!(!cancelled, "a task spawned after the cancellation ran");
                            Ok::<_, String>(())
                        });
                        Ok(())
                    }
                };
                leave();
                outcome
            });
        }
    });
    let most = most.load(Relaxed);
    assert!(most <= LIMIT, "{most} tasks ran at once with limit {LIMIT}");
    let first_failure = roles.iter().position(|&role| role == Role::Fail);
    match (result, first_failure) {
        (Ok(()), None) => assert_eq!(ran.load(Relaxed), TASKS),
        (Err(error), Some(_)) => assert!(error.ends_with("failed"), "not the root cause: {error}"),
        (result, failure) => panic!("result {result:?} with the first failing task {failure:?}"),
    }
}

/// An ordered `map` over five items with a limit of 2.
fn ordered_map() {
    let results = fanout::map(0..5u32, LIMIT, |n| {
        if n % 2 == 0 {
            thread::yield_now();
        }
        Ok::<_, ()>(n * 10)
    });
    assert_eq!(results, Ok(vec![0, 10, 20, 30, 40]));
}

#[test]
fn random_schedules_of_a_failing_group() {
    run(
        "random_schedules_of_a_failing_group",
        Scheduler::Random,
        group_with_random_failures,
    );
}

#[test]
fn pct_schedules_of_a_failing_group() {
    run(
        "pct_schedules_of_a_failing_group",
        Scheduler::Pct,
        group_with_random_failures,
    );
}

#[test]
fn random_schedules_of_an_ordered_map() {
    run(
        "random_schedules_of_an_ordered_map",
        Scheduler::Random,
        ordered_map,
    );
}

#[test]
fn pct_schedules_of_an_ordered_map() {
    run(
        "pct_schedules_of_an_ordered_map",
        Scheduler::Pct,
        ordered_map,
    );
}
