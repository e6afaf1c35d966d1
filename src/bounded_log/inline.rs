//! The engine of [`InlineLog`]: each slot is one 16-byte atomic word, the sequence number in
//! its high half and the value's bytes in its low half.
//!
//! A push installs its word with one compare-and-swap, a reader copies it with one atomic
//! load: the sequence number and the value always travel together, so no copy is ever torn and
//! there is nothing to validate, retry or reclaim. A seqlock (a stamp word beside the value's
//! words) would need the writers of one slot to exclude each other while they copy, since two
//! of them writing the same words would leave a mix under the later stamp; then a push one lap
//! ahead of a writer stalled mid-copy would have to wait for it, which `push` never does.

use std::fmt;
use std::marker::PhantomData;
use std::mem::{MaybeUninit, size_of};

use bytemuck::Pod;

use super::{CapacityError, Progress, ReadSince, Run, Stop, Tickets};
use crate::sync::{AtomicU128, Ordering};

/// A slot that was never written: stamp 0, which no sequence number has.
const EMPTY: u128 = 0;

/// A log that keeps the newest `capacity` small plain-data values inside its slots; any number
/// of threads push and read. The values are [`Pod`] (any bit pattern is a value, and a value
/// has no padding) and at most 8 bytes: integers, floats, and `#[repr(C)]` structs of them
/// with `#[derive(Pod, Zeroable)]`.
///
/// A push allocates nothing and issues no fence; a snapshot copies one contiguous array of
/// 16-byte words. Same API and guarantees as [`BoundedLog`](super::BoundedLog) (module
/// documentation), which holds values of any type.
///
/// # Examples
/// ```
/// use verisync::bounded_log::InlineLog;
///
/// let log = InlineLog::new(3);
/// for temperature in [20.5f64, 21.0, 21.5, 22.0] {
///     log.push(temperature);
/// }
/// assert_eq!(log.snapshot(), [21.0, 21.5, 22.0]);
/// ```
///
/// A type over 8 bytes does not compile:
/// ```compile_fail
/// let log = verisync::bounded_log::InlineLog::<[u64; 2]>::new(8);
/// ```
pub struct InlineLog<T> {
    tickets: Tickets,
    /// Slot `seq % capacity` holds the word of the newest item installed there ([`EMPTY`]
    /// before the first one).
    slots: Box<[AtomicU128]>,
    _values: PhantomData<T>,
}

impl<T: Pod> InlineLog<T> {
    /// Stops the build of an `InlineLog` of a type its slots cannot hold.
    const FITS_IN_A_SLOT: () = assert!(
        size_of::<T>() <= size_of::<u64>(),
        "verisync::bounded_log::InlineLog holds values of at most 8 bytes; use BoundedLog"
    );

    /// Creates a log that keeps the newest `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is 0 or the slot array would exceed `isize::MAX` bytes;
    /// [`try_new`](Self::try_new) returns these as errors instead.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::<u64>::new(100);
    /// assert_eq!(log.capacity(), 100);
    /// ```
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(log) => log,
            Err(err) => panic!("verisync::bounded_log::InlineLog::new: {err}"),
        }
    }

    /// Creates a log that keeps the newest `capacity` items, or says why it cannot.
    ///
    /// # Examples
    /// ```
    /// use verisync::bounded_log::{CapacityError, InlineLog};
    ///
    /// assert!(InlineLog::<u32>::try_new(7).is_ok());
    /// assert_eq!(InlineLog::<u32>::try_new(0).unwrap_err(), CapacityError::Zero);
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        let () = Self::FITS_IN_A_SLOT;
        CapacityError::check::<AtomicU128>(capacity, 1)?;
        Ok(Self {
            tickets: Tickets::new(capacity),
            slots: CapacityError::boxed_slice(capacity, |_| AtomicU128::new(EMPTY))?,
            _values: PhantomData,
        })
    }

    /// Appends `value` and returns its sequence number; evicts the oldest item if the log is
    /// full. Lock-free; never waits for a reader or another writer.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// assert_eq!(log.push(7u8), 0);
    /// assert_eq!(log.push(8), 1);
    /// assert_eq!(log.push(9), 2);
    /// assert_eq!(log.snapshot(), [8, 9]);
    /// ```
    pub fn push(&self, value: T) -> u64 {
        let seq = self.tickets.take();
        let slot = &self.slots[self.tickets.index(seq)];
        let word = slot_word(seq, bits_of(value));
        // Relaxed: only the first expected value of the compare-and-swap, which reads the
        // slot again.
        let mut current = slot.load(Ordering::Relaxed);
        let overwrite_newer = cfg!(verisync_mutant = "inline_log_lapped_overwrites");
        loop {
            if stamp_of(current) > stamp_of(word) && !overwrite_newer {
                // A push one lap ahead installed first: this one was lapped.
                self.tickets.count_lapped();
                return seq;
            }
            // Release: pairs with the readers' Acquire load of the slot, so a reader that gets
            // this item sees what the pusher did before the push. Failure Relaxed: only a new
            // expected value.
            if cfg!(verisync_mutant = "inline_log_stamp_before_value") {
                current = install_stamp_alone(slot, current, seq);
            }
            match slot.compare_exchange_weak(
                current,
                word,
                ordering!("inline_log_relaxed_install", Release),
                Ordering::Relaxed,
            ) {
                Ok(_) => return seq,
                Err(actual) => current = actual,
            }
        }
    }

    /// Appends copies of items `from..to` (at most `capacity` of them) to `out` while each is
    /// found: one pass over the slots from `from`'s, wrapping once, writing into `out`'s spare
    /// capacity.
    fn copy_run(&self, from: u64, to: u64, out: &mut Vec<T>) -> Run {
        let wanted = (to - from) as usize;
        out.reserve(wanted);
        let dest = &mut out.spare_capacity_mut()[..wanted];
        let (wrapped, unwrapped) = self.slots.split_at(self.tickets.index(from));
        let mut run = copy_while_held(unwrapped, from, dest);
        let copied = (run.next - from) as usize;
        if matches!(run.stop, Stop::End) && copied < wanted {
            run = copy_while_held(wrapped, run.next, &mut dest[copied..]);
        }
        let copied = (run.next - from) as usize;
        // SAFETY: `copy_while_held` wrote the first `copied` elements of the spare capacity
        // (item `from + k` into element `k`, the two passes back to back), and `copied` is at
        // most `wanted`, which `reserve` made room for.
        unsafe { out.set_len(out.len() + copied) };
        run
    }

    /// Copies the retained items, oldest first: a contiguous run of sequence numbers ending
    /// before the first push still in flight (module documentation, *Snapshots*). Wait-free.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// assert!(log.snapshot().is_empty());
    /// log.push(1i32);
    /// log.push(2);
    /// log.push(3);
    /// assert_eq!(log.snapshot(), [2, 3]);
    /// ```
    pub fn snapshot(&self) -> Vec<T> {
        let mut items = Vec::new();
        self.snapshot_into(&mut items);
        items
    }

    /// [`snapshot`](Self::snapshot) into `items`, whose contents it replaces: a reader that
    /// snapshots in a loop reuses one buffer and allocates nothing once it has grown.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// let mut items = vec![0u16];
    /// log.push(1);
    /// log.snapshot_into(&mut items);
    /// assert_eq!(items, [1]);
    /// log.push(2);
    /// log.push(3);
    /// log.snapshot_into(&mut items);
    /// assert_eq!(items, [2, 3]);
    /// ```
    pub fn snapshot_into(&self, items: &mut Vec<T>) {
        self.tickets
            .snapshot_into(items, |from, to, out| self.copy_run(from, to, out));
    }

    /// Reads the items from sequence number `seq` on: pass 0 the first time, then the
    /// [`next`](ReadSince::next) of the previous read. Items evicted before the reader got to them
    /// are counted in [`lost`](ReadSince::lost). Wait-free.
    ///
    /// The items returned are contiguous, from `seq + lost` to `next - 1`; the read stops
    /// before a push still in flight and at the newest item. A `seq` ahead of the log reads
    /// nothing and returns `next == seq` with `lost == 0`, as in
    /// [`BoundedLog::read_since`](super::BoundedLog::read_since).
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// log.push(1u64);
    /// let read = log.read_since(0);
    /// assert_eq!((read.items, read.next, read.lost), (vec![1], 1, 0));
    /// for i in 2..=4 {
    ///     log.push(i);
    /// }
    /// // 2 was evicted before this cursor got to it.
    /// let read = log.read_since(1);
    /// assert_eq!((read.items, read.next, read.lost), (vec![3, 4], 4, 1));
    /// ```
    pub fn read_since(&self, seq: u64) -> ReadSince<T> {
        let mut items = Vec::new();
        let Progress { next, lost } = self.read_since_into(seq, &mut items);
        ReadSince { items, next, lost }
    }

    /// [`read_since`](Self::read_since) that appends the items to `items` (keeping what it
    /// held) and returns the rest of the answer: a cursor that polls reuses one buffer.
    ///
    /// # Examples
    /// ```
    /// use verisync::bounded_log::{InlineLog, Progress};
    ///
    /// let log = InlineLog::new(4);
    /// let mut items = Vec::new();
    /// log.push(1u8);
    /// let Progress { next, .. } = log.read_since_into(0, &mut items);
    /// log.push(2);
    /// let progress = log.read_since_into(next, &mut items);
    /// assert_eq!(items, [1, 2]);
    /// assert_eq!(progress, Progress { next: 2, lost: 0 });
    /// ```
    pub fn read_since_into(&self, seq: u64, items: &mut Vec<T>) -> Progress {
        self.tickets
            .read_since_into(seq, items, |from, to, out| self.copy_run(from, to, out))
    }

    /// The number of items retained, counting pushes still in flight: `min(capacity, pushes
    /// since the last clear)`. Wait-free.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// assert_eq!(log.len(), 0);
    /// (0..5u32).for_each(|i| { log.push(i); });
    /// assert_eq!(log.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    /// Whether [`len`](Self::len) is 0.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// assert!(log.is_empty());
    /// log.push(0u8);
    /// assert!(!log.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of items the log keeps.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(verisync::bounded_log::InlineLog::<u8>::new(5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The number of pushes so far (taken tickets, so including pushes in flight): the
    /// sequence number the next push will get. Not reset by [`clear`](Self::clear).
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(1);
    /// log.push(1u8);
    /// log.push(2);
    /// assert_eq!(log.total_pushed(), 2);
    /// ```
    pub fn total_pushed(&self) -> u64 {
        self.tickets.end()
    }

    /// The number of pushes whose item was dropped because a push one whole lap later
    /// installed into the same slot first (only possible when a writer stalls for a lap).
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(1);
    /// log.push(1u8);
    /// log.push(2);
    /// assert_eq!(log.lapped(), 0);
    /// ```
    pub fn lapped(&self) -> u64 {
        self.tickets.lapped()
    }

    /// Forgets every item. Sequence numbers keep counting: the next push gets
    /// [`total_pushed`](Self::total_pushed), and cursors count the cleared items as lost.
    ///
    /// # Examples
    /// ```
    /// let mut log = verisync::bounded_log::InlineLog::new(4);
    /// log.push(1u8);
    /// log.clear();
    /// assert!(log.snapshot().is_empty());
    /// assert_eq!(log.push(2), 1);
    /// assert_eq!(log.read_since(0).lost, 1);
    /// ```
    pub fn clear(&mut self) {
        // The slots keep their words: every one is older than the new floor, so readers take
        // it for a push in flight, never for an item.
        self.tickets.clear();
    }

    /// The retained items, oldest first.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::InlineLog::new(2);
    /// for i in 1..=3u32 {
    ///     log.push(i);
    /// }
    /// assert_eq!(log.into_vec(), [2, 3]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        // We own the log, so every push has returned: this is exactly the retained items.
        self.snapshot()
    }
}

impl<T> fmt::Debug for InlineLog<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tickets.debug("InlineLog", f)
    }
}

/// Copies into `dest` the values of `slots` while slot `k` holds item `from + k`; the run ends
/// when `slots` or `dest` does.
fn copy_while_held<T: Pod>(slots: &[AtomicU128], from: u64, dest: &mut [MaybeUninit<T>]) -> Run {
    #[cfg(all(
        target_arch = "x86_64",
        not(miri),
        not(verisync_loom),
        not(verisync_shuttle)
    ))]
    if vector_loads::are_atomic() {
        // SAFETY: checked just above.
        return unsafe { vector_loads::copy_while_held(slots, from, dest) };
    }
    copy_while_held_by(slots, from, dest, |slot| {
        // Acquire: pairs with the Release of the compare-and-swap that installed the word.
        slot.load(ordering!("inline_log_relaxed_load", Acquire))
    })
}

/// [`copy_while_held`], loading each slot's word with `load`.
#[inline(always)]
fn copy_while_held_by<T: Pod>(
    slots: &[AtomicU128],
    from: u64,
    dest: &mut [MaybeUninit<T>],
    load: impl Fn(&AtomicU128) -> u128,
) -> Run {
    let mut next = from;
    for (slot, value) in slots.iter().zip(dest) {
        let word = load(slot);
        let found = stamp_of(word);
        if found == stamp(next) || cfg!(verisync_mutant = "inline_log_unvalidated") {
            value.write(value_of(word));
            next += 1;
            continue;
        }
        let stop = if found < stamp(next) {
            Stop::Pending
        } else {
            Stop::Evicted
        };
        return Run { next, stop };
    }
    Run {
        next,
        stop: Stop::End,
    }
}

/// A reader's slot loads without a call per load, four slots a step, where the CPU allows it.
///
/// A 16-byte atomic load through `portable_atomic` is a call through a function pointer that it
/// picks at run time (an x86-64 build cannot assume AVX), which costs more than the load itself
/// in a snapshot's loop. Here the check is made once per run of slots, and the loop loads four
/// slots with inlined `VMOVDQA`s, compares their stamps two at a time with the ones the run
/// needs, and stores their values together. A step whose stamps differ is left to the loop of
/// the other builds (`copy_while_held_by`), which reloads its slots one by one and finds where
/// the run stops. Native x86-64 only: Miri, loom and shuttle read through the facade.
#[cfg(all(
    target_arch = "x86_64",
    not(miri),
    not(verisync_loom),
    not(verisync_shuttle)
))]
mod vector_loads {
    use std::arch::asm;
    use std::arch::x86_64::{
        __m128i, _mm_add_epi64, _mm_and_si128, _mm_cmpeq_epi64, _mm_cvtsi128_si64,
        _mm_extract_epi64, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi64x, _mm_storeu_si128,
        _mm_unpackhi_epi64, _mm_unpacklo_epi64,
    };
    use std::mem::{MaybeUninit, size_of};

    use bytemuck::Pod;

    use super::{Run, copy_while_held_by, stamp, value_of};
    use crate::sync::AtomicU128;

    /// Slots a step of the loop loads.
    const STEP: usize = 4;

    /// Whether a `VMOVDQA` of a slot is an atomic load of it: the CPU has AVX, with which Intel,
    /// AMD and Zhaoxin guarantee that an aligned 16-byte `VMOVDQA` is atomic, and has
    /// `CMPXCHG16B`, so that `portable_atomic` installs every word with it (not under the lock
    /// of its fallback, which these loads would not take).
    pub(super) fn are_atomic() -> bool {
        std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("cmpxchg16b")
    }

    /// [`copy_while_held`](super::copy_while_held) four slots a step.
    ///
    /// # Safety
    /// [`are_atomic`] returned true.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn copy_while_held<T: Pod>(
        slots: &[AtomicU128],
        from: u64,
        dest: &mut [MaybeUninit<T>],
    ) -> Run {
        let steps = slots.len().min(dest.len()) / STEP;
        // Lane 0 the stamp the step's first slot must have, lane 1 the second's; `later` the
        // same for its third and fourth.
        let mut sooner = _mm_set_epi64x(stamp(from + 1) as i64, stamp(from) as i64);
        let mut later = _mm_set_epi64x(stamp(from + 3) as i64, stamp(from + 2) as i64);
        let step = _mm_set1_epi64x(STEP as i64);
        let mut copied = 0;
        while copied < steps * STEP {
            // SAFETY: `copied + STEP` is at most `slots.len()`; the caller checked `are_atomic`.
            let [a, b, c, d] = unsafe { load_step(&slots[copied..copied + STEP]) };
            let sooner_found = _mm_cmpeq_epi64(_mm_unpackhi_epi64(a, b), sooner);
            let later_found = _mm_cmpeq_epi64(_mm_unpackhi_epi64(c, d), later);
            let all_found = _mm_movemask_epi8(_mm_and_si128(sooner_found, later_found)) == 0xffff;
            if !all_found && !cfg!(verisync_mutant = "inline_log_unvalidated") {
                break;
            }
            store_values(
                &mut dest[copied..copied + STEP],
                _mm_unpacklo_epi64(a, b),
                _mm_unpacklo_epi64(c, d),
            );
            sooner = _mm_add_epi64(sooner, step);
            later = _mm_add_epi64(later, step);
            copied += STEP;
        }
        let next = from + copied as u64;
        // SAFETY: the caller checked `are_atomic`, which `load` requires.
        copy_while_held_by(&slots[copied..], next, &mut dest[copied..], |slot| unsafe {
            load(slot)
        })
    }

    /// Writes the values of a step's slots, two per vector (value bits in each lane), to `dest`.
    #[target_feature(enable = "avx")]
    fn store_values<T: Pod>(dest: &mut [MaybeUninit<T>], sooner: __m128i, later: __m128i) {
        if size_of::<T>() == size_of::<u64>() {
            let dest = dest.as_mut_ptr().cast::<__m128i>();
            // SAFETY: `dest` is `STEP` elements of 8 bytes, 32 bytes in all; the unaligned
            // stores write 16 of them each, plain `T`s of any bit pattern (`Pod`).
            unsafe {
                _mm_storeu_si128(dest, sooner);
                _mm_storeu_si128(dest.add(1), later);
            }
            return;
        }
        let lanes = [
            _mm_cvtsi128_si64(sooner),
            _mm_extract_epi64(sooner, 1),
            _mm_cvtsi128_si64(later),
            _mm_extract_epi64(later, 1),
        ];
        for (value, bits) in dest.iter_mut().zip(lanes) {
            value.write(value_of(u128::from(bits as u64)));
        }
    }

    /// Loads the words of `STEP` consecutive slots, each as `slot.load(Ordering::Acquire)`
    /// would, in order.
    ///
    /// # Safety
    /// [`are_atomic`] returned true, and `slots` holds `STEP` slots.
    #[target_feature(enable = "avx")]
    #[inline]
    unsafe fn load_step(slots: &[AtomicU128]) -> [__m128i; STEP] {
        let (a, b, c, d): (__m128i, __m128i, __m128i, __m128i);
        // Acquire: pairs with the Release compare-and-swap that installed each word, as the
        // facade's load does. x86 keeps later loads and stores after a load, and the block has
        // neither `pure` nor `readonly`, so the compiler moves no memory access across it.
        // SAFETY: `slots` is `STEP` live, 16-byte aligned, consecutive `AtomicU128`s that the
        // block only reads; with AVX an aligned VMOVDQA is atomic and every slot write is a
        // CMPXCHG16B (`are_atomic`).
        unsafe {
            asm!(
                "vmovdqa {a}, xmmword ptr [{slots}]",
                "vmovdqa {b}, xmmword ptr [{slots} + 16]",
                "vmovdqa {c}, xmmword ptr [{slots} + 32]",
                "vmovdqa {d}, xmmword ptr [{slots} + 48]",
                slots = in(reg) slots.as_ptr(),
                a = out(xmm_reg) a,
                b = out(xmm_reg) b,
                c = out(xmm_reg) c,
                d = out(xmm_reg) d,
                options(nostack, preserves_flags),
            );
        }
        [a, b, c, d]
    }

    /// Loads `slot`'s word, as `slot.load(Ordering::Acquire)` would.
    ///
    /// # Safety
    /// [`are_atomic`] returned true.
    #[target_feature(enable = "avx")]
    #[inline]
    unsafe fn load(slot: &AtomicU128) -> u128 {
        let (low, high): (u64, u64);
        // Acquire: as in `load_step`.
        // SAFETY: as in `load_step`, for the one slot.
        unsafe {
            asm!(
                "vmovdqa {word}, xmmword ptr [{slot}]",
                "vmovq {low}, {word}",
                "vpextrq {high}, {word}, 1",
                slot = in(reg) slot.as_ptr(),
                word = out(xmm_reg) _,
                low = out(reg) low,
                high = out(reg) high,
                options(nostack, preserves_flags),
            );
        }
        (u128::from(high) << 64) | u128::from(low)
    }
}

/// Seeded bug `inline_log_stamp_before_value`: installs item `seq`'s stamp over the value bits
/// of `current`, as a push that wrote the stamp before the value would; returns the slot's word
/// after.
fn install_stamp_alone(slot: &AtomicU128, current: u128, seq: u64) -> u128 {
    let stamped = slot_word(seq, current as u64);
    // Release and Relaxed: as in `push`, whose install this splits in two.
    match slot.compare_exchange_weak(current, stamped, Ordering::Release, Ordering::Relaxed) {
        Ok(_) => stamped,
        Err(actual) => actual,
    }
}

/// The stamp a slot holding item `seq` has: `seq + 1`, so that 0 means never written.
fn stamp(seq: u64) -> u64 {
    // Unreachable overflow: `u64::MAX` pushes take centuries.
    seq + 1
}

/// The word of item `seq` with value bits `bits`.
fn slot_word(seq: u64, bits: u64) -> u128 {
    (u128::from(stamp(seq)) << 64) | u128::from(bits)
}

/// The stamp of a slot word.
fn stamp_of(word: u128) -> u64 {
    (word >> 64) as u64
}

/// `value`'s bytes in the low bytes of a word (the rest zero).
fn bits_of<T: Pod>(value: T) -> u64 {
    let mut bytes = [0; 8];
    bytes[..size_of::<T>()].copy_from_slice(bytemuck::bytes_of(&value));
    u64::from_ne_bytes(bytes)
}

/// The value whose bytes are the low bytes of `word`'s value half.
fn value_of<T: Pod>(word: u128) -> T {
    let bytes = (word as u64).to_ne_bytes();
    bytemuck::pod_read_unaligned(&bytes[..size_of::<T>()])
}
