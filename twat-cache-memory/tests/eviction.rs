//! Eviction order against tiny reference models of cachetools' LRU, LFU and FIFO, and the
//! invariants of random replacement, unbounded and sharded caches. The model and its
//! driver are `twat_cache_shard::model`, shared with the async engine's tests.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use twat_cache_core::{CacheConfig, Policy};
use twat_cache_memory::MemoryCache;
use twat_cache_shard::model::Subject;

fn cache(policy: Policy, maxsize: u64) -> MemoryCache<u8, u32> {
    MemoryCache::new(
        &CacheConfig::builder()
            .maxsize(maxsize)
            .policy(policy)
            .build()
            .unwrap(),
    )
}

/// The memory engine as the shared model driver sees it.
struct Memory(MemoryCache<u8, u32>);

impl Subject for Memory {
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
        self.0.get_or_insert_with(key, || value)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn stats(&self) -> Option<twat_cache_core::Stats> {
        Some(self.0.stats())
    }
}

twat_cache_shard::model_proptests!(|policy, maxsize| Memory(cache(policy, maxsize)));

#[test]
fn lru_evicts_least_recently_used() {
    let cache = cache(Policy::Lru, 3);
    for k in 1..=3 {
        cache.insert(k, u32::from(k));
    }
    assert_eq!(cache.get(&1), Some(1)); // order now 2, 3, 1
    cache.insert(4, 4); // evicts 2
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&3), Some(3));
    assert_eq!(cache.stats().evictions, 1);
}

#[test]
fn lfu_evicts_least_frequently_used_ties_to_least_recent() {
    let cache = cache(Policy::Lfu, 3);
    for k in 1..=3 {
        cache.insert(k, u32::from(k));
    }
    cache.get(&1);
    cache.get(&1);
    cache.get(&3);
    // frequencies: 1 -> 3, 2 -> 1, 3 -> 2
    cache.insert(4, 4); // evicts 2
    assert_eq!(cache.get(&2), None);
    // frequencies: 1 -> 3, 3 -> 2, 4 -> 1; 5 evicts 4
    cache.insert(5, 5);
    assert_eq!(cache.get(&4), None);
    // 3 and 5 both used twice now? 3 -> 2, 5 -> 1 -> evicts 5 next
    cache.insert(6, 6);
    assert_eq!(cache.get(&5), None);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&3), Some(3));
}

#[test]
fn fifo_ignores_reads() {
    let cache = cache(Policy::Fifo, 2);
    cache.insert(1, 1);
    cache.insert(2, 2);
    cache.get(&1);
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
    let cache: MemoryCache<u32, u32> = MemoryCache::new(&config);
    for k in 0..5000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 5000);
    assert_eq!(cache.stats().evictions, 0);
    assert_eq!(cache.stats().maxsize, None);
    let no_maxsize: MemoryCache<u32, u32> = MemoryCache::new(&CacheConfig::default());
    for k in 0..5000 {
        no_maxsize.insert(k, k);
    }
    assert_eq!(no_maxsize.len(), 5000);
}

#[test]
fn sharded_cache_respects_maxsize_and_keeps_recent_keys() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
        let big: MemoryCache<u32, u32> = MemoryCache::new(
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
            // LRU and FIFO keep only recent keys; no shard evicts a key newer than
            // anything it keeps, so the very last insert is always there
            assert_eq!(big.get(&19_999), Some(19_999), "{policy}");
        }
    }
}
