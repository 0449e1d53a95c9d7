//! Single-flight: concurrent misses of one key run the computation once.
//!
//! The first caller that misses a key (the leader) registers a running computation in its
//! shard's [`Flights`] table, under the shard's flights mutex (not the store's lock, which
//! is costly to take for writing: see `striped.rs`). Later callers that miss the same key
//! find it there, drop the mutex and wait on the flight's condition variable. The leader
//! runs the computation *without* any lock, stores the value under the store's write lock,
//! then — under the flights mutex again — removes the flight and wakes the waiters with a
//! clone. Because the value is stored before the flight ends, a caller that finds no
//! flight can find the value (`MemoryCache`'s `join_or_lead` looks, unless nothing was
//! stored since its miss).
//!
//! When the leader's computation panics or returns `Err` the flight is *abandoned*: the
//! waiters wake with nothing and go back to the cache, where one of them becomes the new
//! leader. Locks are `parking_lot`'s, which do not poison, so nothing stays blocked.

use std::sync::Arc;

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
    /// Compute it: this caller leads the flight (registered under `ticket`).
    Lead(u64),
}

/// One running computation: who leads it, for which key, and — once someone waits —
/// the flight to wake them through (allocated only when a second caller arrives, so an
/// uncontended miss allocates nothing here).
struct Running<K, V> {
    ticket: u64,
    hash: u64,
    key: K,
    flight: Option<Arc<Flight<V>>>,
}

/// The running computations of one shard. Rarely more than a handful at once, so a
/// `Vec` scanned linearly beats a hash table (no tombstones, no rehashing).
pub(crate) struct Flights<K, V> {
    running: Vec<Running<K, V>>,
    next_ticket: u64,
}

impl<K: Eq, V: Clone> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            running: Vec::new(),
            next_ticket: 0,
        }
    }

    /// Joins the computation running for `key` (`Join::Wait`), or registers this caller
    /// as its leader (`Join::Lead` with the ticket to finish it with).
    pub(crate) fn join_or_lead(&mut self, hash: u64, key: &K) -> Join<V>
    where
        K: Clone,
    {
        if let Some(running) = self
            .running
            .iter_mut()
            .find(|running| running.hash == hash && running.key == *key)
        {
            let flight = running
                .flight
                .get_or_insert_with(|| Arc::new(Flight::new()));
            return Join::Wait(Arc::clone(flight));
        }
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.running.push(Running {
            ticket,
            hash,
            key: key.clone(),
            flight: None,
        });
        Join::Lead(ticket)
    }

    /// Ends the computation registered under `ticket`, returning its flight if anyone
    /// waits on it (the caller then wakes them).
    pub(crate) fn finish(&mut self, ticket: u64) -> Option<Arc<Flight<V>>> {
        let index = self
            .running
            .iter()
            .position(|running| running.ticket == ticket)?;
        self.running.swap_remove(index).flight
    }
}
