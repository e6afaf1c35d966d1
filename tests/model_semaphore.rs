//! Model tests for `verisync::semaphore`: random operation sequences on one thread, checked
//! against a sequential model (free permits, total, closed flag, the permits each guard holds).
//!
//! Every operation that could block runs only with a zero timeout, which must then fail with
//! `Timeout` exactly when the model has too few free permits. After every step the free count,
//! the total and the closed flag must match the model.
//!
//! Case count: 512; `PROPTEST_CASES=N` overrides it. Ignored under Miri (`tests/semaphore.rs`
//! is the Miri suite).

#[path = "support/model.rs"]
mod model;

use std::time::Duration;

use model::{config, watchdog};

use proptest::prelude::*;
use verisync::semaphore::{AcquireError, AcquireTimeoutError, Permit, Semaphore, TryAcquireError};

/// One step.
#[derive(Clone, Debug)]
enum Op {
    TryAcquire(usize),
    /// `acquire_many_timeout(n, 0)`.
    AcquireNow(usize),
    /// `acquire_many(n)`, only run when the model says it returns at once.
    Acquire(usize),
    /// Drops the guard at this index (modulo the guards held), if any.
    Release(usize),
    /// Forgets the guard at this index (modulo the guards held), if any.
    Forget(usize),
    AddPermits(usize),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..5).prop_map(Op::TryAcquire),
        (0usize..5).prop_map(Op::AcquireNow),
        (0usize..5).prop_map(Op::Acquire),
        any::<usize>().prop_map(Op::Release),
        any::<usize>().prop_map(Op::Forget),
        (0usize..3).prop_map(Op::AddPermits),
        Just(Op::Close),
    ]
}

/// The sequential model.
struct Model {
    free: usize,
    total: usize,
    closed: bool,
}

impl Model {
    /// What a non-waiting request for `n` returns: `Ok` or the `try_` error.
    fn try_take(&mut self, n: usize) -> Result<(), TryAcquireError> {
        if self.closed {
            Err(TryAcquireError::Closed)
        } else if n > self.total {
            Err(TryAcquireError::TooLarge {
                requested: n,
                total: self.total,
            })
        } else if self.free < n {
            Err(TryAcquireError::NoPermits)
        } else {
            self.free -= n;
            Ok(())
        }
    }
}

fn run(initial: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let semaphore = Semaphore::new(initial);
    let mut model = Model {
        free: initial,
        total: initial,
        closed: false,
    };
    let mut held: Vec<Permit<'_>> = Vec::new();
    for op in ops {
        match op {
            Op::TryAcquire(n) => {
                let expected = model.try_take(n);
                let got = semaphore.try_acquire_many(n);
                prop_assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n)
                );
                held.extend(got.ok());
            }
            Op::AcquireNow(n) => {
                // A blocking request above the total waits like any other: here, for nothing.
                let expected = model.try_take(n).map_err(|err| match err {
                    TryAcquireError::NoPermits | TryAcquireError::TooLarge { .. } => {
                        AcquireTimeoutError::Timeout
                    }
                    TryAcquireError::Closed => AcquireTimeoutError::Closed,
                });
                let got = semaphore.acquire_many_timeout(n, Duration::ZERO);
                prop_assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n)
                );
                held.extend(got.ok());
            }
            Op::Acquire(n) => {
                if model.free < n && !model.closed {
                    continue; // would block (above the total too, until permits are added)
                }
                let expected = model.try_take(n).map_err(|err| match err {
                    TryAcquireError::Closed => AcquireError::Closed,
                    err => unreachable!("skipped above: {err:?}"),
                });
                let got = semaphore.acquire_many(n);
                prop_assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n)
                );
                held.extend(got.ok());
            }
            Op::Release(index) => {
                if !held.is_empty() {
                    let permit = held.swap_remove(index % held.len());
                    model.free += permit.count();
                }
            }
            Op::Forget(index) => {
                if !held.is_empty() {
                    let permit = held.swap_remove(index % held.len());
                    model.total -= permit.count();
                    permit.forget();
                }
            }
            Op::AddPermits(n) => {
                semaphore.add_permits(n);
                model.free += n;
                model.total += n;
            }
            Op::Close => {
                semaphore.close();
                model.closed = true;
            }
        }
        prop_assert_eq!(semaphore.available_permits(), model.free);
        prop_assert_eq!(semaphore.total_permits(), model.total);
        prop_assert_eq!(semaphore.is_closed(), model.closed);
    }
    drop(held);
    prop_assert_eq!(semaphore.available_permits(), model.total);
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn sequential_ops_match_the_model(
        initial in 0usize..5,
        ops in proptest::collection::vec(op(), 0..64),
    ) {
        let _watchdog = watchdog("sequential_ops_match_the_model", &(initial, &ops));
        run(initial, ops)?;
    }
}
