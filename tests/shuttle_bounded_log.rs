//! shuttle schedules of the bounded log: four writers and two readers (one taking snapshots,
//! one following with a cursor) on a log of capacity 1 to 3, with a drop-counting payload.
//!
//! shuttle controls every thread switch (random and PCT schedulers), so it reaches schedules
//! where writers lap each other and readers overlap evictions and collections, with more
//! threads than loom can afford. shuttle is sequentially consistent and does not see data
//! races: weak-memory and reclamation-ordering bugs are loom's and Miri's job
//! (`tests/loom_bounded_log.rs`, `tests/bounded_log.rs`). The capacity comes from
//! `shuttle::rand`, which the scheduler seeds and replays with the schedule, so a failure
//! reproduces from its printed schedule.
//!
//! Run: `cargo test --release --features shuttle --test shuttle_bounded_log`.
#![cfg(feature = "shuttle")]

#[path = "support/log_window.rs"]
mod log_window;
#[path = "support/shuttle.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use log_window::Pushed;
use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{Scheduler, run};
use verisync::bounded_log::{BoundedLog, Read};

/// Writer threads, and values each pushes.
const WRITERS: usize = 4;
const PER_WRITER: usize = 3;

/// A payload that records the drop of the original (not of clones) in a per-value counter.
struct Value {
    id: u64,
    original: bool,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Clone for Value {
    fn clone(&self) -> Self {
        Value {
            id: self.id,
            original: false,
            drops: self.drops.clone(),
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        if self.original {
            self.drops[self.id as usize].fetch_add(1, Relaxed);
        }
    }
}

fn ids(values: &[Value]) -> Vec<u64> {
    values.iter().map(|value| value.id).collect()
}

/// One execution: the writers push, one reader takes two snapshots, another follows with
/// cursor reads. After the joins: every snapshot is a contiguous window, the cursor accounted
/// for every sequence number it covered, the final snapshot and `into_vec` are exactly the
/// newest items, and every value was dropped exactly once.
fn writers_and_readers() {
    let capacity = thread_rng().gen_range(1..=3);
    let values = WRITERS * PER_WRITER;
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..values).map(|_| 0.into()).collect());
    let log = Arc::new(BoundedLog::new(capacity));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (log, drops) = (log.clone(), drops.clone());
            thread::spawn(move || {
                (0..PER_WRITER)
                    .map(|i| {
                        let id = (writer * PER_WRITER + i) as u64;
                        let value = Value {
                            id,
                            original: true,
                            drops: drops.clone(),
                        };
                        (id, log.push(value))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let snapshotter = {
        let log = log.clone();
        thread::spawn(move || [ids(&log.snapshot()), ids(&log.snapshot())])
    };
    let tailer = {
        let log = log.clone();
        thread::spawn(move || {
            let mut reads = Vec::new();
            let mut next = 0;
            for _ in 0..3 {
                let read = log.read_since(next);
                let read = Read {
                    items: ids(&read.items),
                    next: read.next,
                    lost: read.lost,
                };
                reads.push((next, read.clone()));
                next = read.next;
            }
            reads
        })
    };

    let mut pushed = Pushed::default();
    for writer in writers {
        for (id, seq) in writer.join().unwrap() {
            pushed.record(id, seq);
        }
    }
    for snapshot in snapshotter.join().unwrap() {
        pushed.check_snapshot(&snapshot, capacity).unwrap();
    }
    for (from, read) in tailer.join().unwrap() {
        pushed.check_read(from, &read).unwrap();
    }
    let log = Arc::try_unwrap(log).unwrap_or_else(|_| panic!("a thread kept the log"));
    let total = values as u64;
    let expected: Vec<u64> = (total - capacity as u64..total).collect();
    assert_eq!(pushed.seqs(&ids(&log.snapshot())).unwrap(), expected);
    assert_eq!(pushed.seqs(&ids(&log.into_vec())).unwrap(), expected);
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Relaxed), 1, "value {id} dropped wrongly");
    }
}

#[test]
fn random_schedules_four_writers_two_readers() {
    run(
        "random_schedules_four_writers_two_readers",
        Scheduler::Random,
        writers_and_readers,
    );
}

#[test]
fn pct_schedules_four_writers_two_readers() {
    run(
        "pct_schedules_four_writers_two_readers",
        Scheduler::Pct,
        writers_and_readers,
    );
}
