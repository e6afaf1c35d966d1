//! The futures of the async acquires: [`Acquire`] and [`AcquireOwned`], over the same FIFO
//! queue as the blocking acquires.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::waiters::{Outcome, Waiter};
use super::{AcquireError, AcquireTimeoutError, OwnedPermit, Permit, Semaphore, TryAcquireError};

/// Acquires permits from an async task: the future of [`Semaphore::acquire_async`] and
/// [`Semaphore::acquire_many_async`]. Resolves to a [`Permit`].
///
/// Cancel safe: dropped while it waits, it leaves its place in the FIFO line, and permits
/// already handed to it go back to the semaphore (to the next waiter first).
///
/// # Examples
/// ```
/// use verisync::future::block_on;
/// use verisync::semaphore::Semaphore;
///
/// let semaphore = Semaphore::new(1);
/// let permit = block_on(semaphore.acquire_async()).unwrap();
/// assert_eq!(permit.count(), 1);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    acquiring: Acquiring,
}

/// As [`Acquire`], for an `Arc<Semaphore>`: the future of
/// [`Semaphore::acquire_owned_async`] and [`Semaphore::acquire_many_owned_async`]. Resolves to
/// an [`OwnedPermit`]; `'static`, so a spawned task can hold it.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use verisync::future::block_on;
/// use verisync::semaphore::Semaphore;
///
/// let semaphore = Arc::new(Semaphore::new(2));
/// let permit = block_on(semaphore.clone().acquire_many_owned_async(2)).unwrap();
/// assert_eq!((permit.count(), semaphore.available_permits()), (2, 0));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    semaphore: Arc<Semaphore>,
    acquiring: Acquiring,
}

impl<'a> Acquire<'a> {
    pub(super) fn new(semaphore: &'a Semaphore, n: usize) -> Self {
        Self {
            semaphore,
            acquiring: Acquiring::new(n),
        }
    }
}

impl AcquireOwned {
    pub(super) fn new(semaphore: Arc<Semaphore>, n: usize) -> Self {
        Self {
            semaphore,
            acquiring: Acquiring::new(n),
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let semaphore = this.semaphore;
        this.acquiring
            .poll(semaphore, cx)
            .map_ok(|count| Permit { semaphore, count })
    }
}

impl Future for AcquireOwned {
    type Output = Result<OwnedPermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let semaphore = &this.semaphore;
        this.acquiring
            .poll(semaphore, cx)
            .map_ok(|count| OwnedPermit {
                semaphore: semaphore.clone(),
                count,
            })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.acquiring.cancel(self.semaphore);
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.acquiring.cancel(&self.semaphore);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.acquiring.debug("Acquire", f)
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.acquiring.debug("AcquireOwned", f)
    }
}

/// What both futures do: one request for `n` permits, queued in the semaphore's FIFO line
/// while it waits.
struct Acquiring {
    n: usize,
    /// The request's place in line, once it waits; `None` before the first poll and after
    /// the outcome.
    waiter: Option<Arc<Waiter>>,
}

impl Acquiring {
    fn new(n: usize) -> Self {
        Self { n, waiter: None }
    }

    /// The permits' count once granted.
    fn poll(
        &mut self,
        semaphore: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, AcquireError>> {
        let waiter = match &self.waiter {
            Some(waiter) => waiter,
            None => match self.start(semaphore, cx) {
                Ok(Some(waiter)) => self.waiter.insert(waiter),
                Ok(None) => return Poll::Ready(Ok(self.n)),
                Err(err) => return Poll::Ready(Err(err)),
            },
        };
        let outcome = waiter.poll_outcome(cx.waker());
        let finished = match outcome {
            Outcome::Waiting => return Poll::Pending,
            Outcome::Granted => Ok(self.n),
            Outcome::Closed => Err(AcquireError::Closed),
        };
        self.waiter = None;
        Poll::Ready(finished)
    }

    /// The first poll: the permits at once if free and nobody waits (`None`), or a place in
    /// line.
    fn start(
        &self,
        semaphore: &Semaphore,
        cx: &Context<'_>,
    ) -> Result<Option<Arc<Waiter>>, AcquireError> {
        let n = self.n;
        if semaphore.is_closed() {
            return Err(AcquireError::Closed);
        }
        if n > Semaphore::MAX_PERMITS {
            return Err(AcquireError::TooLarge {
                requested: n,
                max: Semaphore::MAX_PERMITS,
            });
        }
        match semaphore.try_take(n) {
            Ok(()) => Ok(None),
            Err(TryAcquireError::Closed) => Err(AcquireError::Closed),
            Err(_) => match semaphore.enqueue(n, Some(cx.waker())) {
                Ok(waiter) => Ok(Some(waiter)),
                Err(AcquireTimeoutError::Closed) => Err(AcquireError::Closed),
                Err(err) => unreachable!("queueing fails only when closed, not with {err:?}"),
            },
        }
    }

    /// The future is dropped: if it waits, it leaves the line; permits granted to it but not
    /// yet taken by a poll go back to the semaphore.
    fn cancel(&mut self, semaphore: &Semaphore) {
        let Some(waiter) = self.waiter.take() else {
            return;
        };
        if semaphore.leave(&waiter) == Outcome::Granted
            && !cfg!(verisync_mutant = "async_acquire_cancel_keeps_permits")
        {
            semaphore.release(self.n);
        }
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("permits", &self.n)
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}
