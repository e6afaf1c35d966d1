//! shuttle schedules of the bounded logs: four writers and two readers (one taking snapshots,
//! one following with a cursor) on a log of capacity 1 to 3; a `BoundedLog` of a
//! drop-counting payload, and an `InlineLog` of `u64` ids.
//!
//! shuttle controls every thread switch (random and PCT schedulers), so it reaches schedules
//! where writers lap each other and readers overlap evictions and collections, with more
//! threads than loom can afford. shuttle is sequentially consistent and does not see data
//! races: weak-memory and reclamation-ordering bugs are loom's and Miri's job
//! (`tests/loom_bounded_log.rs`, `tests/bounded_log.rs`). The capacity comes from
//! `shuttle::rand`, which the scheduler seeds and replays with the schedule, so a failure
//! reproduces from its printed schedule.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_bounded_log`.
#![cfg(verisync_shuttle)]

#[path = "support/log_window.rs"]
mod log_window;
#[path = "support/shuttle.rs"]
mod support;

use std::sync::Arc;

use log_window::Pushed;
use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{DropLog, Scheduler, Tracked, run};
use verisync::bounded_log::{BoundedLog, InlineLog, ReadSince};

/// Writer threads, and values each pushes.
const WRITERS: usize = 4;
const PER_WRITER: usize = 3;

fn ids(values: &[Tracked]) -> Vec<u64> {
    values.iter().map(|value| value.id as u64).collect()
}

/// A log of either kind, seen through the ids of its values.
trait IdLog: Send + Sync + 'static {
    fn create(capacity: usize, values: usize) -> Self;
    /// Pushes the value with `id`; its sequence number.
    fn push_id(&self, id: u64) -> u64;
    fn snapshot_ids(&self) -> Vec<u64>;
    fn read_ids(&self, seq: u64) -> ReadSince<u64>;
    /// `into_vec`'s ids, after which every value must have been dropped exactly once.
    fn into_ids(self) -> Vec<u64>;
}

/// A `BoundedLog` of drop-counting values.
struct Counted {
    log: BoundedLog<Tracked>,
    drops: DropLog,
}

impl IdLog for Counted {
    fn create(capacity: usize, values: usize) -> Self {
        Counted {
            log: BoundedLog::new(capacity),
            drops: DropLog::new(values),
        }
    }

    fn push_id(&self, id: u64) -> u64 {
        self.log.push(self.drops.item(id as usize))
    }

    fn snapshot_ids(&self) -> Vec<u64> {
        ids(&self.log.snapshot())
    }

    fn read_ids(&self, seq: u64) -> ReadSince<u64> {
        let read = self.log.read_since(seq);
        ReadSince {
            items: ids(&read.items),
            next: read.next,
            lost: read.lost,
        }
    }

    fn into_ids(self) -> Vec<u64> {
        let ids = ids(&self.log.into_vec());
        self.drops.assert_all_dropped_once();
        ids
    }
}

impl IdLog for InlineLog<u64> {
    fn create(capacity: usize, _values: usize) -> Self {
        InlineLog::new(capacity)
    }

    fn push_id(&self, id: u64) -> u64 {
        self.push(id)
    }

    fn snapshot_ids(&self) -> Vec<u64> {
        self.snapshot()
    }

    fn read_ids(&self, seq: u64) -> ReadSince<u64> {
        self.read_since(seq)
    }

    fn into_ids(self) -> Vec<u64> {
        self.into_vec()
    }
}

/// One execution: the writers push, one reader takes two snapshots, another follows with
/// cursor reads. After the joins: every snapshot is a contiguous window, the cursor accounted
/// for every sequence number it covered, the final snapshot and `into_vec` are exactly the
/// newest items, and (in a `BoundedLog`) every value was dropped exactly once.
fn writers_and_readers<L: IdLog>() {
    let capacity = thread_rng().gen_range(1..=3);
    let values = WRITERS * PER_WRITER;
    let log = Arc::new(L::create(capacity, values));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let log = log.clone();
            thread::spawn(move || {
                (0..PER_WRITER)
                    .map(|i| {
                        let id = (writer * PER_WRITER + i) as u64;
                        (id, log.push_id(id))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let snapshotter = {
        let log = log.clone();
        thread::spawn(move || [log.snapshot_ids(), log.snapshot_ids()])
    };
    let tailer = {
        let log = log.clone();
        thread::spawn(move || {
            let mut reads = Vec::new();
            let mut next = 0;
            for _ in 0..3 {
                let read = log.read_ids(next);
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
    assert_eq!(pushed.seqs(&log.snapshot_ids()).unwrap(), expected);
    assert_eq!(pushed.seqs(&log.into_ids()).unwrap(), expected);
}

#[test]
fn random_schedules_four_writers_two_readers() {
    run(
        "random_schedules_four_writers_two_readers",
        Scheduler::Random,
        writers_and_readers::<Counted>,
    );
}

#[test]
fn pct_schedules_four_writers_two_readers() {
    run(
        "pct_schedules_four_writers_two_readers",
        Scheduler::Pct,
        writers_and_readers::<Counted>,
    );
}

#[test]
fn inline_random_schedules_four_writers_two_readers() {
    run(
        "inline_random_schedules_four_writers_two_readers",
        Scheduler::Random,
        writers_and_readers::<InlineLog<u64>>,
    );
}

#[test]
fn inline_pct_schedules_four_writers_two_readers() {
    run(
        "inline_pct_schedules_four_writers_two_readers",
        Scheduler::Pct,
        writers_and_readers::<InlineLog<u64>>,
    );
}
