//! What every channel shares, written once: the blocking send and receive loops over a
//! channel's non-blocking attempts and its wait queues, and the receiver iterators.

mod blocking;
mod iter;

pub(crate) use blocking::{recv_until, send_until};
pub(crate) use iter::receiver_iterators;
