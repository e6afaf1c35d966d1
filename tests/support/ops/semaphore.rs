//! The operations of `verisync::semaphore` on one thread and the sequential model they are
//! checked against: shared by the proptest suite (`tests/model_semaphore.rs`, which generates
//! [`Op`]s) and the fuzz target (`fuzz/fuzz_targets/semaphore.rs`, which decodes them from
//! bytes), so that both check the same things in the same way.
//!
//! Every operation that could block runs only when the model says it returns at once, or with
//! a zero timeout, which must then fail with `Timeout` exactly when the model has too few free
//! permits. After every step the free count, the total and the closed flag must match.

use std::time::Duration;

use verisync::semaphore::{AcquireError, AcquireTimeoutError, Permit, Semaphore, TryAcquireError};

/// One step.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `try_acquire_many(n)`.
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

impl Op {
    /// The operation a fuzzer's byte names: the low 3 bits pick it, the high 5 bits are its
    /// parameter (a request of 0..=7 permits, up to 3 added, or a guard index).
    pub fn decode(byte: u8) -> Self {
        let parameter = usize::from(byte >> 3);
        match byte & 0x07 {
            0 => Op::TryAcquire(parameter % 8),
            1 => Op::Acquire(parameter % 8),
            2 => Op::AcquireNow(parameter % 8),
            3 | 4 => Op::Release(parameter),
            5 => Op::Forget(parameter),
            6 => Op::AddPermits(parameter % 4),
            _ if parameter == 0 => Op::Close,
            _ => Op::TryAcquire(parameter % 8),
        }
    }
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

/// Runs `ops` on a semaphore of `initial` permits and on the model; panics at the first
/// difference.
pub fn run(initial: usize, ops: impl IntoIterator<Item = Op>) {
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
                assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n),
                    "{op:?}"
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
                assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n),
                    "{op:?}"
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
                assert_eq!(
                    got.as_ref().map(Permit::count).map_err(|e| *e),
                    expected.map(|()| n),
                    "{op:?}"
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
        assert_eq!(semaphore.available_permits(), model.free, "after {op:?}");
        assert_eq!(semaphore.total_permits(), model.total, "after {op:?}");
        assert_eq!(semaphore.is_closed(), model.closed, "after {op:?}");
    }
    drop(held);
    assert_eq!(
        semaphore.available_permits(),
        model.total,
        "after the guards' drops"
    );
}
