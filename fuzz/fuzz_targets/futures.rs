//! Fuzz target for the async operations: the input bytes become one channel of any flavor and
//! a sequence of `recv_async`/`send_async` futures created, polled (with their own or a new
//! waker) and cancelled, among `try_send`s and `try_recv`s, on one thread. No wake-up may be
//! lost, values come out in order, and none is lost or doubled
//! (`tests/support/ops/futures.rs`, shared with the proptest suite).
//!
//! ```text
//! cargo +nightly fuzz run futures -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the flavor (rendezvous, bounded at 1, at 2, unbounded); then
//! every 2 bytes are one operation (`Op::decode`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/futures.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let (chunks, _) = bytes.as_chunks();
    let ops: Vec<ops::Op> = chunks.iter().map(|&op| ops::Op::decode(op)).collect();
    ops::run(setup, &ops);
});
