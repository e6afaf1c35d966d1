//! Model tests for `verisync::bounded_log`: random operation sequences checked against a
//! `VecDeque` truncated to the capacity.
//!
//! - `sequential_ops_match_the_model`: one thread runs a random sequence of every operation
//!   (pushes and bursts of pushes, snapshots, cursor reads from random sequence numbers, `len`
//!   and the other counts, `clear`) on a `BoundedLog` of drop-counted values and an `InlineLog`
//!   of `u64` (whose reads go through `snapshot_into` and `read_since_into`) of capacity
//!   1..=16, side by side, and ends with `into_vec` or a drop. The operations, their decoding
//!   from bytes and the model are `support/ops/bounded_log.rs`, shared with the fuzz target.
//! - `threaded_snapshots_are_windows`: on either log, two writer threads and one reader thread
//!   each run their own random sequence; every snapshot must be a contiguous, in-order window
//!   of what was pushed and every cursor read must account for what it covered
//!   (`tests/support/log_window.rs`).
//!
//! Case counts: 256 sequential, 64 threaded; `PROPTEST_CASES=N` overrides both. Ignored under
//! Miri (too slow there; `tests/bounded_log.rs` is the Miri suite).

#[path = "support/log_window.rs"]
mod log_window;
#[path = "support/model.rs"]
mod model;
#[path = "support/ops/bounded_log.rs"]
mod ops;

use std::thread;

use log_window::{Pushed, U64Log};
use model::{config, watchdog};
use proptest::prelude::*;
use verisync::bounded_log::{BoundedLog, InlineLog, ReadSince};

/// Longest operation sequence generated.
const MAX_OPS: usize = 64;

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
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn sequential_ops_match_the_model(
        capacity in 1usize..=16,
        take_all in any::<bool>(),
        ops in prop::collection::vec(any::<u8>().prop_map(ops::Op::decode), 0..MAX_OPS),
    ) {
        let _watchdog = watchdog("sequential_ops_match_the_model", &(capacity, take_all, &ops));
        ops::run(capacity, take_all, &ops);
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn threaded_snapshots_are_windows(
        capacity in 1usize..=4,
        a in thread_ops(),
        b in thread_ops(),
        c in thread_ops(),
    ) {
        let _watchdog = watchdog("threaded_snapshots_are_windows", &(capacity, &a, &b, &c));
        run_threaded::<BoundedLog<u64>>(capacity, [a.clone(), b.clone(), c.clone()])?;
        run_threaded::<InlineLog<u64>>(capacity, [a, b, c])?;
    }
}
