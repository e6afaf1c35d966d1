//! Async workloads: verisync's `send_async`/`recv_async` and `Semaphore::acquire_async` against
//! their async peers, `u64` payloads, capacity 1024.
//!
//! Every case runs its tasks on one shared tokio multi-thread runtime of [`WORKERS`] worker
//! threads ([`runtime`]: built once, on first use, and kept for the process, so that no case
//! pays for starting threads). A run builds its channel or semaphore, then from the start of the
//! clock spawns its tasks onto the runtime and waits (`block_on`, from the calling thread, which
//! is not a worker) until every task is done; spawning is inside the time, as it is part of an
//! async program's cost. Every run checks its result, and panics if its tasks are not done
//! within [`DEADLINE`] (a lost wake-up shows up as that panic, not as a hang).
//!
//! - `async_1p1c`: one producer task sends `0..items`, one consumer task receives them and
//!   sums. verisync's `mpmc::channel` and `spsc::channel`, tokio's `mpsc::channel` (the
//!   baseline), async-channel's, flume's (`send_async`/`recv_async`) and kanal's
//!   (`bounded_async`) `bounded`.
//! - `async_4p4c`: four producer tasks send `0..items` between them (one equal contiguous range
//!   each), four consumer tasks receive `items / 4` values each and return their sums, which
//!   must add up to the sum of `0..items` (the quotas add up to `items`, so no consumer waits
//!   for a disconnection). The multi-consumer channels: verisync's `mpmc`, async-channel (the
//!   baseline), flume, kanal; and tokio's `mpsc`, whose one receiver the four consumers share
//!   behind an `Arc<tokio::sync::Mutex>` as tokio code shares it, holding the lock across each
//!   `recv().await` (a reference row: not a multi-consumer channel, so not the baseline).
//! - `async_fanin_1000`: [`FANIN_PRODUCERS`] (1000) producer tasks send `items / 1000` values
//!   each (`items` rounded down to a multiple of 1000), one consumer task receives them all:
//!   many senders waiting at once, far more than the channel has free slots. The `async_1p1c`
//!   peers but verisync's spsc; tokio's `mpsc` is the baseline.
//! - `async_semaphore`: [`TASKS`] tasks share a semaphore of [`PERMITS`] permits; each does
//!   `items / TASKS` rounds (`items` rounded down to a multiple of [`TASKS`]) of: acquire a
//!   permit, count the round in a shared [`Tally`] (which checks that no more than
//!   [`PERMITS`] permits are in use), yield to the scheduler while holding the permit
//!   (`tokio::task::yield_now`, so that holders overlap and acquirers queue up: without it a
//!   task never holds a permit across an await, at most [`WORKERS`] permits are ever taken, and
//!   no acquire ever waits), release. verisync's `Semaphore` (`acquire_async`) against tokio's
//!   (`acquire`, the baseline).
//! - `async_semaphore_uncontended`: one task, one permit, `items` rounds of acquire, count,
//!   release (no yield): the cost of an acquire that never waits. The same two peers.

use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

use crate::common::{CAPACITY, Case, Workload, expected_sum};

/// Worker threads of the shared runtime: one per core of the 2-core machines the numbers are
/// taken on.
pub const WORKERS: usize = 2;
/// Producer tasks of `async_fanin_1000`.
pub const FANIN_PRODUCERS: u64 = 1000;
/// Tasks of `async_semaphore`.
pub const TASKS: u64 = 64;
/// Permits of `async_semaphore`.
pub const PERMITS: usize = 8;
/// How long a run's tasks may take before the run panics instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Row label of tokio's `mpsc` channel, the baseline of the single-consumer workloads.
const TOKIO: &str = "tokio mpsc";
/// Row label of async-channel, the baseline of `async_4p4c`.
const ASYNC_CHANNEL: &str = "async-channel";
/// Row label of tokio's `Semaphore`, the baseline of the semaphore workloads.
const TOKIO_SEMAPHORE: &str = "tokio Semaphore";

/// Moves `items` values from `$producers` tasks to `$consumers` tasks through the channel that
/// `$make` builds, whose endpoints are `Clone` and take `&self`: `$send(value).await` on the
/// producers, `$recv().await` on the consumers, each on its own clone of the endpoint. A
/// macro, not a function: the peers share the method names (or the shapes) but no trait.
macro_rules! shared_group {
    ($items:expr, $producers:expr, $consumers:expr, $make:expr, $send:ident, $recv:ident) => {{
        let (tx, rx) = $make;
        let producers = (0..$producers)
            .map(|_| {
                let tx = tx.clone();
                move |values: Range<u64>| async move {
                    for value in values {
                        tx.$send(value).await.expect("receivers gone");
                    }
                }
            })
            .collect();
        let consumers = (0..$consumers)
            .map(|_| {
                let rx = rx.clone();
                move |quota: u64| async move {
                    let mut sum = 0u64;
                    for _ in 0..quota {
                        sum = sum.wrapping_add(rx.$recv().await.expect("senders gone"));
                    }
                    sum
                }
            })
            .collect();
        drop((tx, rx));
        run_group($items, producers, consumers)
    }};
}

/// The cases of the multi-consumer channels (verisync's `mpmc`, async-channel, flume, kanal)
/// for `$producers` producers and `$consumers` consumers (constants, so the cases stay plain
/// `fn`s).
macro_rules! shared_cases {
    ($producers:expr, $consumers:expr) => {
        vec![
            case("verisync mpmc", |n| {
                shared_group!(
                    n,
                    $producers,
                    $consumers,
                    verisync::mpmc::channel(CAPACITY),
                    send_async,
                    recv_async
                )
            }),
            case(ASYNC_CHANNEL, |n| {
                shared_group!(
                    n,
                    $producers,
                    $consumers,
                    async_channel::bounded(CAPACITY),
                    send,
                    recv
                )
            }),
            case("flume", |n| {
                shared_group!(
                    n,
                    $producers,
                    $consumers,
                    flume::bounded(CAPACITY),
                    send_async,
                    recv_async
                )
            }),
            case("kanal", |n| {
                shared_group!(
                    n,
                    $producers,
                    $consumers,
                    kanal::bounded_async(CAPACITY),
                    send,
                    recv
                )
            }),
        ]
    };
}

/// Runs `$tasks` tasks that share a `$semaphore` of `$permits` permits, each doing
/// `$items / $tasks` rounds (`$items` rounded down to a multiple of `$tasks`) of
/// `$acquire().await`, [`Tally::hold`] (yielding while it holds the permit if
/// `$yield_while_held`) and dropping the permit; the time from the first spawn until every task
/// is done. Panics if a round was lost. A macro, not a function: the peers share the shape but
/// no trait.
macro_rules! semaphore_tasks {
    ($items:expr, $tasks:expr, $permits:expr, $yield_while_held:expr, $semaphore:path, $acquire:ident) => {{
        let tasks: u64 = $tasks;
        let rounds = $items / tasks;
        let semaphore = Arc::new(<$semaphore>::new($permits));
        let tally = Arc::new(Tally::new($permits, $yield_while_held));
        let workers: Vec<_> = (0..tasks)
            .map(|_| {
                let (semaphore, tally) = (semaphore.clone(), tally.clone());
                async move {
                    for _ in 0..rounds {
                        let permit = semaphore.$acquire().await.expect("never closed");
                        tally.hold().await;
                        drop(permit);
                    }
                }
            })
            .collect();
        let (elapsed, ()) = timed(async {
            let workers: Vec<_> = workers.into_iter().map(tokio::spawn).collect();
            for worker in workers {
                join(worker).await;
            }
        });
        assert_eq!(tally.rounds(), rounds * tasks, "rounds were lost");
        elapsed
    }};
}

/// The async workloads, in table order.
pub fn workloads() -> Vec<Workload> {
    let mut one_to_one = shared_cases!(1, 1);
    one_to_one.insert(1, case("verisync spsc", one_to_one_verisync_spsc));
    one_to_one.insert(2, case(TOKIO, |n| tokio_fan_in(n, 1)));
    let mut four_to_four = shared_cases!(4, 4);
    four_to_four.push(case("tokio mpsc+Mutex", four_to_four_tokio_mutex));
    let mut fan_in = shared_cases!(FANIN_PRODUCERS, 1);
    fan_in.insert(1, case(TOKIO, |n| tokio_fan_in(n, FANIN_PRODUCERS)));
    vec![
        Workload {
            id: "async_1p1c",
            baseline: TOKIO,
            items: 1 << 19,
            cases: one_to_one,
        },
        Workload {
            id: "async_4p4c",
            baseline: ASYNC_CHANNEL,
            items: 1 << 18,
            cases: four_to_four,
        },
        Workload {
            id: "async_fanin_1000",
            baseline: TOKIO,
            items: 256_000,
            cases: fan_in,
        },
        Workload {
            id: "async_semaphore",
            baseline: TOKIO_SEMAPHORE,
            items: 1 << 17,
            cases: vec![
                case("verisync Semaphore", |n| {
                    semaphore_tasks!(
                        n,
                        TASKS,
                        PERMITS,
                        true,
                        verisync::semaphore::Semaphore,
                        acquire_async
                    )
                }),
                case(TOKIO_SEMAPHORE, |n| {
                    semaphore_tasks!(n, TASKS, PERMITS, true, tokio::sync::Semaphore, acquire)
                }),
            ],
        },
        Workload {
            id: "async_semaphore_uncontended",
            baseline: TOKIO_SEMAPHORE,
            items: 1 << 20,
            cases: vec![
                case("verisync Semaphore", |n| {
                    semaphore_tasks!(
                        n,
                        1,
                        1,
                        false,
                        verisync::semaphore::Semaphore,
                        acquire_async
                    )
                }),
                case(TOKIO_SEMAPHORE, |n| {
                    semaphore_tasks!(n, 1, 1, false, tokio::sync::Semaphore, acquire)
                }),
            ],
        },
    ]
}

/// A row of a workload.
fn case(name: &'static str, run: fn(u64) -> Duration) -> Case {
    Case { name, run }
}

// ---------------------------------------------------------------------------------------------
// The runtime and the task harness
// ---------------------------------------------------------------------------------------------

/// The runtime every case runs its tasks on: tokio's multi-thread scheduler with [`WORKERS`]
/// worker threads and a timer (for [`DEADLINE`]), built on first use and shared by every run.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("async-bench-worker")
            .enable_time()
            .build()
            .expect("the tokio runtime failed to start")
    })
}

/// Runs `work` on the [`runtime`] from the calling thread and returns the time it took and its
/// result; `work` spawns the tasks and waits for them.
///
/// # Panics
/// If `work` is not done within [`DEADLINE`].
fn timed<R>(work: impl Future<Output = R>) -> (Duration, R) {
    runtime().block_on(async {
        let began = Instant::now();
        let result = tokio::time::timeout(DEADLINE, work)
            .await
            .unwrap_or_else(|_| panic!("the tasks were not done within {DEADLINE:?}: hung?"));
        (began.elapsed(), result)
    })
}

/// Waits for a spawned task and returns its result.
///
/// # Panics
/// If the task panicked.
async fn join<R>(task: JoinHandle<R>) -> R {
    task.await.expect("a task panicked")
}

/// The async counterpart of [`crate::common::run_group`]: spawns every producer and every
/// consumer as a task of its own and returns the time from the first spawn until every task is
/// done.
///
/// `items`, rounded down to a multiple of the number of producers `P`, is split evenly:
/// producer `p` is handed the `p`-th of `P` equal contiguous ranges of `0..items` to send, and
/// every consumer a quota of `items / C` values to receive, so each consumer knows when it is
/// done without any disconnection protocol. Each consumer returns the sum of what it received;
/// the sums must add up to [`expected_sum`]`(items)`.
///
/// # Panics
/// If either list is empty or the rounded `items` is not a multiple of the number of
/// consumers; if a task panicked; if values were lost or duplicated; if the tasks were not done
/// within [`DEADLINE`].
fn run_group<P, PF, C, CF>(items: u64, producers: Vec<P>, consumers: Vec<C>) -> Duration
where
    P: FnOnce(Range<u64>) -> PF,
    PF: Future<Output = ()> + Send + 'static,
    C: FnOnce(u64) -> CF,
    CF: Future<Output = u64> + Send + 'static,
{
    let (producer_count, consumer_count) = (producers.len() as u64, consumers.len() as u64);
    assert!(
        producer_count > 0 && consumer_count > 0,
        "no producers or no consumers"
    );
    let items = items - items % producer_count;
    assert!(
        items.is_multiple_of(consumer_count),
        "{items} items do not split evenly over {consumer_count} consumers"
    );
    let share = items / producer_count;
    let producers: Vec<PF> = producers
        .into_iter()
        .zip(0..)
        .map(|(produce, index)| produce(index * share..(index + 1) * share))
        .collect();
    let quota = items / consumer_count;
    let consumers: Vec<CF> = consumers
        .into_iter()
        .map(|consume| consume(quota))
        .collect();
    let (elapsed, sum) = timed(async {
        let consumers: Vec<_> = consumers.into_iter().map(tokio::spawn).collect();
        let producers: Vec<_> = producers.into_iter().map(tokio::spawn).collect();
        let mut sum = 0u64;
        for consumer in consumers {
            sum = sum.wrapping_add(join(consumer).await);
        }
        for producer in producers {
            join(producer).await;
        }
        sum
    });
    assert_eq!(sum, expected_sum(items), "values were lost or duplicated");
    elapsed
}

// ---------------------------------------------------------------------------------------------
// Channels whose endpoints cannot be shared
// ---------------------------------------------------------------------------------------------

/// verisync's `spsc` channel: its endpoints are not `Clone` and their async operations take
/// `&mut self`, so each task owns its endpoint.
fn one_to_one_verisync_spsc(items: u64) -> Duration {
    let (tx, rx) = verisync::spsc::channel::<u64>(CAPACITY);
    let producer = move |values: Range<u64>| async move {
        let mut tx = tx;
        for value in values {
            tx.send_async(value).await.expect("receiver gone");
        }
    };
    let consumer = move |quota: u64| async move {
        let mut rx = rx;
        let mut sum = 0u64;
        for _ in 0..quota {
            sum = sum.wrapping_add(rx.recv_async().await.expect("sender gone"));
        }
        sum
    };
    run_group(items, vec![producer], vec![consumer])
}

/// tokio's `mpsc` channel with `producers` producers and its one receiver (which cannot be
/// cloned and receives through `&mut self`).
fn tokio_fan_in(items: u64, producers: u64) -> Duration {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let producers = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            move |values: Range<u64>| async move {
                for value in values {
                    tx.send(value).await.expect("receiver gone");
                }
            }
        })
        .collect();
    drop(tx);
    let consumer = move |quota: u64| async move {
        let mut sum = 0u64;
        for _ in 0..quota {
            sum = sum.wrapping_add(rx.recv().await.expect("senders gone"));
        }
        sum
    };
    run_group(items, producers, vec![consumer])
}

/// tokio's `mpsc` channel with four producers and four consumers that share its one receiver
/// behind an async `Mutex`, each holding the lock while it waits for a value.
fn four_to_four_tokio_mutex(items: u64) -> Duration {
    let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let producers = (0..4)
        .map(|_| {
            let tx = tx.clone();
            move |values: Range<u64>| async move {
                for value in values {
                    tx.send(value).await.expect("receiver gone");
                }
            }
        })
        .collect();
    drop(tx);
    let consumers = (0..4)
        .map(|_| {
            let rx = rx.clone();
            move |quota: u64| async move {
                let mut sum = 0u64;
                for _ in 0..quota {
                    let value = rx.lock().await.recv().await;
                    sum = sum.wrapping_add(value.expect("senders gone"));
                }
                sum
            }
        })
        .collect();
    run_group(items, producers, consumers)
}

// ---------------------------------------------------------------------------------------------
// Semaphores
// ---------------------------------------------------------------------------------------------

/// What the semaphore workloads' tasks do while they hold a permit: count the round, check
/// that no more permits are in use than the semaphore has, and (in `async_semaphore`) yield to
/// the scheduler.
struct Tally {
    permits: usize,
    yield_while_held: bool,
    in_use: AtomicUsize,
    rounds: AtomicU64,
}

impl Tally {
    /// A tally for a semaphore of `permits` permits, whose holders yield while they hold a
    /// permit if `yield_while_held`.
    fn new(permits: usize, yield_while_held: bool) -> Self {
        Tally {
            permits,
            yield_while_held,
            in_use: AtomicUsize::new(0),
            rounds: AtomicU64::new(0),
        }
    }

    /// The work of one round, done holding a permit.
    ///
    /// # Panics
    /// If more permits are in use than the semaphore has.
    async fn hold(&self) {
        let before = self.in_use.fetch_add(1, Ordering::Relaxed);
        assert!(
            before < self.permits,
            "more than {} permits in use",
            self.permits
        );
        self.rounds.fetch_add(1, Ordering::Relaxed);
        if self.yield_while_held {
            tokio::task::yield_now().await;
        }
        self.in_use.fetch_sub(1, Ordering::Relaxed);
    }

    /// The rounds counted so far.
    fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }
}
