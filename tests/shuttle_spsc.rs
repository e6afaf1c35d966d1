//! shuttle schedules of the SPSC channel: blocking `send`/`recv` with 20 values through
//! capacities 1 to 3, endpoints dropped at random points, and a drop-counting payload.
//!
//! shuttle controls every thread switch (random and PCT schedulers) and reports a deadlock
//! when every thread is blocked, so a lost wake-up fails the test. shuttle is sequentially
//! consistent and does not see data races: weak-memory bugs are loom's job
//! (`tests/loom_spsc.rs`, `tests/loom_park.rs`); shuttle affords more threads' worth of steps.
//! The capacity and the drop points come from `shuttle::rand`, which the scheduler seeds and
//! replays with the schedule, so a failure reproduces from its printed schedule.
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_spsc`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use shuttle::rand::{Rng, thread_rng};
use shuttle::thread;
use support::{DropLog, Scheduler, Tracked, run};
use verisync::spsc;

/// Values the sender offers per execution.
const VALUES: usize = 20;

/// One execution: a sender and a receiver with blocking ops; each may leave early.
///
/// The sender offers up to [`VALUES`] values and then drops; the receiver takes values until
/// `recv` reports the sender gone, or drops after a random number of them. After both joins:
/// the accepted sends are a prefix of the offered values (once a send fails, the receiver is
/// gone for good), the received values are a prefix of the accepted ones in order (FIFO, no
/// loss, no duplicate), a receiver that stayed got everything accepted (the drain before
/// `Disconnected`), and every value was dropped exactly once.
fn random_endpoint_drops() {
    let mut rng = thread_rng();
    let capacity = rng.gen_range(1..=3);
    // About half the executions run every value through; the others cut one side short.
    let send_count = if rng.gen_bool(0.5) {
        VALUES
    } else {
        rng.gen_range(0..=VALUES)
    };
    let recv_limit = if rng.gen_bool(0.5) {
        None
    } else {
        Some(rng.gen_range(0..=VALUES))
    };

    let drops = DropLog::new(send_count);
    let (tx, rx) = spsc::channel::<Tracked>(capacity);
    let counters = drops.clone();
    let producer = thread::spawn(move || {
        let mut accepted = Vec::new();
        for id in 0..send_count {
            let value = counters.item(id);
            match tx.send(value) {
                Ok(()) => accepted.push(id),
                Err(back) => assert_eq!(back.0.id, id, "send handed back another value"),
            }
        }
        accepted
    });
    let consumer = thread::spawn(move || {
        let mut received = Vec::new();
        while recv_limit.is_none_or(|limit| received.len() < limit) {
            match rx.recv() {
                Ok(value) => received.push(value.id),
                Err(_) => return (received, true),
            }
        }
        (received, false)
    });
    let accepted = producer.join().unwrap();
    let (received, saw_disconnect) = consumer.join().unwrap();

    let context = format!(
        "capacity {capacity}, {send_count} offered, receive limit {recv_limit:?}, \
         accepted {accepted:?}, received {received:?}"
    );
    assert_eq!(
        accepted,
        (0..accepted.len()).collect::<Vec<_>>(),
        "{context}"
    );
    assert_eq!(
        received,
        accepted[..received.len().min(accepted.len())],
        "{context}"
    );
    assert!(received.len() <= accepted.len(), "{context}");
    if saw_disconnect {
        // The receiver stayed to the end, so no send could fail and it had to drain them all.
        assert_eq!(accepted.len(), send_count, "{context}");
        assert_eq!(received, accepted, "{context}");
    }
    drops.assert_all_dropped_once_after(&context);
}

#[test]
fn random_schedules_with_endpoint_drops() {
    run(
        "random_schedules_with_endpoint_drops",
        Scheduler::Random,
        random_endpoint_drops,
    );
}

#[test]
fn pct_schedules_with_endpoint_drops() {
    run(
        "pct_schedules_with_endpoint_drops",
        Scheduler::Pct,
        random_endpoint_drops,
    );
}
