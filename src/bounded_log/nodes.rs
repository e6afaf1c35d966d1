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

use super::reclaim::{Pin, Reclaim};
use super::{CapacityError, Lookup, Progress, ReadSince, Run, Tickets};
use crate::sync::{AtomicPtr, MODEL_CHECKED, Ordering, UnsafeCell};

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
pub(super) struct Node<T> {
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
pub(super) unsafe fn seq_of<T>(node: *mut Node<T>) -> u64 {
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
pub(super) unsafe fn free_memory<T>(node: *mut Node<T>) {
    // SAFETY: from `Box::into_raw` in `Node::allocate`, owned by the caller; the value is a
    // `ManuallyDrop`, so dropping the box leaves it alone.
    drop(unsafe { Box::from_raw(node) });
}

/// Drops the value of `node`, keeping its memory.
///
/// # Safety
/// The caller owns `node`, whose value has not been dropped or moved out.
pub(super) unsafe fn drop_value<T>(node: *mut Node<T>) {
    // SAFETY: the caller owns the node, and its value is dropped once, here.
    unsafe {
        (*node)
            .entry
            .with_mut(|entry| ManuallyDrop::drop(&mut (*entry).value));
    }
}

/// The node after `node` in its chain.
///
/// # Safety
/// The caller owns `node` and no other thread touches its link.
pub(super) unsafe fn next_of<T>(node: *mut Node<T>) -> *mut Node<T> {
    // SAFETY: the caller owns the node and so its link.
    unsafe { (*node).next.with(|next| *next) }
}

/// Links `node` in front of `chain`.
///
/// # Safety
/// The caller owns `node` and no other thread touches its link.
pub(super) unsafe fn link<T>(node: *mut Node<T>, chain: *mut Node<T>) {
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
pub(super) unsafe fn dispose_chain<T>(chain: *mut Node<T>, dispose: &mut dyn FnMut(*mut Node<T>)) {
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
        rest.next = unsafe { next_of(node) };
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
            // The node we unlinked is the one the compare-and-swap returns, never `expected`:
            // the two have the same address, but `expected` may be a node freed since then
            // whose memory now holds a newer node (ABA), and only the returned pointer is
            // derived from that newer node's allocation.
            let current = match slot.compare_exchange_weak(
                expected,
                hand,
                ordering!("bounded_log_relaxed_install", AcqRel),
                Ordering::Relaxed,
            ) {
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
    /// [`next`](ReadSince::next) of the previous read. Items evicted before the reader got to them
    /// are counted in [`lost`](ReadSince::lost). Wait-free apart from the clones and the freeing of
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
    pub fn read_since(&self, seq: u64) -> ReadSince<T>
    where
        T: Clone + Sync,
    {
        let mut items = Vec::new();
        let Progress { next, lost } = self.read_since_into(seq, &mut items);
        ReadSince { items, next, lost }
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
