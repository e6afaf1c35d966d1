//! The bounded log's reader checks, shared by its behaviour, shuttle and model tests (each
//! includes this file with `#[path]`): given which sequence number every pushed value got,
//! a snapshot must be a contiguous, in-order window of at most `capacity` items, and a cursor
//! read must account for every sequence number it was asked about, as an item or as a loss.
//!
//! Values are unique `u64` ids; the writers record the sequence number each push returned.
//! [`U64Log`] is what these tests need of a log of `u64`s, given by both logs.

#![allow(dead_code, reason = "each test file uses the checks it needs")]

use std::collections::HashMap;

use verisync::bounded_log::{BoundedLog, InlineLog, ReadSince};

/// The sequence number each pushed value got.
#[derive(Default)]
pub struct Pushed {
    seq_of: HashMap<u64, u64>,
}

impl Pushed {
    /// Records that `value` was pushed with sequence number `seq`.
    pub fn record(&mut self, value: u64, seq: u64) {
        assert!(
            self.seq_of.insert(value, seq).is_none(),
            "value {value} pushed twice"
        );
    }

    /// The sequence numbers of `values`, or an error naming a value that was never pushed.
    pub fn seqs(&self, values: &[u64]) -> Result<Vec<u64>, String> {
        values
            .iter()
            .map(|value| {
                self.seq_of
                    .get(value)
                    .copied()
                    .ok_or_else(|| format!("value {value} was never pushed"))
            })
            .collect()
    }

    /// Checks that `snapshot` holds at most `capacity` values with consecutive sequence numbers.
    pub fn check_snapshot(&self, snapshot: &[u64], capacity: usize) -> Result<(), String> {
        let seqs = self.seqs(snapshot)?;
        if seqs.len() > capacity {
            return Err(format!(
                "snapshot of {} items from a log of capacity {capacity}: {seqs:?}",
                seqs.len()
            ));
        }
        check_consecutive(&seqs).map_err(|err| format!("snapshot {seqs:?}: {err}"))
    }

    /// Checks that `read`, the answer to `read_since(from)`, holds consecutive sequence numbers
    /// from `from + lost` to `next - 1`.
    pub fn check_read(&self, from: u64, read: &ReadSince<u64>) -> Result<(), String> {
        let seqs = self.seqs(&read.items)?;
        let context = || {
            format!(
                "read_since({from}) = items {seqs:?}, next {}, lost {}",
                read.next, read.lost
            )
        };
        check_consecutive(&seqs).map_err(|err| format!("{}: {err}", context()))?;
        if from + read.lost + seqs.len() as u64 != read.next {
            return Err(format!("{}: from + lost + items != next", context()));
        }
        if let Some(&first) = seqs.first()
            && first != from + read.lost
        {
            return Err(format!("{}: first item is not from + lost", context()));
        }
        Ok(())
    }
}

/// Whether every sequence number is one more than the one before.
fn check_consecutive(seqs: &[u64]) -> Result<(), String> {
    match seqs.windows(2).find(|pair| pair[1] != pair[0] + 1) {
        Some(pair) => Err(format!("{} follows {}", pair[1], pair[0])),
        None => Ok(()),
    }
}

/// What the concurrent checks need of a log of `u64`s: both logs give it.
pub trait U64Log: Sync {
    fn make(capacity: usize) -> Self;
    fn push(&self, value: u64) -> u64;
    fn snapshot(&self) -> Vec<u64>;
    fn read_since(&self, seq: u64) -> ReadSince<u64>;
    fn total_pushed(&self) -> u64;
    fn lapped(&self) -> u64;
    fn into_vec(self) -> Vec<u64>;
}

/// Implements [`U64Log`] for a log type by forwarding to its own methods.
macro_rules! u64_log {
    ($log:ident) => {
        impl U64Log for $log<u64> {
            fn make(capacity: usize) -> Self {
                $log::new(capacity)
            }
            fn push(&self, value: u64) -> u64 {
                $log::push(self, value)
            }
            fn snapshot(&self) -> Vec<u64> {
                $log::snapshot(self)
            }
            fn read_since(&self, seq: u64) -> ReadSince<u64> {
                $log::read_since(self, seq)
            }
            fn total_pushed(&self) -> u64 {
                $log::total_pushed(self)
            }
            fn lapped(&self) -> u64 {
                $log::lapped(self)
            }
            fn into_vec(self) -> Vec<u64> {
                $log::into_vec(self)
            }
        }
    };
}
u64_log!(BoundedLog);
u64_log!(InlineLog);
