//! The select loop, over a list of operations ("arms") of any channels.
//!
//! # Protocol
//! 1. Try every operation once, without waiting, starting at a rotating index so that no
//!    channel is favoured; the first that completes (or finds its channel disconnected) ends
//!    the select. Spin briefly repeating this (not under a model checker).
//! 2. Register a fresh [`Selection`] with every operation's channel: the wait queue of a
//!    buffered channel's waiting side, or a rendezvous channel's line. A rendezvous partner
//!    already waiting is met on the spot instead (the operation completes).
//! 3. Issue the heavy half of the wait queues' store-load fence (one for all of them: see
//!    `fence::heavy_for_every_fence`; none if every queue's fence is implied, `park.rs`,
//!    "Fences implied") and look again at every buffered operation: any that
//!    looks ready ends the round (the `WaitQueue` protocol: either its notifier saw our
//!    registration, or we see its progress).
//! 4. Otherwise sleep on the selection until a channel notifies it or the deadline passes.
//! 5. End the round: claim the selection back ([`Selection::abort`]) and take every
//!    registration back. If a rendezvous partner claimed the selection first, its operation
//!    is complete, and the select returns it; otherwise go back to 1.
//!
//! Only rendezvous partners (and the selecting thread's own registration) ever complete an
//! operation on the selector's behalf, and each must win the selection's claim to do it; the
//! buffered operations complete only in step 1, in the selecting thread. So exactly one
//! operation completes per select, and no value is taken and then dropped.

use std::time::Instant;

use super::endpoint::{Side, Sink, Source, Watch};
use super::selection::Selection;
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::park::Fenced;
use crate::sync::{Arc, Backoff, MODEL_CHECKED};

/// One operation of a select, with the handler its outcome goes to.
pub trait Arm<R> {
    /// Completes the operation if it can without waiting: ready, or disconnected.
    fn try_complete(&mut self) -> Option<R>;
    /// The operation's registration with its channel, for a round of waiting.
    fn registration(&mut self) -> &mut dyn Register;
    /// Hands the outcome of the operation that won the selection to its handler.
    fn finish(&mut self) -> R;
}

/// What a round of waiting does with an operation's channel side.
pub trait Register {
    /// Registers `selection` for this operation, the `op`-th of the select; false if the
    /// round should end now (the operation met a partner, or should be tried again).
    fn watch(&mut self, selection: &Arc<Selection>, op: usize) -> bool;
    /// Whether the registration went into a wait queue (whose operation
    /// [`looks_ready`](Self::looks_ready) then looks at again).
    fn waits_in_queue(&self) -> bool;
    /// Whether it went into a wait queue whose store-load fence the select must then issue
    /// the heavy half of before [`looks_ready`](Self::looks_ready): every wait queue's, except
    /// where the fence is implied (`park.rs`, "Fences implied").
    fn needs_fence(&self) -> bool;
    /// After every registration and that fence: whether the operation may complete now.
    fn looks_ready(&self) -> bool;
    /// Takes the registration back; keeps what a partner exchanged, if one completed it.
    fn unwatch(&mut self, selection: &Arc<Selection>);
}

/// The operations of a select, as a list built one [`Arm`] (or one `Vec` of them) at a time:
/// `()`, then `((), first)`, then `(((), first), second)`, and so on.
pub trait Arms<R> {
    /// How many operations the list holds.
    fn count(&self) -> usize;
    /// The operation at `index`, counting from the first added.
    fn arm(&mut self, index: usize) -> &mut dyn Arm<R>;
}

impl<R> Arms<R> for () {
    fn count(&self) -> usize {
        0
    }

    fn arm(&mut self, index: usize) -> &mut dyn Arm<R> {
        unreachable!("a select has no operation {index}")
    }
}

impl<R, Earlier: Arms<R>, Last: Arms<R>> Arms<R> for (Earlier, Last) {
    fn count(&self) -> usize {
        self.0.count() + self.1.count()
    }

    fn arm(&mut self, index: usize) -> &mut dyn Arm<R> {
        let earlier = self.0.count();
        if index < earlier {
            self.0.arm(index)
        } else {
            self.1.arm(index - earlier)
        }
    }
}

impl<R, Each: Arm<R>> Arms<R> for Vec<Each> {
    fn count(&self) -> usize {
        self.len()
    }

    fn arm(&mut self, index: usize) -> &mut dyn Arm<R> {
        &mut self[index]
    }
}

/// A single operation is a list of one.
macro_rules! arm_is_a_list_of_one {
    ($arm:ident, $endpoint:ident) => {
        impl<R, E: $endpoint, F> Arms<R> for $arm<'_, E, F>
        where
            Self: Arm<R>,
        {
            fn count(&self) -> usize {
                1
            }

            fn arm(&mut self, _: usize) -> &mut dyn Arm<R> {
                self
            }
        }
    };
}

arm_is_a_list_of_one!(RecvArm, Source);
arm_is_a_list_of_one!(SendArm, Sink);

/// How long a select may wait.
#[derive(Clone, Copy)]
pub(crate) enum Patience {
    /// Not at all: one try of every operation.
    None,
    /// Until the deadline, if any.
    Until(Option<Instant>),
}

/// Runs the select protocol (module documentation) over `arms`: the handled outcome of the
/// operation that completed, or `None` if none could within `patience`.
pub(crate) fn select<R, A: Arms<R>>(arms: &mut A, patience: Patience) -> Option<R> {
    let count = arms.count();
    let start = first_arm(count);
    let order = move |k: usize| (start + k) % count;
    let deadline = match patience {
        Patience::None => return try_all(arms, count, order),
        Patience::Until(deadline) => deadline,
    };
    let backoff = Backoff::new();
    loop {
        if let Some(done) = try_all(arms, count, order) {
            return Some(done);
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return None;
        }
        if !backoff.is_completed() {
            backoff.snooze();
            continue;
        }
        match wait_round(arms, count, order, deadline) {
            Round::Completed(done) => return Some(done),
            // A last try, for what became ready while the round ended.
            Round::TimedOut => return try_all(arms, count, order),
            Round::Again => {}
        }
    }
}

/// How a round of waiting ended.
enum Round<R> {
    /// A partner completed an operation: its handled outcome.
    Completed(R),
    /// The deadline passed while the select slept (under a model checker: it would have
    /// slept).
    TimedOut,
    /// Woken, or found something that looks ready: try again.
    Again,
}

/// Step 1: every operation once, in `order`.
fn try_all<R, A: Arms<R>>(arms: &mut A, count: usize, order: impl Fn(usize) -> usize) -> Option<R> {
    (0..count).find_map(|k| arms.arm(order(k)).try_complete())
}

/// Steps 2 to 5: one round of registering, sleeping and taking back.
fn wait_round<R, A: Arms<R>>(
    arms: &mut A,
    count: usize,
    order: impl Fn(usize) -> usize,
    deadline: Option<Instant>,
) -> Round<R> {
    let selection = Selection::new();
    let mut watched = 0;
    let mut waiting = true;
    while waiting && watched < count {
        let op = order(watched);
        waiting = arms.arm(op).registration().watch(&selection, op);
        watched += 1;
    }
    if waiting && !cfg!(verisync_mutant = "select_no_recheck") {
        if (0..watched).any(|k| arms.arm(order(k)).registration().needs_fence()) {
            crate::fence::heavy_for_every_fence();
        }
        waiting = !(0..watched).any(|k| arms.arm(order(k)).registration().looks_ready());
    }
    let timed_out = waiting && selection.sleep(deadline);
    let selected = selection.abort();
    for k in 0..watched {
        arms.arm(order(k)).registration().unwatch(&selection);
    }
    match selected {
        Some(op) => Round::Completed(arms.arm(op).finish()),
        None if timed_out => Round::TimedOut,
        None => Round::Again,
    }
}

/// Where this select starts trying: rotates per thread, so that among channels that stay
/// ready, each gets its turn. Always the first operation under a model checker, whose runs
/// must be repeatable.
fn first_arm(count: usize) -> usize {
    if MODEL_CHECKED || count < 2 || cfg!(verisync_mutant = "select_start_fixed") {
        return 0;
    }
    std::thread_local! {
        static NEXT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    NEXT.with(|next| {
        let start = next.get();
        next.set(start.wrapping_add(1));
        start % count
    })
}

/// An operation's channel side, its registration there during a round, and the value it
/// exchanges: a send's value (here, or in a rendezvous line meanwhile), or the value a
/// partner handed a receive.
pub struct Registration<'a, E: Side> {
    side: &'a E,
    slot: Option<E::Item>,
    watch: Option<Watch<E::Item>>,
}

impl<'a, E: Side> Registration<'a, E> {
    fn new(side: &'a E, slot: Option<E::Item>) -> Self {
        Self {
            side,
            slot,
            watch: None,
        }
    }
}

impl<E: Side> Register for Registration<'_, E> {
    fn watch(&mut self, selection: &Arc<Selection>, op: usize) -> bool {
        let watch = self.side.watch(selection, op, &mut self.slot);
        let waiting = watch.is_waiting();
        self.watch = Some(watch);
        waiting
    }

    fn waits_in_queue(&self) -> bool {
        matches!(self.watch, Some(Watch::Queue(_)))
    }

    fn needs_fence(&self) -> bool {
        matches!(self.watch, Some(Watch::Queue(Fenced::NotYet)))
    }

    fn looks_ready(&self) -> bool {
        self.waits_in_queue() && self.side.looks_ready()
    }

    fn unwatch(&mut self, selection: &Arc<Selection>) {
        if let Some(watch) = self.watch.take() {
            self.side.unwatch(watch, selection, &mut self.slot);
        }
    }
}

/// A receive from a [`Source`], handled by `handler`.
pub struct RecvArm<'a, E: Source, F> {
    /// Its slot receives the value a partner hands over while the receive is registered.
    registration: Registration<'a, E>,
    handler: Option<F>,
}

impl<'a, E: Source, F> RecvArm<'a, E, F> {
    pub(crate) fn new(source: &'a E, handler: F) -> Self {
        Self {
            registration: Registration::new(source, None),
            handler: Some(handler),
        }
    }
}

impl<R, E: Source, F: FnOnce(Result<E::Item, RecvError>) -> R> Arm<R> for RecvArm<'_, E, F> {
    fn try_complete(&mut self) -> Option<R> {
        let outcome = match self.registration.side.try_take() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Disconnected) => Err(RecvError),
            Err(TryRecvError::Empty) => return None,
        };
        Some(handle(&mut self.handler, outcome))
    }

    fn registration(&mut self) -> &mut dyn Register {
        &mut self.registration
    }

    fn finish(&mut self) -> R {
        let value = self
            .registration
            .slot
            .take()
            .expect("a receive that won the selection holds its value");
        handle(&mut self.handler, Ok(value))
    }
}

/// A send of a value to a [`Sink`], handled by `handler`.
pub struct SendArm<'a, E: Sink, F> {
    /// Its slot holds the value until it is sent (a rendezvous line holds it meanwhile).
    registration: Registration<'a, E>,
    handler: Option<F>,
}

impl<'a, E: Sink, F> SendArm<'a, E, F> {
    pub(crate) fn new(sink: &'a E, value: E::Item, handler: F) -> Self {
        Self {
            registration: Registration::new(sink, Some(value)),
            handler: Some(handler),
        }
    }
}

impl<R, E, F> Arm<R> for SendArm<'_, E, F>
where
    E: Sink,
    F: FnOnce(Result<(), SendError<E::Item>>) -> R,
{
    fn try_complete(&mut self) -> Option<R> {
        let registration = &mut self.registration;
        let value = registration
            .slot
            .take()
            .expect("a send holds its value between tries");
        let outcome = match registration.side.try_put(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => {
                registration.slot = Some(value);
                return None;
            }
        };
        Some(handle(&mut self.handler, outcome))
    }

    fn registration(&mut self) -> &mut dyn Register {
        &mut self.registration
    }

    fn finish(&mut self) -> R {
        handle(&mut self.handler, Ok(()))
    }
}

/// Calls an arm's handler, which runs once: the select ends with it.
fn handle<T, R>(handler: &mut Option<impl FnOnce(T) -> R>, outcome: T) -> R {
    let handler = handler
        .take()
        .expect("a select completes one operation, once");
    handler(outcome)
}
