//! shuttle schedules of the MPMC queue and the rendezvous, bounded and unbounded channels with
//! four threads: two producers and two consumers, blocking and batch operations, endpoints dropped at random points, `force_push`
//! racing `pop`, and a drop-counting payload.
//!
//! shuttle controls every thread switch (random and PCT schedulers) and reports a deadlock
//! when every thread is blocked, so a lost wake-up fails the test. shuttle is sequentially
//! consistent and does not see data races: weak-memory bugs are loom's job
//! (`tests/loom_mpmc.rs`); shuttle affords more threads and more steps. Random choices come from
//! `shuttle::rand`, which the scheduler seeds and replays with the schedule, so a failure
//! reproduces from its printed schedule.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_mpmc`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shuttle::rand::{Rng, thread_rng};
use shuttle::sync::atomic::AtomicUsize as ShuttleAtomicUsize;
use shuttle::thread;
use support::{DropLog, Scheduler, Tracked, run};
use verisync::mpmc;

/// Values each producer offers per execution.
const VALUES: usize = 6;

fn counters() -> DropLog {
    DropLog::new(2 * VALUES)
}

/// Asserts that each list holds each producer's values in increasing sequence order.
#[track_caller]
fn assert_producer_order(lists: &[Vec<usize>], context: &str) {
    for list in lists {
        let mut last: HashMap<usize, usize> = HashMap::new();
        for &id in list {
            let (producer, sequence) = (id / VALUES, id % VALUES);
            if let Some(&previous) = last.get(&producer) {
                assert!(sequence > previous, "out of order: {list:?}; {context}");
            }
            last.insert(producer, sequence);
        }
    }
}

/// One execution of the channel, rendezvous, bounded (capacity 1 to 3) or unbounded (segments
/// of 3 values under shuttle, so that 12 values link and free several): two producers send with `send` or
/// `send_many` and drop,
/// possibly early; two consumers take with `recv` or `recv_many` until `Disconnected`, one of
/// them possibly leaving early.
///
/// After the joins: each producer's accepted values are a prefix of what it offered (sends
/// fail only once every receiver is gone, for good); every received value was accepted and
/// arrived once, in its producer's order; if a consumer stayed until `Disconnected`, everything
/// accepted was received (the drain); every value was dropped exactly once.
fn channel_with_endpoint_drops() {
    let mut rng = thread_rng();
    // Rendezvous (0), bounded at 1..=3, or unbounded (4), whose segments hold 3 values under
    // shuttle.
    let capacity = rng.gen_range(0..=4);
    let drops = counters();
    let (tx, rx) = match capacity {
        4 => mpmc::unbounded::<Tracked>(),
        capacity => mpmc::channel::<Tracked>(capacity),
    };
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            let tx = tx.clone();
            let drops = drops.clone();
            let offered = rng.gen_range(0..=VALUES);
            let batch = rng.gen_bool(0.3);
            thread::spawn(move || {
                let values = (0..offered).map(|sequence| drops.item(producer * VALUES + sequence));
                let accepted = if batch {
                    match tx.send_many(values) {
                        Ok(()) => offered,
                        Err(unsent) => offered - unsent.0.len(),
                    }
                } else {
                    let mut accepted = 0;
                    let mut failed = false;
                    for value in values {
                        match tx.send(value) {
                            Ok(()) if failed => panic!("a send succeeded after one failed"),
                            Ok(()) => accepted += 1,
                            Err(_) => failed = true,
                        }
                    }
                    accepted
                };
                // Values past those offered are never sent; make and drop them so that every
                // counter ends at one.
                for sequence in offered..VALUES {
                    drop(drops.item(producer * VALUES + sequence));
                }
                (producer, offered, accepted)
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|consumer| {
            let rx = rx.clone();
            let limit = (consumer == 1 && rng.gen_bool(0.3)).then(|| rng.gen_range(0..=VALUES));
            let batch = rng.gen_bool(0.3);
            thread::spawn(move || {
                let mut received: Vec<usize> = Vec::new();
                loop {
                    if limit.is_some_and(|limit| received.len() >= limit) {
                        return (received, false);
                    }
                    if batch {
                        let mut out = Vec::new();
                        if rx.recv_many(&mut out, 2).is_err() {
                            return (received, true);
                        }
                        received.extend(out.iter().map(|v| v.id));
                    } else {
                        match rx.recv() {
                            Ok(value) => received.push(value.id),
                            Err(_) => return (received, true),
                        }
                    }
                }
            })
        })
        .collect();
    drop(rx);
    let outcomes: Vec<_> = producers.into_iter().map(|p| p.join().unwrap()).collect();
    let consumed: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();

    let context = format!(
        "capacity {capacity} (4: unbounded), producers {outcomes:?}, consumers {consumed:?}"
    );
    let lists: Vec<Vec<usize>> = consumed.iter().map(|(list, _)| list.clone()).collect();
    assert_producer_order(&lists, &context);
    let mut received: Vec<usize> = lists.concat();
    received.sort();
    let before_dedup = received.len();
    received.dedup();
    assert_eq!(
        received.len(),
        before_dedup,
        "a value arrived twice; {context}"
    );
    let accepted: Vec<usize> = outcomes
        .iter()
        .flat_map(|&(producer, _, accepted)| (0..accepted).map(move |s| producer * VALUES + s))
        .collect();
    assert!(
        received.iter().all(|id| accepted.contains(id)),
        "received a value never accepted; {context}"
    );
    if consumed.iter().any(|&(_, drained)| drained) {
        assert_eq!(
            received.len(),
            accepted.len(),
            "accepted values lost; {context}"
        );
        // Nobody left early, so no send could fail.
        if consumed.iter().all(|&(_, drained)| drained) {
            for &(_, offered, accepted) in &outcomes {
                assert_eq!(
                    accepted, offered,
                    "a send failed with receivers alive; {context}"
                );
            }
        }
    }
    drops.assert_all_dropped_once_after(&context);
}

/// One execution of the raw queue at capacity 1 or 2: two producers `push` (retrying) or
/// `force_push` their values, two consumers `pop` a random number of times. Popped, evicted
/// and leftover values together are everything offered, each once, each producer's in order.
fn queue_with_evictions() {
    let mut rng = thread_rng();
    let capacity = rng.gen_range(1..=2);
    let drops = counters();
    let queue = Arc::new(mpmc::Queue::<Tracked>::new(capacity));
    let finished = Arc::new(ShuttleAtomicUsize::new(0));
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            let (queue, finished) = (queue.clone(), finished.clone());
            let drops = drops.clone();
            let force = rng.gen_bool(0.5);
            thread::spawn(move || {
                let mut evicted = Vec::new();
                for sequence in 0..VALUES {
                    let mut value = drops.item(producer * VALUES + sequence);
                    if force {
                        evicted.extend(queue.force_push(value).map(|v| v.id));
                        continue;
                    }
                    while let Err(back) = queue.push(value) {
                        value = back;
                        thread::yield_now();
                    }
                }
                finished.fetch_add(1, Relaxed);
                evicted
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            let pops = rng.gen_range(0..=2 * VALUES);
            thread::spawn(move || {
                (0..pops)
                    .filter_map(|_| queue.pop().map(|v| v.id))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Consumers may stop early, so a retrying producer may need the main thread to make room.
    let mut lists: Vec<Vec<usize>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    let mut drained = Vec::new();
    while finished.load(Relaxed) < 2 {
        drained.extend(queue.pop().map(|v| v.id));
        thread::yield_now();
    }
    drained.extend(std::iter::from_fn(|| queue.pop().map(|v| v.id)));
    lists.extend(producers.into_iter().map(|p| p.join().unwrap()));
    lists.push(drained);
    let context = format!("capacity {capacity}, lists {lists:?}");
    assert_producer_order(&lists, &context);
    let mut all: Vec<usize> = lists.concat();
    all.sort();
    assert_eq!(
        all,
        (0..2 * VALUES).collect::<Vec<_>>(),
        "lost or duplicated; {context}"
    );
    drop(queue);
    drops.assert_all_dropped_once_after(&context);
}

#[test]
fn channel_random_schedules() {
    run(
        "channel_random_schedules",
        Scheduler::Random,
        channel_with_endpoint_drops,
    );
}

#[test]
fn channel_pct_schedules() {
    run(
        "channel_pct_schedules",
        Scheduler::Pct,
        channel_with_endpoint_drops,
    );
}

#[test]
fn queue_random_schedules() {
    run(
        "queue_random_schedules",
        Scheduler::Random,
        queue_with_evictions,
    );
}

#[test]
fn queue_pct_schedules() {
    run("queue_pct_schedules", Scheduler::Pct, queue_with_evictions);
}
