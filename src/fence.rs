//! The store-load fence pair of a Dekker-style handshake, split unevenly where the system
//! allows it: one side runs often and must stay cheap (a notifier after every push, a writer
//! after every unlink), the other runs rarely or is about to do something slow anyway (a
//! waiter before it sleeps, a reader before a snapshot).
//!
//! Each side stores, issues its half of the fence, then loads what the other side stored:
//! either the light side's load sees the heavy side's store, or the heavy side's load sees the
//! light side's. On Linux the light half is a compiler fence and the heavy half is
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which makes every running thread of the
//! process execute a full barrier. Where membarrier is not available (other systems, old
//! kernels, Miri, loom, shuttle), both halves are `SeqCst` fences. The choice is made once per
//! [`StoreLoadFence`], when the structure that holds it is created, before any thread can use
//! it.
//!
//! loom checks the symmetric form (it has no membarrier). The asymmetric form is sound by the
//! kernel's guarantee that, when membarrier returns, every other running thread of the process
//! has passed a full barrier, which is what a `SeqCst` fence at the light side's compiler fence
//! would have given; the native `concurrent_*` tests exercise it on Linux.

use crate::sync::{Ordering, compiler_fence, fence};

/// The two halves of a store-load fence (module documentation).
pub(crate) struct StoreLoadFence {
    /// Whether the halves are split with `membarrier`.
    asymmetric: bool,
}

impl StoreLoadFence {
    pub(crate) fn new() -> Self {
        Self {
            asymmetric: membarrier::is_registered(),
        }
    }

    /// The cheap half, for the side that runs often: a compiler fence (or a `SeqCst` fence).
    #[inline(always)]
    pub(crate) fn light(&self) {
        if self.asymmetric {
            compiler_fence(Ordering::SeqCst);
        } else {
            full_fence();
        }
    }

    /// The expensive half, for the side that runs rarely: a system call (or a `SeqCst` fence).
    pub(crate) fn heavy(&self) {
        if self.asymmetric {
            membarrier::heavy_barrier();
        } else {
            fence(Ordering::SeqCst);
        }
    }
}

/// The heavy half of every [`StoreLoadFence`] at once, for a thread that registered with
/// several wait queues (a select): the split is chosen for the whole process (one
/// registration, made before the first fence exists), so one membarrier (or one `SeqCst`
/// fence) pairs with the light half of each.
pub(crate) fn heavy_for_every_fence() {
    if membarrier::is_registered() {
        membarrier::heavy_barrier();
    } else {
        fence(Ordering::SeqCst);
    }
}

/// A `SeqCst` fence, out of line: the light half's fallback, kept off the fast path's
/// straight line where membarrier does the heavy work.
#[cold]
fn full_fence() {
    fence(Ordering::SeqCst);
}

#[cfg(all(
    target_os = "linux",
    not(miri),
    not(verisync_loom),
    not(verisync_shuttle)
))]
mod membarrier {
    use std::sync::OnceLock;

    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    /// Registers the process for expedited private membarriers, once; false if the kernel
    /// refuses, in which case both fence halves stay `SeqCst` fences.
    pub(super) fn is_registered() -> bool {
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        *REGISTERED.get_or_init(|| {
            // SAFETY: membarrier takes no pointers; an unsupported command only returns -1.
            unsafe {
                libc::syscall(libc::SYS_membarrier, CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
            }
        })
    }

    /// Makes every running thread of this process execute a full memory barrier.
    pub(super) fn heavy_barrier() {
        // SAFETY: membarrier takes no pointers; the process registered in `is_registered`.
        let status = unsafe { libc::syscall(libc::SYS_membarrier, CMD_PRIVATE_EXPEDITED, 0, 0) };
        // After a successful registration the kernel documents no failure for this command.
        assert_eq!(status, 0, "membarrier failed after successful registration");
    }
}

#[cfg(not(all(
    target_os = "linux",
    not(miri),
    not(verisync_loom),
    not(verisync_shuttle)
)))]
mod membarrier {
    pub(super) fn is_registered() -> bool {
        false
    }

    pub(super) fn heavy_barrier() {
        unreachable!("heavy_barrier is only used after a successful registration")
    }
}
