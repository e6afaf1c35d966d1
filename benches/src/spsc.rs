//! SPSC workloads: verisync's `spsc` channel against its peers, `u64` payloads, capacity 1024.
//!
//! Three workloads, each a list of [`Case`]s:
//! - `spsc_1p1c`: one producer thread sends `0..items`, one consumer thread receives them all
//!   and checks their sum. Non-blocking queues are driven the way their users drive them, with
//!   `try_`/`push`/`pop` retried while full or empty ([`retry`]: [`spin_loop`] for a while, then
//!   `yield_now`, so that a busy machine slows these cases down instead of stalling them on
//!   scheduler ticks); channels with a blocking API use it. Batch variants move up to [`BATCH`]
//!   values per chunk or slice.
//! - `spsc_floor`: one thread, no contention: fill the queue (1024 pushes), drain it (1024
//!   pops), repeat; `items` is rounded down to whole rounds. The per-operation cost floor.
//! - `spsc_blocking_one_cpu`: blocking `send`/`recv` with both threads pinned to the same CPU,
//!   so every hand-off goes through the scheduler: this is where parking, not spinning, pays.
//!
//! The std baseline of every workload is `std::sync::mpsc::sync_channel(1024)` (in the floor,
//! driven with `try_send`/`try_recv`); `VecDeque` is listed in the floor as a reference point.

use std::collections::VecDeque;
use std::hint::spin_loop;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{
    CAPACITY, Case, Placement, Workload, floor_array_queue, floor_std_sync_channel, run_pair,
    run_rounds,
};

/// Largest chunk or slice a batch case moves at once.
pub const BATCH: usize = 256;

/// Moves `items` values through the blocking channel that `$new(CAPACITY)` builds: `send` on
/// the producer, `recv` on the consumer. A macro, not a function: the peers share the method
/// names but no trait.
macro_rules! blocking_pair {
    ($items:expr, $placement:expr, $new:path) => {{
        let items: u64 = $items;
        let (tx, rx) = $new(CAPACITY);
        run_pair(
            items,
            $placement,
            move || {
                for value in 0..items {
                    tx.send(value).expect("receiver gone");
                }
            },
            move || {
                (0..items).fold(0u64, |sum, _| {
                    sum.wrapping_add(rx.recv().expect("sender gone"))
                })
            },
        )
    }};
}

/// The SPSC workloads, in table order.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "spsc_1p1c",
            baseline: "std sync_channel",
            items: 1 << 20,
            cases: vec![
                case("verisync try_send/try_recv", pair_verisync_try),
                case("verisync send/recv", |n| {
                    blocking_pair!(n, Placement::Free, verisync::spsc::channel)
                }),
                case("verisync chunks", pair_verisync_chunks),
                case("std sync_channel", |n| {
                    blocking_pair!(n, Placement::Free, std::sync::mpsc::sync_channel)
                }),
                case("rtrb", pair_rtrb),
                case("rtrb chunks", pair_rtrb_chunks),
                case("ringbuf", pair_ringbuf),
                case("ringbuf slices", pair_ringbuf_slices),
                case("crossbeam ArrayQueue", pair_array_queue),
                case("crossbeam-channel", |n| {
                    blocking_pair!(n, Placement::Free, crossbeam_channel::bounded)
                }),
                case("kanal", |n| {
                    blocking_pair!(n, Placement::Free, kanal::bounded)
                }),
                case("flume", |n| {
                    blocking_pair!(n, Placement::Free, flume::bounded)
                }),
            ],
        },
        Workload {
            id: "spsc_floor",
            baseline: "std sync_channel",
            items: 1 << 20,
            cases: vec![
                case("verisync try_send/try_recv", floor_verisync),
                case("verisync chunks", floor_verisync_chunks),
                case("std sync_channel", floor_std_sync_channel),
                case("std VecDeque", floor_vecdeque),
                case("rtrb", floor_rtrb),
                case("rtrb chunks", floor_rtrb_chunks),
                case("ringbuf", floor_ringbuf),
                case("crossbeam ArrayQueue", floor_array_queue),
            ],
        },
        Workload {
            id: "spsc_blocking_one_cpu",
            baseline: "std sync_channel",
            items: 1 << 20,
            cases: vec![
                case("verisync send/recv", |n| {
                    blocking_pair!(n, Placement::OneCpu, verisync::spsc::channel)
                }),
                case("std sync_channel", |n| {
                    blocking_pair!(n, Placement::OneCpu, std::sync::mpsc::sync_channel)
                }),
                case("crossbeam-channel", |n| {
                    blocking_pair!(n, Placement::OneCpu, crossbeam_channel::bounded)
                }),
                case("kanal", |n| {
                    blocking_pair!(n, Placement::OneCpu, kanal::bounded)
                }),
                case("flume", |n| {
                    blocking_pair!(n, Placement::OneCpu, flume::bounded)
                }),
            ],
        },
    ]
}

fn case(name: &'static str, run: fn(u64) -> Duration) -> Case {
    Case { name, run }
}

/// Failed attempts in a row that [`retry`] answers with [`spin_loop`]; after that it yields.
///
/// Pure spinning is how these queues are used when each thread has a core of its own, and there
/// a wait is over long before this many spins. When the two threads share a core (a busy or
/// small machine), a pure spinner keeps it until the scheduler's tick, so every hand-off would
/// cost milliseconds; yielding hands the core over at once.
const SPINS_BEFORE_YIELD: u32 = 128;

/// Calls `attempt` until it returns `Some`, idling ([`Idle`]) between failures.
#[inline(always)]
fn retry<R>(mut attempt: impl FnMut() -> Option<R>) -> R {
    let mut idle = Idle::default();
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        idle.wait();
    }
}

/// Counts failed attempts in a row: [`spin_loop`] for the first [`SPINS_BEFORE_YIELD`], then
/// `yield_now`.
#[derive(Default)]
struct Idle(u32);

impl Idle {
    #[inline(always)]
    fn wait(&mut self) {
        if self.0 < SPINS_BEFORE_YIELD {
            self.0 += 1;
            spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1 producer / 1 consumer
// ---------------------------------------------------------------------------------------------

fn pair_verisync_try(items: u64) -> Duration {
    use verisync::spsc::{TryRecvError, TrySendError};
    let (tx, rx) = verisync::spsc::channel::<u64>(CAPACITY);
    run_pair(
        items,
        Placement::Free,
        move || {
            for value in 0..items {
                retry(|| match tx.try_send(value) {
                    Ok(()) => Some(()),
                    Err(TrySendError::Full(_)) => None,
                    Err(TrySendError::Disconnected(_)) => panic!("receiver gone"),
                });
            }
        },
        move || {
            (0..items).fold(0u64, |sum, _| {
                sum.wrapping_add(retry(|| match rx.try_recv() {
                    Ok(value) => Some(value),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => panic!("sender gone"),
                }))
            })
        },
    )
}

fn pair_verisync_chunks(items: u64) -> Duration {
    let (mut tx, mut rx) = verisync::spsc::channel::<u64>(CAPACITY);
    run_pair(
        items,
        Placement::Free,
        move || {
            let (mut next, mut idle) = (0u64, Idle::default());
            while next < items {
                let mut chunk = tx.write_chunk(BATCH);
                if chunk.is_empty() {
                    drop(chunk);
                    idle.wait();
                    continue;
                }
                next += chunk.fill_from_iter(next..items) as u64;
                idle = Idle::default();
            }
        },
        move || {
            let (mut sum, mut left, mut idle) = (0u64, items, Idle::default());
            while left > 0 {
                let chunk = rx.read_chunk(BATCH);
                if chunk.len() == 0 {
                    drop(chunk);
                    idle.wait();
                    continue;
                }
                left -= chunk.len() as u64;
                sum = chunk.fold(sum, u64::wrapping_add);
                idle = Idle::default();
            }
            sum
        },
    )
}

fn pair_rtrb(items: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    run_pair(
        items,
        Placement::Free,
        move || {
            for value in 0..items {
                retry(|| tx.push(value).ok());
            }
        },
        move || (0..items).fold(0u64, |sum, _| sum.wrapping_add(retry(|| rx.pop().ok()))),
    )
}

fn pair_rtrb_chunks(items: u64) -> Duration {
    use rtrb::chunks::ChunkError;
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    run_pair(
        items,
        Placement::Free,
        move || {
            let (mut next, mut idle) = (0u64, Idle::default());
            while next < items {
                // rtrb hands out exactly `n` slots, or fails saying how many there are.
                let want = BATCH.min((items - next) as usize);
                let chunk = match tx.write_chunk_uninit(want) {
                    Ok(chunk) => chunk,
                    Err(ChunkError::TooFewSlots(0)) => {
                        idle.wait();
                        continue;
                    }
                    Err(ChunkError::TooFewSlots(free)) => {
                        tx.write_chunk_uninit(free).expect("free slots vanished")
                    }
                };
                next += chunk.fill_from_iter(next..items) as u64;
                idle = Idle::default();
            }
        },
        move || {
            let (mut sum, mut left, mut idle) = (0u64, items, Idle::default());
            while left > 0 {
                let chunk = match rx.read_chunk(BATCH) {
                    Ok(chunk) => chunk,
                    Err(ChunkError::TooFewSlots(0)) => {
                        idle.wait();
                        continue;
                    }
                    Err(ChunkError::TooFewSlots(ready)) => {
                        rx.read_chunk(ready).expect("ready values vanished")
                    }
                };
                left -= chunk.len() as u64;
                sum = chunk.into_iter().fold(sum, u64::wrapping_add);
                idle = Idle::default();
            }
            sum
        },
    )
}

fn pair_ringbuf(items: u64) -> Duration {
    use ringbuf::traits::{Consumer, Producer, Split};
    let (mut tx, mut rx) = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
    run_pair(
        items,
        Placement::Free,
        move || {
            for value in 0..items {
                retry(|| tx.try_push(value).ok());
            }
        },
        move || (0..items).fold(0u64, |sum, _| sum.wrapping_add(retry(|| rx.try_pop()))),
    )
}

fn pair_ringbuf_slices(items: u64) -> Duration {
    use ringbuf::traits::{Consumer, Producer, Split};
    let (mut tx, mut rx) = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
    run_pair(
        items,
        Placement::Free,
        move || {
            let mut staged = [0u64; BATCH];
            let mut next = 0u64;
            while next < items {
                let count = BATCH.min((items - next) as usize);
                for (slot, value) in staged[..count].iter_mut().zip(next..) {
                    *slot = value;
                }
                next += count as u64;
                let mut from = 0;
                while from < count {
                    from += retry(|| Some(tx.push_slice(&staged[from..count])).filter(|&n| n > 0));
                }
            }
        },
        move || {
            let mut landing = [0u64; BATCH];
            let mut sum = 0u64;
            let mut left = items;
            while left > 0 {
                let popped = retry(|| Some(rx.pop_slice(&mut landing)).filter(|&n| n > 0));
                left -= popped as u64;
                sum = landing[..popped]
                    .iter()
                    .fold(sum, |s, &v| s.wrapping_add(v));
            }
            sum
        },
    )
}

fn pair_array_queue(items: u64) -> Duration {
    let queue = Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY));
    let rx = queue.clone();
    run_pair(
        items,
        Placement::Free,
        move || {
            for value in 0..items {
                retry(|| queue.push(value).ok());
            }
        },
        move || (0..items).fold(0u64, |sum, _| sum.wrapping_add(retry(|| rx.pop()))),
    )
}

// ---------------------------------------------------------------------------------------------
// Single-thread floor: fill, drain, repeat.
// ---------------------------------------------------------------------------------------------

fn floor_verisync(items: u64) -> Duration {
    let (tx, rx) = verisync::spsc::channel::<u64>(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            tx.try_send(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(rx.try_recv().expect("empty")))
    })
}

fn floor_verisync_chunks(items: u64) -> Duration {
    let (mut tx, mut rx) = verisync::spsc::channel::<u64>(CAPACITY);
    run_rounds(items, |mut values| {
        for _ in 0..CAPACITY / BATCH {
            let filled = tx.write_chunk(BATCH).fill_from_iter(&mut values);
            assert_eq!(filled, BATCH, "full");
        }
        (0..CAPACITY / BATCH).fold(0u64, |sum, _| {
            let chunk = rx.read_chunk(BATCH);
            assert_eq!(chunk.len(), BATCH, "empty");
            chunk.fold(sum, u64::wrapping_add)
        })
    })
}

fn floor_vecdeque(items: u64) -> Duration {
    let mut queue = VecDeque::<u64>::with_capacity(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            queue.push_back(value);
        }
        (0..CAPACITY).fold(0, |sum, _| {
            sum.wrapping_add(queue.pop_front().expect("empty"))
        })
    })
}

fn floor_rtrb(items: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            tx.push(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(rx.pop().expect("empty")))
    })
}

fn floor_rtrb_chunks(items: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    run_rounds(items, |mut values| {
        for _ in 0..CAPACITY / BATCH {
            let filled = tx
                .write_chunk_uninit(BATCH)
                .expect("full")
                .fill_from_iter(&mut values);
            assert_eq!(filled, BATCH, "full");
        }
        (0..CAPACITY / BATCH).fold(0u64, |sum, _| {
            let chunk = rx.read_chunk(BATCH).expect("empty");
            chunk.into_iter().fold(sum, u64::wrapping_add)
        })
    })
}

fn floor_ringbuf(items: u64) -> Duration {
    use ringbuf::traits::{Consumer, Producer, Split};
    let (mut tx, mut rx) = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
    run_rounds(items, |values| {
        for value in values {
            tx.try_push(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(rx.try_pop().expect("empty")))
    })
}
