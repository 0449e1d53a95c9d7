//! [`Sharded`]: the shards of a native-policy cache, each a [`Store`] behind a
//! per-thread-striped read-write lock, with its single-flight registry beside it.
//!
//! A hit takes only its thread's stripe of the shard's read lock (see `striped.rs`), so
//! hits from several threads write no cache line in common. A writer takes every stripe,
//! so the single-flight registry sits under a separate small mutex per shard and a miss
//! takes the write lock once, to store its value.

use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use twat_cache_core::Stats;

use crate::counter::Counters;
use crate::flights::{Flights, Join, Ticket};
use crate::options::{CacheOptions, ExpireAfter, Listener, Weigher};
use crate::store::{Found, Kind, Meta, Removed, Shape, SharedLen, Store};
use crate::striped::{StripedReadGuard, StripedRwLock, StripedWriteGuard};

/// Caches with at most this many entries live in one shard, so their eviction order is
/// exactly the policy's.
pub const EXACT_ORDER_MAX: u64 = 1024;

/// What a lookup that missed remembers for [`crate::PolicyStore::join_or_lead`]: how many
/// values its shard had stored when it looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen(pub(crate) u64);

impl Seen {
    /// No store count to compare (a lookup that found no shard): always look again.
    pub(crate) const UNKNOWN: Self = Self(u64::MAX);
}

/// One shard on its own cache lines, so two threads working on different shards never
/// write to the same line.
#[repr(align(128))]
struct Shard<K, V, M, W> {
    store: StripedRwLock<Store<K, V, M>>,
    /// Computations running for keys of this shard.
    flights: Mutex<Flights<K, W>>,
    /// Values stored so far, bumped under the write lock by every store. A miss reads it
    /// under its read lock; if it has not moved when the miss registers its flight, no
    /// value arrived in between and the store need not be searched again.
    stores: AtomicU64,
}

impl<K, V, M, W> Shard<K, V, M, W> {
    /// This thread's stripe of the read lock.
    #[inline]
    fn read(&self) -> StripedReadGuard<'_, Store<K, V, M>> {
        self.store.read()
    }

    /// The write lock (every stripe).
    #[inline]
    fn write(&self) -> StripedWriteGuard<'_, Store<K, V, M>> {
        self.store.write()
    }

    /// Stores a value, counting it in `stores` while the write lock is held. W-TinyLFU's
    /// hill climber reads the hit and miss totals about once a shard turnover: from
    /// `counters` when the cache is sharded, else from the store. Returns the entries
    /// that left meanwhile (for the listener, once the lock is released).
    fn store_value(
        &self,
        hash: u64,
        (key, value): (K, V),
        (weight, ttl): (u32, Option<Duration>),
        counters: Option<&Counters>,
    ) -> Vec<Removed<K, V>>
    where
        K: Hash + Eq,
        V: Clone,
        M: Meta,
    {
        let mut store = self.write();
        store.insert(hash, key, value, weight, ttl);
        self.stores.fetch_add(1, Ordering::Relaxed);
        if store.climb_due() {
            store.climb(counters.map(|counters| (counters.hits(), counters.misses())));
        }
        store.take_removed()
    }

    /// Runs `change` under the write lock and returns the entries that left meanwhile.
    fn change<R>(&self, change: impl FnOnce(&mut Store<K, V, M>) -> R) -> (R, Vec<Removed<K, V>>)
    where
        K: Hash + Eq,
        V: Clone,
        M: Meta,
    {
        let mut store = self.write();
        let result = change(&mut store);
        (result, store.take_removed())
    }
}

/// The shards of a native-policy cache, whose entries carry `M`.
pub(crate) struct Sharded<K, V, M, W> {
    shards: Box<[Shard<K, V, M, W>]>,
    mask: usize,
    /// Hits and misses of a sharded cache, counted per thread so that lookups write
    /// nothing shared (exact: summed by `stats`). An exact (one-shard) cache counts in its
    /// store instead.
    counters: Option<Counters>,
    weigher: Option<Weigher<K, V>>,
    expire_after: Option<ExpireAfter<K, V>>,
    listener: Option<Listener<K, V>>,
}

impl<K, V, M, W> Sharded<K, V, M, W> {
    /// How many shards the cache is split into.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

impl<K, V, M, W> Sharded<K, V, M, W>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    M: Meta,
    W: Default,
{
    pub(crate) fn new(
        shape: Shape,
        options: CacheOptions<K, V>,
        hasher: &foldhash::fast::RandomState,
    ) -> Self {
        // A weighted cache is one shard: shards evict only their own entries, so heavy
        // entries spread over many shards could pass the bound by one entry a shard; one
        // shard keeps the bound (and the order) exact. Its hits still take only their
        // thread's stripe of the read lock.
        let count = if shape.weighted && shape.capacity.is_some() {
            1
        } else {
            shard_count(shape.kind, shape.capacity)
        };
        let shared_len = (count > 1).then(|| Arc::new(SharedLen::default()));
        let shards = (0..count)
            .map(|index| Shard {
                store: StripedRwLock::new(Store::new(
                    shape,
                    shared_len.clone(),
                    hasher.hash_one(index),
                    count,
                )),
                flights: Mutex::new(Flights::new()),
                stores: AtomicU64::new(0),
            })
            .collect();
        Self {
            shards,
            mask: count - 1,
            counters: (count > 1).then(Counters::new),
            weigher: options.weigher,
            expire_after: options.expire_after,
            listener: options.listener,
        }
    }

    /// Hands the entries that left to the listener (no lock is held here).
    fn notify(&self, removed: Vec<Removed<K, V>>) {
        if let Some(listener) = &self.listener {
            for (key, value, cause) in removed {
                listener(key, value, cause);
            }
        }
    }

    /// An entry's weight and own time to live, asked of the weigher and the expiry hook
    /// before any lock is taken. `ttl` is the caller's (`insert_with_ttl`), which wins.
    fn describe(&self, key: &K, value: &V, ttl: Option<Duration>) -> (u32, Option<Duration>) {
        let weight = self
            .weigher
            .as_ref()
            .map_or(1, |weigher| weigher(key, value));
        let ttl = ttl.or_else(|| {
            self.expire_after
                .as_ref()
                .and_then(|expire_after| expire_after(key, value))
        });
        (weight, ttl)
    }

    #[inline]
    fn shard(&self, hash: u64) -> Option<&Shard<K, V, M, W>> {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the shard index only needs the low bits of the hash's upper half"
        )]
        let index = (hash >> 32) as usize & self.mask;
        self.shards.get(index)
    }

    /// The hit path: inlined into the front-ends' `get` and `get_or_insert_with`, whose
    /// misses go out of line. A miss returns the shard's store count as the lookup saw it
    /// (for `join_or_lead`).
    #[inline(always)]
    pub(crate) fn lookup(&self, hash: u64, key: &K) -> Result<V, Seen> {
        let Some(shard) = self.shard(hash) else {
            return Err(Seen::UNKNOWN);
        };
        let store = shard.read();
        match store.get(hash, key) {
            Found::Hit(value) => {
                drop(store);
                if let Some(counters) = &self.counters {
                    counters.add_hit();
                }
                Ok(value)
            }
            Found::Missing => {
                let seen = shard.stores.load(Ordering::Relaxed);
                self.count_miss(store);
                Err(Seen(seen))
            }
            Found::Expired => {
                let seen = shard.stores.load(Ordering::Relaxed);
                self.count_miss(store);
                self.drop_expired(hash, key);
                Err(Seen(seen))
            }
        }
    }

    /// Removes an entry a lookup found expired (a miss, out of the hit path's line).
    #[cold]
    #[inline(never)]
    fn drop_expired(&self, hash: u64, key: &K) {
        if let Some(shard) = self.shard(hash) {
            let ((), removed) = shard.change(|store| store.remove_if_expired(hash, key));
            self.notify(removed);
        }
    }

    /// Counts a miss (and releases the read lock): per thread when sharded, else in the
    /// (single) store.
    #[inline]
    fn count_miss(&self, store: StripedReadGuard<'_, Store<K, V, M>>) {
        match &self.counters {
            Some(counters) => {
                drop(store);
                counters.add_miss();
            }
            None => store.count_miss(),
        }
    }

    /// Stores `value` under `key`, with its own time to live if `ttl` is given.
    pub(crate) fn insert(&self, hash: u64, key: K, value: V, ttl: Option<Duration>) {
        if let Some(shard) = self.shard(hash) {
            let described = self.describe(&key, &value, ttl);
            let removed = shard.store_value(hash, (key, value), described, self.counters.as_ref());
            self.notify(removed);
        }
    }

    pub(crate) fn remove(&self, hash: u64, key: &K) -> bool {
        let Some(shard) = self.shard(hash) else {
            return false;
        };
        let (live, removed) = shard.change(|store| store.remove(hash, key));
        self.notify(removed);
        live
    }

    /// Drops every entry; the counters go on.
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            let ((), removed) = shard.change(Store::clear);
            self.notify(removed);
        }
    }

    /// Keeps the entries `keep` approves of, shard by shard (each under its write lock);
    /// returns how many live entries it removed.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let mut removed_live = 0;
        for shard in &self.shards {
            let (count, removed) = shard.change(|store| store.retain(&mut keep));
            removed_live += count;
            self.notify(removed);
        }
        removed_live
    }

    /// A clone of every live entry, shard by shard (each under its read lock).
    pub(crate) fn snapshot(&self) -> Vec<(K, V)> {
        let mut entries = Vec::new();
        for shard in &self.shards {
            shard.read().snapshot_into(&mut entries);
        }
        entries
    }

    /// Starts every counter from zero.
    pub(crate) fn reset_counters(&self) {
        for shard in &self.shards {
            shard.write().reset_counters();
        }
        if let Some(counters) = &self.counters {
            counters.reset();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().len()).sum()
    }

    pub(crate) fn live_len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read().live_len())
            .sum()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.flights.lock().len())
            .sum()
    }

    pub(crate) fn add_counters(&self, stats: &mut Stats) {
        if let Some(counters) = &self.counters {
            stats.hits += counters.hits();
            stats.misses += counters.misses();
        }
        for shard in &self.shards {
            let store = shard.read();
            let counts = store.counters();
            stats.hits += counts.hits;
            stats.misses += counts.misses;
            stats.inserts += counts.inserts;
            stats.evictions += counts.evictions;
            stats.size += store.len() as u64;
            stats.weight += store.weight();
        }
    }

    /// After a miss that saw `seen` stores: the value (it arrived meanwhile), the handle
    /// to wait on, or the ticket to lead with.
    pub(crate) fn join_or_lead(&self, hash: u64, key: &K, seen: Seen) -> Join<V, W> {
        let Some(shard) = self.shard(hash) else {
            return Join::Lead(Ticket(u64::MAX));
        };
        // Under the flights lock, look again — unless nothing was stored since the miss.
        // A leader stores its value (bumping `stores`) before it ends its flight under
        // this lock, so a caller that finds no flight either sees `stores` moved and finds
        // the value, or leads: no finished computation is run twice.
        let mut flights = shard.flights.lock();
        if shard.stores.load(Ordering::Relaxed) != seen.0
            && let Some(value) = shard.read().peek(hash, key)
        {
            return Join::Found(value);
        }
        flights.join_or_lead(hash, key)
    }

    /// Stores the leader's value, ends its flight, hands the waiters' handle (if any) to
    /// `wake`, and only then the removed entries to the listener: waiters never wait for
    /// the listener.
    pub(crate) fn complete_with(
        &self,
        hash: u64,
        (key, value): (K, V),
        ticket: Ticket,
        wake: impl FnOnce(Arc<W>),
    ) {
        let Some(shard) = self.shard(hash) else {
            return;
        };
        let described = self.describe(&key, &value, None);
        let removed = shard.store_value(hash, (key, value), described, self.counters.as_ref());
        let waiting = shard.flights.lock().finish(ticket);
        if let Some(waiting) = waiting {
            wake(waiting);
        }
        self.notify(removed);
    }

    pub(crate) fn abandon(&self, hash: u64, ticket: Ticket) -> Option<Arc<W>> {
        self.shard(hash)?.flights.lock().finish(ticket)
    }
}

/// How many shards a cache gets: one when the order must be exact, else about eight per
/// core (a power of two), with at least 256 entries per shard.
pub(crate) fn shard_count(kind: Kind, capacity: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(4, NonZeroUsize::get);
    let wanted = cores.saturating_mul(8).next_power_of_two().clamp(4, 128);
    match capacity {
        _ if kind == Kind::Unbounded => wanted,
        None => wanted,
        Some(capacity) if capacity as u64 <= EXACT_ORDER_MAX => 1,
        Some(capacity) => {
            let by_size = (capacity / 256).max(1);
            let by_size = 1_usize << (usize::BITS - 1 - by_size.leading_zeros());
            wanted.min(by_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shard count is a power of two; caches up to `EXACT_ORDER_MAX` entries are one
    /// shard (exact order), larger ones keep at least 256 entries a shard, and unbounded
    /// caches are split. (Moved from the async engine's own sharding, which this replaces.)
    #[test]
    fn shard_counts() {
        for maxsize in [
            1,
            63,
            64,
            127,
            128,
            1000,
            1024,
            1025,
            10_000,
            1_000_003_usize,
        ] {
            for kind in [
                Kind::Lru,
                Kind::Lfu,
                Kind::Fifo,
                Kind::Random,
                Kind::TinyLfu,
            ] {
                let count = shard_count(kind, Some(maxsize));
                assert!(count.is_power_of_two());
                if maxsize as u64 <= EXACT_ORDER_MAX {
                    assert_eq!(count, 1, "small caches are one shard (exact order)");
                } else {
                    assert!(maxsize / count >= 256, "{maxsize}: {count} shards");
                }
            }
        }
        assert!(shard_count(Kind::Lru, None) >= 4);
        assert!(shard_count(Kind::Unbounded, Some(10)) >= 4);
    }
}
