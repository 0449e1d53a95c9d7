//! `maxsize` bounds the entries; the least recently used go first.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

fn cache(maxsize: u64) -> AsyncCache<u64, u64> {
    AsyncCache::new(&CacheConfig::builder().maxsize(maxsize).build().unwrap())
}

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
    // A cache below 128 entries is one shard: its order is exact LRU. Compare with a model.
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

#[tokio::test]
async fn large_caches_stay_within_maxsize() {
    let cache = cache(10_000);
    for key in 0..50_000 {
        assert_eq!(cache.get_or_insert_with(key, async move { key }).await, key);
    }
    let len = cache.len();
    assert!(len <= 10_000, "{len}");
    assert!(len >= 9_000, "evicts in small batches only: {len}");
    let stats = cache.stats();
    assert_eq!(stats.evictions, 50_000 - len as u64);
    assert_eq!(stats.size, len as u64);
    // The most recent keys survive.
    assert_eq!(cache.get(&49_999), Some(49_999));
}
