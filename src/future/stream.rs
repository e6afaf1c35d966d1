//! `Stream` for receivers and `Sink` for senders (the `futures` feature), over the same
//! operation as the futures: [`RecvStream`] and [`SendSink`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::Handle;
use super::operation::{Item, Operation};
use crate::error::SendError;
use crate::select::{RecvEndpoint, SendEndpoint};

/// A receiver as a [`Stream`]: yields each value received, and ends once the channel is
/// empty and every sender is gone. From `stream` (borrowing the receiver) or `into_stream`
/// (owning it) on every receiver; needs the `futures` feature.
///
/// Cancel safe as [`RecvFuture`](super::RecvFuture): dropping the stream, or not polling it
/// again, loses no value.
///
/// # Examples
/// ```
/// use futures_core::Stream;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let (tx, rx) = verisync::mpmc::channel(2);
/// tx.send(1).unwrap();
/// drop(tx);
/// let mut stream = rx.into_stream();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(Pin::new(&mut stream).poll_next(&mut cx), Poll::Ready(Some(1)));
/// assert_eq!(Pin::new(&mut stream).poll_next(&mut cx), Poll::Ready(None));
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct RecvStream<H: Handle<Endpoint: RecvEndpoint>> {
    operation: Operation<H>,
    ended: bool,
}

/// A sender as a [`Sink`](futures_sink::Sink): `start_send` hands it a value, which the next
/// `poll_ready`, `poll_flush` or `poll_close` sends, waiting for room. From `sink`
/// (borrowing the sender) or `into_sink` (owning it) on every sender; needs the `futures`
/// feature. Closing the sink sends what it holds; the channel disconnects when its last
/// sender goes, as ever.
///
/// Dropped while it holds a value, the value was either sent or is dropped unsent, as with
/// [`SendFuture`](super::SendFuture).
///
/// # Examples
/// ```
/// use futures_sink::Sink;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let (tx, rx) = verisync::mpmc::channel(1);
/// let mut sink = tx.into_sink();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(Pin::new(&mut sink).poll_ready(&mut cx).is_ready());
/// Pin::new(&mut sink).start_send(5).unwrap();
/// assert_eq!(Pin::new(&mut sink).poll_flush(&mut cx), Poll::Ready(Ok(())));
/// assert_eq!(rx.try_recv(), Ok(5));
/// ```
#[must_use = "sinks do nothing unless polled"]
pub struct SendSink<H: Handle<Endpoint: SendEndpoint>> {
    operation: Operation<H>,
}

impl<H: Handle<Endpoint: RecvEndpoint>> RecvStream<H> {
    pub(crate) fn new(receiver: H) -> Self {
        Self {
            operation: Operation::new(receiver, None),
            ended: false,
        }
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> SendSink<H> {
    pub(crate) fn new(sender: H) -> Self {
        Self {
            operation: Operation::new(sender, None),
        }
    }
}

impl<H: Handle<Endpoint: RecvEndpoint>> Stream for RecvStream<H> {
    type Item = Item<H>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item<H>>> {
        let this = self.get_mut();
        let next = this.operation.poll_recv(cx).map(Result::ok);
        if let Poll::Ready(None) = next {
            this.ended = true;
        }
        next
    }
}

impl<H: Handle<Endpoint: RecvEndpoint>> FusedStream for RecvStream<H> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> futures_sink::Sink<Item<H>> for SendSink<H> {
    type Error = SendError<Item<H>>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().operation.poll_send(cx)
    }

    /// Takes `value`, to be sent by the next poll. Call it only after `poll_ready` returned
    /// `Ready(Ok(()))`, as the `Sink` contract says; otherwise it panics.
    fn start_send(self: Pin<&mut Self>, value: Item<H>) -> Result<(), Self::Error> {
        self.get_mut().operation.load(value);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().operation.poll_send(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().operation.poll_send(cx)
    }
}

impl<H: Handle<Endpoint: RecvEndpoint>> Drop for RecvStream<H> {
    fn drop(&mut self) {
        self.operation.cancel_recv();
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> Drop for SendSink<H> {
    fn drop(&mut self) {
        self.operation.cancel_send();
    }
}

// Nothing is pinned through them, as for the futures.
impl<H: Handle<Endpoint: RecvEndpoint>> Unpin for RecvStream<H> {}
impl<H: Handle<Endpoint: SendEndpoint>> Unpin for SendSink<H> {}

impl<H: Handle<Endpoint: RecvEndpoint>> fmt::Debug for RecvStream<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("waiting", &self.operation.is_waiting())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<H: Handle<Endpoint: SendEndpoint>> fmt::Debug for SendSink<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("waiting", &self.operation.is_waiting())
            .field("holds_value", &self.operation.holds_value())
            .finish_non_exhaustive()
    }
}
