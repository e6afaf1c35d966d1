//! shuttle schedules of the error collector: three threads push four errors each (crossing
//! several segments, which under a model checker start at one slot), while a fourth reads.
//!
//! After the joins every error must be there exactly once, each thread's in its push order,
//! and dropped exactly once; the reader must only ever see finished errors in per-thread
//! order. shuttle is sequentially consistent; the weak-memory side is `tests/loom_error_collector.rs`.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_error_collector`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use std::sync::Arc;

use shuttle::thread;
use support::{DropLog, Scheduler, run};
use verisync::error_collector::ErrorCollector;

/// Pushing threads.
const PUSHERS: usize = 3;
/// Errors per pushing thread.
const PER_PUSHER: usize = 4;

/// Checks that the ids of each pusher appear in increasing order.
fn assert_per_pusher_order(ids: &[usize]) {
    let mut last = [None::<usize>; PUSHERS];
    for &id in ids {
        let pusher = id / PER_PUSHER;
        assert!(
            last[pusher].is_none_or(|last| last < id),
            "pusher {pusher}'s errors out of order: {ids:?}"
        );
        last[pusher] = Some(id);
    }
}

/// One execution; see the module documentation.
fn pushes_and_a_reader() {
    let total = PUSHERS * PER_PUSHER;
    let drops = DropLog::new(total);
    let errors = Arc::new(ErrorCollector::new());
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|pusher| {
            let (errors, drops) = (errors.clone(), drops.clone());
            thread::spawn(move || {
                for i in 0..PER_PUSHER {
                    let id = pusher * PER_PUSHER + i;
                    errors.push(drops.item(id));
                }
            })
        })
        .collect();
    let reader = {
        let errors = errors.clone();
        thread::spawn(move || {
            for _ in 0..2 {
                let ids: Vec<usize> = errors.iter().map(|e| e.id).collect();
                assert!(ids.len() <= errors.len());
                assert_per_pusher_order(&ids);
                thread::yield_now();
            }
        })
    };
    for pusher in pushers {
        pusher.join().unwrap();
    }
    reader.join().unwrap();
    let errors = Arc::into_inner(errors).unwrap();
    assert_eq!(errors.len(), total);
    let ids: Vec<usize> = errors.into_vec().iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), total, "errors were lost: {ids:?}");
    assert_per_pusher_order(&ids);
    drops.assert_all_dropped_once();
}

#[test]
fn random_schedules_of_pushes_and_a_reader() {
    run(
        "random_schedules_of_pushes_and_a_reader",
        Scheduler::Random,
        pushes_and_a_reader,
    );
}

#[test]
fn pct_schedules_of_pushes_and_a_reader() {
    run(
        "pct_schedules_of_pushes_and_a_reader",
        Scheduler::Pct,
        pushes_and_a_reader,
    );
}
