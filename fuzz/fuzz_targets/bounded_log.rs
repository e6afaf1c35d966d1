//! Fuzz target for `verisync::bounded_log`: the input bytes become a log capacity (1..=16) and a
//! sequence of operations run on one thread, on a `BoundedLog` and an `InlineLog` side by side;
//! every result of both is compared with a `VecDeque` model truncated to the capacity, and a
//! live-set tracker checks that every `BoundedLog` value is dropped exactly once and that the
//! values alive are exactly the retained ones (plus the clones a read still holds, which the
//! tracker does not count). The `InlineLog` reads go through `snapshot_into` and
//! `read_since_into` with buffers kept across operations.
//!
//! ```text
//! cargo +nightly fuzz run bounded_log -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits) and whether the log ends with
//! `into_vec` (bit 4) or a drop; then every pair of bytes is one operation: the low 3 bits of
//! the first byte name it ([`Op::decode`]), the second byte is its parameter.

#![no_main]

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};

use libfuzzer_sys::fuzz_target;
use verisync::bounded_log::{BoundedLog, InlineLog, Progress};

thread_local! {
    /// Ids of the original [`Item`]s alive right now (clones are not tracked).
    static LIVE: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
}

/// A value that registers itself in [`LIVE`] when created and unregisters when dropped, so a
/// double drop or a leak is caught; its clones only carry the id.
#[derive(Debug)]
struct Item {
    id: u64,
    original: bool,
}

impl Item {
    fn new(id: u64) -> Self {
        LIVE.with(|live| assert!(live.borrow_mut().insert(id), "item {id} created twice"));
        Item { id, original: true }
    }
}

impl Clone for Item {
    fn clone(&self) -> Self {
        Item {
            id: self.id,
            original: false,
        }
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        if self.original {
            let id = self.id;
            LIVE.with(|live| assert!(live.borrow_mut().remove(&id), "item {id} dropped twice"));
        }
    }
}

/// One operation, decoded from two bytes.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `count` pushes in a row.
    Push {
        count: u64,
    },
    Snapshot,
    /// `read_since(total_pushed - back)`, saturating; some `back`s are in the future.
    ReadSince {
        back: i64,
    },
    Observe,
    Clear,
}

impl Op {
    fn decode(code: u8, arg: u8) -> Op {
        match code & 0x07 {
            0..=2 => Op::Push {
                count: u64::from(arg % 40),
            },
            3 => Op::Snapshot,
            4 | 5 => Op::ReadSince {
                back: i64::from(arg % 48) - 4,
            },
            6 => Op::Observe,
            _ => Op::Clear,
        }
    }
}

/// The log under test next to its model.
struct Harness {
    capacity: usize,
    log: BoundedLog<Item>,
    /// The same operations with the ids as values.
    inline: InlineLog<u64>,
    /// `inline`'s snapshot buffer, reused by every snapshot.
    snapshot: Vec<u64>,
    /// Ids of the retained values, oldest first; an id is its sequence number.
    model: VecDeque<u64>,
    total: u64,
    cleared_at: u64,
}

impl Harness {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Push { count } => {
                for _ in 0..count {
                    let seq = self.log.push(Item::new(self.total));
                    assert_eq!(seq, self.total, "sequence number");
                    assert_eq!(self.inline.push(self.total), seq, "inline sequence number");
                    self.total += 1;
                    self.model.push_back(seq);
                    if self.model.len() > self.capacity {
                        self.model.pop_front();
                    }
                }
            }
            Op::Snapshot => {
                let got: Vec<u64> = self.log.snapshot().iter().map(|item| item.id).collect();
                assert!(
                    got.iter().eq(self.model.iter()),
                    "snapshot {got:?} != {:?}",
                    self.model
                );
                self.inline.snapshot_into(&mut self.snapshot);
                assert!(
                    self.snapshot.iter().eq(self.model.iter()),
                    "inline snapshot {:?} != {:?}",
                    self.snapshot,
                    self.model
                );
            }
            Op::ReadSince { back } => {
                let from = self.total.saturating_add_signed(-back);
                let read = self.log.read_since(from);
                let oldest = self
                    .total
                    .saturating_sub(self.capacity as u64)
                    .max(self.cleared_at);
                let first = from.max(oldest);
                let got: Vec<u64> = read.items.iter().map(|item| item.id).collect();
                let expected: Vec<u64> = (first..self.total.max(first)).collect();
                assert_eq!(got, expected);
                assert_eq!(read.next, self.total.max(from), "next");
                assert_eq!(read.lost, first - from, "lost");
                // Appends after what the buffer already holds.
                let mut items = vec![u64::MAX];
                let progress = self.inline.read_since_into(from, &mut items);
                assert_eq!(items[0], u64::MAX, "inline read_since_into kept the buffer");
                assert_eq!(items[1..], expected, "inline read");
                let Progress { next, lost } = progress;
                assert_eq!((next, lost), (read.next, read.lost), "inline progress");
            }
            Op::Observe => {
                assert_eq!(self.log.len(), self.model.len());
                assert_eq!(self.log.is_empty(), self.model.is_empty());
                assert_eq!(self.log.capacity(), self.capacity);
                assert_eq!(self.log.total_pushed(), self.total);
                assert_eq!(self.log.lapped(), 0);
                assert_eq!(self.inline.len(), self.model.len());
                assert_eq!(self.inline.is_empty(), self.model.is_empty());
                assert_eq!(self.inline.capacity(), self.capacity);
                assert_eq!(self.inline.total_pushed(), self.total);
                assert_eq!(self.inline.lapped(), 0);
            }
            Op::Clear => {
                self.log.clear();
                self.inline.clear();
                self.model.clear();
                self.cleared_at = self.total;
            }
        }
        self.check_live();
    }

    /// The originals alive are exactly the retained values: nothing leaked or dropped early.
    fn check_live(&self) {
        LIVE.with(|live| {
            let live = live.borrow();
            assert!(
                live.iter().eq(self.model.iter()),
                "live {live:?} != model {:?}",
                self.model
            );
        });
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, ops)) = data.split_first() else {
        return;
    };
    LIVE.with(|live| live.borrow_mut().clear());
    let capacity = usize::from(setup & 0x0f) + 1;
    let mut harness = Harness {
        capacity,
        log: BoundedLog::new(capacity),
        inline: InlineLog::new(capacity),
        snapshot: Vec::new(),
        model: VecDeque::new(),
        total: 0,
        cleared_at: 0,
    };
    for pair in ops.chunks_exact(2) {
        harness.apply(Op::decode(pair[0], pair[1]));
    }
    let Harness {
        log, inline, model, ..
    } = harness;
    let inline = inline.into_vec();
    assert!(
        inline.iter().eq(model.iter()),
        "inline into_vec {inline:?} != {model:?}"
    );
    if setup & 0x10 != 0 {
        let got: Vec<u64> = log.into_vec().iter().map(|item| item.id).collect();
        assert!(got.iter().eq(model.iter()), "into_vec {got:?} != {model:?}");
    } else {
        drop(log);
    }
    LIVE.with(|live| assert!(live.borrow().is_empty(), "values leaked"));
});
