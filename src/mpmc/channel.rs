//! The channel API over [`Queue`]: cloneable endpoints, blocking, timeouts, batches and
//! disconnection.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::flavor::Flavor;
use super::list::List;
use super::queue::{OnBusy, Queue};
use super::zero::Rendezvous;
use crate::error::{
    CapacityError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use crate::future::{RecvFuture, SendFuture};
use crate::park::WaitQueue;
use crate::select::{Selection, Side, Sink, Source, Watch, unwatch_queue, watch_queue};
use crate::sync::{Arc, AtomicUsize, Ordering};

// The endpoints add counts and wait queues, whose locks guard no user code: written out, so
// that the bounds hold whichever backend's locks the facade provides.
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

/// How many values [`Sender::send_many`] takes from its iterator for one claim.
const SEND_BATCH: usize = 64;

/// Creates a channel that holds up to `capacity` values, with one sender and one receiver to
/// clone as needed. Capacity 0 makes a rendezvous channel: no buffer; a send completes only
/// when a receiver takes its value, and waits for one until then.
///
/// # Panics
/// If the buffer would exceed `isize::MAX` bytes; [`try_channel`] returns that as an error
/// instead.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpmc::channel(16);
/// let workers: Vec<_> = (0..2)
///     .map(|_| {
///         let rx = rx.clone();
///         std::thread::spawn(move || rx.iter().map(|x: u64| x * x).sum::<u64>())
///     })
///     .collect();
/// drop(rx);
/// for i in 1..=10 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
/// assert_eq!(total, 385);
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    match try_channel(capacity) {
        Ok(endpoints) => endpoints,
        Err(err) => panic!("verisync::mpmc::channel: {err}"),
    }
}

/// Creates a channel that holds up to `capacity` values (0: a rendezvous channel, as for
/// [`channel`]), or says why it cannot.
///
/// # Examples
/// ```
/// use verisync::mpmc::{try_channel, CapacityError};
///
/// assert!(try_channel::<u8>(5).is_ok());
/// assert!(try_channel::<u8>(0).is_ok()); // rendezvous
/// let too_large = try_channel::<[u8; 1024]>(usize::MAX / 2).unwrap_err();
/// assert!(matches!(too_large, CapacityError::TooLarge { .. }));
/// ```
pub fn try_channel<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    if capacity == 0 {
        return Ok(endpoints(Flavor::Rendezvous(Rendezvous::new())));
    }
    Ok(endpoints(Flavor::Bounded(Queue::try_new(capacity)?)))
}

/// Creates a channel without a bound, with one sender and one receiver to clone as needed:
/// sends never wait, and the memory of values taken is given back as receivers go (a segment
/// of 31 values at a time).
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpmc::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap(); // never blocks
/// }
/// assert_eq!(tx.capacity(), None);
/// assert_eq!(rx.len(), 1000);
/// drop(tx);
/// assert_eq!(rx.iter().sum::<i32>(), 999 * 1000 / 2);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    endpoints(Flavor::Unbounded(List::new()))
}

/// The first sender and receiver of a channel of `flavor`.
fn endpoints<T>(flavor: Flavor<T>) -> (Sender<T>, Receiver<T>) {
    // A buffer's pushes and pops claim their positions with `SeqCst` compare-exchanges, which
    // its empty and full checks read with `SeqCst` loads or after a `SeqCst` fence, and the
    // endpoint counts below are `SeqCst` too: the wait queues' fence is implied (`park.rs`).
    let wait_queue = || match &flavor {
        Flavor::Rendezvous(_) => WaitQueue::new(),
        Flavor::Bounded(_) | Flavor::Unbounded(_) => WaitQueue::after_seqcst_claims(),
    };
    let (receiver_waits, sender_waits) = (wait_queue(), wait_queue());
    let shared = Arc::new(Shared {
        flavor,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        receiver_waits: CachePadded::new(receiver_waits),
        sender_waits: CachePadded::new(sender_waits),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    (sender, Receiver { shared })
}

/// What the endpoints of a channel share; the buffered values go with it.
struct Shared<T> {
    flavor: Flavor<T>,
    /// Live senders; 0 means the receivers see `Disconnected` once the buffer is drained.
    senders: AtomicUsize,
    /// Live receivers; 0 means sends fail.
    receivers: AtomicUsize,
    /// Where receivers blocked on an empty buffer sleep; senders notify them.
    receiver_waits: CachePadded<WaitQueue>,
    /// Where senders blocked on a full buffer sleep; receivers notify them.
    sender_waits: CachePadded<WaitQueue>,
}

impl<T> Shared<T> {
    fn receivers_gone(&self) -> bool {
        // SeqCst: pairs with the `SeqCst` decrement in `Receiver::drop` and its wait queues'
        // `SeqCst` accesses, where their fence is implied (`park.rs`): a waiting sender, or a
        // pusher about to leave its value behind, sees the last receiver gone, or the receiver
        // sees it. The count publishes nothing else: a sender that sees it at zero only hands
        // its value back, or pops what is left, and every pop reads the values through the
        // slots' own stamps (Acquire), whoever pushed them.
        self.receivers.load(Ordering::SeqCst) == 0
    }

    /// Called after every push of one value (`many` false) or more: the light half of the
    /// fence that the last `Receiver::drop` pairs with, then the wake-up of sleeping receivers
    /// (one waiting task for one value). Either that drop sees what we pushed and drops it, or
    /// we see the receivers gone and drop it (with anything else left) ourselves, so no value
    /// outlives the last receiver.
    #[inline(always)]
    fn pushed(&self, many: bool) {
        notify(&self.receiver_waits, many);
        if !cfg!(verisync_mutant = "mpmc_keeps_abandoned") && self.receivers_gone() {
            self.drop_abandoned();
        }
    }

    /// Drops what the last receiver left behind (see [`pushed`](Self::pushed)).
    #[cold]
    fn drop_abandoned(&self) {
        self.flavor.drop_all();
    }

    fn senders_gone(&self) -> bool {
        // SeqCst (acquire): pairs with the decrements in `Sender::drop` (a release sequence),
        // so every value any sender pushed before dropping is visible to the next pop; and as
        // a `SeqCst` access with theirs and with the wait queues', where their fence is implied
        // (`park.rs`), so that a waiting receiver sees the last sender gone or is woken.
        self.senders.load(Ordering::SeqCst) == 0
    }
}

/// Wakes the waiters of `waits` after progress: for one value (or one slot), every thread but
/// only one task, which is all one value can serve (see `park.rs`); for `many`, everyone.
#[inline(always)]
fn notify(waits: &WaitQueue, many: bool) {
    if many {
        waits.notify_all();
    } else {
        waits.notify_one();
    }
}

/// The buffer's status methods that [`Sender`] and [`Receiver`] share, both reading the one
/// buffer; `$endpoint` (`"tx"` or `"rx"`) names the endpoint the doc examples call them on.
macro_rules! buffer_status_methods {
    ($endpoint:literal) => {
        /// The number of values buffered right now (other threads may change it at any moment).
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel(4);
        /// tx.send(1).unwrap();
        #[doc = concat!("assert_eq!(", $endpoint, ".len(), 1);")]
        /// ```
        pub fn len(&self) -> usize {
            self.shared.flavor.len()
        }

        /// Whether nothing is buffered right now.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel::<u8>(4);
        #[doc = concat!("assert!(", $endpoint, ".is_empty());")]
        /// ```
        pub fn is_empty(&self) -> bool {
            self.shared.flavor.len() == 0
        }

        /// Whether the buffer is full right now; never for an [`unbounded`] channel.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel(1);
        /// tx.send(()).unwrap();
        #[doc = concat!("assert!(", $endpoint, ".is_full());")]
        /// ```
        pub fn is_full(&self) -> bool {
            self.shared.flavor.is_full()
        }

        /// The number of values the buffer can hold; `None` for an [`unbounded`] channel.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel::<u8>(10);
        #[doc = concat!("assert_eq!(", $endpoint, ".capacity(), Some(10));")]
        /// let (tx, rx) = verisync::mpmc::unbounded::<u8>();
        #[doc = concat!("assert_eq!(", $endpoint, ".capacity(), None);")]
        /// ```
        pub fn capacity(&self) -> Option<usize> {
            self.shared.flavor.capacity()
        }
    };
}

/// The sending side of a [`channel`]; clone it for more producers.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpmc::channel(4);
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full, [`TrySendError::Disconnected`] when every
    /// receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use verisync::mpmc::TrySendError;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.send_now(value, OnBusy::Wait)
    }

    #[inline(always)]
    fn send_now(&self, value: T, on_busy: OnBusy) -> Result<(), TrySendError<T>> {
        if self.shared.receivers_gone() {
            return Err(TrySendError::Disconnected(value));
        }
        let flavor = &self.shared.flavor;
        flavor.push(value, on_busy).map_err(TrySendError::Full)?;
        self.shared.pushed(false);
        Ok(())
    }

    /// Sends `value`, waiting for room if the buffer is full (spins briefly, then parks).
    ///
    /// # Errors
    /// [`SendError`] with the value if every receiver is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// let consumer = std::thread::spawn(move || rx.iter().sum::<u32>());
    /// for i in 1..=10 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), 55);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None)
            .map_err(|err| SendError(err.into_inner()))
    }

    /// Sends `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] if the buffer stayed full, [`SendTimeoutError::Disconnected`]
    /// if every receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::mpmc::SendTimeoutError;
    ///
    /// let (tx, _rx) = verisync::mpmc::channel(1);
    /// assert_eq!(tx.send_timeout(1, Duration::from_millis(10)), Ok(()));
    /// let err = tx.send_timeout(2, Duration::from_millis(10));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Instant::now().checked_add(timeout))
    }

    /// Sends `value`, waiting until `deadline` at the latest for room; a deadline already
    /// passed still sends if there is room now.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] if the buffer stayed full, [`SendTimeoutError::Disconnected`]
    /// if every receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::mpmc::SendTimeoutError;
    ///
    /// let (tx, _rx) = verisync::mpmc::channel(1);
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(tx.send_deadline(1, deadline), Ok(()));
    /// assert_eq!(tx.send_deadline(2, deadline), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    /// Sends `value` from an async task: the future resolves once the value is in the
    /// channel (a rendezvous channel: taken by a receiver), waiting for room without blocking
    /// the thread. Blocking senders, selects and other tasks may use the channel meanwhile.
    ///
    /// # Errors
    /// [`SendError`] with the value if every receiver is gone.
    ///
    /// # Cancel safety
    /// Never half-done: if the future is dropped before it completes, the value was either
    /// sent or is dropped with the future, unsent. Its place among the waiting senders goes
    /// to the next one. See [`future`](crate::future) for timeouts.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     block_on(async {
    ///         for i in 0..3 {
    ///             tx.send_async(i).await.unwrap();
    ///         }
    ///     })
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// producer.join().unwrap();
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<&Self> {
        SendFuture::new(self, value)
    }

    crate::future::stream_methods!(sender, "verisync::mpmc::channel(1)", &);

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        if let Flavor::Rendezvous(zero) = &self.shared.flavor {
            if self.shared.receivers_gone() {
                return Err(SendTimeoutError::Disconnected(value));
            }
            return zero.send(value, deadline);
        }
        let waits = &self.shared.sender_waits;
        crate::channel::send_until(waits, value, deadline, |value| {
            self.send_now(value, OnBusy::GiveUp)
        })
    }

    /// Sends every value of `values` in order, waiting for room as needed. Values are taken
    /// from the iterator a batch at a time and each batch claims as many slots as are free in
    /// one step, so a batch costs less per value than single sends. Other senders' values may
    /// land between batches.
    ///
    /// # Errors
    /// If every receiver is gone, the values not sent: the current batch, then the rest of the
    /// iterator, collected.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(8);
    /// tx.send_many(0..5).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    /// drop(rx);
    /// let unsent = tx.send_many(vec![7, 8]).unwrap_err();
    /// assert_eq!(unsent.0, [7, 8]);
    /// ```
    pub fn send_many<I: IntoIterator<Item = T>>(&self, values: I) -> Result<(), SendError<Vec<T>>> {
        let mut values = values.into_iter();
        if let Flavor::Rendezvous(_) = self.shared.flavor {
            // One meeting per value: nothing to batch without a buffer.
            while let Some(value) = values.next() {
                if let Err(SendError(value)) = self.send(value) {
                    return Err(SendError(std::iter::once(value).chain(values).collect()));
                }
            }
            return Ok(());
        }
        let mut batch = VecDeque::new();
        loop {
            if batch.is_empty() {
                batch.extend(values.by_ref().take(SEND_BATCH));
                if batch.is_empty() {
                    return Ok(());
                }
            }
            let sent = match self.try_send_batch(&mut batch) {
                Some(sent) => Some(sent),
                None => {
                    let waits = &self.shared.sender_waits;
                    waits.wait_until(None, || self.try_send_batch(&mut batch))
                }
            };
            if sent == Some(Err(())) {
                batch.extend(values);
                return Err(SendError(batch.into()));
            }
        }
    }

    /// Sends from the front of `batch`: `Some(Ok(()))` if something was sent, `Some(Err(()))`
    /// if every receiver is gone, `None` if the buffer is full.
    fn try_send_batch(&self, batch: &mut VecDeque<T>) -> Option<Result<(), ()>> {
        if self.shared.receivers_gone() {
            return Some(Err(()));
        }
        if self.shared.flavor.push_many(batch, OnBusy::GiveUp) == 0 {
            return None;
        }
        self.shared.pushed(true);
        Some(Ok(()))
    }

    buffer_status_methods!("tx");

    /// Whether every receiver has been dropped.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel::<u8>(1);
    /// assert!(!tx.is_disconnected());
    /// drop(rx);
    /// assert!(tx.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.shared.receivers_gone()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: the clone is made from a live sender, so the count cannot be zero here and
        // nothing is published by the increment (like `Arc::clone`).
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // SeqCst (release): pairs with the load in `senders_gone`, so our pushes are visible to
        // a receiver that sees the count at zero, and, as a `SeqCst` access, with a waiting
        // receiver's registration (see there).
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1
            && !cfg!(verisync_mutant = "mpmc_disconnect_no_wake")
        {
            self.shared.receiver_waits.notify_all();
            if let Flavor::Rendezvous(zero) = &self.shared.flavor {
                zero.disconnect();
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// The receiving side of a [`channel`]; clone it for more consumers.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::mpmc::channel(4);
/// let rx2 = rx.clone();
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// assert_eq!(rx2.recv(), Ok(2));
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the oldest value if there is one, without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when nothing is buffered, [`TryRecvError::Disconnected`] when
    /// nothing is buffered and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// use verisync::mpmc::TryRecvError;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_now(OnBusy::Wait)
    }

    #[inline(always)]
    fn recv_now(&self, on_busy: OnBusy) -> Result<T, TryRecvError> {
        self.try_recv_with(false, |flavor| flavor.pop(on_busy))
    }

    /// Takes the oldest value, waiting for one if the buffer is empty (spins briefly, then
    /// parks).
    ///
    /// # Errors
    /// [`RecvError`] once the buffer is empty and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// std::thread::spawn(move || tx.send(9).unwrap());
    /// assert_eq!(rx.recv(), Ok(9));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Takes the oldest value, waiting at most `timeout` for one.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Disconnected`] once the buffer is empty and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::mpmc::RecvTimeoutError;
    ///
    /// let (tx, rx) = verisync::mpmc::channel::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Takes the oldest value, waiting until `deadline` at the latest for one; a deadline
    /// already passed still takes a value buffered now.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Disconnected`] once the buffer is empty and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::mpmc::RecvTimeoutError;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.recv_deadline(deadline), Ok(3));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// Receives the oldest value from an async task: the future resolves once a value is
    /// there, waiting without blocking the thread.
    ///
    /// # Errors
    /// [`RecvError`] once the buffer is empty and every sender is gone.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, no value was taken from the
    /// channel, so it can be used as a branch of `tokio::select!` in a loop. (A rendezvous
    /// sender that handed its value to this receive just before it was dropped has sent it:
    /// the value goes to the next receiver.) A wake-up the future got but did not act on goes
    /// to the next receiver waiting. See [`future`](crate::future) for timeouts.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(0); // rendezvous
    /// let consumer = std::thread::spawn(move || block_on(rx.recv_async()));
    /// tx.send("hello").unwrap();
    /// assert_eq!(consumer.join().unwrap(), Ok("hello"));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<&Self> {
        RecvFuture::new(self)
    }

    crate::future::stream_methods!(receiver, "mpmc", &);

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        if let Flavor::Rendezvous(zero) = &self.shared.flavor {
            return zero.recv(deadline);
        }
        let waits = &self.shared.receiver_waits;
        crate::channel::recv_until(waits, deadline, || self.recv_now(OnBusy::GiveUp))
    }

    /// Appends up to `max` buffered values to `out`, oldest first, claiming them in one step;
    /// returns how many. Waits (spins briefly, then parks) until at least one is buffered;
    /// returns `Ok(0)` at once when `max` is 0. Other receivers may take values in between, so
    /// the values are consecutive in the channel's order only within one call.
    ///
    /// # Errors
    /// [`RecvError`] once the buffer is empty and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(8);
    /// tx.send_many(1..=5).unwrap();
    /// let mut out = Vec::new();
    /// assert_eq!(rx.recv_many(&mut out, 3), Ok(3));
    /// assert_eq!(rx.recv_many(&mut out, 10), Ok(2));
    /// assert_eq!(out, [1, 2, 3, 4, 5]);
    /// drop(tx);
    /// assert!(rx.recv_many(&mut out, 10).is_err());
    /// ```
    pub fn recv_many(&self, out: &mut Vec<T>, max: usize) -> Result<usize, RecvError> {
        if let Flavor::Rendezvous(_) = self.shared.flavor
            && max > 0
        {
            // Wait for one sender, then take the values of those already waiting.
            out.push(self.recv()?);
            return Ok(1 + self.shared.flavor.pop_many(out, max - 1, OnBusy::GiveUp));
        }
        let waits = &self.shared.receiver_waits;
        crate::channel::recv_until(waits, None, || self.recv_many_now(out, max, OnBusy::GiveUp))
            .map_err(|_| RecvError)
    }

    /// Appends up to `max` buffered values to `out`, oldest first, claiming them in one step,
    /// without waiting; returns how many (at least 1 unless `max` is 0).
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when nothing is buffered, [`TryRecvError::Disconnected`] when
    /// nothing is buffered and every sender is gone.
    ///
    /// # Examples
    /// ```
    /// use verisync::mpmc::TryRecvError;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(8);
    /// let mut out = Vec::new();
    /// assert_eq!(rx.try_recv_many(&mut out, 4), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv_many(&mut out, 4), Ok(1));
    /// assert_eq!(out, [1]);
    /// ```
    pub fn try_recv_many(&self, out: &mut Vec<T>, max: usize) -> Result<usize, TryRecvError> {
        self.recv_many_now(out, max, OnBusy::Wait)
    }

    fn recv_many_now(
        &self,
        out: &mut Vec<T>,
        max: usize,
        on_busy: OnBusy,
    ) -> Result<usize, TryRecvError> {
        if max == 0 {
            return Ok(0);
        }
        self.try_recv_with(true, |flavor| {
            let taken = flavor.pop_many(out, max, on_busy);
            (taken > 0).then_some(taken)
        })
    }

    /// Runs `take` (which returns what it took, if anything: one value, or `many`), draining
    /// what senders pushed before they all dropped, and wakes blocked senders after a take.
    #[inline(always)]
    fn try_recv_with<R>(
        &self,
        many: bool,
        mut take: impl FnMut(&Flavor<T>) -> Option<R>,
    ) -> Result<R, TryRecvError> {
        let shared = &*self.shared;
        let taken = match take(&shared.flavor) {
            Some(taken) => taken,
            None => self.after_empty(take)?,
        };
        // Only a bounded buffer makes senders wait for room: the other flavors' senders never
        // sleep in `sender_waits`.
        if let Flavor::Bounded(_) = shared.flavor
            && !cfg!(verisync_mutant = "mpmc_recv_no_wake")
        {
            notify(&shared.sender_waits, many);
        }
        Ok(taken)
    }

    /// After `take` found nothing: `Empty` while a sender lives; else one more `take`, for
    /// what the last senders sent just before they dropped, and `Disconnected` if that finds
    /// nothing either.
    #[cold]
    fn after_empty<R>(
        &self,
        mut take: impl FnMut(&Flavor<T>) -> Option<R>,
    ) -> Result<R, TryRecvError> {
        let shared = &*self.shared;
        if !shared.senders_gone() {
            return Err(TryRecvError::Empty);
        }
        // The Acquire in `senders_gone` makes the values the last senders pushed visible to
        // this second look.
        if cfg!(verisync_mutant = "mpmc_disconnect_no_drain") {
            return Err(TryRecvError::Disconnected);
        }
        take(&shared.flavor).ok_or(TryRecvError::Disconnected)
    }

    /// An iterator that blocks for each value and ends once every sender is gone and the
    /// buffer is drained.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(2);
    /// std::thread::spawn(move || {
    ///     tx.send(1).unwrap();
    ///     tx.send(2).unwrap();
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// An iterator over the values buffered right now; it never blocks.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    buffer_status_methods!("rx");

    /// Whether every sender has been dropped (values they sent may still be buffered).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.shared.senders_gone()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        // Relaxed: cloned from a live receiver, so the count cannot be zero here (like
        // `Arc::clone`).
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        // SeqCst: pairs with the `SeqCst` load in `receivers_gone` where the wait queues'
        // fence is implied (see there); nothing else is read through the count: the last
        // drop's own pops below, and the senders' after they see zero, go through the slots.
        if shared.receivers.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        // The last receiver: what is buffered dies with it (std semantics). The heavy half of
        // the fence in `Shared::pushed`: a value pushed after this is dropped by its sender,
        // one pushed before is popped here. (Where the fence is implied, our `SeqCst`
        // decrement and the pops' empty check do its work, with the pusher's `SeqCst` claim and
        // its load in `receivers_gone`.) Not needed (and the common case, so `membarrier` is
        // not paid for it) once every sender is gone: nothing can be pushed any more, and the
        // acquire in `senders_gone` makes every earlier push visible to the pops below.
        if !shared.senders_gone() {
            shared.receiver_waits.fence_before_recheck();
        }
        if !cfg!(verisync_mutant = "mpmc_disconnect_no_wake") {
            shared.sender_waits.notify_all();
            if let Flavor::Rendezvous(zero) = &shared.flavor {
                zero.disconnect();
            }
        }
        shared.flavor.drop_all();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

crate::channel::receiver_iterators!(mpmc);

impl<T> Shared<T> {
    /// The wait queue of one side: the senders' if `sending`, else the receivers'.
    fn waits(&self, sending: bool) -> &WaitQueue {
        if sending {
            &self.sender_waits
        } else {
            &self.receiver_waits
        }
    }

    /// A select's registration with one side (the senders' if `sending`): the rendezvous
    /// line, or that side's wait queue.
    fn watch(
        &self,
        sending: bool,
        selection: &Arc<Selection>,
        op: usize,
        slot: &mut Option<T>,
    ) -> Watch<T> {
        match &self.flavor {
            Flavor::Rendezvous(zero) => zero.watch(sending, selection, op, slot),
            _ => watch_queue(self.waits(sending), selection),
        }
    }

    /// Takes back a registration of [`watch`](Self::watch).
    fn unwatch(
        &self,
        sending: bool,
        watch: Watch<T>,
        selection: &Arc<Selection>,
        slot: &mut Option<T>,
    ) {
        match (watch, &self.flavor) {
            (Watch::Line(ticket), Flavor::Rendezvous(zero)) => zero.unwatch(ticket, slot),
            (watch, _) => unwatch_queue(self.waits(sending), watch, selection),
        }
    }
}

impl<T> Side for Receiver<T> {
    type Item = T;

    fn watch(&self, selection: &Arc<Selection>, op: usize, slot: &mut Option<T>) -> Watch<T> {
        self.shared.watch(false, selection, op, slot)
    }

    fn looks_ready(&self) -> bool {
        !self.is_empty() || self.shared.senders_gone()
    }

    fn unwatch(&self, watch: Watch<T>, selection: &Arc<Selection>, slot: &mut Option<T>) {
        self.shared.unwatch(false, watch, selection, slot);
    }
}

impl<T> Source for Receiver<T> {
    #[inline(always)]
    fn try_take(&self) -> Result<T, TryRecvError> {
        self.recv_now(OnBusy::Wait)
    }

    fn give_back(&self, value: T) {
        let Flavor::Rendezvous(zero) = &self.shared.flavor else {
            unreachable!("a buffered channel hands no value to a waiting receive");
        };
        zero.give_back(value);
    }
}

impl<T> Side for Sender<T> {
    type Item = T;

    fn watch(&self, selection: &Arc<Selection>, op: usize, slot: &mut Option<T>) -> Watch<T> {
        self.shared.watch(true, selection, op, slot)
    }

    fn looks_ready(&self) -> bool {
        !self.is_full() || self.shared.receivers_gone()
    }

    fn unwatch(&self, watch: Watch<T>, selection: &Arc<Selection>, slot: &mut Option<T>) {
        self.shared.unwatch(true, watch, selection, slot);
    }
}

impl<T> Sink for Sender<T> {
    #[inline(always)]
    fn try_put(&self, value: T) -> Result<(), TrySendError<T>> {
        self.send_now(value, OnBusy::Wait)
    }
}
