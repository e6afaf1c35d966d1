//! [`Pool`]: worker threads that outlive the groups they run, and a bounded queue of jobs that
//! feeds them: group helpers and detached tasks.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use super::group::{self, Core, Payload, Sink};
use super::{Group, Input, MAX_LIMIT, claim_batch, run};
use crate::error::{CapacityError, SendTimeoutError, TrySendError};
use crate::error_collector::{ErrorCollector, Errors};
use crate::mpmc;
use crate::sync::{Arc, Mutex, thread};

/// The jobs each thread of a [`Pool::new`] pool gets room for in the queue.
pub const QUEUE_PER_THREAD: usize = 64;

/// A pool of worker threads that run task groups ([`scope`](Pool::scope), [`map`](Pool::map))
/// and detached tasks ([`spawn`](Pool::spawn)), from a bounded queue.
///
/// The threads start with the pool and stop when it is [shut down](Pool::shutdown) or dropped;
/// a group on the pool starts no thread of its own. The free functions of this module
/// ([`fanout::scope`](super::scope), [`fanout::map`](super::map)) run on a default pool with one
/// thread per CPU, started on first use.
///
/// # Detached tasks
/// [`spawn`](Pool::spawn) queues a `'static` task for the next free thread, waiting while the
/// queue is full (backpressure); [`try_spawn`](Pool::try_spawn) and
/// [`spawn_timeout`](Pool::spawn_timeout) hand the task back instead. Tasks start in the order
/// they were queued (FIFO), each on one thread; they end in any order. A task that panics does
/// not stop its thread: the panic is printed by the panic hook as usual, counted in
/// [`panicked`](Pool::panicked), and its payload kept until [`shutdown`](Pool::shutdown)
/// returns it. A task that spawns onto its own pool should use `try_spawn`: with the queue
/// full and every thread waiting in `spawn`, nothing would ever make room.
///
/// # Shutdown
/// [`shutdown`](Pool::shutdown) (and dropping the pool) stops intake, runs every task already
/// queued, joins the threads and returns the payloads of the tasks that panicked. It waits for
/// running tasks to end: a task that never ends makes it wait forever, as a thread join does.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use verisync::fanout::Pool;
///
/// let pool = Pool::new(2);
/// let handled = Arc::new(AtomicUsize::new(0));
/// for event in 0..10 {
///     let handled = handled.clone();
///     pool.spawn(move || {
///         if event == 7 {
///             panic!("handler failed on event {event}");
///         }
///         handled.fetch_add(1, Ordering::Relaxed);
///     });
/// }
/// let squares = pool.map(1..=3, 2, |n: u64| Ok::<_, ()>(n * n));
/// assert_eq!(squares, Ok(vec![1, 4, 9]));
/// let panics = pool.shutdown();
/// assert_eq!(panics.len(), 1);
/// assert_eq!(handled.load(Ordering::Relaxed), 9);
/// ```
pub struct Pool {
    /// `None` once shut down.
    jobs: Option<mpmc::Sender<Box<dyn Job>>>,
    workers: Vec<thread::JoinHandle<()>>,
    panics: Arc<Panics>,
    threads: usize,
}

/// Why a [`Pool`] could not be created.
///
/// # Examples
/// ```
/// use verisync::fanout::{Pool, PoolError};
///
/// assert!(matches!(Pool::try_new(0, 8), Err(PoolError::NoThreads)));
/// assert!(matches!(Pool::try_new(1, 0), Err(PoolError::Queue(_))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// A pool needs at least one thread.
    NoThreads,
    /// The queue capacity is 0 or cannot be allocated.
    Queue(CapacityError),
    /// The system refused to start a thread (the threads already started were stopped).
    Spawn(std::io::Error),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoThreads => f.write_str("a pool needs at least one thread"),
            Self::Queue(err) => write!(f, "no queue for the pool: {err}"),
            Self::Spawn(err) => write!(f, "could not start a pool thread: {err}"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoThreads => None,
            Self::Queue(err) => Some(err),
            Self::Spawn(err) => Some(err),
        }
    }
}

/// What a pool thread runs: a group's helper or a detached task.
trait Job: Send {
    fn run(self: Box<Self>);
    /// The job as `Any`, so that a detached task handed back can be given back as itself.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// A group's helper (see `group.rs`).
struct Helper(Arc<Core>);

impl Job for Helper {
    fn run(self: Box<Self>) {
        group::help(&self.0);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A task spawned on the pool.
struct Detached<F>(F);

impl<F: FnOnce() + Send + 'static> Job for Detached<F> {
    fn run(self: Box<Self>) {
        (self.0)();
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The panics of detached tasks.
#[derive(Default)]
struct Panics {
    payloads: Mutex<Vec<Payload>>,
}

impl Panics {
    fn record(&self, payload: Payload) {
        self.payloads.lock().push(payload);
    }
}

impl Pool {
    /// Starts a pool of `threads` threads, with room for [`QUEUE_PER_THREAD`] queued jobs per
    /// thread.
    ///
    /// # Panics
    /// If `threads` is 0 or a thread cannot be started; [`try_new`](Self::try_new) returns
    /// these as errors instead.
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(4);
    /// assert_eq!(pool.threads(), 4);
    /// assert_eq!(pool.capacity(), 4 * verisync::fanout::QUEUE_PER_THREAD);
    /// ```
    pub fn new(threads: usize) -> Self {
        match Self::try_new(threads, threads.saturating_mul(QUEUE_PER_THREAD)) {
            Ok(pool) => pool,
            Err(err) => panic!("verisync::fanout::Pool::new: {err}"),
        }
    }

    /// Starts a pool of `threads` threads whose queue holds `capacity` jobs, or says why it
    /// cannot.
    ///
    /// # Examples
    /// ```
    /// use verisync::fanout::Pool;
    ///
    /// let pool = Pool::try_new(1, 16).unwrap();
    /// assert_eq!(pool.capacity(), 16);
    /// assert!(Pool::try_new(0, 16).is_err());
    /// ```
    pub fn try_new(threads: usize, capacity: usize) -> Result<Self, PoolError> {
        if threads == 0 {
            return Err(PoolError::NoThreads);
        }
        // A job queue holds at least one job: a rendezvous queue would make every spawn wait
        // for an idle worker, and the owner's own helping (which takes queued jobs) impossible.
        if capacity == 0 {
            return Err(PoolError::Queue(CapacityError::Zero));
        }
        let (jobs, queue) =
            mpmc::try_channel::<Box<dyn Job>>(capacity).map_err(PoolError::Queue)?;
        let mut pool = Self {
            jobs: Some(jobs),
            workers: Vec::with_capacity(threads),
            panics: Arc::new(Panics::default()),
            threads,
        };
        for index in 0..threads {
            let (queue, panics) = (queue.clone(), pool.panics.clone());
            let worker = thread::Builder::new()
                .name(format!("verisync-pool-{index}"))
                .spawn(move || work(&queue, &panics))
                .map_err(PoolError::Spawn)?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    /// Runs `f` in a group of tasks on this pool, at most `limit` at once; see
    /// [`fanout::scope`](super::scope), which is this on the default pool.
    ///
    /// # Panics
    /// As [`fanout::scope`](super::scope).
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(2);
    /// let words = ["a", "bb", "ccc"];
    /// let lengths = std::sync::Mutex::new(Vec::new());
    /// let result: Result<(), ()> = pool.scope(2, |group| {
    ///     for word in &words {
    ///         let lengths = &lengths;
    ///         group.spawn(move || {
    ///             lengths.lock().unwrap().push(word.len());
    ///             Ok(())
    ///         });
    ///     }
    /// });
    /// assert!(result.is_ok());
    /// let mut lengths = lengths.into_inner().unwrap();
    /// lengths.sort();
    /// assert_eq!(lengths, [1, 2, 3]);
    /// ```
    pub fn scope<'env, E, R, F>(&self, limit: usize, f: F) -> Result<R, E>
    where
        E: Send,
        F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
    {
        let (value, errors) = run(self, limit, ErrorCollector::with_limit(1), true, f);
        match errors.into_vec().into_iter().next() {
            Some(first) => Err(first),
            None => Ok(value),
        }
    }

    /// Like [`scope`](Self::scope), but an error cancels nothing and every error is kept; see
    /// [`fanout::scope_collecting`](super::scope_collecting).
    ///
    /// # Panics
    /// As [`fanout::scope`](super::scope).
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(2);
    /// let result = pool.scope_collecting(2, |group| {
    ///     for n in 0..4 {
    ///         group.spawn(move || if n % 2 == 0 { Err(n) } else { Ok(()) });
    ///     }
    /// });
    /// let mut errors = result.unwrap_err().into_vec();
    /// errors.sort();
    /// assert_eq!(errors, [0, 2]);
    /// ```
    pub fn scope_collecting<'env, E, R, F>(&self, limit: usize, f: F) -> Result<R, Errors<E>>
    where
        E: Send,
        F: for<'scope> FnOnce(&'scope Group<'scope, 'env, E>) -> R,
    {
        let (value, errors) = run(self, limit, ErrorCollector::new(), false, f);
        errors.into_result().map(|()| value)
    }

    /// Applies `f` to every item on this pool, at most `limit` at once, and returns the results
    /// in input order; see [`fanout::map`](super::map).
    ///
    /// # Panics
    /// As [`fanout::scope`](super::scope).
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(2);
    /// let lengths = pool.map(["a", "bb"], 2, |word: &str| Ok::<_, ()>(word.len()));
    /// assert_eq!(lengths, Ok(vec![1, 2]));
    /// ```
    pub fn map<I, R, E, F>(&self, items: I, limit: usize, f: F) -> Result<Vec<R>, E>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        R: Send,
        E: Send,
        F: Fn(I::Item) -> Result<R, E> + Sync,
    {
        // Up to `min(limit, threads + 1)` tasks, each claiming batches of items from the shared
        // input until it runs out (or the group is cancelled).
        let input = Mutex::new(Input {
            items: items.into_iter(),
            pulled: 0,
            exhausted: false,
        });
        let batches = Sink(ErrorCollector::new());
        let claimers = limit.min(self.threads.saturating_add(1));
        self.scope(limit, |group| {
            for _ in 0..claimers {
                let (input, f, batches) = (&input, &f, &batches);
                group.spawn(move || {
                    while let Some((first, batch)) = claim_batch(input, group, limit) {
                        let mut results = Vec::with_capacity(batch.len());
                        for item in batch {
                            if group.is_cancelled() {
                                // The group fails anyway; the rest of the batch is dropped.
                                return Ok(());
                            }
                            results.push(f(item)?);
                        }
                        batches.push((first, results));
                    }
                    Ok(())
                });
            }
        })?;
        let mut batches = batches.0.into_vec();
        // Pushed roughly in input order, so this is close to linear.
        if !cfg!(verisync_mutant = "fanout_map_unsorted") {
            batches.sort_unstable_by_key(|&(first, _)| first);
        }
        let mut results = Vec::with_capacity(batches.iter().map(|(_, batch)| batch.len()).sum());
        for (_, mut batch) in batches {
            results.append(&mut batch);
        }
        Ok(results)
    }

    /// Queues `task` to run on the pool, waiting while the queue is full.
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(1);
    /// let (done, finished) = std::sync::mpsc::channel();
    /// pool.spawn(move || done.send("handled").unwrap());
    /// assert_eq!(finished.recv(), Ok("handled"));
    /// ```
    pub fn spawn<F: FnOnce() + Send + 'static>(&self, task: F) {
        if self.intake().send(Box::new(Detached(task))).is_err() {
            unreachable!("the pool's threads stopped while it was open");
        }
    }

    /// Queues `task` if the queue has room; otherwise hands it back. Never waits.
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = verisync::fanout::Pool::try_new(1, 1).unwrap();
    /// let (started, wait) = mpsc::channel();
    /// let (release, released) = mpsc::channel::<()>();
    /// pool.spawn(move || {
    ///     started.send(()).unwrap();
    ///     released.recv().unwrap();
    /// });
    /// wait.recv().unwrap();
    /// pool.spawn(|| {}); // fills the one place in the queue
    /// let refused = pool.try_spawn(|| println!("event"));
    /// assert!(refused.is_err(), "queue full, dropping event");
    /// release.send(()).unwrap();
    /// ```
    pub fn try_spawn<F: FnOnce() + Send + 'static>(&self, task: F) -> Result<(), F> {
        match self.intake().try_send(Box::new(Detached(task))) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Err(unbox(job)),
        }
    }

    /// Queues `task`, waiting at most `timeout` for room in the queue; hands it back if there
    /// was none.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = verisync::fanout::Pool::new(1);
    /// assert!(pool.spawn_timeout(|| {}, Duration::from_millis(10)).is_ok());
    /// ```
    pub fn spawn_timeout<F: FnOnce() + Send + 'static>(
        &self,
        task: F,
        timeout: Duration,
    ) -> Result<(), F> {
        match self
            .intake()
            .send_timeout(Box::new(Detached(task)), timeout)
        {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Timeout(job) | SendTimeoutError::Disconnected(job)) => {
                Err(unbox(job))
            }
        }
    }

    /// Stops intake, runs every task already queued, joins the threads and returns the panic
    /// payloads of the detached tasks that panicked, in the order they panicked.
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(1);
    /// pool.spawn(|| panic!("lost connection"));
    /// let panics = pool.shutdown();
    /// assert_eq!(panics[0].downcast_ref::<&str>(), Some(&"lost connection"));
    /// ```
    pub fn shutdown(mut self) -> Vec<Box<dyn Any + Send>> {
        self.stop()
    }

    /// The number of threads.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(verisync::fanout::Pool::new(3).threads(), 3);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The number of jobs queued and not yet started (detached tasks and group helpers).
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(1);
    /// assert_eq!(pool.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.intake().len()
    }

    /// Whether no job is queued.
    ///
    /// # Examples
    /// ```
    /// assert!(verisync::fanout::Pool::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is full, so that [`spawn`](Self::spawn) would wait.
    ///
    /// # Examples
    /// ```
    /// assert!(!verisync::fanout::Pool::new(1).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.intake().is_full()
    }

    /// The most jobs the queue holds.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(verisync::fanout::Pool::try_new(2, 10).unwrap().capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        let bound = self.intake().capacity();
        bound.expect("a pool's job queue is a bounded channel")
    }

    /// The number of detached tasks that panicked so far.
    ///
    /// # Examples
    /// ```
    /// let pool = verisync::fanout::Pool::new(1);
    /// assert_eq!(pool.panicked(), 0);
    /// ```
    pub fn panicked(&self) -> usize {
        self.panics.payloads.lock().len()
    }

    /// Posts a helper for the group of `core`, unless the queue is full (the group's owner
    /// then runs the tasks itself).
    pub(super) fn post_helper(&self, core: &Arc<Core>) -> bool {
        self.intake()
            .try_send(Box::new(Helper(core.clone())))
            .is_ok()
    }

    fn intake(&self) -> &mpmc::Sender<Box<dyn Job>> {
        match &self.jobs {
            Some(jobs) => jobs,
            None => unreachable!("a pool used after its shutdown"),
        }
    }

    /// Shuts the pool down (once; later calls return nothing).
    fn stop(&mut self) -> Vec<Payload> {
        // Disconnecting the queue stops intake; the workers leave once it is empty.
        drop(self.jobs.take());
        for worker in self.workers.drain(..) {
            // A worker's jobs cannot panic out of `work`.
            let _ = worker.join();
        }
        std::mem::take(&mut *self.panics.payloads.lock())
    }
}

impl Drop for Pool {
    /// As [`shutdown`](Pool::shutdown), dropping the panic payloads.
    fn drop(&mut self) {
        drop(self.stop());
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .field("queued", &self.jobs.as_ref().map(|jobs| jobs.len()))
            .field("panicked", &self.panicked())
            .finish()
    }
}

/// A pool thread: runs jobs until the queue is disconnected and empty.
fn work(queue: &mpmc::Receiver<Box<dyn Job>>, panics: &Panics) {
    while let Ok(job) = queue.recv() {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| job.run()));
        if let Err(payload) = outcome
            && !cfg!(verisync_mutant = "fanout_pool_panic_lost")
        {
            panics.record(payload);
        }
        if cfg!(verisync_mutant = "fanout_pool_abandons_queue") && queue.is_disconnected() {
            return;
        }
    }
}

/// The task of a detached job handed back by the queue.
fn unbox<F: 'static>(job: Box<dyn Job>) -> F {
    match job.into_any().downcast::<Detached<F>>() {
        Ok(detached) => detached.0,
        Err(_) => unreachable!("a detached task came back as another job"),
    }
}

/// The checked limit of a new group and its core on `pool`.
pub(super) fn new_core(pool: &Pool, limit: usize) -> Arc<Core> {
    assert!(limit != 0, "verisync::fanout: limit must be at least 1");
    assert!(
        limit <= MAX_LIMIT,
        "verisync::fanout: a limit of {limit} is too large: at most {MAX_LIMIT}"
    );
    match Core::new(limit, pool.threads) {
        Some(core) => Arc::new(core),
        None => panic!("verisync::fanout: no room for the tasks of a limit of {limit}"),
    }
}
