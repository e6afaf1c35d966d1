//! The futures of the channels' async operations: [`RecvFuture`] (from `recv_async`) and
//! [`SendFuture`] (from `send_async`), on every receiver and sender of [`mpmc`] (all flavors),
//! [`mpsc`] and [`spsc`].
//!
//! They need no runtime: a future that cannot complete registers its task's [`Waker`] with
//! the channel and is woken by the other side, so they run under tokio, smol, async-std or a
//! plain `block_on` (this module has a minimal one, [`block_on`]). One channel may serve
//! blocking threads, selects and async tasks at once.
//!
//! # Timeouts
//! Time belongs to the runtime: wrap the future in the runtime's timeout, which drops it when
//! the time is up, and the cancel safety below says what that leaves behind.
//!
//! ```ignore
//! match tokio::time::timeout(Duration::from_secs(1), rx.recv_async()).await {
//!     Ok(Ok(value)) => println!("got {value}"),
//!     Ok(Err(RecvError)) => println!("every sender is gone"),
//!     Err(_elapsed) => println!("nothing within a second; nothing was taken"),
//! }
//! ```
//!
//! # Cancel safety
//! Dropping a future before it completes (a timeout, the losing branch of a `select!`, an
//! aborted task) is safe at every await point:
//! - **`recv_async`** loses nothing. A buffered value stays in the channel until a poll
//!   takes it and returns it in the same step. A rendezvous sender may hand its value to a
//!   waiting receive and return; if that receive is then dropped before it is polled, the
//!   value goes to the next receiver waiting, or waits at the front of the channel for the
//!   next receive. A wake-up meant for a dropped receive goes to the next receive waiting.
//! - **`send_async`** is all or nothing: dropped, the value was either sent (a receiver has it,
//!   or the buffer does) or not sent at all and dropped with the future. To keep the value
//!   when giving up, use a `try_send` loop, or send from a task that is never cancelled.
//! - A dropped future leaves its place in line: on a buffered channel, a wake-up it was given
//!   but had not seen goes to the next task waiting.
//!
//! So `tokio::select!` (or `futures::select!`) over several receivers' `recv_async` loses no
//! value, whichever branch wins.
//!
//! # Progress
//! A pending future is woken once its operation may complete: a value pushed wakes one
//! waiting receive (a batch, every one), a slot freed wakes one waiting send, and a
//! disconnection wakes them all; blocked threads on the same channel are woken as before. A
//! woken future that finds the value taken by someone faster waits again.
//!
//! [`mpmc`]: crate::mpmc
//! [`mpsc`]: crate::mpsc
//! [`spsc`]: crate::spsc
//!
//! # Examples
//! ```
//! use verisync::future::block_on;
//! let (tx, rx) = verisync::mpmc::channel(4);
//! let producer = std::thread::spawn(move || block_on(async {
//!     for i in 0..10 {
//!         tx.send_async(i).await.unwrap();
//!     }
//! }));
//! let received: Vec<u32> = block_on(async {
//!     let mut received = Vec::new();
//!     while let Ok(value) = rx.recv_async().await {
//!         received.push(value);
//!     }
//!     received
//! });
//! producer.join().unwrap();
//! assert_eq!(received, (0..10).collect::<Vec<_>>());
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::select::{RecvEndpoint, Selection, SendEndpoint, Side, Sink, Source, Watch};
use crate::sync::Arc;

/// Receives one value: the future of every receiver's `recv_async`.
///
/// Resolves to the value, or to [`RecvError`] once the channel is empty and every sender is
/// gone. `E` is a reference to the receiver: `&Receiver` for the shareable receivers of
/// [`mpmc`](crate::mpmc) and [`mpsc`](crate::mpsc), `&mut Receiver` for
/// [`spsc`](crate::spsc)'s, which one task owns.
///
/// Cancel safe: dropped before it completes, it has taken nothing (module documentation).
///
/// # Examples
/// ```
/// use verisync::future::block_on;
/// let (tx, rx) = verisync::mpmc::channel(1);
/// tx.send(7).unwrap();
/// let future: verisync::future::RecvFuture<&verisync::mpmc::Receiver<u32>> = rx.recv_async();
/// assert_eq!(block_on(future), Ok(7));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<E: Deref<Target: RecvEndpoint>> {
    operation: Operation<E>,
}

/// Sends one value: the future of every sender's `send_async`.
///
/// Resolves to `Ok(())` once the value is in the channel (for a rendezvous channel: taken by
/// a receiver), or to [`SendError`] with the value once every receiver is gone. `E` is a
/// reference to the sender: `&Sender` for [`mpmc`](crate::mpmc) and [`mpsc`](crate::mpsc),
/// `&mut Sender` for [`spsc`](crate::spsc)'s.
///
/// Cancel safe in the sense that it is never half-done: dropped before it completes, the
/// value is either sent or dropped with the future (module documentation).
///
/// # Examples
/// ```
/// use verisync::future::block_on;
/// let (tx, rx) = verisync::mpmc::channel(1);
/// assert_eq!(block_on(tx.send_async(7)), Ok(()));
/// drop(rx);
/// assert_eq!(block_on(tx.send_async(8)).unwrap_err().0, 8);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<E: Deref<Target: SendEndpoint>> {
    operation: Operation<E>,
}

impl<E: Deref<Target: RecvEndpoint>> RecvFuture<E> {
    pub(crate) fn new(receiver: E) -> Self {
        Self {
            operation: Operation::new(receiver, None),
        }
    }
}

impl<E: Deref<Target: SendEndpoint>> SendFuture<E> {
    pub(crate) fn new(sender: E, value: <E::Target as Side>::Item) -> Self {
        Self {
            operation: Operation::new(sender, Some(value)),
        }
    }
}

impl<E: Deref<Target: RecvEndpoint>> Future for RecvFuture<E> {
    type Output = Result<<E::Target as Side>::Item, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let attempt = |receiver: &E::Target, _: &mut Option<_>| match receiver.try_take() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
        };
        let met = |slot: &mut Option<_>| Ok(take_met_value(slot));
        self.get_mut().operation.poll(cx, attempt, met)
    }
}

impl<E: Deref<Target: SendEndpoint>> Future for SendFuture<E> {
    type Output = Result<(), SendError<<E::Target as Side>::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let attempt = |sender: &E::Target, slot: &mut Option<_>| {
            let value = slot.take().expect("`SendFuture` polled after it completed");
            match sender.try_put(value) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Full(value)) => {
                    *slot = Some(value);
                    None
                }
                Err(TrySendError::Disconnected(value)) => Some(Err(SendError(value))),
            }
        };
        self.get_mut().operation.poll(cx, attempt, |_| Ok(()))
    }
}

impl<E: Deref<Target: RecvEndpoint>> Drop for RecvFuture<E> {
    fn drop(&mut self) {
        let operation = &mut self.operation;
        if operation.end_round() {
            // Cancelled after a rendezvous partner handed us a value: it stays in the channel.
            let value = take_met_value(&mut operation.slot);
            operation.endpoint.give_back(value);
        }
    }
}

impl<E: Deref<Target: SendEndpoint>> Drop for SendFuture<E> {
    fn drop(&mut self) {
        // Sent if a partner took it; otherwise the value is back in the slot, dropped with us.
        self.operation.end_round();
    }
}

// Nothing is ever pinned through the futures: the value moves in and out of `slot` freely.
impl<E: Deref<Target: RecvEndpoint>> Unpin for RecvFuture<E> {}
impl<E: Deref<Target: SendEndpoint>> Unpin for SendFuture<E> {}

impl<E: Deref<Target: RecvEndpoint>> fmt::Debug for RecvFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.operation.round.is_some())
            .finish_non_exhaustive()
    }
}

impl<E: Deref<Target: SendEndpoint>> fmt::Debug for SendFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.operation.round.is_some())
            .finish_non_exhaustive()
    }
}

/// The value a rendezvous partner handed a receive that was waiting.
fn take_met_value<T>(slot: &mut Option<T>) -> T {
    slot.take()
        .expect("a receive met by a partner holds the partner's value")
}

/// One operation on a channel side, driven by polls: tried at once, and between polls
/// registered with the side exactly as one operation of a select (`select/engine.rs`), the
/// selection waking the task instead of a thread.
struct Operation<E: Deref<Target: Side>> {
    endpoint: E,
    /// A send's value; a receive's, when a rendezvous partner hands one over.
    slot: Option<<E::Target as Side>::Item>,
    /// The registration while the operation waits.
    round: Option<Round<<E::Target as Side>::Item>>,
}

/// A waiting operation's registration: its selection, and where the side put it.
struct Round<T> {
    selection: Arc<Selection>,
    watch: Watch<T>,
}

type Item<E> = <<E as Deref>::Target as Side>::Item;

impl<E: Deref<Target: Side>> Operation<E> {
    fn new(endpoint: E, slot: Option<Item<E>>) -> Self {
        Self {
            endpoint,
            slot,
            round: None,
        }
    }

    /// Completes the operation with `attempt` (its non-blocking try: `None` if it would
    /// wait), or registers and returns `Pending`. `met` is the output when a rendezvous
    /// partner completed the operation while it was registered.
    fn poll<O>(
        &mut self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&E::Target, &mut Option<Item<E>>) -> Option<O>,
        met: impl Fn(&mut Option<Item<E>>) -> O,
    ) -> Poll<O> {
        if let Some(round) = &self.round {
            // Not notified: nothing has changed for us since we registered (a notification
            // would have come), and the registration stands, now with this poll's waker.
            if !round.selection.poll_notified(cx.waker()) {
                return Poll::Pending;
            }
            if self.end_round() {
                return Poll::Ready(met(&mut self.slot));
            }
        }
        loop {
            if let Some(done) = attempt(&self.endpoint, &mut self.slot) {
                return Poll::Ready(done);
            }
            let selection = Selection::for_task(cx.waker());
            let watch = self.endpoint.watch(&selection, 0, &mut self.slot);
            let in_queue = match watch {
                Watch::Met => return Poll::Ready(met(&mut self.slot)),
                Watch::Declined => continue,
                Watch::Queue => true,
                Watch::Line(_) => false,
            };
            self.round = Some(Round { selection, watch });
            // Registered, then the re-check, as a sleeping thread does (`park.rs`): either the
            // side that makes progress sees our registration, or we see its progress here.
            if in_queue {
                crate::fence::heavy_for_every_fence();
            }
            if !self.endpoint.looks_ready() || cfg!(verisync_mutant = "async_no_recheck") {
                return Poll::Pending;
            }
            if self.end_round() {
                return Poll::Ready(met(&mut self.slot));
            }
        }
    }

    /// Takes the registration back, if there is one. True if a rendezvous partner completed
    /// the operation meanwhile: a send's value is gone, a receive's is in the slot.
    fn end_round(&mut self) -> bool {
        let Some(Round { selection, watch }) = self.round.take() else {
            return false;
        };
        let met = selection.abort().is_some();
        self.endpoint.unwatch(watch, &selection, &mut self.slot);
        met
    }
}

/// Runs `future` to completion on the calling thread, parking it while the future is pending:
/// the smallest executor, for tests, examples and threads that wait for one future. It runs
/// no other tasks; inside an async runtime, `.await` the future instead.
///
/// (Under `--cfg loom` or `--cfg shuttle`, use the checker's own `block_on`, such as
/// `loom::future::block_on`, so that the checker sees the parking.)
///
/// # Examples
/// ```
/// use verisync::future::block_on;
///
/// let (tx, rx) = verisync::mpmc::channel(1);
/// let sender = std::thread::spawn(move || block_on(tx.send_async("hello")));
/// assert_eq!(block_on(rx.recv_async()), Ok("hello"));
/// sender.join().unwrap().unwrap();
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake before this park makes it return at once (the thread's token).
        thread::park();
    }
}

/// [`block_on`]'s waker: unparks the blocked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}
