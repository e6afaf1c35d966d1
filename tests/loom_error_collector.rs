//! loom models of the error collector: pushes racing to claim slots and to install a new
//! segment, and a reader iterating while a push is in flight.
//!
//! Under loom the first segment has a single slot, so the second and third pushes already race
//! to allocate segment 1. The main thread only spawns and joins; invariants are asserted after
//! the joins, and every model fails if loom explored only a trivial number of executions.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_error_collector`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::sync::Arc;
use loom::thread;
use support::{DropLog, explore};
use verisync::error_collector::ErrorCollector;

/// Two threads push three errors in all; every one is kept once, each thread's in its order,
/// and each is dropped exactly once.
#[test]
fn racing_pushes_keep_every_error_once() {
    explore("racing_pushes_keep_every_error_once", 50, || {
        let drops = DropLog::new(3);
        let errors = Arc::new(ErrorCollector::new());
        let first = {
            let (errors, drops) = (errors.clone(), drops.clone());
            thread::spawn(move || {
                errors.push(drops.item(0));
                errors.push(drops.item(1));
            })
        };
        let second = {
            let (errors, drops) = (errors.clone(), drops.clone());
            thread::spawn(move || errors.push(drops.item(2)))
        };
        first.join().unwrap();
        second.join().unwrap();
        let errors = Arc::try_unwrap(errors).expect("threads joined");
        assert_eq!(errors.len(), 3);
        let ids: Vec<usize> = errors.into_vec().iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 3, "an error was lost: {ids:?}");
        let zero = ids.iter().position(|&id| id == 0).unwrap();
        let one = ids.iter().position(|&id| id == 1).unwrap();
        assert!(zero < one, "a thread's errors out of order: {ids:?}");
        assert!(ids.contains(&2));
        drops.assert_all_dropped_once();
    });
}

/// A reader iterates (and reads `first`) while two pushes are in flight: it sees only
/// finished errors, with their contents, and never more than were claimed.
#[test]
fn reading_while_pushing_sees_finished_errors() {
    explore("reading_while_pushing_sees_finished_errors", 50, || {
        let errors = Arc::new(ErrorCollector::new());
        let pusher = {
            let errors = errors.clone();
            thread::spawn(move || {
                errors.push(String::from("a"));
                errors.push(String::from("b"));
            })
        };
        let reader = {
            let errors = errors.clone();
            thread::spawn(move || {
                let seen: Vec<String> = errors.iter().cloned().collect();
                let first = errors.first().cloned();
                (seen, first)
            })
        };
        pusher.join().unwrap();
        let (seen, first) = reader.join().unwrap();
        assert!(seen.len() <= 2);
        assert!(seen.iter().all(|e| e == "a" || e == "b"));
        if seen.len() == 2 {
            assert_eq!(seen, ["a", "b"]);
        }
        assert!(first.is_none_or(|first| first == "a"));
        assert_eq!(errors.iter().count(), 2);
    });
}
