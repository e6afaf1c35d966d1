//! What a channel is made of: the bounded ring ([`Queue`]), the unbounded segment list
//! ([`List`]), or, with no buffer at all, the rendezvous meeting place ([`Rendezvous`]). The
//! channel's protocol (counts, wait queues, disconnection) is the same over the two buffers;
//! a rendezvous channel blocks in its own lines instead of the wait queues (see `channel.rs`).

use std::collections::VecDeque;

use crate::error::TrySendError;

use super::list::List;
use super::queue::{OnBusy, Queue};
use super::zero::Rendezvous;

pub(super) enum Flavor<T> {
    Bounded(Queue<T>),
    Unbounded(List<T>),
    Rendezvous(Rendezvous<T>),
}

impl<T> Flavor<T> {
    /// Appends `value`, or hands it back when a bounded buffer is full (or, with
    /// [`OnBusy::GiveUp`], its slot is still in another thread's hands); a rendezvous hands it
    /// to a waiting receiver, or back if none waits.
    #[inline(always)]
    pub(super) fn push(&self, value: T, on_busy: OnBusy) -> Result<(), T> {
        match self {
            Self::Bounded(queue) => queue.push_with(value, on_busy),
            Self::Unbounded(list) => {
                list.push(value);
                Ok(())
            }
            Self::Rendezvous(zero) => {
                // Cold, so that the inlined buffered flavors are tested first (the compiler
                // tested this one first, a compare more on every buffered operation); a
                // rendezvous operation is a call anyway.
                std::hint::cold_path();
                zero.try_send(value).map_err(unsent)
            }
        }
    }

    /// Removes the oldest value; `None` when empty (or, bounded with [`OnBusy::GiveUp`], when
    /// the oldest value's slot is still in its producer's hands); a rendezvous takes the value
    /// of a waiting sender, if one waits.
    #[inline(always)]
    pub(super) fn pop(&self, on_busy: OnBusy) -> Option<T> {
        match self {
            Self::Bounded(queue) => queue.pop_with(on_busy),
            Self::Unbounded(list) => list.pop(),
            Self::Rendezvous(zero) => {
                // Cold, as in `push`.
                std::hint::cold_path();
                zero.try_recv().ok()
            }
        }
    }

    /// Pushes values from the front of `values`: a bounded buffer claims what fits in one
    /// step, an unbounded one takes them all, a rendezvous hands them to the receivers waiting.
    /// The number pushed.
    pub(super) fn push_many(&self, values: &mut VecDeque<T>, on_busy: OnBusy) -> usize {
        match self {
            Self::Bounded(queue) => queue.push_many(values, on_busy),
            Self::Unbounded(list) => {
                let count = values.len();
                values.drain(..).for_each(|value| list.push(value));
                count
            }
            Self::Rendezvous(zero) => {
                let mut count = 0;
                while let Some(value) = values.pop_front() {
                    if let Err(back) = zero.try_send(value) {
                        values.push_front(unsent(back));
                        break;
                    }
                    count += 1;
                }
                count
            }
        }
    }

    /// Appends up to `max` of the oldest values to `out`: a bounded buffer claims them in one
    /// step, the others take them one by one. The number taken.
    pub(super) fn pop_many(&self, out: &mut Vec<T>, max: usize, on_busy: OnBusy) -> usize {
        match self {
            Self::Bounded(queue) => queue.pop_many(out, max, on_busy),
            Self::Unbounded(_) | Self::Rendezvous(_) => {
                let before = out.len();
                out.extend(std::iter::from_fn(|| self.pop(on_busy)).take(max));
                out.len() - before
            }
        }
    }

    /// The number of values buffered; always 0 for a rendezvous.
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Bounded(queue) => queue.len(),
            Self::Unbounded(list) => list.len(),
            Self::Rendezvous(_) => 0,
        }
    }

    /// Whether a send would find no room: never unbounded, always for a rendezvous (whose
    /// sends wait for a receiver, not for room).
    pub(super) fn is_full(&self) -> bool {
        match self {
            Self::Bounded(queue) => queue.is_full(),
            Self::Unbounded(_) => false,
            Self::Rendezvous(_) => true,
        }
    }

    /// The bound: `None` unbounded, `Some(0)` for a rendezvous.
    pub(super) fn capacity(&self) -> Option<usize> {
        match self {
            Self::Bounded(queue) => Some(queue.capacity()),
            Self::Unbounded(_) => None,
            Self::Rendezvous(_) => Some(0),
        }
    }

    /// Pops and drops every value; other threads may pop at the same time. A rendezvous holds
    /// only the values that cancelled receives gave back.
    pub(super) fn drop_all(&self) {
        match self {
            Self::Bounded(queue) => queue.drop_all(),
            Self::Unbounded(list) => list.drop_all(),
            Self::Rendezvous(zero) => zero.drop_given_back(),
        }
    }
}

/// The value a failed `try_send` hands back, whatever the reason.
fn unsent<T>(err: TrySendError<T>) -> T {
    match err {
        TrySendError::Full(value) | TrySendError::Disconnected(value) => value,
    }
}
