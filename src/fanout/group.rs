//! The engine of a task group: its queue of tasks not yet started, the count of tasks in
//! flight that enforces the limit, the helpers it posts to its pool, and how the outcome of a
//! task (error, panic, cancellation) is recorded.
//!
//! # How a group runs
//! The thread that opened the group (the *owner*) takes a slot for each task it queues: at most
//! `limit` tasks are queued or running at once, so at most `limit` run. For each task it queues
//! it makes sure a *helper* is posted to the pool while fewer than `min(limit, threads)` are: a
//! pool job that runs the group's queued tasks until the queue is empty, then leaves. The owner
//! runs queued tasks itself whenever it would otherwise wait (for a slot, or for the group to
//! drain), so a group never depends on a free pool thread to finish: with every pool thread
//! busy (for example in tasks that wait for groups of their own) the owner runs its own tasks.
//!
//! The group's shared part ([`Core`]) is reference-counted: a helper still queued in the pool
//! when the group ends holds it alive, finds the queue empty and leaves, touching nothing of the
//! group's stack. The tasks, which borrow that stack, are all run or dropped before the group
//! ends: the owner waits until no task is in flight.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::error_collector::ErrorCollector;
use crate::mpmc::Queue;
use crate::park::WaitQueue;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, fence};

/// A task with its borrows' lifetime erased, which records its own outcome in its group's
/// [`Outcome`]; see [`erase`].
pub(super) type Task = Box<dyn FnOnce() + Send + 'static>;

/// A panic payload, kept until every task of the group has stopped.
pub(super) type Payload = Box<dyn Any + Send + 'static>;

/// The part of a group that its helpers share, alive until the last of them lets go.
pub(super) struct Core {
    /// Tasks queued and not yet started, oldest first; holds at most `limit`.
    queue: Queue<Task>,
    /// Tasks queued or running (each holds a slot): at most `limit`, and 0 once the group has
    /// drained.
    in_flight: AtomicUsize,
    /// Helpers posted to the pool (queued there or running) and not yet left.
    posted: AtomicUsize,
    /// The most helpers posted at once: `min(limit, threads of the pool)`.
    max_helpers: usize,
    /// Where the owner waits for a slot or for the group to drain; woken when a task ends.
    progress: WaitQueue,
    limit: usize,
}

impl Core {
    /// A group core for `limit` tasks in flight, with at most `max_helpers` helpers; `None` if
    /// the queue cannot be allocated.
    pub(super) fn new(limit: usize, max_helpers: usize) -> Option<Self> {
        // Seeded bug `fanout_extra_slot` hands out one slot too many; its queue holds one more
        // task to match, so that the bug shows as one task too many in flight.
        let capacity = limit + usize::from(cfg!(verisync_mutant = "fanout_extra_slot"));
        Some(Self {
            queue: Queue::try_new(capacity).ok()?,
            in_flight: AtomicUsize::new(0),
            posted: AtomicUsize::new(0),
            max_helpers: max_helpers.clamp(1, limit),
            progress: WaitQueue::new(),
            limit,
        })
    }

    /// The most tasks queued or running at once.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes a slot if fewer than `limit` tasks are in flight.
    pub(super) fn try_take_slot(&self) -> bool {
        let limit = mutant!("fanout_extra_slot", self.limit + 1, self.limit);
        // Relaxed: a slot orders nothing by itself; what a finished task did is published by
        // the Release decrement in `finish_one`, which the owner acquires where it needs it
        // (`is_drained`). The compare-and-swap alone keeps the count exact.
        let mut in_flight = self.in_flight.load(Ordering::Relaxed);
        while in_flight < limit {
            match self.in_flight.compare_exchange_weak(
                in_flight,
                in_flight + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => in_flight = actual,
            }
        }
        false
    }

    /// Queues `task`, which holds a slot.
    pub(super) fn queue(&self, task: Task) {
        // Slots bound the queued tasks to `limit`, the queue's capacity.
        if let Err(task) = self.queue.push(task) {
            // Give the slot back first, so that the scope unwinding from this panic does not
            // wait for a task that was never queued.
            drop(task);
            self.finish_one();
            unreachable!("a fanout group's queue overflowed its slots");
        }
    }

    /// Gives back the slot of a task that ended (ran, or was dropped unrun) and wakes the owner
    /// if it waits.
    pub(super) fn finish_one(&self) {
        // Release: pairs with the Acquire load in `is_drained`, so that everything the task did
        // happens before the owner goes on past the group.
        self.in_flight
            .fetch_sub(1, ordering!("fanout_relaxed_finish", Release));
        self.progress.notify_all();
    }

    /// Whether every task has ended; then everything they did happened before this returns.
    pub(super) fn is_drained(&self) -> bool {
        // Acquire: pairs with the Release decrements in `finish_one`.
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Takes the oldest queued task, if any.
    pub(super) fn take_queued(&self) -> Option<Task> {
        self.queue.pop()
    }

    /// Whether a task is queued (so that a waiting owner can run it).
    pub(super) fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Waits until `attempt` succeeds (`Some`); woken whenever a task ends.
    pub(super) fn wait_for_progress<R>(&self, attempt: impl FnMut() -> Option<R>) -> R {
        match self.progress.wait_until(None, attempt) {
            Some(done) => done,
            None => unreachable!("a wait without a deadline gave up"),
        }
    }

    /// Called by the owner after queueing a task: whether it should post a new helper (and
    /// then it is counted as posted). Together with the recheck in [`help`], a task queued as
    /// the last helper leaves is never left without one.
    pub(super) fn wants_helper(&self) -> bool {
        // SeqCst fence: the queueing above against the `posted` load below, paired with the one
        // in `help` between a helper's leaving and its last look at the queue (store-buffering:
        // either the owner sees the helper gone and posts another, or the helper sees the task).
        if !cfg!(verisync_mutant = "fanout_helper_no_fence") {
            fence(Ordering::SeqCst);
        }
        self.count_helper_in()
    }

    /// Counts one more helper posted if fewer than `max_helpers` are.
    fn count_helper_in(&self) -> bool {
        // Relaxed: `posted` only rations helpers; the fences in `wants_helper` and `help` order
        // it against the queue.
        let mut posted = self.posted.load(Ordering::Relaxed);
        while posted < self.max_helpers {
            match self.posted.compare_exchange_weak(
                posted,
                posted + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => posted = actual,
            }
        }
        false
    }

    /// Takes back the count of a helper that was never posted (the pool's queue was full).
    pub(super) fn helper_not_posted(&self) {
        // Relaxed: as in `count_helper_in`.
        self.posted.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A helper's work: runs queued tasks of `core` until the queue is empty, then leaves.
pub(super) fn help(core: &Core) {
    loop {
        while let Some(task) = core.take_queued() {
            task();
            core.finish_one();
        }
        // Relaxed, then a SeqCst fence: pairs with the fence in `wants_helper` (see there).
        core.posted.fetch_sub(1, Ordering::Relaxed);
        if !cfg!(verisync_mutant = "fanout_helper_no_fence") {
            fence(Ordering::SeqCst);
        }
        let recheck = !cfg!(verisync_mutant = "fanout_no_helper_recheck");
        if !(recheck && core.has_queued() && core.count_helper_in()) {
            return;
        }
    }
}

/// What the tasks of a group record, on the owner's stack.
pub(super) struct Outcome<E> {
    cancelled: AtomicBool,
    errors: Sink<E>,
    cancel_on_error: bool,
    /// The first panic of a task.
    panic: Mutex<Option<Payload>>,
}

impl<E> Outcome<E> {
    pub(super) fn new(errors: ErrorCollector<E>, cancel_on_error: bool) -> Self {
        Self {
            cancelled: AtomicBool::new(false),
            errors: Sink(errors),
            cancel_on_error,
            panic: Mutex::new(None),
        }
    }

    pub(super) fn is_cancelled(&self) -> bool {
        // Acquire: pairs with the Release store in `cancel`, so whoever sees the flag also
        // sees everything the canceller did before it (the guarantee `Group::is_cancelled`
        // documents).
        self.cancelled.load(Ordering::Acquire)
    }

    pub(super) fn cancel(&self) {
        // Release: see `is_cancelled`.
        self.cancelled
            .store(true, ordering!("fanout_relaxed_cancel", Release));
    }

    /// Runs `task` unless the group is cancelled (then only drops it), recording its error
    /// or panic.
    pub(super) fn run_or_skip<T>(&self, task: impl FnOnce() -> Result<T, E>) {
        let skipped = self.is_cancelled();
        let outcome = panic::catch_unwind(AssertUnwindSafe(move || {
            if skipped {
                drop(task);
                Ok(())
            } else {
                task().map(drop)
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
                    let mut first = self.panic.lock();
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

    /// The errors and the first panic, once no task can record any more.
    pub(super) fn into_parts(self) -> (ErrorCollector<E>, Option<Payload>) {
        let panic = self.panic.into_inner();
        (self.errors.0, panic)
    }
}

/// An [`ErrorCollector`] that is only pushed into while shared, so that sharing it needs
/// `T: Send` only (the collector's own `Sync` also allows reading by reference, hence wants
/// `T: Sync`).
pub(super) struct Sink<T>(pub(super) ErrorCollector<T>);

// SAFETY: through `&Sink` values only move in (`push`), from any thread: that needs `T: Send`
// and nothing more. They are read only after the sink is taken back by value.
unsafe impl<T: Send> Sync for Sink<T> {}

impl<T> Sink<T> {
    pub(super) fn push(&self, value: T) {
        self.0.push(value);
    }
}

/// Boxes `task` as a [`Task`] that runs it through `outcome`, erasing its lifetime.
///
/// # Safety
/// The task must be run or dropped before `'scope` ends. A group guarantees it: the owner
/// waits until no task is in flight before it returns ([`Core::is_drained`]), and every queued
/// task holds a slot until it has been run or dropped.
pub(super) unsafe fn erase<'scope, T, E, F>(outcome: &'scope Outcome<E>, task: F) -> Task
where
    E: Send + 'scope,
    F: FnOnce() -> Result<T, E> + Send + 'scope,
{
    let boxed: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || outcome.run_or_skip(task));
    // SAFETY: only the lifetime changes (same fat-pointer layout); the caller keeps the task
    // within `'scope` (see above).
    unsafe {
        std::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Box<dyn FnOnce() + Send + 'static>>(
            boxed,
        )
    }
}
