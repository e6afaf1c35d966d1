//! `verisync::mpsc` is a drop-in for `std::sync::mpsc`: the std programs in
//! `support/std_programs.rs` (a worker pool, request/reply, a pipeline, `for x in rx`,
//! `catch_unwind` around a send, polling and timeouts, a dropped receiver, a rendezvous
//! hand-shake) are compiled twice, once after `use std::sync::mpsc;` and once after
//! `use verisync::mpsc;`, and each must observe the same in both builds.

/// The programs on std's channels.
mod on_std {
    use std::sync::mpsc;
    include!("support/std_programs.rs");
}

/// The same programs on verisync's: only the `use` line differs.
mod on_verisync {
    use verisync::mpsc;
    include!("support/std_programs.rs");
}

/// One test per program: both builds run it and must agree.
macro_rules! same_on_both {
    ($($program:ident),* $(,)?) => {$(
        #[test]
        fn $program() {
            assert_eq!(on_verisync::$program(), on_std::$program());
        }
    )*};
}

same_on_both!(
    worker_pool,
    request_reply,
    pipeline,
    for_loop_over_the_receiver,
    send_inside_catch_unwind,
    polling_and_timeouts,
    receiver_dropped,
    rendezvous_hand_shake,
);
