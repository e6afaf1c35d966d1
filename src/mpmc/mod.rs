//! A bounded multi-producer multi-consumer queue, and channels: bounded, unbounded and
//! rendezvous.
//!
//! [`Queue`] is the raw structure, shared by reference or in an `Arc`, with crossbeam's names
//! (`push`, `pop`, `force_push`). [`channel`] wraps one in cloneable [`Sender`]s and
//! [`Receiver`]s with std's names and errors, blocking operations, timeouts and deadlines,
//! batches and disconnection; [`channel`]`(0)` is a rendezvous channel instead, and
//! [`unbounded`] a channel over a growing list of segments. The endpoints are the same types
//! whatever the flavor.
//!
//! # Guarantees
//! - **Order.** Strict FIFO across all producers: the queue is linearizable, so values come out
//!   in the order their pushes took effect, and each value comes out exactly once. In
//!   particular the values of one producer arrive in the order it sent them.
//! - **Progress.** No operation takes a lock or makes a system call except a blocking channel
//!   operation about to sleep. `push`, `pop` and the `try_` operations never wait for the queue
//!   to change state: they return `Err`/`None` at once when it is full or empty. Like every
//!   bounded ring of per-slot stamps, they are lock-free except in one case: a thread that
//!   finds the slot it needs claimed, one lap earlier or in the same lap, by a thread that has
//!   not finished with it yet waits (spinning, then yielding its CPU) for that thread's next
//!   few instructions. A thread preempted in that window delays operations on its slot only.
//!   `send`/`recv` block: they spin briefly, then park until the other side makes progress or
//!   disconnects. The unbounded channel's operations are the same, except that its sends
//!   never wait. A rendezvous channel is the exception: its operations take a short lock, as
//!   a hand-off between two threads needs both.
//! - **Full.** [`Queue::push`] hands the value back; [`Queue::force_push`] makes room by
//!   evicting the oldest value and returns it; [`Sender::try_send`] hands the value back in
//!   [`TrySendError::Full`]; [`Sender::send`] waits; [`Sender::send_timeout`] and
//!   [`Sender::send_deadline`] wait until a deadline, then hand the value back.
//! - **Empty.** [`Queue::pop`] returns `None`; [`Receiver::try_recv`] returns
//!   [`TryRecvError::Empty`]; [`Receiver::recv`] waits; [`Receiver::recv_timeout`] and
//!   [`Receiver::recv_deadline`] wait until a deadline, then return `Timeout`.
//! - **Disconnected.** When every [`Sender`] is gone, receivers still get every value sent
//!   before, then `Disconnected`. When every [`Receiver`] is gone, sends hand their values back
//!   in a `Disconnected` error. A clone counts as an endpoint of its side.
//! - **Drop.** Every value is dropped exactly once. Values still in a [`Queue`] are dropped
//!   with it. Values still buffered in a channel when its last [`Receiver`] is dropped die with
//!   it, as in std: by the time that drop, and any send that overlapped it, have returned, none
//!   is left in the buffer (so a reply sender inside an unread request disconnects its client
//!   at once). The drop pops and drops them; a send that overlapped it and finds every receiver
//!   gone after pushing pops and drops what is left itself.
//! - **Capacity.** Exactly the capacity asked for, any value from 1. A [`Queue`] of capacity 0,
//!   or a buffer that would not fit in `isize::MAX` bytes, is an error from [`Queue::try_new`]
//!   and [`try_channel`], and a panic from [`Queue::new`] and [`channel`]. A channel of
//!   capacity 0 is a rendezvous channel; [`unbounded`] makes one without a bound.
//! - **Rendezvous** (`channel(0)`). No buffer: `send` completes only when a receiver takes the
//!   value, waiting for one until then (and `send_timeout`/`send_deadline` until the
//!   deadline); `try_send` succeeds only if a receiver is waiting, else returns `Full`;
//!   `recv` waits for a sender, `try_recv` takes the value of a sender already waiting. The
//!   status methods report `len` 0, `is_full` true and `capacity` `Some(0)`. Disconnection
//!   wakes every waiter of the other side with `Disconnected`, and a waiting sender gets its
//!   value back.
//! - **Unbounded** ([`unbounded`]). `send` never waits and never fails while a receiver lives;
//!   `is_full` is false and `capacity` `None`. Values live in segments of 31, each freed as soon
//!   as its last value is taken, so a drained channel holds at most a segment or two.
//!   Positions count up to `usize::MAX` and wrap around consistently.
//!
//! # Design
//! A ring of slots, each with a *stamp* saying whose turn the slot is, and two cursors, `head`
//! and `tail`, each on its own cache line (the scheme of Dmitry Vyukov's bounded queue). A
//! position encodes a lap number and a slot index, `lap * L + index`, with `L` the smallest
//! power of two above the capacity, so positions wrap around `usize` without ever being
//! ambiguous and no operation divides. A slot's stamp is `p` when it is free for the producer
//! of position `p`, `p + 1` once that producer has filled it, and `p + L` once the consumer of
//! `p` has emptied it for the next lap. A producer claims the position at `tail` with one
//! compare-exchange when the stamp says the slot is free, writes, then publishes the stamp
//! (`Release`); a consumer does the same at `head`. Batches claim a run of ready slots with a
//! single compare-exchange.
//!
//! Why not fetch-add tickets with per-slot turns: a ticket, once taken, must be served, so a
//! `pop` on an empty queue could not return `None` without blocking until a producer fills its
//! slot, and `force_push` could not evict. The compare-exchange only claims a slot that is
//! already ready, so every `try_` operation fails fast instead.
//!
//! The channel parks blocked threads in the crate's wait queue: the fast path of every send
//! and receive pays one compiler fence and one load of a sleeper count when nobody sleeps.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//!
//! let queue = Arc::new(verisync::mpmc::Queue::new(64));
//! let producers: Vec<_> = (0..2u64)
//!     .map(|p| {
//!         let queue = queue.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..100 {
//!                 let mut value = p * 1000 + i;
//!                 while let Err(back) = queue.push(value) {
//!                     value = back;
//!                     std::thread::yield_now();
//!                 }
//!             }
//!         })
//!     })
//!     .collect();
//! let mut received = Vec::new();
//! while received.len() < 200 {
//!     if let Some(value) = queue.pop() {
//!         received.push(value);
//!     }
//! }
//! producers.into_iter().for_each(|p| p.join().unwrap());
//! received.sort();
//! let expected: Vec<u64> = (0..100).chain(1000..1100).collect();
//! assert_eq!(received, expected);
//! ```

mod channel;
mod flavor;
mod list;
mod queue;
mod zero;

pub use self::channel::{
    IntoIter, Iter, Receiver, Sender, TryIter, channel, try_channel, unbounded,
};
pub use self::queue::Queue;
pub(crate) use self::zero::Ticket;
pub use crate::error::{
    CapacityError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
