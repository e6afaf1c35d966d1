//! Fuzz target for `verisync::spsc`: the input bytes become a channel capacity (1..=16) and a
//! sequence of operations on its two endpoints, run on one thread; every result is compared with
//! a `VecDeque` model, and a live-set tracker checks that every value is dropped exactly once
//! and that the values alive are exactly the ones the model says are buffered.
//!
//! ```text
//! cargo +nightly fuzz run spsc -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits) and which endpoint is dropped first at
//! the end (bit 4); then every pair of bytes is one operation: the low 4 bits of the first byte
//! name it ([`Op::decode`]), its high 4 bits and the second byte are its parameters. Blocking
//! operations are only issued when the model says they return at once, or with a zero timeout.

#![no_main]

#[path = "../support/live.rs"]
mod live;

use std::collections::VecDeque;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use live::{Item, assert_live};
use verisync::spsc::{
    self, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

/// One operation, decoded from two bytes.
#[derive(Debug, Clone, Copy)]
enum Op {
    TrySend,
    /// `count` `try_send`s in a row (reaches the full states quickly).
    TrySendBurst {
        count: usize,
    },
    TryRecv,
    /// `write_chunk(max)`, `fill_from_iter` with `offer` values, then one `push` if `push`.
    WriteChunk {
        max: usize,
        offer: usize,
        push: bool,
    },
    /// `read_chunk(max)`, then `take` values from it (or all of them, if `all`).
    ReadChunk {
        max: usize,
        take: usize,
        all: bool,
    },
    Peek,
    Observe,
    DropSender,
    DropReceiver,
    /// `send`; with a zero timeout instead when the buffer is full (it would block).
    Send,
    /// `send_timeout` with a zero timeout.
    SendTimeout,
    /// `recv`; with a zero timeout instead when nothing can arrive (it would block).
    Recv,
    /// `recv_timeout` with a zero timeout.
    RecvTimeout,
    TryIter,
    /// `iter()`: everything once the sender is gone, else only the buffered values.
    Iter,
    /// `into_iter()` once the sender is gone (consumes the receiver); else like `TryIter`.
    IntoIter,
}

impl Op {
    fn decode(code: u8, arg: u8) -> Op {
        let high = usize::from(code >> 4);
        // Chunk sizes run past the largest capacity, so "more than fits" is covered.
        let max = usize::from(arg & 0x7f) % 18;
        let flag = arg & 0x80 != 0;
        match code & 0x0f {
            0 => Op::TrySend,
            1 => Op::TrySendBurst {
                count: usize::from(arg) % 18,
            },
            2 => Op::TryRecv,
            3 => Op::WriteChunk {
                max,
                offer: high,
                push: flag,
            },
            4 => Op::ReadChunk {
                max,
                take: high,
                all: flag,
            },
            5 => Op::Peek,
            6 => Op::Observe,
            7 => Op::DropSender,
            8 => Op::DropReceiver,
            9 => Op::Send,
            10 => Op::SendTimeout,
            11 => Op::Recv,
            12 => Op::RecvTimeout,
            13 => Op::TryIter,
            14 => Op::Iter,
            _ => Op::IntoIter,
        }
    }
}

/// The channel under test next to its model.
struct Harness {
    capacity: usize,
    tx: Option<Sender<Item>>,
    rx: Option<Receiver<Item>>,
    /// Ids of the buffered values, oldest first.
    model: VecDeque<u64>,
    next_id: u64,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        let (tx, rx) = spsc::channel(capacity);
        Harness {
            capacity,
            tx: Some(tx),
            rx: Some(rx),
            model: VecDeque::new(),
            next_id: 0,
        }
    }

    fn fresh(&mut self) -> Item {
        self.next_id += 1;
        Item::new(self.next_id)
    }

    fn is_full(&self) -> bool {
        self.model.len() == self.capacity
    }

    /// The model's view of the values a receive must return, oldest first.
    fn expect_received(&mut self, item: &Item) {
        assert_eq!(Some(item.0), self.model.pop_front(), "FIFO order broken");
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::TrySend => self.try_send(),
            Op::TrySendBurst { count } => (0..count).for_each(|_| self.try_send()),
            Op::TryRecv => self.try_recv(),
            Op::WriteChunk { max, offer, push } => self.write_chunk(max, offer, push),
            Op::ReadChunk { max, take, all } => self.read_chunk(max, take, all),
            Op::Peek => {
                let front = self.model.front().copied();
                if let Some(rx) = &mut self.rx {
                    assert_eq!(rx.peek().map(|item| item.0), front);
                }
            }
            Op::Observe => self.observe(),
            Op::DropSender => self.tx = None,
            Op::DropReceiver => self.rx = None,
            Op::Send => self.send(false),
            Op::SendTimeout => self.send(true),
            Op::Recv => self.recv(false),
            Op::RecvTimeout => self.recv(true),
            Op::TryIter => {
                if let Some(rx) = &self.rx {
                    let got: Vec<u64> = rx.try_iter().map(|item| item.0).collect();
                    assert_eq!(got, self.model.drain(..).collect::<Vec<_>>());
                }
            }
            Op::Iter => {
                if let Some(rx) = &self.rx {
                    // Without a sender `iter` ends by itself; with one, stop before it blocks.
                    let limit = if self.tx.is_none() {
                        usize::MAX
                    } else {
                        self.model.len()
                    };
                    let got: Vec<u64> = rx.iter().take(limit).map(|item| item.0).collect();
                    assert_eq!(got, self.model.drain(..).collect::<Vec<_>>());
                }
            }
            Op::IntoIter => {
                if self.tx.is_none() {
                    if let Some(rx) = self.rx.take() {
                        let got: Vec<u64> = rx.into_iter().map(|item| item.0).collect();
                        assert_eq!(got, self.model.drain(..).collect::<Vec<_>>());
                    }
                } else {
                    self.apply(Op::TryIter);
                }
            }
        }
        if self.rx.is_none() {
            // The receiver is gone: what was buffered died with it (std semantics).
            self.model.clear();
        }
        self.check_live();
    }

    fn try_send(&mut self) {
        if self.tx.is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let result = self.tx.as_ref().expect("checked above").try_send(item);
        match result {
            Ok(()) => {
                assert!(self.rx.is_some() && !self.is_full(), "try_send succeeded");
                self.model.push_back(id);
            }
            Err(TrySendError::Disconnected(back)) => {
                assert!(self.rx.is_none(), "spurious Disconnected");
                assert_eq!(back.0, id);
            }
            Err(TrySendError::Full(back)) => {
                assert!(self.rx.is_some() && self.is_full(), "spurious Full");
                assert_eq!(back.0, id);
            }
        }
    }

    fn try_recv(&mut self) {
        let Some(rx) = &self.rx else { return };
        match rx.try_recv() {
            Ok(item) => self.expect_received(&item),
            Err(TryRecvError::Empty) => {
                assert!(self.model.is_empty() && self.tx.is_some(), "spurious Empty");
            }
            Err(TryRecvError::Disconnected) => {
                assert!(
                    self.model.is_empty() && self.tx.is_none(),
                    "spurious Disconnected"
                );
            }
        }
    }

    fn write_chunk(&mut self, max: usize, offer: usize, push: bool) {
        let free = self.capacity - self.model.len();
        let first = self.next_id + 1;
        let Some(tx) = &mut self.tx else { return };
        let mut chunk = tx.write_chunk(max);
        // Empty once the receiver is gone: nobody would receive the values.
        let granted = if self.rx.is_none() { 0 } else { max.min(free) };
        assert_eq!(chunk.len(), granted, "write_chunk({max}) with {free} free");
        assert_eq!(chunk.is_empty(), granted == 0);
        let mut values = (0..offer as u64).map(|k| Item::new(first + k));
        let filled = chunk.fill_from_iter(&mut values);
        assert_eq!(filled, offer.min(granted), "fill_from_iter");
        assert_eq!(chunk.len(), granted - filled);
        // Values the chunk had no room for are still in the iterator, unconsumed.
        let left: Vec<u64> = values.map(|item| item.0).collect();
        assert_eq!(
            left,
            (first + filled as u64..first + offer as u64).collect::<Vec<_>>()
        );
        let mut written = filled;
        if push {
            let id = first + offer as u64;
            match chunk.push(Item::new(id)) {
                Ok(()) => {
                    assert!(granted > filled, "push past the chunk");
                    written += 1;
                }
                Err(back) => {
                    assert_eq!(granted, filled, "push refused with room left");
                    assert_eq!(back.0, id);
                }
            }
        }
        drop(chunk);
        self.next_id = first + offer as u64;
        // The ids written are the first `filled` offered ones, then the pushed one.
        let ids = (first..first + filled as u64).chain((written > filled).then_some(self.next_id));
        self.model.extend(ids);
    }

    fn read_chunk(&mut self, max: usize, take: usize, all: bool) {
        let Some(rx) = &mut self.rx else { return };
        let buffered = self.model.len();
        let mut chunk = rx.read_chunk(max);
        let granted = max.min(buffered);
        assert_eq!(
            chunk.len(),
            granted,
            "read_chunk({max}) with {buffered} buffered"
        );
        let take = if all { usize::MAX } else { take };
        let got: Vec<u64> = chunk.by_ref().take(take).map(|item| item.0).collect();
        assert_eq!(got.len(), take.min(granted));
        assert_eq!(
            chunk.size_hint(),
            (granted - got.len(), Some(granted - got.len()))
        );
        if got.len() == granted {
            assert!(chunk.next().is_none(), "chunk yielded past its length");
        }
        drop(chunk);
        let expected: Vec<u64> = self.model.drain(..got.len()).collect();
        assert_eq!(got, expected, "read_chunk order");
    }

    fn observe(&self) {
        let len = self.model.len();
        if let Some(rx) = &self.rx {
            assert_eq!(rx.len(), len);
            assert_eq!(rx.is_empty(), len == 0);
            assert_eq!(rx.capacity(), self.capacity);
            assert_eq!(rx.is_disconnected(), self.tx.is_none());
        }
        if let Some(tx) = &self.tx {
            assert_eq!(tx.slots(), self.capacity - len);
            assert_eq!(tx.is_full(), len == self.capacity);
            assert_eq!(tx.capacity(), self.capacity);
            assert_eq!(tx.is_disconnected(), self.rx.is_none());
        }
    }

    fn send(&mut self, always_timeout: bool) {
        if self.tx.is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let (gone, full) = (self.rx.is_none(), self.is_full());
        let tx = self.tx.as_ref().expect("checked above");
        if always_timeout || full {
            match tx.send_timeout(item, Duration::ZERO) {
                Ok(()) => assert!(!gone && !full, "send_timeout succeeded"),
                Err(SendTimeoutError::Timeout(back)) => {
                    assert!(!gone && full, "spurious Timeout");
                    assert_eq!(back.0, id);
                }
                Err(SendTimeoutError::Disconnected(back)) => {
                    assert!(gone, "spurious Disconnected");
                    assert_eq!(back.0, id);
                }
            }
        } else {
            match tx.send(item) {
                Ok(()) => assert!(!gone, "send succeeded"),
                Err(SendError(back)) => {
                    assert!(gone, "spurious SendError");
                    assert_eq!(back.0, id);
                }
            }
        }
        if !gone && !full {
            self.model.push_back(id);
        }
    }

    fn recv(&mut self, always_timeout: bool) {
        let Some(rx) = &self.rx else { return };
        let (empty, gone) = (self.model.is_empty(), self.tx.is_none());
        if always_timeout || (empty && !gone) {
            match rx.recv_timeout(Duration::ZERO) {
                Ok(item) => self.expect_received(&item),
                Err(RecvTimeoutError::Timeout) => assert!(empty && !gone, "spurious Timeout"),
                Err(RecvTimeoutError::Disconnected) => {
                    assert!(empty && gone, "spurious Disconnected");
                }
            }
        } else {
            match rx.recv() {
                Ok(item) => self.expect_received(&item),
                Err(RecvError) => assert!(empty && gone, "spurious RecvError"),
            }
        }
    }

    /// The values alive are exactly the buffered ones: nothing leaked, nothing dropped early.
    fn check_live(&self) {
        assert_live(self.model.iter().copied());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, ops)) = data.split_first() else {
        return;
    };
    live::reset();
    let mut harness = Harness::new(usize::from(setup & 0x0f) + 1);
    for pair in ops.chunks_exact(2) {
        harness.apply(Op::decode(pair[0], pair[1]));
    }
    if setup & 0x10 != 0 {
        harness.apply(Op::DropReceiver);
    }
    harness.apply(Op::DropSender);
    harness.apply(Op::DropReceiver);
    assert_live([]);
});
