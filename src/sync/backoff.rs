//! The one backoff of every retry loop.

/// Backs off in a retry loop that waits for another thread: crossbeam's exponential backoff
/// natively; under loom or shuttle, a yield to the checker's scheduler, which otherwise could
/// keep running the spinning thread forever and never the one it waits for.
pub(crate) struct Backoff {
    #[cfg(not(any(verisync_loom, verisync_shuttle)))]
    inner: crossbeam_utils::Backoff,
    /// Rounds waited so far: loom never reschedules a yielded thread before another one has
    /// taken a step, so a wait that a correct program ends takes a handful of rounds, and one
    /// that reaches [`LIVELOCK_ROUNDS`] waits for a step nobody will take. Failing it is how
    /// the model reports that livelock: loom itself would explore the endless execution until
    /// the machine runs out of memory.
    #[cfg(verisync_loom)]
    rounds: std::cell::Cell<usize>,
}

/// The rounds after which a loom model calls a wait a livelock (see `Backoff::rounds`).
#[cfg(verisync_loom)]
const LIVELOCK_ROUNDS: usize = 1_000;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(not(any(verisync_loom, verisync_shuttle)))]
            inner: crossbeam_utils::Backoff::new(),
            #[cfg(verisync_loom)]
            rounds: std::cell::Cell::new(0),
        }
    }

    /// Backs off after losing a race (a failed compare-exchange): the winner is running.
    pub(crate) fn spin(&self) {
        #[cfg(not(any(verisync_loom, verisync_shuttle)))]
        self.inner.spin();
        #[cfg(any(verisync_loom, verisync_shuttle))]
        self.yield_to_checker();
    }

    /// Backs off while waiting for another thread to finish a step: spins, then yields the CPU,
    /// which the awaited thread may need when threads outnumber cores.
    pub(crate) fn snooze(&self) {
        #[cfg(not(any(verisync_loom, verisync_shuttle)))]
        self.inner.snooze();
        #[cfg(any(verisync_loom, verisync_shuttle))]
        self.yield_to_checker();
    }

    /// True once spinning has gone on long enough that a waiter should block instead. Always
    /// true under loom and shuttle, where a spin before blocking is only wasted schedule
    /// steps: a waiter blocks at once, and the checker explores its wake-up.
    pub(crate) fn is_completed(&self) -> bool {
        #[cfg(not(any(verisync_loom, verisync_shuttle)))]
        return self.inner.is_completed();
        #[cfg(any(verisync_loom, verisync_shuttle))]
        return true;
    }

    #[cfg(any(verisync_loom, verisync_shuttle))]
    fn yield_to_checker(&self) {
        #[cfg(verisync_loom)]
        {
            let rounds = self.rounds.get() + 1;
            assert!(
                rounds < LIVELOCK_ROUNDS,
                "verisync under loom: a wait for another thread's step went {rounds} rounds \
                 without it (a livelock)"
            );
            self.rounds.set(rounds);
        }
        super::thread::yield_now();
    }
}
