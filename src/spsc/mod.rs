//! A bounded single-producer single-consumer channel on a ring buffer.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`], one each; both are [`Send`], neither is
//! [`Clone`] or [`Sync`], and `T` only needs to be [`Send`].
//!
//! # Guarantees
//! - **Progress.** [`try_send`](Sender::try_send), [`try_recv`](Receiver::try_recv),
//!   [`write_chunk`](Sender::write_chunk) and [`read_chunk`](Receiver::read_chunk) are
//!   wait-free: a bounded number of steps whatever the other thread does.
//!   [`send`](Sender::send) and [`recv`](Receiver::recv) block: they spin briefly, then park the
//!   thread until the other side makes progress or goes away, so two threads sharing one CPU
//!   do not burn it.
//! - **Order.** Values are received in the order they were sent (FIFO), each exactly once.
//! - **Full.** `try_send` hands the value back in [`TrySendError::Full`]; `send` waits for a
//!   free slot; `send_timeout` and `send_deadline` wait until a deadline and then hand the
//!   value back.
//! - **Empty.** `try_recv` returns [`TryRecvError::Empty`]; `recv` waits; `recv_timeout` and
//!   `recv_deadline` wait until a deadline and then return `Timeout`.
//! - **Disconnected.** After the [`Sender`] is dropped the receiver still gets every value
//!   sent before, then [`TryRecvError::Disconnected`] / [`RecvError`]. After the [`Receiver`] is
//!   dropped every send hands its value back in a `Disconnected` error.
//! - **Drop.** Every value is dropped exactly once. Values still buffered when the
//!   [`Receiver`] is dropped die with it, as in std: by the time its drop, and any send that
//!   overlapped it, have returned, none is left in the buffer (so a reply sender inside an
//!   unread request disconnects its client at once). The receiver's drop drops them; a send
//!   that overlapped it and finds it gone after publishing drops what it published. Neither
//!   waits for the other.
//! - **Capacity.** Exactly the capacity asked for, any value from 1 (no power-of-two rounding,
//!   no wasted slot). Capacity 0, or one whose buffer would not fit in `isize::MAX` bytes, is
//!   an error from [`try_channel`] and a panic from [`channel`].
//!
//! # Design
//! Positions run from 0 to `2 * capacity`, so a full buffer (`tail - head == capacity`) and an
//! empty one (`tail == head`) differ without a spare slot and without division. `head` and
//! `tail` live on their own cache lines; each endpoint keeps its own position and a cached copy
//! of the other's in plain fields, and reloads the other's (`Acquire`) only when the cached
//! copy says full or empty. Blocking goes through the crate's wait queue: the fast path pays a
//! compiler fence and one load of a rarely written counter when nobody is parked.
//!
//! # Examples
//! ```
//! let (tx, rx) = verisync::spsc::channel(4);
//! let producer = std::thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! let received: Vec<i32> = rx.iter().collect();
//! producer.join().unwrap();
//! assert_eq!(received, (0..100).collect::<Vec<_>>());
//! ```

use std::cell::Cell;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

mod chunks;
mod ring;

pub use self::chunks::{ReadChunk, WriteChunk};
use self::ring::{Ring, Shared};
pub use crate::error::{
    CapacityError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use crate::future::{RecvFuture, SendFuture};
use crate::select::{Selection, Side, Sink, Source, Watch, unwatch_queue, watch_queue};
use crate::sync::{Arc, Ordering};

/// Creates a channel that holds up to `capacity` values.
///
/// # Panics
/// If `capacity` is 0 or the buffer would exceed `isize::MAX` bytes; [`try_channel`] returns
/// these as errors instead.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::spsc::channel(3);
/// tx.send('a').unwrap();
/// assert_eq!(rx.recv(), Ok('a'));
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    match try_channel(capacity) {
        Ok(endpoints) => endpoints,
        Err(err) => panic!("verisync::spsc::channel: {err}"),
    }
}

/// Creates a channel that holds up to `capacity` values, or says why it cannot.
///
/// # Examples
/// ```
/// use verisync::spsc::{try_channel, CapacityError};
///
/// assert!(try_channel::<u8>(5).is_ok());
/// assert_eq!(try_channel::<u8>(0).unwrap_err(), CapacityError::Zero);
/// ```
pub fn try_channel<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    let shared = Arc::new(Shared::new(capacity)?);
    let sender = Sender {
        ring: shared.ring(),
        shared: shared.clone(),
        tail: Cell::new(0),
        full_at: Cell::new(capacity),
    };
    let receiver = Receiver {
        ring: shared.ring(),
        shared,
        head: Cell::new(0),
        cached_tail: Cell::new(0),
    };
    Ok((sender, receiver))
}

// Unwind safety, as for std's endpoints: a panic that unwinds out of an operation (from a
// value's `Drop`, a chunk's iterator or the closure a chunk folds with) leaves both positions
// consistent, because a position is only ever moved past values already written or taken.
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}
impl<T> UnwindSafe for WriteChunk<'_, T> {}
impl<T> RefUnwindSafe for WriteChunk<'_, T> {}
impl<T> UnwindSafe for ReadChunk<'_, T> {}
impl<T> RefUnwindSafe for ReadChunk<'_, T> {}

/// The sending half of an SPSC channel.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::spsc::channel(2);
/// std::thread::spawn(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv(), Ok(7));
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    ring: Ring<T>,
    /// Our own position: the shared `tail` always equals it between calls.
    tail: Cell<usize>,
    /// Where the buffer is full as of the receiver's position last loaded (`Ring::full_at`);
    /// it only ever lags the real one. Kept instead of that position, so that the fast path of
    /// a send compares with it and computes nothing.
    full_at: Cell<usize>,
}

impl<T> Sender<T> {
    /// Sends `value` if there is a free slot, without waiting. Wait-free.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full, [`TrySendError::Disconnected`] when the
    /// receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use verisync::spsc::TrySendError;
    ///
    /// let (tx, rx) = verisync::spsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.shared.peer_is_gone() {
            return Err(TrySendError::Disconnected(value));
        }
        let tail = self.tail.get();
        if tail == self.full_at.get() && tail == self.reload_full_at() {
            return Err(TrySendError::Full(value));
        }
        // A copy, so that the stores below do not make the compiler load it again.
        let ring = self.ring;
        // SAFETY: the slot at `tail` is free: the receiver released it (the Acquire load of
        // `head` saw that) and will not read it until we publish the new `tail`.
        unsafe { ring.write(ring.index(tail), value) };
        self.publish(ring.next(tail));
        Ok(())
    }

    /// Sends `value`, waiting for a free slot if the buffer is full (spins briefly, then parks).
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(1);
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

    /// Sends `value`, waiting at most `timeout` for a free slot.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] if the buffer stayed full, [`SendTimeoutError::Disconnected`]
    /// if the receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::spsc::SendTimeoutError;
    ///
    /// let (tx, _rx) = verisync::spsc::channel(1);
    /// assert_eq!(tx.send_timeout(1, Duration::from_millis(10)), Ok(()));
    /// let err = tx.send_timeout(2, Duration::from_millis(10));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Instant::now().checked_add(timeout))
    }

    /// Sends `value`, waiting until `deadline` at the latest for a free slot; a deadline already
    /// passed still sends if there is a free slot now.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] if the buffer stayed full, [`SendTimeoutError::Disconnected`]
    /// if the receiver is gone; either way the value comes back.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::spsc::SendTimeoutError;
    ///
    /// let (tx, _rx) = verisync::spsc::channel(1);
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(tx.send_deadline(1, deadline), Ok(()));
    /// assert_eq!(tx.send_deadline(2, deadline), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    /// Sends `value` from an async task: the future resolves once the value is in the
    /// buffer, waiting for room without blocking the thread. It borrows the sender mutably,
    /// so the task that owns the sender may move between threads (a shared `&Sender` could
    /// not: the sender is not `Sync`).
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Cancel safety
    /// Never half-done: if the future is dropped before it completes, the value was either
    /// sent or is dropped with the future, unsent. See [`future`](crate::future) for timeouts.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    ///
    /// let (mut tx, rx) = verisync::spsc::channel(1);
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
    pub fn send_async(&mut self, value: T) -> SendFuture<&mut Self> {
        SendFuture::new(self, value)
    }

    crate::future::stream_methods!(sender, "verisync::spsc::channel(1)", &mut);

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let waits = &self.shared.sender_waits;
        crate::channel::send_until(waits, value, deadline, |value| self.try_send(value))
    }

    /// The number of values the buffer can hold.
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = verisync::spsc::channel::<u8>(10);
    /// assert_eq!(tx.capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity
    }

    /// The number of values buffered right now (the receiver may take more at any moment):
    /// the capacity less the free [`slots`](Self::slots).
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = verisync::spsc::channel(3);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.capacity - self.slots()
    }

    /// Whether nothing is buffered right now.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(3);
    /// tx.send(1).unwrap();
    /// assert!(!tx.is_empty());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of free slots right now (the receiver may free more at any moment).
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = verisync::spsc::channel(3);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.slots(), 2);
    /// ```
    pub fn slots(&self) -> usize {
        self.ring.distance(self.tail.get(), self.reload_full_at())
    }

    /// Whether the buffer is full right now.
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = verisync::spsc::channel(1);
    /// assert!(!tx.is_full());
    /// tx.send(()).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.slots() == 0
    }

    /// Whether the receiver has been dropped.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel::<u8>(1);
    /// assert!(!tx.is_disconnected());
    /// drop(rx);
    /// assert!(tx.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.shared.peer_is_gone()
    }

    /// Loads the receiver's position and returns, and caches, where the buffer is full. Out of
    /// line, so that the fast path of a send falls straight through.
    #[cold]
    fn reload_full_at(&self) -> usize {
        // Acquire: pairs with the Release store in `Receiver::release`, so the receiver's reads
        // of the slots it released happen before we overwrite them.
        let head = self.shared.head.load(Ordering::Acquire);
        let full_at = self.ring.full_at(head);
        self.full_at.set(full_at);
        full_at
    }

    /// Makes the slots before `tail` visible to the receiver and wakes it if it sleeps.
    #[inline]
    fn publish(&self, tail: usize) {
        // Loaded once: the ordered operations below would make the compiler load it again.
        let shared = &*self.shared;
        self.tail.set(tail);
        // Release: pairs with the Acquire load in `Receiver::load_tail`, so our writes to the
        // slots happen before the receiver reads them.
        shared
            .tail
            .store(tail, ordering!("spsc_relaxed_publish", Release));
        // Also the light half of the fence that `Receiver::drop` pairs with: either it sees
        // this `tail` and drops the values, or we see its registration here (it registers on
        // `receiver_waits` for good before its fence), look, and drop them ourselves. So the
        // common case, nobody registered, costs no load of `disconnected`.
        if shared.receiver_waits.notify_all() {
            self.drop_abandoned_if_receiver_gone();
        }
    }

    #[cold]
    fn drop_abandoned_if_receiver_gone(&self) {
        if !cfg!(verisync_mutant = "spsc_keeps_abandoned") && self.shared.peer_is_gone() {
            self.shared.drop_abandoned();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let _ = self.shared.disconnect(&self.shared.receiver_waits);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.ring.capacity)
            .finish_non_exhaustive()
    }
}

/// The receiving half of an SPSC channel.
///
/// # Examples
/// ```
/// let (tx, rx) = verisync::spsc::channel(2);
/// tx.send("hi").unwrap();
/// drop(tx);
/// assert_eq!(rx.recv(), Ok("hi"));
/// assert!(rx.recv().is_err());
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    ring: Ring<T>,
    /// Our own position: the shared `head` always equals it between calls.
    head: Cell<usize>,
    /// The sender's position as last loaded; it only ever lags the real one.
    cached_tail: Cell<usize>,
}

impl<T> Receiver<T> {
    /// Takes the oldest value if there is one, without waiting. Wait-free.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when nothing is buffered, [`TryRecvError::Disconnected`] when
    /// nothing is buffered and the sender is gone.
    ///
    /// # Examples
    /// ```
    /// use verisync::spsc::TryRecvError;
    ///
    /// let (tx, rx) = verisync::spsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let head = self.head.get();
        self.check_ready(head)?;
        // SAFETY: `head != tail`, so the slot holds a value the sender published (the Acquire
        // load of `tail` saw it) and will not touch until we release it; we read it once.
        let value = unsafe { self.ring.take(self.ring.index(head)) };
        self.head.set(self.ring.next(head));
        self.release();
        Ok(value)
    }

    /// Takes the oldest value, waiting for one if the buffer is empty (spins briefly, then
    /// parks).
    ///
    /// # Errors
    /// [`RecvError`] once the buffer is empty and the sender is gone.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(1);
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
    /// [`RecvTimeoutError::Disconnected`] once the buffer is empty and the sender is gone.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::spsc::RecvTimeoutError;
    ///
    /// let (tx, rx) = verisync::spsc::channel::<u8>(1);
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
    /// [`RecvTimeoutError::Disconnected`] once the buffer is empty and the sender is gone.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::spsc::RecvTimeoutError;
    ///
    /// let (tx, rx) = verisync::spsc::channel(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.recv_deadline(deadline), Ok(3));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// Receives the oldest value from an async task: the future resolves once a value is
    /// there, waiting without blocking the thread. It borrows the receiver mutably, so the
    /// task that owns the receiver may move between threads.
    ///
    /// # Errors
    /// [`RecvError`] once the buffer is empty and the sender is gone.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes, no value was taken, so it
    /// can be used as a branch of `tokio::select!` in a loop. See [`future`](crate::future)
    /// for timeouts.
    ///
    /// # Examples
    /// ```
    /// use verisync::future::block_on;
    ///
    /// let (tx, mut rx) = verisync::spsc::channel(4);
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(block_on(rx.recv_async()), Ok(5));
    /// assert!(block_on(rx.recv_async()).is_err());
    /// ```
    pub fn recv_async(&mut self) -> RecvFuture<&mut Self> {
        RecvFuture::new(self)
    }

    crate::future::stream_methods!(receiver, "spsc", &mut);

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let waits = &self.shared.receiver_waits;
        crate::channel::recv_until(waits, deadline, || self.try_recv())
    }

    /// Borrows the oldest value without taking it.
    ///
    /// # Examples
    /// ```
    /// let (tx, mut rx) = verisync::spsc::channel(2);
    /// assert_eq!(rx.peek(), None);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.peek(), Some(&1));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn peek(&mut self) -> Option<&T> {
        let head = self.head.get();
        self.check_ready(head).ok()?;
        // SAFETY: the slot holds a published value that stays put while `&mut self` is
        // borrowed, because only this receiver can release it.
        Some(unsafe { self.ring.peek(self.ring.index(head)) })
    }

    /// An iterator that blocks for each value and ends once the sender is gone and the buffer
    /// is drained.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(2);
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
    /// let (tx, rx) = verisync::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// The number of values buffered right now (the sender may add more at any moment).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.distance(self.head.get(), self.load_tail())
    }

    /// Whether nothing is buffered right now.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = verisync::spsc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full right now.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(1);
    /// assert!(!rx.is_full());
    /// tx.send(()).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.ring.capacity
    }

    /// The number of values the buffer can hold.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = verisync::spsc::channel::<u8>(7);
    /// assert_eq!(rx.capacity(), 7);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity
    }

    /// Whether the sender has been dropped (values it sent may still be buffered).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.shared.peer_is_gone()
    }

    /// Reloads the sender's position into the cache and returns it.
    fn load_tail(&self) -> usize {
        // Acquire: pairs with the Release store in `Sender::publish`, so the sender's writes to
        // the slots before `tail` happen before we read them.
        let tail = self.shared.tail.load(Ordering::Acquire);
        self.cached_tail.set(tail);
        tail
    }

    /// `Ok` if a value is buffered at `head`, else why there is none.
    #[inline]
    fn check_ready(&self, head: usize) -> Result<(), TryRecvError> {
        if self.cached_tail.get() != head {
            return Ok(());
        }
        self.check_ready_after_reload(head)
    }

    /// [`check_ready`](Self::check_ready) once the cached `tail` says empty: out of line, so
    /// that the fast path of a receive falls straight through.
    #[cold]
    fn check_ready_after_reload(&self, head: usize) -> Result<(), TryRecvError> {
        if self.load_tail() != head {
            return Ok(());
        }
        if !self.shared.peer_is_gone() {
            return Err(TryRecvError::Empty);
        }
        // The sender may have sent more just before it dropped: the Acquire in `peer_is_gone`
        // makes its last `tail` visible to this reload.
        if cfg!(verisync_mutant = "spsc_disconnect_no_drain") || self.load_tail() == head {
            Err(TryRecvError::Disconnected)
        } else {
            Ok(())
        }
    }

    /// Hands the slots before our position back to the sender and wakes it if it sleeps.
    #[inline]
    fn release(&self) {
        self.publish_head();
        self.shared.sender_waits.notify_all();
    }

    /// Stores our position in the shared `head`.
    #[inline]
    fn publish_head(&self) {
        // Release: pairs with the Acquire load in `Sender::reload_full_at`, so our reads of the
        // released slots happen before the sender overwrites them.
        self.shared
            .head
            .store(self.head.get(), ordering!("spsc_relaxed_release", Release));
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A leaked `ReadChunk` may have moved our position without publishing it; the values it
        // took must not be dropped again.
        self.publish_head();
        let sender_gone = self.shared.disconnect(&self.shared.sender_waits);
        // Registered for good, then the heavy half of the fence in `Sender::publish`: a value
        // published after this is dropped by the sender (its `notify_all` sees the
        // registration), one published before is seen by the drain below. Not needed
        // (and the common case, so `membarrier` is not paid for it) once the sender is gone:
        // nothing can be published any more, and whatever the drain may miss of its last
        // `tail` is dropped with the `Arc` (see `disconnect`).
        if !sender_gone {
            if !cfg!(verisync_mutant = "spsc_drop_unregistered") {
                self.shared.receiver_waits.register_for_good();
            }
            self.shared.receiver_waits.fence_before_recheck();
        }
        self.shared.drop_abandoned();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.ring.capacity)
            .finish_non_exhaustive()
    }
}

crate::channel::receiver_iterators!(spsc);

impl<T> Side for Receiver<T> {
    type Item = T;

    fn watch(&self, selection: &Arc<Selection>, _op: usize, _: &mut Option<T>) -> Watch<T> {
        watch_queue(&self.shared.receiver_waits, selection)
    }

    fn looks_ready(&self) -> bool {
        !self.is_empty() || self.is_disconnected()
    }

    fn unwatch(&self, watch: Watch<T>, selection: &Arc<Selection>, _: &mut Option<T>) {
        unwatch_queue(&self.shared.receiver_waits, watch, selection);
    }
}

impl<T> Source for Receiver<T> {
    #[inline(always)]
    fn try_take(&self) -> Result<T, TryRecvError> {
        self.try_recv()
    }

    fn give_back(&self, _: T) {
        unreachable!("a buffered channel hands no value to a waiting receive");
    }
}

impl<T> Side for Sender<T> {
    type Item = T;

    fn watch(&self, selection: &Arc<Selection>, _op: usize, _: &mut Option<T>) -> Watch<T> {
        watch_queue(&self.shared.sender_waits, selection)
    }

    fn looks_ready(&self) -> bool {
        !self.is_full() || self.is_disconnected()
    }

    fn unwatch(&self, watch: Watch<T>, selection: &Arc<Selection>, _: &mut Option<T>) {
        unwatch_queue(&self.shared.sender_waits, watch, selection);
    }
}

impl<T> Sink for Sender<T> {
    #[inline(always)]
    fn try_put(&self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send(value)
    }
}
