//! Model tests for the async operations: random sequences of `recv_async` and `send_async`
//! futures polled by hand (with their own or a new task's waker) and cancelled at random
//! points, among `try_send`s and `try_recv`s, on one channel of a random flavor, checked for
//! lost wake-ups, order and lost or doubled values (`support/ops/futures.rs`, shared with the
//! fuzz target).
//!
//! Case count: 512; `PROPTEST_CASES=N` overrides it. Ignored under Miri (too slow there);
//! `tests/futures.rs` is the Miri suite.

#[path = "support/model.rs"]
mod model;
#[path = "support/ops/futures.rs"]
mod ops;

use model::{config, watchdog};
use proptest::prelude::*;

/// Longest operation sequence of a case.
const MAX_OPS: usize = 80;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri; tests/futures.rs is the Miri suite")]
    fn futures_polled_and_cancelled_at_random_lose_nothing(
        setup in any::<u8>(),
        ops in prop::collection::vec(any::<[u8; 2]>().prop_map(ops::Op::decode), 0..MAX_OPS),
    ) {
        let _watch = watchdog("futures_polled_and_cancelled_at_random_lose_nothing", &(setup, &ops));
        ops::run(setup, &ops);
    }
}
