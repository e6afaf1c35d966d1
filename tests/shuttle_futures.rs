//! shuttle schedules of the async operations under `shuttle::future`'s executor, with random
//! cancellations: receives raced against a timer that fires after a random number of polls
//! (a runtime's timeout, or a losing `select!` branch) and consumer tasks aborted at random
//! points; and async semaphore acquires cancelled the same way.
//!
//! Every value sent must be received exactly once (or be left in the channel), whatever was
//! cancelled when; a lost wake-up leaves every task blocked, which shuttle reports as a
//! deadlock. Weak-memory bugs are loom's job (`tests/loom_futures.rs`).
//!
//! Run: `RUSTFLAGS="--cfg verisync_shuttle" cargo test --release --target-dir target/shuttle --test shuttle_futures`.
#![cfg(verisync_shuttle)]

#[path = "support/shuttle.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use shuttle::future::{block_on, spawn};
use shuttle::rand::{Rng, thread_rng};
use support::{Scheduler, run};
use verisync::mpmc;
use verisync::semaphore::Semaphore;

/// Values each of the two producers sends.
const PER_PRODUCER: usize = 3;

/// Ready after it has been polled `polls` times, waking itself each time: a timer whose
/// deadline is a random point of the schedule.
struct Timer {
    polls: usize,
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polls == 0 {
            return Poll::Ready(());
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// `future`'s output, or `None` if `timer` fired first (then `future` is dropped).
async fn with_timeout<F: Future + Unpin>(mut future: F, mut timer: Timer) -> Option<F::Output> {
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(output) = Pin::new(&mut future).poll(cx) {
            return Poll::Ready(Some(output));
        }
        Pin::new(&mut timer).poll(cx).map(|()| None)
    })
    .await
}

/// A channel of a random flavor: rendezvous, bounded at 1 or 2, or unbounded.
fn any_channel() -> (mpmc::Sender<usize>, mpmc::Receiver<usize>) {
    match thread_rng().gen_range(0..=3) {
        3 => mpmc::unbounded(),
        capacity => mpmc::channel(capacity),
    }
}

fn receives_cancelled_at_random_lose_nothing() {
    let (tx, rx) = any_channel();
    let received = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            let tx = tx.clone();
            spawn(async move {
                for value in producer * PER_PRODUCER..(producer + 1) * PER_PRODUCER {
                    tx.send_async(value).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    // A consumer whose receives time out at random, and one that is aborted at random.
    let timing_out = {
        let (rx, received) = (rx.clone(), received.clone());
        let polls: Vec<usize> = (0..4 * PER_PRODUCER)
            .map(|_| thread_rng().gen_range(0..3))
            .collect();
        spawn(async move {
            for polls in polls {
                match with_timeout(rx.recv_async(), Timer { polls }).await {
                    Some(Ok(value)) => received.lock().unwrap().push(value),
                    Some(Err(_)) => return,
                    None => {}
                }
            }
        })
    };
    let aborted = {
        let (rx, received) = (rx.clone(), received.clone());
        spawn(async move {
            while let Ok(value) = rx.recv_async().await {
                received.lock().unwrap().push(value);
            }
        })
    };
    block_on(async {
        for producer in producers {
            producer.await.unwrap();
        }
        if thread_rng().gen_bool(0.5) {
            aborted.abort();
        }
        let _ = aborted.await;
        timing_out.await.unwrap();
    });
    let mut received = std::mem::take(&mut *received.lock().unwrap());
    received.extend(rx.try_iter());
    received.sort_unstable();
    assert_eq!(received, (0..2 * PER_PRODUCER).collect::<Vec<_>>());
}

fn acquires_cancelled_at_random_leak_no_permit() {
    let semaphore = Arc::new(Semaphore::new(2));
    let tasks: Vec<_> = (0..3)
        .map(|task| {
            let semaphore = semaphore.clone();
            let polls: Vec<usize> = (0..3).map(|_| thread_rng().gen_range(0..3)).collect();
            spawn(async move {
                for polls in polls {
                    let acquire = semaphore.acquire_many_async(1 + task % 2);
                    if let Some(permit) = with_timeout(acquire, Timer { polls }).await {
                        let permit = permit.unwrap();
                        shuttle::thread::yield_now();
                        drop(permit);
                    }
                }
            })
        })
        .collect();
    block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(semaphore.available_permits(), 2, "a permit leaked");
    // And the line is empty: a fresh acquire of everything succeeds at once.
    assert!(semaphore.try_acquire_many(2).is_ok());
}

#[test]
fn receives_cancelled_at_random_lose_nothing_random() {
    let name = "receives_cancelled_at_random_lose_nothing_random";
    run(
        name,
        Scheduler::Random,
        receives_cancelled_at_random_lose_nothing,
    );
}

#[test]
fn receives_cancelled_at_random_lose_nothing_pct() {
    let name = "receives_cancelled_at_random_lose_nothing_pct";
    run(
        name,
        Scheduler::Pct,
        receives_cancelled_at_random_lose_nothing,
    );
}

#[test]
fn acquires_cancelled_at_random_leak_no_permit_random() {
    let name = "acquires_cancelled_at_random_leak_no_permit_random";
    run(
        name,
        Scheduler::Random,
        acquires_cancelled_at_random_leak_no_permit,
    );
}
