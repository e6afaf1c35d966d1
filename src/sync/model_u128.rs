//! A 16-byte atomic for the model checkers, made of one they have: the checked atomic holds an
//! index into the list of every value ever stored, which only grows. Each value is stored once,
//! at a fresh index, before the index is published, so loading the index with an ordering and
//! then the value is exactly a load of the value with that ordering; a compare-and-swap on the
//! index from the one whose value matched is one on the value. The list itself is behind a
//! plain std lock the checkers do not see: it is only the values' storage, never an order.

use super::backend::{AtomicUsize, Ordering};

pub(crate) struct ModelAtomicU128 {
    current: AtomicUsize,
    values: std::sync::Mutex<Vec<u128>>,
}

impl ModelAtomicU128 {
    pub(crate) fn new(value: u128) -> Self {
        Self {
            current: AtomicUsize::new(0),
            values: std::sync::Mutex::new(vec![value]),
        }
    }

    pub(crate) fn load(&self, order: Ordering) -> u128 {
        self.value(self.current.load(order))
    }

    pub(crate) fn compare_exchange_weak(
        &self,
        expected: u128,
        new: u128,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u128, u128> {
        let mut index = self.current.load(failure);
        loop {
            let value = self.value(index);
            if value != expected {
                return Err(value);
            }
            let new_index = self.add(new);
            match self
                .current
                .compare_exchange(index, new_index, success, failure)
            {
                Ok(_) => return Ok(value),
                Err(actual) => index = actual,
            }
        }
    }

    fn value(&self, index: usize) -> u128 {
        self.values()[index]
    }

    fn add(&self, value: u128) -> usize {
        let mut values = self.values();
        values.push(value);
        values.len() - 1
    }

    fn values(&self) -> std::sync::MutexGuard<'_, Vec<u128>> {
        // Pushes and indexing cannot panic half-way through a change of the list.
        self.values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
