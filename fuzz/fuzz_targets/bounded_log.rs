//! Fuzz target for `verisync::bounded_log`: the input bytes become a log capacity (1..=16) and a
//! sequence of operations run on one thread, on a `BoundedLog` of drop-counted values and an
//! `InlineLog` side by side; every result of both is compared with a sequential model, and the
//! values alive must be exactly the retained ones after every step. The operations, their
//! decoding and the model are `tests/support/ops/bounded_log.rs`, shared with the proptest
//! suite.
//!
//! ```text
//! cargo +nightly fuzz run bounded_log -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the capacity (low 4 bits, plus one) and whether the logs end
//! with `into_vec` (bit 4) or a drop; then each byte is one operation (`Op::decode`: the low
//! 3 bits name it, the high 5 bits are its parameter).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/bounded_log.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let ops: Vec<ops::Op> = bytes.iter().map(|&byte| ops::Op::decode(byte)).collect();
    ops::run(usize::from(setup & 0x0f) + 1, setup & 0x10 != 0, &ops);
});
