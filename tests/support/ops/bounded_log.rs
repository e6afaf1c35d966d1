//! The operations of `verisync::bounded_log` on one thread and the sequential model they are
//! checked against (the sequence numbers a log of that capacity retains): shared by the
//! proptest suite (`tests/model_bounded_log.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/bounded_log.rs`), which both decode [`Op`]s from bytes, so that both
//! check the same things in the same way.
//!
//! Every operation runs on a `BoundedLog` of [`Tracked`] values and an `InlineLog` of `u64`
//! side by side, a value made from its sequence number; the inline log reads through
//! `snapshot_into` and `read_since_into`, into buffers that already hold something. After every
//! step the values alive must be exactly the retained ones (the clones a read hands out record
//! no drop); at the end, after `into_vec` or a drop, every value must be dropped exactly once.

use std::collections::VecDeque;

use verisync::bounded_log::{BoundedLog, InlineLog, Progress};

#[path = "../drops.rs"]
mod drops;

use drops::{DropLog, Tracked};

/// One step.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// This many pushes in a row.
    Push(u64),
    /// `snapshot` (`snapshot_into` on the inline log).
    Snapshot,
    /// `read_since(total_pushed - back)`, saturating; a negative `back` reads from the future.
    ReadSince(i64),
    /// `len`, `is_empty`, `total_pushed`, `capacity` and `lapped`.
    Observe,
    /// `clear`.
    Clear,
}

impl Op {
    /// The operation a byte names: the low 3 bits pick it, the high 5 bits are its parameter
    /// (a burst of 0..=31 pushes, or how far back a read starts, -4..=27). Single pushes are the
    /// most common step, clears the rarest.
    pub fn decode(byte: u8) -> Self {
        let parameter = byte >> 3;
        match byte & 0x07 {
            0 | 1 => Op::Push(1),
            2 => Op::Push(u64::from(parameter)),
            3 => Op::Snapshot,
            4 | 5 => Op::ReadSince(i64::from(parameter) - 4),
            6 => Op::Observe,
            _ if parameter.is_multiple_of(2) => Op::Clear,
            _ => Op::Push(1),
        }
    }

    /// How many values this step pushes.
    fn pushes(&self) -> u64 {
        match *self {
            Op::Push(count) => count,
            _ => 0,
        }
    }
}

/// The sequence numbers a log of `capacity` retains, oldest first.
struct Model {
    capacity: usize,
    retained: VecDeque<u64>,
    total: u64,
    cleared_at: u64,
}

impl Model {
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

    /// What `read_since(from)` must return: the items' sequence numbers, and the progress.
    fn read_since(&self, from: u64) -> (Vec<u64>, Progress) {
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

    /// What a log must report: `(len, is_empty, total_pushed, capacity, lapped)`.
    fn observed(&self) -> (usize, bool, u64, usize, u64) {
        let len = self.retained.len();
        (len, len == 0, self.total, self.capacity, 0)
    }

    /// Asserts that of the values pushed so far, exactly the retained ones are alive.
    fn assert_alive(&self, drops: &DropLog) {
        let retained = self.retained.iter().map(|&seq| seq as usize);
        drops.assert_alive_exactly(self.total as usize, retained);
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

/// The sequence numbers the values `items` were made from.
fn seqs(items: &[Tracked]) -> Vec<u64> {
    items.iter().map(|item| item.id as u64).collect()
}

/// Runs `ops` on both logs of `capacity` and on the model, then ends the logs with `into_vec`
/// if `take_all`, else drops them; panics at the first difference.
pub fn run(capacity: usize, take_all: bool, ops: &[Op]) {
    let drops = DropLog::new(ops.iter().map(Op::pushes).sum::<u64>() as usize);
    let mut log = BoundedLog::new(capacity);
    let mut inline = InlineLog::new(capacity);
    let mut snapshot = vec![u64::MAX];
    let mut model = Model {
        capacity,
        retained: VecDeque::new(),
        total: 0,
        cleared_at: 0,
    };
    for &op in ops {
        match op {
            Op::Push(count) => {
                for _ in 0..count {
                    let seq = model.push();
                    assert_eq!(log.push(drops.item(seq as usize)), seq, "sequence number");
                    assert_eq!(inline.push(seq), seq, "inline sequence number");
                }
            }
            Op::Snapshot => {
                assert_eq!(seqs(&log.snapshot()), model.snapshot(), "snapshot");
                inline.snapshot_into(&mut snapshot);
                assert_eq!(snapshot, model.snapshot(), "inline snapshot_into");
            }
            Op::ReadSince(back) => {
                let from = model.read_from(back);
                let (expected, progress) = model.read_since(from);
                let read = log.read_since(from);
                assert_eq!(seqs(&read.items), expected, "read_since({from})");
                assert_eq!(
                    (read.next, read.lost),
                    (progress.next, progress.lost),
                    "{op:?}"
                );
                let mut items = vec![u64::MAX];
                assert_eq!(inline.read_since_into(from, &mut items), progress, "{op:?}");
                assert_eq!(
                    items[0],
                    u64::MAX,
                    "read_since_into kept the buffer's contents"
                );
                assert_eq!(items[1..], expected, "inline read_since_into({from})");
            }
            Op::Observe => {
                assert_eq!(observed!(log), model.observed(), "observed");
                assert_eq!(observed!(inline), model.observed(), "inline observed");
            }
            Op::Clear => {
                log.clear();
                inline.clear();
                model.clear();
            }
        }
        model.assert_alive(&drops);
    }
    if take_all {
        assert_eq!(seqs(&log.into_vec()), model.snapshot(), "into_vec");
        assert_eq!(inline.into_vec(), model.snapshot(), "inline into_vec");
    } else {
        drop((log, inline));
    }
    drops.assert_all_dropped_once();
}
