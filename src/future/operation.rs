//! The engine under every future, stream and sink of the channels: one operation on a
//! channel side, tried at once and, between polls, registered with the side exactly as one
//! operation of a select (`select/engine.rs`), its selection waking the task instead of a
//! thread.

use std::mem::ManuallyDrop;
use std::task::{Context, Poll};

use super::handle::Holds;
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::park::Fenced;
use crate::select::{Selection, Side, Sink, Source, Watch};
use crate::sync::Arc;

/// The item of the channel side that `H` holds.
pub(super) type Item<H> = <<H as Holds>::Endpoint as Side>::Item;

/// One operation of the endpoint that `H` holds, driven by polls.
pub(super) struct Operation<H: Holds> {
    pub(super) handle: H,
    /// A send's value; a receive's, when a rendezvous partner hands one over.
    slot: Option<Item<H>>,
    /// The registration while the operation waits. Every future, stream and sink that holds
    /// an operation takes it back when dropped ([`cancel_recv`](Self::cancel_recv),
    /// [`cancel_send`](Self::cancel_send)), so it is always `None` by the time the fields
    /// drop (checked in debug builds); `ManuallyDrop` says so to the compiler, which then
    /// leaves the holder's drop one inline check instead of an out-of-line call after every
    /// completed operation.
    round: ManuallyDrop<Option<Round<Item<H>>>>,
}

impl<H: Holds> Drop for Operation<H> {
    fn drop(&mut self) {
        debug_assert!(
            self.round.is_none(),
            "an operation dropped while registered: its holder's drop must take the registration back"
        );
    }
}

/// A waiting operation's registration: its selection, and where the side put it.
struct Round<T> {
    selection: Arc<Selection>,
    watch: Watch<T>,
}

impl<H: Holds> Operation<H> {
    pub(super) fn new(handle: H, slot: Option<Item<H>>) -> Self {
        Self {
            handle,
            slot,
            round: ManuallyDrop::new(None),
        }
    }

    /// Whether the operation is registered, waiting.
    pub(super) fn is_waiting(&self) -> bool {
        self.round.is_some()
    }

    /// Whether a send's value is still to be sent.
    #[cfg(feature = "futures")]
    pub(super) fn holds_value(&self) -> bool {
        self.slot.is_some()
    }

    /// Completes the operation with `attempt` (its non-blocking try: `None` if it would
    /// wait), or registers and returns `Pending`; `met` is the output when a rendezvous
    /// partner completed the operation while it was registered.
    ///
    /// Its callers ([`poll_recv`](Operation::poll_recv), [`poll_send`](Operation::poll_send))
    /// handle the common case inline, an operation that is not waiting and whose attempt
    /// succeeds, by calling the attempt directly (passed as a closure, it was not inlined into
    /// `async` callers); this is the rest: the operation is registered, or was not and its
    /// attempt just failed.
    #[inline(never)]
    fn poll_waiting<O>(
        &mut self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&H::Endpoint, &mut Option<Item<H>>) -> Option<O>,
        met: impl Fn(&mut Option<Item<H>>) -> O,
    ) -> Poll<O> {
        // Whether the attempt is to be made (again) before registering.
        let mut retry = false;
        if let Some(round) = &*self.round {
            // Not notified: nothing has changed for us since we registered (a notification
            // would have come), and the registration stands, now with this poll's waker.
            if !round.selection.poll_notified(cx.waker()) {
                return Poll::Pending;
            }
            if self.end_round() {
                return Poll::Ready(met(&mut self.slot));
            }
            retry = true;
        }
        loop {
            let endpoint = self.handle.endpoint();
            if retry && let Some(done) = attempt(endpoint, &mut self.slot) {
                return Poll::Ready(done);
            }
            retry = true;
            let selection = Selection::for_task();
            let watch = endpoint.watch(&selection, 0, &mut self.slot);
            match watch {
                Watch::Met => return Poll::Ready(met(&mut self.slot)),
                Watch::Declined => continue,
                Watch::Queue(_) | Watch::Line(_) => {}
            }
            // Registered, then the re-check, as a sleeping thread does (`park.rs`): either the
            // side that makes progress sees our registration, or we see its progress here.
            // With a published task in line before us, its fence stands for ours.
            if let Watch::Queue(Fenced::NotYet) = watch {
                crate::fence::heavy_for_every_fence();
                selection.mark_published();
            }
            let ready = endpoint.looks_ready() && !cfg!(verisync_mutant = "async_no_recheck");
            // Not ready: the registration gets our waker now, unless a notification came while
            // we registered. That one woke nobody (we were still polling, and a runtime would
            // only have polled us again for it): we act on it here, as a poll that finds
            // itself notified does.
            let notified = !ready && selection.poll_notified(cx.waker());
            *self.round = Some(Round { selection, watch });
            if !ready
                && (!notified || cfg!(verisync_mutant = "async_notice_while_registering_lost"))
            {
                return Poll::Pending;
            }
            if self.end_round() {
                return Poll::Ready(met(&mut self.slot));
            }
        }
    }

    /// Takes the registration back, if there is one. True if a rendezvous partner completed
    /// the operation meanwhile: a send's value is gone, a receive's is in the slot.
    #[inline(always)]
    fn end_round(&mut self) -> bool {
        self.round.is_some() && self.take_round_back()
    }

    /// [`end_round`](Self::end_round) with a registration to take back.
    #[inline(never)]
    fn take_round_back(&mut self) -> bool {
        let Some(Round { selection, watch }) = self.round.take() else {
            return false;
        };
        let met = selection.abort().is_some();
        self.handle
            .endpoint()
            .unwatch(watch, &selection, &mut self.slot);
        met
    }
}

impl<H: Holds<Endpoint: Source>> Operation<H> {
    /// Polls a receive.
    #[inline(always)]
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Item<H>, RecvError>> {
        if !self.is_waiting()
            && let Some(done) = Self::try_recv(self.handle.endpoint(), &mut self.slot)
        {
            return Poll::Ready(done);
        }
        self.poll_waiting(cx, Self::try_recv, |slot| Ok(take_met_value(slot)))
    }

    /// A receive's attempt: `None` while the side is empty.
    #[inline(always)]
    fn try_recv(
        receiver: &H::Endpoint,
        _: &mut Option<Item<H>>,
    ) -> Option<Result<Item<H>, RecvError>> {
        match receiver.try_take() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
        }
    }

    /// A receive is dropped: if a rendezvous partner handed it a value meanwhile, the value
    /// stays in the channel.
    pub(super) fn cancel_recv(&mut self) {
        if self.end_round() {
            let value = take_met_value(&mut self.slot);
            self.handle.endpoint().give_back(value);
        }
    }
}

impl<H: Holds<Endpoint: Sink>> Operation<H> {
    /// Polls the send of the value in the slot; with none there (never given, or sent
    /// already), completes at once.
    #[inline(always)]
    pub(super) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<Item<H>>>> {
        if self.slot.is_none() && self.round.is_none() {
            return Poll::Ready(Ok(()));
        }
        if !self.is_waiting()
            && let Some(done) = Self::try_send(self.handle.endpoint(), &mut self.slot)
        {
            return Poll::Ready(done);
        }
        self.poll_waiting(cx, Self::try_send, |_| Ok(()))
    }

    /// A send's attempt with the value in `slot`: `None` (the value back in the slot) while
    /// the side is full.
    #[inline(always)]
    fn try_send(
        sender: &H::Endpoint,
        slot: &mut Option<Item<H>>,
    ) -> Option<Result<(), SendError<Item<H>>>> {
        let value = slot.take()?;
        match sender.try_put(value) {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Full(value)) => {
                *slot = Some(value);
                None
            }
            Err(TrySendError::Disconnected(value)) => Some(Err(SendError(value))),
        }
    }

    /// Puts a new value in the slot, to be sent by [`poll_send`](Self::poll_send); the
    /// previous one must be sent already.
    #[cfg(feature = "futures")]
    pub(super) fn load(&mut self, value: Item<H>) {
        assert!(
            self.slot.is_none() && self.round.is_none(),
            "a value given before the previous one was sent (`Sink::start_send` without `poll_ready`)"
        );
        self.slot = Some(value);
    }

    /// A send is dropped: its value was sent, or is dropped with the slot, unsent.
    pub(super) fn cancel_send(&mut self) {
        self.end_round();
    }

    /// A send is called off: its value, if it was not sent. The registration is taken back
    /// first, as on a drop: a send waiting in a rendezvous line has its value there, and gets
    /// it back in its slot unless a receiver took it.
    pub(super) fn take_back_unsent(&mut self) -> Option<Item<H>> {
        if cfg!(verisync_mutant = "async_cancel_reads_value_early") {
            let value = self.slot.take();
            self.end_round();
            return value;
        }
        self.end_round();
        self.slot.take()
    }
}

/// The value a rendezvous partner handed a receive that was waiting.
fn take_met_value<T>(slot: &mut Option<T>) -> T {
    slot.take()
        .expect("a receive met by a partner holds the partner's value")
}
