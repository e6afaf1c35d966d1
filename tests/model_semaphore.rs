//! Model tests for `verisync::semaphore`: random operation sequences on one thread, checked
//! against a sequential model (free permits, total, closed flag, the permits each guard holds);
//! the operations, their decoding from bytes and the model are `support/ops/semaphore.rs`,
//! shared with the fuzz target, so both explore the same operations.
//!
//! Case count: 512; `PROPTEST_CASES=N` overrides it. Ignored under Miri (`tests/semaphore.rs`
//! is the Miri suite).

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/semaphore.rs"]
mod ops;

use model::{config, watchdog};
use ops::{Op, run};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn sequential_ops_match_the_model(
        initial in 0usize..5,
        ops in proptest::collection::vec(any::<u8>().prop_map(Op::decode), 0..64),
    ) {
        let _watchdog = watchdog("sequential_ops_match_the_model", &(initial, &ops));
        run(initial, ops);
    }
}
