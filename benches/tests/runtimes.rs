//! verisync's async operations under real runtimes: `tokio::select!` and `futures::select!`
//! over several receivers in a loop (the losing branches' futures are dropped every round)
//! lose no value; `tokio::time::timeout` cancels a receive and a send cleanly; receivers as
//! `Stream`s and senders as `Sink`s with the futures combinators. Here rather than in
//! verisync's own tests because this crate already builds tokio and futures for the
//! benchmarks (`cargo test -p verisync-benches`).

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
