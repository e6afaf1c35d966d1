//! The operations of `verisync::spsc` on one thread and the `VecDeque` model they are checked
//! against: shared by the proptest suite (`tests/model_spsc.rs`, which generates the bytes
//! [`Op::decode`] reads) and the fuzz target (`fuzz/fuzz_targets/spsc.rs`, which reads them
//! from its input), so that both check the same things in the same way.
//!
//! Every operation, single, chunked or iterating, blocking ones only where they return at once
//! (else with a zero timeout), either endpoint dropped at any point; every result is compared
//! with the model. Status queries (`len`, `slots`, ...) are operations of their own rather than
//! checks after every step, because they refresh an endpoint's cached copy of its peer's
//! position, and checking after every step would hide bugs in the stale-cache paths; only
//! `capacity` and `is_disconnected`, which read no position, are checked after every step. So
//! are the drops: the values alive must be exactly the buffered ones, and every other value made
//! must have been dropped exactly once.

#[path = "../drops.rs"]
pub mod drops;

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::time::Duration;

use drops::{DropLog, Tracked};
use verisync::spsc::{
    Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError, channel,
};

/// How a single send or receive is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `try_send` / `try_recv`.
    Try,
    /// `send` / `recv`; with a zero timeout instead where it would block forever (full with the
    /// receiver alive / empty with the sender alive).
    Block,
    /// `send_timeout` / `recv_timeout` with a zero timeout.
    Timeout,
}

/// One step. Sizes and counts run past the largest capacity (16), so "more than fits" is
/// covered.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `count` sends in a row (a burst reaches the full states quickly).
    Send { call: Call, count: usize },
    /// `count` receives in a row.
    Recv { call: Call, count: usize },
    /// `write_chunk(max)`, `fill_from_iter` offered `fill` values, then up to `pushes` `push`es
    /// (the first one refused ends them).
    WriteChunk {
        max: usize,
        fill: usize,
        pushes: usize,
    },
    /// `read_chunk(max)`, then `take` values from it (more than it has, sometimes).
    ReadChunk { max: usize, take: usize },
    /// `try_iter().take(count)`.
    TryIter { count: usize },
    /// `iter()`: to its end once the sender is gone, else only the buffered values.
    Iter,
    /// `into_iter()` once the sender is gone (it consumes the receiver); else `try_iter()`.
    IntoIter,
    /// `peek` of the receiver.
    Peek,
    /// `len`, `is_empty` and `is_full` of the receiver.
    Len,
    /// `slots`, `is_full`, `len` and `is_empty` of the sender.
    Slots,
    /// Drops the sender.
    DropSender,
    /// Drops the receiver, and with it what is buffered (std semantics).
    DropReceiver,
}

impl Op {
    /// The operation three bytes name: the first picks it, the other two are its parameters.
    /// Sends and receives are the most common (80 in 256 each), then the chunks (28 each); the
    /// drops of the endpoints are 1 in 256 each, so that most sequences keep both for long.
    pub fn decode([kind, a, b]: [u8; 3]) -> Self {
        let (call, count) = (call(a), count(b));
        match kind {
            0..=79 => Op::Send { call, count },
            80..=107 => Op::WriteChunk {
                max: size(a),
                fill: usize::from(b & 0x0f),
                pushes: usize::from(b >> 4),
            },
            108..=187 => Op::Recv { call, count },
            188..=215 => Op::ReadChunk {
                max: size(a),
                take: size(b),
            },
            216..=222 => Op::TryIter { count: size(a) },
            223..=226 => Op::Iter,
            227..=230 => Op::IntoIter,
            231..=238 => Op::Peek,
            239..=246 => Op::Len,
            247..=253 => Op::Slots,
            254 => Op::DropSender,
            255 => Op::DropReceiver,
        }
    }

    /// The most values this step makes.
    fn values(self) -> usize {
        match self {
            Op::Send { count, .. } => count,
            Op::WriteChunk { fill, pushes, .. } => fill + pushes,
            _ => 0,
        }
    }
}

/// `try_` for 8 bytes in 11, the blocking call for 2, the zero timeout for 1.
fn call(byte: u8) -> Call {
    match byte % 11 {
        0..=7 => Call::Try,
        8 | 9 => Call::Block,
        _ => Call::Timeout,
    }
}

/// A repeat count: 1 for half the bytes (single calls stay common), else 0..=19.
fn count(byte: u8) -> usize {
    if byte < 128 { 1 } else { size(byte) }
}

/// A chunk size or iterator length: 0..=19.
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

/// The channel under test next to its model.
struct Harness {
    capacity: usize,
    tx: Option<Sender<Tracked>>,
    rx: Option<Receiver<Tracked>>,
    /// Ids of the buffered values, oldest first.
    model: VecDeque<usize>,
    maker: Maker,
}

/// Runs `ops` on a channel and on the model; panics at the first difference. `setup` picks the
/// capacity, 1..=16 (low 4 bits), and how the run ends: the receiver dropped first (bit 4), or
/// the sender, then (bit 5) the receiver drained with `try_iter` until it reports
/// `Disconnected`, then dropped.
pub fn run(setup: u8, ops: &[Op]) {
    let capacity = usize::from(setup & 0x0f) + 1;
    let (tx, rx) = channel(capacity);
    let mut harness = Harness {
        capacity,
        tx: Some(tx),
        rx: Some(rx),
        model: VecDeque::new(),
        maker: Maker {
            log: DropLog::new(ops.iter().map(|op| op.values()).sum()),
            made: 0,
        },
    };
    let end: &[Op] = if setup & 0x10 != 0 {
        &[Op::DropReceiver, Op::DropSender]
    } else if setup & 0x20 != 0 {
        let drain = Op::TryIter { count: usize::MAX };
        let disconnected = Op::Recv {
            call: Call::Try,
            count: 1,
        };
        &[Op::DropSender, drain, disconnected, Op::DropReceiver]
    } else {
        &[Op::DropSender, Op::DropReceiver]
    };
    for &op in ops.iter().chain(end) {
        harness.apply(op);
    }
}

impl Harness {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Send { call, count } => (0..count).for_each(|_| self.send(call)),
            Op::Recv { call, count } => (0..count).for_each(|_| self.recv(call)),
            Op::WriteChunk { max, fill, pushes } => self.write_chunk(max, fill, pushes),
            Op::ReadChunk { max, take } => self.read_chunk(max, take),
            Op::TryIter { count } => self.try_iter(count),
            Op::Iter => {
                if let Some(rx) = &self.rx {
                    // Without a sender `iter` ends by itself; with one, stop before it blocks.
                    let n = if self.tx.is_none() {
                        usize::MAX
                    } else {
                        self.model.len()
                    };
                    let got = ids(rx.iter().take(n));
                    assert_eq!(got, take_oldest(&mut self.model, usize::MAX), "iter");
                }
            }
            // `into_iter` would block while the sender lives.
            Op::IntoIter if self.tx.is_some() => self.try_iter(usize::MAX),
            Op::IntoIter => {
                if let Some(rx) = self.rx.take() {
                    let got = ids(rx);
                    assert_eq!(got, take_oldest(&mut self.model, usize::MAX), "into_iter");
                }
            }
            Op::Peek => {
                if let Some(rx) = &mut self.rx {
                    let front = self.model.front().copied();
                    assert_eq!(rx.peek().map(|value| value.id), front, "peek");
                }
            }
            Op::Len => {
                if let Some(rx) = &self.rx {
                    let len = self.model.len();
                    assert_eq!(rx.len(), len, "rx.len");
                    assert_eq!(rx.is_empty(), len == 0, "rx.is_empty");
                    assert_eq!(rx.is_full(), len == self.capacity, "rx.is_full");
                }
            }
            Op::Slots => {
                if let Some(tx) = &self.tx {
                    let len = self.model.len();
                    assert_eq!(tx.slots(), self.capacity - len, "tx.slots");
                    assert_eq!(tx.is_full(), len == self.capacity, "tx.is_full");
                    assert_eq!(tx.len(), len, "tx.len");
                    assert_eq!(tx.is_empty(), len == 0, "tx.is_empty");
                }
            }
            Op::DropSender => self.tx = None,
            Op::DropReceiver => {
                self.rx = None;
                self.model.clear();
            }
        }
        self.check(op);
    }

    /// Checks what can be checked after every step without touching a cached position.
    fn check(&self, op: Op) {
        if let Some(tx) = &self.tx {
            assert_eq!(tx.capacity(), self.capacity, "after {op:?}");
            assert_eq!(tx.is_disconnected(), self.rx.is_none(), "after {op:?}");
        }
        if let Some(rx) = &self.rx {
            assert_eq!(rx.capacity(), self.capacity, "after {op:?}");
            assert_eq!(rx.is_disconnected(), self.tx.is_none(), "after {op:?}");
        }
        let Maker { log, made } = &self.maker;
        log.assert_alive_exactly(*made, self.model.iter().copied());
    }

    fn send(&mut self, call: Call) {
        let Some(tx) = &self.tx else { return };
        let value = self.maker.make();
        let id = value.id;
        let expected = if self.rx.is_none() {
            Err(TrySendError::Disconnected(id))
        } else if self.model.len() == self.capacity {
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
            self.model.push_back(id);
        }
    }

    fn recv(&mut self, call: Call) {
        let Some(rx) = &self.rx else { return };
        let expected = match self.model.front() {
            Some(&id) => Ok(id),
            None if self.tx.is_none() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        };
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
            self.model.pop_front();
        }
    }

    fn try_iter(&mut self, count: usize) {
        if let Some(rx) = &self.rx {
            let got = ids(rx.try_iter().take(count));
            assert_eq!(got, take_oldest(&mut self.model, count), "try_iter");
        }
    }

    fn write_chunk(&mut self, max: usize, fill: usize, pushes: usize) {
        let Some(tx) = &mut self.tx else { return };
        // Empty once the receiver is gone: nobody would receive the values.
        let granted = if self.rx.is_none() {
            0
        } else {
            max.min(self.capacity - self.model.len())
        };
        let mut chunk = tx.write_chunk(max);
        assert_eq!(chunk.len(), granted, "write_chunk({max})");
        assert_eq!(chunk.is_empty(), granted == 0, "write_chunk({max})");
        let first = self.maker.made;
        let mut offered = (0..fill).map(|_| self.maker.make());
        let filled = chunk.fill_from_iter(&mut offered);
        assert_eq!(filled, fill.min(granted), "fill_from_iter");
        // What the chunk had no room for is still in the iterator, not consumed.
        let left = ids(offered);
        assert_eq!(left, (first + filled..first + fill).collect::<Vec<_>>());
        self.model.extend(first..first + filled);
        let mut written = filled;
        assert_eq!(
            chunk.len(),
            granted - written,
            "chunk.len after fill_from_iter"
        );
        for _ in 0..pushes {
            let value = self.maker.make();
            let id = value.id;
            match chunk.push(value) {
                Ok(()) => {
                    assert!(written < granted, "pushed value {id} past the chunk");
                    written += 1;
                    self.model.push_back(id);
                }
                Err(back) => {
                    assert_eq!(written, granted, "push refused with room left");
                    assert_eq!(back.id, id, "push handed back another value");
                    break;
                }
            }
        }
        assert_eq!(chunk.len(), granted - written, "chunk.len after the pushes");
    }

    fn read_chunk(&mut self, max: usize, take: usize) {
        let Some(rx) = &mut self.rx else { return };
        let granted = max.min(self.model.len());
        let mut chunk = rx.read_chunk(max);
        assert_eq!(chunk.len(), granted, "read_chunk({max})");
        let got = ids(chunk.by_ref().take(take));
        assert_eq!(
            got,
            take_oldest(&mut self.model, take.min(granted)),
            "read_chunk"
        );
        let left = granted - got.len();
        assert_eq!(
            chunk.size_hint(),
            (left, Some(left)),
            "read_chunk size_hint"
        );
        if left == 0 {
            assert!(chunk.next().is_none(), "chunk yielded past its length");
        }
    }
}
