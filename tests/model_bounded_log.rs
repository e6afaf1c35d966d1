//! Model tests for `verisync::bounded_log`: random operation sequences checked against a
//! `VecDeque` truncated to the capacity.
//!
//! - `sequential_ops_match_the_model`: one thread runs a random sequence of every operation
//!   (push, snapshot, cursor reads from random sequence numbers, `len`, `total_pushed`,
//!   `clear`) on a log of capacity 1..=8, compares every result with the model, and ends with
//!   `into_vec` or a drop. Every value records its drops, and each must be dropped exactly once.
//! - The same sequences run on an `InlineLog` of `u64` (whose reads go through `snapshot_into`
//!   and `read_since_into`, into buffers that already hold something).
//! - `threaded_snapshots_are_windows`: on either log, two writer threads and one reader thread
//!   each run their own random sequence; every snapshot must be a contiguous, in-order window of what was
//!   pushed and every cursor read must account for what it covered
//!   (`tests/support/log_window.rs`).
//!
//! Case counts: 256 sequential, 64 threaded; `PROPTEST_CASES=N` overrides both. Ignored under
//! Miri (too slow there; `tests/bounded_log.rs` is the Miri suite).

#[path = "support/drops.rs"]
mod drops;
#[path = "support/log_window.rs"]
mod log_window;

use std::collections::VecDeque;
use std::thread;

use drops::{DropLog, Tracked};
use log_window::{Pushed, U64Log};
use proptest::prelude::*;
use verisync::bounded_log::{BoundedLog, InlineLog, Progress, ReadSince};

/// Longest operation sequence generated.
const MAX_OPS: usize = 64;

fn ids(items: &[Tracked]) -> Vec<u64> {
    items.iter().map(|item| item.id as u64).collect()
}

/// One step of the sequential test.
#[derive(Clone, Debug)]
enum Op {
    Push,
    Snapshot,
    /// `read_since(total_pushed - back)`, saturating; `back` may be negative (the future).
    ReadSince(i64),
    Len,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Push),
        2 => Just(Op::Snapshot),
        2 => (-2i64..12).prop_map(Op::ReadSince),
        1 => Just(Op::Len),
        1 => Just(Op::Clear),
    ]
}

/// The model both sequential runs check against: the sequence numbers a log of `capacity`
/// retains, oldest first (values are made from their sequence numbers).
struct Model {
    capacity: usize,
    retained: VecDeque<u64>,
    total: u64,
    cleared_at: u64,
}

/// What `read_since` must return: the items' sequence numbers, and the rest of the answer.
type ExpectedRead = (Vec<u64>, Progress);

impl Model {
    fn new(capacity: usize) -> Self {
        Model {
            capacity,
            retained: VecDeque::new(),
            total: 0,
            cleared_at: 0,
        }
    }

    /// Records a push; its sequence number.
    fn push(&mut self) -> u64 {
        let seq = self.total;
        self.total += 1;
        self.retained.push_back(seq);
        if self.retained.len() > self.capacity {
            self.retained.pop_front();
        }
        seq
    }

    fn snapshot(&self) -> Vec<u64> {
        Vec::from(self.retained.clone())
    }

    /// The sequence number `Op::ReadSince(back)` reads from.
    fn read_from(&self, back: i64) -> u64 {
        self.total.saturating_add_signed(-back)
    }

    fn read_since(&self, from: u64) -> ExpectedRead {
        let oldest = self
            .total
            .saturating_sub(self.capacity as u64)
            .max(self.cleared_at);
        let first = from.max(oldest);
        let items = (first..self.total.max(first)).collect();
        let progress = Progress {
            next: self.total.max(from),
            lost: first - from,
        };
        (items, progress)
    }

    fn clear(&mut self) {
        self.retained.clear();
        self.cleared_at = self.total;
    }

    /// What the log must report: `(len, is_empty, total_pushed, capacity, lapped)`.
    fn observed(&self) -> (usize, bool, u64, usize, u64) {
        let len = self.retained.len();
        (len, len == 0, self.total, self.capacity, 0)
    }
}

/// What a log reports, in [`Model::observed`]'s order (either log: a macro, for the two
/// types' methods of the same names).
macro_rules! observed {
    ($log:expr) => {
        (
            $log.len(),
            $log.is_empty(),
            $log.total_pushed(),
            $log.capacity(),
            $log.lapped(),
        )
    };
}

/// Runs `ops` on an `InlineLog` of `capacity` (values are their sequence numbers; reads go
/// into buffers that already hold something) and on the model; `into_vec` at the end if
/// `take_all`.
fn run_sequential_inline(capacity: usize, ops: &[Op], take_all: bool) -> Result<(), TestCaseError> {
    let mut log = InlineLog::new(capacity);
    let mut model = Model::new(capacity);
    let mut snapshot = vec![u64::MAX];
    for op in ops {
        match *op {
            Op::Push => {
                let seq = model.total;
                prop_assert_eq!(log.push(seq), model.push());
            }
            Op::Snapshot => {
                log.snapshot_into(&mut snapshot);
                prop_assert_eq!(&snapshot, &model.snapshot());
            }
            Op::ReadSince(back) => {
                let from = model.read_from(back);
                let mut items = vec![u64::MAX];
                let progress = log.read_since_into(from, &mut items);
                let (expected, expected_progress) = model.read_since(from);
                prop_assert_eq!(items[0], u64::MAX, "the buffer's old contents");
                prop_assert_eq!(&items[1..], &expected[..]);
                prop_assert_eq!(progress, expected_progress);
            }
            Op::Len => {
                prop_assert_eq!(observed!(log), model.observed());
            }
            Op::Clear => {
                log.clear();
                model.clear();
            }
        }
    }
    if take_all {
        prop_assert_eq!(log.into_vec(), model.snapshot());
    }
    Ok(())
}

/// Runs `ops` on a log of `capacity` and on the model; `into_vec` at the end if `take_all`.
fn run_sequential(capacity: usize, ops: &[Op], take_all: bool) -> Result<(), TestCaseError> {
    let drops = DropLog::new(ops.len());
    let mut log = BoundedLog::new(capacity);
    let mut model = Model::new(capacity);
    for op in ops {
        match *op {
            Op::Push => {
                let seq = log.push(drops.item(model.total as usize));
                prop_assert_eq!(seq, model.push());
            }
            Op::Snapshot => {
                prop_assert_eq!(ids(&log.snapshot()), model.snapshot());
            }
            Op::ReadSince(back) => {
                let from = model.read_from(back);
                let read = log.read_since(from);
                let (expected, progress) = model.read_since(from);
                prop_assert_eq!(ids(&read.items), expected);
                prop_assert_eq!((read.next, read.lost), (progress.next, progress.lost));
            }
            Op::Len => {
                prop_assert_eq!(observed!(log), model.observed());
            }
            Op::Clear => {
                log.clear();
                model.clear();
            }
        }
        // Every value pushed and no longer retained was dropped exactly once, the rest never.
        for id in 0..model.total {
            let expected = u32::from(!model.retained.contains(&id));
            prop_assert_eq!(drops.drops(id as usize), expected, "id {}", id);
        }
    }
    if take_all {
        prop_assert_eq!(ids(&log.into_vec()), model.snapshot());
    } else {
        drop(log);
    }
    for id in 0..model.total {
        prop_assert_eq!(drops.drops(id as usize), 1, "id {}", id);
    }
    Ok(())
}

/// One step of a thread in the threaded test.
#[derive(Clone, Debug)]
enum ThreadOp {
    Push,
    Snapshot,
    Read,
    Yield,
}

fn thread_ops() -> impl Strategy<Value = Vec<ThreadOp>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(ThreadOp::Push),
            2 => Just(ThreadOp::Snapshot),
            2 => Just(ThreadOp::Read),
            1 => Just(ThreadOp::Yield),
        ],
        0..MAX_OPS,
    )
}

/// Three threads run their own sequences; the two writers push (and read), the third reads.
fn run_threaded<L: U64Log>(
    capacity: usize,
    sequences: [Vec<ThreadOp>; 3],
) -> Result<(), TestCaseError> {
    let log = L::make(capacity);
    let results: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = sequences
            .iter()
            .enumerate()
            .map(|(thread, ops)| {
                let log = &log;
                scope.spawn(move || {
                    let mut pushes = Vec::new();
                    let mut snapshots = Vec::new();
                    let mut reads = Vec::new();
                    let mut next = 0;
                    for (i, op) in ops.iter().enumerate() {
                        match op {
                            ThreadOp::Push if thread < 2 => {
                                let value = ((thread as u64) << 32) | i as u64;
                                pushes.push((value, log.push(value)));
                            }
                            ThreadOp::Push | ThreadOp::Snapshot => {
                                snapshots.push(log.snapshot());
                            }
                            ThreadOp::Read => {
                                let read = log.read_since(next);
                                reads.push((next, read.clone()));
                                next = read.next;
                            }
                            ThreadOp::Yield => thread::yield_now(),
                        }
                    }
                    (pushes, snapshots, reads)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut pushed = Pushed::default();
    for (pushes, _, _) in &results {
        for &(value, seq) in pushes {
            pushed.record(value, seq);
        }
    }
    for (_, snapshots, reads) in &results {
        for snapshot in snapshots {
            pushed
                .check_snapshot(snapshot, capacity)
                .map_err(TestCaseError::fail)?;
        }
        for (from, read) in reads {
            let read: &ReadSince<u64> = read;
            pushed
                .check_read(*from, read)
                .map_err(TestCaseError::fail)?;
        }
    }
    let total = log.total_pushed();
    let expected: Vec<u64> = (total.saturating_sub(capacity as u64)..total).collect();
    prop_assert_eq!(
        pushed.seqs(&log.into_vec()).map_err(TestCaseError::fail)?,
        expected
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn sequential_ops_match_the_model(
        capacity in 1usize..=8,
        ops in prop::collection::vec(op(), 0..MAX_OPS),
        take_all in any::<bool>(),
    ) {
        run_sequential(capacity, &ops, take_all)?;
        run_sequential_inline(capacity, &ops, take_all)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn threaded_snapshots_are_windows(
        capacity in 1usize..=4,
        a in thread_ops(),
        b in thread_ops(),
        c in thread_ops(),
    ) {
        run_threaded::<BoundedLog<u64>>(capacity, [a.clone(), b.clone(), c.clone()])?;
        run_threaded::<InlineLog<u64>>(capacity, [a, b, c])?;
    }
}
