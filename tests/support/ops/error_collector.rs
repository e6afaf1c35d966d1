//! The operations of `verisync::error_collector` on one thread and the model they are checked
//! against (the errors pushed, cut at the limit): shared by the proptest suite
//! (`tests/model_error_collector.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/error_collector.rs`), which both decode [`Op`]s from bytes, so that
//! both check the same things in the same way.
//!
//! After every step `len`, `has_errors`, `omitted`, `first` and `iter` must match the model,
//! and the errors alive must be exactly the kept ones (those beyond the limit are dropped at
//! once). The collector ends with `into_vec` or `into_result` (the joined error's `len`,
//! `omitted` and text), and every error must then have been dropped exactly once.

use verisync::error_collector::{ErrorCollector, Errors};

#[path = "../drops.rs"]
mod drops;

use drops::{DropLog, Tracked};

/// One step: pushes this many errors, then reads the whole state.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    pushes: usize,
}

impl Op {
    /// The step a byte names: a burst of as many pushes as its value if it is below 64
    /// (0..=63), else a single push, the common step.
    pub fn decode(byte: u8) -> Self {
        let pushes = if byte < 0x40 { byte } else { 1 };
        Op {
            pushes: usize::from(pushes),
        }
    }
}

/// Runs `ops` on a collector keeping at most `limit` errors (every error if `None`), then ends
/// it with `into_result` if `by_result`, else `into_vec`; panics at the first difference from
/// the model. An error is the value whose id is its position in the order pushed.
pub fn run(limit: Option<usize>, by_result: bool, ops: &[Op]) {
    let drops = DropLog::new(ops.iter().map(|op| op.pushes).sum());
    let errors = match limit {
        Some(limit) => ErrorCollector::with_limit(limit),
        None => ErrorCollector::new(),
    };
    let keep = limit.unwrap_or(usize::MAX);
    let mut pushed = 0;
    for op in ops {
        for _ in 0..op.pushes {
            errors.push(drops.item(pushed));
            pushed += 1;
        }
        let kept = pushed.min(keep);
        assert_eq!(errors.len(), pushed, "len");
        assert_eq!(errors.has_errors(), pushed > 0, "has_errors");
        assert_eq!(errors.omitted(), pushed - kept, "omitted");
        let first = errors.first().map(|e| e.id);
        assert_eq!(first, (kept > 0).then_some(0), "first");
        assert!(errors.iter().map(|e| e.id).eq(0..kept), "iter");
        drops.assert_alive_exactly(pushed, 0..kept);
    }
    let kept = pushed.min(keep);
    if by_result {
        check_joined(errors.into_result(), pushed, kept);
    } else {
        let taken = errors.into_vec();
        assert!(taken.iter().map(|e| e.id).eq(0..kept), "into_vec");
    }
    drops.assert_all_dropped_once();
}

/// Checks what `into_result` returned after `pushed` errors of which the first `kept` were
/// kept: `Ok` only if none was pushed, else the kept ones joined, one line each, and a last
/// line counting the omitted ones.
fn check_joined(result: Result<(), Errors<Tracked>>, pushed: usize, kept: usize) {
    let Err(joined) = result else {
        assert_eq!(pushed, 0, "into_result returned Ok after pushes");
        return;
    };
    assert!(pushed > 0, "into_result returned an error with none pushed");
    assert_eq!(joined.len(), kept, "joined len");
    assert_eq!(joined.omitted(), pushed - kept, "joined omitted");
    let mut lines: Vec<String> = (0..kept).map(|id| format!("value {id}")).collect();
    if pushed > kept {
        lines.push(format!("...and {} more", pushed - kept));
    }
    assert_eq!(joined.to_string(), lines.join("\n"), "joined text");
}
