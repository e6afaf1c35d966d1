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

use std::collections::VecDeque;
use std::time::Instant;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
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
    /// set, the partner that took it off the line in between.
    value: UnsafeCell<Option<T>>,
    /// An [`Outcome`]; set once, by the partner or the disconnection that completes it.
    outcome: AtomicUsize,
    /// Whether the waiter sleeps on `completed` (so the completer must signal it).
    asleep: Mutex<bool>,
    completed: Condvar,
}

// SAFETY: the value moves between the waiter and its partner, handed over by the Release store
// and the Acquire loads of `outcome` (see the field); `T: Send` is needed and enough.
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
    fn new(value: Option<T>) -> Arc<Self> {
        Arc::new(Self {
            value: UnsafeCell::new(value),
            outcome: AtomicUsize::new(Outcome::Waiting as usize),
            asleep: Mutex::new(false),
            completed: Condvar::new(),
        })
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
        // The waiter checks the outcome under this lock before it sleeps: either it saw the
        // store above, or it is asleep (or about to be, the lock released by its wait) by the
        // time we look.
        if *self.asleep.lock() && !cfg!(verisync_mutant = "zero_no_wake") {
            self.completed.notify_one();
        }
        result
    }

    /// Waits until the meeting completes or `deadline` passes (spinning briefly first); the
    /// outcome, `Waiting` if the deadline passed first.
    fn wait(&self, deadline: Option<Instant>) -> Outcome {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.outcome() != Outcome::Waiting {
                return self.outcome();
            }
            backoff.snooze();
        }
        let mut asleep = self.asleep.lock();
        while self.outcome() == Outcome::Waiting {
            *asleep = true;
            let (guard, timed_out) = wait_deadline(&self.completed, asleep, deadline);
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
    /// The meeting's outcome is set, or the caller took it off its line itself.
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
        match lines.receivers.pop_front() {
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
            if let Some(receiver) = lines.receivers.pop_front() {
                receiver.complete(Outcome::Met, |slot| *slot = Some(value));
                return Ok(());
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(SendTimeoutError::Timeout(value));
            }
            let meeting = Meeting::new(Some(value));
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
        if let Some(sender) = lines.senders.pop_front() {
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
            if let Some(sender) = lines.senders.pop_front() {
                return Ok(sender.complete(Outcome::Met, Self::sender_value));
            }
            if lines.disconnected {
                return Err(RecvTimeoutError::Disconnected);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(RecvTimeoutError::Timeout);
            }
            let meeting = Meeting::new(None);
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
    /// their values), and every later operation fails.
    pub(super) fn disconnect(&self) {
        let mut lines = self.lines.lock();
        lines.disconnected = true;
        if cfg!(verisync_mutant = "zero_disconnect_keeps_waiters") {
            return;
        }
        let lines = &mut *lines;
        let waiting = lines.senders.drain(..).chain(lines.receivers.drain(..));
        for meeting in waiting {
            meeting.complete(Outcome::Disconnected, |_| ());
        }
    }
}
