//! The rendezvous flavor's engine: no buffer at all; a send hands its value straight to a
//! receiver, and whichever of the two comes first waits for the other.
//!
//! # Design
//! The channel keeps two lines under one lock: senders waiting with their values, receivers
//! waiting for one. An operation that finds the other line non-empty takes its first entry
//! and completes the meeting on the spot, under the lock; otherwise it joins its own line (a
//! `try_` operation fails instead) and waits for its [`Meeting`] to be completed: first
//! spinning on its outcome, then asleep on its condition variable. A waiter that gives up
//! (timeout) leaves its line under the lock, so a meeting is never half-done: whoever takes
//! an entry out of a line completes it before releasing the lock. The disconnection of either
//! side completes every waiting meeting as `Disconnected`, also under the lock, so that a
//! waiter either joined the line before it (and is woken) or sees the flag when it tries to.
//!
//! A selecting thread joins the lines of all its rendezvous operations at once, each entry
//! carrying its [`Selection`]: whoever takes such an entry off a line must first claim the
//! selection, and drops the entry if it cannot (another of the selector's operations won, or
//! the selector stopped waiting). A selecting thread that finds a partner already waiting
//! claims its own selection first, then the partner's, so two selectors meeting on one channel
//! pair up instead of both backing off.
//!
//! A pending future waits in a line the same way, with a selection of its own that wakes its
//! task. When such a receive is cancelled after a partner handed it a value (the sender has
//! returned, its value delivered), the value is not lost: it goes to the next receiver
//! waiting, or to the front of the senders' line with nobody waiting on it, where the next
//! receive takes it ([`Rendezvous::give_back`]).

use std::collections::VecDeque;
use std::time::Instant;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::select::{Selection, Watch};
use crate::sync::{Arc, AtomicUsize, Backoff, Condvar, Mutex, Ordering, UnsafeCell, wait_deadline};

/// A rendezvous channel's meeting place.
pub(super) struct Rendezvous<T> {
    lines: Mutex<Lines<T>>,
}

struct Lines<T> {
    /// Senders waiting, each meeting holding its value; oldest first.
    senders: VecDeque<Arc<Meeting<T>>>,
    /// Receivers waiting for a value; oldest first.
    receivers: VecDeque<Arc<Meeting<T>>>,
    /// Either side is gone for good: nothing can be sent or received any more.
    disconnected: bool,
}

/// Where one waiting operation meets its partner.
struct Meeting<T> {
    /// The value being handed over: the sender's until a receiver takes it. Touched only by
    /// whoever holds the meeting: its waiter before it joins a line and after the outcome is
    /// set, the partner that took it off the line (and claimed it) in between. A selecting
    /// waiter also takes it back, under the lines' lock, once its selection can no longer be
    /// claimed, whatever the outcome.
    value: UnsafeCell<Option<T>>,
    /// An [`Outcome`]; set once, by the partner or the disconnection that completes it.
    outcome: AtomicUsize,
    waiter: Waiter,
}

/// Who waits for a meeting's outcome, and how they are woken.
#[cfg_attr(
    any(verisync_loom, verisync_shuttle),
    allow(
        clippy::large_enum_variant,
        reason = "the checkers' lock and condition variable are large; std's are a few words"
    )
)]
enum Waiter {
    /// A thread in a blocking `send` or `recv`, asleep on `completed` if `asleep`.
    Thread {
        asleep: Mutex<bool>,
        completed: Condvar,
    },
    /// A selecting thread or a pending future: its selection and the operation's index in
    /// it. The waiter sleeps on the selection (or its task waits for the selection's waker).
    Selecting(Arc<Selection>, usize),
    /// Nobody: a value that a receive was handed and then gave back, cancelled, waiting in
    /// the senders' line for the next receive ([`Rendezvous::give_back`]).
    Nobody,
}

/// A selecting thread's entry in one of a rendezvous channel's lines, from
/// [`Rendezvous::watch`].
pub struct Ticket<T>(Arc<Meeting<T>>);

// SAFETY: the value moves between the waiter and its partner, handed over by the Release store
// and the Acquire loads of `outcome`, or (a selecting waiter) by the lines' lock (see the
// field); `T: Send` is needed and enough.
unsafe impl<T: Send> Send for Meeting<T> {}
// SAFETY: as above; no `&T` is ever handed out.
unsafe impl<T: Send> Sync for Meeting<T> {}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Waiting,
    /// A partner took (or gave) the value.
    Met,
    /// The other side disconnected first.
    Disconnected,
}

impl Outcome {
    fn from_state(state: usize) -> Self {
        match state {
            0 => Self::Waiting,
            1 => Self::Met,
            _ => Self::Disconnected,
        }
    }
}

impl<T> Meeting<T> {
    fn new(value: Option<T>, waiter: Waiter) -> Arc<Self> {
        Arc::new(Self {
            value: UnsafeCell::new(value),
            outcome: AtomicUsize::new(Outcome::Waiting as usize),
            waiter,
        })
    }

    /// A blocking thread's meeting.
    fn for_thread(value: Option<T>) -> Arc<Self> {
        let waiter = Waiter::Thread {
            asleep: Mutex::new(false),
            completed: Condvar::new(),
        };
        Self::new(value, waiter)
    }

    /// Takes the right to complete the meeting, for someone who just took it off its line: a
    /// plain waiter's is always there; a selecting thread's only if its selection is still
    /// unclaimed.
    fn claim(&self) -> bool {
        match &self.waiter {
            Waiter::Selecting(selection, op) => selection.try_claim(*op),
            Waiter::Thread { .. } | Waiter::Nobody => true,
        }
    }

    /// Whether this is an entry of `selection`'s.
    fn belongs_to(&self, selection: &Arc<Selection>) -> bool {
        matches!(&self.waiter, Waiter::Selecting(own, _) if Arc::ptr_eq(own, selection))
    }

    fn outcome(&self) -> Outcome {
        // Acquire: pairs with the Release store in `complete`, so the partner's access to the
        // value happens before ours.
        Outcome::from_state(self.outcome.load(Ordering::Acquire))
    }

    /// Completes the meeting with `outcome`, exchanging the value with `exchange`, and wakes
    /// the waiter. Called with the lines' lock held, by whoever took the meeting off its line.
    fn complete<R>(&self, outcome: Outcome, exchange: impl FnOnce(&mut Option<T>) -> R) -> R {
        // SAFETY: we took the meeting off its line, so the value is ours until the store below.
        let result = self
            .value
            .with_mut(|value| exchange(unsafe { &mut *value }));
        // Release: pairs with the Acquire load in `outcome`.
        self.outcome
            .store(outcome as usize, ordering!("zero_relaxed_outcome", Release));
        match &self.waiter {
            Waiter::Selecting(selection, _) => selection.notify(),
            // The waiter checks the outcome under this lock before it sleeps: either it saw
            // the store above, or it is asleep (or about to be, the lock released by its wait)
            // by the time we look.
            Waiter::Thread { asleep, completed } => {
                if *asleep.lock() && !cfg!(verisync_mutant = "zero_no_wake") {
                    completed.notify_one();
                }
            }
            Waiter::Nobody => {}
        }
        result
    }

    /// Waits until the meeting completes or `deadline` passes (spinning briefly first); the
    /// outcome, `Waiting` if the deadline passed first.
    fn wait(&self, deadline: Option<Instant>) -> Outcome {
        let Waiter::Thread { asleep, completed } = &self.waiter else {
            unreachable!("only a blocking thread waits on its meeting");
        };
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.outcome() != Outcome::Waiting {
                return self.outcome();
            }
            backoff.snooze();
        }
        let mut asleep = asleep.lock();
        while self.outcome() == Outcome::Waiting {
            *asleep = true;
            let (guard, timed_out) = wait_deadline(completed, asleep, deadline);
            asleep = guard;
            *asleep = false;
            if timed_out {
                break;
            }
        }
        self.outcome()
    }

    /// The value, if it is still (or now) here.
    ///
    /// # Safety
    /// The meeting's outcome is set, or the caller took it off its line itself, or (a
    /// selecting waiter's) its selection can no longer be claimed and the caller holds the
    /// lines' lock.
    unsafe fn take_value(&self) -> Option<T> {
        // SAFETY: forwarded from the caller: nobody else touches the value any more.
        self.value.with_mut(|value| unsafe { (*value).take() })
    }
}

impl<T> Rendezvous<T> {
    pub(super) fn new() -> Self {
        Self {
            lines: Mutex::new(Lines {
                senders: VecDeque::new(),
                receivers: VecDeque::new(),
                disconnected: false,
            }),
        }
    }

    /// Hands `value` to a waiting receiver, or hands it back: `Full` if none waits.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut lines = self.lines.lock();
        if lines.disconnected {
            return Err(TrySendError::Disconnected(value));
        }
        match take_partner(&mut lines.receivers, None) {
            Some(receiver) => {
                receiver.complete(Outcome::Met, |slot| *slot = Some(value));
                Ok(())
            }
            None => Err(TrySendError::Full(value)),
        }
    }

    /// Hands `value` to a receiver, waiting for one until `deadline` (if any).
    pub(super) fn send(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let meeting = {
            let mut lines = self.lines.lock();
            if lines.disconnected {
                return Err(SendTimeoutError::Disconnected(value));
            }
            if let Some(receiver) = take_partner(&mut lines.receivers, None) {
                receiver.complete(Outcome::Met, |slot| *slot = Some(value));
                return Ok(());
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(SendTimeoutError::Timeout(value));
            }
            let meeting = Meeting::for_thread(Some(value));
            lines.senders.push_back(meeting.clone());
            meeting
        };
        let outcome = match meeting.wait(deadline) {
            Outcome::Waiting => self.leave(&meeting, |lines| &mut lines.senders),
            outcome => outcome,
        };
        // SAFETY: the outcome is set, or `leave` took the meeting off its line.
        match (outcome, unsafe { meeting.take_value() }) {
            (Outcome::Met, None) => Ok(()),
            (Outcome::Disconnected, Some(value)) => Err(SendTimeoutError::Disconnected(value)),
            (Outcome::Waiting, Some(value)) => Err(SendTimeoutError::Timeout(value)),
            (outcome, _) => {
                unreachable!("a sender's meeting ended {outcome:?} with its value misplaced")
            }
        }
    }

    /// Takes the value of a waiting sender, if one waits.
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut lines = self.lines.lock();
        if let Some(sender) = take_partner(&mut lines.senders, None) {
            return Ok(sender.complete(Outcome::Met, Self::sender_value));
        }
        Err(if lines.disconnected {
            TryRecvError::Disconnected
        } else {
            TryRecvError::Empty
        })
    }

    /// Takes a value from a sender, waiting for one until `deadline` (if any).
    pub(super) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let meeting = {
            let mut lines = self.lines.lock();
            if let Some(sender) = take_partner(&mut lines.senders, None) {
                return Ok(sender.complete(Outcome::Met, Self::sender_value));
            }
            if lines.disconnected {
                return Err(RecvTimeoutError::Disconnected);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(RecvTimeoutError::Timeout);
            }
            let meeting = Meeting::for_thread(None);
            lines.receivers.push_back(meeting.clone());
            meeting
        };
        let outcome = match meeting.wait(deadline) {
            Outcome::Waiting => self.leave(&meeting, |lines| &mut lines.receivers),
            outcome => outcome,
        };
        // SAFETY: the outcome is set, or `leave` took the meeting off its line.
        match (outcome, unsafe { meeting.take_value() }) {
            (Outcome::Met, Some(value)) => Ok(value),
            (Outcome::Disconnected, _) => Err(RecvTimeoutError::Disconnected),
            (Outcome::Waiting, _) => Err(RecvTimeoutError::Timeout),
            (Outcome::Met, None) => unreachable!("a receiver met a sender without a value"),
        }
    }

    /// After a wait that timed out: leaves `line` if the meeting is still in it (the outcome is
    /// then `Waiting`), else returns the outcome a partner or a disconnection gave it meanwhile.
    fn leave(
        &self,
        meeting: &Arc<Meeting<T>>,
        line: impl FnOnce(&mut Lines<T>) -> &mut VecDeque<Arc<Meeting<T>>>,
    ) -> Outcome {
        let mut lines = self.lines.lock();
        let line = line(&mut lines);
        match line
            .iter()
            .position(|waiting| Arc::ptr_eq(waiting, meeting))
        {
            Some(index) => {
                line.remove(index);
                Outcome::Waiting
            }
            // Taken off the line by someone who completed it under the lock we now hold.
            None => mutant!(
                "zero_timeout_ignores_partner",
                Outcome::Waiting,
                meeting.outcome()
            ),
        }
    }

    /// Takes a waiting sender's value out of its meeting.
    fn sender_value(slot: &mut Option<T>) -> T {
        slot.take()
            .expect("a waiting sender's meeting holds its value")
    }

    /// Either side is gone: completes every waiting meeting as `Disconnected` (senders keep
    /// their values), and every later operation fails. Values given back by cancelled
    /// receives stay for the receivers (and go with the last of them: [`drop_given_back`]).
    ///
    /// [`drop_given_back`]: Self::drop_given_back
    pub(super) fn disconnect(&self) {
        let mut lines = self.lines.lock();
        lines.disconnected = true;
        if cfg!(verisync_mutant = "zero_disconnect_keeps_waiters") {
            return;
        }
        let lines = &mut *lines;
        let waiting: Vec<_> = lines
            .senders
            .drain(..)
            .chain(lines.receivers.drain(..))
            .collect();
        for meeting in waiting {
            match &meeting.waiter {
                // A selecting thread is only woken: it completes the operation itself, with
                // `Disconnected`, on its next try.
                Waiter::Selecting(selection, _) => {
                    if !cfg!(verisync_mutant = "select_disconnect_forgets_selections") {
                        selection.notify();
                    }
                }
                Waiter::Thread { .. } => meeting.complete(Outcome::Disconnected, |_| ()),
                Waiter::Nobody => lines.senders.push_back(meeting),
            }
        }
    }

    /// Hands a value that a partner gave to a receive which was then cancelled to the next
    /// receiver waiting, or else puts it at the front of the senders' line, where the next
    /// receive takes it: a cancelled receive loses nothing.
    pub(crate) fn give_back(&self, value: T) {
        let mut lines = self.lines.lock();
        if cfg!(verisync_mutant = "async_cancelled_value_dropped") {
            return;
        }
        match take_partner(&mut lines.receivers, None) {
            Some(receiver) => receiver.complete(Outcome::Met, |slot| *slot = Some(value)),
            None => lines
                .senders
                .push_front(Meeting::new(Some(value), Waiter::Nobody)),
        }
    }

    /// The last receiver is gone: drops the values that cancelled receives gave back.
    pub(super) fn drop_given_back(&self) {
        let mut lines = self.lines.lock();
        let (given_back, waiting): (VecDeque<_>, _) = std::mem::take(&mut lines.senders)
            .into_iter()
            .partition(|meeting| matches!(meeting.waiter, Waiter::Nobody));
        lines.senders = waiting;
        drop(lines);
        // Dropped here, after the lock: a value's drop may use this channel.
        drop(given_back);
    }

    /// A selecting thread's registration for operation `op` of `selection`, a send if
    /// `sending` (of the value in `slot`) or else a receive: meets a partner already waiting
    /// (claiming the selection first; a receive puts the value in `slot`), or joins its own
    /// line, or declines (the channel is disconnected, or the selection was claimed
    /// meanwhile, or every partner waiting had been claimed by someone else).
    pub(crate) fn watch(
        &self,
        sending: bool,
        selection: &Arc<Selection>,
        op: usize,
        slot: &mut Option<T>,
    ) -> Watch<T> {
        let mut lines = self.lines.lock();
        let lines = &mut *lines;
        let (partners, own) = if sending {
            (&mut lines.receivers, &mut lines.senders)
        } else {
            (&mut lines.senders, &mut lines.receivers)
        };
        if lines.disconnected {
            return Watch::Declined;
        }
        let nobody_to_meet = !partners
            .iter()
            .any(|partner| !partner.belongs_to(selection));
        if mutant!("select_watch_never_meets", true, nobody_to_meet) {
            let meeting = Meeting::new(slot.take(), Waiter::Selecting(selection.clone(), op));
            own.push_back(meeting.clone());
            return Watch::Line(Ticket(meeting));
        }
        // Our own claim first: once we hold it, no other channel's partner can complete
        // another of our operations while we complete this one.
        if !selection.try_claim(op) {
            return Watch::Declined;
        }
        let Some(partner) = take_partner(partners, Some(selection)) else {
            // Every partner had been claimed by someone else: the round ends with nothing
            // done, and the selecting thread tries again.
            selection.release_own_claim();
            return Watch::Declined;
        };
        if sending {
            let value = slot.take();
            partner.complete(Outcome::Met, |partner_slot| *partner_slot = value);
        } else {
            *slot = Some(partner.complete(Outcome::Met, Self::sender_value));
        }
        Watch::Met
    }

    /// Takes a selecting thread's entry back out of its line (if a partner or the
    /// disconnection has not taken it out already), with the value it holds: a sender's own
    /// if no partner took it, or the value a partner handed a receiver. Call it only once the
    /// selection can no longer be claimed (after [`Selection::abort`]).
    pub(crate) fn unwatch(&self, ticket: Ticket<T>, slot: &mut Option<T>) {
        let Ticket(meeting) = ticket;
        let mut lines = self.lines.lock();
        let lines = &mut *lines;
        for line in [&mut lines.senders, &mut lines.receivers] {
            if let Some(index) = line.iter().position(|entry| Arc::ptr_eq(entry, &meeting)) {
                line.remove(index);
            }
        }
        // SAFETY: the selection can no longer be claimed, so nobody can take the meeting
        // any more; a partner that did completed it under the lock we now hold.
        if let Some(value) = unsafe { meeting.take_value() }
            && !cfg!(verisync_mutant = "select_unwatch_loses_value")
        {
            *slot = Some(value);
        }
    }
}

/// Takes the first entry off `line` that can be claimed, dropping the entries of selecting
/// threads already claimed by someone else; `selecting`'s own entries (a select that both
/// sends and receives on one channel) stay where they are.
fn take_partner<T>(
    line: &mut VecDeque<Arc<Meeting<T>>>,
    selecting: Option<&Arc<Selection>>,
) -> Option<Arc<Meeting<T>>> {
    let mut index = 0;
    while let Some(meeting) = line.get(index) {
        if selecting.is_some_and(|own| meeting.belongs_to(own)) {
            index += 1;
            continue;
        }
        let meeting = line.remove(index)?;
        if meeting.claim() {
            return Some(meeting);
        }
    }
    None
}
