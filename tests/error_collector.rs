//! Behaviour tests for `verisync::error_collector` on std threads; the same tests run under Miri.
//!
//! Tests whose name starts with `concurrent_` use several threads and are the set meant for
//! Miri's many-seeds run:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test error_collector
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test error_collector -- concurrent_
//! ```

#[path = "support/behaviour.rs"]
mod behaviour;

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use behaviour::{DropLog, scaled, spawn_watched};
use verisync::error_collector::{ErrorCollector, Errors};

#[test]
fn reads_follow_push_order_across_segments() {
    // Natively past the twelfth segment (32 * (2^12 - 1) = 131,040 slots), so that a short
    // segment table cannot pass.
    let count = scaled(200_000, 300);
    let errors = ErrorCollector::new();
    for i in 0..count {
        errors.push(i);
    }
    assert_eq!(errors.len(), count);
    assert!(errors.has_errors());
    assert_eq!(errors.first(), Some(&0));
    assert!(errors.iter().copied().eq(0..count));
    assert_eq!(errors.into_vec(), (0..count).collect::<Vec<_>>());
}

#[test]
fn an_empty_collector_is_ok() {
    let errors = ErrorCollector::<String>::new();
    assert!(errors.is_empty());
    assert!(!errors.has_errors());
    assert_eq!(errors.first(), None);
    assert_eq!(errors.iter().count(), 0);
    assert_eq!(errors.omitted(), 0);
    assert_eq!(errors.into_result(), Ok(()));
    assert!(ErrorCollector::<u8>::default().into_vec().is_empty());
}

#[test]
fn the_limit_keeps_the_first_and_counts_the_rest() {
    let errors = ErrorCollector::with_limit(3);
    for i in 0..15 {
        errors.push(format!("error {i}"));
    }
    assert_eq!(errors.len(), 15);
    assert_eq!(errors.omitted(), 12);
    assert_eq!(errors.iter().count(), 3);
    let joined = errors.into_result().unwrap_err();
    assert_eq!(joined.as_slice(), ["error 0", "error 1", "error 2"]);
    assert_eq!(joined.omitted(), 12);
    assert_eq!(
        joined.to_string(),
        "error 0\nerror 1\nerror 2\n...and 12 more"
    );
}

#[test]
fn a_limit_of_zero_keeps_nothing_but_still_fails() {
    let errors = ErrorCollector::with_limit(0);
    errors.push("lost");
    assert!(errors.has_errors());
    assert_eq!(errors.first(), None);
    let joined = errors.into_result().unwrap_err();
    assert!(joined.is_empty());
    assert_eq!(joined.to_string(), "...and 1 more");
}

#[test]
fn joined_errors_are_an_error_with_access_to_each() {
    let errors: ErrorCollector<Box<dyn Error + Send + Sync>> = ErrorCollector::new();
    errors.push("first".into());
    errors.push(Box::new(fmt::Error));
    let joined: Errors<_> = errors.into_result().unwrap_err();
    assert_eq!(joined.len(), 2);
    assert_eq!(joined.first().unwrap().to_string(), "first");
    let as_error: Box<dyn Error> = Box::new(joined.clone_display());
    assert_eq!(
        as_error.to_string(),
        "first\nan error occurred when formatting an argument"
    );
    let each: Vec<String> = joined.iter().map(|e| e.to_string()).collect();
    assert_eq!(each.len(), 2);
    assert!(!joined.is_empty());
    assert_eq!(
        joined.clone_display().into_vec(),
        ["first", each[1].as_str()]
    );
    assert_eq!(joined.into_iter().count(), 2);
}

/// `Errors` of boxed errors is not `Clone`; the tests build a `String` copy to box.
trait CloneDisplay {
    fn clone_display(&self) -> Errors<String>;
}

impl<E: fmt::Display> CloneDisplay for Errors<E> {
    fn clone_display(&self) -> Errors<String> {
        let copy = ErrorCollector::new();
        for error in self {
            copy.push(error.to_string());
        }
        copy.into_result().unwrap_err()
    }
}

#[test]
fn every_error_is_dropped_exactly_once() {
    let count = 100;
    // Kept ones taken out, kept ones dropped with the collector, and ones beyond the limit.
    let log = DropLog::new(count);
    let errors = ErrorCollector::with_limit(count / 2);
    for id in 0..count {
        errors.push(log.item(id));
    }
    let taken = errors.into_vec();
    assert_eq!(taken.len(), count / 2);
    assert!(taken.iter().map(|e| e.id).eq(0..count / 2));
    drop(taken);
    log.assert_all_dropped_once();

    let log = DropLog::new(count);
    let errors = ErrorCollector::new();
    for id in 0..count {
        errors.push(log.item(id));
    }
    drop(errors);
    log.assert_all_dropped_once();
}

/// An error whose drop panics once.
struct PanicOnDrop(bool);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if self.0 {
            panic!("drop panicked");
        }
    }
}

#[test]
fn a_panicking_drop_does_not_stop_the_others() {
    let log = DropLog::new(40);
    let errors = ErrorCollector::new();
    for id in 0..40 {
        errors.push((log.item(id), PanicOnDrop(id == 3)));
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(errors)));
    assert!(result.is_err());
    log.assert_all_dropped_once();
}

/// Drops counted in a static array, per id: a value dropped twice is counted twice, with no
/// shared allocation for the second drop to corrupt (unlike [`DropLog`]'s `Arc`).
static STATIC_DROPS: [AtomicUsize; 40] = [const { AtomicUsize::new(0) }; 40];

/// An error whose drop counts in [`STATIC_DROPS`]; used by one test only.
struct StaticTracked(usize);

impl Drop for StaticTracked {
    fn drop(&mut self) {
        STATIC_DROPS[self.0].fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn errors_taken_out_are_not_dropped_again_with_the_collector() {
    let errors = ErrorCollector::new();
    for id in 0..STATIC_DROPS.len() {
        errors.push(StaticTracked(id));
    }
    // `into_vec` takes the errors out and drops what is left of the collector.
    let taken = errors.into_vec();
    assert!(
        STATIC_DROPS
            .iter()
            .all(|drops| drops.load(Ordering::SeqCst) == 0)
    );
    drop(taken);
    for (id, drops) in STATIC_DROPS.iter().enumerate() {
        assert_eq!(drops.load(Ordering::SeqCst), 1, "error {id}");
    }
}

#[test]
fn zero_sized_errors_are_counted() {
    let errors = ErrorCollector::new();
    for _ in 0..100 {
        errors.push(());
    }
    assert_eq!(errors.iter().count(), 100);
    assert_eq!(errors.into_vec().len(), 100);
}

#[test]
fn debug_lists_the_errors() {
    let errors = ErrorCollector::with_limit(1);
    errors.push('a');
    errors.push('b');
    assert_eq!(
        format!("{errors:?}"),
        "ErrorCollector { errors: ['a'], omitted: 1 }"
    );
}

#[test]
fn concurrent_pushes_keep_every_error_once() {
    let threads = 4;
    let per_thread = scaled(20_000, 50);
    let errors = Arc::new(ErrorCollector::new());
    let log = DropLog::new(threads * per_thread);
    let pushers: Vec<_> = (0..threads)
        .map(|thread| {
            let (errors, log) = (errors.clone(), log.clone());
            spawn_watched("pusher", move || {
                for i in 0..per_thread {
                    errors.push(log.item(thread * per_thread + i));
                }
            })
        })
        .collect();
    for pusher in pushers {
        pusher.join();
    }
    let errors = Arc::into_inner(errors).unwrap();
    assert_eq!(errors.len(), threads * per_thread);
    let mut ids: Vec<usize> = errors.iter().map(|e| e.id).collect();
    // Each thread's errors appear in the order it pushed them.
    for thread in 0..threads {
        let range = thread * per_thread..(thread + 1) * per_thread;
        let own: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|id| range.contains(id))
            .collect();
        assert!(
            own.iter().copied().eq(range),
            "thread {thread} out of order"
        );
    }
    ids.sort_unstable();
    assert!(ids.into_iter().eq(0..threads * per_thread));
    drop(errors);
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_reads_while_pushing_see_a_growing_ordered_view() {
    let per_thread = scaled(20_000, 50);
    let errors = Arc::new(ErrorCollector::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let pushers: Vec<_> = (0..2)
        .map(|thread| {
            let (errors, finished) = (errors.clone(), finished.clone());
            spawn_watched("pusher", move || {
                for i in 0..per_thread {
                    errors.push((thread, i));
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    loop {
        // Checked before reading, so the last pass comes after every push returned.
        let done = finished.load(Ordering::SeqCst) == 2;
        let mut last = [None::<usize>; 2];
        let mut count = 0;
        for &(thread, i) in errors.iter() {
            assert!(
                last[thread].is_none_or(|last| last < i),
                "read out of order"
            );
            last[thread] = Some(i);
            count += 1;
        }
        assert!(count <= errors.len());
        if done {
            assert_eq!(count, 2 * per_thread, "a finished push is not readable");
            break;
        }
    }
    for pusher in pushers {
        pusher.join();
    }
}
