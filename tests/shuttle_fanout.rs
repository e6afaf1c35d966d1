//! shuttle schedules of the fan-out task group: a limit of 2 with six tasks that may fail,
//! poll for cancellation or spawn from inside a task (a nested task spawned after the group
//! was cancelled must not run), an ordered `map`, and one pool shared by two groups opened at
//! once and by detached tasks, where tasks fail or panic at random, and which is shut down at
//! the end.
//!
//! shuttle controls every thread switch of the callers and of the pool's threads (the crate's
//! facade gives the pool shuttle's threads under this feature) and reports a deadlock when
//! every thread is blocked. The tasks running at once are counted with a
//! high-water mark that must never exceed the limit; a failed group must return the root
//! error, never the "cancelled" one its other tasks return after seeing the cancellation.
//! Which tasks fail comes from `shuttle::rand`, so a failure replays from its schedule.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_fanout`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{Scheduler, run};
use verisync::fanout::{self, Pool};

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

/// What a task on the shared pool does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Succeed,
    Fail,
    Panic,
}

fn random_fates(count: usize) -> Vec<Fate> {
    (0..count)
        .map(|_| match thread_rng().gen_range(0..3) {
            0 => Fate::Succeed,
            1 => Fate::Fail,
            _ => Fate::Panic,
        })
        .collect()
}

/// Opens a group of three tasks with random fates on `pool` and checks its outcome: a panic
/// only if a task was to panic, the root error only if one was to fail, `Ok` only if none
/// was to do either (and then every task ran), and never more than the limit at once.
fn group_on_shared_pool(pool: &Pool, caller: usize) {
    let fates = random_fates(3);
    let (running, most, ran) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.scope(LIMIT, |group| {
            for (id, &fate) in fates.iter().enumerate() {
                let (running, most, ran) = (&running, &most, &ran);
                group.spawn(move || {
                    let now = running.fetch_add(1, Relaxed) + 1;
                    most.fetch_max(now, Relaxed);
                    ran.fetch_add(1, Relaxed);
                    thread::yield_now();
                    running.fetch_sub(1, Relaxed);
                    match fate {
                        Fate::Succeed => Ok(()),
                        Fate::Fail => Err(format!("caller {caller} task {id} failed")),
                        Fate::Panic => panic::panic_any(format!("caller {caller} task {id}")),
                    }
                });
            }
        })
    }));
    let most = most.load(Relaxed);
    assert!(most <= LIMIT, "{most} tasks ran at once with limit {LIMIT}");
    match outcome {
        Err(payload) => {
            let message = payload.downcast_ref::<String>().expect("a task's payload");
            let id: usize = message.rsplit(' ').next().unwrap().parse().unwrap();
            assert_eq!(
                fates[id],
                Fate::Panic,
                "resumed the panic of a task that did not"
            );
        }
        Ok(Err(error)) => {
            assert!(error.ends_with("failed"), "not the root cause: {error}");
            assert!(fates.contains(&Fate::Fail));
        }
        Ok(Ok(())) => {
            assert!(fates.iter().all(|&fate| fate == Fate::Succeed), "{fates:?}");
            assert_eq!(ran.load(Relaxed), fates.len());
        }
    }
}

/// Two callers open groups on one pool of two threads while a third queues detached tasks
/// that may panic; the shutdown at the end runs every one of them and returns each panic.
fn groups_and_detached_tasks_on_one_pool() {
    let pool = Arc::new(Pool::new(2));
    let callers: Vec<_> = (0..2)
        .map(|caller| {
            let pool = pool.clone();
            thread::spawn(move || group_on_shared_pool(&pool, caller))
        })
        .collect();
    let fates = random_fates(3);
    let ran = Arc::new(AtomicUsize::new(0));
    for &fate in &fates {
        let ran = ran.clone();
        pool.spawn(move || {
            ran.fetch_add(1, Relaxed);
            if fate == Fate::Panic {
                panic!("detached task");
            }
        });
    }
    for caller in callers {
        caller.join().unwrap();
    }
    let pool = Arc::into_inner(pool).expect("the callers let go of the pool");
    let panics = pool.shutdown();
    assert_eq!(ran.load(Relaxed), fates.len(), "a detached task never ran");
    let panicking = fates.iter().filter(|&&fate| fate == Fate::Panic).count();
    assert_eq!(panics.len(), panicking, "a detached task's panic was lost");
}

#[test]
fn random_schedules_of_groups_and_detached_tasks_on_one_pool() {
    quiet_panics();
    run(
        "random_schedules_of_groups_and_detached_tasks_on_one_pool",
        Scheduler::Random,
        groups_and_detached_tasks_on_one_pool,
    );
}

#[test]
fn pct_schedules_of_groups_and_detached_tasks_on_one_pool() {
    quiet_panics();
    run(
        "pct_schedules_of_groups_and_detached_tasks_on_one_pool",
        Scheduler::Pct,
        groups_and_detached_tasks_on_one_pool,
    );
}

/// Keeps the expected task panics of these tests off stderr (tens of thousands of them); any
/// other panic is reported by the hook that was there.
fn quiet_panics() {
    let reporting = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let expected = payload.downcast_ref::<&str>() == Some(&"detached task")
            || payload
                .downcast_ref::<String>()
                .is_some_and(|message| message.starts_with("caller "));
        if !expected {
            reporting(info);
        }
    }));
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
