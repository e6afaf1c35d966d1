//! loom models of the MPMC queue and channel: two producers and one or two consumers at
//! capacity 1 and 2, with try-ops, `force_push` racing `pop`, blocking ops, batches, and
//! disconnection with values in flight.
//!
//! loom explores every interleaving (up to `LOOM_MAX_PREEMPTIONS`) and every reordering the
//! C11 memory model allows, and flags any slot access not ordered by happens-before. The main
//! thread of each model only creates the queue or channel, spawns the roles and joins them;
//! invariants are asserted after the joins. Every model counts its executions and fails if loom
//! explored only a trivial number of them. The three-thread models of blocking channel
//! operations run with a preemption bound of 2 (`explore_bounded`): at 3 each takes loom many
//! minutes, because every blocking step goes through the wait queue's lock and condition
//! variable.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_mpmc`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use support::{DropLog, Tracked, explore, explore_bounded};
use verisync::mpmc::{self, Queue};

/// A deadline far away: under loom a wait with any deadline gives up as soon as it would sleep,
/// so what matters is only that the deadline has not passed when the operation starts.
const LONG: std::time::Duration = std::time::Duration::from_secs(3600);

/// Two producers push one tracked value each into a queue of `capacity` (a push may find it
/// full and keep its value), while one consumer pops twice without waiting. Every value ends up
/// exactly once in a rejection, a pop, or the queue, and is dropped once; the slot accesses
/// must be ordered by happens-before.
fn two_producers_one_consumer(capacity: usize) {
    let drops = DropLog::new(2);
    let queue = Arc::new(Queue::new(capacity));
    let producers: Vec<_> = (0..2)
        .map(|id| {
            let (queue, drops) = (queue.clone(), drops.clone());
            thread::spawn(move || queue.push(drops.item(id)).err().map(|v| v.id))
        })
        .collect();
    let consumer = {
        let queue = queue.clone();
        thread::spawn(move || [queue.pop(), queue.pop()].map(|v| v.map(|v| v.id)))
    };
    let rejected: Vec<_> = producers.into_iter().map(|p| p.join().unwrap()).collect();
    let popped = consumer.join().unwrap();
    let left: Vec<_> = std::iter::from_fn(|| queue.pop().map(|v| v.id)).collect();
    if capacity == 2 {
        assert_eq!(
            rejected,
            [None, None],
            "a push into a queue with room failed"
        );
    }
    let mut ids: Vec<usize> = rejected
        .into_iter()
        .chain(popped)
        .flatten()
        .chain(left)
        .collect();
    ids.sort();
    assert_eq!(ids, [0, 1]);
    drop(queue);
    drops.assert_all_dropped_once();
}

#[test]
fn queue_two_producers_one_consumer_capacity_1() {
    explore("queue_two_producers_one_consumer_capacity_1", 100, || {
        two_producers_one_consumer(1)
    });
}

#[test]
fn queue_two_producers_one_consumer_capacity_2() {
    explore("queue_two_producers_one_consumer_capacity_2", 100, || {
        two_producers_one_consumer(2)
    });
}

/// Linearizability at its sharpest: once one push has returned (the consumer learns of it
/// through a flag), a pop must not report the queue empty, even while the other producer's
/// push, which claimed the slot before it, is still writing.
#[test]
fn queue_pop_after_a_completed_push_finds_a_value() {
    explore(
        "queue_pop_after_a_completed_push_finds_a_value",
        100,
        || {
            let queue = Arc::new(Queue::new(2));
            let pushed = Arc::new(AtomicBool::new(false));
            let first = {
                let queue = queue.clone();
                thread::spawn(move || queue.push(1).unwrap())
            };
            let second = {
                let (queue, pushed) = (queue.clone(), pushed.clone());
                thread::spawn(move || {
                    queue.push(2).unwrap();
                    pushed.store(true, Ordering::Release);
                })
            };
            let consumer = {
                let queue = queue.clone();
                thread::spawn(move || {
                    if pushed.load(Ordering::Acquire) {
                        assert!(
                            queue.pop().is_some(),
                            "pop saw empty after a completed push"
                        );
                        1
                    } else {
                        0
                    }
                })
            };
            first.join().unwrap();
            second.join().unwrap();
            let popped = consumer.join().unwrap();
            assert_eq!(queue.len(), 2 - popped);
        },
    );
}

/// `force_push` on a full queue races a `pop` of the value it would evict: whoever wins, each
/// value ends up exactly once in the eviction, the pop, or the queue, in FIFO order.
#[test]
fn queue_force_push_races_pop() {
    explore("queue_force_push_races_pop", 50, || {
        let drops = DropLog::new(2);
        let queue = Arc::new(Queue::new(1));
        queue.push(drops.item(0)).ok().unwrap();
        let pusher = {
            let (queue, drops) = (queue.clone(), drops.clone());
            thread::spawn(move || queue.force_push(drops.item(1)).map(|v| v.id))
        };
        let popper = {
            let queue = queue.clone();
            thread::spawn(move || queue.pop().map(|v| v.id))
        };
        let evicted = pusher.join().unwrap();
        let popped = popper.join().unwrap();
        let left = queue.pop().map(|v| v.id);
        let mut ids: Vec<usize> = [evicted, popped, left].into_iter().flatten().collect();
        ids.sort();
        assert_eq!(
            ids,
            [0, 1],
            "evicted {evicted:?}, popped {popped:?}, left {left:?}"
        );
        // Value 0 is older: it is evicted or popped, never left behind.
        assert_ne!(left, Some(0), "the older value outlived the newer one");
        drop(queue);
        drops.assert_all_dropped_once();
    });
}

/// A sender sends two values through a channel of capacity 1 while a receiver takes them with
/// `recv`: each side blocks on the other in turn, and no wake-up may be lost.
#[test]
fn channel_blocking_send_and_recv_capacity_1() {
    explore("channel_blocking_send_and_recv_capacity_1", 100, || {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let sender = thread::spawn(move || {
            tx.send(0).unwrap();
            tx.send(1).unwrap();
        });
        let receiver = thread::spawn(move || [rx.recv().unwrap(), rx.recv().unwrap()]);
        sender.join().unwrap();
        assert_eq!(receiver.join().unwrap(), [0, 1]);
    });
}

/// Two senders send one value each while the receiver blocks in `recv` for both.
#[test]
fn channel_two_senders_one_blocking_receiver() {
    explore_bounded("channel_two_senders_one_blocking_receiver", 1000, 2, || {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let senders: Vec<_> = (0..2)
            .map(|value| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(value).unwrap())
            })
            .collect();
        drop(tx);
        let receiver = thread::spawn(move || {
            let mut values = [rx.recv().unwrap(), rx.recv().unwrap()];
            values.sort();
            values
        });
        senders.into_iter().for_each(|s| s.join().unwrap());
        assert_eq!(receiver.join().unwrap(), [0, 1]);
    });
}

/// Two receivers block in `recv` on an empty channel; one sender sends a value and drops. One
/// receiver gets the value, the other must wake up to `Disconnected`.
#[test]
fn channel_sender_drop_wakes_every_receiver() {
    explore_bounded("channel_sender_drop_wakes_every_receiver", 1000, 2, || {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv().ok())
            })
            .collect();
        drop(rx);
        let sender = thread::spawn(move || tx.send(7).unwrap());
        sender.join().unwrap();
        let mut got: Vec<_> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [None, Some(7)]);
    });
}

/// Two senders each send a tracked value and drop; the receiver drains until `Disconnected`.
/// Values pushed right before the last sender drops must still be received, and all dropped
/// once.
#[test]
fn channel_disconnect_drains_values_in_flight() {
    explore_bounded(
        "channel_disconnect_drains_values_in_flight",
        1000,
        2,
        || {
            let drops = DropLog::new(2);
            let (tx, rx) = mpmc::channel(2);
            let senders: Vec<_> = (0..2)
                .map(|id| {
                    let (tx, drops) = (tx.clone(), drops.clone());
                    thread::spawn(move || tx.send(drops.item(id)).ok().unwrap())
                })
                .collect();
            drop(tx);
            let receiver = thread::spawn(move || {
                let mut ids: Vec<usize> = rx.iter().map(|v| v.id).collect();
                ids.sort();
                ids
            });
            senders.into_iter().for_each(|s| s.join().unwrap());
            assert_eq!(receiver.join().unwrap(), [0, 1]);
            drops.assert_all_dropped_once();
        },
    );
}

/// A sender blocks in `send` on a full channel; the only receiver drops instead of receiving.
/// The sender must wake up. The drop frees the slot as it drops value 0, so the send either gets
/// its value back or, overlapping the drop, succeeds and leaves its value to be dropped by the
/// channel; either way both values are dropped once by the time both threads returned.
#[test]
fn channel_receiver_drop_wakes_a_blocked_sender() {
    explore("channel_receiver_drop_wakes_a_blocked_sender", 20, || {
        let drops = DropLog::new(2);
        let (tx, rx) = mpmc::channel(1);
        tx.send(drops.item(0)).ok().unwrap();
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || {
                let sent = tx.send(drops.item(1));
                (sent.map_err(|back| back.0.id), tx)
            })
        };
        let receiver = thread::spawn(move || drop(rx));
        receiver.join().unwrap();
        let (sent, tx) = sender.join().unwrap();
        assert!(matches!(sent, Ok(()) | Err(1)), "{sent:?}");
        drops.assert_all_dropped_once();
        drop(tx);
    });
}

/// A batch sender and a single sender race into a channel of capacity 2; the receiver takes
/// everything with `recv_many`. The batch's values arrive in order, each value once.
#[test]
fn channel_batches() {
    explore_bounded("channel_batches", 1000, 2, || {
        let (tx, rx) = mpmc::channel::<usize>(2);
        let batch = {
            let tx = tx.clone();
            thread::spawn(move || tx.send_many([0, 1]).unwrap())
        };
        let single = thread::spawn(move || tx.send(2).unwrap());
        let receiver = thread::spawn(move || {
            let mut out = Vec::new();
            while out.len() < 3 {
                rx.recv_many(&mut out, 3).unwrap();
            }
            out
        });
        batch.join().unwrap();
        single.join().unwrap();
        let out = receiver.join().unwrap();
        let zero = out.iter().position(|&v| v == 0).unwrap();
        let one = out.iter().position(|&v| v == 1).unwrap();
        assert!(zero < one, "batch values out of order: {out:?}");
        let mut sorted = out.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2]);
    });
}

/// Two receivers drop while a sender is still sending: every value the sender offered must be
/// dropped exactly once by the time all three have returned, while the sender still lives (the
/// buffered ones die with the last receiver, std's semantics). A send may land just after the
/// last drop looked at the queue, so the sender must then drop what it pushed itself.
#[test]
fn channel_last_receiver_drop_racing_sends_leaves_nothing_buffered() {
    explore(
        "channel_last_receiver_drop_racing_sends_leaves_nothing_buffered",
        10,
        || {
            const VALUES: usize = 2;
            let drops = DropLog::new(VALUES);
            let (tx, rx) = mpmc::channel::<Tracked>(2);
            let counters = drops.clone();
            let sender = thread::spawn(move || {
                for id in 0..VALUES {
                    let value = counters.item(id);
                    // Handed back values are dropped here; sent ones are the channel's.
                    drop(tx.try_send(value));
                }
                tx
            });
            let rx2 = rx.clone();
            let receivers = [
                thread::spawn(move || drop(rx)),
                thread::spawn(move || drop(rx2)),
            ];
            let tx = sender.join().unwrap();
            receivers.into_iter().for_each(|r| r.join().unwrap());
            drops.assert_all_dropped_once();
            assert!(tx.is_disconnected() && tx.is_empty());
            drop(tx);
        },
    );
}

/// Unbounded channel (segments of 3 values under loom): two values already sent, two senders
/// race for the segment's last slot and the next segment's first; one links the new segment
/// in while the other waits for it. Every value arrives once, the first two first, and each
/// is dropped once. (No receiver runs meanwhile: a model where two threads wait for the same
/// third one lets loom starve that one forever; the next model has the receiver.)
#[test]
fn unbounded_senders_race_across_a_segment_end() {
    explore("unbounded_senders_race_across_a_segment_end", 20, || {
        let drops = DropLog::new(4);
        let (tx, rx) = mpmc::unbounded();
        tx.send(drops.item(0)).unwrap();
        tx.send(drops.item(1)).unwrap();
        let senders: Vec<_> = (2..4)
            .map(|id| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || tx.send(drops.item(id)).ok().unwrap())
            })
            .collect();
        senders.into_iter().for_each(|s| s.join().unwrap());
        let mut ids: Vec<usize> = rx.try_iter().map(|v| v.id).collect();
        assert_eq!(ids[..2], [0, 1], "FIFO broken");
        ids.sort();
        assert_eq!(ids, [0, 1, 2, 3]);
        drop((tx, rx));
        drops.assert_all_dropped_once();
    });
}

/// Unbounded channel: a receiver takes values across a segment end while the sender fills the
/// segment's last slot and links the next one: the receiver may claim a slot before its value
/// is written, and reach the segment end before the next segment is linked. It gets every
/// value once, in order, with each write ordered before its read.
#[test]
fn unbounded_receiver_crosses_a_segment_being_linked() {
    explore(
        "unbounded_receiver_crosses_a_segment_being_linked",
        100,
        || {
            let drops = DropLog::new(4);
            let (tx, rx) = mpmc::unbounded();
            tx.send(drops.item(0)).unwrap();
            tx.send(drops.item(1)).unwrap();
            let sender = {
                let drops = drops.clone();
                thread::spawn(move || {
                    tx.send(drops.item(2)).unwrap();
                    tx.send(drops.item(3)).unwrap();
                })
            };
            let receiver = thread::spawn(move || {
                let ids: Vec<usize> = rx.try_iter().take(4).map(|v| v.id).collect();
                (rx, ids)
            });
            sender.join().unwrap();
            let (rx, mut ids) = receiver.join().unwrap();
            ids.extend(rx.try_iter().map(|v| v.id));
            assert_eq!(ids, [0, 1, 2, 3]);
            drop(rx);
            drops.assert_all_dropped_once();
        },
    );
}

/// Unbounded channel: a full segment (3 values under loom), taken by two receivers at once.
/// Whoever takes the last slot frees the segment, but only after the other's read of its
/// slot; a reader still busy must finish the reclaim itself. loom checks every read against
/// the free (which counts as writing every cell).
#[test]
fn unbounded_segment_is_freed_after_every_read() {
    explore("unbounded_segment_is_freed_after_every_read", 100, || {
        let drops = DropLog::new(3);
        let (tx, rx) = mpmc::unbounded();
        for id in 0..3 {
            tx.send(drops.item(id)).unwrap();
        }
        drop(tx);
        let receivers: Vec<_> = [1, 2]
            .map(|count| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let ids: Vec<usize> = rx.iter().take(count).map(|v| v.id).collect();
                    ids
                })
            })
            .into_iter()
            .collect();
        let mut ids: Vec<usize> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, [0, 1, 2]);
        assert_eq!(
            rx.try_recv().map(|v| v.id),
            Err(mpmc::TryRecvError::Disconnected)
        );
        drops.assert_all_dropped_once();
    });
}

/// Rendezvous channel: a sender hands two values to a receiver, each side blocking until the
/// other arrives, in either order; the values arrive in order, each write ordered before its
/// read, and no wake-up is lost.
#[test]
fn rendezvous_hand_off_both_ways() {
    explore("rendezvous_hand_off_both_ways", 100, || {
        let drops = DropLog::new(2);
        let (tx, rx) = mpmc::channel(0);
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || {
                tx.send(drops.item(0)).unwrap();
                tx.send(drops.item(1)).unwrap();
            })
        };
        let received: Vec<usize> = rx.iter().map(|v| v.id).collect();
        sender.join().unwrap();
        assert_eq!(received, [0, 1]);
        drops.assert_all_dropped_once();
    });
}

/// Rendezvous channel: a sender blocks with a value while the only receiver either takes it
/// or drops. The send succeeds exactly when the value was taken; otherwise the disconnection
/// wakes the sender and the value comes back to it. Each value is dropped once.
#[test]
fn rendezvous_disconnect_wakes_a_waiting_sender() {
    explore("rendezvous_disconnect_wakes_a_waiting_sender", 20, || {
        let drops = DropLog::new(1);
        let (tx, rx) = mpmc::channel(0);
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || tx.send(drops.item(0)).map_err(|err| err.0.id))
        };
        let taken = rx.try_recv().map(|v| v.id).ok();
        drop(rx);
        let sent = sender.join().unwrap();
        match taken {
            Some(id) => assert_eq!((id, sent), (0, Ok(()))),
            None => assert_eq!(sent, Err(0), "the value must come back"),
        }
        drops.assert_all_dropped_once();
    });
}

/// Rendezvous channel: a sender and a receiver that both give up at their deadline (under
/// loom, as soon as they would sleep) race each other: the value is either received or handed
/// back to its sender, never both and never neither.
#[test]
fn rendezvous_timeouts_racing_a_meeting_keep_the_value() {
    explore(
        "rendezvous_timeouts_racing_a_meeting_keep_the_value",
        20,
        || {
            let drops = DropLog::new(1);
            let (tx, rx) = mpmc::channel(0);
            let deadline = std::time::Instant::now();
            let sender = {
                let drops = drops.clone();
                thread::spawn(move || {
                    let sent = tx.send_deadline(drops.item(0), deadline + LONG);
                    sent.map_err(|err| err.into_inner().id)
                })
            };
            let received = rx.recv_deadline(deadline + LONG).map(|v| v.id);
            let sent = sender.join().unwrap();
            match received {
                Ok(id) => assert_eq!((id, sent), (0, Ok(()))),
                Err(_) => assert_eq!(sent, Err(0), "the value was lost"),
            }
            drops.assert_all_dropped_once();
        },
    );
}
