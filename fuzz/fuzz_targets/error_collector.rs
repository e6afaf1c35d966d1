//! Fuzz target for `verisync::error_collector`: the input bytes become an optional limit and a
//! sequence of pushes and reads on one thread, compared with a model of the errors pushed;
//! after every step the errors alive must be exactly the kept ones, and at the end every error
//! must have been dropped exactly once (including those beyond the limit). The operations,
//! their decoding and the model are `tests/support/ops/error_collector.rs`, shared with the
//! proptest suite.
//!
//! ```text
//! cargo +nightly fuzz run error_collector -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the limit (bit 7 set: none; else its low 6 bits) and how the
//! collector ends (bit 6: `into_result`, else `into_vec`); then each byte is a push of one error
//! or a burst of them (`Op::decode`), followed by a read of the whole state.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/error_collector.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let limit = (setup & 0x80 == 0).then_some(usize::from(setup & 0x3f));
    let ops: Vec<ops::Op> = bytes.iter().map(|&byte| ops::Op::decode(byte)).collect();
    ops::run(limit, setup & 0x40 != 0, &ops);
});
