//! Behaviour tests for `verisync::mpmc` (the queue and the channel) on std threads; the same
//! tests run under Miri.
//!
//! Tests whose name starts with `concurrent_` use more than one thread: they are the set meant
//! for Miri's many-seeds run. The two Miri commands:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test mpmc
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test mpmc -- concurrent_
//! ```
//!
//! Counts shrink under `cfg(miri)`; a blocking call that could hang forever on a lost wake-up
//! runs in a watched thread (see `support/behaviour.rs`).

#[path = "support/behaviour.rs"]
mod support;

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use verisync::mpmc::{
    CapacityError, Queue, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    Sender, TryRecvError, TrySendError, channel, try_channel, unbounded,
};

use support::{DropLog, SETTLE, WATCHDOG, scaled, spawn_watched};

fn assert_send_sync<T: Send + Sync>() {}

/// Makes a channel of one flavor.
type MakeChannel<T> = fn() -> (Sender<T>, Receiver<T>);

/// The flavors that never fill up in a test that sends at most 8 values before receiving: a
/// bounded channel of capacity 8 and an unbounded one, with their names for failure messages.
fn roomy_flavors<T>() -> [(&'static str, MakeChannel<T>); 2] {
    [("bounded(8)", || channel(8)), ("unbounded", unbounded)]
}

/// Retries `push` until it succeeds, yielding in between.
fn push_retrying<T>(queue: &Queue<T>, mut value: T) {
    while let Err(back) = queue.push(value) {
        value = back;
        thread::yield_now();
    }
}

/// Values are `producer * STRIDE + sequence`, so a consumer can tell producers apart.
const STRIDE: u64 = 1 << 32;

/// Checks what `received` (one list per consumer, in the order each consumer got them) says
/// about `producers` producers that each sent `0..per_producer` (tagged): every value arrived
/// exactly once, and each consumer saw each producer's values in the order they were sent.
#[track_caller]
fn assert_conserved_in_producer_order(received: &[Vec<u64>], producers: u64, per_producer: u64) {
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (consumer, values) in received.iter().enumerate() {
        let mut last: HashMap<u64, u64> = HashMap::new();
        for &value in values {
            *seen.entry(value).or_default() += 1;
            let (producer, sequence) = (value / STRIDE, value % STRIDE);
            if let Some(&previous) = last.get(&producer) {
                assert!(
                    sequence > previous,
                    "consumer {consumer} got producer {producer}'s {sequence} after {previous}"
                );
            }
            last.insert(producer, sequence);
        }
    }
    for producer in 0..producers {
        for sequence in 0..per_producer {
            let value = producer * STRIDE + sequence;
            assert_eq!(
                seen.remove(&value),
                Some(1),
                "producer {producer}'s value {sequence} not received exactly once"
            );
        }
    }
    assert!(seen.is_empty(), "values nobody sent: {seen:?}");
}

// ---------------------------------------------------------------------------------------------
// Capacity
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_zero_is_an_error_for_a_queue_and_a_rendezvous_for_a_channel() {
    assert_eq!(Queue::<u8>::try_new(0).unwrap_err(), CapacityError::Zero);
    let (tx, rx) = try_channel::<u8>(0).unwrap();
    assert_eq!((tx.capacity(), rx.capacity()), (Some(0), Some(0)));
    assert_eq!(channel::<u8>(0).0.capacity(), Some(0));
}

#[test]
#[should_panic(expected = "verisync::mpmc::Queue::new: capacity must be at least 1")]
fn capacity_zero_panics_in_new() {
    let _ = Queue::<u8>::new(0);
}

#[test]
fn capacity_too_large_is_an_error() {
    for requested in [usize::MAX, usize::MAX / 2 + 1, isize::MAX as usize] {
        match Queue::<u64>::try_new(requested) {
            Err(CapacityError::TooLarge { requested: r, max }) => {
                assert_eq!(r, requested);
                assert!(max < requested);
            }
            other => panic!("capacity {requested}: expected TooLarge, got {other:?}"),
        }
    }
    // A zero-sized payload still needs a stamp per slot.
    assert!(matches!(
        Queue::<()>::try_new(usize::MAX),
        Err(CapacityError::TooLarge { .. })
    ));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri reports a huge allocation as resource exhaustion, not a failure"
)]
fn capacity_the_allocator_cannot_give_is_an_error() {
    // Within `isize` (a stamp per slot: 2^62 bytes), but no machine has them: an `Err`.
    let failed = CapacityError::AllocationFailed { requested: 1 << 59 };
    assert_eq!(Queue::<()>::try_new(1 << 59).unwrap_err(), failed);
    assert_eq!(try_channel::<()>(1 << 59).unwrap_err(), failed);
}

#[test]
#[should_panic(expected = "is too large")]
fn capacity_too_large_panics_in_channel() {
    let _ = channel::<u64>(usize::MAX);
}

#[test]
fn capacity_is_exact_for_any_value() {
    for capacity in (1..=9).chain([15, 16, 17, 100]) {
        let queue = Queue::new(capacity);
        assert_eq!(queue.capacity(), capacity);
        for i in 0..capacity {
            assert_eq!(queue.push(i), Ok(()), "capacity {capacity}");
        }
        assert_eq!(
            queue.push(usize::MAX),
            Err(usize::MAX),
            "capacity {capacity}"
        );
        assert!(queue.is_full());
        assert_eq!(queue.len(), capacity);
    }
}

#[test]
fn queue_and_endpoints_are_send_and_sync() {
    assert_send_sync::<Queue<Cell<u8>>>();
    assert_send_sync::<verisync::mpmc::Sender<Cell<u8>>>();
    assert_send_sync::<verisync::mpmc::Receiver<Cell<u8>>>();
}

// ---------------------------------------------------------------------------------------------
// Queue, one thread
// ---------------------------------------------------------------------------------------------

#[test]
fn fifo_and_positions_wrap_many_times() {
    for capacity in [1, 2, 3, 5, 8] {
        let queue = Queue::new(capacity);
        let mut next_in = 0;
        let mut next_out = 0;
        for round in 0..scaled(200, 10) {
            // Vary the fill level so every offset between head and tail occurs.
            let fill = round % capacity + 1;
            for _ in 0..fill {
                queue.push(next_in).unwrap();
                next_in += 1;
            }
            assert_eq!(queue.len(), fill);
            for _ in 0..fill {
                assert_eq!(queue.pop(), Some(next_out));
                next_out += 1;
            }
            assert_eq!(queue.pop(), None);
            assert!(queue.is_empty());
        }
    }
}

#[test]
fn status_methods_at_every_fill_level() {
    let queue = Queue::new(3);
    // Shift the positions so the fill levels straddle the end of the buffer.
    for start in 0..6 {
        for _ in 0..start {
            queue.push(0).unwrap();
            queue.pop().unwrap();
        }
        for fill in 0..=3 {
            assert_eq!(queue.len(), fill);
            assert_eq!(queue.is_empty(), fill == 0);
            assert_eq!(queue.is_full(), fill == 3);
            if fill < 3 {
                queue.push(fill).unwrap();
            }
        }
        while queue.pop().is_some() {}
    }
}

#[test]
fn force_push_evicts_the_oldest_only_when_full() {
    let queue = Queue::new(3);
    assert_eq!(queue.force_push(1), None);
    assert_eq!(queue.force_push(2), None);
    assert_eq!(queue.force_push(3), None);
    assert_eq!(queue.force_push(4), Some(1));
    assert_eq!(queue.force_push(5), Some(2));
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.pop(), Some(3));
    assert_eq!(queue.force_push(6), None);
    assert_eq!(queue.force_push(7), Some(4));
    let rest: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
    assert_eq!(rest, [5, 6, 7]);
}

#[test]
fn force_push_keeps_the_newest_at_every_position() {
    for capacity in [1, 2, 3, 4] {
        let queue = Queue::new(capacity);
        for value in 0..scaled(50, 12) {
            let evicted = queue.force_push(value);
            let expected = value.checked_sub(capacity);
            assert_eq!(evicted, expected, "capacity {capacity}, value {value}");
            assert_eq!(queue.len(), (value + 1).min(capacity));
        }
        let kept: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        let total = scaled(50, 12);
        assert_eq!(kept, (total - capacity..total).collect::<Vec<_>>());
    }
}

#[test]
fn values_left_in_the_queue_are_dropped_once() {
    let log = DropLog::new(10);
    let queue = Queue::new(4);
    for id in 0..4 {
        queue.push(log.item(id)).unwrap();
    }
    drop(queue.pop());
    // Rejected, evicted and popped values belong to the caller.
    drop(queue.push(log.item(4)));
    drop(queue.force_push(log.item(5)));
    drop(queue.force_push(log.item(6)));
    assert_eq!(log.drops(0), 1);
    assert_eq!(log.drops(1), 1);
    drop(queue);
    log.assert_dropped_once(0..7);
}

#[test]
fn zst_payload() {
    let capacity = scaled(1000, 100);
    let queue = Queue::new(capacity);
    for _ in 0..capacity {
        queue.push(()).unwrap();
    }
    assert_eq!(queue.push(()), Err(()));
    assert_eq!(queue.force_push(()), Some(()));
    assert_eq!(std::iter::from_fn(|| queue.pop()).count(), capacity);
}

#[test]
fn panicking_drop_in_the_queue_drops_the_rest() {
    struct PanicOnDrop<'a>(&'a DropLog, usize);
    impl Drop for PanicOnDrop<'_> {
        fn drop(&mut self) {
            drop(self.0.item(self.1));
            if self.1 == 0 {
                panic!("drop of value 0");
            }
        }
    }
    let log = DropLog::new(3);
    let queue = Queue::new(3);
    for id in 0..3 {
        queue.push(PanicOnDrop(&log, id)).ok().unwrap();
    }
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| drop(queue)));
    assert!(outcome.is_err(), "the panic must reach the caller");
    log.assert_all_dropped_once();
}

#[test]
fn debug_shows_len_and_capacity() {
    let queue = Queue::new(2);
    queue.push(1).unwrap();
    assert_eq!(format!("{queue:?}"), "Queue { len: 1, capacity: 2, .. }");
    let (tx, rx) = channel::<u8>(5);
    assert_eq!(format!("{tx:?}"), "Sender { capacity: Some(5), .. }");
    assert_eq!(format!("{rx:?}"), "Receiver { capacity: Some(5), .. }");
    let (tx, _rx) = unbounded::<u8>();
    assert_eq!(format!("{tx:?}"), "Sender { capacity: None, .. }");
}

// ---------------------------------------------------------------------------------------------
// Channel, one thread
// ---------------------------------------------------------------------------------------------

#[test]
fn try_ops_and_status() {
    let (tx, rx) = channel(2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(tx.is_empty() && rx.is_empty());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert!(tx.is_full() && rx.is_full());
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert_eq!((tx.capacity(), rx.capacity()), (Some(2), Some(2)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn disconnects_only_when_the_last_sender_drops_and_drains_first() {
    for (flavor, make) in roomy_flavors() {
        let (tx, rx) = make();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        drop(tx);
        assert!(!rx.is_disconnected(), "{flavor}");
        tx2.send(2).unwrap();
        drop(tx2);
        assert!(rx.is_disconnected(), "{flavor}");
        assert_eq!(rx.try_recv(), Ok(1), "{flavor}");
        assert_eq!(rx.recv(), Ok(2), "{flavor}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected), "{flavor}");
        assert_eq!(rx.recv(), Err(RecvError), "{flavor}");
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(1)),
            Err(RecvTimeoutError::Disconnected),
            "{flavor}"
        );
        let mut out = Vec::new();
        assert_eq!(
            rx.try_recv_many(&mut out, 4),
            Err(TryRecvError::Disconnected),
            "{flavor}"
        );
        assert_eq!(rx.recv_many(&mut out, 4), Err(RecvError), "{flavor}");
    }
}

#[test]
fn disconnects_only_when_the_last_receiver_drops() {
    for (flavor, make) in roomy_flavors() {
        let (tx, rx) = make();
        let rx2 = rx.clone();
        drop(rx);
        assert!(!tx.is_disconnected(), "{flavor}");
        tx.send(1).unwrap();
        drop(rx2);
        assert!(tx.is_disconnected(), "{flavor}");
        assert!(
            tx.is_empty(),
            "{flavor}: the value died with the last receiver"
        );
        assert_eq!(
            tx.try_send(2),
            Err(TrySendError::Disconnected(2)),
            "{flavor}"
        );
        assert_eq!(tx.send(3), Err(SendError(3)), "{flavor}");
        assert_eq!(
            tx.send_timeout(4, Duration::from_millis(1)),
            Err(SendTimeoutError::Disconnected(4)),
            "{flavor}"
        );
        assert_eq!(
            tx.send_many(5..8),
            Err(SendError(vec![5, 6, 7])),
            "{flavor}"
        );
    }
}

#[test]
fn iterators() {
    for (flavor, make) in roomy_flavors() {
        let (tx, rx) = make();
        tx.send_many(0..6).unwrap();
        assert_eq!(
            rx.try_iter().take(2).collect::<Vec<_>>(),
            [0, 1],
            "{flavor}"
        );
        drop(tx);
        assert_eq!(
            (&rx).into_iter().take(2).collect::<Vec<_>>(),
            [2, 3],
            "{flavor}"
        );
        assert_eq!(rx.iter().next(), Some(4), "{flavor}");
        assert_eq!(rx.into_iter().collect::<Vec<_>>(), [5], "{flavor}");
    }
}

#[test]
fn timeouts_expire_and_hand_the_value_back() {
    let (tx, rx) = channel(1);
    let began = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(began.elapsed() >= Duration::from_millis(20));
    tx.send(1).unwrap();
    let began = Instant::now();
    assert_eq!(
        tx.send_timeout(2, Duration::from_millis(20)),
        Err(SendTimeoutError::Timeout(2))
    );
    assert!(began.elapsed() >= Duration::from_millis(20));
    // Succeeds at once when possible, even with a zero timeout.
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(tx.send_timeout(3, Duration::ZERO), Ok(()));
    // A timeout too large to add to `now` waits without a deadline.
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(3));
}

#[test]
fn deadlines_expire_succeed_when_possible_and_hand_the_value_back() {
    let (tx, rx) = channel(1);
    let deadline = Instant::now() + Duration::from_millis(20);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline, "timed out early");
    tx.send(1).unwrap();
    let deadline = Instant::now() + Duration::from_millis(20);
    assert_eq!(
        tx.send_deadline(2, deadline),
        Err(SendTimeoutError::Timeout(2))
    );
    assert!(Instant::now() >= deadline, "timed out early");
    // A deadline already passed still succeeds when no waiting is needed.
    assert_eq!(rx.recv_deadline(deadline), Ok(1));
    assert_eq!(tx.send_deadline(3, deadline), Ok(()));
    assert_eq!(rx.recv_deadline(deadline), Ok(3));
    drop(tx);
    let far = Instant::now() + WATCHDOG;
    assert_eq!(rx.recv_deadline(far), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn concurrent_a_blocked_recv_deadline_is_woken_by_a_send() {
    let (tx, rx) = channel(1);
    let receiver = spawn_watched("receiver", move || {
        rx.recv_deadline(Instant::now() + WATCHDOG)
    });
    thread::sleep(SETTLE);
    tx.send(7).unwrap();
    assert_eq!(receiver.join(), Ok(7));
}

#[test]
fn batches_claim_what_is_ready() {
    let (tx, rx) = channel(5);
    let mut out = Vec::new();
    assert_eq!(rx.try_recv_many(&mut out, 3), Err(TryRecvError::Empty));
    assert_eq!(rx.try_recv_many(&mut out, 0), Ok(0));
    assert_eq!(rx.recv_many(&mut out, 0), Ok(0));
    tx.send_many(0..4).unwrap();
    assert_eq!(rx.try_recv_many(&mut out, 3), Ok(3));
    tx.send_many(4..8).unwrap();
    // Across the end of the buffer, and more than is asked for fits.
    assert_eq!(rx.recv_many(&mut out, 100), Ok(5));
    assert_eq!(out, (0..8).collect::<Vec<_>>());
    tx.send_many(std::iter::empty()).unwrap();
    assert!(rx.is_empty());
}

#[test]
fn batches_at_every_start_position() {
    let capacity = 4;
    for start in 0..2 * capacity {
        for count in 1..=capacity {
            let (tx, rx) = channel(capacity);
            for _ in 0..start {
                tx.send(0).unwrap();
                rx.recv().unwrap();
            }
            tx.send_many(0..count).unwrap();
            assert_eq!(tx.len(), count);
            let mut out = Vec::new();
            assert_eq!(rx.try_recv_many(&mut out, capacity), Ok(count));
            assert_eq!(out, (0..count).collect::<Vec<_>>(), "start {start}");
        }
    }
}

#[test]
fn values_are_dropped_once_in_any_drop_order() {
    for (order, (_, make)) in (0..4).flat_map(|order| roomy_flavors().map(|f| (order, f))) {
        let log = DropLog::new(6);
        let (tx, rx) = make();
        let (tx2, rx2) = (tx.clone(), rx.clone());
        for id in 0..6 {
            tx.send(log.item(id)).unwrap();
        }
        drop(rx.recv().unwrap());
        match order {
            0 => drop((tx, tx2, rx, rx2)),
            1 => drop((rx, rx2, tx, tx2)),
            2 => drop((tx, rx, tx2, rx2)),
            _ => drop((rx2, tx2, rx, tx)),
        }
        log.assert_all_dropped_once();
    }
}

#[test]
fn values_handed_back_in_errors_are_dropped_once() {
    let log = DropLog::new(5);
    let (tx, rx) = channel(1);
    tx.send(log.item(0)).unwrap();
    drop(tx.try_send(log.item(1)));
    drop(tx.send_timeout(log.item(2), Duration::from_millis(1)));
    drop(rx);
    drop(tx.send(log.item(3)));
    drop(tx.send_many([log.item(4)]));
    drop(tx);
    log.assert_all_dropped_once();
}

#[test]
fn non_sync_payload() {
    for (_, make) in roomy_flavors() {
        let (tx, rx) = make();
        tx.send(Cell::new(5)).unwrap();
        let handle = thread::spawn(move || rx.recv().unwrap().get());
        assert_eq!(handle.join().unwrap(), 5);
    }
}

// ---------------------------------------------------------------------------------------------
// Unbounded channel, one thread
// ---------------------------------------------------------------------------------------------

/// A few segments' worth (31 values each), so every test crosses segment ends.
const MANY: usize = scaled(200, 70);

#[test]
fn unbounded_is_fifo_across_segments_with_exact_status() {
    let (tx, rx) = unbounded();
    // Fill and drain in rounds of different sizes, so the cursors stop at every offset.
    let mut next_sent = 0;
    let mut next_received = 0;
    for round in 1..=scaled(40, 12) {
        for _ in 0..round {
            assert_eq!(tx.try_send(next_sent), Ok(()));
            next_sent += 1;
            assert_eq!(rx.len(), next_sent - next_received);
        }
        assert!(!tx.is_full() && !rx.is_full());
        assert_eq!((tx.capacity(), rx.capacity()), (None, None));
        for _ in 0..round / 2 + 1 {
            assert_eq!(rx.try_recv(), Ok(next_received));
            next_received += 1;
            assert_eq!(tx.len(), next_sent - next_received);
        }
    }
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (next_received..next_sent).collect::<Vec<_>>()
    );
    assert!(rx.is_empty() && tx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn unbounded_sends_never_wait_or_fill() {
    let (tx, rx) = unbounded();
    for value in 0..MANY {
        assert_eq!(tx.send_timeout(value, Duration::ZERO), Ok(()));
    }
    tx.send_many(MANY..2 * MANY).unwrap();
    let mut out = Vec::new();
    assert_eq!(rx.recv_many(&mut out, MANY + 1), Ok(MANY + 1));
    assert_eq!(rx.try_recv_many(&mut out, usize::MAX), Ok(MANY - 1));
    assert_eq!(out, (0..2 * MANY).collect::<Vec<_>>());
}

#[test]
fn unbounded_values_left_are_dropped_once_wherever_the_cursors_are() {
    for taken in [0, 1, 30, 31, 32, 62, 64] {
        let log = DropLog::new(MANY);
        let (tx, rx) = unbounded();
        for id in 0..MANY {
            tx.send(log.item(id)).unwrap();
        }
        for id in 0..taken {
            assert_eq!(rx.recv().map(|item| item.id), Ok(id));
        }
        log.assert_alive_exactly(MANY, taken..MANY);
        drop((tx, rx));
        log.assert_all_dropped_once();
    }
}

/// The system allocator, counting per thread the bytes each thread allocated minus those it
/// freed, so that a test measures its own allocations while others run.
struct CountingAllocator;

thread_local! {
    /// Bytes this thread allocated minus those it freed.
    static ALLOCATED_HERE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn allocated_here() -> isize {
    ALLOCATED_HERE.with(std::cell::Cell::get)
}

// SAFETY: every call is forwarded to the system allocator unchanged; only a thread-local
// counter (constant-initialized, without a destructor, so it never allocates) is added.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATED_HERE.with(|bytes| bytes.set(bytes.get() + layout.size() as isize));
        // SAFETY: forwarded from the caller.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        ALLOCATED_HERE.with(|bytes| bytes.set(bytes.get() - layout.size() as isize));
        // SAFETY: forwarded from the caller.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn unbounded_gives_memory_back_as_it_drains() {
    // A segment holds 31 `u64`s with a state word each, plus a link: about 500 bytes.
    const SEGMENT_BYTES: isize = 31 * 16 + 8;
    // Under Miri, a few segments (about 200 s with 2000 values, most of it in the counting
    // allocator): enough to allocate and free several segments each round.
    let burst = scaled(1_000_000, 200);
    let (tx, rx) = unbounded::<usize>();
    let empty = allocated_here();
    for round in 0..3 {
        (0..burst).for_each(|value| tx.send(value).unwrap());
        let full = allocated_here() - empty;
        assert!(
            full >= (burst / 31) as isize * SEGMENT_BYTES,
            "round {round}: only {full} bytes for {burst} values"
        );
        (0..burst).for_each(|value| assert_eq!(rx.try_recv(), Ok(value)));
        let left = allocated_here() - empty;
        assert!(
            left <= 2 * SEGMENT_BYTES,
            "round {round}: {left} bytes still allocated after the drain ({full} when full)"
        );
    }
}

#[test]
fn unbounded_zst_payload() {
    let (tx, rx) = unbounded();
    for _ in 0..MANY {
        tx.send(()).unwrap();
    }
    assert_eq!(rx.len(), MANY);
    assert_eq!(rx.try_iter().count(), MANY);
}

#[test]
fn unbounded_panicking_drop_in_the_buffer_drops_the_rest() {
    struct PanicOnDrop(bool, Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.0 {
                panic!("drop panics");
            }
        }
    }
    let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    for index in 0..MANY {
        tx.send(PanicOnDrop(index == 40, drops.clone())).unwrap();
    }
    drop(tx);
    let outcome = panic::catch_unwind(AssertUnwindSafe(move || drop(rx)));
    assert!(outcome.is_err(), "the panic reaches the dropper");
    assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), MANY);
}

// ---------------------------------------------------------------------------------------------
// Rendezvous channel
// ---------------------------------------------------------------------------------------------

#[test]
fn rendezvous_alone_has_nobody_to_meet() {
    let log = DropLog::new(4);
    let (tx, rx) = channel(0);
    assert_eq!((tx.len(), tx.is_empty(), tx.is_full()), (0, true, true));
    assert_eq!((rx.len(), rx.is_empty(), rx.is_full()), (0, true, true));
    let back = tx.try_send(log.item(0)).unwrap_err();
    assert!(matches!(&back, TrySendError::Full(v) if v.id == 0));
    drop(back);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    let timeout = Duration::from_millis(20);
    let began = Instant::now();
    let back = tx.send_timeout(log.item(1), timeout).unwrap_err();
    assert!(began.elapsed() >= timeout, "timed out early");
    assert!(matches!(&back, SendTimeoutError::Timeout(v) if v.id == 1));
    drop(back);
    let began = Instant::now();
    assert!(matches!(
        rx.recv_timeout(timeout),
        Err(RecvTimeoutError::Timeout)
    ));
    assert!(began.elapsed() >= timeout, "timed out early");
    let back = tx.send_deadline(log.item(2), Instant::now()).unwrap_err();
    assert!(matches!(&back, SendTimeoutError::Timeout(v) if v.id == 2));
    drop(back);
    drop(rx);
    let back = tx.send(log.item(3)).unwrap_err();
    assert_eq!(back.0.id, 3);
    drop(back);
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_rendezvous_send_returns_only_once_the_value_is_taken() {
    let (tx, rx) = channel(0);
    let taken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let taken = taken.clone();
        spawn_watched("sender", move || {
            tx.send(7).unwrap();
            taken.load(std::sync::atomic::Ordering::SeqCst)
        })
    };
    thread::sleep(SETTLE);
    taken.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(rx.recv(), Ok(7));
    assert!(
        sender.join(),
        "the send returned before the value was taken"
    );
}

#[test]
fn concurrent_rendezvous_try_ops_meet_a_waiting_partner() {
    let (tx, rx) = channel(0);
    let receiver = {
        let rx = rx.clone();
        spawn_watched("receiver", move || rx.recv())
    };
    // The receiver may not wait yet: retry until it does.
    let mut value = 1;
    while let Err(TrySendError::Full(back)) = tx.try_send(value) {
        value = back;
        thread::yield_now();
    }
    assert_eq!(receiver.join(), Ok(1));
    let sender = {
        let tx = tx.clone();
        spawn_watched("sender", move || tx.send(2))
    };
    let received = loop {
        match rx.try_recv() {
            Ok(value) => break value,
            Err(TryRecvError::Empty) => thread::yield_now(),
            Err(TryRecvError::Disconnected) => panic!("disconnected with a sender alive"),
        }
    };
    assert_eq!(received, 2);
    assert_eq!(sender.join(), Ok(()));
}

#[test]
fn concurrent_rendezvous_disconnection_wakes_the_other_side() {
    let (tx, rx) = channel::<u32>(0);
    let senders: Vec<_> = (0..2)
        .map(|value| {
            let tx = tx.clone();
            spawn_watched("blocked sender", move || tx.send(value))
        })
        .collect();
    thread::sleep(SETTLE);
    drop(rx);
    for (value, sender) in (0..2).zip(senders) {
        assert_eq!(sender.join(), Err(SendError(value)), "the value comes back");
    }
    let (tx, rx) = channel::<u32>(0);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            spawn_watched("blocked receiver", move || rx.recv_timeout(WATCHDOG))
        })
        .collect();
    thread::sleep(SETTLE);
    drop(tx);
    for receiver in receivers {
        assert_eq!(receiver.join(), Err(RecvTimeoutError::Disconnected));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn concurrent_rendezvous_2p2c() {
    let per_producer = scaled(20_000, 20) as u64;
    let received = channel_run(|| channel(0), 2, 2, per_producer, false);
    assert_conserved_in_producer_order(&received, 2, per_producer);
    let received = channel_run(|| channel(0), 3, 2, per_producer, true);
    assert_conserved_in_producer_order(&received, 3, per_producer);
}

#[test]
fn concurrent_rendezvous_timeouts_lose_and_duplicate_nothing() {
    // Both sides give up often, so timeouts race meetings: each value is either received
    // once or handed back to its sender once, never both, never neither.
    let values = scaled(5_000, 30);
    let log = DropLog::new(values);
    let (tx, rx) = channel(0);
    let sender = {
        let log = log.clone();
        spawn_watched("sender", move || {
            let mut returned = Vec::new();
            for id in 0..values {
                if let Err(err) = tx.send_timeout(log.item(id), Duration::from_micros(50)) {
                    returned.push(err.into_inner().id);
                }
            }
            returned
        })
    };
    let mut received = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_micros(50)) {
            Ok(value) => received.push(value.id),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut all = sender.join();
    all.extend(received);
    all.sort_unstable();
    assert_eq!(all, (0..values).collect::<Vec<_>>());
    log.assert_all_dropped_once();
}

// ---------------------------------------------------------------------------------------------
// Concurrent
// ---------------------------------------------------------------------------------------------

/// `producers` threads push tagged values through a shared `Queue` with `push`; `consumers`
/// threads pop until everything arrived. Returns what each consumer received, in order.
fn queue_run(
    capacity: usize,
    producers: u64,
    consumers: usize,
    per_producer: u64,
) -> Vec<Vec<u64>> {
    let queue = Arc::new(Queue::new(capacity));
    let total = producers * per_producer;
    let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Arc::new(Barrier::new(producers as usize + consumers));
    let producer_threads: Vec<_> = (0..producers)
        .map(|producer| {
            let (queue, start) = (queue.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for sequence in 0..per_producer {
                    push_retrying(&queue, producer * STRIDE + sequence);
                }
            })
        })
        .collect();
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|_| {
            let (queue, start, taken) = (queue.clone(), start.clone(), taken.clone());
            thread::spawn(move || {
                start.wait();
                let mut received = Vec::new();
                while taken.load(std::sync::atomic::Ordering::SeqCst) < total {
                    match queue.pop() {
                        Some(value) => {
                            taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            received.push(value);
                        }
                        None => thread::yield_now(),
                    }
                }
                received
            })
        })
        .collect();
    producer_threads.into_iter().for_each(|t| t.join().unwrap());
    let received = consumer_threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(queue.is_empty());
    received
}

#[test]
fn concurrent_queue_2p2c_conserves_and_keeps_producer_order() {
    let per_producer = scaled(20_000, 40) as u64;
    for capacity in [1, 3] {
        let received = queue_run(capacity, 2, 2, per_producer);
        assert_conserved_in_producer_order(&received, 2, per_producer);
    }
}

#[test]
fn concurrent_queue_4p4c_oversubscribed() {
    let per_producer = scaled(10_000, 12) as u64;
    let received = queue_run(16, 4, 4, per_producer);
    assert_conserved_in_producer_order(&received, 4, per_producer);
}

/// `producers` threads `send` tagged values, `consumers` threads `recv` until disconnected;
/// every thread is watched for hangs. `batch` switches to `send_many` / `recv_many`.
fn channel_run(
    make: impl FnOnce() -> (Sender<u64>, Receiver<u64>),
    producers: u64,
    consumers: usize,
    per_producer: u64,
    batch: bool,
) -> Vec<Vec<u64>> {
    let (tx, rx) = make();
    let producer_threads: Vec<_> = (0..producers)
        .map(|producer| {
            let tx = tx.clone();
            spawn_watched("producer", move || {
                let values = (0..per_producer).map(|sequence| producer * STRIDE + sequence);
                if batch {
                    tx.send_many(values).unwrap();
                } else {
                    values.for_each(|value| tx.send(value).unwrap());
                }
            })
        })
        .collect();
    drop(tx);
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            spawn_watched("consumer", move || {
                let mut received = Vec::new();
                if batch {
                    while rx.recv_many(&mut received, 7).is_ok() {}
                } else {
                    received.extend(rx.iter());
                }
                received
            })
        })
        .collect();
    drop(rx);
    producer_threads.into_iter().for_each(|t| t.join());
    consumer_threads.into_iter().map(|t| t.join()).collect()
}

#[test]
fn concurrent_channel_2p2c_capacity_1() {
    let per_producer = scaled(20_000, 30) as u64;
    let received = channel_run(|| channel(1), 2, 2, per_producer, false);
    assert_conserved_in_producer_order(&received, 2, per_producer);
}

#[test]
fn concurrent_channel_2p2c_capacity_4() {
    let per_producer = scaled(50_000, 30) as u64;
    let received = channel_run(|| channel(4), 2, 2, per_producer, false);
    assert_conserved_in_producer_order(&received, 2, per_producer);
}

#[test]
fn concurrent_channel_4p4c_oversubscribed() {
    let per_producer = scaled(20_000, 10) as u64;
    let received = channel_run(|| channel(8), 4, 4, per_producer, false);
    assert_conserved_in_producer_order(&received, 4, per_producer);
}

#[test]
fn concurrent_channel_batches() {
    let per_producer = scaled(50_000, 40) as u64;
    for capacity in [3, 64] {
        let received = channel_run(|| channel(capacity), 3, 2, per_producer, true);
        assert_conserved_in_producer_order(&received, 3, per_producer);
    }
    let received = channel_run(unbounded, 3, 2, per_producer, true);
    assert_conserved_in_producer_order(&received, 3, per_producer);
}

#[test]
fn concurrent_unbounded_2p2c() {
    let per_producer = scaled(50_000, 40) as u64;
    let received = channel_run(unbounded, 2, 2, per_producer, false);
    assert_conserved_in_producer_order(&received, 2, per_producer);
}

#[test]
fn concurrent_unbounded_4p4c_oversubscribed() {
    let per_producer = scaled(20_000, 10) as u64;
    let received = channel_run(unbounded, 4, 4, per_producer, false);
    assert_conserved_in_producer_order(&received, 4, per_producer);
}

#[test]
fn concurrent_force_push_loses_and_duplicates_nothing() {
    let per_producer = scaled(20_000, 30) as u64;
    let queue = Arc::new(Queue::new(2));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let producers: Vec<_> = (0..2u64)
        .map(|producer| {
            let (queue, done) = (queue.clone(), done.clone());
            thread::spawn(move || {
                let mut evicted = Vec::new();
                for sequence in 0..per_producer {
                    evicted.extend(queue.force_push(producer * STRIDE + sequence));
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                evicted
            })
        })
        .collect();
    let consumer = {
        let (queue, done) = (queue.clone(), done.clone());
        thread::spawn(move || {
            let mut popped = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == 2;
                match queue.pop() {
                    Some(value) => popped.push(value),
                    None if finished => return popped,
                    None => thread::yield_now(),
                }
            }
        })
    };
    let mut lists: Vec<Vec<u64>> = producers.into_iter().map(|t| t.join().unwrap()).collect();
    lists.push(consumer.join().unwrap());
    // Popped and evicted values together are everything sent, each once; the consumer's share
    // and each producer's evictions are in each producer's order.
    assert_conserved_in_producer_order(&lists, 2, per_producer);
}

#[test]
fn concurrent_last_senders_drop_right_after_sending_loses_nothing() {
    for (_, make) in (0..scaled(200, 4)).flat_map(|_| roomy_flavors()) {
        let (tx, rx) = make();
        let senders: Vec<_> = (0..2u64)
            .map(|producer| {
                let tx = tx.clone();
                thread::spawn(move || {
                    tx.send(producer * STRIDE).unwrap();
                    tx.send(producer * STRIDE + 1).unwrap();
                })
            })
            .collect();
        drop(tx);
        let receiver = spawn_watched("receiver", move || rx.iter().collect::<Vec<_>>());
        senders.into_iter().for_each(|t| t.join().unwrap());
        assert_conserved_in_producer_order(&[receiver.join()], 2, 2);
    }
}

#[test]
fn concurrent_sends_racing_the_last_receiver_drop_leave_nothing_buffered() {
    let per_sender = scaled(500, 8);
    let flavors: [(&str, MakeChannel<_>); 2] =
        [("bounded(4)", || channel(4)), ("unbounded", unbounded)];
    for (stop_after, (_, make)) in [0, 1, per_sender / 2]
        .into_iter()
        .flat_map(|stop_after| flavors.map(|flavor| (stop_after, flavor)))
    {
        let log = DropLog::new(2 * per_sender);
        let (tx, rx) = make();
        // Each sender hands its endpoint back, so the values are checked while the senders
        // live: the buffered ones must have died with the last receiver.
        let senders: Vec<_> = (0..2)
            .map(|sender| {
                let (tx, log) = (tx.clone(), log.clone());
                spawn_watched("sender", move || {
                    let ids = sender * per_sender..(sender + 1) * per_sender;
                    for id in ids.clone() {
                        if tx.send(log.item(id)).is_err() {
                            return (tx, ids.start..id + 1);
                        }
                    }
                    (tx, ids)
                })
            })
            .collect();
        drop(tx);
        let rx2 = rx.clone();
        let receiver = spawn_watched("receiver", move || {
            for _ in 0..stop_after {
                rx.recv().unwrap();
            }
        });
        drop(rx2);
        receiver.join();
        let senders: Vec<_> = senders.into_iter().map(|sender| sender.join()).collect();
        for (tx, made) in &senders {
            assert!(tx.is_empty() && tx.is_disconnected());
            log.assert_dropped_once(made.clone());
        }
        drop(senders);
    }
}

#[test]
fn buffered_values_die_with_the_last_receiver() {
    // The std pattern this is for: a request carries its reply sender, the server drops its
    // receiver unread, and the client must see the disconnection at once, not wait forever.
    let (req_tx, req_rx) = channel(4);
    let (reply_tx, reply_rx) = channel::<u32>(1);
    req_tx.send((1u32, reply_tx)).unwrap();
    let req_rx2 = req_rx.clone();
    drop(req_rx);
    // Another receiver lives: the request is still there for it.
    assert_eq!(req_tx.len(), 1);
    assert_eq!(reply_rx.try_recv(), Err(TryRecvError::Empty));
    drop(req_rx2);
    let client = spawn_watched("client", move || reply_rx.recv());
    assert_eq!(client.join(), Err(RecvError));
    assert!(req_tx.is_empty());
}

#[test]
fn concurrent_receiver_drop_wakes_blocked_senders() {
    let (tx, rx) = channel(1);
    tx.send(0u32).unwrap();
    let blocked: Vec<_> = (1..=2)
        .map(|value| {
            let tx = tx.clone();
            spawn_watched("blocked sender", move || tx.send(value))
        })
        .collect();
    thread::sleep(SETTLE);
    drop(rx);
    // Each blocked sender wakes (the watchdog fails the test otherwise) and hands its value
    // back, unless it got into the slot the drop freed as it dropped value 0; then its value
    // was dropped by the channel, and nothing is left buffered either way.
    for (value, sender) in (1..=2).zip(blocked) {
        match sender.join() {
            Ok(()) => {}
            Err(back) => assert_eq!(back.0, value),
        }
    }
    assert!(tx.is_empty() && tx.is_disconnected());
}

#[test]
fn concurrent_sender_drop_wakes_blocked_receivers() {
    for (_, make) in roomy_flavors::<u32>() {
        let (tx, rx) = make();
        let blocked: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                spawn_watched("blocked receiver", move || {
                    let mut out = Vec::new();
                    (rx.recv(), rx.recv_many(&mut out, 2))
                })
            })
            .collect();
        thread::sleep(SETTLE);
        drop(tx);
        for thread in blocked {
            assert_eq!(thread.join(), (Err(RecvError), Err(RecvError)));
        }
    }
}

#[test]
fn concurrent_blocked_threads_wake_for_progress() {
    // Receivers block on an empty channel, senders on a full one; each side's progress must
    // wake the other.
    let (tx, rx) = channel(1);
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            spawn_watched("receiver", move || rx.iter().take(scaled(1000, 10)).count())
        })
        .collect();
    thread::sleep(SETTLE);
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let tx = tx.clone();
            spawn_watched("sender", move || {
                for value in 0..scaled(1000, 10) {
                    tx.send(value).unwrap();
                }
            })
        })
        .collect();
    senders.into_iter().for_each(|t| t.join());
    let received: usize = receivers.into_iter().map(|t| t.join()).sum();
    assert_eq!(received, 2 * scaled(1000, 10));
    drop((tx, rx));
}
