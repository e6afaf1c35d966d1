//! One blocking round of a select, or one wait of an async operation: the claim that lets
//! exactly one operation complete, and the notification that tells the waiter (a sleeping
//! thread, or a task's [`Waker`]) that one of its channels may be ready.

use std::task::Waker;
use std::time::Instant;

use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, wait_deadline};

/// Nobody has claimed the selection yet.
const WAITING: usize = 0;
/// The selecting thread gave up the round itself (woken, timed out, or saw a ready channel).
const ABORTED: usize = usize::MAX;

/// A waiter's registration, shared with every channel it waits on for one round: a selecting
/// thread's, or a pending future's (see `crate::future`).
///
/// Its state goes once from waiting to claimed: by a rendezvous partner that completes one of
/// the operations (`1 + index`), or by the waiter itself when it stops waiting. A partner that
/// loses the claim leaves the operation alone, so at most one of the registered operations
/// completes.
pub struct Selection {
    state: AtomicUsize,
    wakeup: Mutex<Wakeup>,
    /// Where a selecting thread sleeps; a task is woken through its waker instead.
    asleep: Condvar,
    /// Whether the waiter is a task. A wait queue wakes one task per notification (a thread,
    /// all), so a task that drops a notification it never saw must pass it on.
    task: bool,
    /// A task's: whether its registration is published, by a heavy fence issued after it or
    /// by another task's in the same line (`park.rs`, "Waiting in line").
    published: AtomicBool,
}

/// The waiter's side of a notification.
struct Wakeup {
    notice: Notice,
    /// The task to wake; `None` for a thread.
    waker: Option<Waker>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Notice {
    None,
    /// Notified, and the waiter has not looked yet.
    Given,
    /// Notified, and the waiter has seen it (a task's poll): it acts on it itself.
    Seen,
}

impl Selection {
    /// A selecting thread's registration.
    pub(crate) fn new() -> Arc<Self> {
        Self::with_task(false)
    }

    /// A future's registration, without a waker yet: the task gives it one with
    /// [`poll_notified`](Self::poll_notified) once it has registered everywhere and its re-check
    /// found nothing, and a notification before then wakes nobody (the task, still in its
    /// poll, sees it there).
    pub(crate) fn for_task() -> Arc<Self> {
        Self::with_task(true)
    }

    fn with_task(task: bool) -> Arc<Self> {
        Arc::new(Self {
            state: AtomicUsize::new(WAITING),
            task,
            wakeup: Mutex::new(Wakeup {
                notice: Notice::None,
                waker: None,
            }),
            asleep: Condvar::new(),
            published: AtomicBool::new(false),
        })
    }

    /// Records that the task's registration is published (`park.rs`, "Waiting in line"): the
    /// caller issued the heavy half of the wait queue's fence after registering, or found a
    /// published task in line before it.
    pub(crate) fn mark_published(&self) {
        // Release: pairs with the Acquire load in `is_published`, so a task that relies on
        // this one is ordered after the fence that published it.
        self.published.store(true, Ordering::Release);
    }

    /// Whether [`mark_published`](Self::mark_published) was called.
    pub(crate) fn is_published(&self) -> bool {
        // Acquire: pairs with the Release store in `mark_published`.
        self.published.load(Ordering::Acquire)
    }

    /// Whether the waiter is a task (module documentation of `park.rs`: a wait queue wakes
    /// one task per notification).
    pub(crate) fn is_task(&self) -> bool {
        self.task
    }

    /// Claims the selection for operation `op`; false if it is claimed already.
    pub(crate) fn try_claim(&self, op: usize) -> bool {
        // Relaxed (both): the word only decides who wins; it publishes nothing. Pairs with the
        // other exchanges of this word (the partners', `abort`), which all see one modification
        // order, so exactly one wins. The data travels under the rendezvous channel's lock: a
        // partner claims and completes the meeting in one critical section, and the waiter,
        // once `abort` has read the claim, takes that lock before it reads the meeting
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

    /// Ends the round from the waiter's side: `Some(op)` if a partner (or the waiter itself,
    /// during registration) completed operation `op`, `None` if none did, and none can any
    /// more.
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

    /// Wakes the waiter (or keeps it from falling asleep): one of its channels changed.
    pub(crate) fn notify(&self) {
        if let Some(waker) = self.mark_notified() {
            waker.wake();
        }
    }

    /// Records a notification; the task's waker, which the caller wakes (after releasing its
    /// own locks, if it likes). A thread is signalled here.
    pub(crate) fn mark_notified(&self) -> Option<Waker> {
        if cfg!(verisync_mutant = "select_notify_lost") {
            return None;
        }
        let mut wakeup = self.wakeup.lock();
        if wakeup.notice == Notice::None {
            wakeup.notice = Notice::Given;
        }
        let waker = wakeup.waker.take();
        if !self.task {
            self.asleep.notify_one();
        }
        waker
    }

    /// A task's poll, from the end of its registration on: true if notified since it
    /// registered (the task now acts on the notification itself); otherwise remembers `waker`
    /// as the one to wake (the first call gives the registration its waker).
    pub(crate) fn poll_notified(&self, waker: &Waker) -> bool {
        let mut wakeup = self.wakeup.lock();
        if wakeup.notice != Notice::None {
            wakeup.notice = Notice::Seen;
            return true;
        }
        match &mut wakeup.waker {
            Some(current) if current.will_wake(waker) => {}
            Some(_) if cfg!(verisync_mutant = "async_waker_not_updated") => {}
            slot => *slot = Some(waker.clone()),
        }
        false
    }

    /// Whether the waiter saw a notification ([`poll_notified`](Self::poll_notified) returned
    /// true): a state it never leaves.
    pub(crate) fn saw_notification(&self) -> bool {
        self.wakeup.lock().notice == Notice::Seen
    }

    /// Whether a notification reached the waiter that it has not seen (a task that stops
    /// waiting passes such a notification on).
    pub(crate) fn has_unseen_notification(&self) -> bool {
        if cfg!(verisync_mutant = "async_wakeup_not_passed_on") {
            return false;
        }
        self.wakeup.lock().notice == Notice::Given
    }

    /// Sleeps until [`notify`](Self::notify) or `deadline`; true if the deadline passed
    /// first (under a model checker, at once: see [`wait_deadline`]).
    pub(crate) fn sleep(&self, deadline: Option<Instant>) -> bool {
        let mut wakeup = self.wakeup.lock();
        while wakeup.notice == Notice::None {
            let (guard, timed_out) = wait_deadline(&self.asleep, wakeup, deadline);
            wakeup = guard;
            if timed_out && wakeup.notice == Notice::None {
                return true;
            }
        }
        false
    }
}
