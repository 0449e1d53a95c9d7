//! Statistics are exact: every lookup is one hit or one miss, every store one insert,
//! every eviction counted, and `clear` starts again from zero.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::thread;

use twat_cache_core::{CacheConfig, ManagedCache, Policy, Stats, TypedCache};
use twat_cache_memory::MemoryCache;

fn cache(policy: Policy, maxsize: u64) -> MemoryCache<u64, u64> {
    MemoryCache::new(
        &CacheConfig::builder()
            .name("stats-test")
            .maxsize(maxsize)
            .policy(policy)
            .build()
            .unwrap(),
    )
}

#[test]
fn counters_are_exact_for_every_policy() {
    for policy in [
        Policy::Lru,
        Policy::Lfu,
        Policy::Fifo,
        Policy::Random,
        Policy::TinyLfu,
        Policy::Unbounded,
    ] {
        for maxsize in [4, 3000] {
            let cache = cache(policy, maxsize);
            assert_eq!(cache.name(), "stats-test");
            for k in 0..10 {
                cache.get_or_insert_with(k, || k); // 10 misses, 10 inserts
            }
            for k in 0..10 {
                cache.get(&k);
            }
            let stats = cache.stats();
            assert_eq!(stats.hits + stats.misses, 20, "{policy} {maxsize}");
            assert_eq!(stats.inserts, 10, "{policy} {maxsize}");
            assert_eq!(stats.errors, 0);
            let bounded = policy != Policy::Unbounded && maxsize == 4;
            let held = if bounded { 4 } else { 10 };
            assert_eq!(stats.size, held, "{policy} {maxsize}");
            assert_eq!(stats.evictions, 10 - held, "{policy} {maxsize}");
            assert_eq!(stats.hits, held, "{policy} {maxsize}");
            assert_eq!(stats.misses, 20 - held, "{policy} {maxsize}");
            let expected_max = (policy != Policy::Unbounded).then_some(maxsize);
            assert_eq!(stats.maxsize, expected_max);
            cache.clear();
            assert_eq!(
                cache.stats(),
                Stats::new().with_maxsize(cache.stats().maxsize),
                "{policy}: clear resets everything"
            );
            assert!(cache.is_empty());
        }
    }
}

#[test]
fn concurrent_hits_are_all_counted() {
    for maxsize in [100, 50_000] {
        let cache = Arc::new(cache(Policy::Lru, maxsize));
        for k in 0..100 {
            cache.insert(k, k);
        }
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    for i in 0..10_000_u64 {
                        let k = (i * 7 + t) % 100;
                        assert_eq!(cache.get_or_insert_with(k, || unreachable!()), k);
                        assert_eq!(cache.get(&k), Some(k));
                        assert_eq!(cache.get(&(k + 1_000_000)), None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stats = cache.stats();
        assert_eq!(stats.hits, 80_000);
        assert_eq!(stats.misses, 40_000);
        assert_eq!(stats.inserts, 100);
    }
}

#[test]
fn trait_objects_see_the_same_cache() {
    let cache = Arc::new(cache(Policy::Lru, 10));
    let typed: Arc<dyn TypedCache<u64, u64>> = cache.clone();
    typed.insert(1, 2);
    assert_eq!(typed.get(&1), Some(2));
    let managed: Arc<dyn ManagedCache> = cache.clone();
    assert_eq!(managed.name(), "stats-test");
    assert_eq!(managed.stats().hits, 1);
    managed.clear().unwrap();
    assert!(cache.is_empty());
    assert!(!typed.remove(&1));
    let debug = format!("{cache:?}");
    assert!(
        debug.contains("stats-test") && debug.contains("Lru"),
        "{debug}"
    );
    let unnamed: MemoryCache<u8, u8> = MemoryCache::new(&CacheConfig::default());
    assert_eq!(unnamed.name(), "memory");
}
