//! Fuzz target for `verisync::error_collector`: the input bytes become an optional limit and a
//! sequence of pushes and reads on one thread, compared with a `Vec` model; a live-set tracker
//! checks that every error is dropped exactly once (including those beyond the limit).
//!
//! ```text
//! cargo +nightly fuzz run error_collector -- -max_total_time=30
//! ```
//!
//! Input layout: byte 0 picks the limit (bit 7 set: none; else its low 6 bits) and how the
//! collector ends (bit 6: `into_result`, else `into_vec`); then each byte is a push of that
//! many errors (low 6 bits) followed by a read of the whole state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use verisync::error_collector::ErrorCollector;

#[path = "../support/live.rs"]
mod live;

use live::Item;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, ops)) = data.split_first() else {
        return;
    };
    live::reset();
    let limit = (setup & 0x80 == 0).then_some(usize::from(setup & 0x3f));
    let errors = match limit {
        Some(limit) => ErrorCollector::with_limit(limit),
        None => ErrorCollector::new(),
    };
    let keep = limit.unwrap_or(usize::MAX);
    let mut pushed = 0;
    for &byte in ops {
        for _ in 0..(byte & 0x3f) {
            errors.push(Item::new(pushed as u64));
            pushed += 1;
        }
        let kept = pushed.min(keep);
        assert_eq!(errors.len(), pushed);
        assert_eq!(errors.omitted(), pushed - kept);
        assert_eq!(errors.first().map(|e| e.0), (kept > 0).then_some(0));
        assert!(errors.iter().map(|e| e.0).eq(0..kept as u64));
        // Errors beyond the limit are dropped at once: exactly the kept ones are alive.
        live::assert_live(0..kept as u64);
    }
    let kept = pushed.min(keep);
    if setup & 0x40 != 0 {
        match errors.into_result() {
            Ok(()) => assert_eq!(pushed, 0),
            Err(joined) => {
                assert_eq!(joined.len(), kept);
                assert_eq!(
                    joined.to_string().lines().count(),
                    kept + usize::from(pushed > kept)
                );
            }
        }
    } else {
        let taken = errors.into_vec();
        assert!(taken.iter().map(|e| e.0).eq(0..kept as u64));
    }
    live::assert_live([]);
});
