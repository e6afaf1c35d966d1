//! loom models of the bounded log: two writers and one reader at capacity 1 and 2, with
//! snapshots, cursor reads, lapped writers and the reclamation of evicted values. Each writer
//! pushes once: at capacity 1 the second push evicts the first (under the reader, or lapping
//! it), at capacity 2 the reader meets a slot whose push is still in flight; larger models took
//! over a minute each. One model has no reader: `lapped` must count exactly the lapped pushes.
//!
//! loom explores every interleaving (up to `LOOM_MAX_PREEMPTIONS`) and every reordering the
//! C11 memory model allows. Every value lives in a loom `UnsafeCell`: a reader's clone that is
//! not ordered before the value's drop (a free before the grace period ends, a missing fence)
//! is reported as a causality violation, and so is a read of a node not yet published. The
//! main thread of each model only creates the log, spawns the roles and joins them; invariants
//! are asserted after the joins. Every model also counts its executions and fails if loom
//! explored only a trivial number of them.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_bounded_log`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use std::sync::Arc as StdArc;

use loom::sync::Arc;
use loom::thread;
use support::{DropLog, Tracked, explore};
use verisync::bounded_log::{BoundedLog, ReadSince};

/// Spawns two writers that push one value each, ids 0 and 1; they return the value's
/// sequence number.
fn spawn_writers(log: &Arc<BoundedLog<Tracked>>, drops: &DropLog) -> [thread::JoinHandle<u64>; 2] {
    [0, 1].map(|id| {
        let (log, drops) = (log.clone(), drops.clone());
        thread::spawn(move || log.push(drops.item(id)))
    })
}

/// The ids of `values`.
fn ids(values: &[Tracked]) -> Vec<usize> {
    values.iter().map(|value| value.id).collect()
}

/// Asserts that `ids` have consecutive sequence numbers, at most `capacity` of them.
fn assert_window(ids: &[usize], seq_of: &[u64], capacity: usize) {
    let seqs: Vec<u64> = ids.iter().map(|&id| seq_of[id]).collect();
    assert!(seqs.len() <= capacity, "window {seqs:?} over capacity");
    assert!(
        seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "window {seqs:?} not contiguous"
    );
}

/// After every push has returned: a snapshot is exactly the newest `capacity` items, and so is
/// `into_vec`.
fn assert_final_state(log: Arc<BoundedLog<Tracked>>, seq_of: &[u64], capacity: usize) {
    let log = Arc::try_unwrap(log).unwrap_or_else(|_| panic!("a role kept the log"));
    let total = seq_of.len() as u64;
    let expected: Vec<u64> = (total.saturating_sub(capacity as u64)..total).collect();
    let seqs = |values: &[Tracked]| ids(values).iter().map(|&id| seq_of[id]).collect::<Vec<_>>();
    assert_eq!(seqs(&log.snapshot()), expected, "final snapshot");
    assert_eq!(seqs(&log.into_vec()), expected, "into_vec");
}

/// Two writers push one value each (ids 0 and 1) while `read` runs on a reader thread; after
/// the joins, `check` gets its result and the sequence number of each id. Then the final state
/// must be exact and every value dropped exactly once.
fn writers_and_reader<R: Send + 'static>(
    capacity: usize,
    read: fn(&BoundedLog<Tracked>) -> R,
    check: impl FnOnce(R, &[u64]),
) {
    let drops = DropLog::new(2);
    let log = Arc::new(BoundedLog::new(capacity));
    let writers = spawn_writers(&log, &drops);
    let reader = {
        let log = log.clone();
        thread::spawn(move || read(&log))
    };
    let seq_of = writers.map(|writer| writer.join().unwrap());
    let mut tickets = seq_of;
    tickets.sort_unstable();
    assert_eq!(tickets, [0, 1], "tickets");
    check(reader.join().unwrap(), &seq_of);
    assert_final_state(log, &seq_of, capacity);
    drops.assert_all_dropped_once();
}

/// The reader takes one snapshot, which must be a contiguous window.
fn writers_and_snapshot(capacity: usize) {
    writers_and_reader(
        capacity,
        |log| ids(&log.snapshot()),
        |snapshot, seq_of| assert_window(&snapshot, seq_of, capacity),
    );
}

#[test]
fn writers_and_snapshot_capacity_1() {
    explore("writers_and_snapshot_capacity_1", 1000, || {
        writers_and_snapshot(1);
    });
}

#[test]
fn writers_and_snapshot_capacity_2() {
    explore("writers_and_snapshot_capacity_2", 1000, || {
        writers_and_snapshot(2);
    });
}

/// The reader reads with a cursor from 0; the read must account for every sequence number it
/// covered, as an item or a loss.
fn writers_and_cursor(capacity: usize) {
    writers_and_reader(
        capacity,
        |log| {
            let read = log.read_since(0);
            ReadSince {
                items: ids(&read.items),
                next: read.next,
                lost: read.lost,
            }
        },
        |read, seq_of| {
            assert_window(&read.items, seq_of, capacity);
            if let Some(&id) = read.items.first() {
                assert_eq!(seq_of[id], read.lost, "first item of {read:?}");
            }
            assert_eq!(read.lost + read.items.len() as u64, read.next, "{read:?}");
        },
    );
}

#[test]
fn writers_and_cursor_capacity_1() {
    explore("writers_and_cursor_capacity_1", 1000, || {
        writers_and_cursor(1);
    });
}

#[test]
fn writers_and_cursor_capacity_2() {
    explore("writers_and_cursor_capacity_2", 1000, || {
        writers_and_cursor(2);
    });
}

/// Dropping the log with values deferred for a reader that has just left: the values evicted
/// under the reader wait on the retired stack or in a batch, and the log's drop must free them.
#[test]
fn drop_frees_values_deferred_for_a_reader() {
    explore("drop_frees_values_deferred_for_a_reader", 100, || {
        let values = 3;
        let drops = DropLog::new(values);
        let log = Arc::new(BoundedLog::new(1));
        let writer = {
            let (log, drops) = (log.clone(), drops.clone());
            thread::spawn(move || {
                for id in 0..values {
                    log.push(drops.item(id));
                }
            })
        };
        let reader = {
            let log = log.clone();
            thread::spawn(move || log.snapshot().len())
        };
        writer.join().unwrap();
        assert!(reader.join().unwrap() <= 1);
        drop(log);
        drops.assert_all_dropped_once();
    });
}

/// Capacity 1, two writers and no reader: the push with ticket 0 is lapped exactly when it
/// installs after the push with ticket 1, and then it drops its own value at once, on its own
/// thread (with no reader pinned, a displaced node is freed by the push that displaced it).
/// `lapped` must count exactly those pushes.
#[test]
fn a_lapped_push_is_counted() {
    /// Records which thread dropped it.
    struct Marked {
        dropped_by: StdArc<std::sync::Mutex<Option<thread::ThreadId>>>,
    }
    impl Drop for Marked {
        fn drop(&mut self) {
            *self.dropped_by.lock().unwrap() = Some(thread::current().id());
        }
    }

    // Outside loom's view: whether some execution lapped, so the check below is not vacuous.
    static LAPPED_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    explore("a_lapped_push_is_counted", 5, || {
        let log = Arc::new(BoundedLog::new(1));
        let dropped_by = [0, 1].map(|_| StdArc::new(std::sync::Mutex::new(None)));
        let writers = dropped_by.clone().map(|dropped_by| {
            let log = log.clone();
            thread::spawn(move || {
                let seq = log.push(Marked { dropped_by });
                (seq, thread::current().id())
            })
        });
        let pushed = writers.map(|writer| writer.join().unwrap());
        // The value with ticket 0 and the thread that pushed it.
        let (first, &(_, first_pusher)) = pushed
            .iter()
            .enumerate()
            .find(|(_, (seq, _))| *seq == 0)
            .unwrap();
        let dropped_by_its_pusher = *dropped_by[first].lock().unwrap() == Some(first_pusher);
        assert_eq!(
            log.lapped(),
            u64::from(dropped_by_its_pusher),
            "lapped count"
        );
        if dropped_by_its_pusher {
            LAPPED_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(
        LAPPED_SEEN.load(std::sync::atomic::Ordering::Relaxed),
        "no execution lapped a push"
    );
}

/// The `InlineLog` models: two writers push one value each, `VALUE_BASE + id` for ids 0 and 1,
/// after writing `WRITTEN` into their own [`Written`] cell; a reader runs `read` meanwhile.
/// Every value a reader gets must be one that was pushed, with the sequence number it was
/// pushed with, and its writer's cell must read `WRITTEN` (loom reports the access if the
/// install did not happen before the reader's load). After the joins the log must hold exactly
/// the newest items.
mod inline {
    use super::*;
    use support::Written;
    use verisync::bounded_log::InlineLog;

    /// Values are `VALUE_BASE + id`, so that a value made of a slot's empty bits (0) or of
    /// no push at all is told from every pushed one.
    const VALUE_BASE: u64 = 100;
    /// What each writer writes into its cell before pushing.
    const WRITTEN: usize = 7;

    /// The id of a value a reader got; panics on a value never pushed.
    fn id_of(value: u64) -> usize {
        let id = value.wrapping_sub(VALUE_BASE);
        assert!(id < 2, "value {value} was never pushed");
        id as usize
    }

    /// The ids of `values`, each checked for a pushed value whose writer's cell is visible.
    fn ids_seen(values: &[u64], cells: &[Written; 2]) -> Vec<usize> {
        values
            .iter()
            .map(|&value| {
                let id = id_of(value);
                assert_eq!(cells[id].get(), WRITTEN, "value {value} before its cell");
                id
            })
            .collect()
    }

    fn writers_and_reader<R: Send + 'static>(
        capacity: usize,
        read: fn(&InlineLog<u64>, &[Written; 2]) -> R,
        check: impl FnOnce(R, &[u64]),
    ) {
        let log = Arc::new(InlineLog::new(capacity));
        let cells = Arc::new([Written::new(), Written::new()]);
        let writers = [0, 1].map(|id| {
            let (log, cells) = (log.clone(), cells.clone());
            thread::spawn(move || {
                cells[id].set(WRITTEN);
                log.push(VALUE_BASE + id as u64)
            })
        });
        let reader = {
            let (log, cells) = (log.clone(), cells.clone());
            thread::spawn(move || read(&log, &cells))
        };
        let seq_of = writers.map(|writer| writer.join().unwrap());
        check(reader.join().unwrap(), &seq_of);
        let log = Arc::try_unwrap(log).unwrap_or_else(|_| panic!("a role kept the log"));
        let expected: Vec<u64> = (2u64.saturating_sub(capacity as u64)..2).collect();
        let seqs = |values: Vec<u64>| -> Vec<u64> {
            values
                .into_iter()
                .map(|value| seq_of[id_of(value)])
                .collect()
        };
        assert_eq!(seqs(log.snapshot()), expected, "final snapshot");
        assert_eq!(seqs(log.into_vec()), expected, "into_vec");
    }

    /// The reader takes one snapshot: a contiguous window of pushed values, each visible with
    /// its writer's cell.
    fn writers_and_snapshot(capacity: usize) {
        writers_and_reader(
            capacity,
            |log, cells| ids_seen(&log.snapshot(), cells),
            |snapshot, seq_of| assert_window(&snapshot, seq_of, capacity),
        );
    }

    #[test]
    fn inline_writers_and_snapshot_capacity_1() {
        explore("inline_writers_and_snapshot_capacity_1", 100, || {
            writers_and_snapshot(1);
        });
    }

    #[test]
    fn inline_writers_and_snapshot_capacity_2() {
        explore("inline_writers_and_snapshot_capacity_2", 100, || {
            writers_and_snapshot(2);
        });
    }

    /// The reader reads with a cursor from 0: item `k` of the read must have sequence number
    /// `lost + k`, so a slot's word read under the wrong sequence number is caught even when
    /// the value is a pushed one.
    #[test]
    fn inline_writers_and_cursor_capacity_1() {
        explore("inline_writers_and_cursor_capacity_1", 100, || {
            writers_and_reader(
                1,
                |log, cells| {
                    let read = log.read_since(0);
                    (ids_seen(&read.items, cells), read.next, read.lost)
                },
                |(items, next, lost), seq_of| {
                    for (k, &id) in items.iter().enumerate() {
                        assert_eq!(seq_of[id], lost + k as u64, "item {k} of {items:?}");
                    }
                    assert_eq!(lost + items.len() as u64, next, "{items:?}, lost {lost}");
                },
            );
        });
    }

    /// Capacity 1, two writers and no reader: whichever order the pushes install in, the log
    /// ends holding the item with ticket 1, and at most the push with ticket 0 counts as
    /// lapped. Some execution must lap, and some not.
    #[test]
    fn inline_a_lapped_push_leaves_the_newer_item() {
        static LAPPED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        explore("inline_a_lapped_push_leaves_the_newer_item", 5, || {
            let log = Arc::new(InlineLog::new(1));
            let writers = [0u64, 1].map(|id| {
                let log = log.clone();
                thread::spawn(move || (log.push(VALUE_BASE + id), id))
            });
            let pushed = writers.map(|writer| writer.join().unwrap());
            let newer = pushed.iter().find(|(seq, _)| *seq == 1).unwrap().1;
            assert_eq!(
                log.snapshot(),
                [VALUE_BASE + newer],
                "the newer item was lost"
            );
            let lapped = log.lapped();
            assert!(lapped <= 1, "lapped {lapped}");
            LAPPED.fetch_or(1 << lapped, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(
            LAPPED.load(std::sync::atomic::Ordering::Relaxed),
            0b11,
            "not every execution lapped, and not every one installed in ticket order"
        );
    }
}
