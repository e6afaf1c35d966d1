//! Waiting on several channel operations at once: [`Select`] completes exactly one of them,
//! whichever is ready first, on any mix of this crate's channels and flavors.
//!
//! Each operation comes with a handler that receives its outcome; the select runs the
//! handler of the operation it completed and returns what that returned, so every handler
//! returns the same type (often an enum, or `()`).
//!
//! # Guarantees
//! - **Exactly one.** A select completes exactly one of its operations and runs that
//!   operation's handler; the others have no effect. No value is taken from a channel and then
//!   dropped, and the value of a send that did not complete stays in the [`Select`] (and is
//!   dropped with it).
//! - **Ready.** A receive is ready when a value is there to take, or when every sender is
//!   gone and the buffer is drained (its handler then gets [`RecvError`]); a send is ready
//!   when there is room (a receiver waiting, for a rendezvous channel), or when every receiver
//!   is gone (its handler then gets the value back in [`SendError`]).
//! - **Fairness.** Each select starts trying at a different operation (rotating per thread),
//!   so a channel that stays ready does not starve the others.
//! - **Waiting.** [`Select::try_select`] never waits; [`Select::select`] waits for one
//!   operation to become ready, [`Select::select_timeout`] and [`Select::select_deadline`] at
//!   most until a deadline, then hand the select back. A waiting select spins briefly, then
//!   parks until one of its channels changes: like every blocking operation of the crate, it
//!   does not burn a core.
//! - **Rendezvous.** A select waiting on a rendezvous channel counts as a waiting receiver (or
//!   sender) there: a `send` (or `try_send`) on the other side hands its value straight to
//!   the select, and two selects on the two sides of one channel meet.
//!
//! # Design
//! A select tries every operation once, starting at a rotating index. If none is ready, it
//! registers a fresh claim token with every channel (the wait queue of a buffered side, the
//! line of a rendezvous side), looks again, and sleeps until a channel notifies it. Buffered
//! operations are only ever completed by the selecting thread itself, after it wakes; a
//! rendezvous partner completes the operation whose line it found the select in, but only
//! after winning the select's claim token, which the select itself takes back when it stops
//! waiting. So no two operations can both complete.
//!
//! # Examples
//! ```
//! use std::time::Duration;
//! use verisync::select::Select;
//!
//! enum Event {
//!     Job(u32),
//!     Shutdown,
//! }
//!
//! let (jobs_tx, jobs) = verisync::mpmc::channel(8);
//! let (stop_tx, stop) = verisync::mpmc::channel::<()>(0); // rendezvous
//! let worker = std::thread::spawn(move || {
//!     let mut done = Vec::new();
//!     loop {
//!         let event = Select::new()
//!             .recv(&jobs, |job| job.map_or(Event::Shutdown, Event::Job))
//!             .recv(&stop, |_| Event::Shutdown)
//!             .select();
//!         match event {
//!             Event::Job(job) => done.push(job),
//!             Event::Shutdown => return done,
//!         }
//!     }
//! });
//! jobs_tx.send(1).unwrap();
//! jobs_tx.send(2).unwrap();
//! while !jobs_tx.is_empty() {
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! stop_tx.send(()).unwrap(); // a rendezvous: returns once the worker took it
//! assert_eq!(worker.join().unwrap(), [1, 2]);
//! ```

mod endpoint;
mod engine;
mod selection;

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

pub(crate) use self::endpoint::{Side, Sink, Source, Watch, unwatch_queue, watch_queue};
use self::engine::{Arms, Patience, RecvArm, SendArm};
pub(crate) use self::selection::Selection;
use crate::error::{RecvError, SendError};

/// The receivers a [`Select`] can receive from: those of [`mpmc`](crate::mpmc) (all flavors,
/// and so [`mpsc`](crate::mpsc)'s) and [`spsc`](crate::spsc). Sealed.
///
/// # Examples
/// ```
/// use verisync::select::{RecvEndpoint, Select};
///
/// /// Takes a value from whichever receiver has one first, whatever their channels.
/// fn either<A, B>(a: &A, b: &B) -> Option<u32>
/// where
///     A: RecvEndpoint<Item = u32>,
///     B: RecvEndpoint<Item = u32>,
/// {
///     Select::new().recv(a, Result::ok).recv(b, Result::ok).select()
/// }
///
/// let (tx, rx) = verisync::spsc::channel(4);
/// let (_tx2, rx2) = verisync::mpmc::unbounded();
/// tx.send(1).unwrap();
/// assert_eq!(either(&rx, &rx2), Some(1));
/// ```
pub trait RecvEndpoint: Source {}

impl<E: Source> RecvEndpoint for E {}

/// The senders a [`Select`] can send with: those of [`mpmc`](crate::mpmc) (all flavors),
/// [`mpsc`](crate::mpsc) and [`spsc`](crate::spsc). Sealed.
///
/// # Examples
/// ```
/// use verisync::select::{SendEndpoint, Select};
///
/// /// Sends `value` with whichever sender has room first; which one took it.
/// fn to_either<A, B>(a: &A, b: &B, value: u32) -> &'static str
/// where
///     A: SendEndpoint<Item = u32>,
///     B: SendEndpoint<Item = u32>,
/// {
///     Select::new()
///         .send(a, value, |_| "first")
///         .send(b, value, |_| "second")
///         .select()
/// }
///
/// let (full, _full_rx) = verisync::mpsc::sync_channel(1);
/// full.send(0).unwrap();
/// let (room, room_rx) = verisync::spsc::channel(1);
/// assert_eq!(to_either(&full, &room, 5), "second");
/// assert_eq!(room_rx.recv(), Ok(5));
/// ```
pub trait SendEndpoint: Sink {}

impl<E: Sink> SendEndpoint for E {}

/// A set of channel operations to complete exactly one of (module documentation): build it
/// with [`recv`](Self::recv) and [`send`](Self::send), then run it with one of the `select`
/// methods.
///
/// `R` is what every handler returns; `A` is the list of operations, which grows with each one
/// added (no allocation).
///
/// # Examples
/// ```
/// use verisync::select::Select;
///
/// let (tx1, rx1) = verisync::mpmc::channel::<i32>(1);
/// let (tx2, rx2) = verisync::spsc::channel::<&str>(1);
/// tx2.send("two").unwrap();
/// let got = Select::new()
///     .recv(&rx1, |n| format!("rx1: {n:?}"))
///     .recv(&rx2, |s| format!("rx2: {s:?}"))
///     .select();
/// assert_eq!(got, r#"rx2: Ok("two")"#);
/// # drop(tx1);
/// ```
#[must_use = "a select does nothing until one of its `select` methods runs it"]
pub struct Select<'a, R, A = ()> {
    arms: A,
    _endpoints: Endpoints<'a, R>,
}

/// What a [`Select`] holds without storing it: borrows of endpoints for `'a`, handlers that
/// return `R`.
type Endpoints<'a, R> = PhantomData<(&'a (), fn() -> R)>;

impl<R> Select<'_, R> {
    /// A select without operations yet.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// tx.send(7).unwrap();
    /// let n = verisync::select::Select::new().recv(&rx, |n| n.unwrap()).select();
    /// assert_eq!(n, 7);
    /// ```
    pub fn new() -> Self {
        Self {
            arms: (),
            _endpoints: PhantomData,
        }
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, R, A: Arms<R>> Select<'a, R, A> {
    /// Adds a receive from `receiver`; if the select completes it, `handler` gets the value,
    /// or [`RecvError`] if every sender is gone and nothing is left to take.
    ///
    /// # Examples
    /// ```
    /// use verisync::select::Select;
    ///
    /// let (tx, rx) = verisync::mpmc::unbounded::<u8>();
    /// drop(tx);
    /// let closed = Select::new().recv(&rx, |got| got.is_err()).select();
    /// assert!(closed);
    /// ```
    pub fn recv<E, F>(self, receiver: &'a E, handler: F) -> Select<'a, R, (A, RecvArm<'a, E, F>)>
    where
        E: RecvEndpoint,
        F: FnOnce(Result<E::Item, RecvError>) -> R,
    {
        self.with(RecvArm::new(receiver, handler))
    }

    /// Adds a send of `value` with `sender`; if the select completes it, `handler` gets
    /// `Ok(())`, or the value back in [`SendError`] if every receiver is gone. If the select
    /// completes another operation, `value` stays unsent.
    ///
    /// # Examples
    /// ```
    /// use verisync::select::Select;
    ///
    /// let (fast, fast_rx) = verisync::mpmc::channel(1);
    /// let (slow, _slow_rx) = verisync::mpmc::channel(1);
    /// slow.send(0).unwrap(); // full
    /// let which = Select::new()
    ///     .send(&slow, 1, |_| "slow")
    ///     .send(&fast, 2, |_| "fast")
    ///     .select();
    /// assert_eq!(which, "fast");
    /// assert_eq!(fast_rx.try_recv(), Ok(2));
    /// ```
    pub fn send<E, F>(
        self,
        sender: &'a E,
        value: E::Item,
        handler: F,
    ) -> Select<'a, R, (A, SendArm<'a, E, F>)>
    where
        E: SendEndpoint,
        F: FnOnce(Result<(), SendError<E::Item>>) -> R,
    {
        self.with(SendArm::new(sender, value, handler))
    }

    /// Adds a receive from each of `receivers`; if the select completes the one at index
    /// `i`, `handler` gets `i` and the value, or [`RecvError`] if every sender of that channel
    /// is gone and nothing is left to take. For a set of receivers known only at run time.
    ///
    /// # Examples
    /// ```
    /// use verisync::select::Select;
    ///
    /// let (senders, receivers): (Vec<_>, Vec<_>) =
    ///     (0..4).map(|_| verisync::mpmc::channel::<&str>(1)).unzip();
    /// senders[2].send("from 2").unwrap();
    /// let (from, got) = Select::new()
    ///     .recv_each(&receivers, |i, got| (i, got.unwrap()))
    ///     .select();
    /// assert_eq!((from, got), (2, "from 2"));
    /// ```
    #[allow(
        clippy::type_complexity,
        reason = "one more level of the list of operations, spelled out: the select with a Vec of receives added"
    )]
    pub fn recv_each<E, F>(
        self,
        receivers: &'a [E],
        handler: F,
    ) -> Select<
        'a,
        R,
        (
            A,
            Vec<RecvArm<'a, E, impl FnOnce(Result<E::Item, RecvError>) -> R>>,
        ),
    >
    where
        E: RecvEndpoint,
        F: Fn(usize, Result<E::Item, RecvError>) -> R + Clone,
    {
        let arms = receivers.iter().enumerate().map(|(index, receiver)| {
            let handler = handler.clone();
            RecvArm::new(receiver, move |outcome| handler(index, outcome))
        });
        self.with(arms.collect())
    }

    fn with<Arm>(self, arm: Arm) -> Select<'a, R, (A, Arm)> {
        Select {
            arms: (self.arms, arm),
            _endpoints: PhantomData,
        }
    }

    /// Completes an operation that is ready now, without waiting, and returns what its
    /// handler returned.
    ///
    /// # Errors
    /// The select itself, unchanged, when no operation is ready.
    ///
    /// # Examples
    /// ```
    /// use verisync::select::Select;
    ///
    /// let (tx, rx) = verisync::mpmc::channel::<i32>(1);
    /// let select = Select::new().recv(&rx, |n| n.unwrap());
    /// let select = select.try_select().unwrap_err(); // nothing to receive yet
    /// tx.send(3).unwrap();
    /// assert_eq!(select.try_select().unwrap(), 3);
    /// ```
    pub fn try_select(self) -> Result<R, Self> {
        self.run(Patience::None)
    }

    /// Completes the first operation to become ready, waiting as long as it takes (spins
    /// briefly, then parks), and returns what its handler returned.
    ///
    /// # Panics
    /// If the select has no operations: it would wait forever.
    ///
    /// # Examples
    /// ```
    /// use verisync::select::Select;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(0); // rendezvous
    /// let (_idle_tx, idle) = verisync::mpmc::channel::<u32>(4);
    /// std::thread::spawn(move || tx.send(5u32).unwrap());
    /// let got = Select::new().recv(&idle, |n| n).recv(&rx, |n| n).select();
    /// assert_eq!(got, Ok(5));
    /// ```
    pub fn select(self) -> R {
        assert!(
            self.arms.count() > 0,
            "verisync::select::Select::select: no operations, so it would wait forever"
        );
        match self.run(Patience::Until(None)) {
            Ok(done) => done,
            Err(_) => unreachable!("a select without a deadline only returns with an outcome"),
        }
    }

    /// Completes the first operation to become ready within `timeout`, and returns what its
    /// handler returned.
    ///
    /// # Errors
    /// The select itself, unchanged, if no operation became ready in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use verisync::select::Select;
    ///
    /// let (_tx, rx) = verisync::mpmc::channel::<u8>(1);
    /// let outcome = Select::new()
    ///     .recv(&rx, |n| n)
    ///     .select_timeout(Duration::from_millis(5));
    /// assert!(outcome.is_err());
    /// ```
    pub fn select_timeout(self, timeout: Duration) -> Result<R, Self> {
        self.run(Patience::Until(Instant::now().checked_add(timeout)))
    }

    /// Completes the first operation to become ready by `deadline`, and returns what its
    /// handler returned; a deadline already passed still completes an operation ready now.
    ///
    /// # Errors
    /// The select itself, unchanged, if no operation became ready in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use verisync::select::Select;
    ///
    /// let (tx, rx) = verisync::mpmc::channel(1);
    /// tx.send('x').unwrap();
    /// let past = Instant::now() - Duration::from_millis(1);
    /// let got = Select::new().recv(&rx, |c| c.unwrap()).select_deadline(past);
    /// assert_eq!(got.ok(), Some('x'));
    /// ```
    pub fn select_deadline(self, deadline: Instant) -> Result<R, Self> {
        self.run(Patience::Until(Some(deadline)))
    }

    fn run(mut self, patience: Patience) -> Result<R, Self> {
        engine::select(&mut self.arms, patience).ok_or(self)
    }
}

impl<R, A: Arms<R>> fmt::Debug for Select<'_, R, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.arms.count())
            .finish_non_exhaustive()
    }
}
