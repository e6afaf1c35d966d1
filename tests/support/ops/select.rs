//! `verisync::select` on one thread over three channels of any flavor (rendezvous, bounded at
//! 1 or 2, unbounded), and the model it is checked against: which of a select's operations
//! are ready. Shared by the proptest suite (`tests/model_select.rs`, which generates the bytes
//! [`Op::decode`] reads) and the fuzz target (`fuzz/fuzz_targets/select.rs`).
//!
//! Every select offers a receive and a send on each channel, each either on the channel's
//! endpoint or, when the mask leaves it out or the endpoint is gone, on a stand-in that is
//! never ready. The model says which operations are ready: the select must complete one of
//! them (`try_select`, a zero timeout, or `select` when one is ready) and only that one, or
//! hand itself back when none is. After every step the buffered lengths must match the model,
//! and the values alive must be exactly the ones buffered: a send that lost is dropped with
//! its select, exactly once.

#[path = "../drops.rs"]
mod drops;

use std::collections::VecDeque;
use std::time::Duration;

use drops::{DropLog, Tracked};
use verisync::mpmc::{Receiver, Sender, TryRecvError, TrySendError, channel, unbounded};
use verisync::select::Select;

/// Channels per case.
const CHANNELS: usize = 3;

/// How a select is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `try_select`.
    Try,
    /// `select_timeout` with a zero timeout.
    Timeout,
    /// `select`, only when the model says an operation is ready (else `try_select`).
    Block,
}

/// One step; `channel` is an index below [`CHANNELS`].
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `try_send` of a new value.
    Send { channel: usize },
    /// `try_recv`.
    Recv { channel: usize },
    /// A select over a receive on each channel in `recv_mask` and a send of a new value on
    /// each channel in `send_mask` (bit `i`: channel `i`).
    Select {
        recv_mask: u8,
        send_mask: u8,
        call: Call,
    },
    /// Drops the channel's sender.
    DropSender { channel: usize },
    /// Drops the channel's receiver, and with it what is buffered.
    DropReceiver { channel: usize },
}

impl Op {
    /// Reads one operation from three bytes: the first names it, the others are parameters.
    pub fn decode([kind, a, b]: [u8; 3]) -> Self {
        let channel = usize::from(a) % CHANNELS;
        match kind % 8 {
            0 | 1 => Self::Send { channel },
            2 | 3 => Self::Recv { channel },
            4 | 5 => Self::Select {
                recv_mask: a & 0b111,
                send_mask: (a >> 3) & 0b111,
                call: match b % 3 {
                    0 => Call::Try,
                    1 => Call::Timeout,
                    _ => Call::Block,
                },
            },
            6 => Self::DropSender { channel },
            _ => Self::DropReceiver { channel },
        }
    }

    /// How many values the operation makes.
    fn values(self) -> usize {
        match self {
            Self::Send { .. } => 1,
            Self::Select { send_mask, .. } => send_mask.count_ones() as usize,
            _ => 0,
        }
    }
}

/// One channel's endpoints and model.
struct Lane {
    tx: Option<Sender<Tracked>>,
    rx: Option<Receiver<Tracked>>,
    /// `None` unbounded; `Some(0)` rendezvous.
    capacity: Option<usize>,
    model: VecDeque<usize>,
}

impl Lane {
    fn new(flavor: u8) -> Self {
        let capacity = match flavor % 4 {
            0 => Some(0),
            3 => None,
            bounded => Some(usize::from(bounded)),
        };
        let (tx, rx) = match capacity {
            Some(capacity) => channel(capacity),
            None => unbounded(),
        };
        Self {
            tx: Some(tx),
            rx: Some(rx),
            capacity,
            model: VecDeque::new(),
        }
    }

    /// Whether a send would complete now: there is room, or no receiver (`Disconnected`). A
    /// rendezvous channel has room only for a receiver waiting, and none waits on one thread.
    fn send_ready(&self) -> bool {
        self.rx.is_none()
            || self
                .capacity
                .is_none_or(|capacity| self.model.len() < capacity)
    }

    /// Whether a receive would complete now: a value is buffered, or no sender is left.
    fn recv_ready(&self) -> bool {
        !self.model.is_empty() || self.tx.is_none()
    }
}

struct Harness {
    lanes: Vec<Lane>,
    /// Stand-ins for operations a select leaves out: never ready while the harness lives.
    idle_tx: Sender<Tracked>,
    idle_rx: Receiver<Tracked>,
    log: DropLog,
    made: usize,
}

/// What a select's handler reports: which operation, and the value it received or got back.
#[derive(Debug, PartialEq)]
enum Done {
    Received { channel: usize, id: Option<usize> },
    Sent { channel: usize, back: Option<usize> },
}

impl Harness {
    fn make(&mut self) -> Tracked {
        self.made += 1;
        self.log.item(self.made - 1)
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Send { channel } => self.send(channel),
            Op::Recv { channel } => self.recv(channel),
            Op::Select {
                recv_mask,
                send_mask,
                call,
            } => self.select(recv_mask, send_mask, call),
            Op::DropSender { channel } => drop(self.lanes[channel].tx.take()),
            Op::DropReceiver { channel } => {
                let lane = &mut self.lanes[channel];
                if lane.rx.take().is_some() {
                    lane.model.clear();
                }
            }
        }
        self.check();
    }

    fn send(&mut self, channel: usize) {
        let value = self.make();
        let id = value.id;
        let lane = &mut self.lanes[channel];
        let Some(tx) = &lane.tx else { return };
        let ready = lane.send_ready();
        match tx.try_send(value) {
            Ok(()) => {
                assert!(
                    ready && lane.rx.is_some(),
                    "try_send succeeded on a full channel"
                );
                lane.model.push_back(id);
            }
            Err(TrySendError::Full(back)) => {
                assert!(!ready, "try_send found room-with-receiver full");
                assert_eq!(back.id, id);
            }
            Err(TrySendError::Disconnected(back)) => {
                assert!(
                    lane.rx.is_none(),
                    "try_send disconnected with a receiver alive"
                );
                assert_eq!(back.id, id);
            }
        }
    }

    fn recv(&mut self, channel: usize) {
        let lane = &mut self.lanes[channel];
        let Some(rx) = &lane.rx else { return };
        let expected = lane.model.pop_front();
        match rx.try_recv() {
            Ok(value) => assert_eq!(Some(value.id), expected),
            Err(TryRecvError::Empty) => assert!(expected.is_none() && lane.tx.is_some()),
            Err(TryRecvError::Disconnected) => assert!(expected.is_none() && lane.tx.is_none()),
        }
    }

    fn select(&mut self, recv_mask: u8, send_mask: u8, call: Call) {
        let values: Vec<Option<Tracked>> = (0..CHANNELS)
            .map(|channel| (send_mask & 1 << channel != 0).then(|| self.make()))
            .collect();
        let ids: Vec<Option<usize>> = values.iter().map(|v| v.as_ref().map(|v| v.id)).collect();
        let lanes = &self.lanes;
        let recv_on = |channel: usize| match &lanes[channel].rx {
            Some(rx) if recv_mask & 1 << channel != 0 => rx,
            _ => &self.idle_rx,
        };
        let send_on = |channel: usize| match (&lanes[channel].tx, ids[channel]) {
            (Some(tx), Some(_)) => tx,
            _ => &self.idle_tx,
        };
        let ready: Vec<Done> =
            (0..CHANNELS)
                .flat_map(|channel| {
                    let lane = &lanes[channel];
                    let recv =
                        (recv_mask & 1 << channel != 0 && lane.rx.is_some() && lane.recv_ready())
                            .then(|| Done::Received {
                                channel,
                                id: lane.model.front().copied(),
                            });
                    let send = (ids[channel].is_some() && lane.tx.is_some() && lane.send_ready())
                        .then(|| Done::Sent {
                            channel,
                            back: lane.rx.is_none().then_some(ids[channel]).flatten(),
                        });
                    recv.into_iter().chain(send)
                })
                .collect();
        let received = |channel| {
            move |v: Result<Tracked, _>| Done::Received {
                channel,
                id: v.ok().map(|v| v.id),
            }
        };
        let sent = |channel| {
            move |v: Result<(), verisync::mpmc::SendError<Tracked>>| Done::Sent {
                channel,
                back: v.err().map(|back| back.0.id),
            }
        };
        let mut values = values
            .into_iter()
            .map(|v| v.unwrap_or_else(|| self.log_free()));
        let select = Select::new()
            .recv(recv_on(0), received(0))
            .recv(recv_on(1), received(1))
            .recv(recv_on(2), received(2))
            .send(send_on(0), values.next().unwrap(), sent(0))
            .send(send_on(1), values.next().unwrap(), sent(1))
            .send(send_on(2), values.next().unwrap(), sent(2));
        let done = match call {
            Call::Block if !ready.is_empty() => Some(select.select()),
            Call::Timeout => select.select_timeout(Duration::ZERO).ok(),
            Call::Try | Call::Block => select.try_select().ok(),
        };
        let Some(done) = done else {
            assert!(
                ready.is_empty(),
                "nothing completed though {ready:?} were ready"
            );
            return;
        };
        assert!(
            ready.contains(&done),
            "completed {done:?}, but only {ready:?} were ready"
        );
        match done {
            Done::Received { channel, id } => {
                assert_eq!(self.lanes[channel].model.pop_front(), id);
            }
            Done::Sent {
                channel,
                back: None,
            } => self.lanes[channel].model.push_back(ids[channel].unwrap()),
            Done::Sent { .. } => {}
        }
    }

    /// A value for a stand-in send, outside the log: never counted, never ready to be sent.
    fn log_free(&self) -> Tracked {
        let spare = DropLog::new(1);
        spare.item(0)
    }

    /// The buffered lengths match the models, and exactly the buffered values are alive.
    fn check(&self) {
        for (channel, lane) in self.lanes.iter().enumerate() {
            if let Some(rx) = &lane.rx {
                assert_eq!(rx.len(), lane.model.len(), "channel {channel}'s length");
            }
        }
        let alive = self
            .lanes
            .iter()
            .flat_map(|lane| lane.model.iter().copied());
        self.log.assert_alive_exactly(self.made, alive);
    }
}

/// Runs `ops` on three channels whose flavors come from `setup` (two bits each: rendezvous,
/// bounded at 1, at 2, unbounded), then drops everything.
pub fn run(setup: u8, ops: &[Op]) {
    let (idle_tx, idle_peer) = channel(0);
    let (idle_peer_tx, idle_rx) = channel(0);
    let mut harness = Harness {
        lanes: (0..CHANNELS)
            .map(|channel| Lane::new(setup >> (2 * channel)))
            .collect(),
        idle_tx,
        idle_rx,
        log: DropLog::new(ops.iter().map(|op| op.values()).sum()),
        made: 0,
    };
    for &op in ops {
        harness.apply(op);
    }
    let Harness {
        lanes, log, made, ..
    } = harness;
    drop(lanes);
    drop((idle_peer, idle_peer_tx));
    log.assert_alive_exactly(made, []);
}
