//! The unbounded flavor's engine: a linearizable FIFO list of fixed-size segments, linked in
//! as producers need room and freed as soon as the last value in them is taken.
//!
//! # Design
//! Each segment holds [`SLOTS`] values and takes [`LAP`] positions of the two cursors, `head`
//! and `tail`: the last position of a segment holds no value. A cursor resting on it means
//! that the thread which claimed the segment's last slot is linking in the next segment (a
//! producer) or moving `head` onto it (a consumer); others wait for those few instructions.
//!
//! A producer claims the position at `tail` with one compare-exchange, writes its value into
//! the slot and marks it written (`Release`). The producer of a segment's last slot allocates
//! the next segment before its claim, and links it in after. A consumer claims the position
//! at `head` the same way once it has seen that `tail` is past it (the list is empty when the
//! cursors are equal), then waits for the slot to be written and takes the value.
//!
//! A segment is freed by whoever finishes with it last, without any global scheme: the
//! consumer of its last slot walks the earlier slots and frees the segment if all were taken;
//! finding one still being read, it marks that slot and stops, and that slot's consumer
//! carries on from there when it finishes. Nothing else holds a segment's address past its
//! claims: a thread only dereferences a segment after claiming a position in it, and the
//! segment outlives every claimed position.
//!
//! The head cursor carries one flag, [`BEHIND`], set while the head's segment is known to be
//! behind the tail's, so that a consumer skips looking at `tail` for the rest of the segment.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use super::queue::drop_popped;
use crate::sync::{AtomicPtr, AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// Values per segment: a few under loom and shuttle, so that short models already link and
/// free segments.
const SLOTS: usize = if cfg!(any(verisync_loom, verisync_shuttle)) {
    3
} else {
    31
};
/// Cursor positions per segment: the values and the resting position after them. A power of
/// two, so that positions wrap around `usize` without changing their segment offsets.
const LAP: usize = SLOTS + 1;
const _: () = assert!(LAP.is_power_of_two());

/// A cursor holds its position shifted left by one; the low bit is a flag (head only).
const STEP: usize = 2;
/// On `head`: the head's segment is behind the tail's, so every position left in it is
/// claimed by a producer (the value is written or about to be).
const BEHIND: usize = 1;

/// Slot state: the producer has written the value.
const WRITTEN: usize = 1;
/// Slot state: the consumer has taken the value.
const TAKEN: usize = 2;
/// Slot state: the consumer freeing the segment found this slot still being read, and left the
/// rest of the job to its consumer.
const RECLAIM: usize = 4;

/// The position a cursor value holds.
#[inline(always)]
fn position(cursor: usize) -> usize {
    cursor / STEP
}

/// The offset in its segment of the position a cursor value holds.
#[inline(always)]
fn offset(cursor: usize) -> usize {
    position(cursor) % LAP
}

/// Which segment (counted from the start, modulo wrapping) a cursor value is in.
#[inline(always)]
fn segment_number(cursor: usize) -> usize {
    position(cursor) / LAP
}

struct Segment<T> {
    /// The next segment, once its first slot's producer linked it in.
    next: AtomicPtr<Segment<T>>,
    /// Each slot's state bits: [`WRITTEN`], [`TAKEN`], [`RECLAIM`].
    states: [AtomicUsize; SLOTS],
    values: [UnsafeCell<MaybeUninit<T>>; SLOTS],
}

impl<T> Segment<T> {
    /// Allocates an empty segment and leaks it; [`Segment::free`] takes it back.
    fn allocate() -> *mut Self {
        let mut segment = Box::<Self>::new_uninit();
        let raw = segment.as_mut_ptr();
        // SAFETY: `raw` points to the allocation, and each field is written once, in place,
        // without reading the uninitialized memory; the values need no initialization
        // (`MaybeUninit`) except under loom, whose cells carry tracking state and are built.
        unsafe {
            ptr::addr_of_mut!((*raw).next).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*raw).states).write(std::array::from_fn(|_| AtomicUsize::new(0)));
            #[cfg(verisync_loom)]
            ptr::addr_of_mut!((*raw).values).write(std::array::from_fn(|_| {
                UnsafeCell::new(MaybeUninit::uninit())
            }));
            Box::into_raw(segment.assume_init())
        }
    }

    /// Frees a segment from [`Segment::allocate`], without dropping any value in it.
    ///
    /// # Safety
    /// Nobody uses the segment any more, and its values were taken or dropped.
    unsafe fn free(segment: *mut Self) {
        // SAFETY: forwarded from the caller; the segment came from `Box::into_raw`.
        let segment = unsafe { Box::from_raw(segment) };
        // Under loom, freeing counts as writing every cell, so that loom checks that each read
        // of a value happened before the free, as the memory's reuse requires.
        #[cfg(verisync_loom)]
        for value in &segment.values {
            value.with_mut(|_| ());
        }
        drop(segment);
    }

    /// The segment after this one, waiting for the producer that claimed this segment's last
    /// slot to link it in (it does so right after its claim).
    fn wait_next(&self) -> *mut Self {
        let backoff = Backoff::new();
        loop {
            // Acquire: pairs with the Release store in `List::link_next`, so the new segment's
            // initialization happens before we use it.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Writes `value` into slot `offset` and hands it to the slot's consumer.
    ///
    /// # Safety
    /// The caller claimed the slot's position as its producer.
    unsafe fn write(&self, offset: usize, value: T) {
        // SAFETY: the slot is ours until the state store below hands it on.
        self.values[offset].with_mut(|cell| unsafe { (*cell).write(value) });
        // Release: pairs with the Acquire load in `read`, so our write happens before the read.
        self.states[offset].fetch_or(WRITTEN, ordering!("list_relaxed_written", Release));
    }

    /// Waits until slot `offset` is written, then moves its value out.
    ///
    /// # Safety
    /// The caller claimed the slot's position as its consumer.
    unsafe fn read(&self, offset: usize) -> T {
        let backoff = Backoff::new();
        // Acquire: pairs with the Release in `write`. The producer claimed the position before
        // we could, so this waits for its next few instructions at most.
        while self.states[offset].load(Ordering::Acquire) & WRITTEN == 0 {
            backoff.snooze();
        }
        // SAFETY: written (seen above) and ours to read once.
        self.values[offset].with(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// Records that the value of slot `offset` was taken, and frees the segment if that was the
    /// last thing keeping it.
    ///
    /// # Safety
    /// The caller read slot `offset` as its consumer and uses the segment no more.
    unsafe fn release(this: *mut Self, offset: usize) {
        if offset + 1 == SLOTS {
            // SAFETY: the last slot's consumer starts the reclaim; forwarded from the caller.
            return unsafe { Self::reclaim_from(this, 0) };
        }
        // AcqRel: Release so that our read of the value happens before the free by whoever
        // sees TAKEN (pairs with the Acquire in `reclaim_from`); Acquire so that, when the
        // reclaimer marked the slot RECLAIM first, its view of the earlier slots is ours.
        // SAFETY: our slot's claim keeps the segment alive until this store.
        let state = unsafe { &(*this).states[offset] };
        if state.fetch_or(TAKEN, ordering!("list_relaxed_taken", AcqRel)) & RECLAIM != 0 {
            // SAFETY: the reclaimer stopped at our slot and left the rest to us.
            unsafe { Self::reclaim_from(this, offset + 1) };
        }
    }

    /// Frees the segment once the slots from `start` up to the last are all taken; a slot still
    /// being read is marked, and its consumer resumes from the slot after it.
    ///
    /// # Safety
    /// The slots before `start` and the last slot have been taken, and the caller is the one
    /// thread entitled to continue the reclaim from `start`.
    unsafe fn reclaim_from(this: *mut Self, start: usize) {
        for offset in start..SLOTS - 1 {
            // SAFETY: this slot is not taken yet or its consumer handed on; either way the
            // segment is alive until we free it below.
            let state = unsafe { &(*this).states[offset] };
            // Acquire (both): pairs with the AcqRel in `release`, so that consumer's read of
            // its value happens before the free below.
            if state.load(Ordering::Acquire) & TAKEN == 0
                && state.fetch_or(RECLAIM, Ordering::AcqRel) & TAKEN == 0
                && !cfg!(verisync_mutant = "list_reclaim_ignores_readers")
            {
                return;
            }
        }
        if cfg!(verisync_mutant = "list_keeps_drained_segments") {
            return;
        }
        // SAFETY: every slot is taken, and nothing else refers to the segment any more: the
        // cursors moved past it (its last slot's consumer moved `head` before reading).
        unsafe { Self::free(this) };
    }
}

/// One end of the list.
struct Cursor<T> {
    /// The position (times [`STEP`]) of the next slot to claim, plus [`BEHIND`] on the head.
    index: AtomicUsize,
    /// The segment `index` is in; moves only while `index` rests on the segment's last
    /// position, so that a claim of `index` also vouches for the segment loaded before it.
    segment: AtomicPtr<Segment<T>>,
}

/// An unbounded, linearizable multi-producer multi-consumer FIFO list: the unbounded channel's
/// buffer.
pub(super) struct List<T> {
    head: CachePadded<Cursor<T>>,
    tail: CachePadded<Cursor<T>>,
    /// The values are owned through raw segment pointers.
    _owns: PhantomData<T>,
}

// SAFETY: a value is written by the producer that claimed its slot and read by the consumer
// that claimed it, handed over through the Release/Acquire pair on the slot's state; values
// move between threads, so `T: Send` is needed and enough.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as above; no `&T` is ever handed out.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    pub(super) fn new() -> Self {
        let first = Segment::allocate();
        let cursor = || {
            CachePadded::new(Cursor {
                index: AtomicUsize::new(0),
                segment: AtomicPtr::new(first),
            })
        };
        Self {
            head: cursor(),
            tail: cursor(),
            _owns: PhantomData,
        }
    }

    /// Appends `value`; never fails and never waits, except for the few instructions in which
    /// the producer of a segment's last slot links the next one in.
    pub(super) fn push(&self, value: T) {
        let backoff = Backoff::new();
        let mut spare: *mut Segment<T> = ptr::null_mut();
        // Acquire: pairs with the Release in `link_next`, so that a tail in a new segment comes
        // with that segment's address (loaded below).
        let mut tail = self.tail.index.load(Ordering::Acquire);
        loop {
            let offset = offset(tail);
            if offset == SLOTS {
                // The previous segment's last producer is linking this one in.
                backoff.snooze();
                // Acquire: as above; the tail we wait for is in the new segment.
                tail = self.tail.index.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == SLOTS && spare.is_null() {
                // Allocated before the claim, so that the others wait for no allocation.
                spare = Segment::allocate();
            }
            // Acquire: pairs with the Release store in `link_next`.
            let segment = self.tail.segment.load(Ordering::Acquire);
            // SeqCst: the claim takes its place in the single order of claims that the empty
            // check in `pop` reads from (through its fence). Acquire on failure: as above.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail.wrapping_add(STEP),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == SLOTS {
                        // SAFETY: we claimed the segment's last slot, and `spare` is ours.
                        unsafe { self.link_next(segment, tail, spare) };
                        spare = ptr::null_mut();
                    }
                    // SAFETY: we claimed `offset` in `segment`, which the claim keeps alive.
                    unsafe { (*segment).write(offset, value) };
                    break;
                }
                Err(current) => {
                    tail = current;
                    backoff.spin();
                }
            }
        }
        if !spare.is_null() {
            // SAFETY: allocated above and never shared.
            unsafe { Segment::free(spare) };
        }
    }

    /// Links `next` in after `segment`, whose last slot's position `claimed` we claimed (so
    /// `tail` rests on the position after it), and moves `tail` onto `next`.
    ///
    /// # Safety
    /// As described; `next` is a fresh segment that nobody else knows.
    unsafe fn link_next(&self, segment: *mut Segment<T>, claimed: usize, next: *mut Segment<T>) {
        // Release (all three): pairs with the Acquire loads of the same fields, so that
        // whoever finds `next` through them sees it initialized, and whoever sees the tail
        // move sees the new segment (stored first).
        let move_tail = || {
            self.tail
                .index
                .store(claimed.wrapping_add(2 * STEP), Ordering::Release);
        };
        mutant!("list_tail_moves_first", move_tail(), ());
        self.tail.segment.store(next, Ordering::Release);
        mutant!("list_tail_moves_first", (), move_tail());
        // SAFETY: our claim of the last slot keeps `segment` alive.
        unsafe {
            (*segment)
                .next
                .store(next, ordering!("list_relaxed_link", Release))
        };
    }

    /// Removes the oldest value, or returns `None` when the list is empty. Waits only for the
    /// few instructions of a thread that claimed a step ahead of us (a producer writing the
    /// value we claimed, a consumer moving `head` into the next segment).
    pub(super) fn pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        // Acquire: pairs with the Release in `advance_head`, so that a head in a new segment
        // comes with that segment's address (loaded below).
        let mut head = self.head.index.load(Ordering::Acquire);
        loop {
            let offset = offset(head);
            if offset == SLOTS {
                // The consumer of the segment's last slot is moving `head` on.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                continue;
            }
            let mut next_head = head.wrapping_add(STEP);
            if head & BEHIND == 0 && !cfg!(verisync_mutant = "list_pop_skips_tail_check") {
                // SeqCst fence: orders the head load before the tail load, pairing with the
                // SeqCst claims, so that an empty answer is one the list really gave.
                fence(Ordering::SeqCst);
                // Relaxed: ordered by the fence above.
                let tail = self.tail.index.load(Ordering::Relaxed);
                if position(head) == position(tail) {
                    return None;
                }
                if segment_number(head) != segment_number(tail) {
                    next_head |= BEHIND;
                }
            }
            // Acquire: pairs with the Release store in `advance_head`.
            let segment = self.head.segment.load(Ordering::Acquire);
            // SeqCst: as in `push`. Acquire on failure: as for the first load.
            match self.head.index.compare_exchange_weak(
                head,
                next_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == SLOTS {
                        // SAFETY: we claimed the segment's last slot.
                        unsafe { self.advance_head(segment, next_head) };
                    }
                    // SAFETY: we claimed `offset` in `segment`, which the claim keeps alive
                    // until `release`, after which we no longer touch it.
                    return Some(unsafe {
                        let value = (*segment).read(offset);
                        Segment::release(segment, offset);
                        value
                    });
                }
                Err(current) => {
                    head = current;
                    backoff.spin();
                }
            }
        }
    }

    /// Moves `head`, which rests at `resting` after `segment`'s last slot (ours), onto the next
    /// segment.
    ///
    /// # Safety
    /// The caller claimed `segment`'s last slot as its consumer.
    unsafe fn advance_head(&self, segment: *mut Segment<T>, resting: usize) {
        // SAFETY: our claim of the last slot keeps `segment` alive.
        let next = unsafe { (*segment).wait_next() };
        let mut index = (resting & !BEHIND).wrapping_add(STEP);
        // SAFETY: `next` is linked and no consumer can have reached it before us.
        // Relaxed: a hint; a non-null `next` means the tail has already left that segment.
        if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
            index |= BEHIND;
        }
        // Release (both): pairs with the Acquire loads in `pop`, so that whoever sees the new
        // head sees the new segment (stored first) and its initialization.
        self.head.segment.store(next, Ordering::Release);
        self.head.index.store(index, Ordering::Release);
    }

    /// The number of values in the list right now (other threads may change it at any moment).
    pub(super) fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            // A consistent pair: `tail` did not move while `head` was read.
            if self.tail.index.load(Ordering::SeqCst) == tail {
                return values_between(head, tail);
            }
        }
    }

    /// Pops and drops every value; other threads may pop at the same time.
    pub(super) fn drop_all(&self) {
        drop_popped(|| self.pop());
    }
}

/// The number of values from cursor `head` to cursor `tail`: positions minus the resting
/// positions between them, counting a cursor at rest as already in the next segment.
fn values_between(head: usize, tail: usize) -> usize {
    let past_rest = |cursor: usize| {
        let cursor = cursor & !BEHIND;
        if offset(cursor) == SLOTS {
            cursor.wrapping_add(STEP)
        } else {
            cursor
        }
    };
    let (head, tail) = (past_rest(head), past_rest(tail));
    let positions = tail.wrapping_sub(head) / STEP;
    positions - (offset(head) + positions) / LAP
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        self.drop_all();
        // Every value is gone and nobody else is here: what is left is the head's segment,
        // whose taken slots did not free it because its last slot was not taken yet.
        // Relaxed: `&mut self` shuts every other thread out; their last accesses happened
        // before whatever gave us the list to drop (the last endpoint's drop).
        let segment = self.head.segment.load(Ordering::Relaxed);
        // SAFETY: the list owns the head's segment, and nothing else refers to it.
        unsafe { Segment::free(segment) };
    }
}
