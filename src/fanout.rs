//! A scoped task group with a concurrency limit: fan tasks out to a fixed set of worker
//! threads, fan their results in, and stop at the first error.
//!
//! [`scope`] runs a closure that [spawns](Group::spawn) tasks borrowing from the caller's stack
//! (like [`std::thread::scope`]); [`map`] applies a function to every item of an iterator and
//! returns the results in input order. Both run at most `limit` tasks at once, on `limit`
//! worker threads started for the group (never a thread per task), which take the tasks from a
//! verisync [`mpmc`] channel.
//!
//! # Guarantees
//! - **Limit.** At most `limit` tasks run at once. [`spawn`](Group::spawn) waits while `limit`
//!   tasks are queued or running (backpressure; the wait parks the thread, see
//!   [`semaphore`](crate::semaphore)); [`try_spawn`](Group::try_spawn) hands the task back
//!   instead of waiting.
//! - **First error cancels.** The first task to return `Err` cancels the group: tasks not yet
//!   started are dropped without running, running ones can poll
//!   [`is_cancelled`](Group::is_cancelled), and [`scope`] returns that first error, the root
//!   cause, not an error a cancelled task returned after it.
//!   [`scope_collecting`] instead keeps every error (in an
//!   [`ErrorCollector`]) and cancels nothing.
//! - **Panics.** A panicking task cancels the group; once every worker has stopped, the panic
//!   is resumed in the caller of [`scope`] (the first one, if several tasks panicked). A panic
//!   of the scope closure itself cancels the group the same way and wins over task panics.
//! - **Order.** [`map`] returns results in input order, pulls its input lazily (at most
//!   `(limit + 1) * MAX_BATCH` items are taken from the iterator before their task has
//!   finished, see [`MAX_BATCH`]) and stops pulling at the first error.
//! - **Nested spawns.** A task (or any thread other than the one that called [`scope`]) that
//!   spawns runs the new task itself, right away: queueing it could deadlock once every worker
//!   waits for a slot that only a worker can free. The limit still holds, because the task runs
//!   on a thread that already counts as running one.
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

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};

use crate::errors::{ErrorCollector, Errors};
use crate::mpmc;
use crate::park::WaitQueue;
use crate::semaphore::Semaphore;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, ThreadId, ThreadScope, thread};

/// A task with its borrows' lifetime erased; see the `SAFETY` comment in [`Group::spawn`].
type Task<E> = Box<dyn FnOnce() -> Result<(), E> + Send + 'static>;

/// What a worker takes from the channel.
enum Job<E> {
    Run(Task<E>),
    Stop,
}

/// A panic payload, kept until every worker has stopped.
type Payload = Box<dyn Any + Send + 'static>;

/// Runs the closure of [`scope`] with up to `limit` tasks at once; returns its value, or the
/// first error a task returned.
///
/// # Panics
/// If `limit` is 0, above [`MAX_LIMIT`], or too large for its task queue to be allocated
/// (each with a message of this module's); and with the payload of a panic of the closure or
/// of a task, once every worker has stopped.
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
    let (value, errors) = run(limit, ErrorCollector::with_limit(1), true, f);
    match errors.into_vec().into_iter().next() {
        Some(first) => Err(first),
        None => Ok(value),
    }
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
    let (value, errors) = run(limit, ErrorCollector::new(), false, f);
    errors.into_result().map(|()| value)
}

/// Applies `f` to every item, at most `limit` at once, and returns the results in input order,
/// or the first error (which stops the input from being pulled further).
///
/// Items go to the workers in batches, so that the cost of handing a task over is shared by
/// many small items: a batch holds one item at first and grows with the items pulled so far,
/// up to [`MAX_BATCH`]; a short input thus still spreads over every worker.
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
    I::Item: Send,
    R: Send,
    E: Send,
    F: Fn(I::Item) -> Result<R, E> + Sync,
{
    let batches = Sink(ErrorCollector::new());
    scope(limit, |group| {
        let mut items = items.into_iter();
        let mut pulled = 0;
        // Checked before each pull, so that no item is taken after the first error is known.
        while !group.is_cancelled() {
            let size = batch_size(pulled, limit);
            let batch: Vec<I::Item> = items.by_ref().take(size).collect();
            let (first, taken) = (pulled, batch.len());
            pulled += taken;
            if taken != 0 {
                let (f, batches) = (&f, &batches);
                group.spawn(move || {
                    let mut results = Vec::with_capacity(batch.len());
                    for item in batch {
                        if group.is_cancelled() {
                            // The group fails anyway; the rest of the batch is dropped.
                            return Ok(());
                        }
                        results.push(f(item)?);
                    }
                    batches.push((first, results));
                    Ok(())
                });
            }
            if taken < size {
                break;
            }
        }
    })?;
    let mut batches = batches.0.into_vec();
    // Pushed roughly in input order, so this is close to linear.
    if !cfg!(verisync_mutant = "fanout_map_unsorted") {
        batches.sort_unstable_by_key(|&(first, _)| first);
    }
    Ok(batches
        .into_iter()
        .flat_map(|(_, results)| results)
        .collect())
}

/// The largest `limit` a group accepts: the most permits a
/// [`Semaphore`] can hold. Each running task has a worker thread
/// of its own, so the practical limit is far lower: what the system lets a process start.
pub const MAX_LIMIT: usize = Semaphore::MAX_PERMITS;

/// The most items [`map`] hands to a worker at once. It bounds how far `map` reads ahead of
/// the finished items: at most `(limit + 1) * MAX_BATCH` items are pulled but not done.
pub const MAX_BATCH: usize = 64;

/// The size of the next batch of [`map`] after `pulled` items: 1 at first, growing so that
/// every worker gets about two batches of each size before it grows, up to [`MAX_BATCH`].
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
    shared: &'scope Shared<E>,
    tasks: mpmc::Sender<Job<E>>,
    /// The thread that called `scope`: the only one whose spawns are queued.
    owner: ThreadId,
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

/// The state the workers share with the group.
struct Shared<E> {
    cancelled: AtomicBool,
    /// Bounds the tasks queued or running to `limit`.
    slots: Semaphore,
    /// Tasks queued or running (or about to be queued): the group ends once it is 0.
    pending: AtomicUsize,
    /// Where the thread ending the group waits for `pending` to reach 0.
    drained: WaitQueue,
    errors: Sink<E>,
    cancel_on_error: bool,
    /// The first panic of a task.
    panic: Mutex<Option<Payload>>,
    limit: usize,
}

/// Runs `f` in a new group; returns its value and the errors the tasks returned.
fn run<'env, E, R, F>(
    limit: usize,
    errors: ErrorCollector<E>,
    cancel_on_error: bool,
    f: F,
) -> (R, ErrorCollector<E>)
where
    E: Send,
    F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
{
    assert!(limit != 0, "verisync::fanout: limit must be at least 1");
    assert!(
        limit <= MAX_LIMIT,
        "verisync::fanout: a limit of {limit} is too large: at most {MAX_LIMIT}"
    );
    let (tasks, jobs) = mpmc::try_channel(limit).unwrap_or_else(|err| {
        panic!("verisync::fanout: no room for the tasks of a limit of {limit}: {err}")
    });
    let shared = Shared {
        cancelled: AtomicBool::new(false),
        slots: Semaphore::new(if cfg!(verisync_mutant = "fanout_extra_slot") {
            limit + 1
        } else {
            limit
        }),
        pending: AtomicUsize::new(0),
        drained: WaitQueue::new(),
        errors: Sink(errors),
        cancel_on_error,
        panic: Mutex::new(None),
        limit,
    };
    let group = Group {
        shared: &shared,
        tasks,
        owner: thread::current().id(),
        scope: PhantomData,
        env: PhantomData,
    };
    let outcome = thread::scope(|threads| {
        start_workers(threads, &shared, jobs, limit);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(&group)));
        if outcome.is_err() {
            shared.cancel();
        }
        group.stop_workers();
        outcome
    });
    // Every worker has stopped and every task has run or been dropped.
    let value = outcome.unwrap_or_else(|payload| panic::resume_unwind(payload));
    let task_panic = shared.panic.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(payload) = task_panic {
        panic::resume_unwind(payload);
    }
    (value, shared.errors.0)
}

/// An [`ErrorCollector`] that is only pushed into while shared, so that sharing it needs
/// `T: Send` only (the collector's own `Sync` also allows reading by reference, hence wants
/// `T: Sync`).
struct Sink<T>(ErrorCollector<T>);

// SAFETY: through `&Sink` values only move in (`push`), from any thread: that needs `T: Send`
// and nothing more. They are read only after the sink is taken back by value.
unsafe impl<T: Send> Sync for Sink<T> {}

impl<T> Sink<T> {
    fn push(&self, value: T) {
        self.0.push(value);
    }
}

/// Starts the `limit` workers of a group.
fn start_workers<'threads, E: Send>(
    threads: &'threads ThreadScope<'threads, '_>,
    shared: &'threads Shared<E>,
    jobs: mpmc::Receiver<Job<E>>,
    limit: usize,
) {
    for _ in 0..limit {
        let jobs = jobs.clone();
        threads.spawn(move || {
            while let Ok(Job::Run(task)) = jobs.recv() {
                shared.run_or_skip(task);
                // Return the slot only after the task (or its drop) is done, so that at most
                // `limit` run at once.
                shared.slots.release(1);
                shared.finish_one();
            }
        });
    }
}

impl<E> Shared<E> {
    fn is_cancelled(&self) -> bool {
        // Acquire: pairs with the Release store in `cancel`, so whoever sees the flag also
        // sees everything the canceller did before it (the guarantee `Group::is_cancelled`
        // documents).
        self.cancelled.load(Ordering::Acquire)
    }

    fn cancel(&self) {
        let order = if cfg!(verisync_mutant = "fanout_relaxed_cancel") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        // Release: see `is_cancelled`.
        self.cancelled.store(true, order);
    }

    /// Runs `task` unless the group is cancelled (then only drops it), recording its error
    /// or panic.
    fn run_or_skip(&self, task: Task<E>) {
        let skipped = self.is_cancelled();
        let outcome = panic::catch_unwind(AssertUnwindSafe(move || {
            if skipped {
                drop(task);
                Ok(())
            } else {
                task()
            }
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                // The error goes in before the flag: whoever sees the cancellation and fails
                // because of it pushes later, so the first error stays the root cause.
                if cfg!(verisync_mutant = "fanout_cancel_before_error") && self.cancel_on_error {
                    self.cancel();
                }
                self.errors.push(error);
                if self.cancel_on_error {
                    self.cancel();
                }
            }
            Err(payload) => {
                if !cfg!(verisync_mutant = "fanout_panic_not_resumed") {
                    let mut first = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                    if cfg!(verisync_mutant = "fanout_last_panic_wins") {
                        *first = Some(payload);
                    } else {
                        first.get_or_insert(payload);
                    }
                }
                self.cancel();
            }
        }
    }

    /// Counts a queued task as done and wakes the thread ending the group if it was the last.
    fn finish_one(&self) {
        // Relaxed: this publishes nothing. The thread ending the group reads nothing a task
        // wrote between `stop_workers` and the join of the workers (it only sends them the
        // stop jobs), and that join orders everything the tasks did before whatever follows;
        // that no decrement is missed by a sleeping `stop_workers` is the fences' business
        // in `WaitQueue` (a notifier's progress needs only be a coherent write).
        self.pending.fetch_sub(1, Ordering::Relaxed);
        self.drained.notify_all();
    }
}

impl<'scope, E> Group<'scope, '_, E> {
    /// Queues `task`, waiting while `limit` tasks are queued or running. If the group is
    /// cancelled, the task is dropped without running.
    ///
    /// Called from any thread but the one that called [`scope`] (a task, typically), it runs
    /// `task` right away on that thread instead; see the [module documentation](self).
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
        if let Err(task) = self.spawn_with(task, |slots| slots.acquire().ok()) {
            // Only a closed semaphore fails a blocking acquire, and nothing closes it.
            drop(task);
            unreachable!("the slot semaphore of a group was closed");
        }
    }

    /// Queues `task` if fewer than `limit` tasks are queued or running; otherwise hands it
    /// back. Never waits (except, called from another thread than the one that called
    /// [`scope`], for the task itself, which then runs right away on that thread).
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
        self.spawn_with(task, |slots| slots.try_acquire().ok())
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
        self.shared.is_cancelled()
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
        self.shared.cancel();
    }

    /// The most tasks that run at once.
    ///
    /// # Examples
    /// ```
    /// let limit: Result<usize, ()> = verisync::fanout::scope(3, |group| group.limit());
    /// assert_eq!(limit, Ok(3));
    /// ```
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// Queues `task` once `take_slot` got a slot, or hands it back; on another thread than
    /// the owner, runs it in place.
    fn spawn_with<T, F>(
        &self,
        task: F,
        take_slot: impl FnOnce(&Semaphore) -> Option<crate::semaphore::Permit<'_>>,
    ) -> Result<(), F>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
    {
        let queues_anywhere = cfg!(verisync_mutant = "fanout_nested_queues");
        if thread::current().id() != self.owner && !queues_anywhere {
            if cfg!(verisync_mutant = "fanout_in_place_ignores_cancel") {
                let _ = task();
                return Ok(());
            }
            self.shared.run_or_skip(erase(task));
            return Ok(());
        }
        if self.is_cancelled() {
            return Ok(());
        }
        // Counted before the slot is taken, so `stop_workers` never misses a task on its
        // way into the channel.
        // Relaxed: only the owner thread increments, and `stop_workers` runs on it too.
        self.shared.pending.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = take_slot(&self.shared.slots) else {
            self.shared.finish_one();
            return Err(task);
        };
        if self.is_cancelled() {
            // Cancelled while waiting for the slot: the task is skipped.
            drop(slot);
            self.shared.finish_one();
            return Ok(());
        }
        slot.detach();
        if self.tasks.send(Job::Run(erase(task))).is_err() {
            unreachable!("the workers stopped while the group was open");
        }
        Ok(())
    }

    /// Waits until every queued task is done, then stops the workers.
    fn stop_workers(&self) {
        self.shared.drained.wait_until(None, || {
            // Relaxed: see `finish_one`; the workers are joined before anything reads what
            // the tasks wrote.
            (self.shared.pending.load(Ordering::Relaxed) == 0).then_some(())
        });
        for _ in 0..self.shared.limit {
            // Every worker is alive until it takes one of these.
            let _ = self.tasks.send(Job::Stop);
        }
    }
}

/// Boxes `task` as a [`Task`] that drops its value, erasing its lifetime.
fn erase<'scope, T, E, F>(task: F) -> Task<E>
where
    F: FnOnce() -> Result<T, E> + Send + 'scope,
{
    let boxed: Box<dyn FnOnce() -> Result<(), E> + Send + 'scope> =
        Box::new(move || task().map(drop));
    // The task borrows data that lives for `'scope`, at least until `scope` returns; every task
    // is run or dropped before that: `stop_workers` waits until `pending` (counting every
    // queued task) is 0, and `thread::scope` joins the workers before `run` returns. Tasks run
    // in place finish before `spawn_with` returns.
    // SAFETY: only the lifetime changes (same fat-pointer layout), and see above.
    unsafe {
        std::mem::transmute::<
            Box<dyn FnOnce() -> Result<(), E> + Send + 'scope>,
            Box<dyn FnOnce() -> Result<(), E> + Send + 'static>,
        >(boxed)
    }
}

impl<E> fmt::Debug for Group<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("limit", &self.shared.limit)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
