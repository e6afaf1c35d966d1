//! std's types, for every build without a model checker. The 16-byte atomic is
//! portable-atomic's (`cmpxchg16b`, and plain 16-byte loads where the CPU makes them atomic).

pub(crate) use portable_atomic::AtomicU128;
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
pub(crate) use std::thread::{self, ThreadId};
