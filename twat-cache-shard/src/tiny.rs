//! The TinyLFU policy, delegated to mini-moka (window TinyLFU admission, LRU eviction,
//! TTL). mini-moka costs ≈ 300 ns a hit here, so only `Policy::TinyLfu` uses it: what it
//! buys is the frequency-sketch admission that keeps one-hit wonders out of the cache.
//!
//! mini-moka reports no evictions, so they are derived: every new key stored and no
//! longer present, and not removed by the user, was evicted (or refused admission, or
//! expired). `size` comes after mini-moka's pending maintenance has run, so both are exact
//! when the cache is quiet; under concurrent inserts of one key a race can count it new
//! twice.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::sync::Arc;

use mini_moka::sync::{Cache, ConcurrentCacheExt};
use parking_lot::Mutex;

use crate::flights::{Flights, Join, Ticket};
use crate::store::Counts;

/// A mini-moka cache with exact hit/miss/insert counters and a single-flight registry.
pub(crate) struct Tiny<K, V, W> {
    cache: Cache<K, V>,
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    new_keys: AtomicU64,
    removed: AtomicU64,
    flights: Mutex<Flights<K, W>>,
}

impl<K, V, W> Tiny<K, V, W>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    W: Default,
{
    pub(crate) fn new(maxsize: Option<u64>, ttl: Option<Duration>) -> Self {
        let mut builder = Cache::builder();
        if let Some(maxsize) = maxsize {
            builder = builder.max_capacity(maxsize);
        }
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        Self {
            cache: builder.build(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            new_keys: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            flights: Mutex::new(Flights::new()),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let found = self.cache.get(key);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        self.inserts.fetch_add(1, Ordering::Relaxed);
        if !self.cache.contains_key(&key) {
            self.new_keys.fetch_add(1, Ordering::Relaxed);
        }
        self.cache.insert(key, value);
    }

    pub(crate) fn remove(&self, key: &K) -> bool {
        let present = self.cache.contains_key(key);
        if present {
            self.cache.invalidate(key);
            self.removed.fetch_add(1, Ordering::Relaxed);
        }
        present
    }

    /// Drops every entry; the counters go on (the entries dropped count as removed, not
    /// evicted).
    pub(crate) fn clear(&self) {
        self.cache.sync();
        let held = self.cache.entry_count();
        self.cache.invalidate_all();
        self.cache.sync();
        self.removed.fetch_add(held, Ordering::Relaxed);
    }

    /// Starts every counter from zero (the entries still held count as new keys, so that
    /// evictions derive from zero too).
    pub(crate) fn reset_counters(&self) {
        self.cache.sync();
        for counter in [&self.hits, &self.misses, &self.inserts, &self.removed] {
            counter.store(0, Ordering::Relaxed);
        }
        self.new_keys
            .store(self.cache.entry_count(), Ordering::Relaxed);
    }

    pub(crate) fn len(&self) -> usize {
        self.cache.sync();
        usize::try_from(self.cache.entry_count()).unwrap_or(usize::MAX)
    }

    /// The counters and the entries held.
    pub(crate) fn counters(&self) -> (Counts, u64) {
        self.cache.sync();
        let size = self.cache.entry_count();
        let new_keys = self.new_keys.load(Ordering::Relaxed);
        let removed = self.removed.load(Ordering::Relaxed);
        let counts = Counts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            inserts: self.inserts.load(Ordering::Relaxed),
            evictions: new_keys.saturating_sub(removed.saturating_add(size)),
        };
        (counts, size)
    }

    pub(crate) fn join_or_lead(&self, hash: u64, key: &K) -> Join<V, W> {
        let mut flights = self.flights.lock();
        if let Some(value) = self.cache.get(key) {
            return Join::Found(value);
        }
        flights.join_or_lead(hash, key)
    }

    pub(crate) fn complete(&self, key: K, ticket: Ticket, value: V) -> Option<Arc<W>> {
        let mut flights = self.flights.lock();
        self.insert(key, value);
        flights.finish(ticket)
    }

    pub(crate) fn abandon(&self, ticket: Ticket) -> Option<Arc<W>> {
        self.flights.lock().finish(ticket)
    }

    /// Computations running.
    pub(crate) fn in_flight(&self) -> usize {
        self.flights.lock().len()
    }
}
