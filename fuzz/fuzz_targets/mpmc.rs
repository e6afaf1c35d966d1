//! Fuzz target for `verisync::mpmc`: the input bytes become a capacity (1..=16), shared by a
//! `Queue` and a channel, and a sequence of operations on the queue and on the channel's
//! endpoints (any number of sender and receiver clones, each of which may be dropped), run on one
//! thread. Every result is compared with a `VecDeque` model per structure, and a live-set
//! tracker checks that every value is dropped exactly once and that the values alive are exactly
//! the ones the models say are buffered, plus the received ones the harness still holds.
//!
//! ```text
//! cargo +nightly fuzz run mpmc -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits) and, at the end, whether the receivers
//! are dropped before the senders (bit 4) and whether the queue is dropped before the channel
//! (bit 5); then every pair of bytes is one operation: the first byte names it ([`Op::decode`]:
//! low 5 bits), its high 3 bits pick an endpoint, the second byte is a count. Blocking
//! operations are only issued when the model says they return at once; otherwise they run with
//! a zero timeout, or are trimmed to what fits.

#![no_main]

#[path = "../support/live.rs"]
mod live;

use std::collections::VecDeque;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use live::{Item, assert_live};
use verisync::mpmc::{
    self, Queue, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError,
};

/// The endpoint `end` picks (modulo their number), if there is any left.
fn pick<E>(endpoints: &[E], end: usize) -> Option<&E> {
    endpoints.get(end % endpoints.len().max(1))
}

fn ids(items: &[Item]) -> Vec<u64> {
    items.iter().map(|item| item.0).collect()
}

/// One operation, decoded from two bytes. `end` picks a sender or receiver (modulo how many
/// there are); `count` is a number of values.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `count` `Queue::push`es in a row.
    Push {
        count: usize,
    },
    /// `count` `Queue::pop`s in a row.
    Pop {
        count: usize,
    },
    /// `count` `Queue::force_push`es in a row.
    ForcePush {
        count: usize,
    },
    /// `len`, `is_empty`, `is_full` and `capacity` of the queue.
    ObserveQueue,
    /// `count` `try_send`s in a row.
    TrySend {
        end: usize,
        count: usize,
    },
    /// `count` `try_recv`s in a row.
    TryRecv {
        end: usize,
        count: usize,
    },
    /// `send_many` of `count` values (trimmed to the free room while receivers exist, since
    /// more would block).
    SendMany {
        end: usize,
        count: usize,
    },
    /// `try_recv_many` with `max = count`, appending to the values kept.
    TryRecvMany {
        end: usize,
        count: usize,
    },
    /// `recv_many` with `max = count` (a `try_recv_many` instead when it would block).
    RecvMany {
        end: usize,
        count: usize,
    },
    /// `send` (with a zero timeout instead when the buffer is full).
    Send {
        end: usize,
    },
    /// `send_timeout` with a zero timeout.
    SendTimeout {
        end: usize,
    },
    /// `recv` (with a zero timeout instead when nothing can arrive).
    Recv {
        end: usize,
    },
    /// `recv_timeout` with a zero timeout.
    RecvTimeout {
        end: usize,
    },
    /// `try_iter`, taking at most `count` values.
    TryIter {
        end: usize,
        count: usize,
    },
    CloneSender {
        end: usize,
    },
    CloneReceiver {
        end: usize,
    },
    DropSender {
        end: usize,
    },
    DropReceiver {
        end: usize,
    },
    /// `len`, `is_empty`, `is_full`, `capacity` and `is_disconnected` of every endpoint.
    ObserveChannel,
    /// Drops the received values the harness kept.
    DropKept,
}

impl Op {
    fn decode(code: u8, arg: u8) -> Op {
        let end = usize::from(code >> 5);
        // Counts run past the largest capacity, so "more than fits" is covered.
        let count = usize::from(arg) % 20;
        match (code & 0x1f) % 20 {
            0 => Op::Push { count },
            1 => Op::Pop { count },
            2 => Op::ForcePush { count },
            3 => Op::ObserveQueue,
            4 => Op::TrySend { end, count },
            5 => Op::TryRecv { end, count },
            6 => Op::SendMany { end, count },
            7 => Op::TryRecvMany { end, count },
            8 => Op::RecvMany { end, count },
            9 => Op::Send { end },
            10 => Op::SendTimeout { end },
            11 => Op::Recv { end },
            12 => Op::RecvTimeout { end },
            13 => Op::TryIter { end, count },
            14 => Op::CloneSender { end },
            15 => Op::CloneReceiver { end },
            16 => Op::DropSender { end },
            17 => Op::DropReceiver { end },
            18 => Op::ObserveChannel,
            _ => Op::DropKept,
        }
    }
}

/// The queue and the channel under test next to their models.
struct Harness {
    capacity: usize,
    queue: Option<Queue<Item>>,
    /// Ids in the queue, oldest first.
    queue_model: VecDeque<u64>,
    senders: Vec<Sender<Item>>,
    receivers: Vec<Receiver<Item>>,
    /// Ids in the channel, oldest first.
    channel_model: VecDeque<u64>,
    /// Values received from the channel and not dropped yet: `*_many` append to it.
    kept: Vec<Item>,
    next_id: u64,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        let (tx, rx) = mpmc::channel(capacity);
        Harness {
            capacity,
            queue: Some(Queue::new(capacity)),
            queue_model: VecDeque::new(),
            senders: vec![tx],
            receivers: vec![rx],
            channel_model: VecDeque::new(),
            kept: Vec::new(),
            next_id: 0,
        }
    }

    fn fresh(&mut self) -> Item {
        self.next_id += 1;
        Item::new(self.next_id)
    }

    fn sender(&self, end: usize) -> Option<&Sender<Item>> {
        pick(&self.senders, end)
    }

    fn receiver(&self, end: usize) -> Option<&Receiver<Item>> {
        pick(&self.receivers, end)
    }

    fn channel_full(&self) -> bool {
        self.channel_model.len() == self.capacity
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Push { count } => (0..count).for_each(|_| self.push()),
            Op::Pop { count } => (0..count).for_each(|_| self.pop()),
            Op::ForcePush { count } => (0..count).for_each(|_| self.force_push()),
            Op::ObserveQueue => self.observe_queue(),
            Op::TrySend { end, count } => (0..count).for_each(|_| self.try_send(end)),
            Op::TryRecv { end, count } => (0..count).for_each(|_| self.try_recv(end)),
            Op::SendMany { end, count } => self.send_many(end, count),
            Op::TryRecvMany { end, count } => self.recv_many(end, count, false),
            Op::RecvMany { end, count } => self.recv_many(end, count, true),
            Op::Send { end } => self.send(end, false),
            Op::SendTimeout { end } => self.send(end, true),
            Op::Recv { end } => self.recv(end, false),
            Op::RecvTimeout { end } => self.recv(end, true),
            Op::TryIter { end, count } => self.try_iter(end, count),
            Op::CloneSender { end } => {
                if let Some(tx) = self.sender(end).cloned() {
                    self.senders.push(tx);
                }
            }
            Op::CloneReceiver { end } => {
                if let Some(rx) = self.receiver(end).cloned() {
                    self.receivers.push(rx);
                }
            }
            Op::DropSender { end } => {
                if !self.senders.is_empty() {
                    let index = end % self.senders.len();
                    self.senders.swap_remove(index);
                }
            }
            Op::DropReceiver { end } => {
                if !self.receivers.is_empty() {
                    let index = end % self.receivers.len();
                    self.receivers.swap_remove(index);
                }
            }
            Op::ObserveChannel => self.observe_channel(),
            Op::DropKept => self.kept.clear(),
        }
        if self.receivers.is_empty() {
            // The last receiver is gone: what was buffered died with it (std semantics).
            self.channel_model.clear();
        }
        self.check_live();
    }

    fn push(&mut self) {
        if self.queue.is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let full = self.queue_model.len() == self.capacity;
        match self.queue.as_ref().expect("checked above").push(item) {
            Ok(()) => {
                assert!(!full, "push into a full queue succeeded");
                self.queue_model.push_back(id);
            }
            Err(back) => {
                assert!(full, "push refused with room left");
                assert_eq!(back.0, id, "push handed back another value");
            }
        }
    }

    fn pop(&mut self) {
        let Some(queue) = &self.queue else { return };
        let popped = queue.pop().map(|item| item.0);
        assert_eq!(popped, self.queue_model.pop_front(), "pop");
    }

    fn force_push(&mut self) {
        if self.queue.is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let evicted = self.queue.as_ref().expect("checked above").force_push(item);
        let expected = if self.queue_model.len() == self.capacity {
            self.queue_model.pop_front()
        } else {
            None
        };
        assert_eq!(evicted.map(|item| item.0), expected, "force_push evicted");
        self.queue_model.push_back(id);
    }

    fn observe_queue(&self) {
        let Some(queue) = &self.queue else { return };
        let len = self.queue_model.len();
        assert_eq!(queue.len(), len);
        assert_eq!(queue.is_empty(), len == 0);
        assert_eq!(queue.is_full(), len == self.capacity);
        assert_eq!(queue.capacity(), self.capacity);
    }

    fn try_send(&mut self, end: usize) {
        if self.sender(end).is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let (gone, full) = (self.receivers.is_empty(), self.channel_full());
        match self.sender(end).expect("checked above").try_send(item) {
            Ok(()) => {
                assert!(!gone && !full, "try_send succeeded");
                self.channel_model.push_back(id);
            }
            Err(TrySendError::Full(back)) => {
                assert!(!gone && full, "spurious Full");
                assert_eq!(back.0, id);
            }
            Err(TrySendError::Disconnected(back)) => {
                assert!(gone, "spurious Disconnected");
                assert_eq!(back.0, id);
            }
        }
    }

    /// Checks a receive that found nothing: `disconnected` says which error it was.
    fn expect_nothing(&self, disconnected: bool) {
        assert!(
            self.channel_model.is_empty(),
            "nothing received, values buffered"
        );
        assert_eq!(
            disconnected,
            self.senders.is_empty(),
            "Empty/Disconnected mixed up"
        );
    }

    /// Checks a received value against the model's oldest.
    fn expect_received(&mut self, item: &Item) {
        assert_eq!(
            Some(item.0),
            self.channel_model.pop_front(),
            "FIFO order broken"
        );
    }

    fn try_recv(&mut self, end: usize) {
        let Some(rx) = self.receiver(end) else { return };
        match rx.try_recv() {
            Ok(item) => self.expect_received(&item),
            Err(TryRecvError::Empty) => self.expect_nothing(false),
            Err(TryRecvError::Disconnected) => self.expect_nothing(true),
        }
    }

    fn send_many(&mut self, end: usize, count: usize) {
        if self.sender(end).is_none() {
            return;
        }
        let gone = self.receivers.is_empty();
        let count = if gone {
            count
        } else {
            count.min(self.capacity - self.channel_model.len())
        };
        let first = self.next_id + 1;
        let values: Vec<Item> = (0..count).map(|_| self.fresh()).collect();
        let sent = (first..first + count as u64).collect::<Vec<_>>();
        match self.sender(end).expect("checked above").send_many(values) {
            Ok(()) => {
                assert!(!gone || count == 0, "send_many without receivers succeeded");
                self.channel_model.extend(sent);
            }
            Err(SendError(back)) => {
                assert!(gone, "spurious SendError");
                assert_eq!(ids(&back), sent, "send_many handed back other values");
            }
        }
    }

    fn recv_many(&mut self, end: usize, max: usize, blocking: bool) {
        let Some(rx) = pick(&self.receivers, end) else {
            return;
        };
        let before = ids(&self.kept);
        let would_block = self.channel_model.is_empty() && !self.senders.is_empty();
        let outcome = if blocking && !would_block {
            rx.recv_many(&mut self.kept, max)
                .map_err(|RecvError| TryRecvError::Disconnected)
        } else {
            rx.try_recv_many(&mut self.kept, max)
        };
        assert_eq!(
            ids(&self.kept[..before.len()]),
            before,
            "kept values changed"
        );
        let appended = ids(&self.kept[before.len()..]);
        match outcome {
            Ok(taken) => {
                assert_eq!(taken, appended.len(), "count differs from values appended");
                let expected = max.min(self.channel_model.len());
                assert_eq!(taken, expected, "took {taken} of {max} wanted");
                let oldest: Vec<u64> = self.channel_model.drain(..taken).collect();
                assert_eq!(appended, oldest, "recv_many order");
            }
            Err(err) => {
                assert!(appended.is_empty(), "values appended on error");
                assert!(max > 0, "recv_many with max 0 failed");
                self.expect_nothing(err == TryRecvError::Disconnected);
            }
        }
    }

    fn send(&mut self, end: usize, always_timeout: bool) {
        if self.sender(end).is_none() {
            return;
        }
        let item = self.fresh();
        let id = item.0;
        let (gone, full) = (self.receivers.is_empty(), self.channel_full());
        let tx = self.sender(end).expect("checked above");
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
            self.channel_model.push_back(id);
        }
    }

    fn recv(&mut self, end: usize, always_timeout: bool) {
        let Some(rx) = self.receiver(end) else { return };
        let would_block = self.channel_model.is_empty() && !self.senders.is_empty();
        if always_timeout || would_block {
            match rx.recv_timeout(Duration::ZERO) {
                Ok(item) => self.expect_received(&item),
                Err(RecvTimeoutError::Timeout) => self.expect_nothing(false),
                Err(RecvTimeoutError::Disconnected) => self.expect_nothing(true),
            }
        } else {
            match rx.recv() {
                Ok(item) => self.expect_received(&item),
                Err(RecvError) => self.expect_nothing(true),
            }
        }
    }

    fn try_iter(&mut self, end: usize, count: usize) {
        let Some(rx) = self.receiver(end) else { return };
        let got: Vec<u64> = rx.try_iter().take(count).map(|item| item.0).collect();
        let taken = count.min(self.channel_model.len());
        let expected: Vec<u64> = self.channel_model.drain(..taken).collect();
        assert_eq!(got, expected, "try_iter");
    }

    fn observe_channel(&self) {
        let len = self.channel_model.len();
        let (senders_gone, receivers_gone) = (self.senders.is_empty(), self.receivers.is_empty());
        for tx in &self.senders {
            assert_eq!(tx.len(), len);
            assert_eq!(tx.is_empty(), len == 0);
            assert_eq!(tx.is_full(), len == self.capacity);
            assert_eq!(tx.capacity(), self.capacity);
            assert_eq!(tx.is_disconnected(), receivers_gone);
        }
        for rx in &self.receivers {
            assert_eq!(rx.len(), len);
            assert_eq!(rx.is_empty(), len == 0);
            assert_eq!(rx.is_full(), len == self.capacity);
            assert_eq!(rx.capacity(), self.capacity);
            assert_eq!(rx.is_disconnected(), senders_gone);
        }
    }

    /// The values alive are exactly the buffered and the kept ones: nothing leaked, nothing
    /// dropped early.
    fn check_live(&self) {
        let kept = self.kept.iter().map(|item| item.0);
        assert_live(
            self.queue_model
                .iter()
                .chain(&self.channel_model)
                .copied()
                .chain(kept),
        );
    }

    /// Drops the queue (its model empties with it).
    fn drop_queue(&mut self) {
        self.queue = None;
        self.queue_model.clear();
        self.check_live();
    }

    /// Drops every endpoint of one side, one at a time, newest first.
    fn drop_side(&mut self, receivers: bool) {
        loop {
            let len = if receivers {
                self.receivers.len()
            } else {
                self.senders.len()
            };
            if len == 0 {
                return;
            }
            let op = if receivers {
                Op::DropReceiver { end: len - 1 }
            } else {
                Op::DropSender { end: len - 1 }
            };
            self.apply(op);
        }
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
    let queue_first = setup & 0x20 != 0;
    if queue_first {
        harness.drop_queue();
    }
    let receivers_first = setup & 0x10 != 0;
    harness.drop_side(receivers_first);
    harness.drop_side(!receivers_first);
    if !queue_first {
        harness.drop_queue();
    }
    harness.apply(Op::DropKept);
    assert_live([]);
});
