//! The engine under [`Semaphore`](super::Semaphore): the state word's fast path and the FIFO
//! wait list, which hands released permits to the oldest waiter.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use super::{AcquireTimeoutError, TryAcquireError};
use super::{CLOSED, PERMIT_SHIFT, Permit, QUEUED, Semaphore};
use crate::sync::{Backoff, Condvar, Mutex, Ordering, wait_deadline};

/// One waiting thread or task: how many permits it wants and how its wait ended.
pub(super) struct Waiter {
    needed: usize,
    wait: Mutex<Wait>,
    /// Where a thread sleeps; a task is woken through its waker instead.
    wakeup: Condvar,
}

/// A waiter's state, under its own lock.
struct Wait {
    outcome: Outcome,
    /// The task to wake when the wait ends; `None` for a thread.
    task: Option<Waker>,
}

/// How a wait ended; set under the queue lock when the waiter leaves the queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Outcome {
    Waiting,
    Granted,
    Closed,
}

/// Waiters whose wait ended under the queue lock, to be woken once it is released.
/// The first one inline: the common hand-off, one release to one waiter, allocates nothing.
#[derive(Default)]
struct Woken {
    first: Option<Arc<Waiter>>,
    others: Vec<Arc<Waiter>>,
}

impl Woken {
    fn push(&mut self, waiter: Arc<Waiter>) {
        match self.first {
            None => self.first = Some(waiter),
            Some(_) => self.others.push(waiter),
        }
    }
}

impl Semaphore {
    /// Fails every queued waiter with `Closed` and wakes it; `close` calls it once the flag is
    /// set, so no waiter can queue after the queue is drained here (`enqueue` checks the flag
    /// under the queue lock).
    pub(super) fn fail_waiters(&self) {
        let mut queue = self.queue.lock();
        let mut woken = Woken::default();
        while let Some(waiter) = queue.pop_front() {
            waiter.finish(Outcome::Closed);
            woken.push(waiter);
        }
        self.clear_queued();
        drop(queue);
        if !cfg!(verisync_mutant = "semaphore_close_no_wake") {
            wake(woken);
        }
    }

    /// One attempt to take `n` permits without waiting and without overtaking a waiter.
    pub(super) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        // Relaxed: only a first guess for the compare-and-swap, which synchronizes.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            let overtakes = cfg!(verisync_mutant = "semaphore_try_barges");
            if (state & QUEUED != 0 && !overtakes) || state >> PERMIT_SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            let taken = state - (n << PERMIT_SHIFT);
            // Acquire: pairs with the Release half of the read-modify-write in `release` (or
            // the hand-off in `grant_in_order`) that put these permits back, so the previous
            // holder's writes are visible to the new one.
            match self.state.compare_exchange_weak(
                state,
                taken,
                ordering!("semaphore_relaxed_acquire", Acquire),
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes `n` permits, queueing behind older waiters, until `deadline` if any.
    pub(super) fn acquire_until(
        &self,
        n: usize,
        deadline: Option<Instant>,
    ) -> Result<Permit<'_>, AcquireTimeoutError> {
        if self.is_closed() {
            return Err(AcquireTimeoutError::Closed);
        }
        if n > Self::MAX_PERMITS {
            return Err(AcquireTimeoutError::TooLarge {
                requested: n,
                max: Self::MAX_PERMITS,
            });
        }
        if !self.spin_for(n)? {
            let waiter = self.enqueue(n, None)?;
            match self.wait(&waiter, deadline) {
                Outcome::Granted => {}
                Outcome::Closed => return Err(AcquireTimeoutError::Closed),
                Outcome::Waiting => return Err(AcquireTimeoutError::Timeout),
            }
        }
        Ok(Permit {
            semaphore: self,
            count: n,
        })
    }

    /// Retries `try_take` for a short while before queueing (not under a model checker, where
    /// a spin is only wasted steps). True if it got the permits.
    fn spin_for(&self, n: usize) -> Result<bool, AcquireTimeoutError> {
        let backoff = Backoff::new();
        loop {
            match self.try_take(n) {
                Ok(()) => return Ok(true),
                Err(TryAcquireError::Closed) => return Err(AcquireTimeoutError::Closed),
                Err(_) if backoff.is_completed() => return Ok(false),
                // While others wait in the queue, spinning cannot succeed: queue behind them.
                // Relaxed: a hint only; `enqueue` re-checks under the lock.
                Err(_) if self.state.load(Ordering::Relaxed) & QUEUED != 0 => return Ok(false),
                Err(_) => backoff.snooze(),
            }
        }
    }

    /// Puts a waiter for `n` permits at the back of the queue, then re-checks: the permits
    /// may have been released before `QUEUED` was set, when releasers still took the fast
    /// path, or the waiter may now be at the front with enough free. A task's waiter comes
    /// with the task's waker.
    pub(super) fn enqueue(
        &self,
        n: usize,
        task: Option<&Waker>,
    ) -> Result<Arc<Waiter>, AcquireTimeoutError> {
        let waiter = Arc::new(Waiter {
            needed: n,
            wait: Mutex::new(Wait {
                outcome: Outcome::Waiting,
                task: task.cloned(),
            }),
            wakeup: Condvar::new(),
        });
        let mut queue = self.queue.lock();
        // Relaxed: `close` sets the flag before it takes this lock, so either we hold the lock
        // first and `close` drains us later, or its unlock ordered the flag before this load.
        if self.state.load(Ordering::Relaxed) & CLOSED != 0
            && !cfg!(verisync_mutant = "semaphore_enqueue_ignores_close")
        {
            return Err(AcquireTimeoutError::Closed);
        }
        let behind_others = !queue.is_empty();
        queue.push_back(waiter.clone());
        let mut woken = Woken::default();
        // Behind older waiters there is nothing to do: `QUEUED` is set, and every change to
        // the queue or the permits under this lock ends with `grant_in_order`, so the free
        // permits are too few for the oldest waiter, and we come after it.
        if !behind_others {
            // Relaxed: every change to the bit happens under this lock; releasers see it in
            // the read-modify-write order of the state word, which is all the re-check below
            // needs.
            self.state.fetch_or(QUEUED, Ordering::Relaxed);
            if !cfg!(verisync_mutant = "semaphore_no_recheck") {
                self.grant_in_order(&mut queue, &mut woken);
            }
        }
        drop(queue);
        wake(woken);
        Ok(waiter)
    }

    /// Sleeps until the waiter's wait ends or the deadline passes; on a timeout, leaves the
    /// queue (unless a hand-off beat it to it) and lets the next waiters have their turn.
    /// (Under a model checker a wait with a deadline times out at once, so the race between
    /// the timeout and a hand-off below is explored: see `sync::wait_deadline`.)
    fn wait(&self, waiter: &Waiter, deadline: Option<Instant>) -> Outcome {
        let mut wait = waiter.wait.lock();
        while wait.outcome == Outcome::Waiting {
            let (guard, timed_out) = wait_deadline(&waiter.wakeup, wait, deadline);
            wait = guard;
            if timed_out {
                break;
            }
        }
        if wait.outcome != Outcome::Waiting {
            return wait.outcome;
        }
        drop(wait);
        self.leave(waiter)
    }

    /// A waiter gives up (timed out, or its future was dropped): leaves the queue and lets the
    /// next waiters have their turn. Returns `Waiting` if it left the queue, or else the
    /// outcome a hand-off (or `close`) gave it just before; permits handed to it are then the
    /// caller's to keep or give back.
    pub(super) fn leave(&self, waiter: &Waiter) -> Outcome {
        // Lock order: queue, then waiter.
        let mut queue = self.queue.lock();
        let outcome = waiter.wait.lock().outcome;
        if outcome != Outcome::Waiting && !cfg!(verisync_mutant = "semaphore_timeout_drops_grant") {
            // Handed permits (or closed) before we got the lock.
            return outcome;
        }
        queue.retain(|queued| !std::ptr::eq(Arc::as_ptr(queued), waiter));
        // The front waiter may have been blocking smaller requests behind it.
        let mut woken = Woken::default();
        self.grant_in_order(&mut queue, &mut woken);
        drop(queue);
        wake(woken);
        Outcome::Waiting
    }

    /// Gives `n` permits back: to the waiters, oldest first, if any, else to the free count.
    /// Also how `fanout` returns a permit it [detached](Permit::detach) from its guard.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Relaxed: a first guess for the compare-and-swap.
        let mut state = self.state.load(Ordering::Relaxed);
        while state & QUEUED == 0 {
            // Release: pairs with the Acquire of the next `try_take` (or of `grant_in_order`)
            // that takes these permits.
            match self.state.compare_exchange_weak(
                state,
                state + (n << PERMIT_SHIFT),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        let mut queue = self.queue.lock();
        let mut woken = Woken::default();
        // Straight to the oldest waiters whose whole requests they cover, without a trip
        // through the state word, whose cache line every acquirer contends for. (Their
        // outcome, written under the waiter's lock, orders our writes before theirs.)
        let mut left = n;
        while let Some(needed) = queue.front().map(|front| front.needed)
            && needed <= left
        {
            left -= needed;
            let granted = queue.pop_front().expect("the front waiter was just seen");
            granted.finish(Outcome::Granted);
            woken.push(granted);
        }
        if left > 0 {
            // Release: pairs with the Acquire of the `try_take` that takes these permits once
            // the queue has emptied (a waiter served meanwhile by another releaser leaves them
            // free), or with the one in `take_for_waiter` (there the queue lock orders us
            // anyway).
            self.state.fetch_add(
                left << PERMIT_SHIFT,
                ordering!("semaphore_relaxed_locked_release", Release),
            );
        }
        // The next waiter may need fewer than the free permits; and if the queue emptied,
        // `QUEUED` goes.
        self.grant_in_order(&mut queue, &mut woken);
        drop(queue);
        wake(woken);
    }

    /// Hands free permits to the waiters at the front of the queue, in order, while there are
    /// enough for the oldest; fails waiters whose request exceeds the total. Clears `QUEUED`
    /// when the queue empties. Adds the waiters to wake once the lock is released to `woken`.
    fn grant_in_order(&self, queue: &mut VecDeque<Arc<Waiter>>, woken: &mut Woken) {
        while let Some(front) = queue.front() {
            // A request above the total waits at the front for `add_permits`, like any other.
            if !self.take_for_waiter(front.needed) {
                return;
            }
            front.finish(Outcome::Granted);
            if let Some(granted) = queue.pop_front() {
                woken.push(granted);
            }
        }
        self.queue_emptied();
    }

    /// The queue (its lock held) just became empty: clears `QUEUED`.
    fn queue_emptied(&self) {
        if !cfg!(verisync_mutant = "semaphore_keep_queued") {
            self.clear_queued();
        }
    }

    /// Takes `n` permits for the waiter at the front of the queue (the caller holds the queue
    /// lock, so `QUEUED` is set and only lock holders take permits). False if too few.
    fn take_for_waiter(&self, n: usize) -> bool {
        // Relaxed: a first guess for the compare-and-swap.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state >> PERMIT_SHIFT < n {
                return false;
            }
            // Acquire: pairs with the Release of the `release` that freed these permits; the
            // waiter then synchronizes with us through its outcome mutex.
            match self.state.compare_exchange_weak(
                state,
                state - (n << PERMIT_SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// Clears `QUEUED` (caller holds the queue lock and the queue is empty).
    fn clear_queued(&self) {
        // Relaxed: this publishes nothing. Every permit left in the word was there from the
        // start or put there by the Release read-modify-write of a `release`, and every change
        // to the word is a read-modify-write, this one too, so it continues those releases'
        // release sequences: a `try_take` whose Acquire reads our value (or a later one) still
        // synchronizes with every releaser of the permits it takes. Whoever only looks at the
        // bit (releasers choosing a path, `try_take` refusing while it is set) needs its value
        // alone, and every change to it happens under the queue lock.
        self.state.fetch_and(!QUEUED, Ordering::Relaxed);
    }

    /// Lowers the total by permits that a holder keeps for good. Nobody waiting can be served
    /// by that, so the queue is left alone.
    pub(super) fn forget_permits(&self, n: usize) {
        // Relaxed: see `add_permits`.
        self.total.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Waiter {
    /// Ends the wait (caller holds the queue lock); [`wake`] wakes the thread later.
    fn finish(&self, outcome: Outcome) {
        self.wait.lock().outcome = outcome;
    }

    /// A task's poll: the outcome so far; while still `Waiting`, `waker` is the one to wake.
    pub(super) fn poll_outcome(&self, waker: &Waker) -> Outcome {
        let mut wait = self.wait.lock();
        if wait.outcome == Outcome::Waiting {
            match &mut wait.task {
                Some(current) if current.will_wake(waker) => {}
                task => *task = Some(waker.clone()),
            }
        }
        wait.outcome
    }
}

/// Wakes the threads and tasks whose waits ended; called after the queue lock is released.
/// Each outcome was written under the waiter's mutex, so a thread that has not started
/// waiting yet (or a task's poll) sees it before it sleeps (or leaves its waker).
fn wake(woken: Woken) {
    for waiter in woken.first.into_iter().chain(woken.others) {
        let task = waiter.wait.lock().task.take();
        match task {
            Some(task) => task.wake(),
            None => waiter.wakeup.notify_one(),
        }
    }
}
