//! The async operations on one thread, polled by hand: up to four `recv_async` and
//! `send_async` futures at once on one channel of any flavor (rendezvous, bounded at 1 or 2,
//! unbounded), polled with their task's waker or a new one, and dropped (cancelled) at any
//! point, or for a send, called off with `SendFuture::cancel`, among plain `try_send`s and
//! `try_recv`s. Shared by the proptest suite
//! (`tests/model_futures.rs`, which generates the bytes [`Op::decode`] reads) and the fuzz
//! target (`fuzz/fuzz_targets/futures.rs`).
//!
//! Checked after every step:
//! - **No lost wake-up.** If a value is buffered while receives wait (or there is room while
//!   sends wait, or a send and a receive both wait on a rendezvous channel), at least one of
//!   the waiting futures has been woken since its last poll: progress is possible, and the
//!   runtime knows whom to poll. Cancelling a woken future must pass its wake-up on.
//! - **Order.** On a buffered channel, values come out in the order their sends completed.
//!
//! And at the end, once every future is dropped and the channel drained: every value whose
//! send completed was received exactly once (a cancelled receive loses nothing, not even a
//! rendezvous value handed to it), a value whose send was cancelled was received or dropped
//! unsent, a value a called-off send gave back was never received (and one it did not give
//! back was), and every value was dropped exactly once.

#[path = "../drops.rs"]
mod drops;
#[path = "../task.rs"]
mod task;

use std::task::Poll;

use drops::{DropLog, Tracked};
use task::Task;
use verisync::future::{RecvFuture, SendFuture};
use verisync::mpmc::{Receiver, Sender, channel, unbounded};

/// Most futures alive at once.
const MAX_FUTURES: usize = 4;

/// One step.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Creates a `recv_async` future (not polled yet).
    NewRecv,
    /// Creates a `send_async` future of a new value (not polled yet).
    NewSend,
    /// Polls the future at `index` (modulo the number alive), with a new task's waker if
    /// `new_task` (the future moved to another task), else its own.
    Poll { index: usize, new_task: bool },
    /// Drops the future at `index` (modulo the number alive): a cancellation; if `call_off`
    /// and the future is a send, with `SendFuture::cancel`, which gives the value back
    /// unless it was sent.
    Cancel { index: usize, call_off: bool },
    /// `try_send` of a new value.
    TrySend,
    /// `try_recv`.
    TryRecv,
}

impl Op {
    /// Reads one operation from two bytes: the first names it, the second is its parameter.
    pub fn decode([kind, a]: [u8; 2]) -> Self {
        let index = usize::from(a);
        match kind % 8 {
            0 => Self::NewRecv,
            1 => Self::NewSend,
            2..=4 => Self::Poll {
                index,
                new_task: a & 0x80 != 0,
            },
            5 => Self::Cancel {
                index,
                call_off: a & 0x80 != 0,
            },
            6 => Self::TrySend,
            _ => Self::TryRecv,
        }
    }

    /// How many values the operation makes.
    fn values(self) -> usize {
        usize::from(matches!(self, Self::NewSend | Self::TrySend))
    }
}

/// A future alive in the case, its task, and whether it has gone pending.
struct Alive<'a> {
    future: Kind<'a>,
    task: Task,
    pending: bool,
}

enum Kind<'a> {
    Recv(RecvFuture<&'a Receiver<Tracked>>),
    Send(SendFuture<&'a Sender<Tracked>>, usize),
}

/// What the case saw, for the final checks.
#[derive(Default)]
struct Seen {
    /// Ids whose send completed, in order (a buffered channel's order).
    sent: Vec<usize>,
    /// Values received, in order.
    received: Vec<Tracked>,
    /// Values that called-off sends gave back.
    given_back: Vec<Tracked>,
}

/// Runs `ops` on a channel whose flavor `setup` picks, checking the properties in the
/// module documentation.
pub fn run(setup: u8, ops: &[Op]) {
    let capacity = match setup % 4 {
        3 => None,
        capacity => Some(usize::from(capacity)),
    };
    let values = ops.iter().map(|op| op.values()).sum();
    let log = DropLog::new(values);
    let (tx, rx) = match capacity {
        Some(capacity) => channel(capacity),
        None => unbounded(),
    };
    let mut alive: Vec<Alive<'_>> = Vec::new();
    let mut seen = Seen::default();
    let mut made = 0;
    for &op in ops {
        step(op, &tx, &rx, &log, &mut made, &mut alive, &mut seen);
        check_wake_ups(&alive, &tx, capacity, &seen);
    }
    drop(alive);
    seen.received.extend(rx.try_iter());
    let received: Vec<usize> = seen.received.iter().map(|value| value.id).collect();
    for id in &seen.sent {
        let times = received.iter().filter(|&got| got == id).count();
        assert_eq!(times, 1, "value {id} was sent and received {times} times");
    }
    for value in &seen.given_back {
        assert!(
            !received.contains(&value.id),
            "value {} was given back by a called-off send and received",
            value.id
        );
    }
    if capacity != Some(0) {
        assert_eq!(received, seen.sent, "a buffered channel's order");
    }
    drop(seen);
    drop((tx, rx));
    log.assert_alive_exactly(made, []);
}

fn step<'a>(
    op: Op,
    tx: &'a Sender<Tracked>,
    rx: &'a Receiver<Tracked>,
    log: &DropLog,
    made: &mut usize,
    alive: &mut Vec<Alive<'a>>,
    seen: &mut Seen,
) {
    let mut make = || {
        *made += 1;
        log.item(*made - 1)
    };
    match op {
        Op::NewRecv | Op::NewSend if alive.len() >= MAX_FUTURES => {}
        Op::NewRecv => alive.push(Alive {
            future: Kind::Recv(rx.recv_async()),
            task: Task::new(),
            pending: false,
        }),
        Op::NewSend => {
            let value = make();
            let id = value.id;
            alive.push(Alive {
                future: Kind::Send(tx.send_async(value), id),
                task: Task::new(),
                pending: false,
            });
        }
        Op::Poll { .. } | Op::Cancel { .. } if alive.is_empty() => {}
        Op::Poll { index, new_task } => {
            let index = index % alive.len();
            let entry = &mut alive[index];
            if new_task {
                entry.task = Task::new();
            }
            // Wake-ups from before this poll no longer count (`check_wake_ups`).
            entry.task.was_woken();
            let done = match &mut entry.future {
                Kind::Recv(future) => match entry.task.poll(future) {
                    Poll::Ready(value) => {
                        seen.received.push(value.expect("the sender is alive"));
                        true
                    }
                    Poll::Pending => false,
                },
                Kind::Send(future, id) => match entry.task.poll(future) {
                    Poll::Ready(sent) => {
                        assert!(sent.is_ok(), "the receiver is alive");
                        seen.sent.push(*id);
                        true
                    }
                    Poll::Pending => false,
                },
            };
            if done {
                alive.remove(index);
            } else {
                entry.pending = true;
            }
        }
        Op::Cancel { index, call_off } => {
            let index = index % alive.len();
            match alive.remove(index).future {
                Kind::Send(future, id) if call_off => match future.cancel() {
                    Some(value) => {
                        assert_eq!(value.id, id, "a called-off send gave back another value");
                        seen.given_back.push(value);
                    }
                    // A rendezvous receiver took it from the line.
                    None => seen.sent.push(id),
                },
                _ => {}
            }
        }
        Op::TrySend => {
            let value = make();
            let id = value.id;
            if tx.try_send(value).is_ok() {
                seen.sent.push(id);
            }
        }
        Op::TryRecv => seen.received.extend(rx.try_recv().ok()),
    }
}

/// No lost wake-up (module documentation).
fn check_wake_ups(alive: &[Alive<'_>], tx: &Sender<Tracked>, capacity: Option<usize>, seen: &Seen) {
    let waiting = |receives: bool| {
        alive
            .iter()
            .filter(move |entry| entry.pending && matches!(entry.future, Kind::Recv(_)) == receives)
    };
    let some_woken = |receives: bool| waiting(receives).any(|entry| entry.task.woken());
    let receives_wait = waiting(true).next().is_some();
    let sends_wait = waiting(false).next().is_some();
    let buffered = tx.len();
    let room = capacity.is_none_or(|capacity| buffered < capacity);
    let context = || {
        format!(
            "{} sent, {} received, {buffered} buffered",
            seen.sent.len(),
            seen.received.len()
        )
    };
    if capacity == Some(0) {
        if receives_wait && sends_wait {
            assert!(
                some_woken(true) || some_woken(false),
                "a send and a receive wait on a rendezvous channel, none woken ({})",
                context()
            );
        }
        return;
    }
    if buffered > 0 && receives_wait {
        assert!(
            some_woken(true),
            "values wait and no waiting receive was woken ({})",
            context()
        );
    }
    if room && sends_wait {
        assert!(
            some_woken(false),
            "room waits and no waiting send was woken ({})",
            context()
        );
    }
}
