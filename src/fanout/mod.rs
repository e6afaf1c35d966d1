//! Scoped task groups with a concurrency limit on a pool of reusable worker threads: fan tasks
//! out, fan their results in, stop at the first error; and a bounded pool for detached tasks.
//!
//! [`scope`] runs a closure that [spawns](Group::spawn) tasks borrowing from the caller's stack
//! (like [`std::thread::scope`]); [`map`] applies a function to every item of an iterator and
//! returns the results in input order. Both run on a [`Pool`]: the free functions on a default
//! pool with one thread per CPU, started on first use, and [`Pool::scope`] and [`Pool::map`] on
//! one of yours. A group starts no thread: its tasks run on the pool's threads, and on the
//! thread that opened the group, which runs queued tasks of its group whenever it would
//! otherwise wait.
//!
//! # Guarantees
//! - **Limit.** At most `limit` tasks of a group are queued or running at once, so at most
//!   `limit` run. [`spawn`](Group::spawn) waits while `limit` are (backpressure; the waiting
//!   thread runs a queued task of the group if there is one, else parks);
//!   [`try_spawn`](Group::try_spawn) hands the task back instead of waiting. `limit` is the
//!   group's own bound, separate from the pool's threads: a group runs at most
//!   `min(limit, threads + 1)` tasks at once (the pool's threads and the caller), so tasks
//!   that block on I/O or wait for one another want a pool with enough threads of its own.
//! - **First error cancels.** The first task to return `Err` cancels the group: tasks not yet
//!   started are dropped without running, running ones can poll
//!   [`is_cancelled`](Group::is_cancelled), and [`scope`] returns that first error, the root
//!   cause, not an error a cancelled task returned after it.
//!   [`scope_collecting`] instead keeps every error (in an
//!   [`ErrorCollector`]) and cancels nothing.
//! - **Panics.** A panicking task cancels the group; once every task of the group has stopped,
//!   the panic is resumed in the caller of [`scope`] (the first one, if several tasks
//!   panicked). A panic of the scope closure itself cancels the group the same way and wins
//!   over task panics. Pool threads survive every panic.
//! - **Order.** [`map`] returns results in input order, pulls its input lazily (at most
//!   `limit * MAX_BATCH` items are taken from the iterator and not yet done, see
//!   [`MAX_BATCH`]) and stops pulling at the first error.
//! - **Progress.** A group never needs a free pool thread to finish: the caller runs its
//!   queued tasks itself when it waits, so groups opened inside tasks (nested groups) finish
//!   even when every pool thread is busy. Nothing spins without bound: every wait parks.
//! - **Nested spawns.** A spawn from a task of the group (or from any thread other than the one
//!   that called [`scope`]) runs the new task itself, right away: queueing it could deadlock
//!   once every slot is held by a task waiting for a slot. The limit still holds, because the
//!   task runs on a thread that already counts as running one.
//! - **Bad input.** A `limit` of 0 or above [`MAX_LIMIT`] panics with a precise message of
//!   this module's.
//!
//! # Examples
//! ```
//! let pages = ["a", "bb", "ccc"];
//! let total = std::sync::atomic::AtomicUsize::new(0);
//! let result: Result<(), String> = verisync::fanout::scope(2, |group| {
//!     for page in &pages {
//!         let total = &total;
//!         group.spawn(move || {
//!             total.fetch_add(page.len(), std::sync::atomic::Ordering::Relaxed);
//!             Ok(())
//!         });
//!     }
//! });
//! assert!(result.is_ok());
//! assert_eq!(total.into_inner(), 6);
//! ```

mod group;
mod pool;

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};

use crate::error_collector::{ErrorCollector, Errors};
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, ThreadId, thread};
use group::{Core, Outcome};
pub use pool::{Pool, PoolError, QUEUE_PER_THREAD};

/// Runs the closure of [`scope`] with up to `limit` tasks at once on the default pool; returns
/// its value, or the first error a task returned.
///
/// # Panics
/// If `limit` is 0, above [`MAX_LIMIT`], or too large for its task queue to be allocated
/// (each with a message of this module's); and with the payload of a panic of the closure or
/// of a task, once every task has stopped.
///
/// # Examples
/// ```
/// let numbers = [3, 0, 7];
/// let result = verisync::fanout::scope(2, |group| {
///     for &n in &numbers {
///         group.spawn(move || if n == 0 { Err("zero") } else { Ok(n) });
///     }
///     "spawned"
/// });
/// assert_eq!(result, Err("zero"));
/// ```
pub fn scope<'env, E, R, F>(limit: usize, f: F) -> Result<R, E>
where
    E: Send,
    F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
{
    on_default_pool(limit, |pool| pool.scope(limit, f))
}

/// Like [`scope`], but an error cancels nothing and every error is kept, in the order the
/// tasks returned them.
///
/// # Panics
/// As [`scope`].
///
/// # Examples
/// ```
/// let result = verisync::fanout::scope_collecting(2, |group| {
///     for n in 0..5 {
///         group.spawn(move || if n % 2 == 1 { Err(n) } else { Ok(()) });
///     }
/// });
/// let mut errors = result.unwrap_err().into_vec();
/// errors.sort();
/// assert_eq!(errors, [1, 3]);
/// ```
pub fn scope_collecting<'env, E, R, F>(limit: usize, f: F) -> Result<R, Errors<E>>
where
    E: Send,
    F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
{
    on_default_pool(limit, |pool| pool.scope_collecting(limit, f))
}

/// Applies `f` to every item on the default pool, at most `limit` at once, and returns the
/// results in input order, or the first error (which stops the input from being pulled
/// further).
///
/// Up to `limit` tasks (and no more than the pool has threads, plus the caller's) pull the
/// items themselves, a batch at a time under a lock, so that the cost of sharing the input is
/// shared by many small items and no task waits while items remain: a batch holds one item at
/// first and grows with the items pulled so far, up to [`MAX_BATCH`]; a short input thus still
/// spreads over every thread. The tasks pull from the iterator, so it must be `Send`.
///
/// # Panics
/// As [`scope`].
///
/// # Examples
/// ```
/// let squares = verisync::fanout::map(1..=4, 2, |n: u64| Ok::<_, String>(n * n));
/// assert_eq!(squares, Ok(vec![1, 4, 9, 16]));
///
/// let failed = verisync::fanout::map(1..=4, 2, |n: u64| if n == 3 { Err(n) } else { Ok(n) });
/// assert_eq!(failed, Err(3));
/// ```
pub fn map<I, R, E, F>(items: I, limit: usize, f: F) -> Result<Vec<R>, E>
where
    I: IntoIterator,
    I::IntoIter: Send,
    I::Item: Send,
    R: Send,
    E: Send,
    F: Fn(I::Item) -> Result<R, E> + Sync,
{
    on_default_pool(limit, |pool| pool.map(items, limit, f))
}

/// The input of a [`map`], which its tasks pull from in turn.
pub(super) struct Input<I> {
    pub(super) items: I,
    /// Items pulled so far: the index of the next one.
    pub(super) pulled: usize,
    /// Whether the iterator ended.
    pub(super) exhausted: bool,
}

/// Pulls the next batch of `input` and the index of its first item, unless the input ran out
/// or the group was cancelled (checked under the lock, so that no item is pulled after the
/// first error is known).
pub(super) fn claim_batch<I: Iterator, E: Send>(
    input: &Mutex<Input<I>>,
    group: &Group<'_, '_, E>,
    limit: usize,
) -> Option<(usize, Vec<I::Item>)> {
    let mut input = input.lock();
    if input.exhausted || group.is_cancelled() {
        return None;
    }
    let size = batch_size(input.pulled, limit);
    let batch: Vec<I::Item> = input.items.by_ref().take(size).collect();
    let first = input.pulled;
    input.pulled += batch.len();
    input.exhausted = batch.len() < size;
    (!batch.is_empty()).then_some((first, batch))
}

/// Runs `f` on the default pool: natively one pool for the process, with one thread per CPU,
/// started on first use. Under Miri, loom and shuttle, whose runs must end with every thread
/// they started, a pool of at most two threads for this call only.
fn on_default_pool<R>(limit: usize, f: impl FnOnce(&Pool) -> R) -> R {
    #[cfg(any(miri, verisync_loom, verisync_shuttle))]
    {
        let pool = Pool::try_new(limit.clamp(1, 2), 4)
            .unwrap_or_else(|err| panic!("verisync::fanout: no pool for the group: {err}"));
        f(&pool)
    }
    #[cfg(not(any(miri, verisync_loom, verisync_shuttle)))]
    {
        let _ = limit;
        static DEFAULT: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
        f(DEFAULT.get_or_init(|| {
            Pool::new(std::thread::available_parallelism().map_or(1, |threads| threads.get()))
        }))
    }
}

/// The largest `limit` a group accepts. A group's queue has a place per unit of limit,
/// allocated when the group opens, so a limit the allocator cannot give panics as well (with a
/// message of this module's).
pub const MAX_LIMIT: usize = isize::MAX as usize;

/// The most items [`map`] hands to a task at once. It bounds how far `map` reads ahead of
/// the finished items: at most `limit * MAX_BATCH` items are pulled but not done.
pub const MAX_BATCH: usize = 64;

/// The size of the next batch of [`map`] after `pulled` items: 1 at first, growing so that
/// every task slot gets about two batches of each size before it grows, up to [`MAX_BATCH`].
fn batch_size(pulled: usize, limit: usize) -> usize {
    (pulled / limit.saturating_mul(2)).clamp(1, MAX_BATCH)
}

/// The handle through which the closure of [`scope`] (and its tasks) spawn tasks.
///
/// `'scope` is the lifetime of the group, `'env` that of what its tasks borrow, as in
/// [`std::thread::Scope`].
///
/// # Examples
/// ```
/// let result: Result<(), ()> = verisync::fanout::scope(1, |group| {
///     assert_eq!(group.limit(), 1);
///     group.spawn(|| Ok(()));
/// });
/// assert!(result.is_ok());
/// ```
pub struct Group<'scope, 'env: 'scope, E> {
    outcome: &'scope Outcome<E>,
    core: Arc<Core>,
    pool: &'scope Pool,
    /// The thread that called `scope`: the only one whose spawns are queued.
    owner: ThreadId,
    /// Whether the owner is running one of the group's tasks (then its spawns run in place,
    /// as any task's do). Written only by the owner.
    owner_in_task: AtomicBool,
    /// Invariant in both lifetimes, like `std::thread::Scope`, so that neither can be
    /// shortened to let a task borrow something that dies before the group.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

// Unwind safety, as for `std::thread::Scope` by reference: tasks run under `catch_unwind` and
// their panics are kept for the caller, and no spawn runs user code while the group's counts are
// half-updated, so a panic caught around a spawn leaves the group consistent.
impl<E> UnwindSafe for Group<'_, '_, E> {}
impl<E> RefUnwindSafe for Group<'_, '_, E> {}

/// Runs `f` in a new group on `pool`; returns its value and the errors the tasks returned.
fn run<'env, E, R, F>(
    pool: &Pool,
    limit: usize,
    errors: ErrorCollector<E>,
    cancel_on_error: bool,
    f: F,
) -> (R, ErrorCollector<E>)
where
    E: Send,
    F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
{
    let core = pool::new_core(pool, limit);
    let outcome = Outcome::new(errors, cancel_on_error);
    let group = Group {
        outcome: &outcome,
        core,
        pool,
        owner: thread::current().id(),
        owner_in_task: AtomicBool::new(false),
        scope: PhantomData,
        env: PhantomData,
    };
    let value = panic::catch_unwind(AssertUnwindSafe(|| f(&group)));
    if value.is_err() {
        outcome.cancel();
    }
    group.drain();
    // Every task has run or been dropped, and everything they did happened before this.
    let value = value.unwrap_or_else(|payload| panic::resume_unwind(payload));
    let (errors, task_panic) = outcome.into_parts();
    if let Some(payload) = task_panic {
        panic::resume_unwind(payload);
    }
    (value, errors)
}

impl<'scope, E: Send> Group<'scope, '_, E> {
    /// Queues `task`, waiting while `limit` tasks are queued or running (and running a queued
    /// one meanwhile, if any). If the group is cancelled, the task is dropped without running.
    ///
    /// Called from a task of the group, or any thread but the one that called [`scope`], it
    /// runs `task` right away on that thread instead; see the [module documentation](self).
    ///
    /// # Examples
    /// ```
    /// let result = verisync::fanout::scope(2, |group| {
    ///     for n in 0..10 {
    ///         group.spawn(move || if n < 10 { Ok(n) } else { Err(()) });
    ///     }
    /// });
    /// assert!(result.is_ok());
    /// ```
    pub fn spawn<T, F>(&self, task: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
    {
        if self.runs_in_place() {
            self.run_in_place(task);
            return;
        }
        while !self.core.try_take_slot() {
            let help = self.core.wait_for_progress(|| {
                if self.core.try_take_slot() {
                    Some(false)
                } else {
                    self.has_queued_to_run().then_some(true)
                }
            });
            if !help {
                break;
            }
            self.run_one_queued();
        }
        self.queue_holding_slot(task);
    }

    /// Queues `task` if fewer than `limit` tasks are queued or running; otherwise hands it
    /// back. Never waits (except, called from a task of the group or another thread than the
    /// one that called [`scope`], for the task itself, which then runs right away on that
    /// thread).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Barrier;
    ///
    /// let (started, checked) = (Barrier::new(2), Barrier::new(2));
    /// let result: Result<(), ()> = verisync::fanout::scope(1, |group| {
    ///     group.spawn(|| {
    ///         started.wait();
    ///         checked.wait();
    ///         Ok(())
    ///     });
    ///     started.wait();
    ///     // The one slot is taken until that task ends.
    ///     assert!(group.try_spawn(|| Ok(())).is_err());
    ///     checked.wait();
    /// });
    /// assert!(result.is_ok());
    /// ```
    pub fn try_spawn<T, F>(&self, task: F) -> Result<(), F>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
    {
        if self.runs_in_place() {
            self.run_in_place(task);
            return Ok(());
        }
        if !self.core.try_take_slot() {
            return Err(task);
        }
        self.queue_holding_slot(task);
        Ok(())
    }

    /// Whether the group was cancelled (by an error, a panic or [`cancel`](Self::cancel)).
    /// Long tasks poll it to stop early. Whoever sees `true` also sees everything the task
    /// that failed (or the caller of [`cancel`](Group::cancel)) did before cancelling, as
    /// after acquiring a lock it released.
    ///
    /// # Examples
    /// ```
    /// let result = verisync::fanout::scope(2, |group| {
    ///     group.spawn(|| Err::<(), _>("failed"));
    ///     group.spawn(|| {
    ///         while !group.is_cancelled() {
    ///             std::thread::yield_now();
    ///         }
    ///         Err::<(), _>("cancelled")
    ///     });
    /// });
    /// // The root cause, not the error of the task that stopped because of it.
    /// assert_eq!(result, Err("failed"));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.outcome.is_cancelled()
    }

    /// Cancels the group: tasks not yet started are dropped without running. The scope still
    /// returns `Ok` unless a task failed.
    ///
    /// # Examples
    /// ```
    /// let result: Result<(), ()> = verisync::fanout::scope(1, |group| {
    ///     group.cancel();
    ///     group.spawn(|| -> Result<(), ()> { unreachable!("never runs") });
    /// });
    /// assert!(result.is_ok());
    /// ```
    pub fn cancel(&self) {
        self.outcome.cancel();
    }

    /// The most tasks that are queued or running at once.
    ///
    /// # Examples
    /// ```
    /// let limit: Result<usize, ()> = verisync::fanout::scope(3, |group| group.limit());
    /// assert_eq!(limit, Ok(3));
    /// ```
    pub fn limit(&self) -> usize {
        self.core.limit()
    }

    /// Whether a spawn from this thread runs in place: it is not the owner's, or the owner is
    /// inside one of the group's tasks.
    fn runs_in_place(&self) -> bool {
        if cfg!(verisync_mutant = "fanout_nested_queues") {
            return false;
        }
        // Relaxed: only the owner writes the flag, and only the owner's own reads matter.
        thread::current().id() != self.owner || self.owner_in_task.load(Ordering::Relaxed)
    }

    fn run_in_place<T, F>(&self, task: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
    {
        if cfg!(verisync_mutant = "fanout_in_place_ignores_cancel") {
            let _ = task();
            return;
        }
        self.outcome.run_or_skip(task);
    }

    /// Queues `task`, for which a slot was taken, and posts a helper if the group has fewer
    /// than it may; a task of a cancelled group is dropped instead.
    fn queue_holding_slot<T, F>(&self, task: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
    {
        if self.is_cancelled() {
            // Cancelled while waiting for the slot: the task is skipped.
            drop(task);
            self.core.finish_one();
            return;
        }
        // SAFETY: the task holds a slot until it is run or dropped, and `run` drains the group
        // (no slot held) before the borrows of `'scope` end.
        self.core.queue(unsafe { group::erase(self.outcome, task) });
        if self.core.wants_helper() && !self.pool.post_helper(&self.core) {
            // The pool's queue is full: this thread runs the task when it waits.
            self.core.helper_not_posted();
        }
    }

    /// Whether a task is queued that the owner, about to wait, should run instead.
    fn has_queued_to_run(&self) -> bool {
        self.core.has_queued() && !Self::OWNER_NEVER_HELPS
    }

    /// Seeded bug `fanout_owner_never_helps`: the owner waits instead of running queued tasks.
    const OWNER_NEVER_HELPS: bool = cfg!(verisync_mutant = "fanout_owner_never_helps");

    /// Runs the oldest queued task on the owner's thread, if there is one.
    fn run_one_queued(&self) -> bool {
        if Self::OWNER_NEVER_HELPS {
            return false;
        }
        let Some(task) = self.core.take_queued() else {
            return false;
        };
        // Relaxed: see `runs_in_place`.
        self.owner_in_task.store(true, Ordering::Relaxed);
        task();
        self.owner_in_task.store(false, Ordering::Relaxed);
        self.core.finish_one();
        true
    }

    /// Waits until every queued task is done, running queued tasks meanwhile.
    fn drain(&self) {
        loop {
            if self.run_one_queued() {
                continue;
            }
            if self.core.is_drained() {
                // The usual end: the last task ended while this thread ran one of its own.
                return;
            }
            let drained = self.core.wait_for_progress(|| {
                if self.core.is_drained() {
                    Some(true)
                } else {
                    self.has_queued_to_run().then_some(false)
                }
            });
            if drained {
                return;
            }
        }
    }
}

impl<E> fmt::Debug for Group<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("limit", &self.core.limit())
            .field("cancelled", &self.outcome.is_cancelled())
            .finish()
    }
}
