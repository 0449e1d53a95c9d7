//! [`PolicyStore`]: the one policy store under every in-memory front-end — sharded
//! [`Store`](crate::store)s for every policy, W-TinyLFU included — and the
//! single-flight registry, generic over how a front-end waits.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Duration;

use twat_cache_core::{CacheConfig, Policy, Stats};

use crate::flights::{Join, Ticket};
use crate::options::CacheOptions;
use crate::sharded::{Seen, Sharded};
use crate::store::{ExpiresAt, Full, Kind, NoExpiry, Plain, Shape, Tiny};

enum Backend<K, V, W> {
    /// LRU, FIFO, RR, unbounded without TTL, expiry or weigher: entries are key, value
    /// and stamp only.
    Plain(Sharded<K, V, Plain, W>),
    /// LFU, or LRU/FIFO/RR/unbounded with a TTL, per-entry expiry or a weigher: entries
    /// also carry frequency, expiry and weight.
    Full(Sharded<K, V, Full, W>),
    /// W-TinyLFU without them: entries carry their segment, queue stamp, pending uses.
    Tiny(Sharded<K, V, Tiny<NoExpiry>, W>),
    /// W-TinyLFU with a TTL, per-entry expiry or a weigher: the same, an expiry, a weight.
    TinyTtl(Sharded<K, V, Tiny<ExpiresAt>, W>),
}

/// Runs `$body` with `$sharded` bound to whichever sharded backend `$backend` is.
macro_rules! dispatch {
    ($backend:expr, $sharded:ident => $body:expr) => {
        match $backend {
            Backend::Plain($sharded) => $body,
            Backend::Full($sharded) => $body,
            Backend::Tiny($sharded) => $body,
            Backend::TinyTtl($sharded) => $body,
        }
    };
}

/// A thread-safe store of typed values under an eviction policy, with a TTL, exact
/// statistics and a single-flight registry whose waiters wait on a `W`.
///
/// It decides everything but how a caller waits: a front-end looks a key up
/// ([`lookup`](Self::lookup)); on a miss it asks [`join_or_lead`](Self::join_or_lead)
/// whether to take a value that arrived meanwhile, to wait on the handle `W` of the
/// caller computing the key, or to compute it itself; a leader ends its computation with
/// [`complete`](Self::complete) (storing the value) or [`abandon`](Self::abandon)
/// (panic, error, cancellation), each of which returns the handle `W` if anyone waits on
/// it, for the front-end to wake them through. `W` is created (`W::default()`) only when
/// a second caller arrives, so an uncontended miss allocates nothing for it.
///
/// Policies follow [`Policy`], as Python's cachetools defines them: exact LRU, LFU (ties
/// to the least recently used) and FIFO while `maxsize <=` [`EXACT_ORDER_MAX`] (one
/// shard), the same policies per shard above that; random replacement; W-TinyLFU (an
/// admission window before a segmented LRU, a frequency sketch, an adaptive window: see
/// the crate's README); unbounded.
///
/// [`EXACT_ORDER_MAX`]: crate::EXACT_ORDER_MAX
pub struct PolicyStore<K, V, W> {
    policy: Policy,
    maxsize: Option<u64>,
    ttl: Option<Duration>,
    weighted: bool,
    expiring: bool,
    hasher: foldhash::fast::RandomState,
    backend: Backend<K, V, W>,
}

impl<K, V, W> fmt::Debug for PolicyStore<K, V, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyStore")
            .field("policy", &self.policy)
            .field("maxsize", &self.maxsize)
            .field("ttl", &self.ttl)
            .field("weighted", &self.weighted)
            .field("expiring", &self.expiring)
            .field("shards", &self.shard_count())
            .finish_non_exhaustive()
    }
}

impl<K, V, W> PolicyStore<K, V, W> {
    /// The eviction policy in force.
    #[must_use]
    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// The bound: entries, or total weight for a weighted store (`None`: unbounded, also
    /// for [`Policy::Unbounded`]).
    #[must_use]
    pub const fn maxsize(&self) -> Option<u64> {
        self.maxsize
    }

    /// Whether a weigher bounds the store by total weight.
    #[must_use]
    pub const fn is_weighted(&self) -> bool {
        self.weighted
    }

    /// Whether entries can expire on their own (a `ttl`, or an `expire_after` hook):
    /// what [`insert_with_ttl`](Self::insert_with_ttl) needs.
    #[must_use]
    pub const fn is_expiring(&self) -> bool {
        self.expiring
    }

    /// How long an entry lives after it was stored, if entries expire.
    #[must_use]
    pub const fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// How many shards the entries are split into: 1 for caches of at most
    /// [`EXACT_ORDER_MAX`](crate::EXACT_ORDER_MAX) entries.
    #[must_use]
    pub fn shard_count(&self) -> usize {
        dispatch!(&self.backend, sharded => sharded.shard_count())
    }
}

impl<K, V, W> PolicyStore<K, V, W>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    W: Default,
{
    /// A store configured by `config`: `maxsize` in entries (none, or
    /// [`Policy::Unbounded`], means unbounded), `ttl` and `policy`. Other fields (name,
    /// folder, compress, …) are the front-end's business and are ignored here.
    #[must_use]
    pub fn new(config: &CacheConfig) -> Self {
        Self::with_options(config, CacheOptions::new())
    }

    /// A store configured by `config` with a weigher (then `maxsize` bounds the total
    /// weight), an eviction listener and a per-entry expiry hook (see [`CacheOptions`]).
    /// Entries carry a weight and an expiry only when the options ask for them, so a store
    /// without them pays nothing for their existence.
    #[must_use]
    pub fn with_options(config: &CacheConfig, options: CacheOptions<K, V>) -> Self {
        let policy = config.policy();
        let ttl = config.ttl();
        let hasher = foldhash::fast::RandomState::default();
        let maxsize = if policy == Policy::Unbounded {
            None
        } else {
            config.maxsize()
        };
        let kind = match policy {
            Policy::Lru => Kind::Lru,
            Policy::Lfu => Kind::Lfu,
            Policy::Fifo => Kind::Fifo,
            Policy::Random => Kind::Random,
            Policy::TinyLfu => Kind::TinyLfu,
            // `Policy` is non-exhaustive: anything new falls back to never evicting.
            _ => Kind::Unbounded,
        };
        let kind = if maxsize.is_none() {
            Kind::Unbounded
        } else {
            kind
        };
        let capacity = maxsize.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let weighted = options.weigher.is_some();
        let expiring = ttl.is_some() || options.expire_after.is_some();
        let shape = Shape {
            kind,
            capacity,
            ttl,
            weighted,
            expiring,
            notify: options.listener.is_some(),
        };
        let extras = expiring || weighted;
        let backend = if kind == Kind::TinyLfu && extras {
            Backend::TinyTtl(Sharded::new(shape, options, &hasher))
        } else if kind == Kind::TinyLfu {
            Backend::Tiny(Sharded::new(shape, options, &hasher))
        } else if kind == Kind::Lfu || extras {
            Backend::Full(Sharded::new(shape, options, &hasher))
        } else {
            Backend::Plain(Sharded::new(shape, options, &hasher))
        };
        Self {
            policy,
            maxsize,
            ttl,
            weighted,
            expiring,
            hasher,
            backend,
        }
    }

    /// The hash every keyed method below takes: computed once per call by the front-end
    /// (it picks the shard and probes the table). A hash that is not this one's for the
    /// key makes the key not found, never anything worse.
    #[inline]
    pub fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// A clone of the live value under `key`, counting a hit or a miss. Expired entries
    /// are never returned (they count as misses and are removed).
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        dispatch!(&self.backend,
            sharded => sharded.lookup(self.hasher.hash_one(key), key).ok())
    }

    /// The counted lookup a memoizing call starts with: the value (a hit), or what
    /// [`join_or_lead`](Self::join_or_lead) needs to know of the miss. `hash` is
    /// [`hash`](Self::hash)`(key)`.
    ///
    /// # Errors
    ///
    /// [`Seen`] when the key has no live value (the miss is counted).
    #[inline(always)]
    pub fn lookup(&self, hash: u64, key: &K) -> Result<V, Seen> {
        dispatch!(&self.backend,
            sharded => sharded.lookup(hash, key))
    }

    /// After a [`lookup`](Self::lookup) of `key` missed with `seen`: the value, if it was
    /// stored since ([`Join::Found`]); the handle to wait on, if another caller computes
    /// the key ([`Join::Wait`]); else a ticket to compute it with ([`Join::Lead`]). After
    /// waiting on an abandoned computation, a caller asks again with the same `seen`.
    pub fn join_or_lead(&self, hash: u64, key: &K, seen: Seen) -> Join<V, W> {
        dispatch!(&self.backend,
            sharded => sharded.join_or_lead(hash, key, seen))
    }

    /// Stores the leader's value (an insert, evicting per the policy) and ends its
    /// computation. Returns the handle of the callers waiting for it, if any: the leader
    /// hands them the value through it.
    ///
    /// With an eviction listener, the listener runs before this returns, so before the
    /// waiters are woken: [`complete_with`](Self::complete_with) wakes them first.
    pub fn complete(&self, hash: u64, key: K, ticket: Ticket, value: V) -> Option<Arc<W>> {
        let mut waiting = None;
        self.complete_with(hash, key, ticket, value, |handle| waiting = Some(handle));
        waiting
    }

    /// As [`complete`](Self::complete), handing the waiters' handle (if anyone waits) to
    /// `wake` as soon as the flight has ended — before the eviction listener hears of the
    /// entries this store evicted, so waiters never wait for the listener.
    pub fn complete_with(
        &self,
        hash: u64,
        key: K,
        ticket: Ticket,
        value: V,
        wake: impl FnOnce(Arc<W>),
    ) {
        dispatch!(&self.backend,
            sharded => sharded.complete_with(hash, (key, value), ticket, wake));
    }

    /// Ends the leader's computation without a value (it panicked, failed or was
    /// cancelled). Returns the handle of the callers waiting for it, if any: the leader
    /// wakes them through it, and they ask [`join_or_lead`](Self::join_or_lead) again.
    pub fn abandon(&self, hash: u64, ticket: Ticket) -> Option<Arc<W>> {
        dispatch!(&self.backend,
            sharded => sharded.abandon(hash, ticket))
    }

    /// Stores `value` under `key` (counted as an insert), replacing any previous value.
    /// A new key in a full store first evicts per the policy (counted as evictions).
    pub fn insert(&self, key: K, value: V) {
        dispatch!(&self.backend,
            sharded => sharded.insert(self.hasher.hash_one(&key), key, value, None));
    }

    /// Stores `value` under `key` to expire `ttl` from now, whatever the cache's `ttl` or
    /// `expire_after` hook say. Needs a store whose entries can expire
    /// ([`is_expiring`](Self::is_expiring): built with a `ttl` or an `expire_after`
    /// hook); in any other the value is not stored (the key's earlier value is removed)
    /// and counts as evicted ([`RemovalCause::Expired`](crate::RemovalCause::Expired)), since nothing could expire it.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        dispatch!(&self.backend,
            sharded => sharded.insert(self.hasher.hash_one(&key), key, value, Some(ttl)));
    }

    /// Keeps only the entries for which `keep(&key, &value)` is `true`; the others leave
    /// ([`RemovalCause::Removed`](crate::RemovalCause::Removed); expired entries met on the way leave as
    /// [`RemovalCause::Expired`](crate::RemovalCause::Expired)). Shard by shard, each under its write lock while `keep`
    /// runs over it: `keep` must not use this store.
    pub fn retain(&self, keep: impl FnMut(&K, &V) -> bool) {
        dispatch!(&self.backend, sharded => sharded.retain(keep));
    }

    /// Removes the entries for which `remove(&key, &value)` is `true` (as
    /// [`retain`](Self::retain) with the opposite answer); returns how many it removed.
    pub fn invalidate_if(&self, mut remove: impl FnMut(&K, &V) -> bool) -> usize {
        dispatch!(&self.backend,
            sharded => sharded.retain(|key, value| !remove(key, value)))
    }

    /// A snapshot of the live entries (clones), shard by shard: each shard is read at
    /// one moment under its read lock, different shards at slightly different moments,
    /// so an entry stored or removed elsewhere meanwhile may or may not appear. Counts no
    /// hit and changes no eviction order. In no particular order.
    #[must_use]
    pub fn snapshot(&self) -> Vec<(K, V)> {
        dispatch!(&self.backend, sharded => sharded.snapshot())
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub fn remove(&self, key: &K) -> bool {
        dispatch!(&self.backend,
            sharded => sharded.remove(self.hasher.hash_one(key), key))
    }

    /// Removes every entry; the counters go on ([`reset_stats`](Self::reset_stats)
    /// zeroes them). Computations running at that moment still complete and store their
    /// values.
    pub fn clear(&self) {
        dispatch!(&self.backend, sharded => sharded.clear());
    }

    /// Starts every counter of [`stats`](Self::stats) from zero.
    pub fn reset_stats(&self) {
        dispatch!(&self.backend,
            sharded => sharded.reset_counters());
    }

    /// The number of entries held, expired ones not yet removed included.
    #[must_use]
    pub fn len(&self) -> usize {
        dispatch!(&self.backend, sharded => sharded.len())
    }

    /// The number of entries held whose TTL has not passed (a scan of the entries when
    /// the store has a TTL; [`len`](Self::len) otherwise).
    #[must_use]
    pub fn live_len(&self) -> usize {
        dispatch!(&self.backend, sharded => sharded.live_len())
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys being computed right now (leaders between `join_or_lead` and `complete` or
    /// `abandon`).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        dispatch!(&self.backend, sharded => sharded.in_flight())
    }

    /// A snapshot of the counters: exact hits, misses, inserts and evictions (expired
    /// entries removed, W-TinyLFU's refused newcomers and entries too heavy to store count
    /// as evictions), `size` as [`len`](Self::len), `weight` and `maxsize` in one unit
    /// (entries, or the weigher's) and `errors` 0 (memory cannot fail).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::new().with_maxsize(self.maxsize);
        dispatch!(&self.backend, sharded => sharded.add_counters(&mut stats));
        stats
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// W-TinyLFU over long skewed sequences (sketch aging, window climbing, sharded
    /// caches): never above its bound, exact statistics, and every key stored and not
    /// evicted since is found — checked by looking every held key up after each
    /// operation that evicted.
    #[test]
    fn tinylfu_invariants_hold_over_long_runs() {
        for maxsize in [1_u64, 2, 7, 64, 3_000] {
            let config = CacheConfig::builder()
                .maxsize(maxsize)
                .policy(Policy::TinyLfu)
                .build()
                .unwrap_or_else(|error| panic!("{error}"));
            let store: PolicyStore<u64, u64, ()> = PolicyStore::new(&config);
            let mut held: HashMap<u64, u64> = HashMap::new();
            let mut expected = store.stats();
            let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ maxsize;
            let keys = maxsize * 8;
            let ops = if maxsize > 1_000 { 15_000 } else { 20_000 };
            for step in 0..ops {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                // skewed: the product of two uniform draws favours small keys
                let key = (rng % keys) * ((rng >> 32) % keys) / keys;
                match (rng >> 60) % 8 {
                    0..=3 => {
                        let got = store.get(&key);
                        assert_eq!(got, held.get(&key).copied(), "step {step}: get {key}");
                        if got.is_some() {
                            expected.hits += 1;
                        } else {
                            expected.misses += 1;
                        }
                    }
                    4..=6 => {
                        store.insert(key, step);
                        expected.inserts += 1;
                        held.insert(key, step);
                    }
                    _ => {
                        assert_eq!(store.remove(&key), held.remove(&key).is_some());
                    }
                }
                let stats = store.stats();
                if stats.evictions != expected.evictions {
                    let mut gone = 0;
                    held.retain(|key, value| match store.get(key) {
                        Some(found) => {
                            assert_eq!(found, *value);
                            expected.hits += 1;
                            true
                        }
                        None => {
                            expected.misses += 1;
                            gone += 1;
                            false
                        }
                    });
                    assert_eq!(stats.evictions - expected.evictions, gone, "step {step}");
                    expected.evictions = stats.evictions;
                }
                expected.size = held.len() as u64;
                expected.weight = expected.size;
                assert_eq!(store.stats(), expected, "maxsize {maxsize}, step {step}");
                assert!(store.len() as u64 <= maxsize);
            }
        }
    }
}
