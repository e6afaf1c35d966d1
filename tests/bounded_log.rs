//! Behaviour tests for `verisync::bounded_log` on std threads; the same tests run under Miri.
//!
//! Tests whose name starts with `concurrent_` use more than one thread: they are the set meant
//! for Miri's many-seeds run. The two Miri commands:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test bounded_log
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test bounded_log -- concurrent_
//! ```
//!
//! Counts shrink under `cfg(miri)` (see [`scaled`]). No operation of the log blocks, so no test
//! needs a watchdog. Concurrent snapshots and cursor reads are checked with
//! `tests/support/log_window.rs`: every snapshot a contiguous window of what was pushed, every
//! cursor read accounting for each sequence number as an item or a loss. The test binary's
//! allocator counts each thread's allocations, for the check that a full `BoundedLog` pushes
//! without allocating.

#[path = "support/behaviour.rs"]
mod behaviour;
#[path = "support/log_window.rs"]
mod log_window;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;

use behaviour::{DropLog, Tracked, WATCHDOG, scaled, spawn_watched};
use log_window::{Pushed, U64Log};
use verisync::bounded_log::{BoundedLog, CapacityError, InlineLog, ReadSince};

// ---------------------------------------------------------------------------------------------
// Drop-counted values
// ---------------------------------------------------------------------------------------------

fn ids(items: &[Tracked]) -> Vec<usize> {
    items.iter().map(|item| item.id).collect()
}

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_zero_is_an_error() {
    assert_eq!(
        BoundedLog::<u64>::try_new(0).unwrap_err(),
        CapacityError::Zero
    );
}

#[test]
#[should_panic(expected = "verisync::bounded_log::BoundedLog::new: capacity must be at least 1")]
fn new_panics_on_capacity_zero() {
    BoundedLog::<u64>::new(0);
}

#[test]
fn capacity_too_large_is_an_error() {
    let requested = usize::MAX / 2;
    let err = BoundedLog::<u8>::try_new(requested).unwrap_err();
    let max = isize::MAX as usize / std::mem::size_of::<usize>();
    assert_eq!(err, CapacityError::TooLarge { requested, max });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri reports a huge allocation as resource exhaustion, not a failure"
)]
fn capacity_the_allocator_cannot_give_is_an_error() {
    // A pointer per slot: 2^61 bytes fit in `isize`, but no machine has them.
    assert_eq!(
        BoundedLog::<u64>::try_new(1 << 58).unwrap_err(),
        CapacityError::AllocationFailed { requested: 1 << 58 }
    );
}

#[test]
#[should_panic(expected = "verisync::bounded_log::BoundedLog::new: capacity")]
fn new_panics_on_capacity_too_large() {
    BoundedLog::<()>::new(usize::MAX);
}

#[test]
fn capacity_is_exact() {
    let capacities: &[usize] = if cfg!(miri) {
        &[1, 2, 3, 5, 7]
    } else {
        &[1, 2, 3, 5, 7, 100, 1000]
    };
    for &capacity in capacities {
        let log = BoundedLog::new(capacity);
        assert_eq!(log.capacity(), capacity);
        for value in 0..3 * capacity as u64 {
            assert_eq!(log.push(value), value);
        }
        let expected: Vec<u64> = (2 * capacity as u64..3 * capacity as u64).collect();
        assert_eq!(log.snapshot(), expected, "capacity {capacity}");
        assert_eq!(log.len(), capacity);
    }
}

// ---------------------------------------------------------------------------------------------
// Order and eviction
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_log() {
    let log = BoundedLog::<u64>::new(4);
    assert!(log.snapshot().is_empty());
    assert!(log.is_empty());
    assert_eq!(log.len(), 0);
    assert_eq!(log.total_pushed(), 0);
    assert_eq!(
        log.read_since(0),
        ReadSince {
            items: vec![],
            next: 0,
            lost: 0
        }
    );
    assert!(log.into_vec().is_empty());
}

#[test]
fn push_returns_consecutive_sequence_numbers() {
    let log = BoundedLog::new(3);
    let seqs: Vec<u64> = (0..10).map(|value| log.push(value)).collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert_eq!(log.total_pushed(), 10);
}

#[test]
fn snapshot_keeps_the_newest_oldest_first() {
    let log = BoundedLog::new(4);
    let mut model = std::collections::VecDeque::new();
    for value in 0..11u64 {
        log.push(value);
        model.push_back(value);
        if model.len() > 4 {
            model.pop_front();
        }
        assert_eq!(log.snapshot(), Vec::from(model.clone()), "after {value}");
        assert_eq!(log.len(), model.len());
    }
}

#[test]
fn capacity_1_keeps_the_last_item() {
    let log = BoundedLog::new(1);
    log.push("a");
    assert_eq!(log.snapshot(), ["a"]);
    log.push("b");
    log.push("c");
    assert_eq!(log.snapshot(), ["c"]);
    assert_eq!(log.len(), 1);
    assert_eq!(log.read_since(0).lost, 2);
    assert_eq!(log.into_vec(), ["c"]);
}

#[test]
fn into_vec_returns_the_retained_items() {
    let log = BoundedLog::new(3);
    for value in 0..8 {
        log.push(value.to_string());
    }
    assert_eq!(log.into_vec(), ["5", "6", "7"]);
}

/// Values of every size an `InlineLog` holds come back whole from snapshots of every length and
/// starting slot (wrapped, and after a clear), including runs that end part-way through a
/// group of slots copied together.
#[test]
fn inline_logs_of_small_values_keep_the_newest() {
    fn check<T: bytemuck::Pod + PartialEq + std::fmt::Debug>(make: fn(u64) -> T) {
        for capacity in [1, 3, 4, 5, 9, 16] {
            let mut log = InlineLog::new(capacity);
            let mut model = std::collections::VecDeque::new();
            for value in 0..3 * capacity as u64 + 2 {
                log.push(make(value));
                model.push_back(make(value));
                if model.len() > capacity {
                    model.pop_front();
                }
                assert_eq!(
                    log.snapshot(),
                    Vec::from(model.clone()),
                    "capacity {capacity}"
                );
            }
            log.clear();
            let after_clear = capacity as u64 / 2 + 1;
            for value in 0..after_clear {
                log.push(make(value));
            }
            let expected: Vec<T> = (0..after_clear).map(make).collect();
            assert_eq!(log.snapshot(), expected, "after clear, capacity {capacity}");
        }
    }
    check(|value| value as u8);
    check(|value| value as u16 | 0xa500);
    check(|value| value as u32 | 0xdead_0000);
    check(|value| value | 0xdead_beef_0000_0000);
    check(|value| value as f64 + 0.5);
}

#[test]
fn zero_sized_values() {
    let log = BoundedLog::new(3);
    for _ in 0..5 {
        log.push(());
    }
    assert_eq!(log.snapshot(), [(), (), ()]);
    assert_eq!(log.read_since(0).lost, 2);
    assert_eq!(log.into_vec().len(), 3);
}

#[test]
fn debug_shows_the_counts() {
    let log = BoundedLog::new(2);
    log.push(1);
    assert_eq!(
        format!("{log:?}"),
        "BoundedLog { capacity: 2, len: 1, total_pushed: 1, lapped: 0, .. }"
    );
}

// ---------------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------------

#[test]
fn read_since_returns_what_follows() {
    let log = BoundedLog::new(5);
    for value in 10..13u64 {
        log.push(value);
    }
    assert_eq!(
        log.read_since(0),
        ReadSince {
            items: vec![10, 11, 12],
            next: 3,
            lost: 0
        }
    );
    assert_eq!(
        log.read_since(2),
        ReadSince {
            items: vec![12],
            next: 3,
            lost: 0
        }
    );
    // Nothing new yet.
    assert_eq!(
        log.read_since(3),
        ReadSince {
            items: vec![],
            next: 3,
            lost: 0
        }
    );
}

#[test]
fn read_since_counts_evicted_items_as_lost() {
    let log = BoundedLog::new(3);
    for value in 0..10u64 {
        log.push(value);
    }
    for from in 0..=10 {
        let read = log.read_since(from);
        let retained_from = from.max(7);
        assert_eq!(read.lost, retained_from - from, "from {from}");
        assert_eq!(read.items, (retained_from..10).collect::<Vec<_>>());
        assert_eq!(read.next, 10);
    }
}

#[test]
fn read_since_a_future_sequence_number_waits_there() {
    let log = BoundedLog::new(3);
    log.push(1);
    assert_eq!(
        log.read_since(5),
        ReadSince {
            items: vec![],
            next: 5,
            lost: 0
        }
    );
    // Items 1..=4 arrive, then 5 and 6: the cursor gets 5 and 6; the ones it skipped by
    // asking for 5 are not losses.
    (2..=7).for_each(|i| {
        log.push(i);
    });
    assert_eq!(
        log.read_since(5),
        ReadSince {
            items: vec![6, 7],
            next: 7,
            lost: 0
        }
    );
}

#[test]
fn a_tailing_cursor_sees_everything_or_counts_it() {
    let log = BoundedLog::<u64>::new(4);
    let mut next = 0;
    let mut seen: Vec<u64> = Vec::new();
    let mut lost = 0;
    for round in 0..20u64 {
        // Push between 0 and 6 items, so that the cursor sometimes falls behind by more than
        // the capacity.
        for _ in 0..round % 7 {
            log.push(log.total_pushed());
        }
        let read = log.read_since(next);
        assert_eq!(read.next, log.total_pushed());
        lost += read.lost;
        seen.extend(&read.items);
        next = read.next;
    }
    assert_eq!(seen.len() as u64 + lost, log.total_pushed());
    assert!(
        lost > 0,
        "the cursor should have fallen behind at least once"
    );
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]));
}

// ---------------------------------------------------------------------------------------------
// clear
// ---------------------------------------------------------------------------------------------

#[test]
fn clear_empties_and_keeps_counting() {
    let mut log = BoundedLog::new(3);
    for value in 0..5u64 {
        log.push(value);
    }
    log.clear();
    assert!(log.snapshot().is_empty());
    assert_eq!(log.len(), 0);
    assert_eq!(log.total_pushed(), 5);
    assert_eq!(log.push(5), 5);
    assert_eq!(log.snapshot(), [5]);
    assert_eq!(log.len(), 1);
    assert_eq!(
        log.read_since(0),
        ReadSince {
            items: vec![5],
            next: 6,
            lost: 5
        }
    );
    log.push(6);
    log.push(7);
    log.push(8);
    assert_eq!(log.snapshot(), [6, 7, 8]);
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn evicted_values_are_dropped_once() {
    let drops = DropLog::new(10);
    let log = BoundedLog::new(3);
    for id in 0..10 {
        log.push(drops.item(id));
        // Only the evicted ones, and each once.
        drops.assert_only_dropped_once(0..(id + 1).saturating_sub(3));
    }
    drop(log);
    drops.assert_only_dropped_once(0..10);
}

#[test]
fn snapshots_clone_and_leave_the_values() {
    let drops = DropLog::new(4);
    let log = BoundedLog::new(2);
    for id in 0..4 {
        log.push(drops.item(id));
    }
    let copy = log.snapshot();
    assert_eq!(ids(&copy), [2, 3]);
    drop(copy);
    assert_eq!(ids(&log.read_since(0).items), [2, 3]);
    drops.assert_only_dropped_once([0, 1]);
    drop(log);
    drops.assert_only_dropped_once(0..4);
}

#[test]
fn clear_drops_every_value_once() {
    let drops = DropLog::new(7);
    let mut log = BoundedLog::new(3);
    for id in 0..5 {
        log.push(drops.item(id));
    }
    log.clear();
    drops.assert_only_dropped_once(0..5);
    log.push(drops.item(5));
    log.push(drops.item(6));
    drop(log);
    drops.assert_only_dropped_once(0..7);
}

#[test]
fn into_vec_moves_the_retained_values_out() {
    let drops = DropLog::new(6);
    let log = BoundedLog::new(4);
    for id in 0..6 {
        log.push(drops.item(id));
    }
    let items = log.into_vec();
    assert_eq!(ids(&items), [2, 3, 4, 5]);
    drops.assert_only_dropped_once([0, 1]);
    drop(items);
    drops.assert_only_dropped_once(0..6);
}

/// A value whose drop panics when its flag says so.
struct PanicOnDrop {
    panics: bool,
    drops: Arc<AtomicU32>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("PanicOnDrop");
        }
    }
}

#[test]
fn a_panicking_drop_does_not_stop_the_others() {
    let drops = Arc::new(AtomicU32::new(0));
    let log = BoundedLog::new(4);
    for i in 0..4 {
        log.push(PanicOnDrop {
            panics: i == 1,
            drops: drops.clone(),
        });
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| drop(log)));
    assert!(result.is_err(), "the value's panic propagates");
    assert_eq!(drops.load(Ordering::SeqCst), 4, "every value dropped");
}

#[test]
fn a_panicking_drop_on_eviction_propagates_from_push() {
    let drops = Arc::new(AtomicU32::new(0));
    let log = BoundedLog::new(1);
    log.push(PanicOnDrop {
        panics: true,
        drops: drops.clone(),
    });
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        log.push(PanicOnDrop {
            panics: false,
            drops: drops.clone(),
        })
    }));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The new value was installed before the old one was dropped.
    assert_eq!(log.len(), 1);
    drop(log);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// Pushes and reads from inside a read (deterministic overlap)
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// What the next clones of a `Hooked` run, one each, oldest first.
    static ON_CLONE: std::cell::RefCell<std::collections::VecDeque<Box<dyn FnOnce()>>> =
        Default::default();
}

/// Has the next `Hooked` clone on this thread run `hook` (a push or a read of the log being
/// read, so that they happen at a chosen point inside the read).
fn on_clone(hook: impl FnOnce() + 'static) {
    ON_CLONE.with(|hooks| hooks.borrow_mut().push_back(Box::new(hook)));
}

/// A `Tracked` value whose clone first runs the next hook queued by `on_clone`, then checks that the
/// value it clones is still alive: a value freed under its reader is caught as a drop counted
/// while the reader still clones it.
struct Hooked(Tracked);

impl Clone for Hooked {
    fn clone(&self) -> Self {
        let (id, drops) = (self.0.id, self.0.log().clone());
        let hook = ON_CLONE.with(|hooks| hooks.borrow_mut().pop_front());
        if let Some(hook) = hook {
            hook();
        }
        assert_eq!(
            drops.drops(id),
            0,
            "value {id} was dropped while a reader cloned it"
        );
        Hooked(self.0.clone())
    }
}

fn hooked_ids(items: &[Hooked]) -> Vec<usize> {
    items.iter().map(|hooked| hooked.0.id).collect()
}

/// A log of `Hooked` values `0..initial` out of `drops`.
fn hooked_log(capacity: usize, initial: usize, drops: &DropLog) -> Arc<BoundedLog<Hooked>> {
    let log = Arc::new(BoundedLog::new(capacity));
    for id in 0..initial {
        log.push(Hooked(drops.item(id)));
    }
    log
}

/// Has the next clone push the values `ids` into `log`.
fn push_on_clone(log: &Arc<BoundedLog<Hooked>>, drops: &DropLog, ids: std::ops::Range<usize>) {
    let (log, drops) = (log.clone(), drops.clone());
    on_clone(move || {
        for id in ids {
            log.push(Hooked(drops.item(id)));
        }
    });
}

/// Values evicted while a reader is pinned wait for it and are still dropped exactly once.
#[test]
fn values_evicted_during_a_read_are_dropped_after_it() {
    let drops = DropLog::new(6);
    let log = hooked_log(2, 2, &drops);
    // Each of the next four clones pushes a value.
    for id in 2..6 {
        push_on_clone(&log, &drops, id..id + 1);
    }
    // Both items are evicted while the snapshot copies them: it must not return them.
    assert!(log.snapshot().is_empty());
    // A cursor keeps what it read, evicted since or not.
    let read = log.read_since(0);
    assert_eq!(hooked_ids(&read.items), [2, 3]);
    assert_eq!((read.next, read.lost), (4, 2));
    drop(read);
    drop(log);
    drops.assert_only_dropped_once(0..6);
}

/// A read that evicts the value it is cloning (a push from inside the clone) frees it on its
/// way out: the only reader collects as it leaves, round after round.
#[test]
fn a_value_evicted_during_a_read_is_freed_when_the_reader_leaves() {
    let drops = DropLog::new(4);
    let log = hooked_log(2, 2, &drops);
    for round in 0..2 {
        push_on_clone(&log, &drops, 2 + round..3 + round);
        // Value `round` is evicted while cloned, so the snapshot leaves it out.
        assert_eq!(hooked_ids(&log.snapshot()), [round + 1]);
        assert_eq!(
            drops.drops(round),
            1,
            "value {round} outlived its last reader"
        );
    }
    drop(log);
    drops.assert_only_dropped_once(0..4);
}

/// Items evicted in the middle of a snapshot's copy: it restarts after the last one evicted
/// and returns the run behind it.
#[test]
fn a_snapshot_restarts_after_items_evicted_while_it_copies() {
    let drops = DropLog::new(6);
    let log = hooked_log(4, 4, &drops);
    // Cloning item 0 pushes 4 and 5, which evict 0 and 1.
    push_on_clone(&log, &drops, 4..6);
    assert_eq!(hooked_ids(&log.snapshot()), [2, 3]);
    drops.assert_only_dropped_once(0..2);
    drop(log);
    drops.assert_only_dropped_once(0..6);
}

/// A cursor hands out the run it read before an eviction and counts the loss next time, never
/// skipping over the evicted items within one read.
#[test]
fn a_cursor_stops_at_an_item_evicted_after_its_first() {
    let drops = DropLog::new(7);
    let log = hooked_log(4, 4, &drops);
    // Cloning item 0 pushes 4, 5 and 6, which evict 0, 1 and 2.
    push_on_clone(&log, &drops, 4..7);
    let read = log.read_since(0);
    assert_eq!(hooked_ids(&read.items), [0]);
    assert_eq!((read.next, read.lost), (1, 0));
    let read = log.read_since(read.next);
    assert_eq!(hooked_ids(&read.items), [3, 4, 5, 6]);
    assert_eq!((read.next, read.lost), (7, 2));
}

/// Readers of both parities hold off the free of what they may be cloning: a read nested in a
/// clone makes a collector flip the parity while the outer reader is pinned, so the next read
/// joins the other counter; the value it is cloning, evicted meanwhile, must wait for it. A
/// node still waiting when the log drops is freed with it.
#[test]
fn readers_of_either_parity_hold_off_the_free_of_what_they_clone() {
    let drops = DropLog::new(4);
    let log = hooked_log(2, 2, &drops);
    // First read: cloning 0 pushes 2 (0 waits for this reader), then reads the log again; the
    // inner reader, leaving, takes 0 into a batch, finds the outer reader pinned and flips.
    {
        let (inner_log, inner_drops) = (log.clone(), drops.clone());
        on_clone(move || {
            inner_log.push(Hooked(inner_drops.item(2)));
            assert_eq!(hooked_ids(&inner_log.snapshot()), [1, 2]);
        });
    }
    assert_eq!(hooked_ids(&log.snapshot()), [1]);
    // Second read, now in the other parity: cloning 1 pushes 3, which evicts 1; the clone's
    // check fails if 1 was freed under it.
    push_on_clone(&log, &drops, 3..4);
    assert_eq!(hooked_ids(&log.snapshot()), [2]);
    drop(log);
    drops.assert_only_dropped_once(0..4);
}

/// A reader thread stopped inside its first clone until the test lets it go on.
struct HeldReader {
    resume: std::sync::mpsc::Sender<()>,
    reader: behaviour::Watched<Vec<usize>>,
}

impl HeldReader {
    /// Starts a snapshot of `log` on a new thread and returns once it is inside its first clone.
    fn start(name: &'static str, log: &Arc<BoundedLog<Hooked>>) -> Self {
        let (started_tx, started) = std::sync::mpsc::channel();
        let (resume, resumed) = std::sync::mpsc::channel::<()>();
        let log = log.clone();
        let reader = spawn_watched(name, move || {
            on_clone(move || {
                started_tx.send(()).unwrap();
                // An error means the test gave up: go on, so the thread ends.
                let _ = resumed.recv();
            });
            hooked_ids(&log.snapshot())
        });
        started
            .recv_timeout(WATCHDOG)
            .expect("the reader never got to its first clone");
        Self { resume, reader }
    }

    /// Lets the reader finish and returns the ids it copied.
    fn finish(self) -> Vec<usize> {
        self.resume.send(()).unwrap();
        self.reader.join()
    }
}

/// Readers that overlap in a chain, each starting before the one before it leaves, do not
/// postpone freeing: a collector that finds a pin counter busy sends new readers to the other
/// one, so what a reader held off is freed soon after it leaves, while later readers still read.
/// The steps follow the collection schedule: readers collect as they leave, and none of these
/// few pushes collects (`COLLECT_EVERY`), so the value is freed at the first reader's
/// collection after that. Two rounds, so the parity flips both ways.
#[test]
fn overlapping_readers_do_not_postpone_freeing() {
    let drops = DropLog::new(5);
    let log = hooked_log(2, 2, &drops);
    // Reader 1 holds 0 while 2 evicts it; our snapshot, leaving, takes 0 into a batch, finds
    // reader 1's counter busy and sends new readers to the other one.
    let first = HeldReader::start("reader 1", &log);
    log.push(Hooked(drops.item(2)));
    assert_eq!(hooked_ids(&log.snapshot()), [1, 2]);
    let second = HeldReader::start("reader 2", &log);
    assert_eq!(first.finish(), [1]);
    // Reader 2 holds 1 while 3 evicts it; the next collection frees 0, as reader 2 pinned in
    // the counter that was already seen idle.
    log.push(Hooked(drops.item(3)));
    assert_eq!(hooked_ids(&log.snapshot()), [2, 3]);
    assert_eq!(
        drops.drops(0),
        1,
        "value 0 waited for a reader that came after it"
    );
    // The same the other way: 1 goes into a batch, reader 3 joins the first counter again.
    assert_eq!(hooked_ids(&log.snapshot()), [2, 3]);
    let third = HeldReader::start("reader 3", &log);
    assert_eq!(second.finish(), [2]);
    log.push(Hooked(drops.item(4)));
    assert_eq!(hooked_ids(&log.snapshot()), [3, 4]);
    assert_eq!(
        drops.drops(1),
        1,
        "value 1 waited for a reader that came after it"
    );
    assert_eq!(third.finish(), [3]);
    drop(log);
    drops.assert_only_dropped_once(0..5);
}

// ---------------------------------------------------------------------------------------------
// Recycling: a counting allocator
// ---------------------------------------------------------------------------------------------

/// The system allocator, counting each thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the count is a
// thread-local `Cell` with a constant initializer, which allocates nothing itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations this thread made while pushing `pushes` values into `log`.
fn allocations_of_pushes(log: &BoundedLog<u64>, pushes: u64) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..pushes {
        log.push(i);
    }
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn a_full_log_pushes_without_allocating() {
    let capacity = 16;
    let log = BoundedLog::new(capacity);
    // The first lap allocates a node per slot; the second recycles the first lap's into the
    // spare places, which every later push takes from.
    allocations_of_pushes(&log, 2 * capacity as u64);
    let full = allocations_of_pushes(&log, 10 * capacity as u64);
    assert_eq!(full, 0, "pushes into a full log allocated");
    // A snapshot in between holds nothing off once it has returned.
    assert_eq!(log.snapshot().len(), capacity);
    let after_snapshot = allocations_of_pushes(&log, 2 * capacity as u64);
    assert_eq!(after_snapshot, 0, "pushes after a snapshot allocated");
}

// ---------------------------------------------------------------------------------------------
// Concurrent
// ---------------------------------------------------------------------------------------------

/// The value writer `writer` pushes as its `i`-th.
fn value_of(writer: usize, i: usize) -> u64 {
    ((writer as u64) << 32) | i as u64
}

/// `writers` threads push `per_writer` values each into a log of `capacity` while `snapshotters`
/// threads take snapshots and `tailers` threads follow it with cursors; afterwards every
/// snapshot must be a contiguous window and every cursor read must account for what it asked
/// about; a final snapshot must be exactly the last `capacity` items.
fn writers_and_readers<L: U64Log>(
    capacity: usize,
    writers: usize,
    per_writer: usize,
    snapshotters: usize,
    tailers: usize,
) {
    let log = L::make(capacity);
    let done = AtomicBool::new(false);
    let (pushes, snapshots, reads) = thread::scope(|scope| {
        let writer_threads: Vec<_> = (0..writers)
            .map(|writer| {
                let log = &log;
                scope.spawn(move || {
                    (0..per_writer)
                        .map(|i| (value_of(writer, i), log.push(value_of(writer, i))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let snapshot_threads: Vec<_> = (0..snapshotters)
            .map(|_| {
                scope.spawn(|| {
                    let mut snapshots = Vec::new();
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        snapshots.push(log.snapshot());
                        if finished {
                            return snapshots;
                        }
                    }
                })
            })
            .collect();
        let tail_threads: Vec<_> = (0..tailers)
            .map(|_| {
                scope.spawn(|| {
                    let mut reads = Vec::new();
                    let mut next = 0;
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        let read = log.read_since(next);
                        let from = next;
                        next = read.next;
                        let caught_up = read.items.is_empty() && read.lost == 0;
                        reads.push((from, read));
                        if finished {
                            return reads;
                        }
                        if caught_up {
                            // Nothing new: let a writer run (Miri would otherwise spend most
                            // of its schedule on empty reads).
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let pushes: Vec<_> = writer_threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        done.store(true, Ordering::SeqCst);
        let snapshots: Vec<_> = snapshot_threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        let reads: Vec<_> = tail_threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        (pushes, snapshots, reads)
    });

    let total = (writers * per_writer) as u64;
    let mut pushed = Pushed::default();
    for &(value, seq) in &pushes {
        pushed.record(value, seq);
    }
    let mut seqs: Vec<u64> = pushes.iter().map(|&(_, seq)| seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..total).collect::<Vec<_>>(), "sequence numbers");
    // Each writer's own pushes got increasing sequence numbers.
    for writer in 0..writers {
        let own: Vec<u64> = pushes
            .iter()
            .filter(|&&(value, _)| value >> 32 == writer as u64)
            .map(|&(_, seq)| seq)
            .collect();
        assert!(
            own.windows(2).all(|pair| pair[0] < pair[1]),
            "writer {writer}"
        );
    }
    for snapshot in &snapshots {
        pushed.check_snapshot(snapshot, capacity).unwrap();
    }
    for cursor in &reads {
        let mut covered = 0;
        for (from, read) in cursor {
            pushed.check_read(*from, read).unwrap();
            covered += read.items.len() as u64 + read.lost;
        }
        // The last read started after every push returned: it reached the end.
        assert_eq!(covered, total, "a cursor must account for every item");
    }
    // No push in flight: the final snapshot is exact, and it was also the last one taken.
    let last = log.snapshot();
    let expected_seqs: Vec<u64> = (total.saturating_sub(capacity as u64)..total).collect();
    assert_eq!(pushed.seqs(&last).unwrap(), expected_seqs);
    if snapshotters > 0 {
        assert_eq!(snapshots.last(), Some(&last));
    }
    // Lapping happens when a writer is preempted for a whole lap (threads outnumber cores
    // here); each lapped push lost its item, so it cannot exceed the pushes.
    assert!(log.lapped() <= total);
    assert_eq!(pushed.seqs(&log.into_vec()).unwrap(), expected_seqs);
}

#[test]
fn concurrent_two_writers_one_snapshotter() {
    writers_and_readers::<BoundedLog<u64>>(scaled(64, 4), 2, scaled(100_000, 30), 1, 0);
}

#[test]
fn concurrent_two_writers_one_tailer() {
    writers_and_readers::<BoundedLog<u64>>(scaled(64, 4), 2, scaled(100_000, 30), 0, 1);
}

#[test]
fn concurrent_capacity_1_many_writers_and_readers() {
    writers_and_readers::<BoundedLog<u64>>(1, scaled(4, 3), scaled(20_000, 12), 2, 1);
}

#[test]
fn concurrent_inline_two_writers_two_readers() {
    writers_and_readers::<InlineLog<u64>>(scaled(64, 4), 2, scaled(100_000, 30), 1, 1);
}

#[test]
fn concurrent_inline_capacity_1_many_writers_and_readers() {
    writers_and_readers::<InlineLog<u64>>(1, scaled(4, 3), scaled(20_000, 12), 2, 1);
}

#[test]
fn concurrent_capacity_2_readers_overlap() {
    writers_and_readers::<BoundedLog<u64>>(2, 2, scaled(50_000, 16), 2, 2);
}

/// Drop counting with writers and readers at once: every value dropped exactly once, whether
/// it was evicted while readers were cloning it or dropped with the log.
#[test]
fn concurrent_every_value_dropped_once() {
    let writers = 2;
    let per_writer = scaled(20_000, 40);
    let capacity = scaled(16, 3);
    let drops = DropLog::new(writers * per_writer);
    let log = BoundedLog::new(capacity);
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        for writer in 0..writers {
            let (log, drops) = (&log, &drops);
            scope.spawn(move || {
                for i in 0..per_writer {
                    log.push(drops.item(writer * per_writer + i));
                }
            });
        }
        for _ in 0..2 {
            scope.spawn(|| {
                let mut next = 0;
                while !done.load(Ordering::SeqCst) {
                    let snapshot = log.snapshot();
                    assert!(snapshot.len() <= log.capacity());
                    next = log.read_since(next).next;
                }
            });
        }
        // The scope joins the writers when it ends; tell the readers once they are done.
        scope.spawn(|| {
            while log.total_pushed() < (writers * per_writer) as u64 {
                thread::yield_now();
            }
            done.store(true, Ordering::SeqCst);
        });
    });
    assert_eq!(log.len(), capacity);
    let counts: Vec<u32> = (0..writers * per_writer)
        .map(|id| drops.drops(id))
        .collect();
    assert!(
        counts.iter().all(|&count| count <= 1),
        "a value dropped twice"
    );
    let dropped = counts.iter().filter(|&&count| count == 1).count();
    // Evicted values are dropped once no reader holds them: some may still wait for a collection.
    assert!(
        dropped <= writers * per_writer - capacity,
        "a retained value was dropped"
    );
    drop(log);
    drops.assert_only_dropped_once(0..writers * per_writer);
}

/// String payloads, the variant the benchmarks also run: clones and evictions of heap values.
/// The writers start once the reader has taken its first snapshot, so that the reader's
/// snapshots overlap the pushes however the threads are scheduled.
#[test]
fn concurrent_string_payloads() {
    let log = BoundedLog::new(scaled(32, 3));
    let per_writer = scaled(20_000, 30);
    let reading = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let (log, reading) = (&log, &reading);
                scope.spawn(move || {
                    while !reading.load(Ordering::SeqCst) {
                        thread::yield_now();
                    }
                    for i in 0..per_writer {
                        log.push(format!("{writer}:{i}"));
                    }
                })
            })
            .collect();
        scope.spawn(|| {
            loop {
                for text in log.snapshot() {
                    let (writer, i) = text.split_once(':').expect("a torn string");
                    assert!(writer == "0" || writer == "1");
                    assert!(i.parse::<usize>().unwrap() < per_writer);
                }
                reading.store(true, Ordering::SeqCst);
                if done.load(Ordering::SeqCst) {
                    break;
                }
            }
        });
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
    });
    assert_eq!(log.len(), log.capacity());
}

/// A value that is `Send` but not `Sync` can still be pushed from several threads (reading
/// needs `Sync`: readers share the values).
#[test]
fn concurrent_non_sync_payload_pushes() {
    let log = BoundedLog::new(4);
    thread::scope(|scope| {
        for writer in 0..2 {
            let log = &log;
            scope.spawn(move || {
                for i in 0..scaled(1000, 10) {
                    log.push(std::cell::Cell::new((writer, i)));
                }
            });
        }
    });
    assert_eq!(log.into_vec().len(), 4);
}
