//! The blocking send and receive loops of every channel, over its non-blocking attempts and
//! the wait queue its other side notifies.

use std::time::Instant;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::park::WaitQueue;

/// A channel's blocking send: retries `try_send` with `value`, sleeping in `waits` while it
/// reports `Full`, until it succeeds, reports `Disconnected`, or `deadline` passes.
pub(crate) fn send_until<T>(
    waits: &WaitQueue,
    value: T,
    deadline: Option<Instant>,
    mut try_send: impl FnMut(T) -> Result<(), TrySendError<T>>,
) -> Result<(), SendTimeoutError<T>> {
    let mut pending = match try_send(value) {
        Ok(()) => return Ok(()),
        Err(TrySendError::Disconnected(value)) => {
            return Err(SendTimeoutError::Disconnected(value));
        }
        Err(TrySendError::Full(value)) => Some(value),
    };
    let sent = waits.wait_until(deadline, || match try_send(pending.take()?) {
        Ok(()) => Some(Ok(())),
        Err(TrySendError::Full(value)) => {
            pending = Some(value);
            None
        }
        Err(TrySendError::Disconnected(value)) => Some(Err(SendTimeoutError::Disconnected(value))),
    });
    match (sent, pending) {
        (Some(outcome), _) => outcome,
        (None, Some(value)) => Err(SendTimeoutError::Timeout(value)),
        (None, None) => unreachable!("a failed attempt always keeps the value"),
    }
}

/// A channel's blocking receive: retries `try_recv`, sleeping in `waits` while it reports
/// `Empty`, until it succeeds, reports `Disconnected`, or `deadline` passes.
pub(crate) fn recv_until<R>(
    waits: &WaitQueue,
    deadline: Option<Instant>,
    mut try_recv: impl FnMut() -> Result<R, TryRecvError>,
) -> Result<R, RecvTimeoutError> {
    let mut attempt = || match try_recv() {
        Ok(received) => Some(Ok(received)),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
    };
    if let Some(outcome) = attempt() {
        return outcome;
    }
    let received = waits.wait_until(deadline, attempt);
    received.unwrap_or(Err(RecvTimeoutError::Timeout))
}
