//! Fuzz target for `verisync::semaphore`: the input bytes become an initial permit count and a
//! sequence of operations on one thread; every result, the free count, the total and the
//! closed flag are compared with a sequential model after each step (`tests/support/ops/
//! semaphore.rs`, shared with the proptest suite).
//!
//! ```text
//! cargo +nightly fuzz run semaphore -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 is the initial permit count (low 3 bits); then each byte is one
//! operation (`Op::decode`: the low 3 bits name it, the high 5 bits are its parameter).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/semaphore.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    ops::run(
        usize::from(setup & 0x07),
        bytes.iter().map(|&byte| ops::Op::decode(byte)),
    );
});
