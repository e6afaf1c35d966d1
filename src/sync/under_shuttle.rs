//! shuttle's types, so that shuttle's schedulers control every thread switch. shuttle has no
//! 16-byte atomic ([`ModelAtomicU128`] is built from one it has) and needs no `Arc` of its own.

pub(crate) use super::model_u128::ModelAtomicU128 as AtomicU128;
pub(crate) use shuttle::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
pub(crate) use shuttle::sync::{Condvar, Mutex, MutexGuard};
pub(crate) use shuttle::thread::{self, ThreadId};
pub(crate) use std::sync::Arc;
