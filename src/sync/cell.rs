//! The cell every slot of a buffer is, and the buffers' allocation.

#[cfg(verisync_loom)]
pub use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's access API ([`with`](Self::with),
/// [`with_mut`](Self::with_mut)): a zero-cost wrapper, so that code is written once for every
/// backend. verisync's buffers are made of it, and [`crate::model::cell`] hands it to users.
///
/// # Examples
/// ```
/// use verisync::model::cell::UnsafeCell;
///
/// let cell = UnsafeCell::new(1);
/// // SAFETY: nothing else accesses the cell.
/// cell.with_mut(|value| unsafe { *value = 2 });
/// // SAFETY: as above.
/// assert_eq!(cell.with(|value| unsafe { *value }), 2);
/// ```
#[cfg(not(verisync_loom))]
#[repr(transparent)]
pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(verisync_loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    ///
    /// # Examples
    /// ```
    /// let cell = verisync::model::cell::UnsafeCell::new([0u8; 4]);
    /// # let _ = cell;
    /// ```
    #[inline(always)]
    pub const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading the value. Under loom the read is checked: one
    /// that races a write (no happens-before between them) fails the model.
    ///
    /// # Examples
    /// ```
    /// let cell = verisync::model::cell::UnsafeCell::new(7);
    /// // SAFETY: nothing writes the cell meanwhile.
    /// assert_eq!(cell.with(|value| unsafe { *value }), 7);
    /// ```
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing the value. Under loom the write is checked: one
    /// that races another access fails the model.
    ///
    /// # Examples
    /// ```
    /// let cell = verisync::model::cell::UnsafeCell::new(7);
    /// // SAFETY: nothing else accesses the cell meanwhile.
    /// cell.with_mut(|value| unsafe { *value += 1 });
    /// // SAFETY: as above.
    /// assert_eq!(cell.with(|value| unsafe { *value }), 8);
    /// ```
    #[inline(always)]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Allocates `len` uninitialized slots without touching them (a ZST buffer of any length costs
/// nothing), or reports that the allocator failed. The caller has checked that the layout fits
/// in `isize`.
pub(crate) fn uninit_slots<T>(
    len: usize,
) -> Result<Box<[UnsafeCell<std::mem::MaybeUninit<T>>]>, crate::error::CapacityError> {
    use crate::error::CapacityError;
    #[cfg(verisync_loom)]
    {
        // loom's cells carry tracking state, so each one is built; loom models are tiny.
        CapacityError::boxed_slice(len, |_| UnsafeCell::new(std::mem::MaybeUninit::uninit()))
    }
    #[cfg(not(verisync_loom))]
    {
        let mut slots = CapacityError::reserve(len)?;
        // SAFETY: the element type is a `repr(transparent)` wrapper around
        // `std::cell::UnsafeCell<MaybeUninit<T>>`, which has no validity invariant, so `len`
        // slots of uninitialized memory are valid values; the capacity is exactly `len`.
        unsafe { slots.set_len(len) };
        Ok(slots.into_boxed_slice())
    }
}
