//! loom's types, so that loom explores every interleaving and every reordering the weak memory
//! model allows. loom has no 16-byte atomic: [`ModelAtomicU128`] is built from one it has.

pub(crate) use super::model_u128::ModelAtomicU128 as AtomicU128;
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
pub(crate) use loom::thread::{self, ThreadId};
