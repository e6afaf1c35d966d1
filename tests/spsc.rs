//! Behaviour tests for `verisync::spsc` on std threads; the same tests run under Miri.
//!
//! Tests whose name starts with `concurrent_` use more than one thread: they are the set meant
//! for Miri's many-seeds run. The two Miri commands:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --test spsc
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..8" \
//!     cargo +nightly miri test --test spsc -- concurrent_
//! ```
//!
//! Measured on 2 idle cores: about 45 s for the first, 70 s for the second (two seeds at a time).
//!
//! Counts shrink under `cfg(miri)` (see [`scaled`]). A blocking call that would hang forever on a
//! lost wake-up runs in a thread from [`spawn_watched`], whose result is awaited for at most
//! [`WATCHDOG`], so such a bug fails the test instead of hanging it.
//!
//! `panicking_drop_in_buffer_when_the_endpoints_drop` is ignored under Miri: when a value's
//! `Drop` panics inside the channel's drop, `Arc` leaks its allocation (by design, not UB), which
//! Miri's leak check reports. Run it under Miri alone with `-Zmiri-ignore-leaks`:
//!
//! ```text
//! MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-ignore-leaks" cargo +nightly miri test \
//!     --test spsc -- --ignored --exact panicking_drop_in_buffer_when_the_endpoints_drop
//! ```

#[path = "support/behaviour.rs"]
mod support;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{DropLog, SETTLE, WATCHDOG, scaled, spawn_watched};

use verisync::spsc::{
    CapacityError, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError, channel, try_channel,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Moves both positions `steps` places on by sending and receiving one value at a time.
fn advance_positions<T>(
    tx: &Sender<T>,
    rx: &Receiver<T>,
    steps: usize,
    mut make: impl FnMut() -> T,
) {
    for _ in 0..steps {
        assert!(tx.try_send(make()).is_ok());
        assert!(rx.try_recv().is_ok());
    }
}

fn assert_send<T: Send>() {}

// ---------------------------------------------------------------------------------------------
// Capacity
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_zero_is_an_error() {
    assert_eq!(try_channel::<u64>(0).unwrap_err(), CapacityError::Zero);
    assert_eq!(try_channel::<()>(0).unwrap_err(), CapacityError::Zero);
}

#[test]
#[should_panic(expected = "capacity")]
fn capacity_zero_panics_in_channel() {
    let _ = channel::<u64>(0);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri reports a huge allocation as resource exhaustion, not a failure"
)]
fn capacity_the_allocator_cannot_give_is_an_error() {
    // 2^61 bytes fit in `isize`, but no machine has them: an `Err`, never an abort.
    assert_eq!(
        try_channel::<u64>(1 << 58).unwrap_err(),
        CapacityError::AllocationFailed { requested: 1 << 58 }
    );
    let panic = panic::catch_unwind(|| channel::<u64>(1 << 58)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("could not allocate"), "{message}");
}

#[test]
fn capacity_too_large_is_an_error() {
    // The buffer of `max + 1` u64s would not fit in `isize::MAX` bytes.
    let max = isize::MAX as usize / size_of::<u64>();
    assert_eq!(
        try_channel::<u64>(max + 1).unwrap_err(),
        CapacityError::TooLarge {
            requested: max + 1,
            max
        }
    );
    assert!(matches!(
        try_channel::<u64>(usize::MAX),
        Err(CapacityError::TooLarge { .. })
    ));
    // For a ZST the bound is the positions, which count up to twice the capacity.
    let zst_max = usize::MAX / 2;
    assert_eq!(
        try_channel::<()>(zst_max + 1).unwrap_err(),
        CapacityError::TooLarge {
            requested: zst_max + 1,
            max: zst_max
        }
    );
    let (tx, rx) = try_channel::<()>(zst_max).expect("the largest ZST capacity is allowed");
    assert_eq!(tx.try_send(()), Ok(()));
    assert_eq!(rx.try_recv(), Ok(()));
}

#[test]
#[should_panic(expected = "capacity")]
fn capacity_too_large_panics_in_channel() {
    let _ = channel::<u64>(usize::MAX);
}

#[test]
fn capacity_is_exact_for_any_value() {
    for capacity in [1, 2, 3, 5, 7, 10, 1000] {
        let (tx, rx) = channel(capacity);
        assert_eq!(tx.capacity(), capacity);
        assert_eq!(rx.capacity(), capacity);
        for i in 0..capacity {
            assert_eq!(tx.try_send(i), Ok(()), "capacity {capacity}");
        }
        assert_eq!(tx.try_send(capacity), Err(TrySendError::Full(capacity)));
        assert!(tx.is_full());
        assert_eq!(tx.slots(), 0);
        assert_eq!(rx.len(), capacity);
        for i in 0..capacity {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn capacity_one() {
    let (mut tx, mut rx) = channel(1);
    for i in 0..scaled(100, 20) {
        assert!(rx.is_empty());
        assert_eq!(tx.slots(), 1);
        assert_eq!(tx.try_send(i), Ok(()));
        assert_eq!(tx.try_send(i + 1), Err(TrySendError::Full(i + 1)));
        assert!(tx.is_full());
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.peek(), Some(&i));
        assert_eq!(rx.try_recv(), Ok(i));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(rx.peek(), None);
        // The same through one-slot chunks.
        assert_eq!(tx.write_chunk(5).fill_from_iter([i, i + 1]), 1);
        assert_eq!(tx.write_chunk(5).len(), 0);
        assert_eq!(rx.read_chunk(5).collect::<Vec<_>>(), [i]);
    }
}

// ---------------------------------------------------------------------------------------------
// Single-thread behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn fifo_and_positions_wrap_many_times() {
    // Capacity 3: positions run over 0..6 and wrap every 6 values; this goes round > 50 times,
    // with every fill level and phase, checking every result against a simple count.
    let capacity = 3;
    let (tx, rx) = channel(capacity);
    let (mut next_send, mut next_recv) = (0u64, 0u64);
    for round in 0..(100 * capacity) {
        for _ in 0..=round % capacity {
            let queued = (next_send - next_recv) as usize;
            if queued < capacity {
                assert_eq!(tx.try_send(next_send), Ok(()));
                next_send += 1;
            } else {
                assert_eq!(tx.try_send(next_send), Err(TrySendError::Full(next_send)));
            }
            assert_eq!(rx.len(), (next_send - next_recv) as usize);
        }
        for _ in 0..=(round * 7) % capacity {
            if next_recv < next_send {
                assert_eq!(rx.try_recv(), Ok(next_recv));
                next_recv += 1;
            } else {
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
            assert_eq!(tx.slots(), capacity - (next_send - next_recv) as usize);
        }
    }
    assert!(
        next_recv > 10 * 2 * capacity as u64,
        "only {next_recv} values went through"
    );
}

#[test]
fn status_methods() {
    let (tx, rx) = channel(3);
    assert_eq!((tx.slots(), tx.is_full()), (3, false));
    assert_eq!((rx.len(), rx.is_empty()), (0, true));
    assert!(!tx.is_disconnected());
    assert!(!rx.is_disconnected());

    tx.send('a').unwrap();
    assert_eq!((tx.slots(), tx.is_full()), (2, false));
    assert_eq!((rx.len(), rx.is_empty()), (1, false));
    tx.send('b').unwrap();
    tx.send('c').unwrap();
    assert_eq!((tx.slots(), tx.is_full()), (0, true));
    assert_eq!((rx.len(), rx.is_empty()), (3, false));
    assert_eq!(rx.recv(), Ok('a'));
    assert_eq!((tx.slots(), tx.is_full()), (1, false));
    assert_eq!(rx.len(), 2);

    drop(tx);
    assert!(rx.is_disconnected());
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_iter().collect::<String>(), "bc");
    assert!(rx.is_empty());

    let (tx, rx) = channel::<u8>(2);
    drop(rx);
    assert!(tx.is_disconnected());
    assert_eq!(tx.capacity(), 2);
}

#[test]
fn peek_shows_the_oldest_without_taking_it() {
    let log = DropLog::new(2);
    let (tx, mut rx) = channel(2);
    assert!(rx.peek().is_none());
    tx.send(log.item(0)).unwrap();
    tx.send(log.item(1)).unwrap();
    assert_eq!(rx.peek().map(|v| v.id), Some(0));
    assert_eq!(rx.peek().map(|v| v.id), Some(0));
    assert_eq!(rx.len(), 2);
    assert_eq!(log.drops(0), 0);
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(0));
    assert_eq!(rx.peek().map(|v| v.id), Some(1));
    drop(tx);
    // Still buffered after the sender is gone.
    assert_eq!(rx.peek().map(|v| v.id), Some(1));
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(1));
    assert!(rx.peek().is_none());
    log.assert_all_dropped_once();
}

#[test]
fn peek_at_every_position() {
    let (tx, mut rx) = channel(3);
    for i in 0..12u32 {
        tx.send(i).unwrap();
        assert_eq!(rx.peek(), Some(&i));
        assert_eq!(rx.try_recv(), Ok(i));
        assert_eq!(rx.peek(), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------------------------

#[test]
fn sender_drop_lets_the_receiver_drain_then_disconnects() {
    let (tx, rx) = channel(4);
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert!(rx.is_disconnected());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(2));
    assert_eq!(rx.iter().next(), Some(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
    // Disconnected wins over a long timeout: no waiting.
    assert_eq!(
        rx.recv_timeout(WATCHDOG),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_eq!(rx.iter().next(), None);
    assert_eq!(rx.try_iter().next(), None);
}

#[test]
fn iterators_end_after_the_sender_drops() {
    let (tx, rx) = channel(5);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut seen = Vec::new();
    for v in &rx {
        seen.push(v);
        if seen.len() == 2 {
            break;
        }
    }
    seen.extend(rx.try_iter().take(1));
    seen.extend(rx);
    assert_eq!(seen, [0, 1, 2, 3, 4]);
}

#[test]
fn receiver_drop_hands_every_send_its_value_back() {
    let (mut tx, rx) = channel(2);
    tx.send(0).unwrap();
    drop(rx);
    assert!(tx.is_disconnected());
    assert_eq!(tx.try_send(1), Err(TrySendError::Disconnected(1)));
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(
        tx.send_timeout(3, Duration::from_millis(1)),
        Err(SendTimeoutError::Disconnected(3))
    );
    // Disconnected wins over a long timeout: no waiting.
    assert_eq!(
        tx.send_timeout(4, WATCHDOG),
        Err(SendTimeoutError::Disconnected(4))
    );
    // Also when the buffer is full: the receiver is gone, so "full" does not matter.
    let _ = tx.write_chunk(1).fill_from_iter([5]);
    assert_eq!(tx.try_send(6), Err(TrySendError::Disconnected(6)));
    assert_eq!(tx.send(7), Err(SendError(7)));
}

// ---------------------------------------------------------------------------------------------
// Timeouts (single thread: nobody acts, so they must time out)
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_times_out_and_returns_the_value() {
    let log = DropLog::new(3);
    let (tx, rx) = channel(1);
    tx.send(log.item(0)).unwrap();
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    let err = tx.send_timeout(log.item(1), timeout).unwrap_err();
    assert!(start.elapsed() >= timeout, "timed out early");
    assert!(matches!(&err, SendTimeoutError::Timeout(v) if v.id == 1));
    assert_eq!(log.drops(1), 0);
    drop(err);
    assert_eq!(log.drops(1), 1);
    let err = tx.send_timeout(log.item(2), Duration::ZERO).unwrap_err();
    assert!(matches!(&err, SendTimeoutError::Timeout(v) if v.id == 2));
    drop(err);
    // The channel is unchanged by the failed sends.
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(0));
    assert!(rx.try_recv().is_err());
    log.assert_all_dropped_once();
}

#[test]
fn recv_timeout_times_out() {
    let (tx, rx) = channel::<u8>(1);
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= timeout, "timed out early");
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    // Still connected and usable.
    tx.send(9).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(9));
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
fn timeouts_succeed_at_once_when_possible() {
    let (tx, rx) = channel(1);
    assert_eq!(tx.send_timeout(1, Duration::ZERO), Ok(()));
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    // A timeout too large for `Instant` means "no deadline".
    assert_eq!(tx.send_timeout(2, Duration::MAX), Ok(()));
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(2));
}

// ---------------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------------

#[test]
fn chunks_wrap_around_the_end_of_the_buffer() {
    let (mut tx, mut rx) = channel(5);
    advance_positions(&tx, &rx, 3, || 0);
    let mut chunk = tx.write_chunk(4);
    assert_eq!(chunk.len(), 4);
    // Slots 3, 4, 0, 1.
    assert_eq!(chunk.fill_from_iter(10..14), 4);
    assert!(chunk.is_empty());
    drop(chunk);
    assert_eq!(rx.len(), 4);
    let chunk = rx.read_chunk(4);
    assert_eq!(chunk.len(), 4);
    assert_eq!(chunk.collect::<Vec<_>>(), [10, 11, 12, 13]);
    assert!(rx.is_empty());
    assert_eq!(tx.slots(), 5);
}

#[test]
fn chunks_at_every_start_position_and_fill_level() {
    let capacity = 5;
    let mut next = 0u32;
    // Starts cover both halves of the position range 0..2 * capacity.
    for start in 0..2 * capacity {
        for queued in 0..capacity {
            for len in 1..=capacity - queued {
                let (mut tx, mut rx) = channel(capacity);
                advance_positions(&tx, &rx, start, || 0);
                let before: Vec<u32> = (next..).take(queued).collect();
                for &v in &before {
                    tx.try_send(v).unwrap();
                }
                next += queued as u32;
                let batch: Vec<u32> = (next..).take(len).collect();
                next += len as u32;
                let mut chunk = tx.write_chunk(len);
                assert_eq!(chunk.len(), len);
                assert_eq!(chunk.fill_from_iter(batch.iter().copied()), len);
                drop(chunk);
                assert_eq!(rx.len(), queued + len);
                assert_eq!(tx.slots(), capacity - queued - len);
                let expected: Vec<u32> = before.iter().chain(&batch).copied().collect();
                assert_eq!(rx.peek(), expected.first());
                let got: Vec<u32> = rx.read_chunk(capacity).collect();
                assert_eq!(got, expected, "start {start}, queued {queued}, len {len}");
                assert!(rx.is_empty());
            }
        }
    }
}

#[test]
fn read_chunk_partial_consumption_leaves_the_rest_queued() {
    let (mut tx, mut rx) = channel(5);
    advance_positions(&tx, &rx, 4, || 0);
    assert_eq!(tx.write_chunk(5).fill_from_iter(0..5), 5);
    let mut chunk = rx.read_chunk(5);
    assert_eq!(chunk.len(), 5);
    assert_eq!(chunk.next(), Some(0));
    assert_eq!(chunk.next(), Some(1));
    assert_eq!(chunk.len(), 3);
    drop(chunk);
    assert_eq!(rx.len(), 3);
    assert_eq!(tx.slots(), 2);
    assert_eq!(rx.peek(), Some(&2));
    assert_eq!(rx.read_chunk(10).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(tx.slots(), 5);
}

#[test]
fn read_chunk_dropped_without_taking_releases_nothing() {
    let (tx, mut rx) = channel(3);
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.read_chunk(3).len(), 3);
    assert_eq!(rx.len(), 3);
    assert!(tx.is_full());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn write_chunk_dropped_with_nothing_written_publishes_nothing() {
    let (mut tx, rx) = channel::<u32>(3);
    assert_eq!(tx.write_chunk(3).len(), 3);
    assert_eq!(rx.len(), 0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.slots(), 3);
    // Partly written: only what was written is published.
    let mut chunk = tx.write_chunk(3);
    assert_eq!(chunk.push(7), Ok(()));
    assert_eq!(chunk.push(8), Ok(()));
    assert_eq!(chunk.len(), 1);
    drop(chunk);
    assert_eq!(rx.len(), 2);
    assert_eq!(tx.slots(), 1);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [7, 8]);
}

#[test]
fn write_chunk_leaked_publishes_nothing() {
    let (mut tx, rx) = channel::<u32>(3);
    let mut chunk = tx.write_chunk(2);
    chunk.push(1).unwrap();
    std::mem::forget(chunk);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.slots(), 3);
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn chunk_max_larger_than_capacity() {
    let (mut tx, mut rx) = channel(4);
    assert_eq!(tx.write_chunk(usize::MAX).len(), 4);
    tx.send(0).unwrap();
    let mut chunk = tx.write_chunk(100);
    assert_eq!(chunk.len(), 3);
    assert_eq!(chunk.fill_from_iter(1..), 3);
    drop(chunk);
    assert_eq!(tx.write_chunk(100).len(), 0);
    let chunk = rx.read_chunk(usize::MAX);
    assert_eq!(chunk.len(), 4);
    assert_eq!(chunk.size_hint(), (4, Some(4)));
    assert_eq!(chunk.collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(rx.read_chunk(100).len(), 0);
}

#[test]
fn empty_chunks() {
    let (mut tx, mut rx) = channel(2);
    let mut chunk = tx.write_chunk(0);
    assert!(chunk.is_empty());
    assert_eq!(chunk.push(1), Err(1));
    assert_eq!(chunk.fill_from_iter(0..), 0);
    drop(chunk);
    assert_eq!(rx.read_chunk(0).next(), None);
    assert_eq!(rx.read_chunk(5).next(), None);
    tx.send(3).unwrap();
    assert_eq!(rx.read_chunk(0).next(), None);
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn write_chunk_push_hands_the_value_back_when_full() {
    let log = DropLog::new(3);
    let (mut tx, rx) = channel(2);
    let mut chunk = tx.write_chunk(5);
    assert_eq!(chunk.len(), 2);
    chunk.push(log.item(0)).unwrap();
    chunk.push(log.item(1)).unwrap();
    let back = chunk.push(log.item(2)).unwrap_err();
    assert_eq!(back.id, 2);
    assert_eq!(log.drops(2), 0);
    drop(back);
    drop(chunk);
    assert_eq!(rx.try_iter().map(|v| v.id).collect::<Vec<_>>(), [0, 1]);
    log.assert_all_dropped_once();
}

#[test]
fn fill_from_iter_consumes_no_more_than_it_writes() {
    let (mut tx, rx) = channel(3);
    let mut source = 0..10;
    assert_eq!(tx.write_chunk(2).fill_from_iter(&mut source), 2);
    assert_eq!(source.next(), Some(2));
    assert_eq!(tx.write_chunk(5).fill_from_iter(&mut source), 1);
    assert_eq!(source.next(), Some(4));
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 3]);
}

/// A chunk that wraps around the end of the buffer, partly taken with `next`, then folded
/// across the wrap: the fold yields exactly the values left, in order.
#[test]
fn read_chunk_fold_after_next_across_the_wrap() {
    let (tx, mut rx) = channel(4);
    for value in 0..2 {
        tx.send(value).unwrap();
        assert_eq!(rx.recv(), Ok(value));
    }
    // Positions 2 to 5: slots 2, 3, 0 and 1.
    for value in 2..6 {
        tx.send(value).unwrap();
    }
    let mut chunk = rx.read_chunk(4);
    assert_eq!(chunk.next(), Some(2));
    let rest = chunk.fold(Vec::new(), |mut rest, value| {
        rest.push(value);
        rest
    });
    assert_eq!(rest, [3, 4, 5]);
    assert!(rx.is_empty());
}

/// The count is of what this call wrote, not of the whole chunk, whether the chunk or the
/// iterator runs out first.
#[test]
fn fill_from_iter_counts_only_its_own_values() {
    let (mut tx, rx) = channel(8);
    let mut chunk = tx.write_chunk(5);
    assert_eq!(chunk.push(0), Ok(()));
    assert_eq!(chunk.fill_from_iter(1..3), 2);
    assert_eq!(chunk.fill_from_iter(3..), 2);
    drop(chunk);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

// ---------------------------------------------------------------------------------------------
// Drop counting
// ---------------------------------------------------------------------------------------------

#[test]
fn values_left_in_the_buffer_are_dropped_once_in_any_drop_order() {
    let capacity = 3;
    for sender_first in [true, false] {
        // Every start position (both halves of the position range) and fill level.
        for start in 0..2 * capacity {
            for queued in 0..=capacity {
                let log = DropLog::new(start + queued);
                let (tx, rx) = channel(capacity);
                let mut ids = 0..;
                advance_positions(&tx, &rx, start, || log.item(ids.next().unwrap()));
                for _ in 0..queued {
                    tx.try_send(log.item(ids.next().unwrap())).unwrap();
                }
                log.assert_dropped_once(0..start);
                for id in start..start + queued {
                    assert_eq!(log.drops(id), 0);
                }
                if sender_first {
                    drop(tx);
                    for id in start..start + queued {
                        assert_eq!(log.drops(id), 0, "dropped while the receiver can get it");
                    }
                    drop(rx);
                } else {
                    drop(rx);
                    drop(tx);
                }
                log.assert_all_dropped_once();
            }
        }
    }
}

#[test]
fn values_handed_back_in_errors_are_dropped_once() {
    let log = DropLog::new(7);
    let (tx, rx) = channel(1);
    tx.send(log.item(0)).unwrap();
    let TrySendError::Full(back) = tx.try_send(log.item(1)).unwrap_err() else {
        panic!("expected Full")
    };
    assert_eq!(back.id, 1);
    drop(back);
    let SendTimeoutError::Timeout(back) = tx.send_timeout(log.item(2), Duration::ZERO).unwrap_err()
    else {
        panic!("expected Timeout")
    };
    assert_eq!(back.id, 2);
    drop(back);
    drop(rx);
    let TrySendError::Disconnected(back) = tx.try_send(log.item(3)).unwrap_err() else {
        panic!("expected Disconnected")
    };
    assert_eq!(back.id, 3);
    drop(back);
    let SendError(back) = tx.send(log.item(4)).unwrap_err();
    assert_eq!(back.id, 4);
    drop(back);
    let back = tx.send_timeout(log.item(5), Duration::ZERO).unwrap_err();
    assert!(matches!(&back, SendTimeoutError::Disconnected(v) if v.id == 5));
    assert_eq!(back.into_inner().id, 5);
    let back = tx.send_timeout(log.item(6), WATCHDOG).unwrap_err();
    drop(back);
    // Value 0 was still buffered: it died with the receiver, while the sender lives on.
    log.assert_all_dropped_once();
    drop(tx);
    log.assert_all_dropped_once();
}

#[test]
fn buffered_values_die_with_the_receiver() {
    // The std pattern this is for: a request carries its reply sender, the server drops its
    // receiver unread, and the client must see the disconnection at once, not wait forever.
    let (req_tx, req_rx) = channel(4);
    let (reply_tx, reply_rx) = channel::<u32>(1);
    req_tx.send((1u32, reply_tx)).unwrap();
    drop(req_rx);
    let client = spawn_watched("client", move || reply_rx.recv());
    assert_eq!(client.join(), Err(RecvError));
    assert!(req_tx.is_disconnected());
    assert_eq!(req_tx.slots(), 4, "the buffer is empty again");
}

#[test]
fn chunks_after_the_receiver_drops_are_empty_and_hand_values_back() {
    let log = DropLog::new(3);
    let (mut tx, rx) = channel(4);
    tx.send(log.item(0)).unwrap();
    drop(rx);
    log.assert_dropped_once(0..1);
    let mut chunk = tx.write_chunk(4);
    assert!(chunk.is_empty());
    let back = chunk.push(log.item(1)).unwrap_err();
    assert_eq!(back.id, 1);
    drop(back);
    let mut ids = 2..3;
    assert_eq!(chunk.fill_from_iter((&mut ids).map(|id| log.item(id))), 0);
    assert_eq!(
        ids.next(),
        Some(2),
        "an empty chunk pulled from the iterator"
    );
    drop(chunk);
    drop(tx);
    log.assert_dropped_once(0..2);
}

#[test]
fn values_taken_by_chunks_are_dropped_once() {
    // 5 values fill the channel; after 2 are taken, 2 more fit: 7 in all.
    let log = DropLog::new(7);
    let (mut tx, mut rx) = channel(5);
    let mut ids = 0..7;
    assert_eq!(
        tx.write_chunk(5)
            .fill_from_iter((&mut ids).map(|id| log.item(id))),
        5
    );
    {
        let mut chunk = rx.read_chunk(4);
        let first = chunk.next().unwrap();
        assert_eq!(first.id, 0);
        drop(first);
        assert_eq!(chunk.next().map(|v| v.id), Some(1));
        // Two left untaken in the chunk: they stay in the channel.
    }
    log.assert_dropped_once(0..2);
    assert_eq!(
        tx.write_chunk(5)
            .fill_from_iter((&mut ids).map(|id| log.item(id))),
        2
    );
    assert_eq!(rx.try_recv().map(|v| v.id), Ok(2));
    log.assert_dropped_once(0..3);
    for id in 3..7 {
        assert_eq!(log.drops(id), 0);
    }
    drop(rx);
    drop(tx);
    log.assert_all_dropped_once();
}

// ---------------------------------------------------------------------------------------------
// Payload types: ZSTs, `!Sync`, panicking `Drop`
// ---------------------------------------------------------------------------------------------

#[test]
fn zst_payload_with_a_huge_capacity() {
    let capacity = usize::MAX / 8;
    let (mut tx, mut rx) = channel::<()>(capacity);
    assert_eq!(tx.capacity(), capacity);
    let n = scaled(1000, 100);
    for _ in 0..n {
        tx.send(()).unwrap();
    }
    assert_eq!(rx.len(), n);
    assert_eq!(tx.slots(), capacity - n);
    assert!(!tx.is_full());
    assert_eq!(rx.peek(), Some(&()));
    assert_eq!(tx.write_chunk(10).fill_from_iter(std::iter::repeat(())), 10);
    assert_eq!(tx.write_chunk(usize::MAX).len(), capacity - n - 10);
    assert_eq!(rx.read_chunk(5).count(), 5);
    assert_eq!(rx.try_iter().count(), n + 5);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.slots(), capacity);
}

/// A ZST whose drops are counted in [`ZST_DROPS`] (used by one test only).
struct CountedZst;

static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);

impl Drop for CountedZst {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn zst_payload_drops_are_counted() {
    let (tx, rx) = channel(10);
    for _ in 0..10 {
        tx.try_send(CountedZst).unwrap();
    }
    let Err(TrySendError::Full(back)) = tx.try_send(CountedZst) else {
        panic!("expected Full")
    };
    drop(back);
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 1);
    for _ in 0..4 {
        drop(rx.try_recv().unwrap());
    }
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 5);
    drop(rx);
    // The six still buffered die with the receiver.
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 11);
    drop(tx);
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 11);
}

/// A value whose `Drop` panics when `armed`; every drop is counted, panicking or not.
struct PanicOnDrop {
    armed: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.armed {
            panic!("PanicOnDrop dropped (deliberate)");
        }
    }
}

#[test]
fn panicking_drop_while_reading_a_chunk_leaves_the_channel_consistent() {
    let drops = Arc::new(AtomicUsize::new(0));
    let item = |armed| PanicOnDrop {
        armed,
        drops: drops.clone(),
    };
    let (tx, mut rx) = channel(4);
    tx.send(item(false)).unwrap();
    tx.send(item(true)).unwrap();
    tx.send(item(false)).unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        for value in rx.read_chunk(3) {
            drop(value);
        }
    }));
    assert!(caught.is_err());
    // The two taken values were dropped once each; the chunk released their slots on unwind.
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(rx.len(), 1);
    assert_eq!(tx.slots(), 3);
    let last = rx.try_recv().unwrap();
    assert!(!last.armed);
    drop(last);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(rx.try_recv().is_err());
}

#[test]
fn panicking_iterator_in_fill_from_iter_publishes_what_was_written() {
    let (mut tx, rx) = channel(4);
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut chunk = tx.write_chunk(4);
        chunk.fill_from_iter((0..4).inspect(|&i| {
            assert!(i < 2, "deliberate panic in the source iterator");
        }))
    }));
    assert!(caught.is_err());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(tx.slots(), 4);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Arc leaks its allocation when the inner drop panics; run alone with -Zmiri-ignore-leaks"
)]
fn panicking_drop_in_buffer_when_the_endpoints_drop() {
    for sender_first in [true, false] {
        let drops = Arc::new(AtomicUsize::new(0));
        let item = |armed| PanicOnDrop {
            armed,
            drops: drops.clone(),
        };
        let (tx, rx) = channel(4);
        tx.send(item(false)).unwrap();
        tx.send(item(true)).unwrap();
        tx.send(item(false)).unwrap();
        if sender_first {
            drop(tx);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        // The receiver drops the buffered values, whichever endpoint goes first; the armed
        // one panics.
        assert!(panic::catch_unwind(AssertUnwindSafe(move || drop(rx))).is_err());
        // Each value dropped exactly once: dropping carries on past the panicking one.
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }
}

#[test]
fn non_sync_payload_is_accepted() {
    assert_send::<Sender<Cell<u32>>>();
    assert_send::<Receiver<Cell<u32>>>();
    let (tx, rx) = channel(2);
    tx.send(Cell::new(1)).unwrap();
    let cell = rx.recv().unwrap();
    cell.set(cell.get() + 1);
    assert_eq!(cell.get(), 2);
}

// ---------------------------------------------------------------------------------------------
// Soundness: a leaked `ReadChunk`
// ---------------------------------------------------------------------------------------------

#[test]
fn read_chunk_leaked_after_taking_does_not_hand_values_out_twice() {
    // `ReadChunk::next` moves values out while the slots are only released in its `Drop`.
    // Leaking the chunk (safe code) must not leave the moved-out values to be received again:
    // for a type with a `Drop` that would be a double drop (UB: e.g. a double free with `Box`).
    let (tx, mut rx) = channel(2);
    tx.send(7u32).unwrap();
    let mut chunk = rx.read_chunk(1);
    assert_eq!(chunk.next(), Some(7));
    std::mem::forget(chunk);
    let again = rx.try_recv();
    assert!(again.is_err(), "value handed out a second time: {again:?}");
}

#[test]
fn read_chunk_leaked_after_taking_does_not_drop_values_twice() {
    // The endpoints drop the buffer's remaining values: those a leaked chunk already handed out
    // are not among them (with `Box`, Miri would report the double free).
    let (tx, mut rx) = channel(3);
    tx.send(Box::new(1u32)).unwrap();
    tx.send(Box::new(2u32)).unwrap();
    let mut chunk = rx.read_chunk(2);
    let first = chunk.next().unwrap();
    std::mem::forget(chunk);
    assert_eq!(*first, 1);
    drop(first);
    assert_eq!(rx.try_recv().map(|b| *b), Ok(2));
    tx.send(Box::new(3u32)).unwrap();
    drop(rx);
    drop(tx);
}

// ---------------------------------------------------------------------------------------------
// Concurrent (the many-seeds set under Miri)
// ---------------------------------------------------------------------------------------------

/// Sends `0..count` with blocking `send` on one thread and receives them with blocking `recv`
/// on another, checking order and the final disconnection.
fn blocking_fifo(capacity: usize, count: usize) {
    let (tx, rx) = channel(capacity);
    let producer = spawn_watched("producer", move || {
        for i in 0..count as u64 {
            tx.send(i).expect("the receiver outlives the producer");
        }
    });
    let consumer = spawn_watched("consumer", move || {
        for expected in 0..count as u64 {
            assert_eq!(rx.recv(), Ok(expected));
        }
        assert_eq!(rx.recv(), Err(RecvError));
    });
    producer.join();
    consumer.join();
}

#[test]
fn concurrent_fifo_one_million_values() {
    // Under Miri a smaller buffer, so that 300 values still wrap it and fill it.
    blocking_fifo(scaled(1000, 50), scaled(1_000_000, 300));
}

#[test]
fn concurrent_blocking_capacity_1() {
    blocking_fifo(1, scaled(50_000, 25));
}

#[test]
fn concurrent_blocking_capacity_3() {
    blocking_fifo(3, scaled(100_000, 60));
}

#[test]
fn concurrent_try_ops_fifo() {
    let count = scaled(200_000, 100) as u64;
    let (tx, rx) = channel(7);
    let producer = spawn_watched("producer", move || {
        let mut next = 0;
        while next < count {
            match tx.try_send(next) {
                Ok(()) => next += 1,
                Err(TrySendError::Full(back)) => {
                    assert_eq!(back, next);
                    thread::yield_now();
                }
                Err(TrySendError::Disconnected(_)) => panic!("receiver gone"),
            }
        }
    });
    let consumer = spawn_watched("consumer", move || {
        let mut next = 0;
        loop {
            match rx.try_recv() {
                Ok(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        assert_eq!(next, count);
    });
    producer.join();
    consumer.join();
}

#[test]
fn concurrent_chunks_fifo() {
    let count = scaled(200_000, 100) as u64;
    let (mut tx, mut rx) = channel(5);
    let producer = spawn_watched("producer", move || {
        let mut source = 0..count;
        let mut round = 0;
        while !source.is_empty() {
            round += 1;
            let mut chunk = tx.write_chunk(1 + round % 7);
            if chunk.fill_from_iter(&mut source) == 0 {
                drop(chunk);
                thread::yield_now();
            }
        }
    });
    let consumer = spawn_watched("consumer", move || {
        let mut next = 0;
        let mut round = 0;
        while next < count {
            round += 1;
            let mut chunk = rx.read_chunk(1 + round % 6);
            let len = chunk.len();
            // Sometimes leave part of the chunk queued.
            let take = if round % 3 == 0 { len / 2 } else { len };
            for v in chunk.by_ref().take(take) {
                assert_eq!(v, next);
                next += 1;
            }
            drop(chunk);
            if take == 0 {
                thread::yield_now();
            }
        }
        // The producer may not have dropped its sender yet: wait for that.
        assert_eq!(rx.recv(), Err(RecvError));
    });
    producer.join();
    consumer.join();
}

#[test]
fn concurrent_mixed_ops_conserve_every_value() {
    let count = scaled(50_000, 60);
    let log = DropLog::new(count);
    let (mut tx, mut rx) = channel(3);
    let producer = spawn_watched("producer", {
        let log = log.clone();
        move || {
            let mut ids = 0..count;
            while let Some(id) = ids.next() {
                match id % 4 {
                    0 => tx.send(log.item(id)).unwrap(),
                    1 => {
                        let mut value = log.item(id);
                        loop {
                            match tx.try_send(value) {
                                Ok(()) => break,
                                Err(TrySendError::Full(back)) => value = back,
                                Err(TrySendError::Disconnected(_)) => panic!("receiver gone"),
                            }
                            thread::yield_now();
                        }
                    }
                    2 => {
                        let mut value = log.item(id);
                        while let Err(err) = tx.send_timeout(value, Duration::from_millis(1)) {
                            let SendTimeoutError::Timeout(back) = err else {
                                panic!("receiver gone")
                            };
                            value = back;
                        }
                    }
                    _ => {
                        // This id and up to two more in one chunk (blocking for room first).
                        let mut chunk = tx.write_chunk(3);
                        while chunk.is_empty() {
                            drop(chunk);
                            thread::yield_now();
                            chunk = tx.write_chunk(3);
                        }
                        chunk.push(log.item(id)).unwrap();
                        let room = chunk.len();
                        chunk.fill_from_iter((&mut ids).take(room).map(|id| log.item(id)));
                    }
                }
            }
        }
    });
    let consumer = spawn_watched("consumer", move || {
        let mut next = 0;
        let mut round = 0;
        loop {
            round += 1;
            let got = match round % 4 {
                0 => rx.recv().ok().into_iter().collect(),
                1 => match rx.try_recv() {
                    Ok(v) => vec![v],
                    Err(TryRecvError::Empty) => Vec::new(),
                    Err(TryRecvError::Disconnected) => break,
                },
                2 => match rx.recv_timeout(Duration::from_millis(1)) {
                    Ok(v) => vec![v],
                    Err(RecvTimeoutError::Timeout) => Vec::new(),
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                _ => rx.read_chunk(2).collect::<Vec<_>>(),
            };
            if got.is_empty() && rx.is_disconnected() && rx.is_empty() {
                break;
            }
            for v in got {
                assert_eq!(v.id, next);
                next += 1;
            }
        }
        assert_eq!(rx.try_recv().map(|v| v.id), Err(TryRecvError::Disconnected));
        next
    });
    producer.join();
    assert_eq!(consumer.join(), count);
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_receiver_drop_with_values_in_flight() {
    let count = scaled(2_000, 12);
    for stop_after in [0, 1, count / 3, count / 2] {
        let log = DropLog::new(count);
        let (tx, rx) = channel(4);
        // The producer hands its sender back, so the values are checked while it lives: the
        // buffered ones must have died with the receiver, not with the sender.
        let producer = spawn_watched("producer", {
            let log = log.clone();
            move || {
                for id in 0..count {
                    if let Err(SendError(back)) = tx.send(log.item(id)) {
                        assert_eq!(back.id, id);
                        return (id + 1, tx);
                    }
                }
                (count, tx)
            }
        });
        let consumer = spawn_watched("consumer", move || {
            for expected in 0..stop_after {
                assert_eq!(rx.recv().map(|v| v.id), Ok(expected));
            }
        });
        consumer.join();
        let (made, tx) = producer.join();
        assert!(made > stop_after);
        log.assert_dropped_once(0..made);
        for id in made..count {
            assert_eq!(log.drops(id), 0);
        }
        drop(tx);
    }
}

#[test]
fn concurrent_sender_drop_with_values_in_flight() {
    let count = scaled(2_000, 12);
    let log = DropLog::new(count);
    let (tx, rx) = channel(3);
    let producer = spawn_watched("producer", {
        let log = log.clone();
        move || {
            for id in 0..count {
                tx.send(log.item(id)).unwrap();
            }
        }
    });
    let consumer = spawn_watched("consumer", move || {
        rx.iter().enumerate().all(|(i, v)| i == v.id) && rx.recv().is_err()
    });
    producer.join();
    assert!(consumer.join());
    log.assert_all_dropped_once();
}

#[test]
fn concurrent_sender_drop_right_after_sending_loses_nothing() {
    // The receiver polls while the sender sends and drops at once: a receiver that sees the
    // disconnection must still see what was sent before it, even when its last look at the
    // sender's position came just before the send.
    for round in 0..scaled(2_000, 8) {
        let sent = 1 + round % 2;
        let (tx, rx) = channel(2);
        let sender = spawn_watched("sender", move || {
            for i in 0..sent {
                tx.try_send(i).unwrap();
            }
        });
        let mut received = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => received.push(v),
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        sender.join();
        assert_eq!(received, (0..sent).collect::<Vec<_>>(), "round {round}");
    }
}

#[test]
fn concurrent_receiver_drop_wakes_a_sender_blocked_in_send() {
    let (tx, rx) = channel(1);
    tx.send(1).unwrap();
    let sender = spawn_watched("blocked sender", move || {
        let result = tx.send(2);
        (result, tx)
    });
    thread::sleep(SETTLE);
    drop(rx);
    let (result, tx) = sender.join();
    // Woken, it hands its value back, unless it got into the slot the drop freed as it
    // dropped value 1; then the sender itself dropped the value it published.
    assert!(matches!(result, Ok(()) | Err(SendError(2))), "{result:?}");
    assert!(tx.is_disconnected());
    assert_eq!(tx.slots(), 1, "a value outlived the receiver");
}

#[test]
fn concurrent_receiver_drop_wakes_a_sender_blocked_in_send_timeout() {
    let (tx, rx) = channel(1);
    tx.send(1).unwrap();
    let sender = spawn_watched("blocked sender", move || tx.send_timeout(2, WATCHDOG * 2));
    thread::sleep(SETTLE);
    drop(rx);
    // As above: woken, it hands its value back or sent into the slot the drop freed.
    let result = sender.join();
    assert!(
        matches!(result, Ok(()) | Err(SendTimeoutError::Disconnected(2))),
        "{result:?}"
    );
}

#[test]
fn concurrent_sender_drop_wakes_a_receiver_blocked_in_recv() {
    let (tx, rx) = channel::<u32>(1);
    let receiver = spawn_watched("blocked receiver", move || rx.recv());
    thread::sleep(SETTLE);
    drop(tx);
    assert_eq!(receiver.join(), Err(RecvError));
}

#[test]
fn concurrent_sender_drop_wakes_a_receiver_blocked_in_recv_timeout() {
    let (tx, rx) = channel::<u32>(1);
    let receiver = spawn_watched("blocked receiver", move || rx.recv_timeout(WATCHDOG * 2));
    thread::sleep(SETTLE);
    drop(tx);
    assert_eq!(receiver.join(), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn concurrent_sender_drop_ends_a_blocked_iter() {
    let (tx, rx) = channel(2);
    let receiver = spawn_watched("iterating receiver", move || rx.iter().collect::<Vec<_>>());
    tx.send(1).unwrap();
    thread::sleep(SETTLE);
    tx.send(2).unwrap();
    thread::sleep(SETTLE);
    drop(tx);
    assert_eq!(receiver.join(), [1, 2]);
}

#[test]
fn concurrent_send_timeout_succeeds_when_the_receiver_acts() {
    let (tx, rx) = channel(1);
    tx.send(1).unwrap();
    let receiver = spawn_watched("late receiver", move || {
        thread::sleep(SETTLE);
        (rx.recv_timeout(WATCHDOG), rx.recv_timeout(WATCHDOG))
    });
    assert_eq!(tx.send_timeout(2, WATCHDOG), Ok(()));
    assert_eq!(receiver.join(), (Ok(1), Ok(2)));
}

#[test]
fn concurrent_recv_timeout_succeeds_when_the_sender_acts() {
    let (tx, rx) = channel(1);
    let sender = spawn_watched("late sender", move || {
        thread::sleep(SETTLE);
        tx.send_timeout(5u8, WATCHDOG)
    });
    assert_eq!(rx.recv_timeout(WATCHDOG), Ok(5));
    assert_eq!(sender.join(), Ok(()));
}

#[test]
fn concurrent_non_sync_payload() {
    let count = scaled(10_000, 30) as u32;
    let (tx, rx) = channel(3);
    let producer = spawn_watched("producer", move || {
        for i in 0..count {
            let cell = Cell::new(0);
            cell.set(i);
            tx.send(cell).unwrap();
        }
    });
    let consumer = spawn_watched("consumer", move || {
        let mut next = 0;
        for cell in rx.iter() {
            assert_eq!(cell.get(), next);
            cell.set(u32::MAX);
            next += 1;
        }
        next
    });
    producer.join();
    assert_eq!(consumer.join(), count);
}

#[test]
fn concurrent_zst_payload() {
    let count = scaled(100_000, 50);
    let (tx, rx) = channel::<()>(usize::MAX / 8);
    let producer = spawn_watched("producer", move || {
        for _ in 0..count {
            tx.send(()).unwrap();
        }
    });
    let consumer = spawn_watched("consumer", move || rx.iter().count());
    producer.join();
    assert_eq!(consumer.join(), count);
}
