//! Bounded logs: keep the newest `capacity` items pushed by any number of threads, and hand out
//! copies of them to any number of readers.
//!
//! Two logs with one API, by what they hold:
//! - [`InlineLog`] holds small plain-data values (at most 8 bytes, [`bytemuck::Pod`]: integers,
//!   floats, small `#[repr(C)]` structs of them) inside its slots: a push allocates nothing and
//!   a snapshot copies one contiguous array.
//! - [`BoundedLog`] holds any value, each on the heap, and frees evicted ones once no reader
//!   can still be cloning them.
//!
//! `push` appends an item and returns its sequence number (0, 1, 2, ... in the order the
//! pushes took their tickets); once `capacity` items are held, each push evicts the oldest.
//! `snapshot` copies the retained items, oldest first, and `read_since` tails the log like a
//! cursor, reporting what it missed. [`snapshot_into`](BoundedLog::snapshot_into) and
//! [`read_since_into`](BoundedLog::read_since_into) do the same into a buffer the caller keeps,
//! so a reader that polls allocates nothing once its buffer has grown.
//!
//! # Guarantees
//! Both logs give all of these.
//! - **Progress.** `push` is lock-free: it takes a ticket with a compare-and-swap and installs its
//!   item with a compare-and-swap on its own slot, which only fails when another push to the
//!   same slot (one whole lap ahead or behind) got there first. It never waits for a reader or
//!   for another writer, stalled or not. `snapshot` and `read_since` are wait-free apart from
//!   the clones they make (and, in [`BoundedLog`], the freeing of evicted items they may do on
//!   the way out): each visits at most `capacity` slots. `len`, `capacity`, `total_pushed` and
//!   `lapped` are wait-free.
//! - **Order and visibility.** Items are ordered by sequence number. An item is visible once
//!   its push has installed it and every earlier push has installed its own or been lapped: a
//!   writer stalled between taking its ticket and installing its item (a few instructions)
//!   hides the items after its own until it installs, or until a push one whole lap later
//!   replaces its slot, whereupon its item counts as lost to cursors. A reader that gets an
//!   item sees everything its pusher did before the push.
//! - **Snapshots.** A snapshot is a contiguous run of sequence numbers, oldest first, with no
//!   holes, no duplicates and no torn values: every value is the one pushed with that sequence
//!   number. Every item in it was still retained (not yet evicted by a newer ticket) when the
//!   snapshot finished, and the run starts at the oldest such item that was visible; it ends
//!   before the first item whose push was still in flight. With no push in flight it is
//!   exactly the last `min(total, capacity)` items. While writers outrun the copy, a snapshot
//!   can be shorter than that, never stale.
//! - **Cursors.** `read_since(seq)` returns the visible items from `seq` on, the sequence number
//!   to ask for next, and how many items from `seq` on were evicted (or cleared) before the
//!   cursor got to them: loss is counted, never silent.
//! - **Full.** A push into a full log overwrites the oldest item. In [`BoundedLog`] that item
//!   is dropped exactly once, once no reader can still be cloning it: by the push itself when
//!   no reader is active, else by whichever push or reader collects it later (or by `clear` or
//!   the log's drop); a panicking `Drop` propagates from that call, after the rest of its batch
//!   is dropped. [`InlineLog`]'s values have no `Drop`.
//! - **Lapped writers.** A push whose ticket is a whole lap behind a push that already installed
//!   into the same slot does not wait and does not overwrite the newer item: its own item is
//!   dropped (in [`BoundedLog`] it may have been visible for an instant) and counted in
//!   `lapped`.
//! - **Drop.** `clear`, `into_vec` and dropping the log drop every value still held exactly
//!   once, carrying on past a panicking `Drop` the way `Vec` does. Sequence numbers keep
//!   counting across `clear`.
//! - **Capacity.** Exactly the capacity asked for, any value from 1. Capacity 0, or one whose
//!   slot array would not fit in `isize::MAX` bytes, is an error from `try_new` and a panic
//!   from `new`. An [`InlineLog`] of a type over 8 bytes does not compile.
//!
//! # Design
//! A ticket counter hands out sequence numbers; item `seq` lives in slot `seq % capacity`. The
//! slot says which sequence number it holds, so a reader that asked for `seq` knows whether it
//! found that item, an older one (the push of `seq` is in flight) or a newer one (`seq` was
//! evicted). A push installs its item with a compare-and-swap that fails if the slot changed;
//! if the slot already holds a newer item, the push was lapped and leaves it. How the slot
//! holds its item is each log's own (see their type documentation).

mod inline;
mod nodes;
mod reclaim;

use std::fmt;

use crossbeam_utils::CachePadded;

pub use crate::error::CapacityError;
pub use inline::InlineLog;
pub use nodes::BoundedLog;

use crate::sync::{AtomicU64, Backoff, MODEL_CHECKED, Ordering};

/// The result of `read_since` ([`BoundedLog::read_since`], [`InlineLog::read_since`]).
///
/// # Examples
/// ```
/// use verisync::bounded_log::{BoundedLog, ReadSince};
///
/// let log = BoundedLog::new(8);
/// log.push(10);
/// log.push(11);
/// let ReadSince { items, next, lost } = log.read_since(1);
/// assert_eq!((items, next, lost), (vec![11], 2, 0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSince<T> {
    /// The items read, oldest first, with sequence numbers `next - items.len()` to `next - 1`.
    pub items: Vec<T>,
    /// The sequence number to pass to the next `read_since`.
    pub next: u64,
    /// How many items from the requested sequence number on were evicted or cleared before
    /// this read got to them.
    pub lost: u64,
}

/// The result of `read_since_into` ([`BoundedLog::read_since_into`],
/// [`InlineLog::read_since_into`]): a [`ReadSince`] whose items went into the caller's buffer.
///
/// # Examples
/// ```
/// use verisync::bounded_log::{InlineLog, Progress};
///
/// let log = InlineLog::new(2);
/// let mut items = Vec::new();
/// for i in 0..3u32 {
///     log.push(i);
/// }
/// let Progress { next, lost } = log.read_since_into(0, &mut items);
/// assert_eq!((items, next, lost), (vec![1, 2], 3, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The sequence number to pass to the next read.
    pub next: u64,
    /// How many items from the requested sequence number on were evicted or cleared before
    /// this read got to them.
    pub lost: u64,
}

/// Where a run of copies, made oldest first from some sequence number on, stopped.
struct Run {
    /// The sequence number after the last item copied.
    next: u64,
    /// Why the run stopped at item `next`.
    stop: Stop,
}

/// Why a run of copies stopped.
enum Stop {
    /// It copied every item it was asked for.
    End,
    /// Item `next`'s push is in flight.
    Pending,
    /// Item `next` was evicted.
    Evicted,
}

/// What a reader found in the slot of the sequence number it asked for.
enum Lookup<T> {
    /// The item was there; a copy of it.
    Found(T),
    /// The slot still holds an older item (or none): that push is in flight.
    Pending,
    /// The slot already holds a newer item: the one asked for was evicted.
    Evicted,
}

/// Both logs' sequence numbers: the tickets handed out, the slot of each, what was cleared and
/// which pushes were lapped; and the two walks readers make over the slots, given an engine's
/// way of copying a run of items (`copy_run(from, to, out)`: append items `from..to` to `out`
/// while each is found, and say where it stopped).
struct Tickets {
    /// The sequence number of the next push: the number of tickets handed out.
    tail: CachePadded<AtomicU64>,
    /// The number of slots, as the sequence numbers' type.
    capacity: u64,
    /// `total_pushed()` at the last `clear`: older sequence numbers hold nothing.
    cleared_at: u64,
    /// Pushes whose item was dropped because they were lapped.
    lapped: CachePadded<AtomicU64>,
}

impl Tickets {
    fn new(capacity: usize) -> Self {
        Self {
            tail: CachePadded::new(AtomicU64::new(0)),
            capacity: capacity as u64,
            cleared_at: 0,
            lapped: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Hands out the next sequence number.
    ///
    /// A compare-and-swap that backs off when it loses, rather than a `fetch_add`: writers on
    /// different cores then take runs of tickets in turn, each run's slots in its own cache
    /// lines, instead of alternating tickets and passing the tail's line and every slot's line
    /// back and forth on each push. Lock-free: a failure means another push took a ticket.
    /// Under loom and shuttle the retry goes straight on: the backoff is only about caches,
    /// and a yield there would multiply the schedules without adding an ordering.
    fn take(&self) -> u64 {
        let backoff = Backoff::new();
        // Relaxed, here and below: the ticket only names the item and its slot; the item is
        // published by the slot's compare-and-swap, and readers check every slot's sequence
        // number themselves.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            match self.tail.compare_exchange_weak(
                tail,
                tail + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return tail,
                Err(actual) => {
                    tail = actual;
                    if !MODEL_CHECKED {
                        backoff.spin();
                    }
                }
            }
        }
    }

    /// The slot index of sequence number `seq`.
    fn index(&self, seq: u64) -> usize {
        // The remainder is below `capacity`, which is a `usize`.
        (seq % self.capacity) as usize
    }

    /// The number of tickets handed out.
    fn end(&self) -> u64 {
        // Relaxed: tickets order nothing; each slot's sequence number is checked on its own.
        self.tail.load(Ordering::Relaxed)
    }

    /// The sequence number of the oldest item retained when `end` tickets have been handed out.
    fn oldest_retained(&self, end: u64) -> u64 {
        end.saturating_sub(self.capacity).max(self.cleared_at)
    }

    /// `min(capacity, pushes since the last clear)`.
    fn len(&self) -> usize {
        let end = self.end();
        // At most `capacity`, which is a `usize`.
        (end - self.oldest_retained(end)) as usize
    }

    fn count_lapped(&self) {
        if !cfg!(verisync_mutant = "bounded_log_lapped_uncounted") {
            // Relaxed: a count, ordering nothing.
            self.lapped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lapped(&self) -> u64 {
        // Relaxed: a count, ordering nothing.
        self.lapped.load(Ordering::Relaxed)
    }

    /// Makes every sequence number handed out so far count as cleared.
    fn clear(&mut self) {
        if !cfg!(verisync_mutant = "bounded_log_clear_keeps_floor") {
            self.cleared_at = self.end();
        }
    }

    /// Replaces `out`'s contents with a snapshot (module documentation, *Snapshots*), made of
    /// runs of the retained items, oldest first.
    fn snapshot_into<T>(
        &self,
        out: &mut Vec<T>,
        mut copy_run: impl FnMut(u64, u64, &mut Vec<T>) -> Run,
    ) {
        out.clear();
        let end = self.end();
        let start = self.oldest_retained(end);
        // The sequence number of `out[0]`.
        let mut first = start;
        out.reserve((end - start) as usize);
        while first < end {
            // `out` is empty: this run starts at `first`.
            let run = copy_run(first, end, out);
            match run.stop {
                Stop::End | Stop::Pending => break,
                Stop::Evicted => {
                    // Everything older is evicted too, and so may be more by now.
                    out.clear();
                    first = self.resume_after_eviction(run.next);
                }
            }
        }
        // Drop what was evicted while we copied, so that every item returned is retained now.
        let oldest_now = self.oldest_retained(self.end());
        let evicted = oldest_now.saturating_sub(first).min(out.len() as u64);
        if !cfg!(verisync_mutant = "bounded_log_snapshot_keeps_evicted") {
            out.drain(..evicted as usize);
        }
    }

    /// Appends to `out` the visible items from `seq` on (module documentation, *Cursors*),
    /// made of runs of items in turn.
    fn read_since_into<T>(
        &self,
        seq: u64,
        out: &mut Vec<T>,
        mut copy_run: impl FnMut(u64, u64, &mut Vec<T>) -> Run,
    ) -> Progress {
        let end = self.end();
        let mut next = seq.max(self.oldest_retained(end));
        let silent_loss = cfg!(verisync_mutant = "bounded_log_silent_loss");
        let mut lost = if silent_loss { 0 } else { next - seq };
        let appended_from = out.len();
        while next < end {
            let run = copy_run(next, end, out);
            next = run.next;
            match run.stop {
                Stop::End | Stop::Pending => break,
                // Hand out the run read so far; the next read counts the loss.
                Stop::Evicted if out.len() > appended_from => break,
                Stop::Evicted => {
                    let resume = self.resume_after_eviction(next);
                    if !silent_loss {
                        lost += resume - next;
                    }
                    next = resume;
                }
            }
        }
        Progress { next, lost }
    }

    /// Where a walk that found item `seq` evicted goes on: past it, and past every item
    /// evicted since the walk began, so that a reader overtaken by the writers skips to them in
    /// one step instead of one item at a time.
    fn resume_after_eviction(&self, seq: u64) -> u64 {
        (seq + 1).max(self.oldest_retained(self.end()))
    }

    /// A `copy_run` made of one lookup per item.
    fn run_of_lookups<T>(
        from: u64,
        to: u64,
        out: &mut Vec<T>,
        mut lookup: impl FnMut(u64) -> Lookup<T>,
    ) -> Run {
        for next in from..to {
            match lookup(next) {
                Lookup::Found(value) => out.push(value),
                Lookup::Pending => {
                    return Run {
                        next,
                        stop: Stop::Pending,
                    };
                }
                Lookup::Evicted => {
                    return Run {
                        next,
                        stop: Stop::Evicted,
                    };
                }
            }
        }
        Run {
            next: to,
            stop: Stop::End,
        }
    }

    /// Writes the fields both logs' `Debug` show.
    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("total_pushed", &self.end())
            .field("lapped", &self.lapped())
            .finish_non_exhaustive()
    }
}
