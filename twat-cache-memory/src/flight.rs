//! Single-flight: concurrent misses of one key run the computation once.
//!
//! A [`Flight`] is created by the first caller that misses a key (the leader) and stored
//! in its shard's [`Flights`] table under the shard's write lock. Later callers that miss
//! the same key find it there, drop the lock and wait on the flight's condition variable.
//! The leader runs the computation *without* any lock, then — under the write lock again —
//! stores the value, removes the flight and wakes the waiters with a clone.
//!
//! When the leader's computation panics or returns `Err` the flight is *abandoned*: the
//! waiters wake with nothing and go back to the cache, where one of them becomes the new
//! leader. Locks are `parking_lot`'s, which do not poison, so nothing stays blocked.

use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex};

/// The state of one running computation.
enum FlightState<V> {
    Running,
    Done(V),
    Abandoned,
}

/// One running computation that others may wait for.
pub(crate) struct Flight<V> {
    state: Mutex<FlightState<V>>,
    finished: Condvar,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(FlightState::Running),
            finished: Condvar::new(),
        }
    }

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

/// What a caller that missed should do next.
pub(crate) enum Join<V> {
    /// The value arrived meanwhile.
    Found(V),
    /// Another caller is computing it: wait on this flight.
    Wait(Arc<Flight<V>>),
    /// Compute it: this caller leads the flight.
    Lead(Arc<Flight<V>>),
}

/// The running computations of one shard, by key.
pub(crate) struct Flights<K, V> {
    table: HashTable<(u64, K, Arc<Flight<V>>)>,
}

impl<K: Eq, V: Clone> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            table: HashTable::new(),
        }
    }

    /// Joins the flight for `key`, or starts one (`(flight, true)` for the leader).
    pub(crate) fn join_or_lead(&mut self, hash: u64, key: &K) -> (Arc<Flight<V>>, bool)
    where
        K: Clone,
    {
        if let Some((_, _, flight)) = self.table.find(hash, |(h, k, _)| *h == hash && k == key) {
            return (Arc::clone(flight), false);
        }
        let flight = Arc::new(Flight::new());
        self.table.insert_unique(
            hash,
            (hash, key.clone(), Arc::clone(&flight)),
            |(h, _, _)| *h,
        );
        (flight, true)
    }

    /// Removes `flight` (and only it) from the table.
    pub(crate) fn remove(&mut self, hash: u64, flight: &Arc<Flight<V>>) {
        if let Ok(entry) = self
            .table
            .find_entry(hash, |(_, _, f)| Arc::ptr_eq(f, flight))
        {
            entry.remove();
        }
    }
}
