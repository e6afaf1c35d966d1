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
//!   when giving up, call the send off with [`SendFuture::cancel`] instead of dropping it: it
//!   returns the value unless it was sent.
//!
//!   ```ignore
//!   let mut send = tx.send_async(value);
//!   if tokio::time::timeout(Duration::from_secs(1), &mut send).await.is_err() {
//!       // Timed out: take the value back, unless a receiver took it at the last moment.
//!       let unsent: Option<T> = send.cancel();
//!   }
//!   ```
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

mod handle;
mod operation;
#[cfg(feature = "futures")]
mod stream;
mod stream_methods;

use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use self::handle::Holds;
use self::operation::{Item, Operation};
#[cfg(feature = "futures")]
pub use self::stream::{RecvStream, SendSink};
pub(crate) use self::stream_methods::stream_methods;
use crate::error::{RecvError, SendError};
use crate::select::{RecvEndpoint, SendEndpoint};

/// How a future, stream or sink of this module holds its channel endpoint: a reference
/// (`&mpmc::Receiver<T>`, `&mut spsc::Receiver<T>`, ...) or the endpoint itself (the owned
/// streams and sinks). Sealed.
///
/// # Examples
/// ```
/// use verisync::future::{Handle, RecvFuture};
/// use verisync::select::RecvEndpoint;
///
/// /// Receives from any receiver, however the future holds it.
/// async fn first<H: Handle<Endpoint: RecvEndpoint>>(receive: RecvFuture<H>) -> bool {
///     receive.await.is_ok()
/// }
///
/// let (tx, rx) = verisync::mpmc::channel(1);
/// tx.send(1).unwrap();
/// assert!(verisync::future::block_on(first(rx.recv_async())));
/// ```
pub trait Handle: Holds {}

impl<H: Holds> Handle for H {}

/// Receives one value: the future of every receiver's `recv_async`.
///
/// Resolves to the value, or to [`RecvError`] once the channel is empty and every sender is
/// gone. `H` holds the receiver: `&Receiver` for the shareable receivers of
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
pub struct RecvFuture<H: Handle<Endpoint: RecvEndpoint>> {
    operation: Operation<H>,
}

/// Sends one value: the future of every sender's `send_async`.
///
/// Resolves to `Ok(())` once the value is in the channel (for a rendezvous channel: taken by
/// a receiver), or to [`SendError`] with the value once every receiver is gone. `H` holds the
/// sender: `&Sender` for [`mpmc`](crate::mpmc) and [`mpsc`](crate::mpsc), `&mut Sender` for
/// [`spsc`](crate::spsc)'s.
///
/// Cancel safe in the sense that it is never half-done: dropped before it completes, the
/// value is either sent or dropped with the future (module documentation); to keep a value
/// that was not sent, call the send off with [`cancel`](Self::cancel) instead of dropping
/// it. Polled again after it completed, it completes at once and sends nothing.
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
pub struct SendFuture<H: Handle<Endpoint: SendEndpoint>> {
    operation: Operation<H>,
}

impl<H: Handle<Endpoint: RecvEndpoint>> RecvFuture<H> {
    pub(crate) fn new(receiver: H) -> Self {
        Self {
            operation: Operation::new(receiver, None),
        }
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> SendFuture<H> {
    pub(crate) fn new(sender: H, value: Item<H>) -> Self {
        Self {
            operation: Operation::new(sender, Some(value)),
        }
    }

    /// Calls the send off and gives its value back if it was not sent: `Some(value)` if the
    /// future still held it (never polled, or waiting for room or for a receiver), `None` if
    /// the value has left it (sent, or handed back in the [`SendError`] it resolved to).
    ///
    /// Dropping a pending send drops its value; this is how to give up on a send without
    /// losing the value: await `&mut send` (the future is `Unpin`) under a timeout or in a
    /// `select!`, and call it off if the time ran out or another branch won. Like a
    /// drop, it leaves the send's place in line, and a wake-up it had not seen goes to the
    /// next waiting task. On a rendezvous channel a receiver may take the value up to this
    /// call; then the result is `None` and that receiver has it.
    ///
    /// # Examples
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::task::{Context, Waker};
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// // The channel is full: the send waits.
    /// let mut send = tx.send_async(2);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
    /// // Giving up on it gives the value back; nothing was sent.
    /// assert_eq!(send.cancel(), Some(2));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn cancel(mut self) -> Option<Item<H>> {
        self.operation.take_back_unsent()
    }
}

impl<H: Handle<Endpoint: RecvEndpoint>> Future for RecvFuture<H> {
    type Output = Result<Item<H>, RecvError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().operation.poll_recv(cx)
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> Future for SendFuture<H> {
    type Output = Result<(), SendError<Item<H>>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().operation.poll_send(cx)
    }
}

impl<H: Handle<Endpoint: RecvEndpoint>> Drop for RecvFuture<H> {
    #[inline]
    fn drop(&mut self) {
        self.operation.cancel_recv();
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> Drop for SendFuture<H> {
    #[inline]
    fn drop(&mut self) {
        self.operation.cancel_send();
    }
}

// Nothing is ever pinned through the futures: the value moves in and out of the operation's
// slot freely.
impl<H: Handle<Endpoint: RecvEndpoint>> Unpin for RecvFuture<H> {}
impl<H: Handle<Endpoint: SendEndpoint>> Unpin for SendFuture<H> {}

impl<H: Handle<Endpoint: RecvEndpoint>> fmt::Debug for RecvFuture<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.operation.is_waiting())
            .finish_non_exhaustive()
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> fmt::Debug for SendFuture<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.operation.is_waiting())
            .finish_non_exhaustive()
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
