//! Behaviour tests for `verisync::fanout` on std threads; the same tests run under Miri.
//!
//! Every test starts worker threads. Those whose name starts with `concurrent_` depend on the
//! schedule and are the set meant for Miri's many-seeds run; the others reach the same outcome
//! in every schedule (barriers, one slot, or a sleep that can only make a check pass early):
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test fanout
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test fanout -- concurrent_
//! ```
//!
//! The limit is checked two ways: an atomic high-water mark of the tasks running at once, and
//! deterministically, with `limit` tasks held on a barrier while `try_spawn` must fail.

#[path = "support/behaviour.rs"]
mod behaviour;
#[path = "support/high_water.rs"]
mod high_water;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use behaviour::{DropLog, SETTLE, scaled, spawn_watched};
use high_water::HighWater;
use verisync::fanout::{self, Pool, PoolError, map, scope, scope_collecting};

/// A little work that the optimizer cannot remove.
fn spin(rounds: u64) -> u64 {
    (0..rounds).fold(0u64, |acc, i| std::hint::black_box(acc.wrapping_add(i)))
}

#[test]
fn concurrent_the_limit_is_never_exceeded() {
    for limit in [1, 2, 3] {
        let high_water = HighWater::default();
        let done = AtomicUsize::new(0);
        let tasks = scaled(2_000, 20);
        let result: Result<(), ()> = scope(limit, |group| {
            for _ in 0..tasks {
                group.spawn(|| {
                    high_water.run(|| spin(200));
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
            }
        });
        assert_eq!(result, Ok(()));
        assert_eq!(done.load(Ordering::SeqCst), tasks);
        assert!(
            high_water.most() <= limit,
            "{} tasks ran at once with limit {limit}",
            high_water.most()
        );
    }
}

#[test]
fn try_spawn_fails_while_limit_tasks_run() {
    let limit = 2;
    let started = Barrier::new(limit + 1);
    let release = Barrier::new(limit + 1);
    let result: Result<bool, ()> = scope(limit, |group| {
        for _ in 0..limit {
            group.spawn(|| {
                started.wait();
                release.wait();
                Ok(())
            });
        }
        started.wait();
        let accepted = group.try_spawn(|| Ok(())).is_ok();
        release.wait();
        accepted
    });
    assert_eq!(
        result,
        Ok(false),
        "a task was accepted while {limit} were running"
    );
}

#[test]
fn spawn_waits_at_the_limit() {
    let released = Arc::new(AtomicBool::new(false));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let releaser = {
        let released = released.clone();
        spawn_watched("releaser", move || {
            thread::sleep(SETTLE);
            released.store(true, Ordering::SeqCst);
            release_tx.send(()).unwrap();
        })
    };
    let result: Result<(), ()> = scope(1, |group| {
        group.spawn(move || {
            release_rx.recv().unwrap();
            Ok(())
        });
        group.spawn(|| Ok(()));
        // The second spawn could only return once the first task ended.
        assert!(released.load(Ordering::SeqCst), "spawn did not wait");
    });
    assert_eq!(result, Ok(()));
    releaser.join();
}

#[test]
fn the_first_error_cancels_tasks_not_started() {
    let ran = AtomicUsize::new(0);
    let result = scope(1, |group| {
        group.spawn(|| Err::<(), _>("first"));
        for _ in 0..10 {
            // With one slot, each spawn waits until the previous task has ended, and the
            // failed one cancelled the group before giving its slot back.
            group.spawn(|| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert!(group.is_cancelled());
    });
    assert_eq!(result, Err("first"));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn concurrent_the_root_cause_is_returned_not_a_later_cancellation() {
    for _ in 0..scaled(50, 2) {
        let result = scope(3, |group| {
            for _ in 0..2 {
                group.spawn(|| {
                    while !group.is_cancelled() {
                        thread::yield_now();
                    }
                    Err::<(), _>("cancelled")
                });
            }
            group.spawn(|| Err::<(), _>("root"));
        });
        assert_eq!(result, Err("root"));
    }
}

#[test]
fn a_task_panic_is_resumed_after_every_worker_stopped() {
    let other_finished = AtomicBool::new(false);
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Result<(), ()> = scope(2, |group| {
            group.spawn(|| {
                while !group.is_cancelled() {
                    thread::yield_now();
                }
                other_finished.store(true, Ordering::SeqCst);
                Ok(())
            });
            group.spawn(|| -> Result<(), ()> { panic!("task failed") });
        });
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task failed"));
    assert!(other_finished.load(Ordering::SeqCst));
}

#[test]
fn a_closure_panic_cancels_and_is_resumed() {
    let log = DropLog::new(20);
    let ran = AtomicUsize::new(0);
    let hold = Barrier::new(2);
    let accepted = AtomicUsize::new(0);
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Result<(), ()> = scope(1, |group| {
            let hold = &hold;
            let ran = &ran;
            // The first task holds the only slot until the closure has offered the rest.
            group.spawn(move || {
                hold.wait();
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            for id in 0..20 {
                let item = log.item(id);
                let offered = group.try_spawn(move || {
                    drop(item);
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                if offered.is_ok() {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
            }
            hold.wait();
            panic!("closure failed");
        });
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"closure failed"));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a task was accepted while the only slot was taken"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    log.assert_all_dropped_once();
}

#[test]
fn skipped_tasks_are_dropped_exactly_once() {
    let tasks = scaled(200, 10);
    let log = DropLog::new(tasks);
    let result = scope(2, |group| {
        for id in 0..tasks {
            let item = log.item(id);
            group.spawn(move || {
                drop(item);
                if id == 3 { Err(id) } else { Ok(()) }
            });
        }
    });
    assert_eq!(result, Err(3));
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_scope_collecting_keeps_every_error_once() {
    let tasks = scaled(500, 20);
    let log = DropLog::new(tasks);
    let ran = AtomicUsize::new(0);
    let result = scope_collecting(3, |group| {
        for id in 0..tasks {
            let item = log.item(id);
            let ran = &ran;
            group.spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                if id % 3 == 0 { Err(item) } else { Ok(()) }
            });
        }
        "done"
    });
    // No cancellation: every task ran.
    assert_eq!(ran.load(Ordering::SeqCst), tasks);
    let errors = result.unwrap_err();
    let mut ids: Vec<usize> = errors.iter().map(|item| item.id).collect();
    ids.sort_unstable();
    assert!(ids.into_iter().eq((0..tasks).step_by(3)));
    drop(errors);
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_map_returns_results_in_input_order() {
    let items = scaled(5_000, 40) as u64;
    let results = map(0..items, 3, |n| {
        spin(n % 7 * 50);
        Ok::<_, ()>(n * 2)
    });
    assert_eq!(results, Ok((0..items).map(|n| n * 2).collect()));
}

#[test]
fn map_keeps_input_order_when_a_later_item_finishes_first() {
    // The first batches hold one item each, so items 0 and 1 run on the two workers at once;
    // item 0 finishes only after item 1 has, so its batch comes back second.
    let second_done = AtomicBool::new(false);
    let results = map(0..4u32, 2, |n| {
        if n == 0 {
            while !second_done.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        }
        if n == 1 {
            second_done.store(true, Ordering::SeqCst);
        }
        Ok::<_, ()>(n * 10)
    });
    assert_eq!(results, Ok(vec![0, 10, 20, 30]));
}

#[test]
fn concurrent_map_pulls_its_input_lazily() {
    let limit = 2;
    let pulled = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let most_ahead = AtomicUsize::new(0);
    let input = (0..scaled(2_000, 30)).inspect(|_| {
        let ahead = pulled.fetch_add(1, Ordering::SeqCst) + 1 - finished.load(Ordering::SeqCst);
        most_ahead.fetch_max(ahead, Ordering::SeqCst);
    });
    let results = map(input, limit, |n| {
        spin(100);
        finished.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(n)
    });
    assert_eq!(results.map(|r| r.len()), Ok(scaled(2_000, 30)));
    let ahead = most_ahead.load(Ordering::SeqCst);
    let bound = limit * fanout::MAX_BATCH;
    assert!(
        ahead <= bound,
        "{ahead} items pulled ahead with limit {limit}"
    );
}

#[test]
fn map_stops_pulling_after_an_error() {
    let pulled = AtomicUsize::new(0);
    let input = (0..1_000).inspect(|_| {
        pulled.fetch_add(1, Ordering::SeqCst);
    });
    let result = map(input, 1, |n| if n == 5 { Err(n) } else { Ok(n) });
    assert_eq!(result, Err(5));
    // Item 5 failed; with a limit of 1 a single task pulls the input, a batch at a time, and
    // it pulls nothing after the batch that held item 5 (batches of 1, 1, 1, 1, 2, ...).
    let pulled = pulled.load(Ordering::SeqCst);
    assert!(pulled <= 6, "{pulled} items pulled");
}

#[test]
fn spawn_from_a_task_runs_in_place() {
    // Under a watchdog: queueing the nested task would wait forever for the only worker.
    let ran = spawn_watched("scope", || {
        let ran = AtomicUsize::new(0);
        let result: Result<(), ()> = scope(1, |group| {
            group.spawn(|| {
                // The only worker is busy with this task: queueing would wait forever.
                group.spawn(|| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                assert!(group.try_spawn(|| Ok(())).is_ok());
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        });
        assert_eq!(result, Ok(()));
        ran.into_inner()
    })
    .join();
    assert_eq!(ran, 2);
}

#[test]
fn tasks_borrow_from_the_caller_and_errors_need_not_be_sync() {
    let words = vec![String::from("a"), String::from("bc")];
    let total = AtomicUsize::new(0);
    let result: Result<(), Box<dyn std::error::Error + Send>> = scope(2, |group| {
        for word in &words {
            let total = &total;
            group.spawn(move || {
                total.fetch_add(word.len(), Ordering::SeqCst);
                Ok(())
            });
        }
    });
    assert!(result.is_ok());
    assert_eq!(total.load(Ordering::SeqCst), 3);
}

#[test]
fn an_empty_group_returns_the_closure_value() {
    assert_eq!(scope::<(), _, _>(4, |group| group.limit() * 10), Ok(40));
    assert_eq!(map(Vec::<u8>::new(), 2, Ok::<_, ()>), Ok(vec![]));
}

#[test]
fn cancel_skips_later_tasks_without_an_error() {
    let ran = AtomicBool::new(false);
    let result: Result<(), ()> = scope(2, |group| {
        group.cancel();
        group.spawn(|| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(format!("{group:?}").contains("cancelled: true"));
    });
    assert_eq!(result, Ok(()));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_task_spawned_in_place_after_the_group_was_cancelled_does_not_run() {
    let nested_ran = AtomicBool::new(false);
    let result = scope(2, |group| {
        let nested_ran = &nested_ran;
        group.spawn(move || {
            while !group.is_cancelled() {
                thread::yield_now();
            }
            // From a task, so it would run in place, right away: it must be skipped.
            group.spawn(move || {
                nested_ran.store(true, Ordering::SeqCst);
                Ok(())
            });
            Ok(())
        });
        group.spawn(|| Err::<(), _>("root"));
    });
    assert_eq!(result, Err("root"));
    assert!(
        !nested_ran.load(Ordering::SeqCst),
        "a task spawned after the cancellation ran"
    );
}

#[test]
fn the_first_panic_is_resumed_not_a_later_one() {
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Result<(), ()> = scope(2, |group| {
            group.spawn(|| -> Result<(), ()> {
                while !group.is_cancelled() {
                    thread::yield_now();
                }
                panic!("second panic");
            });
            group.spawn(|| -> Result<(), ()> { panic!("first panic") });
        });
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"first panic"));
}

#[test]
fn a_limit_above_the_maximum_panics_with_fanouts_own_message() {
    for limit in [usize::MAX, fanout::MAX_LIMIT + 1, fanout::MAX_LIMIT] {
        let payload = panic::catch_unwind(|| {
            let _: Result<(), ()> = fanout::scope(limit, |_| ());
        })
        .unwrap_err();
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("verisync::fanout: "), "{message}");
    }
}

#[test]
fn a_limit_of_zero_panics_with_a_precise_message() {
    let payload = panic::catch_unwind(|| {
        let _: Result<(), ()> = fanout::scope(0, |_| ());
    })
    .unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"verisync::fanout: limit must be at least 1")
    );
}

// ---------------------------------------------------------------------------------------------
// The pool
// ---------------------------------------------------------------------------------------------

/// A pool whose only thread is held by a detached task until the returned sender sends (or is
/// dropped).
fn held_pool(capacity: usize) -> (Pool, std::sync::mpsc::Sender<()>) {
    let pool = Pool::try_new(1, capacity).unwrap();
    let (started, wait) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    pool.spawn(move || {
        started.send(()).unwrap();
        let _ = released.recv();
    });
    wait.recv().unwrap();
    (pool, release)
}

#[test]
fn shutdown_runs_every_queued_task_and_returns_the_panics_in_order() {
    let (pool, release) = held_pool(8);
    let ran = Arc::new(AtomicUsize::new(0));
    for task in 0..5 {
        let ran = ran.clone();
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::Relaxed);
            if task % 2 == 1 {
                panic!("task {task} failed");
            }
        });
    }
    assert_eq!(pool.len(), 5);
    release.send(()).unwrap();
    let panics = pool.shutdown();
    assert_eq!(ran.load(Ordering::Relaxed), 5, "a queued task was dropped");
    let messages: Vec<&String> = panics.iter().map(|p| p.downcast_ref().unwrap()).collect();
    assert_eq!(messages, ["task 1 failed", "task 3 failed"]);
}

#[test]
fn dropping_a_pool_drains_it_like_shutdown() {
    let (pool, release) = held_pool(4);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let ran = ran.clone();
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::Relaxed);
        });
    }
    drop(release);
    drop(pool);
    assert_eq!(ran.load(Ordering::Relaxed), 3);
}

#[test]
fn a_panicking_task_does_not_stop_its_thread() {
    let pool = Pool::new(1);
    pool.spawn(|| panic!("first"));
    let (done, finished) = std::sync::mpsc::channel();
    pool.spawn(move || done.send("second ran").unwrap());
    assert_eq!(finished.recv_timeout(behaviour::WATCHDOG), Ok("second ran"));
    assert_eq!(pool.panicked(), 1);
    assert_eq!(pool.shutdown().len(), 1);
}

#[test]
fn a_full_queue_hands_the_task_back() {
    let (pool, release) = held_pool(1);
    pool.spawn(|| {});
    assert!(pool.is_full());
    let handed_back = Arc::new(AtomicUsize::new(0));
    let event = |handed_back: Arc<AtomicUsize>| {
        move || {
            handed_back.fetch_add(1, Ordering::Relaxed);
        }
    };
    let refused = pool.try_spawn(event(handed_back.clone()));
    refused.expect_err("the queue is full")();
    let timeout = std::time::Duration::from_millis(20);
    let timed_out = pool.spawn_timeout(event(handed_back.clone()), timeout);
    timed_out.expect_err("the queue stayed full")();
    assert_eq!(
        handed_back.load(Ordering::Relaxed),
        2,
        "the tasks handed back were others"
    );
    release.send(()).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    pool.spawn(move || done.send(()).unwrap());
    finished.recv_timeout(behaviour::WATCHDOG).unwrap();
}

#[test]
fn bad_pool_sizes_are_errors_or_panics_with_fanouts_message() {
    assert!(matches!(Pool::try_new(0, 1), Err(PoolError::NoThreads)));
    assert!(matches!(Pool::try_new(1, 0), Err(PoolError::Queue(_))));
    let payload = panic::catch_unwind(|| Pool::new(0)).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("verisync::fanout::Pool::new: "),
        "{message}"
    );
}

/// The pool's only thread is held by a detached task, so the group's tasks run on the thread
/// that opened it; the same for a group opened inside one of those tasks.
#[test]
fn groups_finish_while_every_pool_thread_is_busy() {
    let (pool, release) = held_pool(4);
    let total = AtomicUsize::new(0);
    let result: Result<(), ()> = pool.scope(2, |group| {
        for _ in 0..3 {
            group.spawn(|| {
                let inner = pool.map(0..4, 2, |n: usize| Ok::<_, ()>(n))?;
                total.fetch_add(inner.iter().sum::<usize>(), Ordering::Relaxed);
                Ok(())
            });
        }
    });
    assert_eq!(result, Ok(()));
    assert_eq!(total.load(Ordering::Relaxed), 18);
    release.send(()).unwrap();
}

#[test]
fn concurrent_many_groups_share_one_pool() {
    let pool = Pool::new(2);
    let rounds = scaled(50, 3);
    thread::scope(|threads| {
        for caller in 0..3u64 {
            let pool = &pool;
            threads.spawn(move || {
                for round in 0..rounds as u64 {
                    let base = caller * 1000 + round;
                    let results = pool.map(0..10, 2, |n: u64| Ok::<_, ()>(base + n));
                    assert_eq!(results, Ok((base..base + 10).collect::<Vec<_>>()));
                    let failed = pool.scope(2, |group| {
                        group.spawn(move || if round % 2 == 0 { Err(base) } else { Ok(()) });
                        group.spawn(|| Ok(()));
                    });
                    assert_eq!(failed.is_err(), round % 2 == 0);
                }
            });
        }
    });
    assert!(pool.shutdown().is_empty());
}

/// Tasks of the default pool run on its threads (named `verisync-pool-N`) or on the caller's.
#[test]
fn the_default_pool_runs_tasks_on_its_threads_or_the_callers() {
    let caller = thread::current().id();
    let places = map(0..32, 2, |_| {
        let here = thread::current();
        let on_pool = here
            .name()
            .is_some_and(|name| name.starts_with("verisync-pool-"));
        Ok::<_, ()>(on_pool || here.id() == caller)
    });
    assert!(places.unwrap().into_iter().all(|ok| ok));
}
