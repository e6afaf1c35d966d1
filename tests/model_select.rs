//! Model tests for `verisync::select`: random sequences of sends, receives, endpoint drops and
//! selects over three channels of random flavors, each select checked against a model of
//! which of its operations were ready (`support/ops/select.rs`, shared with the fuzz target).
//!
//! Case count: 512; `PROPTEST_CASES=N` overrides it. A case that blocks (a `select` the model
//! thought ready but that waits) fails the binary through the watchdog. Ignored under Miri (too slow there);
//! `tests/select.rs` is the Miri suite.

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/select.rs"]
mod ops;

use model::{config, watchdog};
use proptest::prelude::*;

/// Longest operation sequence of a case.
const MAX_OPS: usize = 60;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri; tests/select.rs is the Miri suite")]
    fn selects_complete_one_ready_operation(
        setup in any::<u8>(),
        ops in prop::collection::vec(any::<[u8; 3]>().prop_map(ops::Op::decode), 0..MAX_OPS),
    ) {
        let _watch = watchdog("selects_complete_one_ready_operation", &(setup, &ops));
        ops::run(setup, &ops);
    }
}
