//! Fuzz target for `verisync::fanout`: the input bytes become a limit, a way to run the group
//! (`scope`, `scope_collecting` or `map`), the pool it runs on (the default pool, or a new
//! `Pool` of one or two threads, shut down after the group) and a list of tasks that succeed,
//! fail, panic or spawn a nested task, each offered with `spawn` or `try_spawn`. The outcome is checked against
//! what the module documentation promises for that list, whatever the schedule:
//!
//! - every task closure is dropped exactly once (it ran, was skipped, or was handed back);
//! - no more than `limit` tasks run at once, and no task runs twice;
//! - a task handed back by `try_spawn` never runs;
//! - if a task panicked, the group panics with the payload of a task that panicked; else
//!   `scope` returns the error of a failing task that ran (or `Ok` after running every task
//!   it accepted), `scope_collecting` returns exactly the errors of the failing tasks, and `map`
//!   returns every result in input order or the error of a failing item.
//!
//! ```text
//! cargo +nightly fuzz run fanout -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0: limit (bits 0-1, plus one), mode (bits 2-3: 0 `scope`,
//! 1 `scope_collecting`, else `map`), a pool of its own (bit 4) and its threads (bit 5, plus
//! one); then one byte per task (at most 16): bits 0-1 the kind
//! (succeed, fail, panic, nest), bit 2 `try_spawn` instead of `spawn`.

#![no_main]

use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, Once};

use libfuzzer_sys::fuzz_target;
use verisync::error_collector::Errors;
use verisync::fanout::{self, Group, Pool};

/// Ids of the task closures alive right now (a nested task's id is its parent's plus
/// [`NESTED`]).
static LIVE: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
/// Ids of the tasks that ran, in the order they started.
static RAN: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

const NESTED: usize = 1000;
const MAX_TASKS: usize = 16;
/// The payload prefix of a task's deliberate panic.
const DELIBERATE: &str = "deliberate panic of task ";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Succeed,
    Fail,
    Panic,
    /// Spawns a nested task that succeeds; spawned from a task, it runs in place.
    Nest,
}

/// Registers itself in [`LIVE`] while alive; captured by each task closure.
struct Token(usize);

impl Token {
    fn new(id: usize) -> Self {
        assert!(LIVE.lock().unwrap().insert(id), "task {id} made twice");
        Token(id)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        assert!(
            LIVE.lock().unwrap().remove(&self.0),
            "task {} dropped twice",
            self.0
        );
    }
}

/// What a task does once it runs: records itself, then acts out its kind.
fn act<E>(token: &Token, kind: Kind, group: Option<&Group<'_, '_, E>>) -> Result<usize, usize>
where
    E: Send,
{
    let now = RUNNING.fetch_add(1, SeqCst) + 1;
    MOST.fetch_max(now, SeqCst);
    let id = token.0;
    RAN.lock().unwrap().push(id);
    let outcome = match kind {
        Kind::Succeed => Ok(id),
        Kind::Fail => Err(id),
        Kind::Panic => {
            RUNNING.fetch_sub(1, SeqCst);
            panic!("{DELIBERATE}{id}");
        }
        Kind::Nest => {
            if let Some(group) = group {
                let nested = Token::new(id + NESTED);
                group.spawn(move || {
                    RAN.lock().unwrap().push(nested.0);
                    Ok::<_, E>(())
                });
            }
            Ok(id)
        }
    };
    RUNNING.fetch_sub(1, SeqCst);
    outcome
}

/// Offers every task to `group`, recording which ones it accepted.
fn offer<'scope>(
    group: &'scope Group<'scope, '_, usize>,
    tasks: &[(Kind, bool)],
    accepted: &mut BTreeSet<usize>,
) {
    for (id, &(kind, by_try)) in tasks.iter().enumerate() {
        let token = Token::new(id);
        let task = move || act(&token, kind, Some(group)).map(drop);
        if !by_try {
            group.spawn(task);
            accepted.insert(id);
        } else if group.try_spawn(task).is_ok() {
            accepted.insert(id);
        }
    }
}

/// `scope` on `pool`, or on the default pool.
fn scope_on<'env, R>(
    pool: Option<&Pool>,
    limit: usize,
    f: impl for<'scope> FnOnce(&'scope Group<'scope, 'env, usize>) -> R,
) -> Result<R, usize> {
    match pool {
        Some(pool) => pool.scope(limit, f),
        None => fanout::scope(limit, f),
    }
}

/// `scope_collecting` on `pool`, or on the default pool.
fn scope_collecting_on<'env, R>(
    pool: Option<&Pool>,
    limit: usize,
    f: impl for<'scope> FnOnce(&'scope Group<'scope, 'env, usize>) -> R,
) -> Result<R, Errors<usize>> {
    match pool {
        Some(pool) => pool.scope_collecting(limit, f),
        None => fanout::scope_collecting(limit, f),
    }
}

/// `map` on `pool`, or on the default pool.
fn map_on(
    pool: Option<&Pool>,
    items: Vec<(Token, Kind)>,
    limit: usize,
) -> Result<Vec<usize>, usize> {
    let f = |(token, kind): (Token, Kind)| act::<usize>(&token, kind, None);
    match pool {
        Some(pool) => pool.map(items, limit, f),
        None => fanout::map(items, limit, f),
    }
}

/// Lets deliberate task panics unwind quietly (fanout catches and resumes them); any other
/// panic is a failed check and goes to the hook that was there, which aborts under libFuzzer.
fn quiet_deliberate_panics() {
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

/// The id of the task whose deliberate panic `payload` is.
fn panicked_task(payload: &(dyn std::any::Any + Send)) -> usize {
    let message = payload
        .downcast_ref::<String>()
        .expect("the group resumed a payload that no task panicked with");
    message[DELIBERATE.len()..].parse().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    quiet_deliberate_panics();
    RAN.lock().unwrap().clear();
    MOST.store(0, SeqCst);
    let limit = usize::from(setup & 0x03) + 1;
    let mode = (setup >> 2) & 0x03;
    let own_pool = (setup & 0x10 != 0).then(|| Pool::new(usize::from((setup >> 5) & 1) + 1));
    let pool = own_pool.as_ref();
    let tasks: Vec<(Kind, bool)> = bytes
        .iter()
        .take(MAX_TASKS)
        .map(|&byte| {
            let kind = [Kind::Succeed, Kind::Fail, Kind::Panic, Kind::Nest][usize::from(byte & 3)];
            (kind, byte & 4 != 0)
        })
        .collect();
    let kinds: Vec<Kind> = tasks.iter().map(|&(kind, _)| kind).collect();
    let mut accepted = BTreeSet::new();

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match mode {
        0 => scope_on(pool, limit, |group| offer(group, &tasks, &mut accepted))
            .map(|()| Vec::new())
            .map_err(|error| vec![error]),
        1 => scope_collecting_on(pool, limit, |group| offer(group, &tasks, &mut accepted))
            .map(|()| Vec::new())
            .map_err(|errors| errors.into_vec()),
        _ => {
            accepted.extend(0..tasks.len());
            let items: Vec<(Token, Kind)> = kinds
                .iter()
                .enumerate()
                .map(|(id, &kind)| (Token::new(id), kind))
                .collect();
            map_on(pool, items, limit).map_err(|error| vec![error])
        }
    }));

    if let Some(pool) = own_pool {
        assert!(pool.shutdown().is_empty(), "a group's panic reached its pool");
    }
    assert!(
        LIVE.lock().unwrap().is_empty(),
        "task closures never dropped"
    );
    let most = MOST.load(SeqCst);
    assert!(most <= limit, "{most} tasks ran at once with limit {limit}");
    let ran = RAN.lock().unwrap().clone();
    let distinct: BTreeSet<usize> = ran.iter().copied().collect();
    assert_eq!(distinct.len(), ran.len(), "a task ran twice: {ran:?}");
    let top_level: BTreeSet<usize> = distinct.iter().copied().filter(|&id| id < NESTED).collect();
    assert!(top_level.is_subset(&accepted), "a task handed back ran");
    let ran_of = |kind: Kind| -> BTreeSet<usize> {
        top_level
            .iter()
            .copied()
            .filter(|&id| kinds[id] == kind)
            .collect()
    };

    let panicked = ran_of(Kind::Panic);
    let result = match outcome {
        Err(payload) => {
            let id = panicked_task(&*payload);
            assert!(
                panicked.contains(&id),
                "resumed the panic of task {id}, which never ran"
            );
            return;
        }
        Ok(result) => result,
    };
    assert!(
        panicked.is_empty(),
        "tasks {panicked:?} panicked, but the group returned"
    );
    let failed = ran_of(Kind::Fail);
    match (mode, result) {
        (0, Ok(_)) | (1, Ok(_)) => {
            assert!(
                failed.is_empty(),
                "tasks {failed:?} failed, but the group returned Ok"
            );
            assert_eq!(top_level, accepted, "an accepted task never ran");
        }
        (0, Err(errors)) => {
            assert!(
                failed.contains(&errors[0]),
                "{errors:?} is not a failed task's error"
            );
        }
        (1, Err(errors)) => {
            let errors: BTreeSet<usize> = errors.into_iter().collect();
            assert_eq!(errors, failed, "scope_collecting lost or invented errors");
            assert_eq!(top_level, accepted, "scope_collecting cancelled a task");
        }
        (_, Ok(results)) => {
            assert!(
                failed.is_empty(),
                "items {failed:?} failed, but map returned Ok"
            );
            assert_eq!(results, (0..tasks.len()).collect::<Vec<_>>());
        }
        (_, Err(errors)) => {
            assert!(
                failed.contains(&errors[0]),
                "{errors:?} is not a failed item's error"
            );
        }
    }
    for id in ran.iter().filter(|&&id| id >= NESTED) {
        assert!(
            distinct.contains(&(id - NESTED)),
            "a nested task ran without its parent"
        );
    }
});
