//! Fuzz target for `verisync::semaphore`: the input bytes become an initial permit count and a
//! sequence of operations on one thread; every result, the free count, the total and the
//! closed flag are compared with a sequential model after each step.
//!
//! ```text
//! cargo +nightly fuzz run semaphore -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 is the initial permit count (low 3 bits); then each byte is one
//! operation: its low 3 bits name it, its high 5 bits are the parameter (a request size of
//! 0..=7 or a guard index). Requests that would wait use a zero timeout.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use verisync::semaphore::{AcquireTimeoutError, Permit, Semaphore, TryAcquireError};

/// The sequential model.
struct Model {
    free: usize,
    total: usize,
    closed: bool,
}

impl Model {
    /// What a request for `n` that does not wait returns.
    fn take(&mut self, n: usize) -> Result<(), TryAcquireError> {
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

fuzz_target!(|data: &[u8]| {
    let Some((&setup, ops)) = data.split_first() else {
        return;
    };
    let initial = usize::from(setup & 0x07);
    let semaphore = Semaphore::new(initial);
    let mut model = Model {
        free: initial,
        total: initial,
        closed: false,
    };
    let mut held: Vec<Permit<'_>> = Vec::new();
    for &byte in ops {
        let parameter = usize::from(byte >> 3);
        match byte & 0x07 {
            0 | 1 => {
                let n = parameter % 8;
                let expected = model.take(n).map(|()| n);
                let got = semaphore.try_acquire_many(n);
                assert_eq!(got.as_ref().map(Permit::count).map_err(|e| *e), expected);
                held.extend(got.ok());
            }
            2 => {
                let n = parameter % 8;
                // A blocking request above the total waits like any other: here, for nothing.
                let expected = model.take(n).map(|()| n).map_err(|err| match err {
                    TryAcquireError::NoPermits | TryAcquireError::TooLarge { .. } => {
                        AcquireTimeoutError::Timeout
                    }
                    TryAcquireError::Closed => AcquireTimeoutError::Closed,
                });
                let got = semaphore.acquire_many_timeout(n, Duration::ZERO);
                assert_eq!(got.as_ref().map(Permit::count).map_err(|e| *e), expected);
                held.extend(got.ok());
            }
            3 | 4 => {
                if !held.is_empty() {
                    let permit = held.swap_remove(parameter % held.len());
                    model.free += permit.count();
                }
            }
            5 => {
                if !held.is_empty() {
                    let permit = held.swap_remove(parameter % held.len());
                    model.total -= permit.count();
                    permit.forget();
                }
            }
            6 => {
                let n = parameter % 4;
                semaphore.add_permits(n);
                model.free += n;
                model.total += n;
            }
            _ => {
                if parameter == 0 {
                    semaphore.close();
                    model.closed = true;
                }
            }
        }
        assert_eq!(semaphore.available_permits(), model.free);
        assert_eq!(semaphore.total_permits(), model.total);
        assert_eq!(semaphore.is_closed(), model.closed);
    }
    drop(held);
    assert_eq!(semaphore.available_permits(), model.total);
});
