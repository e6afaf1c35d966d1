//! Model tests for `verisync::spsc`: random operation sequences checked against a `VecDeque`.
//!
//! - `sequential_ops_match_the_model`: one thread runs a random sequence of every operation
//!   (single, chunked, blocking ones only where they cannot block, status queries, dropping
//!   either endpoint at a random point) and compares every result with a `VecDeque` of the same
//!   capacity (1..=8).
//! - `threaded_ops_deliver_a_prefix_in_order`: a producer thread and a consumer thread each run
//!   their own random sequence; afterwards what the consumer got must be a prefix of what the
//!   producer sent, in order, and after draining the whole of it.
//!
//! In both, every value records its drops, and each must be dropped exactly once.
//!
//! Status queries (`len`, `slots`, ...) are operations of their own rather than checks after
//! every step, because they refresh an endpoint's cached copy of its peer's position, and
//! checking after every step would hide bugs in the stale-cache paths.
//!
//! Case counts: 256 sequential, 64 threaded; `PROPTEST_CASES=N` overrides both (a deeper hunt).
//!
//! Under Miri both tests are ignored: 4 cases of each already take about 2 minutes there, so
//! `tests/spsc.rs` is the Miri suite. A tiny Miri run by hand:
//!
//! ```text
//! PROPTEST_CASES=4 MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-env-forward=PROPTEST_CASES" \
//!     cargo +nightly miri test --test model_spsc -- --include-ignored
//! ```

#[path = "support/drops.rs"]
mod drops;
#[path = "support/model.rs"]
mod model;

use std::collections::VecDeque;
use std::time::Duration;

use drops::{DropLog, Tracked};
use model::{config, watchdog};
use proptest::prelude::*;
use verisync::spsc::{
    Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError, channel,
};

/// Longest operation sequence generated.
const MAX_OPS: usize = 96;
/// Largest `max` / fill / take count of a chunk operation (above the largest capacity, 8).
const MAX_CHUNK: usize = 10;

// ---------------------------------------------------------------------------------------------
// Drop-counted values
// ---------------------------------------------------------------------------------------------

/// Hands out fresh items with ids 0, 1, 2, ...
struct Maker {
    log: DropLog,
    next: usize,
}

impl Maker {
    fn new(values: usize) -> Self {
        Self {
            log: DropLog::new(values),
            next: 0,
        }
    }

    fn make(&mut self) -> Tracked {
        let item = self.log.item(self.next);
        self.next += 1;
        item
    }
}

fn ids<'a>(items: impl IntoIterator<Item = &'a Tracked>) -> Vec<usize> {
    items.into_iter().map(|item| item.id).collect()
}

// ---------------------------------------------------------------------------------------------
// Sequential model test
// ---------------------------------------------------------------------------------------------

/// One step of the sequential test.
#[derive(Clone, Debug)]
enum Op {
    TrySend,
    /// `send`, only run when it cannot block (room, or the receiver is gone).
    Send,
    /// `send_timeout` with a zero timeout.
    SendTimeoutZero,
    /// `write_chunk(max)`, then `fill` values written with `push` (handing the last one back
    /// when the chunk is full) or `fill_from_iter`.
    WriteChunk {
        max: usize,
        fill: usize,
        by_push: bool,
    },
    TryRecv,
    /// `recv`, only run when it cannot block (a value, or the sender is gone).
    Recv,
    /// `recv_timeout` with a zero timeout.
    RecvTimeoutZero,
    /// `read_chunk(max)`, then take `take` values from it (more than it has, sometimes).
    ReadChunk {
        max: usize,
        take: usize,
    },
    /// `try_iter().take(n)`.
    TryIter(usize),
    Peek,
    /// `len` and `is_empty` of the receiver.
    Len,
    /// `slots` and `is_full` of the sender.
    Slots,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => Just(Op::TrySend),
        2 => Just(Op::Send),
        1 => Just(Op::SendTimeoutZero),
        4 => (0..=MAX_CHUNK, 0..=MAX_CHUNK, any::<bool>())
            .prop_map(|(max, fill, by_push)| Op::WriteChunk { max, fill, by_push }),
        8 => Just(Op::TryRecv),
        2 => Just(Op::Recv),
        1 => Just(Op::RecvTimeoutZero),
        4 => (0..=MAX_CHUNK, 0..=MAX_CHUNK).prop_map(|(max, take)| Op::ReadChunk { max, take }),
        1 => (0..=MAX_CHUNK).prop_map(Op::TryIter),
        2 => Just(Op::Peek),
        2 => Just(Op::Len),
        2 => Just(Op::Slots),
    ]
}

/// The channel under test next to its model.
struct Harness {
    capacity: usize,
    tx: Option<Sender<Tracked>>,
    rx: Option<Receiver<Tracked>>,
    /// Ids of the values buffered, oldest first.
    model: VecDeque<usize>,
    maker: Maker,
}

impl Harness {
    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let capacity = self.capacity;
        let receiver_gone = self.rx.is_none();
        let sender_gone = self.tx.is_none();
        match *op {
            Op::TrySend | Op::Send | Op::SendTimeoutZero | Op::WriteChunk { .. } => {
                let Some(tx) = self.tx.as_mut() else {
                    return Ok(());
                };
                let full = self.model.len() == capacity;
                match *op {
                    Op::TrySend => {
                        let item = self.maker.make();
                        let id = item.id;
                        match tx.try_send(item) {
                            Ok(()) => {
                                prop_assert!(!receiver_gone && !full, "sent {}", id);
                                self.model.push_back(id);
                            }
                            Err(TrySendError::Full(back)) => {
                                prop_assert!(!receiver_gone && full, "Full({})", back.id);
                                prop_assert_eq!(back.id, id);
                            }
                            Err(TrySendError::Disconnected(back)) => {
                                prop_assert!(receiver_gone, "Disconnected({})", back.id);
                                prop_assert_eq!(back.id, id);
                            }
                        }
                    }
                    Op::Send => {
                        if full && !receiver_gone {
                            return Ok(()); // would block forever
                        }
                        let item = self.maker.make();
                        let id = item.id;
                        match tx.send(item) {
                            Ok(()) => {
                                prop_assert!(!receiver_gone, "sent {}", id);
                                self.model.push_back(id);
                            }
                            Err(SendError(back)) => {
                                prop_assert!(receiver_gone, "SendError({})", back.id);
                                prop_assert_eq!(back.id, id);
                            }
                        }
                    }
                    Op::SendTimeoutZero => {
                        let item = self.maker.make();
                        let id = item.id;
                        match tx.send_timeout(item, Duration::ZERO) {
                            Ok(()) => {
                                prop_assert!(!receiver_gone && !full, "sent {}", id);
                                self.model.push_back(id);
                            }
                            Err(SendTimeoutError::Timeout(back)) => {
                                prop_assert!(!receiver_gone && full, "Timeout({})", back.id);
                                prop_assert_eq!(back.id, id);
                            }
                            Err(SendTimeoutError::Disconnected(back)) => {
                                prop_assert!(receiver_gone, "Disconnected({})", back.id);
                                prop_assert_eq!(back.id, id);
                            }
                        }
                    }
                    Op::WriteChunk { max, fill, by_push } => {
                        // Empty once the receiver is gone: nobody would receive the values.
                        let mut chunk = tx.write_chunk(max);
                        let len = if receiver_gone {
                            0
                        } else {
                            max.min(capacity - self.model.len())
                        };
                        prop_assert_eq!(chunk.len(), len);
                        prop_assert_eq!(chunk.is_empty(), len == 0);
                        let written = fill.min(len);
                        if by_push {
                            for i in 0..fill {
                                let item = self.maker.make();
                                let id = item.id;
                                match chunk.push(item) {
                                    Ok(()) => prop_assert!(i < len, "pushed {} past the end", id),
                                    Err(back) => {
                                        prop_assert!(i >= len, "chunk refused {}", id);
                                        prop_assert_eq!(back.id, id);
                                        break;
                                    }
                                }
                            }
                        } else {
                            let maker = &mut self.maker;
                            let n = chunk.fill_from_iter((0..fill).map(|_| maker.make()));
                            prop_assert_eq!(n, written);
                        }
                        prop_assert_eq!(chunk.len(), len - written);
                        drop(chunk);
                        let first = self.maker.next - written - usize::from(by_push && fill > len);
                        self.model.extend(first..first + written);
                    }
                    _ => unreachable!(),
                }
            }
            Op::TryRecv | Op::Recv | Op::RecvTimeoutZero => {
                let Some(rx) = self.rx.as_ref() else {
                    return Ok(());
                };
                let expected = self.model.front().copied();
                match *op {
                    Op::TryRecv => {
                        let got = rx.try_recv().map(|item| item.id);
                        let want = match expected {
                            Some(id) => Ok(id),
                            None if sender_gone => Err(TryRecvError::Disconnected),
                            None => Err(TryRecvError::Empty),
                        };
                        prop_assert_eq!(got, want);
                    }
                    Op::Recv => {
                        if expected.is_none() && !sender_gone {
                            return Ok(()); // would block forever
                        }
                        let got = rx.recv().map(|item| item.id);
                        prop_assert_eq!(got, expected.ok_or(RecvError));
                    }
                    Op::RecvTimeoutZero => {
                        let got = rx.recv_timeout(Duration::ZERO).map(|item| item.id);
                        let want = match expected {
                            Some(id) => Ok(id),
                            None if sender_gone => Err(RecvTimeoutError::Disconnected),
                            None => Err(RecvTimeoutError::Timeout),
                        };
                        prop_assert_eq!(got, want);
                    }
                    _ => unreachable!(),
                }
                if expected.is_some() {
                    self.model.pop_front();
                }
            }
            Op::ReadChunk { max, take } => {
                let Some(rx) = self.rx.as_mut() else {
                    return Ok(());
                };
                let mut chunk = rx.read_chunk(max);
                let len = max.min(self.model.len());
                prop_assert_eq!(chunk.len(), len);
                let mut got = Vec::new();
                for _ in 0..take {
                    match chunk.next() {
                        Some(item) => got.push(item.id),
                        None => break,
                    }
                }
                prop_assert_eq!(chunk.size_hint(), (len - got.len(), Some(len - got.len())));
                drop(chunk);
                let want: Vec<usize> = self.model.drain(..take.min(len)).collect();
                prop_assert_eq!(got, want);
            }
            Op::TryIter(n) => {
                let Some(rx) = self.rx.as_ref() else {
                    return Ok(());
                };
                let got = ids(&rx.try_iter().take(n).collect::<Vec<_>>());
                let want: Vec<usize> = self.model.drain(..n.min(self.model.len())).collect();
                prop_assert_eq!(got, want);
            }
            Op::Peek => {
                let Some(rx) = self.rx.as_mut() else {
                    return Ok(());
                };
                prop_assert_eq!(rx.peek().map(|item| item.id), self.model.front().copied());
            }
            Op::Len => {
                let Some(rx) = self.rx.as_ref() else {
                    return Ok(());
                };
                prop_assert_eq!(rx.len(), self.model.len());
                prop_assert_eq!(rx.is_empty(), self.model.is_empty());
            }
            Op::Slots => {
                let Some(tx) = self.tx.as_ref() else {
                    return Ok(());
                };
                prop_assert_eq!(tx.slots(), capacity - self.model.len());
                prop_assert_eq!(tx.is_full(), self.model.len() == capacity);
            }
        }
        // Queries without side effects on the cached positions: checked after every step.
        if let Some(tx) = &self.tx {
            prop_assert_eq!(tx.capacity(), capacity);
            prop_assert_eq!(tx.is_disconnected(), self.rx.is_none());
        }
        if let Some(rx) = &self.rx {
            prop_assert_eq!(rx.capacity(), capacity);
            prop_assert_eq!(rx.is_disconnected(), self.tx.is_none());
        }
        Ok(())
    }
}

/// The most values a sequence of `ops` can make.
fn values_needed(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| match op {
            Op::TrySend | Op::Send | Op::SendTimeoutZero => 1,
            Op::WriteChunk { fill, .. } => *fill,
            _ => 0,
        })
        .sum()
}

fn sequential_case(
    capacity: usize,
    ops: &[Op],
    drop_sender_at: Option<usize>,
    drop_receiver_at: Option<usize>,
) -> Result<(), TestCaseError> {
    let (tx, rx) = channel(capacity);
    let mut harness = Harness {
        capacity,
        tx: Some(tx),
        rx: Some(rx),
        model: VecDeque::new(),
        maker: Maker::new(values_needed(ops)),
    };
    for (step, op) in ops.iter().enumerate() {
        if drop_sender_at == Some(step) {
            harness.tx = None;
        }
        if drop_receiver_at == Some(step) {
            harness.rx = None;
            // std semantics: what is still buffered dies with the receiver, now.
            let buffered: Vec<usize> = harness.model.drain(..).collect();
            harness.maker.log.assert_dropped_once(buffered);
        }
        harness.run(op)?;
    }
    // Whatever is left: the receiver drains it, then sees the disconnection.
    harness.tx = None;
    if let Some(rx) = harness.rx.take() {
        let rest = ids(&rx.try_iter().collect::<Vec<_>>());
        prop_assert_eq!(rest, harness.model.drain(..).collect::<Vec<_>>());
        prop_assert_eq!(
            rx.try_recv().map(|item| item.id),
            Err(TryRecvError::Disconnected)
        );
    }
    let made = harness.maker.next;
    let log = harness.maker.log.clone();
    drop(harness);
    log.assert_only_dropped_once(0..made);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Threaded test
// ---------------------------------------------------------------------------------------------

/// One step of the producer thread.
#[derive(Clone, Debug)]
enum ProducerOp {
    TrySend,
    WriteChunk { max: usize, fill: usize },
    Slots,
    Yield,
}

/// One step of the consumer thread.
#[derive(Clone, Debug)]
enum ConsumerOp {
    TryRecv,
    ReadChunk { max: usize, take: usize },
    Peek,
    Len,
    Yield,
}

fn producer_op() -> impl Strategy<Value = ProducerOp> {
    prop_oneof![
        6 => Just(ProducerOp::TrySend),
        3 => (0..=MAX_CHUNK, 0..=MAX_CHUNK)
            .prop_map(|(max, fill)| ProducerOp::WriteChunk { max, fill }),
        1 => Just(ProducerOp::Slots),
        1 => Just(ProducerOp::Yield),
    ]
}

fn consumer_op() -> impl Strategy<Value = ConsumerOp> {
    prop_oneof![
        6 => Just(ConsumerOp::TryRecv),
        3 => (0..=MAX_CHUNK, 0..=MAX_CHUNK)
            .prop_map(|(max, take)| ConsumerOp::ReadChunk { max, take }),
        2 => Just(ConsumerOp::Peek),
        1 => Just(ConsumerOp::Len),
        1 => Just(ConsumerOp::Yield),
    ]
}

/// Runs the producer's steps; returns the ids it sent, in order, and how many values it made.
fn produce(
    mut tx: Sender<Tracked>,
    capacity: usize,
    ops: &[ProducerOp],
    log: &DropLog,
) -> Result<(Vec<usize>, usize), TestCaseError> {
    let mut maker = Maker {
        log: log.clone(),
        next: 0,
    };
    let mut sent = Vec::new();
    for op in ops {
        match *op {
            ProducerOp::TrySend => {
                let item = maker.make();
                let id = item.id;
                match tx.try_send(item) {
                    Ok(()) => sent.push(id),
                    Err(TrySendError::Full(back)) => prop_assert_eq!(back.id, id),
                    Err(TrySendError::Disconnected(back)) => {
                        let message = format!("receiver gone while alive: {back:?}");
                        return Err(TestCaseError::fail(message));
                    }
                }
            }
            ProducerOp::WriteChunk { max, fill } => {
                let mut chunk = tx.write_chunk(max);
                let len = chunk.len();
                prop_assert!(len <= max.min(capacity), "chunk of {} for max {}", len, max);
                let first = maker.next;
                let written = chunk.fill_from_iter((0..fill).map(|_| maker.make()));
                prop_assert_eq!(written, fill.min(len));
                sent.extend(first..first + written);
            }
            ProducerOp::Slots => {
                let slots = tx.slots();
                prop_assert!(slots <= capacity, "{} slots", slots);
            }
            ProducerOp::Yield => std::thread::yield_now(),
        }
    }
    Ok((sent, maker.next))
}

/// What the consumer thread has seen so far.
#[derive(Default)]
struct ConsumerView {
    received: Vec<usize>,
    /// What `peek` showed: only this thread takes values, so it must come out next.
    peeked: Option<usize>,
    /// Set once `try_recv` reported the sender gone (the producer may finish first).
    disconnected: bool,
}

impl ConsumerView {
    fn take(&mut self, id: usize) -> Result<(), TestCaseError> {
        prop_assert!(!self.disconnected, "{} received after Disconnected", id);
        if let Some(want) = self.peeked.take() {
            prop_assert_eq!(id, want, "peek showed {} but {} came out", want, id);
        }
        if let Some(&last) = self.received.last() {
            prop_assert!(id > last, "{} received after {}", id, last);
        }
        self.received.push(id);
        Ok(())
    }
}

/// Runs the consumer's steps; returns the receiver and the ids it received, in order.
fn consume(
    mut rx: Receiver<Tracked>,
    capacity: usize,
    ops: &[ConsumerOp],
) -> Result<(Receiver<Tracked>, Vec<usize>), TestCaseError> {
    let mut view = ConsumerView::default();
    for op in ops {
        match *op {
            ConsumerOp::TryRecv => match rx.try_recv() {
                Ok(item) => view.take(item.id)?,
                Err(TryRecvError::Empty) => {
                    prop_assert!(!view.disconnected, "Empty after Disconnected");
                    prop_assert!(
                        view.peeked.is_none(),
                        "Empty after peek showed {:?}",
                        view.peeked
                    );
                }
                Err(TryRecvError::Disconnected) => {
                    prop_assert!(
                        view.peeked.is_none(),
                        "Disconnected after peek showed {:?}",
                        view.peeked
                    );
                    view.disconnected = true;
                }
            },
            ConsumerOp::ReadChunk { max, take } => {
                let mut chunk = rx.read_chunk(max);
                let len = chunk.len();
                prop_assert!(len <= max.min(capacity), "chunk of {} for max {}", len, max);
                prop_assert!(
                    view.peeked.is_none() || max == 0 || len > 0,
                    "empty chunk after peek"
                );
                for item in chunk.by_ref().take(take) {
                    view.take(item.id)?;
                }
            }
            ConsumerOp::Peek => {
                let shown = rx.peek().map(|item| item.id);
                if let Some(want) = view.peeked {
                    prop_assert_eq!(shown, Some(want), "peek changed");
                }
                view.peeked = shown;
            }
            ConsumerOp::Len => {
                let len = rx.len();
                prop_assert!(len <= capacity, "len {}", len);
                prop_assert!(view.peeked.is_none() || len > 0, "len 0 after peek");
            }
            ConsumerOp::Yield => std::thread::yield_now(),
        }
    }
    Ok((rx, view.received))
}

fn threaded_case(
    capacity: usize,
    producer_ops: &[ProducerOp],
    consumer_ops: &[ConsumerOp],
) -> Result<(), TestCaseError> {
    let needed = producer_ops
        .iter()
        .map(|op| match op {
            ProducerOp::TrySend => 1,
            ProducerOp::WriteChunk { fill, .. } => *fill,
            _ => 0,
        })
        .sum();
    let log = DropLog::new(needed);
    let (tx, rx) = channel(capacity);
    let (produced, consumed) = std::thread::scope(|scope| {
        let producer = scope.spawn(|| produce(tx, capacity, producer_ops, &log));
        let consumer = scope.spawn(|| consume(rx, capacity, consumer_ops));
        (producer.join(), consumer.join())
    });
    let (sent, made) = produced.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let (rx, received) = consumed.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    prop_assert!(received.len() <= sent.len());
    prop_assert_eq!(
        &received[..],
        &sent[..received.len()],
        "not a prefix of what was sent"
    );
    // The producer is done and its sender dropped: drain the rest.
    let rest = ids(&rx.try_iter().collect::<Vec<_>>());
    prop_assert_eq!(
        rx.try_recv().map(|item| item.id),
        Err(TryRecvError::Disconnected)
    );
    drop(rx);
    let all: Vec<usize> = received.into_iter().chain(rest).collect();
    prop_assert_eq!(all, sent);
    log.assert_only_dropped_once(0..made);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under Miri; tests/spsc.rs is the Miri suite")]
    fn sequential_ops_match_the_model(
        capacity in 1..=8usize,
        ops in prop::collection::vec(op(), 0..MAX_OPS),
        drop_sender_at in prop::option::weighted(0.3, 0..MAX_OPS),
        drop_receiver_at in prop::option::weighted(0.3, 0..MAX_OPS),
    ) {
        let case = (capacity, &ops, drop_sender_at, drop_receiver_at);
        let _watchdog = watchdog("sequential_ops_match_the_model", &case);
        sequential_case(capacity, &ops, drop_sender_at, drop_receiver_at)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under Miri; tests/spsc.rs is the Miri suite")]
    fn threaded_ops_deliver_a_prefix_in_order(
        capacity in 1..=8usize,
        producer_ops in prop::collection::vec(producer_op(), 0..MAX_OPS),
        consumer_ops in prop::collection::vec(consumer_op(), 0..MAX_OPS),
    ) {
        let case = (capacity, &producer_ops, &consumer_ops);
        let _watchdog = watchdog("threaded_ops_deliver_a_prefix_in_order", &case);
        threaded_case(capacity, &producer_ops, &consumer_ops)?;
    }
}
