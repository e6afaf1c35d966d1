//! Fuzz target for `verisync::mpmc`: the input bytes become a capacity (1..=16), shared by a
//! `Queue` and a channel (or the channel is unbounded), and a sequence of operations on the queue and on the channel's
//! endpoints (any number of sender and receiver clones, each of which may be dropped), run on one
//! thread. Every result and, after every step, every status query is compared with a `VecDeque`
//! model per structure, and the values alive must be exactly the ones the models say are
//! buffered, plus the received ones the harness keeps; every other one dropped exactly once
//! (`tests/support/ops/mpmc.rs`, shared with the proptest suite).
//!
//! ```text
//! cargo +nightly fuzz run mpmc -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits), an unbounded channel (bit 6) or a
//! rendezvous one (bit 7), and the order of the drops at the end (bits 4 and 5: `ops::run`); then every 3 bytes are one operation (`Op::decode`: the first
//! names it, the other two are its parameters).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/mpmc.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let (chunks, _) = bytes.as_chunks();
    let ops: Vec<ops::Op> = chunks.iter().map(|&op| ops::Op::decode(op)).collect();
    ops::run(setup, &ops);
});
