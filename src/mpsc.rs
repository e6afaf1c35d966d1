//! A drop-in for [`std::sync::mpsc`]: the same functions, types, methods and errors (std's
//! own), on verisync's channels. Switching is a change of the `use` line:
//!
//! ```
//! // use std::sync::mpsc::{channel, sync_channel};
//! use verisync::mpsc::{channel, sync_channel};
//!
//! let (tx, rx) = channel();
//! let (reply_tx, reply_rx) = sync_channel(0);
//! std::thread::spawn(move || {
//!     for request in rx {
//!         reply_tx.send(request * 2).unwrap();
//!     }
//! });
//! tx.send(21).unwrap();
//! assert_eq!(reply_rx.recv(), Ok(42));
//! ```
//!
//! # Semantics, as in std
//! - [`channel`] is unbounded: [`Sender::send`] never blocks.
//! - [`sync_channel`]`(n)` holds up to `n` values: [`SyncSender::send`] blocks while it is full,
//!   [`SyncSender::try_send`] returns `Full`. `sync_channel(0)` is a rendezvous channel: a send
//!   completes only when a receiver takes the value.
//! - [`Receiver::recv`] blocks until a value arrives; once every sender is gone and the buffer is
//!   drained it returns [`RecvError`]. `recv_timeout`, `try_recv`, `iter`, `try_iter` and
//!   `into_iter` behave as std's; `recv_deadline` (unstable in std) is here too.
//! - When the receiver is gone, sends hand their values back in a [`SendError`] /
//!   [`TrySendError::Disconnected`], and values still buffered are dropped with it.
//! - Every endpoint is `Send` and `Sync`, and unwind-safe, as std's senders are.
//!
//! # Beyond std
//! - The [`Receiver`] is `Clone` (std's unstable `mpmc` allows that too): clones share the
//!   values, each value going to one of them, and the channel disconnects for the senders when
//!   the last clone is dropped. It is verisync's [`mpmc::Receiver`](crate::mpmc::Receiver),
//!   with its batches (`recv_many`).
//! - [`SyncSender`] also has `send_timeout` and `send_deadline` (unstable in std).
//! - Every endpoint answers the same status questions: `len`, `is_empty`, `is_full`,
//!   `capacity` (`None` for [`channel`]) and `is_disconnected`.
//! - Every endpoint takes part in a [`Select`](crate::select::Select): wait on several
//!   channels at once, of this module or of `mpmc` and `spsc`.
//! - Async: `send_async` and [`Receiver::recv_async`], cancel safe ([`future`](crate::future)).
//!
//! The guarantees (ordering, progress, drops) are [`mpmc`](crate::mpmc)'s: these are its
//! unbounded, bounded and rendezvous channels under std's names.

use std::fmt;
use std::time::{Duration, Instant};

use crate::future::SendFuture;
use crate::select::{Selection, Side, Sink, Watch};
use crate::sync::Arc;

pub use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use crate::mpmc::{IntoIter, Iter, Receiver, TryIter};

/// Creates an unbounded channel, as [`std::sync::mpsc::channel`]: sends never block.
///
/// # Examples
/// ```
/// use verisync::mpsc::channel;
///
/// let (tx, rx) = channel();
/// for i in 0..3 {
///     let tx = tx.clone();
///     std::thread::spawn(move || tx.send(i).unwrap());
/// }
/// drop(tx);
/// let mut received: Vec<i32> = rx.iter().collect();
/// received.sort();
/// assert_eq!(received, [0, 1, 2]);
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crate::mpmc::unbounded();
    (Sender(tx), rx)
}

/// Creates a channel holding up to `bound` values, as [`std::sync::mpsc::sync_channel`]; a
/// bound of 0 makes a rendezvous channel.
///
/// # Panics
/// If a buffer of `bound` values would exceed `isize::MAX` bytes (std would fail to allocate
/// it); [`mpmc::try_channel`](crate::mpmc::try_channel) returns that as an error.
///
/// # Examples
/// ```
/// use verisync::mpsc::{sync_channel, TrySendError};
///
/// let (tx, rx) = sync_channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = crate::mpmc::channel(bound);
    (SyncSender(tx), rx)
}

/// The status methods every endpoint answers, delegated to the channel's sender; `$make` is
/// the doc examples' constructor call.
macro_rules! status_methods {
    ($make:literal) => {
        /// The number of values buffered right now.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, _rx) = ", $make, ";")]
        /// tx.send(1).unwrap();
        /// assert_eq!(tx.len(), 1);
        /// ```
        pub fn len(&self) -> usize {
            self.0.len()
        }

        /// Whether nothing is buffered right now.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, _rx) = ", $make, ";")]
        /// assert!(tx.is_empty());
        /// # tx.send(0).unwrap();
        /// ```
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Whether a send would have to wait right now (never for [`channel`]'s senders).
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, _rx) = ", $make, ";")]
        /// tx.send(1).unwrap();
        /// assert_eq!(tx.is_full(), tx.capacity() == Some(1));
        /// ```
        pub fn is_full(&self) -> bool {
            self.0.is_full()
        }

        /// The bound: `None` for [`channel`], `Some(0)` for a rendezvous channel.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, _rx) = ", $make, ";")]
        /// assert!(tx.capacity() == None || tx.capacity() == Some(1));
        /// # tx.send(0).unwrap();
        /// ```
        pub fn capacity(&self) -> Option<usize> {
            self.0.capacity()
        }

        /// Whether the receiver (every clone of it) is gone.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, rx) = ", $make, ";")]
        /// drop(rx);
        /// assert!(tx.is_disconnected());
        /// # let _ = tx.send(0);
        /// ```
        pub fn is_disconnected(&self) -> bool {
            self.0.is_disconnected()
        }
    };
}

/// The sending side of a [`channel`], as [`std::sync::mpsc::Sender`]; clone it for more
/// producers.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpsc::channel();
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Sender<T>(crate::mpmc::Sender<T>);

impl<T> Sender<T> {
    /// Sends `value`; never blocks.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpsc::channel();
    /// assert_eq!(tx.send(1), Ok(()));
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.0.send(value)
    }

    status_methods!("verisync::mpsc::channel()");
}

/// The sending side of a [`sync_channel`], as [`std::sync::mpsc::SyncSender`]; clone it for
/// more producers.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpsc::sync_channel(0);
/// let producer = std::thread::spawn(move || tx.send("hello").unwrap());
/// assert_eq!(rx.recv(), Ok("hello"));
/// producer.join().unwrap();
/// ```
pub struct SyncSender<T>(crate::mpmc::Sender<T>);

impl<T> SyncSender<T> {
    /// Sends `value`, waiting while the buffer is full (for a receiver to take it, if the
    /// bound is 0).
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpsc::sync_channel(1);
    /// let consumer = std::thread::spawn(move || rx.iter().sum::<u32>());
    /// for i in 1..=4 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), 10);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.0.send(value)
    }

    /// Sends `value` if that needs no waiting.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full (with bound 0: when no receiver is
    /// waiting), [`TrySendError::Disconnected`] when the receiver is gone; the value comes back.
    ///
    /// # Examples
    /// ```
    /// use verisync::mpsc::{sync_channel, TrySendError};
    ///
    /// let (tx, _rx) = sync_channel(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(value)
    }

    /// Sends `value`, waiting at most `timeout` while the buffer is full.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Disconnected`], with the value.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::mpsc::{sync_channel, SendTimeoutError};
    ///
    /// let (tx, _rx) = sync_channel(0);
    /// let err = tx.send_timeout(1, Duration::from_millis(5));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(1)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.0.send_timeout(value, timeout)
    }

    /// Sends `value`, waiting until `deadline` at the latest while the buffer is full.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Disconnected`], with the value.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::mpsc::sync_channel;
    ///
    /// let (tx, rx) = sync_channel(1);
    /// assert!(tx.send_deadline(1, Instant::now() + Duration::from_millis(5)).is_ok());
    /// # drop(rx);
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.0.send_deadline(value, deadline)
    }

    status_methods!("verisync::mpsc::sync_channel(1)");
}

/// Clone and `Debug` for both senders, by hand so that they hold for any `T`, as std's do;
/// `send_async` and the select traits. `$make` creates a channel for the doc example.
macro_rules! sender_impls {
    ($sender:ident, $make:literal) => {
        impl<T> $sender<T> {
            /// Sends `value` from an async task; the future resolves once the value is in the
            /// channel (see [`mpmc::Sender::send_async`](crate::mpmc::Sender::send_async),
            /// which this is).
            ///
            /// # Errors
            /// [`SendError`] with the value if the receiver is gone.
            ///
            /// # Cancel safety
            /// Never half-done: if the future is dropped before it completes, the value was
            /// either sent or is dropped with the future, unsent.
            ///
            /// # Examples
            /// ```
            /// use verisync::future::block_on;
            ///
            #[doc = concat!("let (tx, rx) = ", $make, ";")]
            /// assert_eq!(block_on(tx.send_async(1)), Ok(()));
            /// assert_eq!(rx.recv(), Ok(1));
            /// ```
            pub fn send_async(&self, value: T) -> SendFuture<&Self> {
                SendFuture::new(self, value)
            }

            crate::future::stream_methods!(sender, $make, &);
        }

        impl<T> Clone for $sender<T> {
            fn clone(&self) -> Self {
                Self(self.0.clone())
            }
        }

        impl<T> fmt::Debug for $sender<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($sender))
                    .field("capacity", &self.capacity())
                    .finish_non_exhaustive()
            }
        }

        impl<T> Side for $sender<T> {
            type Item = T;

            fn watch(
                &self,
                selection: &Arc<Selection>,
                op: usize,
                slot: &mut Option<T>,
            ) -> Watch<T> {
                self.0.watch(selection, op, slot)
            }

            fn looks_ready(&self) -> bool {
                self.0.looks_ready()
            }

            fn unwatch(&self, watch: Watch<T>, selection: &Arc<Selection>, slot: &mut Option<T>) {
                self.0.unwatch(watch, selection, slot);
            }
        }

        impl<T> Sink for $sender<T> {
            #[inline(always)]
            fn try_put(&self, value: T) -> Result<(), TrySendError<T>> {
                self.0.try_put(value)
            }
        }
    };
}

sender_impls!(Sender, "verisync::mpsc::channel()");
sender_impls!(SyncSender, "verisync::mpsc::sync_channel(1)");
