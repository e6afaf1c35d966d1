//! A bounded multi-producer multi-consumer queue, and a channel built on it.
//!
//! [`Queue`] is the raw structure, shared by reference or in an `Arc`, with crossbeam's names
//! (`push`, `pop`, `force_push`). [`channel`] wraps one in cloneable [`Sender`]s and
//! [`Receiver`]s with std's names and errors, blocking operations, timeouts, batches and
//! disconnection.
//!
//! # Guarantees
//! - **Order.** Strict FIFO across all producers: the queue is linearizable, so values come out
//!   in the order their pushes took effect, and each value comes out exactly once. In
//!   particular the values of one producer arrive in the order it sent them.
//! - **Progress.** No operation takes a lock or makes a system call except a blocking channel
//!   operation about to sleep. `push`, `pop` and the `try_` operations never wait for the queue
//!   to change state: they return `Err`/`None` at once when it is full or empty. Like every
//!   bounded ring of per-slot stamps, they are lock-free except in one case: a thread that
//!   finds the slot it needs claimed, one lap earlier or in the same lap, by a thread that has
//!   not finished with it yet waits (spinning, then yielding its CPU) for that thread's next
//!   few instructions. A thread preempted in that window delays operations on its slot only.
//!   `send`/`recv` block: they spin briefly, then park until the other side makes progress or
//!   disconnects.
//! - **Full.** [`Queue::push`] hands the value back; [`Queue::force_push`] makes room by
//!   evicting the oldest value and returns it; [`Sender::try_send`] hands the value back in
//!   [`TrySendError::Full`]; [`Sender::send`] waits.
//! - **Empty.** [`Queue::pop`] returns `None`; [`Receiver::try_recv`] returns
//!   [`TryRecvError::Empty`]; [`Receiver::recv`] waits.
//! - **Disconnected.** When every [`Sender`] is gone, receivers still get every value sent
//!   before, then `Disconnected`. When every [`Receiver`] is gone, sends hand their values back
//!   in a `Disconnected` error. A clone counts as an endpoint of its side.
//! - **Drop.** Every value is dropped exactly once. Values still in a [`Queue`] are dropped
//!   with it. Values still buffered in a channel when its last [`Receiver`] is dropped die with
//!   it, as in std: by the time that drop, and any send that overlapped it, have returned, none
//!   is left in the buffer (so a reply sender inside an unread request disconnects its client
//!   at once). The drop pops and drops them; a send that overlapped it and finds every receiver
//!   gone after pushing pops and drops what is left itself.
//! - **Capacity.** Exactly the capacity asked for, any value from 1. Capacity 0, or one whose
//!   buffer would not fit in `isize::MAX` bytes, is an error from [`Queue::try_new`] and
//!   [`try_channel`], and a panic from [`Queue::new`] and [`channel`].
//!
//! # Design
//! A ring of slots, each with a *stamp* saying whose turn the slot is, and two cursors, `head`
//! and `tail`, each on its own cache line (the scheme of Dmitry Vyukov's bounded queue). A
//! position encodes a lap number and a slot index, `lap * L + index`, with `L` the smallest
//! power of two above the capacity, so positions wrap around `usize` without ever being
//! ambiguous and no operation divides. A slot's stamp is `p` when it is free for the producer
//! of position `p`, `p + 1` once that producer has filled it, and `p + L` once the consumer of
//! `p` has emptied it for the next lap. A producer claims the position at `tail` with one
//! compare-exchange when the stamp says the slot is free, writes, then publishes the stamp
//! (`Release`); a consumer does the same at `head`. Batches claim a run of ready slots with a
//! single compare-exchange.
//!
//! Why not fetch-add tickets with per-slot turns: a ticket, once taken, must be served, so a
//! `pop` on an empty queue could not return `None` without blocking until a producer fills its
//! slot, and `force_push` could not evict. The compare-exchange only claims a slot that is
//! already ready, so every `try_` operation fails fast instead.
//!
//! The channel parks blocked threads in the crate's wait queue: the fast path of every send
//! and receive pays one compiler fence and one load of a sleeper count when nobody sleeps.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//!
//! let queue = Arc::new(verisync::mpmc::Queue::new(64));
//! let producers: Vec<_> = (0..2u64)
//!     .map(|p| {
//!         let queue = queue.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..100 {
//!                 let mut value = p * 1000 + i;
//!                 while let Err(back) = queue.push(value) {
//!                     value = back;
//!                     std::thread::yield_now();
//!                 }
//!             }
//!         })
//!     })
//!     .collect();
//! let mut received = Vec::new();
//! while received.len() < 200 {
//!     if let Some(value) = queue.pop() {
//!         received.push(value);
//!     }
//! }
//! producers.into_iter().for_each(|p| p.join().unwrap());
//! received.sort();
//! let expected: Vec<u64> = (0..100).chain(1000..1100).collect();
//! assert_eq!(received, expected);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

pub use crate::error::{
    CapacityError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use crate::park::WaitQueue;
use crate::sync::{Arc, AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// A bounded, linearizable multi-producer multi-consumer FIFO queue.
///
/// See the [module documentation](self) for the guarantees and the design.
///
/// # Examples
/// ```
/// let queue = verisync::mpmc::Queue::new(2);
/// assert_eq!(queue.push('a'), Ok(()));
/// assert_eq!(queue.push('b'), Ok(()));
/// assert_eq!(queue.push('c'), Err('c'));
/// assert_eq!(queue.force_push('c'), Some('a'));
/// assert_eq!(queue.pop(), Some('b'));
/// assert_eq!(queue.pop(), Some('c'));
/// assert_eq!(queue.pop(), None);
/// ```
pub struct Queue<T> {
    /// Position of the next value to pop.
    head: CachePadded<AtomicUsize>,
    /// Position of the next slot to fill.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// Positions per lap: the smallest power of two above the capacity.
    lap: usize,
}

struct Slot<T> {
    /// Whose turn the slot is; see the module documentation.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// Moves the value out, leaving the stamp alone.
    ///
    /// # Safety
    /// The caller owns the slot as the consumer of the position whose value it holds.
    unsafe fn take(&self) -> T {
        // SAFETY: the caller owns the initialized slot and reads it once.
        self.value
            .with(|cell| unsafe { (*cell).assume_init_read() })
    }
}

// SAFETY: a slot's value is only touched by the thread that claimed its position (a producer
// writing, a consumer reading), handed over through the Release/Acquire pair on the slot's
// stamp; values move between threads, so `T: Send` is needed and enough.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above; no `&T` is ever handed out, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Queue<T> {}

// Unwind safety, as for crossbeam's `ArrayQueue` and std's endpoints: no operation runs user
// code while a slot is claimed but not yet handed on, so a panic (from a value's `Drop` or a
// batch's iterator) never leaves a slot or a cursor half-updated.
impl<T> UnwindSafe for Queue<T> {}
impl<T> RefUnwindSafe for Queue<T> {}
// The endpoints add counts and wait queues, whose locks guard no user code: written out, so
// that the bounds hold whichever backend's locks the facade provides.
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

/// One end of the ring: producers claim at `tail` and wait for the consumers' `head`,
/// consumers the other way round.
#[derive(Clone, Copy)]
enum End {
    Producer,
    Consumer,
}

/// What a claim does when the slot it needs is behind because a thread that claimed an earlier
/// step of it (the previous lap's consumer, or this lap's producer) has not finished yet.
#[derive(Clone, Copy)]
enum OnBusy {
    /// Wait for that thread (spin, then yield the CPU): the queue's own operations, which must
    /// not report full or empty while it is not.
    Wait,
    /// Report full or empty for now: the channel's blocking operations, which then wait in the
    /// channel's wait queue, where that thread's notification after it finishes wakes them.
    GiveUp,
}

impl<T> Queue<T> {
    /// Creates a queue that holds up to `capacity` values.
    ///
    /// # Panics
    /// If `capacity` is 0 or the buffer would exceed `isize::MAX` bytes; [`try_new`](Self::try_new)
    /// returns these as errors instead.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::<u64>::new(1000);
    /// assert_eq!(queue.capacity(), 1000);
    /// ```
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(queue) => queue,
            Err(err) => panic!("verisync::mpmc::Queue::new: {err}"),
        }
    }

    /// Creates a queue that holds up to `capacity` values, or says why it cannot.
    ///
    /// # Examples
    /// ```
    /// use verisync::mpmc::{CapacityError, Queue};
    ///
    /// assert!(Queue::<u8>::try_new(3).is_ok());
    /// assert_eq!(Queue::<u8>::try_new(0).unwrap_err(), CapacityError::Zero);
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        // A lap is at most twice the capacity, and a slot carries its stamp.
        CapacityError::check::<Slot<T>>(capacity, 2)?;
        let lap = (capacity + 1).next_power_of_two();
        let slots = CapacityError::boxed_slice(capacity, |index| Slot {
            stamp: AtomicUsize::new(index),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        })?;
        Ok(Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            lap,
        })
    }

    /// Appends `value` if there is room, or hands it back when the queue is full.
    ///
    /// # Errors
    /// The value, when the queue is full.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::new(1);
    /// assert_eq!(queue.push(10), Ok(()));
    /// assert_eq!(queue.push(20), Err(20));
    /// ```
    #[inline]
    pub fn push(&self, value: T) -> Result<(), T> {
        self.push_with(value, OnBusy::Wait)
    }

    #[inline]
    fn push_with(&self, value: T, on_busy: OnBusy) -> Result<(), T> {
        match self.claim_one(End::Producer, on_busy) {
            Some((position, slot)) => {
                // SAFETY: we just claimed `position`, and its slot is free for it.
                unsafe { self.fill(slot, position, value) };
                Ok(())
            }
            None => Err(value),
        }
    }

    /// Appends `value`, evicting and returning the oldest value when the queue is full.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::new(2);
    /// assert_eq!(queue.force_push(1), None);
    /// assert_eq!(queue.force_push(2), None);
    /// assert_eq!(queue.force_push(3), Some(1));
    /// assert_eq!(queue.pop(), Some(2));
    /// ```
    pub fn force_push(&self, value: T) -> Option<T> {
        let backoff = Backoff::new();
        loop {
            if let Some((position, _)) = self.claim(End::Producer, 1, OnBusy::Wait) {
                // SAFETY: we just claimed `position`, and its slot is free for it.
                unsafe { self.fill(self.slot(position), position, value) };
                return None;
            }
            // Full when last looked at: claim the tail position although its slot still holds
            // the oldest value, then take that value as its consumer, unless a consumer was
            // quicker, in which case the slot is about to be freed for us.
            let tail = self.tail.load(Ordering::Relaxed);
            if self
                .tail
                .compare_exchange(tail, self.next(tail), Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                backoff.spin();
                continue;
            }
            let oldest = tail.wrapping_sub(self.lap);
            let evicted = if self.claim_oldest(oldest) {
                self.wait_for_stamp(oldest, oldest.wrapping_add(1));
                // SAFETY: we claimed `oldest` as its consumer and its producer has published
                // it (the stamp says so); no producer can claim the slot before we publish.
                Some(unsafe { self.slot(oldest).take() })
            } else {
                self.wait_for_stamp(tail, tail);
                None
            };
            // SAFETY: we claimed `tail`, and its slot is now ours: either we emptied it above or
            // its consumer freed it for `tail`.
            unsafe { self.fill(self.slot(tail), tail, value) };
            return evicted;
        }
    }

    /// Removes the oldest value, or returns `None` when the queue is empty.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::new(4);
    /// assert_eq!(queue.pop(), None::<u8>);
    /// queue.push(7).unwrap();
    /// assert_eq!(queue.pop(), Some(7));
    /// ```
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_with(OnBusy::Wait)
    }

    #[inline]
    fn pop_with(&self, on_busy: OnBusy) -> Option<T> {
        let (position, slot) = self.claim_one(End::Consumer, on_busy)?;
        // SAFETY: we just claimed `position`, and its slot holds its value.
        Some(unsafe { self.empty(slot, position) })
    }

    /// The number of values in the queue right now (other threads may change it at any moment).
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::new(4);
    /// queue.push(1).unwrap();
    /// queue.push(2).unwrap();
    /// assert_eq!(queue.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: `tail` did not move while `head` was read.
            if self.tail.load(Ordering::SeqCst) == tail {
                return self.distance(head, tail);
            }
        }
    }

    /// Whether the queue is empty right now.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::<u8>::new(4);
    /// assert!(queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is full right now.
    ///
    /// # Examples
    /// ```
    /// let queue = verisync::mpmc::Queue::new(1);
    /// queue.push(()).unwrap();
    /// assert!(queue.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// The number of values the queue can hold.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(verisync::mpmc::Queue::<u8>::new(5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Claims one position at `end`'s cursor, as [`claim`](Self::claim) does: the common case
    /// (the slot is ready and nobody races us) inline, everything else in `claim`.
    #[inline(always)]
    fn claim_one(&self, end: End, on_busy: OnBusy) -> Option<(usize, &Slot<T>)> {
        let cursor = match end {
            End::Producer => &self.tail,
            End::Consumer => &self.head,
        };
        let start = cursor.load(Ordering::Relaxed);
        // Everything derived from `start` is computed before the atomic operations, which
        // would make the compiler load the queue's fields again.
        let slot = self.slot(start);
        let next = self.next(start);
        // Acquire: as in `stamp`. SeqCst: as in `claim`.
        if slot.stamp.load(Ordering::Acquire) == self.ready_stamp(end, start)
            && cursor
                .compare_exchange_weak(start, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            return Some((start, slot));
        }
        let (position, _) = self.claim(end, 1, on_busy)?;
        Some((position, self.slot(position)))
    }

    /// Claims a run of up to `max` (at least 1) consecutive positions at `end`'s cursor whose
    /// slots are ready for it; `None` when the queue is full (producers) or empty (consumers),
    /// or, with [`OnBusy::GiveUp`], when the slot is still in another thread's hands.
    #[inline(never)]
    fn claim(&self, end: End, max: usize, on_busy: OnBusy) -> Option<(usize, usize)> {
        let (cursor, other) = match end {
            End::Producer => (&self.tail, &self.head),
            End::Consumer => (&self.head, &self.tail),
        };
        let backoff = Backoff::new();
        let mut start = cursor.load(Ordering::Relaxed);
        loop {
            let stamp = self.stamp(start);
            let ready = self.ready_stamp(end, start);
            if stamp == ready {
                let (stop, count) = self.ready_run_end(end, start, max);
                // SeqCst: the claim takes its place in the single order of claims that the
                // full and empty checks below read from.
                match cursor.compare_exchange_weak(start, stop, Ordering::SeqCst, Ordering::Relaxed)
                {
                    Ok(_) => return Some((start, count)),
                    Err(current) => {
                        start = current;
                        backoff.spin();
                    }
                }
                continue;
            }
            // Stamps and positions only grow (modulo wrapping), so the sign of the difference
            // says whether the slot is behind `start` or `start` is behind the slot.
            if (stamp.wrapping_sub(ready) as isize) < 0 {
                if cfg!(verisync_mutant = "mpmc_empty_skips_pending")
                    && matches!(end, End::Consumer)
                {
                    return None;
                }
                // The slot is behind: the queue is full or empty, or a thread that claimed an
                // earlier step of this slot is not done. Order the stamp load before the
                // cursor load.
                fence(Ordering::SeqCst);
                // Relaxed: ordered by the fence above, which pairs with the SeqCst claims.
                let other = other.load(Ordering::Relaxed);
                let closed = match end {
                    End::Producer => other.wrapping_add(self.lap) == start,
                    End::Consumer => other == start,
                };
                if closed {
                    return None;
                }
                match on_busy {
                    OnBusy::Wait => backoff.snooze(),
                    OnBusy::GiveUp => return None,
                }
            } else {
                // `start` is stale: other threads at our end have claimed it already.
                backoff.spin();
            }
            start = cursor.load(Ordering::Relaxed);
        }
    }

    /// The end (exclusive) and length of the run of positions from `start`, which is ready,
    /// that are ready for `end` too, at most `max` long.
    #[inline]
    fn ready_run_end(&self, end: End, start: usize, max: usize) -> (usize, usize) {
        let max = max.min(self.capacity());
        let mut stop = self.next(start);
        let mut count = 1;
        while count < max && self.stamp(stop) == self.ready_stamp(end, stop) {
            stop = self.next(stop);
            count += 1;
        }
        (stop, count)
    }

    /// The stamp that lets `end` claim `position`.
    #[inline]
    fn ready_stamp(&self, end: End, position: usize) -> usize {
        match end {
            End::Producer => position,
            End::Consumer => position.wrapping_add(1),
        }
    }

    #[inline]
    fn stamp(&self, position: usize) -> usize {
        // Acquire: pairs with the Release stamp stores in `fill` (for consumers) and `empty`
        // (for producers), so the previous owner's access to the value happens before ours.
        self.slot(position).stamp.load(Ordering::Acquire)
    }

    /// Claims `oldest` as its consumer if nobody has yet (used by `force_push` to evict it).
    fn claim_oldest(&self, oldest: usize) -> bool {
        if cfg!(verisync_mutant = "mpmc_force_push_steals") {
            return true;
        }
        // SeqCst: like every claim (see `claim`).
        self.head
            .compare_exchange(
                oldest,
                self.next(oldest),
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Waits until the slot of `position` carries `stamp` (the thread that owns the slot's
    /// previous step is about to publish it).
    fn wait_for_stamp(&self, position: usize, stamp: usize) {
        let backoff = Backoff::new();
        while self.stamp(position) != stamp {
            backoff.snooze();
        }
    }

    /// Writes `value` into `slot`, the slot of `position`, and hands it to its consumer.
    ///
    /// # Safety
    /// The caller claimed `position` as its producer and the slot is free for it.
    #[inline(always)]
    unsafe fn fill(&self, slot: &Slot<T>, position: usize, value: T) {
        // SAFETY: the caller owns the slot; no other thread touches its value until the stamp
        // store below hands it on.
        slot.value.with_mut(|cell| unsafe { (*cell).write(value) });
        let order = if cfg!(verisync_mutant = "mpmc_relaxed_fill") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        // Release: pairs with the Acquire stamp loads (`stamp`) of the consumer, so our write
        // happens before its read.
        slot.stamp.store(position.wrapping_add(1), order);
    }

    /// Moves the value of `position` out of `slot`, its slot, and hands the slot to the
    /// producer of the next lap.
    ///
    /// # Safety
    /// The caller claimed `position` as its consumer and the slot holds its value.
    #[inline(always)]
    unsafe fn empty(&self, slot: &Slot<T>, position: usize) -> T {
        // SAFETY: forwarded from the caller.
        let value = unsafe { slot.take() };
        let order = if cfg!(verisync_mutant = "mpmc_relaxed_empty") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        // Release: pairs with the Acquire stamp loads (`stamp`) of the next lap's producer, so
        // our read happens before its write.
        slot.stamp.store(position.wrapping_add(self.lap), order);
        value
    }

    /// The slot of `position`, a position of this queue (from a cursor, or derived from one
    /// with `next` or by whole laps).
    #[inline(always)]
    fn slot(&self, position: usize) -> &Slot<T> {
        let index = position & (self.lap - 1);
        debug_assert!(
            index < self.slots.len(),
            "position {position} is not one of ours"
        );
        // SAFETY: every position of this queue has an index below the capacity: the cursors
        // start at index 0, `next` only moves to `index + 1` when that is below the capacity
        // and to index 0 otherwise, and adding or subtracting whole laps keeps the index.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// The position after `position`: the next index, or index 0 of the next lap.
    #[inline(always)]
    fn next(&self, position: usize) -> usize {
        if (position & (self.lap - 1)) + 1 < self.capacity() {
            position.wrapping_add(1)
        } else {
            (position & !(self.lap - 1)).wrapping_add(self.lap)
        }
    }

    /// The number of positions from `head` to `tail`, at most the capacity (`force_push`
    /// briefly moves `tail` one past a full queue before it evicts).
    fn distance(&self, head: usize, tail: usize) -> usize {
        let mask = self.lap - 1;
        let laps = (tail & !mask).wrapping_sub(head & !mask) / self.lap;
        let within = (tail & mask).wrapping_sub(head & mask);
        laps.wrapping_mul(self.capacity())
            .wrapping_add(within)
            .min(self.capacity())
    }

    /// Takes up to `max` values in one claim, appending them to `out`; the number taken.
    fn pop_many(&self, out: &mut Vec<T>, max: usize, on_busy: OnBusy) -> usize {
        if max == 0 {
            return 0;
        }
        let Some((mut position, count)) = self.claim(End::Consumer, max, on_busy) else {
            return 0;
        };
        out.reserve(count);
        for _ in 0..count {
            // SAFETY: we claimed the whole run, and every slot in it held its value.
            out.push(unsafe { self.empty(self.slot(position), position) });
            position = self.next(position);
        }
        count
    }

    /// Pushes values from the front of `values` in one claim; the number pushed.
    fn push_many(&self, values: &mut VecDeque<T>, on_busy: OnBusy) -> usize {
        if values.is_empty() {
            return 0;
        }
        let Some((mut position, count)) = self.claim(End::Producer, values.len(), on_busy) else {
            return 0;
        };
        for value in values.drain(..count) {
            // SAFETY: we claimed the whole run, and every slot in it was free.
            unsafe { self.fill(self.slot(position), position, value) };
            position = self.next(position);
        }
        count
    }
}

impl<T> Queue<T> {
    /// Pops and drops every value; other threads may pop at the same time.
    fn drop_all(&self) {
        /// Drops what is left if a value's drop unwinds, the way `Vec` does.
        struct Rest<'a, T>(&'a Queue<T>);
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                while self.0.pop().is_some() {}
            }
        }
        let rest = Rest(self);
        while let Some(value) = rest.0.pop() {
            drop(value);
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// How many values [`Sender::send_many`] takes from its iterator for one claim.
const SEND_BATCH: usize = 64;

/// Creates a channel that holds up to `capacity` values, with one sender and one receiver to
/// clone as needed.
///
/// # Panics
/// If `capacity` is 0 or the buffer would exceed `isize::MAX` bytes; [`try_channel`] returns
/// these as errors instead.
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

/// Creates a channel that holds up to `capacity` values, or says why it cannot.
///
/// # Examples
/// ```
/// use verisync::mpmc::{try_channel, CapacityError};
///
/// assert!(try_channel::<u8>(5).is_ok());
/// assert_eq!(try_channel::<u8>(0).unwrap_err(), CapacityError::Zero);
/// ```
pub fn try_channel<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    let shared = Arc::new(Shared {
        queue: Queue::try_new(capacity)?,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        receiver_waits: CachePadded::new(WaitQueue::new()),
        sender_waits: CachePadded::new(WaitQueue::new()),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    Ok((sender, Receiver { shared }))
}

/// What the endpoints of a channel share; the buffered values go with it.
struct Shared<T> {
    queue: Queue<T>,
    /// Live senders; 0 means the receivers see `Disconnected` once the queue is drained.
    senders: AtomicUsize,
    /// Live receivers; 0 means sends fail.
    receivers: AtomicUsize,
    /// Where receivers blocked on an empty queue sleep; senders notify them.
    receiver_waits: CachePadded<WaitQueue>,
    /// Where senders blocked on a full queue sleep; receivers notify them.
    sender_waits: CachePadded<WaitQueue>,
}

impl<T> Shared<T> {
    fn receivers_gone(&self) -> bool {
        // Relaxed: the count publishes nothing. A sender that sees it at zero only hands its
        // value back, or pops what is left, and every pop reads the values through the slots'
        // own stamps (Acquire), whoever pushed them; nothing the receivers wrote is read.
        self.receivers.load(Ordering::Relaxed) == 0
    }

    /// Called after every push: the light half of the fence that the last `Receiver::drop`
    /// pairs with, then the wake-up of sleeping receivers. Either that drop sees what we pushed
    /// and drops it, or we see the receivers gone and drop it (with anything else left)
    /// ourselves, so no value outlives the last receiver.
    fn pushed(&self) {
        self.receiver_waits.notify_all();
        if !cfg!(verisync_mutant = "mpmc_keeps_abandoned") && self.receivers_gone() {
            self.queue.drop_all();
        }
    }

    fn senders_gone(&self) -> bool {
        // Acquire: pairs with the Release decrements in `Sender::drop` (a release sequence), so
        // every value any sender pushed before dropping is visible to the next pop.
        self.senders.load(Ordering::Acquire) == 0
    }
}

/// The buffer's status methods that [`Sender`] and [`Receiver`] share, both reading the one
/// queue; `$endpoint` (`"tx"` or `"rx"`) names the endpoint the doc examples call them on.
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
            self.shared.queue.len()
        }

        /// Whether nothing is buffered right now.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel::<u8>(4);
        #[doc = concat!("assert!(", $endpoint, ".is_empty());")]
        /// ```
        pub fn is_empty(&self) -> bool {
            self.shared.queue.is_empty()
        }

        /// Whether the buffer is full right now.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel(1);
        /// tx.send(()).unwrap();
        #[doc = concat!("assert!(", $endpoint, ".is_full());")]
        /// ```
        pub fn is_full(&self) -> bool {
            self.shared.queue.is_full()
        }

        /// The number of values the buffer can hold.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = verisync::mpmc::channel::<u8>(10);
        #[doc = concat!("assert_eq!(", $endpoint, ".capacity(), 10);")]
        /// ```
        pub fn capacity(&self) -> usize {
            self.shared.queue.capacity()
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
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.send_now(value, OnBusy::Wait)
    }

    fn send_now(&self, value: T, on_busy: OnBusy) -> Result<(), TrySendError<T>> {
        if self.shared.receivers_gone() {
            return Err(TrySendError::Disconnected(value));
        }
        let queue = &self.shared.queue;
        queue
            .push_with(value, on_busy)
            .map_err(TrySendError::Full)?;
        self.shared.pushed();
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

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let waits = &self.shared.sender_waits;
        waits.send_until(value, deadline, |value| {
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
        if self.shared.queue.push_many(batch, OnBusy::GiveUp) == 0 {
            return None;
        }
        self.shared.pushed();
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
        // Release: pairs with the Acquire load in `senders_gone`, so our pushes are visible to a
        // receiver that sees the count at zero.
        if self.shared.senders.fetch_sub(1, Ordering::Release) == 1
            && !cfg!(verisync_mutant = "mpmc_disconnect_no_wake")
        {
            self.shared.receiver_waits.notify_all();
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
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_now(OnBusy::Wait)
    }

    fn recv_now(&self, on_busy: OnBusy) -> Result<T, TryRecvError> {
        let mut value = None;
        self.try_recv_with(|queue| {
            value = queue.pop_with(on_busy);
            value.is_some()
        })?;
        Ok(value.expect("try_recv_with succeeds only after a pop returned a value"))
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

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let waits = &self.shared.receiver_waits;
        waits.recv_until(deadline, || self.recv_now(OnBusy::GiveUp))
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
        let waits = &self.shared.receiver_waits;
        waits
            .recv_until(None, || self.recv_many_now(out, max, OnBusy::GiveUp))
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
        let mut taken = 0;
        self.try_recv_with(|queue| {
            taken = queue.pop_many(out, max, on_busy);
            taken > 0
        })?;
        Ok(taken)
    }

    /// Runs `take` (which reports whether it took anything), draining what senders pushed
    /// before they all dropped, and wakes blocked senders after a take.
    fn try_recv_with(&self, mut take: impl FnMut(&Queue<T>) -> bool) -> Result<(), TryRecvError> {
        let shared = &*self.shared;
        if !take(&shared.queue) {
            if !shared.senders_gone() {
                return Err(TryRecvError::Empty);
            }
            // The last senders may have pushed just before dropping: the Acquire in
            // `senders_gone` makes those values visible to this second look.
            if cfg!(verisync_mutant = "mpmc_disconnect_no_drain") || !take(&shared.queue) {
                return Err(TryRecvError::Disconnected);
            }
        }
        if !cfg!(verisync_mutant = "mpmc_recv_no_wake") {
            shared.sender_waits.notify_all();
        }
        Ok(())
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
        // Relaxed: `receivers_gone` reads nothing through the count (see there); the last
        // drop's own pops below, and the senders' after they see zero, go through the slots.
        if shared.receivers.fetch_sub(1, Ordering::Relaxed) != 1 {
            return;
        }
        // The last receiver: what is buffered dies with it (std semantics). The heavy half of
        // the fence in `Shared::pushed`: a value pushed after this is dropped by its sender,
        // one pushed before is popped here. Not needed (and the common case, so `membarrier`
        // is not paid for it) once every sender is gone: nothing can be pushed any more, and
        // the Acquire in `senders_gone` makes every earlier push visible to the pops below.
        if !shared.senders_gone() {
            shared.receiver_waits.fence_before_recheck();
        }
        if !cfg!(verisync_mutant = "mpmc_disconnect_no_wake") {
            shared.sender_waits.notify_all();
        }
        shared.queue.drop_all();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

crate::receiver_iter::receiver_iterators!(mpmc);
