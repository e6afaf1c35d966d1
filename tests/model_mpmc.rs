//! Model tests for `verisync::mpmc`: random operation sequences checked against a `VecDeque`.
//!
//! - `queue_ops_match_the_model`: one thread runs a random sequence of `Queue` operations
//!   (`push`, `pop`, `force_push`, `len`, `is_empty`, `is_full`) against a `VecDeque` of the
//!   same capacity (1..=5); every value counts its drops and must be dropped exactly once.
//! - `channel_ops_match_the_model`: the same for the channel's non-blocking operations and
//!   batches, with clones and drops of endpoints, including dropping a whole side.
//! - `queue_histories_are_linearizable`: three threads run random operation lists on one
//!   `Queue` (capacity 1..=3) at the same time, each recording invocation and return times;
//!   the history must be linearizable against the `VecDeque` model (checker in
//!   `tests/support/linearizability.rs`). Each generated program runs several times, since
//!   each run sees one interleaving.
//! - `checker_*`: the checker itself rejects a history that is not linearizable.
//!
//! `PROPTEST_CASES=N` overrides the case counts. Ignored under Miri (too slow there);
//! `tests/mpmc.rs` is the Miri suite.

#[path = "support/behaviour.rs"]
mod behaviour;
#[path = "support/linearizability.rs"]
mod linearizability;
#[path = "support/model.rs"]
mod model;

use std::collections::VecDeque;
use std::sync::{Arc, Barrier};
use std::thread;

use behaviour::{DropLog, Tracked};
use linearizability::{Event, Model, Recorder, check};
use model::{config, watchdog};
use proptest::prelude::*;
use verisync::mpmc::{Queue, TryRecvError, TrySendError, channel};

/// Longest operation sequence of a single-thread case.
const MAX_OPS: usize = 80;

/// Fails the case unless each value with an id in `ids` was dropped exactly once.
fn dropped_once(log: &DropLog, ids: impl IntoIterator<Item = usize>) -> Result<(), TestCaseError> {
    for id in ids {
        prop_assert_eq!(
            log.drops(id),
            1,
            "value {} dropped the wrong number of times",
            id
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Queue, one thread
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum QueueOp {
    Push,
    Pop,
    ForcePush,
    Len,
    IsEmpty,
    IsFull,
}

fn queue_op() -> impl Strategy<Value = QueueOp> {
    prop_oneof![
        3 => Just(QueueOp::Push),
        3 => Just(QueueOp::Pop),
        2 => Just(QueueOp::ForcePush),
        1 => Just(QueueOp::Len),
        1 => Just(QueueOp::IsEmpty),
        1 => Just(QueueOp::IsFull),
    ]
}

fn id_of(value: Option<Tracked>) -> Option<usize> {
    value.map(|value| value.id)
}

fn queue_case(capacity: usize, ops: &[QueueOp]) -> Result<(), TestCaseError> {
    let log = DropLog::new(ops.len());
    let queue = Queue::new(capacity);
    let mut model: VecDeque<usize> = VecDeque::new();
    // Values are made only by pushes; their id is the step that made them.
    let mut made = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        if matches!(op, QueueOp::Push | QueueOp::ForcePush) {
            made.push(step);
        }
        match op {
            QueueOp::Push => {
                let result = queue.push(log.item(step)).map_err(|back| back.id);
                let expected = if model.len() < capacity {
                    model.push_back(step);
                    Ok(())
                } else {
                    Err(step)
                };
                prop_assert_eq!(result, expected, "step {}", step);
            }
            QueueOp::Pop => prop_assert_eq!(id_of(queue.pop()), model.pop_front()),
            QueueOp::ForcePush => {
                let evicted = id_of(queue.force_push(log.item(step)));
                let expected = if model.len() == capacity {
                    model.pop_front()
                } else {
                    None
                };
                model.push_back(step);
                prop_assert_eq!(evicted, expected, "step {}", step);
            }
            QueueOp::Len => prop_assert_eq!(queue.len(), model.len()),
            QueueOp::IsEmpty => prop_assert_eq!(queue.is_empty(), model.is_empty()),
            QueueOp::IsFull => prop_assert_eq!(queue.is_full(), model.len() == capacity),
        }
    }
    drop(queue);
    dropped_once(&log, made)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn queue_ops_match_the_model(
        capacity in 1usize..=5,
        ops in prop::collection::vec(queue_op(), 0..MAX_OPS),
    ) {
        let _watchdog = watchdog("queue_ops_match_the_model", &(capacity, &ops));
        queue_case(capacity, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Channel, one thread
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum ChannelOp {
    TrySend,
    TryRecv,
    /// `send_many` of this many values, cut down to the free room so that it cannot block.
    SendMany(usize),
    TryRecvMany(usize),
    CloneSender,
    DropSender,
    CloneReceiver,
    DropReceiver,
    Len,
}

fn channel_op() -> impl Strategy<Value = ChannelOp> {
    prop_oneof![
        4 => Just(ChannelOp::TrySend),
        4 => Just(ChannelOp::TryRecv),
        2 => (0usize..6).prop_map(ChannelOp::SendMany),
        2 => (0usize..7).prop_map(ChannelOp::TryRecvMany),
        1 => Just(ChannelOp::CloneSender),
        1 => Just(ChannelOp::DropSender),
        1 => Just(ChannelOp::CloneReceiver),
        1 => Just(ChannelOp::DropReceiver),
        1 => Just(ChannelOp::Len),
    ]
}

fn channel_case(capacity: usize, ops: &[ChannelOp]) -> Result<(), TestCaseError> {
    // Each step makes at most 5 values.
    let log = DropLog::new(ops.len() * 5);
    let mut made = 0;
    let mut make = || {
        made += 1;
        log.item(made - 1)
    };
    let (tx, rx) = channel(capacity);
    let (mut senders, mut receivers) = (vec![tx], vec![rx]);
    let mut model: VecDeque<usize> = VecDeque::new();
    for (step, op) in ops.iter().enumerate() {
        let senders_gone = senders.is_empty();
        let receivers_gone = receivers.is_empty();
        match op {
            ChannelOp::TrySend => {
                let Some(tx) = senders.last() else { continue };
                let value = make();
                let id = value.id;
                let result = tx.try_send(value).map_err(|err| match err {
                    TrySendError::Full(v) => ("full", v.id),
                    TrySendError::Disconnected(v) => ("disconnected", v.id),
                });
                let expected = if receivers_gone {
                    Err(("disconnected", id))
                } else if model.len() == capacity {
                    Err(("full", id))
                } else {
                    model.push_back(id);
                    Ok(())
                };
                prop_assert_eq!(result, expected, "step {}", step);
            }
            ChannelOp::TryRecv => {
                let Some(rx) = receivers.last() else { continue };
                let expected = match model.pop_front() {
                    Some(id) => Ok(id),
                    None if senders_gone => Err(TryRecvError::Disconnected),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(rx.try_recv().map(|v| v.id), expected, "step {}", step);
            }
            ChannelOp::SendMany(count) => {
                let Some(tx) = senders.last() else { continue };
                let count = if receivers_gone {
                    *count
                } else {
                    (*count).min(capacity - model.len())
                };
                let values: Vec<Tracked> = (0..count).map(|_| make()).collect();
                let ids: Vec<usize> = values.iter().map(|v| v.id).collect();
                let result = tx
                    .send_many(values)
                    .map_err(|err| err.0.iter().map(|v| v.id).collect::<Vec<_>>());
                if receivers_gone && count > 0 {
                    prop_assert_eq!(result, Err(ids), "step {}", step);
                } else {
                    prop_assert_eq!(result, Ok(()), "step {}", step);
                    model.extend(ids);
                }
            }
            ChannelOp::TryRecvMany(max) => {
                let Some(rx) = receivers.last() else { continue };
                let mut out = Vec::new();
                let result = rx.try_recv_many(&mut out, *max);
                let take = (*max).min(model.len());
                let expected = if *max == 0 {
                    Ok(0)
                } else if take > 0 {
                    Ok(take)
                } else if senders_gone {
                    Err(TryRecvError::Disconnected)
                } else {
                    Err(TryRecvError::Empty)
                };
                prop_assert_eq!(result, expected, "step {}", step);
                let expected_ids: Vec<usize> = model.drain(..take).collect();
                let ids: Vec<usize> = out.iter().map(|v| v.id).collect();
                prop_assert_eq!(ids, expected_ids, "step {}", step);
            }
            ChannelOp::CloneSender => {
                if let Some(tx) = senders.last() {
                    senders.push(tx.clone());
                }
            }
            ChannelOp::DropSender => drop(senders.pop()),
            ChannelOp::CloneReceiver => {
                if let Some(rx) = receivers.last() {
                    receivers.push(rx.clone());
                }
            }
            ChannelOp::DropReceiver => {
                drop(receivers.pop());
                if receivers.is_empty() {
                    // std semantics: what is still buffered dies with the last receiver, now.
                    dropped_once(&log, model.drain(..))?;
                }
            }
            ChannelOp::Len => {
                if let Some(tx) = senders.last() {
                    prop_assert_eq!(tx.len(), model.len());
                    prop_assert_eq!(tx.is_disconnected(), receivers_gone);
                }
                if let Some(rx) = receivers.last() {
                    prop_assert_eq!(rx.len(), model.len());
                    prop_assert_eq!(rx.is_disconnected(), senders_gone);
                }
            }
        }
    }
    drop((senders, receivers));
    dropped_once(&log, 0..made)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn channel_ops_match_the_model(
        capacity in 1usize..=5,
        ops in prop::collection::vec(channel_op(), 0..MAX_OPS),
    ) {
        let _watchdog = watchdog("channel_ops_match_the_model", &(capacity, &ops));
        channel_case(capacity, &ops)?;
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

fn run_on(queue: &Queue<u64>, op: &Op) -> Ret {
    match *op {
        Op::Push(value) => Ret::Pushed(queue.push(value)),
        Op::Pop => Ret::Popped(queue.pop()),
        Op::ForcePush(value) => Ret::Evicted(queue.force_push(value)),
        Op::Len => Ret::Len(queue.len()),
    }
}

/// Operation kinds of a thread's program; values are filled in to be unique per run.
fn thread_program() -> impl Strategy<Value = Vec<u8>> {
    // 0..3 push, 3..5 pop, 5 force_push, 6 len.
    prop::collection::vec(0u8..7, 1..=7)
}

fn materialize(thread: usize, program: &[u8]) -> Vec<Op> {
    program
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let value = (thread * 100 + i) as u64;
            match kind {
                0..3 => Op::Push(value),
                3..5 => Op::Pop,
                5 => Op::ForcePush(value),
                _ => Op::Len,
            }
        })
        .collect()
}

/// Runs the programs on one queue, a thread each, released together; the recorded history.
fn run_history(capacity: usize, programs: &[Vec<Op>]) -> Vec<Event<Op, Ret>> {
    let queue = Arc::new(Queue::new(capacity));
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
                    .map(|op| recorder.record(thread, op, |op| run_on(&queue, op)))
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
        let _watchdog = watchdog("queue_histories_are_linearizable", &(capacity, &programs, prefill));
        let programs: Vec<Vec<Op>> = programs
            .iter()
            .enumerate()
            .map(|(thread, program)| materialize(thread, program))
            .collect();
        let prefill = prefill.min(capacity);
        for _ in 0..20 {
            // Start some runs non-empty, so that full queues and evictions race too.
            let mut programs = programs.clone();
            let warm_up: Vec<Op> = (0..prefill).map(|i| Op::Push(1000 + i as u64)).collect();
            programs[0].splice(0..0, warm_up);
            let history = run_history(capacity, &programs);
            let initial = QueueModel { capacity, values: VecDeque::new() };
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
