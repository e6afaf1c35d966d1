//! The engine: the shared state, the ring of slots and its position arithmetic, and the
//! dropping of the values the receiver never took.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::error::CapacityError;
use crate::park::WaitQueue;
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell, fence, uninit_slots};

/// The state both endpoints share.
pub(super) struct Shared<T> {
    /// Position of the next value to receive; written only by the receiver.
    pub(super) head: CachePadded<AtomicUsize>,
    /// Position of the next slot to fill; written only by the sender.
    pub(super) tail: CachePadded<AtomicUsize>,
    /// Where a receiver blocked on an empty buffer sleeps; the sender notifies it.
    pub(super) receiver_waits: CachePadded<WaitQueue>,
    /// Where a sender blocked on a full buffer sleeps; the receiver notifies it.
    pub(super) sender_waits: CachePadded<WaitQueue>,
    /// Set by whichever endpoint drops first: to the survivor, its peer is gone.
    pub(super) disconnected: AtomicBool,
    /// Held while an endpoint drops the values the receiver left behind (`drop_abandoned`).
    pub(super) draining: AtomicBool,
    /// The slots, freed when both endpoints are gone.
    buffer: Buffer<T>,
}

// SAFETY: the slots are only touched by the one sender (free slots) and the one receiver
// (filled slots), handed over through the Release/Acquire pairs on `head` and `tail`; values
// move between threads, so `T: Send` is needed and enough.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; `&Shared` gives no access to a `T` except through an endpoint.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The state of a new channel of `capacity` values, or why it cannot be built.
    pub(super) fn new(capacity: usize) -> Result<Self, CapacityError> {
        // Positions count up to twice the capacity.
        CapacityError::check::<T>(capacity, 2)?;
        Ok(Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            receiver_waits: CachePadded::new(WaitQueue::new()),
            sender_waits: CachePadded::new(WaitQueue::new()),
            disconnected: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            buffer: Buffer(Ring::allocate(capacity)?),
        })
    }

    /// The ring, for an endpoint to keep a copy of.
    pub(super) fn ring(&self) -> Ring<T> {
        self.buffer.0
    }

    pub(super) fn peer_is_gone(&self) -> bool {
        // Acquire: pairs with the Release half of the swap in the peer's `disconnect`, so
        // everything the peer published before dropping (its last `tail`, for the receiver)
        // is visible after.
        self.disconnected.load(Ordering::Acquire)
    }

    /// Marks this endpoint gone and wakes its peer, which may be parked waiting for it.
    /// Returns whether the peer was gone already.
    pub(super) fn disconnect(&self, peer_waits: &WaitQueue) -> bool {
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
    pub(super) fn drop_abandoned(&self) {
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

    let unfreed =
        |position: usize| mutant!("spsc_drop_wrapped_leak", position < to, position != to);
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
pub(super) struct Ring<T> {
    pub(super) slots: NonNull<UnsafeCell<MaybeUninit<T>>>,
    pub(super) capacity: usize,
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
    pub(super) fn allocate(capacity: usize) -> Result<Self, CapacityError> {
        let slots = Box::into_raw(uninit_slots::<T>(capacity)?);
        Ok(Self {
            // SAFETY: `Box::into_raw` never returns null.
            slots: unsafe { NonNull::new_unchecked(slots.cast()) },
            capacity,
        })
    }

    /// The slot at `index` (`index < capacity`).
    pub(super) fn slot_at(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
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
    pub(super) unsafe fn write(&self, index: usize, value: T) {
        // SAFETY: the caller owns the empty slot.
        self.slot_at(index)
            .with_mut(|slot| unsafe { (*slot).write(value) });
    }

    /// Moves the value out of the slot at `index`, leaving it empty.
    ///
    /// # Safety
    /// The caller owns the slot, it holds a value, and nothing reads that value again.
    pub(super) unsafe fn take(&self, index: usize) -> T {
        // SAFETY: the caller owns the filled slot and reads it this once.
        self.slot_at(index)
            .with(|slot| unsafe { (*slot).assume_init_read() })
    }

    /// Borrows the value in the slot at `index`.
    ///
    /// # Safety
    /// The slot holds a value that nobody moves, drops or overwrites while the borrow lives.
    pub(super) unsafe fn peek(&self, index: usize) -> &T {
        // SAFETY: the caller keeps the value in place for the borrow's lifetime.
        self.slot_at(index)
            .with(|slot| unsafe { (*slot).assume_init_ref() })
    }

    /// Drops the value in the slot at `index`, leaving it empty.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    pub(super) unsafe fn drop_value(&self, index: usize) {
        // SAFETY: the caller owns the filled slot and drops it this once.
        self.slot_at(index)
            .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
    }

    /// The slot index of `position`.
    pub(super) fn index(&self, position: usize) -> usize {
        if position < self.capacity {
            position
        } else {
            position - self.capacity
        }
    }

    /// The position after `position`: [`advance`](Self::advance) by one, in fewer steps.
    pub(super) fn next(&self, position: usize) -> usize {
        let next = position + 1;
        if next == 2 * self.capacity { 0 } else { next }
    }

    /// The slot index after `index`, wrapping at the end of the buffer.
    pub(super) fn next_index(&self, index: usize) -> usize {
        if index + 1 == self.capacity {
            0
        } else {
            index + 1
        }
    }

    /// The position `count` steps after `position` (`count <= capacity`).
    pub(super) fn advance(&self, position: usize, count: usize) -> usize {
        let wrap = 2 * self.capacity;
        if count >= wrap - position {
            position - (wrap - count)
        } else {
            position + count
        }
    }

    /// How many values lie between `head` and `tail`.
    pub(super) fn distance(&self, head: usize, tail: usize) -> usize {
        if tail >= head {
            tail - head
        } else {
            2 * self.capacity - (head - tail)
        }
    }

    /// The tail position at which the buffer is full while the receiver is at `head`.
    pub(super) fn full_at(&self, head: usize) -> usize {
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
