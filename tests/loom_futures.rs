//! loom models of the async operations and their cancel safety: futures polled once and then
//! dropped (every cancellation path), two receives where the one that was woken is cancelled,
//! a rendezvous send called off while a receiver takes its value, a future re-polled with
//! another waker, the async semaphore's cancelled waiter, the register-then-recheck of a
//! future that goes pending, and of one that waits in line behind another.
//!
//! Futures run under `loom::future::block_on`, or are polled by hand with a waker that does
//! nothing, to stop them at a chosen point. A wake-up that is lost leaves a `block_on` parked
//! for good, which loom reports as a deadlock. Models with three threads run at a preemption
//! bound of 2 (`explore_bounded`), as in `loom_mpmc.rs`.
//!
//! Run: `RUSTFLAGS="--cfg verisync_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release
//! --target-dir target/loom --test loom_futures`.
#![cfg(verisync_loom)]

#[path = "support/loom.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;
use loom::thread;
use support::{DropLog, explore, explore_bounded};
use verisync::mpmc;
use verisync::semaphore::Semaphore;

/// A deadline far away: under loom a wait with a deadline gives up as soon as it would sleep.
const LONG: std::time::Duration = std::time::Duration::from_secs(3600);

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A rendezvous receive is polled once and dropped while a sender tries to hand it a value
/// (giving up when it would sleep). The value is never lost: the receive returned it, or it
/// is still in the channel for the next receive, or it went back to its sender.
#[test]
fn a_rendezvous_receive_polled_once_then_dropped_loses_nothing() {
    explore(
        "a_rendezvous_receive_polled_once_then_dropped_loses_nothing",
        20,
        || {
            let drops = DropLog::new(1);
            let (tx, rx) = mpmc::channel(0);
            let sender = {
                let item = drops.item(0);
                thread::spawn(move || {
                    let deadline = std::time::Instant::now() + LONG;
                    tx.send_deadline(item, deadline).is_ok()
                })
            };
            let mut receive = rx.recv_async();
            // Ready with an error if the sender gave up and dropped its end first.
            let received = match poll_once(&mut receive) {
                Poll::Ready(value) => value.ok(),
                Poll::Pending => None,
            };
            drop(receive);
            let sent = sender.join().unwrap();
            let left = rx.try_recv().ok();
            match (sent, received, left) {
                (true, Some(_), None) | (true, None, Some(_)) | (false, None, None) => {}
                (sent, received, left) => panic!(
                    "sent {sent}, received {:?}, left in the channel {:?}",
                    received.map(|v| v.id),
                    left.map(|v| v.id)
                ),
            }
            drops.assert_all_dropped_once();
        },
    );
}

/// A rendezvous send is polled once and called off (`SendFuture::cancel`) while a receiver
/// tries to take its value (giving up when it would sleep). The value is never lost and never
/// doubled: the receiver has it, or the send's poll or its calling off handed it back.
#[test]
fn a_called_off_rendezvous_send_gives_back_what_no_receiver_took() {
    explore(
        "a_called_off_rendezvous_send_gives_back_what_no_receiver_took",
        20,
        || {
            let drops = DropLog::new(1);
            let (tx, rx) = mpmc::channel(0);
            let receiver = thread::spawn(move || {
                let deadline = std::time::Instant::now() + LONG;
                rx.recv_deadline(deadline).ok()
            });
            let mut send = tx.send_async(drops.item(0));
            let handed_back = match poll_once(&mut send) {
                Poll::Ready(sent) => sent.err().map(|error| error.0),
                Poll::Pending => None,
            };
            let given_back = send.cancel();
            let received = receiver.join().unwrap();
            let holders = [&received, &handed_back, &given_back]
                .iter()
                .filter(|value| value.is_some())
                .count();
            assert_eq!(
                holders,
                1,
                "received {:?}, handed back by the poll {:?}, given back {:?}",
                received.as_ref().map(|v| v.id),
                handed_back.as_ref().map(|v| v.id),
                given_back.as_ref().map(|v| v.id)
            );
            drop((received, handed_back, given_back));
            drops.assert_all_dropped_once();
        },
    );
}

/// Two receives wait on a bounded channel; one value arrives and wakes one of them (one
/// value, one task). The first receive is polled once and cancelled, whether or not it was
/// the one woken: the other still gets the value. (The sender stays alive until then, so
/// that its disconnection, which wakes everyone, cannot rescue a lost wake-up.)
#[test]
fn the_woken_receive_is_cancelled_and_the_other_still_gets_the_value() {
    explore_bounded(
        "the_woken_receive_is_cancelled_and_the_other_still_gets_the_value",
        50,
        2,
        || {
            let (tx, rx) = mpmc::channel(1);
            let other = {
                let rx = rx.clone();
                thread::spawn(move || block_on(rx.recv_async()).ok())
            };
            let sender = thread::spawn(move || {
                tx.send(7).unwrap();
                tx
            });
            let mut cancelled = rx.recv_async();
            let first = match poll_once(&mut cancelled) {
                Poll::Ready(value) => Some(value.unwrap()),
                Poll::Pending => None,
            };
            drop(cancelled);
            let tx = sender.join().unwrap();
            if first.is_some() {
                // Nothing left for the other receive: let it see the channel disconnect.
                drop(tx);
                assert_eq!(other.join().unwrap(), None);
            } else {
                assert_eq!(other.join().unwrap(), Some(7));
            }
        },
    );
}

/// A receive is polled by one waker, then run to completion by `block_on` (a future moved to
/// another task): the wake-up for the value sent meanwhile must reach `block_on`'s waker.
#[test]
fn a_receive_repolled_with_another_waker_is_woken_there() {
    explore(
        "a_receive_repolled_with_another_waker_is_woken_there",
        10,
        || {
            let (tx, rx) = mpmc::channel(1);
            let receiver = thread::spawn(move || {
                let mut receive = rx.recv_async();
                if let Poll::Ready(value) = poll_once(&mut receive) {
                    return value;
                }
                block_on(receive)
            });
            tx.send(3).unwrap();
            assert_eq!(receiver.join().unwrap(), Ok(3));
        },
    );
}

/// An async sender and an async receiver pass two values through one slot: every pending
/// future registers, re-checks and is woken.
#[test]
fn async_sender_and_receiver_through_one_slot() {
    explore("async_sender_and_receiver_through_one_slot", 50, || {
        let (tx, rx) = mpmc::channel(1);
        let sender = thread::spawn(move || {
            block_on(async {
                for value in 0..2 {
                    tx.send_async(value).await.unwrap();
                }
            })
        });
        let received = block_on(async {
            let first = rx.recv_async().await.unwrap();
            let second = rx.recv_async().await.unwrap();
            (first, second)
        });
        sender.join().unwrap();
        assert_eq!(received, (0, 1));
    });
}

/// Two receives wait in line on an empty channel, and the last sender drops: both see the
/// disconnection. The second receive may skip its own fence, covered by the first, only once
/// the first's fence has published the registrations in line (`park.rs`, "Waiting in
/// line"); otherwise the disconnection can miss both registrations, the first receive's
/// re-check sees it, and the second sleeps for good.
#[test]
fn two_receives_waiting_in_line_both_see_the_disconnection() {
    explore(
        "two_receives_waiting_in_line_both_see_the_disconnection",
        50,
        || {
            let (tx, rx) = mpmc::channel::<i32>(1);
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || block_on(rx.recv_async()))
                })
                .collect();
            drop(rx);
            drop(tx);
            for receiver in receivers {
                assert!(receiver.join().unwrap().is_err());
            }
        },
    );
}

/// An async acquire is polled once and dropped while the one permit is released and another
/// task waits: permits granted to the cancelled acquire go on to the waiting one, and every
/// permit is back at the end.
#[test]
fn a_cancelled_acquire_passes_its_permit_on() {
    explore_bounded("a_cancelled_acquire_passes_its_permit_on", 50, 2, || {
        let semaphore = std::sync::Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        let waiting = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(semaphore.acquire_async()).map(|p| p.count()))
        };
        let mut cancelled = semaphore.acquire_async();
        let first = poll_once(&mut cancelled);
        drop(held);
        drop(cancelled);
        if let Poll::Ready(permit) = first {
            panic!("acquired a held permit: {:?}", permit.map(|p| p.count()));
        }
        assert_eq!(waiting.join().unwrap(), Ok(1));
        assert_eq!(semaphore.available_permits(), 1, "a permit leaked");
    });
}
