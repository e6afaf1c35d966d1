//! The tasks of a `verisync::fanout` group and what the module documentation promises for
//! them, whatever the schedule: shared by the proptest suite (`tests/model_fanout.rs`) and the
//! fuzz target (`fuzz/fuzz_targets/fanout.rs`), which both decode [`Op`]s from bytes and run
//! the group on real threads, so that both check the same things in the same way.
//!
//! A group runs as `scope`, `scope_collecting` or `map`, on the default pool or a `Pool` of its
//! own (shut down after the group), over tasks that succeed, fail, panic or nest (spawn a
//! nested task, which runs in place; a `map` item runs a nested `map` on the same pool), each
//! offered with `spawn` or `try_spawn`. Checked:
//!
//! - every task closure is dropped exactly once (it ran, was skipped, or was handed back);
//! - no more than `limit` tasks run at once, and no task runs twice;
//! - a task handed back by `try_spawn` never runs, and a nested task runs only in its parent;
//! - if a task panicked, the group panics with the payload of a task that panicked; else
//!   `scope` returns the error of a failing task that ran (or `Ok` after running every task
//!   it accepted), `scope_collecting` returns exactly the errors of the failing tasks after
//!   running every task it accepted, and `map` returns every result in input order (a nested
//!   `map` keeping its own) or the error of a failing item.

use std::any::Any;
use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};
use std::thread;

use verisync::error_collector::Errors;
use verisync::fanout::{self, Group, Pool};

#[path = "../drops.rs"]
mod drops;
#[path = "../high_water.rs"]
mod high_water;

use drops::{DropLog, Tracked};
use high_water::HighWater;

/// What a task does once it runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Returns `Ok` (in a `map`, its index).
    Succeed,
    /// Returns its index as its error.
    Fail,
    /// Panics with [`deliberate_panic`].
    Panic,
    /// Succeeds after spawning a nested task that succeeds (in a `map`, after a nested `map`).
    Nest,
}

/// One task.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    kind: Kind,
    /// Offered with `try_spawn` instead of `spawn` (in a scope; a `map` takes every item).
    by_try: bool,
}

impl Op {
    /// The task a byte names: the low 4 bits its kind (7 in 16 succeed, 3 fail, 5 nest, whose
    /// longer runs let a `map`'s items finish out of order, and 1 panics, so that most groups
    /// end without a panic and are checked on their results); bits 4 and 5 both set offer it
    /// with `try_spawn`.
    pub fn decode(byte: u8) -> Self {
        let kind = match byte & 0x0f {
            0..=6 => Kind::Succeed,
            7..=9 => Kind::Fail,
            10..=14 => Kind::Nest,
            _ => Kind::Panic,
        };
        Op {
            kind,
            by_try: byte & 0x30 == 0x30,
        }
    }
}

/// How a group runs its tasks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `scope`: the first error cancels the rest.
    Scope,
    /// `scope_collecting`: every error is kept.
    ScopeCollecting,
    /// `map` over the tasks as items.
    Map,
}

/// Every [`Mode`].
pub const MODES: [Mode; 3] = [Mode::Scope, Mode::ScopeCollecting, Mode::Map];

/// The id a nested task records when it runs: its parent's index plus this.
const NESTED: usize = 1000;
/// The payload prefix of a task's deliberate panic.
const DELIBERATE: &str = "deliberate panic of task ";

/// Panics on purpose as task `id`, with a payload [`panicked_task`] reads back.
pub fn deliberate_panic(id: usize) -> ! {
    panic!("{DELIBERATE}{id}");
}

/// The id of the task whose [`deliberate_panic`] `payload` is; panics (naming it) on any other
/// payload.
pub fn panicked_task(payload: &(dyn Any + Send)) -> usize {
    let message = payload.downcast_ref::<String>().map_or("", String::as_str);
    let id = message
        .strip_prefix(DELIBERATE)
        .and_then(|id| id.parse().ok());
    id.unwrap_or_else(|| panic!("a panic no task made on purpose: {message:?}"))
}

/// Keeps deliberate task panics off stderr (fanout catches and resumes them); any other panic
/// is a failed check and goes to the hook that was there (which aborts under libFuzzer).
pub fn quiet_deliberate_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = info.payload().downcast_ref::<String>();
            if !message.is_some_and(|m| m.starts_with(DELIBERATE)) {
                previous(info);
            }
        }));
    });
}

/// A task as handed to the group: its index, what it does, and the drop-counted values its
/// closure owns, its own and the one it hands its nested task if it nests.
struct Task {
    id: usize,
    op: Op,
    value: Tracked,
    nested: Tracked,
}

/// What the tasks of one group did.
#[derive(Default)]
struct Record {
    counts: HighWater,
    /// Ids of the tasks that ran, in the order they started.
    ran: Mutex<Vec<usize>>,
}

impl Task {
    /// The tasks `ops` name, their values made from `drops` (room for two per task).
    fn all(ops: &[Op], drops: &DropLog) -> Vec<Task> {
        let task = |(id, &op)| Task {
            id,
            op,
            value: drops.item(id),
            nested: drops.item(ops.len() + id),
        };
        ops.iter().enumerate().map(task).collect()
    }

    /// Runs the task, counted as running (its panic comes after); a nesting task passes its
    /// nested value to `nest`. `Ok` or `Err` of its index.
    fn act(self, record: &Record, nest: impl FnOnce(Tracked)) -> Result<usize, usize> {
        let (id, kind) = (self.id, self.op.kind);
        let outcome = record.counts.run(|| {
            record.ran.lock().unwrap().push(id);
            match kind {
                Kind::Fail => return Err(id),
                Kind::Nest => nest(self.nested),
                Kind::Succeed | Kind::Panic => {}
            }
            Ok(id)
        });
        if kind == Kind::Panic {
            deliberate_panic(id);
        }
        drop(self.value);
        outcome
    }
}

/// Offers every task to `group`, adding to `accepted` each one it takes; a nesting task
/// spawns its nested task from inside itself, where it runs in place.
fn offer<'scope>(
    group: &'scope Group<'scope, '_, usize>,
    tasks: Vec<Task>,
    record: &'scope Record,
    accepted: &mut BTreeSet<usize>,
) {
    for task in tasks {
        let (id, by_try) = (task.id, task.op.by_try);
        let nest = move |nested: Tracked| {
            group.spawn(move || {
                record.ran.lock().unwrap().push(id + NESTED);
                drop(nested);
                Ok(())
            })
        };
        let run = move || task.act(record, nest);
        if !by_try {
            group.spawn(run);
            accepted.insert(id);
        } else if group.try_spawn(run).is_ok() {
            accepted.insert(id);
        }
    }
}

/// `map` on `pool`, or on the default pool.
fn map_on<I, R>(
    pool: Option<&Pool>,
    items: I,
    limit: usize,
    f: impl Fn(I::Item) -> Result<R, usize> + Sync,
) -> Result<Vec<R>, usize>
where
    I: IntoIterator<IntoIter: Send, Item: Send>,
    R: Send,
{
    match pool {
        Some(pool) => pool.map(items, limit, f),
        None => fanout::map(items, limit, f),
    }
}

/// `scope`, or `scope_collecting` if `collecting`, on `pool` or the default pool; the errors
/// as a list.
fn scope_on<'env>(
    pool: Option<&Pool>,
    limit: usize,
    collecting: bool,
    f: impl for<'scope> FnOnce(&'scope Group<'scope, 'env, usize>),
) -> Result<(), Vec<usize>> {
    match (pool, collecting) {
        (Some(pool), false) => pool.scope(limit, f).map_err(|error| vec![error]),
        (None, false) => fanout::scope(limit, f).map_err(|error| vec![error]),
        (Some(pool), true) => pool.scope_collecting(limit, f).map_err(Errors::into_vec),
        (None, true) => fanout::scope_collecting(limit, f).map_err(Errors::into_vec),
    }
}

/// Runs `tasks` as `mode` with `limit` on `pool` (or the default pool), adding to `accepted`
/// each task the group takes; what the group returned, its errors as a list.
fn run_group(
    pool: Option<&Pool>,
    limit: usize,
    mode: Mode,
    tasks: Vec<Task>,
    record: &Record,
    accepted: &mut BTreeSet<usize>,
) -> Result<Vec<usize>, Vec<usize>> {
    if mode == Mode::Map {
        accepted.extend(0..tasks.len());
        let nested_map = |_: Tracked| {
            let inner = map_on(pool, 0..3, limit, Ok::<_, usize>);
            assert_eq!(inner, Ok(vec![0, 1, 2]), "a nested map lost its order");
        };
        let act = |task: Task| task.act(record, nested_map);
        map_on(pool, tasks, limit, act).map_err(|error| vec![error])
    } else {
        let collecting = mode == Mode::ScopeCollecting;
        scope_on(pool, limit, collecting, |group| {
            offer(group, tasks, record, accepted)
        })
        .map(|()| Vec::new())
    }
}

/// Runs the tasks `ops` as `mode` with `limit`, on a new pool of `threads` (shut down after
/// the group) or on the default pool if `None`; panics at the first broken promise.
pub fn run(threads: Option<usize>, limit: usize, mode: Mode, ops: &[Op]) {
    quiet_deliberate_panics();
    let drops = DropLog::new(2 * ops.len());
    let record = Record::default();
    let pool = threads.map(Pool::new);
    let mut accepted = BTreeSet::new();
    let tasks = Task::all(ops, &drops);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        run_group(pool.as_ref(), limit, mode, tasks, &record, &mut accepted)
    }));
    if let Some(pool) = pool {
        assert!(
            pool.shutdown().is_empty(),
            "a group's panic reached its pool"
        );
    }
    drops.assert_all_dropped_once();
    let ran = check_ran(record, limit, &accepted);
    check_outcome(mode, ops, outcome, &ran, &accepted);
}

/// Checks what ran: never more than `limit` tasks at once, no task twice, a nested task only
/// in its parent, no task the group did not accept; the indexes of the tasks that ran.
fn check_ran(record: Record, limit: usize, accepted: &BTreeSet<usize>) -> BTreeSet<usize> {
    let most = record.counts.most();
    assert!(most <= limit, "{most} tasks ran at once with limit {limit}");
    let ran = record.ran.into_inner().unwrap();
    let distinct: BTreeSet<usize> = ran.iter().copied().collect();
    assert_eq!(distinct.len(), ran.len(), "a task ran twice: {ran:?}");
    for id in ran.iter().filter(|&&id| id >= NESTED) {
        assert!(
            distinct.contains(&(id - NESTED)),
            "a nested task ran without its parent"
        );
    }
    let top_level: BTreeSet<usize> = distinct.into_iter().filter(|&id| id < NESTED).collect();
    assert!(top_level.is_subset(accepted), "a task handed back ran");
    top_level
}

/// Checks the panic the group resumed, or what it returned, given the tasks `ops` of which
/// those in `ran` ran and those in `accepted` were accepted.
fn check_outcome(
    mode: Mode,
    ops: &[Op],
    outcome: thread::Result<Result<Vec<usize>, Vec<usize>>>,
    ran: &BTreeSet<usize>,
    accepted: &BTreeSet<usize>,
) {
    let ran_of = |kind: Kind| -> BTreeSet<usize> {
        ran.iter()
            .copied()
            .filter(|&id| ops[id].kind == kind)
            .collect()
    };
    let panicked = ran_of(Kind::Panic);
    let returned = match outcome {
        Err(payload) => {
            let id = panicked_task(&*payload);
            assert!(
                panicked.contains(&id),
                "resumed the panic of task {id}, which never ran"
            );
            return;
        }
        Ok(returned) => returned,
    };
    assert!(
        panicked.is_empty(),
        "tasks {panicked:?} panicked, but the group returned"
    );
    let failed = ran_of(Kind::Fail);
    match (mode, returned) {
        (_, Ok(results)) => {
            assert!(
                failed.is_empty(),
                "tasks {failed:?} failed, but {mode:?} returned Ok"
            );
            assert_eq!(
                ran, accepted,
                "{mode:?} returned Ok, but an accepted task never ran"
            );
            if mode == Mode::Map {
                assert_eq!(results, (0..ops.len()).collect::<Vec<_>>(), "map's results");
            }
        }
        (Mode::Scope | Mode::Map, Err(errors)) => {
            assert!(
                failed.contains(&errors[0]),
                "{errors:?} is not a failed task's error"
            );
        }
        (Mode::ScopeCollecting, Err(errors)) => {
            let errors: BTreeSet<usize> = errors.into_iter().collect();
            assert_eq!(errors, failed, "scope_collecting lost or invented errors");
            assert_eq!(ran, accepted, "scope_collecting cancelled a task");
        }
    }
}
