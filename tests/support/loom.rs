//! Helpers shared by the loom models (`tests/loom_*.rs`, which include this file with
//! `#[path]`): an exploration counter, a drop-counting payload and a cell whose accesses loom
//! checks for ordering.

#![allow(dead_code, reason = "each model file uses the helpers it needs")]

#[path = "drops.rs"]
mod drops;
#[allow(unused_imports, reason = "each model file uses the helpers it needs")]
pub use drops::{DropLog, Tracked};

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};

/// Runs `model` under loom, then fails unless loom explored more than `min` executions.
pub fn explore(name: &str, min: usize, model: impl Fn() + Sync + Send + 'static) {
    explore_with(name, min, loom::model::Builder::new(), model);
}

/// As [`explore`], but with at most `preemptions` preemptions per execution whatever
/// `LOOM_MAX_PREEMPTIONS` says: for three-thread models of blocking operations, whose state
/// space at the usual bound of 3 takes loom many minutes.
pub fn explore_bounded(
    name: &str,
    min: usize,
    preemptions: usize,
    model: impl Fn() + Sync + Send + 'static,
) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    explore_with(name, min, builder, model);
}

fn explore_with(
    name: &str,
    min: usize,
    builder: loom::model::Builder,
    model: impl Fn() + Sync + Send + 'static,
) {
    // A std atomic outside loom's view: it counts executions and takes no part in the model.
    let executions = StdArc::new(StdAtomicUsize::new(0));
    let counter = executions.clone();
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        model();
    });
    let executions = executions.load(Relaxed);
    println!("{name}: loom explored {executions} executions");
    assert!(
        executions > min,
        "{name}: loom explored only {executions} executions (want more than {min})"
    );
}

/// Data one thread writes and another reads once something should have ordered the write
/// before it; loom reports the accesses as a causality violation if nothing did.
pub struct Written(loom::cell::UnsafeCell<usize>);

// SAFETY: the models check exactly that the accesses are ordered (loom reports them if not).
unsafe impl Sync for Written {}

impl Written {
    pub fn new() -> Self {
        Self(loom::cell::UnsafeCell::new(0))
    }

    pub fn set(&self, value: usize) {
        // SAFETY: the model checks that nothing else touches it meanwhile.
        self.0.with_mut(|cell| unsafe { *cell = value });
    }

    pub fn get(&self) -> usize {
        // SAFETY: as in `set`.
        self.0.with(|cell| unsafe { *cell })
    }
}
