//! A task polled by hand with a waker that counts its wake-ups: how the async suites
//! (`tests/futures.rs`, and `support/ops/futures.rs` for the model and the fuzz target) stop a
//! future at a chosen point and see whether it was woken.
#![allow(dead_code, reason = "each suite uses the methods it needs")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A task polled by hand: counts how often its waker was woken.
pub struct Task {
    wakes: Arc<Wakes>,
    waker: Waker,
}

struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Task {
    pub fn new() -> Self {
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        Self { wakes, waker }
    }

    /// Polls `future` with this task's waker.
    pub fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(&self.waker))
    }

    /// Whether the waker was woken since the last call (which forgets the wake-ups).
    pub fn was_woken(&self) -> bool {
        self.wakes.0.swap(0, Ordering::SeqCst) > 0
    }

    /// Whether the waker was woken since the last [`was_woken`](Self::was_woken).
    pub fn woken(&self) -> bool {
        self.wakes.0.load(Ordering::SeqCst) > 0
    }
}
