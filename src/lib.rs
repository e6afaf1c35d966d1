//! Lock-free concurrency primitives whose correctness is machine-checked.
//!
//! Every primitive is built on atomics and checked by exhaustive model checking (loom),
//! randomized and PCT scheduling (shuttle), Miri, property-based model tests, fuzzing, and
//! seeded bugs that prove those checks catch real mistakes.
//!
//! | module | what it is | progress |
//! |---|---|---|
//! | [`spsc`] | bounded single-producer single-consumer channel with batch chunks | wait-free `try_`/chunk ops; blocking ops park |
//! | [`mpmc`] | bounded linearizable multi-producer multi-consumer queue, and channels: bounded (on the queue, with batches), unbounded (segment list) and rendezvous | lock-free `push`/`pop`/`try_` ops (see the module doc); blocking ops park |
//! | [`mpsc`] | drop-in for `std::sync::mpsc` (`channel`, `sync_channel`, rendezvous at 0) on `mpmc`'s channels | as `mpmc` |
//! | [`select`] | waits on several channel operations (any receivers and senders of [`mpmc`], [`mpsc`], [`spsc`]) and completes exactly one | `try_select` never waits; blocking selects park |
//! | [`future`] | async `send_async`/`recv_async` futures of every channel above (and `Stream`/`Sink` with the `futures` feature), runtime-agnostic and cancel safe; a minimal `block_on` | pending futures register their task's waker; one value wakes one task |
//! | [`bounded_log`] | keeps the newest N items pushed by any number of threads; snapshots and cursors for readers | lock-free `push`; wait-free `snapshot`/`read_since` |
//! | [`semaphore`] | counting semaphore with FIFO hand-off, weighted acquires, timeouts, close; async acquires | lock-free fast path (one CAS); blocking acquires park, async ones wait in the same line |
//! | [`fanout`] | scoped task group on a fixed set of workers: limit, first error cancels, ordered `map` | spawns block at the limit (park) |
//! | [`error_collector`] | error collector from many threads, joined into one [`error_collector::Errors`] | lock-free `push` |
//!
//! Channels use std's names and error types ([`error`]); [`mpsc`] mirrors `std::sync::mpsc`
//! item for item, so std code switches by its `use` line alone.
//!
//! # Model-checking your own code
//! One cfg, set for the whole build, switches verisync's atomics, locks, threads and cells to
//! a model checker's: `RUSTFLAGS="--cfg loom"` to loom's, `RUSTFLAGS="--cfg shuttle"` to
//! shuttle's (a cfg, not a Cargo feature, so it never reaches your plain tests). A test of
//! your code then explores verisync's internals too. [`model`] hands the same switch to your
//! code ([`model::sync`], [`model::thread`], [`model::cell`]) and runs one test under
//! whichever checker the build selects ([`model::check`]: loom at `LOOM_MAX_PREEMPTIONS=2`
//! unless set, the cost grows steeply with the bound; shuttle's random and PCT schedulers; or
//! once, plainly). Time is not modelled, but timeouts are: under a checker a wait with a
//! deadline gives up as soon as it would sleep, so a model explores both the timeout and the
//! success. The `membarrier` half of the blocking layer's fence is a `SeqCst` fence under the
//! checkers. Without the cfg, a blocking operation inside a direct `loom::model` call hangs
//! silently (`model::check` cannot be misconfigured that way). The README's "Model-check your
//! own code" has the recipe and the costs; `examples/model-check/` in the repository is a
//! downstream crate that follows it.
//!
//! # Examples
//! ```
//! let (tx, rx) = verisync::spsc::channel(1024);
//! std::thread::spawn(move || {
//!     for i in 0..1000u64 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! assert_eq!(rx.iter().sum::<u64>(), 999 * 1000 / 2);
//! ```

/// A seeded bug's switch (see `.ci/mutants`): `mutant!("name", seeded, real)` is `seeded` in
/// a build with `VERISYNC_MUTANT=name` (`cfg(verisync_mutant = "name")`, set by `build.rs`)
/// and `real` in every other; both are type-checked in every build.
macro_rules! mutant {
    ($name:tt, $seeded:expr, $real:expr) => {
        if cfg!(verisync_mutant = $name) {
            $seeded
        } else {
            $real
        }
    };
}

/// A seeded ordering bug's switch: `ordering!("name", Release)` is `Ordering::Release`, and
/// `Relaxed` in a build with `VERISYNC_MUTANT=name`. Written inside the atomic operation it
/// orders, so the real ordering stays next to the access and its pairing comment.
macro_rules! ordering {
    ($name:tt, $real:ident) => {
        mutant!(
            $name,
            $crate::sync::Ordering::Relaxed,
            $crate::sync::Ordering::$real
        )
    };
}

pub mod bounded_log;
mod channel;
pub mod error;
pub mod error_collector;
pub mod fanout;
mod fence;
pub mod future;
pub mod model;
pub mod mpmc;
pub mod mpsc;
mod park;
pub mod select;
pub mod semaphore;
pub mod spsc;
mod sync;
