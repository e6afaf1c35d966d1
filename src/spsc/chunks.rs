//! Batches: [`WriteChunk`] fills free slots and publishes them together, [`ReadChunk`] takes
//! ready values and releases their slots together.

use std::fmt;

use super::ring::Ring;
use super::{Receiver, Sender};

impl<T> Sender<T> {
    /// Reserves up to `max` free slots to fill in one go; the chunk may be shorter (even empty)
    /// when fewer slots are free, and is empty once the receiver is gone (its
    /// [`push`](WriteChunk::push) then hands the value back). Values written into it are
    /// published together when it is dropped, with one store and one wake-up check for the
    /// whole batch. Wait-free.
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
}

impl<T> Receiver<T> {
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
