//! Model tests for `verisync::mpmc`: random operation sequences checked against a `VecDeque`.
//!
//! - `queue_ops_match_the_model`: one thread runs a random sequence of `Queue` operations
//!   (`push`, `pop`, `force_push`, single or in bursts) against a `VecDeque` of the same
//!   capacity (1..=16), checking `len`, `is_empty`, `is_full` and `capacity` after every step;
//!   every value counts its drops and must be dropped exactly once.
//! - `channel_ops_match_the_model`: the same for the channel's operations (single, batched,
//!   iterating, blocking ones only where they cannot block), with clones and drops of
//!   endpoints, including dropping a whole side, on a bounded channel or an unbounded one
//!   (against an unbounded `VecDeque`).
//!
//!   Both draw from one operation set, its decoding from bytes and the models, in
//!   `support/ops/mpmc.rs`, shared with the fuzz target (which mixes queue and channel
//!   operations in one sequence), so both explore the same operations.
//! - `queue_histories_are_linearizable`: three threads run random operation lists on one
//!   `Queue` (capacity 1..=3) at the same time, each recording invocation and return times;
//!   the history must be linearizable against the `VecDeque` model (checker in
//!   `tests/support/linearizability.rs`). Each generated program runs several times, since
//!   each run sees one interleaving.
//! - `unbounded_histories_are_linearizable`: the same on an unbounded channel (`try_send`,
//!   `try_recv`, `len`), prefilled with up to 40 values so that segment ends race too.
//! - `checker_*`: the checker itself rejects a history that is not linearizable.
//!
//! `PROPTEST_CASES=N` overrides the case counts. Ignored under Miri (too slow there);
//! `tests/mpmc.rs` is the Miri suite.

#[path = "support/linearizability.rs"]
mod linearizability;
#[path = "support/model.rs"]
mod model;
#[path = "support/ops/mpmc.rs"]
mod ops;

use std::collections::VecDeque;
use std::sync::{Arc, Barrier};
use std::thread;

use linearizability::{Event, Model, Recorder, check};
use model::{config, watchdog};
use proptest::prelude::*;
use verisync::mpmc::{Queue, Receiver, Sender, TrySendError, unbounded};

/// Longest operation sequence of a single-thread case.
const MAX_OPS: usize = 80;

// ---------------------------------------------------------------------------------------------
// One thread: the queue, the channel
// ---------------------------------------------------------------------------------------------

/// Sequences of up to [`MAX_OPS`] operations whose kind bytes come from `kinds`.
fn op_sequences(kinds: impl Strategy<Value = u8>) -> impl Strategy<Value = Vec<ops::Op>> {
    let op =
        (kinds, any::<u8>(), any::<u8>()).prop_map(|(kind, a, b)| ops::Op::decode([kind, a, b]));
    prop::collection::vec(op, 0..MAX_OPS)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn queue_ops_match_the_model(
        setup in any::<u8>(),
        ops in op_sequences(0..ops::FIRST_CHANNEL_KIND),
    ) {
        let _watchdog = watchdog("queue_ops_match_the_model", &(setup, &ops));
        ops::run(setup, &ops);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn channel_ops_match_the_model(
        setup in any::<u8>(),
        ops in op_sequences(ops::FIRST_CHANNEL_KIND..=u8::MAX),
    ) {
        let _watchdog = watchdog("channel_ops_match_the_model", &(setup, &ops));
        ops::run(setup, &ops);
    }
}

// ---------------------------------------------------------------------------------------------
// Linearizability of concurrent histories
// ---------------------------------------------------------------------------------------------

/// The sequential specification of `Queue`: a `VecDeque` that holds at most `capacity`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct QueueModel {
    capacity: usize,
    values: VecDeque<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Push(u64),
    Pop,
    ForcePush(u64),
    Len,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ret {
    Pushed(Result<(), u64>),
    Popped(Option<u64>),
    Evicted(Option<u64>),
    Len(usize),
}

impl Model for QueueModel {
    type Op = Op;
    type Ret = Ret;

    fn apply(&mut self, op: &Op) -> Ret {
        match *op {
            Op::Push(value) if self.values.len() < self.capacity => {
                self.values.push_back(value);
                Ret::Pushed(Ok(()))
            }
            Op::Push(value) => Ret::Pushed(Err(value)),
            Op::Pop => Ret::Popped(self.values.pop_front()),
            Op::ForcePush(value) => {
                let evicted = if self.values.len() == self.capacity {
                    self.values.pop_front()
                } else {
                    None
                };
                self.values.push_back(value);
                Ret::Evicted(evicted)
            }
            Op::Len => Ret::Len(self.values.len()),
        }
    }
}

/// What a history runs its operations on.
trait UnderTest: Send + Sync + 'static {
    fn run(&self, op: &Op) -> Ret;
}

impl UnderTest for Queue<u64> {
    fn run(&self, op: &Op) -> Ret {
        match *op {
            Op::Push(value) => Ret::Pushed(self.push(value)),
            Op::Pop => Ret::Popped(self.pop()),
            Op::ForcePush(value) => Ret::Evicted(self.force_push(value)),
            Op::Len => Ret::Len(self.len()),
        }
    }
}

/// Both ends of an unbounded channel: `Push` is `try_send`, `Pop` is `try_recv`, `Len` the
/// receiver's `len`; it has no `ForcePush`.
struct UnboundedChannel(Sender<u64>, Receiver<u64>);

impl UnderTest for UnboundedChannel {
    fn run(&self, op: &Op) -> Ret {
        match *op {
            Op::Push(value) => Ret::Pushed(self.0.try_send(value).map_err(|err| match err {
                TrySendError::Full(back) | TrySendError::Disconnected(back) => back,
            })),
            Op::Pop => Ret::Popped(self.1.try_recv().ok()),
            Op::ForcePush(_) => unreachable!("an unbounded channel has no force_push"),
            Op::Len => Ret::Len(self.1.len()),
        }
    }
}

/// Operation kinds of a thread's program; values are filled in to be unique per run.
fn thread_program() -> impl Strategy<Value = Vec<u8>> {
    // 0..3 push, 3..5 pop, 5 force_push, 6 len.
    prop::collection::vec(0u8..7, 1..=7)
}

/// The operations of `program` for `thread`; `force_push`es become pushes unless `evictions`.
fn materialize(thread: usize, program: &[u8], evictions: bool) -> Vec<Op> {
    program
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let value = (thread * 100 + i) as u64;
            match kind {
                0..3 => Op::Push(value),
                3..5 => Op::Pop,
                5 if evictions => Op::ForcePush(value),
                5 => Op::Push(value),
                _ => Op::Len,
            }
        })
        .collect()
}

/// Runs the programs on `queue`, a thread each, released together; the recorded history.
fn run_history(queue: impl UnderTest, programs: &[Vec<Op>]) -> Vec<Event<Op, Ret>> {
    let queue = Arc::new(queue);
    let recorder = Arc::new(Recorder::new());
    let start = Arc::new(Barrier::new(programs.len()));
    let threads: Vec<_> = programs
        .iter()
        .cloned()
        .enumerate()
        .map(|(thread, program)| {
            let (queue, recorder, start) = (queue.clone(), recorder.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                program
                    .into_iter()
                    .map(|op| recorder.record(thread, op, |op| queue.run(op)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("a history thread panicked"))
        .collect()
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn queue_histories_are_linearizable(
        capacity in 1usize..=3,
        programs in prop::collection::vec(thread_program(), 3),
        prefill in 0usize..=3,
    ) {
        let case = (capacity, &programs, prefill);
        let _watchdog = watchdog("queue_histories_are_linearizable", &case);
        let programs: Vec<Vec<Op>> = programs
            .iter()
            .enumerate()
            .map(|(thread, program)| materialize(thread, program, true))
            .collect();
        let prefill = prefill.min(capacity);
        for _ in 0..20 {
            // Start some runs non-empty, so that full queues and evictions race too.
            let mut programs = programs.clone();
            let warm_up: Vec<Op> = (0..prefill).map(|i| Op::Push(1000 + i as u64)).collect();
            programs[0].splice(0..0, warm_up);
            let history = run_history(Queue::new(capacity), &programs);
            let initial = QueueModel { capacity, values: VecDeque::new() };
            if let Err(report) = check(&initial, &history) {
                return Err(TestCaseError::fail(report));
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn unbounded_histories_are_linearizable(
        programs in prop::collection::vec(thread_program(), 3),
        prefill in 0usize..=40,
    ) {
        let case = (&programs, prefill);
        let _watchdog = watchdog("unbounded_histories_are_linearizable", &case);
        let programs: Vec<Vec<Op>> = programs
            .iter()
            .enumerate()
            .map(|(thread, program)| materialize(thread, program, false))
            .collect();
        for _ in 0..20 {
            // Start some runs with values in, so that segment ends (31 values) race too.
            let mut programs = programs.clone();
            let warm_up: Vec<Op> = (0..prefill).map(|i| Op::Push(1000 + i as u64)).collect();
            programs[0].splice(0..0, warm_up);
            let (tx, rx) = unbounded();
            let history = run_history(UnboundedChannel(tx, rx), &programs);
            let initial = QueueModel { capacity: usize::MAX, values: VecDeque::new() };
            if let Err(report) = check(&initial, &history) {
                return Err(TestCaseError::fail(report));
            }
        }
    }
}

/// A history built by hand: `(thread, op, ret, invoked, returned)`.
fn handmade(events: &[(usize, Op, Ret, u64, u64)]) -> Vec<Event<Op, Ret>> {
    events
        .iter()
        .map(|&(thread, op, ret, invoked, returned)| Event {
            thread,
            op,
            ret,
            invoked,
            returned,
        })
        .collect()
}

#[test]
fn checker_accepts_overlapping_operations_in_either_order() {
    // The pop overlaps both pushes, so it may have taken either value.
    let model = QueueModel {
        capacity: 2,
        values: VecDeque::new(),
    };
    let history = handmade(&[
        (0, Op::Push(1), Ret::Pushed(Ok(())), 0, 3),
        (1, Op::Push(2), Ret::Pushed(Ok(())), 1, 4),
        (2, Op::Pop, Ret::Popped(Some(2)), 2, 5),
    ]);
    assert_eq!(check(&model, &history), Ok(()));
}

#[test]
fn checker_rejects_fifo_violations_and_stale_empties() {
    let model = QueueModel {
        capacity: 2,
        values: VecDeque::new(),
    };
    // Push 1 returned before push 2 started, so 2 cannot come out first.
    let reordered = handmade(&[
        (0, Op::Push(1), Ret::Pushed(Ok(())), 0, 1),
        (0, Op::Push(2), Ret::Pushed(Ok(())), 2, 3),
        (1, Op::Pop, Ret::Popped(Some(2)), 4, 5),
    ]);
    assert!(check(&model, &reordered).is_err());
    // A pop that starts after a completed push cannot report empty.
    let stale_empty = handmade(&[
        (0, Op::Push(1), Ret::Pushed(Ok(())), 0, 1),
        (1, Op::Pop, Ret::Popped(None), 2, 3),
    ]);
    assert!(check(&model, &stale_empty).is_err());
    // Nor can a force_push evict from a queue that was never full.
    let bad_eviction = handmade(&[
        (0, Op::Push(1), Ret::Pushed(Ok(())), 0, 1),
        (1, Op::ForcePush(2), Ret::Evicted(Some(1)), 2, 3),
    ]);
    assert!(check(&model, &bad_eviction).is_err());
}
