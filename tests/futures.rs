//! Behaviour tests for the async operations (`send_async`, `recv_async`, `acquire_async`) and
//! their cancel safety, polled by hand with counting wakers or run by `future::block_on` on std
//! threads; the same tests run under Miri (`concurrent_` ones with many seeds, as for
//! `tests/mpmc.rs`).

#[path = "support/behaviour.rs"]
mod support;
#[path = "support/task.rs"]
mod task;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use support::{DropLog, scaled, spawn_watched};
use task::Task;
use verisync::future::block_on;
use verisync::mpmc::{RecvError, TryRecvError, channel, unbounded};
use verisync::semaphore::{AcquireError, Semaphore};

/// Every buffered flavor and the rendezvous one, by name.
fn every_flavor() -> [(&'static str, usize); 3] {
    [("bounded", 2), ("rendezvous", 0), ("one slot", 1)]
}

#[test]
fn a_pending_receive_is_woken_by_a_send_and_gets_the_value() {
    for (flavor, capacity) in every_flavor() {
        let (tx, rx) = channel(capacity);
        let task = Task::new();
        let mut receive = rx.recv_async();
        assert!(task.poll(&mut receive).is_pending(), "{flavor}");
        assert!(!task.was_woken());
        // A rendezvous `try_send` finds the waiting receive in line and hands it the value.
        tx.try_send(5).unwrap();
        assert!(task.was_woken(), "{flavor}");
        assert_eq!(task.poll(&mut receive), Poll::Ready(Ok(5)), "{flavor}");
    }
}

#[test]
fn a_pending_send_is_woken_by_a_receive_and_completes() {
    let (tx, rx) = channel(1);
    tx.send(1).unwrap();
    let task = Task::new();
    let mut send = tx.send_async(2);
    assert!(task.poll(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(task.was_woken());
    assert_eq!(task.poll(&mut send), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_rendezvous_send_completes_when_a_receiver_takes_the_value() {
    let (tx, rx) = channel(0);
    let task = Task::new();
    let mut send = tx.send_async(3);
    assert!(task.poll(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Ok(3));
    assert!(task.was_woken());
    assert_eq!(task.poll(&mut send), Poll::Ready(Ok(())));
}

#[test]
fn a_repoll_with_a_new_waker_moves_the_wake_up_there() {
    let (tx, rx) = channel::<u32>(1);
    let (first, second) = (Task::new(), Task::new());
    let mut receive = rx.recv_async();
    assert!(first.poll(&mut receive).is_pending());
    // The future moved to another task (as a `select!` branch or a work-stealing runtime does).
    assert!(second.poll(&mut receive).is_pending());
    tx.send(1).unwrap();
    assert!(second.was_woken(), "the latest waker must be woken");
    assert!(!first.was_woken());
    assert_eq!(second.poll(&mut receive), Poll::Ready(Ok(1)));
}

#[test]
fn one_value_wakes_one_waiting_task_and_a_dropped_wake_up_is_passed_on() {
    let (tx, rx) = channel(4);
    let (first, second) = (Task::new(), Task::new());
    let mut oldest = rx.recv_async();
    let mut next = rx.recv_async();
    assert!(first.poll(&mut oldest).is_pending());
    assert!(second.poll(&mut next).is_pending());
    tx.send(7).unwrap();
    assert!(first.was_woken(), "the oldest waiting receive is woken");
    assert!(!second.was_woken(), "one value wakes one task");
    // Cancelled before it looked: its wake-up must not die with it.
    drop(oldest);
    assert!(second.was_woken(), "the wake-up is passed on");
    assert_eq!(second.poll(&mut next), Poll::Ready(Ok(7)));
}

#[test]
fn a_woken_task_that_acted_does_not_pass_its_wake_up_on() {
    let (tx, rx) = channel(4);
    let (first, second) = (Task::new(), Task::new());
    let mut oldest = rx.recv_async();
    let mut next = rx.recv_async();
    assert!(first.poll(&mut oldest).is_pending());
    assert!(second.poll(&mut next).is_pending());
    tx.send(7).unwrap();
    assert_eq!(first.poll(&mut oldest), Poll::Ready(Ok(7)));
    drop(oldest);
    assert!(
        !second.was_woken(),
        "nothing is left for the second receive"
    );
    assert!(second.poll(&mut next).is_pending());
}

#[test]
fn a_rendezvous_value_handed_to_a_cancelled_receive_goes_to_the_next_receive() {
    let (tx, rx) = channel(0);
    let task = Task::new();
    let mut receive = rx.recv_async();
    assert!(task.poll(&mut receive).is_pending());
    tx.try_send(9).unwrap(); // handed to the waiting receive: the send is complete
    drop(receive); // ... and the receive is cancelled before it saw the value
    assert_eq!(rx.try_recv(), Ok(9), "the value waits in the channel");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_rendezvous_value_handed_to_a_cancelled_receive_goes_to_a_receive_waiting() {
    let (tx, rx) = channel(0);
    let (first, second) = (Task::new(), Task::new());
    let mut cancelled = rx.recv_async();
    let mut waiting = rx.recv_async();
    assert!(first.poll(&mut cancelled).is_pending());
    assert!(second.poll(&mut waiting).is_pending());
    tx.try_send(9).unwrap();
    drop(cancelled);
    assert!(second.was_woken());
    assert_eq!(second.poll(&mut waiting), Poll::Ready(Ok(9)));
}

#[test]
fn a_value_given_back_outlives_the_senders_and_dies_with_the_receivers() {
    let log = DropLog::new(2);
    let (tx, rx) = channel(0);
    let task = Task::new();
    let mut receive = rx.recv_async();
    assert!(task.poll(&mut receive).is_pending());
    tx.try_send(log.item(0)).unwrap();
    drop(receive);
    drop(tx);
    assert_eq!(rx.try_recv().map(|value| value.id), Ok(0));
    assert_eq!(
        rx.try_recv().map(|value| value.id),
        Err(TryRecvError::Disconnected)
    );

    let (tx, rx) = channel(0);
    let mut receive = rx.recv_async();
    assert!(task.poll(&mut receive).is_pending());
    tx.try_send(log.item(1)).unwrap();
    drop(receive);
    assert_eq!(log.drops(1), 0);
    drop(rx);
    assert_eq!(
        log.drops(1),
        1,
        "dropped with the last receiver, as a buffered value"
    );
    drop(tx);
    log.assert_only_dropped_once([0, 1]);
}

#[test]
fn a_cancelled_send_is_either_sent_or_dropped_unsent() {
    let log = DropLog::new(3);
    for capacity in [0, 1] {
        let (tx, rx) = channel(capacity);
        if capacity == 1 {
            tx.send(log.item(2)).unwrap();
        }
        let task = Task::new();
        let mut send = tx.send_async(log.item(capacity));
        assert!(task.poll(&mut send).is_pending());
        drop(send);
        assert_eq!(
            log.drops(capacity),
            1,
            "capacity {capacity}: dropped unsent"
        );
        let buffered = rx.try_recv().ok().map(|value| value.id);
        assert_eq!(
            buffered,
            (capacity == 1).then_some(2),
            "capacity {capacity}"
        );
    }
    log.assert_only_dropped_once(0..3);

    // Taken by a receiver before the future was dropped: it was sent.
    let (tx, rx) = channel(0);
    let task = Task::new();
    let mut send = tx.send_async(10);
    assert!(task.poll(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Ok(10));
    drop(send);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_called_off_send_gives_back_its_value_unless_it_was_sent() {
    for (flavor, capacity) in every_flavor() {
        let (tx, rx) = channel(capacity);
        for value in 0..capacity {
            tx.send(value).unwrap();
        }
        // Never polled: nothing was sent.
        assert_eq!(tx.send_async(10).cancel(), Some(10), "{flavor}");
        // Waiting for room (for a receiver, its value in the rendezvous line): nothing was
        // sent, and the channel still holds just what it held.
        let task = Task::new();
        let mut send = tx.send_async(11);
        assert!(task.poll(&mut send).is_pending(), "{flavor}");
        assert_eq!(send.cancel(), Some(11), "{flavor}");
        for value in 0..capacity {
            assert_eq!(rx.try_recv(), Ok(value), "{flavor}");
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{flavor}");
        // Sent: nothing to give back.
        let mut send = tx.send_async(12);
        if capacity == 0 {
            assert!(task.poll(&mut send).is_pending());
            assert_eq!(rx.try_recv(), Ok(12), "the receiver takes it from the line");
            assert_eq!(send.cancel(), None, "{flavor}");
        } else {
            assert_eq!(task.poll(&mut send), Poll::Ready(Ok(())));
            assert_eq!(send.cancel(), None, "{flavor}");
            assert_eq!(rx.try_recv(), Ok(12), "{flavor}");
        }
        // Handed back in the error: not handed back twice.
        drop(rx);
        let mut send = tx.send_async(13);
        assert_eq!(
            task.poll(&mut send),
            Poll::Ready(Err(verisync::mpmc::SendError(13)))
        );
        assert_eq!(send.cancel(), None, "{flavor}");
    }
}

#[test]
fn a_called_off_send_passes_its_wake_up_on() {
    let (tx, rx) = channel(1);
    tx.send(0).unwrap();
    let (first, second) = (Task::new(), Task::new());
    let mut oldest = tx.send_async(1);
    let mut next = tx.send_async(2);
    assert!(first.poll(&mut oldest).is_pending());
    assert!(second.poll(&mut next).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(first.was_woken(), "the oldest waiting send is woken");
    assert!(!second.was_woken(), "one slot wakes one task");
    assert_eq!(oldest.cancel(), Some(1));
    assert!(second.was_woken(), "the wake-up is passed on");
    assert_eq!(second.poll(&mut next), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn disconnection_wakes_every_pending_future() {
    for (flavor, capacity) in every_flavor() {
        let (tx, rx) = channel::<u32>(capacity);
        let tasks = [Task::new(), Task::new()];
        let mut receives = [rx.recv_async(), rx.recv_async()];
        for (task, receive) in tasks.iter().zip(&mut receives) {
            assert!(task.poll(receive).is_pending(), "{flavor}");
        }
        drop(tx);
        for (task, receive) in tasks.iter().zip(&mut receives) {
            assert!(task.was_woken(), "{flavor}");
            assert_eq!(task.poll(receive), Poll::Ready(Err(RecvError)), "{flavor}");
        }
    }
    let (tx, rx) = channel(0);
    let task = Task::new();
    let mut send = tx.send_async(1);
    assert!(task.poll(&mut send).is_pending());
    drop(rx);
    assert!(task.was_woken());
    assert_eq!(
        task.poll(&mut send),
        Poll::Ready(Err(verisync::mpmc::SendError(1)))
    );
}

#[test]
fn a_batch_wakes_every_waiting_receive() {
    let (tx, rx) = channel(8);
    let tasks = [Task::new(), Task::new(), Task::new()];
    let mut receives = [rx.recv_async(), rx.recv_async(), rx.recv_async()];
    for (task, receive) in tasks.iter().zip(&mut receives) {
        assert!(task.poll(receive).is_pending());
    }
    tx.send_many([1, 2, 3]).unwrap();
    let mut got: Vec<u32> = tasks
        .iter()
        .zip(&mut receives)
        .map(|(task, receive)| {
            assert!(task.was_woken());
            match task.poll(receive) {
                Poll::Ready(Ok(value)) => value,
                other => panic!("woken receive not ready: {other:?}"),
            }
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn spsc_and_mpsc_endpoints_have_the_same_futures() {
    let (mut tx, mut rx) = verisync::spsc::channel(1);
    let task = Task::new();
    let mut receive = rx.recv_async();
    assert!(task.poll(&mut receive).is_pending());
    assert_eq!(tx.try_send(4), Ok(()));
    assert!(task.was_woken());
    assert_eq!(task.poll(&mut receive), Poll::Ready(Ok(4)));
    drop(receive);
    assert_eq!(block_on(tx.send_async(5)), Ok(()));
    assert_eq!(rx.try_recv(), Ok(5));

    let (tx, rx) = verisync::mpsc::sync_channel(0);
    let sender = spawn_watched("mpsc sender", move || block_on(tx.send_async(6)));
    assert_eq!(block_on(rx.recv_async()), Ok(6));
    assert_eq!(sender.join(), Ok(()));
    let (tx, rx) = verisync::mpsc::channel();
    assert_eq!(block_on(tx.send_async(7)), Ok(()));
    assert_eq!(rx.recv(), Ok(7));
}

#[test]
fn unbounded_receives_wait_and_sends_never_do() {
    let (tx, rx) = unbounded();
    let task = Task::new();
    assert!(task.poll(&mut tx.send_async(1)).is_ready());
    let mut receive = rx.recv_async();
    assert_eq!(task.poll(&mut receive), Poll::Ready(Ok(1)));
    let mut receive = rx.recv_async();
    assert!(task.poll(&mut receive).is_pending());
    tx.send(2).unwrap();
    assert!(task.was_woken());
    assert_eq!(task.poll(&mut receive), Poll::Ready(Ok(2)));
}

#[test]
fn an_async_acquire_waits_in_line_and_gets_released_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let task = Task::new();
    let mut acquire = semaphore.acquire_async();
    assert!(task.poll(&mut acquire).is_pending());
    assert!(
        semaphore.try_acquire().is_err(),
        "nobody overtakes a waiting task"
    );
    drop(held);
    assert!(task.was_woken());
    let Poll::Ready(Ok(permit)) = task.poll(&mut acquire) else {
        panic!("the released permit was not handed over");
    };
    assert_eq!(permit.count(), 1);
}

#[test]
fn a_cancelled_acquire_passes_its_granted_permits_on() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.try_acquire_many(2).unwrap();
    let (first, second) = (Task::new(), Task::new());
    let mut cancelled = semaphore.acquire_many_async(2);
    let mut next = semaphore.acquire_async();
    assert!(first.poll(&mut cancelled).is_pending());
    assert!(second.poll(&mut next).is_pending());
    drop(held); // both permits go to the first in line...
    assert!(first.was_woken());
    drop(cancelled); // ... which is cancelled before it took them: they go on
    assert!(second.was_woken());
    let Poll::Ready(Ok(permit)) = second.poll(&mut next) else {
        panic!("the cancelled waiter's permits were not passed on");
    };
    drop(permit);
    assert_eq!(semaphore.available_permits(), 2, "no permit leaked");
}

#[test]
fn a_cancelled_acquire_gives_up_its_place_in_line() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let (first, second) = (Task::new(), Task::new());
    let mut big = semaphore.acquire_many_async(2); // blocks everyone behind it
    let mut small = semaphore.acquire_async();
    assert!(first.poll(&mut big).is_pending());
    assert!(second.poll(&mut small).is_pending());
    drop(held);
    assert!(
        !second.was_woken(),
        "FIFO: the small request waits behind the big one"
    );
    drop(big);
    assert!(second.was_woken(), "the line moved up");
    assert!(matches!(second.poll(&mut small), Poll::Ready(Ok(_))));
}

#[test]
fn closing_fails_waiting_acquires_and_too_large_fails_at_once() {
    let semaphore = Arc::new(Semaphore::new(0));
    let task = Task::new();
    let mut acquire = semaphore.clone().acquire_owned_async();
    assert!(task.poll(&mut acquire).is_pending());
    semaphore.close();
    assert!(task.was_woken());
    assert_eq!(
        task.poll(&mut acquire).map(|r| r.err()),
        Poll::Ready(Some(AcquireError::Closed))
    );
    let too_many = Semaphore::MAX_PERMITS + 1;
    let outcome = block_on(semaphore.acquire_many_async(too_many)).err();
    assert_eq!(outcome, Some(AcquireError::Closed));
    let open = Semaphore::new(1);
    let outcome = block_on(open.acquire_many_async(too_many)).err();
    let expected = AcquireError::TooLarge {
        requested: too_many,
        max: Semaphore::MAX_PERMITS,
    };
    assert_eq!(outcome, Some(expected));
}

/// Polls `a` and `b` in turn until one is ready, then drops the other: a two-branch
/// `select!`, as runtimes' macros do it.
fn select2<A: Future + Unpin, B: Future + Unpin>(
    mut a: A,
    mut b: B,
) -> impl Future<Output = Result<A::Output, B::Output>> {
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = Pin::new(&mut a).poll(cx) {
            return Poll::Ready(Ok(out));
        }
        Pin::new(&mut b).poll(cx).map(Err)
    })
}

#[test]
fn concurrent_select_over_receives_loses_no_value() {
    for capacity in [0, 4] {
        let per_channel = scaled(2000, 30);
        let (tx1, rx1) = channel(capacity);
        let (tx2, rx2) = channel(capacity);
        let producers = [(tx1, 0), (tx2, per_channel)].map(|(tx, first)| {
            spawn_watched("producer", move || {
                block_on(async {
                    for value in first..first + per_channel {
                        tx.send_async(value).await.unwrap();
                    }
                });
            })
        });
        let consumer = spawn_watched("selecting consumer", move || {
            block_on(async {
                let mut got = Vec::new();
                loop {
                    match select2(rx1.recv_async(), rx2.recv_async()).await {
                        Ok(Ok(value)) | Err(Ok(value)) => got.push(value),
                        // One side is done: drain the other.
                        Ok(Err(RecvError)) => {
                            got.extend(rx2.iter());
                            break;
                        }
                        Err(Err(RecvError)) => {
                            got.extend(rx1.iter());
                            break;
                        }
                    }
                }
                got
            })
        });
        producers.into_iter().for_each(|producer| producer.join());
        let mut got = consumer.join();
        got.sort_unstable();
        assert_eq!(
            got,
            (0..2 * per_channel).collect::<Vec<_>>(),
            "capacity {capacity}"
        );
    }
}

#[test]
fn concurrent_tasks_and_threads_share_a_channel_and_cancelled_futures_lose_nothing() {
    for capacity in [0, 1, 8] {
        let items = scaled(3000, 40);
        let (tx, rx) = channel(capacity);
        let received = Arc::new(AtomicUsize::new(0));
        let sum = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for id in 0..2 {
            let tx = tx.clone();
            workers.push(spawn_watched("sender", move || {
                for value in (id..items).step_by(2) {
                    if id == 0 {
                        tx.send(value).unwrap();
                    } else {
                        block_on(tx.send_async(value)).unwrap();
                    }
                }
            }));
        }
        drop(tx);
        for id in 0..2 {
            let rx = rx.clone();
            let (received, sum) = (received.clone(), sum.clone());
            workers.push(spawn_watched("receiver", move || {
                let task = Task::new();
                let mut polls = 0usize;
                loop {
                    // The async receiver gives up after a few polls now and then, dropping a
                    // future that may have been woken or (rendezvous) handed a value.
                    let outcome = if id == 0 {
                        Some(rx.recv())
                    } else {
                        let mut receive = rx.recv_async();
                        let mut outcome = None;
                        for _ in 0..1 + polls % 3 {
                            if let Poll::Ready(done) = task.poll(&mut receive) {
                                outcome = Some(done);
                                break;
                            }
                            std::thread::yield_now();
                        }
                        polls += 1;
                        outcome
                    };
                    match outcome {
                        Some(Ok(value)) => {
                            received.fetch_add(1, Ordering::SeqCst);
                            sum.fetch_add(value, Ordering::SeqCst);
                        }
                        Some(Err(RecvError)) => return,
                        None => {}
                    }
                }
            }));
        }
        drop(rx);
        workers.into_iter().for_each(|worker| worker.join());
        assert_eq!(
            received.load(Ordering::SeqCst),
            items,
            "capacity {capacity}"
        );
        assert_eq!(sum.load(Ordering::SeqCst), items * (items - 1) / 2);
    }
}

#[test]
fn concurrent_acquires_with_cancellations_leak_no_permit() {
    let semaphore = Arc::new(Semaphore::new(2));
    let rounds = scaled(2000, 30);
    let workers: Vec<_> = (0..3)
        .map(|id| {
            let semaphore = semaphore.clone();
            spawn_watched("acquirer", move || {
                let task = Task::new();
                for round in 0..rounds {
                    let mut acquire = semaphore.clone().acquire_many_owned_async(1 + id % 2);
                    // Polled once or twice, then dropped if still waiting.
                    for _ in 0..1 + round % 2 {
                        if let Poll::Ready(permit) = task.poll(&mut acquire) {
                            assert!(permit.unwrap().count() >= 1);
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    workers.into_iter().for_each(|worker| worker.join());
    assert_eq!(semaphore.available_permits(), 2, "every permit came back");
}
