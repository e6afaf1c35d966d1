//! User code over verisync, as a downstream crate writes it, with a bug planted in each piece
//! of logic, so that its model-checking tests can show the bug is found and the fix passes.
//!
//! The code takes its atomics, threads and cells from `verisync::model`, which are loom's
//! under `--cfg loom`, shuttle's under `--cfg shuttle` and std's otherwise; verisync follows
//! the same cfg for its own, so the checker sees every step of the program, the user's and
//! verisync's, and the crate needs no cfg of its own.

use verisync::model::cell::UnsafeCell;
use verisync::model::sync::Arc;
use verisync::model::sync::atomic::{AtomicUsize, Ordering};
use verisync::model::thread;

/// Which version of a piece of logic to run: the correct one, or the one with the bug planted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logic {
    /// The correct logic.
    Fixed,
    /// The logic with its planted bug.
    Planted,
}

/// A buffer that a writer fills and then hands over to a reader.
struct Handover {
    data: UnsafeCell<u64>,
}

// SAFETY: `data` is written only by the writer before its send on the spsc channel and read
// only by the reader after the matching receive (in `Logic::Fixed`), so the channel orders
// every access; `Logic::Planted` breaks exactly that, for loom to find.
unsafe impl Sync for Handover {}

/// A writer fills a buffer and tells a reader it is ready with a message on a
/// `verisync::spsc` channel; the reader reads the buffer once told. Returns what it read.
///
/// The planted bug: the writer sends the message before it writes, so the read races the
/// write. The fixed logic relies on verisync's guarantee that a send happens-before the
/// receive that takes its value, which loom can only see if verisync's atomics are modelled.
pub fn handover(logic: Logic) -> u64 {
    let buffer = Arc::new(Handover {
        data: UnsafeCell::new(0),
    });
    let (ready, told) = verisync::spsc::channel::<()>(1);
    let writer = {
        let buffer = buffer.clone();
        thread::spawn(move || {
            let fill = || {
                // SAFETY: see `Handover`: before the send, nobody else touches `data`.
                buffer.data.with_mut(|data| unsafe { *data = 42 });
            };
            if logic == Logic::Planted {
                ready.send(()).expect("reader gone");
                fill();
            } else {
                fill();
                ready.send(()).expect("reader gone");
            }
        })
    };
    told.recv().expect("writer gone");
    // SAFETY: see `Handover`: after the receive, the writer no longer touches `data`.
    let read = buffer.data.with(|data| unsafe { *data });
    writer.join().expect("writer panicked");
    read
}

/// Two workers take jobs from one `verisync::mpmc` channel and count the jobs they finish in a
/// shared tally; returns the tally once the jobs are done.
///
/// The planted bug: a worker counts with a load and a store instead of one `fetch_add`, so
/// two workers finishing at once can count one job.
pub fn tally(jobs: usize, logic: Logic) -> usize {
    let done = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = verisync::mpmc::channel::<usize>(jobs);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (rx, done) = (rx.clone(), done.clone());
            thread::spawn(move || {
                for _job in rx.iter() {
                    // Relaxed: a count only; the joins below order every increment before the
                    // final load.
                    if logic == Logic::Planted {
                        let seen = done.load(Ordering::Relaxed);
                        done.store(seen + 1, Ordering::Relaxed);
                    } else {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for job in 0..jobs {
        tx.send(job).expect("workers gone");
    }
    drop(tx);
    for worker in workers {
        worker.join().expect("worker panicked");
    }
    // Relaxed: after the joins (see the increments).
    done.load(Ordering::Relaxed)
}

/// A client sends one request to a server thread over `verisync::spsc` and waits for the reply
/// with `recv_timeout`; returns how many requests the server handled.
///
/// The planted bug: when the wait times out, the client takes the request for lost and sends
/// it again, so a slow server handles it twice. The fixed client keeps waiting for the reply
/// to the request it sent. Under loom a wait with a deadline may time out at any point, so
/// the checker explores the timeout racing the reply.
pub fn request_with_timeout(logic: Logic) -> usize {
    let (requests, incoming) = verisync::spsc::channel::<u32>(2);
    let (replies, reply) = verisync::spsc::channel::<u32>(2);
    let server = thread::spawn(move || {
        let mut handled = 0;
        for request in incoming.iter() {
            handled += 1;
            // The client may be gone already; a reply nobody reads is fine.
            let _ = replies.send(request + 1);
        }
        handled
    });
    requests.send(1).expect("server gone");
    match reply.recv_timeout(std::time::Duration::from_secs(1)) {
        Ok(answer) => assert_eq!(answer, 2),
        Err(verisync::error::RecvTimeoutError::Timeout) => {
            if logic == Logic::Planted {
                requests.send(1).expect("server gone");
            }
            assert_eq!(reply.recv().expect("server gone"), 2);
        }
        Err(err) => panic!("unexpected {err:?}"),
    }
    drop(requests);
    server.join().expect("server panicked")
}

/// Two threads take turns at a resource that only one may use at a time, each holding the
/// only permit of a `verisync::semaphore::Semaphore` while it does; returns the most threads
/// that were ever using it at once.
///
/// The planted bug: a thread gives the permit back before it marks itself done, so the other
/// thread can start while the first still counts as using the resource.
pub fn one_at_a_time(logic: Logic) -> usize {
    let turns = Arc::new(verisync::semaphore::Semaphore::new(1));
    let using = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let take_turn = {
        let (turns, using, most) = (turns.clone(), using.clone(), most.clone());
        move || {
            let permit = turns.acquire().expect("semaphore closed");
            let now = using.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            if logic == Logic::Planted {
                drop(permit);
                using.fetch_sub(1, Ordering::SeqCst);
            } else {
                using.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
            }
        }
    };
    let other = thread::spawn(take_turn.clone());
    take_turn();
    other.join().expect("thread panicked");
    most.load(Ordering::SeqCst)
}

/// Computes a value in a `verisync::fanout` task and returns what the caller read of it.
///
/// The planted bug: the caller reads the value inside the scope, right after spawning the
/// task, as if the task had already run; the fixed caller reads it once the scope has
/// returned, which `fanout::scope` guarantees is after every task of the group ended.
pub fn prefetch(logic: Logic) -> Option<u64> {
    let value = verisync::model::sync::Mutex::new(None);
    let read_inside = verisync::fanout::scope(1, |group| {
        group.spawn(|| {
            *value.lock().expect("task panicked") = Some(42);
            Ok::<(), ()>(())
        });
        *value.lock().expect("task panicked")
    })
    .expect("the task cannot fail");
    let read_after = *value.lock().expect("task panicked");
    if logic == Logic::Planted {
        read_inside
    } else {
        read_after
    }
}
