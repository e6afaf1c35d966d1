//! How a future, stream or sink holds its channel endpoint: borrowed, or owned.

use crate::select::Side;

/// Gives access to the endpoint held. Public in a private module: the bound that seals
/// [`Handle`](super::Handle).
pub trait Holds {
    /// The endpoint held.
    type Endpoint: Side;
    /// The endpoint.
    fn endpoint(&self) -> &Self::Endpoint;
}

impl<E: Side> Holds for &E {
    type Endpoint = E;

    fn endpoint(&self) -> &E {
        self
    }
}

impl<E: Side> Holds for &mut E {
    type Endpoint = E;

    fn endpoint(&self) -> &E {
        self
    }
}

/// An endpoint held by value (an owned stream or sink).
macro_rules! owned {
    ($($endpoint:ty),* $(,)?) => {$(
        impl<T> Holds for $endpoint {
            type Endpoint = Self;

            fn endpoint(&self) -> &Self {
                self
            }
        }
    )*};
}

owned!(
    crate::mpmc::Receiver<T>,
    crate::mpmc::Sender<T>,
    crate::spsc::Receiver<T>,
    crate::spsc::Sender<T>,
    crate::mpsc::Sender<T>,
    crate::mpsc::SyncSender<T>,
);
