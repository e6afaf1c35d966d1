//! Model tests for `verisync::error_collector`: random push sequences, with or without a limit, checked
//! against a `Vec` after every step (`len`, `omitted`, `first`, `iter`, `has_errors`) and at
//! the end (`into_vec`, `into_result`, the joined error's text), with every error dropped
//! exactly once.
//!
//! Case count: 256; `PROPTEST_CASES=N` overrides it. Ignored under Miri (`tests/error_collector.rs`
//! is the Miri suite).

#[path = "support/drops.rs"]
mod drops;

use drops::DropLog;
use proptest::prelude::*;
use verisync::error_collector::ErrorCollector;

fn run(limit: Option<usize>, pushes: usize, by_result: bool) -> Result<(), TestCaseError> {
    let drops = DropLog::new(pushes);
    let errors = match limit {
        Some(limit) => ErrorCollector::with_limit(limit),
        None => ErrorCollector::new(),
    };
    let keep = limit.unwrap_or(usize::MAX);
    for id in 0..pushes {
        errors.push(drops.item(id));
        let pushed = id + 1;
        let kept = pushed.min(keep);
        prop_assert_eq!(errors.len(), pushed);
        prop_assert!(errors.has_errors());
        prop_assert_eq!(errors.omitted(), pushed - kept);
        prop_assert_eq!(errors.first().map(|e| e.id), (kept > 0).then_some(0));
        prop_assert!(errors.iter().map(|e| e.id).eq(0..kept));
    }
    let kept = pushes.min(keep);
    if by_result {
        match errors.into_result() {
            Ok(()) => prop_assert_eq!(pushes, 0),
            Err(joined) => {
                prop_assert!(pushes > 0);
                prop_assert_eq!(joined.len(), kept);
                prop_assert_eq!(joined.omitted(), pushes - kept);
                let mut lines: Vec<String> = (0..kept).map(|id| format!("value {id}")).collect();
                if pushes > kept {
                    lines.push(format!("...and {} more", pushes - kept));
                }
                prop_assert_eq!(joined.to_string(), lines.join("\n"));
            }
        }
    } else {
        let taken = errors.into_vec();
        prop_assert!(taken.iter().map(|e| e.id).eq(0..kept));
    }
    drops.assert_all_dropped_once();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn pushes_match_a_vec(
        limit in proptest::option::of(0usize..6),
        pushes in 0usize..200,
        by_result in any::<bool>(),
    ) {
        run(limit, pushes, by_result)?;
    }
}
