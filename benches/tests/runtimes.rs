//! verisync's async operations under real runtimes: `tokio::select!` and `futures::select!`
//! over several receivers in a loop (the losing branches' futures are dropped every round)
//! lose no value; `tokio::time::timeout` cancels a receive and a send cleanly; receivers as
//! `Stream`s and senders as `Sink`s with the futures combinators; under smol's executor, tasks
//! and a blocking thread share a channel while smol's timers cancel receives, and tasks share
//! the async semaphore. Here rather than in
//! verisync's own tests because this crate already builds tokio and futures for the
//! benchmarks (`cargo test -p verisync-benches`).

use std::future::Future;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use verisync::mpmc;

/// Values each producer sends.
const PER_PRODUCER: u64 = 20_000;

/// A runtime like the benchmarks': two workers.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Spawns one producer task per channel, each sending `PER_PRODUCER` values, the `i`th
/// channel's values being `i * PER_PRODUCER..`.
fn spawn_producers(runtime: &tokio::runtime::Runtime, senders: Vec<mpmc::Sender<u64>>) {
    for (i, tx) in senders.into_iter().enumerate() {
        let first = i as u64 * PER_PRODUCER;
        runtime.spawn(async move {
            for value in first..first + PER_PRODUCER {
                tx.send_async(value).await.expect("the consumer is alive");
            }
        });
    }
}

/// Asserts that `got` holds each of `0..channels * PER_PRODUCER` exactly once.
fn assert_all_once(mut got: Vec<u64>, channels: u64) {
    got.sort_unstable();
    assert_eq!(
        got.len() as u64,
        channels * PER_PRODUCER,
        "values lost or doubled"
    );
    assert!(
        got.iter().copied().eq(0..channels * PER_PRODUCER),
        "values lost or doubled"
    );
}

#[test]
fn tokio_select_over_receivers_loses_nothing() {
    let runtime = runtime();
    // A rendezvous channel (where a value can be handed to a receive that then loses the
    // select), a one-slot one and an unbounded one.
    let (txs, rxs): (Vec<_>, Vec<_>) = [mpmc::channel(0), mpmc::channel(1), mpmc::unbounded()]
        .into_iter()
        .unzip();
    spawn_producers(&runtime, txs);
    let got = runtime.block_on(async {
        let mut got = Vec::new();
        let [a, b, c] = [&rxs[0], &rxs[1], &rxs[2]];
        let mut open = [true; 3];
        while open.iter().any(|&open| open) {
            tokio::select! {
                value = a.recv_async(), if open[0] => match value {
                    Ok(value) => got.push(value),
                    Err(_) => open[0] = false,
                },
                value = b.recv_async(), if open[1] => match value {
                    Ok(value) => got.push(value),
                    Err(_) => open[1] = false,
                },
                value = c.recv_async(), if open[2] => match value {
                    Ok(value) => got.push(value),
                    Err(_) => open[2] = false,
                },
            }
        }
        got
    });
    assert_all_once(got, 3);
}

#[test]
fn futures_select_over_receivers_loses_nothing() {
    let runtime = runtime();
    let (txs, rxs): (Vec<_>, Vec<_>) = [mpmc::channel(0), mpmc::channel(4)].into_iter().unzip();
    spawn_producers(&runtime, txs);
    let got = runtime.block_on(async {
        let mut got = Vec::new();
        let mut open = [true; 2];
        while open.iter().any(|&open| open) {
            // A closed channel's branch is a future that never completes.
            let first = async {
                if open[0] {
                    rxs[0].recv_async().await
                } else {
                    std::future::pending().await
                }
            };
            let second = async {
                if open[1] {
                    rxs[1].recv_async().await
                } else {
                    std::future::pending().await
                }
            };
            futures::select! {
                value = first.fuse() => match value {
                    Ok(value) => got.push(value),
                    Err(_) => open[0] = false,
                },
                value = second.fuse() => match value {
                    Ok(value) => got.push(value),
                    Err(_) => open[1] = false,
                },
            }
        }
        got
    });
    assert_all_once(got, 2);
}

#[test]
fn timeouts_cancel_receives_and_sends_cleanly() {
    let runtime = runtime();
    runtime.block_on(async {
        let (tx, rx) = mpmc::channel::<u64>(0);
        let timed_out = tokio::time::timeout(Duration::from_millis(5), rx.recv_async()).await;
        assert!(timed_out.is_err(), "nothing was sent");
        let timed_out = tokio::time::timeout(Duration::from_millis(5), tx.send_async(1)).await;
        assert!(timed_out.is_err(), "nobody was receiving");
        assert_eq!(
            rx.try_recv(),
            Err(mpmc::TryRecvError::Empty),
            "the cancelled send sent nothing"
        );
        // A send awaited through `&mut` under a timeout, then called off: the value comes back.
        let mut send = tx.send_async(3);
        let timed_out = tokio::time::timeout(Duration::from_millis(5), &mut send).await;
        assert!(timed_out.is_err(), "nobody was receiving");
        assert_eq!(send.cancel(), Some(3), "the unsent value comes back");
        // The channel still works both ways after the cancellations.
        let receiver = tokio::spawn(async move { rx.recv_async().await });
        tx.send_async(2).await.unwrap();
        assert_eq!(receiver.await.unwrap(), Ok(2));
    });
}

#[test]
fn receivers_stream_and_senders_sink() {
    let runtime = runtime();
    let (tx, rx) = mpmc::channel(8);
    let sum = runtime.block_on(async move {
        let producer = tokio::spawn(async move {
            let mut sink = tx.into_sink();
            let mut values = futures::stream::iter(0..PER_PRODUCER).map(Ok);
            sink.send_all(&mut values)
                .await
                .expect("the receiver is alive");
            sink.close().await.expect("the receiver is alive");
        });
        let sum = rx
            .into_stream()
            .fold(0, |sum, value| async move { sum + value })
            .await;
        producer.await.unwrap();
        sum
    });
    assert_eq!(sum, PER_PRODUCER * (PER_PRODUCER - 1) / 2);
}

/// A smol executor run by two threads until `work` is done; its tasks may borrow what
/// outlives the call (`'a`).
fn on_smol<'a, R: Send>(work: impl FnOnce(&smol::Executor<'a>) -> R + Send) -> R {
    let executor = smol::Executor::new();
    let (stop, stopped) = async_channel::bounded::<()>(1);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (executor, stopped) = (&executor, stopped.clone());
            scope.spawn(move || smol::block_on(executor.run(stopped.recv())));
        }
        let result = work(&executor);
        // The last sender: dropping it (here, or while a panic unwinds this closure) stops the
        // threads, so the scope can end.
        drop(stop);
        result
    })
}

#[test]
fn under_smol_tasks_and_a_thread_share_a_channel_and_timeouts_lose_nothing() {
    // A rendezvous channel (where a value can be handed to a receive that the timer then
    // cancels), a four-slot one and an unbounded one.
    for (tx, rx) in [mpmc::channel(0), mpmc::channel(4), mpmc::unbounded()] {
        let got = on_smol(|executor| share_a_channel(executor, tx, rx));
        assert_all_once(got, 4);
    }
}

/// Three producer tasks and a blocking thread send `PER_PRODUCER` values each, the `i`th
/// `i * PER_PRODUCER..`, to two consumer tasks whose every third receive races a short smol
/// timer; what the consumers received.
///
/// # Panics
/// If the tasks are not done within [`DEADLINE`].
fn share_a_channel(
    executor: &smol::Executor<'_>,
    tx: mpmc::Sender<u64>,
    rx: mpmc::Receiver<u64>,
) -> Vec<u64> {
    let producers: Vec<_> = (0..3)
        .map(|i| {
            let tx = tx.clone();
            executor.spawn(async move {
                for value in i * PER_PRODUCER..(i + 1) * PER_PRODUCER {
                    tx.send_async(value).await.expect("the consumers are alive");
                }
            })
        })
        .collect();
    let thread = std::thread::spawn(move || {
        for value in 3 * PER_PRODUCER..4 * PER_PRODUCER {
            tx.send(value).expect("the consumers are alive");
        }
    });
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            executor.spawn(async move {
                let mut got = Vec::new();
                for round in 0u64.. {
                    let received = if round % 3 == 0 {
                        unless_timed_out(timer_of(round), rx.recv_async()).await
                    } else {
                        Some(rx.recv_async().await)
                    };
                    match received {
                        Some(Ok(value)) => got.push(value),
                        Some(Err(_)) => return got,
                        None => {}
                    }
                }
                unreachable!("the senders disconnect")
            })
        })
        .collect();
    drop(rx);
    let got = smol::block_on(within_deadline(async {
        for producer in producers {
            producer.await;
        }
        let mut got = Vec::new();
        for consumer in consumers {
            got.extend(consumer.await);
        }
        got
    }));
    thread.join().expect("the sending thread panicked");
    got
}

/// How long a smol test's tasks may take before it panics instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

/// `work`, or a panic if it is not done within [`DEADLINE`] (a lost wake-up).
async fn within_deadline<R>(work: impl Future<Output = R>) -> R {
    smol::future::or(work, async {
        smol::Timer::after(DEADLINE).await;
        panic!("the tasks were not done within {DEADLINE:?}: a lost wake-up?")
    })
    .await
}

#[test]
fn under_smol_tasks_share_the_semaphore_and_timeouts_leak_no_permit() {
    const TASKS: usize = 16;
    const ROUNDS: u64 = 2_000;
    let semaphore = verisync::semaphore::Semaphore::new(3);
    let in_use = std::sync::atomic::AtomicUsize::new(0);
    on_smol(|executor| {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (semaphore, in_use) = (&semaphore, &in_use);
                executor.spawn(async move {
                    for round in 0..ROUNDS {
                        // Every third acquire races a short timer.
                        let acquire = semaphore.acquire_many_async(1 + task % 2);
                        let acquired = if round % 3 == 0 {
                            unless_timed_out(timer_of(round), acquire).await
                        } else {
                            Some(acquire.await)
                        };
                        let Some(permits) = acquired else { continue };
                        let permits = permits.expect("never closed");
                        let held = in_use.fetch_add(permits.count(), SeqCst) + permits.count();
                        assert!(held <= 3, "{held} permits in use of 3");
                        smol::future::yield_now().await;
                        in_use.fetch_sub(permits.count(), SeqCst);
                    }
                })
            })
            .collect();
        smol::block_on(within_deadline(async {
            for task in tasks {
                task.await;
            }
        }));
    });
    assert_eq!(semaphore.available_permits(), 3, "a permit leaked");
}

/// `operation`'s output, or `None` if a smol timer of `after` fires first. The timer is polled
/// first each time, so the operation is cancelled even when it completed meanwhile: a value or
/// permits handed to it must then go to someone else, and a wake-up meant for it be passed on.
async fn unless_timed_out<R>(after: Duration, operation: impl Future<Output = R>) -> Option<R> {
    let timer = async {
        smol::Timer::after(after).await;
        None
    };
    smol::future::or(timer, async { Some(operation.await) }).await
}

/// The timer of a round whose operation may time out: from none at all to 40 µs.
fn timer_of(round: u64) -> Duration {
    Duration::from_micros(round % 41)
}
