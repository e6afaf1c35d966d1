//! A linearizability checker for recorded concurrent histories (Wing and Gong's search, with
//! Lowe's memo of visited states), shared by the model tests (`tests/model_<prim>.rs` include
//! this file with `#[path]`).
//!
//! Threads run operations on the structure under test through a [`Recorder`], which stamps each
//! operation with the logical time of its invocation and of its return. [`check`] then searches
//! for a sequential order of the operations that respects real time (an operation that returned
//! before another was invoked comes first) and in which a sequential [`Model`] gives every
//! operation the result it really had. A history with no such order is not linearizable.

#![allow(dead_code, reason = "each suite uses the helpers it needs")]

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

/// The sequential specification an implementation must be equivalent to.
pub trait Model: Clone + Eq + Hash {
    /// An operation, with its arguments.
    type Op: Debug;
    /// What an operation returns.
    type Ret: Debug + PartialEq;

    /// Applies `op` to the model and returns what the specification says it returns.
    fn apply(&mut self, op: &Self::Op) -> Self::Ret;
}

/// One completed operation of a history.
#[derive(Debug, Clone)]
pub struct Event<O, R> {
    /// The thread that ran it.
    pub thread: usize,
    pub op: O,
    pub ret: R,
    /// Logical time of the invocation and of the return, from the [`Recorder`]'s clock.
    pub invoked: u64,
    pub returned: u64,
}

/// Stamps operations with a logical clock shared by every thread of a run.
///
/// The clock is a `SeqCst` counter read right before an operation starts and right after it
/// returns, so an operation that returned before another one started has a smaller return stamp
/// than the other's invocation stamp.
#[derive(Default)]
pub struct Recorder {
    clock: AtomicU64,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `run(&op)` on the calling thread and records it as an operation of `thread`.
    pub fn record<O, R>(&self, thread: usize, op: O, run: impl FnOnce(&O) -> R) -> Event<O, R> {
        let invoked = self.clock.fetch_add(1, Ordering::SeqCst);
        let ret = run(&op);
        let returned = self.clock.fetch_add(1, Ordering::SeqCst);
        Event {
            thread,
            op,
            ret,
            invoked,
            returned,
        }
    }
}

/// Largest history [`check`] accepts (the set of linearized operations is a `u64` bitset).
pub const MAX_EVENTS: usize = 64;

/// `Ok` if `history` is linearizable with respect to `initial`; otherwise an explanation with
/// the history, sorted by invocation.
pub fn check<M: Model>(initial: &M, history: &[Event<M::Op, M::Ret>]) -> Result<(), String> {
    assert!(
        history.len() <= MAX_EVENTS,
        "history of {} events: the checker handles at most {MAX_EVENTS}",
        history.len()
    );
    let mut search = Search {
        history,
        visited: HashSet::new(),
    };
    if search.extend(0, initial) {
        return Ok(());
    }
    let mut sorted: Vec<&Event<M::Op, M::Ret>> = history.iter().collect();
    sorted.sort_by_key(|event| event.invoked);
    let mut report =
        String::from("history is not linearizable (thread: op -> ret @ [invoked, returned]):\n");
    for event in sorted {
        report += &format!(
            "  t{}: {:?} -> {:?} @ [{}, {}]\n",
            event.thread, event.op, event.ret, event.invoked, event.returned
        );
    }
    Err(report)
}

struct Search<'a, M: Model> {
    history: &'a [Event<M::Op, M::Ret>],
    /// (linearized set, model state) pairs already known to lead nowhere.
    visited: HashSet<(u64, M)>,
}

impl<M: Model> Search<'_, M> {
    /// Whether the operations not in `done` can be linearized after those in `done`, which
    /// left the model in `state`.
    fn extend(&mut self, done: u64, state: &M) -> bool {
        let all = if self.history.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.history.len()) - 1
        };
        if done == all {
            return true;
        }
        if !self.visited.insert((done, state.clone())) {
            return false;
        }
        let pending = || (0..self.history.len()).filter(move |&i| done & (1 << i) == 0);
        // An operation may go next only if no pending operation returned before it started.
        let first_return = pending()
            .map(|i| self.history[i].returned)
            .min()
            .expect("some operation is pending");
        let candidates: Vec<usize> = pending()
            .filter(|&i| self.history[i].invoked < first_return)
            .collect();
        for i in candidates {
            let event = &self.history[i];
            let mut next = state.clone();
            if next.apply(&event.op) == event.ret && self.extend(done | (1 << i), &next) {
                return true;
            }
        }
        false
    }
}
