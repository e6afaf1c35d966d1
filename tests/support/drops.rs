//! The test suites' one drop-counting value: a [`DropLog`] counts, by id, how often each value
//! made from it was dropped, and a [`Tracked`] is such a value. Included by every support
//! module and by the suites that use no other support.
//!
//! The counters are std atomics in every build: they only count, and never order the threads
//! under test, so loom and shuttle neither see nor need them.
#![allow(dead_code, reason = "each suite uses part of it")]

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Counts how often each of a fixed set of values was dropped.
#[derive(Clone)]
pub struct DropLog(Arc<[Counts]>);

/// One id's counts.
struct Counts {
    /// Values made with the id ([`DropLog::item`]).
    made: AtomicU32,
    dropped: AtomicU32,
}

impl DropLog {
    /// A log for values with ids `0..values`.
    pub fn new(values: usize) -> Self {
        Self(
            (0..values)
                .map(|_| Counts {
                    made: AtomicU32::new(0),
                    dropped: AtomicU32::new(0),
                })
                .collect(),
        )
    }

    /// Makes the value with `id`.
    pub fn item(&self, id: usize) -> Tracked {
        assert!(id < self.0.len(), "id {id} out of the log's range");
        self.0[id].made.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            log: Some(self.clone()),
            original: true,
        }
    }

    /// How many times the value with `id` was dropped so far.
    pub fn drops(&self, id: usize) -> u32 {
        self.0[id].dropped.load(Ordering::SeqCst)
    }

    /// How many times each value was dropped so far, by id.
    pub fn counts(&self) -> Vec<u32> {
        (0..self.0.len()).map(|id| self.drops(id)).collect()
    }

    /// Asserts that the values `ids` were each dropped exactly once (others may have been).
    #[track_caller]
    pub fn assert_dropped_once(&self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            let drops = self.drops(id);
            assert_eq!(drops, 1, "value {id} dropped {drops} times");
        }
    }

    /// Asserts that the values `ids` were each dropped exactly once and the others never.
    #[track_caller]
    pub fn assert_only_dropped_once(&self, ids: impl IntoIterator<Item = usize>) {
        let mut expected = vec![0; self.0.len()];
        for id in ids {
            expected[id] = 1;
        }
        assert_eq!(self.counts(), expected, "drop counts by id");
    }

    /// Asserts that of the values made so far (ids `0..made`), exactly those in `alive` were
    /// never dropped and every other was dropped exactly once: nothing leaked, nothing dropped
    /// early or twice. The sequential model checks call it after every step.
    #[track_caller]
    pub fn assert_alive_exactly(&self, made: usize, alive: impl IntoIterator<Item = usize>) {
        let mut expected: Vec<u32> = (0..self.0.len()).map(|id| u32::from(id < made)).collect();
        for id in alive {
            assert!(id < made, "value {id} expected alive but never made");
            expected[id] = 0;
        }
        assert_eq!(self.counts(), expected, "drop counts by id (0 = alive)");
    }

    /// Asserts that every value of the log was dropped exactly once.
    #[track_caller]
    pub fn assert_all_dropped_once(&self) {
        self.assert_all_dropped_once_after("");
    }

    /// Asserts that every value of the log was dropped exactly once; `context` (the schedule,
    /// the case) goes into the failure message.
    #[track_caller]
    pub fn assert_all_dropped_once_after(&self, context: &str) {
        for (id, drops) in self.counts().into_iter().enumerate() {
            assert_eq!(drops, 1, "value {id} dropped {drops} times {context}");
        }
    }
}

/// A value with an id that records its drop in a [`DropLog`]. A clone records nothing: the
/// primitives that hand out clones (snapshots) are checked for dropping each original once.
pub struct Tracked {
    pub id: usize,
    /// `Some` until the value is dropped (see its `Drop`).
    log: Option<DropLog>,
    original: bool,
}

impl Tracked {
    /// The log this value records its drop in.
    pub fn log(&self) -> &DropLog {
        self.log
            .as_ref()
            .expect("a value has its log until it is dropped")
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            log: self.log.clone(),
            original: false,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let Some(log) = self.log.take() else {
            return;
        };
        if !self.original {
            return;
        }
        let counts = &log.0[self.id];
        let dropped = counts.dropped.fetch_add(1, Ordering::SeqCst) + 1;
        if dropped > counts.made.load(Ordering::SeqCst) {
            // More drops than values made with this id: a seeded bug handed out a bitwise copy
            // of a value. The copy dropped first released that value's reference to the log;
            // releasing it again would free the log under the other values and corrupt the
            // heap (an abort, not a failed check) before the suite's drop counts report the
            // bug. So not again.
            std::mem::forget(log);
        }
    }
}

impl fmt::Display for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value {}", self.id)
    }
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}
