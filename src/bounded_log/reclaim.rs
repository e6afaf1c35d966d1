//! Reclamation for [`BoundedLog`](super::BoundedLog)'s nodes: readers pin one of two
//! counters, unlinked nodes wait on a retired stack until both counters have been seen idle,
//! and recycled nodes wait in their slot's spare place for the next push (the nodes module's
//! documentation has the scheme; [`Reclaim`] has the argument).

use std::ptr;

use crossbeam_utils::CachePadded;

use super::CapacityError;
use super::nodes::{Node, dispose_chain, drop_value, free_memory, link, next_of, seq_of};
use crate::fence::StoreLoadFence;
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, UnsafeCell, fence};

/// What a reader adds to `Reclaim::pins`, by the parity it joins.
const PIN_UNIT: [u64; 2] = [1, 1 << 32];

/// Frees unlinked nodes once no reader can hold them (module documentation, *Design*).
///
/// Why it is safe: a reader pins (adds one to its parity's half of `pins`), then issues a
/// `SeqCst` fence, then loads slots; a node is unlinked by a compare-and-swap followed by a
/// `SeqCst` fence. If a reader loaded a node before it was unlinked, the reader's fence precedes
/// the unlinker's in the fence order, so any load of `pins` after a fence that follows the
/// unlinker's fence (the unlinker's own check; a collector's checks after taking the batch,
/// ordered after it as shown next) sees the reader's increment or a later value. Seeing the
/// reader's half at 0 then means the reader's Release decrement came first, so its last read
/// of the node happens before the free.
///
/// On Linux the reader's fence and the unlinker's are the two halves of a [`StoreLoadFence`]:
/// the reader's is `membarrier`, the unlinker's a compiler fence, so a push with no reader
/// active issues no fence at all. The argument above holds as written, the kernel's guarantee
/// standing in for the fence order (`fence.rs`): when the reader's membarrier returns, the
/// unlinker has passed a full barrier, and a node that the reader then loads was not yet
/// unlinked, so the unlinker's check, and every fence after it, comes after the reader's
/// increment. loom checks the symmetric form, with both halves `SeqCst` fences.
///
/// A writer pushing onto the retired stack is pinned while it pushes, though it reads no value.
/// First, the head it links its node to may be taken by a collector in the meantime; if that
/// node could be freed and its memory reused for a newer node pushed in turn, the
/// compare-and-swap would succeed (same address) and leave a link to the freed node (ABA).
/// Pinned, the writer holds off the free of every head it loads, by the argument above.
/// Second, the pin orders the collector after the writer, so the push and the take of the
/// stack need no ordering of their own: a collector that took the writer's node took it with
/// a swap followed by its fence `C`, and the writer's compare-and-swap, which follows its pin
/// fence `W`, did not read that swap's null, so `W` precedes `C` in the fence order (were `C`
/// first, the compare-and-swap would see the swap or later). The unlinker's fence precedes
/// `W` (same thread), so the collector's checks follow it, as the reader argument needs; and
/// every check after `C` sees the writer's pin, so the batch is freed only once a check saw
/// its half at 0, after the writer's Release unpin: the node's link, written while pinned,
/// happens before the collector reads it.
pub(super) struct Reclaim<T> {
    /// Readers active: the low half counts those that joined parity 0, the high half parity 1
    /// (fewer than 2^32 readers at once, so the halves never carry into each other).
    pins: CachePadded<AtomicU64>,
    /// The parity new readers join (0 or 1); flipped by collectors.
    parity: AtomicUsize,
    /// Unlinked nodes waiting to be collected: a stack linked through `next`.
    retired: CachePadded<AtomicPtr<Node<T>>>,
    /// Held by the one thread collecting; others skip collecting rather than wait.
    collecting: AtomicBool,
    /// The batch being collected; only touched while holding `collecting`.
    batch: UnsafeCell<Batch<T>>,
    /// Between a reader's pin and a writer's check for readers after an unlink: the reader
    /// issues the heavy half, so that a push with no reader active issues no fence.
    fence: StoreLoadFence,
    /// Freed nodes kept for reuse, one place per slot (a push into slot `i` takes place `i`'s,
    /// a node unlinked from slot `i` goes back there): a push in steady state allocates
    /// nothing. Null when the place is empty. Each node here has had its value dropped.
    spares: Box<[AtomicPtr<Node<T>>]>,
}

/// Nodes taken from the retired stack, and which pin counters have been seen at zero since.
struct Batch<T> {
    nodes: *mut Node<T>,
    idle_seen: [bool; 2],
}

/// A reader's (or a retiring writer's) announcement: while it lives, no node the thread loads
/// is freed.
pub(super) struct Pin<'a, T> {
    reclaim: &'a Reclaim<T>,
    parity: usize,
    /// Whether unpinning collects: readers do, a writer pushing onto the retired stack leaves
    /// collecting to its own schedule (`COLLECT_EVERY`).
    collects: bool,
}

impl<T> Drop for Pin<'_, T> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire loads of the pin counters in `Reclaim`, so this
        // reader's reads of nodes happen before their free.
        self.reclaim
            .pins
            .fetch_sub(PIN_UNIT[self.parity], Ordering::Release);
        if self.collects {
            self.reclaim.collect();
        }
    }
}

impl<T> Drop for Reclaim<T> {
    fn drop(&mut self) {
        for spare in &self.spares {
            // Relaxed: `&mut self` excludes every other access.
            let node = spare.swap(ptr::null_mut(), Ordering::Relaxed);
            if !node.is_null() {
                // SAFETY: a spare is owned by its place, which we own; its value was dropped.
                unsafe { free_memory(node) };
            }
        }
    }
}

impl<T> Reclaim<T> {
    pub(super) fn new(capacity: usize) -> Result<Self, CapacityError> {
        Ok(Self {
            pins: CachePadded::new(AtomicU64::new(0)),
            parity: AtomicUsize::new(0),
            retired: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            collecting: AtomicBool::new(false),
            batch: UnsafeCell::new(Batch {
                nodes: ptr::null_mut(),
                idle_seen: [false; 2],
            }),
            fence: StoreLoadFence::new(),
            spares: CapacityError::boxed_slice(capacity, |_| AtomicPtr::new(ptr::null_mut()))?,
        })
    }

    /// The spare node kept for slot `index`, if there is one; the caller owns it.
    pub(super) fn take_spare(&self, index: usize) -> Option<*mut Node<T>> {
        if cfg!(verisync_mutant = "bounded_log_no_recycle") {
            return None;
        }
        // Acquire: pairs with the AcqRel swap in `recycle` that kept the node, so the drop of
        // its old value, and every reader's use of it before that, happen before the caller
        // refills it.
        let node = self.spares[index].swap(ptr::null_mut(), Ordering::Acquire);
        (!node.is_null()).then_some(node)
    }

    /// Drops `node`'s value and keeps its memory in its slot's spare place; frees the node
    /// that was there, if any.
    ///
    /// # Safety
    /// As for [`free_node`]: the caller owns `node` and no reader can still hold it.
    pub(super) unsafe fn recycle(&self, node: *mut Node<T>) {
        /// Frees the node's memory if its value's drop unwinds.
        struct Memory<T>(*mut Node<T>);
        impl<T> Drop for Memory<T> {
            fn drop(&mut self) {
                // SAFETY: the node `recycle` owns, whose value's drop has just unwound.
                unsafe { free_memory(self.0) };
            }
        }

        // SAFETY: the caller owns the node.
        let seq = unsafe { seq_of(node) };
        let memory = Memory(node);
        // SAFETY: the caller owns the node; its value is dropped once, here.
        unsafe { drop_value(node) };
        std::mem::forget(memory);
        // The place of the node's slot, `seq % capacity`; below `capacity`, a `usize`.
        let place = &self.spares[(seq % self.spares.len() as u64) as usize];
        // AcqRel. Release: pairs with the Acquire swap in `take_spare`. Acquire: pairs with the
        // Release half of the swap that kept the node we displace, which we free.
        let displaced = place.swap(node, Ordering::AcqRel);
        if !displaced.is_null() {
            // SAFETY: taken from its place, so ours; its value was dropped when it was kept.
            unsafe { free_memory(displaced) };
        }
    }

    /// Announces a reader, who collects when it leaves.
    pub(super) fn pin(&self) -> Pin<'_, T> {
        self.pin_collecting(true)
    }

    /// Announces a reader that collects on leaving if `collects`.
    pub(super) fn pin_collecting(&self, collects: bool) -> Pin<'_, T> {
        // Relaxed: the parity only steers readers between the two counters; either is safe.
        let parity = self.parity.load(Ordering::Relaxed);
        // Relaxed: ordered before this reader's slot loads by the fence below.
        self.pins.fetch_add(PIN_UNIT[parity], Ordering::Relaxed);
        if cfg!(verisync_mutant = "bounded_log_no_pin_fence") {
        } else if collects {
            // A reader: the heavy half of the fence whose light half `retire` issues.
            self.fence.heavy();
        } else {
            // A retiring writer, which must not pay the heavy half on every deferred push. Its
            // pin only holds off the free of the retired stack's heads, which only a collector
            // frees, after a `SeqCst` fence of its own: a `SeqCst` fence here pairs with it.
            fence(Ordering::SeqCst);
        }
        Pin {
            reclaim: self,
            parity,
            collects,
        }
    }

    /// Whether no reader is pinned, by parity. Call after a fence: `retire`'s light half, or a
    /// collector's `SeqCst` fence.
    fn readers_gone(&self) -> [bool; 2] {
        // Acquire: pairs with the Release decrement in `Pin::drop`.
        let pins = self.pins.load(Ordering::Acquire);
        [pins as u32 == 0, pins >> 32 == 0]
    }

    /// Recycles `node`, which the caller has just unlinked, at once if no reader is pinned,
    /// else puts it on the retired stack. Returns whether it was deferred.
    pub(super) fn retire(&self, node: *mut Node<T>) -> bool {
        // The light half of the fence whose heavy half readers issue when they pin.
        self.fence.light();
        if self.readers_gone() == [true, true]
            || cfg!(verisync_mutant = "bounded_log_free_without_grace")
        {
            // SAFETY: unlinked by the caller, and no reader pinned before the unlink is still
            // pinned (see the type's documentation).
            unsafe { self.recycle(node) };
            return false;
        }
        if cfg!(verisync_mutant = "bounded_log_reuse_held_node") {
            // SAFETY: none: the seeded bug hands a node a reader may hold to the next push.
            unsafe { self.recycle(node) };
            return false;
        }
        // Pinned, no head we load is freed before our compare-and-swap (the type's
        // documentation: ABA).
        let _pinned = self.pin_collecting(false);
        // Relaxed: the compare-and-swap below re-reads the head; the fence in `pin_collecting`
        // orders this load after our announcement.
        let mut head = self.retired.load(Ordering::Relaxed);
        loop {
            // SAFETY: the node is unlinked and not yet on the stack: only we touch its link.
            unsafe { link(node, head) };
            // Relaxed: our pin, not this push, orders the collector that takes the node after
            // our link and our unlink fence (the type's documentation). Failure Relaxed: only a
            // new head.
            match self.retired.compare_exchange_weak(
                head,
                node,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => head = actual,
            }
        }
    }

    /// Frees what can be freed, unless another thread is collecting. Never waits.
    pub(super) fn collect(&self) {
        // Relaxed: only a hint; a stale answer delays a collection to the next call. A batch
        // already taken waits for the next node retired (or for the log's drop).
        if self.retired.load(Ordering::Relaxed).is_null() {
            return;
        }
        // Acquire: pairs with the Release store that ended the previous collection, so its
        // batch is visible.
        if self.collecting.swap(true, Ordering::Acquire) {
            return;
        }
        /// Ends the collection, also when a value's drop unwinds.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                // Release: pairs with the Acquire swap above.
                self.0.store(false, Ordering::Release);
            }
        }
        let done = Done(&self.collecting);
        // SAFETY: we hold `collecting`, so the batch is ours alone.
        let ready = self
            .batch
            .with_mut(|batch| self.collect_step(unsafe { &mut *batch }));
        drop(done);
        // SAFETY: each parity's readers were seen gone after the chain was taken, so the
        // chain is ours and each node goes to `recycle` once.
        unsafe { dispose_chain(ready, &mut |node| self.recycle(node)) };
    }

    /// Advances the batch: takes one if there is none, checks the pin counters, flips the
    /// parity if that helps a counter drain. Returns the batch if it may be freed now.
    fn collect_step(&self, batch: &mut Batch<T>) -> *mut Node<T> {
        if batch.nodes.is_null() {
            // Relaxed: the pushers' pins order the nodes' links and unlink fences before our
            // checks below, which free nothing until each pusher has unpinned (the type's
            // documentation).
            batch.nodes = self.retired.swap(ptr::null_mut(), Ordering::Relaxed);
            if batch.nodes.is_null() {
                return ptr::null_mut();
            }
            batch.idle_seen = [false; 2];
        }
        fence(Ordering::SeqCst);
        for (seen, gone) in batch.idle_seen.iter_mut().zip(self.readers_gone()) {
            *seen |= gone;
        }
        let enough = mutant!(
            "bounded_log_one_idle_parity",
            batch.idle_seen.contains(&true),
            batch.idle_seen == [true, true]
        );
        if enough {
            return std::mem::replace(&mut batch.nodes, ptr::null_mut());
        }
        // Relaxed: only steers new readers; see `pin`.
        let parity = self.parity.load(Ordering::Relaxed);
        if !batch.idle_seen[parity] {
            // New readers join the other counter, so this one can drain.
            self.parity.store(parity ^ 1, Ordering::Relaxed);
        }
        ptr::null_mut()
    }

    /// Unlinks every node it holds (retired stack and batch) into one chain.
    pub(super) fn take_all(&mut self) -> *mut Node<T> {
        // Relaxed: `&mut self` excludes every other access.
        let mut chain = self.retired.swap(ptr::null_mut(), Ordering::Relaxed);
        if cfg!(verisync_mutant = "bounded_log_drop_leaks_batch") {
            return chain;
        }
        // SAFETY: `&mut self`: the batch is ours.
        let mut batch = self
            .batch
            .with_mut(|batch| unsafe { std::mem::replace(&mut (*batch).nodes, ptr::null_mut()) });
        while !batch.is_null() {
            // SAFETY: `&mut self`: every node of the batch is ours, and so is its link.
            let next = unsafe { next_of(batch) };
            // SAFETY: as above.
            unsafe { link(batch, chain) };
            chain = batch;
            batch = next;
        }
        chain
    }
}
