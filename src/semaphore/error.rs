//! Why an acquire failed, and why a semaphore could not be built.

use std::fmt;

use super::Semaphore;

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
    pub(super) fn from_untimed(err: AcquireTimeoutError) -> Self {
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
    pub(super) fn check(requested: usize) -> Result<(), Self> {
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
