//! loom models of the SPSC channel: wraparound at capacity 1 and 2 with try- and blocking ops,
//! endpoints dropped with values in flight, and the drain-before-`Disconnected` race.
//!
//! loom explores every interleaving (up to `LOOM_MAX_PREEMPTIONS`) and every reordering the
//! C11 memory model allows, and flags any slot access not ordered by happens-before. The main
//! thread of each model only creates the channel, spawns the roles and joins them; invariants
//! are asserted after the joins. Every model also counts its executions and fails if loom
//! explored only a trivial number of them.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_spsc`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::thread;
use support::{DropLog, Tracked, explore};
use verisync::spsc::{self, Receiver, Sender, TryRecvError, TrySendError};

/// How often a try-op retry loop yields before the model calls it a livelock. loom never
/// reschedules a yielded thread before its peer has taken a step, so a correct channel needs
/// only a handful of rounds.
const RETRIES: usize = 50;

/// `try_send` until it succeeds, yielding to the receiver while the buffer is full.
fn send_retrying<T>(tx: &Sender<T>, mut value: T) {
    for _ in 0..RETRIES {
        match tx.try_send(value) {
            Ok(()) => return,
            Err(TrySendError::Full(back)) => {
                value = back;
                thread::yield_now();
            }
            Err(TrySendError::Disconnected(_)) => panic!("receiver gone while it still receives"),
        }
    }
    panic!("try_send still Full after {RETRIES} yields to the receiver");
}

/// `try_recv` until a value or `Disconnected` arrives, yielding to the sender while empty.
fn recv_retrying<T>(rx: &Receiver<T>) -> Option<T> {
    for _ in 0..RETRIES {
        match rx.try_recv() {
            Ok(value) => return Some(value),
            Err(TryRecvError::Empty) => thread::yield_now(),
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    panic!("try_recv still Empty after {RETRIES} yields to the sender");
}

/// The producer sends `0..values` with wait-free try-ops, the consumer takes them all; with
/// more values than capacity the positions wrap around the slot array.
fn try_ops_wrap_around(capacity: usize, values: usize) {
    let (tx, rx) = spsc::channel::<usize>(capacity);
    let producer = thread::spawn(move || {
        for value in 0..values {
            send_retrying(&tx, value);
        }
    });
    let consumer = thread::spawn(move || {
        (0..values)
            .map(|_| recv_retrying(&rx).expect("sender dropped before sending everything"))
            .collect::<Vec<_>>()
    });
    producer.join().unwrap();
    let received = consumer.join().unwrap();
    assert_eq!(received, (0..values).collect::<Vec<_>>());
}

#[test]
fn try_ops_wrap_around_capacity_1() {
    explore("try_ops_wrap_around_capacity_1", 10, || {
        try_ops_wrap_around(1, 3)
    });
}

#[test]
fn try_ops_wrap_around_capacity_2() {
    explore("try_ops_wrap_around_capacity_2", 10, || {
        try_ops_wrap_around(2, 5)
    });
}

/// As [`try_ops_wrap_around`] but with blocking `send`/`recv`, which park (loom's `Condvar`)
/// when the buffer is full or empty. Ends with `recv` reporting the sender gone.
fn blocking_ops_wrap_around(capacity: usize, values: usize) {
    let (tx, rx) = spsc::channel::<usize>(capacity);
    let producer = thread::spawn(move || {
        for value in 0..values {
            tx.send(value)
                .expect("receiver gone while it still receives");
        }
    });
    let consumer = thread::spawn(move || {
        let received: Vec<usize> = (0..values).map(|_| rx.recv().unwrap()).collect();
        (received, rx.recv())
    });
    producer.join().unwrap();
    let (received, last) = consumer.join().unwrap();
    assert_eq!(received, (0..values).collect::<Vec<_>>());
    assert!(
        last.is_err(),
        "recv after the sender left returned {last:?}"
    );
}

#[test]
fn blocking_ops_wrap_around_capacity_1() {
    explore("blocking_ops_wrap_around_capacity_1", 10, || {
        blocking_ops_wrap_around(1, 3);
    });
}

#[test]
fn blocking_ops_wrap_around_capacity_2() {
    explore("blocking_ops_wrap_around_capacity_2", 10, || {
        blocking_ops_wrap_around(2, 4);
    });
}

/// The sender offers three tracked values to a capacity-1 channel and leaves; the receiver takes
/// at most one and leaves. Whichever endpoint drops last frees what is still buffered (possibly
/// with positions wrapped); values that `try_send` handed back are dropped by the sender.
#[test]
fn endpoints_dropped_with_values_in_flight() {
    explore("endpoints_dropped_with_values_in_flight", 10, || {
        const VALUES: usize = 3;
        let drops = DropLog::new(VALUES);
        let (tx, rx) = spsc::channel::<Tracked>(1);
        let counters = drops.clone();
        let producer = thread::spawn(move || {
            let mut sent = Vec::new();
            for id in 0..VALUES {
                let value = counters.item(id);
                match tx.try_send(value) {
                    Ok(()) => sent.push(id),
                    Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) => {
                        assert_eq!(back.id, id, "try_send handed back another value");
                    }
                }
            }
            sent
        });
        let consumer = thread::spawn(move || rx.try_recv().ok().map(|value| value.id));
        let sent = producer.join().unwrap();
        let received = consumer.join().unwrap();
        if let Some(id) = received {
            assert_eq!(
                Some(&id),
                sent.first(),
                "received a value that was not sent first"
            );
        }
        drops.assert_all_dropped_once();
    });
}

/// The sender sends two values and drops at once; the receiver, polling with try-ops, must get
/// both before it is told `Disconnected`.
#[test]
fn disconnect_drains_try_ops() {
    explore("disconnect_drains_try_ops", 10, || {
        let (tx, rx) = spsc::channel::<usize>(2);
        let producer = thread::spawn(move || {
            tx.try_send(0).unwrap();
            tx.try_send(1).unwrap();
        });
        let consumer = thread::spawn(move || {
            let mut received = Vec::new();
            while let Some(value) = recv_retrying(&rx) {
                received.push(value);
            }
            received
        });
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), [0, 1]);
    });
}

/// As [`disconnect_drains_try_ops`] with a blocking receiver, which may be parked when the
/// sender's last value and its departure arrive.
#[test]
fn disconnect_drains_blocking() {
    explore("disconnect_drains_blocking", 10, || {
        let (tx, rx) = spsc::channel::<usize>(2);
        let producer = thread::spawn(move || {
            tx.send(0).unwrap();
            tx.send(1).unwrap();
        });
        let consumer = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), [0, 1]);
    });
}

/// The receiver drops while the sender is still sending: every value the sender offered must
/// be dropped exactly once by the time both have returned, while the sender still lives (the
/// buffered ones die with the receiver, std's semantics). The sender's second value may find
/// the receiver in the middle of dropping what it left, so both endpoints' drains race.
#[test]
fn receiver_drop_racing_sends_leaves_nothing_buffered() {
    explore(
        "receiver_drop_racing_sends_leaves_nothing_buffered",
        10,
        || {
            const VALUES: usize = 2;
            let drops = DropLog::new(VALUES);
            let (tx, rx) = spsc::channel::<Tracked>(2);
            let counters = drops.clone();
            let producer = thread::spawn(move || {
                for id in 0..VALUES {
                    let value = counters.item(id);
                    // Handed back values are dropped here; sent ones are the channel's.
                    drop(tx.try_send(value));
                }
                tx
            });
            let consumer = thread::spawn(move || drop(rx));
            let tx = producer.join().unwrap();
            consumer.join().unwrap();
            drops.assert_all_dropped_once();
            assert!(tx.is_disconnected());
            drop(tx);
        },
    );
}

/// Chunks in both directions around a capacity-2 buffer: the producer writes three values in
/// chunks of up to two, the consumer reads in chunks of up to two; FIFO, each value once.
#[test]
fn chunks_wrap_around() {
    explore("chunks_wrap_around", 10, || {
        const VALUES: usize = 3;
        let (mut tx, mut rx) = spsc::channel::<usize>(2);
        let producer = thread::spawn(move || {
            let mut next = 0;
            for _ in 0..RETRIES {
                if next == VALUES {
                    return;
                }
                let mut chunk = tx.write_chunk(2);
                next += chunk.fill_from_iter(next..VALUES);
                drop(chunk);
                thread::yield_now();
            }
            panic!("the producer made no progress in {RETRIES} rounds");
        });
        let consumer = thread::spawn(move || {
            let mut received = Vec::new();
            for _ in 0..RETRIES {
                if received.len() == VALUES {
                    return received;
                }
                received.extend(rx.read_chunk(2));
                thread::yield_now();
            }
            panic!("the consumer made no progress in {RETRIES} rounds");
        });
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), (0..VALUES).collect::<Vec<_>>());
    });
}
