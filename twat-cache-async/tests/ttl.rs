//! Entries expire after `ttl` and are never served once expired.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

const TTL: Duration = Duration::from_millis(40);

fn cache(maxsize: Option<u64>) -> AsyncCache<u64, u64> {
    let mut builder = CacheConfig::builder().ttl(TTL);
    if let Some(maxsize) = maxsize {
        builder = builder.maxsize(maxsize);
    }
    AsyncCache::new(&builder.build().unwrap())
}

#[tokio::test]
async fn expired_entries_are_recomputed() {
    let cache = cache(None);
    assert_eq!(cache.get_or_insert_with(1, async { 1 }).await, 1);
    assert_eq!(
        cache.get_or_insert_with(1, async { 2 }).await,
        1,
        "fresh: a hit"
    );
    tokio::time::sleep(TTL * 2).await;
    assert_eq!(
        cache.get_or_insert_with(1, async { 3 }).await,
        3,
        "expired: recomputed"
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 2, 2));
    assert_eq!(stats.evictions, 1, "the expired entry counts as evicted");
}

#[tokio::test]
async fn get_len_and_remove_ignore_expired_entries() {
    let cache = cache(None);
    cache.insert(1, 10);
    cache.insert(2, 20);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&1), Some(10));
    tokio::time::sleep(TTL * 2).await;
    assert_eq!(cache.len(), 0, "expired entries are not counted");
    assert!(cache.is_empty());
    assert_eq!(cache.get(&1), None);
    assert!(!cache.remove(&2), "an expired entry is not a live one");
    let fallible: Result<u64, ()> = cache.try_get_or_insert_with(1, async { Ok(11) }).await;
    assert_eq!(fallible, Ok(11));
    assert_eq!(cache.get(&1), Some(11));
}

#[tokio::test]
async fn a_full_cache_drops_expired_entries_first() {
    let cache = cache(Some(4));
    for key in 0..4 {
        cache.insert(key, key);
    }
    tokio::time::sleep(TTL * 2).await;
    cache.insert(10, 10);
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.stats().evictions, 4);
}
