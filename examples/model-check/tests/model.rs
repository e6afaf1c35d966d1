//! Model-checking tests of the user's logic, one file for both checkers, with verisync
//! modelled too:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --test model       # loom, preemption bound 2
//! RUSTFLAGS="--cfg shuttle" cargo test --release --test model    # shuttle, random and PCT
//! ```
//!
//! Each planted bug must make the checker fail (asserted here, with the report the failure is
//! expected to carry, so a checker that misses the bug fails the test), and each fixed version
//! must pass.
#![cfg(any(loom, shuttle))]

use std::panic::{AssertUnwindSafe, catch_unwind};

use verisync::model::check;
use verisync_model_check::{Logic, handover, one_at_a_time, prefetch, request_with_timeout, tally};

/// Runs `test` under the build's checker and returns the report of the failure it found.
///
/// # Panics
/// If the checker found none: it missed the planted bug.
fn failure_found(test: impl Fn() + Sync + Send + 'static) -> String {
    let payload = catch_unwind(AssertUnwindSafe(|| check(test)))
        .expect_err("the checker missed the planted bug");
    match payload.downcast::<String>() {
        Ok(report) => *report,
        Err(payload) => payload.downcast::<&str>().map_or_else(
            |_| String::from("(not a string)"),
            |report| report.to_string(),
        ),
    }
}

#[test]
fn handover_fixed_passes() {
    check(|| assert_eq!(handover(Logic::Fixed), 42));
}

#[test]
fn handover_planted_race_is_found() {
    let report = failure_found(|| assert_eq!(handover(Logic::Planted), 42));
    // loom sees the read racing the write itself; shuttle, which does not track cells, sees
    // the read come first.
    let expected = if cfg!(loom) {
        "Causality violation"
    } else {
        "left: 0"
    };
    assert!(report.contains(expected), "{report}");
}

#[test]
fn tally_fixed_passes() {
    check(|| assert_eq!(tally(2, Logic::Fixed), 2));
}

#[test]
fn tally_planted_lost_update_is_found() {
    // Two workers count one job each, and one count is lost.
    let report = failure_found(|| assert_eq!(tally(2, Logic::Planted), 2));
    assert!(report.contains("left: 1"), "{report}");
}

#[test]
fn request_with_timeout_fixed_passes() {
    check(|| assert_eq!(request_with_timeout(Logic::Fixed), 1));
}

#[test]
fn request_with_timeout_planted_resend_is_found() {
    // The timeout races the reply: when it wins, the planted client sends the request again.
    let report = failure_found(|| assert_eq!(request_with_timeout(Logic::Planted), 1));
    assert!(report.contains("left: 2"), "{report}");
}

#[test]
fn one_at_a_time_fixed_passes() {
    check(|| assert_eq!(one_at_a_time(Logic::Fixed), 1));
}

#[test]
fn one_at_a_time_planted_early_release_is_found() {
    // The permit goes back before its holder is done: both threads count as using at once.
    let report = failure_found(|| assert_eq!(one_at_a_time(Logic::Planted), 1));
    assert!(report.contains("left: 2"), "{report}");
}

#[test]
fn prefetch_fixed_passes() {
    check(|| assert_eq!(prefetch(Logic::Fixed), Some(42)));
}

#[test]
fn prefetch_planted_early_read_is_found() {
    // The read inside the scope comes before the task ran.
    let report = failure_found(|| assert_eq!(prefetch(Logic::Planted), Some(42)));
    assert!(report.contains("left: None"), "{report}");
}
