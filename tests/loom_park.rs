//! loom models of the blocking layer (`park.rs`) as the SPSC channel drives it: a parked
//! thread is never left asleep when its peer makes progress or goes away (no lost wake-up).
//!
//! Under loom a blocking op parks at once (no spinning), registers as a waiter, issues its
//! half of the store-load fence and re-checks before it sleeps on loom's `Condvar`; the peer
//! publishes, issues the other half and wakes it only if it saw the registration. A lost
//! wake-up leaves every thread blocked, which loom reports as a deadlock. The main thread of
//! each model only creates the channel, spawns the roles and joins them; invariants are
//! asserted after the joins, and each model fails if loom explored only a trivial number of
//! executions.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_park`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::thread;
use support::{DropLog, Tracked, explore};
use verisync::spsc;

/// The receiver blocks on an empty channel twice while the sender sends two values: each
/// `send` must wake a receiver that parked, whichever side of the fence pair it was on.
#[test]
fn blocked_recv_woken_by_send() {
    explore("blocked_recv_woken_by_send", 10, || {
        let (tx, rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            // Keep the sender alive until both values are taken, so that only the sends (not
            // the disconnect) can wake the receiver.
            tx
        });
        let consumer = thread::spawn(move || (rx.recv(), rx.recv()));
        let tx = producer.join().unwrap();
        let received = consumer.join().unwrap();
        drop(tx);
        assert_eq!(received, (Ok(1), Ok(2)));
    });
}

/// The sender fills a capacity-1 channel and blocks on the next `send` while the receiver
/// takes both values: each `recv` must wake a sender that parked on the full buffer.
#[test]
fn blocked_send_woken_by_recv() {
    explore("blocked_send_woken_by_recv", 10, || {
        let (tx, rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || {
            for value in 0..3 {
                tx.send(value).unwrap();
            }
        });
        let consumer = thread::spawn(move || {
            let received = [rx.recv(), rx.recv(), rx.recv()];
            // Keep the receiver alive until all three are taken, so that only the receives
            // (not the disconnect) can wake the sender.
            (received, rx)
        });
        producer.join().unwrap();
        let (received, rx) = consumer.join().unwrap();
        drop(rx);
        assert_eq!(received, [Ok(0), Ok(1), Ok(2)]);
    });
}

/// The receiver blocks on an empty channel whose sender simply leaves: the sender's drop must
/// wake it, and `recv` must report the disconnection.
#[test]
fn blocked_recv_woken_by_sender_drop() {
    explore("blocked_recv_woken_by_sender_drop", 10, || {
        let (tx, rx) = spsc::channel::<usize>(1);
        let producer = thread::spawn(move || drop(tx));
        let consumer = thread::spawn(move || (rx.recv(), rx.recv()));
        producer.join().unwrap();
        let received = consumer.join().unwrap();
        assert!(received.0.is_err() && received.1.is_err(), "{received:?}");
    });
}

/// The sender fills a capacity-1 channel and blocks on the next `send`; the receiver leaves
/// without taking anything. Its drop must wake the sender, whose value comes back in the
/// error; the buffered value is freed with the channel; each value is dropped exactly once.
#[test]
fn blocked_send_woken_by_receiver_drop() {
    explore("blocked_send_woken_by_receiver_drop", 10, || {
        let drops = DropLog::new(2);
        let (tx, rx) = spsc::channel::<Tracked>(1);
        let counters = drops.clone();
        let producer = thread::spawn(move || {
            let first = tx.send(counters.item(0));
            let second = tx.send(counters.item(1));
            (first.err().map(|e| e.0.id), second.err().map(|e| e.0.id))
        });
        let consumer = thread::spawn(move || drop(rx));
        let (first, second) = producer.join().unwrap();
        consumer.join().unwrap();
        // Nothing is ever taken, so after one value the buffer is full: the second send must
        // be woken by the drop. It then hands its value back, or, if the drop had already
        // freed the slot by dropping value 0, sends into it and the channel drops its value.
        assert!(matches!(second, None | Some(1)), "second send: {second:?}");
        assert!(
            matches!((first, second), (None, _) | (Some(0), Some(1))),
            "sends {first:?} then {second:?}"
        );
        drops.assert_all_dropped_once();
    });
}
