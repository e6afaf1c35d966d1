//! The synchronization facade: the one place that names the atomics, cells, locks and threads
//! the primitives are built on.
//!
//! Three backends, chosen at compile time (see `build.rs` for the switches):
//! - `cfg(verisync_loom)` (`under_loom.rs`): loom's types, so loom can explore every
//!   interleaving and every allowed reordering of the weak memory model.
//! - `cfg(verisync_shuttle)` (`under_shuttle.rs`): shuttle's types, so shuttle's schedulers
//!   control every thread switch.
//! - otherwise std's (`native.rs`).
//!
//! Over the backend, one spelling of what every primitive needs: a [`Mutex`] without
//! poisoning, the one deadline wait [`wait_deadline`], the one retry [`Backoff`], and an
//! [`UnsafeCell`] with loom's closure-based API everywhere.

#[cfg_attr(verisync_loom, path = "under_loom.rs")]
#[cfg_attr(verisync_shuttle, path = "under_shuttle.rs")]
#[cfg_attr(not(any(verisync_loom, verisync_shuttle)), path = "native.rs")]
mod backend;
mod backoff;
mod cell;
#[cfg(any(verisync_loom, verisync_shuttle))]
mod model_u128;
mod mutex;

pub(crate) use backend::{
    Arc, AtomicBool, AtomicPtr, AtomicU64, AtomicU128, AtomicUsize, Ordering, ThreadId, fence,
    thread,
};
pub(crate) use backoff::Backoff;
pub use cell::UnsafeCell;
pub(crate) use cell::uninit_slots;
pub(crate) use mutex::{Condvar, Mutex, wait_deadline};

/// Only orders the compiler, never the CPU: the cheap half of the asymmetric fence in
/// `fence.rs`, which is only used outside loom and shuttle.
pub(crate) use std::sync::atomic::compiler_fence;

/// True when a model checker (loom or shuttle) controls the threads: blocking code then parks
/// at once instead of spinning, because a spin loop is only wasted schedule steps to a checker.
pub(crate) const MODEL_CHECKED: bool = cfg!(any(verisync_loom, verisync_shuttle));
