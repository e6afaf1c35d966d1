//! The iterators every channel's `Receiver` offers, written once for all channels.
//!
//! [`receiver_iterators!`] expands, inside a channel module, to `Iter`, `TryIter` and
//! `IntoIter` over that module's `Receiver<T>` (which must have `recv` and `try_recv` returning
//! `Result<T, _>`), plus `IntoIterator` for `Receiver<T>` and `&Receiver<T>`. Its argument is
//! the module's name, for the doc examples.

macro_rules! receiver_iterators {
    ($module:ident) => {
        /// A blocking iterator over received values, from [`Receiver::iter`]; it ends once
        /// every sender is gone and the buffer is drained.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, rx) = verisync::", stringify!($module), "::channel(1);")]
        /// drop(tx);
        /// assert_eq!(rx.iter().next(), None::<u8>);
        /// ```
        pub struct Iter<'a, T> {
            receiver: &'a Receiver<T>,
        }

        impl<T> Iterator for Iter<'_, T> {
            type Item = T;

            fn next(&mut self) -> Option<T> {
                self.receiver.recv().ok()
            }
        }

        /// A non-blocking iterator over buffered values, from [`Receiver::try_iter`].
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, rx) = verisync::", stringify!($module), "::channel(2);")]
        /// tx.send(1).unwrap();
        /// assert_eq!(rx.try_iter().count(), 1);
        /// ```
        pub struct TryIter<'a, T> {
            receiver: &'a Receiver<T>,
        }

        impl<T> Iterator for TryIter<'_, T> {
            type Item = T;

            fn next(&mut self) -> Option<T> {
                self.receiver.try_recv().ok()
            }
        }

        /// A blocking iterator that owns its receiver, from `Receiver::into_iter`.
        ///
        /// # Examples
        /// ```
        #[doc = concat!("let (tx, rx) = verisync::", stringify!($module), "::channel(2);")]
        /// tx.send(1).unwrap();
        /// drop(tx);
        /// assert_eq!(rx.into_iter().collect::<Vec<_>>(), [1]);
        /// ```
        pub struct IntoIter<T> {
            receiver: Receiver<T>,
        }

        impl<T> Iterator for IntoIter<T> {
            type Item = T;

            fn next(&mut self) -> Option<T> {
                self.receiver.recv().ok()
            }
        }

        impl<T> IntoIterator for Receiver<T> {
            type Item = T;
            type IntoIter = IntoIter<T>;

            fn into_iter(self) -> IntoIter<T> {
                IntoIter { receiver: self }
            }
        }

        // By hand rather than derived, so that the iterators are `Debug` for any `T`, as their
        // receiver is.
        impl<T> std::fmt::Debug for Iter<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Iter")
                    .field("receiver", self.receiver)
                    .finish()
            }
        }

        impl<T> std::fmt::Debug for TryIter<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("TryIter")
                    .field("receiver", self.receiver)
                    .finish()
            }
        }

        impl<T> std::fmt::Debug for IntoIter<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("IntoIter")
                    .field("receiver", &self.receiver)
                    .finish()
            }
        }

        impl<'a, T> IntoIterator for &'a Receiver<T> {
            type Item = T;
            type IntoIter = Iter<'a, T>;

            fn into_iter(self) -> Iter<'a, T> {
                self.iter()
            }
        }
    };
}

pub(crate) use receiver_iterators;
