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
//!
//! # When the accesses are the fence
//! Some handshakes need neither half: where each side's store is a `SeqCst` read-modify-write
//! and each side's loads are `SeqCst` or come after a `SeqCst` fence, the single total order
//! of `SeqCst` operations already forbids both loads missing the other side's store. Say the
//! light side's load missed the heavy side's store: it precedes that store in the order, so
//! the light side's own store, sequenced before its load, precedes it too, and so does
//! everything sequenced after the heavy side's store, the heavy side's loads (or the fence
//! before them) included; a `SeqCst` load (or a load after a `SeqCst` fence) that follows a
//! `SeqCst` store in that order cannot read an older value (C++20 \[atomics.order\] 4.1 and
//! 4.3). The mpmc buffers are such a handshake: a push or pop *claims* its position with a
//! `SeqCst` compare-exchange, an empty or full check reads the cursors with `SeqCst` loads
//! (or after a `SeqCst` fence), a waiter registers with a `SeqCst` increment, and a notifier
//! reads the count with a `SeqCst` load. [`StoreLoadFence::implied`] is the pair for such a
//! handshake: nothing natively, so a waiting task or thread pays no `membarrier`. loom does
//! not model `SeqCst` accesses (it treats them as acquire and release), so under loom and
//! shuttle it is the symmetric form, and the models check the handshake with both fences in
//! place; the proof above is what lets native builds drop them.

use crate::sync::{Ordering, compiler_fence, fence};

/// The two halves of a store-load fence (module documentation).
pub(crate) struct StoreLoadFence {
    halves: Halves,
}

/// How a [`StoreLoadFence`] is made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Halves {
    /// A compiler fence and `membarrier`.
    Asymmetric,
    /// A `SeqCst` fence on each side.
    Symmetric,
    /// Nothing: the handshake's own `SeqCst` accesses order it (module documentation, "When
    /// the accesses are the fence").
    Implied,
}

impl StoreLoadFence {
    /// The pair for a handshake whose stores or loads are not all `SeqCst`: split with
    /// `membarrier` where the system has it.
    pub(crate) fn new() -> Self {
        let halves = if membarrier::is_registered() {
            Halves::Asymmetric
        } else {
            Halves::Symmetric
        };
        Self { halves }
    }

    /// The pair for a handshake whose stores are `SeqCst` read-modify-writes and whose loads
    /// are `SeqCst` or follow a `SeqCst` fence: nothing, except under the model checkers,
    /// which do not model `SeqCst` accesses (module documentation).
    pub(crate) fn implied() -> Self {
        let halves = if cfg!(any(verisync_loom, verisync_shuttle)) {
            Halves::Symmetric
        } else {
            Halves::Implied
        };
        Self { halves }
    }

    /// Whether neither half issues anything: a waiter's registration is its own fence.
    pub(crate) fn is_implied(&self) -> bool {
        self.halves == Halves::Implied
    }

    /// The cheap half, for the side that runs often: a compiler fence (or a `SeqCst` fence).
    #[inline(always)]
    pub(crate) fn light(&self) {
        match self.halves {
            Halves::Asymmetric | Halves::Implied => compiler_fence(Ordering::SeqCst),
            Halves::Symmetric => full_fence(),
        }
    }

    /// The expensive half, for the side that runs rarely: a system call (or a `SeqCst` fence,
    /// or nothing).
    pub(crate) fn heavy(&self) {
        match self.halves {
            Halves::Asymmetric => membarrier::heavy_barrier(),
            Halves::Symmetric => fence(Ordering::SeqCst),
            Halves::Implied => {}
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
