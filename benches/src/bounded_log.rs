//! Bounded log workloads: verisync's `InlineLog` (`u64` only) and `BoundedLog` against a
//! `VecDeque` truncated to the capacity behind std's `Mutex` and `RwLock` and parking_lot's
//! `Mutex`, and crossbeam's `ArrayQueue::force_push` (which evicts the oldest item too, but
//! has no snapshot). Capacity 4096; `u64` payloads, and `String` payloads (the number
//! formatted) in the `_string` groups.
//!
//! - `bounded_log_writers` (and `_string`): two writer threads push `items / 2` values each
//!   while a reader thread takes snapshots in a loop; the time is the writers' (from the
//!   release of all three threads until both writers are done). The `writers only` rows run
//!   the writers with no reader, for the comparison with `ArrayQueue::force_push`.
//! - `bounded_log_snapshots` (and `_string`): the reader takes `items / 4096` snapshots while
//!   the two writers push without pause; the time is the reader's. The table's Mops/s is
//!   therefore snapshots/s times 4096 (a full snapshot's worth of items per snapshot):
//!   divide by 4096 for snapshots/s.
//!
//! The baseline of every group is `Mutex<VecDeque>`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex, RwLock};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use verisync::bounded_log::{BoundedLog, InlineLog};

use crate::common::{Case, Workload};

/// Capacity of every log.
pub const CAPACITY: usize = 4096;

/// Pushes per writer in one run of the writer groups: the two writers push 1M values each.
const PER_WRITER: u64 = 1 << 20;

/// Snapshots per run of the snapshot groups.
const SNAPSHOTS: u64 = 1000;

/// The bounded log workloads, in table order.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "bounded_log_writers",
            baseline: "Mutex<VecDeque>",
            items: 2 * PER_WRITER,
            cases: with_inline_log(
                writer_cases::<u64>(),
                vec![
                    case(
                        "verisync InlineLog",
                        writers_and_reader::<InlineLog<u64>, u64>,
                    ),
                    case(
                        "verisync InlineLog, writers only",
                        writers_only::<InlineLog<u64>, u64>,
                    ),
                ],
            ),
        },
        Workload {
            id: "bounded_log_snapshots",
            baseline: "Mutex<VecDeque>",
            items: SNAPSHOTS * CAPACITY as u64,
            cases: with_inline_log(
                snapshot_cases::<u64>(),
                vec![case("verisync InlineLog", snapshots::<InlineLog<u64>, u64>)],
            ),
        },
        Workload {
            id: "bounded_log_writers_string",
            baseline: "Mutex<VecDeque>",
            items: 2 * PER_WRITER,
            cases: writer_cases::<String>(),
        },
        Workload {
            id: "bounded_log_snapshots_string",
            baseline: "Mutex<VecDeque>",
            items: SNAPSHOTS * CAPACITY as u64,
            cases: snapshot_cases::<String>(),
        },
    ]
}

fn writer_cases<P: Payload>() -> Vec<Case> {
    vec![
        case(
            "verisync BoundedLog",
            writers_and_reader::<BoundedLog<P>, P>,
        ),
        case(
            "Mutex<VecDeque>",
            writers_and_reader::<Mutex<VecDeque<P>>, P>,
        ),
        case(
            "RwLock<VecDeque>",
            writers_and_reader::<RwLock<VecDeque<P>>, P>,
        ),
        case(
            "parking_lot Mutex<VecDeque>",
            writers_and_reader::<parking_lot::Mutex<VecDeque<P>>, P>,
        ),
        case(
            "verisync BoundedLog, writers only",
            writers_only::<BoundedLog<P>, P>,
        ),
        case(
            "Mutex<VecDeque>, writers only",
            writers_only::<Mutex<VecDeque<P>>, P>,
        ),
        case(
            "ArrayQueue force_push, writers only",
            writers_only::<ArrayQueue<P>, P>,
        ),
    ]
}

fn snapshot_cases<P: Payload>() -> Vec<Case> {
    vec![
        case("verisync BoundedLog", snapshots::<BoundedLog<P>, P>),
        case("Mutex<VecDeque>", snapshots::<Mutex<VecDeque<P>>, P>),
        case("RwLock<VecDeque>", snapshots::<RwLock<VecDeque<P>>, P>),
        case(
            "parking_lot Mutex<VecDeque>",
            snapshots::<parking_lot::Mutex<VecDeque<P>>, P>,
        ),
    ]
}

/// `cases` with verisync's `InlineLog` rows first, as every workload lists verisync first.
fn with_inline_log(cases: Vec<Case>, inline: Vec<Case>) -> Vec<Case> {
    inline.into_iter().chain(cases).collect()
}

fn case(name: &'static str, run: fn(u64) -> Duration) -> Case {
    Case { name, run }
}

/// What the writers push: made from a number, which it gives back for the checks.
pub trait Payload: Clone + Send + Sync + 'static {
    fn make(value: u64) -> Self;
    fn number(&self) -> u64;
}

impl Payload for u64 {
    fn make(value: u64) -> Self {
        value
    }

    fn number(&self) -> u64 {
        *self
    }
}

impl Payload for String {
    fn make(value: u64) -> Self {
        value.to_string()
    }

    fn number(&self) -> u64 {
        self.parse().expect("a pushed number")
    }
}

/// A bounded log: keeps the newest [`CAPACITY`] values.
pub trait Log<P>: Send + Sync + 'static {
    fn create() -> Self;
    fn push(&self, value: P);
    /// The retained values, oldest first; `None` for a peer that cannot take one.
    fn snapshot(&self) -> Option<Vec<P>>;
}

impl<P: Payload> Log<P> for BoundedLog<P> {
    fn create() -> Self {
        BoundedLog::new(CAPACITY)
    }

    fn push(&self, value: P) {
        BoundedLog::push(self, value);
    }

    fn snapshot(&self) -> Option<Vec<P>> {
        Some(BoundedLog::snapshot(self))
    }
}

impl Log<u64> for InlineLog<u64> {
    fn create() -> Self {
        InlineLog::new(CAPACITY)
    }

    fn push(&self, value: u64) {
        InlineLog::push(self, value);
    }

    fn snapshot(&self) -> Option<Vec<u64>> {
        Some(InlineLog::snapshot(self))
    }
}

/// Appends `value` to `deque`, dropping the oldest value when it is full.
fn push_truncated<P>(deque: &mut VecDeque<P>, value: P) {
    if deque.len() == CAPACITY {
        deque.pop_front();
    }
    deque.push_back(value);
}

impl<P: Payload> Log<P> for Mutex<VecDeque<P>> {
    fn create() -> Self {
        Mutex::new(VecDeque::with_capacity(CAPACITY))
    }

    fn push(&self, value: P) {
        push_truncated(&mut self.lock().unwrap(), value);
    }

    fn snapshot(&self) -> Option<Vec<P>> {
        Some(self.lock().unwrap().iter().cloned().collect())
    }
}

impl<P: Payload> Log<P> for RwLock<VecDeque<P>> {
    fn create() -> Self {
        RwLock::new(VecDeque::with_capacity(CAPACITY))
    }

    fn push(&self, value: P) {
        push_truncated(&mut self.write().unwrap(), value);
    }

    fn snapshot(&self) -> Option<Vec<P>> {
        Some(self.read().unwrap().iter().cloned().collect())
    }
}

impl<P: Payload> Log<P> for parking_lot::Mutex<VecDeque<P>> {
    fn create() -> Self {
        parking_lot::Mutex::new(VecDeque::with_capacity(CAPACITY))
    }

    fn push(&self, value: P) {
        push_truncated(&mut self.lock(), value);
    }

    fn snapshot(&self) -> Option<Vec<P>> {
        Some(self.lock().iter().cloned().collect())
    }
}

impl<P: Payload> Log<P> for ArrayQueue<P> {
    fn create() -> Self {
        ArrayQueue::new(CAPACITY)
    }

    fn push(&self, value: P) {
        self.force_push(value);
    }

    fn snapshot(&self) -> Option<Vec<P>> {
        None
    }
}

/// Checks a snapshot of [`run_writers`]: at most [`CAPACITY`] values, each writer's in the
/// order it pushed them.
fn check_snapshot<P: Payload>(snapshot: &[P], per_writer: u64) {
    assert!(snapshot.len() <= CAPACITY, "snapshot over capacity");
    let mut last = [None; 2];
    for value in snapshot {
        let number = value.number();
        let writer = usize::from(number >= per_writer);
        assert!(
            last[writer].is_none_or(|previous| previous < number),
            "a writer's values out of order"
        );
        last[writer] = Some(number);
    }
}

/// Pushes writer `writer`'s `per_writer` values: writer 0 pushes `0..n`, writer 1 `n..2n`.
fn push_all<L: Log<P>, P: Payload>(log: &L, writer: u64, per_writer: u64) {
    for value in writer * per_writer..(writer + 1) * per_writer {
        log.push(P::make(value));
    }
}

/// Two writers push `items / 2` values each, with a reader snapshotting in a loop (if
/// `with_reader`); returns the writers' time.
fn run_writers<L: Log<P>, P: Payload>(items: u64, with_reader: bool) -> Duration {
    let per_writer = items / 2;
    let log = L::create();
    let done = AtomicBool::new(false);
    let threads = if with_reader { 4 } else { 3 };
    let start = Barrier::new(threads);
    let elapsed = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let (log, start) = (&log, &start);
                scope.spawn(move || {
                    start.wait();
                    push_all(log, writer, per_writer);
                })
            })
            .collect();
        if with_reader {
            scope.spawn(|| {
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    let snapshot = log.snapshot().expect("a log with snapshots");
                    check_snapshot(&snapshot, per_writer);
                }
            });
        }
        start.wait();
        let began = Instant::now();
        for writer in writers {
            writer.join().expect("writer panicked");
        }
        let elapsed = began.elapsed();
        done.store(true, Ordering::Relaxed);
        elapsed
    });
    if let Some(last) = log.snapshot() {
        assert_eq!(
            last.len(),
            CAPACITY.min(2 * per_writer as usize),
            "final snapshot"
        );
        check_snapshot(&last, per_writer);
    }
    elapsed
}

fn writers_and_reader<L: Log<P>, P: Payload>(items: u64) -> Duration {
    run_writers::<L, P>(items, true)
}

fn writers_only<L: Log<P>, P: Payload>(items: u64) -> Duration {
    run_writers::<L, P>(items, false)
}

/// The reader takes `items / CAPACITY` snapshots while two writers push without pause;
/// returns the reader's time.
fn snapshots<L: Log<P>, P: Payload>(items: u64) -> Duration {
    let count = (items / CAPACITY as u64).max(1);
    let log = L::create();
    // Fill the log first, so that every snapshot copies a full log.
    push_all(&log, 0, CAPACITY as u64);
    let done = AtomicBool::new(false);
    let start = Barrier::new(3);
    std::thread::scope(|scope| {
        for writer in 0..2 {
            let (log, start, done) = (&log, &start, &done);
            scope.spawn(move || {
                start.wait();
                let mut value = writer << 32;
                while !done.load(Ordering::Relaxed) {
                    log.push(P::make(value));
                    value += 1;
                }
            });
        }
        start.wait();
        let began = Instant::now();
        for _ in 0..count {
            let snapshot = log.snapshot().expect("a log with snapshots");
            assert!(snapshot.len() <= CAPACITY, "snapshot over capacity");
            std::hint::black_box(snapshot);
        }
        let elapsed = began.elapsed();
        done.store(true, Ordering::Relaxed);
        elapsed
    })
}
