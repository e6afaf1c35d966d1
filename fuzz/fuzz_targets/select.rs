//! Fuzz target for `verisync::select`: the input bytes become three channels of any flavor
//! and a sequence of sends, receives, endpoint drops and selects over them, run on one thread.
//! Each select must complete one of the operations a model says are ready, and only that one,
//! or none if none is; the values alive must be exactly the buffered ones
//! (`tests/support/ops/select.rs`, shared with the proptest suite).
//!
//! ```text
//! cargo +nightly fuzz run select -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the channels' flavors (two bits each: rendezvous, bounded at 1,
//! at 2, unbounded); then every 3 bytes are one operation (`Op::decode`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/select.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let (chunks, _) = bytes.as_chunks();
    let ops: Vec<ops::Op> = chunks.iter().map(|&op| ops::Op::decode(op)).collect();
    ops::run(setup, &ops);
});
