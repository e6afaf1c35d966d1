//! Model tests for `verisync::error_collector`: random sequences of pushes and bursts of
//! pushes, with or without a limit, checked against the errors pushed after every step (`len`,
//! `has_errors`, `omitted`, `first`, `iter`, which errors are alive) and at the end
//! (`into_vec`, `into_result`, the joined error's text), with every error dropped exactly once.
//! The operations, their decoding from bytes and the model are
//! `support/ops/error_collector.rs`, shared with the fuzz target.
//!
//! Case count: 256; `PROPTEST_CASES=N` overrides it. Ignored under Miri
//! (`tests/error_collector.rs` is the Miri suite).

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/error_collector.rs"]
mod ops;

use model::{config, watchdog};
use ops::{Op, run};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(256))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn pushes_match_a_vec(
        limit in proptest::option::of(0usize..6),
        by_result in any::<bool>(),
        ops in proptest::collection::vec(any::<u8>().prop_map(Op::decode), 0..64),
    ) {
        let _watchdog = watchdog("pushes_match_a_vec", &(limit, by_result, &ops));
        run(limit, by_result, &ops);
    }
}
