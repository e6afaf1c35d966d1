//! MPMC workloads: verisync's `mpmc` channels and queue against their peers, `u64` payloads,
//! capacity 1024 where bounded.
//!
//! Four workloads, each a list of [`Case`]s:
//! - `mpmc_2p2c`, `mpmc_4p4c`: `P` producer threads send `0..items` between them (one equal
//!   contiguous range each), `C` consumer threads receive `items / C` values each and return
//!   their sums, which must add up to the sum of `0..items` ([`run_group`]). 4p4c runs eight
//!   threads, more than a small machine has cores: there a spinning thread keeps a core from the
//!   thread it waits for, so this is where parking and backing off pay. Channels with a blocking
//!   API use it (`send`/`recv`, or verisync's `send_many`/`recv_many` with up to [`BATCH`] values
//!   per receive); the non-blocking queues (verisync's `Queue`, crossbeam's `ArrayQueue`) retry
//!   `push`/`pop` with [`retry`] (crossbeam's `Backoff`: spin, then yield).
//! - `mpmc_2p1c`: the same with two producers and one consumer, so that std's `sync_channel`,
//!   whose receiver cannot be cloned, takes part.
//! - `unbounded_1p1c`, `unbounded_2p2c`, `unbounded_4p4c`: the same through unbounded
//!   channels (verisync's `mpmc::unbounded`, crossbeam-channel's, kanal's and flume's
//!   `unbounded`), so sends never wait; the baseline is std's `channel()` for 1p1c (its receiver
//!   cannot be cloned) and an unbounded `Mutex<VecDeque>` with a `Condvar` otherwise.
//! - `rendezvous_pingpong`: two threads bounce each value over two rendezvous channels
//!   (capacity 0: a send completes only when the other thread takes the value); `items` round
//!   trips. verisync's `mpmc::channel(0)`, crossbeam-channel's and flume's `bounded(0)`,
//!   kanal's `bounded(0)`, std's `sync_channel(0)` (the baseline).
//! - `rendezvous_2p2c`: the 2p2c workload through one rendezvous channel; std's receiver,
//!   which cannot be cloned, is shared behind a `Mutex`, as std code shares it.
//! - `select_2p1c`: two producer threads each send half of `0..items` into a channel of
//!   their own (capacity 1024); one consumer takes every value with a select over both
//!   receivers: verisync's `Select`, crossbeam-channel's `select!` (the baseline), flume's
//!   `Selector`. `select_rendezvous_2p1c`: the same over rendezvous channels.
//! - `mpmc_floor`: one thread, no contention: fill the queue (1024 pushes), drain it (1024
//!   pops), repeat; `items` is rounded down to whole rounds. The per-operation cost floor.
//!
//! The std baseline: a `Mutex<VecDeque>` with two `Condvar`s ([`LockedChannel`]) for 2p2c and
//! 4p4c, `std::sync::mpsc::sync_channel(1024)` for 2p1c and the floor (driven there with
//! `try_send`/`try_recv`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_utils::Backoff;

use crate::common::{
    CAPACITY, Case, Workload, floor_array_queue, floor_std_sync_channel, run_group, run_rounds,
};

/// Most values one `recv_many` takes.
pub const BATCH: usize = 256;

/// Moves `items` values from `$producers` threads to `$consumers` threads through the blocking
/// channel that `$make` builds: `send` on the producers, `recv` on the consumers, each on its
/// own clone of the endpoint. A macro, not a function: the peers share the method names but no
/// trait.
macro_rules! blocking_group {
    ($items:expr, $producers:expr, $consumers:expr, $make:expr) => {{
        let (tx, rx) = $make;
        let producers = (0..$producers)
            .map(|_| {
                let tx = tx.clone();
                move |values: Range<u64>| {
                    for value in values {
                        tx.send(value).expect("receivers gone");
                    }
                }
            })
            .collect();
        let consumers = (0..$consumers)
            .map(|_| {
                let rx = rx.clone();
                move |quota: u64| {
                    (0..quota).fold(0u64, |sum, _| {
                        sum.wrapping_add(rx.recv().expect("senders gone"))
                    })
                }
            })
            .collect();
        drop((tx, rx));
        run_group($items, producers, consumers)
    }};
}

/// Moves `items` values from `$producers` threads to `$consumers` threads through the
/// non-blocking queue that `$new(CAPACITY)` builds, shared in an `Arc`: `push` and `pop`, each
/// retried while the queue is full or empty.
macro_rules! retrying_group {
    ($items:expr, $producers:expr, $consumers:expr, $new:path) => {{
        let queue = Arc::new($new(CAPACITY));
        let producers = (0..$producers)
            .map(|_| {
                let queue = queue.clone();
                move |values: Range<u64>| {
                    for value in values {
                        retry(|| queue.push(value).ok());
                    }
                }
            })
            .collect();
        let consumers = (0..$consumers)
            .map(|_| {
                let queue = queue.clone();
                move |quota: u64| {
                    (0..quota).fold(0u64, |sum, _| sum.wrapping_add(retry(|| queue.pop())))
                }
            })
            .collect();
        run_group($items, producers, consumers)
    }};
}

/// The cases every threaded workload runs, for `$producers` producers and `$consumers`
/// consumers (constants, so the cases stay plain `fn`s).
macro_rules! group_cases {
    ($producers:expr, $consumers:expr) => {
        vec![
            case("verisync send/recv", |n| {
                blocking_group!(n, $producers, $consumers, verisync::mpmc::channel(CAPACITY))
            }),
            case("verisync send_many/recv_many", |n| {
                group_verisync_batches(n, $producers, $consumers)
            }),
            case("verisync Queue", |n| {
                retrying_group!(n, $producers, $consumers, verisync::mpmc::Queue::new)
            }),
            case("crossbeam-channel", |n| {
                blocking_group!(
                    n,
                    $producers,
                    $consumers,
                    crossbeam_channel::bounded(CAPACITY)
                )
            }),
            case("kanal", |n| {
                blocking_group!(n, $producers, $consumers, kanal::bounded(CAPACITY))
            }),
            case("flume", |n| {
                blocking_group!(n, $producers, $consumers, flume::bounded(CAPACITY))
            }),
            case("crossbeam ArrayQueue", |n| {
                retrying_group!(n, $producers, $consumers, crossbeam_queue::ArrayQueue::new)
            }),
            case(LOCKED, |n| {
                blocking_group!(n, $producers, $consumers, LockedChannel::bounded(CAPACITY))
            }),
        ]
    };
}

/// The cases of the unbounded workloads, for `$producers` producers and `$consumers`
/// consumers.
macro_rules! unbounded_cases {
    ($producers:expr, $consumers:expr) => {
        vec![
            case("verisync unbounded", |n| {
                blocking_group!(n, $producers, $consumers, verisync::mpmc::unbounded())
            }),
            case("crossbeam-channel", |n| {
                blocking_group!(n, $producers, $consumers, crossbeam_channel::unbounded())
            }),
            case("kanal", |n| {
                blocking_group!(n, $producers, $consumers, kanal::unbounded())
            }),
            case("flume", |n| {
                blocking_group!(n, $producers, $consumers, flume::unbounded())
            }),
            case(LOCKED, |n| {
                blocking_group!(n, $producers, $consumers, LockedChannel::unbounded())
            }),
        ]
    };
}

/// Bounces `$items` values between this thread and an echo thread over two channels that
/// `$make` builds; the time of the round trips, seen from this thread.
macro_rules! pingpong {
    ($items:expr, $make:expr) => {{
        let (to_echo, echo_in) = $make;
        let (echo_out, from_echo) = $make;
        let echo = std::thread::spawn(move || {
            for _ in 0..$items {
                let value = echo_in.recv().expect("pinger gone");
                echo_out.send(value).expect("pinger gone");
            }
        });
        let began = std::time::Instant::now();
        for value in 0..$items {
            to_echo.send(value).expect("echo gone");
            assert_eq!(from_echo.recv().expect("echo gone"), value);
        }
        let elapsed = began.elapsed();
        echo.join().expect("the echo thread panicked");
        elapsed
    }};
}

/// Moves `$items` values from two producer threads, each sending into a channel of its own
/// that `$make` builds, to one consumer that takes each value from whichever channel is ready
/// with `$select`, an expression over the two receivers `$rx1` and `$rx2` that evaluates to
/// the value. The consumer keeps a sender of each channel, so neither disconnects while the
/// other still carries values.
macro_rules! select_group {
    ($items:expr, $make:expr, |$rx1:ident, $rx2:ident| $select:expr) => {{
        let (tx1, rx1) = $make;
        let (tx2, rx2) = $make;
        let keep = (tx1.clone(), tx2.clone());
        let producers = [tx1, tx2]
            .into_iter()
            .map(|tx| {
                move |values: Range<u64>| {
                    for value in values {
                        tx.send(value).expect("receiver gone");
                    }
                }
            })
            .collect();
        let consumer = move |quota: u64| {
            let _keep = keep;
            let ($rx1, $rx2) = (&rx1, &rx2);
            (0..quota).fold(0u64, |sum, _| sum.wrapping_add($select))
        };
        run_group($items, producers, vec![consumer])
    }};
}

/// The cases of the select workloads, over channels of `$capacity`.
macro_rules! select_cases {
    ($capacity:expr) => {
        vec![
            case("verisync Select", |n| {
                select_group!(n, verisync::mpmc::channel($capacity), |a, b| {
                    verisync::select::Select::new()
                        .recv(a, |v| v)
                        .recv(b, |v| v)
                        .select()
                        .expect("senders gone")
                })
            }),
            case(CROSSBEAM_SELECT, |n| {
                select_group!(n, crossbeam_channel::bounded($capacity), |a, b| {
                    crossbeam_channel::select! {
                        recv(a) -> v => v,
                        recv(b) -> v => v,
                    }
                    .expect("senders gone")
                })
            }),
            case("flume Selector", |n| {
                select_group!(n, flume::bounded($capacity), |a, b| {
                    flume::Selector::new()
                        .recv(a, |v| v)
                        .recv(b, |v| v)
                        .wait()
                        .expect("senders gone")
                })
            }),
        ]
    };
}

/// Row label of crossbeam-channel's `select!`, the select workloads' baseline.
const CROSSBEAM_SELECT: &str = "crossbeam select!";
/// Row label of [`LockedChannel`].
const LOCKED: &str = "Mutex<VecDeque>+Condvar";
/// Row label of `std::sync::mpsc::sync_channel(0)`.
const STD_RENDEZVOUS: &str = "std sync_channel(0)";
/// Row label of `std::sync::mpsc::channel`.
const STD_UNBOUNDED: &str = "std channel";
/// Row label of `std::sync::mpsc::sync_channel`.
const STD: &str = "std sync_channel";

/// The MPMC workloads, in table order.
pub fn workloads() -> Vec<Workload> {
    let mut two_to_one = group_cases!(2, 1);
    two_to_one.push(case(STD, group_std_2p1c));
    let mut unbounded_one_to_one = unbounded_cases!(1, 1);
    unbounded_one_to_one.push(case(STD_UNBOUNDED, group_std_unbounded_1p1c));
    vec![
        Workload {
            id: "mpmc_2p2c",
            baseline: LOCKED,
            items: 1 << 20,
            cases: group_cases!(2, 2),
        },
        Workload {
            id: "mpmc_4p4c",
            baseline: LOCKED,
            items: 1 << 20,
            cases: group_cases!(4, 4),
        },
        Workload {
            id: "mpmc_2p1c",
            baseline: STD,
            items: 1 << 20,
            cases: two_to_one,
        },
        Workload {
            id: "unbounded_1p1c",
            baseline: STD_UNBOUNDED,
            items: 1 << 20,
            cases: unbounded_one_to_one,
        },
        Workload {
            id: "unbounded_2p2c",
            baseline: LOCKED,
            items: 1 << 20,
            cases: unbounded_cases!(2, 2),
        },
        Workload {
            id: "unbounded_4p4c",
            baseline: LOCKED,
            items: 1 << 20,
            cases: unbounded_cases!(4, 4),
        },
        Workload {
            id: "rendezvous_pingpong",
            baseline: STD_RENDEZVOUS,
            items: 1 << 14,
            cases: vec![
                case("verisync channel(0)", |n| {
                    pingpong!(n, verisync::mpmc::channel::<u64>(0))
                }),
                case("crossbeam-channel", |n| {
                    pingpong!(n, crossbeam_channel::bounded::<u64>(0))
                }),
                case("kanal", |n| pingpong!(n, kanal::bounded::<u64>(0))),
                case("flume", |n| pingpong!(n, flume::bounded::<u64>(0))),
                case(STD_RENDEZVOUS, |n| {
                    pingpong!(n, std::sync::mpsc::sync_channel::<u64>(0))
                }),
            ],
        },
        Workload {
            id: "rendezvous_2p2c",
            baseline: STD_RENDEZVOUS,
            items: 1 << 15,
            cases: vec![
                case("verisync channel(0)", |n| {
                    blocking_group!(n, 2, 2, verisync::mpmc::channel(0))
                }),
                case("crossbeam-channel", |n| {
                    blocking_group!(n, 2, 2, crossbeam_channel::bounded(0))
                }),
                case("kanal", |n| blocking_group!(n, 2, 2, kanal::bounded(0))),
                case("flume", |n| blocking_group!(n, 2, 2, flume::bounded(0))),
                case(STD_RENDEZVOUS, group_std_rendezvous_2p2c),
            ],
        },
        Workload {
            id: "select_2p1c",
            baseline: CROSSBEAM_SELECT,
            items: 1 << 20,
            cases: select_cases!(CAPACITY),
        },
        Workload {
            id: "select_rendezvous_2p1c",
            baseline: CROSSBEAM_SELECT,
            items: 1 << 15,
            cases: select_cases!(0),
        },
        Workload {
            id: "mpmc_floor",
            baseline: STD,
            items: 1 << 20,
            cases: vec![
                case("verisync Queue", floor_verisync_queue),
                case("verisync try_send/try_recv", floor_verisync_channel),
                case("verisync send_many/try_recv_many", floor_verisync_batches),
                case(STD, floor_std_sync_channel),
                case("crossbeam ArrayQueue", floor_array_queue),
            ],
        },
    ]
}

fn case(name: &'static str, run: fn(u64) -> Duration) -> Case {
    Case { name, run }
}

/// Calls `attempt` until it returns `Some`, backing off between failures (crossbeam's `Backoff`:
/// a few exponentially longer spins, then `yield_now`, so that a waiting thread hands its core
/// over when threads outnumber cores instead of spinning until the scheduler's tick).
#[inline(always)]
fn retry<R>(mut attempt: impl FnMut() -> Option<R>) -> R {
    let backoff = Backoff::new();
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        backoff.snooze();
    }
}

/// The std baseline of the multi-consumer workloads: a bounded channel of `u64`s written the
/// plain way, a `VecDeque` behind a `Mutex` and one `Condvar` per side to sleep on while the
/// queue is full or empty. A side only notifies when the other side has sleepers, as careful
/// code does (`Condvar::notify_one` makes a system call even when nobody waits). No
/// disconnection: the workloads never need it.
struct LockedChannel {
    state: Mutex<LockedState>,
    capacity: usize,
    /// Senders sleep here while the queue is full.
    not_full: Condvar,
    /// Receivers sleep here while the queue is empty.
    not_empty: Condvar,
}

struct LockedState {
    queue: VecDeque<u64>,
    sleeping_senders: usize,
    sleeping_receivers: usize,
}

impl LockedChannel {
    /// Both ends of a channel holding up to `capacity` values (the same shared object).
    fn bounded(capacity: usize) -> (Arc<Self>, Arc<Self>) {
        let channel = Arc::new(LockedChannel {
            state: Mutex::new(LockedState {
                queue: VecDeque::with_capacity(capacity),
                sleeping_senders: 0,
                sleeping_receivers: 0,
            }),
            capacity,
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
        });
        (channel.clone(), channel)
    }

    /// Both ends of a channel without a bound.
    fn unbounded() -> (Arc<Self>, Arc<Self>) {
        let channel = Arc::new(LockedChannel {
            state: Mutex::new(LockedState {
                queue: VecDeque::new(),
                sleeping_senders: 0,
                sleeping_receivers: 0,
            }),
            capacity: usize::MAX,
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
        });
        (channel.clone(), channel)
    }

    fn lock(&self) -> MutexGuard<'_, LockedState> {
        self.state
            .lock()
            .expect("a thread panicked holding the lock")
    }

    fn send(&self, value: u64) -> Result<(), Infallible> {
        let mut state = self.lock();
        while state.queue.len() == self.capacity {
            state.sleeping_senders += 1;
            state = self.not_full.wait(state).expect("poisoned");
            state.sleeping_senders -= 1;
        }
        state.queue.push_back(value);
        let wake = state.sleeping_receivers > 0;
        drop(state);
        if wake {
            self.not_empty.notify_one();
        }
        Ok(())
    }

    fn recv(&self) -> Result<u64, Infallible> {
        let mut state = self.lock();
        let value = loop {
            if let Some(value) = state.queue.pop_front() {
                break value;
            }
            state.sleeping_receivers += 1;
            state = self.not_empty.wait(state).expect("poisoned");
            state.sleeping_receivers -= 1;
        };
        let wake = state.sleeping_senders > 0;
        drop(state);
        if wake {
            self.not_full.notify_one();
        }
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Producers and consumers on threads of their own
// ---------------------------------------------------------------------------------------------

/// verisync's batch operations: each producer hands its whole range to `send_many`, each
/// consumer takes up to [`BATCH`] values per `recv_many`.
fn group_verisync_batches(items: u64, producers: usize, consumers: usize) -> Duration {
    let (tx, rx) = verisync::mpmc::channel::<u64>(CAPACITY);
    let producers = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            move |values: Range<u64>| tx.send_many(values).expect("receivers gone")
        })
        .collect();
    let consumers = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            move |quota: u64| {
                let mut batch = Vec::with_capacity(BATCH);
                let (mut sum, mut left) = (0u64, quota);
                while left > 0 {
                    batch.clear();
                    let want = BATCH.min(usize::try_from(left).unwrap_or(BATCH));
                    left -= rx.recv_many(&mut batch, want).expect("senders gone") as u64;
                    sum = batch
                        .iter()
                        .fold(sum, |sum, &value| sum.wrapping_add(value));
                }
                sum
            }
        })
        .collect();
    drop((tx, rx));
    run_group(items, producers, consumers)
}

/// Moves `items` values from `$producers` threads to the one receiver of the std channel that
/// `$make` builds (its receiver cannot be cloned).
macro_rules! std_group {
    ($items:expr, $producers:expr, $make:expr) => {{
        let (tx, rx) = $make;
        let producers = (0..$producers)
            .map(|_| {
                let tx = tx.clone();
                move |values: Range<u64>| {
                    for value in values {
                        tx.send(value).expect("receiver gone");
                    }
                }
            })
            .collect();
        drop(tx);
        let consumer = move |quota: u64| {
            (0..quota).fold(0u64, |sum, _| {
                sum.wrapping_add(rx.recv().expect("senders gone"))
            })
        };
        run_group($items, producers, vec![consumer])
    }};
}

/// std's `sync_channel` with two producers and its one receiver.
fn group_std_2p1c(items: u64) -> Duration {
    std_group!(items, 2, std::sync::mpsc::sync_channel::<u64>(CAPACITY))
}

/// std's `sync_channel(0)` with two producers and two consumers sharing its receiver behind a
/// `Mutex` (std's receiver cannot be cloned).
fn group_std_rendezvous_2p2c(items: u64) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(0);
    let rx = Arc::new(Mutex::new(rx));
    let producers = (0..2)
        .map(|_| {
            let tx = tx.clone();
            move |values: Range<u64>| {
                for value in values {
                    tx.send(value).expect("receiver gone");
                }
            }
        })
        .collect();
    drop(tx);
    let consumers = (0..2)
        .map(|_| {
            let rx = rx.clone();
            move |quota: u64| {
                (0..quota).fold(0u64, |sum, _| {
                    let value = rx.lock().expect("poisoned").recv();
                    sum.wrapping_add(value.expect("senders gone"))
                })
            }
        })
        .collect();
    run_group(items, producers, consumers)
}

/// std's unbounded `channel` with one producer and its one receiver.
fn group_std_unbounded_1p1c(items: u64) -> Duration {
    std_group!(items, 1, std::sync::mpsc::channel::<u64>())
}

// ---------------------------------------------------------------------------------------------
// Single-thread floor: fill, drain, repeat.
// ---------------------------------------------------------------------------------------------

fn floor_verisync_queue(items: u64) -> Duration {
    let queue = verisync::mpmc::Queue::<u64>::new(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            queue.push(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(queue.pop().expect("empty")))
    })
}

fn floor_verisync_channel(items: u64) -> Duration {
    let (tx, rx) = verisync::mpmc::channel::<u64>(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            tx.try_send(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(rx.try_recv().expect("empty")))
    })
}

fn floor_verisync_batches(items: u64) -> Duration {
    let (tx, rx) = verisync::mpmc::channel::<u64>(CAPACITY);
    let mut batch = Vec::with_capacity(BATCH);
    run_rounds(items, |values| {
        tx.send_many(values).expect("receiver gone");
        (0..CAPACITY / BATCH).fold(0u64, |sum, _| {
            batch.clear();
            let taken = rx.try_recv_many(&mut batch, BATCH).expect("empty");
            assert_eq!(taken, BATCH, "fewer values than sent");
            batch
                .iter()
                .fold(sum, |sum, &value| sum.wrapping_add(value))
        })
    })
}
