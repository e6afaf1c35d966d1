//! loom models of the user's logic, with verisync modelled too:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom
//! ```
//!
//! Each planted bug must make loom fail (asserted here, so a checker that misses it fails the
//! test), and each fixed version must pass.
#![cfg(loom)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use verisync_model_check::{Logic, handover, request_with_timeout, tally};

/// Runs `model` under loom and returns the message of the failure loom found, if any.
fn loom_failure(model: impl Fn() + Sync + Send + 'static) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(|| loom::model(model))).err()?;
    let message = match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast::<&str>().map_or_else(
            |_| String::from("(not a string)"),
            |message| message.to_string(),
        ),
    };
    Some(message)
}

#[test]
fn handover_fixed_passes() {
    loom::model(|| assert_eq!(handover(Logic::Fixed), 42));
}

#[test]
fn handover_planted_race_is_found() {
    // A read racing the write: loom reports the causality violation on the buffer.
    let failure = loom_failure(|| {
        handover(Logic::Planted);
    });
    let failure = failure.expect("loom missed the race");
    assert!(failure.contains("Causality violation"), "{failure}");
}

#[test]
fn tally_fixed_passes() {
    loom::model(|| assert_eq!(tally(2, Logic::Fixed), 2));
}

#[test]
fn tally_planted_lost_update_is_found() {
    // Two workers count one job each, and one count is lost: the tally's assertion fails.
    let failure = loom_failure(|| assert_eq!(tally(2, Logic::Planted), 2));
    let failure = failure.expect("loom missed the lost update");
    assert!(failure.contains("left: 1"), "{failure}");
}

#[test]
fn request_with_timeout_fixed_passes() {
    loom::model(|| assert_eq!(request_with_timeout(Logic::Fixed), 1));
}

#[test]
fn request_with_timeout_planted_resend_is_found() {
    // The timeout races the reply: when it wins, the planted client sends the request again.
    let failure = loom_failure(|| assert_eq!(request_with_timeout(Logic::Planted), 1));
    let failure = failure.expect("loom missed the second request");
    assert!(failure.contains("left: 2"), "{failure}");
}
