//! Drop counting shared by the fuzz targets: an [`Item`] registers its id in a thread-local
//! live set when created and removes it when dropped, so a value dropped twice panics at once,
//! and [`assert_live`] compares the ids alive with the ones a model says must be.
//!
//! Included with `#[path = "../support/live.rs"] mod live;`.

use std::cell::RefCell;
use std::collections::BTreeSet;

thread_local! {
    /// Ids of the [`Item`]s alive right now.
    static LIVE: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
}

/// A value that registers itself in the live set when created and unregisters when dropped.
#[derive(Debug)]
pub struct Item(pub u64);

impl Item {
    pub fn new(id: u64) -> Self {
        LIVE.with(|live| assert!(live.borrow_mut().insert(id), "item {id} created twice"));
        Item(id)
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        let id = self.0;
        LIVE.with(|live| assert!(live.borrow_mut().remove(&id), "item {id} dropped twice"));
    }
}

/// The error collector's target joins its errors by their text.
impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// Forgets every id; called at the start of each input, so a failed input leaves nothing behind.
pub fn reset() {
    LIVE.with(|live| live.borrow_mut().clear());
}

/// Panics unless the ids alive are exactly `expected`: nothing leaked, nothing dropped early.
pub fn assert_live(expected: impl IntoIterator<Item = u64>) {
    let expected: BTreeSet<u64> = expected.into_iter().collect();
    LIVE.with(|live| {
        let live = live.borrow();
        assert!(*live == expected, "live {live:?} != expected {expected:?}");
    });
}
