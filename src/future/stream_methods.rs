//! The methods that make a stream or a sink of an endpoint (the `futures` feature), written
//! once for every endpoint type.

/// `stream`/`into_stream` on a receiver type, and `sink`/`into_sink` on a sender type, in
/// the module of `$module` (for the doc examples); `$borrow` is `&` for endpoints that take
/// `&self`, `&mut` for spsc's.
macro_rules! stream_methods {
    (receiver, $module:literal, $($borrow:tt)+) => {
        /// This receiver as a [`Stream`](futures_core::Stream), borrowed; see
        /// [`RecvStream`](crate::future::RecvStream). Needs the `futures` feature.
        ///
        /// # Examples
        /// ```
        /// use futures_core::Stream;
        /// use std::pin::Pin;
        /// use std::task::{Context, Poll, Waker};
        ///
        #[doc = concat!("let (tx, mut rx) = verisync::", $module, "::channel(1);")]
        /// tx.try_send(3).unwrap();
        /// let mut stream = rx.stream();
        /// let mut cx = Context::from_waker(Waker::noop());
        /// assert_eq!(Pin::new(&mut stream).poll_next(&mut cx), Poll::Ready(Some(3)));
        /// ```
        #[cfg(feature = "futures")]
        pub fn stream($($borrow)+ self) -> crate::future::RecvStream<$($borrow)+ Self> {
            crate::future::RecvStream::new(self)
        }

        /// This receiver as a [`Stream`](futures_core::Stream) that owns it, for a
        /// `'static` task; see [`RecvStream`](crate::future::RecvStream). Needs the `futures`
        /// feature.
        ///
        /// # Examples
        /// ```
        /// use futures_core::Stream;
        /// use std::pin::Pin;
        /// use std::task::{Context, Poll, Waker};
        ///
        #[doc = concat!("let (tx, rx) = verisync::", $module, "::channel::<u8>(1);")]
        /// drop(tx);
        /// let mut stream = rx.into_stream();
        /// let mut cx = Context::from_waker(Waker::noop());
        /// assert_eq!(Pin::new(&mut stream).poll_next(&mut cx), Poll::Ready(None));
        /// ```
        #[cfg(feature = "futures")]
        pub fn into_stream(self) -> crate::future::RecvStream<Self> {
            crate::future::RecvStream::new(self)
        }
    };
    (sender, $make:literal, $($borrow:tt)+) => {
        /// This sender as a [`Sink`](futures_sink::Sink), borrowed; see
        /// [`SendSink`](crate::future::SendSink). Needs the `futures` feature.
        ///
        /// # Examples
        /// ```
        /// use futures_sink::Sink;
        /// use std::pin::Pin;
        /// use std::task::{Context, Poll, Waker};
        ///
        #[doc = concat!("let (mut tx, rx) = ", $make, ";")]
        /// let mut sink = tx.sink();
        /// let mut cx = Context::from_waker(Waker::noop());
        /// assert!(Pin::new(&mut sink).poll_ready(&mut cx).is_ready());
        /// Pin::new(&mut sink).start_send(4).unwrap();
        /// assert_eq!(Pin::new(&mut sink).poll_close(&mut cx), Poll::Ready(Ok(())));
        /// drop(sink);
        /// assert_eq!(rx.try_recv(), Ok(4));
        /// ```
        #[cfg(feature = "futures")]
        pub fn sink($($borrow)+ self) -> crate::future::SendSink<$($borrow)+ Self> {
            crate::future::SendSink::new(self)
        }

        /// This sender as a [`Sink`](futures_sink::Sink) that owns it, for a `'static`
        /// task; see [`SendSink`](crate::future::SendSink). Needs the `futures` feature.
        ///
        /// # Examples
        /// ```
        /// use futures_sink::Sink;
        /// use std::pin::Pin;
        /// use std::task::{Context, Waker};
        ///
        #[doc = concat!("let (tx, rx) = ", $make, ";")]
        /// let mut sink = tx.into_sink();
        /// let mut cx = Context::from_waker(Waker::noop());
        /// assert!(Pin::new(&mut sink).poll_ready(&mut cx).is_ready());
        /// Pin::new(&mut sink).start_send(4).unwrap();
        /// assert!(Pin::new(&mut sink).poll_flush(&mut cx).is_ready());
        /// assert_eq!(rx.try_recv(), Ok(4));
        /// ```
        #[cfg(feature = "futures")]
        pub fn into_sink(self) -> crate::future::SendSink<Self> {
            crate::future::SendSink::new(self)
        }
    };
}

pub(crate) use stream_methods;
