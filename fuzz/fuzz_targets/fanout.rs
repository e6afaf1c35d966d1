//! Fuzz target for `verisync::fanout`: the input bytes become a limit, a way to run the group
//! (`scope`, `scope_collecting` or `map`), the pool it runs on (the default pool, or a new
//! `Pool` of 1..=4 threads, shut down after the group) and a list of tasks that succeed, fail,
//! panic or nest, each offered with `spawn` or `try_spawn`. The outcome is checked against what
//! the module documentation promises for that list, whatever the schedule; the tasks, their
//! decoding and the promises checked are `tests/support/ops/fanout.rs`, shared with the
//! proptest suite.
//!
//! ```text
//! cargo +nightly fuzz run fanout -- -max_total_time=30 -detect_leaks=0
//! ```
//!
//! Input layout: byte 0: limit (bits 0-1, plus one), mode (bits 2-3: 0 `scope`,
//! 1 `scope_collecting`, else `map`), a pool of its own (bit 4) and its threads (bits 5-6, plus
//! one); then one byte per task (at most 16, `Op::decode`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/ops/fanout.rs"]
mod ops;

/// The most tasks a group gets.
const MAX_TASKS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, bytes)) = data.split_first() else {
        return;
    };
    let limit = usize::from(setup & 0x03) + 1;
    let mode = ops::MODES[usize::from((setup >> 2) & 0x03).min(2)];
    let threads = (setup & 0x10 != 0).then_some(usize::from((setup >> 5) & 0x03) + 1);
    let ops: Vec<ops::Op> = bytes
        .iter()
        .take(MAX_TASKS)
        .map(|&b| ops::Op::decode(b))
        .collect();
    ops::run(threads, limit, mode, &ops);
});
