//! How a thread waits for another thread's computation: a [`Flight`], a condition
//! variable over the leader's outcome.
//!
//! Which key is being computed, and who leads or waits, is decided by the policy store's
//! single-flight registry (`twat_cache_shard::PolicyStore::join_or_lead`): it creates a
//! `Flight` when a second caller arrives and hands it back to the leader when the
//! computation ends. Waiters block on the flight's condition variable; the leader
//! publishes its value (or that it gave up) and wakes them all.
//!
//! When the leader's computation panics or returns `Err` the flight is *abandoned*: the
//! waiters wake with nothing and go back to the cache, where one of them becomes the new
//! leader. Locks are `parking_lot`'s, which do not poison, so nothing stays blocked.

use parking_lot::{Condvar, Mutex};

/// The state of one running computation.
enum FlightState<V> {
    Running,
    Done(V),
    Abandoned,
}

/// One running computation that others wait for.
pub(crate) struct Flight<V> {
    state: Mutex<FlightState<V>>,
    finished: Condvar,
}

impl<V> Default for Flight<V> {
    fn default() -> Self {
        Self {
            state: Mutex::new(FlightState::Running),
            finished: Condvar::new(),
        }
    }
}

impl<V: Clone> Flight<V> {
    /// Blocks until the leader finishes: `Some(value)` when it produced one, `None` when it
    /// panicked or failed (then the caller retries).
    pub(crate) fn wait(&self) -> Option<V> {
        let mut state = self.state.lock();
        loop {
            match &*state {
                FlightState::Running => self.finished.wait(&mut state),
                FlightState::Done(value) => return Some(value.clone()),
                FlightState::Abandoned => return None,
            }
        }
    }

    /// Publishes the leader's outcome and wakes every waiter.
    pub(crate) fn finish(&self, value: Option<V>) {
        *self.state.lock() = value.map_or(FlightState::Abandoned, FlightState::Done);
        self.finished.notify_all();
    }
}
