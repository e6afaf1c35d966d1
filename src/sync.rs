//! The synchronization facade: the one place that names the atomics, cells, locks and threads
//! the primitives are built on.
//!
//! Three backends, chosen at compile time:
//! - `--cfg verisync_loom`: loom's types, so loom can explore every interleaving and every
//!   allowed reordering of the weak memory model.
//! - feature `shuttle`: shuttle's types, so shuttle's schedulers control every thread switch.
//! - otherwise std's.
//!
//! Outside loom, [`UnsafeCell`] is a zero-cost wrapper that speaks loom's closure-based API, so
//! the primitives are written once for all three backends.

#[cfg(verisync_loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence},
    sync::{Arc, Condvar, Mutex, MutexGuard},
};

#[cfg(all(feature = "shuttle", not(verisync_loom)))]
pub(crate) use shuttle::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(not(any(verisync_loom, feature = "shuttle")))]
pub(crate) use std::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(not(verisync_loom))]
pub(crate) use std::sync::Arc;

#[cfg(any(verisync_loom, feature = "shuttle"))]
pub(crate) use model_u128::ModelAtomicU128 as AtomicU128;
/// A 16-byte atomic: portable-atomic's (`cmpxchg16b`, and plain 16-byte loads where the CPU
/// makes them atomic); under loom or shuttle, [`ModelAtomicU128`], since neither has one.
#[cfg(not(any(verisync_loom, feature = "shuttle")))]
pub(crate) use portable_atomic::AtomicU128;

/// A 16-byte atomic for the model checkers, made of one they have: the checked atomic holds an
/// index into the list of every value ever stored, which only grows. Each value is stored once,
/// at a fresh index, before the index is published, so loading the index with an ordering and
/// then the value is exactly a load of the value with that ordering; a compare-and-swap on the
/// index from the one whose value matched is one on the value. The list itself is behind a
/// plain std lock the checkers do not see: it is only the values' storage, never an order.
#[cfg(any(verisync_loom, feature = "shuttle"))]
mod model_u128 {
    use super::{AtomicUsize, Ordering};

    pub(crate) struct ModelAtomicU128 {
        current: AtomicUsize,
        values: std::sync::Mutex<Vec<u128>>,
    }

    impl ModelAtomicU128 {
        pub(crate) fn new(value: u128) -> Self {
            Self {
                current: AtomicUsize::new(0),
                values: std::sync::Mutex::new(vec![value]),
            }
        }

        fn value(&self, index: usize) -> u128 {
            self.values.lock().unwrap_or_else(|err| err.into_inner())[index]
        }

        fn add(&self, value: u128) -> usize {
            let mut values = self.values.lock().unwrap_or_else(|err| err.into_inner());
            values.push(value);
            values.len() - 1
        }

        pub(crate) fn load(&self, order: Ordering) -> u128 {
            self.value(self.current.load(order))
        }

        pub(crate) fn compare_exchange_weak(
            &self,
            expected: u128,
            new: u128,
            success: Ordering,
            failure: Ordering,
        ) -> Result<u128, u128> {
            let mut index = self.current.load(failure);
            loop {
                let value = self.value(index);
                if value != expected {
                    return Err(value);
                }
                let new_index = self.add(new);
                match self
                    .current
                    .compare_exchange(index, new_index, success, failure)
                {
                    Ok(_) => return Ok(value),
                    Err(actual) => index = actual,
                }
            }
        }
    }
}

/// Threads, for `fanout`'s pool: loom's under loom and shuttle's under shuttle, so that the
/// checkers control them; std's otherwise. Each has `Builder`, `JoinHandle` and `current`.
#[cfg(verisync_loom)]
pub(crate) use loom::thread::{self, ThreadId};
#[cfg(all(feature = "shuttle", not(verisync_loom)))]
pub(crate) use shuttle::thread::{self, ThreadId};
#[cfg(not(any(verisync_loom, feature = "shuttle")))]
pub(crate) use std::thread::{self, ThreadId};

/// Only orders the compiler, never the CPU: the cheap half of the asymmetric fence in
/// `fence.rs`, which is only used outside loom and shuttle.
pub(crate) use std::sync::atomic::compiler_fence;

/// True when a model checker (loom or shuttle) controls the threads: blocking code then parks
/// at once instead of spinning, because a spin loop is only wasted schedule steps to a checker.
pub(crate) const MODEL_CHECKED: bool = cfg!(any(verisync_loom, feature = "shuttle"));

/// Waits on `condvar`, with `guard`'s lock released meanwhile, until it is notified or
/// `deadline` (if any) has passed; returns the guard and whether the deadline had passed. A
/// notification and a spurious wake-up both return `false`: callers re-check their condition
/// and wait again. The one deadline wait of every blocking primitive.
///
/// Under loom and shuttle no time passes (their condition variables never time out), so a
/// wait with a deadline returns at once, timed out: whether the caller's re-check then finds
/// its wait served depends on what the other threads did before this point, which the
/// checker's schedules vary, so both outcomes are explored instead of a false deadlock. A wait
/// without a deadline blocks as everywhere, and a checker reports it as a deadlock if nothing
/// can ever wake it.
pub(crate) fn wait_deadline<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<std::time::Instant>,
) -> (MutexGuard<'a, T>, bool) {
    // A poisoned lock is used as it is: no verisync code runs user code under these locks.
    let Some(deadline) = deadline else {
        let guard = condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
        return (guard, false);
    };
    if MODEL_CHECKED {
        return (guard, true);
    }
    let now = std::time::Instant::now();
    if now >= deadline {
        return (guard, true);
    }
    let (guard, _) = condvar
        .wait_timeout(guard, deadline - now)
        .unwrap_or_else(|e| e.into_inner());
    (guard, false)
}

/// Backs off in a retry loop that waits for another thread: crossbeam's exponential backoff
/// natively; under loom or shuttle, a yield to the checker's scheduler, which otherwise could
/// keep running the spinning thread forever and never the one it waits for.
pub(crate) struct Backoff {
    #[cfg(not(any(verisync_loom, feature = "shuttle")))]
    inner: crossbeam_utils::Backoff,
    /// Rounds waited so far: loom never reschedules a yielded thread before another one has
    /// taken a step, so a wait that a correct program ends takes a handful of rounds, and one
    /// that reaches [`LIVELOCK_ROUNDS`] waits for a step nobody will take. Failing it is how
    /// the model reports that livelock: loom itself would explore the endless execution until
    /// the machine runs out of memory.
    #[cfg(verisync_loom)]
    rounds: std::cell::Cell<usize>,
}

/// The rounds after which a loom model calls a wait a livelock (see `Backoff::rounds`).
#[cfg(verisync_loom)]
const LIVELOCK_ROUNDS: usize = 1_000;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(not(any(verisync_loom, feature = "shuttle")))]
            inner: crossbeam_utils::Backoff::new(),
            #[cfg(verisync_loom)]
            rounds: std::cell::Cell::new(0),
        }
    }

    /// Backs off after losing a race (a failed compare-exchange): the winner is running.
    pub(crate) fn spin(&self) {
        #[cfg(not(any(verisync_loom, feature = "shuttle")))]
        self.inner.spin();
        #[cfg(any(verisync_loom, feature = "shuttle"))]
        self.yield_to_checker();
    }

    /// Backs off while waiting for another thread to finish a step: spins, then yields the CPU,
    /// which the awaited thread may need when threads outnumber cores.
    pub(crate) fn snooze(&self) {
        #[cfg(not(any(verisync_loom, feature = "shuttle")))]
        self.inner.snooze();
        #[cfg(any(verisync_loom, feature = "shuttle"))]
        self.yield_to_checker();
    }

    #[cfg(verisync_loom)]
    fn yield_to_checker(&self) {
        let rounds = self.rounds.get() + 1;
        assert!(
            rounds < LIVELOCK_ROUNDS,
            "verisync under loom: a wait for another thread's step went {rounds} rounds \
             without it (a livelock)"
        );
        self.rounds.set(rounds);
        loom::thread::yield_now();
    }

    #[cfg(all(feature = "shuttle", not(verisync_loom)))]
    fn yield_to_checker(&self) {
        shuttle::thread::yield_now();
    }
}

/// `std::cell::UnsafeCell` with loom's access API (`with`, `with_mut`).
#[cfg(not(verisync_loom))]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(verisync_loom))]
impl<T> UnsafeCell<T> {
    #[inline(always)]
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Allocates `len` uninitialized slots without touching them (a ZST buffer of any length costs
/// nothing), or reports that the allocator failed. The caller has checked that the layout fits
/// in `isize`.
pub(crate) fn uninit_slots<T>(
    len: usize,
) -> Result<Box<[UnsafeCell<std::mem::MaybeUninit<T>>]>, crate::error::CapacityError> {
    use crate::error::CapacityError;
    #[cfg(verisync_loom)]
    {
        // loom's cells carry tracking state, so each one is built; loom models are tiny.
        CapacityError::boxed_slice(len, |_| UnsafeCell::new(std::mem::MaybeUninit::uninit()))
    }
    #[cfg(not(verisync_loom))]
    {
        let mut slots = CapacityError::reserve(len)?;
        // SAFETY: the element type is a `repr(transparent)` wrapper around
        // `std::cell::UnsafeCell<MaybeUninit<T>>`, which has no validity invariant, so `len`
        // slots of uninitialized memory are valid values; the capacity is exactly `len`.
        unsafe { slots.set_len(len) };
        Ok(slots.into_boxed_slice())
    }
}
