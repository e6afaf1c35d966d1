//! User code over verisync, as a downstream crate writes it, with a bug planted in each piece
//! of logic, so that its model-checking tests can show the bug is found and the fix passes.
//!
//! The crate picks loom's types or std's with `cfg(loom)`, the way loom's documentation asks
//! every crate under test to; verisync does the same for its own under the same cfg, so loom
//! sees every atomic operation of the program, the user's and verisync's.

#[cfg(loom)]
use loom::{
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
};
#[cfg(not(loom))]
use std::{
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
};

// A cell whose accesses loom tracks under `cfg(loom)`: loom's, or std's behind the same API.
#[cfg(loom)]
use loom::cell::UnsafeCell;

/// A cell whose accesses loom tracks under `cfg(loom)`: loom's, or std's behind the same API.
#[cfg(not(loom))]
#[derive(Debug)]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

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
