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
//!   free slot; `send_timeout` waits until a deadline and then hands the value back.
//! - **Empty.** `try_recv` returns [`TryRecvError::Empty`]; `recv` waits.
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
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

pub use crate::error::{
    CapacityError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use crate::park::WaitQueue;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, UnsafeCell, fence, uninit_slots};

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
    // Positions count up to twice the capacity.
    CapacityError::check::<T>(capacity, 2)?;
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        receiver_waits: CachePadded::new(WaitQueue::new()),
        sender_waits: CachePadded::new(WaitQueue::new()),
        disconnected: AtomicBool::new(false),
        draining: AtomicBool::new(false),
        buffer: Buffer(Ring::allocate(capacity)?),
    });
    let sender = Sender {
        ring: shared.buffer.0,
        shared: shared.clone(),
        tail: Cell::new(0),
        full_at: Cell::new(capacity),
    };
    let receiver = Receiver {
        ring: shared.buffer.0,
        shared,
        head: Cell::new(0),
        cached_tail: Cell::new(0),
    };
    Ok((sender, receiver))
}

/// The state both endpoints share.
struct Shared<T> {
    /// Position of the next value to receive; written only by the receiver.
    head: CachePadded<AtomicUsize>,
    /// Position of the next slot to fill; written only by the sender.
    tail: CachePadded<AtomicUsize>,
    /// Where a receiver blocked on an empty buffer sleeps; the sender notifies it.
    receiver_waits: CachePadded<WaitQueue>,
    /// Where a sender blocked on a full buffer sleeps; the receiver notifies it.
    sender_waits: CachePadded<WaitQueue>,
    /// Set by whichever endpoint drops first: to the survivor, its peer is gone.
    disconnected: AtomicBool,
    /// Held while an endpoint drops the values the receiver left behind (`drop_abandoned`).
    draining: AtomicBool,
    /// The slots, freed when both endpoints are gone.
    buffer: Buffer<T>,
}

// SAFETY: the slots are only touched by the one sender (free slots) and the one receiver
// (filled slots), handed over through the Release/Acquire pairs on `head` and `tail`; values
// move between threads, so `T: Send` is needed and enough.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; `&Shared` gives no access to a `T` except through an endpoint.
unsafe impl<T: Send> Sync for Shared<T> {}

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

impl<T> Shared<T> {
    fn peer_is_gone(&self) -> bool {
        // Acquire: pairs with the Release half of the swap in the peer's `disconnect`, so
        // everything the peer published before dropping (its last `tail`, for the receiver)
        // is visible after.
        self.disconnected.load(Ordering::Acquire)
    }

    /// Marks this endpoint gone and wakes its peer, which may be parked waiting for it.
    /// Returns whether the peer was gone already.
    fn disconnect(&self, peer_waits: &WaitQueue) -> bool {
        // Release: pairs with the Acquire load in `peer_is_gone`: a receiver that sees the
        // sender gone also sees its last `tail` (so it reports `Disconnected` only once every
        // value is received), and a sender that sees the receiver gone also sees its last
        // `head` (so its drain never drops a value the receiver took). Not Acquire: the one
        // caller that reads the result, `Receiver::drop`, only uses it to skip a fence, and if
        // its drain below then reads a stale `tail`, the values after it are dropped with the
        // `Arc` by whichever endpoint lets go last, inside the sender's drop that is still
        // running; a thread that knows the sender's drop has returned also knows its last
        // `tail` and its `Arc` decrement, so the drain or the `Arc` sees every value.
        let peer_gone = self.disconnected.swap(true, Ordering::Release);
        if !cfg!(verisync_mutant = "spsc_disconnect_no_wake") {
            peer_waits.notify_all();
        }
        peer_gone
    }

    /// Drops the values buffered after the receiver is gone, so that they die with it, as in
    /// std (a reply sender inside an unread request disconnects its client at once).
    ///
    /// Both endpoints call it: the receiver as it drops, and the sender after every publish
    /// that finds the receiver gone. Whoever takes `draining` drops `head..tail`; whoever finds
    /// it taken leaves at once, and the drainer looks at `tail` again after letting go, so a
    /// value published meanwhile is not left behind. Never waits for the other endpoint.
    #[cold]
    fn drop_abandoned(&self) {
        /// Publishes the drained position and lets go of `draining`, also when a value's drop
        /// unwinds (`drop_values` has dropped every other value by then).
        struct Drained<'a, T> {
            shared: &'a Shared<T>,
            tail: usize,
        }
        impl<T> Drop for Drained<'_, T> {
            fn drop(&mut self) {
                // Release: pairs with the Acquire loads of `head` by the next drainer and by
                // `Sender::reload_full_at`, so our drops happen before those slots are reused.
                self.shared.head.store(self.tail, Ordering::Release);
                // Release: pairs with the Acquire compare-exchange that takes `draining` next.
                self.shared.draining.store(false, Ordering::Release);
            }
        }

        loop {
            // Orders the other endpoint's last publish (or our own let-go) before the attempt to
            // take `draining`: with the fence after a let-go below, a failed attempt means the
            // drainer's second look at `tail` sees everything published before it.
            fence(Ordering::SeqCst);
            // Success Acquire: pairs with the Release let-go in `Drained::drop`, so the previous
            // drainer's `head` and drops are visible to us. Failure Relaxed: we only leave. A
            // failed attempt writes nothing, so it can never undo a let-go.
            if self
                .draining
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return;
            }
            // Relaxed: we see the last `head` already. The receiver wrote it itself, or a drainer
            // before us did (our Acquire on `draining` pairs with its let-go), or, for the
            // sender, the receiver published it before its swap in `disconnect`, which the
            // Acquire in `peer_is_gone` that sent us here pairs with.
            let head = self.head.load(Ordering::Relaxed);
            // Acquire: pairs with the Release store of `tail` in `Sender::publish`, so the values
            // we drop are fully written.
            let tail = self.tail.load(Ordering::Acquire);
            let drained = Drained { shared: self, tail };
            drop_values(self.buffer.0, head, tail);
            drop(drained);
            fence(Ordering::SeqCst);
            // Relaxed: ordered after the let-go by the fence above (see the first fence).
            if cfg!(verisync_mutant = "spsc_drain_no_second_look")
                || self.tail.load(Ordering::Relaxed) == tail
            {
                return;
            }
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Relaxed: both endpoints are gone; the Arc's final decrement synchronizes with their
        // drops, so their last stores are visible here.
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        drop_values(self.buffer.0, head, tail);
        // `self.buffer` frees the memory next, even if a value's drop panicked.
    }
}

/// Drops the values the receiver never took, positions `from..to`, carrying on past a
/// panicking drop the way `Vec` does (a second panic aborts).
fn drop_values<T>(ring: Ring<T>, from: usize, to: usize) {
    /// Drops what is left if a value's drop unwinds.
    struct Rest<T> {
        ring: Ring<T>,
        from: usize,
        to: usize,
    }
    impl<T> Drop for Rest<T> {
        fn drop(&mut self) {
            drop_values(self.ring, self.from, self.to);
        }
    }

    let unfreed = |position: usize| {
        if cfg!(verisync_mutant = "spsc_drop_wrapped_leak") {
            position < to
        } else {
            position != to
        }
    };
    let mut position = from;
    while unfreed(position) {
        let rest = Rest {
            ring,
            from: ring.next(position),
            to,
        };
        // SAFETY: slots in [head, tail) hold values the receiver never took; nobody else can
        // reach them any more, and each is dropped once as `position` moves on.
        unsafe { ring.drop_value(ring.index(position)) };
        position = rest.from;
        std::mem::forget(rest);
    }
}

/// Owns the slots' memory: frees it, without touching the values, when the `Shared` goes.
struct Buffer<T>(Ring<T>);

impl<T> Drop for Buffer<T> {
    fn drop(&mut self) {
        let ring = self.0;
        let slots = std::ptr::slice_from_raw_parts_mut(ring.slots.as_ptr(), ring.capacity);
        // SAFETY: the slots came from `Box::into_raw` of a slice of `capacity` slots in
        // `Ring::allocate`, and this is the one place that frees them, after their last use.
        drop(unsafe { Box::from_raw(slots) });
    }
}

/// The buffer and its position arithmetic. Each endpoint keeps a copy, so its hot path reaches
/// the slots without going through the `Arc`.
///
/// Positions run over `0..2 * capacity`: position `p` lives in slot `p % capacity`, and
/// `tail - head` (mod `2 * capacity`) tells a full buffer from an empty one.
struct Ring<T> {
    slots: NonNull<UnsafeCell<MaybeUninit<T>>>,
    capacity: usize,
}

// SAFETY: a `Ring` is a view of a buffer whose values move between the two endpoints' threads
// (so `T: Send`); which slots each copy may touch is governed by `head` and `tail`.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Clone for Ring<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Ring<T> {}

impl<T> Ring<T> {
    fn allocate(capacity: usize) -> Result<Self, CapacityError> {
        let slots = Box::into_raw(uninit_slots::<T>(capacity)?);
        Ok(Self {
            // SAFETY: `Box::into_raw` never returns null.
            slots: unsafe { NonNull::new_unchecked(slots.cast()) },
            capacity,
        })
    }

    /// The slot at `index` (`index < capacity`).
    fn slot_at(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        debug_assert!(index < self.capacity);
        // SAFETY: `index` is in bounds, and the buffer lives as long as the `Shared` that owns
        // it, which outlives every endpoint (and so every `&self` of a copy) that holds an `Arc`
        // to it.
        unsafe { &*self.slots.as_ptr().add(index) }
    }

    /// Moves `value` into the empty slot at `index`.
    ///
    /// # Safety
    /// The caller owns the slot (no other thread may touch it until the caller publishes it)
    /// and the slot holds no value.
    unsafe fn write(&self, index: usize, value: T) {
        // SAFETY: the caller owns the empty slot.
        self.slot_at(index)
            .with_mut(|slot| unsafe { (*slot).write(value) });
    }

    /// Moves the value out of the slot at `index`, leaving it empty.
    ///
    /// # Safety
    /// The caller owns the slot, it holds a value, and nothing reads that value again.
    unsafe fn take(&self, index: usize) -> T {
        // SAFETY: the caller owns the filled slot and reads it this once.
        self.slot_at(index)
            .with(|slot| unsafe { (*slot).assume_init_read() })
    }

    /// Borrows the value in the slot at `index`.
    ///
    /// # Safety
    /// The slot holds a value that nobody moves, drops or overwrites while the borrow lives.
    unsafe fn peek(&self, index: usize) -> &T {
        // SAFETY: the caller keeps the value in place for the borrow's lifetime.
        self.slot_at(index)
            .with(|slot| unsafe { (*slot).assume_init_ref() })
    }

    /// Drops the value in the slot at `index`, leaving it empty.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    unsafe fn drop_value(&self, index: usize) {
        // SAFETY: the caller owns the filled slot and drops it this once.
        self.slot_at(index)
            .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
    }

    /// The slot index of `position`.
    fn index(&self, position: usize) -> usize {
        if position < self.capacity {
            position
        } else {
            position - self.capacity
        }
    }

    /// The position after `position`: [`advance`](Self::advance) by one, in fewer steps.
    fn next(&self, position: usize) -> usize {
        let next = position + 1;
        if next == 2 * self.capacity { 0 } else { next }
    }

    /// The slot index after `index`, wrapping at the end of the buffer.
    fn next_index(&self, index: usize) -> usize {
        if index + 1 == self.capacity {
            0
        } else {
            index + 1
        }
    }

    /// The position `count` steps after `position` (`count <= capacity`).
    fn advance(&self, position: usize, count: usize) -> usize {
        let wrap = 2 * self.capacity;
        if count >= wrap - position {
            position - (wrap - count)
        } else {
            position + count
        }
    }

    /// How many values lie between `head` and `tail`.
    fn distance(&self, head: usize, tail: usize) -> usize {
        if tail >= head {
            tail - head
        } else {
            2 * self.capacity - (head - tail)
        }
    }

    /// The tail position at which the buffer is full while the receiver is at `head`.
    fn full_at(&self, head: usize) -> usize {
        let full_at = self.advance(head, self.capacity);
        if cfg!(verisync_mutant = "spsc_full_off_by_one") && self.capacity > 1 {
            // One slot too many: lets a send overwrite the oldest unread value. (With one slot
            // the positions cannot tell two values from none, so it would read as "full" when
            // empty: a hang, not the overwrite this mutant stands for.)
            self.next(full_at)
        } else {
            full_at
        }
    }
}

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

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let waits = &self.shared.sender_waits;
        waits.send_until(value, deadline, |value| self.try_send(value))
    }

    /// Reserves up to `max` free slots to fill in one go; the chunk may be shorter (even empty)
    /// when fewer slots are free, and is empty once the receiver is gone (its
    /// [`push`](WriteChunk::push) then hands the value back). Values written into it are published together when it is
    /// dropped, with one store and one wake-up check for the whole batch. Wait-free.
    ///
    /// # Examples
    /// ```
    /// let (mut tx, rx) = verisync::spsc::channel(4);
    /// let mut chunk = tx.write_chunk(10);
    /// assert_eq!(chunk.len(), 4);
    /// assert_eq!(chunk.fill_from_iter(1..=3), 3);
    /// drop(chunk);
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn write_chunk(&mut self, max: usize) -> WriteChunk<'_, T> {
        let tail = self.tail.get();
        let mut free = self.ring.distance(tail, self.full_at.get());
        if free < max {
            free = self.ring.distance(tail, self.reload_full_at());
        }
        if self.shared.peer_is_gone() {
            // Nobody would receive them: `push` hands values back, as `try_send` would.
            free = 0;
        }
        WriteChunk {
            ring: self.ring,
            len: free.min(max),
            written: 0,
            index: self.ring.index(tail),
            sender: self,
        }
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
        let order = if cfg!(verisync_mutant = "spsc_relaxed_publish") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        // Release: pairs with the Acquire load in `Receiver::load_tail`, so our writes to the
        // slots happen before the receiver reads them.
        shared.tail.store(tail, order);
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

/// Free slots reserved by [`Sender::write_chunk`]; what is written is published on drop.
///
/// # Examples
/// ```
/// let (mut tx, rx) = verisync::spsc::channel(8);
/// let mut chunk = tx.write_chunk(2);
/// assert_eq!(chunk.push("a"), Ok(()));
/// assert_eq!(chunk.push("b"), Ok(()));
/// assert_eq!(chunk.push("c"), Err("c"));
/// drop(chunk);
/// assert_eq!(rx.len(), 2);
/// ```
pub struct WriteChunk<'a, T> {
    sender: &'a mut Sender<T>,
    /// A copy of the sender's, so the write loop keeps it in registers.
    ring: Ring<T>,
    len: usize,
    written: usize,
    /// The slot the next value goes to.
    index: usize,
}

impl<T> WriteChunk<'_, T> {
    /// The number of slots still free in this chunk.
    ///
    /// # Examples
    /// ```
    /// let (mut tx, _rx) = verisync::spsc::channel::<u8>(3);
    /// assert_eq!(tx.write_chunk(2).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.len - self.written
    }

    /// Whether no slot is left in this chunk.
    ///
    /// # Examples
    /// ```
    /// let (mut tx, _rx) = verisync::spsc::channel::<u8>(3);
    /// assert!(tx.write_chunk(0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `value` into the next slot of the chunk, or hands it back if the chunk is full.
    ///
    /// # Errors
    /// The value, when every slot of the chunk has been written.
    ///
    /// # Examples
    /// ```
    /// let (mut tx, rx) = verisync::spsc::channel(1);
    /// let mut chunk = tx.write_chunk(1);
    /// assert_eq!(chunk.push(1), Ok(()));
    /// assert_eq!(chunk.push(2), Err(2));
    /// drop(chunk);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.is_empty() {
            return Err(value);
        }
        self.write_next(value);
        Ok(())
    }

    /// Writes values from `iter` until the chunk or the iterator is exhausted; returns how many
    /// were written. Items the iterator did not yield are not consumed.
    ///
    /// # Examples
    /// ```
    /// let (mut tx, rx) = verisync::spsc::channel(3);
    /// let mut values = 0..10;
    /// assert_eq!(tx.write_chunk(5).fill_from_iter(&mut values), 3);
    /// assert_eq!(values.next(), Some(3));
    /// assert_eq!(rx.len(), 3);
    /// ```
    pub fn fill_from_iter(&mut self, iter: impl IntoIterator<Item = T>) -> usize {
        let before = self.written;
        let mut iter = iter.into_iter();
        // One tight loop per contiguous run of slots: up to the end of the buffer, then from 0.
        while !self.is_empty() {
            let run_end = self.ring.capacity.min(self.index + self.len());
            while self.index < run_end {
                let Some(value) = iter.next() else {
                    return self.written - before;
                };
                // SAFETY: as in `write_next`; `index < capacity`.
                unsafe { self.ring.write(self.index, value) };
                self.index += 1;
                self.written += 1;
            }
            if self.index == self.ring.capacity {
                self.index = 0;
            }
        }
        self.written - before
    }

    /// Writes into the next slot; the caller has checked that the chunk has one left.
    fn write_next(&mut self, value: T) {
        let ring = self.ring;
        // SAFETY: `write_chunk` saw this slot released by the receiver, which will not read it
        // before our drop publishes it; `index` only moves on, so each slot is written once.
        unsafe { ring.write(self.index, value) };
        self.index = ring.next_index(self.index);
        self.written += 1;
    }
}

impl<T> Drop for WriteChunk<'_, T> {
    fn drop(&mut self) {
        if self.written > 0 {
            let tail = self
                .sender
                .ring
                .advance(self.sender.tail.get(), self.written);
            self.sender.publish(tail);
        }
    }
}

impl<T> fmt::Debug for WriteChunk<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteChunk")
            .field("len", &self.len())
            .field("written", &self.written)
            .finish()
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

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let waits = &self.shared.receiver_waits;
        waits.recv_until(deadline, || self.try_recv())
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

    /// Takes up to `max` values in one go: the returned chunk yields them oldest first, and
    /// when it is dropped the slots it yielded are released together, with one store and one
    /// wake-up check for the whole batch. Values it did not yield stay in the channel.
    /// Wait-free.
    ///
    /// # Examples
    /// ```
    /// let (tx, mut rx) = verisync::spsc::channel(8);
    /// for i in 0..5 {
    ///     tx.send(i).unwrap();
    /// }
    /// let firsts: Vec<i32> = rx.read_chunk(3).collect();
    /// assert_eq!(firsts, [0, 1, 2]);
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn read_chunk(&mut self, max: usize) -> ReadChunk<'_, T> {
        let ring = self.ring;
        let head = self.head.get();
        let mut ready = self.ring.distance(head, self.cached_tail.get());
        if ready < max {
            ready = self.ring.distance(head, self.load_tail());
        }
        ReadChunk {
            ring,
            start: head,
            len: ready.min(max),
            taken: 0,
            index: ring.index(head),
            receiver: self,
        }
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
        let order = if cfg!(verisync_mutant = "spsc_relaxed_release") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        // Release: pairs with the Acquire load in `Sender::reload_full_at`, so our reads of the
        // released slots happen before the sender overwrites them.
        self.shared.head.store(self.head.get(), order);
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

/// Values taken by [`Receiver::read_chunk`], yielded oldest first; the slots of the yielded
/// ones are released when the chunk is dropped, and the values it did not yield stay queued.
/// A chunk that is leaked (`mem::forget`) instead of dropped releases no slot, but no value it
/// yielded is ever received again, and those it did not yield can still be received.
///
/// # Examples
/// ```
/// let (tx, mut rx) = verisync::spsc::channel(4);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// let mut chunk = rx.read_chunk(4);
/// assert_eq!(chunk.len(), 2);
/// assert_eq!(chunk.next(), Some(1));
/// drop(chunk);
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct ReadChunk<'a, T> {
    receiver: &'a mut Receiver<T>,
    /// A copy of the receiver's, so the read loop keeps it in registers.
    ring: Ring<T>,
    /// The position of the chunk's first value.
    start: usize,
    len: usize,
    taken: usize,
    /// The slot the next value comes from.
    index: usize,
}

impl<T> Iterator for ReadChunk<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.taken == self.len {
            return None;
        }
        let ring = self.ring;
        // SAFETY: `read_chunk` saw this slot published by the sender, which will not reuse it
        // before the receiver releases it; the receiver's own position moves past it at once,
        // so no later read (even after this chunk is leaked) takes the value again.
        let value = unsafe { ring.take(self.index) };
        let head = &self.receiver.head;
        head.set(ring.next(head.get()));
        self.index = ring.next_index(self.index);
        self.taken += 1;
        Some(value)
    }

    fn fold<B, F: FnMut(B, T) -> B>(mut self, init: B, mut f: F) -> B {
        // `self` is consumed, so it cannot be leaked: its `Drop` (on return or unwinding from
        // `f`) sets the receiver's position once instead of after every value.
        let mut acc = init;
        while self.taken < self.len {
            let run_end = self.ring.capacity.min(self.index + (self.len - self.taken));
            while self.index < run_end {
                // SAFETY: as in `next`, and `index < capacity`; `taken` counts the value before
                // `f` can unwind, so the drop never releases it twice or misses it.
                let value = unsafe { self.ring.take(self.index) };
                self.index += 1;
                self.taken += 1;
                acc = f(acc, value);
            }
            if self.index == self.ring.capacity {
                self.index = 0;
            }
        }
        acc
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.taken;
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for ReadChunk<'_, T> {}

impl<T> Drop for ReadChunk<'_, T> {
    fn drop(&mut self) {
        if self.taken > 0 {
            // `fold` leaves the receiver's position to be set here.
            let receiver = &*self.receiver;
            receiver.head.set(self.ring.advance(self.start, self.taken));
            receiver.release();
        }
    }
}

impl<T> fmt::Debug for ReadChunk<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadChunk")
            .field("len", &self.len())
            .finish()
    }
}

crate::receiver_iter::receiver_iterators!(spsc);
