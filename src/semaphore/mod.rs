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
//! - **Async.** [`acquire_async`](Semaphore::acquire_async) and its `_many` and `_owned`
//!   forms are futures that queue in the same FIFO line as blocking threads and are woken
//!   through their task's waker; no runtime is needed, and a timeout is the runtime's (wrap
//!   the future in `tokio::time::timeout` or similar). They are cancel safe: a future dropped
//!   while it waits leaves the line, and permits already handed to it go on to the next
//!   waiter (or back to the free count), so nothing leaks and nobody behind it is stuck.
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

mod error;
mod future;
mod waiters;

pub use self::error::{AcquireError, AcquireTimeoutError, TooManyPermits, TryAcquireError};
pub use self::future::{Acquire, AcquireOwned};
use self::waiters::Waiter;
use crate::sync::{AtomicUsize, Mutex, Ordering};

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
        self.fail_waiters();
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
    /// Takes one permit from an async task, waiting in the FIFO line without blocking the
    /// thread.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    /// Cancel safe: dropped while it waits, the future leaves the line, and a permit already
    /// handed to it goes to the next waiter (or back to the free count). Dropped after it
    /// completed, it holds nothing: the [`Permit`] it returned does.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Semaphore::new(1);
    /// block_on(async {
    ///     let permit = semaphore.acquire_async().await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 0);
    ///     drop(permit);
    /// });
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn acquire_async(&self) -> Acquire<'_> {
        self.acquire_many_async(1)
    }

    /// Takes `n` permits at once from an async task, in FIFO order with every other waiter,
    /// as [`acquire_many`](Self::acquire_many) does for threads.
    ///
    /// # Errors
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Cancel safety
    /// As [`acquire_async`](Self::acquire_async): all `n` permits, if they were handed over
    /// before the future was dropped, go back.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Semaphore::new(4);
    /// let permits = block_on(semaphore.acquire_many_async(3)).unwrap();
    /// assert_eq!((permits.count(), semaphore.available_permits()), (3, 1));
    /// ```
    pub fn acquire_many_async(&self, n: usize) -> Acquire<'_> {
        Acquire::new(self, n)
    }

    /// As [`acquire_async`](Self::acquire_async), with an [`OwnedPermit`]: the future and the
    /// permit are `'static`, for spawned tasks.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    /// As [`acquire_async`](Self::acquire_async).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use verisync::future::block_on;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = block_on(semaphore.clone().acquire_owned_async()).unwrap();
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn acquire_owned_async(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned_async(1)
    }

    /// As [`acquire_many_async`](Self::acquire_many_async), with an [`OwnedPermit`].
    ///
    /// # Errors
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Cancel safety
    /// As [`acquire_async`](Self::acquire_async).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use verisync::future::block_on;
    /// use verisync::semaphore::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let permit = block_on(semaphore.clone().acquire_many_owned_async(2)).unwrap();
    /// assert_eq!((permit.count(), semaphore.available_permits()), (2, 1));
    /// ```
    pub fn acquire_many_owned_async(self: Arc<Self>, n: usize) -> AcquireOwned {
        AcquireOwned::new(self, n)
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
