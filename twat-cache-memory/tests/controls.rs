//! The controls beside `CacheConfig` (`CacheOptions`): a weighted cache never passes its
//! bound and its listener hears every removal once with the right cause (the shared
//! driver `twat_cache_shard::model::replay_weighted`, for every policy); expiry per entry;
//! `retain`, `invalidate_if` and `iter`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use twat_cache_core::{CacheConfig, Policy, Stats};
use twat_cache_memory::{CacheOptions, MemoryCache, RemovalCause};
use twat_cache_shard::model::{Recorder, Subject, WeightedSubject, weighted_options};

fn config(policy: Policy, maxsize: u64) -> CacheConfig {
    CacheConfig::builder()
        .maxsize(maxsize)
        .policy(policy)
        .build()
        .unwrap()
}

/// A weighted, listened-to memory cache as the shared driver sees it.
struct Weighted {
    cache: MemoryCache<u8, u32>,
    removed: Recorder<u8, u32>,
}

impl Subject for Weighted {
    fn get(&self, key: u8) -> Option<u32> {
        self.cache.get(&key)
    }
    fn insert(&self, key: u8, value: u32) {
        self.cache.insert(key, value);
    }
    fn remove(&self, key: u8) -> bool {
        self.cache.remove(&key)
    }
    fn get_or_insert(&self, key: u8, value: u32) -> u32 {
        self.cache.get_or_insert_with(key, || value)
    }
    fn len(&self) -> usize {
        self.cache.len()
    }
    fn stats(&self) -> Option<Stats> {
        Some(self.cache.stats())
    }
}

impl WeightedSubject for Weighted {
    fn entries(&self) -> Vec<(u8, u32)> {
        self.cache.iter().collect()
    }
    fn take_removed(&self) -> Vec<(u8, u32, RemovalCause)> {
        self.removed.take()
    }
}

twat_cache_shard::weighted_proptests!(|policy, bound| {
    let removed = Recorder::new();
    let options = weighted_options(&removed);
    Weighted {
        cache: MemoryCache::with_options(&config(policy, bound), options),
        removed,
    }
});

/// Expiry, clearing and removal each reach the listener once, with their cause; a
/// listener may use the cache (it runs after the locks are released).
#[test]
fn every_cause_is_reported_once() {
    let removed: Recorder<u8, u32> = Recorder::new();
    let cache = MemoryCache::with_options(
        &config(Policy::Lru, 2),
        CacheOptions::new()
            .on_evict(removed.listener())
            .expire_after(|key: &u8, _: &u32| (*key == 9).then_some(Duration::from_millis(5))),
    );
    cache.insert(1, 10);
    cache.insert(1, 11); // Replaced
    cache.insert(2, 20);
    cache.insert(3, 30); // Size: 1
    assert!(cache.remove(&2)); // Removed
    assert_eq!(
        removed.take(),
        [
            (1, 10, RemovalCause::Replaced),
            (1, 11, RemovalCause::Size),
            (2, 20, RemovalCause::Removed),
        ]
    );
    cache.insert(9, 90); // expires after 5 ms (the hook)
    cache.insert_with_ttl(4, 40, Duration::from_millis(5)); // evicts 3 (Size)
    assert_eq!(removed.take(), [(3, 30, RemovalCause::Size)]);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(cache.get(&9), None); // found expired: Expired
    assert_eq!(
        cache.iter().count(),
        0,
        "the snapshot skips expired entries"
    );
    cache.retain(|_, _| true); // drops 4, expired
    let mut expired = removed.take();
    expired.sort_unstable_by_key(|&(key, value, _)| (key, value));
    assert_eq!(
        expired,
        [
            (4, 40, RemovalCause::Expired),
            (9, 90, RemovalCause::Expired)
        ]
    );
    cache.insert(5, 50);
    cache.insert(6, 60);
    cache.clear();
    let mut cleared = removed.take();
    cleared.sort_unstable_by_key(|&(key, value, _)| (key, value));
    assert_eq!(
        cleared,
        [
            (5, 50, RemovalCause::Cleared),
            (6, 60, RemovalCause::Cleared)
        ]
    );
    // a listener that reads and writes the cache does not deadlock
    let heard = Recorder::new();
    let record = heard.listener();
    let nested = Arc::new(std::sync::OnceLock::<MemoryCache<u8, u32>>::new());
    let inner = Arc::clone(&nested);
    let cache2 = nested.get_or_init(|| {
        MemoryCache::with_options(
            &config(Policy::Lru, 1),
            CacheOptions::new().on_evict(move |key, value, cause| {
                if let Some(cache) = inner.get() {
                    let _ = cache.get(&key);
                    cache.invalidate_if(|_, _| false);
                }
                record(key, value, cause);
            }),
        )
    });
    cache2.insert(1, 1);
    cache2.insert(2, 2);
    assert_eq!(heard.take(), [(1, 1, RemovalCause::Size)]);
}

/// `insert_with_ttl` needs entries that can expire: on a cache without a `ttl` or an
/// `expire_after` hook the value is not stored (its old value leaves), and counted.
#[test]
fn insert_with_ttl_without_expiry_stores_nothing() {
    let removed = Recorder::new();
    let cache = MemoryCache::with_options(
        &config(Policy::Lru, 10),
        CacheOptions::new().on_evict(removed.listener()),
    );
    cache.insert(1_u8, 1_u32);
    cache.insert_with_ttl(1, 2, Duration::from_secs(60));
    assert_eq!(cache.get(&1), None);
    assert_eq!(
        removed.take(),
        [
            (1, 1, RemovalCause::Replaced),
            (1, 2, RemovalCause::Expired)
        ]
    );
    assert_eq!(cache.stats().evictions, 1);
    // with a cache-wide ttl it works, and overrides it
    let ttl = CacheConfig::builder()
        .maxsize(10)
        .ttl(Duration::from_secs(3600))
        .build()
        .unwrap();
    let cache: MemoryCache<u8, u32> = MemoryCache::new(&ttl);
    cache.insert_with_ttl(1, 2, Duration::from_millis(5));
    cache.insert(2, 3);
    thread::sleep(Duration::from_millis(20));
    assert_eq!((cache.get(&1), cache.get(&2)), (None, Some(3)));
}

/// A weighted cache with a bound far above `EXACT_ORDER_MAX` stays one shard, so its
/// bound holds exactly however the weights fall, and it reports weight and bound in one
/// unit.
#[test]
fn large_weighted_caches_respect_their_bound_exactly() {
    let cache = MemoryCache::with_options(
        &config(Policy::Lru, 100_000),
        CacheOptions::new().weigher(|_: &u64, value: &Vec<u8>| u32::try_from(value.len()).unwrap()),
    );
    for key in 0..5_000_u64 {
        cache.insert(key, vec![0; usize::try_from(key % 997).unwrap()]);
        assert!(cache.stats().weight <= 100_000);
    }
    let stats = cache.stats();
    let held: u64 = cache.iter().map(|(_, value)| value.len() as u64).sum();
    assert_eq!(stats.weight, held);
    assert_eq!(stats.maxsize, Some(100_000));
    assert!(stats.weight > 99_000, "{stats:?}");
    assert!(stats.evictions > 0);
}

/// A thread waiting on another's computation gets its value before the listener runs
/// (the leader wakes the waiters first), so a slow listener never delays it.
#[test]
fn waiters_are_woken_before_the_listener_runs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    let waiter_done = Arc::new(AtomicBool::new(false));
    let seen_in_listener = Arc::new(AtomicBool::new(false));
    let (done, seen) = (Arc::clone(&waiter_done), Arc::clone(&seen_in_listener));
    let cache = Arc::new(MemoryCache::with_options(
        &config(Policy::Lru, 1),
        CacheOptions::new().on_evict(move |_: u8, _: u32, _| {
            // give the woken waiter up to 5 s to finish while the listener runs
            for _ in 0..500 {
                if done.load(Ordering::SeqCst) {
                    seen.store(true, Ordering::SeqCst);
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }),
    ));
    cache.insert(0, 0); // completing key 1 evicts it
    let (started, leader_started) = mpsc::channel();
    let leader = {
        let cache = Arc::clone(&cache);
        thread::spawn(move || {
            cache.get_or_insert_with(1, || {
                started.send(()).unwrap();
                thread::sleep(Duration::from_millis(200)); // the waiter joins meanwhile
                1
            })
        })
    };
    leader_started.recv().unwrap();
    let waiter = {
        let cache = Arc::clone(&cache);
        let done = Arc::clone(&waiter_done);
        thread::spawn(move || {
            let value = cache.get_or_insert_with(1, || unreachable!("the leader computes"));
            done.store(true, Ordering::SeqCst);
            value
        })
    };
    assert_eq!(waiter.join().unwrap(), 1);
    assert_eq!(leader.join().unwrap(), 1);
    assert!(
        seen_in_listener.load(Ordering::SeqCst),
        "the listener ran before the waiter woke"
    );
}
