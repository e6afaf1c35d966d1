//! Plain tests of the fixed logic on std threads: they keep passing in every build without a
//! checker's cfg, whatever else the build enables.
#![cfg(not(any(loom, shuttle)))]

use verisync_model_check::{Logic, handover, one_at_a_time, prefetch, request_with_timeout, tally};

#[test]
fn the_reader_sees_what_the_writer_wrote() {
    for _ in 0..100 {
        assert_eq!(handover(Logic::Fixed), 42);
    }
}

#[test]
fn every_job_is_counted() {
    for _ in 0..100 {
        assert_eq!(tally(50, Logic::Fixed), 50);
    }
}

#[test]
fn a_request_is_handled_once() {
    for _ in 0..100 {
        assert_eq!(request_with_timeout(Logic::Fixed), 1);
    }
}

#[test]
fn one_thread_at_a_time() {
    for _ in 0..100 {
        assert_eq!(one_at_a_time(Logic::Fixed), 1);
    }
}

#[test]
fn the_value_is_read_once_the_task_ran() {
    for _ in 0..100 {
        assert_eq!(prefetch(Logic::Fixed), Some(42));
    }
}
