//! The engine: a bounded, linearizable ring of stamped slots.

use std::collections::VecDeque;
use std::fmt;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};

use crossbeam_utils::CachePadded;

use crate::error::CapacityError;
use crate::sync::{AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// A bounded, linearizable multi-producer multi-consumer FIFO queue.
///
/// See the [module documentation](super) for the guarantees and the design.
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
    /// Positions per lap (the smallest power of two above the capacity) minus one: a
    /// position's index bits. Kept as the mask, which every operation needs, not the lap.
    mask: usize,
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
pub(super) enum OnBusy {
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
            mask: lap - 1,
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
    pub(super) fn push_with(&self, value: T, on_busy: OnBusy) -> Result<(), T> {
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
            // Relaxed (the load, and the compare-exchange's failure): a guess at the tail that
            // pairs with nothing; the `SeqCst` compare-exchange checks it, and a failure only
            // retries.
            let tail = self.tail.load(Ordering::Relaxed);
            if self
                .tail
                .compare_exchange(tail, self.next(tail), Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                backoff.spin();
                continue;
            }
            let oldest = tail.wrapping_sub(self.lap());
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
    pub(super) fn pop_with(&self, on_busy: OnBusy) -> Option<T> {
        let (position, slot) = self.claim_one(End::Consumer, on_busy)?;
        // SAFETY: we just claimed `position`, and its slot holds its value.
        Some(unsafe { self.vacate(slot, position) })
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
        // Relaxed (this load, and the compare-exchange's failure below): a guess at our cursor
        // that pairs with nothing; the compare-exchange checks it, and the stamp's Acquire load
        // orders what we then touch in the slot.
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
        // Relaxed (this load, the reload at the bottom of the loop, and the compare-exchange's
        // failure): guesses at our cursor, as in `claim_one`.
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
                    End::Producer => other.wrapping_add(self.lap()) == start,
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
        // Acquire: pairs with the Release stamp stores in `fill` (for consumers) and `vacate`
        // (for producers), so the previous owner's access to the value happens before ours.
        self.slot(position).stamp.load(Ordering::Acquire)
    }

    /// Claims `oldest` as its consumer if nobody has yet (used by `force_push` to evict it).
    fn claim_oldest(&self, oldest: usize) -> bool {
        if cfg!(verisync_mutant = "mpmc_force_push_steals") {
            return true;
        }
        // SeqCst: like every claim (see `claim`). Relaxed failure: a lost race only reports
        // that a consumer took `oldest` first.
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
        // Release: pairs with the Acquire stamp loads (`stamp`) of the consumer, so our write
        // happens before its read.
        slot.stamp.store(
            position.wrapping_add(1),
            ordering!("mpmc_relaxed_fill", Release),
        );
    }

    /// Moves the value of `position` out of `slot`, its slot, and hands the slot to the
    /// producer of the next lap.
    ///
    /// # Safety
    /// The caller claimed `position` as its consumer and the slot holds its value.
    #[inline(always)]
    unsafe fn vacate(&self, slot: &Slot<T>, position: usize) -> T {
        // SAFETY: forwarded from the caller.
        let value = unsafe { slot.take() };
        // Release: pairs with the Acquire stamp loads (`stamp`) of the next lap's producer, so
        // our read happens before its write.
        slot.stamp.store(
            position.wrapping_add(self.lap()),
            ordering!("mpmc_relaxed_vacate", Release),
        );
        value
    }

    /// The slot of `position`, a position of this queue (from a cursor, or derived from one
    /// with `next` or by whole laps).
    #[inline(always)]
    fn slot(&self, position: usize) -> &Slot<T> {
        let index = position & self.mask;
        debug_assert!(
            index < self.slots.len(),
            "position {position} is not one of ours"
        );
        // SAFETY: every position of this queue has an index below the capacity: the cursors
        // start at index 0, `next` only moves to `index + 1` when that is below the capacity
        // and to index 0 otherwise, and adding or subtracting whole laps keeps the index.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// Positions per lap.
    #[inline(always)]
    fn lap(&self) -> usize {
        self.mask + 1
    }

    /// The position after `position`: the next index, or index 0 of the next lap.
    #[inline(always)]
    fn next(&self, position: usize) -> usize {
        let mask = self.mask;
        let next = position.wrapping_add(1);
        // Past the last index the position is still in its lap (the lap exceeds the capacity),
        // so the next lap starts just after the lap's last position.
        if next & mask < self.capacity() {
            next
        } else {
            (next | mask).wrapping_add(1)
        }
    }

    /// The number of positions from `head` to `tail`, at most the capacity (`force_push`
    /// briefly moves `tail` one past a full queue before it evicts).
    fn distance(&self, head: usize, tail: usize) -> usize {
        let mask = self.mask;
        let laps = (tail & !mask).wrapping_sub(head & !mask) / self.lap();
        let within = (tail & mask).wrapping_sub(head & mask);
        laps.wrapping_mul(self.capacity())
            .wrapping_add(within)
            .min(self.capacity())
    }

    /// Takes up to `max` values in one claim, appending them to `out`; the number taken.
    pub(super) fn pop_many(&self, out: &mut Vec<T>, max: usize, on_busy: OnBusy) -> usize {
        if max == 0 {
            return 0;
        }
        let Some((mut position, count)) = self.claim(End::Consumer, max, on_busy) else {
            return 0;
        };
        out.reserve(count);
        for _ in 0..count {
            // SAFETY: we claimed the whole run, and every slot in it held its value.
            out.push(unsafe { self.vacate(self.slot(position), position) });
            position = self.next(position);
        }
        count
    }

    /// Pushes values from the front of `values` in one claim; the number pushed.
    pub(super) fn push_many(&self, values: &mut VecDeque<T>, on_busy: OnBusy) -> usize {
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
    pub(super) fn drop_all(&self) {
        drop_popped(|| self.pop());
    }
}

/// Drops every value `pop` returns until it returns `None`: what a buffer's `drop_all` does
/// (the ring's and the unbounded list's). If a value's drop unwinds, the rest are still popped
/// and dropped, the way `Vec` does.
pub(super) fn drop_popped<T>(mut pop: impl FnMut() -> Option<T>) {
    /// Drops what is left if a value's drop unwinds.
    struct Rest<'a, T>(&'a mut dyn FnMut() -> Option<T>);
    impl<T> Drop for Rest<'_, T> {
        fn drop(&mut self) {
            while (self.0)().is_some() {}
        }
    }
    let rest = Rest(&mut pop);
    while let Some(value) = (rest.0)() {
        drop(value);
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
