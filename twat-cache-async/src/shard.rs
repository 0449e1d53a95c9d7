//! One shard of an [`AsyncCache`](crate::AsyncCache): its entries and the flights
//! (computations in progress) of its keys, behind one `RwLock`, plus its hit counter.
//!
//! Entries and flights share the lock on purpose: "is there a value?", "is someone
//! computing it?" and "I will compute it" are decided in one critical section, and a
//! leader stores its value and ends its flight in another, so a caller can never miss
//! both the value and the flight.
//!
//! Eviction is least-recently-used per shard. Each entry remembers the shard clock at its
//! last use; the clock is the shard's hit counter plus its insert counter, so a hit costs
//! no write beyond the counter the statistics need anyway. A full shard drops its expired
//! entries first, then its oldest `max(1, capacity / 32)` entries in one pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hashbrown::HashTable;
use parking_lot::RwLock;
use twat_cache_core::StatsCounter;

use crate::flight::Flight;

/// One cached value.
struct Slot<K, V> {
    hash: u64,
    key: K,
    value: V,
    expires_at: Option<Instant>,
    /// The shard clock at the last insert or hit (only maintained for bounded caches).
    last_used: AtomicU64,
}

impl<K, V> Slot<K, V> {
    /// Whether the entry has expired; reads the clock only for entries with a TTL.
    #[inline]
    fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= Instant::now())
    }
}

/// A computation in progress for `key`.
struct FlightSlot<K, V> {
    hash: u64,
    key: K,
    flight: Arc<Flight<V>>,
}

/// What the lock protects.
struct ShardState<K, V> {
    entries: HashTable<Slot<K, V>>,
    flights: HashTable<FlightSlot<K, V>>,
}

/// The outcome of a read-locked lookup.
pub(crate) enum Lookup<V> {
    /// A live entry (the hit is already counted).
    Hit(V),
    /// No entry.
    Absent,
    /// An entry whose TTL has passed.
    Expired,
}

/// What a caller that missed the fast path does next.
pub(crate) enum Role<V> {
    /// The value appeared meanwhile.
    Hit(V),
    /// Nobody computes the key: the caller does, under this new flight.
    Lead(Arc<Flight<V>>),
    /// Someone computes the key: the caller waits for this flight.
    Wait(Arc<Flight<V>>),
}

/// One shard, aligned to its own cache lines so two threads hitting two shards never
/// write to one line.
#[repr(align(128))]
pub(crate) struct Shard<K, V> {
    state: RwLock<ShardState<K, V>>,
    /// Hits served by this shard. Never reset: statistics subtract `hits_base`.
    hits: AtomicU64,
    /// The value of `hits` at the last statistics reset.
    hits_base: AtomicU64,
    /// Inserts into this shard (the other half of the LRU clock); written under the lock.
    insert_ticks: AtomicU64,
    /// How many entries this shard may hold (`None`: unbounded).
    capacity: Option<usize>,
}

impl<K, V> Shard<K, V>
where
    K: Eq + Clone,
    V: Clone,
{
    pub(crate) fn new(capacity: Option<usize>) -> Self {
        Self {
            state: RwLock::new(ShardState {
                entries: HashTable::new(),
                flights: HashTable::new(),
            }),
            hits: AtomicU64::new(0),
            hits_base: AtomicU64::new(0),
            insert_ticks: AtomicU64::new(0),
            capacity,
        }
    }

    /// Counts a hit on `slot` and clones its value. The read lock suffices: the LRU
    /// stamp is an atomic in the slot.
    #[inline]
    fn hit(&self, slot: &Slot<K, V>) -> V {
        let hits = self.hits.fetch_add(1, Ordering::Relaxed);
        if self.capacity.is_some() {
            let tick = hits
                .wrapping_add(1)
                .wrapping_add(self.insert_ticks.load(Ordering::Relaxed));
            slot.last_used.store(tick, Ordering::Relaxed);
        }
        slot.value.clone()
    }

    /// The hot path: one read lock, one probe, one clone. Counts the hit, not a miss.
    #[inline]
    pub(crate) fn lookup(&self, hash: u64, key: &K) -> Lookup<V> {
        let state = self.state.read();
        match state.entries.find(hash, |slot| slot.key == *key) {
            Some(slot) if slot.is_expired() => Lookup::Expired,
            Some(slot) => Lookup::Hit(self.hit(slot)),
            None => Lookup::Absent,
        }
    }

    /// Removes the entry under `key` if it has expired (counting an eviction).
    pub(crate) fn remove_expired(&self, hash: u64, key: &K, stats: &StatsCounter) {
        let mut state = self.state.write();
        if let Ok(entry) = state.entries.find_entry(hash, |slot| slot.key == *key)
            && entry.get().is_expired()
        {
            entry.remove();
            stats.evict(1);
        }
    }

    /// Decides, under the write lock, whether a caller that missed the fast path has a
    /// value after all, leads a new flight or joins the running one. Counts a hit only
    /// when `count_hit`; dropping an expired entry counts an eviction.
    pub(crate) fn join_or_lead(
        &self,
        hash: u64,
        key: &K,
        count_hit: bool,
        stats: &StatsCounter,
    ) -> Role<V> {
        let mut state = self.state.write();
        if let Ok(entry) = state.entries.find_entry(hash, |slot| slot.key == *key) {
            if entry.get().is_expired() {
                entry.remove();
                stats.evict(1);
            } else if count_hit {
                return Role::Hit(self.hit(entry.get()));
            } else {
                return Role::Hit(entry.get().value.clone());
            }
        }
        if let Some(running) = state.flights.find(hash, |slot| slot.key == *key) {
            running.flight.join();
            return Role::Wait(Arc::clone(&running.flight));
        }
        let flight = Arc::new(Flight::new());
        state.flights.insert_unique(
            hash,
            FlightSlot {
                hash,
                key: key.clone(),
                flight: Arc::clone(&flight),
            },
            |slot| slot.hash,
        );
        Role::Lead(flight)
    }

    /// Ends `flight` (if it is still the key's flight) and, when given, stores `value`
    /// in the same critical section. Returns how many callers joined the flight.
    pub(crate) fn finish_flight(
        &self,
        hash: u64,
        key: K,
        flight: &Arc<Flight<V>>,
        value: Option<(V, Option<Instant>)>,
        stats: &StatsCounter,
    ) -> usize {
        let mut state = self.state.write();
        if let Ok(entry) = state.flights.find_entry(hash, |slot| {
            slot.key == key && Arc::ptr_eq(&slot.flight, flight)
        }) {
            entry.remove();
        }
        if let Some((value, expires_at)) = value {
            self.insert_locked(&mut state, hash, key, value, expires_at, stats);
        }
        flight.joined()
    }

    /// Stores `value` under `key`, replacing any entry and evicting when full.
    pub(crate) fn insert(
        &self,
        hash: u64,
        key: K,
        value: V,
        expires_at: Option<Instant>,
        stats: &StatsCounter,
    ) {
        let mut state = self.state.write();
        self.insert_locked(&mut state, hash, key, value, expires_at, stats);
    }

    fn insert_locked(
        &self,
        state: &mut ShardState<K, V>,
        hash: u64,
        key: K,
        value: V,
        expires_at: Option<Instant>,
        stats: &StatsCounter,
    ) {
        if self.capacity == Some(0) {
            return;
        }
        let tick = self
            .insert_ticks
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
            .wrapping_add(self.hits.load(Ordering::Relaxed));
        stats.insert();
        if let Some(slot) = state.entries.find_mut(hash, |slot| slot.key == key) {
            slot.value = value;
            slot.expires_at = expires_at;
            *slot.last_used.get_mut() = tick;
            return;
        }
        if let Some(capacity) = self.capacity
            && state.entries.len() >= capacity
        {
            let evicted = make_room(&mut state.entries, capacity);
            stats.evict(evicted);
        }
        state.entries.insert_unique(
            hash,
            Slot {
                hash,
                key,
                value,
                expires_at,
                last_used: AtomicU64::new(tick),
            },
            |slot| slot.hash,
        );
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub(crate) fn remove(&self, hash: u64, key: &K) -> bool {
        let mut state = self.state.write();
        match state.entries.find_entry(hash, |slot| slot.key == *key) {
            Ok(entry) => {
                let (slot, _) = entry.remove();
                !slot.is_expired()
            }
            Err(_) => false,
        }
    }

    /// Removes every entry; running flights continue.
    pub(crate) fn clear(&self) {
        self.state.write().entries.clear();
    }

    /// Live entries (a scan when any entry carries a TTL).
    pub(crate) fn len(&self, has_ttl: bool) -> usize {
        let state = self.state.read();
        if has_ttl {
            state
                .entries
                .iter()
                .filter(|slot| !slot.is_expired())
                .count()
        } else {
            state.entries.len()
        }
    }

    /// Computations in progress in this shard.
    pub(crate) fn flights(&self) -> usize {
        self.state.read().flights.len()
    }

    /// Hits since the last reset.
    pub(crate) fn hits(&self) -> u64 {
        self.hits
            .load(Ordering::Relaxed)
            .wrapping_sub(self.hits_base.load(Ordering::Relaxed))
    }

    /// Restarts the hit count at zero.
    pub(crate) fn reset_hits(&self) {
        self.hits_base
            .store(self.hits.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Frees room in a full shard: expired entries first, then the least recently used
/// `max(1, capacity / 32)`. Returns how many entries were removed.
fn make_room<K, V>(entries: &mut HashTable<Slot<K, V>>, capacity: usize) -> u64 {
    let before = entries.len();
    entries.retain(|slot| !slot.is_expired());
    let expired = before - entries.len();
    let mut evicted = 0_usize;
    if entries.len() >= capacity {
        let batch = (capacity / 32).max(1).max(entries.len() + 1 - capacity);
        let threshold = if batch == 1 {
            entries
                .iter()
                .map(|slot| slot.last_used.load(Ordering::Relaxed))
                .min()
        } else {
            let mut ticks: Vec<u64> = entries
                .iter()
                .map(|slot| slot.last_used.load(Ordering::Relaxed))
                .collect();
            let nth = (batch - 1).min(ticks.len().saturating_sub(1));
            ticks.select_nth_unstable(nth);
            ticks.get(nth).copied()
        };
        if let Some(threshold) = threshold {
            entries.retain(|slot| {
                if evicted < batch && *slot.last_used.get_mut() <= threshold {
                    evicted += 1;
                    false
                } else {
                    true
                }
            });
        }
    }
    u64::try_from(expired + evicted).unwrap_or(u64::MAX)
}
