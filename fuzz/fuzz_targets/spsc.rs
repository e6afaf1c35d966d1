//! Fuzz target for `verisync::spsc`: the input bytes become a channel capacity (1..=16) and a
//! sequence of operations on its two endpoints, run on one thread; every result is compared with
//! a `VecDeque` model, and after every step the values alive must be exactly the buffered ones,
//! every other one dropped exactly once (`tests/support/ops/spsc.rs`, shared with the proptest
//! suite).
//!
//! ```text
//! cargo +nightly fuzz run spsc -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits) and how the run ends (bits 4 and 5:
//! `ops::run`); then every 3 bytes are one operation (`Op::decode`: the first names it, the
//! other two are its parameters).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/spsc.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let (chunks, _) = bytes.as_chunks();
    let ops: Vec<ops::Op> = chunks.iter().map(|&op| ops::Op::decode(op)).collect();
    ops::run(setup, &ops);
});
