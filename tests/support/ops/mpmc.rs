//! The operations of `verisync::mpmc` on one thread, on a `Queue` and on a channel of the same
//! capacity, an unbounded one or a rendezvous one, and the `VecDeque` models they are checked against: shared by the proptest suite
//! (`tests/model_mpmc.rs`, which generates the bytes [`Op::decode`] reads) and the fuzz target
//! (`fuzz/fuzz_targets/mpmc.rs`, which reads them from its input), so that both check the same
//! things in the same way.
//!
//! The channel's endpoints are cloned and dropped at random, down to a whole side. Blocking
//! operations run only where they return at once, else with a zero timeout or as their `try_`
//! form, and `send_many` is cut down to what fits. Every result is compared with the models;
//! after every step so is every status query (`len`, `is_empty`, `is_full`, `capacity`,
//! `is_disconnected`, all plain reads) of the queue and of every endpoint, and the values alive
//! must be exactly the ones buffered or kept, every other one dropped exactly once.

#[path = "../drops.rs"]
mod drops;

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::Duration;

use drops::{DropLog, Tracked};
use verisync::mpmc::{
    Queue, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError, channel, unbounded,
};

/// The first kind byte of a channel operation: the ones below name queue operations.
pub const FIRST_CHANNEL_KIND: u8 = 64;

/// How a single send or receive is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `try_send` / `try_recv`.
    Try,
    /// `send` / `recv`; with a zero timeout instead where it would block forever (full with a
    /// receiver alive / empty with a sender alive).
    Block,
    /// `send_timeout` / `recv_timeout` with a zero timeout.
    Timeout,
}

/// One step. `end` picks a sender or a receiver (modulo how many there are; none once a side
/// is gone). Counts run past the largest capacity (16), so "more than fits" is covered.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `count` `Queue::push`es in a row.
    Push { count: usize },
    /// `count` `Queue::pop`s in a row.
    Pop { count: usize },
    /// `count` `Queue::force_push`es in a row.
    ForcePush { count: usize },
    /// `count` sends in a row.
    Send {
        end: usize,
        call: Call,
        count: usize,
    },
    /// `count` receives in a row.
    Recv {
        end: usize,
        call: Call,
        count: usize,
    },
    /// `send_many` of `count` values, cut down to the free room of a bounded channel while a
    /// receiver lives (more would block).
    SendMany { end: usize, count: usize },
    /// `recv_many` if `block` (`try_recv_many` where it would block forever), else
    /// `try_recv_many`, appending at most `max` values to the ones kept.
    RecvMany { end: usize, max: usize, block: bool },
    /// `try_iter().take(count)`.
    TryIter { end: usize, count: usize },
    /// Clones a sender.
    CloneSender { end: usize },
    /// Clones a receiver.
    CloneReceiver { end: usize },
    /// Drops a sender.
    DropSender { end: usize },
    /// Drops a receiver; the last one takes what is buffered with it (std semantics).
    DropReceiver { end: usize },
    /// Drops the values `RecvMany` kept.
    DropKept,
}

impl Op {
    /// The operation three bytes name: the first picks it, the other two are its parameters.
    /// Below [`FIRST_CHANNEL_KIND`] a queue operation (push 3, pop 3, force_push 2 in 8), else
    /// a channel one (sends and receives 6 each in 24, the batches 3 each, the clones and drops
    /// of endpoints and of the kept values 1 each, so that most sequences keep both sides).
    pub fn decode([kind, a, b]: [u8; 3]) -> Self {
        let (end, call, count) = (usize::from(a >> 4), call(a), count(b));
        if kind < FIRST_CHANNEL_KIND {
            return match kind % 8 {
                0..=2 => Op::Push { count },
                3..=5 => Op::Pop { count },
                _ => Op::ForcePush { count },
            };
        }
        match kind % 24 {
            0..=5 => Op::Send { end, call, count },
            6..=11 => Op::Recv { end, call, count },
            12..=14 => Op::SendMany {
                end,
                count: size(b),
            },
            15..=17 => Op::RecvMany {
                end,
                max: size(b),
                block: a & 0x08 != 0,
            },
            18 => Op::TryIter {
                end,
                count: size(b),
            },
            19 => Op::CloneSender { end },
            20 => Op::DropSender { end },
            21 => Op::CloneReceiver { end },
            22 => Op::DropReceiver { end },
            _ => Op::DropKept,
        }
    }

    /// The most values this step makes.
    fn values(self) -> usize {
        match self {
            Op::Push { count }
            | Op::ForcePush { count }
            | Op::Send { count, .. }
            | Op::SendMany { count, .. } => count,
            _ => 0,
        }
    }
}

/// `try_` for 12 of the 16 values of the low 4 bits, the blocking call for 3, the zero timeout
/// for 1.
fn call(byte: u8) -> Call {
    match byte & 0x0f {
        0..=11 => Call::Try,
        12..=14 => Call::Block,
        _ => Call::Timeout,
    }
}

/// A repeat count: 1 for half the bytes (single calls stay common), else 0..=19.
fn count(byte: u8) -> usize {
    if byte < 128 { 1 } else { size(byte) }
}

/// A batch size: 0..=19.
fn size(byte: u8) -> usize {
    usize::from(byte) % 20
}

/// The ids of `values`, in order.
fn ids<T: Borrow<Tracked>>(values: impl IntoIterator<Item = T>) -> Vec<usize> {
    values.into_iter().map(|value| value.borrow().id).collect()
}

/// Takes the `n` oldest ids (fewer if there are fewer) out of `model`.
fn take_oldest(model: &mut VecDeque<usize>, n: usize) -> Vec<usize> {
    model.drain(..n.min(model.len())).collect()
}

/// The endpoint `end` picks (modulo their number), if any is left.
fn pick<E>(endpoints: &[E], end: usize) -> Option<&E> {
    endpoints.get(end % endpoints.len().max(1))
}

/// Drops the endpoint `end` picks, if any is left.
fn remove<E>(endpoints: &mut Vec<E>, end: usize) {
    if !endpoints.is_empty() {
        endpoints.swap_remove(end % endpoints.len());
    }
}

/// Makes drop-counted values with ids 0, 1, 2, ...
struct Maker {
    log: DropLog,
    made: usize,
}

impl Maker {
    fn make(&mut self) -> Tracked {
        self.made += 1;
        self.log.item(self.made - 1)
    }
}

/// The queue and the channel under test next to their models.
struct Harness {
    /// The queue's capacity.
    capacity: usize,
    /// The channel's: the same, `Some(0)` for a rendezvous channel, `None` for an unbounded one.
    channel_capacity: Option<usize>,
    queue: Option<Queue<Tracked>>,
    /// Ids in the queue, oldest first.
    queue_model: VecDeque<usize>,
    senders: Vec<Sender<Tracked>>,
    receivers: Vec<Receiver<Tracked>>,
    /// Ids in the channel, oldest first.
    channel_model: VecDeque<usize>,
    /// Values received by `RecvMany` and not dropped yet.
    kept: Vec<Tracked>,
    maker: Maker,
}

/// Runs `ops` on a queue and a channel and on their models; panics at the first difference.
/// `setup` picks the capacity, 1..=16 (low 4 bits), whether the channel is unbounded instead
/// (bit 6) or else a rendezvous channel (bit 7, where one thread never meets a partner), and the order in which everything is dropped at the end, a step at a time: the
/// queue first or last (bit 5), the receivers before or after the senders (bit 4); the kept
/// values last.
pub fn run(setup: u8, ops: &[Op]) {
    let capacity = usize::from(setup & 0x0f) + 1;
    let channel_capacity = match (setup & 0x40 != 0, setup & 0x80 != 0) {
        (true, _) => None,
        (false, true) => Some(0),
        (false, false) => Some(capacity),
    };
    let (tx, rx) = match channel_capacity {
        Some(capacity) => channel(capacity),
        None => unbounded(),
    };
    let mut harness = Harness {
        capacity,
        channel_capacity,
        queue: Some(Queue::new(capacity)),
        queue_model: VecDeque::new(),
        senders: vec![tx],
        receivers: vec![rx],
        channel_model: VecDeque::new(),
        kept: Vec::new(),
        maker: Maker {
            log: DropLog::new(ops.iter().map(|op| op.values()).sum()),
            made: 0,
        },
    };
    for &op in ops {
        harness.apply(op);
    }
    let queue_first = setup & 0x20 != 0;
    if queue_first {
        harness.drop_queue();
    }
    let receivers_first = setup & 0x10 != 0;
    for receivers in [receivers_first, !receivers_first] {
        let (drop_one, endpoints) = if receivers {
            (Op::DropReceiver { end: 0 }, harness.receivers.len())
        } else {
            (Op::DropSender { end: 0 }, harness.senders.len())
        };
        (0..endpoints).for_each(|_| harness.apply(drop_one));
    }
    if !queue_first {
        harness.drop_queue();
    }
    harness.apply(Op::DropKept);
}

impl Harness {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Push { count } => (0..count).for_each(|_| self.push()),
            Op::Pop { count } => (0..count).for_each(|_| self.pop()),
            Op::ForcePush { count } => (0..count).for_each(|_| self.force_push()),
            Op::Send { end, call, count } => (0..count).for_each(|_| self.send(end, call)),
            Op::Recv { end, call, count } => (0..count).for_each(|_| self.recv(end, call)),
            Op::SendMany { end, count } => self.send_many(end, count),
            Op::RecvMany { end, max, block } => self.recv_many(end, max, block),
            Op::TryIter { end, count } => {
                if let Some(rx) = pick(&self.receivers, end) {
                    let got = ids(rx.try_iter().take(count));
                    assert_eq!(got, take_oldest(&mut self.channel_model, count), "try_iter");
                }
            }
            Op::CloneSender { end } => self.senders.extend(pick(&self.senders, end).cloned()),
            Op::CloneReceiver { end } => {
                self.receivers.extend(pick(&self.receivers, end).cloned());
            }
            Op::DropSender { end } => remove(&mut self.senders, end),
            Op::DropReceiver { end } => {
                remove(&mut self.receivers, end);
                if self.receivers.is_empty() {
                    self.channel_model.clear();
                }
            }
            Op::DropKept => self.kept.clear(),
        }
        self.check(op);
    }

    /// Drops the queue and what it holds.
    fn drop_queue(&mut self) {
        self.queue = None;
        self.queue_model.clear();
        self.check("the queue's drop");
    }

    /// Checks every status query of the queue and of every endpoint, and the drops.
    fn check(&self, op: impl Debug) {
        let status = |len: usize| (len, len == 0, len == self.capacity, self.capacity);
        let channel_status = |len: usize| {
            let capacity = self.channel_capacity;
            (len, len == 0, Some(len) == capacity, capacity)
        };
        if let Some(queue) = &self.queue {
            let got = (
                queue.len(),
                queue.is_empty(),
                queue.is_full(),
                queue.capacity(),
            );
            assert_eq!(
                got,
                status(self.queue_model.len()),
                "queue status after {op:?}"
            );
        }
        let channel = channel_status(self.channel_model.len());
        for tx in &self.senders {
            let got = (tx.len(), tx.is_empty(), tx.is_full(), tx.capacity());
            assert_eq!(got, channel, "sender status after {op:?}");
            assert_eq!(
                tx.is_disconnected(),
                self.receivers.is_empty(),
                "after {op:?}"
            );
        }
        for rx in &self.receivers {
            let got = (rx.len(), rx.is_empty(), rx.is_full(), rx.capacity());
            assert_eq!(got, channel, "receiver status after {op:?}");
            assert_eq!(
                rx.is_disconnected(),
                self.senders.is_empty(),
                "after {op:?}"
            );
        }
        let buffered = self.queue_model.iter().chain(&self.channel_model).copied();
        let alive = buffered.chain(ids(&self.kept));
        self.maker.log.assert_alive_exactly(self.maker.made, alive);
    }

    fn push(&mut self) {
        let Some(queue) = &self.queue else { return };
        let value = self.maker.make();
        let id = value.id;
        let expected = if self.queue_model.len() < self.capacity {
            Ok(())
        } else {
            Err(id)
        };
        let got = queue.push(value).map_err(|back| back.id);
        assert_eq!(got, expected, "push of value {id}");
        if got.is_ok() {
            self.queue_model.push_back(id);
        }
    }

    fn pop(&mut self) {
        if let Some(queue) = &self.queue {
            let got = queue.pop().map(|value| value.id);
            assert_eq!(got, self.queue_model.pop_front(), "pop");
        }
    }

    fn force_push(&mut self) {
        let Some(queue) = &self.queue else { return };
        let value = self.maker.make();
        let id = value.id;
        let expected = if self.queue_model.len() == self.capacity {
            self.queue_model.pop_front()
        } else {
            None
        };
        self.queue_model.push_back(id);
        let evicted = queue.force_push(value).map(|value| value.id);
        assert_eq!(evicted, expected, "force_push of value {id} evicted");
    }

    fn send(&mut self, end: usize, call: Call) {
        let Some(tx) = pick(&self.senders, end) else {
            return;
        };
        let value = self.maker.make();
        let id = value.id;
        let expected = if self.receivers.is_empty() {
            Err(TrySendError::Disconnected(id))
        } else if Some(self.channel_model.len()) == self.channel_capacity {
            Err(TrySendError::Full(id))
        } else {
            Ok(())
        };
        let got = match call {
            Call::Try => tx.try_send(value),
            Call::Block if expected != Err(TrySendError::Full(id)) => tx
                .send(value)
                .map_err(|SendError(back)| TrySendError::Disconnected(back)),
            _ => tx
                .send_timeout(value, Duration::ZERO)
                .map_err(|err| match err {
                    SendTimeoutError::Timeout(back) => TrySendError::Full(back),
                    SendTimeoutError::Disconnected(back) => TrySendError::Disconnected(back),
                }),
        };
        let got = got.map_err(|err| match err {
            TrySendError::Full(back) => TrySendError::Full(back.id),
            TrySendError::Disconnected(back) => TrySendError::Disconnected(back.id),
        });
        assert_eq!(got, expected, "{call:?} send of value {id}");
        if got.is_ok() {
            self.channel_model.push_back(id);
        }
    }

    /// What a receive must report when nothing is buffered.
    fn nothing(&self) -> TryRecvError {
        if self.senders.is_empty() {
            TryRecvError::Disconnected
        } else {
            TryRecvError::Empty
        }
    }

    fn recv(&mut self, end: usize, call: Call) {
        let Some(rx) = pick(&self.receivers, end) else {
            return;
        };
        let expected = self.channel_model.front().copied().ok_or(self.nothing());
        let got = match call {
            Call::Try => rx.try_recv(),
            Call::Block if expected != Err(TryRecvError::Empty) => {
                rx.recv().map_err(|RecvError| TryRecvError::Disconnected)
            }
            _ => rx.recv_timeout(Duration::ZERO).map_err(|err| match err {
                RecvTimeoutError::Timeout => TryRecvError::Empty,
                RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
            }),
        };
        assert_eq!(got.map(|value| value.id), expected, "{call:?} receive");
        if expected.is_ok() {
            self.channel_model.pop_front();
        }
    }

    fn send_many(&mut self, end: usize, count: usize) {
        let Some(tx) = pick(&self.senders, end) else {
            return;
        };
        let gone = self.receivers.is_empty();
        let count = match self.channel_capacity {
            Some(capacity) if !gone => count.min(capacity - self.channel_model.len()),
            _ => count,
        };
        let first = self.maker.made;
        let values: Vec<Tracked> = (0..count).map(|_| self.maker.make()).collect();
        let sent: Vec<usize> = (first..first + count).collect();
        let got = tx.send_many(values).map_err(|SendError(back)| ids(back));
        if gone && count > 0 {
            assert_eq!(got, Err(sent), "send_many without receivers");
        } else {
            assert_eq!(got, Ok(()), "send_many of {count}");
            self.channel_model.extend(sent);
        }
    }

    fn recv_many(&mut self, end: usize, max: usize, block: bool) {
        let Some(rx) = pick(&self.receivers, end) else {
            return;
        };
        let taken = max.min(self.channel_model.len());
        let expected = if max == 0 || taken > 0 {
            Ok(taken)
        } else {
            Err(self.nothing())
        };
        let mut kept = ids(&self.kept);
        let got = if block && expected != Err(TryRecvError::Empty) {
            rx.recv_many(&mut self.kept, max)
                .map_err(|RecvError| TryRecvError::Disconnected)
        } else {
            rx.try_recv_many(&mut self.kept, max)
        };
        assert_eq!(got, expected, "recv_many({max}), block: {block}");
        // The values kept stay as they were, the oldest `taken` appended.
        kept.extend(take_oldest(&mut self.channel_model, taken));
        assert_eq!(ids(&self.kept), kept, "recv_many({max}) appended");
    }
}
