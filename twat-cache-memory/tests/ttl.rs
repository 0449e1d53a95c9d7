//! Time to live: an entry is never served after its TTL, and its removal counts as an
//! eviction.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::thread::sleep;
use std::time::Duration;

use twat_cache_core::{CacheConfig, Policy};
use twat_cache_memory::MemoryCache;

const TTL: Duration = Duration::from_millis(50);

fn cache(policy: Policy, maxsize: Option<u64>) -> MemoryCache<u32, u32> {
    let mut builder = CacheConfig::builder().ttl(TTL).policy(policy);
    if let Some(maxsize) = maxsize {
        builder = builder.maxsize(maxsize);
    }
    MemoryCache::new(&builder.build().unwrap())
}

#[test]
fn expired_entries_are_never_served() {
    for policy in [
        Policy::Lru,
        Policy::Lfu,
        Policy::Fifo,
        Policy::Random,
        Policy::TinyLfu,
        Policy::Unbounded,
    ] {
        for maxsize in [Some(10), Some(5000), None] {
            let cache = cache(policy, maxsize);
            cache.insert(1, 10);
            cache.insert(2, 20);
            assert_eq!(cache.get(&1), Some(10), "{policy}");
            sleep(TTL + Duration::from_millis(30));
            assert_eq!(
                cache.get(&1),
                None,
                "{policy} {maxsize:?}: served after its TTL"
            );
            assert_eq!(
                cache.get_or_insert_with(2, || 21),
                21,
                "{policy} {maxsize:?}: recomputed after its TTL"
            );
            assert_eq!(cache.get(&2), Some(21), "{policy}");
            let stats = cache.stats();
            assert_eq!(
                stats.evictions, 2,
                "{policy} {maxsize:?}: expiries are evictions"
            );
            assert_eq!(stats.size, 1, "{policy} {maxsize:?}");
            assert_eq!((stats.hits, stats.misses), (2, 2), "{policy} {maxsize:?}");
        }
    }
}

#[test]
fn expired_entries_are_dropped_when_new_keys_arrive() {
    for policy in [Policy::Lru, Policy::TinyLfu] {
        let cache = cache(policy, Some(100));
        for k in 0..50 {
            cache.insert(k, k);
        }
        sleep(TTL + Duration::from_millis(30));
        cache.insert(1000, 1);
        assert_eq!(
            cache.len(),
            1,
            "{policy}: the 50 expired entries went on the next insert"
        );
        assert_eq!(cache.stats().evictions, 50, "{policy}");
    }
}

#[test]
fn an_update_restarts_the_ttl() {
    let cache = cache(Policy::Lru, Some(10));
    cache.insert(1, 1);
    cache.insert(1, 2);
    assert_eq!(cache.get(&1), Some(2));
    assert!(!cache.remove(&3));
    assert!(cache.remove(&1));
    assert!(cache.is_empty());
}
