//! The engine of [`BoundedLog`]: each item on the heap, in a node recycled once no reader can
//! hold it.
//!
//! Each slot is an atomic pointer to a heap node holding the sequence number and the value,
//! written once before the node is published and never changed after, so a reader never reads a
//! value that a writer may be writing: there is no data race on `T`, and no seqlock. A push
//! swaps its node into the slot with a compare-and-swap and owns the node it displaced:
//! normally the item one lap older, which it retires. If the displaced node is newer (the
//! pusher was lapped), it puts that one back in the same way and retires its own.
//!
//! Retired nodes are recycled once no reader can hold them, by a reclamation scheme small
//! enough for loom to check: readers announce themselves in one of two counters (`pins`),
//! chosen by a parity bit, with a `SeqCst` fence between the announcement and their first slot
//! load; a writer issues a `SeqCst` fence after unlinking a node and recycles it at once if
//! both counters are zero. Otherwise the node goes on a retired stack. A collector (whoever
//! wins a try-lock; the others skip) takes the whole stack as a batch and recycles it once it
//! has seen each counter at zero after taking it, flipping the parity bit so that new readers
//! join the counter that has already drained and the other one can drain. Readers collect when
//! they finish and something was retired, writers every few deferred nodes; a batch that
//! cannot be recycled yet waits for the next collection (at worst the log's drop). A reader
//! that never finishes postpones recycling (memory grows) but blocks nobody.
//!
//! Recycling a node drops its value and keeps its memory in its slot's spare place, which the
//! next push into that slot takes instead of allocating (with an Acquire/Release swap, as an
//! allocator would hand memory over), so a push in steady state allocates nothing. A place
//! keeps at most one node, so the log holds at most `2 * capacity` nodes besides those waiting
//! for readers. Recycling is freeing followed by an allocation of the same memory: the
//! reclamation argument (`Reclaim`) covers both.

use std::fmt;
use std::mem::ManuallyDrop;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::ptr;

use crossbeam_utils::CachePadded;

use super::{CapacityError, Lookup, Progress, Read, Run, Tickets};
use crate::fence::StoreLoadFence;
use crate::sync::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, MODEL_CHECKED, Ordering, UnsafeCell, fence,
};

/// What a reader adds to `Reclaim::pins`, by the parity it joins.
const PIN_UNIT: [u64; 2] = [1, 1 << 32];

/// How many pushes apart a writer that had to defer a node tries to collect: readers collect
/// on every exit, so writers only need to keep a long-lived reader's backlog in check. Under a
/// model checker every other push collects, so the checker explores writers collecting in
/// models of only a few pushes.
const COLLECT_EVERY: u64 = if MODEL_CHECKED { 2 } else { 64 };

/// A log that keeps the newest `capacity` items; any number of threads push and read.
///
/// It is [`Sync`] when `T` is [`Send`], so threads can push values that are not [`Sync`];
/// [`snapshot`](Self::snapshot) and [`read_since`](Self::read_since), which clone values that
/// other threads may be cloning too, need `T: Sync`.
///
/// # Examples
/// ```
/// use verisync::bounded_log::BoundedLog;
///
/// let log = BoundedLog::new(3);
/// for word in ["a", "b", "c", "d"] {
///     log.push(word);
/// }
/// assert_eq!(log.snapshot(), ["b", "c", "d"]);
/// ```
pub struct BoundedLog<T> {
    tickets: Tickets,
    /// Slot `seq % capacity` points to the node of the newest item installed there (null
    /// before the first one, and after `clear`).
    slots: Box<[AtomicPtr<Node<T>>]>,
    reclaim: Reclaim<T>,
}

// SAFETY: values move into the log on one thread and are cloned or dropped on others, so
// `T: Send` is needed; nothing else in the log is tied to a thread.
unsafe impl<T: Send> Send for BoundedLog<T> {}
// SAFETY: through `&BoundedLog`, threads push, evict and drop values on any thread
// (`T: Send`). The only shared access to a value is the clone in `snapshot` and `read_since`,
// which require `T: Sync` themselves. Every node is published through a Release/Acquire pair on
// its slot and freed only after the grace period described in the module documentation.
unsafe impl<T: Send> Sync for BoundedLog<T> {}

// Unwind safety: a panicking `Clone` in a snapshot or cursor unpins on the way out (the pin is a
// guard), and a panicking `Drop` of an evicted item runs after it was unlinked, so a panic never
// leaves a slot, the tail or the reclamation counters half-updated.
impl<T> UnwindSafe for BoundedLog<T> {}
impl<T> RefUnwindSafe for BoundedLog<T> {}

/// One pushed item on the heap: written before it is published, immutable after.
struct Node<T> {
    entry: UnsafeCell<Entry<T>>,
    /// Link in a chain of nodes to free (the retired stack, a collector's batch); only the
    /// thread that retired the node, and then the collector that took it, touch it.
    next: UnsafeCell<*mut Node<T>>,
}

struct Entry<T> {
    seq: u64,
    /// Dropped by [`free_node`] or [`Reclaim::recycle`], or moved out by `into_vec`, never
    /// twice.
    value: ManuallyDrop<T>,
}

impl<T> Node<T> {
    fn allocate(seq: u64, value: T) -> *mut Node<T> {
        Box::into_raw(Box::new(Node {
            entry: UnsafeCell::new(Entry {
                seq,
                value: ManuallyDrop::new(value),
            }),
            next: UnsafeCell::new(ptr::null_mut()),
        }))
    }
}

/// Writes item `seq` into `node`, a spare (its memory kept, its old value dropped).
///
/// # Safety
/// The caller owns `node`, taken from a spare place ([`Reclaim::take_spare`]).
unsafe fn refill<T>(node: *mut Node<T>, seq: u64, value: T) {
    // SAFETY: the caller owns the node, and its old value was dropped, so it is overwritten
    // without a drop.
    unsafe {
        (*node).entry.with_mut(|entry| {
            ptr::write(
                entry,
                Entry {
                    seq,
                    value: ManuallyDrop::new(value),
                },
            );
        });
        (*node).next.with_mut(|next| *next = ptr::null_mut());
    }
}

/// The sequence number of `node`.
///
/// # Safety
/// `node` is live: owned by the caller, or reachable while the caller is pinned.
unsafe fn seq_of<T>(node: *mut Node<T>) -> u64 {
    // SAFETY: the node is live (caller's contract) and its entry is never written after it was
    // published, so reading it races with nothing but other reads.
    unsafe { (*node).entry.with(|entry| (*entry).seq) }
}

/// Frees `node` and drops its value.
///
/// # Safety
/// The caller owns `node`: it is in no slot, and no reader can still hold it.
unsafe fn free_node<T>(node: *mut Node<T>) {
    // SAFETY: the node came from `Box::into_raw` in `Node::allocate` and the caller owns it.
    let node = unsafe { Box::from_raw(node) };
    // SAFETY: the value has not been dropped or moved out (only the owner does either, once);
    // if its drop panics, `node` still frees the memory while unwinding.
    node.entry
        .with_mut(|entry| unsafe { ManuallyDrop::drop(&mut (*entry).value) });
}

/// Frees the memory of `node` without dropping its value (dropped already, or moved out).
///
/// # Safety
/// The caller owns `node`, which came from `Node::allocate`.
unsafe fn free_memory<T>(node: *mut Node<T>) {
    // SAFETY: from `Box::into_raw` in `Node::allocate`, owned by the caller; the value is a
    // `ManuallyDrop`, so dropping the box leaves it alone.
    drop(unsafe { Box::from_raw(node) });
}

/// Links `node` in front of `chain`.
///
/// # Safety
/// The caller owns `node` and no other thread touches its link.
unsafe fn link<T>(node: *mut Node<T>, chain: *mut Node<T>) {
    // SAFETY: the caller owns the node and so its link.
    unsafe { (*node).next.with_mut(|next| *next = chain) };
}

/// Frees a chain of nodes linked through `next`, carrying on past a panicking drop (a second
/// panic aborts, as in `Vec`).
///
/// # Safety
/// The caller owns every node of the chain, as for [`free_node`].
unsafe fn free_chain<T>(chain: *mut Node<T>) {
    // SAFETY: the caller owns every node of the chain, each handed to `free_node` once.
    unsafe { dispose_chain(chain, &mut |node| free_node(node)) };
}

/// Hands each node of a chain linked through `next` to `dispose`, which drops its value,
/// carrying on past a panicking drop (a second panic aborts, as in `Vec`).
///
/// # Safety
/// The caller owns every node of the chain, as for [`free_node`], and `dispose` may be given
/// any node the caller owns.
unsafe fn dispose_chain<T>(chain: *mut Node<T>, dispose: &mut dyn FnMut(*mut Node<T>)) {
    /// The nodes not yet disposed of: handed over to `dispose` on the way out, so also when
    /// a value's drop unwinds (on a normal exit there are none left).
    struct Rest<'a, T> {
        next: *mut Node<T>,
        dispose: &'a mut dyn FnMut(*mut Node<T>),
    }
    impl<T> Drop for Rest<'_, T> {
        fn drop(&mut self) {
            // Under a model checker a panic here is the checker failing the model on an access
            // to a node: disposing of the rest would make the same access and fail again,
            // over and over, so the rest is left to the failed execution.
            if !self.next.is_null() && !MODEL_CHECKED {
                // SAFETY: the rest of a chain the caller of `dispose_chain` owns.
                unsafe { dispose_chain(self.next, self.dispose) };
            }
        }
    }

    let mut rest = Rest {
        next: chain,
        dispose,
    };
    while !rest.next.is_null() {
        let node = rest.next;
        // SAFETY: the caller owns the node and so its link, read before the node is handed on.
        rest.next = unsafe { (*node).next.with(|next| *next) };
        (rest.dispose)(node);
    }
}

impl<T> BoundedLog<T> {
    /// Creates a log that keeps the newest `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is 0 or the slot array would exceed `isize::MAX` bytes;
    /// [`try_new`](Self::try_new) returns these as errors instead.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::<u64>::new(100);
    /// assert_eq!(log.capacity(), 100);
    /// ```
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(log) => log,
            Err(err) => panic!("verisync::bounded_log::BoundedLog::new: {err}"),
        }
    }

    /// Creates a log that keeps the newest `capacity` items, or says why it cannot.
    ///
    /// # Examples
    /// ```
    /// use verisync::bounded_log::{BoundedLog, CapacityError};
    ///
    /// assert!(BoundedLog::<String>::try_new(7).is_ok());
    /// assert_eq!(BoundedLog::<String>::try_new(0).unwrap_err(), CapacityError::Zero);
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        // The slots are pointers, whatever `T` is; sequence numbers are `u64`s, not positions.
        CapacityError::check::<AtomicPtr<Node<T>>>(capacity, 1)?;
        Ok(Self {
            tickets: Tickets::new(capacity),
            slots: CapacityError::boxed_slice(capacity, |_| AtomicPtr::new(ptr::null_mut()))?,
            reclaim: Reclaim::new(capacity)?,
        })
    }

    /// Appends `value` and returns its sequence number; evicts the oldest item if the log is
    /// full. Lock-free; never waits for a reader or another writer.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// assert_eq!(log.push('a'), 0);
    /// assert_eq!(log.push('b'), 1);
    /// assert_eq!(log.push('c'), 2);
    /// assert_eq!(log.snapshot(), ['b', 'c']);
    /// ```
    pub fn push(&self, value: T) -> u64 {
        let seq = self.tickets.take();
        let node = match self.reclaim.take_spare(self.tickets.index(seq)) {
            // SAFETY: a spare taken from its place is ours, and its old value was dropped.
            Some(spare) => unsafe {
                refill(spare, seq, value);
                spare
            },
            None => Node::allocate(seq, value),
        };
        self.install(seq, node);
        seq
    }

    /// Installs `node` (sequence number `seq`) in its slot and retires what it replaced.
    fn install(&self, seq: u64, node: *mut Node<T>) {
        let slot = self.slot(seq);
        // The node to install and its sequence number. Once installed, another writer may
        // unlink and free it at any moment, so its number is kept here, never read back.
        let (mut hand, mut hand_seq) = (node, seq);
        // Relaxed: only the first expected value of the compare-and-swap below, which reads
        // the slot again; it is never dereferenced.
        let mut expected = slot.load(Ordering::Relaxed);
        loop {
            // Success AcqRel. Release: publishes the entry of `hand` to readers, pairing with
            // their Acquire load of the slot. Acquire: pairs with the Release of the CAS that
            // installed `current`, whose entry we read next. Failure Relaxed: the new expected
            // value is never dereferenced.
            let success = if cfg!(verisync_mutant = "bounded_log_relaxed_install") {
                Ordering::Relaxed
            } else {
                Ordering::AcqRel
            };
            // The node we unlinked is the one the compare-and-swap returns, never `expected`:
            // the two have the same address, but `expected` may be a node freed since then
            // whose memory now holds a newer node (ABA), and only the returned pointer is
            // derived from that newer node's allocation.
            let current =
                match slot.compare_exchange_weak(expected, hand, success, Ordering::Relaxed) {
                    Ok(unlinked) => unlinked,
                    Err(actual) => {
                        expected = actual;
                        continue;
                    }
                };
            if current.is_null() {
                return;
            }
            // We unlinked `current`: no other writer can reach it any more, so it is ours.
            // SAFETY: we own `current`.
            let current_seq = unsafe { seq_of(current) };
            if current_seq < hand_seq || cfg!(verisync_mutant = "bounded_log_lapped_overwrites") {
                self.retire(current, seq);
                return;
            }
            // A push one lap ahead installed first: this push was lapped. Put the newer node
            // back; whatever we displace then (normally our own node) is retired in turn.
            if hand == node {
                self.tickets.count_lapped();
            }
            (hand, hand_seq) = (current, current_seq);
            // Relaxed: as above.
            expected = slot.load(Ordering::Relaxed);
        }
    }

    /// Frees `node`, just unlinked by push `seq`, once no reader can hold it.
    fn retire(&self, node: *mut Node<T>, seq: u64) {
        if self.reclaim.retire(node) && seq.is_multiple_of(COLLECT_EVERY) {
            self.reclaim.collect();
        }
    }

    /// The slot of sequence number `seq`.
    fn slot(&self, seq: u64) -> &AtomicPtr<Node<T>> {
        &self.slots[self.tickets.index(seq)]
    }

    /// Looks up item `seq` and, if it is there, clones it.
    fn lookup(&self, _pin: &Pin<'_, T>, seq: u64) -> Lookup<T>
    where
        T: Clone,
    {
        // Acquire: pairs with the Release of the CAS that installed the node, so its entry is
        // visible.
        let node = self.slot(seq).load(Ordering::Acquire);
        if node.is_null() {
            return Lookup::Pending;
        }
        // SAFETY: the node was in its slot after we pinned, so it is not freed before we unpin
        // (module documentation, *Design*); its entry is never written while it is reachable.
        unsafe {
            (*node).entry.with(|entry| {
                let entry = &*entry;
                match entry.seq.cmp(&seq) {
                    std::cmp::Ordering::Equal => Lookup::Found(T::clone(&entry.value)),
                    std::cmp::Ordering::Less => Lookup::Pending,
                    std::cmp::Ordering::Greater => Lookup::Evicted,
                }
            })
        }
    }

    /// Appends clones of items `from..to` to `out` while each is found.
    fn copy_run(&self, pin: &Pin<'_, T>, from: u64, to: u64, out: &mut Vec<T>) -> Run
    where
        T: Clone,
    {
        Tickets::run_of_lookups(from, to, out, |seq| self.lookup(pin, seq))
    }

    /// Copies the retained items, oldest first: a contiguous run of sequence numbers ending
    /// before the first push still in flight (module documentation, *Snapshots*). Wait-free
    /// apart from the clones and the freeing of evicted items.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// assert!(log.snapshot().is_empty());
    /// log.push(1);
    /// log.push(2);
    /// log.push(3);
    /// assert_eq!(log.snapshot(), [2, 3]);
    /// ```
    pub fn snapshot(&self) -> Vec<T>
    where
        T: Clone + Sync,
    {
        let mut items = Vec::new();
        self.snapshot_into(&mut items);
        items
    }

    /// [`snapshot`](Self::snapshot) into `items`, whose contents it replaces: a reader that
    /// snapshots in a loop reuses one buffer and allocates nothing once it has grown.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// let mut items = vec!["stale"];
    /// log.push("a");
    /// log.snapshot_into(&mut items);
    /// assert_eq!(items, ["a"]);
    /// log.push("b");
    /// log.push("c");
    /// log.snapshot_into(&mut items);
    /// assert_eq!(items, ["b", "c"]);
    /// ```
    pub fn snapshot_into(&self, items: &mut Vec<T>)
    where
        T: Clone + Sync,
    {
        let pin = self.reclaim.pin();
        self.tickets
            .snapshot_into(items, |from, to, out| self.copy_run(&pin, from, to, out));
        drop(pin);
    }

    /// Reads the items from sequence number `seq` on: pass 0 the first time, then the
    /// [`next`](Read::next) of the previous read. Items evicted before the reader got to them
    /// are counted in [`lost`](Read::lost). Wait-free apart from the clones and the freeing of
    /// evicted items.
    ///
    /// The items returned are contiguous, from `seq + lost` to `next - 1`; the read stops
    /// before a push still in flight and at the newest item.
    ///
    /// A `seq` ahead of the log (above [`total_pushed`](Self::total_pushed)) reads nothing
    /// and returns `next == seq` with `lost == 0`: the cursor waits there for item `seq`. The
    /// items numbered below `seq` were not asked for, so they are never counted as lost; loss
    /// counts only items from `seq` on.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// log.push("a");
    /// let read = log.read_since(0);
    /// assert_eq!((read.items, read.next, read.lost), (vec!["a"], 1, 0));
    /// for word in ["b", "c", "d"] {
    ///     log.push(word);
    /// }
    /// // "b" was evicted before this cursor got to it.
    /// let read = log.read_since(1);
    /// assert_eq!((read.items, read.next, read.lost), (vec!["c", "d"], 4, 1));
    /// // Ahead of the log: nothing yet, and nothing lost.
    /// let read = log.read_since(6);
    /// assert_eq!((read.items, read.next, read.lost), (vec![], 6, 0));
    /// ```
    pub fn read_since(&self, seq: u64) -> Read<T>
    where
        T: Clone + Sync,
    {
        let mut items = Vec::new();
        let Progress { next, lost } = self.read_since_into(seq, &mut items);
        Read { items, next, lost }
    }

    /// [`read_since`](Self::read_since) that appends the items to `items` (keeping what it
    /// held) and returns the rest of the answer: a cursor that polls reuses one buffer.
    ///
    /// # Examples
    /// ```
    /// use verisync::bounded_log::{BoundedLog, Progress};
    ///
    /// let log = BoundedLog::new(4);
    /// let mut items = Vec::new();
    /// log.push('a');
    /// let Progress { next, .. } = log.read_since_into(0, &mut items);
    /// log.push('b');
    /// let progress = log.read_since_into(next, &mut items);
    /// assert_eq!(items, ['a', 'b']);
    /// assert_eq!(progress, Progress { next: 2, lost: 0 });
    /// ```
    pub fn read_since_into(&self, seq: u64, items: &mut Vec<T>) -> Progress
    where
        T: Clone + Sync,
    {
        let pin = self.reclaim.pin();
        let progress = self.tickets.read_since_into(seq, items, |from, to, out| {
            self.copy_run(&pin, from, to, out)
        });
        drop(pin);
        progress
    }

    /// The number of items retained, counting pushes still in flight: `min(capacity, pushes
    /// since the last clear)`. Wait-free.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// assert_eq!(log.len(), 0);
    /// (0..5).for_each(|i| { log.push(i); });
    /// assert_eq!(log.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    /// Whether [`len`](Self::len) is 0.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// assert!(log.is_empty());
    /// log.push(());
    /// assert!(!log.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of items the log keeps.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(verisync::bounded_log::BoundedLog::<u8>::new(5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The number of pushes so far (taken tickets, so including pushes in flight): the
    /// sequence number the next push will get. Not reset by [`clear`](Self::clear).
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(1);
    /// log.push('x');
    /// log.push('y');
    /// assert_eq!(log.total_pushed(), 2);
    /// ```
    pub fn total_pushed(&self) -> u64 {
        self.tickets.end()
    }

    /// The number of pushes whose item was dropped because a push one whole lap later
    /// installed into the same slot first (only possible when a writer stalls for a lap).
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(1);
    /// log.push(1);
    /// log.push(2);
    /// assert_eq!(log.lapped(), 0);
    /// ```
    pub fn lapped(&self) -> u64 {
        self.tickets.lapped()
    }

    /// Drops every item. Sequence numbers keep counting: the next push gets
    /// [`total_pushed`](Self::total_pushed), and cursors count the cleared items as lost.
    ///
    /// # Examples
    /// ```
    /// let mut log = verisync::bounded_log::BoundedLog::new(4);
    /// log.push("old");
    /// log.clear();
    /// assert!(log.snapshot().is_empty());
    /// assert_eq!(log.push("new"), 1);
    /// assert_eq!(log.read_since(0).lost, 1);
    /// ```
    pub fn clear(&mut self) {
        self.tickets.clear();
        // SAFETY: `&mut self`: nobody else can reach the nodes.
        unsafe { free_chain(self.take_all()) };
    }

    /// Moves the retained items out, oldest first.
    ///
    /// # Examples
    /// ```
    /// let log = verisync::bounded_log::BoundedLog::new(2);
    /// for word in ["a", "b", "c"] {
    ///     log.push(String::from(word));
    /// }
    /// assert_eq!(log.into_vec(), ["b", "c"]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        // We own the log, so every push has returned and is visible to us.
        let end = self.tickets.end();
        let first = self.tickets.oldest_retained(end);
        let mut items = Vec::with_capacity((end - first) as usize);
        for seq in first..end {
            let slot = self.slot(seq);
            // Relaxed: as above.
            let node = slot.load(Ordering::Relaxed);
            // With no push in flight, each slot holds the newest item installed there, which
            // is `seq` for every `seq` in the window; the check keeps this function sound even
            // if it did not.
            // SAFETY: we own the log and so the node, if any.
            if node.is_null() || unsafe { seq_of(node) } != seq {
                continue;
            }
            // Relaxed: as above.
            slot.store(ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: the node left its slot and no reader exists: we own it. Its value is
            // moved out once and the memory freed without dropping it again.
            let node = unsafe { Box::from_raw(node) };
            // SAFETY: as above.
            items.push(
                node.entry
                    .with_mut(|entry| unsafe { ManuallyDrop::take(&mut (*entry).value) }),
            );
        }
        // `self` drops now and frees whatever is left.
        items
    }

    /// Unlinks every node (slots, retired stack, the collector's batch) into one chain.
    fn take_all(&mut self) -> *mut Node<T> {
        let mut chain = self.reclaim.take_all();
        for slot in &self.slots {
            // Relaxed: `&mut self` excludes every other access.
            let node = slot.swap(ptr::null_mut(), Ordering::Relaxed);
            if !node.is_null() {
                // SAFETY: `&mut self`: the node is ours now.
                unsafe { link(node, chain) };
                chain = node;
            }
        }
        chain
    }
}

impl<T> Drop for BoundedLog<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the nodes.
        unsafe { free_chain(self.take_all()) };
    }
}

impl<T> fmt::Debug for BoundedLog<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tickets.debug("BoundedLog", f)
    }
}

// ---------------------------------------------------------------------------------------------
// Reclamation
// ---------------------------------------------------------------------------------------------

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
struct Reclaim<T> {
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
struct Pin<'a, T> {
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
    fn new(capacity: usize) -> Result<Self, CapacityError> {
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
    fn take_spare(&self, index: usize) -> Option<*mut Node<T>> {
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
    unsafe fn recycle(&self, node: *mut Node<T>) {
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
        unsafe {
            (*node)
                .entry
                .with_mut(|entry| ManuallyDrop::drop(&mut (*entry).value));
        }
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
    fn pin(&self) -> Pin<'_, T> {
        self.pin_collecting(true)
    }

    /// Announces a reader that collects on leaving if `collects`.
    fn pin_collecting(&self, collects: bool) -> Pin<'_, T> {
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
    fn retire(&self, node: *mut Node<T>) -> bool {
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
    fn collect(&self) {
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
        let enough = if cfg!(verisync_mutant = "bounded_log_one_idle_parity") {
            batch.idle_seen.contains(&true)
        } else {
            batch.idle_seen == [true, true]
        };
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
    fn take_all(&mut self) -> *mut Node<T> {
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
            let next = unsafe { (*batch).next.with(|next| *next) };
            // SAFETY: as above.
            unsafe { link(batch, chain) };
            chain = batch;
            batch = next;
        }
        chain
    }
}
