//! Workloads of the coordination primitives: the semaphore, fan-out and the error collector,
//! each against its peers.
//!
//! - `semaphore_4t_2p` (and `semaphore_8t_2p`): four (eight) threads each acquire and release
//!   a permit of a two-permit semaphore `items / 4` (`items / 8`) times, with a few
//!   nanoseconds of work while holding it. Peers: a
//!   `Mutex<usize>` + `Condvar` semaphore (the std baseline) and a compare-and-swap semaphore
//!   that spins with `crossbeam_utils::Backoff` (snoozing, so it yields) while none is free.
//! - `fanout_200k`: `items` tasks of about 300 ns each, limit 2, results collected in input
//!   order. Peers: a rayon `ThreadPool` of 2 threads (`par_iter().map().collect()`), two scoped
//!   threads claiming indices from an atomic counter, and a pool of two threads fed through a
//!   std `mpsc` channel, whose results come back through another and are put in order (the
//!   baseline). verisync runs `Pool::map` on a `Pool` of 2 threads; every pool is started
//!   before the clock starts.
//! - `fanout_small_maps`: `items / 16` calls of a 16-item map (the same tasks), limit 2, one
//!   after another: the cost of a short parallel call, as a request handler makes. Peers: rayon
//!   `ThreadPool(2)` (`install` + `par_iter`, the baseline), and verisync's free `fanout::map`
//!   on the default pool.
//! - `fanout_scope_100k`: one scope spawns `items` tasks (the same tasks), each adding its
//!   result to an atomic sum. verisync: `Pool::scope` on a `Pool` of 2 threads with limit 64
//!   (the bound on tasks queued or running); rayon: `ThreadPool(2)` `scope` (the baseline),
//!   whose spawns are unbounded.
//! - `errors_2x1m`: two threads push `items / 2` errors each, then the collection is turned
//!   into a `Vec`. Peers: `Mutex<Vec>` (the baseline), crossbeam `SegQueue`, `boxcar::Vec`.
//!
//! Every case checks its result (permits never over-used, results in order, every error kept).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::common::{Case, Workload};

/// Permits of the semaphore workload.
const PERMITS: usize = 2;
/// The fan-out limit, and the threads of every fan-out peer.
const LIMIT: usize = 2;

/// The workloads, in table order.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "semaphore_4t_2p",
            baseline: "std Mutex+Condvar",
            items: 2_000_000,
            cases: vec![
                case("verisync Semaphore", semaphore_verisync::<4>),
                case("std Mutex+Condvar", semaphore_mutex_condvar::<4>),
                case("CAS+Backoff", semaphore_cas_backoff::<4>),
            ],
        },
        Workload {
            id: "semaphore_8t_2p",
            baseline: "std Mutex+Condvar",
            items: 2_000_000,
            cases: vec![
                case("verisync Semaphore", semaphore_verisync::<8>),
                case("std Mutex+Condvar", semaphore_mutex_condvar::<8>),
                case("CAS+Backoff", semaphore_cas_backoff::<8>),
            ],
        },
        Workload {
            id: "fanout_200k",
            baseline: "std mpsc pool",
            items: 200_000,
            cases: vec![
                case("verisync Pool::map", fanout_verisync),
                case("rayon ThreadPool(2)", fanout_rayon),
                case("scoped threads + atomic index", fanout_atomic_index),
                case("std mpsc pool", fanout_mpsc_pool),
            ],
        },
        Workload {
            id: "fanout_small_maps",
            baseline: "rayon ThreadPool(2)",
            items: SMALL_MAP * 2000,
            cases: vec![
                case("verisync Pool::map", small_maps_verisync_pool),
                case(
                    "verisync fanout::map (default pool)",
                    small_maps_verisync_default,
                ),
                case("rayon ThreadPool(2)", small_maps_rayon),
            ],
        },
        Workload {
            id: "fanout_scope_100k",
            baseline: "rayon ThreadPool(2)",
            items: 100_000,
            cases: vec![
                case("verisync Pool::scope", scope_spawns_verisync),
                case("rayon ThreadPool(2)", scope_spawns_rayon),
            ],
        },
        Workload {
            id: "errors_2x1m",
            baseline: "std Mutex<Vec>",
            items: 2_000_000,
            cases: vec![
                case("verisync ErrorCollector", errors_verisync),
                case("std Mutex<Vec>", errors_mutex_vec),
                case("crossbeam SegQueue", errors_seg_queue),
                case("boxcar Vec", errors_boxcar),
            ],
        },
    ]
}

fn case(name: &'static str, run: fn(u64) -> Duration) -> Case {
    Case { name, run }
}

/// Runs `threads` copies of `work` (given the thread's index), released together by a barrier;
/// the time from the release until the last one is done.
fn run_threads(threads: usize, work: impl Fn(usize) + Sync) -> Duration {
    let start = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for index in 0..threads {
            let (start, work) = (&start, &work);
            scope.spawn(move || {
                start.wait();
                work(index);
            });
        }
        start.wait();
        let began = Instant::now();
        // The scope joins every thread before it returns.
        began
    })
    .elapsed()
}

// ---------------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------------

/// Counts the permits in use and fails if more than [`PERMITS`] are.
#[derive(Default)]
struct InUse(AtomicUsize);

impl InUse {
    fn hold(&self) {
        let before = self.0.fetch_add(1, Ordering::Relaxed);
        assert!(before < PERMITS, "more than {PERMITS} permits in use");
        black_box(before);
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn semaphore_verisync<const THREADS: usize>(items: u64) -> Duration {
    let semaphore = verisync::semaphore::Semaphore::new(PERMITS);
    let in_use = InUse::default();
    let rounds = items as usize / THREADS;
    run_threads(THREADS, |_| {
        for _ in 0..rounds {
            let permit = semaphore.acquire().expect("never closed");
            in_use.hold();
            drop(permit);
        }
    })
}

/// The classic semaphore: a count under a mutex, and a condition variable to wait on.
struct MutexSemaphore {
    free: Mutex<usize>,
    released: Condvar,
}

impl MutexSemaphore {
    fn acquire(&self) {
        let mut free = self.free.lock().unwrap();
        while *free == 0 {
            free = self.released.wait(free).unwrap();
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap() += 1;
        self.released.notify_one();
    }
}

fn semaphore_mutex_condvar<const THREADS: usize>(items: u64) -> Duration {
    let semaphore = MutexSemaphore {
        free: Mutex::new(PERMITS),
        released: Condvar::new(),
    };
    let in_use = InUse::default();
    let rounds = items as usize / THREADS;
    run_threads(THREADS, |_| {
        for _ in 0..rounds {
            semaphore.acquire();
            in_use.hold();
            semaphore.release();
        }
    })
}

/// A semaphore that is one atomic count: compare-and-swap to take, backing off while none is
/// free.
struct CasSemaphore(AtomicUsize);

impl CasSemaphore {
    fn acquire(&self) {
        let backoff = crossbeam_utils::Backoff::new();
        let mut free = self.0.load(Ordering::Relaxed);
        loop {
            if free == 0 {
                backoff.snooze();
                free = self.0.load(Ordering::Relaxed);
                continue;
            }
            match self
                .0
                .compare_exchange_weak(free, free - 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => {
                    free = actual;
                    backoff.spin();
                }
            }
        }
    }

    fn release(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

fn semaphore_cas_backoff<const THREADS: usize>(items: u64) -> Duration {
    let semaphore = CasSemaphore(AtomicUsize::new(PERMITS));
    let in_use = InUse::default();
    let rounds = items as usize / THREADS;
    run_threads(THREADS, |_| {
        for _ in 0..rounds {
            semaphore.acquire();
            in_use.hold();
            semaphore.release();
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Fan-out
// ---------------------------------------------------------------------------------------------

/// About 300 ns of work on one core that the optimizer cannot remove.
fn task(input: u64) -> u64 {
    (0..100u64).fold(input, |acc, i| {
        black_box(acc.wrapping_mul(31).wrapping_add(i))
    })
}

/// Checks that `results` are the tasks' results for `0..items`, in order.
fn check_in_order(items: u64, results: &[u64]) {
    assert_eq!(results.len() as u64, items, "results were lost");
    for (input, &result) in (0..items).zip(results).step_by(997) {
        assert_eq!(result, task(input), "result {input} out of order");
    }
}

fn fanout_verisync(items: u64) -> Duration {
    let pool = verisync::fanout::Pool::new(LIMIT);
    let began = Instant::now();
    let results = pool
        .map(0..items, LIMIT, |input| Ok::<_, ()>(task(input)))
        .expect("no task fails");
    let elapsed = began.elapsed();
    check_in_order(items, &results);
    elapsed
}

/// A rayon pool of [`LIMIT`] threads.
fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(LIMIT)
        .build()
        .expect("a rayon pool")
}

fn fanout_rayon(items: u64) -> Duration {
    use rayon::prelude::*;

    let pool = rayon_pool();
    let began = Instant::now();
    let results: Vec<u64> = pool.install(|| (0..items).into_par_iter().map(task).collect());
    let elapsed = began.elapsed();
    check_in_order(items, &results);
    elapsed
}

fn fanout_atomic_index(items: u64) -> Duration {
    let next = AtomicU64::new(0);
    let results: Vec<AtomicU64> = (0..items).map(|_| AtomicU64::new(0)).collect();
    let began = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..LIMIT {
            scope.spawn(|| {
                loop {
                    let input = next.fetch_add(1, Ordering::Relaxed);
                    if input >= items {
                        break;
                    }
                    results[input as usize].store(task(input), Ordering::Relaxed);
                }
            });
        }
    });
    let elapsed = began.elapsed();
    let results: Vec<u64> = results.into_iter().map(AtomicU64::into_inner).collect();
    check_in_order(items, &results);
    elapsed
}

fn fanout_mpsc_pool(items: u64) -> Duration {
    let began = Instant::now();
    let (jobs, job_queue) = mpsc::channel::<u64>();
    let job_queue = Arc::new(Mutex::new(job_queue));
    let (done, results_in) = mpsc::channel::<(u64, u64)>();
    let workers: Vec<_> = (0..LIMIT)
        .map(|_| {
            let (job_queue, done) = (job_queue.clone(), done.clone());
            std::thread::spawn(move || {
                loop {
                    let job = job_queue.lock().unwrap().recv();
                    let Ok(input) = job else { break };
                    done.send((input, task(input))).unwrap();
                }
            })
        })
        .collect();
    drop(done);
    for input in 0..items {
        jobs.send(input).unwrap();
    }
    drop(jobs);
    let mut results = vec![0; items as usize];
    for (input, result) in results_in {
        results[input as usize] = result;
    }
    for worker in workers {
        worker.join().unwrap();
    }
    let elapsed = began.elapsed();
    check_in_order(items, &results);
    elapsed
}

/// Items of each call of `fanout_small_maps`.
const SMALL_MAP: u64 = 16;

/// Runs `items / SMALL_MAP` maps of `SMALL_MAP` items with `map`, checking each; the time of all.
fn small_maps(items: u64, map: impl Fn(std::ops::Range<u64>) -> Vec<u64>) -> Duration {
    let began = Instant::now();
    for call in 0..items / SMALL_MAP {
        let first = call * SMALL_MAP;
        let results = map(first..first + SMALL_MAP);
        assert_eq!(results.len() as u64, SMALL_MAP, "results were lost");
        assert_eq!(results[3], task(first + 3), "results out of order");
    }
    began.elapsed()
}

fn small_maps_verisync_pool(items: u64) -> Duration {
    let pool = verisync::fanout::Pool::new(LIMIT);
    small_maps(items, |inputs| {
        pool.map(inputs, LIMIT, |input| Ok::<_, ()>(task(input)))
            .expect("no task fails")
    })
}

fn small_maps_verisync_default(items: u64) -> Duration {
    // Started before the clock, as the other pools are.
    verisync::fanout::map(0..1, LIMIT, |input| Ok::<_, ()>(task(input))).expect("no task fails");
    small_maps(items, |inputs| {
        verisync::fanout::map(inputs, LIMIT, |input| Ok::<_, ()>(task(input)))
            .expect("no task fails")
    })
}

fn small_maps_rayon(items: u64) -> Duration {
    use rayon::prelude::*;

    let pool = rayon_pool();
    small_maps(items, |inputs| {
        pool.install(|| inputs.into_par_iter().map(task).collect())
    })
}

/// The bound on tasks queued or running in verisync's `fanout_scope_100k` group.
const SCOPE_LIMIT: usize = 64;

/// The sum `fanout_scope_100k` must find.
fn expected_sum(items: u64) -> u64 {
    (0..items).map(task).fold(0, u64::wrapping_add)
}

fn scope_spawns_verisync(items: u64) -> Duration {
    let pool = verisync::fanout::Pool::new(LIMIT);
    let sum = AtomicU64::new(0);
    let began = Instant::now();
    pool.scope(SCOPE_LIMIT, |group| {
        for input in 0..items {
            let sum = &sum;
            group.spawn(move || {
                sum.fetch_add(task(input), Ordering::Relaxed);
                Ok::<_, ()>(())
            });
        }
    })
    .expect("no task fails");
    let elapsed = began.elapsed();
    assert_eq!(sum.into_inner(), expected_sum(items), "a task was lost");
    elapsed
}

fn scope_spawns_rayon(items: u64) -> Duration {
    let pool = rayon_pool();
    let sum = AtomicU64::new(0);
    let began = Instant::now();
    pool.scope(|scope| {
        for input in 0..items {
            let sum = &sum;
            scope.spawn(move |_| {
                sum.fetch_add(task(input), Ordering::Relaxed);
            });
        }
    });
    let elapsed = began.elapsed();
    assert_eq!(sum.into_inner(), expected_sum(items), "a task was lost");
    elapsed
}

// ---------------------------------------------------------------------------------------------
// Error collector
// ---------------------------------------------------------------------------------------------

/// Threads pushing errors.
const PUSHERS: usize = 2;

/// Checks that `collected` holds each of `0..items` once.
fn check_all_kept(items: u64, mut collected: Vec<u64>) {
    assert_eq!(collected.len() as u64, items, "errors were lost");
    collected.sort_unstable();
    assert!(collected.into_iter().eq(0..items), "errors were duplicated");
}

/// Pushes this thread's share of `0..items` with `push`.
fn push_share(items: u64, thread: usize, push: impl Fn(u64)) {
    let share = items / PUSHERS as u64;
    let first = thread as u64 * share;
    for value in first..first + share {
        push(value);
    }
}

fn errors_verisync(items: u64) -> Duration {
    let began = Instant::now();
    let errors = verisync::error_collector::ErrorCollector::new();
    run_threads(PUSHERS, |thread| {
        push_share(items, thread, |v| errors.push(v))
    });
    let collected = errors.into_vec();
    let elapsed = began.elapsed();
    check_all_kept(items, collected);
    elapsed
}

fn errors_mutex_vec(items: u64) -> Duration {
    let began = Instant::now();
    let errors = Mutex::new(Vec::new());
    run_threads(PUSHERS, |thread| {
        push_share(items, thread, |v| errors.lock().unwrap().push(v));
    });
    let collected = errors.into_inner().unwrap();
    let elapsed = began.elapsed();
    check_all_kept(items, collected);
    elapsed
}

fn errors_seg_queue(items: u64) -> Duration {
    let began = Instant::now();
    let errors = crossbeam_queue::SegQueue::new();
    run_threads(PUSHERS, |thread| {
        push_share(items, thread, |v| errors.push(v))
    });
    let collected: Vec<u64> = errors.into_iter().collect();
    let elapsed = began.elapsed();
    check_all_kept(items, collected);
    elapsed
}

fn errors_boxcar(items: u64) -> Duration {
    let began = Instant::now();
    let errors = boxcar::Vec::new();
    run_threads(PUSHERS, |thread| {
        push_share(items, thread, |v| {
            errors.push(v);
        });
    });
    let collected: Vec<u64> = errors.into_iter().collect();
    let elapsed = began.elapsed();
    check_all_kept(items, collected);
    elapsed
}
