//! Single-flight: one computation per missing key, however many callers await it.
//!
//! The first caller to miss a key *leads*: it registers a [`Flight`] in the key's shard and
//! polls its own `init` future. Later callers of that key *join*: they wait on the flight's
//! [`event_listener::Event`] (no polling, no spinning) with their own `init` unpolled, and
//! receive a clone of the leader's result. A [`LeaderGuard`] ends the flight however the
//! leader stops: with a result, or on drop — when the leader's future is dropped
//! (cancelled), and when its `init` panics (the unwind drops an `async fn`'s live locals,
//! the guard among them, before the panic leaves `poll`, so waiters never depend on when
//! or whether the panicked future itself is dropped). An abandoned flight wakes its
//! waiters, which retry: one of them leads with its own `init`, the rest join it.
//!
//! Hand-written because no crate fits: moka's `get_with` coalesces the same way but sits
//! behind a `get` that costs ~250 ns, and `async-once-cell`-style crates cache one value,
//! not one per key.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use event_listener::Event;
use parking_lot::Mutex;

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

/// One computation in progress, shared by its leader and the callers waiting for it.
pub(crate) struct Flight<V> {
    /// Unset while the leader computes; set once, then only read (no lock on the way out).
    state: OnceLock<FlightState<V>>,
    event: Event,
    /// Callers that joined (counted under the shard lock, read there when the flight ends).
    joined: AtomicUsize,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Self {
        Self {
            state: OnceLock::new(),
            event: Event::new(),
            joined: AtomicUsize::new(0),
        }
    }

    /// Records one more waiter (called under the shard lock).
    pub(crate) fn join(&self) {
        self.joined.fetch_add(1, Ordering::Relaxed);
    }

    /// How many callers joined (read under the shard lock once the flight is unlisted).
    pub(crate) fn joined(&self) -> usize {
        self.joined.load(Ordering::Relaxed)
    }

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

/// What a leader needs from the cache to end its flight.
pub(crate) trait FlightHost<K, V> {
    /// Ends `flight`, storing `value` if given; returns how many callers joined.
    fn finish(&self, hash: u64, key: K, flight: &Arc<Flight<V>>, value: Option<V>) -> usize;
    /// Unlists `flight` without storing anything.
    fn unlist(&self, hash: u64, key: &K, flight: &Arc<Flight<V>>);
}

/// Ends the leader's flight however the leader stops. On drop without
/// [`LeaderGuard::finish`] (cancellation, panic) the flight is abandoned.
pub(crate) struct LeaderGuard<'a, H: FlightHost<K, V>, K, V: Clone> {
    host: &'a H,
    hash: u64,
    key: Option<K>,
    flight: Arc<Flight<V>>,
}

impl<'a, H: FlightHost<K, V>, K, V: Clone> LeaderGuard<'a, H, K, V> {
    pub(crate) fn new(host: &'a H, hash: u64, key: K, flight: Arc<Flight<V>>) -> Self {
        Self {
            host,
            hash,
            key: Some(key),
            flight,
        }
    }

    /// Stores the outcome's value (if any) and hands the outcome to every waiter.
    pub(crate) fn finish<O: Outcome<V>>(mut self, outcome: &O) {
        let Some(key) = self.key.take() else {
            return;
        };
        let joined = self
            .host
            .finish(self.hash, key, &self.flight, outcome.value().cloned());
        if joined == 0 {
            return;
        }
        let state = match (outcome.value(), outcome.share_error()) {
            (Some(value), _) => FlightState::Value(value.clone()),
            (None, Some(error)) => FlightState::Error(Mutex::new(error)),
            (None, None) => FlightState::Abandoned,
        };
        self.flight.publish(state);
    }

    /// Unlists the flight and wakes its waiters so one of them takes over.
    fn abandon(&self) {
        if let Some(key) = &self.key {
            self.host.unlist(self.hash, key, &self.flight);
        }
        self.flight.publish(FlightState::Abandoned);
    }
}

impl<H, K, V: Clone> Drop for LeaderGuard<'_, H, K, V>
where
    H: FlightHost<K, V>,
{
    fn drop(&mut self) {
        if self.key.is_some() {
            self.abandon();
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
