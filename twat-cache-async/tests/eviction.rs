//! `maxsize` bounds the entries, evicting per the configured policy exactly as the memory
//! engine does: the same reference models of cachetools' LRU, LFU and FIFO
//! (`twat_cache_shard::model`, shared with the memory engine's tests) and the same
//! invariants of random replacement, unbounded and sharded caches.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use twat_cache_async::AsyncCache;
use twat_cache_core::{CacheConfig, Policy};
use twat_cache_shard::model::Subject;

fn cache(maxsize: u64) -> AsyncCache<u64, u64> {
    AsyncCache::new(&CacheConfig::builder().maxsize(maxsize).build().unwrap())
}

fn with_policy(policy: Policy, maxsize: u64) -> AsyncCache<u8, u32> {
    AsyncCache::new(
        &CacheConfig::builder()
            .maxsize(maxsize)
            .policy(policy)
            .build()
            .unwrap(),
    )
}

/// Polls a future that never waits (no other caller computes its key) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// The async engine as the shared model driver sees it.
struct Async(AsyncCache<u8, u32>);

impl Subject for Async {
    fn get(&self, key: u8) -> Option<u32> {
        self.0.get(&key)
    }
    fn insert(&self, key: u8, value: u32) {
        self.0.insert(key, value);
    }
    fn remove(&self, key: u8) -> bool {
        self.0.remove(&key)
    }
    fn get_or_insert(&self, key: u8, value: u32) -> u32 {
        ready(self.0.get_or_insert_with(key, async move { value }))
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn stats(&self) -> Option<twat_cache_core::Stats> {
        Some(self.0.stats())
    }
}

twat_cache_shard::model_proptests!(|policy, maxsize| Async(with_policy(policy, maxsize)));

#[test]
fn small_caches_evict_in_exact_lru_order() {
    let cache = cache(3);
    cache.insert(1, 1);
    cache.insert(2, 2);
    cache.insert(3, 3);
    assert_eq!(cache.get(&1), Some(1)); // 2 is now the least recently used
    cache.insert(4, 4);
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&1), Some(1));
    cache.insert(5, 5); // 3 is the oldest now
    assert_eq!(cache.get(&3), None);
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.stats().evictions, 2);
    // Replacing a key does not evict.
    cache.insert(5, 50);
    assert_eq!(cache.get(&5), Some(50));
    assert_eq!(cache.stats().evictions, 2);
}

#[test]
fn lru_order_matches_a_model_for_one_shard() {
    // A cache of at most 1024 entries is one shard: its order is exact LRU. Compare with
    // a model.
    let cache = cache(16);
    let mut model: Vec<u64> = Vec::new(); // most recent last
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..5_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let key = state % 40;
        let hit = cache.get(&key).is_some();
        let position = model.iter().position(|&k| k == key);
        assert_eq!(hit, position.is_some(), "key {key}");
        if let Some(position) = position {
            model.remove(position);
        } else {
            cache.insert(key, key);
            if model.len() == 16 {
                model.remove(0);
            }
        }
        model.push(key);
    }
}

#[test]
fn lfu_evicts_least_frequently_used_ties_to_least_recent() {
    let cache = with_policy(Policy::Lfu, 3);
    for k in 1..=3 {
        cache.insert(k, u32::from(k));
    }
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&3), Some(3));
    // frequencies: 1 -> 3, 2 -> 1, 3 -> 2
    cache.insert(4, 4); // evicts 2
    assert_eq!(cache.get(&2), None);
    // frequencies: 1 -> 3, 3 -> 2, 4 -> 1; 5 evicts 4
    cache.insert(5, 5);
    assert_eq!(cache.get(&4), None);
    // 3 -> 2, 5 -> 1: 6 evicts 5
    cache.insert(6, 6);
    assert_eq!(cache.get(&5), None);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&3), Some(3));
}

#[test]
fn fifo_ignores_reads() {
    let cache = with_policy(Policy::Fifo, 2);
    cache.insert(1, 1);
    cache.insert(2, 2);
    assert_eq!(cache.get(&1), Some(1));
    cache.insert(3, 3); // evicts 1 despite the read
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&2), Some(2));
}

#[test]
fn unbounded_never_evicts() {
    let config = CacheConfig::builder()
        .maxsize(2)
        .policy(Policy::Unbounded)
        .build()
        .unwrap();
    let cache: AsyncCache<u32, u32> = AsyncCache::new(&config);
    for k in 0..5000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 5000);
    assert_eq!(cache.stats().evictions, 0);
    assert_eq!(cache.stats().maxsize, None);
    let no_maxsize: AsyncCache<u32, u32> = AsyncCache::new(&CacheConfig::default());
    for k in 0..5000 {
        no_maxsize.insert(k, k);
    }
    assert_eq!(no_maxsize.len(), 5000);
}

#[test]
fn tinylfu_stays_within_maxsize() {
    let cache: AsyncCache<u32, u32> = AsyncCache::new(
        &CacheConfig::builder()
            .maxsize(100)
            .policy(Policy::TinyLfu)
            .build()
            .unwrap(),
    );
    for k in 0..1000 {
        assert_eq!(ready(cache.get_or_insert_with(k, async move { k })), k);
    }
    assert!(cache.len() <= 100, "{}", cache.len());
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.inserts), (1000, 1000));
}

#[tokio::test]
async fn large_caches_stay_within_maxsize() {
    let cache = cache(10_000);
    for key in 0..50_000 {
        assert_eq!(cache.get_or_insert_with(key, async move { key }).await, key);
    }
    let len = cache.len();
    assert!(len <= 10_000, "{len}");
    // Was `len >= 9_000` while shards evicted `capacity / 32` entries at a time; the
    // policy store evicts one entry per new key, so a full cache stays exactly full.
    assert_eq!(len, 10_000, "evicts one entry per new key");
    let stats = cache.stats();
    assert_eq!(stats.evictions, 50_000 - len as u64);
    assert_eq!(stats.size, len as u64);
    // The most recent keys survive.
    assert_eq!(cache.get(&49_999), Some(49_999));
}

#[test]
fn sharded_cache_respects_maxsize_and_keeps_recent_keys() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
        let big: AsyncCache<u32, u32> = AsyncCache::new(
            &CacheConfig::builder()
                .maxsize(4000)
                .policy(policy)
                .build()
                .unwrap(),
        );
        for k in 0..20_000_u32 {
            big.insert(k, k);
            assert!(big.len() <= 4000, "{policy}: {} entries", big.len());
        }
        assert_eq!(big.len(), 4000, "{policy}");
        let stats = big.stats();
        assert_eq!(stats.inserts, 20_000);
        assert_eq!(stats.evictions, 16_000);
        assert_eq!(stats.size, 4000);
        if policy != Policy::Random {
            assert_eq!(big.get(&19_999), Some(19_999), "{policy}");
        }
    }
}
