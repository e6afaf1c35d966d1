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
    sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence},
    sync::{Arc, Condvar, Mutex, MutexGuard},
};

#[cfg(all(feature = "shuttle", not(verisync_loom)))]
pub(crate) use shuttle::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence},
};

#[cfg(not(any(verisync_loom, feature = "shuttle")))]
pub(crate) use std::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence},
};

#[cfg(not(verisync_loom))]
pub(crate) use std::sync::Arc;

/// Scoped threads, for `fanout`: shuttle's under shuttle, so that its schedulers control them;
/// std's otherwise. loom has no scoped threads, so `fanout` is not built under loom.
#[cfg(all(feature = "shuttle", not(verisync_loom)))]
pub(crate) use shuttle::thread::{self, Scope as ThreadScope, ThreadId};
#[cfg(not(any(verisync_loom, feature = "shuttle")))]
pub(crate) use std::thread::{self, Scope as ThreadScope, ThreadId};

/// Only orders the compiler, never the CPU: the cheap half of the asymmetric fence in
/// `park.rs`, which is only used outside loom and shuttle.
pub(crate) use std::sync::atomic::compiler_fence;

/// True when a model checker (loom or shuttle) controls the threads: blocking code then parks
/// at once instead of spinning, because a spin loop is only wasted schedule steps to a checker.
pub(crate) const MODEL_CHECKED: bool = cfg!(any(verisync_loom, feature = "shuttle"));

/// Backs off in a retry loop that waits for another thread: crossbeam's exponential backoff
/// natively; under loom or shuttle, a yield to the checker's scheduler, which otherwise could
/// keep running the spinning thread forever and never the one it waits for.
pub(crate) struct Backoff {
    #[cfg(not(any(verisync_loom, feature = "shuttle")))]
    inner: crossbeam_utils::Backoff,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(not(any(verisync_loom, feature = "shuttle")))]
            inner: crossbeam_utils::Backoff::new(),
        }
    }

    /// Backs off after losing a race (a failed compare-exchange): the winner is running.
    pub(crate) fn spin(&self) {
        #[cfg(not(any(verisync_loom, feature = "shuttle")))]
        self.inner.spin();
        #[cfg(any(verisync_loom, feature = "shuttle"))]
        yield_to_checker();
    }

    /// Backs off while waiting for another thread to finish a step: spins, then yields the CPU,
    /// which the awaited thread may need when threads outnumber cores.
    pub(crate) fn snooze(&self) {
        #[cfg(not(any(verisync_loom, feature = "shuttle")))]
        self.inner.snooze();
        #[cfg(any(verisync_loom, feature = "shuttle"))]
        yield_to_checker();
    }
}

#[cfg(verisync_loom)]
fn yield_to_checker() {
    loom::thread::yield_now();
}

#[cfg(all(feature = "shuttle", not(verisync_loom)))]
fn yield_to_checker() {
    shuttle::thread::yield_now();
}

/// `std::cell::UnsafeCell` with loom's access API (`with`, `with_mut`).
#[cfg(not(verisync_loom))]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(verisync_loom))]
impl<T> UnsafeCell<T> {
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
/// nothing). The caller has checked that the layout fits in `isize`.
pub(crate) fn uninit_slots<T>(len: usize) -> Box<[UnsafeCell<std::mem::MaybeUninit<T>>]> {
    #[cfg(verisync_loom)]
    {
        // loom's cells carry tracking state, so each one is built; loom models are tiny.
        (0..len)
            .map(|_| UnsafeCell::new(std::mem::MaybeUninit::uninit()))
            .collect()
    }
    #[cfg(not(verisync_loom))]
    {
        let mut slots = Vec::with_capacity(len);
        // SAFETY: the element type is a `repr(transparent)` wrapper around
        // `std::cell::UnsafeCell<MaybeUninit<T>>`, which has no validity invariant, so `len`
        // slots of uninitialized memory are valid values; the capacity is exactly `len`.
        unsafe { slots.set_len(len) };
        slots.into_boxed_slice()
    }
}
