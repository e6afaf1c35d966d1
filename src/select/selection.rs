//! One blocking round of a select: the claim that lets exactly one operation complete, and
//! the place where the selecting thread sleeps until one of its channels may be ready.

use std::time::Instant;

use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering, wait_deadline};

/// Nobody has claimed the selection yet.
const WAITING: usize = 0;
/// The selecting thread gave up the round itself (woken, timed out, or saw a ready channel).
const ABORTED: usize = usize::MAX;

/// A selecting thread's registration, shared with every channel it waits on for one round.
///
/// Its state goes once from waiting to claimed: by a rendezvous partner that completes one of
/// the operations (`1 + index`), or by the selecting thread itself when it stops waiting. A
/// partner that loses the claim leaves the operation alone, so at most one of the registered
/// operations completes.
pub struct Selection {
    state: AtomicUsize,
    /// Set by [`notify`](Self::notify); the sleeper's reason to wake up.
    notified: Mutex<bool>,
    wakeup: Condvar,
}

impl Selection {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: AtomicUsize::new(WAITING),
            notified: Mutex::new(false),
            wakeup: Condvar::new(),
        })
    }

    /// Claims the selection for operation `op`; false if it is claimed already.
    pub(crate) fn try_claim(&self, op: usize) -> bool {
        // Relaxed (both): the word only decides who wins; it publishes nothing. Pairs with the
        // other exchanges of this word (the partners', `abort`), which all see one modification
        // order, so exactly one wins. The data travels under the rendezvous channel's lock: a
        // partner claims and completes the meeting in one critical section, and the selecting
        // thread, once `abort` has read the claim, takes that lock before it reads the meeting
        // (`Rendezvous::unwatch`); its critical section cannot come first, or its read of the
        // claim would happen before the claim. (The ordering audit weakened it from AcqRel.)
        let won = self
            .state
            .compare_exchange(WAITING, op + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        mutant!("select_claim_ignored", true, won)
    }

    /// Gives the selection up after the caller claimed it for an operation that then found
    /// no partner: the round ends without a completed operation.
    pub(crate) fn release_own_claim(&self) {
        // Relaxed: only the caller's own `abort` reads it (program order); partners only need
        // to see that the state is no longer `WAITING`, which it has not been since the claim.
        self.state.store(ABORTED, Ordering::Relaxed);
    }

    /// Ends the round from the selecting thread's side: `Some(op)` if a partner (or the
    /// selecting thread, during registration) completed operation `op`, `None` if none did,
    /// and none can any more.
    pub(crate) fn abort(&self) -> Option<usize> {
        // Relaxed (both): pairs with `try_claim`'s exchange, and publishes nothing, as there:
        // what a partner did is read under the channel's lock.
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) | Err(ABORTED) => None,
            Err(claimed) => Some(claimed - 1),
        }
    }

    /// Wakes the selecting thread (or keeps it from falling asleep): one of its channels
    /// changed.
    pub(crate) fn notify(&self) {
        if cfg!(verisync_mutant = "select_notify_lost") {
            return;
        }
        *self.notified.lock() = true;
        self.wakeup.notify_one();
    }

    /// Sleeps until [`notify`](Self::notify) or `deadline`; true if the deadline passed
    /// first (under a model checker, at once: see [`wait_deadline`]).
    pub(crate) fn sleep(&self, deadline: Option<Instant>) -> bool {
        let mut notified = self.notified.lock();
        while !*notified {
            let (guard, timed_out) = wait_deadline(&self.wakeup, notified, deadline);
            notified = guard;
            if timed_out && !*notified {
                return true;
            }
        }
        false
    }
}
