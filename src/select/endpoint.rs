//! What a channel endpoint provides to take part in a select: a non-blocking try, and a way
//! to register a [`Selection`] and take it back.

use super::selection::Selection;
use crate::error::{TryRecvError, TrySendError};
use crate::mpmc::Ticket;
use crate::park::{Fenced, WaitQueue};
use crate::sync::Arc;

/// Where an operation's registration went.
pub enum Watch<T> {
    /// Into the wait queue of a buffered channel's waiting side; whether the registration
    /// still needs the heavy half of the queue's fence before the re-check.
    Queue(Fenced),
    /// Into a rendezvous channel's line.
    Line(Ticket<T>),
    /// Nowhere: the operation should be tried again.
    Declined,
    /// Nowhere: the operation met a partner on the spot and the selection is claimed for it.
    Met,
}

impl<T> Watch<T> {
    /// Whether the operation waits for a notification (or a partner).
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self, Self::Queue(_) | Self::Line(_))
    }
}

/// One side of a channel (its receivers or its senders), as a select registers with it.
pub trait Side {
    type Item;
    /// Registers operation `op` of `selection`. `slot` holds a send's value, which a
    /// rendezvous line keeps meanwhile (or a partner met on the spot takes); a receive met on
    /// the spot gets its value there.
    fn watch(
        &self,
        selection: &Arc<Selection>,
        op: usize,
        slot: &mut Option<Self::Item>,
    ) -> Watch<Self::Item>;
    /// After registering and the heavy half of the wait queues' fence: whether the operation
    /// may complete now.
    fn looks_ready(&self) -> bool;
    /// Takes a registration back. What a rendezvous entry holds goes to `slot`: a send's value
    /// unless a partner took it, or the value a partner handed a receive.
    fn unwatch(
        &self,
        watch: Watch<Self::Item>,
        selection: &Arc<Selection>,
        slot: &mut Option<Self::Item>,
    );
}

/// The receiving side of a channel, as a select sees it.
pub trait Source: Side {
    /// The endpoint's `try_recv`.
    fn try_take(&self) -> Result<Self::Item, TryRecvError>;
    /// Puts back a value that a rendezvous partner handed to a receive which was then
    /// cancelled (a dropped future), for the next receive. Only a rendezvous side ever hands a
    /// value to a waiting receive.
    fn give_back(&self, value: Self::Item);
}

/// The sending side of a channel, as a select sees it.
pub trait Sink: Side {
    /// The endpoint's `try_send`.
    fn try_put(&self, value: Self::Item) -> Result<(), TrySendError<Self::Item>>;
}

/// A buffered channel side's registration: into the wait queue its other side notifies.
pub(crate) fn watch_queue<T>(waits: &WaitQueue, selection: &Arc<Selection>) -> Watch<T> {
    Watch::Queue(waits.watch(selection))
}

/// Takes back a registration of a buffered channel side.
pub(crate) fn unwatch_queue<T>(waits: &WaitQueue, watch: Watch<T>, selection: &Arc<Selection>) {
    if let Watch::Queue(_) = watch {
        waits.unwatch(selection);
    }
}
