//! What every workload module shares: the [`Workload`] / [`Case`] description that both the
//! criterion benches (`benches/<prim>.rs`) and the main job (`examples/compare.rs`) iterate
//! over, and the thread harness the two-thread cases run in.
//!
//! Included with `#[path = "..."] mod common;` at the crate root of each bench and of the
//! example, so workload modules refer to it as `crate::common`. No workload code exists twice:
//! a bench and the example only differ in how many items they move and how often they repeat.

use std::sync::Barrier;
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
    /// Name of the case that the table's ratio column divides by (a std implementation).
    #[allow(
        dead_code,
        reason = "only the example's table reads it; the benches include this file too"
    )]
    pub baseline: &'static str,
    /// How many items one run moves (one criterion iteration; one run of the quick table).
    pub items: u64,
    /// The implementations, verisync's first.
    pub cases: Vec<Case>,
}

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
    let start = std::sync::Arc::new(Barrier::new(2));
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
