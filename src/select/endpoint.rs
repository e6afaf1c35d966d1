//! What a channel endpoint provides to take part in a select: a non-blocking try, and a way
//! to register a [`Selection`] and take it back.

use super::selection::Selection;
use crate::error::{TryRecvError, TrySendError};
use crate::mpmc::Ticket;
use crate::park::WaitQueue;
use crate::sync::Arc;

/// Where an operation's registration went.
pub enum Watch<T> {
    /// Into the wait queue of a buffered channel's waiting side.
    Queue,
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
        matches!(self, Self::Queue | Self::Line(_))
    }
}

/// The receiving side of a channel, as a select sees it.
pub trait Source {
    type Item;
    /// The endpoint's `try_recv`.
    fn try_take(&self) -> Result<Self::Item, TryRecvError>;
    /// Registers operation `op` of `selection`; a value met on the spot goes to `received`.
    fn watch_take(
        &self,
        selection: &Arc<Selection>,
        op: usize,
        received: &mut Option<Self::Item>,
    ) -> Watch<Self::Item>;
    /// After registering and the heavy half of the wait queues' fence: whether a receive may
    /// succeed now.
    fn take_looks_ready(&self) -> bool;
    /// Takes a registration back; a value a partner handed over goes to `received`.
    fn unwatch_take(
        &self,
        watch: Watch<Self::Item>,
        selection: &Arc<Selection>,
        received: &mut Option<Self::Item>,
    );
}

/// The sending side of a channel, as a select sees it.
pub trait Sink {
    type Item;
    /// The endpoint's `try_send`.
    fn try_put(&self, value: Self::Item) -> Result<(), TrySendError<Self::Item>>;
    /// Registers operation `op` of `selection`, for the value in `value` (which a rendezvous
    /// line holds meanwhile, or a partner met on the spot takes).
    fn watch_put(
        &self,
        selection: &Arc<Selection>,
        op: usize,
        value: &mut Option<Self::Item>,
    ) -> Watch<Self::Item>;
    /// After registering and the heavy half of the wait queues' fence: whether a send may
    /// succeed now.
    fn put_looks_ready(&self) -> bool;
    /// Takes a registration back; the value comes back to `value` unless a partner took it.
    fn unwatch_put(
        &self,
        watch: Watch<Self::Item>,
        selection: &Arc<Selection>,
        value: &mut Option<Self::Item>,
    );
}

/// A buffered channel side's registration: into the wait queue its other side notifies.
pub(crate) fn watch_queue<T>(waits: &WaitQueue, selection: &Arc<Selection>) -> Watch<T> {
    waits.watch(selection);
    Watch::Queue
}

/// Takes back a registration of a buffered channel side.
pub(crate) fn unwatch_queue<T>(waits: &WaitQueue, watch: Watch<T>, selection: &Arc<Selection>) {
    if let Watch::Queue = watch {
        waits.unwatch(selection);
    }
}
