//! Error types shared by the channels and the bounded constructors.
//!
//! The channel errors are std's own ([`std::sync::mpsc`]), re-exported, so code written against
//! `std::sync::mpsc::sync_channel` keeps its `match` arms when it switches to verisync. Only
//! [`SendTimeoutError`], which std has not stabilized, is defined here.

use std::fmt;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// The error of a `send_timeout`: the value comes back in either case.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use verisync::error::SendTimeoutError;
///
/// let (tx, _rx) = verisync::spsc::channel(1);
/// tx.send(1).unwrap();
/// let err = tx.send_timeout(2, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(2));
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The channel stayed full until the deadline.
    Timeout(T),
    /// The receiving side is gone; the value was not sent.
    Disconnected(T),
}

impl<T> SendTimeoutError<T> {
    /// Returns the value that could not be sent.
    ///
    /// # Examples
    /// ```
    /// use verisync::error::SendTimeoutError;
    ///
    /// assert_eq!(SendTimeoutError::Disconnected("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(value) | Self::Disconnected(value) => value,
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("timed out waiting on send operation"),
            Self::Disconnected(_) => f.write_str("sending on a disconnected channel"),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(SendError(value): SendError<T>) -> Self {
        Self::Disconnected(value)
    }
}

/// A capacity that no buffer can have: returned by the `try_` constructors, and the panic
/// message of the plain ones.
///
/// # Examples
/// ```
/// use verisync::error::CapacityError;
///
/// let err = verisync::spsc::try_channel::<u64>(0).unwrap_err();
/// assert_eq!(err, CapacityError::Zero);
/// let err = verisync::spsc::try_channel::<u64>(usize::MAX / 4).unwrap_err();
/// assert!(matches!(err, CapacityError::TooLarge { .. }));
/// // Within `isize::MAX` bytes, but no allocator has 2^61 bytes to give: an error, not an abort.
/// let err = verisync::spsc::try_channel::<u64>(1 << 58).unwrap_err();
/// assert_eq!(err, CapacityError::AllocationFailed { requested: 1 << 58 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityError {
    /// A capacity of zero: a rendezvous channel is not what these buffers are.
    Zero,
    /// The buffer would be larger than `isize::MAX` bytes, or its positions would overflow.
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
        /// The largest capacity this element type allows.
        max: usize,
    },
    /// The capacity is representable, but the allocator could not provide the buffer.
    AllocationFailed {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl CapacityError {
    /// Checks `capacity` for a buffer of `T` whose positions count up to `position_factor`
    /// times the capacity.
    pub(crate) fn check<T>(capacity: usize, position_factor: usize) -> Result<(), Self> {
        let by_positions = usize::MAX / position_factor;
        let by_bytes = match std::mem::size_of::<T>() {
            0 => usize::MAX,
            size => isize::MAX as usize / size,
        };
        let max = by_positions.min(by_bytes);
        match capacity {
            0 => Err(Self::Zero),
            requested if requested > max => Err(Self::TooLarge { requested, max }),
            _ => Ok(()),
        }
    }

    /// Allocates room for exactly `capacity` values of `T` without aborting when the allocator
    /// fails (the caller has passed [`check`](Self::check)).
    pub(crate) fn reserve<T>(capacity: usize) -> Result<Vec<T>, Self> {
        let mut buffer = Vec::new();
        buffer
            .try_reserve_exact(capacity)
            .map_err(|_| Self::AllocationFailed {
                requested: capacity,
            })?;
        Ok(buffer)
    }

    /// A boxed slice of `capacity` values made by `make(index)`, allocated fallibly.
    pub(crate) fn boxed_slice<T>(
        capacity: usize,
        make: impl FnMut(usize) -> T,
    ) -> Result<Box<[T]>, Self> {
        let mut buffer = Self::reserve(capacity)?;
        buffer.extend((0..capacity).map(make));
        Ok(buffer.into_boxed_slice())
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => f.write_str("capacity must be at least 1"),
            Self::TooLarge { requested, max } => {
                write!(
                    f,
                    "capacity {requested} is too large: at most {max} for this element type"
                )
            }
            Self::AllocationFailed { requested } => {
                write!(f, "could not allocate a buffer of capacity {requested}")
            }
        }
    }
}

impl std::error::Error for CapacityError {}
