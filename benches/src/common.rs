//! What every workload module shares: the [`Workload`] / [`Case`] description that both the
//! criterion benches (`benches/benches/<prim>.rs`) and the main job (`src/bin/compare/`)
//! iterate over, and the thread harnesses the multi-thread cases run in: [`run_pair`] for one
//! producer and one consumer, [`run_group`] for any number of each.
//!
//! A module of this crate's library, like every workload module, so that the benches and the
//! compare program share them. No workload code exists twice: a bench and the compare program
//! only differ in how many items they move and how often they repeat.
//! The single-thread floor harness ([`run_rounds`]) lives here too, with the floor cases of the
//! peers that more than one primitive is measured against.

use std::ops::Range;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// One implementation running one workload.
pub struct Case {
    /// Row label, e.g. `"rtrb chunks"`; unique within its workload.
    pub name: &'static str,
    /// Moves `items` values (rounded as the workload documents) and returns the time it took,
    /// excluding thread start-up and tear-down. Panics if a value was lost or duplicated.
    pub run: fn(items: u64) -> Duration,
}

/// A set of implementations doing the same job: one criterion group, one block of table rows.
pub struct Workload {
    /// Criterion group name and the table's workload column, e.g. `"spsc_1p1c"`.
    pub id: &'static str,
    /// Name of the case that the table's ratio column divides by (a std implementation);
    /// only the compare program's table and chart read it.
    pub baseline: &'static str,
    /// How many items one run moves (one criterion iteration; one run of the quick table).
    /// `compare` warms each case up with a quarter of it, which must be a valid count too.
    pub items: u64,
    /// The implementations, verisync's first.
    pub cases: Vec<Case>,
}

/// Capacity of every queue and channel in the workloads.
pub const CAPACITY: usize = 1024;

/// The sum of `0..items`: what a consumer of the values `0..items` must end up with.
pub fn expected_sum(items: u64) -> u64 {
    items.wrapping_mul(items.wrapping_sub(1)) / 2
}

/// Where the two threads of a [`run_pair`] may run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// Wherever the scheduler puts them (on a 2-core machine, usually one core each).
    Free,
    /// Both pinned to the same single CPU, so every hand-off needs a context switch.
    OneCpu,
}

/// Runs `producer` and `consumer` on two fresh threads, released together by a barrier, and
/// returns the time from the release until the consumer is done. The consumer returns the sum
/// of what it received, which must equal [`expected_sum`]`(items)`.
pub fn run_pair<P, C>(items: u64, placement: Placement, producer: P, consumer: C) -> Duration
where
    P: FnOnce() + Send + 'static,
    C: FnOnce() -> u64 + Send + 'static,
{
    let cpu = match placement {
        Placement::Free => None,
        Placement::OneCpu => Some(affinity::first_allowed_cpu()),
    };
    let start = Arc::new(Barrier::new(2));
    let producer_start = start.clone();
    let producer = std::thread::spawn(move || {
        if let Some(cpu) = cpu {
            affinity::pin_current_thread(cpu);
        }
        producer_start.wait();
        producer();
    });
    let consumer = std::thread::spawn(move || {
        if let Some(cpu) = cpu {
            affinity::pin_current_thread(cpu);
        }
        start.wait();
        let began = Instant::now();
        let sum = consumer();
        (began.elapsed(), sum)
    });
    let (elapsed, sum) = consumer.join().expect("consumer thread panicked");
    producer.join().expect("producer thread panicked");
    assert_eq!(sum, expected_sum(items), "values were lost or duplicated");
    elapsed
}

/// Runs every producer and every consumer on a fresh thread of its own, all released together
/// by a barrier, and returns the time from the earliest release until the last consumer is done.
///
/// `items` is split evenly: producer `p` of `P` is handed the `p`-th of `P` equal contiguous
/// ranges of `0..items` to send, and every consumer a quota of `items / C` values to receive, so
/// each consumer knows when it is done without any disconnection protocol. Each consumer returns
/// the sum of what it received; the sums must add up to [`expected_sum`]`(items)`.
///
/// # Panics
/// If either list is empty or `items` is not a multiple of both lengths; if a thread panicked;
/// if values were lost or duplicated.
pub fn run_group<P, C>(items: u64, producers: Vec<P>, consumers: Vec<C>) -> Duration
where
    P: FnOnce(Range<u64>) + Send + 'static,
    C: FnOnce(u64) -> u64 + Send + 'static,
{
    let (producer_count, consumer_count) = (producers.len() as u64, consumers.len() as u64);
    assert!(
        producer_count > 0
            && consumer_count > 0
            && items.is_multiple_of(producer_count)
            && items.is_multiple_of(consumer_count),
        "{items} items do not split evenly over {producer_count} producers and {consumer_count} consumers"
    );
    let start = Arc::new(Barrier::new(producers.len() + consumers.len()));
    let share = items / producer_count;
    let producers: Vec<_> = producers
        .into_iter()
        .zip(0..)
        .map(|(produce, index)| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                produce(index * share..(index + 1) * share);
                began
            })
        })
        .collect();
    let quota = items / consumer_count;
    let consumers: Vec<_> = consumers
        .into_iter()
        .map(|consume| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                let sum = consume(quota);
                (began, Instant::now(), sum)
            })
        })
        .collect();
    let consumed: Vec<(Instant, Instant, u64)> = consumers
        .into_iter()
        .map(|consumer| consumer.join().expect("consumer thread panicked"))
        .collect();
    let produced: Vec<Instant> = producers
        .into_iter()
        .map(|producer| producer.join().expect("producer thread panicked"))
        .collect();
    let sum = consumed
        .iter()
        .fold(0u64, |sum, &(_, _, received)| sum.wrapping_add(received));
    assert_eq!(sum, expected_sum(items), "values were lost or duplicated");
    let starts = produced
        .into_iter()
        .chain(consumed.iter().map(|&(began, _, _)| began));
    let first_start = starts.min().expect("at least one thread");
    let last_end = consumed
        .iter()
        .map(|&(_, ended, _)| ended)
        .max()
        .expect("at least one consumer");
    last_end.saturating_duration_since(first_start)
}

/// The single-thread floor: calls `round` once per whole round of [`CAPACITY`] items (`items`
/// rounded down), handing it the round's values, which it must push into a queue until full and
/// then pop, returning the sum it popped; returns the time all rounds took.
///
/// # Panics
/// If values were lost or duplicated.
pub fn run_rounds(items: u64, mut round: impl FnMut(Range<u64>) -> u64) -> Duration {
    let per_round = CAPACITY as u64;
    let rounds = items / per_round;
    let began = Instant::now();
    let mut sum = 0u64;
    for first in (0..rounds).map(|r| r * per_round) {
        sum = sum.wrapping_add(round(first..first + per_round));
    }
    let elapsed = began.elapsed();
    assert_eq!(sum, expected_sum(rounds * per_round), "values were lost");
    elapsed
}

/// The floor of `std::sync::mpsc::sync_channel`, driven with `try_send`/`try_recv`.
pub fn floor_std_sync_channel(items: u64) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            tx.try_send(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(rx.try_recv().expect("empty")))
    })
}

/// The floor of crossbeam's `ArrayQueue`.
pub fn floor_array_queue(items: u64) -> Duration {
    let queue = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
    run_rounds(items, |values| {
        for value in values {
            queue.push(value).expect("full");
        }
        (0..CAPACITY).fold(0, |sum, _| sum.wrapping_add(queue.pop().expect("empty")))
    })
}

/// CPU pinning through `sched_setaffinity` (the `libc` crate, already a Linux dependency of
/// verisync). Other systems have no portable equivalent in std, so there the `OneCpu` placement
/// degrades to `Free`, which the bench and the example say when they start.
#[cfg(target_os = "linux")]
mod affinity {
    /// The lowest-numbered CPU the calling thread may run on.
    pub fn first_allowed_cpu() -> usize {
        // SAFETY: `cpu_set_t` is a plain bit array, for which all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable `cpu_set_t` of the size we pass; pid 0 is us.
        let status =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        assert_eq!(status, 0, "sched_getaffinity failed");
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `cpu` is below CPU_SETSIZE, the number of bits in `set`.
            .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .expect("the thread may run on no CPU at all")
    }

    /// Restricts the calling thread to `cpu`.
    pub fn pin_current_thread(cpu: usize) {
        // SAFETY: as above, all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` came from `first_allowed_cpu`, so it is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
        // SAFETY: `set` is a valid `cpu_set_t` of the size we pass; pid 0 is the calling thread.
        let status =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        assert_eq!(status, 0, "sched_setaffinity({cpu}) failed");
    }

    /// Whether `OneCpu` really pins.
    pub const SUPPORTED: bool = true;
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    pub fn first_allowed_cpu() -> usize {
        0
    }

    pub fn pin_current_thread(_cpu: usize) {}

    pub const SUPPORTED: bool = false;
}

/// Whether [`Placement::OneCpu`] really pins threads on this system.
pub const PINNING_SUPPORTED: bool = affinity::SUPPORTED;
