//! An error collector that any number of threads push into without a lock, and the joined
//! error type it turns into.
//!
//! [`ErrorCollector`] gathers the errors of many concurrent tasks; [`Errors`] is what is left
//! once they are done: a [`std::error::Error`] whose [`Display`](fmt::Display) lists every
//! error, one per line (like Go's `errors.Join`), with access to each one.
//!
//! # Guarantees
//! - **Progress.** [`push`](ErrorCollector::push) is lock-free: a compare-and-swap claims a
//!   slot (retried, after a short spin, only when another push claimed one first), and at most
//!   one allocation (a compare-and-swap publishes it; the loser frees its own)
//!   happens when the slot is the first of a new segment. The reads ([`has_errors`],
//!   [`len`], [`first`], [`iter`]) are wait-free per element and never block a push.
//! - **Order.** Each push claims the next index, and errors are read in that order. An error
//!   is readable once the `push` that stored it has returned; while pushes are still running,
//!   [`iter`] skips slots whose push has claimed them but not yet finished.
//! - **Every error kept once.** Each pushed error is returned by [`into_vec`] (or dropped with
//!   the collector) exactly once, unless a limit discards it.
//! - **Limit.** [`with_limit(n)`](ErrorCollector::with_limit) keeps the first `n` errors and
//!   only counts the rest; they are dropped at once and reported as "...and N more".
//!
//! [`has_errors`]: ErrorCollector::has_errors
//! [`len`]: ErrorCollector::len
//! [`first`]: ErrorCollector::first
//! [`iter`]: ErrorCollector::iter
//! [`into_vec`]: ErrorCollector::into_vec
//!
//! # Design
//! The errors live in segments whose sizes double: segment `s` holds `FIRST_SEGMENT << s`
//! slots, so index `i` is found from the position of the highest bit of `i + FIRST_SEGMENT`,
//! segments never move, and no push waits for another one to grow the storage. Each slot has a
//! `ready` flag, next to the value, that the push sets (Release) after writing the error, and
//! readers check it (Acquire) before touching the value. A new segment comes from zeroed
//! memory (all zeros is an empty slot), so a large one costs no pass over its slots before
//! the first push into it.
//!
//! # Examples
//! ```
//! use verisync::error_collector::ErrorCollector;
//!
//! let errors = ErrorCollector::new();
//! std::thread::scope(|s| {
//!     for worker in 0..4 {
//!         let errors = &errors;
//!         s.spawn(move || errors.push(format!("worker {worker} failed")));
//!     }
//! });
//! assert_eq!(errors.len(), 4);
//! let joined = errors.into_result().unwrap_err();
//! assert_eq!(joined.len(), 4);
//! assert_eq!(joined.to_string().lines().count(), 4);
//! ```

use std::fmt;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::ptr;

use crate::sync::{
    AtomicBool, AtomicPtr, AtomicUsize, Backoff, MODEL_CHECKED, Ordering, UnsafeCell,
};

/// Slots in segment 0. Model checkers get single-slot first segments, so that a handful of
/// pushes already race to allocate new segments.
const FIRST_SEGMENT: usize = if MODEL_CHECKED { 1 } else { 32 };

/// Enough segments for every index up to `usize::MAX - FIRST_SEGMENT`.
const SEGMENTS: usize = (usize::BITS - FIRST_SEGMENT.trailing_zeros()) as usize;

/// One segment: its slots, each holding an error once its `ready` flag is set.
struct Segment<E> {
    slots: Box<[SlotCell<E>]>,
}

/// A slot's storage: the flag next to the value, so a push touches one cache line.
struct SlotCell<E> {
    value: UnsafeCell<MaybeUninit<E>>,
    ready: AtomicBool,
}

/// One slot of a published segment.
struct Slot<'a, E> {
    ready: &'a AtomicBool,
    value: &'a UnsafeCell<MaybeUninit<E>>,
}

impl<E> Segment<E> {
    /// A segment of `len` empty slots, from zeroed memory: all zeros is an empty slot (a clear
    /// std `AtomicBool`, and any bytes are an uninitialized value). The allocator hands a large
    /// zeroed block out as fresh pages, so no pass over the slots is paid up front (by the
    /// installing push and by a push that loses the race to install), and each page is first
    /// touched by the pushes that fill it.
    #[cfg(not(any(verisync_loom, verisync_shuttle)))]
    fn new(len: usize) -> Self {
        let slots = Box::<[SlotCell<E>]>::new_zeroed_slice(len);
        // SAFETY: every `SlotCell` is valid all zeros (see above): the facade's `UnsafeCell` is
        // std's under `repr(transparent)`, around a `MaybeUninit`.
        let slots = unsafe { slots.assume_init() };
        Self { slots }
    }

    /// A segment of `len` empty slots: the checkers' atomics are built one by one.
    #[cfg(any(verisync_loom, verisync_shuttle))]
    fn new(len: usize) -> Self {
        let slots = (0..len)
            .map(|_| SlotCell {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                ready: AtomicBool::new(false),
            })
            .collect();
        Self { slots }
    }

    fn slot(&self, offset: usize) -> Slot<'_, E> {
        let cell = &self.slots[offset];
        Slot {
            ready: &cell.ready,
            value: &cell.value,
        }
    }
}

/// Where index `index` lives: (segment, offset in it, segment length).
fn locate(index: usize) -> (usize, usize, usize) {
    let shifted = index + FIRST_SEGMENT;
    let top = usize::BITS - 1 - shifted.leading_zeros();
    let segment = (top - FIRST_SEGMENT.trailing_zeros()) as usize;
    let len = 1usize << top;
    (segment, shifted - len, len)
}

/// A lock-free, append-only collection of errors from many threads.
///
/// See the [module documentation](self) for the guarantees.
///
/// # Examples
/// ```
/// use verisync::error_collector::ErrorCollector;
///
/// let errors = ErrorCollector::new();
/// assert!(!errors.has_errors());
/// errors.push("disk full");
/// assert_eq!(errors.first(), Some(&"disk full"));
/// ```
pub struct ErrorCollector<E> {
    /// The next index to claim; counts every push, kept or not.
    next: AtomicUsize,
    /// At most this many errors are kept.
    limit: usize,
    /// Segment `s` has `FIRST_SEGMENT << s` slots; null until some push needs it.
    segments: [AtomicPtr<Segment<E>>; SEGMENTS],
}

// SAFETY: the collector owns its errors and hands them to whichever thread calls `into_vec` or
// drops it, so sending it sends the errors: `E: Send` is needed and enough.
unsafe impl<E: Send> Send for ErrorCollector<E> {}
// SAFETY: through `&ErrorCollector` errors move in from any thread (`push`, hence `E: Send`) and
// are read by reference from any thread (`iter`, `first`, hence `E: Sync`). Each slot is written
// once, by the push that claimed its index, before the Release store of its `ready` flag, and
// read only after an Acquire load of that flag saw it set.
unsafe impl<E: Send + Sync> Sync for ErrorCollector<E> {}

// Unwind safety: no operation runs user code while a slot is claimed but not yet marked ready,
// so a panic (a value's `Drop` while the collector is dropped) leaves no slot half-written.
impl<E> UnwindSafe for ErrorCollector<E> {}
impl<E> RefUnwindSafe for ErrorCollector<E> {}

impl<E> Default for ErrorCollector<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> ErrorCollector<E> {
    /// Creates an empty collector that keeps every error.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::<std::io::Error>::new();
    /// assert!(errors.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// Creates an empty collector that keeps the first `limit` errors and only counts the
    /// rest. A limit of 0 keeps none.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::with_limit(2);
    /// for i in 0..5 {
    ///     errors.push(i);
    /// }
    /// assert_eq!(errors.len(), 5);
    /// assert_eq!(errors.omitted(), 3);
    /// let joined = errors.into_result().unwrap_err();
    /// assert_eq!(joined.as_slice(), &[0, 1]);
    /// assert_eq!(joined.to_string(), "0\n1\n...and 3 more");
    /// ```
    pub fn with_limit(limit: usize) -> Self {
        Self {
            next: AtomicUsize::new(0),
            limit,
            segments: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// Adds `error`. Lock-free; never blocks.
    ///
    /// Beyond the limit the error is only counted, and dropped at once.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(std::fmt::Error);
    /// assert_eq!(errors.len(), 1);
    /// ```
    pub fn push(&self, error: E) {
        let index = self.claim_index();
        let limit = mutant!(
            "collector_limit_off_by_one",
            self.limit.saturating_add(1),
            self.limit
        );
        if index >= limit {
            return;
        }
        let slot = self.claimed_slot(index);
        // SAFETY: `index` came from `fetch_add`, so this push is the only writer of the slot,
        // and no reader touches it before the `ready` store below.
        slot.value
            .with_mut(|value| unsafe { (*value).write(error) });
        // Release: pairs with the Acquire load in `ready_slot` (and `Drop`), which then sees
        // the value written above.
        slot.ready.store(true, Ordering::Release);
    }

    /// Whether any error was pushed (counting those beyond the limit).
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::with_limit(0);
    /// errors.push("lost");
    /// assert!(errors.has_errors());
    /// ```
    pub fn has_errors(&self) -> bool {
        !self.is_empty()
    }

    /// Whether no error was pushed.
    ///
    /// # Examples
    /// ```
    /// assert!(verisync::error_collector::ErrorCollector::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many errors were pushed, counting those beyond the limit and those whose push is
    /// still running.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(1);
    /// errors.push(2);
    /// assert_eq!(errors.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        // Relaxed: a count, read on its own; nothing is read through it.
        self.next.load(Ordering::Relaxed)
    }

    /// How many pushed errors the limit discarded.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::with_limit(1);
    /// errors.push('a');
    /// errors.push('b');
    /// assert_eq!(errors.omitted(), 1);
    /// ```
    pub fn omitted(&self) -> usize {
        self.len().saturating_sub(self.limit)
    }

    /// The error pushed first, once its push has returned.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// assert_eq!(errors.first(), None);
    /// errors.push("first");
    /// errors.push("second");
    /// assert_eq!(errors.first(), Some(&"first"));
    /// ```
    pub fn first(&self) -> Option<&E> {
        if self.limit == 0 {
            return None;
        }
        self.ready_slot(0).map(|slot| {
            // SAFETY: the slot is ready (Acquire in `ready_slot`), so it holds a value that
            // stays in place and unchanged while `&self` lives.
            slot.value
                .with(|value| unsafe { (*value).assume_init_ref() })
        })
    }

    /// The kept errors in push order, skipping any whose push has not returned yet.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(3);
    /// errors.push(1);
    /// assert_eq!(errors.iter().copied().collect::<Vec<_>>(), [3, 1]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &E> + '_ {
        let end = self.len().min(self.limit);
        (0..end).filter_map(move |index| {
            self.ready_slot(index).map(|slot| {
                // SAFETY: as in `first`: a ready slot's value stays put while `&self` lives.
                slot.value
                    .with(|value| unsafe { (*value).assume_init_ref() })
            })
        })
    }

    /// Takes the kept errors out, in push order.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push("a");
    /// errors.push("b");
    /// assert_eq!(errors.into_vec(), ["a", "b"]);
    /// ```
    pub fn into_vec(self) -> Vec<E> {
        self.into_errors().errors
    }

    /// `Ok(())` if nothing was pushed, else every kept error joined into one [`Errors`].
    ///
    /// # Examples
    /// ```
    /// use verisync::error_collector::ErrorCollector;
    ///
    /// assert!(ErrorCollector::<String>::new().into_result().is_ok());
    /// let errors = ErrorCollector::new();
    /// errors.push("timeout");
    /// assert_eq!(errors.into_result().unwrap_err().to_string(), "timeout");
    /// ```
    pub fn into_result(self) -> Result<(), Errors<E>> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_errors())
        }
    }

    fn into_errors(mut self) -> Errors<E> {
        let omitted = self.omitted();
        let errors = self.take_ready();
        Errors { errors, omitted }
    }

    /// Moves the kept errors out of their slots, in push order, and empties the collector's
    /// count, so that no slot is read again (by `Drop`, after `into_errors`).
    fn take_ready(&mut self) -> Vec<E> {
        let end = self.len().min(self.limit);
        let mut errors = Vec::with_capacity(end);
        let mut first_index = 0;
        for (segment, head) in self.segments.iter().enumerate() {
            if first_index >= end {
                break;
            }
            let len = FIRST_SEGMENT << segment;
            // Relaxed: `&mut self`; whoever owns the collector synchronized with every push
            // before it could call this.
            let published = head.load(Ordering::Relaxed);
            if !published.is_null() {
                // SAFETY: a published segment lives until the collector is dropped.
                let segment = unsafe { &*published };
                for cell in &segment.slots[..len.min(end - first_index)] {
                    // Relaxed: as above.
                    if cell.ready.load(Ordering::Relaxed) {
                        let value = &cell.value;
                        // SAFETY: the slot was ready, so it holds a value; it is read once:
                        // the count emptied below keeps every later read away from it.
                        let error = value.with(|value| unsafe { (*value).assume_init_read() });
                        errors.push(error);
                    }
                }
            }
            first_index += len;
        }
        // Relaxed: `&mut self`, as above. The flags stay set (writing them back would dirty
        // every line just read); with no index claimed, no read looks at them.
        self.next.store(0, Ordering::Relaxed);
        errors
    }

    /// The slot of `index`, allocating its segment if no push has yet.
    /// Claims the next index. A compare-and-swap that backs off when another push won, rather
    /// than a `fetch_add`: pushers racing on one counter then take runs of indices in turn,
    /// and each run fills its slots' cache lines alone instead of sharing every line.
    fn claim_index(&self) -> usize {
        let backoff = Backoff::new();
        // Relaxed: the index only has to be unique; the slot's contents are published by the
        // Release store of its `ready` flag, not by this counter.
        let mut next = self.next.load(Ordering::Relaxed);
        if cfg!(verisync_mutant = "collector_claim_not_atomic") {
            self.next.store(next + 1, Ordering::Relaxed);
            return next;
        }
        loop {
            match self.next.compare_exchange_weak(
                next,
                next + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => next = actual,
            }
            backoff.spin();
        }
    }

    fn claimed_slot(&self, index: usize) -> Slot<'_, E> {
        let (segment, offset, len) = locate(index);
        let head = &self.segments[segment];
        // Acquire: pairs with the AcqRel compare-exchange in `install_segment` that published
        // the segment, so its initialized flags are visible.
        let mut published = head.load(Ordering::Acquire);
        if published.is_null() {
            published = Self::install_segment(head, len);
        }
        // SAFETY: a published segment lives until the collector is dropped.
        unsafe { &*published }.slot(offset)
    }

    /// Allocates a segment of `len` empty slots and publishes it in `head`, unless another
    /// push did first; returns whichever segment won.
    #[cold]
    fn install_segment(head: &AtomicPtr<Segment<E>>, len: usize) -> *mut Segment<E> {
        let fresh = Box::into_raw(Box::new(Segment::new(len)));
        // AcqRel: Release publishes the initialized flags to the Acquire loads in
        // `claimed_slot` and `ready_slot`; Acquire (also on failure) pairs with the winner's
        // Release, so its flags are visible to us.
        match head.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => fresh,
            Err(_) if cfg!(verisync_mutant = "collector_lost_race") => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` above and was never published, so
                // this is its only owner.
                drop(unsafe { Box::from_raw(fresh) });
                winner
            }
        }
    }

    /// The slot of `index` if its error is readable.
    fn ready_slot(&self, index: usize) -> Option<Slot<'_, E>> {
        let (segment, offset, _) = locate(index);
        // Acquire: pairs with the AcqRel compare-exchange in `install_segment`.
        let published = self.segments[segment].load(Ordering::Acquire);
        if published.is_null() {
            return None;
        }
        // SAFETY: a published segment lives until the collector is dropped.
        let slot = unsafe { &*published }.slot(offset);
        // Acquire: pairs with the Release store in `push`, so the value is visible.
        let ready = slot
            .ready
            .load(ordering!("collector_relaxed_ready", Acquire));
        ready.then_some(slot)
    }
}

impl<E> Drop for ErrorCollector<E> {
    fn drop(&mut self) {
        // Moving the values out cannot panic; dropping them afterwards, as a `Vec`, carries on
        // past a panicking `Drop` and the segments are already freed by then.
        let values = self.take_ready();
        for head in &self.segments {
            // Relaxed: `&mut self`; whoever owns the collector synchronized with every push
            // before it could drop it.
            let published = head.load(Ordering::Relaxed);
            if !published.is_null() {
                // SAFETY: a published segment came from `Box::into_raw`, and the collector
                // being dropped was its only owner.
                drop(unsafe { Box::from_raw(published) });
            }
        }
        drop(values);
    }
}

impl<E: fmt::Debug> fmt::Debug for ErrorCollector<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorCollector")
            .field("errors", &self.iter().collect::<Vec<_>>())
            .field("omitted", &self.omitted())
            .finish()
    }
}

/// Several errors joined into one: what [`ErrorCollector::into_result`] returns.
///
/// Its [`Display`](fmt::Display) writes each error on its own line, in push order, then
/// "...and N more" if a limit discarded some. [`first`](Self::first) is the root cause when
/// the others followed from it.
///
/// # Examples
/// ```
/// use verisync::error_collector::ErrorCollector;
///
/// let errors = ErrorCollector::new();
/// errors.push(std::fmt::Error);
/// errors.push(std::fmt::Error);
/// let joined = errors.into_result().unwrap_err();
/// assert_eq!(joined.len(), 2);
/// let as_error: &dyn std::error::Error = &joined;
/// assert!(as_error.to_string().contains('\n'));
/// for error in &joined {
///     assert_eq!(error.to_string(), "an error occurred when formatting an argument");
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Errors<E> {
    errors: Vec<E>,
    omitted: usize,
}

impl<E> Errors<E> {
    /// The kept errors, in push order.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(7);
    /// assert_eq!(errors.into_result().unwrap_err().as_slice(), &[7]);
    /// ```
    pub fn as_slice(&self) -> &[E] {
        &self.errors
    }

    /// How many errors are kept (not counting [`omitted`](Self::omitted) ones).
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(7);
    /// assert_eq!(errors.into_result().unwrap_err().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether no error is kept (possible only when a limit of 0 discarded them all).
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::with_limit(0);
    /// errors.push(7);
    /// let joined = errors.into_result().unwrap_err();
    /// assert!(joined.is_empty());
    /// assert_eq!(joined.omitted(), 1);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors a limit discarded.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::with_limit(1);
    /// errors.push(1);
    /// errors.push(2);
    /// assert_eq!(errors.into_result().unwrap_err().omitted(), 1);
    /// ```
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// The first error, the root cause when the others followed from it.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push("root");
    /// errors.push("follow-up");
    /// assert_eq!(errors.into_result().unwrap_err().first(), Some(&"root"));
    /// ```
    pub fn first(&self) -> Option<&E> {
        self.errors.first()
    }

    /// The kept errors, in push order.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push(1);
    /// errors.push(2);
    /// let joined = errors.into_result().unwrap_err();
    /// assert_eq!(joined.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.errors.iter()
    }

    /// Takes the kept errors out, in push order.
    ///
    /// # Examples
    /// ```
    /// let errors = verisync::error_collector::ErrorCollector::new();
    /// errors.push("x");
    /// assert_eq!(errors.into_result().unwrap_err().into_vec(), ["x"]);
    /// ```
    pub fn into_vec(self) -> Vec<E> {
        self.errors
    }
}

impl<E> IntoIterator for Errors<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a Errors<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl<E: fmt::Display> fmt::Display for Errors<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for error in &self.errors {
            write!(f, "{separator}{error}")?;
            separator = "\n";
        }
        if self.omitted != 0 {
            write!(f, "{separator}...and {} more", self.omitted)?;
        }
        Ok(())
    }
}

/// For any `E` that can be displayed, including `String` and `Box<dyn Error>` (which do not
/// implement `Error` themselves); each error is reached through [`Errors::iter`].
impl<E: fmt::Debug + fmt::Display> std::error::Error for Errors<E> {}
