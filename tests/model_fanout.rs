//! Model tests for `verisync::fanout`: random groups checked against what the module
//! documentation promises whatever the schedule, and detached tasks checked against the
//! shutdown's report.
//!
//! - `groups_on_a_pool_keep_their_promises`: random tasks (succeeding, failing, panicking,
//!   nesting, offered with `spawn` or `try_spawn`) run as `scope`, `scope_collecting` and
//!   `map`, each on a new `Pool` of 1..=3 threads or on the default pool, with a random limit.
//!   The tasks, their decoding from bytes and the promises checked are
//!   `support/ops/fanout.rs`, shared with the fuzz target.
//! - `shutdown_runs_every_detached_task_and_reports_each_panic`: after `shutdown`, every
//!   detached task ran and each panic came back.
//!
//! Case count: 128; `PROPTEST_CASES=N` overrides it. Ignored under Miri (`tests/fanout.rs` is
//! the Miri suite).
#![cfg(not(miri))]

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/fanout.rs"]
mod ops;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use model::{config, watchdog};
use proptest::prelude::*;
use verisync::fanout::Pool;

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
                ops::deliberate_panic(id);
            }
        });
    }
    let payloads = pool.shutdown();
    prop_assert_eq!(ran.load(Ordering::SeqCst), panics.len());
    let mut reported: Vec<usize> = payloads
        .iter()
        .map(|payload| ops::panicked_task(&**payload))
        .collect();
    reported.sort_unstable();
    let expected: Vec<usize> = (0..panics.len()).filter(|&id| panics[id]).collect();
    prop_assert_eq!(reported, expected, "a panic was lost or invented");
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn groups_on_a_pool_keep_their_promises(
        threads in prop::option::weighted(0.75, 1..=3usize),
        limit in 1..=4usize,
        ops in prop::collection::vec(any::<u8>().prop_map(ops::Op::decode), 0..24),
    ) {
        let _watchdog = watchdog("groups_on_a_pool_keep_their_promises", &(threads, limit, &ops));
        for mode in ops::MODES {
            ops::run(threads, limit, mode, &ops);
        }
    }

    #[test]
    fn shutdown_runs_every_detached_task_and_reports_each_panic(
        threads in 1..=3usize,
        capacity in 1..=8usize,
        panics in prop::collection::vec(prop::bool::weighted(0.3), 0..20),
    ) {
        ops::quiet_deliberate_panics();
        let _watchdog = watchdog("shutdown_runs_every_detached_task", &(threads, capacity));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            check_detached(threads, capacity, &panics)
        }));
        outcome.map_err(|_| TestCaseError::fail("the pool panicked"))??;
    }
}
