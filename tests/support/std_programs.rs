// Programs written against `std::sync::mpsc`, the way std's documentation and everyday code use
// it. `tests/mpsc_drop_in.rs` includes this file twice: once after `use std::sync::mpsc;` and
// once after `use verisync::mpsc;`, which is the only difference between the two builds.
// Each program returns what it observed, and the two builds must observe the same.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};

/// A fixed pool of workers sharing one receiver behind a mutex (std's receiver cannot be
/// cloned), each job's result coming back on a shared result channel.
pub fn worker_pool() -> Vec<u64> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<u64>();
    let (results_tx, results_rx) = mpsc::channel();
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
            thread::spawn(move || {
                loop {
                    let job = jobs_rx.lock().unwrap().recv();
                    match job {
                        Ok(n) => results_tx.send(n * n).unwrap(),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    drop(results_tx);
    for n in 0..40 {
        jobs_tx.send(n).unwrap();
    }
    drop(jobs_tx);
    let mut results: Vec<u64> = results_rx.iter().collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    results.sort_unstable();
    results
}

/// Requests that carry their reply channel (a rendezvous `sync_channel(0)`), served by one
/// server thread.
pub fn request_reply() -> Vec<String> {
    let (requests_tx, requests_rx) = mpsc::channel::<(u32, SyncSender<String>)>();
    let server = thread::spawn(move || {
        for (n, reply) in requests_rx {
            reply.send(format!("{n} squared is {}", n * n)).unwrap();
        }
    });
    let replies = (1..=5)
        .map(|n| {
            let (reply_tx, reply_rx) = mpsc::sync_channel(0);
            requests_tx.send((n, reply_tx)).unwrap();
            reply_rx.recv().unwrap()
        })
        .collect();
    drop(requests_tx);
    server.join().unwrap();
    replies
}

/// A pipeline of three stages joined by a channel and a bounded `sync_channel`.
pub fn pipeline() -> (usize, u64) {
    let (numbers_tx, numbers_rx) = mpsc::channel::<u64>();
    let (evens_tx, evens_rx) = mpsc::sync_channel::<u64>(4);
    let filter = thread::spawn(move || {
        for n in numbers_rx {
            if n % 2 == 0 {
                evens_tx.send(n).unwrap();
            }
        }
    });
    let summer = thread::spawn(move || {
        let mut count = 0;
        let mut sum = 0;
        for n in evens_rx.iter() {
            count += 1;
            sum += n;
        }
        (count, sum)
    });
    for n in 0..200 {
        numbers_tx.send(n).unwrap();
    }
    drop(numbers_tx);
    filter.join().unwrap();
    summer.join().unwrap()
}

/// `for x in rx` over a receiver moved into the loop, with several producers.
pub fn for_loop_over_the_receiver() -> BTreeMap<u32, u32> {
    let (tx, rx) = mpsc::channel();
    for producer in 0..4 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..10 {
                tx.send((producer, i)).unwrap();
            }
        });
    }
    drop(tx);
    let mut last_seen = BTreeMap::new();
    for (producer, i) in rx {
        // Each producer's values arrive in the order it sent them.
        let previous = last_seen.insert(producer, i);
        assert!(previous.is_none_or(|previous| previous + 1 == i));
    }
    last_seen
}

/// A send inside `catch_unwind`, and a thread that panics while holding a sender.
pub fn send_inside_catch_unwind() -> (bool, Vec<i32>) {
    let (tx, rx) = mpsc::channel();
    let caught = panic::catch_unwind(|| {
        tx.send(1).unwrap();
    })
    .is_ok();
    let tx2 = tx.clone();
    let panicked = thread::spawn(move || {
        tx2.send(2).unwrap();
        panic::resume_unwind(Box::new("the producer fails after sending"));
    })
    .join()
    .is_err();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| tx.send(3)));
    assert!(panicked && outcome.is_ok());
    drop(tx);
    (caught, rx.iter().collect())
}

/// The non-blocking and timed receives, and a `try_send` on a full bounded channel.
pub fn polling_and_timeouts() -> Vec<String> {
    let mut seen = Vec::new();
    let (tx, rx) = mpsc::sync_channel(2);
    seen.push(format!("{:?}", rx.try_recv()));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    seen.push(format!("{:?}", tx.try_send(3)));
    seen.push(format!("{:?}", rx.try_iter().collect::<Vec<_>>()));
    let started = Instant::now();
    let timed_out = rx.recv_timeout(Duration::from_millis(20));
    seen.push(format!("{timed_out:?} {}", started.elapsed() >= Duration::from_millis(20)));
    drop(tx);
    seen.push(format!("{:?}", rx.recv_timeout(Duration::from_secs(5))));
    seen.push(format!("{:?}", rx.try_recv()));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    assert!(matches!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Disconnected)
    ));
    seen
}

/// Dropping the receiver: sends hand their values back, buffered values are dropped.
pub fn receiver_dropped() -> (String, String, usize) {
    let marker = Arc::new(());
    let (tx, rx): (_, Receiver<Arc<()>>) = mpsc::channel();
    tx.send(marker.clone()).unwrap();
    let (sync_tx, sync_rx) = mpsc::sync_channel(1);
    drop((rx, sync_rx));
    let unsent = tx.send(marker.clone()).unwrap_err();
    let refused = sync_tx.try_send(7);
    assert!(matches!(refused, Err(TrySendError::Disconnected(7))));
    let strong = Arc::strong_count(&unsent.0);
    drop(unsent);
    (
        format!("{:?}", tx.send(marker.clone()).map_err(|err| err.to_string())),
        format!("{refused:?}"),
        strong,
    )
}

/// A rendezvous hand-shake: the sender is not done until the receiver has taken the value.
pub fn rendezvous_hand_shake() -> Vec<&'static str> {
    let (tx, rx) = mpsc::sync_channel(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let log = log.clone();
        thread::spawn(move || {
            tx.send("ping").unwrap();
            log.lock().unwrap().push("sent");
        })
    };
    thread::sleep(Duration::from_millis(20));
    log.lock().unwrap().push("receiving");
    assert_eq!(rx.recv(), Ok("ping"));
    sender.join().unwrap();
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}
