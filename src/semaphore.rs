//! A counting semaphore with FIFO hand-off, weighted acquires, timeouts and closing.
//!
//! A [`Semaphore`] holds a number of permits. [`acquire`](Semaphore::acquire) takes one and
//! returns a [`Permit`] guard that gives it back when dropped;
//! [`acquire_many`](Semaphore::acquire_many) takes several at once.
//!
//! # Guarantees
//! - **Progress.** When nobody waits, acquiring and releasing are one compare-and-swap on one
//!   atomic word: lock-free, no syscall. The `try_` operations never block. `acquire`,
//!   `acquire_many` and the timeout variants block: they spin briefly, then park the thread on
//!   a condition variable of their own until permits are handed to them.
//! - **Fairness (FIFO).** Once a thread waits, permits released go to the oldest waiter first,
//!   as soon as there are enough for its whole request; a later, smaller request never
//!   overtakes it, and neither does [`try_acquire`](Semaphore::try_acquire), which fails while
//!   anyone waits. Waiters are woken after every lock has been released.
//! - **Ordering.** Releasing permits happens-before acquiring them: what a thread wrote while
//!   holding a permit is visible to the next thread that acquires it.
//! - **More than the total.** A blocking request for more permits than the semaphore has in
//!   total ([`total_permits`](Semaphore::total_permits), even 0) waits like any other, for
//!   [`add_permits`](Semaphore::add_permits), its timeout or [`close`](Semaphore::close), as in
//!   tokio and Go's `x/sync/semaphore`; while it waits it holds back later requests (FIFO).
//!   Only a request above [`MAX_PERMITS`](Semaphore::MAX_PERMITS), which no semaphore can ever
//!   grant, fails at once with [`AcquireError::TooLarge`]. The `try_` operations never wait:
//!   they fail with [`TryAcquireError::TooLarge`] above the current total.
//! - **Closed.** [`close`](Semaphore::close) fails every waiting thread and every later
//!   acquire with a `Closed` error, whatever the size of the request; permits already held
//!   stay valid and are still returned.
//! - **Owned permits.** The `_owned` forms take an `Arc<Semaphore>` and return an
//!   [`OwnedPermit`], which is `'static` and [`Send`]: it can be moved to another thread and
//!   released there.
//! - **Limits.** At most [`MAX_PERMITS`](Semaphore::MAX_PERMITS) permits; more is an error from
//!   [`try_new`](Semaphore::try_new) and a panic from [`new`](Semaphore::new) and
//!   [`add_permits`](Semaphore::add_permits).
//!
//! # Design
//! One atomic word holds the free permits (shifted left by two), a `QUEUED` bit (some thread
//! waits) and a `CLOSED` bit. Acquiring is a compare-and-swap that subtracts permits while
//! `QUEUED` is clear; releasing adds them while `QUEUED` is clear. Every change to the word is
//! a read-modify-write, so a thread that queues itself (setting `QUEUED` under the queue lock,
//! then re-checking the free permits) and a releaser that adds permits cannot miss each other:
//! either the releaser's addition comes first and the re-check finds it, or the releaser sees
//! `QUEUED` and hands the permits out under the lock. Each waiter has its own mutex and
//! condition variable, so a hand-off wakes exactly the threads it served.
//!
//! # Examples
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use verisync::semaphore::Semaphore;
//!
//! let downloads = Semaphore::new(2);
//! let running = AtomicUsize::new(0);
//! std::thread::scope(|s| {
//!     for _ in 0..8 {
//!         s.spawn(|| {
//!             let _permit = downloads.acquire().unwrap();
//!             assert!(running.fetch_add(1, Ordering::SeqCst) < 2);
//!             running.fetch_sub(1, Ordering::SeqCst);
//!         });
//!     }
//! });
//! assert_eq!(downloads.available_permits(), 2);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use std::sync::Arc;

use crate::sync::{AtomicUsize, Backoff, Condvar, Mutex, Ordering, wait_deadline};

/// The state bit that says the semaphore is closed.
const CLOSED: usize = 1;
/// The state bit that says the waiter queue is not empty.
const QUEUED: usize = 2;
/// Free permits are counted in the state word above the two flag bits.
const PERMIT_SHIFT: u32 = 2;

/// A counting semaphore. See the [module documentation](self).
///
/// # Examples
/// ```
/// let semaphore = verisync::semaphore::Semaphore::new(1);
/// let permit = semaphore.try_acquire().unwrap();
/// assert!(semaphore.try_acquire().is_err());
/// drop(permit);
/// assert!(semaphore.try_acquire().is_ok());
/// ```
pub struct Semaphore {
    /// `free permits << PERMIT_SHIFT | QUEUED | CLOSED`.
    state: AtomicUsize,
    /// Permits in existence: the initial ones, plus those added, minus those forgotten.
    total: AtomicUsize,
    /// Threads waiting for permits, oldest first. `QUEUED` is set exactly while it is not
    /// empty (both change under this lock).
    queue: Mutex<VecDeque<Arc<Waiter>>>,
}

/// One waiting thread: how many permits it wants and how its wait ended.
struct Waiter {
    needed: usize,
    outcome: Mutex<Outcome>,
    wakeup: Condvar,
}

/// How a wait ended; set under the queue lock when the waiter leaves the queue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    Granted,
    Closed,
}

/// Waiters whose wait ended under the queue lock, to be woken once it is released.
type Woken = Vec<Arc<Waiter>>;

// Unwind safety: no user code runs under the semaphore's locks, and every change to the state
// word and the queue is complete before anything can panic. Written out, so that it holds
// whichever backend's locks the facade provides.
impl std::panic::UnwindSafe for Semaphore {}
impl std::panic::RefUnwindSafe for Semaphore {}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::Semaphore;
    ///
    /// assert!(Semaphore::try_new(Semaphore::MAX_PERMITS).is_ok());
    /// assert!(Semaphore::try_new(Semaphore::MAX_PERMITS + 1).is_err());
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> PERMIT_SHIFT;

    /// Creates a semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS); [`try_new`](Self::try_new)
    /// returns that as an error.
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(3);
    /// assert_eq!(semaphore.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Self {
        match Self::try_new(permits) {
            Ok(semaphore) => semaphore,
            Err(err) => panic!("verisync::semaphore::Semaphore::new: {err}"),
        }
    }

    /// Creates a semaphore with `permits` permits, or says why it cannot. Zero permits is
    /// allowed: acquirers wait for [`add_permits`](Self::add_permits).
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::{Semaphore, TooManyPermits};
    ///
    /// assert_eq!(Semaphore::try_new(0).unwrap().available_permits(), 0);
    /// assert_eq!(
    ///     Semaphore::try_new(usize::MAX).unwrap_err(),
    ///     TooManyPermits { requested: usize::MAX, max: Semaphore::MAX_PERMITS }
    /// );
    /// ```
    pub fn try_new(permits: usize) -> Result<Self, TooManyPermits> {
        TooManyPermits::check(permits)?;
        Ok(Self {
            state: AtomicUsize::new(permits << PERMIT_SHIFT),
            total: AtomicUsize::new(permits),
            queue: Mutex::new(VecDeque::new()),
        })
    }

    /// Takes one permit, waiting for it if there is none free.
    ///
    /// # Errors
    /// [`AcquireError::Closed`] if the semaphore is or gets closed before the permit is handed
    /// over. A semaphore with no permits at all makes it wait for
    /// [`add_permits`](Self::add_permits).
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(1);
    /// let permit = semaphore.acquire().unwrap();
    /// assert_eq!(permit.count(), 1);
    /// ```
    pub fn acquire(&self) -> Result<Permit<'_>, AcquireError> {
        self.acquire_many(1)
    }

    /// Takes `n` permits at once, waiting until that many are free and every older waiter
    /// has been served (also for `n == 0`, which gets an empty permit in its turn). A request
    /// above the current total waits for [`add_permits`](Self::add_permits) to raise it.
    ///
    /// # Errors
    /// [`AcquireError::Closed`] if the semaphore is or gets closed first;
    /// [`AcquireError::TooLarge`] at once if `n` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Semaphore::new(4);
    /// let permits = semaphore.acquire_many(3).unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// drop(permits);
    /// std::thread::scope(|s| {
    ///     // Five is more than there are: it waits until a sixth permit is added.
    ///     let five = s.spawn(|| semaphore.acquire_many(5).map(|p| p.count()));
    ///     semaphore.add_permits(2);
    ///     assert_eq!(five.join().unwrap(), Ok(5));
    /// });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Result<Permit<'_>, AcquireError> {
        self.acquire_until(n, None)
            .map_err(AcquireError::from_untimed)
    }

    /// Takes one permit, waiting at most `timeout` for it.
    ///
    /// # Errors
    /// [`AcquireTimeoutError::Timeout`] if no permit was handed over in time, and the errors
    /// of [`acquire`](Self::acquire).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::semaphore::{AcquireTimeoutError, Semaphore};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let _held = semaphore.acquire().unwrap();
    /// let waited = semaphore.acquire_timeout(Duration::from_millis(10));
    /// assert_eq!(waited.unwrap_err(), AcquireTimeoutError::Timeout);
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Permit<'_>, AcquireTimeoutError> {
        self.acquire_many_timeout(1, timeout)
    }

    /// Takes `n` permits, waiting at most `timeout` for them (a request above the current
    /// total waits too, for [`add_permits`](Self::add_permits)).
    ///
    /// # Errors
    /// As [`acquire_timeout`](Self::acquire_timeout) and [`acquire_many`](Self::acquire_many).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Semaphore::new(2);
    /// let permits = semaphore.acquire_many_timeout(2, Duration::from_millis(10)).unwrap();
    /// assert_eq!(permits.count(), 2);
    /// ```
    pub fn acquire_many_timeout(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Permit<'_>, AcquireTimeoutError> {
        // A timeout too long to represent as an instant is no timeout at all.
        self.acquire_until(n, Instant::now().checked_add(timeout))
    }

    /// Takes one permit if one is free and nobody is waiting; never blocks.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if the semaphore is closed, [`TryAcquireError::TooLarge`]
    /// if its total is 0, [`TryAcquireError::NoPermits`] if no permit is free or another
    /// thread waits (a waiter is served first).
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let _permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if that many are free and nobody is waiting; never blocks.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire); `TooLarge` if `n` exceeds the current total.
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(3);
    /// let two = semaphore.try_acquire_many(2).unwrap();
    /// assert_eq!(semaphore.try_acquire_many(2).unwrap_err(), TryAcquireError::NoPermits);
    /// drop(two);
    /// assert!(semaphore.try_acquire_many(3).is_ok());
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
        // `try_take` reports `Closed` before anything else; only a refusal is worth a look at
        // the total, which the fast path need not load (free permits never exceed it).
        match self.try_take(n) {
            Ok(()) => Ok(Permit {
                semaphore: self,
                count: n,
            }),
            Err(TryAcquireError::NoPermits) => match self.total_permits() {
                total if n > total => Err(TryAcquireError::TooLarge {
                    requested: n,
                    total,
                }),
                _ => Err(TryAcquireError::NoPermits),
            },
            Err(err) => Err(err),
        }
    }

    /// Adds `n` new permits, handing them to waiters first (oldest first).
    ///
    /// # Panics
    /// If the total would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(0);
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// assert_eq!(semaphore.total_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        // Relaxed: the total is only compared with request sizes; the permits themselves are
        // published by `release` below.
        let added = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
                total.checked_add(n).filter(|&sum| sum <= Self::MAX_PERMITS)
            });
        if let Err(total) = added {
            panic!(
                "verisync::semaphore::Semaphore::add_permits: {total} + {n} permits would exceed the maximum of {}",
                Self::MAX_PERMITS
            );
        }
        self.release(n);
    }

    /// How many permits are free right now.
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(2);
    /// let _permit = semaphore.acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        // Relaxed: a snapshot for the caller; nothing is read through it.
        self.state.load(Ordering::Relaxed) >> PERMIT_SHIFT
    }

    /// How many permits exist: free and held ones, less those [forgotten](Permit::forget).
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(2);
    /// semaphore.acquire().unwrap().forget();
    /// assert_eq!(semaphore.total_permits(), 1);
    /// ```
    pub fn total_permits(&self) -> usize {
        // Relaxed: a snapshot; see `add_permits`.
        self.total.load(Ordering::Relaxed)
    }

    /// Closes the semaphore: every waiting thread and every later acquire fails with a
    /// `Closed` error. Permits already held stay valid and are returned as usual.
    ///
    /// # Examples
    /// ```
    /// use verisync::semaphore::{AcquireError, Semaphore};
    ///
    /// let semaphore = Semaphore::new(1);
    /// semaphore.close();
    /// assert!(semaphore.is_closed());
    /// assert_eq!(semaphore.acquire().unwrap_err(), AcquireError::Closed);
    /// ```
    pub fn close(&self) {
        // Relaxed: the flag publishes nothing but itself. Every acquire reads it from the same
        // word, in that word's modification order, and only fails on it; a waiter already
        // queued, or queueing after this, is failed under the queue lock taken below, which
        // orders the rest.
        self.state.fetch_or(CLOSED, Ordering::Relaxed);
        let mut queue = self.queue.lock();
        let mut woken = Woken::new();
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

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(1);
    /// assert!(!semaphore.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Relaxed: a snapshot; acquires check the flag in their own read-modify-writes.
        self.state.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// One attempt to take `n` permits without waiting and without overtaking a waiter.
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
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
    fn acquire_until(
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
            let waiter = self.enqueue(n)?;
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
    /// path, or the waiter may now be at the front with enough free.
    fn enqueue(&self, n: usize) -> Result<Arc<Waiter>, AcquireTimeoutError> {
        let waiter = Arc::new(Waiter {
            needed: n,
            outcome: Mutex::new(Outcome::Waiting),
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
        queue.push_back(waiter.clone());
        // Relaxed: every change to the bit happens under this lock; releasers see it in the
        // read-modify-write order of the state word, which is all the re-check below needs.
        self.state.fetch_or(QUEUED, Ordering::Relaxed);
        let woken = mutant!(
            "semaphore_no_recheck",
            Woken::new(),
            self.grant_in_order(&mut queue)
        );
        drop(queue);
        wake(woken);
        Ok(waiter)
    }

    /// Sleeps until the waiter's wait ends or the deadline passes; on a timeout, leaves the
    /// queue (unless a hand-off beat it to it) and lets the next waiters have their turn.
    /// (Under a model checker a wait with a deadline times out at once, so the race between
    /// the timeout and a hand-off below is explored: see `sync::wait_deadline`.)
    fn wait(&self, waiter: &Waiter, deadline: Option<Instant>) -> Outcome {
        let mut outcome = waiter.outcome.lock();
        while *outcome == Outcome::Waiting {
            let (guard, timed_out) = wait_deadline(&waiter.wakeup, outcome, deadline);
            outcome = guard;
            if timed_out {
                break;
            }
        }
        if *outcome != Outcome::Waiting {
            return *outcome;
        }
        drop(outcome);
        // Timed out. Lock order: queue, then waiter.
        let mut queue = self.queue.lock();
        let outcome = *waiter.outcome.lock();
        if outcome != Outcome::Waiting && !cfg!(verisync_mutant = "semaphore_timeout_drops_grant") {
            // Handed permits (or closed) after the deadline but before we got the lock.
            return outcome;
        }
        queue.retain(|queued| !std::ptr::eq(Arc::as_ptr(queued), waiter));
        // The front waiter may have been blocking smaller requests behind it.
        let woken = self.grant_in_order(&mut queue);
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
        // Release: pairs with the Acquire of the `try_take` that takes these permits once the
        // queue has emptied (a waiter served meanwhile by another releaser leaves them free),
        // or with the one in `take_for_waiter` (there the queue lock orders us anyway).
        self.state.fetch_add(
            n << PERMIT_SHIFT,
            ordering!("semaphore_relaxed_locked_release", Release),
        );
        let woken = self.grant_in_order(&mut queue);
        drop(queue);
        wake(woken);
    }

    /// Hands free permits to the waiters at the front of the queue, in order, while there are
    /// enough for the oldest; fails waiters whose request exceeds the total. Clears `QUEUED`
    /// when the queue empties. Returns the waiters to wake once the lock is released.
    fn grant_in_order(&self, queue: &mut VecDeque<Arc<Waiter>>) -> Woken {
        let mut woken = Woken::new();
        while let Some(front) = queue.front() {
            // A request above the total waits at the front for `add_permits`, like any other.
            if !self.take_for_waiter(front.needed) {
                return woken;
            }
            front.finish(Outcome::Granted);
            woken.extend(queue.pop_front());
        }
        if !cfg!(verisync_mutant = "semaphore_keep_queued") {
            self.clear_queued();
        }
        woken
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
    fn forget_permits(&self, n: usize) {
        // Relaxed: see `add_permits`.
        self.total.fetch_sub(n, Ordering::Relaxed);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("total_permits", &self.total_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Waiter {
    /// Ends the wait (caller holds the queue lock); [`wake`] wakes the thread later.
    fn finish(&self, outcome: Outcome) {
        *self.outcome.lock() = outcome;
    }
}

/// Wakes the threads whose waits ended; called after the queue lock is released. Each
/// outcome was written under the waiter's mutex, so a waiter that has not started waiting
/// yet sees it before it sleeps.
fn wake(woken: Woken) {
    for waiter in woken {
        waiter.wakeup.notify_one();
    }
}

/// Permits held from a [`Semaphore`]; dropping it gives them back.
///
/// # Examples
/// ```
/// let semaphore = verisync::semaphore::Semaphore::new(2);
/// {
///     let _permit = semaphore.acquire_many(2).unwrap();
///     assert_eq!(semaphore.available_permits(), 0);
/// }
/// assert_eq!(semaphore.available_permits(), 2);
/// ```
#[must_use = "the permits are given back at once if the guard is dropped"]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
    count: usize,
}

impl Permit<'_> {
    /// How many permits this guard holds.
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(3);
    /// assert_eq!(semaphore.acquire_many(2).unwrap().count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// Keeps the permits out of the semaphore for good, lowering its total.
    ///
    /// # Examples
    /// ```
    /// let semaphore = verisync::semaphore::Semaphore::new(3);
    /// semaphore.acquire().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// assert_eq!(semaphore.total_permits(), 2);
    /// ```
    pub fn forget(self) {
        let this = std::mem::ManuallyDrop::new(self);
        this.semaphore.forget_permits(this.count);
    }
}

impl Permit<'_> {
    /// Drops the guard without giving the permits back, for a caller that returns them later
    /// with [`Semaphore::release`] (unlike [`forget`](Self::forget), the total stays).
    pub(crate) fn detach(self) -> usize {
        std::mem::ManuallyDrop::new(self).count
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.count);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("count", &self.count)
            .finish()
    }
}

impl Semaphore {
    /// As [`acquire`](Self::acquire), but the permit holds an `Arc` of the semaphore instead
    /// of a borrow, so it is `'static` and can be released on another thread.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().acquire_owned().unwrap();
    /// // Released by the thread that does the work, as with Go's `defer func() { <-sem }()`.
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> Result<OwnedPermit, AcquireError> {
        self.into_owned(|semaphore| semaphore.acquire())
    }

    /// As [`acquire_many`](Self::acquire_many), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(3));
    /// let permit = semaphore.clone().acquire_many_owned(2).unwrap();
    /// assert_eq!((permit.count(), semaphore.available_permits()), (2, 1));
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> Result<OwnedPermit, AcquireError> {
        self.into_owned(|semaphore| semaphore.acquire_many(n))
    }

    /// As [`acquire_timeout`](Self::acquire_timeout), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use verisync::semaphore::{AcquireTimeoutError, Semaphore};
    ///
    /// let semaphore = Arc::new(Semaphore::new(0));
    /// let waited = semaphore.acquire_owned_timeout(Duration::from_millis(1));
    /// assert_eq!(waited.unwrap_err(), AcquireTimeoutError::Timeout);
    /// ```
    pub fn acquire_owned_timeout(
        self: Arc<Self>,
        timeout: Duration,
    ) -> Result<OwnedPermit, AcquireTimeoutError> {
        self.into_owned(|semaphore| semaphore.acquire_timeout(timeout))
    }

    /// As [`acquire_many_timeout`](Self::acquire_many_timeout), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`acquire_many_timeout`](Self::acquire_many_timeout).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(2));
    /// let permit = semaphore.acquire_many_owned_timeout(2, Duration::from_millis(10));
    /// assert_eq!(permit.unwrap().count(), 2);
    /// ```
    pub fn acquire_many_owned_timeout(
        self: Arc<Self>,
        n: usize,
        timeout: Duration,
    ) -> Result<OwnedPermit, AcquireTimeoutError> {
        self.into_owned(|semaphore| semaphore.acquire_many_timeout(n, timeout))
    }

    /// As [`try_acquire`](Self::try_acquire), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use verisync::semaphore::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let _permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert_eq!(semaphore.try_acquire_owned().unwrap_err(), TryAcquireError::NoPermits);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedPermit, TryAcquireError> {
        self.into_owned(|semaphore| semaphore.try_acquire())
    }

    /// As [`try_acquire_many`](Self::try_acquire_many), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`try_acquire_many`](Self::try_acquire_many).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(3));
    /// assert_eq!(semaphore.try_acquire_many_owned(3).unwrap().count(), 3);
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedPermit, TryAcquireError> {
        self.into_owned(|semaphore| semaphore.try_acquire_many(n))
    }

    /// Runs one of the borrowing acquires and turns its permit into an owned one.
    fn into_owned<E>(
        self: Arc<Self>,
        acquire: impl for<'a> FnOnce(&'a Semaphore) -> Result<Permit<'a>, E>,
    ) -> Result<OwnedPermit, E> {
        let count = acquire(&self)?.detach();
        Ok(OwnedPermit {
            semaphore: self,
            count,
        })
    }
}

/// Permits held from a [`Semaphore`] in an `Arc`; dropping it gives them back. Unlike
/// [`Permit`] it borrows nothing, so it is `'static` and [`Send`].
///
/// # Examples
/// ```
/// use std::sync::Arc;
///
/// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(2));
/// let permit = semaphore.clone().acquire_owned().unwrap();
/// assert_eq!(semaphore.available_permits(), 1);
/// drop(permit);
/// assert_eq!(semaphore.available_permits(), 2);
/// ```
#[must_use = "the permits are given back at once if the guard is dropped"]
pub struct OwnedPermit {
    semaphore: Arc<Semaphore>,
    count: usize,
}

impl OwnedPermit {
    /// How many permits this guard holds.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(3));
    /// assert_eq!(semaphore.acquire_many_owned(2).unwrap().count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The semaphore the permits came from.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(1));
    /// let permit = semaphore.clone().acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Keeps the permits out of the semaphore for good, lowering its total.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(verisync::semaphore::Semaphore::new(3));
    /// semaphore.clone().acquire_owned().unwrap().forget();
    /// assert_eq!(semaphore.total_permits(), 2);
    /// ```
    pub fn forget(mut self) {
        self.semaphore.forget_permits(self.count);
        // Dropping the guard now gives back nothing (`release(0)` returns at once).
        self.count = 0;
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.semaphore.release(self.count);
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Why [`acquire`](Semaphore::acquire) or [`acquire_many`](Semaphore::acquire_many) failed.
///
/// # Examples
/// ```
/// use verisync::semaphore::{AcquireError, Semaphore};
///
/// let semaphore = Semaphore::new(1);
/// semaphore.close();
/// assert_eq!(semaphore.acquire().unwrap_err().to_string(), "semaphore closed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcquireError {
    /// The semaphore was closed.
    Closed,
    /// More permits were requested than any semaphore can have
    /// ([`MAX_PERMITS`](Semaphore::MAX_PERMITS)): the request could never be granted.
    TooLarge {
        /// Permits requested.
        requested: usize,
        /// [`Semaphore::MAX_PERMITS`].
        max: usize,
    },
}

impl AcquireError {
    /// The error of a wait without deadline, which cannot time out.
    fn from_untimed(err: AcquireTimeoutError) -> Self {
        match err {
            AcquireTimeoutError::Closed => Self::Closed,
            AcquireTimeoutError::TooLarge { requested, max } => Self::TooLarge { requested, max },
            AcquireTimeoutError::Timeout => unreachable!("a wait without deadline timed out"),
        }
    }
}

/// Why a `try_acquire` failed.
///
/// # Examples
/// ```
/// use verisync::semaphore::{Semaphore, TryAcquireError};
///
/// assert_eq!(Semaphore::new(0).try_acquire().unwrap_err(), TryAcquireError::TooLarge {
///     requested: 1,
///     total: 0,
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not enough permits are free, or another thread waits for them first.
    NoPermits,
    /// The semaphore was closed.
    Closed,
    /// More permits were requested than the semaphore has in total.
    TooLarge {
        /// Permits requested.
        requested: usize,
        /// Permits in existence at the time.
        total: usize,
    },
}

/// Why an `acquire_timeout` failed.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use verisync::semaphore::{AcquireTimeoutError, Semaphore};
///
/// let semaphore = Semaphore::new(1);
/// let _held = semaphore.acquire().unwrap();
/// let err = semaphore.acquire_timeout(Duration::ZERO).unwrap_err();
/// assert_eq!(err, AcquireTimeoutError::Timeout);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcquireTimeoutError {
    /// The permits were not handed over before the deadline.
    Timeout,
    /// The semaphore was closed.
    Closed,
    /// More permits were requested than any semaphore can have
    /// ([`MAX_PERMITS`](Semaphore::MAX_PERMITS)): the request could never be granted.
    TooLarge {
        /// Permits requested.
        requested: usize,
        /// [`Semaphore::MAX_PERMITS`].
        max: usize,
    },
}

/// A permit count above [`Semaphore::MAX_PERMITS`].
///
/// # Examples
/// ```
/// use verisync::semaphore::Semaphore;
///
/// let err = Semaphore::try_new(usize::MAX).unwrap_err();
/// assert_eq!(err.requested, usize::MAX);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyPermits {
    /// The permit count asked for.
    pub requested: usize,
    /// The largest count allowed.
    pub max: usize,
}

impl TooManyPermits {
    fn check(requested: usize) -> Result<(), Self> {
        let max = Semaphore::MAX_PERMITS;
        if requested > max {
            Err(Self { requested, max })
        } else {
            Ok(())
        }
    }
}

/// Writes the message every "too large" variant shares.
fn above_max(f: &mut fmt::Formatter<'_>, requested: usize, max: usize) -> fmt::Result {
    write!(
        f,
        "requested {requested} permits, more than any semaphore can have ({max})"
    )
}

fn too_large(f: &mut fmt::Formatter<'_>, requested: usize, total: usize) -> fmt::Result {
    write!(
        f,
        "requested {requested} permits from a semaphore with {total} in total"
    )
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Closed => f.write_str("semaphore closed"),
            Self::TooLarge { requested, max } => above_max(f, requested, max),
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoPermits => f.write_str("no permits available"),
            Self::Closed => f.write_str("semaphore closed"),
            Self::TooLarge { requested, total } => too_large(f, requested, total),
        }
    }
}

impl fmt::Display for AcquireTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Timeout => f.write_str("timed out waiting for permits"),
            Self::Closed => f.write_str("semaphore closed"),
            Self::TooLarge { requested, max } => above_max(f, requested, max),
        }
    }
}

impl fmt::Display for TooManyPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} permits is too many: at most {}",
            self.requested, self.max
        )
    }
}

impl std::error::Error for AcquireError {}
impl std::error::Error for TryAcquireError {}
impl std::error::Error for AcquireTimeoutError {}
impl std::error::Error for TooManyPermits {}
