//! Single-flight: one computation per missing key, however many callers await it.
//!
//! Who leads and who waits is decided by the policy store's single-flight registry
//! (`twat_cache_shard::PolicyStore::join_or_lead`); this module is how an async caller
//! waits. The first caller to miss a key *leads*: it holds a ticket and polls its own
//! `init` future. Later callers of that key *join*: the registry creates the key's
//! [`Flight`] for the first of them, and they wait on its [`event_listener::Event`] (no
//! polling, no spinning) with their own `init` unpolled, and receive a clone of the
//! leader's result. A [`LeaderGuard`] ends the computation however the leader stops: with
//! a result, or on drop — when the leader's future is dropped (cancelled), and when its
//! `init` panics (the unwind drops an `async fn`'s live locals, the guard among them,
//! before the panic leaves `poll`, so waiters never depend on when or whether the
//! panicked future itself is dropped). An abandoned flight wakes its waiters, which
//! retry: one of them leads with its own `init`, the rest join it.
//!
//! Hand-written because no crate fits: moka's `get_with` coalesces the same way but sits
//! behind a `get` that costs ~250 ns, and `async-once-cell`-style crates cache one value,
//! not one per key.

use std::any::Any;
use std::hash::Hash;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use event_listener::Event;
use parking_lot::Mutex;
use twat_cache_shard::{PolicyStore, Ticket};

/// What a finished flight hands to the callers that joined it.
enum FlightState<V> {
    /// The leader's value.
    Value(V),
    /// The leader's error (a `try_` flight), boxed so one flight type serves every error
    /// type; the mutex makes it shareable without asking the error type to be `Sync`.
    Error(Mutex<Box<dyn Any + Send>>),
    /// The leader was dropped or panicked: waiters retry.
    Abandoned,
}

/// The outcome of one computation, awaited by the callers that joined it (created by
/// the store's registry when the first of them arrives).
pub(crate) struct Flight<V> {
    /// Unset while the leader computes; set once, then only read (no lock on the way out).
    state: OnceLock<FlightState<V>>,
    event: Event,
}

impl<V> Default for Flight<V> {
    fn default() -> Self {
        Self {
            state: OnceLock::new(),
            event: Event::new(),
        }
    }
}

impl<V: Clone> Flight<V> {
    /// Publishes the end of the flight and wakes every waiter. Only the first call counts.
    fn publish(&self, state: FlightState<V>) {
        if self.state.set(state).is_ok() {
            self.event.notify(usize::MAX);
        }
    }

    /// Waits for the flight to end. `None`: the leader gave up (or failed with an error
    /// this caller cannot receive), so the caller should retry.
    pub(crate) async fn wait<O: Outcome<V>>(&self) -> Option<O> {
        loop {
            if let Some(state) = self.state.get() {
                return Self::received(state);
            }
            // Listen, then look again: a `publish` between the first look and `listen`
            // is seen by the second look, one after it wakes the listener.
            let listener = self.event.listen();
            if let Some(state) = self.state.get() {
                return Self::received(state);
            }
            listener.await;
        }
    }

    fn received<O: Outcome<V>>(state: &FlightState<V>) -> Option<O> {
        match state {
            FlightState::Value(value) => Some(O::from_value(value.clone())),
            FlightState::Error(error) => O::from_shared_error(&**error.lock()),
            FlightState::Abandoned => None,
        }
    }
}

/// A result type a flight can carry: a plain value, or a `Result` whose `Ok` is cached and
/// whose `Err` is shared with the waiters but not cached.
pub(crate) trait Outcome<V>: Sized {
    /// Wraps a cached or shared value.
    fn from_value(value: V) -> Self;
    /// The value to cache, if this outcome has one.
    fn value(&self) -> Option<&V>;
    /// The error to hand to waiters, if this outcome is one.
    fn share_error(&self) -> Option<Box<dyn Any + Send>>;
    /// Rebuilds this outcome from a leader's shared error, if the types match.
    fn from_shared_error(error: &(dyn Any + Send)) -> Option<Self>;
}

/// The outcome of `get_or_insert_with`: always a value.
pub(crate) struct Plain<V>(pub(crate) V);

impl<V> Outcome<V> for Plain<V> {
    fn from_value(value: V) -> Self {
        Self(value)
    }

    fn value(&self) -> Option<&V> {
        Some(&self.0)
    }

    fn share_error(&self) -> Option<Box<dyn Any + Send>> {
        None
    }

    fn from_shared_error(_error: &(dyn Any + Send)) -> Option<Self> {
        None
    }
}

impl<V, E: Clone + Send + 'static> Outcome<V> for Result<V, E> {
    fn from_value(value: V) -> Self {
        Ok(value)
    }

    fn value(&self) -> Option<&V> {
        self.as_ref().ok()
    }

    fn share_error(&self) -> Option<Box<dyn Any + Send>> {
        match self {
            Ok(_) => None,
            Err(error) => Some(Box::new(error.clone())),
        }
    }

    fn from_shared_error(error: &(dyn Any + Send)) -> Option<Self> {
        error.downcast_ref::<E>().cloned().map(Err)
    }
}

/// Ends the leader's computation however the leader stops. On drop without
/// [`LeaderGuard::finish`] (cancellation, panic) the computation is abandoned.
pub(crate) struct LeaderGuard<'a, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    store: &'a PolicyStore<K, V, Flight<V>>,
    hash: u64,
    /// The key and ticket, until the computation ends.
    running: Option<(K, Ticket)>,
}

impl<'a, K, V> LeaderGuard<'a, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) const fn new(
        store: &'a PolicyStore<K, V, Flight<V>>,
        hash: u64,
        key: K,
        ticket: Ticket,
    ) -> Self {
        Self {
            store,
            hash,
            running: Some((key, ticket)),
        }
    }

    /// Stores the outcome's value (if any) and hands the outcome to every waiter.
    pub(crate) fn finish<O: Outcome<V>>(mut self, outcome: &O) {
        let Some((key, ticket)) = self.running.take() else {
            return;
        };
        // Waiters share a clone; a flight exists only if someone waited. A stored value
        // wakes them before the eviction listener runs (`complete_with`).
        if let Some(value) = outcome.value() {
            self.store
                .complete_with(self.hash, key, ticket, value.clone(), |flight| {
                    flight.publish(FlightState::Value(value.clone()));
                });
            return;
        }
        let Some(flight) = self.store.abandon(self.hash, ticket) else {
            return;
        };
        let state = match outcome.share_error() {
            Some(error) => FlightState::Error(Mutex::new(error)),
            None => FlightState::Abandoned,
        };
        flight.publish(state);
    }
}

impl<K, V> Drop for LeaderGuard<'_, K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Abandons the computation and wakes its waiters so one of them takes over.
    fn drop(&mut self) {
        if let Some((_, ticket)) = self.running.take()
            && let Some(flight) = self.store.abandon(self.hash, ticket)
        {
            flight.publish(FlightState::Abandoned);
        }
    }
}

/// Counts a caller as waiting for as long as it lives (cancelled waiters included).
pub(crate) struct WaitingGuard<'a>(&'a AtomicUsize);

impl<'a> WaitingGuard<'a> {
    pub(crate) fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
