//! The blocking layer shared by every primitive that can wait: a [`WaitQueue`] that blocked
//! threads sleep in and that the side making progress wakes.
//!
//! # Protocol
//! A waiter spins briefly (the facade's `Backoff`, not under a model checker) retrying its
//! operation, then *registers* (counts itself in `sleepers`), issues the heavy half of a store-load fence, and *re-checks*
//! by retrying the operation once more before it sleeps. A notifier publishes its progress
//! (a release store the retried operation will observe), issues the light half of the fence and
//! reads `sleepers`: only when it is non-zero does it take the lock and wake anyone, so the
//! uncontended fast path is lock-free and syscall-free.
//!
//! The two fences form the classic store-buffering (Dekker) pair: either the notifier sees the
//! registration and wakes the waiter, or the waiter's re-check sees the progress. That is the
//! whole defence against lost wake-ups, and `tests/loom_park.rs` checks it exhaustively.
//!
//! A selecting thread waits on several queues at once: it [`watch`](WaitQueue::watch)es each
//! with its [`Selection`], which counts as a sleeper, issues the heavy half of the fence,
//! re-checks its channels and sleeps on the selection; a notifier that finds sleepers also
//! notifies every selection watching. The same Dekker argument holds for each queue.
//!
//! A pending future (`crate::future`) watches like a selecting thread, with a selection that
//! wakes its task. Tasks are woken one per unit of progress ([`notify_one`]) rather than all
//! at once, so that a thousand tasks waiting for room do not all run for every slot freed:
//! the queue keeps its tasks in line, oldest first, and takes the one it notifies out of the
//! line. A task that sees its notification acts on it (retries, and waits again if someone
//! else got there first, the re-check above covering the gap); a task that stops waiting
//! without having seen it (its future dropped, or its re-check succeeded) passes it on to the
//! next task in line, so no wake-up dies with a cancelled future. Threads, sleeping or
//! selecting, are always all woken.
//!
//! [`notify_one`]: WaitQueue::notify_one
//!
//! # Waiting in line
//! A task pays the heavy half of the fence every time it goes pending, where a thread pays it
//! once per sleep; with many tasks waiting (a thousand senders on a full channel), every slot
//! freed would cost a woken task's next wait a `membarrier`. A task that finds a *published*
//! task in line, one that issued the heavy fence after registering (or was itself covered
//! this way), needs no fence of its own: that task still counts in `sleepers` (it is in line,
//! under the lock we hold), so `sleepers` has been non-zero ever since its fence, through our
//! own registration. A notifier either loaded `sleepers` after that fence, saw it non-zero,
//! and takes the lock (finding us in line, or publishing its progress to our re-check
//! through the lock), or issued its half of the fence before that fence, which then
//! orders its progress before everything that happens after the fence, our re-check included
//! (we read the published mark with acquire). This costs the notifiers nothing. Only tasks
//! take part: a selecting thread watches several queues, and its one fence is issued after
//! all of its registrations.
//!
//! # The asymmetric fence
//! A full `SeqCst` fence on every push would stall the fast path on the store buffer, so the
//! pair is a [`StoreLoadFence`]: the notifier issues its light half (a compiler fence on Linux)
//! and the waiter, which is about to sleep anyway, its heavy half (`membarrier`); see
//! `fence.rs` for when the halves are split and why that is sound.
//!
//! # Fences implied
//! A `membarrier` costs a waiter microseconds (an interrupt to every other running thread),
//! which a task that goes pending for every few values pays again and again. Where the
//! progress a notifier reports is a `SeqCst` claim, which the waiter's re-check reads with
//! `SeqCst` loads or after a `SeqCst` fence, as in the mpmc buffers, the queue is made with
//! [`WaitQueue::after_seqcst_claims`]: registrations are `SeqCst` increments and the notifier
//! reads `sleepers` with a `SeqCst` load, so the single order of `SeqCst` operations does what
//! the fence pair did, and neither side issues one (`fence.rs`, "When the accesses are the
//! fence"). Every task there counts as published.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

use crate::fence::StoreLoadFence;
use crate::select::Selection;
use crate::sync::{Arc, AtomicUsize, Backoff, Condvar, Mutex, Ordering, wait_deadline};

/// A place for threads to sleep until another thread reports progress.
pub(crate) struct WaitQueue {
    /// Threads registered to sleep. Read by every notifier; written only by waiters.
    sleepers: AtomicUsize,
    /// The store-load fence between notifiers and waiters.
    fence: StoreLoadFence,
    /// Counts notifications that found sleepers (a sleeper waits until it changes), and
    /// lists the selecting threads and the tasks watching this queue.
    rounds: Mutex<Rounds>,
    wakeup: Condvar,
}

struct Rounds {
    round: u64,
    /// Threads asleep on `wakeup`: a notification that finds none skips the system call.
    asleep: usize,
    /// Selecting threads registered with [`WaitQueue::watch`]; each counts in `sleepers`.
    selections: Vec<Arc<Selection>>,
    /// Tasks registered with [`WaitQueue::watch`] and not notified yet, oldest first; each
    /// counts in `sleepers`, until a notification takes it out of the line.
    tasks: VecDeque<Arc<Selection>>,
}

/// Whether a [`watch`](WaitQueue::watch) still needs the heavy half of the fence before its
/// re-check.
pub enum Fenced {
    /// A published task in line covers the registration, or the queue's fence is implied
    /// (module documentation).
    Already,
    /// The caller must issue it.
    NotYet,
}

/// Which of the tasks waiting a notification wakes.
#[derive(Clone, Copy)]
enum Tasks {
    /// The oldest: one unit of progress (a value pushed, a slot freed) serves one task.
    One,
    /// Every one: a batch, or a disconnection.
    All,
}

impl WaitQueue {
    pub(crate) fn new() -> Self {
        Self::with_fence(StoreLoadFence::new())
    }

    /// A queue whose notifiers report progress that is a `SeqCst` claim, which every waiter's
    /// re-check reads with `SeqCst` loads or after a `SeqCst` fence (an mpmc buffer's cursors):
    /// the fence is implied by those accesses and by the `SeqCst` registration, so no waiter
    /// pays its heavy half ("Fences implied" in the module documentation).
    pub(crate) fn after_seqcst_claims() -> Self {
        Self::with_fence(StoreLoadFence::implied())
    }

    fn with_fence(fence: StoreLoadFence) -> Self {
        Self {
            sleepers: AtomicUsize::new(0),
            fence,
            rounds: Mutex::new(Rounds {
                round: 0,
                asleep: 0,
                selections: Vec::new(),
                tasks: VecDeque::new(),
            }),
            wakeup: Condvar::new(),
        }
    }

    /// Wakes every thread sleeping in [`wait_until`](Self::wait_until), every selecting
    /// thread and every task watching.
    ///
    /// Call it after publishing progress that a sleeper's retried operation will observe. When
    /// nobody sleeps this is a compiler fence (or one `SeqCst` fence) and one load. Returns
    /// whether anyone was registered (asleep, about to sleep, or [for good](Self::register_for_good)).
    #[inline]
    pub(crate) fn notify_all(&self) -> bool {
        self.notify(Tasks::All)
    }

    /// As [`notify_all`](Self::notify_all), but wakes only the oldest task watching (every
    /// thread still): for progress that one operation can use.
    #[inline]
    pub(crate) fn notify_one(&self) -> bool {
        self.notify(Tasks::One)
    }

    #[inline]
    fn notify(&self, tasks: Tasks) -> bool {
        self.fence_after_progress();
        // SeqCst: where the fence is implied, this load's place in the single order of `SeqCst`
        // operations, after the caller's `SeqCst` claim, pairs with a waiter's `SeqCst`
        // registration (`register`, `watch`). Otherwise the fence above orders it after the
        // caller's progress and pairs with the fence a waiter issues between registering and
        // re-checking (`fence_before_recheck`).
        let registered = self.sleepers.load(Ordering::SeqCst) != 0;
        if registered {
            self.wake_sleepers(tasks);
        }
        registered
    }

    /// Counts a registration that is never taken back, so that from now on every
    /// [`notify_all`](Self::notify_all) returns true. An endpoint that disconnects calls it
    /// before [`fence_before_recheck`](Self::fence_before_recheck), so that a peer publishing
    /// at the same time either is seen by the endpoint's loads after the fence or sees the
    /// registration, without loading anything else on its fast path.
    pub(crate) fn register_for_good(&self) {
        // SeqCst: as in `register`.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
    }

    #[cold]
    fn wake_sleepers(&self, tasks: Tasks) {
        let mut rounds = self.rounds.lock();
        rounds.round = rounds.round.wrapping_add(1);
        rounds
            .selections
            .iter()
            .for_each(|selection| selection.notify());
        let oldest = self.notify_oldest_task(&mut rounds);
        let others: Vec<Waker> = match tasks {
            Tasks::One => Vec::new(),
            Tasks::All => (0..rounds.tasks.len())
                .filter_map(|_| self.notify_oldest_task(&mut rounds))
                .collect(),
        };
        let threads_asleep = rounds.asleep != 0;
        drop(rounds);
        if threads_asleep {
            self.wakeup.notify_all();
        }
        wake(oldest.into_iter().chain(others));
    }

    /// Takes the oldest task out of the line and marks it notified; its waker, to wake once
    /// the lock is released.
    fn notify_oldest_task(&self, rounds: &mut Rounds) -> Option<Waker> {
        let task = rounds.tasks.pop_front()?;
        // Relaxed: as in `unregister`.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        task.mark_notified()
    }

    /// Registers a selecting thread or a task: every notification from now on notifies
    /// `selection` (a task's, until one does) until [`unwatch`](Self::unwatch). As for a
    /// sleeper, the caller then issues [`fence_before_recheck`](Self::fence_before_recheck)
    /// (unless this returns [`Fenced::Already`]; a task then marks its selection published)
    /// before it looks at the channel again, and sleeps on its selection (or returns
    /// `Pending`).
    pub(crate) fn watch(&self, selection: &Arc<Selection>) -> Fenced {
        let mut rounds = self.rounds.lock();
        // SeqCst: as in `register`; or published by the fence of a published task in line
        // (module documentation, "Waiting in line").
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        if !selection.is_task() {
            rounds.selections.push(selection.clone());
            // A selecting thread issues one fence for all its queues, unless none needs it.
            return if self.fence.is_implied() {
                Fenced::Already
            } else {
                Fenced::NotYet
            };
        }
        let published = |task: &Arc<Selection>| {
            cfg!(verisync_mutant = "async_line_unpublished") || task.is_published()
        };
        // The oldest task has had the longest to publish itself; the newest may have been
        // covered on the spot.
        // Where the fence is implied, the `SeqCst` increment above is the task's own.
        let covered = self.fence.is_implied()
            || rounds.tasks.front().is_some_and(published)
            || rounds.tasks.back().is_some_and(published);
        rounds.tasks.push_back(selection.clone());
        if covered {
            selection.mark_published();
            Fenced::Already
        } else {
            Fenced::NotYet
        }
    }

    /// Takes back a [`watch`](Self::watch) of `selection`. A task that was notified but never
    /// saw it passes the notification on to the next task in line.
    pub(crate) fn unwatch(&self, selection: &Arc<Selection>) {
        // A task that saw its notification is out of the line (the notification took it out,
        // under the lock, before the task could see it) and has nothing to pass on: no lock.
        if selection.is_task() && selection.saw_notification() {
            return;
        }
        let mut rounds = self.rounds.lock();
        let found = if selection.is_task() {
            let line = &mut rounds.tasks;
            // From the back: the common take-back is by a task that registered just now and
            // found its re-check ready, behind every task already waiting.
            let index = line.iter().rposition(|s| Arc::ptr_eq(s, selection));
            index.and_then(|index| line.remove(index))
        } else {
            let watching = &mut rounds.selections;
            let index = watching.iter().position(|s| Arc::ptr_eq(s, selection));
            index.map(|index| watching.swap_remove(index))
        };
        if found.is_some() {
            // Relaxed: as in `unregister`.
            self.sleepers.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        // Out of the line already: notified (under this lock, so the notice is there).
        if selection.is_task() && selection.has_unseen_notification() {
            let passed_on = self.notify_oldest_task(&mut rounds);
            drop(rounds);
            wake(passed_on);
        }
    }

    /// Retries `attempt` until it returns `Some`, sleeping between tries; gives up with `None`
    /// once `deadline` (if any) has passed and a last attempt also failed.
    ///
    /// `attempt` runs without any lock held, so it may notify other queues.
    pub(crate) fn wait_until<R>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if let Some(done) = attempt() {
                return Some(done);
            }
            backoff.snooze();
        }
        loop {
            let round = self.register();
            self.fence_before_recheck();
            #[cfg(not(verisync_mutant = "park_no_recheck"))]
            if let Some(done) = attempt() {
                self.unregister();
                return Some(done);
            }
            let timed_out = self.sleep(round, deadline);
            self.unregister();
            if let Some(done) = attempt() {
                return Some(done);
            }
            if timed_out {
                return None;
            }
        }
    }

    /// Counts the caller as a sleeper and returns the notification round it must wait out.
    fn register(&self) -> u64 {
        let rounds = self.rounds.lock();
        // SeqCst: pairs with the `SeqCst` load in `notify`, where the fence is implied (the
        // load after our registration, `fence.rs`); otherwise published to notifiers by the
        // fence in `fence_before_recheck`. The lock orders it before any `wake_sleepers` that
        // could miss our round.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        rounds.round
    }

    fn unregister(&self) {
        // Relaxed: a stale non-zero count only costs a notifier one needless wake-up.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Sleeps until a notification newer than `round` or the deadline; true if timed out
    /// (under a model checker, at once: see [`wait_deadline`]).
    fn sleep(&self, round: u64, deadline: Option<Instant>) -> bool {
        let mut rounds = self.rounds.lock();
        while rounds.round == round {
            rounds.asleep += 1;
            let (mut guard, timed_out) = wait_deadline(&self.wakeup, rounds, deadline);
            guard.asleep -= 1;
            if timed_out {
                return true;
            }
            rounds = guard;
        }
        false
    }

    /// The notifier's half of the store-load fence.
    #[inline(always)]
    fn fence_after_progress(&self) {
        if cfg!(verisync_mutant = "park_no_notify_fence") {
            return;
        }
        self.fence.light();
    }

    /// The heavy half of the store-load fence whose light half every [`notify_all`] of this
    /// queue issues: either a notifier's loads after its fence see what the caller stored
    /// before this one, or the caller's loads after this fence see the progress the notifier
    /// published before its `notify_all`. A waiter issues it between registering and
    /// re-checking; an endpoint that disconnects issues it between announcing that and
    /// dropping what it leaves behind (spsc, mpmc).
    ///
    /// [`notify_all`]: Self::notify_all
    pub(crate) fn fence_before_recheck(&self) {
        self.fence.heavy();
    }
}

/// Wakes the tasks a notification reached, once the queue's lock is released.
fn wake(wakers: impl IntoIterator<Item = Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}
