//! Model tests for `verisync::fanout` on a `Pool`: random groups (pool threads, limit, which
//! tasks fail, nested groups) checked against what the module documentation promises whatever
//! the schedule, and detached tasks checked against the shutdown's report.
//!
//! - `scope_collecting` returns exactly the errors of the failing tasks and runs every task.
//! - `scope` returns `Ok` only if no task failed, and then ran every task; otherwise one of
//!   the failing tasks' errors.
//! - `map` returns the sequential map's results in input order when no item fails, else the
//!   error of a failing item; a nested `map` inside an item (on the same pool) changes nothing.
//! - At most `limit` tasks of a group run at once.
//! - After `shutdown`, every detached task ran and each panic came back.
//!
//! Case count: 128; `PROPTEST_CASES=N` overrides it. Ignored under Miri (`tests/fanout.rs` is
//! the Miri suite).
#![cfg(not(miri))]

#[path = "support/high_water.rs"]
mod high_water;
#[path = "support/model.rs"]
mod model;

use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use high_water::HighWater;
use model::{config, watchdog};
use proptest::prelude::*;
use verisync::fanout::Pool;

/// One random group: the pool's threads, the group's limit, and which tasks fail.
#[derive(Clone, Debug)]
struct Case {
    threads: usize,
    limit: usize,
    fails: Vec<bool>,
    /// Whether each `map` item runs a small `map` of its own on the same pool.
    nested: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1..=3usize,
        1..=4usize,
        prop::collection::vec(prop::bool::weighted(0.2), 0..24),
        any::<bool>(),
    )
        .prop_map(|(threads, limit, fails, nested)| Case {
            threads,
            limit,
            fails,
            nested,
        })
}

fn failing(case: &Case) -> BTreeSet<usize> {
    (0..case.fails.len()).filter(|&id| case.fails[id]).collect()
}

fn check_groups(case: &Case) -> Result<(), TestCaseError> {
    let pool = Pool::new(case.threads);
    let failing = failing(case);

    let counts = HighWater::default();
    let collected = pool.scope_collecting(case.limit, |group| {
        for (id, &fails) in case.fails.iter().enumerate() {
            let counts = &counts;
            group.spawn(move || counts.run(|| if fails { Err(id) } else { Ok(()) }));
        }
    });
    let errors: BTreeSet<usize> = match collected {
        Ok(()) => BTreeSet::new(),
        Err(errors) => errors.into_vec().into_iter().collect(),
    };
    prop_assert_eq!(
        &errors,
        &failing,
        "scope_collecting lost or invented errors"
    );
    prop_assert_eq!(counts.ran(), case.fails.len());
    prop_assert!(counts.most() <= case.limit);

    let counts = HighWater::default();
    let result = pool.scope(case.limit, |group| {
        for (id, &fails) in case.fails.iter().enumerate() {
            let counts = &counts;
            group.spawn(move || counts.run(|| if fails { Err(id) } else { Ok(()) }));
        }
    });
    match result {
        Ok(()) => {
            prop_assert!(failing.is_empty(), "Ok although {:?} fail", failing);
            prop_assert_eq!(counts.ran(), case.fails.len());
        }
        Err(id) => prop_assert!(failing.contains(&id), "{} is not a failing task", id),
    }
    prop_assert!(counts.most() <= case.limit);

    let counts = HighWater::default();
    let mapped = pool.map(0..case.fails.len(), case.limit, |id| {
        counts.run(|| {
            if case.nested {
                let inner = pool.map(0..3, case.limit, |n: usize| Ok::<_, usize>(n))?;
                assert_eq!(inner, [0, 1, 2], "a nested map lost its order");
            }
            if case.fails[id] { Err(id) } else { Ok(id * 10) }
        })
    });
    match mapped {
        Ok(results) => {
            prop_assert!(failing.is_empty(), "Ok although {:?} fail", failing);
            let expected: Vec<usize> = (0..case.fails.len()).map(|id| id * 10).collect();
            prop_assert_eq!(results, expected);
        }
        Err(id) => prop_assert!(failing.contains(&id), "{} is not a failing item", id),
    }
    prop_assert!(counts.most() <= case.limit);
    prop_assert!(pool.shutdown().is_empty());
    Ok(())
}

/// Detached tasks on a pool of `threads` threads and a queue of `capacity`; those marked
/// panic.
fn check_detached(threads: usize, capacity: usize, panics: &[bool]) -> Result<(), TestCaseError> {
    let pool = Pool::try_new(threads, capacity).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for (id, &panics) in panics.iter().enumerate() {
        let ran = ran.clone();
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            if panics {
                panic::panic_any(id);
            }
        });
    }
    let payloads = pool.shutdown();
    prop_assert_eq!(ran.load(Ordering::SeqCst), panics.len());
    let mut reported: Vec<usize> = payloads
        .into_iter()
        .map(|payload| *payload.downcast::<usize>().unwrap())
        .collect();
    reported.sort_unstable();
    let expected: Vec<usize> = (0..panics.len()).filter(|&id| panics[id]).collect();
    prop_assert_eq!(reported, expected, "a panic was lost or invented");
    Ok(())
}

/// Keeps the deliberate panics of `check_detached` (`usize` payloads) off stderr.
fn quiet_usize_panics() {
    let reporting = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<usize>().is_none() {
            reporting(info);
        }
    }));
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn groups_on_a_pool_keep_their_promises(case in case()) {
        let _watchdog = watchdog("groups_on_a_pool_keep_their_promises", &case);
        check_groups(&case)?;
    }

    #[test]
    fn shutdown_runs_every_detached_task_and_reports_each_panic(
        threads in 1..=3usize,
        capacity in 1..=8usize,
        panics in prop::collection::vec(prop::bool::weighted(0.3), 0..20),
    ) {
        static QUIET: std::sync::Once = std::sync::Once::new();
        QUIET.call_once(quiet_usize_panics);
        let _watchdog = watchdog("shutdown_runs_every_detached_task", &(threads, capacity));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            check_detached(threads, capacity, &panics)
        }));
        outcome.map_err(|_| TestCaseError::fail("the pool panicked"))??;
    }
}
