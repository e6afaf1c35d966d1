//! The locks and the one deadline wait of every blocking primitive.

use std::time::Instant;

use super::MODEL_CHECKED;
pub(crate) use super::backend::Condvar;
use super::backend::MutexGuard;

/// The backend's mutex without poisoning: [`lock`](Self::lock) hands out the guard even after
/// a thread panicked while holding it. No verisync code needs poisoning: the only critical
/// section that runs user code (`fanout` pulling items from the caller's iterator) is one
/// whose panic cancels the group and is resumed by the group's owner, which throws the state
/// away; no other critical section can panic half-way through a change. Poisoning would only
/// turn one thread's panic into a panic of every thread that shares the primitive.
pub(crate) struct Mutex<T>(super::backend::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(super::backend::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn into_inner(self) -> T {
        self.0
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Waits on `condvar`, with `guard`'s lock released meanwhile, until it is notified or
/// `deadline` (if any) has passed; returns the guard and whether the deadline had passed. A
/// notification and a spurious wake-up both return `false`: callers re-check their condition
/// and wait again.
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
    deadline: Option<Instant>,
) -> (MutexGuard<'a, T>, bool) {
    let Some(deadline) = deadline else {
        let guard = condvar
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        return (guard, false);
    };
    if MODEL_CHECKED {
        return (guard, true);
    }
    let now = Instant::now();
    if now >= deadline {
        return (guard, true);
    }
    let (guard, _) = condvar
        .wait_timeout(guard, deadline - now)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    (guard, false)
}
