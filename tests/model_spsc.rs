//! Model tests for `verisync::spsc`: random operation sequences checked against a `VecDeque`.
//!
//! - `sequential_ops_match_the_model`: one thread runs a random sequence of every operation
//!   (single, chunked, iterating, blocking ones only where they cannot block, status queries,
//!   dropping either endpoint at a random point) and compares every result with a `VecDeque`
//!   of the same capacity (1..=16). The operations, their decoding from bytes and the model are
//!   `support/ops/spsc.rs`, shared with the fuzz target, so both explore the same operations.
//! - `threaded_ops_deliver_a_prefix_in_order`: a producer thread and a consumer thread each run
//!   their own random sequence; afterwards what the consumer got must be a prefix of what the
//!   producer sent, in order, and after draining the whole of it.
//!
//! In both, every value records its drops, and each must be dropped exactly once.
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

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/spsc.rs"]
mod ops;

use model::{config, watchdog};
use ops::drops::{DropLog, Tracked};
use ops::{Op, run};
use proptest::prelude::*;
use verisync::spsc::{Receiver, Sender, TryRecvError, TrySendError, channel};

/// Longest operation sequence generated.
const MAX_OPS: usize = 96;
/// Largest `max` / fill / take count of a chunk operation (above the largest capacity, 8).
const MAX_CHUNK: usize = 10;

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
    let mut made = 0;
    let mut sent = Vec::new();
    for op in ops {
        match *op {
            ProducerOp::TrySend => {
                let item = log.item(made);
                let id = item.id;
                made += 1;
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
                let first = made;
                let written = chunk.fill_from_iter((first..first + fill).map(|id| log.item(id)));
                prop_assert_eq!(written, fill.min(len));
                made += written;
                sent.extend(first..made);
            }
            ProducerOp::Slots => {
                let slots = tx.slots();
                prop_assert!(slots <= capacity, "{} slots", slots);
            }
            ProducerOp::Yield => std::thread::yield_now(),
        }
    }
    Ok((sent, made))
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
    let rest: Vec<usize> = rx.try_iter().map(|item| item.id).collect();
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
        setup in any::<u8>(),
        ops in prop::collection::vec(any::<[u8; 3]>().prop_map(Op::decode), 0..MAX_OPS),
    ) {
        let _watchdog = watchdog("sequential_ops_match_the_model", &(setup, &ops));
        run(setup, &ops);
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
